/* test_private.c - private rooms: the store's calls on a real SQLite file
 * (access lookups and their version, make, members, drop, the rooms a
 * user sees), private.c's rule and DM names, validate_user, and the
 * bodies of POST /api/rooms and POST /api/dm (json.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "chat.h"
#include "json.h"
#include "log.h"
#include "private.h"
#include "store.h"
#include "validate.h"

#define FIXTURE_NAME "test_private"
#include "store_fixture.h"

static struct store_access
look(struct fx *f, const char *room, const char *user)
{
	struct store_access a = { 0 };

	assert_int_equal(store_room_access(f->s, room, user, &a), CHAT_OK);
	return a;
}

static void
put(struct fx *f, const char *room)
{
	struct chat_message m = { 0 };

	assert_int_equal(store_append(f->s, room, "n", "t", NULL, &m, NULL),
	    CHAT_OK);
	chat_message_clear(&m);
}

/* --- the store ----------------------------------------------------------- */

static void
test_access_and_version(void **state)
{
	struct fx *f = *state;
	const char *users[] = { "alice", "bob" };
	struct store_access a = look(f, "team", "alice");
	int64_t v0 = a.version, v;
	bool created = false;

	assert_int_equal(a.kind, CHAT_ROOM_PUBLIC);
	assert_false(a.member);
	assert_int_equal(store_private_make(f->s, "team", CHAT_ROOM_PRIVATE,
	    "alice", users, 2, true, &created), CHAT_OK);
	assert_true(created);
	a = look(f, "team", "bob");
	assert_int_equal(a.kind, CHAT_ROOM_PRIVATE);
	assert_true(a.member);
	assert_true(a.version > v0);
	assert_false(look(f, "team", "carol").member);
	assert_false(look(f, "team", NULL).member);
	/* Fresh again: 409, nothing changed. */
	assert_int_equal(store_access_version(f->s, &v), CHAT_OK);
	assert_int_equal(store_private_make(f->s, "team", CHAT_ROOM_PRIVATE,
	    "bob", users, 1, true, &created), CHAT_E_CONFLICT);
	assert_false(created);
	assert_int_equal(store_access_version(f->s, &v0), CHAT_OK);
	assert_int_equal(v, v0);
	/* A public room with messages cannot be made fresh. */
	put(f, "lobby");
	assert_int_equal(store_private_make(f->s, "lobby", CHAT_ROOM_PRIVATE,
	    "bob", users, 1, true, NULL), CHAT_E_CONFLICT);
	/* ... but an operator can make it private, history and all. */
	assert_int_equal(store_private_make(f->s, "lobby", CHAT_ROOM_PRIVATE,
	    "", users, 1, false, &created), CHAT_OK);
	assert_true(created);
	assert_true(look(f, "lobby", "alice").member);
}

static void
test_members_edit_and_drop(void **state)
{
	struct fx *f = *state;
	const char *users[] = { "alice", "bob", "carol" };
	struct store_members m = { 0 };
	enum chat_room_kind kind;
	int64_t v0, v1;

	assert_int_equal(store_members_edit(f->s, "none", true, users, 1),
	    CHAT_E_NOT_FOUND);
	assert_int_equal(store_private_drop(f->s, "none"), CHAT_E_NOT_FOUND);
	assert_int_equal(store_members(f->s, "none", &m, &kind),
	    CHAT_E_NOT_FOUND);
	assert_int_equal(m.n, 0);
	assert_int_equal(store_private_make(f->s, "r", CHAT_ROOM_PRIVATE, "",
	    users, 2, false, NULL), CHAT_OK);
	assert_int_equal(store_access_version(f->s, &v0), CHAT_OK);
	assert_int_equal(store_members_edit(f->s, "r", false, users + 1, 1),
	    CHAT_OK);
	assert_int_equal(store_access_version(f->s, &v1), CHAT_OK);
	assert_true(v1 > v0);
	assert_false(look(f, "r", "bob").member);
	assert_int_equal(store_members_edit(f->s, "r", true, users + 2, 1),
	    CHAT_OK);
	assert_int_equal(store_members(f->s, "r", &m, &kind), CHAT_OK);
	assert_int_equal(kind, CHAT_ROOM_PRIVATE);
	assert_int_equal(m.n, 2);
	assert_string_equal(m.v[0], "alice");
	assert_string_equal(m.v[1], "carol");
	store_members_clear(&m);
	assert_int_equal(store_private_drop(f->s, "r"), CHAT_OK);
	assert_int_equal(look(f, "r", "alice").kind, CHAT_ROOM_PUBLIC);
	assert_int_equal(raw_int(f->path,
	    "SELECT count(*) FROM room_members WHERE room = 'r'"), 0);
}

