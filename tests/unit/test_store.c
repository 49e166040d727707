/* test_store.c - store.c against real SQLite files in a temporary
 * directory; SQLite is used directly only to play the person with the
 * sqlite3 shell. */
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "chat.h"
#include "log.h"
#include "store.h"

#define FIXTURE_NAME "test_store"
#include "store_fixture.h"

/* --- the person with the sqlite3 shell ----------------------------------- */

static void
raw_text(const char *path, const char *sql, char *out, size_t outsz)
{
	sqlite3 *db;
	sqlite3_stmt *st;

	out[0] = '\0';
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL),
	    SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		snprintf(out, outsz, "%s", sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(db);
}

/* --- helpers ----------------------------------------------------------- */

static int64_t
put(struct fx *f, const char *room, const char *nick, const char *text)
{
	struct chat_message m;
	bool created = false;
	int64_t id;

	assert_int_equal(store_append(f->s, room, nick, text, NULL, &m,
	    &created), CHAT_OK);
	assert_true(created);
	id = m.id;
	chat_message_clear(&m);
	return id;
}

static enum chat_error
read_room(struct fx *f, const char *room, int64_t since, int64_t before,
    int limit, struct chat_list *l, int64_t *db_max, int64_t *room_last)
{
	struct store_query q = { since, before, limit };
	struct store_read_info in;
	enum chat_error e = store_read(f->s, room, &q, l, &in);

	if (e == CHAT_OK && db_max != NULL)
		*db_max = in.db_max;
	if (e == CHAT_OK && room_last != NULL)
		*room_last = in.room_last;
	return e;
}

static int64_t
count(struct fx *f)
{
	return raw_int(f->path, "SELECT count(*) FROM messages");
}

/* --- migration and opening ------------------------------------------- */

static void
test_schema_version(void **state)
{
	struct fx *f = *state;
	char *p;

	assert_true(store_schema_version() >= 1);
	assert_int_equal(raw_int(f->path, "PRAGMA user_version"),
	    store_schema_version());
	p = store_notify_path("/x/chat.db");
	assert_string_equal(p, "/x/chat.db-notify");
	free(p);
}

static void
test_migrate_twice(void **state)
{
	struct fx *f = *state;
	int64_t objects = raw_int(f->path,
	    "SELECT count(*) FROM sqlite_master");

	put(f, "lobby", "alice", "hi");
	assert_int_equal(store_migrate(&f->o), 0);
	assert_int_equal(store_migrate(&f->o), 0);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM sqlite_master"),
	    objects);
	assert_int_equal(raw_int(f->path, "PRAGMA user_version"),
	    store_schema_version());
	assert_int_equal(count(f), 1);
	put(f, "lobby", "alice", "still works");
}

static void
assert_mode(const char *path, mode_t want)
{
	struct stat sb;

	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, want);
}

static void
test_migrate_creates_private(void **state)
{
	struct fx *f = *state;
	struct store_options o = f->o;
	struct store *s;
	char path[PATH_MAX], dir[256], p[PATH_MAX + 16];
	mode_t old = umask(0);

	snprintf(dir, sizeof(dir), "%s/var", f->dir);
	snprintf(path, sizeof(path), "%s/chat.db", dir);
	o.path = path;
	assert_int_equal(store_migrate(&o), 0);
	umask(old);
	assert_mode(dir, 0700);
	assert_mode(path, 0600);
	snprintf(p, sizeof(p), "%s-notify", path);
	assert_mode(p, 0600);
	assert_non_null(s = store_open(&o));
	snprintf(p, sizeof(p), "%s-wal", path);
	assert_mode(p, 0600);
	snprintf(p, sizeof(p), "%s-shm", path);
	assert_mode(p, 0600);
	store_free(s);
}

#define RACE_ROUNDS 10
#define RACE_PROCS 4

static void
race_round(struct fx *f, int round)
{
	struct store_options o = f->o;
	struct store *s;
	char path[PATH_MAX];
	pid_t pid[RACE_PROCS];
	int go[2], status;
	char c;

	snprintf(path, sizeof(path), "%s/race%d.db", f->dir, round);
	o.path = path;
	assert_int_equal(pipe(go), 0);
	for (int i = 0; i < RACE_PROCS; i++) {
		assert_true((pid[i] = fork()) != -1);
		if (pid[i] == 0) {
			close(go[1]);
			(void)read(go[0], &c, 1);   /* EOF: all start */
			_exit(store_migrate(&o) == 0 ? 0 : 1);
		}
	}
	close(go[0]);
	close(go[1]);
	for (int i = 0; i < RACE_PROCS; i++) {
		assert_int_equal(waitpid(pid[i], &status, 0), pid[i]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	assert_non_null(s = store_open(&o));
	store_free(s);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM sqlite_master "
	    "WHERE name = 'messages'"), 1);
}

