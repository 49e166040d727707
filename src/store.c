/* store.c - the chat database: creates and migrates the SQLite schema of
 * sql/, and appends and reads messages with statements prepared once per
 * connection. The only file that includes sqlite3.h. */
#include "store.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <pthread.h>
#include <sqlite3.h>

#include "log.h"

/* build/sql_migrations.c, made by src/embed-sql.sh from sql/[0-9]*.sql:
 * migration i moves a database from user_version i to i + 1. */
extern const char *const store_migrations[];
extern const size_t store_migrations_n;

#define STORE_RETRY_MAX_MS 32   /* longest pause between busy retries */
#define STORE_PRUNE_PAUSE_MS 2  /* between prune batches: senders go first */

enum store_stmt {
	STMT_BEGIN,
	STMT_COMMIT,
	STMT_ROLLBACK,
	STMT_INSERT,
	STMT_INSERT_CID,
	STMT_FIND_CID,
	STMT_SINCE,
	STMT_BEFORE,
	STMT_ROOM_LAST,
	STMT_MAX_ID,
	STMT_AFTER,
	STMT_ROOMS,
	STMT_BEGIN_WRITE,
	STMT_DEL_FIND,
	STMT_DEL_ROW,
	STMT_TOMBSTONE,
	STMT_PRUNE_ROOMS,
	STMT_PRUNE_KEEP,
	STMT_PRUNE_WALK,
	STMT_PRUNE_MARK,
	STMT_PRUNE_DELETE,
	STMT_IMPORT,
	STMT__MAX
};

/*
 * Every statement the program runs after store_open, prepared once. Rows
 * of messages are always (id, ts, room, nick, text, deletes) so one
 * function reads them all. STMT_BEFORE with INT64_MAX is "the newest": the
 * same range scan of messages_room_id, backwards; history reads skip
 * tombstones, reads after a cursor (STMT_SINCE, STMT_AFTER) carry them.
 *
 * The newest id is max(id), not sqlite_sequence: it is the newest row a
 * reader can actually get (store_read_after(max) is empty), it goes back
 * down if someone deletes the newest rows by hand, and it is one probe of
 * the primary key. sqlite_sequence is the highest id ever handed out, and
 * an idempotent retry that stores nothing still advances it.
 */
static const char *const store_sql[STMT__MAX] = {
	[STMT_BEGIN] = "BEGIN",
	[STMT_COMMIT] = "COMMIT",
	[STMT_ROLLBACK] = "ROLLBACK",
	[STMT_INSERT] =
	    "INSERT INTO messages (room, nick, text, ts)"
	    " VALUES (?1, ?2, ?3, ?4)",
	[STMT_INSERT_CID] =
	    "INSERT INTO messages (room, nick, text, ts, client_id)"
	    " VALUES (?1, ?2, ?3, ?4, ?5)"
	    " ON CONFLICT (room, nick, client_id)"
	    " WHERE client_id IS NOT NULL DO NOTHING"
	    " RETURNING id, ts",
	[STMT_FIND_CID] =
	    "SELECT id, ts, room, nick, text, deletes FROM messages"
	    " WHERE room = ?1 AND nick = ?2 AND client_id = ?3",
	[STMT_SINCE] =
	    "SELECT id, ts, room, nick, text, deletes FROM messages"
	    " WHERE room = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
	[STMT_BEFORE] =
	    "SELECT id, ts, room, nick, text, deletes FROM messages"
	    " WHERE room = ?1 AND id < ?2 AND deletes IS NULL"
	    " ORDER BY id DESC LIMIT ?3",
	/* A room emptied by retention still starts readers after what was
	 * pruned. */
	[STMT_ROOM_LAST] =
	    "SELECT max(last_id, pruned_through), pruned_through FROM rooms"
	    " WHERE name = ?1",
	[STMT_MAX_ID] = "SELECT max(id) FROM messages",
	[STMT_AFTER] =
	    "SELECT id, ts, room, nick, text, deletes FROM messages"
	    " WHERE id > ?1 ORDER BY id LIMIT ?2",
	[STMT_ROOMS] =
	    "SELECT name, last_id, messages, pruned_through FROM rooms"
	    " WHERE messages > 0 ORDER BY name",
	[STMT_BEGIN_WRITE] = "BEGIN IMMEDIATE",
	[STMT_DEL_FIND] =
	    "SELECT room FROM messages WHERE id = ?1 AND deletes IS NULL",
	[STMT_DEL_ROW] = "DELETE FROM messages WHERE id = ?1",
	[STMT_TOMBSTONE] =
	    "INSERT INTO messages (room, nick, text, ts, deletes)"
	    " VALUES (?1, '', '', ?2, ?3)",
	[STMT_PRUNE_ROOMS] = "SELECT name FROM rooms ORDER BY name",
	/* The newest message that must go for the count limit. */
	[STMT_PRUNE_KEEP] =
	    "SELECT id FROM messages WHERE room = ?1 AND deletes IS NULL"
	    " ORDER BY id DESC LIMIT 1 OFFSET ?2",
	[STMT_PRUNE_WALK] =
	    "SELECT id, ts FROM messages WHERE room = ?1 ORDER BY id LIMIT ?2",
	[STMT_PRUNE_MARK] =
	    "UPDATE rooms SET pruned_through = max(pruned_through, ?2)"
	    " WHERE name = ?1",
	[STMT_PRUNE_DELETE] =
	    "DELETE FROM messages WHERE room = ?1 AND id <= ?2",
	/* ?5 NULL: a new id. */
	[STMT_IMPORT] =
	    "INSERT INTO messages (room, nick, text, ts, id)"
	    " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (id) DO NOTHING",
};

