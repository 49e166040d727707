/* store_sqlite.c - SQLite's engine of store.h: opens a connection and
 * prepares the statement table once, runs statements (the helpers the
 * other store_*.c files share, store_sqlite.h) and reads messages and
 * rooms. Schema and migrations are in store_schema.c, sends in
 * store_append.c, delete/prune/import in store_maint.c, the notify file in
 * store_wake.c. */
#include "store_sqlite.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

/*
 * Every statement the program runs after store_open, prepared once. Rows
 * of messages are always MESSAGE_COLS, (id, ts, room, nick, text,
 * deletes, user), so one function reads them all. STMT_BEFORE with
 * INT64_MAX is "the newest": the same range scan of messages_room_id, backwards; history reads skip
 * tombstones, reads after a cursor (STMT_SINCE, STMT_AFTER) carry them.
 *
 * The newest id is max(id), not sqlite_sequence: it is the newest row a
 * reader can actually get (store_read_after(max) is empty), it goes back
 * down if someone deletes the newest rows by hand, and it is one probe of
 * the primary key. sqlite_sequence is the highest id ever handed out, and
 * an idempotent retry that stores nothing still advances it.
 *
 * enum store_stmt (store_sqlite.h) names them; this table is their SQL.
 */
#define MESSAGE_COLS "id, ts, room, nick, text, deletes, user"
static const char *const store_sql[STMT__MAX] = {
	[STMT_BEGIN] = "BEGIN",
	[STMT_COMMIT] = "COMMIT",
	[STMT_ROLLBACK] = "ROLLBACK",
	[STMT_INSERT] =
	    "INSERT INTO messages (room, nick, text, ts, user)"
	    " VALUES (?1, ?2, ?3, ?4, ?5)",
	[STMT_INSERT_CID] =
	    "INSERT INTO messages (room, nick, text, ts, user, client_id)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
	    " ON CONFLICT (room, nick, coalesce(user, ''), client_id)"
	    " WHERE client_id IS NOT NULL DO NOTHING"
	    " RETURNING id, ts",
	[STMT_FIND_CID] =
	    "SELECT " MESSAGE_COLS " FROM messages"
	    " WHERE room = ?1 AND nick = ?2 AND client_id = ?3"
	    " AND user IS ?4",
	[STMT_SINCE] =
	    "SELECT " MESSAGE_COLS " FROM messages"
	    " WHERE room = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
	[STMT_BEFORE] =
	    "SELECT " MESSAGE_COLS " FROM messages"
	    " WHERE room = ?1 AND id < ?2 AND deletes IS NULL"
	    " ORDER BY id DESC LIMIT ?3",
	/* A room emptied by retention still starts readers after what was
	 * pruned. */
	[STMT_ROOM_LAST] =
	    "SELECT max(last_id, pruned_through), pruned_through FROM rooms"
	    " WHERE name = ?1",
	[STMT_MAX_ID] = "SELECT max(id) FROM messages",
	[STMT_AFTER] =
	    "SELECT " MESSAGE_COLS " FROM messages"
	    " WHERE id > ?1 ORDER BY id LIMIT ?2",
	[STMT_ROOMS] =
	    "SELECT name, last_id, messages, pruned_through, NULL, NULL"
	    " FROM rooms WHERE messages > 0 ORDER BY name",
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
	/* ?6 NULL: a new id. */
	[STMT_IMPORT] =
	    "INSERT INTO messages (room, nick, text, ts, user, id)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (id) DO NOTHING",
	/* Private rooms (store_private.c): always one row, so the version
	 * comes with the answer. */
	[STMT_ACCESS] =
	    "SELECT v.version, p.kind, EXISTS (SELECT 1 FROM room_members m"
	    "  WHERE m.room = ?1 AND m.member = ?2)"
	    " FROM access_version v LEFT JOIN private_rooms p ON p.room = ?1",
	[STMT_ACCESS_VERSION] = "SELECT version FROM access_version",
	[STMT_PRIVATE_KIND] = "SELECT kind FROM private_rooms WHERE room = ?1",
	[STMT_ROOM_USED] = "SELECT 1 FROM rooms WHERE name = ?1",
	[STMT_PRIVATE_ADD] =
	    "INSERT INTO private_rooms (room, kind, created_by)"
	    " VALUES (?1, ?2, ?3)",
	[STMT_PRIVATE_DEL] = "DELETE FROM private_rooms WHERE room = ?1",
	[STMT_MEMBER_ADD] =
	    "INSERT INTO room_members (room, member) VALUES (?1, ?2)"
	    " ON CONFLICT (room, member) DO NOTHING",
	[STMT_MEMBER_DEL] =
	    "DELETE FROM room_members WHERE room = ?1 AND member = ?2",
	[STMT_MEMBERS_DEL] = "DELETE FROM room_members WHERE room = ?1",
	[STMT_MEMBERS] =
	    "SELECT member FROM room_members WHERE room = ?1 ORDER BY member",
	/* The public rooms with messages (not a dm- name), and user's
	 * private ones; a DM's other member in the last column. */
	[STMT_ROOMS_FOR] =
	    "SELECT name, last_id, messages, pruned_through, NULL, NULL"
	    " FROM rooms WHERE messages > 0 AND substr(name, 1, 3) <> 'dm-'"
	    " AND name NOT IN (SELECT room FROM private_rooms)"
	    " UNION ALL"
	    " SELECT p.room, coalesce(r.last_id, 0), coalesce(r.messages, 0),"
	    " coalesce(r.pruned_through, 0), p.kind,"
	    " (SELECT o.member FROM room_members o WHERE o.room = p.room"
	    "  AND o.member <> ?1 AND p.kind = 'direct' LIMIT 1)"
	    " FROM room_members m JOIN private_rooms p ON p.room = m.room"
	    " LEFT JOIN rooms r ON r.name = p.room WHERE m.member = ?1"
	    " ORDER BY 1",
	/* Presence (sql/005_presence.sql; store_presence.c). */
	[STMT_PRES_BEAT] =
	    "INSERT INTO presence_workers (worker, heartbeat) VALUES (?1, ?2)"
	    " ON CONFLICT (worker) DO UPDATE SET heartbeat = excluded.heartbeat",
	[STMT_PRES_NEXT] = "SELECT coalesce(max(seq), 0) + 1 FROM presence_rooms",
	[STMT_PRES_ADD] =
	    "INSERT INTO presence (room, name, worker, verified, since)"
	    " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
	[STMT_PRES_DEL] =
	    "DELETE FROM presence WHERE room = ?1 AND name = ?2"
	    " AND worker = ?3 AND verified = ?4",
	[STMT_PRES_BUMP] =
	    "INSERT INTO presence_rooms (room, seq) VALUES (?1, ?2)"
	    " ON CONFLICT (room) DO UPDATE SET seq = excluded.seq",
	[STMT_PRES_BUMP_WORKER] =
	    "INSERT INTO presence_rooms (room, seq)"
	    " SELECT DISTINCT room, ?2 FROM presence WHERE worker = ?1"
	    " ON CONFLICT (room) DO UPDATE SET seq = excluded.seq",
	[STMT_PRES_DROP_WORKER] = "DELETE FROM presence WHERE worker = ?1",
	[STMT_PRES_FORGET] = "DELETE FROM presence_workers WHERE worker = ?1",
	[STMT_PRES_STALE_BUMP] =
	    "INSERT INTO presence_rooms (room, seq)"
	    " SELECT DISTINCT room, ?2 FROM presence WHERE worker IN"
	    " (SELECT worker FROM presence_workers WHERE heartbeat < ?1)"
	    " ON CONFLICT (room) DO UPDATE SET seq = excluded.seq",
	[STMT_PRES_STALE_DROP] =
	    "DELETE FROM presence WHERE worker IN"
	    " (SELECT worker FROM presence_workers WHERE heartbeat < ?1)",
	[STMT_PRES_STALE_FORGET] =
	    "DELETE FROM presence_workers WHERE heartbeat < ?1",
	[STMT_PRES_VERSION] = "SELECT seq FROM presence_rooms WHERE room = ?1",
	[STMT_PRES_READ] =
	    "SELECT p.name, p.verified, min(p.since) FROM presence p"
	    " JOIN presence_workers w ON w.worker = p.worker"
	    " WHERE p.room = ?1 AND w.heartbeat >= ?2"
	    " GROUP BY p.name, p.verified ORDER BY p.name, p.verified",
	[STMT_PRES_CHANGED] =
	    "SELECT room, seq FROM presence_rooms WHERE seq > ?1 ORDER BY seq",
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

static int
store_prepare(struct store *s, const char *path)
{
	for (int k = 0; k < STMT__MAX; k++) {
		assert(store_sql[k] != NULL);   /* a name without SQL */
		if (sqlite3_prepare_v3(s->db, store_sql[k], -1,
		    SQLITE_PREPARE_PERSISTENT, &s->st[k], NULL) != SQLITE_OK) {
			log_errorx("store_open: %s: %s: %s", path,
			    store_sql[k], sqlite3_errmsg(s->db));
			return -1;
		}
	}
	return 0;
}

struct store *
store_sqlite_open(const struct store_options *o)
{
	struct store *s;
	int flags = SQLITE_OPEN_NOMUTEX |
	    (o->readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE);

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		log_error("store_open");
		return NULL;
	}
	s->engine = &store_sqlite_engine;
	s->notify_fd = s->wake_fd = -1;
	if (sqlite3_open_v2(o->path, &s->db, flags, NULL) != SQLITE_OK) {
		log_errorx("store_open: %s: %s (run `fcgichat.fcgi --init`?)",
		    o->path, s->db ? sqlite3_errmsg(s->db) : "out of memory");
		goto fail;
	}
	sqlite3_extended_result_codes(s->db, 1);
	s->busy_timeout_ms = o->busy_timeout_ms;
	sqlite3_busy_handler(s->db, store_busy, s);
	if (store_schema_check(s, o) == -1 ||
	    store_prepare(s, o->path) == -1)
		goto fail;
	store_notify_open(s, o->path, !o->readonly);
	return s;
fail:
	store_sqlite_free(s);
	return NULL;
}

