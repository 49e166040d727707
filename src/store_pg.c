/* store_pg.c - PostgreSQL's engine of store.h: connections (made again,
 * with backoff, after the server went away), the statement table and the
 * helpers the other store_pg*.c files share (store_pg.h), and the reads.
 * Schema and --check are in store_pg_schema.c, writes in store_pg_write.c,
 * wake-ups (LISTEN) in store_pg_wake.c. */
#include "store_pg.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define PG_BACKOFF_MIN_MS 50
#define PG_BACKOFF_MAX_MS 2000

/*
 * Every statement the program runs after store_open, prepared once per
 * connection. Rows of messages are (id, ts, room, nick, text, deletes,
 * "user") as on SQLite (store_sqlite.c says why each reads what it
 * reads; "user" is quoted: PostgreSQL reserves the word). Room
 * names sort bytewise (COLLATE "C"), as SQLite sorts them.
 *
 * A read of a room is one statement, so one snapshot and one round
 * trip (a long-poll's every ask is one): its messages joined to one row
 * of what store_read_info wants, (db_max, room_last, pruned_through) in
 * columns 6-8 (and the message's "user" in 9: pg_rows finds it by
 * name); without messages, that row alone with a NULL id.
 */
#define PG_MESSAGE_COLS "id, ts, room, nick, text, deletes, \"user\""
#define PG_READ(order, where)						\
	"SELECT m.id, m.ts, m.room, m.nick, m.text, m.deletes,"		\
	" (SELECT coalesce(max(id), 0) FROM messages),"			\
	" (SELECT greatest(last_id, pruned_through) FROM rooms"		\
	"  WHERE name = $1),"						\
	" (SELECT pruned_through FROM rooms WHERE name = $1),"		\
	" m.\"user\""							\
	" FROM (SELECT 1) AS one LEFT JOIN LATERAL"			\
	" (SELECT " PG_MESSAGE_COLS " FROM messages"			\
	"  WHERE room = $1 AND " where " ORDER BY id " order		\
	"  LIMIT $3) AS m ON true ORDER BY m.id " order