static void
test_migrate_concurrent(void **state)
{
	for (int r = 0; r < RACE_ROUNDS; r++)
		race_round(*state, r);
}

static void
test_migrate_newer_schema(void **state)
{
	struct fx *f = *state;
	char sql[64];

	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
	    store_schema_version() + 1);
	raw_exec(f->path, sql);
	assert_int_equal(store_migrate(&f->o), -1);
	assert_null(store_open(&f->o));
	assert_int_equal(raw_int(f->path, "PRAGMA user_version"),
	    store_schema_version() + 1);
}

/* A migration that fails leaves nothing half done. */
static void
test_migrate_failure_rolls_back(void **state)
{
	struct fx *f = *state;
	struct store_options o = f->o;
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/taken.db", f->dir);
	o.path = path;
	raw_exec(path, "CREATE TABLE rooms (x)");
	assert_int_equal(store_migrate(&o), -1);
	assert_int_equal(raw_int(path, "PRAGMA user_version"), 0);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM sqlite_master "
	    "WHERE name = 'messages'"), 0);
	assert_null(store_open(&o));
	raw_exec(path, "DROP TABLE rooms");
	assert_int_equal(store_migrate(&o), 0);
}

static void
test_open_unmigrated(void **state)
{
	struct fx *f = *state;
	struct store_options o = f->o;
	char path[PATH_MAX];
	int fd;

	/* Missing: not created by store_open. */
	snprintf(path, sizeof(path), "%s/missing.db", f->dir);
	o.path = path;
	assert_null(store_open(&o));
	assert_int_equal(access(path, F_OK), -1);
	o.readonly = true;
	assert_null(store_open(&o));
	o.readonly = false;

	/* Empty file: rollback journal, user_version 0. */
	snprintf(path, sizeof(path), "%s/empty.db", f->dir);
	assert_true((fd = open(path, O_CREAT | O_WRONLY, 0600)) != -1);
	close(fd);
	assert_null(store_open(&o));

	/* WAL but no schema. */
	raw_exec(path, "PRAGMA journal_mode=WAL");
	assert_null(store_open(&o));

	/* Not a database at all. */
	snprintf(path, sizeof(path), "%s/junk.db", f->dir);
	assert_true((fd = open(path, O_CREAT | O_WRONLY, 0600)) != -1);
	assert_int_equal(write(fd, "this is not sqlite, not at all, no..",
	    36), 36);
	for (int i = 0; i < 200; i++)
		assert_int_equal(write(fd, "junkjunk", 8), 8);
	close(fd);
	assert_null(store_open(&o));
	assert_int_equal(store_migrate(&o), -1);
}

/* --- sending and reading ----------------------------------------------- */

static void
test_append_read_round_trip(void **state)
{
	struct fx *f = *state;
	struct chat_message m;
	struct chat_list l = { 0 };
	int64_t t0 = chat_now_ms(), t1, max = -1, last = -1;
	bool created = false;

	assert_int_equal(store_append(f->s, "lobby", "alice",
	    "h\xc3\xa9llo\n\tw\"orld'", NULL, &m, &created), CHAT_OK);
	t1 = chat_now_ms();
	assert_true(created);
	assert_true(m.id > 0);
	assert_true(m.ts >= t0 && m.ts <= t1);
	assert_string_equal(m.room, "lobby");
	assert_string_equal(m.nick, "alice");
	assert_string_equal(m.text, "h\xc3\xa9llo\n\tw\"orld'");

	assert_int_equal(read_room(f, "lobby", -1, -1, 100, &l, &max, &last),
	    CHAT_OK);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.v[0].id, m.id);
	assert_int_equal(l.v[0].ts, m.ts);
	assert_string_equal(l.v[0].room, "lobby");
	assert_string_equal(l.v[0].nick, "alice");
	assert_string_equal(l.v[0].text, m.text);
	assert_int_equal(max, m.id);
	assert_int_equal(last, m.id);
	assert_int_equal(raw_int(f->path, "SELECT ts FROM messages"), m.ts);
	chat_list_clear(&l);
	chat_message_clear(&m);
}

static void
test_ids_increasing(void **state)
{
	struct fx *f = *state;
	const char *rooms[] = { "a", "b", "c" };
	int64_t prev = 0, id, max;
	char sql[64];

	for (int i = 0; i < 60; i++) {
		id = put(f, rooms[i % 3], "n", "t");
		assert_true(id > prev);
		prev = id;
	}
	/* Deleting the newest rows must not let their ids come back. */
	raw_exec(f->path, "DELETE FROM messages WHERE id > 50");
	assert_int_equal(store_max_id(f->s, &max), CHAT_OK);
	assert_int_equal(max, 50);
	id = put(f, "a", "n", "t");
	assert_true(id > prev);
	snprintf(sql, sizeof(sql), "DELETE FROM messages WHERE id = %lld",
	    (long long)id);
	raw_exec(f->path, sql);
	assert_true(put(f, "a", "n", "t") > id);
}

