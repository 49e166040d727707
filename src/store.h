/* store.h - the chat's storage: the contract every storage engine meets.
 * It opens and migrates the database, appends messages (idempotently, by
 * client_id), reads them after or before an id, lists rooms, deletes,
 * prunes, imports, inspects, wakes the watchers of every process after
 * a commit, and keeps who is here (the presence tables). Two engines
 * meet it, chosen by the database's path (store.c dispatches): a
 * postgresql:// or postgres:// URI is PostgreSQL (store_pg.c,
 * store_pg_schema.c, store_pg_write.c, store_pg_wake.c,
 * store_pg_presence.c; private header store_pg.h), the only files that
 * know libpq; anything else is an SQLite file (store_sqlite.c,
 * store_schema.c, store_append.c, store_maint.c, store_wake.c,
 * store_presence.c; private header store_sqlite.h), the only files that
 * know SQLite. Notes marked
 * "SQLite:" or "PostgreSQL:" say how each engine meets the contract; the
 * last section is SQLite's alone.
 *
 * Errors: functions returning enum chat_error give CHAT_E_UNAVAILABLE when
 * the database is busy, locked, read-only, full or cannot be opened (the
 * API's 503: it may heal by itself), or CHAT_E_INTERNAL for anything else
 * (a bug, corruption, out of memory). Failures are logged, and leave the
 * database unchanged unless a function says otherwise.
 *
 * Threads: a struct store is one connection. Use it from one thread at a
 * time; several threads each with their own connection may work at once
 * (see store_append for how their sends meet). */
#ifndef STORE_H
#define STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chat.h"
#include "error.h"

struct store;

struct store_options {
	const char *path;       /* where the database is (SQLite: its file;
	                         * PostgreSQL: a libpq URI) */
	bool sync_full;         /* every commit on disk before it is
	                         * acknowledged (SQLite: PRAGMA
	                         * synchronous=FULL instead of NORMAL) */
	int busy_timeout_ms;    /* how long a write waits for the lock */
	bool readonly;          /* open read-only (no migration) */
};

/* --- opening --------------------------------------------------------- */

/* True when path names an SQLite file, false for a server's URI
 * (postgresql:// or postgres://): what --check, the per-host files and
 * the logs need to know. */
bool store_is_file(const char *path);

/* The database's name for people (logs, --check, /api/stats): path as
 * given, except that a URI's password, as user:PASSWORD@host or as a
 * password= parameter, becomes "***" (postgresql://user:***@host/db).
 * Writes it into out, cut to outsz - 1 bytes and always terminated
 * (outsz > 0); returns out. */
const char *store_display_path(const char *path, char *out, size_t outsz);

/* Opens a connection to the database, which must already have the
 * current schema (see store_migrate), applies o's settings and readies
 * its statements. Returns NULL on failure (logged). Free with
 * store_free. SQLite: also checks that the journal mode is WAL.
 * PostgreSQL: the server must be reachable now; a connection lost later
 * is made again (at most every 2 s) by the next call, which answers
 * CHAT_E_UNAVAILABLE until it is back. lock_timeout is
 * busy_timeout_ms. */
struct store *store_open(const struct store_options *o);

/* Closes the connection and the wake descriptor, if it made one.
 * Accepts NULL. */
void store_free(struct store *s);

/* Creates the database if missing and applies every migration newer than
 * its schema version, in one transaction each. Safe to call from several
 * processes at once (retries while locked, up to o->busy_timeout_ms);
 * needs write access whatever o->readonly says. Returns 0, or -1
 * (logged). SQLite: creates the file with mode 0600 (in a directory it
 * creates 0700 if missing) and its notify file, sets WAL mode; the
 * migrations are sql/[0-9]*.sql and the version is PRAGMA user_version.
 * PostgreSQL: the migrations are sql/pg/[0-9]*.sql, the version is the
 * table fcgichat_schema, and processes on several hosts serialize on an
 * advisory lock; the database itself must exist. */
int store_migrate(const struct store_options *o);

/* The schema version the program expects (the newest migration); both
 * engines have the same number of migrations. */
int store_schema_version(void);

