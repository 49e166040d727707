/* test_store_history.c - the history half of store.c: tombstones
 * (store_delete and reads around them), retention (store_prune and
 * rooms.pruned_through), store_import, store_inspect and migration 002,
 * against real SQLite files in a temporary directory. */
#include <sys/stat.h>

#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utime.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "chat.h"
#include "log.h"
#include "store.h"

extern const char *const store_migrations[];

#define FIXTURE_NAME "test_history"
#include "store_fixture.h"

/* --- helpers ----------------------------------------------------------- */

static int64_t
put(struct fx *f, const char *room, const char *text)
{
	struct chat_message m;
	bool created;
	int64_t id;

	assert_int_equal(store_append(f->s, room, "n", text, NULL, &m,
	    &created), CHAT_OK);
	id = m.id;
	chat_message_clear(&m);
	return id;
}

/* Reads room (since or, with since -1, the newest) and returns the ids,
 * a tombstone's as -(the id it deletes), in out; *n of them. */
static void
read_ids(struct fx *f, const char *room, int64_t since, int64_t *out,
    size_t *n, struct store_read_info *in)
{
	struct store_query q = { since, -1, 100 };
	struct chat_list l = { 0 };

	assert_int_equal(store_read(f->s, room, &q, &l, in), CHAT_OK);
	for (size_t i = 0; i < l.n; i++) {
		out[i] = l.v[i].deletes ? -l.v[i].deletes : l.v[i].id;
		if (l.v[i].deletes) {
			assert_string_equal(l.v[i].nick, "");
			assert_string_equal(l.v[i].text, "");
			assert_string_equal(l.v[i].room, room);
		}
	}
	*n = l.n;
	chat_list_clear(&l);
}

#define assert_ids(got, n, ...) do {                                    \
	int64_t want_[] = { __VA_ARGS__ };                                  \
	assert_int_equal((n), sizeof(want_) / sizeof(want_[0]));           \
	assert_memory_equal((got), want_, sizeof(want_));                  \
} while (0)

/* --- tombstones -------------------------------------------------------- */

static void
test_delete_leaves_tombstone(void **state)
{
	struct fx *f = *state;
	struct chat_message t = { 0 };
	struct store_read_info in;
	int64_t a = put(f, "lobby", "a"), b = put(f, "lobby", "b");
	int64_t c = put(f, "lobby", "c"), got[16];
	size_t n;

	put(f, "other", "x");
	assert_int_equal(store_delete(f->s, b, &t), CHAT_OK);
	assert_true(t.id > c);
	assert_int_equal(t.deletes, b);
	assert_string_equal(t.room, "lobby");
	assert_string_equal(t.text, "");

	/* Reads after a cursor carry the tombstone ... */
	read_ids(f, "lobby", 0, got, &n, &in);
	assert_ids(got, n, a, c, -b);
	assert_int_equal(in.room_last, t.id);
	assert_int_equal(in.db_max, t.id);
	/* ... history reads do not. */
	read_ids(f, "lobby", -1, got, &n, &in);
	assert_ids(got, n, a, c);
	assert_int_equal(raw_int(f->path, "SELECT messages FROM rooms WHERE "
	    "name = 'lobby'"), 2);
	assert_int_equal(raw_int(f->path, "SELECT last_id FROM rooms WHERE "
	    "name = 'lobby'"), t.id);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM history"), 3);
	chat_message_clear(&t);
}

static void
test_delete_not_found(void **state)
{
	struct fx *f = *state;
	struct chat_message t = { 0 };
	struct chat_room_list rl = { 0 };
	int64_t a = put(f, "lobby", "a");
	int64_t rows;

	assert_int_equal(store_delete(f->s, a, &t), CHAT_OK);
	rows = raw_int(f->path, "SELECT count(*) FROM messages");
	/* Again, the tombstone itself, and an id never used. */
	assert_int_equal(store_delete(f->s, a, NULL), CHAT_E_NOT_FOUND);
	assert_int_equal(store_delete(f->s, t.id, NULL), CHAT_E_NOT_FOUND);
	assert_int_equal(store_delete(f->s, 999, NULL), CHAT_E_NOT_FOUND);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM messages"),
	    rows);
	chat_message_clear(&t);
	/* A room whose only message went is not listed. */
	assert_int_equal(store_rooms(f->s, &rl), CHAT_OK);
	assert_int_equal(rl.n, 0);
	chat_room_list_clear(&rl);
}

static void
test_delete_wakes_watchers(void **state)
{
	struct fx *f = *state;
	char *p = store_notify_path(f->path);
	struct utimbuf old = { 1, 1 };
	struct stat sb;
	int64_t a = put(f, "lobby", "a");

	assert_non_null(p);
	assert_int_equal(utime(p, &old), 0);
	assert_int_equal(store_delete(f->s, a, NULL), CHAT_OK);
	assert_int_equal(stat(p, &sb), 0);
	assert_true(sb.st_mtime > 1);
	/* Nothing deleted, nobody woken. */
	assert_int_equal(utime(p, &old), 0);
	assert_int_equal(store_delete(f->s, a, NULL), CHAT_E_NOT_FOUND);
	assert_int_equal(stat(p, &sb), 0);
	assert_int_equal(sb.st_mtime, 1);
	free(p);
}

