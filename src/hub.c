/* hub.c - parked requests and the watcher thread that answers them:
 * parking, waking and fan-out (each waiter's own life: waiter.c). */
#include "hub.h"

#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "batch.h"
#include "chat.h"
#include "conn.h"
#include "limit.h"
#include "log.h"
#include "presence.h"
#include "room.h"
#include "timer.h"
#include "hub_private.h"
#include "transport.h"

#define READ_BATCH 1000          /* rows per watcher read */
#define FALLBACK_MS 1000         /* look even when nobody said so */
#define RECHECK_MS 2             /* look again after an empty wakeup */
#define MAX_EVENTS 256
#define CATCH_UP_ROUNDS 10


/* epoll tags for the two non-waiter fds. */
static char tag_wake, tag_event;

/* The transports, by kind: the only place that lists them. */
const struct transport *const hub_transports[HUB__MAX] = {
	[HUB_LONGPOLL] = &transport_longpoll,
	[HUB_SSE] = &transport_sse,
	[HUB_WS] = &transport_ws,
};

/* --- fan-out: rows read once, encoded once, written to every waiter ---- */

/* Delivers rows (all of room r) to every waiter of r. */
static void
hub_deliver(struct hub *h, struct room *r, const struct chat_message *rows,
    size_t n)
{
	struct batch b;
	struct waiter *w, *next;
	size_t left = r->n;

	if (batch_init(&b, rows, n) == -1) {
		log_warnx("hub_deliver: out of memory");
		batch_free(&b);
		return;
	}
	/* A waiter may leave (and the room go with its last waiter) inside
	 * deliver: take the next one first, and stop after r->n of them. */
	for (w = r->waiters; w != NULL && left > 0; w = next, left--) {
		next = w->next;
		if (!w->closing)
			hub_transports[w->kind]->deliver(h, w, &b);
	}
	batch_free(&b);
}

/* Hands every room with waiters its rows of l, each room once. */
static void
hub_fan_out(struct hub *h, const struct chat_list *l)
{
	struct chat_message *mine = malloc(l->n * sizeof(*mine));
	bool *done = calloc(l->n, sizeof(*done));

	for (size_t i = 0; mine && done && i < l->n; i++) {
		struct room *r;
		size_t k = 0;
		if (done[i])
			continue;
		for (size_t j = i; j < l->n; j++)
			if (!done[j] && strcmp(l->v[j].room, l->v[i].room) == 0) {
				mine[k++] = l->v[j];
				done[j] = true;
			}
		if ((r = room_find(&h->rooms, l->v[i].room)) != NULL)
			hub_deliver(h, r, mine, k);
	}
	if (mine == NULL || done == NULL)
		log_warnx("hub_fan_out: out of memory");
	free(mine);
	free(done);
}

/* Reads the rows after last_seen once and fans them out. Returns true
 * when the newest id moved. */
static bool
hub_poll_db(struct hub *h)
{
	struct chat_list l = { 0 };
	bool moved = false;
	int64_t max;

	/* Nobody waits here: only the newest id matters (a request parked
	 * later compares its own read with it). */
	if (timer_count(&h->timers) == 0) {
		if (store_max_id(h->store, &max) != CHAT_OK || max == h->last_seen)
			return false;
		h->last_seen = max;
		atomic_store(&h->seen_max, max);
		return true;
	}
	while (store_read_after(h->store, h->last_seen, READ_BATCH, &l) ==
	    CHAT_OK && l.n > 0) {
		bool more = l.n == READ_BATCH;
		moved = true;
		hub_fan_out(h, &l);
		h->last_seen = l.v[l.n - 1].id;
		atomic_store(&h->seen_max, h->last_seen);
		chat_list_clear(&l);
		if (!more)
			break;
	}
	chat_list_clear(&l);
	return moved;
}

/* A new waiter may have missed rows between its own read and the
 * watcher's (the lost-wakeup race), or its backlog was cut short: read
 * for it alone. A stream that still has pending output goes on when it
 * drains (hub_waiter_event). */
