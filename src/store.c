/* store.c - store.h's calls, dispatched to the engine the database's
 * path names: a postgresql:// or postgres:// URI is PostgreSQL
 * (store_pg*.c), anything else an SQLite file (store_sqlite.c and the
 * files beside it). One indirect call per store call: nothing next to a
 * query. */
#include "store_engine.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* The engine of a path, by its prefix; the first row whose prefix
 * matches wins, and the last (empty) one always does. */
static const struct {
	const char *prefix;
	const struct store_engine *engine;
} store_engines[] = {
	{ "postgresql://", &store_pg_engine },
	{ "postgres://", &store_pg_engine },
	{ "", &store_sqlite_engine },
};

static const struct store_engine *
store_engine_for(const char *path)
{
	size_t n = sizeof(store_engines) / sizeof(store_engines[0]);

	for (size_t i = 0; i < n; i++)
		if (strncmp(path, store_engines[i].prefix,
		    strlen(store_engines[i].prefix)) == 0)
			return store_engines[i].engine;
	assert(!"store_engines ends with a row that matches every path");
	return &store_sqlite_engine;
}

/* Every engine's struct store begins with its engine's table: a pointer
 * to a struct points to its first member. */
static const struct store_engine *
store_engine_of(struct store *s)
{
	const struct store_engine *e = *(const struct store_engine **)(void *)s;

	assert(e == &store_sqlite_engine || e == &store_pg_engine);
	return e;
}

bool
store_is_file(const char *path)
{
	return store_engine_for(path) == &store_sqlite_engine;
}

const char *
store_display_path(const char *path, char *out, size_t outsz)
{
	assert(outsz > 0);
	store_engine_for(path)->display_path(path, out, outsz);
	return out;
}

struct store *
store_open(const struct store_options *o)
{
	return store_engine_for(o->path)->open(o);
}

void
store_free(struct store *s)
{
	if (s != NULL)
		store_engine_of(s)->free(s);
}

int
store_migrate(const struct store_options *o)
{
	return store_engine_for(o->path)->migrate(o);
}

int
store_inspect(const struct store_options *o, struct store_health *out)
{
	return store_engine_for(o->path)->inspect(o, out);
}

bool
store_writable(const char *db_path)
{
	return store_engine_for(db_path)->writable(db_path);
}

bool
store_readonly(struct store *s)
{
	return store_engine_of(s)->readonly(s);
}

enum chat_error
store_append(struct store *s, const char *room, const char *nick,
    const char *text, const char *client_id, struct chat_message *out,
    bool *created)
{
	return store_append_as(s, room, NULL, nick, text, client_id, out,
	    created);
}

enum chat_error
store_append_as(struct store *s, const char *room, const char *user,
    const char *nick, const char *text, const char *client_id,
    struct chat_message *out, bool *created)
{
	return store_engine_of(s)->append(s, room, user, nick, text,
	    client_id, out, created);
}

enum chat_error
store_read(struct store *s, const char *room, const struct store_query *q,
    struct chat_list *out, struct store_read_info *info)
{
	return store_engine_of(s)->read(s, room, q, out, info);
}

enum chat_error
store_read_after(struct store *s, int64_t after, int limit,
    struct chat_list *out)
{
	return store_engine_of(s)->read_after(s, after, limit, out);
}

enum chat_error
store_max_id(struct store *s, int64_t *out)
{
	return store_engine_of(s)->max_id(s, out);
}

enum chat_error
store_size(struct store *s, int64_t *db_bytes, int64_t *wal_bytes)
{
	return store_engine_of(s)->size(s, db_bytes, wal_bytes);
}

enum chat_error
store_rooms(struct store *s, struct chat_room_list *out)
{
	return store_engine_of(s)->rooms(s, out);
}

enum chat_error
store_delete(struct store *s, int64_t id, struct chat_message *tomb)
{
	return store_engine_of(s)->delete(s, id, tomb);
}

enum chat_error
store_prune(struct store *s, const struct store_retention *r, int64_t now_ms,
    int64_t *removed)
{
	return store_engine_of(s)->prune(s, r, now_ms, removed);
}

enum chat_error
store_import(struct store *s, const struct chat_message *v, size_t n,
    size_t *stored)
{
	return store_engine_of(s)->import(s, v, n, stored);
}

