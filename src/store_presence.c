/* store_presence.c - SQLite's presence tables (sql/005_presence.sql):
 * a worker's writes of what changed in its set (store_presence_sync), the
 * people of a room (store_presence_read) and the rooms changed since a
 * version (store_presence_changed). */
#include "store_sqlite.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define PRES_FN "store_presence_sync"

/* Runs statement k with the texts t, then the integers v. */
static enum chat_error
pres_run(struct store *s, enum store_stmt k, const char *const *t, int nt,
    const int64_t *v, int nv)
{
	return store_run_args(s, k, PRES_FN, t, nt, v, nv);
}

/* One row of v added or removed, its room given version seq. */
static enum chat_error
pres_row(struct store *s, const char *worker,
    const struct store_presence_row *r, int64_t seq)
{
	const char *t[] = { r->room, r->name, worker };
	int64_t v[] = { r->verified, r->since_ms };
	enum chat_error e;

	e = pres_run(s, r->gone ? STMT_PRES_DEL : STMT_PRES_ADD, t, 3, v,
	    r->gone ? 1 : 2);
	return e == CHAT_OK ? pres_run(s, STMT_PRES_BUMP, &r->room, 1, &seq, 1) :
	    e;
}

/* Removes every row of worker, each of their rooms given version seq;
 * forget: its heartbeat row too. */
static enum chat_error
pres_drop_worker(struct store *s, const char *worker, int64_t seq,
    bool forget)
{
	enum chat_error e;

	if ((e = pres_run(s, STMT_PRES_BUMP_WORKER, &worker, 1, &seq, 1)) ==
	    CHAT_OK)
		e = pres_run(s, STMT_PRES_DROP_WORKER, &worker, 1, NULL, 0);
	if (e == CHAT_OK && forget)
		e = pres_run(s, STMT_PRES_FORGET, &worker, 1, NULL, 0);
	return e;
}

/* Removes the workers whose heartbeat is older than before (crashed),
 * their rooms given version seq; *swept when there were any. */
static enum chat_error
pres_sweep(struct store *s, int64_t before, int64_t seq, bool *swept)
{
	int64_t v[] = { before, seq };
	enum chat_error e;

	if ((e = pres_run(s, STMT_PRES_STALE_BUMP, NULL, 0, v, 2)) ==
	    CHAT_OK &&
	    (e = pres_run(s, STMT_PRES_STALE_DROP, NULL, 0, v, 1)) == CHAT_OK &&
	    (e = pres_run(s, STMT_PRES_STALE_FORGET, NULL, 0, v, 1)) ==
	    CHAT_OK && (*swept = sqlite3_changes(s->db) > 0))
		log_info("store_presence_sync: workers stopped beating; "
		    "their people leave");
	return e;
}

enum chat_error
store_sqlite_presence_sync(struct store *s,
    const struct store_presence_sync *w)
{
	int64_t beat[] = { w->now_ms }, seq = 0;
	bool swept = false;
	enum chat_error e;

	if ((e = store_step(s, STMT_BEGIN_WRITE, PRES_FN)) !=
	    CHAT_OK)
		return e;
	e = store_int(s, STMT_PRES_NEXT, PRES_FN, &seq);
	if (e == CHAT_OK && w->leave)
		e = pres_drop_worker(s, w->worker, seq, true);
	else if (e == CHAT_OK)
		e = pres_run(s, STMT_PRES_BEAT, &w->worker, 1, beat, 1);
	if (e == CHAT_OK && w->full && !w->leave)
		e = pres_drop_worker(s, w->worker, seq, false);
	for (size_t i = 0; e == CHAT_OK && !w->leave && i < w->n; i++)
		e = pres_row(s, w->worker, &w->v[i], seq);
	if (e == CHAT_OK && w->stale_ms > 0)
		e = pres_sweep(s, w->stale_ms, seq, &swept);
	if ((e = store_end(s, e, PRES_FN)) == CHAT_OK &&
	    (w->n > 0 || w->full || w->leave || swept))
		store_notify(s);
	return e;
}

enum chat_error
store_sqlite_presence_read(struct store *s, const char *room,
    int64_t fresh_ms, struct chat_people *out, int64_t *version)
{
	sqlite3_stmt *st = s->st[STMT_PRES_READ];
	struct chat_people got = { 0 };
	enum chat_error e;
	int rc;

	if ((e = store_step(s, STMT_BEGIN, "store_presence_read")) != CHAT_OK)
		return e;
	bind_text(s->st[STMT_PRES_VERSION], 1, room);
	e = store_int(s, STMT_PRES_VERSION, "store_presence_read", version);
	bind_text(st, 1, room);
	sqlite3_bind_int64(st, 2, fresh_ms);
	while (e == CHAT_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
		if (store_people_push(&got, col_text(st, 0),
		    sqlite3_column_int(st, 1) != 0,
		    sqlite3_column_int64(st, 2)) == -1)
			e = CHAT_E_INTERNAL;
	if (e == CHAT_OK && rc != SQLITE_DONE)
		e = store_fail(s, "store_presence_read", rc);
	stmt_done(st);
	store_step(s, STMT_COMMIT, "store_presence_read");
	return store_people_out(e, &got, out);
}

enum chat_error
store_sqlite_presence_changed(struct store *s, int64_t after,
    struct chat_room_list *out, int64_t *max)
{
	sqlite3_stmt *st = s->st[STMT_PRES_CHANGED];
	size_t n0 = out->n;
	enum chat_error e = CHAT_OK;
	int64_t top = after;
	int rc;

	sqlite3_bind_int64(st, 1, after);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (chat_room_list_push(out, col_text(st, 0)) == -1) {
			e = CHAT_E_INTERNAL;
			break;
		}
		top = sqlite3_column_int64(st, 1);
	}
	if (e == CHAT_OK && rc != SQLITE_DONE)
		e = store_fail(s, "store_presence_changed", rc);
	stmt_done(st);
	if (e != CHAT_OK)
		out->n = n0;
	else
		*max = top;
	return e;
}