struct store {
	sqlite3 *db;
	sqlite3_stmt *st[STMT__MAX];
	int notify_fd;          /* -1 when read-only or not openable */
	int busy_timeout_ms;
	int64_t busy_deadline;  /* of the wait store_busy is in */
};

/* SQLite's own busy handler sleeps 1, 2, 5, 10 ... 100 ms between tries:
 * fine for a person at a shell, a disaster for a commit of 50 us held by
 * another worker process. Look again after 20 us, then 100 us, then 1 ms,
 * until the busy timeout. */
static int
store_busy(void *arg, int n)
{
	struct store *s = arg;
	int64_t now = chat_mono_ms();

	if (n == 0)
		s->busy_deadline = now + s->busy_timeout_ms;
	if (now >= s->busy_deadline)
		return 0;
	usleep(n < 20 ? 20 : n < 100 ? 100 : 1000);
	return 1;
}

/* Group commit. The sends of one process queue here; a thread that finds
 * no commit running becomes the leader and stores everything queued in one
 * transaction on its own connection, so that N concurrent sends cost one
 * commit: one WAL write, one round of locks, one wakeup of the watchers. */
struct pending {
	struct pending *next;
	const char *room, *nick, *text, *client_id;
	struct chat_message m;
	bool made, done;
	enum chat_error e;
};

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct pending *head, **tail;
	bool leading;
} wq = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL,
    &wq.head, false };

/* Retrying while another process holds a lock SQLite's busy handler does
 * not wait for (journal mode changes, a fresh database): pauses of 1, 2,
 * 4 ... STORE_RETRY_MAX_MS ms plus jitter, so that two processes do not
 * retry in lockstep, until the deadline. */
struct retry {
	int64_t deadline;
	unsigned seed;
	int delay_ms;
};

static void
retry_init(struct retry *r, int timeout_ms)
{
	r->deadline = chat_mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	r->seed = (unsigned)getpid() ^ (unsigned)chat_now_ms();
	r->delay_ms = 1;
}

/* Sleeps before the next try; false once the deadline has passed. */
static bool
retry_wait(struct retry *r)
{
	int64_t left = r->deadline - chat_mono_ms(), ms;
	struct timespec ts;

	if (left <= 0)
		return false;
	ms = r->delay_ms + rand_r(&r->seed) % r->delay_ms;
	if (ms > left)
		ms = left;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000;
	nanosleep(&ts, NULL);
	if (r->delay_ms < STORE_RETRY_MAX_MS)
		r->delay_ms *= 2;
	return true;
}

static bool
db_busy(int rc)
{
	return (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED;
}

/* Runs one statement, retrying while busy. Returns an SQLite code. */
static int
db_exec(sqlite3 *db, const char *sql, struct retry *r)
{
	int rc;

	while (db_busy(rc = sqlite3_exec(db, sql, NULL, NULL, NULL)) &&
	    retry_wait(r))
		continue;
	return rc;
}

/* Runs one statement once and copies the first column of its first row
 * into out ("" when there is no row). */
static int
db_query_once(sqlite3 *db, const char *sql, char *out, size_t outsz)
{
	sqlite3_stmt *st;
	const unsigned char *t;
	int rc;

	out[0] = '\0';
	if ((rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL)) != SQLITE_OK)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		if ((t = sqlite3_column_text(st, 0)) != NULL)
			snprintf(out, outsz, "%s", (const char *)t);
		rc = SQLITE_OK;
	} else if (rc == SQLITE_DONE)
		rc = SQLITE_OK;
	sqlite3_finalize(st);
	return rc;
}

/* db_query_once, retrying while busy. */
static int
db_query(sqlite3 *db, const char *sql, struct retry *r, char *out,
    size_t outsz)
{
	int rc;

	while (db_busy(rc = db_query_once(db, sql, out, outsz)) &&
	    retry_wait(r))
		continue;
	return rc;
}

/* PRAGMA user_version into *v. */
static int
db_user_version(sqlite3 *db, struct retry *r, long long *v)
{
	char buf[32];
	int rc;

	if ((rc = db_query(db, "PRAGMA user_version", r, buf,
	    sizeof(buf))) == SQLITE_OK)
		*v = strtoll(buf, NULL, 10);
	return rc;
}

int
store_schema_version(void)
{
	return (int)store_migrations_n;
}

char *
store_notify_path(const char *db_path)
{
	size_t n = strlen(db_path) + sizeof("-notify");
	char *p;

	if ((p = malloc(n)) != NULL)
		snprintf(p, n, "%s-notify", db_path);
	return p;
}

bool
store_readonly(struct store *s)
{
	return sqlite3_db_readonly(s->db, "main") == 1;
}

bool
store_writable(const char *db_path)
{
	static const char *const suffix[] = { "", "-wal", "-shm" };
	char path[PATH_MAX];

	/* Asked without opening them: this process has them open through
	 * SQLite, and a close() of any descriptor of a file drops every
	 * POSIX lock the process holds on it, SQLite's among them. */
	for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", db_path, suffix[i]);
		if (faccessat(AT_FDCWD, path, R_OK | W_OK, AT_EACCESS) == 0)
			continue;
		if (i == 0 || errno != ENOENT)
			return false;
	}
	return true;
}

/* Creates path's directory (0700) when it is missing; only the last
 * level, so a mistyped path does not grow a tree. */
static int
store_mkparent(const char *path)
{
	char dir[PATH_MAX];
	char *slash;

	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir)) {
		log_errorx("store_migrate: %s: path too long", path);
		return -1;
	}
	if ((slash = strrchr(dir, '/')) == NULL || slash == dir)
		return 0;
	*slash = '\0';
	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		log_error("store_migrate: mkdir %s", dir);
		return -1;
	}
	return 0;
}