static const char *const store_pg_sql[PG__MAX] = {
	[PG_INSERT] =
	    "INSERT INTO messages (room, nick, text, ts, \"user\")"
	    " VALUES ($1, $2, $3, $4, $5) RETURNING id",
	[PG_INSERT_CID] =
	    "INSERT INTO messages (room, nick, text, ts, \"user\", client_id)"
	    " VALUES ($1, $2, $3, $4, $5, $6)"
	    " ON CONFLICT (room, nick, (coalesce(\"user\", '')), client_id)"
	    " WHERE client_id IS NOT NULL DO NOTHING"
	    " RETURNING id, ts",
	[PG_FIND_CID] =
	    "SELECT " PG_MESSAGE_COLS " FROM messages"
	    " WHERE room = $1 AND nick = $2 AND client_id = $3"
	    " AND \"user\" IS NOT DISTINCT FROM $4",
	[PG_SINCE] = PG_READ("ASC", "id > $2"),
	[PG_BEFORE] = PG_READ("DESC", "id < $2 AND deletes IS NULL"),
	[PG_MAX_ID] = "SELECT coalesce(max(id), 0) FROM messages",
	[PG_AFTER] =
	    "SELECT " PG_MESSAGE_COLS " FROM messages"
	    " WHERE id > $1 ORDER BY id LIMIT $2",
	[PG_ROOMS] =
	    "SELECT name, last_id, messages, pruned_through, NULL, NULL"
	    " FROM rooms WHERE messages > 0 ORDER BY name COLLATE \"C\"",
	/* FOR UPDATE: two moderators deleting one message at once leave
	 * one tombstone. */
	[PG_DEL_FIND] =
	    "SELECT room FROM messages WHERE id = $1 AND deletes IS NULL"
	    " FOR UPDATE",
	[PG_DEL_ROW] = "DELETE FROM messages WHERE id = $1",
	[PG_TOMBSTONE] =
	    "INSERT INTO messages (room, nick, text, ts, deletes)"
	    " VALUES ($1, '', '', $2, $3) RETURNING id",
	[PG_PRUNE_ROOMS] = "SELECT name FROM rooms ORDER BY name COLLATE \"C\"",
	[PG_PRUNE_KEEP] =
	    "SELECT id FROM messages WHERE room = $1 AND deletes IS NULL"
	    " ORDER BY id DESC LIMIT 1 OFFSET $2",
	[PG_PRUNE_WALK] =
	    "SELECT id, ts FROM messages WHERE room = $1 ORDER BY id LIMIT $2",
	[PG_PRUNE_MARK] =
	    "UPDATE rooms SET pruned_through = greatest(pruned_through, $2)"
	    " WHERE name = $1",
	[PG_PRUNE_DELETE] =
	    "DELETE FROM messages WHERE room = $1 AND id <= $2",
	/* $6 NULL: a new id (the insert trigger's). */
	[PG_IMPORT] =
	    "INSERT INTO messages (room, nick, text, ts, \"user\", id)"
	    " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING",
	[PG_SIZE] = "SELECT pg_database_size(current_database())",
	/* Private rooms (store_pg_private.c), as on SQLite. */
	[PG_ACCESS] =
	    "SELECT v.version, p.kind, EXISTS (SELECT 1 FROM room_members m"
	    "  WHERE m.room = $1 AND m.member = $2)"
	    " FROM access_version v LEFT JOIN private_rooms p ON p.room = $1",
	[PG_ACCESS_VERSION] = "SELECT version FROM access_version",
	[PG_PRIVATE_KIND] =
	    "SELECT kind FROM private_rooms WHERE room = $1 FOR UPDATE",
	[PG_ROOM_USED] = "SELECT 1 FROM rooms WHERE name = $1",
	/* Two creators of one room at once: one of them gets no row. */
	[PG_PRIVATE_ADD] =
	    "INSERT INTO private_rooms (room, kind, created_by)"
	    " VALUES ($1, $2, $3) ON CONFLICT (room) DO NOTHING RETURNING room",
	[PG_PRIVATE_DEL] = "DELETE FROM private_rooms WHERE room = $1",
	[PG_MEMBER_ADD] =
	    "INSERT INTO room_members (room, member) VALUES ($1, $2)"
	    " ON CONFLICT (room, member) DO NOTHING",
	[PG_MEMBER_DEL] =
	    "DELETE FROM room_members WHERE room = $1 AND member = $2",
	[PG_MEMBERS_DEL] = "DELETE FROM room_members WHERE room = $1",
	[PG_MEMBERS] =
	    "SELECT member FROM room_members WHERE room = $1"
	    " ORDER BY member COLLATE \"C\"",
	[PG_ROOMS_FOR] =
	    "SELECT * FROM ("
	    "SELECT name, last_id, messages, pruned_through, NULL AS kind,"
	    " NULL AS direct"
	    " FROM rooms WHERE messages > 0 AND left(name, 3) <> 'dm-'"
	    " AND name NOT IN (SELECT room FROM private_rooms)"
	    " UNION ALL"
	    " SELECT p.room, coalesce(r.last_id, 0), coalesce(r.messages, 0),"
	    " coalesce(r.pruned_through, 0), p.kind,"
	    " (SELECT o.member FROM room_members o WHERE o.room = p.room"
	    "  AND o.member <> $1 AND p.kind = 'direct' LIMIT 1)"
	    " FROM room_members m JOIN private_rooms p ON p.room = m.room"
	    " LEFT JOIN rooms r ON r.name = p.room WHERE m.member = $1"
	    ") AS v ORDER BY name COLLATE \"C\"",
	/* Presence (sql/pg/005_presence.sql; store_pg_presence.c). */
	[PG_PRES_BEAT] =
	    "INSERT INTO presence_workers (worker, heartbeat) VALUES ($1, $2)"
	    " ON CONFLICT (worker) DO UPDATE SET heartbeat = excluded.heartbeat",
	[PG_PRES_NEXT] = "SELECT coalesce(max(seq), 0) + 1 FROM presence_rooms",
	[PG_PRES_ADD] =
	    "INSERT INTO presence (room, name, worker, verified, since)"
	    " VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
	[PG_PRES_DEL] =
	    "DELETE FROM presence WHERE room = $1 AND name = $2"
	    " AND worker = $3 AND verified = $4",
	[PG_PRES_BUMP] =
	    "INSERT INTO presence_rooms (room, seq) VALUES ($1, $2)"
	    " ON CONFLICT (room) DO UPDATE SET seq = excluded.seq",
	[PG_PRES_BUMP_WORKER] =
	    "INSERT INTO presence_rooms (room, seq)"
	    " SELECT DISTINCT room, $2::bigint FROM presence WHERE worker = $1"
	    " ON CONFLICT (room) DO UPDATE SET seq = excluded.seq",
	[PG_PRES_DROP_WORKER] = "DELETE FROM presence WHERE worker = $1",
	[PG_PRES_FORGET] = "DELETE FROM presence_workers WHERE worker = $1",
	[PG_PRES_STALE_BUMP] =
	    "INSERT INTO presence_rooms (room, seq)"
	    " SELECT DISTINCT room, $2::bigint FROM presence WHERE worker IN"
	    " (SELECT worker FROM presence_workers WHERE heartbeat < $1)"
	    " ON CONFLICT (room) DO UPDATE SET seq = excluded.seq",
	[PG_PRES_STALE_DROP] =
	    "DELETE FROM presence WHERE worker IN"
	    " (SELECT worker FROM presence_workers WHERE heartbeat < $1)",
	[PG_PRES_STALE_FORGET] =
	    "DELETE FROM presence_workers WHERE heartbeat < $1",
	/* The room's version and its people in one snapshot: without
	 * people, one row with a NULL name. */
	[PG_PRES_READ] =
	    "SELECT (SELECT seq FROM presence_rooms WHERE room = $1),"
	    " g.name, g.verified, g.since"
	    " FROM (SELECT 1) AS one LEFT JOIN LATERAL"
	    " (SELECT p.name, p.verified, min(p.since) AS since"
	    "  FROM presence p JOIN presence_workers w ON w.worker = p.worker"
	    "  WHERE p.room = $1 AND w.heartbeat >= $2"
	    "  GROUP BY p.name, p.verified) AS g ON true"
	    " ORDER BY g.name COLLATE \"C\", g.verified",
	[PG_PRES_CHANGED] =
	    "SELECT room, seq FROM presence_rooms WHERE seq > $1 ORDER BY seq",
};

