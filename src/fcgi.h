/* fcgi.h - the only module that knows libfcgi and FastCGI's wire format:
 * accepts FastCGI requests, gives their parameters and body, answers them,
 * hands a connection over (fd + request id) when a request is parked, and
 * frames the bytes later written to such a connection (fcgi_frame*). */
#ifndef FCGI_H
#define FCGI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

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

/* Records for a released connection: its response bytes go out as
 * FCGI_STDOUT records of at most FCGI_MAX_CONTENT bytes each, and "end"
 * adds the records that end the request successfully (an empty
 * FCGI_STDOUT and FCGI_END_REQUEST). */
#define FCGI_HEADER_LEN 8
#define FCGI_MAX_CONTENT 65535
#define FCGI_END_LEN 24
#define FCGI_IOV_RECORDS 64   /* content records one fcgi_iov holds */

/* Appends data[0..len) to out as records of request_id, then the end
 * records when end is set (len may be 0). Returns 0, or -1 when out of
 * memory (out->oom is then set). */
int fcgi_frame(struct buf *out, int request_id, const void *data, size_t len,
    bool end);

/* The same records for one writev, without copying data: the headers
 * live in the struct, iov[0..n) points at them and into data (which must
 * stay valid while iov is used). */
struct fcgi_iov {
	unsigned char hdr[FCGI_IOV_RECORDS][FCGI_HEADER_LEN];
	unsigned char tail[FCGI_END_LEN];
	struct iovec iov[2 * FCGI_IOV_RECORDS + 1];
	int n;          /* iovecs filled */
	size_t total;   /* bytes they hold */
};

/* Fills f with the records of fcgi_frame. Returns 0, or -1 when data
 * needs more than FCGI_IOV_RECORDS records (f is then unusable: frame it
 * into a buffer with fcgi_frame). */
int fcgi_frame_iov(struct fcgi_iov *f, int request_id, const void *data,
    size_t len, bool end);

#endif