static void
assert_ids(const struct chat_list *l, int64_t first, int64_t step, size_t n)
{
	assert_int_equal(l->n, n);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(l->v[i].id, first + (int64_t)i * step);
}

/* Room "a" gets the odd ids 1..19, room "b" the even ones 2..20. */
static void
fill_two_rooms(struct fx *f)
{
	for (int i = 0; i < 10; i++) {
		assert_int_equal(put(f, "a", "n", "t"), 2 * i + 1);
		assert_int_equal(put(f, "b", "n", "t"), 2 * i + 2);
	}
}

static void
test_read_modes(void **state)
{
	struct fx *f = *state;
	struct chat_list l = { 0 };
	int64_t max, last;

	fill_two_rooms(f);

	/* Newest limit, oldest first. */
	assert_int_equal(read_room(f, "a", -1, -1, 3, &l, &max, &last),
	    CHAT_OK);
	assert_ids(&l, 15, 2, 3);
	assert_int_equal(max, 20);
	assert_int_equal(last, 19);
	chat_list_clear(&l);

	/* since: the first limit after it. */
	assert_int_equal(read_room(f, "a", 4, -1, 2, &l, NULL, NULL),
	    CHAT_OK);
	assert_ids(&l, 5, 2, 2);
	chat_list_clear(&l);
	assert_int_equal(read_room(f, "a", 0, -1, 100, &l, NULL, NULL),
	    CHAT_OK);
	assert_ids(&l, 1, 2, 10);
	chat_list_clear(&l);

	/* since at or past the end: nothing, the cursors still come. */
	assert_int_equal(read_room(f, "a", 19, -1, 100, &l, &max, &last),
	    CHAT_OK);
	assert_int_equal(l.n, 0);
	assert_int_equal(max, 20);
	assert_int_equal(last, 19);

	/* before: the newest limit below it, oldest first. */
	assert_int_equal(read_room(f, "a", -1, 12, 3, &l, NULL, NULL),
	    CHAT_OK);
	assert_ids(&l, 7, 2, 3);
	chat_list_clear(&l);
	assert_int_equal(read_room(f, "a", -1, 2, 3, &l, NULL, NULL),
	    CHAT_OK);
	assert_ids(&l, 1, 2, 1);
	chat_list_clear(&l);
	assert_int_equal(read_room(f, "a", -1, 1, 3, &l, NULL, NULL),
	    CHAT_OK);
	assert_int_equal(l.n, 0);

	/* limit 0 and a negative limit return nothing, not everything. */
	assert_int_equal(read_room(f, "a", -1, -1, 0, &l, NULL, NULL),
	    CHAT_OK);
	assert_int_equal(l.n, 0);
	assert_int_equal(read_room(f, "a", 0, -1, -1, &l, NULL, NULL),
	    CHAT_OK);
	assert_int_equal(l.n, 0);

	/* An empty room is no error. */
	assert_int_equal(read_room(f, "nobody", -1, -1, 10, &l, &max, &last),
	    CHAT_OK);
	assert_int_equal(l.n, 0);
	assert_int_equal(max, 20);
	assert_int_equal(last, 0);

	/* Only the cursors. */
	max = last = -1;
	assert_int_equal(read_room(f, "b", -1, -1, 10, NULL, &max, &last),
	    CHAT_OK);
	assert_int_equal(max, 20);
	assert_int_equal(last, 20);

	assert_int_equal(read_room(f, "a", 1, 5, 10, &l, NULL, NULL),
	    CHAT_E_BAD_PARAM);
	assert_int_equal(l.n, 0);
}

/* Paging back with the first id as the next before visits every message
 * once, in order. */
static void
test_read_before_paging(void **state)
{
	struct fx *f = *state;
	struct chat_list l = { 0 }, page = { 0 };
	int64_t before = -1, want = 19;

	fill_two_rooms(f);
	for (;;) {
		assert_int_equal(read_room(f, "a", -1, before, 3, &page, NULL,
		    NULL), CHAT_OK);
		if (page.n == 0)
			break;
		assert_true(page.n <= 3);
		for (size_t i = 1; i < page.n; i++)
			assert_true(page.v[i - 1].id < page.v[i].id);
		for (size_t i = page.n; i-- > 0;) {
			assert_int_equal(page.v[i].id, want);
			want -= 2;
		}
		before = page.v[0].id;
		chat_list_clear(&page);
	}
	assert_int_equal(want, -1);

	/* A non-empty list is appended to. */
	assert_int_equal(chat_list_push(&l, 99, 1, "x", "y", "z"), 0);
	assert_int_equal(read_room(f, "b", -1, 7, 2, &l, NULL, NULL),
	    CHAT_OK);
	assert_int_equal(l.n, 3);
	assert_int_equal(l.v[0].id, 99);
	assert_int_equal(l.v[1].id, 4);
	assert_int_equal(l.v[2].id, 6);
	chat_list_clear(&l);
}