/* SQLSTATE classes and codes of failures that may heal by themselves
 * (the API's 503); the first match wins, anything else is a 500. */
static const char *const pg_unavailable[] = {
	"08",           /* connection exception */
	"53",           /* insufficient resources (disk full, too many
	                 * connections) */
	"57",           /* operator intervention: shutdown, cannot connect
	                 * now, a statement timeout */
	"58",           /* system error (I/O) */
	"40",           /* transaction rollback: deadlock, serialization */
	"55P03",        /* lock_not_available: lock_timeout */
	"25006",        /* read_only_sql_transaction: a standby */
	"HV",           /* foreign data wrapper errors: a remote store */
};

int
pg_backoff(int ms)
{
	ms = ms < PG_BACKOFF_MIN_MS ? PG_BACKOFF_MIN_MS : ms * 2;
	return ms > PG_BACKOFF_MAX_MS ? PG_BACKOFF_MAX_MS : ms;
}

/* lock_timeout 0 would wait for ever; SQLite's busy timeout 0 fails at
 * once. */
PGconn *
pg_connect(const char *uri, int busy_timeout_ms, char *why, size_t whysz)
{
	static const char *const keys[] = { "dbname", "connect_timeout",
	    "application_name", "options", NULL };
	char opts[64];
	const char *vals[] = { uri, "3", "fcgichat", opts, NULL };
	PGconn *c;

	snprintf(opts, sizeof(opts), "-c lock_timeout=%d",
	    busy_timeout_ms > 0 ? busy_timeout_ms : 1);
	c = PQconnectdbParams(keys, vals, 1);
	if (c != NULL && PQstatus(c) == CONNECTION_OK)
		return c;
	snprintf(why, whysz, "%s", c != NULL ? PQerrorMessage(c) :
	    "out of memory");
	why[strcspn(why, "\n")] = '\0';
	PQfinish(c);
	return NULL;
}