/* Creates path with mode 0600 when it is missing, whatever the umask, so
 * SQLite (which would use 0644) never creates it; SQLite gives the -wal
 * and -shm files the database's mode. */
static int
store_touch(const char *path)
{
	int fd;

	if ((fd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC, 0600)) == -1) {
		log_error("store_migrate: %s", path);
		return -1;
	}
	close(fd);
	return 0;
}

static int
store_touch_notify(const char *db_path)
{
	char *p;
	int ret;

	if ((p = store_notify_path(db_path)) == NULL) {
		log_error("store_migrate");
		return -1;
	}
	ret = store_touch(p);
	free(p);
	return ret;
}

/* Switches to WAL. Needs a moment alone with the file, which a busy
 * timeout does not wait for when another process opens it too. */
static int
migrate_wal(sqlite3 *db, const char *path, struct retry *r)
{
	char mode[16];

	if (db_query(db, "PRAGMA journal_mode=WAL", r, mode,
	    sizeof(mode)) != SQLITE_OK) {
		log_errorx("store_migrate: %s: %s", path, sqlite3_errmsg(db));
		return -1;
	}
	if (strcmp(mode, "wal") != 0) {
		log_errorx("store_migrate: %s: cannot use WAL (journal_mode "
		    "is %s)", path, mode);
		return -1;
	}
	return 0;
}

/* Applies the one migration the database is missing, if any, in its own
 * transaction; user_version is read inside it because another process
 * may have migrated meanwhile. Returns 1 after applying one, 0 when the
 * schema is current, -1 on failure. */
static int
migrate_step(sqlite3 *db, const char *path, struct retry *r)
{
	char sql[64];
	long long v = -1;
	int ret = -1;

	if (db_exec(db, "BEGIN IMMEDIATE", r) != SQLITE_OK ||
	    db_user_version(db, r, &v) != SQLITE_OK) {
		log_errorx("store_migrate: %s: %s", path, sqlite3_errmsg(db));
		goto done;
	}
	if (v < 0 || (size_t)v > store_migrations_n) {
		log_errorx("store_migrate: %s: schema version %lld is not one "
		    "this program knows (0-%zu); use a newer fcgichat", path,
		    v, store_migrations_n);
		goto done;
	}
	if ((size_t)v == store_migrations_n) {
		ret = 0;
		goto done;
	}
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %lld", v + 1);
	if (sqlite3_exec(db, store_migrations[v], NULL, NULL, NULL) !=
	    SQLITE_OK || sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		log_errorx("store_migrate: %s: migration %lld: %s", path, v + 1,
		    sqlite3_errmsg(db));
		goto done;
	}
	log_info("store_migrate: %s: schema version %lld", path, v + 1);
	ret = 1;
done:
	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return ret;
}

/* Needs write access: o->readonly does not apply here. */
int
store_migrate(const struct store_options *o)
{
	struct retry r;
	sqlite3 *db = NULL;
	int rc, ret = -1;

	if (store_mkparent(o->path) == -1 || store_touch(o->path) == -1)
		return -1;
	retry_init(&r, o->busy_timeout_ms);
	if (sqlite3_open_v2(o->path, &db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		log_errorx("store_migrate: %s: %s", o->path,
		    db ? sqlite3_errmsg(db) : "out of memory");
		goto done;
	}
	sqlite3_busy_timeout(db, o->busy_timeout_ms);
	if (migrate_wal(db, o->path, &r) == -1)
		goto done;
	while ((rc = migrate_step(db, o->path, &r)) == 1)
		continue;
	if (rc == 0 && store_touch_notify(o->path) == 0)
		ret = 0;
done:
	sqlite3_close(db);
	return ret;
}

/* Settings, and the checks that the database is ready for this program. */
static int
store_check(struct store *s, const struct store_options *o)
{
	struct retry r;
	char mode[16];
	long long v;

	retry_init(&r, o->busy_timeout_ms);
	/* journal_size_limit: under steady load the WAL restarts from its
	 * start after checkpoints but keeps its largest size on disk; cut it
	 * back to 64 MiB when it restarts. */
	if (db_exec(s->db, o->sync_full ? "PRAGMA synchronous=FULL" :
	    "PRAGMA synchronous=NORMAL", &r) != SQLITE_OK ||
	    db_exec(s->db, "PRAGMA journal_size_limit=67108864", &r) !=
	    SQLITE_OK ||
	    db_query(s->db, "PRAGMA journal_mode", &r, mode,
	    sizeof(mode)) != SQLITE_OK ||
	    db_user_version(s->db, &r, &v) != SQLITE_OK) {
		log_errorx("store_open: %s: %s", o->path,
		    sqlite3_errmsg(s->db));
		return -1;
	}
	if (strcmp(mode, "wal") != 0 || v != store_schema_version()) {
		log_errorx("store_open: %s: journal_mode %s, schema version "
		    "%lld; this program needs wal and %d: run `fcgichat.fcgi "
		    "--init` (FCGICHAT_DB=%s)", o->path, mode, v,
		    store_schema_version(), o->path);
		return -1;
	}
	return 0;
}

static int
store_prepare(struct store *s, const char *path)
{
	for (int k = 0; k < STMT__MAX; k++)
		if (sqlite3_prepare_v3(s->db, store_sql[k], -1,
		    SQLITE_PREPARE_PERSISTENT, &s->st[k], NULL) != SQLITE_OK) {
			log_errorx("store_open: %s: %s: %s", path,
			    store_sql[k], sqlite3_errmsg(s->db));
			return -1;
		}
	return 0;
}

/* The notify file store_migrate made. Recreated (0600) if someone removed
 * it; if it cannot be opened the chat still works, but watchers in other
 * processes only notice new messages on their fallback timer. */
static void
store_open_notify(struct store *s, const char *path)
{
	char *p;

	if ((p = store_notify_path(path)) == NULL) {
		log_warn("store_open");
		return;
	}
	s->notify_fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (s->notify_fd == -1)
		log_warn("store_open: %s (other processes will wake late)", p);
	free(p);
}

struct store *
store_open(const struct store_options *o)
{
	struct store *s;
	int flags = SQLITE_OPEN_NOMUTEX |
	    (o->readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE);

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		log_error("store_open");
		return NULL;
	}
	s->notify_fd = -1;
	if (sqlite3_open_v2(o->path, &s->db, flags, NULL) != SQLITE_OK) {
		log_errorx("store_open: %s: %s (run `fcgichat.fcgi --init`?)",
		    o->path, s->db ? sqlite3_errmsg(s->db) : "out of memory");
		goto fail;
	}
	sqlite3_extended_result_codes(s->db, 1);
	s->busy_timeout_ms = o->busy_timeout_ms;
	sqlite3_busy_handler(s->db, store_busy, s);
	if (store_check(s, o) == -1 || store_prepare(s, o->path) == -1)
		goto fail;
	if (!o->readonly)
		store_open_notify(s, o->path);
	return s;
fail:
	store_free(s);
	return NULL;
}

