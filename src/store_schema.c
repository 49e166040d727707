/* store_schema.c - SQLite's schema: creates the database and applies the
 * migrations of sql/, checks a connection's settings at open, inspects a
 * database for --check and tells whether its files are writable. Also the
 * retries for locks SQLite's busy handler does not wait for. */
#include "store_sqlite.h"

#include <sys/stat.h>

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

/* build/sql_migrations.c, made by src/embed-sql.sh from sql/[0-9]*.sql:
 * migration i moves a database from user_version i to i + 1. */
extern const char *const store_migrations[];
extern const size_t store_migrations_n;

#define STORE_RETRY_MAX_MS 32   /* longest pause between busy retries */

/* --- retries (struct retry is in store_sqlite.h) ------------------------ */

void
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
	assert(r->delay_ms > 0);   /* retry_init's; the modulo divides by it */
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
int
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
int
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
int
db_user_version(sqlite3 *db, struct retry *r, long long *v)
{
	char buf[32];
	int rc;

	if ((rc = db_query(db, "PRAGMA user_version", r, buf,
	    sizeof(buf))) == SQLITE_OK)
		*v = strtoll(buf, NULL, 10);
	return rc;
}

/* --- the schema and its files ------------------------------------------ */

int
store_schema_version(void)
{
	return (int)store_migrations_n;
}

bool
store_sqlite_writable(const char *db_path)
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

/* A file's name has no secret in it. */
void
store_sqlite_display_path(const char *path, char *out, size_t outsz)
{
	snprintf(out, outsz, "%s", path);
}

/* The size of path + suffix, 0 when it is missing. */
static int64_t
store_file_size(const char *path, const char *suffix)
{
	char p[PATH_MAX];
	struct stat sb;

	snprintf(p, sizeof(p), "%s%s", path, suffix);
	return stat(p, &sb) == 0 ? (int64_t)sb.st_size : 0;
}

enum chat_error
store_sqlite_size(struct store *s, int64_t *db_bytes, int64_t *wal_bytes)
{
	const char *path = sqlite3_db_filename(s->db, "main");

	*db_bytes = store_file_size(path, "");
	*wal_bytes = store_file_size(path, "-wal");
	return CHAT_OK;
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
store_sqlite_migrate(const struct store_options *o)
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
int
store_schema_check(struct store *s, const struct store_options *o)
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

/* --- inspecting (--check) ---------------------------------------------- */

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
store_sqlite_inspect(const struct store_options *o,
    struct store_health *out)
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
