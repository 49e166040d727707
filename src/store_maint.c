/* store_maint.c - SQLite's maintenance writes: store_delete (moderation,
 * with a tombstone), store_prune (retention, in short batches) and
 * store_import. */
#include "store_sqlite.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

#define STORE_PRUNE_PAUSE_MS 2  /* between prune batches: senders go first */

/* The room of message id (not of a tombstone) into *room, a new string;
 * NULL when there is no such message. */
static enum chat_error
store_del_find(struct store *s, int64_t id, char **room)
{
	sqlite3_stmt *st = s->st[STMT_DEL_FIND];
	enum chat_error e = CHAT_OK;
	int rc;

	*room = NULL;
	if ((rc = sqlite3_bind_int64(st, 1, id)) == SQLITE_OK &&
	    (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((*room = strdup(col_text(st, 0))) == NULL) {
			log_warnx("store_delete: out of memory");
			e = CHAT_E_INTERNAL;
		}
	} else if (rc != SQLITE_DONE)
		e = store_fail(s, "store_delete", rc);
	stmt_done(st);
	return e;
}

enum chat_error
store_sqlite_delete(struct store *s, int64_t id, struct chat_message *tomb)
{
	struct chat_message m = { .ts = chat_now_ms(), .deletes = id };
	enum chat_error e;

	if ((e = store_step(s, STMT_BEGIN_WRITE, "store_delete")) != CHAT_OK)
		return e;
	if ((e = store_del_find(s, id, &m.room)) == CHAT_OK && m.room == NULL)
		e = CHAT_E_NOT_FOUND;
	if (e == CHAT_OK)
		e = store_run(s, STMT_DEL_ROW, "store_delete", NULL, 1, &id);
	if (e == CHAT_OK)
		e = store_run(s, STMT_TOMBSTONE, "store_delete", m.room, 2,
		    (const int64_t[]){ m.ts, id });
	if (e == CHAT_OK)
		m.id = sqlite3_last_insert_rowid(s->db);
	if ((e = store_end(s, e, "store_delete")) == CHAT_OK)
		store_notify(s);
	return store_tombstone_out(e, &m, tomb);
}

/* Every name in rooms (with or without messages) into a new array of new
 * strings; free with names_free. */
static enum chat_error
store_room_names(struct store *s, char ***names, size_t *n)
{
	sqlite3_stmt *st = s->st[STMT_PRUNE_ROOMS];
	enum chat_error e = CHAT_OK;
	size_t cap = 0;
	char **v;
	int rc;

	*names = NULL;
	*n = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			if ((v = realloc(*names, cap * sizeof(*v))) == NULL)
				break;
			*names = v;
		}
		if (((*names)[*n] = strdup(col_text(st, 0))) == NULL)
			break;
		(*n)++;
	}
	if (rc == SQLITE_ROW) {
		log_warnx("store_prune: out of memory");
		e = CHAT_E_INTERNAL;
	} else if (rc != SQLITE_DONE)
		e = store_fail(s, "store_prune", rc);
	stmt_done(st);
	return e;
}

static void
names_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* The rows a prune removes from one room: id <= upto_id (the count limit)
 * or ts < before_ts (the age limit), from the oldest on. */
struct prune_rule {
	int64_t upto_id;
	int64_t before_ts;
	int batch;
};

/* Walks the oldest rows of room while they may go: *n of them, the last
 * one *upto. */