void
store_free(struct store *s)
{
	if (s == NULL)
		return;
	for (int k = 0; k < STMT__MAX; k++)
		sqlite3_finalize(s->st[k]);
	if (sqlite3_close(s->db) != SQLITE_OK)
		log_warnx("store_free: %s", sqlite3_errmsg(s->db));
	if (s->notify_fd != -1)
		close(s->notify_fd);
	free(s);
}

/* The API's kind of an SQLite failure: the storage's state (503) or a
 * bug or corruption (500). */
static enum chat_error
store_kind(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
	case SQLITE_READONLY:
	case SQLITE_FULL:
	case SQLITE_IOERR:
	case SQLITE_CANTOPEN:
	case SQLITE_PROTOCOL:
		return CHAT_E_UNAVAILABLE;
	default:
		return CHAT_E_INTERNAL;
	}
}

/* Logs the connection's error for fn and returns its kind. Call before
 * resetting the statement. */
static enum chat_error
store_fail(struct store *s, const char *fn, int rc)
{
	log_warnx("%s: %s", fn, sqlite3_errmsg(s->db));
	return store_kind(rc);
}

/* Every statement ends here, on every path: a statement left unreset
 * would keep its read snapshot, blocking checkpoints and hiding newer
 * rows from this connection. */
static void
stmt_done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* Runs a statement without result rows (BEGIN, COMMIT, ROLLBACK). */
static enum chat_error
store_step(struct store *s, enum store_stmt k, const char *fn)
{
	int rc = sqlite3_step(s->st[k]);
	enum chat_error e = CHAT_OK;

	if (rc != SQLITE_DONE)
		e = store_fail(s, fn, rc);
	stmt_done(s->st[k]);
	return e;
}

static void
store_rollback(struct store *s)
{
	if (!sqlite3_get_autocommit(s->db))
		store_step(s, STMT_ROLLBACK, "store_rollback");
}

/* Runs a bound statement k for one integer: its first column, 0 when
 * there is no row or it is NULL. */
static enum chat_error
store_int(struct store *s, enum store_stmt k, const char *fn, int64_t *out)
{
	sqlite3_stmt *st = s->st[k];
	enum chat_error e = CHAT_OK;
	int rc;

	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	else if (rc == SQLITE_DONE)
		*out = 0;
	else
		e = store_fail(s, fn, rc);
	stmt_done(st);
	return e;
}

static const char *
col_text(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return t != NULL ? (const char *)t : "";
}

/* Runs a bound statement k whose rows are (id, ts, room, nick, text,
 * deletes) and appends them to out. */
static enum chat_error
store_rows(struct store *s, enum store_stmt k, const char *fn,
    struct chat_list *out)
{
	sqlite3_stmt *st = s->st[k];
	enum chat_error e = CHAT_OK;
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (chat_list_push(out, sqlite3_column_int64(st, 0),
		    sqlite3_column_int64(st, 1), col_text(st, 2),
		    col_text(st, 3), col_text(st, 4)) == -1) {
			log_warnx("%s: out of memory", fn);
			e = CHAT_E_INTERNAL;
			break;
		}
		out->v[out->n - 1].deletes = sqlite3_column_int64(st, 5);
	}
	if (e == CHAT_OK && rc != SQLITE_DONE)
		e = store_fail(s, fn, rc);
	stmt_done(st);
	return e;
}

static void
list_truncate(struct chat_list *l, size_t n)
{
	while (l->n > n)
		chat_message_clear(&l->v[--l->n]);
}

static int
bind_text(sqlite3_stmt *st, int i, const char *v)
{
	return sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
}

/* Binds ?1 room, ?2 nick, ?3 text, ?4 ts. */
static int
bind_message(sqlite3_stmt *st, const char *room, const char *nick,
    const char *text, int64_t ts)
{
	int rc;

	if ((rc = bind_text(st, 1, room)) != SQLITE_OK ||
	    (rc = bind_text(st, 2, nick)) != SQLITE_OK ||
	    (rc = bind_text(st, 3, text)) != SQLITE_OK)
		return rc;
	return sqlite3_bind_int64(st, 4, ts);
}

