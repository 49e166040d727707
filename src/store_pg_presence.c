/* store_pg_presence.c - PostgreSQL's presence tables
 * (sql/pg/005_presence.sql), as store_presence.c is SQLite's: a worker's
 * writes of what changed in its set, under an advisory lock so that room
 * versions become visible in order, with a NOTIFY that wakes the watchers
 * of every host; the people of a room; the rooms changed since a
 * version. */
#include "store_pg.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define PRES_FN "store_presence_sync"

/* Runs statement k with the texts t, then the integers v. */
static enum chat_error
pres_run(struct store *s, enum store_pg_stmt k, const char *const *t, int nt,
    const int64_t *v, int nv, PGresult **r)
{
	return pg_run_args(s, k, PRES_FN, t, nt, v, nv, r);
}

/* One row of a worker's set added or removed; its room gets version seq. */
static enum chat_error
pres_row(struct store *s, const char *worker,
    const struct store_presence_row *r, int64_t seq)
{
	const char *t[] = { r->room, r->name, worker };
	int64_t v[] = { r->verified, r->since_ms };
	enum chat_error e;

	e = pres_run(s, r->gone ? PG_PRES_DEL : PG_PRES_ADD, t, 3, v,
	    r->gone ? 1 : 2, NULL);
	return e == CHAT_OK ? pres_run(s, PG_PRES_BUMP, &r->room, 1, &seq, 1,
	    NULL) : e;
}

/* Removes every row of worker (their rooms get version seq); forget: its
 * heartbeat too. */
static enum chat_error
pres_drop_worker(struct store *s, const char *worker, int64_t seq,
    bool forget)
{
	enum chat_error e;

	if ((e = pres_run(s, PG_PRES_BUMP_WORKER, &worker, 1, &seq, 1,
	    NULL)) == CHAT_OK)
		e = pres_run(s, PG_PRES_DROP_WORKER, &worker, 1, NULL, 0, NULL);
	if (e == CHAT_OK && forget)
		e = pres_run(s, PG_PRES_FORGET, &worker, 1, NULL, 0, NULL);
	return e;
}

/* Removes the workers whose heartbeat is older than before (crashed, or
 * their host gone), their rooms given version seq; *swept when there
 * were any. */
static enum chat_error
pres_sweep(struct store *s, int64_t before, int64_t seq, bool *swept)
{
	int64_t v[] = { before, seq };
	PGresult *r = NULL;
	enum chat_error e;

	if ((e = pres_run(s, PG_PRES_STALE_BUMP, NULL, 0, v, 2, NULL)) !=
	    CHAT_OK ||
	    (e = pres_run(s, PG_PRES_STALE_DROP, NULL, 0, v, 1, NULL)) !=
	    CHAT_OK ||
	    (e = pres_run(s, PG_PRES_STALE_FORGET, NULL, 0, v, 1, &r)) !=
	    CHAT_OK)
		return e;
	if ((*swept = strcmp(PQcmdTuples(r), "0") != 0))
		log_info(PRES_FN ": workers stopped beating; their people "
		    "leave");
	PQclear(r);
	return e;
}

enum chat_error
store_pg_presence_sync(struct store *s, const struct store_presence_sync *w)
{
	char lock[64];
	PGresult *r = NULL;
	int64_t seq = 0;
	bool swept = false;
	enum chat_error e;

	snprintf(lock, sizeof(lock), "SELECT pg_advisory_xact_lock(%lld)",
	    STORE_PG_LOCK_PRESENCE);
	if ((e = pg_exec(s, "BEGIN", PRES_FN)) != CHAT_OK)
		return e;
	if ((e = pg_exec(s, lock, PRES_FN)) == CHAT_OK &&
	    (e = pres_run(s, PG_PRES_NEXT, NULL, 0, NULL, 0, &r)) == CHAT_OK) {
		seq = pg_int(r, 0, 0);
		PQclear(r);
	}
	if (e == CHAT_OK && w->leave)
		e = pres_drop_worker(s, w->worker, seq, true);
	else if (e == CHAT_OK)
		e = pres_run(s, PG_PRES_BEAT, &w->worker, 1, &w->now_ms, 1,
		    NULL);
	if (e == CHAT_OK && w->full && !w->leave)
		e = pres_drop_worker(s, w->worker, seq, false);
	for (size_t i = 0; e == CHAT_OK && !w->leave && i < w->n; i++)
		e = pres_row(s, w->worker, &w->v[i], seq);
	if (e == CHAT_OK && w->stale_ms > 0)
		e = pres_sweep(s, w->stale_ms, seq, &swept);
	/* Delivered after the commit, to every host's watchers. */
	if (e == CHAT_OK && (w->n > 0 || w->full || w->leave || swept))
		e = pg_exec(s, "NOTIFY " STORE_PG_CHANNEL, PRES_FN);
	return pg_end(s, e, PRES_FN);
}

enum chat_error
store_pg_presence_read(struct store *s, const char *room, int64_t fresh_ms,
    struct chat_people *out, int64_t *version)
{
	struct chat_people got = { 0 };
	PGresult *r = NULL;
	enum chat_error e;
	int n;

	if ((e = pres_run(s, PG_PRES_READ, &room, 1, &fresh_ms, 1, &r)) !=
	    CHAT_OK)
		return e;
	n = PQntuples(r);
	*version = n > 0 ? pg_int(r, 0, 0) : 0;
	/* Without people, one row with a NULL name. */
	for (int i = 0; e == CHAT_OK && i < n && !PQgetisnull(r, i, 1); i++)
		if (store_people_push(&got, PQgetvalue(r, i, 1),
		    PQgetvalue(r, i, 2)[0] == 't', pg_int(r, i, 3)) == -1)
			e = CHAT_E_INTERNAL;
	PQclear(r);
	return store_people_out(e, &got, out);
}

enum chat_error
store_pg_presence_changed(struct store *s, int64_t after,
    struct chat_room_list *out, int64_t *max)
{
	PGresult *r = NULL;
	size_t n0 = out->n;
	enum chat_error e;
	int n;

	if ((e = pres_run(s, PG_PRES_CHANGED, NULL, 0, &after, 1, &r)) !=
	    CHAT_OK)
		return e;
	n = PQntuples(r);
	for (int i = 0; i < n; i++)
		if (chat_room_list_push(out, PQgetvalue(r, i, 0)) == -1) {
			out->n = n0;
			PQclear(r);
			return CHAT_E_INTERNAL;
		}
	*max = n > 0 ? pg_int(r, n - 1, 1) : after;
	PQclear(r);
	return CHAT_OK;
}