static void
waiter_catch_up(struct hub *h, struct waiter *w)
{
	struct store_query q = { .before = -1 };
	struct chat_list l = { 0 };
	bool stream = hub_transports[w->kind]->stream;
	struct batch b;

	q.limit = stream ? READ_BATCH : w->limit;
	for (int round = 0; round < CATCH_UP_ROUNDS; round++) {
		int gone;
		q.since = w->cursor;
		if (store_read(h->store, w->u.room->name, &q, &l, NULL) !=
		    CHAT_OK || l.n == 0) {
			w->behind = false;
			break;
		}
		w->behind = stream && l.n == (size_t)q.limit;
		gone = batch_init(&b, l.v, l.n) == -1 ? 0 :
		    hub_transports[w->kind]->deliver(h, w, &b);
		batch_free(&b);
		chat_list_clear(&l);
		if (gone || !w->behind || conn_pending(&w->conn))
			break;
	}
	chat_list_clear(&l);
}

/* --- who is here: lists to the connections that asked ----------------- */

/* Sends room r's presence list to w when w asked for lists and has an
 * older one. Returns 0 while w stays, -1 once it is gone or finished. */
static int
hub_presence_to(struct hub *h, struct waiter *w, struct room *r)
{
	int64_t v = r->presence_v;

	if (w->presence_v < 0 || w->closing || v <= w->presence_v)
		return 0;
	w->presence_v = v;
	return hub_transports[w->kind]->presence(h, w, r->presence_json.data,
	    r->presence_json.len);
}

/* The presence thread has lists ready: each room's goes to its waiters
 * that asked; a room nobody waits in any more is no longer wanted. */
static void
hub_presence_ready(struct hub *h, void *arg)
{
	struct presence_update *u = presence_take(h->presence), *next;

	(void)arg;
	for (; u != NULL; u = next) {
		struct room *r = room_find(&h->rooms, u->room);
		struct waiter *w, *wnext;
		size_t left;
		next = u->next;
		if (r == NULL) {
			presence_unwant(h->presence, u->room);
		} else if (u->version >= r->presence_v) {
			struct buf old = r->presence_json;
			r->presence_json = u->json;
			u->json = old;
			r->presence_v = u->version;
			/* As in hub_deliver: a waiter may leave meanwhile. */
			left = r->n;
			for (w = r->waiters; w != NULL && left > 0; w = wnext,
			    left--) {
				wnext = w->next;
				hub_presence_to(h, w, r);
			}
		}
		presence_update_free(u);
	}
}

/* --- the watcher -------------------------------------------------------- */

/* Files a waiter handed over by hub_park under its room. */
static void
hub_file(struct hub *h, struct waiter *w)
{
	struct room *r = room_get(&h->rooms, w->u.name);

	free(w->u.name);
	w->u.room = NULL;
	if (r == NULL ||
	    timer_push(&h->timers, &w->timer, waiter_due(w)) == -1) {
		if (r)
			room_release(&h->rooms, r);
		atomic_fetch_sub(&h->waiting[w->kind], 1);
		waiter_free(h, w);
		return;
	}
	waiter_link(w, r);
	if (conn_watch(&w->conn, h->ep) == -1) {
		log_warn("hub_file: epoll_ctl");
		hub_drop(h, w, true);
		return;
	}
	if (waiter_flush(h, w) == -1)
		return;
	if (w->access_version < h->access_version &&
	    hub_access_file(h, w) == -1)
		return;
	if (w->presence_v >= 0 && !r->presence_asked) {
		presence_want(h->presence, r->name);
		r->presence_asked = true;
	} else if (hub_presence_to(h, w, r) == -1) {
		return;
	}
	if (w->seen < h->last_seen || w->behind)
		waiter_catch_up(h, w);
}

/* The worker is ending: streams whose transport says so are closed
 * properly (a WebSocket with 1001) rather than cut when the process ends.
 * Writes are non-blocking: what a socket does not take is lost with the
 * process, and the client resumes from its cursor either way. */
static void
hub_close_all(struct hub *h)
{
	for (size_t i = 0; i < ROOM_BUCKETS; i++) {
		struct room *r, *rnext;
		for (r = h->rooms.buckets[i]; r != NULL; r = rnext) {
			struct waiter *w, *next;
			size_t left = r->n;
			rnext = r->hnext;
			for (w = r->waiters; w != NULL && left > 0; w = next,
			    left--) {
				next = w->next;
				if (!w->closing && hub_transports[w->kind]->close_on_stop)
					hub_transports[w->kind]->expire(h, w);
			}
		}
	}
	pthread_mutex_lock(&h->stop_lock);
	h->stopped = true;
	pthread_cond_signal(&h->stop_cond);
	pthread_mutex_unlock(&h->stop_lock);
}