void
store_sqlite_free(struct store *s)
{
	if (s == NULL)
		return;
	for (int k = 0; k < STMT__MAX; k++)
		sqlite3_finalize(s->st[k]);
	if (sqlite3_close(s->db) != SQLITE_OK)
		log_warnx("store_free: %s", sqlite3_errmsg(s->db));
	store_notify_close(s);
	free(s);
}

bool
store_sqlite_readonly(struct store *s)
{
	return sqlite3_db_readonly(s->db, "main") == 1;
}

/* --- running statements ------------------------------------------------ */

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
enum chat_error
store_fail(struct store *s, const char *fn, int rc)
{
	log_warnx("%s: %s", fn, sqlite3_errmsg(s->db));
	return store_kind(rc);
}

/* Every statement ends here, on every path: a statement left unreset
 * would keep its read snapshot, blocking checkpoints and hiding newer
 * rows from this connection. */
void
stmt_done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* Runs a statement without result rows (BEGIN, COMMIT, ROLLBACK). */
enum chat_error
store_step(struct store *s, enum store_stmt k, const char *fn)
{
	int rc;
	enum chat_error e = CHAT_OK;

	assert((unsigned)k < STMT__MAX);
	rc = sqlite3_step(s->st[k]);
	assert(rc != SQLITE_ROW);   /* a statement with rows: not for here */
	if (rc != SQLITE_DONE)
		e = store_fail(s, fn, rc);
	stmt_done(s->st[k]);
	return e;
}