/* True when s was asked to open read-write but could only be opened
 * read-only: its writes answer CHAT_E_UNAVAILABLE. SQLite: its files were
 * not writable then; such a connection stays read-only, and so does every
 * other one of the process: they share SQLite's mapping of the -shm file
 * (store_writable tells when a fresh process could write). */
bool store_readonly(struct store *s);

/* --- appending ------------------------------------------------------- */

/* Appends a message to room with ts = now. When client_id is not NULL and
 * a message with the same room, nick, user (none here; store_append_as)
 * and client_id exists, stores nothing and returns that one with
 * *created = false (a retry of a send never stores it twice). On
 * CHAT_OK *out holds the committed message (free with
 * chat_message_clear); created may be NULL. A commit that stored it wakes
 * the watchers of every process (store_wake_fd); one that stored nothing
 * wakes nobody.
 *
 * Group commit (store_group.c, for both engines): the concurrent sends
 * of one process may share one transaction; each caller still gets its
 * own outcome, and a failed transaction fails all of its sends, none of
 * them stored. SQLite: the
 * sends of all connections of the process queue in one process-wide
 * queue; a thread that finds no commit running becomes the leader and
 * commits everything queued on its own connection, while the other
 * threads wait in store_append and their connections stay untouched. So:
 *   - every connection that appends in one process must be open on the
 *     same database, read-write (a send is stored through the leader's);
 *   - a send may wait for the commit in progress and then its own: up to
 *     twice busy_timeout_ms;
 *   - the strings passed must stay valid until store_append returns
 *     (another thread reads them), which they do, being the caller's.
 * PostgreSQL: the same queue (one per engine), and ids become visible in
 * id order on every host: the insert trigger hands them out under a
 * transaction-scoped advisory lock (sql/pg/001_init.sql has the
 * argument); a retry on another host finds the row by the same unique
 * index. */
enum chat_error store_append(struct store *s, const char *room,
    const char *nick, const char *text, const char *client_id,
    struct chat_message *out, bool *created);

/* store_append for a sender the web server authenticated: the message is
 * stored with user (identity.h; NULL: anonymous, as store_append), and a
 * client_id retry finds only a message of the same user. The caller
 * passes nick = user (API.md: a verified sender's nick is the user
 * name). */
enum chat_error store_append_as(struct store *s, const char *room,
    const char *user, const char *nick, const char *text,
    const char *client_id, struct chat_message *out, bool *created);

/* --- reading --------------------------------------------------------- */

/* A read of one room. since and before are -1 when absent (both present
 * is the caller's error). */
struct store_query {
	int64_t since;
	int64_t before;
	int limit;
};

/* What a read learns besides the messages, in the same snapshot. */
struct store_read_info {
	int64_t db_max;          /* newest id of the whole database, 0: empty */
	int64_t room_last;       /* the room's newest id, tombstones and pruned
	                          * ids included: where a reader starts; 0 when
	                          * the room has never had a message */
	int64_t pruned_through;  /* highest id retention removed from the
	                          * room, 0: none; a cursor below it missed
	                          * messages */
};

/* Reads messages of room into *out, oldest first: since -> the first
 * `limit` rows with id > since, tombstones included (deletes != 0);
 * before -> the newest `limit` messages with id < before; neither -> the
 * newest `limit` messages (history reads never return tombstones). Fills
 * *info in the same snapshot. out and info may be NULL. CHAT_E_BAD_PARAM
 * when both since and before are given. On failure *out is as it was. */
enum chat_error store_read(struct store *s, const char *room,
    const struct store_query *q, struct chat_list *out,
    struct store_read_info *info);

/* Reads up to limit rows (messages and tombstones) of every room with id >
 * after, oldest first (the watcher's one query per wakeup), appending
 * them to *out. On failure *out is as it was. */
enum chat_error store_read_after(struct store *s, int64_t after, int limit,
    struct chat_list *out);

/* The newest id in the database, 0 when empty: the truth a watcher
 * compares its cursor with (a wake-up is only a hint to look). */
enum chat_error store_max_id(struct store *s, int64_t *out);

