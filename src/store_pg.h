/* store_pg.h - private to PostgreSQL's engine of store.h (store_pg.c,
 * store_pg_schema.c, store_pg_write.c, store_pg_wake.c): struct store,
 * the statement enum and the helpers those files share. Nothing else
 * includes it: it is what keeps libpq-fe.h in those files. */
#ifndef STORE_PG_H
#define STORE_PG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "chat.h"
#include "error.h"
#include "store.h"
#include "store_engine.h"

/* Advisory lock keys, also written in sql/pg/001_init.sql: ids are handed
 * out under the first (in the insert trigger), migrations run under the
 * second, and one process of all hosts prunes under the third. */
#define STORE_PG_LOCK_IDS 7013356001LL
#define STORE_PG_LOCK_MIGRATE 7013356002LL
#define STORE_PG_LOCK_PRUNE 7013356003LL
#define STORE_PG_LOCK_PRESENCE 7013356004LL   /* sql/pg/005_presence.sql */

/* The channel the insert trigger NOTIFYs and watchers LISTEN on. */
#define STORE_PG_CHANNEL "fcgichat"

/* The payload of the access trigger's NOTIFY (sql/pg/006_access_notify.sql):
 * a private room's members or kind changed. A message's is ''. */
#define STORE_PG_ACCESS_PAYLOAD "access"

/* The statements prepared once per connection (again after a reconnect);
 * their SQL is the table store_pg_sql in store_pg.c. */
enum store_pg_stmt {
	PG_INSERT,
	PG_INSERT_CID,
	PG_FIND_CID,
	PG_SINCE,
	PG_BEFORE,
	PG_MAX_ID,
	PG_AFTER,
	PG_ROOMS,
	PG_DEL_FIND,
	PG_DEL_ROW,
	PG_TOMBSTONE,
	PG_PRUNE_ROOMS,
	PG_PRUNE_KEEP,
	PG_PRUNE_WALK,
	PG_PRUNE_MARK,
	PG_PRUNE_DELETE,
	PG_IMPORT,
	PG_SIZE,
	PG_ACCESS,
	PG_ACCESS_VERSION,
	PG_PRIVATE_KIND,
	PG_ROOM_USED,
	PG_PRIVATE_ADD,
	PG_PRIVATE_DEL,
	PG_MEMBER_ADD,
	PG_MEMBER_DEL,
	PG_MEMBERS_DEL,
	PG_MEMBERS,
	PG_ROOMS_FOR,
	PG_PRES_BEAT,
	PG_PRES_NEXT,
	PG_PRES_ADD,
	PG_PRES_DEL,
	PG_PRES_BUMP,
	PG_PRES_BUMP_WORKER,
	PG_PRES_DROP_WORKER,
	PG_PRES_FORGET,
	PG_PRES_STALE_BUMP,
	PG_PRES_STALE_DROP,
	PG_PRES_STALE_FORGET,
	PG_PRES_READ,
	PG_PRES_CHANGED,
	PG__MAX
};

/* One connection, remade (with backoff) when the server goes away. The
 * listen_* and wake_* fields belong to store_pg_wake.c. */
struct store {
	const struct store_engine *engine;   /* &store_pg_engine, first */
	PGconn *conn;           /* NULL while the server is unreachable */
	char *uri;              /* FCGICHAT_DB */
	int busy_timeout_ms;
	int64_t retry_at;       /* chat_mono_ms() of the next connect */
	int backoff_ms;         /* 0 while connected */
	PGconn *listen;         /* the LISTEN connection, NULL when lost */
	int wake_fd;            /* epoll set holding listen's socket, -1 */
	bool wake_tried;
	int64_t listen_retry_at;
	int listen_backoff_ms;
	int listen_sock;        /* the socket in wake_fd's set, -1 */
	bool listen_fresh;      /* LISTEN (re)made since the last drain */
};

/* --- store_pg.c: connections and statements ---------------------------- */

/* A new connection to uri (libpq's URI) with the program's settings
 * (lock_timeout = busy_timeout_ms), or NULL with libpq's sentence for
 * the failure copied into why. Never logs: the callers say what failing
 * means for them. */
PGconn *pg_connect(const char *uri, int busy_timeout_ms, char *why,
    size_t whysz);

/* A reconnecting wait: the next pause after a failed connect (50 ms,
 * doubling up to 2 s). */
int pg_backoff(int ms);

/* The API's kind of a failed result (NULL: the connection is gone):
 * CHAT_E_UNAVAILABLE for what may heal by itself (no connection, the
 * server shutting down, out of resources, a lock or statement timeout,
 * a deadlock, a read-only server), CHAT_E_INTERNAL otherwise. Logs
 * fn and the server's message. */