void
store_rollback(struct store *s)
{
	if (!sqlite3_get_autocommit(s->db))
		store_step(s, STMT_ROLLBACK, "store_rollback");
}

/* Runs a bound statement k for one integer: its first column, 0 when
 * there is no row or it is NULL. */
enum chat_error
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

const char *
col_text(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return t != NULL ? (const char *)t : "";
}

/* Runs a bound statement k whose rows are MESSAGE_COLS and appends them
 * to out. */
enum chat_error
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
		if (chat_message_set_user(&out->v[out->n - 1],
		    (const char *)sqlite3_column_text(st, 6)) == -1) {
			log_warnx("%s: out of memory", fn);
			e = CHAT_E_INTERNAL;
			break;
		}
	}
	if (e == CHAT_OK && rc != SQLITE_DONE)
		e = store_fail(s, fn, rc);
	stmt_done(st);
	return e;
}

/* Binds ?1 = room (when not NULL) and then the n integers of v to
 * statement k, runs it to its end and resets it. */
enum chat_error
store_run(struct store *s, enum store_stmt k, const char *fn,
    const char *room, int n, const int64_t *v)
{
	return store_run_args(s, k, fn, &room, room != NULL, v, n);
}

enum chat_error
store_run_args(struct store *s, enum store_stmt k, const char *fn,
    const char *const *t, int nt, const int64_t *v, int nv)
{
	sqlite3_stmt *st = s->st[k];
	enum chat_error e;
	int i = 1, rc = SQLITE_OK;

	for (int j = 0; j < nt && rc == SQLITE_OK; j++)
		rc = bind_text(st, i++, t[j]);
	for (int j = 0; j < nv && rc == SQLITE_OK; j++)
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
enum chat_error
store_end(struct store *s, enum chat_error e, const char *fn)
{
	if (e == CHAT_OK)
		e = store_step(s, STMT_COMMIT, fn);
	if (e != CHAT_OK)
		store_rollback(s);
	return e;
}

void
list_truncate(struct chat_list *l, size_t n)
{
	assert(n <= l->n);
	while (l->n > n)
		chat_message_clear(&l->v[--l->n]);
}

int
bind_text(sqlite3_stmt *st, int i, const char *v)
{
	return sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
}

/* Binds ?1 room, ?2 nick, ?3 text, ?4 ts, ?5 user (NULL: SQL NULL). */
int
bind_message(sqlite3_stmt *st, const char *room, const char *nick,
    const char *text, int64_t ts, const char *user)
{
	int rc;

	if ((rc = bind_text(st, 1, room)) != SQLITE_OK ||
	    (rc = bind_text(st, 2, nick)) != SQLITE_OK ||
	    (rc = bind_text(st, 3, text)) != SQLITE_OK ||
	    (rc = bind_text(st, 5, user)) != SQLITE_OK)
		return rc;
	return sqlite3_bind_int64(st, 4, ts);
}

/* --- reads ------------------------------------------------------------- */

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

	assert(q->since < 0 || q->before < 0);
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
		chat_list_reverse(out->v + n0, out->n - n0);
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
store_sqlite_read(struct store *s, const char *room,
    const struct store_query *q, struct chat_list *out,
    struct store_read_info *info)
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
	/* A snapshot left open would hide newer rows from this connection. */
	assert(e != CHAT_OK || sqlite3_get_autocommit(s->db));
	return e;
}

