/* ws_conn.h - what a WebSocket connection carries besides its waiter, and
 * one send on its way from the watcher (which reads the client's frames,
 * transport_ws.c) to the thread that stores it (ws_accept.c) and back.
 * Both live on the watcher's thread but while a send is being stored. */
#ifndef WS_CONN_H
#define WS_CONN_H

#include <stdbool.h>

#include "chat.h"
#include "error.h"
#include "hub.h"
#include "identity.h"
#include "json.h"
#include "ws.h"

struct waiter;

/* Held by its waiter (waiter.priv) and by each of its sends in flight;
 * freed when the last of them lets go. Touched on the watcher's thread
 * only, once parked. */
struct ws_conn {
	struct waiter *w;              /* NULL once the hub dropped it */
	int refs;                      /* the waiter + sends in flight */
	struct ws_parser parser;
	char addr[64];                 /* the client's, for the limits */
	char user[CHAT_MAX_USER + 1];  /* identity_ws(), "" when anonymous */
};

/* One send: the watcher fills req and conn, the storing thread the
 * outcome; the watcher answers with ack or error and frees it. */
struct ws_send {
	struct ws_send *next;
	struct ws_conn *conn;          /* counted in conn->refs */
	char room[CHAT_MAX_ROOM + 1];
	struct send_request req;
	enum chat_error e;             /* outcome */
	struct chat_message m;         /* stored (or found by client_id) */
	bool created;
};

/* A new connection's state for a client at addr, authenticated as user
 * (NULL: anonymous), with one reference (the waiter's). NULL when out of
 * memory. */
struct ws_conn *ws_conn_new(const char *addr, const char *user,
    size_t max_message);

/* Drops one reference; frees c with the last. Accepts NULL. */
void ws_conn_put(struct ws_conn *c);

/* Frees a send and what it holds (not its conn). Accepts NULL. */
void ws_send_free(struct ws_send *s);

/* Hands a checked send to the storing thread (ws_accept.c). Returns 0, or
 * -1 when there is none (s is then the caller's). */
int ws_accept_submit(struct ws_send *s);

/* On the watcher's thread, for each send the storing thread is done with:
 * answers the client, if it is still there, and frees s. */
void transport_ws_done(struct hub *h, struct ws_send *s);

#endif
