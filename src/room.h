/* room.h - the watcher's table of the rooms that have parked requests: a
 * hash from room name to the room and its list of waiters. Only rooms
 * with waiters are in it, so a wakeup touches no room nobody waits in.
 * The watcher thread's alone: no locking. */
#ifndef ROOM_H
#define ROOM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "chat.h"

#define ROOM_BUCKETS 4096

struct waiter;

struct room {
	struct room *hnext;          /* the bucket's chain */
	struct waiter *waiters;      /* the hub's list (hub.c links it) */
	size_t n;                    /* waiters on it */
	int64_t presence_v;          /* version of presence_json, -1: none */
	bool presence_asked;         /* presence_want was called for it */
	struct buf presence_json;    /* json_presence of the room */
	char name[CHAT_MAX_ROOM + 1];
};

/* An empty table is all zeroes. */
struct room_table {
	struct room *buckets[ROOM_BUCKETS];
};

/* The room called name, or NULL when it is not in t (nobody waits in
 * it). name may be any string: a row's room read from the database. */
struct room *room_find(const struct room_table *t, const char *name);

/* The room called name (a validated room name), added to t without
 * waiters when it is not there yet. NULL when out of memory (t
 * unchanged). Give it back with room_release. */
struct room *room_get(struct room_table *t, const char *name);

/* Removes r from t and frees it when it has no waiters left; else does
 * nothing. */
void room_release(struct room_table *t, struct room *r);

#endif
