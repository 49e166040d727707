/* room.c - the watcher's rooms: a chained hash table keyed by name. */
#include "room.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

static unsigned
room_hash(const char *name)
{
	return chat_fnv1a(name, strlen(name)) % ROOM_BUCKETS;
}

struct room *
room_find(const struct room_table *t, const char *name)
{
	struct room *r;

	for (r = t->buckets[room_hash(name)]; r != NULL; r = r->hnext)
		if (strcmp(r->name, name) == 0)
			return r;
	return NULL;
}

struct room *
room_get(struct room_table *t, const char *name)
{
	struct room *r = room_find(t, name);
	unsigned i;

	if (r != NULL)
		return r;
	/* A longer name would be cut and filed under another room. */
	assert(strlen(name) <= CHAT_MAX_ROOM);
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	i = room_hash(name);
	memcpy(r->name, name, strlen(name) + 1);
	r->presence_v = -1;
	r->hnext = t->buckets[i];
	t->buckets[i] = r;
	return r;
}

void
room_release(struct room_table *t, struct room *r)
{
	struct room **p;

	assert((r->n == 0) == (r->waiters == NULL));
	if (r->n > 0)
		return;
	for (p = &t->buckets[room_hash(r->name)]; *p != r; p = &(*p)->hnext)
		assert(*p != NULL);   /* r is not in t: freed twice? */
	*p = r->hnext;
	buf_free(&r->presence_json);
	free(r);
}