static void
test_read_after_carries_tombstones(void **state)
{
	struct fx *f = *state;
	struct chat_list l = { 0 };
	int64_t a = put(f, "lobby", "a");

	put(f, "other", "b");
	assert_int_equal(store_delete(f->s, a, NULL), CHAT_OK);
	assert_int_equal(store_read_after(f->s, 0, 10, &l), CHAT_OK);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.v[0].deletes, 0);
	assert_string_equal(l.v[0].text, "b");
	assert_int_equal(l.v[1].deletes, a);
	chat_list_clear(&l);
}

/* --- retention --------------------------------------------------------- */

static void
test_prune_by_count(void **state)
{
	struct fx *f = *state;
	struct store_retention r = { .max_messages = 5, .batch = 2 };
	struct store_read_info in;
	int64_t ids[10], got[16], removed = 0;
	size_t n;

	for (int i = 0; i < 10; i++)
		ids[i] = put(f, "big", "m");
	put(f, "small", "s1");
	put(f, "small", "s2");
	assert_int_equal(store_prune(f->s, &r, chat_now_ms(), &removed),
	    CHAT_OK);
	assert_int_equal(removed, 5);
	read_ids(f, "big", -1, got, &n, &in);
	assert_ids(got, n, ids[5], ids[6], ids[7], ids[8], ids[9]);
	assert_int_equal(in.pruned_through, ids[4]);
	assert_int_equal(in.room_last, ids[9]);
	read_ids(f, "small", -1, got, &n, &in);
	assert_int_equal(n, 2);
	assert_int_equal(in.pruned_through, 0);
	/* Nothing more to do. */
	removed = 0;
	assert_int_equal(store_prune(f->s, &r, chat_now_ms(), &removed),
	    CHAT_OK);
	assert_int_equal(removed, 0);
}

static void
test_prune_counts_messages_not_tombstones(void **state)
{
	struct fx *f = *state;
	struct store_retention r = { .max_messages = 2 };
	struct store_read_info in;
	int64_t a = put(f, "lobby", "a"), b = put(f, "lobby", "b");
	int64_t c = put(f, "lobby", "c"), got[16], removed = 0;
	struct chat_message t;
	size_t n;

	assert_int_equal(store_delete(f->s, c, &t), CHAT_OK);
	/* Messages a and b are the newest two: nothing goes. */
	assert_int_equal(store_prune(f->s, &r, chat_now_ms(), &removed),
	    CHAT_OK);
	assert_int_equal(removed, 0);
	r.max_messages = 1;
	assert_int_equal(store_prune(f->s, &r, chat_now_ms(), &removed),
	    CHAT_OK);
	assert_int_equal(removed, 1);
	read_ids(f, "lobby", 0, got, &n, &in);
	assert_ids(got, n, b, -c);
	assert_int_equal(in.pruned_through, a);
	chat_message_clear(&t);
}

static void
test_prune_by_age(void **state)
{
	struct fx *f = *state;
	struct store_retention r = { .max_age_ms = 86400000 };
	struct store_read_info in;
	struct chat_room_list rl = { 0 };
	int64_t a = put(f, "lobby", "a"), b = put(f, "lobby", "b");
	int64_t c = put(f, "lobby", "c"), got[16], removed = 0;
	char sql[128];
	size_t n;

	/* Now, nothing is a day old. */
	assert_int_equal(store_prune(f->s, &r, chat_now_ms(), &removed),
	    CHAT_OK);
	assert_int_equal(removed, 0);
	/* a and c are old, b is not: only a goes (the oldest run). */
	snprintf(sql, sizeof(sql), "UPDATE messages SET ts = 1 WHERE id IN "
	    "(%lld, %lld)", (long long)a, (long long)c);
	raw_exec(f->path, sql);
	assert_int_equal(store_prune(f->s, &r, chat_now_ms(), &removed),
	    CHAT_OK);
	assert_int_equal(removed, 1);
	read_ids(f, "lobby", -1, got, &n, &in);
	assert_ids(got, n, b, c);
	/* Two days later everything is old: the room empties, and remembers
	 * where readers start. */
	assert_int_equal(store_prune(f->s, &r, chat_now_ms() + 2 * 86400000LL,
	    &removed), CHAT_OK);
	assert_int_equal(removed, 3);
	read_ids(f, "lobby", -1, got, &n, &in);
	assert_int_equal(n, 0);
	assert_int_equal(in.pruned_through, c);
	assert_int_equal(in.room_last, c);
	assert_int_equal(store_rooms(f->s, &rl), CHAT_OK);
	assert_int_equal(rl.n, 0);
	chat_room_list_clear(&rl);
	/* The room comes back with its next message. */
	put(f, "lobby", "d");
	assert_int_equal(store_rooms(f->s, &rl), CHAT_OK);
	assert_int_equal(rl.n, 1);
	assert_int_equal(rl.v[0].messages, 1);
	assert_int_equal(rl.v[0].pruned_through, c);
	chat_room_list_clear(&rl);
}