/* The space the database takes on disk, into *db_bytes, and its
 * write-ahead log's, into *wal_bytes. SQLite: the file and its -wal file
 * (0 for one that is missing). PostgreSQL: pg_database_size() of the
 * database; *wal_bytes 0 (the server's log is shared by all its
 * databases). On failure both are unchanged. */
enum chat_error store_size(struct store *s, int64_t *db_bytes,
    int64_t *wal_bytes);

/* Appends every room with at least one message, by name, to *out (free
 * with chat_room_list_clear). A room name longer than CHAT_MAX_ROOM (made
 * by hand) is left out. On failure *out is as it was. */
enum chat_error store_rooms(struct store *s, struct chat_room_list *out);

/* --- private rooms (sql/004_private.sql) ------------------------------ */

/* What one look at a room's access found, in one snapshot. */
struct store_access {
	int64_t version;         /* access_version: moves with every change
	                          * of any room's privacy or members */
	enum chat_room_kind kind;  /* CHAT_ROOM_PUBLIC: not in private_rooms */
	bool member;             /* user is one of its members (false for a
	                          * public room, and for user NULL) */
};

/* Looks up room's kind and whether user (NULL: anonymous) is a member,
 * with the access version of the same snapshot: one point lookup, made
 * on every request of a room (private.c decides what it means). On
 * failure *out is unchanged. */
enum chat_error store_room_access(struct store *s, const char *room,
    const char *user, struct store_access *out);

/* The access version alone: the watcher reads it each time it looks and
 * re-checks its waiters' access when it moved. */
enum chat_error store_access_version(struct store *s, int64_t *out);

/* Makes room private (kind CHAT_ROOM_PRIVATE or CHAT_ROOM_DIRECT),
 * created by created_by ("" for an operator), and adds users[0..n) to its
 * members, in one transaction. fresh: the room must not exist yet (no
 * row in rooms, not private): CHAT_E_CONFLICT otherwise. Not fresh: a
 * private room keeps its kind and gains the members; a public one (with
 * its history) becomes private. *created (may be NULL) tells whether the
 * room became private now. Wakes the watchers. The caller validates the
 * names. */
enum chat_error store_private_make(struct store *s, const char *room,
    enum chat_room_kind kind, const char *created_by,
    const char *const *users, size_t n, bool fresh, bool *created);

/* Adds (add) or removes users[0..n) to or from the members of private
 * room, in one transaction, and wakes the watchers (which cut off the
 * removed members' waiting clients). CHAT_E_NOT_FOUND when room is not
 * private; unknown members to remove and members already there are no
 * error. */
enum chat_error store_members_edit(struct store *s, const char *room,
    bool add, const char *const *users, size_t n);

/* Makes private room public again (its members are forgotten) and wakes
 * the watchers. CHAT_E_NOT_FOUND when it is not private. */
enum chat_error store_private_drop(struct store *s, const char *room);

/* Members of a room, sorted bytewise. */
struct store_members {
	char **v;
	size_t n, cap;
};

/* Appends the members of private room to *out (free with
 * store_members_clear) and sets *kind. CHAT_E_NOT_FOUND when room is not
 * private. On failure *out is as it was. */
enum chat_error store_members(struct store *s, const char *room,
    struct store_members *out, enum chat_room_kind *kind);

/* Frees the names and the array. Accepts NULL. */
void store_members_clear(struct store_members *m);

/* store_rooms as user (NULL: anonymous) may see them: the public rooms
 * with messages, and the private rooms user is a member of, with or
 * without messages, each with its kind and, for a DM, the other member.
 * Rooms named like a DM (dm-...) that are not private are left out, as
 * private.c hides them. */
enum chat_error store_rooms_for(struct store *s, const char *user,
    struct chat_room_list *out);

/* --- moderation, retention, import ---------------------------------- */

/* Moderation: deletes message id and, in the same transaction, appends a
 * tombstone for it (a new id; see struct chat_message), then wakes the
 * watchers so that waiting clients learn of it at once. On CHAT_OK *tomb
 * holds the tombstone (free with chat_message_clear; tomb may be NULL).
 * CHAT_E_NOT_FOUND when there is no message with that id (a tombstone's
 * id included); the database is then unchanged. */
enum chat_error store_delete(struct store *s, int64_t id,
    struct chat_message *tomb);

