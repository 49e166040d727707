/* store_append.c - SQLite's sends: store_append with client_id
 * idempotency, committed by group commit (store_group.c: a process-wide
 * queue whose leader commits the concurrent sends of every thread in one
 * transaction; store.h states the thread rules that follow). */
#include "store_sqlite.h"

#include <assert.h>
#include <string.h>

#include "store_group.h"

/* Group commit (store_group.c): the sends of every thread of the process
 * queue in this group, and its leader commits them on its connection. */
static store_group_commit_fn store_commit_batch;
static struct store_group wq = STORE_GROUP_INIT(wq, store_commit_batch);

/* The plain send: one INSERT, committed with the leader's transaction. */
static enum chat_error
store_insert(struct store *s, const struct store_group_send *p,
    struct chat_message *m)
{
	sqlite3_stmt *st = s->st[STMT_INSERT];
	enum chat_error e = CHAT_OK;
	int rc;

	if ((rc = bind_message(st, p->room, p->nick, p->text, m->ts,
	    p->user)) == SQLITE_OK)
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
 * room, nick, user and client_id are taken (messages_client_id,
 * sql/003_people.sql). */
static enum chat_error
store_insert_cid(struct store *s, const struct store_group_send *p,
    struct chat_message *m, bool *made)
{
	sqlite3_stmt *st = s->st[STMT_INSERT_CID];
	enum chat_error e = CHAT_OK;
	int rc;

	if ((rc = bind_message(st, p->room, p->nick, p->text, m->ts,
	    p->user)) == SQLITE_OK &&
	    (rc = bind_text(st, 6, p->client_id)) == SQLITE_OK)
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

/* The message an earlier send of the same user with this client_id
 * stored, into *m; *found is false if it is gone (deleted since the
 * INSERT saw it). The unique index includes the user, so the row the
 * INSERT ran into is always this sender's (an anonymous nick equal to a
 * user name is another sender, and its INSERT stores). */
static enum chat_error
store_find_cid(struct store *s, const struct store_group_send *p,
    struct chat_message *m, bool *found)
{
	sqlite3_stmt *st = s->st[STMT_FIND_CID];
	struct chat_list l = { 0 };
	enum chat_error e;
	int rc;

	if ((rc = bind_text(st, 1, p->room)) != SQLITE_OK ||
	    (rc = bind_text(st, 2, p->nick)) != SQLITE_OK ||
	    (rc = bind_text(st, 3, p->client_id)) != SQLITE_OK ||
	    (rc = bind_text(st, 4, p->user)) != SQLITE_OK) {
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
store_one(struct store *s, struct store_group_send *p)
{
	bool found;
	enum chat_error e;

	p->m.ts = chat_now_ms();
	p->made = true;
	if (p->client_id == NULL)
		return store_insert(s, p, &p->m);
	e = store_insert_cid(s, p, &p->m, &p->made);
	if (e != CHAT_OK || p->made)
		return e;
	e = store_find_cid(s, p, &p->m, &found);
	return e == CHAT_OK && !found ? CHAT_E_INTERNAL : e;
}

/* The leader's work: the whole batch in one transaction, all or nothing,
 * then one notify for every watcher. */
static enum chat_error
store_commit_batch(struct store *s, struct store_group_send *batch)
{
	enum chat_error e = store_step(s, STMT_BEGIN_WRITE, "store_append");
	bool any = false;

	for (struct store_group_send *p = batch; p != NULL && e == CHAT_OK;
	    p = p->next) {
		assert(strcmp(p->db, sqlite3_db_filename(s->db, "main")) == 0);
		e = store_one(s, p);
		any |= p->made;
	}
	if (e == CHAT_OK)
		e = store_step(s, STMT_COMMIT, "store_append");
	if (e != CHAT_OK)
		store_rollback(s);
	if (e == CHAT_OK && any)
		store_notify(s);
	return e;
}

enum chat_error
store_sqlite_append(struct store *s, const char *room, const char *user,
    const char *nick, const char *text, const char *client_id,
    struct chat_message *out, bool *created)
{
	struct store_group_send me = { .room = room, .user = user,
	    .nick = nick, .text = text, .client_id = client_id,
	    .db = sqlite3_db_filename(s->db, "main") };

	return store_group_append(&wq, s, &me, out, created);
}
