/* presence.c - the presence thread of one worker process (presence.h):
 * writes the process's set to the shared tables when it changed (at most
 * once per PRESENCE_FLUSH_MS) and beats; looks for rooms whose presence
 * moved when the watcher says the database may have changed; reads the
 * rooms the watcher wants and hands their lists over through an eventfd.
 * Its own database connection, so that the watcher never waits for a
 * write. */
#include "presence.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "json.h"
#include "log.h"
#include "stats.h"

/* A room the watcher wants lists of. */
struct want {
	struct want *next;
	char room[CHAT_MAX_ROOM + 1];
	bool load;                   /* read it at the next turn */
};

struct presence {
	pthread_mutex_t lock;        /* guards everything below but store */
	pthread_cond_t cond;
	struct presence_set set;
	struct want *wants;
	struct presence_update *ready, **ready_tail;
	bool poked, stopping, stopped, full;
	int64_t last_write, last_check;
	int efd;
	struct store *store;         /* the thread's alone */
	int64_t seq;                 /* highest room version seen */
	char worker[96];
	pthread_t thread;
};

int
presence_fd(struct presence *p)
{
	return p->efd;
}

struct presence_entry *
presence_join(struct presence *p, const char *room, const char *name,
    bool verified)
{
	struct presence_entry *e;

	pthread_mutex_lock(&p->lock);
	e = presence_set_join(&p->set, room, name, verified, chat_now_ms());
	if (e != NULL && !e->stored)
		pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
	return e;
}

void
presence_leave(struct presence *p, struct presence_entry *e)
{
	if (e == NULL)
		return;
	pthread_mutex_lock(&p->lock);
	presence_set_leave(e, chat_mono_ms());
	pthread_mutex_unlock(&p->lock);
}

void
presence_poke(struct presence *p)
{
	pthread_mutex_lock(&p->lock);
	if (!p->poked) {
		p->poked = true;
		pthread_cond_signal(&p->cond);
	}
	pthread_mutex_unlock(&p->lock);
}

/* The want of room, or NULL. Called locked. */
static struct want **
want_find(struct presence *p, const char *room)
{
	struct want **w;

	for (w = &p->wants; *w != NULL; w = &(*w)->next)
		if (strcmp((*w)->room, room) == 0)
			return w;
	return w;
}

void
presence_want(struct presence *p, const char *room)
{
	struct want **w;

	pthread_mutex_lock(&p->lock);
	if (*(w = want_find(p, room)) == NULL &&
	    (*w = calloc(1, sizeof(**w))) != NULL)
		snprintf((*w)->room, sizeof((*w)->room), "%s", room);
	if (*w != NULL) {
		(*w)->load = true;
		pthread_cond_signal(&p->cond);
	} else
		log_warnx("presence_want: out of memory");
	pthread_mutex_unlock(&p->lock);
}

void
presence_unwant(struct presence *p, const char *room)
{
	struct want **w, *gone;

	pthread_mutex_lock(&p->lock);
	if ((gone = *(w = want_find(p, room))) != NULL) {
		*w = gone->next;
		free(gone);
	}
	pthread_mutex_unlock(&p->lock);
}

