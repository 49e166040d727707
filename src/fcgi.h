/* fcgi.h - the only module that knows libfcgi: accepts FastCGI requests,
 * gives their parameters and body, answers them, and hands a connection
 * over (fd + request id) when a request is parked, after which the hub
 * writes raw FastCGI records with the helpers below. */
#ifndef FCGI_H
#define FCGI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct fcgi_req;

/* Initialises libfcgi once, before threads start, and returns the socket to
 * accept on: bind_path (a unix socket path, or ":port"/"host:port" for TCP)
 * when not NULL, else the socket systemd passed (LISTEN_FDS), else the one
 * the web server spawned us with (fd 0). Restores the default SIGTERM
 * action so workers exit with the server. Returns -1 on failure (logged). */
int fcgi_init(const char *bind_path);

/* A request object for one accept thread. NULL when out of memory. */
struct fcgi_req *fcgi_req_new(int listen_fd);
void fcgi_req_free(struct fcgi_req *r);   /* accepts NULL */

/* Waits for the next request on r. Returns 0, or -1 when the listening
 * socket failed (the thread should stop). */
int fcgi_accept(struct fcgi_req *r);

/* A request parameter (CGI variable), NULL when absent. */
const char *fcgi_param(struct fcgi_req *r, const char *name);

/* Reads the whole request body to its end (always, so the server is never
 * left with unread input), keeping at most max bytes in *out. Sets
 * *too_large when there was more. Returns 0, or -1 on a read error. */
int fcgi_read_body(struct fcgi_req *r, size_t max, struct buf *out,
    bool *too_large);

/* Writes n bytes of the response (CGI headers, then body). Returns 0 or
 * -1 (the client is gone). */
int fcgi_write(struct fcgi_req *r, const void *p, size_t n);

/* Ends the request and closes the connection at once (no lingering
 * close, which would block the thread for up to 2 s). */
void fcgi_finish(struct fcgi_req *r);

/* Hands the connection of r over to the caller: *fd (non-blocking, moved
 * to a number >= 1024 where the limit allows, so that libfcgi's select()
 * calls on new connections never see a large fd) and *request_id. Anything
 * written with fcgi_write so far is flushed first. r is then ready for the
 * next fcgi_accept. Returns 0, or -1 (the request is then finished). */
int fcgi_release(struct fcgi_req *r, int *fd, int *request_id);

/* Raw records for a released connection. FCGI_STDOUT content is at most
 * FCGI_MAX_CONTENT bytes per record. */
#define FCGI_HEADER_LEN 8
#define FCGI_MAX_CONTENT 65535
#define FCGI_END_LEN 24   /* empty FCGI_STDOUT + FCGI_END_REQUEST */

/* Fills h with the header of an FCGI_STDOUT record of len bytes. */
void fcgi_stdout_header(unsigned char h[FCGI_HEADER_LEN], int request_id,
    size_t len);

/* Fills e with the records that end request_id successfully. */
void fcgi_end_records(unsigned char e[FCGI_END_LEN], int request_id);

#endif