static enum chat_error
prune_walk(struct store *s, const char *room, const struct prune_rule *p,
    int *n, int64_t *upto)
{
	sqlite3_stmt *st = s->st[STMT_PRUNE_WALK];
	enum chat_error e = CHAT_OK;
	int rc;

	*n = 0;
	if ((rc = bind_text(st, 1, room)) == SQLITE_OK &&
	    (rc = sqlite3_bind_int(st, 2, p->batch)) == SQLITE_OK) {
		while ((rc = sqlite3_step(st)) == SQLITE_ROW &&
		    (sqlite3_column_int64(st, 0) <= p->upto_id ||
		    sqlite3_column_int64(st, 1) < p->before_ts)) {
			*upto = sqlite3_column_int64(st, 0);
			(*n)++;
		}
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		e = store_fail(s, "store_prune", rc);
	stmt_done(st);
	return e;
}

/* One short write transaction: up to p->batch of the oldest rows go and
 * the room remembers the highest id removed. *n: the rows removed. */
static enum chat_error
prune_batch(struct store *s, const char *room, const struct prune_rule *p,
    int *n)
{
	int64_t upto = 0;
	enum chat_error e;

	if ((e = store_step(s, STMT_BEGIN_WRITE, "store_prune")) != CHAT_OK)
		return e;
	e = prune_walk(s, room, p, n, &upto);
	assert(*n <= p->batch);   /* prune_room's loop ends on a short batch */
	/* Marked before the rows go, so that the delete trigger keeps the
	 * rooms row of a room that empties. */
	if (e == CHAT_OK && *n > 0)
		e = store_run(s, STMT_PRUNE_MARK, "store_prune", room, 1,
		    &upto);
	if (e == CHAT_OK && *n > 0)
		e = store_run(s, STMT_PRUNE_DELETE, "store_prune", room, 1,
		    &upto);
	return store_end(s, e, "store_prune");
}

static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static enum chat_error
prune_room(struct store *s, const char *room, const struct store_retention *r,
    int64_t now_ms, int64_t *removed)
{
	struct prune_rule p = {
		.before_ts = r->max_age_ms > 0 ? now_ms - r->max_age_ms :
		    INT64_MIN,
		.batch = r->batch > 0 && r->batch <= 10000 ? r->batch : 500,
	};
	enum chat_error e = CHAT_OK;
	int n;

	if (r->max_messages > 0) {
		sqlite3_stmt *st = s->st[STMT_PRUNE_KEEP];
		int rc;
		if ((rc = bind_text(st, 1, room)) != SQLITE_OK ||
		    (rc = sqlite3_bind_int64(st, 2, r->max_messages)) !=
		    SQLITE_OK) {
			e = store_fail(s, "store_prune", rc);
			stmt_done(st);
			return e;
		}
		if ((e = store_int(s, STMT_PRUNE_KEEP, "store_prune",
		    &p.upto_id)) != CHAT_OK)
			return e;
	}
	do {
		if ((e = prune_batch(s, room, &p, &n)) != CHAT_OK)
			break;
		*removed += n;
		if (n == p.batch)
			sleep_ms(STORE_PRUNE_PAUSE_MS);
	} while (n == p.batch);
	return e;
}

enum chat_error
store_sqlite_prune(struct store *s, const struct store_retention *r,
    int64_t now_ms, int64_t *removed)
{
	char **names = NULL;
	size_t n = 0;
	int64_t total = 0;
	enum chat_error e;

	if (r->max_age_ms <= 0 && r->max_messages <= 0)
		return CHAT_OK;
	e = store_room_names(s, &names, &n);
	for (size_t i = 0; e == CHAT_OK && i < n; i++)
		e = prune_room(s, names[i], r, now_ms, &total);
	names_free(names, n);
	if (removed != NULL)
		*removed += total;
	return e;
}

/* Stores one imported message; *stored is incremented when it was. */
static enum chat_error
import_one(struct store *s, const struct chat_message *m, size_t *stored)
{
	sqlite3_stmt *st = s->st[STMT_IMPORT];
	enum chat_error e = CHAT_OK;
	int rc;

	if ((rc = bind_message(st, m->room, m->nick, m->text, m->ts,
	    m->user)) == SQLITE_OK)
		rc = m->id > 0 ? sqlite3_bind_int64(st, 6, m->id) :
		    sqlite3_bind_null(st, 6);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		*stored += (size_t)sqlite3_changes(s->db);
	else
		e = store_fail(s, "store_import", rc);
	stmt_done(st);
	return e;
}

enum chat_error
store_sqlite_import(struct store *s, const struct chat_message *v, size_t n,
    size_t *stored)
{
	size_t k = 0;
	enum chat_error e;

	if ((e = store_step(s, STMT_BEGIN_WRITE, "store_import")) != CHAT_OK)
		return e;
	for (size_t i = 0; e == CHAT_OK && i < n; i++)
		e = import_one(s, &v[i], &k);
	if ((e = store_end(s, e, "store_import")) != CHAT_OK)
		return e;
	assert(k <= n);
	if (k > 0)
		store_notify(s);
	if (stored != NULL)
		*stored += k;
	return CHAT_OK;
}
