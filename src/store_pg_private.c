/* store_pg_private.c - PostgreSQL's engine of store.h's private rooms, as
 * SQLite's (store_private.c): who may see a room, the access version, and
 * the changes to private rooms and their members. The triggers of
 * sql/pg/004_private.sql bump the version and NOTIFY every host. */
#include "store_pg.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"

enum chat_error
store_pg_room_access(struct store *s, const char *room, const char *user,
    struct store_access *out)
{
	enum chat_error e = CHAT_OK;
	PGresult *r;

	if ((r = pg_run(s, PG_ACCESS, 2, (const char *const[]){ room, user },
	    "store_room_access", &e)) == NULL)
		return e;
	if (PQntuples(r) != 1) {
		log_warnx("store_room_access: access_version has no row");
		PQclear(r);
		return CHAT_E_INTERNAL;
	}
	out->version = pg_int(r, 0, 0);
	out->kind = PQgetisnull(r, 0, 1) ? CHAT_ROOM_PUBLIC :
	    store_kind_of(PQgetvalue(r, 0, 1));
	out->member = out->kind != CHAT_ROOM_PUBLIC &&
	    strcmp(PQgetvalue(r, 0, 2), "t") == 0;
	PQclear(r);
	return CHAT_OK;
}

enum chat_error
store_pg_access_version(struct store *s, int64_t *out)
{
	enum chat_error e = CHAT_OK;
	PGresult *r;

	if ((r = pg_run(s, PG_ACCESS_VERSION, 0, NULL, "store_access_version",
	    &e)) == NULL)
		return e;
	*out = PQntuples(r) > 0 ? pg_int(r, 0, 0) : 0;
	PQclear(r);
	return CHAT_OK;
}

/* Runs statement k with the texts v[0..n); *rows (may be NULL) gets the
 * number of rows it returned. */
static enum chat_error
pg_texts(struct store *s, enum store_pg_stmt k, const char *fn, int n,
    const char *const *v, int *rows)
{
	enum chat_error e = CHAT_OK;
	PGresult *r;

	if ((r = pg_run(s, k, n, v, fn, &e)) == NULL)
		return e;
	if (rows != NULL)
		*rows = PQntuples(r);
	PQclear(r);
	return CHAT_OK;
}

/* Whether room is private (its row locked until the transaction ends). */
static enum chat_error
pg_private_find(struct store *s, const char *room, const char *fn,
    bool *private)
{
	int rows = 0;
	enum chat_error e = pg_texts(s, PG_PRIVATE_KIND, fn, 1, &room, &rows);

	*private = rows > 0;
	return e;
}

static enum chat_error
pg_members_run(struct store *s, const char *room, bool add,
    const char *const *users, size_t n, const char *fn)
{
	enum chat_error e = CHAT_OK;

	for (size_t i = 0; i < n && e == CHAT_OK; i++)
		e = pg_texts(s, add ? PG_MEMBER_ADD : PG_MEMBER_DEL, fn, 2,
		    (const char *const[]){ room, users[i] }, NULL);
	return e;
}

enum chat_error
store_pg_private_make(struct store *s, const char *room,
    enum chat_room_kind kind, const char *created_by,
    const char *const *users, size_t n, bool fresh, bool *created)
{
	static const char fn[] = "store_private_make";
	bool private = false;
	int used = 0, added = 1;
	enum chat_error e;

	if (created != NULL)
		*created = false;
	if ((e = pg_exec(s, "BEGIN", fn)) != CHAT_OK)
		return e;
	e = pg_private_find(s, room, fn, &private);
	if (e == CHAT_OK && fresh)
		e = pg_texts(s, PG_ROOM_USED, fn, 1, &room, &used);
	if (e == CHAT_OK && fresh && (private || used > 0))
		e = CHAT_E_CONFLICT;
	if (e == CHAT_OK && !private)
		e = pg_texts(s, PG_PRIVATE_ADD, fn, 3, (const char *const[]){
		    room, kind == CHAT_ROOM_DIRECT ? "direct" : "private",
		    created_by }, &added);
	if (e == CHAT_OK && added == 0 && fresh)
		e = CHAT_E_CONFLICT;    /* another host made it meanwhile */
	if (e == CHAT_OK)
		e = pg_members_run(s, room, true, users, n, fn);
	if ((e = pg_end(s, e, fn)) == CHAT_OK && created != NULL)
		*created = !private && added > 0;
	return e;
}

/* Begins a transaction on private room, its row locked:
 * CHAT_E_NOT_FOUND (rolled back) when it is not private. */
static enum chat_error
pg_private_begin(struct store *s, const char *room, const char *fn)
{
	bool private = false;
	enum chat_error e;

	if ((e = pg_exec(s, "BEGIN", fn)) != CHAT_OK)
		return e;
	if ((e = pg_private_find(s, room, fn, &private)) == CHAT_OK &&
	    !private)
		e = CHAT_E_NOT_FOUND;
	if (e != CHAT_OK)
		pg_rollback(s);
	return e;
}

enum chat_error
store_pg_members_edit(struct store *s, const char *room, bool add,
    const char *const *users, size_t n)
{
	static const char fn[] = "store_members_edit";
	enum chat_error e;

	if ((e = pg_private_begin(s, room, fn)) != CHAT_OK)
		return e;
	return pg_end(s, pg_members_run(s, room, add, users, n, fn), fn);
}

enum chat_error
store_pg_private_drop(struct store *s, const char *room)
{
	static const char fn[] = "store_private_drop";
	enum chat_error e;

	if ((e = pg_private_begin(s, room, fn)) != CHAT_OK)
		return e;
	e = pg_texts(s, PG_MEMBERS_DEL, fn, 1, &room, NULL);
	if (e == CHAT_OK)
		e = pg_texts(s, PG_PRIVATE_DEL, fn, 1, &room, NULL);
	return pg_end(s, e, fn);
}

enum chat_error
store_pg_members(struct store *s, const char *room,
    struct store_members *out, enum chat_room_kind *kind)
{
	static const char fn[] = "store_members";
	enum chat_error e = CHAT_OK;
	size_t n0 = out->n;
	PGresult *r;

	if ((e = pg_exec(s, "BEGIN", fn)) != CHAT_OK)
		return e;
	if ((r = pg_run(s, PG_PRIVATE_KIND, 1, &room, fn, &e)) != NULL) {
		if (PQntuples(r) == 0)
			e = CHAT_E_NOT_FOUND;
		else if (kind != NULL)
			*kind = store_kind_of(PQgetvalue(r, 0, 0));
		PQclear(r);
	}
	if (e == CHAT_OK &&
	    (r = pg_run(s, PG_MEMBERS, 1, &room, fn, &e)) != NULL) {
		for (int i = 0; i < PQntuples(r) && e == CHAT_OK; i++)
			if (store_members_push(out, PQgetvalue(r, i, 0)) == -1)
				e = CHAT_E_INTERNAL;
		PQclear(r);
	}
	if ((e = pg_end(s, e, fn)) != CHAT_OK)
		while (out->n > n0)
			free(out->v[--out->n]);
	return e;
}

enum chat_error
store_pg_rooms_for(struct store *s, const char *user,
    struct chat_room_list *out)
{
	enum chat_error e = CHAT_OK;
	PGresult *r;

	if ((r = pg_run(s, PG_ROOMS_FOR, 1, &user, "store_rooms_for", &e)) ==
	    NULL)
		return e;
	e = pg_room_rows(r, out, "store_rooms_for");
	PQclear(r);
	return e;
}