static void
test_prune_off(void **state)
{
	struct fx *f = *state;
	struct store_retention r = { 0 };
	int64_t removed = 0;

	put(f, "lobby", "a");
	assert_int_equal(store_prune(f->s, &r, chat_now_ms() + 1000000000LL,
	    &removed), CHAT_OK);
	assert_int_equal(removed, 0);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM messages"), 1);
}

/* --- import ------------------------------------------------------------ */

static void
test_import(void **state)
{
	struct fx *f = *state;
	int64_t a = put(f, "lobby", "a");
	struct chat_message v[] = {
		{ .id = a, .ts = 5, .room = "lobby", .nick = "x", .text = "taken" },
		{ .id = 100, .ts = 6, .room = "new", .nick = "y", .text = "kept" },
		{ .id = 0, .ts = 7, .room = "new", .nick = "z", .text = "fresh" },
	};
	size_t stored = 0;

	assert_int_equal(store_import(f->s, v, 3, &stored), CHAT_OK);
	assert_int_equal(stored, 2);
	assert_int_equal(raw_int(f->path, "SELECT ts FROM messages WHERE "
	    "id = 100 AND text = 'kept'"), 6);
	assert_int_equal(raw_int(f->path, "SELECT id FROM messages WHERE "
	    "text = 'fresh'"), 101);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM messages WHERE "
	    "text = 'taken'"), 0);
	assert_int_equal(raw_int(f->path, "SELECT messages FROM rooms WHERE "
	    "name = 'new'"), 2);
	/* Idempotent. */
	stored = 0;
	assert_int_equal(store_import(f->s, v, 2, &stored), CHAT_OK);
	assert_int_equal(stored, 0);
	/* Ids keep increasing after an import above the newest. */
	assert_true(put(f, "lobby", "next") > 101);
}

/* --- inspect and migration --------------------------------------------- */

static void
test_inspect(void **state)
{
	struct fx *f = *state;
	struct store_options o = f->o;
	struct store_health h;
	char missing[PATH_MAX];

	put(f, "lobby", "a");
	assert_int_equal(store_inspect(&f->o, &h), 0);
	assert_true(h.exists && h.readable && h.writable && h.wal);
	assert_int_equal(h.schema, store_schema_version());
	assert_int_equal(h.last_id, 1);

	snprintf(missing, sizeof(missing), "%s/none.db", f->dir);
	o.path = missing;
	assert_int_equal(store_inspect(&o, &h), 0);
	assert_false(h.exists);
	assert_true(h.error[0] != '\0');
	assert_int_equal(access(missing, F_OK), -1);

	raw_exec(f->path, "PRAGMA user_version = 7");
	assert_int_equal(store_inspect(&f->o, &h), 0);
	assert_int_equal(h.schema, 7);
}

static void
test_migrate_from_1(void **state)
{
	struct fx *f = *state;
	char p[PATH_MAX];
	struct store_options o = f->o;
	struct store *s;

	snprintf(p, sizeof(p), "%s/old.db", f->dir);
	o.path = p;
	raw_exec(p, "PRAGMA journal_mode = WAL");
	raw_exec(p, store_migrations[0]);
	raw_exec(p, "PRAGMA user_version = 1; "
	    "INSERT INTO messages (room, nick, text) VALUES ('r', 'n', 'a'), "
	    "('r', 'n', 'b'), ('q', 'n', 'c')");
	assert_null(store_open(&o));
	assert_int_equal(store_migrate(&o), 0);
	assert_int_equal(raw_int(p, "PRAGMA user_version"),
	    store_schema_version());
	assert_int_equal(raw_int(p, "SELECT messages FROM rooms WHERE "
	    "name = 'r'"), 2);
	assert_int_equal(raw_int(p, "SELECT count(*) FROM messages WHERE "
	    "deletes IS NULL"), 3);
	assert_int_equal(raw_int(p, "SELECT count(*) FROM history"), 3);
	assert_non_null(s = store_open(&o));
	assert_int_equal(store_delete(s, 1, NULL), CHAT_OK);
	assert_int_equal(raw_int(p, "SELECT messages FROM rooms WHERE "
	    "name = 'r'"), 1);
	store_free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(t) cmocka_unit_test_setup_teardown(t, setup, teardown)
		T(test_delete_leaves_tombstone),
		T(test_delete_not_found),
		T(test_delete_wakes_watchers),
		T(test_read_after_carries_tombstones),
		T(test_prune_by_count),
		T(test_prune_counts_messages_not_tombstones),
		T(test_prune_by_age),
		T(test_prune_off),
		T(test_import),
		T(test_inspect),
		T(test_migrate_from_1),
#undef T
	};

	log_init("test_store_history", getenv("TEST_STORE_LOG") ?
	    LOG_LEVEL_DEBUG : LOG_LEVEL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