/* The plain send: one INSERT, committed by autocommit at SQLITE_DONE. */
static enum chat_error
store_insert(struct store *s, const char *room, const char *nick,
    const char *text, struct chat_message *m)
{
	sqlite3_stmt *st = s->st[STMT_INSERT];
	enum chat_error e = CHAT_OK;
	int rc;

	if ((rc = bind_message(st, room, nick, text, m->ts)) == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		m->id = sqlite3_last_insert_rowid(s->db);
	else
		e = store_fail(s, "store_append", rc);
	stmt_done(st);
	return e;
}

/* The idempotent send's INSERT: a row back means it was stored (and
 * committed once the statement reaches SQLITE_DONE); no row means the
 * room, nick and client_id are taken. */
static enum chat_error
store_insert_cid(struct store *s, const char *room, const char *nick,
    const char *text, const char *client_id, struct chat_message *m,
    bool *made)
{
	sqlite3_stmt *st = s->st[STMT_INSERT_CID];
	enum chat_error e = CHAT_OK;
	int rc;

	if ((rc = bind_message(st, room, nick, text, m->ts)) == SQLITE_OK &&
	    (rc = bind_text(st, 5, client_id)) == SQLITE_OK)
		rc = sqlite3_step(st);
	*made = rc == SQLITE_ROW;
	if (*made) {
		m->id = sqlite3_column_int64(st, 0);
		m->ts = sqlite3_column_int64(st, 1);
		rc = sqlite3_step(st);
	}
	if (rc != SQLITE_DONE)
		e = store_fail(s, "store_append", rc);
	stmt_done(st);
	return e;
}

/* The message an earlier send with this client_id stored, into *m;
 * *found is false if it is gone (deleted since the INSERT saw it). */
static enum chat_error
store_find_cid(struct store *s, const char *room, const char *nick,
    const char *client_id, struct chat_message *m, bool *found)
{
	sqlite3_stmt *st = s->st[STMT_FIND_CID];
	struct chat_list l = { 0 };
	enum chat_error e;
	int rc;

	if ((rc = bind_text(st, 1, room)) != SQLITE_OK ||
	    (rc = bind_text(st, 2, nick)) != SQLITE_OK ||
	    (rc = bind_text(st, 3, client_id)) != SQLITE_OK) {
		e = store_fail(s, "store_append", rc);
		stmt_done(st);
		return e;
	}
	e = store_rows(s, STMT_FIND_CID, "store_append", &l);
	*found = e == CHAT_OK && l.n > 0;
	if (*found) {
		*m = l.v[0];
		l.n = 0;
	}
	chat_list_clear(&l);
	return e;
}


/* Wakes watchers in every process: inotify reports IN_MODIFY. Written at
 * offset 0 so the file never grows. A failure costs only latency: the
 * watchers' fallback timer still finds the message. */
static void
store_notify(struct store *s)
{
	if (s->notify_fd != -1 && pwrite(s->notify_fd, "x", 1, 0) != 1)
		log_debug("store_append: notify: %s", strerror(errno));
}

/* Stores one queued send inside the leader's transaction. */
static enum chat_error
store_one(struct store *s, struct pending *p)
{
	bool found;
	enum chat_error e;

	p->m.ts = chat_now_ms();
	p->made = true;
	if (p->client_id == NULL)
		return store_insert(s, p->room, p->nick, p->text, &p->m);
	e = store_insert_cid(s, p->room, p->nick, p->text, p->client_id,
	    &p->m, &p->made);
	if (e != CHAT_OK || p->made)
		return e;
	e = store_find_cid(s, p->room, p->nick, p->client_id, &p->m, &found);
	return e == CHAT_OK && !found ? CHAT_E_INTERNAL : e;
}

/* The leader's work: the whole batch in one transaction, all or nothing,
 * then one notify for every watcher. */
static void
store_commit_batch(struct store *s, struct pending *batch)
{
	enum chat_error e = store_step(s, STMT_BEGIN_WRITE, "store_append");
	bool any = false;

	for (struct pending *p = batch; p != NULL && e == CHAT_OK; p = p->next) {
		e = store_one(s, p);
		any |= p->made;
	}
	if (e == CHAT_OK)
		e = store_step(s, STMT_COMMIT, "store_append");
	if (e != CHAT_OK)
		store_rollback(s);
	for (struct pending *p = batch; p != NULL; p = p->next)
		p->e = e;
	if (e == CHAT_OK && any)
		store_notify(s);
}

/* Queues me and waits until a leader, possibly this thread, stored it. */
static void
store_group_commit(struct store *s, struct pending *me)
{
	pthread_mutex_lock(&wq.mu);
	*wq.tail = me;
	wq.tail = &me->next;
	while (!me->done) {
		struct pending *batch;
		if (wq.leading) {
			pthread_cond_wait(&wq.cv, &wq.mu);
			continue;
		}
		wq.leading = true;
		batch = wq.head;
		wq.head = NULL;
		wq.tail = &wq.head;
		pthread_mutex_unlock(&wq.mu);
		store_commit_batch(s, batch);
		pthread_mutex_lock(&wq.mu);
		for (struct pending *p = batch; p != NULL; p = p->next)
			p->done = true;
		wq.leading = false;
		pthread_cond_broadcast(&wq.cv);
	}
	pthread_mutex_unlock(&wq.mu);
}

enum chat_error
store_append(struct store *s, const char *room, const char *nick,
    const char *text, const char *client_id, struct chat_message *out,
    bool *created)
{
	struct pending me = { .room = room, .nick = nick, .text = text,
	    .client_id = client_id };
	struct chat_message m;
	bool made;

	store_group_commit(s, &me);
	if (me.e != CHAT_OK)
		return me.e;
	m = me.m;
	made = me.made;
	if (made) {
		m.room = strdup(room);
		m.nick = strdup(nick);
		m.text = strdup(text);
	}
	if (m.room == NULL || m.nick == NULL || m.text == NULL) {
		/* Committed all the same; a retry with client_id finds it. */
		log_warnx("store_append: out of memory");
		chat_message_clear(&m);
		return CHAT_E_INTERNAL;
	}
	*out = m;
	if (created != NULL)
		*created = made;
	return CHAT_OK;
}

static void
list_reverse(struct chat_message *v, size_t n)
{
	struct chat_message t;

	for (size_t i = 0; i < n / 2; i++) {
		t = v[i];
		v[i] = v[n - 1 - i];
		v[n - 1 - i] = t;
	}
}

/* The messages half of store_read: since is a forward range scan, before
 * and newest a backward one, turned around afterwards. */
static enum chat_error
store_read_room(struct store *s, const char *room,
    const struct store_query *q, struct chat_list *out)
{
	enum store_stmt k = q->since >= 0 ? STMT_SINCE : STMT_BEFORE;
	int64_t id = q->since >= 0 ? q->since :
	    q->before >= 0 ? q->before : INT64_MAX;
	sqlite3_stmt *st = s->st[k];
	size_t n0 = out->n;
	enum chat_error e;
	int rc;

	/* A negative LIMIT would mean "no limit" to SQLite. */
	if ((rc = bind_text(st, 1, room)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 2, id)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int(st, 3, q->limit > 0 ? q->limit : 0)) !=
	    SQLITE_OK) {
		e = store_fail(s, "store_read", rc);
		stmt_done(st);
		return e;
	}
	e = store_rows(s, k, "store_read", out);
	/* out->v is NULL while the list is empty: no arithmetic on it. */
	if (e == CHAT_OK && k == STMT_BEFORE && out->n > n0)
		list_reverse(out->v + n0, out->n - n0);
	return e;
}