/* Retention: what store_prune keeps. 0 turns a limit off. */
struct store_retention {
	int64_t max_age_ms;      /* rows older than this go */
	int64_t max_messages;    /* per room: rows older than the newest
	                          * max_messages messages go */
	int batch;               /* rows per transaction, 1-10000 (500) */
};

/* Prunes every room by r as of now_ms (chat_now_ms()): removes, oldest
 * first, the room's rows (tombstones too) that are too old or beyond the
 * newest max_messages messages, stopping at the first row that may stay,
 * so what remains is always everything after the room's pruned_through,
 * which it raises. Works in short transactions of r->batch rows with a
 * pause between them, so sends never wait long. Wakes nobody: readers
 * lose nothing they could still be sent. Adds the rows removed to
 * *removed (may be NULL). On failure the batches already committed stay
 * committed. PostgreSQL: one process of all hosts prunes at a time
 * (pg_try_advisory_lock); the others return CHAT_OK at once, having
 * removed nothing. */
enum chat_error store_prune(struct store *s, const struct store_retention *r,
    int64_t now_ms, int64_t *removed);

/* Import: stores each message of v[0..n) in one transaction, under its own
 * id when that id is free (id 0: a new id), with its room, nick, text and
 * ts as given; a message whose id exists is skipped. Adds the number
 * stored to *stored (may be NULL) and, when it stored any, wakes the
 * watchers. The caller validates the fields. On failure nothing of v is
 * stored. */
enum chat_error store_import(struct store *s, const struct chat_message *v,
    size_t n, size_t *stored);

/* --- presence (who is here; presence.c is the only caller) ----------- */

/* One row of a worker's presence set: person name (REMOTE_USER when
 * verified, else an anonymous page's nick) in room since since_ms. */
struct store_presence_row {
	const char *room;
	const char *name;
	bool verified;
	int64_t since_ms;
	bool gone;               /* the row goes (else it is added) */
};

/* One write of a worker's presence, in one transaction. */
struct store_presence_sync {
	const char *worker;      /* "host:pid:start-ms", unique per process */
	int64_t now_ms;          /* the worker's heartbeat */
	bool full;               /* v is the worker's whole set: its other
	                          * rows go (after a failed write) */
	bool leave;              /* the worker ends: all its rows go, v too */
	int64_t stale_ms;        /* > 0: also remove the rows of workers
	                          * whose heartbeat is older than this */
	const struct store_presence_row *v;
	size_t n;
};

/* Applies w: the heartbeat, then the rows of v, and gives every room
 * whose rows changed a new version (one more than the highest of all
 * rooms); wakes the watchers of every process (and host) when any room
 * changed. On failure nothing is written. PostgreSQL: writers serialize
 * on an advisory lock, so versions become visible in order. */
enum chat_error store_presence_sync(struct store *s,
    const struct store_presence_sync *w);

/* One person present in a room (store_presence_read). */
struct chat_person {
	char *name;
	bool verified;
	int64_t since_ms;        /* the earliest of its workers' */
};

struct chat_people {
	struct chat_person *v;
	size_t n;
};

/* Frees the names and the array, leaving it empty. Accepts NULL. */
void chat_people_clear(struct chat_people *p);

/* The people in room, one entry per (name, verified) whatever the number
 * of their connections and workers, sorted by name, counting only workers
 * whose heartbeat is at or after fresh_ms; and the room's presence
 * version into *version (0: none yet), in one snapshot. On failure *out
 * is as it was. */
enum chat_error store_presence_read(struct store *s, const char *room,
    int64_t fresh_ms, struct chat_people *out, int64_t *version);

/* The rooms whose presence version is above after (name only), appended
 * to *out, and the highest version of all rooms into *max (after when
 * none is higher). On failure *out is as it was. */
enum chat_error store_presence_changed(struct store *s, int64_t after,
    struct chat_room_list *out, int64_t *max);

/* --- inspecting (for --check) ---------------------------------------- */

/* What --check found out about a database, without creating or changing
 * it. */