static void
test_read_after(void **state)
{
	struct fx *f = *state;
	struct chat_list l = { 0 };
	int64_t max;

	assert_int_equal(store_max_id(f->s, &max), CHAT_OK);
	assert_int_equal(max, 0);
	assert_int_equal(store_read_after(f->s, 0, 10, &l), CHAT_OK);
	assert_int_equal(l.n, 0);

	fill_two_rooms(f);
	assert_int_equal(store_read_after(f->s, 5, 4, &l), CHAT_OK);
	assert_ids(&l, 6, 1, 4);
	assert_string_equal(l.v[0].room, "b");
	assert_string_equal(l.v[1].room, "a");
	chat_list_clear(&l);
	assert_int_equal(store_read_after(f->s, 18, 100, &l), CHAT_OK);
	assert_ids(&l, 19, 1, 2);
	chat_list_clear(&l);
	assert_int_equal(store_read_after(f->s, 20, 100, &l), CHAT_OK);
	assert_int_equal(l.n, 0);
	assert_int_equal(store_max_id(f->s, &max), CHAT_OK);
	assert_int_equal(max, 20);
}

static enum chat_error
send_cid(struct fx *f, const char *room, const char *nick, const char *text,
    const char *cid, struct chat_message *m, bool *created)
{
	return store_append(f->s, room, nick, text, cid, m, created);
}

/* A signed-in sender's message keeps its user through the store: the
 * answer, every read, and a retry with client_id, which finds only the
 * same user's message. An anonymous sender whose nick is the user name
 * is another sender: the same client_id stores its own message, and each
 * one's retry finds its own. Anonymous messages have no user. */
static void
test_user(void **state)
{
	struct fx *f = *state;
	struct store_query q = { 0, -1, 10 };
	struct chat_message m, again, anon;
	struct chat_list l = { 0 };
	bool created;

	assert_int_equal(store_append_as(f->s, "who", "alice", "alice", "hi",
	    "c1", &m, &created), CHAT_OK);
	assert_true(created);
	assert_string_equal(m.user, "alice");
	assert_int_equal(store_append_as(f->s, "who", "alice", "alice", "again",
	    "c1", &again, &created), CHAT_OK);
	assert_false(created);
	assert_int_equal(again.id, m.id);
	assert_string_equal(again.user, "alice");
	chat_message_clear(&again);

	/* Anonymous, nick alice, the same client_id: stored, its own. */
	assert_int_equal(store_append(f->s, "who", "alice", "not her",
	    "c1", &anon, &created), CHAT_OK);
	assert_true(created);
	assert_true(anon.id > m.id);
	assert_null(anon.user);
	assert_string_equal(anon.text, "not her");
	assert_int_equal(store_append(f->s, "who", "alice", "retry",
	    "c1", &again, &created), CHAT_OK);
	assert_false(created);
	assert_int_equal(again.id, anon.id);
	assert_null(again.user);
	chat_message_clear(&again);
	assert_int_equal(store_append_as(f->s, "who", "alice", "alice",
	    "third", "c1", &again, &created), CHAT_OK);
	assert_false(created);
	assert_int_equal(again.id, m.id);
	assert_string_equal(again.text, "hi");
	chat_message_clear(&again);

	assert_int_equal(store_append(f->s, "who", "bob", "anon", NULL,
	    &again, &created), CHAT_OK);
	assert_null(again.user);
	chat_message_clear(&again);
	assert_int_equal(store_read(f->s, "who", &q, &l, NULL), CHAT_OK);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.v[0].user, "alice");
	assert_string_equal(l.v[0].text, "hi");
	assert_null(l.v[1].user);
	assert_string_equal(l.v[1].text, "not her");
	assert_null(l.v[2].user);
	chat_list_clear(&l);
	assert_int_equal(store_read_after(f->s, 0, 10, &l), CHAT_OK);
	assert_string_equal(l.v[0].user, "alice");
	assert_null(l.v[1].user);
	chat_list_clear(&l);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM history WHERE "
	    "user = 'alice' AND nick = 'alice'"), 1);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM messages "
	    "WHERE client_id = 'c1'"), 2);
	chat_message_clear(&anon);
	chat_message_clear(&m);
}