/* The room's row of rooms: where readers start, and how far it was
 * pruned (both 0 without a row). */
static enum chat_error
store_room_info(struct store *s, const char *room,
    struct store_read_info *info)
{
	sqlite3_stmt *st = s->st[STMT_ROOM_LAST];
	enum chat_error e = CHAT_OK;
	int rc;

	info->room_last = info->pruned_through = 0;
	if ((rc = bind_text(st, 1, room)) == SQLITE_OK &&
	    (rc = sqlite3_step(st)) == SQLITE_ROW) {
		info->room_last = sqlite3_column_int64(st, 0);
		info->pruned_through = sqlite3_column_int64(st, 1);
	} else if (rc != SQLITE_DONE)
		e = store_fail(s, "store_read", rc);
	stmt_done(st);
	return e;
}

/* One read transaction, so the messages and *info agree. On failure out
 * is as it was. */
enum chat_error
store_read(struct store *s, const char *room, const struct store_query *q,
    struct chat_list *out, struct store_read_info *info)
{
	size_t n0 = out != NULL ? out->n : 0;
	enum chat_error e;

	if (q->since >= 0 && q->before >= 0) {
		log_warnx("store_read: since and before together");
		return CHAT_E_BAD_PARAM;
	}
	if ((e = store_step(s, STMT_BEGIN, "store_read")) != CHAT_OK)
		return e;
	if (out != NULL)
		e = store_read_room(s, room, q, out);
	if (e == CHAT_OK && info != NULL)
		e = store_int(s, STMT_MAX_ID, "store_read", &info->db_max);
	if (e == CHAT_OK && info != NULL)
		e = store_room_info(s, room, info);
	if (e == CHAT_OK)
		e = store_step(s, STMT_COMMIT, "store_read");
	if (e != CHAT_OK) {
		store_rollback(s);
		if (out != NULL)
			list_truncate(out, n0);
	}
	return e;
}

enum chat_error
store_read_after(struct store *s, int64_t after, int limit,
    struct chat_list *out)
{
	sqlite3_stmt *st = s->st[STMT_AFTER];
	size_t n0 = out->n;
	enum chat_error e;
	int rc;

	if ((rc = sqlite3_bind_int64(st, 1, after)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int(st, 2, limit > 0 ? limit : 0)) !=
	    SQLITE_OK) {
		e = store_fail(s, "store_read_after", rc);
		stmt_done(st);
		return e;
	}
	if ((e = store_rows(s, STMT_AFTER, "store_read_after", out)) !=
	    CHAT_OK)
		list_truncate(out, n0);
	return e;
}

enum chat_error
store_max_id(struct store *s, int64_t *out)
{
	return store_int(s, STMT_MAX_ID, "store_max_id", out);
}

static int
room_push(struct chat_room_list *l, const char *name, int64_t last_id,
    int64_t messages, int64_t pruned_through)
{
	struct chat_room *v;
	size_t cap;

	if (l->n == l->cap) {
		cap = l->cap ? l->cap * 2 : 16;
		if ((v = realloc(l->v, cap * sizeof(*v))) == NULL)
			return -1;
		l->v = v;
		l->cap = cap;
	}
	v = &l->v[l->n++];
	snprintf(v->name, sizeof(v->name), "%s", name);
	v->last_id = last_id;
	v->messages = messages;
	v->pruned_through = pruned_through;
	return 0;
}

/* A room name longer than the API allows (typed in by hand) is left out
 * rather than listed cut short under a name that does not exist. */
enum chat_error
store_rooms(struct store *s, struct chat_room_list *out)
{
	sqlite3_stmt *st = s->st[STMT_ROOMS];
	size_t n0 = out->n;
	enum chat_error e = CHAT_OK;
	const char *name;
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		name = col_text(st, 0);
		if (strlen(name) > CHAT_MAX_ROOM)
			continue;
		if (room_push(out, name, sqlite3_column_int64(st, 1),
		    sqlite3_column_int64(st, 2),
		    sqlite3_column_int64(st, 3)) == -1) {
			log_warnx("store_rooms: out of memory");
			e = CHAT_E_INTERNAL;
			break;
		}
	}
	if (e == CHAT_OK && rc != SQLITE_DONE)
		e = store_fail(s, "store_rooms", rc);
	stmt_done(st);
	if (e != CHAT_OK)
		out->n = n0;
	return e;
}