enum chat_error
pg_fail(struct store *s, const PGresult *r, const char *fn)
{
	const char *code = r != NULL ? PQresultErrorField(r,
	    PG_DIAG_SQLSTATE) : NULL;
	const char *msg = r != NULL ? PQresultErrorMessage(r) : "";
	size_t n = sizeof(pg_unavailable) / sizeof(pg_unavailable[0]);

	if (r == NULL && s->conn == NULL)
		return CHAT_E_UNAVAILABLE;   /* down: pg_ready said so once */
	if (*msg == '\0' && s->conn != NULL)
		msg = PQerrorMessage(s->conn);
	log_warnx("%s: %.*s", fn, (int)strcspn(msg, "\n"), msg);
	if (code == NULL || s->conn == NULL ||
	    PQstatus(s->conn) != CONNECTION_OK)
		return CHAT_E_UNAVAILABLE;
	for (size_t i = 0; i < n; i++)
		if (strncmp(code, pg_unavailable[i],
		    strlen(pg_unavailable[i])) == 0)
			return CHAT_E_UNAVAILABLE;
	return CHAT_E_INTERNAL;
}

static int
pg_prepare(PGconn *c)
{
	char name[16];
	PGresult *r;
	int ok;

	for (int k = 0; k < PG__MAX; k++) {
		assert(store_pg_sql[k] != NULL);   /* a name without SQL */
		snprintf(name, sizeof(name), "s%d", k);
		r = PQprepare(c, name, store_pg_sql[k], 0, NULL);
		ok = PQresultStatus(r) == PGRES_COMMAND_OK;
		if (!ok)
			log_errorx("store_open: %s: %s", store_pg_sql[k],
			    PQresultErrorMessage(r));
		PQclear(r);
		if (!ok)
			return -1;
	}
	return 0;
}

/* (Re)connects s when it has no connection, at most once per backoff
 * pause. False while the server cannot be reached. */
static bool
pg_ready(struct store *s)
{
	char why[256];
	int64_t now;

	if (s->conn != NULL && PQstatus(s->conn) == CONNECTION_OK)
		return true;
	PQfinish(s->conn);
	s->conn = NULL;
	if ((now = chat_mono_ms()) < s->retry_at)
		return false;
	if ((s->conn = pg_connect(s->uri, s->busy_timeout_ms, why,
	    sizeof(why))) == NULL || pg_prepare(s->conn) == -1) {
		if (s->backoff_ms == 0)
			log_warnx("store: PostgreSQL unreachable (%s); sends "
			    "answer 503 until it is back", why);
		PQfinish(s->conn);
		s->conn = NULL;
		s->backoff_ms = pg_backoff(s->backoff_ms);
		s->retry_at = now + s->backoff_ms;
		return false;
	}
	if (s->backoff_ms != 0)
		log_info("store: PostgreSQL reachable again");
	s->backoff_ms = 0;
	return true;
}

/* Runs prepared statement k (sql NULL) or sql. A connection found dead
 * by a statement that began nothing (outside a transaction: a BEGIN, or a
 * read) is made again and the statement run once more: every thread's
 * connection dies with a server restart, and its first statement after
 * it should not answer 503 for a server that is back. Inside a
 * transaction the failure stands (its earlier statements are gone). */
