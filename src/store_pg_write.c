/* store_pg_write.c - PostgreSQL's writes: store_append (client_id
 * idempotency across hosts by a unique index, group commit of the
 * concurrent sends of a process), store_delete (tombstones), store_prune
 * (one process of all hosts at a time) and store_import. Ids are handed
 * out in commit order by the insert trigger (sql/pg/001_init.sql says
 * why that matters and why it holds). */
#include "store_pg.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "store_group.h"

#define PG_PRUNE_PAUSE_MS 2   /* between prune batches: senders go first */

/* Group commit (store_group.c), as on SQLite: the sends of one process
 * queue in this group, and its leader stores them in one transaction on
 * its connection, so N concurrent sends cost one round of the id lock and
 * one commit. */
static store_group_commit_fn pg_commit_batch;
static struct store_group pgq = STORE_GROUP_INIT(pgq, pg_commit_batch);

/* The message an earlier send of the same user with this client_id
 * stored (on any host), into *m; CHAT_E_INTERNAL if it is gone (deleted
 * since the INSERT saw it). The unique index includes the user, so the
 * row the INSERT ran into is this sender's. */
static enum chat_error
pg_find_cid(struct store *s, struct store_group_send *p)
{
	const char *v[] = { p->room, p->nick, p->client_id, p->user };
	struct chat_list l = { 0 };
	enum chat_error e = CHAT_OK;
	PGresult *r = NULL;

	if ((r = pg_run(s, PG_FIND_CID, 4, v, "store_append", &e)) == NULL)
		return e;
	if (pg_rows(r, &l) == -1 || l.n == 0)
		e = CHAT_E_INTERNAL;
	else {
		p->m = l.v[0];
		l.n = 0;
	}
	PQclear(r);
	chat_list_clear(&l);
	return e;
}

/* Stores one queued send inside the leader's transaction. */
static enum chat_error
pg_store_one(struct store *s, struct store_group_send *p)
{
	char ts[24];
	const char *v[] = { p->room, p->nick, p->text, ts, p->user,
	    p->client_id };
	enum chat_error e = CHAT_OK;
	PGresult *r = NULL;

	p->m.ts = chat_now_ms();
	snprintf(ts, sizeof(ts), "%" PRId64, p->m.ts);
	if ((r = pg_run(s, p->client_id != NULL ? PG_INSERT_CID : PG_INSERT,
	    p->client_id != NULL ? 6 : 5, v, "store_append", &e)) == NULL)
		return e;
	p->made = PQntuples(r) == 1;
	if (p->made)
		p->m.id = pg_int(r, 0, 0);
	PQclear(r);
	assert(p->made || p->client_id != NULL);  /* a plain INSERT stores */
	return p->made ? CHAT_OK : pg_find_cid(s, p);
}

/* The leader's work: the whole batch in one transaction, all or nothing.
 * The trigger's NOTIFY wakes every watcher once at the commit. */
static enum chat_error
pg_commit_batch(struct store *s, struct store_group_send *batch)
{
	enum chat_error e = pg_exec(s, "BEGIN", "store_append");

	for (struct store_group_send *p = batch; p != NULL && e == CHAT_OK;
	    p = p->next) {
		assert(strcmp(p->db, s->uri) == 0);
		e = pg_store_one(s, p);
	}
	return pg_end(s, e, "store_append");
}

enum chat_error
store_pg_append(struct store *s, const char *room, const char *user,
    const char *nick, const char *text, const char *client_id,
    struct chat_message *out, bool *created)
{
	struct store_group_send me = { .room = room, .user = user,
	    .nick = nick, .text = text, .client_id = client_id,
	    .db = s->uri };

	return store_group_append(&pgq, s, &me, out, created);
}

/* --- moderation -------------------------------------------------------- */

/* Runs statement k with ?1 = a (when not NULL) and the integers of v;
 * *r gets its result when r is not NULL. */
static enum chat_error
pg_run_ints(struct store *s, enum store_pg_stmt k, const char *fn,
    const char *a, int n, const int64_t *v, PGresult **r)
{
	return pg_run_args(s, k, fn, &a, a != NULL, v, n, r);
}