/* --- moderation, retention, import -------------------------------------- */

/* Binds ?1 = room (when not NULL) and then the n integers of v to
 * statement k, runs it to its end and resets it. */
static enum chat_error
store_run(struct store *s, enum store_stmt k, const char *fn,
    const char *room, int n, const int64_t *v)
{
	sqlite3_stmt *st = s->st[k];
	enum chat_error e;
	int i = 1, rc = SQLITE_OK;

	if (room != NULL)
		rc = bind_text(st, i++, room);
	for (int j = 0; j < n && rc == SQLITE_OK; j++)
		rc = sqlite3_bind_int64(st, i++, v[j]);
	if (rc != SQLITE_OK) {
		e = store_fail(s, fn, rc);
		stmt_done(st);
		return e;
	}
	return store_step(s, k, fn);
}

/* Commits the write transaction when e is CHAT_OK, else rolls it back.
 * Returns the outcome. */
static enum chat_error
store_end(struct store *s, enum chat_error e, const char *fn)
{
	if (e == CHAT_OK)
		e = store_step(s, STMT_COMMIT, fn);
	if (e != CHAT_OK)
		store_rollback(s);
	return e;
}

/* The room of message id (not of a tombstone) into *room, a new string;
 * NULL when there is no such message. */
static enum chat_error
store_del_find(struct store *s, int64_t id, char **room)
{
	sqlite3_stmt *st = s->st[STMT_DEL_FIND];
	enum chat_error e = CHAT_OK;
	int rc;

	*room = NULL;
	if ((rc = sqlite3_bind_int64(st, 1, id)) == SQLITE_OK &&
	    (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((*room = strdup(col_text(st, 0))) == NULL) {
			log_warnx("store_delete: out of memory");
			e = CHAT_E_INTERNAL;
		}
	} else if (rc != SQLITE_DONE)
		e = store_fail(s, "store_delete", rc);
	stmt_done(st);
	return e;
}

enum chat_error
store_delete(struct store *s, int64_t id, struct chat_message *tomb)
{
	struct chat_message m = { .ts = chat_now_ms(), .deletes = id };
	enum chat_error e;

	if ((e = store_step(s, STMT_BEGIN_WRITE, "store_delete")) != CHAT_OK)
		return e;
	if ((e = store_del_find(s, id, &m.room)) == CHAT_OK && m.room == NULL)
		e = CHAT_E_NOT_FOUND;
	if (e == CHAT_OK)
		e = store_run(s, STMT_DEL_ROW, "store_delete", NULL, 1, &id);
	if (e == CHAT_OK)
		e = store_run(s, STMT_TOMBSTONE, "store_delete", m.room, 2,
		    (const int64_t[]){ m.ts, id });
	if (e == CHAT_OK)
		m.id = sqlite3_last_insert_rowid(s->db);
	if ((e = store_end(s, e, "store_delete")) == CHAT_OK) {
		store_notify(s);
		m.nick = strdup("");
		m.text = strdup("");
		if (m.nick == NULL || m.text == NULL)
			e = CHAT_E_INTERNAL;  /* committed all the same */
	}
	if (e == CHAT_OK && tomb != NULL)
		*tomb = m;
	else
		chat_message_clear(&m);
	return e;
}

/* Every name in rooms (with or without messages) into a new array of new
 * strings; free with names_free. */
static enum chat_error
store_room_names(struct store *s, char ***names, size_t *n)
{
	sqlite3_stmt *st = s->st[STMT_PRUNE_ROOMS];
	enum chat_error e = CHAT_OK;
	size_t cap = 0;
	char **v;
	int rc;

	*names = NULL;
	*n = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			if ((v = realloc(*names, cap * sizeof(*v))) == NULL)
				break;
			*names = v;
		}
		if (((*names)[*n] = strdup(col_text(st, 0))) == NULL)
			break;
		(*n)++;
	}
	if (rc == SQLITE_ROW) {
		log_warnx("store_prune: out of memory");
		e = CHAT_E_INTERNAL;
	} else if (rc != SQLITE_DONE)
		e = store_fail(s, "store_prune", rc);
	stmt_done(st);
	return e;
}

static void
names_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* The rows a prune removes from one room: id <= upto_id (the count limit)
 * or ts < before_ts (the age limit), from the oldest on. */
struct prune_rule {
	int64_t upto_id;
	int64_t before_ts;
	int batch;
};

/* Walks the oldest rows of room while they may go: *n of them, the last
 * one *upto. */
