/* presence_set.c - one process's people: a hash from (room, name,
 * verified) to its connections, and what of it the shared table has not
 * seen yet (presence.h). */
#include "presence.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned
presence_hash(const char *room, const char *name, bool verified)
{
	uint32_t h = chat_fnv1a(room, strlen(room));

	h ^= chat_fnv1a(name, strlen(name)) * 16777619u;
	return (h + verified) % PRESENCE_BUCKETS;
}

struct presence_entry *
presence_set_join(struct presence_set *s, const char *room, const char *name,
    bool verified, int64_t now_ms)
{
	unsigned i = presence_hash(room, name, verified);
	struct presence_entry *e;

	for (e = s->buckets[i]; e != NULL; e = e->hnext)
		if (e->verified == verified && strcmp(e->room, room) == 0 &&
		    strcmp(e->name, name) == 0)
			break;
	if (e == NULL) {
		if ((e = calloc(1, sizeof(*e))) == NULL)
			return NULL;
		snprintf(e->room, sizeof(e->room), "%s", room);
		snprintf(e->name, sizeof(e->name), "%s", name);
		e->verified = verified;
		e->since_ms = now_ms;
		e->hnext = s->buckets[i];
		s->buckets[i] = e;
		s->n++;
	}
	e->conns++;
	e->gone_at = 0;
	return e;
}

void
presence_set_leave(struct presence_entry *e, int64_t mono)
{
	if (--e->conns == 0)
		e->gone_at = mono + PRESENCE_GRACE_MS;
}

static bool
entry_done(const struct presence_entry *e, int64_t mono)
{
	return e->conns == 0 && e->gone_at <= mono;
}

bool
presence_set_pending(const struct presence_set *s, int64_t mono)
{
	for (size_t i = 0; i < PRESENCE_BUCKETS; i++)
		for (const struct presence_entry *e = s->buckets[i]; e != NULL;
		    e = e->hnext)
			if (!e->stored || entry_done(e, mono))
				return true;
	return false;
}

/* Appends e's row to *v (grown by doubling). -1 when out of memory. */
static int
change_push(struct presence_change **v, size_t *n, size_t *cap,
    const struct presence_entry *e, bool gone)
{
	struct presence_change *c;

	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		if ((c = realloc(*v, ncap * sizeof(*c))) == NULL)
			return -1;
		*v = c;
		*cap = ncap;
	}
	c = &(*v)[(*n)++];
	memcpy(c->room, e->room, sizeof(c->room));
	memcpy(c->name, e->name, sizeof(c->name));
	c->row = (struct store_presence_row){ .verified = e->verified,
	    .since_ms = e->since_ms, .gone = gone };
	return 0;
}

int
presence_set_changes(struct presence_set *s, int64_t mono, bool full,
    struct presence_change **out, size_t *n)
{
	size_t cap = 0;
	int rc = 0;

	*out = NULL;
	*n = 0;
	for (size_t i = 0; i < PRESENCE_BUCKETS; i++) {
		struct presence_entry **p = &s->buckets[i], *e;
		while ((e = *p) != NULL) {
			if (entry_done(e, mono)) {
				/* A row not stored is not written to go. */
				if (rc == 0 && e->stored && !full)
					rc = change_push(out, n, &cap, e, true);
				*p = e->hnext;
				s->n--;
				free(e);
				continue;
			}
			if (rc == 0 && (full || !e->stored) &&
			    (rc = change_push(out, n, &cap, e, false)) == 0)
				e->stored = true;
			p = &e->hnext;
		}
	}
	/* The pointers once the array stops moving. */
	for (size_t i = 0; i < *n; i++) {
		(*out)[i].row.room = (*out)[i].room;
		(*out)[i].row.name = (*out)[i].name;
	}
	if (rc == -1) {
		free(*out);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

void
presence_set_clear(struct presence_set *s)
{
	for (size_t i = 0; i < PRESENCE_BUCKETS; i++) {
		struct presence_entry *e, *next;
		for (e = s->buckets[i]; e != NULL; e = next) {
			next = e->hnext;
			free(e);
		}
		s->buckets[i] = NULL;
	}
	s->n = 0;
}