static void
test_idempotent_client_id(void **state)
{
	struct fx *f = *state;
	struct chat_message first, m;
	bool created;

	assert_int_equal(send_cid(f, "lobby", "alice", "one", "c1", &first,
	    &created), CHAT_OK);
	assert_true(created);

	/* The retry, even with other text: the first message, unchanged. */
	assert_int_equal(send_cid(f, "lobby", "alice", "two", "c1", &m,
	    &created), CHAT_OK);
	assert_false(created);
	assert_int_equal(m.id, first.id);
	assert_int_equal(m.ts, first.ts);
	assert_string_equal(m.room, "lobby");
	assert_string_equal(m.nick, "alice");
	assert_string_equal(m.text, "one");
	chat_message_clear(&m);
	assert_int_equal(count(f), 1);

	/* Another nick, another room, or no client_id: new messages. */
	assert_int_equal(send_cid(f, "lobby", "bob", "one", "c1", &m,
	    &created), CHAT_OK);
	assert_true(created);
	assert_true(m.id > first.id);
	chat_message_clear(&m);
	assert_int_equal(send_cid(f, "other", "alice", "one", "c1", &m,
	    &created), CHAT_OK);
	assert_true(created);
	chat_message_clear(&m);
	assert_int_equal(send_cid(f, "lobby", "alice", "one", "c2", &m,
	    &created), CHAT_OK);
	assert_true(created);
	chat_message_clear(&m);
	put(f, "lobby", "alice", "one");
	put(f, "lobby", "alice", "one");
	assert_int_equal(count(f), 6);

	/* created may be NULL. */
	assert_int_equal(send_cid(f, "lobby", "alice", "x", "c1", &m, NULL),
	    CHAT_OK);
	assert_int_equal(m.id, first.id);
	chat_message_clear(&m);
	assert_int_equal(count(f), 6);
	assert_int_equal(raw_int(f->path, "SELECT messages FROM rooms "
	    "WHERE name = 'lobby'"), 5);

	/* Once the first is deleted by hand, the client_id is free again. */
	raw_exec(f->path, "DELETE FROM messages WHERE client_id = 'c1' "
	    "AND nick = 'alice' AND room = 'lobby'");
	assert_int_equal(send_cid(f, "lobby", "alice", "three", "c1", &m,
	    &created), CHAT_OK);
	assert_true(created);
	assert_true(m.id > first.id);
	assert_string_equal(m.text, "three");
	chat_message_clear(&m);
	chat_message_clear(&first);
}

static void
test_rooms(void **state)
{
	struct fx *f = *state;
	struct chat_room_list l = { 0 };

	assert_int_equal(store_rooms(f->s, &l), CHAT_OK);
	assert_int_equal(l.n, 0);
	put(f, "lobby", "n", "t");
	put(f, "Zeta", "n", "t");
	put(f, "dev", "n", "t");
	put(f, "lobby", "n", "t");
	assert_int_equal(store_rooms(f->s, &l), CHAT_OK);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.v[0].name, "Zeta");   /* byte order */
	assert_int_equal(l.v[0].last_id, 2);
	assert_int_equal(l.v[0].messages, 1);
	assert_string_equal(l.v[1].name, "dev");
	assert_int_equal(l.v[1].last_id, 3);
	assert_int_equal(l.v[1].messages, 1);
	assert_string_equal(l.v[2].name, "lobby");
	assert_int_equal(l.v[2].last_id, 4);
	assert_int_equal(l.v[2].messages, 2);
	chat_room_list_clear(&l);

	/* A name too long for the API (typed by hand) is left out. */
	raw_exec(f->path, "INSERT INTO messages (room, nick, text) VALUES ("
	    "printf('%.*c', 65, 'r'), 'n', 't')");
	assert_int_equal(store_rooms(f->s, &l), CHAT_OK);
	assert_int_equal(l.n, 3);
	chat_room_list_clear(&l);
}

/* --- the sqlite3 shell ------------------------------------------------- */