struct store_health {
	bool exists;             /* the database is there and opens */
	bool readable;           /* the schema could be read */
	bool writable;           /* a write transaction could start */
	bool wal;                /* SQLite: journal_mode is wal (an engine
	                          * without journal modes sets it true) */
	long long schema;        /* schema version, -1 when unknown */
	int64_t last_id;         /* newest id, -1 when unknown */
	char error[256];         /* the engine's sentence for the first
	                          * failure */
};

/* Inspects the database o->path (busy_timeout_ms from o) into *out.
 * Returns 0 when it could look, -1 when out of memory. */
int store_inspect(const struct store_options *o, struct store_health *out);

/* --- waking the watchers --------------------------------------------- */

/* Every engine wakes the watchers of every connection, in every process,
 * after each commit that stores or deletes something readers are sent:
 * store_append that created, store_delete, store_import that stored any.
 * Commits that change nothing a reader could be sent (a retry by
 * client_id, store_prune) wake nobody. */

/* A descriptor that becomes readable when another connection or process
 * may have committed: poll it for POLLIN/EPOLLIN. A hint to look, not a
 * count: it may also wake for this connection's own commits, or for
 * nothing, and a writer outside the program (a person with the sqlite3
 * shell) may not wake it at all, so the caller also looks on a timer
 * (about once a second) and compares store_max_id with its cursor.
 *
 * Made on the first call; later calls return the same descriptor. -1
 * when the engine cannot give one (logged, once): the caller then looks
 * on its timer alone. The store owns it: do not read or close it, and
 * stop polling it before store_free, which closes it. Call store_wake_fd
 * and store_wake_drain from the thread that uses s (any thread may poll
 * the descriptor).
 *
 * PostgreSQL: an epoll set holding the socket of a connection of its own
 * that LISTENs for the insert trigger's NOTIFY (every commit of every
 * host, psql's too); store_wake_drain consumes the notifications and,
 * once that connection is lost, makes it again with backoff (the
 * caller's timer catches up meanwhile). SQLite: an inotify instance
 * watching the notify file path + "-notify" (store_notify_path), which
 * every commit of every process rewrites. It watches the file itself,
 * not its directory: SQLite's writes to the -wal file beside it would
 * wake every watcher several times per commit (watching the file alone
 * took sends from about 8 300/s to 11 000/s). Without inotify (the
 * per-user limit fs.inotify.max_user_instances, 128 by default, is easily
 * reached by many mod_fcgid processes) it returns -1. When the notify
 * file cannot be watched yet, it returns the descriptor all the same and
 * store_wake_drain tries again. */
int store_wake_fd(struct store *s);

/* Consumes the pending wake-ups, so that the descriptor is quiet until
 * the next commit. Call it when the descriptor was readable, before
 * looking at the database (a commit after that look then wakes it
 * again: no wake-up is lost), and on the caller's timer as well. Does
 * nothing when s has no wake descriptor. SQLite: it also watches the
 * notify file anew, at most once per second, so a notify file removed and
 * made anew is watched within that; the watch on a replaced file lasts
 * while writers still write to it.
 *
 * Returns whether the wake-ups consumed may concern access (a private
 * room's members or kind changed: store_access_version may have moved);
 * false only when they surely do not, so the caller may skip that read.
 * PostgreSQL: true when a notification with payload 'access' was
 * consumed (the access trigger's, sql/pg/006_access_notify.sql), or when
 * the LISTEN connection was made, made again or lost since the last call
 * (notifications may have been missed), or when there is none. SQLite:
 * always true: the notify file cannot tell an access change from a
 * message, and reading the version costs about 2 us. */
bool store_wake_drain(struct store *s);

/* --- SQLite's engine only -------------------------------------------- */

/* The notify file's path for a database path: path + "-notify". Every
 * commit rewrites one byte of it; store_wake_fd watches it; --check
 * checks it. Returns a new string (caller frees) or NULL when out of
 * memory. */
char *store_notify_path(const char *db_path);

/* True when the database file and its -wal and -shm files (those that
 * exist) can be opened for writing now: a process stuck read-only
 * (store_readonly) could then be replaced by one that writes. Always
 * true for PostgreSQL (nothing there is stuck read-only). */
bool store_writable(const char *db_path);

#endif