static PGresult *
pg_try(struct store *s, enum store_pg_stmt k, const char *sql, int n,
    const char *const *v)
{
	char name[16];
	PGresult *r = NULL;
	bool idle;

	snprintf(name, sizeof(name), "s%d", (int)k);
	for (int tries = 0; tries < 2 && pg_ready(s); tries++) {
		idle = PQtransactionStatus(s->conn) == PQTRANS_IDLE;
		PQclear(r);
		r = sql != NULL ? PQexec(s->conn, sql) :
		    PQexecPrepared(s->conn, name, n, v, NULL, NULL, 0);
		if (!idle || PQstatus(s->conn) == CONNECTION_OK)
			break;
		s->retry_at = 0;   /* reconnect now, once */
	}
	return r;
}

static bool
pg_good(const PGresult *r)
{
	ExecStatusType st = PQresultStatus(r);

	return r != NULL && (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK);
}

PGresult *
pg_run(struct store *s, enum store_pg_stmt k, int n, const char *const *v,
    const char *fn, enum chat_error *e)
{
	PGresult *r;

	assert((unsigned)k < PG__MAX && n >= 0);
	if (pg_good(r = pg_try(s, k, NULL, n, v)))
		return r;
	*e = pg_fail(s, r, fn);
	PQclear(r);
	return NULL;
}

enum chat_error
pg_run_args(struct store *s, enum store_pg_stmt k, const char *fn,
    const char *const *t, int nt, const int64_t *v, int nv, PGresult **r)
{
	char buf[3][24];
	const char *p[6];
	enum chat_error e = CHAT_OK;
	PGresult *res;
	int i = 0;

	assert(nv <= 3 && nt + nv <= 6);
	for (int j = 0; j < nt; j++)
		p[i++] = t[j];
	for (int j = 0; j < nv; j++) {
		snprintf(buf[j], sizeof(buf[j]), "%" PRId64, v[j]);
		p[i++] = buf[j];
	}
	if ((res = pg_run(s, k, i, p, fn, &e)) == NULL)
		return e;
	if (r != NULL)
		*r = res;
	else
		PQclear(res);
	return CHAT_OK;
}

enum chat_error
pg_exec(struct store *s, const char *sql, const char *fn)
{
	enum chat_error e = CHAT_OK;
	PGresult *r = pg_try(s, PG__MAX, sql, 0, NULL);

	if (!pg_good(r))
		e = pg_fail(s, r, fn);
	PQclear(r);
	return e;
}

void
pg_rollback(struct store *s)
{
	if (s->conn != NULL &&
	    PQtransactionStatus(s->conn) != PQTRANS_IDLE &&
	    PQtransactionStatus(s->conn) != PQTRANS_UNKNOWN)
		pg_exec(s, "ROLLBACK", "pg_rollback");
}

enum chat_error
pg_end(struct store *s, enum chat_error e, const char *fn)
{
	if (e == CHAT_OK)
		e = pg_exec(s, "COMMIT", fn);
	if (e != CHAT_OK)
		pg_rollback(s);
	return e;
}

int64_t
pg_int(const PGresult *r, int i, int c)
{
	return PQgetisnull(r, i, c) ? 0 : strtoll(PQgetvalue(r, i, c), NULL,
	    10);
}

int
pg_rows(const PGresult *r, struct chat_list *out)
{
	int n = PQntuples(r), u = PQfnumber(r, "user");

	assert(n == 0 || (PQnfields(r) >= 7 && u >= 0));
	for (int i = 0; i < n; i++) {
		if (PQgetisnull(r, i, 0))
			continue;   /* a read's row of figures alone */
		if (chat_list_push(out, pg_int(r, i, 0), pg_int(r, i, 1),
		    PQgetvalue(r, i, 2), PQgetvalue(r, i, 3),
		    PQgetvalue(r, i, 4)) == -1)
			return -1;
		out->v[out->n - 1].deletes = pg_int(r, i, 5);
		if (chat_message_set_user(&out->v[out->n - 1],
		    PQgetisnull(r, i, u) ? NULL : PQgetvalue(r, i, u)) == -1)
			return -1;
	}
	return 0;
}