static void
test_shell_insert(void **state)
{
	struct fx *f = *state;
	struct chat_list l = { 0 };
	char want[64], got[64];
	int64_t t0, t1, ts, last;
	time_t secs;
	struct tm tm;

	put(f, "lobby", "alice", "first");
	t0 = chat_now_ms();
	raw_exec(f->path, "INSERT INTO messages(room,nick,text) "
	    "VALUES('lobby','admin','hi')");
	t1 = chat_now_ms();
	ts = raw_int(f->path, "SELECT ts FROM messages WHERE nick = 'admin'");
	assert_true(ts >= t0 && ts <= t1);
	assert_int_equal(raw_int(f->path, "SELECT messages FROM rooms "
	    "WHERE name = 'lobby'"), 2);
	assert_int_equal(raw_int(f->path, "SELECT last_id FROM rooms "
	    "WHERE name = 'lobby'"), 2);

	/* The program sees it like any other. */
	assert_int_equal(read_room(f, "lobby", 1, -1, 10, &l, NULL, &last),
	    CHAT_OK);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0].nick, "admin");
	assert_int_equal(l.v[0].ts, ts);
	assert_int_equal(last, 2);
	chat_list_clear(&l);

	/* The history view: readable UTC with milliseconds. */
	secs = (time_t)(ts / 1000);
	gmtime_r(&secs, &tm);
	strftime(want, sizeof(want), "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(want + strlen(want), sizeof(want) - strlen(want), ".%03d",
	    (int)(ts % 1000));
	raw_text(f->path, "SELECT time FROM history WHERE id = 2", got,
	    sizeof(got));
	assert_string_equal(got, want);
	raw_text(f->path, "SELECT group_concat(id) FROM history", got,
	    sizeof(got));
	assert_string_equal(got, "1,2");

	/* A known ts formats exactly, ms included. */
	raw_exec(f->path, "INSERT INTO messages(room,nick,text,ts) "
	    "VALUES('x','y','z',1764100000123)");
	raw_text(f->path, "SELECT time FROM history WHERE room = 'x'", got,
	    sizeof(got));
	assert_string_equal(got, "2025-11-25 19:46:40.123");
}

static void
test_shell_delete_update(void **state)
{
	struct fx *f = *state;

	fill_two_rooms(f);
	/* Not the newest: only the count moves. */
	raw_exec(f->path, "DELETE FROM messages WHERE id = 3");
	assert_int_equal(raw_int(f->path, "SELECT messages FROM rooms "
	    "WHERE name = 'a'"), 9);
	assert_int_equal(raw_int(f->path, "SELECT last_id FROM rooms "
	    "WHERE name = 'a'"), 19);
	/* The newest: last_id goes back to the one before. */
	raw_exec(f->path, "DELETE FROM messages WHERE id IN (17, 19)");
	assert_int_equal(raw_int(f->path, "SELECT messages FROM rooms "
	    "WHERE name = 'a'"), 7);
	assert_int_equal(raw_int(f->path, "SELECT last_id FROM rooms "
	    "WHERE name = 'a'"), 15);
	/* Moving a message to another room. */
	raw_exec(f->path, "UPDATE messages SET room = 'b' WHERE id = 15");
	assert_int_equal(raw_int(f->path, "SELECT last_id FROM rooms "
	    "WHERE name = 'a'"), 13);
	assert_int_equal(raw_int(f->path, "SELECT messages FROM rooms "
	    "WHERE name = 'b'"), 11);
	assert_int_equal(raw_int(f->path, "SELECT last_id FROM rooms "
	    "WHERE name = 'b'"), 20);
	/* An empty room disappears. */
	raw_exec(f->path, "DELETE FROM messages WHERE room = 'a'");
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM rooms "
	    "WHERE name = 'a'"), 0);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM rooms"), 1);
	/* And the whole table always agrees with messages. */
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM ("
	    "SELECT room, max(id) AS l, count(*) AS c FROM messages "
	    "GROUP BY room EXCEPT SELECT name, last_id, messages FROM rooms)"),
	    0);
	raw_exec(f->path, "DELETE FROM messages");
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM rooms"), 0);
	assert_true(put(f, "a", "n", "t") > 20);
}

/* --- failures ---------------------------------------------------------- */

static void
assert_append_unavailable(struct fx *f, struct store *s)
{
	struct chat_message m = { 0 };
	bool created = true;
	int64_t before = count(f);

	assert_int_equal(store_append(s, "lobby", "n", "t", NULL, &m,
	    &created), CHAT_E_UNAVAILABLE);
	assert_int_equal(store_append(s, "lobby", "n", "t", "cid", &m,
	    &created), CHAT_E_UNAVAILABLE);
	assert_null(m.text);
	assert_int_equal(count(f), before);
}

static void
test_readonly(void **state)
{
	struct fx *f = *state;
	struct store_options o = f->o;
	struct store_query q = { -1, -1, 10 };
	struct chat_list l = { 0 };
	struct chat_room_list rl = { 0 };
	struct store *s;
	struct store_read_info in;
	int64_t max;

	put(f, "lobby", "n", "t");
	o.readonly = true;
	assert_non_null(s = store_open(&o));
	assert_append_unavailable(f, s);
	assert_int_equal(store_max_id(s, &max), CHAT_OK);
	assert_int_equal(max, 1);
	assert_int_equal(store_read_after(s, 0, 10, &l), CHAT_OK);
	assert_int_equal(l.n, 1);
	chat_list_clear(&l);
	assert_int_equal(store_read(s, "lobby", &q, &l, &in), CHAT_OK);
	assert_int_equal(l.n, 1);
	assert_int_equal(in.room_last, 1);
	chat_list_clear(&l);
	assert_int_equal(store_rooms(s, &rl), CHAT_OK);
	assert_int_equal(rl.n, 1);
	chat_room_list_clear(&rl);
	store_free(s);

	/* A file the process may not write (root may write anything). */
	if (geteuid() == 0)
		return;
	store_free(f->s);
	f->s = NULL;
	assert_int_equal(chmod(f->path, 0400), 0);
	o.readonly = false;
	assert_non_null(s = store_open(&o));
	assert_append_unavailable(f, s);
	store_free(s);
	chmod(f->path, 0600);
}

