/* store_sqlite.h - private to SQLite's engine of store.h (store_sqlite.c,
 * store_schema.c, store_append.c, store_maint.c, store_wake.c): struct
 * store, the statement enum and the helpers those files share. Nothing
 * else includes it: it is what keeps sqlite3.h in those files. */
#ifndef STORE_SQLITE_H
#define STORE_SQLITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "chat.h"
#include "error.h"
#include "store.h"
#include "store_engine.h"

/* The statements prepared once per connection; their SQL is the table
 * store_sql in store_sqlite.c, the one place to read them all. */
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
	STMT_ACCESS,
	STMT_ACCESS_VERSION,
	STMT_PRIVATE_KIND,
	STMT_ROOM_USED,
	STMT_PRIVATE_ADD,
	STMT_PRIVATE_DEL,
	STMT_MEMBER_ADD,
	STMT_MEMBER_DEL,
	STMT_MEMBERS_DEL,
	STMT_MEMBERS,
	STMT_ROOMS_FOR,
	STMT_PRES_BEAT,
	STMT_PRES_NEXT,
	STMT_PRES_ADD,
	STMT_PRES_DEL,
	STMT_PRES_BUMP,
	STMT_PRES_BUMP_WORKER,
	STMT_PRES_DROP_WORKER,
	STMT_PRES_FORGET,
	STMT_PRES_STALE_BUMP,
	STMT_PRES_STALE_DROP,
	STMT_PRES_STALE_FORGET,
	STMT_PRES_VERSION,
	STMT_PRES_READ,
	STMT_PRES_CHANGED,
	STMT__MAX
};

/* One connection. The wake_* fields belong to store_wake.c and are made
 * on the first store_wake_fd. */
struct store {
	const struct store_engine *engine;   /* &store_sqlite_engine, first */
	sqlite3 *db;
	sqlite3_stmt *st[STMT__MAX];
	char *notify_path;      /* path + "-notify"; NULL when out of memory */
	int notify_fd;          /* -1 when read-only or not openable */
	int busy_timeout_ms;
	int64_t busy_deadline;  /* of the wait store_busy is in */
	int wake_fd;            /* inotify instance, -1 until made or failed */
	bool wake_tried;        /* store_wake_fd made (or failed to make) it */
	int64_t wake_rewatch_at; /* chat_mono_ms() of the next watch anew */
};

/* --- the engine's entries: store.h's functions of the same name -------- */

struct store *store_sqlite_open(const struct store_options *o);
void store_sqlite_free(struct store *s);
int store_sqlite_migrate(const struct store_options *o);
bool store_sqlite_readonly(struct store *s);
enum chat_error store_sqlite_append(struct store *s, const char *room,
    const char *user, const char *nick, const char *text,
    const char *client_id, struct chat_message *out, bool *created);
enum chat_error store_sqlite_read(struct store *s, const char *room,
    const struct store_query *q, struct chat_list *out,
    struct store_read_info *info);
enum chat_error store_sqlite_read_after(struct store *s, int64_t after,
    int limit, struct chat_list *out);
enum chat_error store_sqlite_max_id(struct store *s, int64_t *out);
enum chat_error store_sqlite_rooms(struct store *s,
    struct chat_room_list *out);
enum chat_error store_sqlite_delete(struct store *s, int64_t id,
    struct chat_message *tomb);
enum chat_error store_sqlite_prune(struct store *s,
    const struct store_retention *r, int64_t now_ms, int64_t *removed);
enum chat_error store_sqlite_import(struct store *s,
    const struct chat_message *v, size_t n, size_t *stored);
int store_sqlite_inspect(const struct store_options *o,
    struct store_health *out);
int store_sqlite_wake_fd(struct store *s);
bool store_sqlite_wake_drain(struct store *s);
bool store_sqlite_writable(const char *db_path);
void store_sqlite_display_path(const char *path, char *out, size_t outsz);
enum chat_error store_sqlite_size(struct store *s, int64_t *db_bytes,
    int64_t *wal_bytes);
enum chat_error store_sqlite_presence_sync(struct store *s,
    const struct store_presence_sync *w);
enum chat_error store_sqlite_presence_read(struct store *s, const char *room,
    int64_t fresh_ms, struct chat_people *out, int64_t *version);
enum chat_error store_sqlite_presence_changed(struct store *s, int64_t after,
    struct chat_room_list *out, int64_t *max);

/* --- store_private.c: private rooms ---------------------------------- */

enum chat_error store_sqlite_room_access(struct store *s, const char *room,
    const char *user, struct store_access *out);
enum chat_error store_sqlite_access_version(struct store *s, int64_t *out);
enum chat_error store_sqlite_private_make(struct store *s, const char *room,
    enum chat_room_kind kind, const char *created_by,
    const char *const *users, size_t n, bool fresh, bool *created);
enum chat_error store_sqlite_members_edit(struct store *s, const char *room,
    bool add, const char *const *users, size_t n);