enum chat_error
store_sqlite_read_after(struct store *s, int64_t after, int limit,
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
store_sqlite_max_id(struct store *s, int64_t *out)
{
	return store_int(s, STMT_MAX_ID, "store_max_id", out);
}

int
store_room_row(struct chat_room_list *l, sqlite3_stmt *st)
{
	struct chat_room *v = chat_room_list_add(l);

	if (v == NULL)
		return -1;
	snprintf(v->name, sizeof(v->name), "%s", col_text(st, 0));
	v->last_id = sqlite3_column_int64(st, 1);
	v->messages = sqlite3_column_int64(st, 2);
	v->pruned_through = sqlite3_column_int64(st, 3);
	v->kind = sqlite3_column_type(st, 4) == SQLITE_NULL ?
	    CHAT_ROOM_PUBLIC : store_kind_of(col_text(st, 4));
	snprintf(v->direct, sizeof(v->direct), "%s", col_text(st, 5));
	return 0;
}

/* A room name longer than the API allows (typed in by hand) is left out
 * rather than listed cut short under a name that does not exist. The
 * rows of STMT_ROOMS have no kind: public. */
static enum chat_error
store_room_rows(struct store *s, enum store_stmt k, const char *fn,
    struct chat_room_list *out)
{
	sqlite3_stmt *st = s->st[k];
	size_t n0 = out->n;
	enum chat_error e = CHAT_OK;
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (strlen(col_text(st, 0)) > CHAT_MAX_ROOM)
			continue;
		if (store_room_row(out, st) == -1) {
			log_warnx("%s: out of memory", fn);
			e = CHAT_E_INTERNAL;
			break;
		}
	}
	if (e == CHAT_OK && rc != SQLITE_DONE)
		e = store_fail(s, fn, rc);
	stmt_done(st);
	if (e != CHAT_OK)
		out->n = n0;
	return e;
}

enum chat_error
store_sqlite_rooms(struct store *s, struct chat_room_list *out)
{
	return store_room_rows(s, STMT_ROOMS, "store_rooms", out);
}

enum chat_error
store_sqlite_rooms_for(struct store *s, const char *user,
    struct chat_room_list *out)
{
	int rc = user != NULL ? bind_text(s->st[STMT_ROOMS_FOR], 1, user) :
	    SQLITE_OK;

	if (rc != SQLITE_OK) {
		stmt_done(s->st[STMT_ROOMS_FOR]);
		return store_fail(s, "store_rooms_for", rc);
	}
	return store_room_rows(s, STMT_ROOMS_FOR, "store_rooms_for", out);
}

const struct store_engine store_sqlite_engine = {
	.name = "sqlite",
	.open = store_sqlite_open,
	.free = store_sqlite_free,
	.migrate = store_sqlite_migrate,
	.readonly = store_sqlite_readonly,
	.append = store_sqlite_append,
	.read = store_sqlite_read,
	.read_after = store_sqlite_read_after,
	.max_id = store_sqlite_max_id,
	.rooms = store_sqlite_rooms,
	.delete = store_sqlite_delete,
	.prune = store_sqlite_prune,
	.import = store_sqlite_import,
	.inspect = store_sqlite_inspect,
	.wake_fd = store_sqlite_wake_fd,
	.wake_drain = store_sqlite_wake_drain,
	.writable = store_sqlite_writable,
	.display_path = store_sqlite_display_path,
	.size = store_sqlite_size,
	.room_access = store_sqlite_room_access,
	.access_version = store_sqlite_access_version,
	.private_make = store_sqlite_private_make,
	.members_edit = store_sqlite_members_edit,
	.private_drop = store_sqlite_private_drop,
	.members = store_sqlite_members,
	.rooms_for = store_sqlite_rooms_for,
	.presence_sync = store_sqlite_presence_sync,
	.presence_read = store_sqlite_presence_read,
	.presence_changed = store_sqlite_presence_changed,
};