void
hub_stop(struct hub *h, int timeout_ms)
{
	struct timespec until;
	uint64_t one = 1;

	chat_timespec_after(CLOCK_REALTIME, timeout_ms, &until);
	presence_stop(h->presence, timeout_ms);
	atomic_store(&h->stopping, true);
	if (write(h->efd, &one, sizeof(one)) < 0)
		log_warn("hub_stop: eventfd");
	pthread_mutex_lock(&h->stop_lock);
	while (!h->stopped &&
	    pthread_cond_timedwait(&h->stop_cond, &h->stop_lock, &until) == 0)
		;
	pthread_mutex_unlock(&h->stop_lock);
}

static void
hub_take_incoming(struct hub *h)
{
	struct waiter *w, *next;

	pthread_mutex_lock(&h->lock);
	w = h->incoming;
	h->incoming = NULL;
	pthread_mutex_unlock(&h->lock);
	for (; w != NULL; w = next) {
		next = w->next;
		hub_file(h, w);
	}
}

static void
drain(int fd)
{
	char b[4096];

	while (read(fd, b, sizeof(b)) > 0)
		;
}

static void
hub_waiter_event(struct hub *h, struct waiter *w, uint32_t events)
{
	const struct transport *t = hub_transports[w->kind];
	bool input = events & (EPOLLIN | EPOLLRDHUP);

	/* Without a read side a parked request expects no input: anything
	 * readable is the web server closing (client gone) or aborting the
	 * request. */
	if ((events & (EPOLLHUP | EPOLLERR)) || (input && !t->on_readable)) {
		hub_drop(h, w, false);
		return;
	}
	if (input && t->on_readable(h, w) == -1)
		return;
	if ((events & EPOLLOUT) && waiter_flush(h, w) == 0 &&
	    !conn_pending(&w->conn) && w->behind)
		waiter_catch_up(h, w);
}

static int
hub_timeout(struct hub *h, int64_t now, int64_t fallback, int64_t recheck)
{
	int64_t next = fallback;
	struct timer *t = timer_first(&h->timers);

	if (recheck && recheck < next)
		next = recheck;
	if (t != NULL && t->due < next)
		next = t->due;
	return next <= now ? 0 : (int)(next - now);
}

/* A process that opened its database while the files could not be
 * written is stuck read-only (store_readonly): once they can be written
 * again, the worker (which owns the process) is asked to end it, and the
 * web server (or systemd) starts a fresh worker that can send. Its waiting
 * clients resume from their last id. */
static void
hub_check_writable(struct hub *h)
{
	uint64_t one = 1;

	if (!store_writable(h->db_path))
		return;
	log_warnx("hub: %s can be written again; this worker exits so that "
	    "a new one, which can store messages, takes its place",
	    h->db_path);
	h->readonly = false;
	if (h->stop_fd >= 0 && write(h->stop_fd, &one, sizeof(one)) < 0)
		log_warn("hub_check_writable: stop_fd");
}

