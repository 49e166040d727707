/* waiter.c - one parked connection's life in the hub: its timer (deadline
 * or keepalive), its non-blocking writes, its end (answered, gone, too
 * slow), and its place on its room's list. The watcher's thread only. */
#include <assert.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "chat.h"
#include "conn.h"
#include "hub_private.h"
#include "limit.h"
#include "presence.h"

/* A waiter's timer key never exceeds its real next timer: writes push an
 * idle timer (an SSE keepalive) later without touching the heap, and
 * waiter_timer re-keys a waiter that pops early. */
int64_t
waiter_due(const struct waiter *w)
{
	int64_t due = w->end ? w->end : INT64_MAX;

	if (hub_transports[w->kind]->on_timer != NULL && !w->closing &&
	    w->last_write + w->idle_ms < due)
		due = w->last_write + w->idle_ms;
	return due;
}

/* Sets w's key to its real next timer. */
static void
waiter_rekey(struct hub *h, struct waiter *w)
{
	timer_rekey(&h->timers, &w->timer, waiter_due(w));
}

void
waiter_free(struct hub *h, struct waiter *w)
{
	if (w == NULL)
		return;
	presence_leave(h->presence, w->person);
	if (hub_transports[w->kind]->release != NULL)
		hub_transports[w->kind]->release(w);
	conn_close(&w->conn, false);
	limit_wait_release(w->limit_handle);
	free(w->user);
	free(w);
}

/* Puts w on the list of room r. */
void
waiter_link(struct waiter *w, struct room *r)
{
	w->u.room = r;
	w->prev = NULL;
	w->next = r->waiters;
	if (r->waiters)
		r->waiters->prev = w;
	r->waiters = w;
	r->n++;
}

/* Takes w off its room's list (the room stays until room_release). */
static void
waiter_unlink(struct waiter *w)
{
	struct room *r = w->u.room;

	assert(r->n > 0 && (w->prev == NULL) == (r->waiters == w));
	if (w->prev)
		w->prev->next = w->next;
	else
		r->waiters = w->next;
	if (w->next)
		w->next->prev = w->prev;
	r->n--;
}

/* Also for the hub itself: after an answer, a client gone, a failure. */
void
hub_drop(struct hub *h, struct waiter *w, bool failed)
{
	struct room *r = w->u.room;

	conn_close(&w->conn, failed);
	waiter_unlink(w);
	timer_remove(&h->timers, &w->timer);
	atomic_fetch_sub(&h->waiting[w->kind], 1);
	if (failed)
		atomic_fetch_add(&h->dropped, 1);
	room_release(&h->rooms, r);
	waiter_free(h, w);
}

/* Acts on what a write left: a failed connection is dropped, and so is a
 * finished answer once all of it is written. Returns 0 while w stays, -1
 * once it is gone. */
static int
waiter_wrote(struct hub *h, struct waiter *w, enum conn_status st)
{
	if (st == CONN_SENT && w->closing &&
	    hub_transports[w->kind]->on_readable != NULL) {
		/* A WebSocket's close frame is out. Closing the socket now,
		 * with the client's last bytes unread, would send a reset that
		 * can overtake the close frame (the client then sees 1006): say
		 * we are done (FIN) and read on until the client closes too,
		 * or the grace period ends. */
		if (!w->half_closed && shutdown(w->conn.fd, SHUT_WR) == 0)
			w->half_closed = true;
		return 0;
	}
	if (st == CONN_FAILED || (st == CONN_SENT && w->closing)) {
		hub_drop(h, w, st == CONN_FAILED);
		return -1;
	}
	return 0;
}

/* Writes what is pending. Returns 0, or -1 when w is gone. */
int
waiter_flush(struct hub *h, struct waiter *w)
{
	return waiter_wrote(h, w, conn_flush(&w->conn));
}

int
hub_send(struct hub *h, struct waiter *w, const char *data, size_t len,
    bool end)
{
	w->last_write = chat_mono_ms();
	if (end) {
		/* A finished answer gets a grace period to drain. */
		w->closing = true;
		w->end = w->last_write + CLOSE_GRACE_MS;
		waiter_rekey(h, w);
	}
	return waiter_wrote(h, w, conn_send(&w->conn, data, len, end)) == -1 ||
	    end ? -1 : 0;
}

void
hub_count_delivered(struct hub *h, size_t n)
{
	atomic_fetch_add(&h->delivered, (int64_t)n);
}

/* w's timer key has come: it may only be early (a write moved the real
 * time on), or it is time to expire, to give up flushing, or to keep an
 * idle stream alive. */
void
waiter_timer(struct hub *h, struct waiter *w, int64_t now)
{
	if (waiter_due(w) > now) {
		waiter_rekey(h, w);
		return;
	}
	if (w->closing) {
		hub_drop(h, w, true);   /* could not drain in time */
		return;
	}
	if (w->end && now >= w->end) {
		hub_transports[w->kind]->expire(h, w);
		return;
	}
	assert(hub_transports[w->kind]->on_timer != NULL);   /* see waiter_due */
	if (hub_transports[w->kind]->on_timer(h, w) == 0)
		waiter_rekey(h, w);
}
