/* transport.h - how a ready batch reaches one parked request. Long-poll
 * and SSE differ only there: each lives in a file of its own
 * (transport_longpoll.c, transport_sse.c, transport_ws.c) and exports one
 * struct
 * transport, and hub.c's table, indexed by enum hub_kind, is the only
 * place that lists them. The waiting itself (rooms, timers, the socket,
 * catching up) is the hub's and the same for every transport. */
#ifndef TRANSPORT_H
#define TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "batch.h"
#include "conn.h"
#include "hub.h"
#include "timer.h"

struct room;

/* One parked request. The hub owns it from hub_park until it drops it; a
 * transport reads it, moves cursor, and neither frees nor keeps it. */
struct waiter {
	struct waiter *prev, *next;  /* room list, or the incoming queue */
	union {
		struct room *room;   /* once the watcher filed it */
		char *name;          /* while on the incoming queue */
	} u;
	struct conn conn;            /* epoll's data.ptr is &conn */
	enum hub_kind kind;
	int limit;                   /* long-poll: most messages answered */
	int limit_handle;            /* see limit_wait_acquire */
	bool behind;                 /* a stream's backlog is not all sent */
	bool closing;                /* the end is written; draining */
	bool half_closed;            /* a stream with a read side wrote its
	                              * end and reads until the peer's */
	int64_t cursor;              /* delivered: every id <= cursor */
	int64_t seen;                /* newest id the parking read saw */
	int64_t end;                 /* mono ms deadline, 0: none */
	int64_t last_write;          /* mono ms */
	struct timer timer;          /* key <= the real next timer */
	int idle_ms;                 /* on_timer after this long unwritten */
	struct presence_entry *person;  /* counted as present, or NULL */
	int64_t presence_v;          /* presence version the client has, -1:
	                              * it wants no presence lists */
	void *priv;                  /* the transport's own state, or NULL */
	char *user;                  /* who waits, NULL: anonymous */
	int64_t access_version;      /* when its room's access was checked */
};

/* A transport's hooks. Each returns 0 while w stays, or -1 once it is
 * gone (dropped) or finished (its end written, maybe still draining):
 * after -1 the caller does not touch w again. */
struct transport {
	const char *name;            /* as in logs */
	/* The response stays open across deliveries (SSE; WebSocket to
	 * come): the hub catches a stream up in rounds and keeps it after
	 * each. false: one answer of at most w->limit messages ends it. */
	bool stream;
	/* The worker ending calls expire first (hub_stop): a WebSocket's
	 * close frame, 1001. false: the connection is cut with the process,
	 * and the client resumes from its cursor. */
	bool close_on_stop;
	/* Writes what b (rows of w's room) has after w->cursor, if
	 * anything. Not called once w is closing. */
	int (*deliver)(struct hub *h, struct waiter *w, struct batch *b);
	/* w's deadline has come (long-poll hold, stream lifetime): ends the
	 * response with hub_send(..., true). A worker that stops would end
	 * its streams here too (a WebSocket's close frame). */
	int (*expire)(struct hub *h, struct waiter *w);
	/* Optional: w's user may no longer see its room (a private room's
	 * member removed): ends w as its transport says so. NULL: expire. */
	int (*revoke)(struct hub *h, struct waiter *w);
	/* Sends the room's presence list p[0..len) (json_presence) to w,
	 * which asked for it: a long-poll's answer (which ends it), an SSE
	 * presence event, a WebSocket presence frame. */
	int (*presence)(struct hub *h, struct waiter *w, const char *p,
	    size_t len);
	/* Optional: w has written nothing for w->idle_ms (the keepalive
	 * interval, shorter for a person: presence.h): an SSE comment, a
	 * WebSocket ping, a long-poll's space. The hub re-arms the timer
	 * after 0. NULL: no idle timer. */
	int (*on_timer)(struct hub *h, struct waiter *w);
	/* Optional: w's socket has input or the peer closed (EPOLLIN,
	 * EPOLLRDHUP): reads it (WebSocket frames from the client), and
	 * drops w at end of input. NULL: a parked request expects no input,
	 * so this is the web server closing or aborting the request, and
	 * the hub drops w. */
	int (*on_readable)(struct hub *h, struct waiter *w);
	/* Optional: w is about to be freed (dropped, or never filed); frees
	 * or lets go of w->priv. w's connection may already be closed. */
	void (*release)(struct waiter *w);
};

extern const struct transport transport_longpoll, transport_sse, transport_ws;

/* What hub.c offers the transports. */

/* Sends data to w, and the end of the response when end is set (w then
 * has a grace period to drain, and is dropped once drained or at its
 * end). What the socket does not take now is written when it can. Returns
 * 0, or -1 when w is gone or finished. */
int hub_send(struct hub *h, struct waiter *w, const char *data, size_t len,
    bool end);

/* Forgets w and closes its connection: answered, gone, or failed (the
 * web server then ends the response; the client resumes from its last
 * id). w is freed. */
void hub_drop(struct hub *h, struct waiter *w, bool failed);

/* Counts n messages delivered (GET /api/stats). */
void hub_count_delivered(struct hub *h, size_t n);

#endif