void
pg_list_truncate(struct chat_list *l, size_t n)
{
	assert(n <= l->n);
	while (l->n > n)
		chat_message_clear(&l->v[--l->n]);
}

/* --- opening ----------------------------------------------------------- */

static struct store *
store_pg_open(const struct store_options *o)
{
	struct store *s;
	char why[256];

	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->uri = strdup(o->path)) == NULL) {
		log_error("store_open");
		free(s);
		return NULL;
	}
	s->engine = &store_pg_engine;
	s->wake_fd = s->listen_sock = -1;
	s->busy_timeout_ms = o->busy_timeout_ms;
	/* The first connection must work: a worker that cannot reach the
	 * database at start, or finds the wrong schema, says so and stops. */
	if ((s->conn = pg_connect(o->path, o->busy_timeout_ms, why,
	    sizeof(why))) == NULL) {
		log_errorx("store_open: PostgreSQL: %s", why);
		goto fail;
	}
	if (pg_schema_check(s->conn, "store_open") == -1 ||
	    pg_prepare(s->conn) == -1)
		goto fail;
	return s;
fail:
	PQfinish(s->conn);
	free(s->uri);
	free(s);
	return NULL;
}

static void
store_pg_free(struct store *s)
{
	pg_wake_close(s);
	PQfinish(s->conn);
	free(s->uri);
	free(s);
}

/* A server's permissions do not change with the files of this host. */
static bool
store_pg_readonly(struct store *s)
{
	(void)s;
	return false;
}

static bool
store_pg_writable(const char *uri)
{
	(void)uri;
	return true;
}

/* --- reads ------------------------------------------------------------- */

/* One statement (PG_READ): the messages into out (may be NULL: the
 * limit is then 0), the figures into info (may be NULL). */
static enum chat_error
store_pg_read(struct store *s, const char *room, const struct store_query *q,
    struct chat_list *out, struct store_read_info *info)
{
	enum store_pg_stmt k = q->since >= 0 ? PG_SINCE : PG_BEFORE;
	int64_t id = q->since >= 0 ? q->since :
	    q->before >= 0 ? q->before : INT64_MAX;
	char ids[24], lim[16];
	const char *v[] = { room, ids, lim };
	size_t n0 = out != NULL ? out->n : 0;
	enum chat_error e = CHAT_OK;
	PGresult *r;

	if (q->since >= 0 && q->before >= 0) {
		log_warnx("store_read: since and before together");
		return CHAT_E_BAD_PARAM;
	}
	snprintf(ids, sizeof(ids), "%" PRId64, id);
	snprintf(lim, sizeof(lim), "%d", out != NULL && q->limit > 0 ?
	    q->limit : 0);
	if ((r = pg_run(s, k, 3, v, "store_read", &e)) == NULL)
		return e;
	/* The outer join leaves at least the row of figures. */
	assert(PQntuples(r) >= 1 && PQnfields(r) == 10);
	if (out != NULL && pg_rows(r, out) == -1) {
		log_warnx("store_read: out of memory");
		pg_list_truncate(out, n0);
		e = CHAT_E_INTERNAL;
	}
	if (e == CHAT_OK && info != NULL) {
		info->db_max = pg_int(r, 0, 6);
		info->room_last = pg_int(r, 0, 7);
		info->pruned_through = pg_int(r, 0, 8);
	}
	PQclear(r);
	if (e == CHAT_OK && k == PG_BEFORE && out != NULL && out->n > n0)
		chat_list_reverse(out->v + n0, out->n - n0);
	return e;
}

static enum chat_error
store_pg_read_after(struct store *s, int64_t after, int limit,
    struct chat_list *out)
{
	char a[24], lim[16];
	const char *v[] = { a, lim };
	size_t n0 = out->n;
	enum chat_error e = CHAT_OK;
	PGresult *r;

