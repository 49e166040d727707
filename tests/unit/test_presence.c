/* test_presence.c - unit tests of presence_set.c (one entry per person
 * and room whatever the connections, the grace between long-poll rounds,
 * what a write owes the shared table, a full rewrite) and of the shared
 * tables through store.h (two workers' rows merged into one entry per
 * person, versions that only grow, a crashed worker's rows ignored and
 * swept, a worker that leaves). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "presence.h"
#include "tmp_db.h"

/* The rows of a write, as "+room/name" and "-room/name" joined by " ". */
static void
changes(struct presence_set *s, int64_t mono, bool full, char *out,
    size_t outsz)
{
	struct presence_change *c;
	size_t n, o = 0;

	assert_int_equal(presence_set_changes(s, mono, full, &c, &n), 0);
	out[0] = '\0';
	for (size_t i = 0; i < n; i++)
		o += (size_t)snprintf(out + o, outsz - o, "%s%c%s/%s%s",
		    i ? " " : "", c[i].row.gone ? '-' : '+', c[i].row.room,
		    c[i].row.name, c[i].row.verified ? "!" : "");
	free(c);
}

static void
test_one_entry_per_person(void **state)
{
	struct presence_set s = { 0 };
	struct presence_entry *a, *b, *c;
	char w[256];

	(void)state;
	a = presence_set_join(&s, "lobby", "alice", false, 1000);
	b = presence_set_join(&s, "lobby", "alice", false, 2000);
	c = presence_set_join(&s, "lobby", "alice", true, 3000);
	assert_ptr_equal(a, b);
	assert_ptr_not_equal(a, c);   /* a user is not a nick of that name */
	assert_int_equal(a->conns, 2);
	assert_int_equal(a->since_ms, 1000);   /* the first arrival */
	assert_int_equal(s.n, 2);
	assert_true(presence_set_pending(&s, 0));
	changes(&s, 0, false, w, sizeof(w));
	assert_true(strstr(w, "+lobby/alice!") && strstr(w, "+lobby/alice"));
	assert_false(presence_set_pending(&s, 0));
	changes(&s, 0, false, w, sizeof(w));
	assert_string_equal(w, "");   /* nothing new: nothing to write */
	presence_set_clear(&s);
}

static void
test_grace_between_rounds(void **state)
{
	struct presence_set s = { 0 };
	struct presence_entry *a;
	char w[256];

	(void)state;
	a = presence_set_join(&s, "r", "bob", false, 5);
	changes(&s, 0, false, w, sizeof(w));
	presence_set_leave(a, 100);
	/* Within the grace: still there, nothing to write. */
	assert_false(presence_set_pending(&s, 100 + PRESENCE_GRACE_MS - 1));
	/* The next round comes in time: the same entry, the same since. */
	assert_ptr_equal(presence_set_join(&s, "r", "bob", false, 900), a);
	assert_int_equal(a->since_ms, 5);
	presence_set_leave(a, 2000);
	assert_true(presence_set_pending(&s, 2000 + PRESENCE_GRACE_MS));
	changes(&s, 2000 + PRESENCE_GRACE_MS, false, w, sizeof(w));
	assert_string_equal(w, "-r/bob");
	assert_int_equal(s.n, 0);
	presence_set_clear(&s);
}

static void
test_never_stored_never_written(void **state)
{
	struct presence_set s = { 0 };
	struct presence_entry *a;
	char w[256];

	(void)state;
	a = presence_set_join(&s, "r", "carol", false, 5);
	presence_set_leave(a, 0);
	changes(&s, PRESENCE_GRACE_MS, false, w, sizeof(w));
	assert_string_equal(w, "");
	assert_int_equal(s.n, 0);
	presence_set_clear(&s);
}

static void
test_full_rewrite(void **state)
{
	struct presence_set s = { 0 };
	char w[256];

	(void)state;
	presence_set_join(&s, "r", "a", false, 1);
	presence_set_leave(presence_set_join(&s, "r", "b", false, 1), 0);
	changes(&s, 0, false, w, sizeof(w));
	/* After a failed write: every live person again, the gone left
	 * to the rewrite's delete of the worker's rows. */
	changes(&s, PRESENCE_GRACE_MS, true, w, sizeof(w));
	assert_string_equal(w, "+r/a");
	presence_set_clear(&s);
}

/* --- the shared tables -------------------------------------------------- */

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL || tmp_db_open(f, "test_presence") == -1) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	tmp_db_close(*state);
	free(*state);
	return 0;
}