/* The message's room into *room (a new string), NULL when there is no
 * message with that id. The row stays locked until the transaction
 * ends. */
static enum chat_error
pg_del_find(struct store *s, int64_t id, char **room)
{
	PGresult *r = NULL;
	enum chat_error e;

	*room = NULL;
	if ((e = pg_run_ints(s, PG_DEL_FIND, "store_delete", NULL, 1, &id,
	    &r)) != CHAT_OK)
		return e;
	if (PQntuples(r) > 0 && (*room = strdup(PQgetvalue(r, 0, 0))) == NULL)
		e = CHAT_E_INTERNAL;
	PQclear(r);
	return e;
}

/* The id lock is taken first: the DELETE's trigger locks the room's row
 * of rooms, which a sender holding the id lock may be waiting for. */
enum chat_error
store_pg_delete(struct store *s, int64_t id, struct chat_message *tomb)
{
	struct chat_message m = { .ts = chat_now_ms(), .deletes = id };
	char lock[64];
	PGresult *r = NULL;
	enum chat_error e;

	snprintf(lock, sizeof(lock), "SELECT pg_advisory_xact_lock(%lld)",
	    STORE_PG_LOCK_IDS);
	if ((e = pg_exec(s, "BEGIN", "store_delete")) != CHAT_OK)
		return e;
	if ((e = pg_exec(s, lock, "store_delete")) == CHAT_OK &&
	    (e = pg_del_find(s, id, &m.room)) == CHAT_OK && m.room == NULL)
		e = CHAT_E_NOT_FOUND;
	if (e == CHAT_OK)
		e = pg_run_ints(s, PG_DEL_ROW, "store_delete", NULL, 1, &id,
		    NULL);
	if (e == CHAT_OK)
		e = pg_run_ints(s, PG_TOMBSTONE, "store_delete", m.room, 2,
		    (const int64_t[]){ m.ts, id }, &r);
	if (r != NULL) {
		m.id = pg_int(r, 0, 0);
		PQclear(r);
	}
	e = pg_end(s, e, "store_delete");
	return store_tombstone_out(e, &m, tomb);
}

/* --- retention --------------------------------------------------------- */

struct pg_prune_rule {
	int64_t upto_id;        /* rows with id <= it go (the count limit) */
	int64_t before_ts;      /* rows with ts < it go (the age limit) */
	int batch;
};

/* One short transaction: up to p->batch of the oldest rows of room go,
 * and the room remembers the highest id removed. *n: rows removed. */
static enum chat_error
pg_prune_batch(struct store *s, const char *room,
    const struct pg_prune_rule *p, int *n)
{
	int64_t upto = 0, lim = p->batch;
	PGresult *r = NULL;
	enum chat_error e;

	*n = 0;
	if ((e = pg_exec(s, "BEGIN", "store_prune")) != CHAT_OK)
		return e;
	if ((e = pg_run_ints(s, PG_PRUNE_WALK, "store_prune", room, 1, &lim,
	    &r)) == CHAT_OK) {
		while (*n < PQntuples(r) && (pg_int(r, *n, 0) <= p->upto_id ||
		    pg_int(r, *n, 1) < p->before_ts))
			upto = pg_int(r, (*n)++, 0);
		PQclear(r);
	}
	assert(*n <= p->batch);
	/* Marked before the rows go, so that the delete trigger keeps the
	 * rooms row of a room that empties. */
	if (e == CHAT_OK && *n > 0)
		e = pg_run_ints(s, PG_PRUNE_MARK, "store_prune", room, 1,
		    &upto, NULL);
	if (e == CHAT_OK && *n > 0)
		e = pg_run_ints(s, PG_PRUNE_DELETE, "store_prune", room, 1,
		    &upto, NULL);
	return pg_end(s, e, "store_prune");
}