static void *
hub_main(void *arg)
{
	struct hub *h = arg;
	struct epoll_event evs[MAX_EVENTS];
	int64_t now = chat_mono_ms(), fallback = now + FALLBACK_MS, recheck = 0;
	int64_t rw_check = fallback;
	bool access = false;   /* a drain said access may have changed */
	struct timer *t;

	for (;;) {
		struct hub_source *ready[HUB_SOURCES_MAX];
		size_t n_ready = 0;
		bool look = false, told = false;
		int n = epoll_wait(h->ep, evs, MAX_EVENTS,
		    hub_timeout(h, now, fallback, recheck));
		for (int i = 0; i < n; i++) {
			void *p = evs[i].data.ptr;
			if (p == &tag_wake) {
				access |= store_wake_drain(h->store);
				told = true;
			} else if (p == &tag_event) {
				drain(h->efd);
				hub_take_incoming(h);
				if (atomic_load(&h->stopping) && !h->stopped)
					hub_close_all(h);
			} else if (p >= (void *)h->sources && p <
			    (void *)(h->sources + HUB_SOURCES_MAX)) {
				assert(n_ready < HUB_SOURCES_MAX);
				ready[n_ready++] = p;
			} else
				hub_waiter_event(h, WAITER_OF(p, conn),
				    evs[i].events);
		}
		/* After the batch: a source may drop waiters (a write that
		 * fails) whose events are still in it. */
		for (size_t i = 0; i < n_ready; i++)
			ready[i]->ready(h, ready[i]->arg);
		now = chat_mono_ms();
		look = told || now >= fallback || (recheck && now >= recheck);
		if (h->readonly && now >= rw_check) {
			hub_check_writable(h);
			rw_check = now + FALLBACK_MS;
		}
		if (look) {
			bool moved;
			/* The fallback looks at everything: the safety net for
			 * wake-ups lost or never sent (no LISTEN connection). */
			if (now >= fallback) {
				store_wake_drain(h->store);
				access = true;
			}
			moved = hub_poll_db(h);
			/* Read in the same pass as the drain that asked for it,
			 * so that a member removed is cut off at once; on
			 * PostgreSQL a message's wake-up skips it (one round
			 * trip less). */
			if (access)
				hub_access_look(h);
			presence_poke(h->presence);
			recheck = told && !moved ? now + RECHECK_MS : 0;
			/* The recheck looks again at what the wake-up asked. */
			access = access && recheck != 0;
			fallback = now + FALLBACK_MS;
		}
		while ((t = timer_first(&h->timers)) != NULL && t->due <= now)
			waiter_timer(h, WAITER_OF(t, timer), now);
	}
	return NULL;
}

/* Listens for the hub's eventfd and the store's wake-ups. Without a wake
 * descriptor (store_wake_fd says why) the watcher still works, on its
 * fallback timer: messages then reach waiting clients within FALLBACK_MS.
 * Returns -1 only when the watcher cannot run at all. */
static int
hub_watch(struct hub *h)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &tag_event };

	if (epoll_ctl(h->ep, EPOLL_CTL_ADD, h->efd, &ev) == -1)
		return -1;
	ev.data.ptr = &tag_wake;
	if ((h->wake = store_wake_fd(h->store)) >= 0 &&
	    epoll_ctl(h->ep, EPOLL_CTL_ADD, h->wake, &ev) == -1) {
		log_warn("hub_watch: messages reach waiting clients within %d "
		    "ms instead of at once", FALLBACK_MS);
		h->wake = -1;
	}
	return 0;
}

struct hub *
hub_start(const struct hub_options *o)
{
	struct hub *h = calloc(1, sizeof(*h));

	if (h == NULL)
		return NULL;
	h->wake = h->ep = h->efd = -1;
	h->keepalive_ms = o->keepalive_s * 1000;
	h->stop_fd = o->stop_fd;
	for (int k = 0; k < HUB__MAX; k++)
		assert(hub_transports[k] && hub_transports[k]->deliver &&
		    hub_transports[k]->expire && hub_transports[k]->presence);
	pthread_mutex_init(&h->lock, NULL);
	pthread_mutex_init(&h->stop_lock, NULL);
	pthread_cond_init(&h->stop_cond, NULL);
	if ((h->store = store_open(&o->store)) == NULL ||
	    store_max_id(h->store, &h->last_seen) != CHAT_OK ||
	    store_access_version(h->store, &h->access_version) != CHAT_OK)
		goto fail;
	atomic_store(&h->seen_max, h->last_seen);
	if ((h->readonly = store_readonly(h->store)))
		log_warnx("hub_start: %s cannot be written: sends answer 503 "
		    "until it can", o->store.path);
	if ((h->db_path = strdup(o->store.path)) == NULL)
		goto fail;
	h->ep = epoll_create1(EPOLL_CLOEXEC);
	h->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (h->ep < 0 || h->efd < 0 || hub_watch(h) == -1)
		goto fail;
	if ((h->presence = presence_start(&o->store)) == NULL)
		goto fail;
	if (pthread_create(&h->thread, NULL, hub_main, h) != 0)
		goto fail;
	if (hub_add_source(h, presence_fd(h->presence), hub_presence_ready,
	    NULL) == -1)
		return NULL;   /* the watcher runs: as hub_add_source's caller */
	return h;
fail:
	log_errorx("hub_start: cannot start the watcher");
	store_free(h->store);
	if (h->ep >= 0)
		close(h->ep);
	if (h->efd >= 0)
		close(h->efd);
	free(h->db_path);
	free(h);
	return NULL;
}