static void
sync_rows(struct store *s, const char *worker, int64_t now,
    const struct store_presence_row *v, size_t n)
{
	struct store_presence_sync w = { .worker = worker, .now_ms = now,
	    .v = v, .n = n };

	assert_int_equal(store_presence_sync(s, &w), CHAT_OK);
}

static void
test_store_merge_and_versions(void **state)
{
	struct fx *f = *state;
	struct chat_people p = { 0 };
	struct chat_room_list changed = { 0 };
	int64_t v0, v1, v2, max;
	struct store_presence_row a = { "lobby", "alice", false, 2000, false };
	struct store_presence_row a2 = { "lobby", "alice", false, 1000, false };
	struct store_presence_row u = { "lobby", "alice", true, 3000, false };

	assert_int_equal(store_presence_read(f->s, "lobby", 0, &p, &v0),
	    CHAT_OK);
	assert_int_equal(v0, 0);
	assert_int_equal(p.n, 0);
	sync_rows(f->s, "w1", 10000, &a, 1);
	sync_rows(f->s, "w2", 10000, &a2, 1);
	sync_rows(f->s, "w2", 10000, &u, 1);
	assert_int_equal(store_presence_read(f->s, "lobby", 0, &p, &v1),
	    CHAT_OK);
	assert_true(v1 > v0);
	assert_int_equal(p.n, 2);   /* alice the nick once, alice the user */
	assert_string_equal(p.v[0].name, "alice");
	assert_false(p.v[0].verified);
	assert_int_equal(p.v[0].since_ms, 1000);   /* the earliest */
	assert_true(p.v[1].verified);
	assert_int_equal(store_presence_changed(f->s, v0, &changed, &max),
	    CHAT_OK);
	assert_int_equal(changed.n, 1);
	assert_string_equal(changed.v[0].name, "lobby");
	assert_int_equal(max, v1);
	chat_room_list_clear(&changed);
	/* w2 stops beating: its rows no longer count for readers ... */
	sync_rows(f->s, "w1", 60000, NULL, 0);
	assert_int_equal(store_presence_read(f->s, "lobby", 50000, &p, &v2),
	    CHAT_OK);
	assert_int_equal(p.n, 1);
	assert_int_equal(p.v[0].since_ms, 2000);
	/* ... and the next sweep removes them, moving the room's version. */
	assert_int_equal(store_presence_sync(f->s, &(struct
	    store_presence_sync){ .worker = "w1", .now_ms = 60000,
	    .stale_ms = 50000 }), CHAT_OK);
	assert_int_equal(store_presence_read(f->s, "lobby", 0, &p, &v2),
	    CHAT_OK);
	assert_int_equal(p.n, 1);
	assert_true(v2 > v1);
	/* w1 leaves: nobody, a newer version again. */
	assert_int_equal(store_presence_sync(f->s, &(struct
	    store_presence_sync){ .worker = "w1", .now_ms = 61000,
	    .leave = true }), CHAT_OK);
	assert_int_equal(store_presence_read(f->s, "lobby", 0, &p, &v1),
	    CHAT_OK);
	assert_int_equal(p.n, 0);
	assert_true(v1 > v2);
	chat_people_clear(&p);
}

static void
test_store_gone_and_full(void **state)
{
	struct fx *f = *state;
	struct chat_people p = { 0 };
	int64_t v;
	struct store_presence_row rows[] = {
		{ "r", "a", false, 1, false }, { "r", "b", false, 1, false },
	};
	struct store_presence_row gone = { "r", "a", false, 1, true };

	sync_rows(f->s, "w", 1000, rows, 2);
	sync_rows(f->s, "w", 1000, &gone, 1);
	assert_int_equal(store_presence_read(f->s, "r", 0, &p, &v), CHAT_OK);
	assert_int_equal(p.n, 1);
	assert_string_equal(p.v[0].name, "b");
	/* A full write replaces the worker's rows. */
	assert_int_equal(store_presence_sync(f->s, &(struct
	    store_presence_sync){ .worker = "w", .now_ms = 1000, .full = true,
	    .v = rows, .n = 1 }), CHAT_OK);
	assert_int_equal(store_presence_read(f->s, "r", 0, &p, &v), CHAT_OK);
	assert_int_equal(p.n, 1);
	assert_string_equal(p.v[0].name, "a");
	chat_people_clear(&p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_entry_per_person),
		cmocka_unit_test(test_grace_between_rounds),
		cmocka_unit_test(test_never_stored_never_written),
		cmocka_unit_test(test_full_rewrite),
		cmocka_unit_test_setup_teardown(test_store_merge_and_versions,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_gone_and_full,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