static enum chat_error
pg_prune_room(struct store *s, const char *room,
    const struct store_retention *r, int64_t now_ms, int64_t *removed)
{
	struct pg_prune_rule p = {
		.before_ts = r->max_age_ms > 0 ? now_ms - r->max_age_ms :
		    INT64_MIN,
		.batch = r->batch > 0 && r->batch <= 10000 ? r->batch : 500,
	};
	struct timespec pause = { 0, PG_PRUNE_PAUSE_MS * 1000000L };
	enum chat_error e = CHAT_OK;
	PGresult *res = NULL;
	int n;

	if (r->max_messages > 0) {
		if ((e = pg_run_ints(s, PG_PRUNE_KEEP, "store_prune", room, 1,
		    &r->max_messages, &res)) != CHAT_OK)
			return e;
		p.upto_id = PQntuples(res) > 0 ? pg_int(res, 0, 0) : 0;
		PQclear(res);
	}
	do {
		if ((e = pg_prune_batch(s, room, &p, &n)) != CHAT_OK)
			break;
		*removed += n;
		if (n == p.batch)
			nanosleep(&pause, NULL);
	} while (n == p.batch);
	return e;
}

/* The retention lock, held by one session of all hosts: true when this
 * one got it (lock) or gave it back (unlock). */
static bool
pg_prune_lock(struct store *s, bool lock)
{
	char sql[80];
	PGresult *r = NULL;
	bool got;

	if (s->conn == NULL)
		return false;
	snprintf(sql, sizeof(sql), "SELECT pg_%sadvisory_%slock(%lld)",
	    lock ? "try_" : "", lock ? "" : "un", STORE_PG_LOCK_PRUNE);
	r = PQexec(s->conn, sql);
	got = PQresultStatus(r) == PGRES_TUPLES_OK &&
	    strcmp(PQgetvalue(r, 0, 0), "t") == 0;
	PQclear(r);
	return got;
}

/* One process of all hosts prunes at a time (the others find the lock
 * taken and leave it to that one): the housekeeper of each host would
 * otherwise prune the same rows at the same moments. */
enum chat_error
store_pg_prune(struct store *s, const struct store_retention *r,
    int64_t now_ms, int64_t *removed)
{
	int64_t total = 0;
	PGresult *res = NULL;
	enum chat_error e;

	if (r->max_age_ms <= 0 && r->max_messages <= 0)
		return CHAT_OK;
	if ((e = pg_run_ints(s, PG_PRUNE_ROOMS, "store_prune", NULL, 0, NULL,
	    &res)) != CHAT_OK)
		return e;
	if (!pg_prune_lock(s, true)) {
		log_info("store_prune: another process prunes now");
		PQclear(res);
		return CHAT_OK;
	}
	for (int i = 0; e == CHAT_OK && i < PQntuples(res); i++)
		e = pg_prune_room(s, PQgetvalue(res, i, 0), r, now_ms, &total);
	pg_prune_lock(s, false);
	PQclear(res);
	if (removed != NULL)
		*removed += total;
	return e;
}

/* --- import ------------------------------------------------------------ */

static enum chat_error
pg_import_one(struct store *s, const struct chat_message *m, size_t *stored)
{
	char ts[24], id[24];
	const char *v[] = { m->room, m->nick, m->text, ts, m->user,
	    m->id > 0 ? id : NULL };
	enum chat_error e = CHAT_OK;
	PGresult *r = NULL;

	snprintf(ts, sizeof(ts), "%" PRId64, m->ts);
	snprintf(id, sizeof(id), "%" PRId64, m->id);
	if ((r = pg_run(s, PG_IMPORT, 6, v, "store_import", &e)) == NULL)
		return e;
	*stored += (size_t)strtoul(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	return CHAT_OK;
}

enum chat_error
store_pg_import(struct store *s, const struct chat_message *v, size_t n,
    size_t *stored)
{
	size_t k = 0;
	enum chat_error e;

	if ((e = pg_exec(s, "BEGIN", "store_import")) != CHAT_OK)
		return e;
	for (size_t i = 0; e == CHAT_OK && i < n; i++)
		e = pg_import_one(s, &v[i], &k);
	if ((e = pg_end(s, e, "store_import")) != CHAT_OK)
		return e;
	assert(k <= n);
	if (stored != NULL)
		*stored += k;
	return CHAT_OK;
}
