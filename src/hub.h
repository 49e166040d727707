/* hub.h - waiting and waking. Long-polls with nothing to say yet and
 * Server-Sent Event streams are parked here; one watcher thread per process
 * owns every parked connection, learns that the database's newest id moved
 * (inotify on the notify file that store_append touches, a short re-check,
 * a 1 s fallback for writers that never touch it), reads the new rows once,
 * encodes them once (batch.c) and writes them to every waiter with
 * non-blocking writes (conn.c), each in the way of its transport
 * (transport.h). No thread, and no process, per waiting client. The hub
 * lives as long as its process: there is no hub_stop.
 *
 * Private rooms: when a wake-up may concern access (store_wake_drain
 * says so: on SQLite always, on PostgreSQL for the access trigger's
 * NOTIFY) and on its fallback timer, the watcher also reads the access
 * version (store_access_version); when it moved, every waiter of a room
 * that is now hidden from its user (private.h) is cut off at once: a
 * long-poll answered empty (its next poll gets 404), an SSE stream
 * ended, a WebSocket closed with 4404 (hub_access.c). */
#ifndef HUB_H
#define HUB_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "store.h"

/* How a parked request is answered; hub.c's table maps each kind to its
 * transport. */
enum hub_kind { HUB_LONGPOLL, HUB_SSE, HUB_WS, HUB__MAX };

struct hub;

struct hub_options {
	struct store_options store;  /* the watcher's own connection */
	int keepalive_s;             /* SSE comment after this much idle */
	int stop_fd;                 /* an eventfd the hub adds 1 to when this
	                              * worker should end and be replaced (its
	                              * database, read-only at start, can be
	                              * written again); -1: none. Not closed. */
};

/* Opens the watcher's database connection, reads the newest id and starts
 * the watcher thread. Returns NULL on failure (logged; nothing is left
 * open). */
struct hub *hub_start(const struct hub_options *o);

/* A request to park. The hub takes ownership of fd (a released FastCGI
 * connection, or a WebSocket after its handshake; non-blocking) in every
 * case: it closes it on failure. */
struct hub_park_req {
	enum hub_kind kind;
	int fd;
	int request_id;          /* FastCGI request, or CONN_RAW (WebSocket) */
	const char *room;        /* validated room name (copied) */
	int64_t cursor;          /* deliver messages with id > cursor */
	int limit;               /* long-poll: most messages in the answer */
	int64_t seen;            /* newest database id the caller's read saw */
	bool behind;             /* SSE: the caller's backlog read was cut
	                          * short; the watcher reads on */
	int64_t deadline_ms;     /* chat_mono_ms() time to give up (long-poll)
	                          * or end the stream (SSE); 0: never */
	const struct buf *initial;  /* response bytes to send first (copied) */
	int limit_handle;        /* from limit_wait_acquire; the hub gives it
	                          * back when the request ends */
	const char *person;      /* who this connection is (a user, or an
	                          * anonymous page's nick): counted as
	                          * present in room while parked; NULL:
	                          * nobody */
	bool verified;           /* person is the user the web server
	                          * authenticated (identity.h): who waits,
	                          * for private rooms; else anonymous */
	int64_t presence;        /* >= 0: the client wants the room's
	                          * presence list whenever its version is
	                          * above this one (presence.h); -1: not */
	void *priv;              /* the transport's own state (WebSocket):
	                          * the hub hands it to the transport's
	                          * release hook in every case, failure too */
	int64_t access_version;  /* store_access_version when the caller
	                          * checked the room (private.h): a waiter
	                          * checked before a change of members is
	                          * checked again when filed */
};

/* Hands a connection to the watcher, from any thread. Returns 0, or -1
 * when out of memory (fd closed, limit_handle given back). r and what it
 * points to stay the caller's. */
int hub_park(struct hub *h, const struct hub_park_req *r);

/* Has the watcher call ready(h, arg) on its own thread whenever fd (which
 * stays the caller's, and must outlive the hub) is readable: how another
 * thread hands results back to the connections the watcher owns. Call
 * before any connection of that kind is parked. Returns 0, or -1 (logged). */
int hub_add_source(struct hub *h, int fd, void (*ready)(struct hub *, void *),
    void *arg);

/* The worker is ending: has the watcher close every stream whose transport
 * closes at shutdown (a WebSocket, with 1001), and waits until it has, at
 * most timeout_ms. Call once, from the thread that ends the process. */
void hub_stop(struct hub *h, int timeout_ms);

/* The newest id the watcher has read (from any thread). No row with an id
 * at or below it is still to come, so a long-poll asking from it or past
 * it can park without a read of its own: a newer row reaches it through
 * the watcher (api_read). */
int64_t hub_seen(struct hub *h);

/* Counters for monitoring; all since start, waiting ones current. Read
 * from any thread. */
struct hub_stats {
	int64_t waiting[HUB__MAX];
	int64_t parked;        /* requests ever parked */
	int64_t delivered;     /* messages written to waiters */
	int64_t dropped;       /* waiters dropped: gone, slow or failed */
	int64_t last_id;       /* newest id the watcher has seen */
};
void hub_stats(struct hub *h, struct hub_stats *out);

#endif
