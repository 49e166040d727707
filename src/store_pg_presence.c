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

/* Runs statement k with the texts t and then the integers v as its
 * parameters; *r gets its result when r is not NULL. */
static enum chat_error
pres_run(struct store *s, enum store_pg_stmt k, const char *const *t, int nt,
    const int64_t *v, int nv, PGresult **r)
{
	char buf[3][24];
	const char *p[6];
	enum chat_error e = CHAT_OK;
	PGresult *res;
	int i = 0;

	for (int j = 0; j < nt; j++)
		p[i++] = t[j];
	for (int j = 0; j < nv; j++) {
		snprintf(buf[j], sizeof(buf[j]), "%" PRId64, v[j]);
		p[i++] = buf[j];
	}
	if ((res = pg_run(s, k, i, p, PRES_FN, &e)) == NULL)
		return e;
	if (r != NULL)
		*r = res;
	else
		PQclear(res);
	return CHAT_OK;
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
	if (n > 0 && !PQgetisnull(r, 0, 1) &&
	    (got.v = calloc((size_t)n, sizeof(*got.v))) == NULL)
		e = CHAT_E_INTERNAL;
	for (int i = 0; e == CHAT_OK && got.v != NULL && i < n; i++) {
		struct chat_person *p = &got.v[got.n];
		if ((p->name = strdup(PQgetvalue(r, i, 1))) == NULL) {
			e = CHAT_E_INTERNAL;
			break;
		}
		p->verified = PQgetvalue(r, i, 2)[0] == 't';
		p->since_ms = pg_int(r, i, 3);
		got.n++;
	}
	PQclear(r);
	if (e != CHAT_OK) {
		log_warnx("store_presence_read: out of memory");
		chat_people_clear(&got);
		return e;
	}
	chat_people_clear(out);
	*out = got;
	return CHAT_OK;
}

enum chat_error
store_pg_presence_changed(struct store *s, int64_t after,
    struct chat_room_list *out, int64_t *max)
{
	PGresult *r = NULL;
	struct chat_room *v;
	enum chat_error e;
	int n;

	if ((e = pres_run(s, PG_PRES_CHANGED, NULL, 0, &after, 1, &r)) !=
	    CHAT_OK)
		return e;
	n = PQntuples(r);
	if (n > 0) {
		if ((v = realloc(out->v, (out->n + (size_t)n) * sizeof(*v))) ==
		    NULL) {
			PQclear(r);
			return CHAT_E_INTERNAL;
		}
		out->v = v;
	}
	for (int i = 0; i < n; i++) {
		v = &out->v[out->n++];
		memset(v, 0, sizeof(*v));
		snprintf(v->name, sizeof(v->name), "%s", PQgetvalue(r, i, 0));
	}
	*max = n > 0 ? pg_int(r, n - 1, 1) : after;
	PQclear(r);
	return CHAT_OK;
}
