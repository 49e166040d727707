/* conn.h - the socket of one parked request: non-blocking writes of
 * FastCGI-framed response bytes (or raw bytes, for a WebSocket), a queue for what the socket does not
 * take at once (drained on EPOLLOUT, capped at CONN_MAX_PENDING), and the
 * socket's place in the watcher's epoll set. The same bytes can be sent
 * to many connections: conn_send frames them with one writev and copies
 * only what a socket leaves behind. Not thread-safe: the watcher owns
 * every conn once filed (conn_watch). The process must ignore SIGPIPE
 * (fcgi_init does): writev cannot be told MSG_NOSIGNAL. */
#ifndef CONN_H
#define CONN_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/* Unsent bytes past which a reader is given up on: a client that stops
 * reading is dropped (it resumes with Last-Event-ID) rather than grow. */
#define CONN_MAX_PENDING (256 * 1024)

struct conn {
	int fd;              /* non-blocking; -1 once closed */
	int request_id;      /* FastCGI request the records belong to */
	int ep;              /* epoll set fd is in, -1: none yet */
	bool want_out;       /* EPOLLOUT is asked for */
	struct buf out;      /* framed bytes not yet written */
	size_t out_off;      /* of them, already written */
};

/* What a write left. */
enum conn_status {
	CONN_SENT,      /* everything written, nothing pending */
	CONN_PENDING,   /* the rest is queued; EPOLLOUT calls for conn_flush */
	CONN_FAILED,    /* socket error, out of memory or over
	                 * CONN_MAX_PENDING: give up on the connection */
};

/* A request_id for a connection that carries bytes as they are (a
 * WebSocket after its handshake), not in FastCGI records. */
#define CONN_RAW (-1)

/* Starts c on fd (which c then owns: conn_close closes it). request_id:
 * the FastCGI request whose records carry the bytes, or CONN_RAW. */
void conn_init(struct conn *c, int fd, int request_id);

/* Queues data, framed, without writing (the first bytes of a request
 * being parked; conn_flush writes them). Returns 0, or -1 when out of
 * memory (c unchanged but for its buffer's oom flag; close it). */
int conn_queue(struct conn *c, const void *data, size_t len);

/* Adds fd to the epoll set ep for input (EPOLLIN | EPOLLRDHUP: a parked
 * request expects none, so readable means the peer closed or aborted) with
 * data.ptr = c. Returns 0, or -1 (errno set; c not in ep). */
int conn_watch(struct conn *c, int ep);

/* Sends data framed as response bytes, and the end of the response when
 * end is set, behind whatever is queued. */
enum conn_status conn_send(struct conn *c, const void *data, size_t len,
    bool end);

/* Writes what is queued (on EPOLLOUT, or after conn_queue). */
enum conn_status conn_flush(struct conn *c);

/* True while bytes wait for the socket. */
bool conn_pending(const struct conn *c);

/* Takes fd out of the epoll set, closes it and frees the queue. failed:
 * the response is cut short, so the peer is told with a shutdown too (a
 * plain close would not end the connection while another process holds
 * a copy of the descriptor). Accepts a conn that was never watched. */
void conn_close(struct conn *c, bool failed);

#endif