static void
test_busy(void **state)
{
	struct fx *f = *state;
	struct store_options o = f->o;
	struct store *s;
	sqlite3 *db;
	int64_t t0;

	o.busy_timeout_ms = 100;
	assert_non_null(s = store_open(&o));
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL,
	    NULL), SQLITE_OK);
	t0 = chat_mono_ms();
	assert_append_unavailable(f, s);
	assert_true(chat_mono_ms() - t0 >= 150);   /* waited twice */
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(db);
	store_free(s);
	put(f, "lobby", "n", "t");
}

/* No call may leave a read snapshot open: a checkpoint from another
 * connection could not then empty the WAL, and the store would not see
 * newer rows. */
static void
assert_no_snapshot(struct fx *f)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int64_t max;

	raw_exec(f->path, "INSERT INTO messages(room,nick,text) "
	    "VALUES('lobby','shell','x')");
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA wal_checkpoint("
	    "TRUNCATE)", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 0);   /* not busy */
	sqlite3_finalize(st);
	sqlite3_close(db);
	assert_int_equal(store_max_id(f->s, &max), CHAT_OK);
	assert_int_equal(max, raw_int(f->path,
	    "SELECT max(id) FROM messages"));
}

static void
test_no_snapshot_left_open(void **state)
{
	struct fx *f = *state;
	struct chat_list l = { 0 };
	struct chat_room_list rl = { 0 };
	struct chat_message m;
	int64_t max, last;
	bool created;

	for (int i = 0; i < 5; i++)
		put(f, "lobby", "n", "t");
	assert_no_snapshot(f);
	assert_int_equal(read_room(f, "lobby", -1, -1, 2, &l, &max, &last),
	    CHAT_OK);
	assert_no_snapshot(f);
	assert_int_equal(read_room(f, "lobby", 0, -1, 2, &l, NULL, NULL),
	    CHAT_OK);
	assert_no_snapshot(f);
	assert_int_equal(read_room(f, "lobby", 0, 3, 2, &l, &max, &last),
	    CHAT_E_BAD_PARAM);
	assert_no_snapshot(f);
	assert_int_equal(store_read_after(f->s, 0, 2, &l), CHAT_OK);
	assert_no_snapshot(f);
	assert_int_equal(store_rooms(f->s, &rl), CHAT_OK);
	assert_no_snapshot(f);
	assert_int_equal(send_cid(f, "lobby", "n", "t", "k", &m, &created),
	    CHAT_OK);
	chat_message_clear(&m);
	assert_no_snapshot(f);
	assert_int_equal(send_cid(f, "lobby", "n", "t", "k", &m, &created),
	    CHAT_OK);
	assert_false(created);
	chat_message_clear(&m);
	assert_no_snapshot(f);
	chat_list_clear(&l);
	chat_room_list_clear(&rl);
}

/* --- waking other processes ------------------------------------------ */

static void
notify_stat(struct fx *f, struct stat *sb)
{
	char p[PATH_MAX + 16];

	snprintf(p, sizeof(p), "%s-notify", f->path);
	assert_int_equal(stat(p, sb), 0);
}

static void
notify_age(struct fx *f)
{
	struct timespec old[2] = { { 1, 0 }, { 1, 0 } };
	char p[PATH_MAX + 16];

	snprintf(p, sizeof(p), "%s-notify", f->path);
	assert_int_equal(utimensat(AT_FDCWD, p, old, 0), 0);
}

/* Whether the directory watch saw IN_MODIFY of chat.db-notify. */
static bool
notify_seen(int in)
{
	char buf[4096] __attribute__((aligned(8)));
	struct inotify_event *ev;
	ssize_t n;
	bool seen = false;

	while ((n = read(in, buf, sizeof(buf))) > 0)
		for (char *p = buf; p < buf + n; p += sizeof(*ev) + ev->len) {
			ev = (struct inotify_event *)(void *)p;
			if ((ev->mask & IN_MODIFY) && ev->len > 0 &&
			    strcmp(ev->name, "chat.db-notify") == 0)
				seen = true;
		}
	return seen;
}