/* The person with the sqlite3 shell moves the version too. */
static void
test_shell_changes_version(void **state)
{
	struct fx *f = *state;
	int64_t v0, v1;

	assert_int_equal(store_access_version(f->s, &v0), CHAT_OK);
	raw_exec(f->path, "INSERT INTO private_rooms (room) VALUES ('x');"
	    "INSERT INTO room_members (room, member) VALUES ('x', 'al')");
	assert_int_equal(store_access_version(f->s, &v1), CHAT_OK);
	assert_int_equal(v1, v0 + 2);
	assert_true(look(f, "x", "al").member);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM members"), 1);
}

static const struct chat_room *
listed(const struct chat_room_list *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i].name, name) == 0)
			return &l->v[i];
	return NULL;
}

static void
test_rooms_for(void **state)
{
	struct fx *f = *state;
	const char *ab[] = { "alice", "bob" };
	struct chat_room_list l = { 0 };
	const struct chat_room *r;
	char dm[CHAT_MAX_ROOM + 1];

	put(f, "lobby");
	put(f, "dm-squat");
	assert_int_equal(store_private_make(f->s, "team", CHAT_ROOM_PRIVATE,
	    "alice", ab, 1, true, NULL), CHAT_OK);
	private_dm_name("alice", "bob", dm);
	assert_int_equal(store_private_make(f->s, dm, CHAT_ROOM_DIRECT, "",
	    ab, 2, false, NULL), CHAT_OK);
	put(f, dm);
	assert_int_equal(store_rooms_for(f->s, "alice", &l), CHAT_OK);
	assert_int_equal(l.n, 3);
	assert_non_null(r = listed(&l, "lobby"));
	assert_int_equal(r->kind, CHAT_ROOM_PUBLIC);
	assert_non_null(r = listed(&l, "team"));
	assert_int_equal(r->kind, CHAT_ROOM_PRIVATE);
	assert_int_equal(r->messages, 0);
	assert_non_null(r = listed(&l, dm));
	assert_int_equal(r->kind, CHAT_ROOM_DIRECT);
	assert_string_equal(r->direct, "bob");
	assert_int_equal(r->messages, 1);
	assert_null(listed(&l, "dm-squat"));
	chat_room_list_clear(&l);
	memset(&l, 0, sizeof(l));
	assert_int_equal(store_rooms_for(f->s, "bob", &l), CHAT_OK);
	assert_string_equal(listed(&l, dm)->direct, "alice");
	assert_null(listed(&l, "team"));
	chat_room_list_clear(&l);
	memset(&l, 0, sizeof(l));
	assert_int_equal(store_rooms_for(f->s, NULL, &l), CHAT_OK);
	assert_int_equal(l.n, 1);
	chat_room_list_clear(&l);
	/* The operators' list has every room with messages. */
	memset(&l, 0, sizeof(l));
	assert_int_equal(store_rooms(f->s, &l), CHAT_OK);
	assert_int_equal(l.n, 3);
	assert_int_equal(l.v[0].kind, CHAT_ROOM_PUBLIC);
	chat_room_list_clear(&l);
}

/* --- private.c ---------------------------------------------------------- */

static void
test_check(void **state)
{
	struct fx *f = *state;
	const char *a[] = { "alice" };
	int64_t v = -1;

	assert_int_equal(private_check(f->s, "lobby", NULL, &v), CHAT_OK);
	assert_true(v >= 0);
	assert_int_equal(private_check(f->s, "dm-x", "alice", NULL),
	    CHAT_E_NOT_FOUND);
	assert_int_equal(store_private_make(f->s, "p", CHAT_ROOM_PRIVATE, "",
	    a, 1, false, NULL), CHAT_OK);
	assert_int_equal(private_check(f->s, "p", "alice", NULL), CHAT_OK);
	assert_int_equal(private_check(f->s, "p", "Alice", NULL),
	    CHAT_E_NOT_FOUND);
	assert_int_equal(private_check(f->s, "p", NULL, NULL),
	    CHAT_E_NOT_FOUND);
}

static void
test_dm_name(void **state)
{
	char a[CHAT_MAX_ROOM + 1], b[CHAT_MAX_ROOM + 1], c[CHAT_MAX_ROOM + 1];
	const char *why;

	(void)state;
	private_dm_name("alice", "bob", a);
	private_dm_name("bob", "alice", b);
	private_dm_name("alice", "bo\xc3\xa9", c);
	assert_string_equal(a, b);
	assert_string_not_equal(a, c);
	assert_int_equal(strlen(a), 43);
	assert_memory_equal(a, "dm-", 3);
	assert_int_equal(validate_room(a, strlen(a), &why), CHAT_OK);
	assert_int_equal(validate_room(c, strlen(c), &why), CHAT_OK);
	/* Not a plain concatenation: ("ab","c") and ("a","bc") differ. */
	private_dm_name("ab", "c", a);
	private_dm_name("a", "bc", b);
	assert_string_not_equal(a, b);
}

/* --- validate_member and the bodies -------------------------------------- */

