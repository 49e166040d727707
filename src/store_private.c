/* store_private.c - SQLite's engine of store.h's private rooms: who may
 * see a room (one lookup per request), the access version the watchers
 * follow, and the operators' and the API's changes to private rooms and
 * their members (sql/004_private.sql). */
#include "store_sqlite.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"

/* Binds the texts v[0..n) to ?1.. of statement k (a NULL binds NULL),
 * runs it to its end and resets it. */
static enum chat_error
store_texts(struct store *s, enum store_stmt k, const char *fn, int n,
    const char *const *v)
{
	sqlite3_stmt *st = s->st[k];
	enum chat_error e;
	int rc = SQLITE_OK;

	for (int i = 0; i < n && rc == SQLITE_OK; i++)
		rc = v[i] != NULL ? bind_text(st, i + 1, v[i]) :
		    sqlite3_bind_null(st, i + 1);
	if (rc != SQLITE_OK) {
		e = store_fail(s, fn, rc);
		stmt_done(st);
		return e;
	}
	return store_step(s, k, fn);
}

/* Whether statement k finds a row for room (?1), and the kind of
 * room in its first column when kind is not NULL. */
static enum chat_error
store_find(struct store *s, enum store_stmt k, const char *fn,
    const char *room, bool *found, enum chat_room_kind *kind)
{
	sqlite3_stmt *st = s->st[k];
	enum chat_error e = CHAT_OK;
	int rc;

	*found = false;
	if ((rc = bind_text(st, 1, room)) == SQLITE_OK &&
	    (rc = sqlite3_step(st)) == SQLITE_ROW) {
		*found = true;
		if (kind != NULL)
			*kind = store_kind_of(col_text(st, 0));
	} else if (rc != SQLITE_DONE)
		e = store_fail(s, fn, rc);
	stmt_done(st);
	return e;
}

enum chat_error
store_sqlite_room_access(struct store *s, const char *room,
    const char *user, struct store_access *out)
{
	sqlite3_stmt *st = s->st[STMT_ACCESS];
	enum chat_error e = CHAT_OK;
	int rc;

	if ((rc = bind_text(st, 1, room)) == SQLITE_OK &&
	    (rc = user != NULL ? bind_text(st, 2, user) :
	    sqlite3_bind_null(st, 2)) == SQLITE_OK &&
	    (rc = sqlite3_step(st)) == SQLITE_ROW) {
		out->version = sqlite3_column_int64(st, 0);
		out->kind = sqlite3_column_type(st, 1) == SQLITE_NULL ?
		    CHAT_ROOM_PUBLIC : store_kind_of(col_text(st, 1));
		out->member = out->kind != CHAT_ROOM_PUBLIC &&
		    sqlite3_column_int(st, 2) != 0;
	} else {
		e = store_fail(s, "store_room_access", rc == SQLITE_DONE ?
		    SQLITE_CORRUPT : rc);
	}
	stmt_done(st);
	return e;
}

enum chat_error
store_sqlite_access_version(struct store *s, int64_t *out)
{
	return store_int(s, STMT_ACCESS_VERSION, "store_access_version", out);
}

/* Adds (add) or removes each of users[0..n) as a member of room. */
static enum chat_error
store_members_run(struct store *s, const char *room, bool add,
    const char *const *users, size_t n, const char *fn)
{
	enum chat_error e = CHAT_OK;

	for (size_t i = 0; i < n && e == CHAT_OK; i++)
		e = store_texts(s, add ? STMT_MEMBER_ADD : STMT_MEMBER_DEL, fn,
		    2, (const char *const[]){ room, users[i] });
	return e;
}