static void
test_notify(void **state)
{
	struct fx *f = *state;
	struct chat_message m;
	struct stat sb;
	char p[PATH_MAX + 16], c;
	int in, fd;
	bool created;

	notify_stat(f, &sb);
	assert_int_equal(sb.st_size, 0);
	assert_true((in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) != -1);
	assert_true(inotify_add_watch(in, f->dir, IN_MODIFY) != -1);

	notify_age(f);
	put(f, "lobby", "n", "t");
	notify_stat(f, &sb);
	assert_int_equal(sb.st_size, 1);
	assert_true(sb.st_mtime > 1);
	assert_true(notify_seen(in));
	snprintf(p, sizeof(p), "%s-notify", f->path);
	assert_true((fd = open(p, O_RDONLY)) != -1);
	assert_int_equal(read(fd, &c, 1), 1);
	assert_int_equal(c, 'x');
	close(fd);

	/* Every send touches it, and it never grows. */
	notify_age(f);
	assert_int_equal(send_cid(f, "lobby", "n", "t", "k", &m, &created),
	    CHAT_OK);
	chat_message_clear(&m);
	notify_stat(f, &sb);
	assert_true(sb.st_mtime > 1);
	assert_int_equal(sb.st_size, 1);
	assert_true(notify_seen(in));

	/* A retry that stores nothing wakes nobody. */
	notify_age(f);
	assert_int_equal(send_cid(f, "lobby", "n", "t", "k", &m, &created),
	    CHAT_OK);
	assert_false(created);
	chat_message_clear(&m);
	notify_stat(f, &sb);
	assert_int_equal(sb.st_mtime, 1);
	assert_false(notify_seen(in));
	close(in);
}

/* The database as logs, --check and /api/stats show it: a file as it
 * is, a URI without its password wherever libpq would take one from. */
static void
test_display_path(void **state)
{
	static const char *const cases[][2] = {
		{ "var/chat.db", "var/chat.db" },
		{ "/srv/a:b@c.db", "/srv/a:b@c.db" },
		{ "postgresql://u:s3cret@db.example/chat",
		    "postgresql://u:***@db.example/chat" },
		{ "postgres://u:p%40ss@h:5432/chat?sslmode=require",
		    "postgres://u:***@h:5432/chat?sslmode=require" },
		{ "postgresql://u@h/chat", "postgresql://u@h/chat" },
		{ "postgresql://postgres@/chat?host=/tmp/pg",
		    "postgresql://postgres@/chat?host=/tmp/pg" },
		{ "postgresql:///chat?user=u&password=s3cret&host=/tmp",
		    "postgresql:///chat?user=u&password=***&host=/tmp" },
		{ "postgresql://h/chat?%70assword=s3cret",
		    "postgresql://h/chat?%70assword=***" },
		{ "postgresql://h/x@y", "postgresql://h/x@y" },
	};
	char out[128], small[16];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_ptr_equal(store_display_path(cases[i][0], out,
		    sizeof(out)), out);
		assert_string_equal(out, cases[i][1]);
		assert_null(strstr(out, "s3cret"));
	}
	/* Cut short, never past the buffer, the password still hidden. */
	store_display_path("postgresql://user:s3cret@host/db", small,
	    sizeof(small));
	assert_string_equal(small, "postgresql://us");
	store_display_path("postgresql://u:s3cret@host/db", small,
	    sizeof(small));
	assert_string_equal(small, "postgresql://u:");
}

static void
test_size(void **state)
{
	struct fx *f = *state;
	int64_t db = -1, wal = -1;

	assert_int_equal(store_size(f->s, &db, &wal), CHAT_OK);
	assert_true(db >= 4096);    /* at least one page */
	assert_true(wal >= 0);
	put(f, "lobby", "n", "t");
	assert_int_equal(store_size(f->s, &db, &wal), CHAT_OK);
	assert_true(wal > 0);       /* the commit is in the -wal file */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(t) cmocka_unit_test_setup_teardown(t, setup, teardown)
		T(test_schema_version),
		T(test_migrate_twice),
		T(test_migrate_creates_private),
		T(test_migrate_concurrent),
		T(test_migrate_newer_schema),
		T(test_migrate_failure_rolls_back),
		T(test_open_unmigrated),
		T(test_append_read_round_trip),
		T(test_ids_increasing),
		T(test_read_modes),
		T(test_read_before_paging),
		T(test_read_after),
		T(test_idempotent_client_id),
		T(test_user),
		T(test_rooms),
		T(test_shell_insert),
		T(test_shell_delete_update),
		T(test_readonly),
		T(test_busy),
		T(test_no_snapshot_left_open),
		T(test_notify),
		T(test_size),
		cmocka_unit_test(test_display_path),
#undef T
	};

	log_init("test_store", getenv("TEST_STORE_LOG") ? LOG_LEVEL_DEBUG :
	    LOG_LEVEL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
