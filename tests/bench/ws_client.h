/* ws_client.h - the client side of WebSocket (RFC 6455) for the load
 * generator: the opening handshake and the check of its answer, an
 * incremental reader of the server's frames, and masked frames to send.
 * No extensions, no subprotocol. Only this module uses nettle (SHA-1,
 * base64); link with -lnettle.
 */
#ifndef WS_CLIENT_H
#define WS_CLIENT_H

#include <stddef.h>
#include <sys/types.h>

#include "http_parse.h"

#define WS_ACCEPT_LEN 28       /* base64 of a SHA-1 digest */
#define WS_HEADERS_MAX 128     /* the handshake's header lines, with NUL */
#define WS_MSG_MAX (1u << 20)  /* a larger message is a protocol error here */
#define WS_CONTROL_MAX 125     /* RFC 6455 5.5 */
#define WS_FRAME_HEAD_MAX 14   /* 2 + 8 length bytes + 4 mask bytes */

enum ws_op {
	WS_CONT = 0x0,
	WS_TEXT = 0x1,
	WS_BINARY = 0x2,
	WS_CLOSE = 0x8,
	WS_PING = 0x9,
	WS_PONG = 0xA
};

/* Writes the header lines that make a GET a WebSocket handshake, each
 * ending in CRLF, with a fresh key (16 bytes from getrandom), to headers;
 * and to accept the Sec-WebSocket-Accept the server must answer that key
 * with. Both NUL-terminated. Exits (status 2) if the kernel gives no
 * random bytes: nothing sensible can follow, here or for the masks. */
void ws_handshake(char headers[WS_HEADERS_MAX],
		  char accept[WS_ACCEPT_LEN + 1]);

/* The Sec-WebSocket-Accept a server answers key with (RFC 6455 4.2.2),
 * NUL-terminated; the fan-out floor (fanout_floor.c) answers with it. */
void ws_accept_for(const char *key, char accept[WS_ACCEPT_LEN + 1]);

/* 1 when the response r (its headers parsed) accepts the handshake:
 * status 101, Upgrade: websocket, and the accept value expected; else 0. */
int ws_handshake_accepted(const struct http_resp *r, const char *accept);

/* Writes one masked client frame (FIN set) of opcode op carrying
 * payload[0..len) to out; returns its length, or -1 (out unchanged) when
 * it does not fit in cap bytes or a control frame's payload is over
 * WS_CONTROL_MAX. */
ssize_t ws_frame_build(char *out, size_t cap, enum ws_op op,
		       const char *payload, size_t len);

struct ws_buf {
	char *p;
	size_t len, cap;
};

/* The reading side of one connection. A zeroed struct is a ready reader;
 * its buffers are allocated when needed and kept for reuse until
 * ws_reader_free. */
struct ws_reader {
	struct ws_buf in;   /* the start of a frame not yet complete */
	struct ws_buf msg;  /* a fragmented message being put together */
	int msg_op;         /* its opcode; 0 when none is */
};

/* Called for each whole message (WS_TEXT or WS_BINARY, fragments joined)
 * and each control frame, in stream order; payload is valid only during
 * the call. Returns 0 to go on, anything else to stop reading. */
typedef int (*ws_handler)(void *arg, enum ws_op op, const char *payload,
			  size_t len);

/* Takes the next n bytes the server sent. Returns 0 when all were used
 * (an incomplete frame is kept for the next call), 1 when the handler
 * stopped (the rest is left unread: reset the reader before using it
 * again), or -1 on a protocol error or out of memory: a masked frame,
 * reserved bits set, an unknown opcode, a fragmented or oversized control
 * frame, a continuation out of place, or a message over WS_MSG_MAX. */
int ws_read(struct ws_reader *r, const char *data, size_t n, ws_handler fn,
	    void *arg);

/* Forgets any partial frame or message (a new connection); keeps the
 * buffers. */
void ws_reader_reset(struct ws_reader *r);

/* Frees the buffers; the reader is zeroed and ready again. */
void ws_reader_free(struct ws_reader *r);

/* Checks this module's handshake, framing and reading against known
 * answers; prints each failure to stderr. Returns the number that failed,
 * and adds the number that passed to *passed. */
int ws_selftest(int *passed);

#endif