enum chat_error store_sqlite_private_drop(struct store *s, const char *room);
enum chat_error store_sqlite_members(struct store *s, const char *room,
    struct store_members *out, enum chat_room_kind *kind);
enum chat_error store_sqlite_rooms_for(struct store *s, const char *user,
    struct chat_room_list *out);

/* store_sqlite.c: appends a row (name, last_id, messages, pruned_through,
 * kind, direct) of statement st to out; kind NULL is a public room. -1
 * when out of memory. */
int store_room_row(struct chat_room_list *out, sqlite3_stmt *st);

/* --- store_schema.c: retries outside SQLite's busy handler ------------- */

/* Retrying while another process holds a lock SQLite's busy handler does
 * not wait for (journal mode changes, a fresh database): pauses of 1, 2,
 * 4 ... STORE_RETRY_MAX_MS ms plus jitter, so that two processes do not
 * retry in lockstep, until the deadline. */
struct retry {
	int64_t deadline;
	unsigned seed;
	int delay_ms;
};

void retry_init(struct retry *r, int timeout_ms);

/* Runs sql (no result rows wanted), retrying while busy. Returns an SQLite
 * code. */
int db_exec(sqlite3 *db, const char *sql, struct retry *r);

/* Runs sql, retrying while busy, and copies the first column of its first
 * row into out ("" when there is no row). Returns an SQLite code. */
int db_query(sqlite3 *db, const char *sql, struct retry *r, char *out,
    size_t outsz);

/* PRAGMA user_version into *v (unchanged on failure). Returns an SQLite
 * code. */
int db_user_version(sqlite3 *db, struct retry *r, long long *v);

/* store_open's settings (synchronous, journal_size_limit) and its checks
 * that the database has WAL and this program's schema. Returns 0, or -1
 * (logged). */
int store_schema_check(struct store *s, const struct store_options *o);

/* --- store_sqlite.c: running the prepared statements ------------------- */

/* Logs the connection's error for fn and returns its kind (the storage's
 * state: CHAT_E_UNAVAILABLE; a bug or corruption: CHAT_E_INTERNAL). Call
 * before resetting the statement. */
enum chat_error store_fail(struct store *s, const char *fn, int rc);

/* Resets statement st and clears its bindings; every statement ends here,
 * on every path. */
void stmt_done(sqlite3_stmt *st);

/* Runs statement k, which has no result rows (BEGIN, COMMIT, ROLLBACK, a
 * bound INSERT), and resets it. */
enum chat_error store_step(struct store *s, enum store_stmt k,
    const char *fn);

/* Rolls back the open transaction, if any. */
void store_rollback(struct store *s);

/* Commits the write transaction when e is CHAT_OK, else rolls it back.
 * Returns the outcome. */
enum chat_error store_end(struct store *s, enum chat_error e,
    const char *fn);

/* Runs a bound statement k for one integer: its first column into *out,
 * 0 when there is no row or it is NULL. */
enum chat_error store_int(struct store *s, enum store_stmt k, const char *fn,
    int64_t *out);

/* Column i of the current row as text, "" for NULL; valid until the next
 * step or reset of st. */
const char *col_text(sqlite3_stmt *st, int i);

/* Runs a bound statement k whose rows are (id, ts, room, nick, text,
 * deletes, user) and appends them to out (on failure some may have been
 * appended: see list_truncate). */
enum chat_error store_rows(struct store *s, enum store_stmt k, const char *fn,
    struct chat_list *out);

/* Binds ?1 = room (when not NULL) and then the n integers of v to
 * statement k, runs it to its end and resets it. */
enum chat_error store_run(struct store *s, enum store_stmt k, const char *fn,
    const char *room, int n, const int64_t *v);

/* The same with the texts t[0..nt) as ?1.., then the integers v[0..nv). */
enum chat_error store_run_args(struct store *s, enum store_stmt k,
    const char *fn, const char *const *t, int nt, const int64_t *v, int nv);


/* Frees the messages of l from index n on. */
void list_truncate(struct chat_list *l, size_t n);

/* Binds v to ?i without copying it: it must outlive the statement's run. */
int bind_text(sqlite3_stmt *st, int i, const char *v);

/* Binds ?1 room, ?2 nick, ?3 text, ?4 ts, ?5 user (NULL: SQL NULL). */
int bind_message(sqlite3_stmt *st, const char *room, const char *nick,
    const char *text, int64_t ts, const char *user);

/* --- store_wake.c: the notify file ------------------------------------ */

/* Sets s->notify_path for db_path and, when writer, opens the notify
 * file for store_notify. A failure is logged and costs other processes
 * only latency. */
void store_notify_open(struct store *s, const char *db_path, bool writer);

/* Wakes the watchers of every process after a commit. */
void store_notify(struct store *s);

/* Closes and frees what store_notify_open and store_wake_fd made. */
void store_notify_close(struct store *s);

#endif