struct presence_update *
presence_take(struct presence *p)
{
	struct presence_update *u;
	uint64_t n;

	if (read(p->efd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_warn("presence_take: eventfd");
	pthread_mutex_lock(&p->lock);
	u = p->ready;
	p->ready = NULL;
	p->ready_tail = &p->ready;
	pthread_mutex_unlock(&p->lock);
	return u;
}

void
presence_update_free(struct presence_update *u)
{
	if (u == NULL)
		return;
	buf_free(&u->json);
	free(u);
}

enum chat_error
presence_read(struct store *s, const char *room, struct buf *b)
{
	struct chat_people people = { 0 };
	int64_t version = 0;
	enum chat_error e;

	e = store_presence_read(s, room, chat_now_ms() - PRESENCE_STALE_MS,
	    &people, &version);
	if (e == CHAT_OK && json_presence(b, room, version, &people) == -1)
		e = CHAT_E_INTERNAL;
	chat_people_clear(&people);
	return e;
}

/* --- the thread ------------------------------------------------------- */

/* Reads room and queues its list for the watcher. */
static void
presence_load(struct presence *p, const char *room)
{
	struct presence_update *u = calloc(1, sizeof(*u));
	struct chat_people people = { 0 };
	uint64_t one = 1;

	if (u == NULL)
		return;
	snprintf(u->room, sizeof(u->room), "%s", room);
	if (store_presence_read(p->store, room, chat_now_ms() -
	    PRESENCE_STALE_MS, &people, &u->version) != CHAT_OK ||
	    json_presence(&u->json, room, u->version, &people) == -1) {
		chat_people_clear(&people);
		presence_update_free(u);
		return;
	}
	chat_people_clear(&people);
	pthread_mutex_lock(&p->lock);
	*p->ready_tail = u;
	p->ready_tail = &u->next;
	pthread_mutex_unlock(&p->lock);
	if (write(p->efd, &one, sizeof(one)) < 0)
		log_warn("presence_load: eventfd");
}

/* Marks the wanted rooms among changed for loading. Called locked. */
static void
presence_mark(struct presence *p, const struct chat_room_list *changed)
{
	for (size_t i = 0; i < changed->n; i++) {
		struct want *w = *want_find(p, changed->v[i].name);
		if (w != NULL)
			w->load = true;
	}
}

/* Takes the rooms marked for loading, as a list of names. Called locked. */
static struct chat_room_list
presence_loads(struct presence *p)
{
	struct chat_room_list l = { 0 };

	for (struct want *w = p->wants; w != NULL; w = w->next)
		if (w->load && chat_room_list_push(&l, w->room) == 0)
			w->load = false;
	return l;
}

/* Writes c[0..n) (full: the whole set; leave: the worker goes). Returns
 * the outcome. */
static enum chat_error
presence_write(struct presence *p, struct presence_change *c, size_t n,
    bool full, bool leave, int64_t mono)
{
	struct store_presence_row *rows = n ? malloc(n * sizeof(*rows)) : NULL;
	int64_t now = chat_now_ms();
	struct store_presence_sync w = { .worker = p->worker, .now_ms = now,
	    .full = full, .leave = leave, .v = rows, .n = n };
	enum chat_error e;

	if (n > 0 && rows == NULL)
		return CHAT_E_INTERNAL;
	for (size_t i = 0; i < n; i++)
		rows[i] = c[i].row;
	/* The heartbeat's turn also clears away crashed workers. */
	if (mono >= p->last_write + PRESENCE_BEAT_MS)
		w.stale_ms = now - PRESENCE_STALE_MS;
	e = store_presence_sync(p->store, &w);
	stats_count(STATS_PRESENCE_WRITES, 1);
	free(rows);
	return e;
}

/* One turn, called locked and returning locked: what the set owes the
 * table, the rooms that moved, the lists the watcher waits for. */
static void
presence_turn(struct presence *p, int64_t mono)
{
	struct presence_change *c = NULL;
	struct chat_room_list changed = { 0 }, loads;
	bool write = mono >= p->last_write + PRESENCE_BEAT_MS ||
	    (mono >= p->last_write + PRESENCE_FLUSH_MS &&
	    (p->full || presence_set_pending(&p->set, mono)));
	bool full = p->full, failed = false, check = p->poked &&
	    mono >= p->last_check + PRESENCE_CHECK_MS;
	size_t n = 0;
	int64_t top = p->seq;

	if (write && presence_set_changes(&p->set, mono, full, &c, &n) == -1) {
		write = false;
		p->full = true;   /* the whole set, next turn */
	} else if (write) {
		p->full = false;
	}
	if (check)
		p->poked = false;
	pthread_mutex_unlock(&p->lock);
	if (write) {
		failed = presence_write(p, c, n, full, false, mono) != CHAT_OK;
		p->last_write = mono;
		check = true;   /* its own rooms moved */
	}
	free(c);
	if (check)
		store_presence_changed(p->store, p->seq, &changed, &top);
	pthread_mutex_lock(&p->lock);
	if (failed)
		p->full = true;   /* rewrite all of it next time */
	if (check) {
		p->last_check = mono;
		p->seq = top;
		presence_mark(p, &changed);
	}
	loads = presence_loads(p);
	pthread_mutex_unlock(&p->lock);
	for (size_t i = 0; i < loads.n; i++)
		presence_load(p, loads.v[i].name);
	chat_room_list_clear(&loads);
	chat_room_list_clear(&changed);
	pthread_mutex_lock(&p->lock);
}

/* Sleeps until the next turn is due, or something happens. */
static void
presence_sleep(struct presence *p, int64_t mono)
{
	int64_t until = mono + PRESENCE_TICK_MS;
	struct timespec ts;

	if (p->poked && p->last_check + PRESENCE_CHECK_MS < until)
		until = p->last_check + PRESENCE_CHECK_MS;
	if (until <= mono)
		return;
	chat_timespec_after(CLOCK_MONOTONIC, until - mono, &ts);
	pthread_cond_timedwait(&p->cond, &p->lock, &ts);
}

static void *
presence_main(void *arg)
{
	struct presence *p = arg;

	pthread_mutex_lock(&p->lock);
	while (!p->stopping) {
		presence_turn(p, chat_mono_ms());
		if (!p->stopping)
			presence_sleep(p, chat_mono_ms());
	}
	pthread_mutex_unlock(&p->lock);
	/* The worker ends: its people leave the shared table now rather
	 * than when its heartbeat goes stale. */
	presence_write(p, NULL, 0, false, true, chat_mono_ms());
	pthread_mutex_lock(&p->lock);
	p->stopped = true;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

struct presence *
presence_start(const struct store_options *o)
{
	struct presence *p = calloc(1, sizeof(*p));
	pthread_condattr_t ca;
	char host[33] = "";

	if (p == NULL)
		return NULL;
	pthread_mutex_init(&p->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->cond, &ca);
	pthread_condattr_destroy(&ca);
	p->ready_tail = &p->ready;
	p->last_write = chat_mono_ms() - PRESENCE_BEAT_MS;
	gethostname(host, sizeof(host) - 1);
	snprintf(p->worker, sizeof(p->worker), "%s:%ld:%lld", host,
	    (long)getpid(), (long long)chat_now_ms());
	if ((p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1 ||
	    (p->store = store_open(o)) == NULL ||
	    pthread_create(&p->thread, NULL, presence_main, p) != 0) {
		log_errorx("presence_start: cannot start the presence thread");
		store_free(p->store);
		if (p->efd != -1)
			close(p->efd);
		free(p);
		return NULL;
	}
	return p;
}

void
presence_stop(struct presence *p, int timeout_ms)
{
	struct timespec until;

	chat_timespec_after(CLOCK_MONOTONIC, timeout_ms, &until);
	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	pthread_cond_signal(&p->cond);
	while (!p->stopped &&
	    pthread_cond_timedwait(&p->cond, &p->lock, &until) == 0)
		;
	pthread_mutex_unlock(&p->lock);
}