	snprintf(a, sizeof(a), "%" PRId64, after);
	snprintf(lim, sizeof(lim), "%d", limit > 0 ? limit : 0);
	if ((r = pg_run(s, PG_AFTER, 2, v, "store_read_after", &e)) == NULL)
		return e;
	if (pg_rows(r, out) == -1) {
		log_warnx("store_read_after: out of memory");
		pg_list_truncate(out, n0);
		e = CHAT_E_INTERNAL;
	}
	PQclear(r);
	return e;
}

static enum chat_error
store_pg_max_id(struct store *s, int64_t *out)
{
	enum chat_error e = CHAT_OK;
	PGresult *r;

	if ((r = pg_run(s, PG_MAX_ID, 0, NULL, "store_max_id", &e)) == NULL)
		return e;
	*out = pg_int(r, 0, 0);
	PQclear(r);
	return CHAT_OK;
}

static enum chat_error
store_pg_size(struct store *s, int64_t *db_bytes, int64_t *wal_bytes)
{
	enum chat_error e = CHAT_OK;
	PGresult *r;

	if ((r = pg_run(s, PG_SIZE, 0, NULL, "store_size", &e)) == NULL)
		return e;
	*db_bytes = pg_int(r, 0, 0);
	*wal_bytes = 0;
	PQclear(r);
	return CHAT_OK;
}

static int
room_push(struct chat_room_list *l, const PGresult *r, int i)
{
	struct chat_room *v = chat_room_list_add(l);

	if (v == NULL)
		return -1;
	snprintf(v->name, sizeof(v->name), "%s", PQgetvalue(r, i, 0));
	v->last_id = pg_int(r, i, 1);
	v->messages = pg_int(r, i, 2);
	v->pruned_through = pg_int(r, i, 3);
	v->kind = PQgetisnull(r, i, 4) ? CHAT_ROOM_PUBLIC :
	    store_kind_of(PQgetvalue(r, i, 4));
	snprintf(v->direct, sizeof(v->direct), "%s", PQgetvalue(r, i, 5));
	return 0;
}

enum chat_error
pg_room_rows(const PGresult *r, struct chat_room_list *out, const char *fn)
{
	size_t n0 = out->n;

	for (int i = 0; i < PQntuples(r); i++) {
		if (strlen(PQgetvalue(r, i, 0)) > CHAT_MAX_ROOM)
			continue;
		if (room_push(out, r, i) == -1) {
			log_warnx("%s: out of memory", fn);
			out->n = n0;
			return CHAT_E_INTERNAL;
		}
	}
	return CHAT_OK;
}

/* A room name longer than the API allows (made by hand) is left out. */
static enum chat_error
store_pg_rooms(struct store *s, struct chat_room_list *out)
{
	enum chat_error e = CHAT_OK;
	PGresult *r;

	if ((r = pg_run(s, PG_ROOMS, 0, NULL, "store_rooms", &e)) == NULL)
		return e;
	e = pg_room_rows(r, out, "store_rooms");
	PQclear(r);
	return e;
}

const struct store_engine store_pg_engine = {
	.name = "postgresql",
	.open = store_pg_open,
	.free = store_pg_free,
	.migrate = store_pg_migrate,
	.readonly = store_pg_readonly,
	.append = store_pg_append,
	.read = store_pg_read,
	.read_after = store_pg_read_after,
	.max_id = store_pg_max_id,
	.rooms = store_pg_rooms,
	.delete = store_pg_delete,
	.prune = store_pg_prune,
	.import = store_pg_import,
	.inspect = store_pg_inspect,
	.wake_fd = store_pg_wake_fd,
	.wake_drain = store_pg_wake_drain,
	.writable = store_pg_writable,
	.display_path = store_pg_display_path,
	.size = store_pg_size,
	.room_access = store_pg_room_access,
	.access_version = store_pg_access_version,
	.private_make = store_pg_private_make,
	.members_edit = store_pg_members_edit,
	.private_drop = store_pg_private_drop,
	.members = store_pg_members,
	.rooms_for = store_pg_rooms_for,
	.presence_sync = store_pg_presence_sync,
	.presence_read = store_pg_presence_read,
	.presence_changed = store_pg_presence_changed,
};