enum chat_error pg_fail(struct store *s, const PGresult *r, const char *fn);

/* Runs prepared statement k with n text parameters (NULL: SQL NULL).
 * Returns the result when it has rows or is a command that succeeded
 * (the caller PQclears it), or NULL after pg_fail set *e. Reconnects
 * first if the connection was lost. */
PGresult *pg_run(struct store *s, enum store_pg_stmt k, int n,
    const char *const *v, const char *fn, enum chat_error *e);

/* Runs statement k with the texts t[0..nt) and then the integers
 * v[0..nv) as its parameters (at most 6 in all, at most 3 integers); *r
 * gets its result when r is not NULL (the caller PQclears it). */
enum chat_error pg_run_args(struct store *s, enum store_pg_stmt k,
    const char *fn, const char *const *t, int nt, const int64_t *v, int nv,
    PGresult **r);

/* Runs one SQL command without parameters or rows wanted (BEGIN, COMMIT,
 * ROLLBACK, SET, LOCK). */
enum chat_error pg_exec(struct store *s, const char *sql, const char *fn);

/* Rolls back the open transaction, if any (a failed one too). */
void pg_rollback(struct store *s);

/* Commits when e is CHAT_OK, else rolls back; returns the outcome. */
enum chat_error pg_end(struct store *s, enum chat_error e, const char *fn);

/* Column c of row i as an integer (0 for NULL). */
int64_t pg_int(const PGresult *r, int i, int c);

/* Appends the rows of r, (id, ts, room, nick, text, deletes), to out.
 * -1 when out of memory (some may have been appended). */
int pg_rows(const PGresult *r, struct chat_list *out);

/* Frees the messages of l from index n on. */
void pg_list_truncate(struct chat_list *l, size_t n);

/* --- store_pg_schema.c -------------------------------------------------- */

int store_pg_migrate(const struct store_options *o);
int store_pg_inspect(const struct store_options *o, struct store_health *out);
void store_pg_display_path(const char *uri, char *out, size_t outsz);

/* Checks that the connection's database has this program's schema.
 * Returns 0, or -1 (logged). */
int pg_schema_check(PGconn *c, const char *fn);

/* --- store_pg_write.c ---------------------------------------------------- */

enum chat_error store_pg_append(struct store *s, const char *room,
    const char *user, const char *nick, const char *text,
    const char *client_id, struct chat_message *out, bool *created);
enum chat_error store_pg_delete(struct store *s, int64_t id,
    struct chat_message *tomb);
enum chat_error store_pg_prune(struct store *s,
    const struct store_retention *r, int64_t now_ms, int64_t *removed);
enum chat_error store_pg_import(struct store *s,
    const struct chat_message *v, size_t n, size_t *stored);

/* --- store_pg_private.c ------------------------------------------------ */

enum chat_error store_pg_room_access(struct store *s, const char *room,
    const char *user, struct store_access *out);
enum chat_error store_pg_access_version(struct store *s, int64_t *out);
enum chat_error store_pg_private_make(struct store *s, const char *room,
    enum chat_room_kind kind, const char *created_by,
    const char *const *users, size_t n, bool fresh, bool *created);
enum chat_error store_pg_members_edit(struct store *s, const char *room,
    bool add, const char *const *users, size_t n);
enum chat_error store_pg_private_drop(struct store *s, const char *room);
enum chat_error store_pg_members(struct store *s, const char *room,
    struct store_members *out, enum chat_room_kind *kind);
enum chat_error store_pg_rooms_for(struct store *s, const char *user,
    struct chat_room_list *out);

/* store_pg.c: appends the rows (name, last_id, messages, pruned_through,
 * kind, direct) of r to out, leaving out names longer than the API
 * allows; kind NULL is a public room. On failure out is as it was. */
enum chat_error pg_room_rows(const PGresult *r, struct chat_room_list *out,
    const char *fn);
/* --- store_pg_presence.c ---------------------------------------------- */

enum chat_error store_pg_presence_sync(struct store *s,
    const struct store_presence_sync *w);
enum chat_error store_pg_presence_read(struct store *s, const char *room,
    int64_t fresh_ms, struct chat_people *out, int64_t *version);
enum chat_error store_pg_presence_changed(struct store *s, int64_t after,
    struct chat_room_list *out, int64_t *max);

/* --- store_pg_wake.c ----------------------------------------------------- */

int store_pg_wake_fd(struct store *s);
bool store_pg_wake_drain(struct store *s);

/* Closes what store_pg_wake_fd made. */
void pg_wake_close(struct store *s);

#endif