/* How long a parked connection may go unwritten (its on_timer then):
 * the keepalive interval, shorter for a person's long-poll or stream so
 * that a client that left is noticed on every front end (presence.h). */
static int
hub_idle_ms(const struct hub *h, enum hub_kind kind, bool person)
{
	int probe = person ? PRESENCE_PROBE_MS : LONGPOLL_PROBE_MS;

	if (kind == HUB_LONGPOLL)
		return probe;
	if (kind == HUB_SSE && person && probe < h->keepalive_ms)
		return probe;
	return h->keepalive_ms;
}

int
hub_park(struct hub *h, const struct hub_park_req *r)
{
	char *name = strdup(r->room);
	struct waiter *w = name ? malloc(sizeof(*w)) : NULL;
	uint64_t one = 1;
	bool was_empty;

	assert((unsigned)r->kind < HUB__MAX);
	if (w == NULL) {
		struct waiter gone = { .kind = r->kind, .priv = r->priv };
		if (hub_transports[r->kind]->release != NULL)
			hub_transports[r->kind]->release(&gone);
		free(name);
		close(r->fd);
		limit_wait_release(r->limit_handle);
		log_warnx("hub_park: out of memory");
		return -1;
	}
	*w = (struct waiter){ .u.name = name, .kind = r->kind,
	    .limit = r->limit, .limit_handle = r->limit_handle,
	    .behind = r->behind, .cursor = r->cursor, .seen = r->seen,
	    .end = r->deadline_ms, .last_write = chat_mono_ms(),
	    .idle_ms = hub_idle_ms(h, r->kind, r->person != NULL),
	    .presence_v = r->presence, .priv = r->priv,
	    .access_version = r->access_version };
	conn_init(&w->conn, r->fd, r->request_id);
	if ((r->verified && (w->user = strdup(r->person)) == NULL) ||
	    (r->initial && conn_queue(&w->conn, r->initial->data,
	    r->initial->len) == -1)) {
		free(w->u.name);
		waiter_free(h, w);
		log_warnx("hub_park: out of memory");
		return -1;
	}
	if (r->person != NULL)
		w->person = presence_join(h->presence, r->room, r->person,
		    r->verified);
	atomic_fetch_add(&h->waiting[w->kind], 1);
	atomic_fetch_add(&h->parked, 1);
	pthread_mutex_lock(&h->lock);
	was_empty = h->incoming == NULL;
	w->next = h->incoming;
	h->incoming = w;
	pthread_mutex_unlock(&h->lock);
	if (was_empty && write(h->efd, &one, sizeof(one)) < 0)
		log_warn("hub_park: eventfd");
	return 0;
}

int
hub_add_source(struct hub *h, int fd, void (*ready)(struct hub *, void *),
    void *arg)
{
	int i = atomic_fetch_add(&h->nsources, 1);
	struct epoll_event ev = { .events = EPOLLIN };

	if (i >= HUB_SOURCES_MAX) {
		log_errorx("hub_add_source: more than %d", HUB_SOURCES_MAX);
		return -1;
	}
	h->sources[i] = (struct hub_source){ ready, arg };
	ev.data.ptr = &h->sources[i];
	if (epoll_ctl(h->ep, EPOLL_CTL_ADD, fd, &ev) == -1) {
		log_error("hub_add_source: epoll_ctl");
		return -1;
	}
	return 0;
}

int64_t
hub_seen(struct hub *h)
{
	return atomic_load(&h->seen_max);
}

void
hub_stats(struct hub *h, struct hub_stats *out)
{
	for (int k = 0; k < HUB__MAX; k++)
		out->waiting[k] = atomic_load(&h->waiting[k]);
	out->parked = atomic_load(&h->parked);
	out->delivered = atomic_load(&h->delivered);
	out->dropped = atomic_load(&h->dropped);
	out->last_id = atomic_load(&h->seen_max);
}