static enum chat_error
prune_walk(struct store *s, const char *room, const struct prune_rule *p,
    int *n, int64_t *upto)
{
	sqlite3_stmt *st = s->st[STMT_PRUNE_WALK];
	enum chat_error e = CHAT_OK;
	int rc;

	*n = 0;
	if ((rc = bind_text(st, 1, room)) == SQLITE_OK &&
	    (rc = sqlite3_bind_int(st, 2, p->batch)) == SQLITE_OK) {
		while ((rc = sqlite3_step(st)) == SQLITE_ROW &&
		    (sqlite3_column_int64(st, 0) <= p->upto_id ||
		    sqlite3_column_int64(st, 1) < p->before_ts)) {
			*upto = sqlite3_column_int64(st, 0);
			(*n)++;
		}
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		e = store_fail(s, "store_prune", rc);
	stmt_done(st);
	return e;
}

/* One short write transaction: up to p->batch of the oldest rows go and
 * the room remembers the highest id removed. *n: the rows removed. */
static enum chat_error
prune_batch(struct store *s, const char *room, const struct prune_rule *p,
    int *n)
{
	int64_t upto = 0;
	enum chat_error e;

	if ((e = store_step(s, STMT_BEGIN_WRITE, "store_prune")) != CHAT_OK)
		return e;
	e = prune_walk(s, room, p, n, &upto);
	/* Marked before the rows go, so that the delete trigger keeps the
	 * rooms row of a room that empties. */
	if (e == CHAT_OK && *n > 0)
		e = store_run(s, STMT_PRUNE_MARK, "store_prune", room, 1,
		    &upto);
	if (e == CHAT_OK && *n > 0)
		e = store_run(s, STMT_PRUNE_DELETE, "store_prune", room, 1,
		    &upto);
	return store_end(s, e, "store_prune");
}

static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static enum chat_error
prune_room(struct store *s, const char *room, const struct store_retention *r,
    int64_t now_ms, int64_t *removed)
{
	struct prune_rule p = {
		.before_ts = r->max_age_ms > 0 ? now_ms - r->max_age_ms :
		    INT64_MIN,
		.batch = r->batch > 0 && r->batch <= 10000 ? r->batch : 500,
	};
	enum chat_error e = CHAT_OK;
	int n;

	if (r->max_messages > 0) {
		sqlite3_stmt *st = s->st[STMT_PRUNE_KEEP];
		int rc;
		if ((rc = bind_text(st, 1, room)) != SQLITE_OK ||
		    (rc = sqlite3_bind_int64(st, 2, r->max_messages)) !=
		    SQLITE_OK) {
			e = store_fail(s, "store_prune", rc);
			stmt_done(st);
			return e;
		}
		if ((e = store_int(s, STMT_PRUNE_KEEP, "store_prune",
		    &p.upto_id)) != CHAT_OK)
			return e;
	}
	do {
		if ((e = prune_batch(s, room, &p, &n)) != CHAT_OK)
			break;
		*removed += n;
		if (n == p.batch)
			sleep_ms(STORE_PRUNE_PAUSE_MS);
	} while (n == p.batch);
	return e;
}

enum chat_error
store_prune(struct store *s, const struct store_retention *r, int64_t now_ms,
    int64_t *removed)
{
	char **names = NULL;
	size_t n = 0;
	int64_t total = 0;
	enum chat_error e;

	if (r->max_age_ms <= 0 && r->max_messages <= 0)
		return CHAT_OK;
	e = store_room_names(s, &names, &n);
	for (size_t i = 0; e == CHAT_OK && i < n; i++)
		e = prune_room(s, names[i], r, now_ms, &total);
	names_free(names, n);
	if (removed != NULL)
		*removed += total;
	return e;
}

/* Stores one imported message; *stored is incremented when it was. */
static enum chat_error
import_one(struct store *s, const struct chat_message *m, size_t *stored)
{
	sqlite3_stmt *st = s->st[STMT_IMPORT];
	enum chat_error e = CHAT_OK;
	int rc;

	if ((rc = bind_message(st, m->room, m->nick, m->text, m->ts)) ==
	    SQLITE_OK)
		rc = m->id > 0 ? sqlite3_bind_int64(st, 5, m->id) :
		    sqlite3_bind_null(st, 5);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		*stored += (size_t)sqlite3_changes(s->db);
	else
		e = store_fail(s, "store_import", rc);
	stmt_done(st);
	return e;
}

enum chat_error
store_import(struct store *s, const struct chat_message *v, size_t n,
    size_t *stored)
{
	size_t k = 0;
	enum chat_error e;

	if ((e = store_step(s, STMT_BEGIN_WRITE, "store_import")) != CHAT_OK)
		return e;
	for (size_t i = 0; e == CHAT_OK && i < n; i++)
		e = import_one(s, &v[i], &k);
	if ((e = store_end(s, e, "store_import")) != CHAT_OK)
		return e;
	if (k > 0)
		store_notify(s);
	if (stored != NULL)
		*stored += k;
	return CHAT_OK;
}

/* The schema half of store_inspect: version, journal mode, newest id. */
static void
inspect_schema(sqlite3 *db, struct retry *r, struct store_health *out)
{
	char buf[32];

	if (db_user_version(db, r, &out->schema) != SQLITE_OK) {
		out->schema = -1;
		return;
	}
	out->readable = true;
	if (db_query(db, "PRAGMA journal_mode", r, buf, sizeof(buf)) ==
	    SQLITE_OK)
		out->wal = strcmp(buf, "wal") == 0;
	if (out->schema >= 1 && db_query(db, "SELECT coalesce(max(id), 0) "
	    "FROM messages", r, buf, sizeof(buf)) == SQLITE_OK)
		out->last_id = strtoll(buf, NULL, 10);
}

int
store_inspect(const struct store_options *o, struct store_health *out)
{
	struct retry r;
	sqlite3 *db = NULL;

	memset(out, 0, sizeof(*out));
	out->schema = out->last_id = -1;
	retry_init(&r, o->busy_timeout_ms);
	if (sqlite3_open_v2(o->path, &db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		snprintf(out->error, sizeof(out->error), "%s",
		    db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		return db ? 0 : -1;
	}
	out->exists = true;
	sqlite3_busy_timeout(db, o->busy_timeout_ms);
	inspect_schema(db, &r, out);
	if (!out->readable)
		snprintf(out->error, sizeof(out->error), "%s",
		    sqlite3_errmsg(db));
	else if (!sqlite3_db_readonly(db, "main") &&
	    db_exec(db, "BEGIN IMMEDIATE", &r) == SQLITE_OK)
		out->writable = true;
	else
		snprintf(out->error, sizeof(out->error), "%s",
		    sqlite3_errmsg(db));
	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(db);
	return 0;
}