enum chat_error
store_sqlite_private_make(struct store *s, const char *room,
    enum chat_room_kind kind, const char *created_by,
    const char *const *users, size_t n, bool fresh, bool *created)
{
	static const char fn[] = "store_private_make";
	bool private = false, used = false;
	enum chat_error e;

	if (created != NULL)
		*created = false;
	if ((e = store_step(s, STMT_BEGIN_WRITE, fn)) != CHAT_OK)
		return e;
	e = store_find(s, STMT_PRIVATE_KIND, fn, room, &private, NULL);
	if (e == CHAT_OK && fresh)
		e = store_find(s, STMT_ROOM_USED, fn, room, &used, NULL);
	if (e == CHAT_OK && fresh && (private || used))
		e = CHAT_E_CONFLICT;
	if (e == CHAT_OK && !private)
		e = store_texts(s, STMT_PRIVATE_ADD, fn, 3,
		    (const char *const[]){ room, kind == CHAT_ROOM_DIRECT ?
		    "direct" : "private", created_by });
	if (e == CHAT_OK)
		e = store_members_run(s, room, true, users, n, fn);
	if ((e = store_end(s, e, fn)) == CHAT_OK) {
		store_notify(s);
		if (created != NULL)
			*created = !private;
	}
	return e;
}

/* Begins a write transaction on private room: CHAT_E_NOT_FOUND (rolled
 * back) when it is not private. */
static enum chat_error
store_private_begin(struct store *s, const char *room, const char *fn)
{
	bool private = false;
	enum chat_error e;

	if ((e = store_step(s, STMT_BEGIN_WRITE, fn)) != CHAT_OK)
		return e;
	if ((e = store_find(s, STMT_PRIVATE_KIND, fn, room, &private,
	    NULL)) == CHAT_OK && !private)
		e = CHAT_E_NOT_FOUND;
	if (e != CHAT_OK)
		store_rollback(s);
	return e;
}

enum chat_error
store_sqlite_members_edit(struct store *s, const char *room, bool add,
    const char *const *users, size_t n)
{
	static const char fn[] = "store_members_edit";
	enum chat_error e;

	if ((e = store_private_begin(s, room, fn)) != CHAT_OK)
		return e;
	e = store_members_run(s, room, add, users, n, fn);
	if ((e = store_end(s, e, fn)) == CHAT_OK)
		store_notify(s);
	return e;
}

enum chat_error
store_sqlite_private_drop(struct store *s, const char *room)
{
	static const char fn[] = "store_private_drop";
	enum chat_error e;

	if ((e = store_private_begin(s, room, fn)) != CHAT_OK)
		return e;
	e = store_texts(s, STMT_MEMBERS_DEL, fn, 1, &room);
	if (e == CHAT_OK)
		e = store_texts(s, STMT_PRIVATE_DEL, fn, 1, &room);
	if ((e = store_end(s, e, fn)) == CHAT_OK)
		store_notify(s);
	return e;
}

enum chat_error
store_sqlite_members(struct store *s, const char *room,
    struct store_members *out, enum chat_room_kind *kind)
{
	static const char fn[] = "store_members";
	sqlite3_stmt *st = s->st[STMT_MEMBERS];
	size_t n0 = out->n;
	bool private = false;
	enum chat_error e;
	int rc = SQLITE_DONE;

	if ((e = store_step(s, STMT_BEGIN, fn)) != CHAT_OK)
		return e;
	e = store_find(s, STMT_PRIVATE_KIND, fn, room, &private, kind);
	if (e == CHAT_OK && !private)
		e = CHAT_E_NOT_FOUND;
	if (e == CHAT_OK && (rc = bind_text(st, 1, room)) != SQLITE_OK)
		e = store_fail(s, fn, rc);
	while (e == CHAT_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
		if (store_members_push(out, col_text(st, 0)) == -1) {
			log_warnx("%s: out of memory", fn);
			e = CHAT_E_INTERNAL;
		}
	if (e == CHAT_OK && rc != SQLITE_DONE)
		e = store_fail(s, fn, rc);
	stmt_done(st);
	if (e == CHAT_OK)
		e = store_step(s, STMT_COMMIT, fn);
	if (e != CHAT_OK) {
		store_rollback(s);
		while (out->n > n0)
			free(out->v[--out->n]);
	}
	return e;
}