int
store_wake_fd(struct store *s)
{
	return store_engine_of(s)->wake_fd(s);
}

bool
store_wake_drain(struct store *s)
{
	return store_engine_of(s)->wake_drain(s);
}

enum chat_error
store_presence_sync(struct store *s, const struct store_presence_sync *w)
{
	return store_engine_of(s)->presence_sync(s, w);
}

enum chat_error
store_presence_read(struct store *s, const char *room, int64_t fresh_ms,
    struct chat_people *out, int64_t *version)
{
	return store_engine_of(s)->presence_read(s, room, fresh_ms, out,
	    version);
}

enum chat_error
store_presence_changed(struct store *s, int64_t after,
    struct chat_room_list *out, int64_t *max)
{
	return store_engine_of(s)->presence_changed(s, after, out, max);
}

void
chat_people_clear(struct chat_people *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->n; i++)
		free(p->v[i].name);
	free(p->v);
	p->v = NULL;
	p->n = 0;
}

enum chat_error
store_people_out(enum chat_error e, struct chat_people *got,
    struct chat_people *out)
{
	if (e != CHAT_OK) {
		chat_people_clear(got);
		return e;
	}
	chat_people_clear(out);
	*out = *got;
	return CHAT_OK;
}

int
store_people_push(struct chat_people *p, const char *name, bool verified,
    int64_t since_ms)
{
	struct chat_person *v = realloc(p->v, (p->n + 1) * sizeof(*v));
	char *copy = strdup(name);

	if (v != NULL)
		p->v = v;
	if (v == NULL || copy == NULL) {
		free(copy);
		return -1;
	}
	v[p->n++] = (struct chat_person){ copy, verified, since_ms };
	return 0;
}

enum chat_error
store_tombstone_out(enum chat_error e, struct chat_message *m,
    struct chat_message *tomb)
{
	if (e == CHAT_OK) {
		m->nick = strdup("");
		m->text = strdup("");
		if (m->nick == NULL || m->text == NULL)
			e = CHAT_E_INTERNAL;  /* committed all the same */
	}
	if (e == CHAT_OK && tomb != NULL)
		*tomb = *m;
	else
		chat_message_clear(m);
	return e;
}

enum chat_error
store_room_access(struct store *s, const char *room, const char *user,
    struct store_access *out)
{
	return store_engine_of(s)->room_access(s, room, user, out);
}

enum chat_error
store_access_version(struct store *s, int64_t *out)
{
	return store_engine_of(s)->access_version(s, out);
}

enum chat_error
store_private_make(struct store *s, const char *room,
    enum chat_room_kind kind, const char *created_by,
    const char *const *users, size_t n, bool fresh, bool *created)
{
	return store_engine_of(s)->private_make(s, room, kind, created_by,
	    users, n, fresh, created);
}

enum chat_error
store_members_edit(struct store *s, const char *room, bool add,
    const char *const *users, size_t n)
{
	return store_engine_of(s)->members_edit(s, room, add, users, n);
}

enum chat_error
store_private_drop(struct store *s, const char *room)
{
	return store_engine_of(s)->private_drop(s, room);
}

enum chat_error
store_members(struct store *s, const char *room, struct store_members *out,
    enum chat_room_kind *kind)
{
	return store_engine_of(s)->members(s, room, out, kind);
}

enum chat_error
store_rooms_for(struct store *s, const char *user, struct chat_room_list *out)
{
	return store_engine_of(s)->rooms_for(s, user, out);
}

int
store_members_push(struct store_members *m, const char *name)
{
	char **v, *copy;
	size_t cap;

	if (m->n == m->cap) {
		cap = m->cap ? m->cap * 2 : 8;
		if ((v = realloc(m->v, cap * sizeof(*v))) == NULL)
			return -1;
		m->v = v;
		m->cap = cap;
	}
	if ((copy = strdup(name)) == NULL)
		return -1;
	m->v[m->n++] = copy;
	return 0;
}

void
store_members_clear(struct store_members *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->n; i++)
		free(m->v[i]);
	free(m->v);
	memset(m, 0, sizeof(*m));
}

enum chat_room_kind
store_kind_of(const char *kind)
{
	return strcmp(kind, "direct") == 0 ? CHAT_ROOM_DIRECT :
	    CHAT_ROOM_PRIVATE;
}
