/* http_parse.h - incremental HTTP/1.1 response parser for the load
 * generator: status line, the few headers it needs, and a body framed by
 * Content-Length, chunked transfer coding, or the end of the connection.
 * The decoded body is appended to a growable buffer that the caller reads
 * (and, for a stream such as Server-Sent Events, consumes from the front).
 */
#ifndef HTTP_PARSE_H
#define HTTP_PARSE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define HP_LINE_MAX 1024   /* longest status, header or chunk-size line */
#define HP_BODY_MAX (8u << 20) /* a larger body is a protocol error here */

enum hp_state {
	HP_STATUS,      /* reading the status line */
	HP_HEADERS,     /* reading header lines */
	HP_BODY_LEN,    /* Content-Length body */
	HP_BODY_EOF,    /* body runs to the end of the connection */
	HP_CHUNK_SIZE,  /* chunk-size line */
	HP_CHUNK_DATA,  /* chunk data */
	HP_CHUNK_CRLF,  /* CRLF after chunk data */
	HP_TRAILER,     /* trailer lines after the last chunk */
	HP_DONE,        /* one whole response parsed */
	HP_ERROR
};

struct hp_buf {
	char *p;
	size_t len, cap;
};

struct http_resp {
	enum hp_state state;
	int status;
	int chunked;
	int conn_close;       /* server will close after this response */
	int event_stream;     /* Content-Type: text/event-stream */
	int upgrade_websocket; /* Upgrade: websocket */
	int64_t content_length; /* -1 when absent */
	uint64_t left;        /* bytes left of the body or of this chunk */
	size_t line_len;
	char line[HP_LINE_MAX];
	char etag[96];
	char last_modified[64];
	char ws_accept[32];   /* Sec-WebSocket-Accept */
	struct hp_buf body;
};

void hp_init(struct http_resp *r);
/* Ready for the next response on the same connection; keeps the buffer. */
void hp_reset(struct http_resp *r);
void hp_free(struct http_resp *r);
/* Parses up to len bytes; returns how many were used (it stops right after
 * a complete response, state HP_DONE; after a 101 that is the end of the
 * headers, as what follows is another protocol) or -1 on a protocol
 * error. */
ssize_t hp_feed(struct http_resp *r, const char *data, size_t len);
/* The connection ended: 0 if that completes the response (HP_DONE),
 * -1 if the response was cut short. */
int hp_eof(struct http_resp *r);
/* Status line and headers have been parsed. */
int hp_headers_done(const struct http_resp *r);
/* Drops the first n bytes of the decoded body. */
void hp_body_consume(struct http_resp *r, size_t n);

#endif
