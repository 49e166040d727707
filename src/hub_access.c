/* hub_access.c - the watcher's side of private rooms: a member removed
 * (or a room made private) while connected is cut off at once, on every
 * worker process and host. Every commit that changes access bumps the
 * access version in the database and wakes the watchers like a message
 * does (sql/004_private.sql); each watcher reads the version when a
 * wake-up may concern access (store_wake_drain) or its fallback timer
 * fires and, when it moved, checks the users of the rooms it holds. */
#include <stddef.h>

#include "hub_private.h"
#include "log.h"
#include "private.h"

/* Ends w because its user may no longer see its room. */
static int
hub_revoke(struct hub *h, struct waiter *w)
{
	const struct transport *t = hub_transports[w->kind];

	log_debug("hub: %s of a user no longer in room %s: cut off", t->name,
	    w->u.room->name);
	return t->revoke != NULL ? t->revoke(h, w) : t->expire(h, w);
}

/* Whether w's user may still see its room; a store failure keeps it (the
 * next look tries again). */
static bool
hub_may_stay(struct hub *h, const struct waiter *w)
{
	return private_check(h->store, w->u.room->name, w->user, NULL) !=
	    CHAT_E_NOT_FOUND;
}

/* Checks the waiters of room r, unless anyone may see it. */
static void
hub_access_room(struct hub *h, struct room *r)
{
	struct store_access a = { 0 };
	struct waiter *w, *next;
	size_t left = r->n;

	if (store_room_access(h->store, r->name, NULL, &a) != CHAT_OK ||
	    private_visible(r->name, &a))
		return;
	/* A waiter cut off may take the room with it: take the next one
	 * first, and stop after r->n of them (as hub_deliver does). */
	for (w = r->waiters; w != NULL && left > 0; w = next, left--) {
		next = w->next;
		if (!w->closing && !hub_may_stay(h, w))
			hub_revoke(h, w);
	}
}

void
hub_access_look(struct hub *h)
{
	int64_t v;

	if (store_access_version(h->store, &v) != CHAT_OK ||
	    v == h->access_version)
		return;
	h->access_version = v;
	for (size_t i = 0; i < ROOM_BUCKETS; i++) {
		struct room *r, *rnext;
		for (r = h->rooms.buckets[i]; r != NULL; r = rnext) {
			rnext = r->hnext;
			hub_access_room(h, r);
		}
	}
}

int
hub_access_file(struct hub *h, struct waiter *w)
{
	if (hub_may_stay(h, w))
		return 0;
	hub_revoke(h, w);
	return -1;
}
