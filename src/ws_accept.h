/* ws_accept.h - the WebSocket door of one worker process. The web server
 * proxies each upgrade request (GET /api/rooms/{room}/ws) as plain
 * HTTP/1.1 to a unix socket of the worker (FCGICHAT_WS_SOCKETS: every
 * process takes the first free one, held with an flock while it lives).
 * One thread per process accepts them, checks each as api.c checks a
 * request (room, query, Origin, the per-address waiting limit), answers
 * 101 with the backlog after the cursor, and parks the socket with the hub
 * (transport_ws.c takes over). The same thread stores the sends that
 * parked WebSockets receive, on its own database connection (sharing the
 * group commit of store_append), and hands each outcome back to the
 * watcher. */
#ifndef WS_ACCEPT_H
#define WS_ACCEPT_H

#include "config.h"
#include "hub.h"

/* Takes a free socket of cfg->ws_sockets and starts the thread. Without
 * FCGICHAT_WS_SOCKETS, or when every socket is taken by another process,
 * it starts nothing and returns 0 (logged): this process then serves no
 * WebSocket. cfg and hub must outlive the process. Returns -1 (logged)
 * only when it took a socket but cannot serve it. Call once. */
int ws_accept_start(const struct config *cfg, struct hub *hub);

/* The socket path this process serves, or NULL. */
const char *ws_accept_path(void);

#endif
