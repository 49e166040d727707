/* hub_private.h - the hub's insides, shared by hub.c (the watcher:
 * parking, waking, fan-out) and waiter.c (one parked connection's life:
 * its timer, its writes, its end). Nothing else includes it. */
#ifndef HUB_PRIVATE_H
#define HUB_PRIVATE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hub.h"
#include "room.h"
#include "timer.h"
#include "transport.h"

#define CLOSE_GRACE_MS 5000     /* to flush a finished answer */
#define HUB_SOURCES_MAX 4

struct hub {
	struct store *store;
	struct presence *presence;   /* who is here (presence.h) */
	char *db_path;
	bool readonly;               /* started on read-only database files */
	int ep, wake, efd;          /* wake: store_wake_fd, owned by store */
	int stop_fd;                 /* hub_options.stop_fd */
	int keepalive_ms;
	int64_t last_seen;
	struct room_table rooms;
	struct timer_heap timers;    /* every filed waiter's next timer */
	pthread_mutex_t lock;        /* guards incoming only */
	struct waiter *incoming;
	pthread_t thread;
	_Atomic int64_t waiting[HUB__MAX], parked, delivered, dropped;
	_Atomic int64_t seen_max;
	int64_t access_version;      /* store_access_version, last read */
	struct hub_source {          /* hub_add_source */
		void (*ready)(struct hub *, void *);
		void *arg;
	} sources[HUB_SOURCES_MAX];
	_Atomic int nsources;
	_Atomic bool stopping;       /* hub_stop asked; the watcher acts */
	pthread_mutex_t stop_lock;   /* with stop_cond: hub_stop's wait */
	pthread_cond_t stop_cond;
	bool stopped;                /* the watcher has closed what it closes */
};

/* The transports, by kind (hub.c): the only list of them. */
extern const struct transport *const hub_transports[HUB__MAX];

/* The waiter around p, a pointer to its member m: epoll reports &conn,
 * the heap gives &timer. */
#define WAITER_OF(p, m) \
	((struct waiter *)(void *)((char *)(p) - offsetof(struct waiter, m)))

/* w's next timer: its deadline, or its idle (keepalive) time when that
 * comes first. A waiter's heap key never exceeds it. */
int64_t waiter_due(const struct waiter *w);

/* Frees w (the transport's release hook first), closing its connection,
 * giving back its limit handle and its place in who is here. Accepts
 * NULL. */
void waiter_free(struct hub *h, struct waiter *w);

/* Puts w on the list of room r. */
void waiter_link(struct waiter *w, struct room *r);

/* Writes what is pending. Returns 0, or -1 when w is gone. */
int waiter_flush(struct hub *h, struct waiter *w);

/* w's heap key has come: early (re-keyed), or time to expire, to give up
 * flushing, or to keep an idle stream alive. */
void waiter_timer(struct hub *h, struct waiter *w, int64_t now);

/* hub_access.c: private rooms. */

/* Reads the access version; when it moved, cuts off every waiter whose
 * user may no longer see its room. */
void hub_access_look(struct hub *h);

/* A waiter being filed was checked against an older access version:
 * checks it again. Returns 0 while w stays, -1 once it is cut off. */
int hub_access_file(struct hub *h, struct waiter *w);

#endif