static void
test_validate_member(void **state)
{
	char long_name[CHAT_MAX_USER + 2];
	const char *why = NULL;

	(void)state;
	assert_int_equal(validate_member("alice", &why), CHAT_OK);
	assert_int_equal(validate_member("al ice@example.org", &why),
	    CHAT_OK);
	assert_int_equal(validate_member("\xc3\xa9", &why), CHAT_OK);
	assert_int_equal(validate_member("", &why), CHAT_E_BAD_PARAM);
	assert_int_equal(validate_member("a\nb", &why), CHAT_E_BAD_PARAM);
	assert_int_equal(validate_member("a\xc2\x85", &why), CHAT_E_BAD_PARAM);
	assert_int_equal(validate_member("\xff", &why), CHAT_E_BAD_PARAM);
	memset(long_name, 'x', sizeof(long_name));
	long_name[CHAT_MAX_USER] = '\0';
	assert_int_equal(validate_member(long_name, &why), CHAT_OK);
	long_name[CHAT_MAX_USER] = 'x';
	long_name[CHAT_MAX_USER + 1] = '\0';
	assert_int_equal(validate_member(long_name, &why), CHAT_E_BAD_PARAM);
	assert_int_equal(validate_member(" alice", &why), CHAT_E_BAD_PARAM);
	assert_non_null(why);
}

static enum chat_error
room_body(const char *body, size_t max, struct room_request *r)
{
	const char *why = NULL;
	enum chat_error e = json_parse_room_create(body, strlen(body), max, r,
	    &why);

	assert_true(e == CHAT_OK || why != NULL);
	return e;
}

static void
test_room_bodies(void **state)
{
	struct room_request r;

	(void)state;
	assert_int_equal(room_body("{\"room\":\"t\",\"members\":[\"b\",\"c\","
	    "\"b\"],\"x\":1}", 3, &r), CHAT_OK);
	assert_string_equal(r.room, "t");
	assert_int_equal(r.n, 2);
	assert_string_equal(r.members[1], "c");
	room_request_clear(&r);
	assert_int_equal(room_body("{\"room\":\"t\"}", 3, &r), CHAT_OK);
	assert_int_equal(r.n, 0);
	room_request_clear(&r);
	assert_int_equal(room_body("{\"room\":\"t\",\"members\":null}", 3, &r),
	    CHAT_OK);
	room_request_clear(&r);
	assert_int_equal(room_body("{\"room\":\"a b\"}", 3, &r),
	    CHAT_E_BAD_ROOM);
	assert_null(r.room);
	assert_int_equal(room_body("{\"members\":[]}", 3, &r), CHAT_E_BAD_ROOM);
	assert_int_equal(room_body("{\"room\":\"t\",\"members\":[\"a\",\"b\","
	    "\"c\",\"d\"]}", 3, &r), CHAT_E_BAD_PARAM);
	assert_int_equal(room_body("{\"room\":\"t\",\"members\":[1]}", 3, &r),
	    CHAT_E_BAD_PARAM);
	assert_int_equal(room_body("{\"room\":\"t\",\"members\":[\"a\","
	    "\"\\u0000\"]}", 3, &r), CHAT_E_BAD_PARAM);
	assert_null(r.members);
	assert_int_equal(room_body("{\"room\":\"t\",\"members\":{}}", 3, &r),
	    CHAT_E_BAD_PARAM);
	assert_int_equal(room_body("[]", 3, &r), CHAT_E_BAD_JSON);
	assert_int_equal(room_body("", 3, &r), CHAT_E_BAD_JSON);
}

static void
test_dm_bodies(void **state)
{
	struct room_request r;
	const char *why = NULL;

	(void)state;
	assert_int_equal(json_parse_dm("{\"user\":\"bob\"}", 14, &r, &why),
	    CHAT_OK);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.members[0], "bob");
	assert_null(r.room);
	room_request_clear(&r);
	assert_int_equal(json_parse_dm("{}", 2, &r, &why), CHAT_E_BAD_PARAM);
	assert_null(r.members);
	assert_int_equal(json_parse_dm("{\"user\":\"\"}", 11, &r, &why),
	    CHAT_E_BAD_PARAM);
	assert_int_equal(json_parse_dm("{\"user\":", 8, &r, &why),
	    CHAT_E_BAD_JSON);
}

static void
test_encode(void **state)
{
	char *members[] = { "alice", "b\"ob" };
	struct buf b = { 0 };

	(void)state;
	assert_int_equal(json_private_room(&b, "dm-1", "b\"ob", members, 2), 0);
	assert_string_equal(b.data, "{\"room\":\"dm-1\",\"private\":true,"
	    "\"direct\":\"b\\\"ob\",\"members\":[\"alice\",\"b\\\"ob\"]}");
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(t) cmocka_unit_test_setup_teardown(t, setup, teardown)
		T(test_access_and_version),
		T(test_members_edit_and_drop),
		T(test_shell_changes_version),
		T(test_rooms_for),
		T(test_check),
		cmocka_unit_test(test_dm_name),
		cmocka_unit_test(test_validate_member),
		cmocka_unit_test(test_room_bodies),
		cmocka_unit_test(test_dm_bodies),
		cmocka_unit_test(test_encode),
#undef T
	};

	log_init("test_private", LOG_LEVEL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
