/* store_append.c - SQLite's sends: store_append with client_id
 * idempotency and group commit (a process-wide queue whose leader commits
 * the concurrent sends of every thread in one transaction; store.h states
 * the thread rules that follow). */
#include "store_sqlite.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include <pthread.h>

#include "log.h"

/* Group commit. The sends of one process queue here; a thread that finds
 * no commit running becomes the leader and stores everything queued in one
 * transaction on its own connection, so that N concurrent sends cost one
 * commit: one WAL write, one round of locks, one wakeup of the watchers.
 * What that asks of callers is in store.h, at store_append. */
struct pending {
	struct pending *next;
	const char *room, *nick, *text, *client_id;
	const char *db;         /* the sender's database file, to check that
	                         * the leader's is the same one */
	struct chat_message m;
	bool made, done;
	enum chat_error e;
};

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct pending *head, **tail;
	bool leading;
} wq = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL,
    &wq.head, false };

/* The plain send: one INSERT, committed by autocommit at SQLITE_DONE. */
static enum chat_error
store_insert(struct store *s, const char *room, const char *nick,
    const char *text, struct chat_message *m)
{
	sqlite3_stmt *st = s->st[STMT_INSERT];
	enum chat_error e = CHAT_OK;
	int rc;

	if ((rc = bind_message(st, room, nick, text, m->ts)) == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		m->id = sqlite3_last_insert_rowid(s->db);
	else
		e = store_fail(s, "store_append", rc);
	stmt_done(st);
	return e;
}

/* The idempotent send's INSERT: a row back means it was stored (and
 * committed once the statement reaches SQLITE_DONE); no row means the
 * room, nick and client_id are taken. */
static enum chat_error
store_insert_cid(struct store *s, const char *room, const char *nick,
    const char *text, const char *client_id, struct chat_message *m,
    bool *made)
{
	sqlite3_stmt *st = s->st[STMT_INSERT_CID];
	enum chat_error e = CHAT_OK;
	int rc;

	if ((rc = bind_message(st, room, nick, text, m->ts)) == SQLITE_OK &&
	    (rc = bind_text(st, 5, client_id)) == SQLITE_OK)
		rc = sqlite3_step(st);
	*made = rc == SQLITE_ROW;
	if (*made) {
		m->id = sqlite3_column_int64(st, 0);
		m->ts = sqlite3_column_int64(st, 1);
		rc = sqlite3_step(st);
	}
	if (rc != SQLITE_DONE)
		e = store_fail(s, "store_append", rc);
	stmt_done(st);
	return e;
}

/* The message an earlier send with this client_id stored, into *m;
 * *found is false if it is gone (deleted since the INSERT saw it). */
static enum chat_error
store_find_cid(struct store *s, const char *room, const char *nick,
    const char *client_id, struct chat_message *m, bool *found)
{
	sqlite3_stmt *st = s->st[STMT_FIND_CID];
	struct chat_list l = { 0 };
	enum chat_error e;
	int rc;

	if ((rc = bind_text(st, 1, room)) != SQLITE_OK ||
	    (rc = bind_text(st, 2, nick)) != SQLITE_OK ||
	    (rc = bind_text(st, 3, client_id)) != SQLITE_OK) {
		e = store_fail(s, "store_append", rc);
		stmt_done(st);
		return e;
	}
	e = store_rows(s, STMT_FIND_CID, "store_append", &l);
	*found = e == CHAT_OK && l.n > 0;
	if (*found) {
		*m = l.v[0];
		l.n = 0;
	}
	chat_list_clear(&l);
	return e;
}

/* Stores one queued send inside the leader's transaction. */
static enum chat_error
store_one(struct store *s, struct pending *p)
{
	bool found;
	enum chat_error e;

	p->m.ts = chat_now_ms();
	p->made = true;
	if (p->client_id == NULL)
		return store_insert(s, p->room, p->nick, p->text, &p->m);
	e = store_insert_cid(s, p->room, p->nick, p->text, p->client_id,
	    &p->m, &p->made);
	if (e != CHAT_OK || p->made)
		return e;
	e = store_find_cid(s, p->room, p->nick, p->client_id, &p->m, &found);
	return e == CHAT_OK && !found ? CHAT_E_INTERNAL : e;
}

/* The leader's work: the whole batch in one transaction, all or nothing,
 * then one notify for every watcher. */
static void
store_commit_batch(struct store *s, struct pending *batch)
{
	enum chat_error e = store_step(s, STMT_BEGIN_WRITE, "store_append");
	bool any = false;

	for (struct pending *p = batch; p != NULL && e == CHAT_OK; p = p->next) {
		assert(strcmp(p->db, sqlite3_db_filename(s->db, "main")) == 0);
		e = store_one(s, p);
		any |= p->made;
	}
	if (e == CHAT_OK)
		e = store_step(s, STMT_COMMIT, "store_append");
	if (e != CHAT_OK)
		store_rollback(s);
	for (struct pending *p = batch; p != NULL; p = p->next)
		p->e = e;
	if (e == CHAT_OK && any)
		store_notify(s);
}

/* Queues me and waits until a leader, possibly this thread, stored it. */
static void
store_group_commit(struct store *s, struct pending *me)
{
	pthread_mutex_lock(&wq.mu);
	*wq.tail = me;
	wq.tail = &me->next;
	while (!me->done) {
		struct pending *batch;
		if (wq.leading) {
			pthread_cond_wait(&wq.cv, &wq.mu);
			continue;
		}
		wq.leading = true;
		batch = wq.head;
		assert(batch != NULL);   /* me, at least: not done, not taken */
		wq.head = NULL;
		wq.tail = &wq.head;
		pthread_mutex_unlock(&wq.mu);
		store_commit_batch(s, batch);
		pthread_mutex_lock(&wq.mu);
		for (struct pending *p = batch; p != NULL; p = p->next)
			p->done = true;
		wq.leading = false;
		pthread_cond_broadcast(&wq.cv);
	}
	pthread_mutex_unlock(&wq.mu);
}

enum chat_error
store_sqlite_append(struct store *s, const char *room, const char *nick,
    const char *text, const char *client_id, struct chat_message *out,
    bool *created)
{
	struct pending me = { .room = room, .nick = nick, .text = text,
	    .client_id = client_id, .db = sqlite3_db_filename(s->db, "main") };
	struct chat_message m;
	bool made;

	store_group_commit(s, &me);
	if (me.e != CHAT_OK)
		return me.e;
	m = me.m;
	made = me.made;
	if (made) {
		m.room = strdup(room);
		m.nick = strdup(nick);
		m.text = strdup(text);
	}
	if (m.room == NULL || m.nick == NULL || m.text == NULL) {
		/* Committed all the same; a retry with client_id finds it. */
		log_warnx("store_append: out of memory");
		chat_message_clear(&m);
		return CHAT_E_INTERNAL;
	}
	*out = m;
	if (created != NULL)
		*created = made;
	return CHAT_OK;
}
