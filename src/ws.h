/* ws.h - the server side of the WebSocket protocol (RFC 6455): the opening
 * handshake, framing of server messages, and a strict incremental parser
 * of client frames for non-blocking sockets. Why not libwslay: see ws.c. */
#ifndef WS_H
#define WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define WS_ACCEPT_LEN 28    /* Sec-WebSocket-Accept: base64 of a SHA-1 */
#define WS_HEADER_MAX 10    /* an unmasked frame header: 2 + 8 length bytes */
#define WS_CONTROL_MAX 125  /* payload of a ping, pong or close */

enum ws_opcode {
	WS_OP_CONT = 0x0, WS_OP_TEXT = 0x1, WS_OP_BINARY = 0x2,
	WS_OP_CLOSE = 0x8, WS_OP_PING = 0x9, WS_OP_PONG = 0xA
};

/* The close codes of RFC 6455 7.4.1 this server sends or reads. */
enum ws_close_code {
	WS_CLOSE_NORMAL = 1000,       /* echo of a plain client close */
	WS_CLOSE_GOING_AWAY = 1001,   /* worker shutdown, stream lifetime */
	WS_CLOSE_PROTOCOL = 1002,     /* a frame breaking RFC 6455 */
	WS_CLOSE_UNSUPPORTED = 1003,  /* a binary message */
	WS_CLOSE_NO_STATUS = 1005,    /* a close without a code (never sent) */
	WS_CLOSE_BAD_DATA = 1007,     /* invalid UTF-8 in a text message */
	WS_CLOSE_TOO_BIG = 1009,      /* a message over the size cap */
	WS_CLOSE_INTERNAL = 1011,     /* out of memory */
	WS_CLOSE_NOT_FOUND = 4404     /* the user may no longer see the room
	                               * (a private room's member removed) */
};

/* --- handshake ---------------------------------------------------------- */

/* Why an upgrade request was refused. Each is answered 426
 * upgrade_required with "Upgrade: websocket" and "Sec-WebSocket-Version:
 * 13" (API.md; RFC 6455 4.4 asks for the version header). */
enum ws_handshake_error {
	WS_HS_OK = 0,
	WS_HS_UPGRADE,      /* Upgrade lacks the token websocket */
	WS_HS_CONNECTION,   /* Connection lacks the token upgrade */
	WS_HS_VERSION,      /* Sec-WebSocket-Version is not 13 */
	WS_HS_KEY,          /* Sec-WebSocket-Key is not base64 of 16 bytes */
	WS_HS__MAX
};

/*
 * Checks an upgrade request's headers (each NULL when absent; Upgrade and
 * Connection are token lists, compared without regard to case). On WS_HS_OK
 * writes the Sec-WebSocket-Accept value and a NUL into accept. Otherwise
 * accept is unchanged and *why (when why != NULL) points at a static
 * sentence naming the header.
 */
enum ws_handshake_error ws_handshake(const char *upgrade,
    const char *connection, const char *version, const char *key,
    char accept[WS_ACCEPT_LEN + 1], const char **why);

/* base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")) into accept,
 * NUL-terminated. Returns 0, or -1 when key is not 24 base64 characters
 * ending "==" (16 bytes); accept is then unchanged. */
int ws_accept(const char *key, char accept[WS_ACCEPT_LEN + 1]);

/* --- server frames ------------------------------------------------------ */

/*
 * Writes the header of a final, unmasked frame of op carrying len payload
 * bytes (shortest length form) into out; returns its length: 2, 4 or 10.
 * A server frame is the same bytes for every connection, so a batch framed
 * once (ws_frame into one buffer, or these headers in an iovec before a
 * shared payload) can be written to every socket of a room.
 */
size_t ws_header(unsigned char out[WS_HEADER_MAX], enum ws_opcode op,
    uint64_t len);

/* Appends a frame: header and payload. Control frames (close, ping, pong)
 * must carry at most WS_CONTROL_MAX bytes. Returns 0 or -1 (out of
 * memory). */
int ws_frame(struct buf *b, enum ws_opcode op, const void *payload,
    size_t len);

/* Appends a close frame with code and reason (NULL or at most 123 bytes of
 * UTF-8); code 0 or WS_CLOSE_NO_STATUS sends no code (the echo of a close
 * that had none). Returns 0 or -1 (out of memory). */
int ws_close(struct buf *b, unsigned code, const char *reason);

/* --- client frames ------------------------------------------------------ */

enum ws_event_kind {
	WS_EV_NONE,   /* every byte given was used: read more */
	WS_EV_TEXT,   /* a whole text message, valid UTF-8 */
	WS_EV_PING,   /* answer with a pong carrying the same payload */
	WS_EV_PONG,
	WS_EV_CLOSE,  /* the client closed: echo code, then end the socket */
	WS_EV_FAIL    /* the client broke the protocol: close with code */
};

struct ws_event {
	enum ws_event_kind kind;
	/* TEXT: the message (NUL-terminated too); PING, PONG: the payload;
	 * CLOSE: the reason. Lives in the parser until its next ws_parse() or
	 * ws_parser_clear(). */
	const char *data;
	size_t len;
	unsigned code;    /* CLOSE: the client's code, WS_CLOSE_NO_STATUS when
	                   * it gave none; FAIL: the code to close with */
	const char *why;  /* FAIL: a static sentence for the log */
};

/* One connection's parser state: 208 bytes on x86-64, plus the message
 * being reassembled (at most the size cap) while one is. Treat as opaque:
 * it is here so that a connection can hold it without an allocation. */
struct ws_parser {
	struct buf msg;          /* text message being reassembled */
	size_t max_message;      /* larger messages close with 1009 */
	size_t checked;          /* msg bytes known to be whole UTF-8 */
	uint64_t left;           /* payload bytes of this frame to come */
	unsigned char hdr[14];   /* this frame's header so far */
	unsigned char hlen;      /* bytes in hdr */
	unsigned char hneed;     /* header length, once hdr[1] is known */
	unsigned char mpos;      /* payload bytes seen, mod 4 (mask index) */
	unsigned char op;        /* this frame's opcode */
	bool fin;                /* this frame ends its message */
	bool in_message;         /* a fragmented text message is open */
	bool delivered;          /* msg was handed out: free it next call */
	bool done;               /* a CLOSE or FAIL was given */
	unsigned char ctl_len;
	unsigned char ctl[WS_CONTROL_MAX];  /* control payload */
};

/* Starts a parser for a connection whose text messages may be up to
 * max_message bytes. */
void ws_parser_init(struct ws_parser *p, size_t max_message);

/* Frees what the parser holds; p may be initialised again. Accepts NULL. */
void ws_parser_clear(struct ws_parser *p);

/*
 * Feeds bytes read from the client; returns how many it used and fills
 * *ev. Stops after each event: call again with the bytes it did not use,
 * if any (a frame without payload ends in the call that read its header).
 * Frames must be masked and carry no reserved bits; a text message may
 * come in any number of fragments, with pings, pongs and a close between
 * them; text is checked for UTF-8 as it arrives, so a bad byte fails at
 * once. After WS_EV_CLOSE or WS_EV_FAIL the client has nothing more to
 * say: later calls use every byte and give WS_EV_NONE.
 */
size_t ws_parse(struct ws_parser *p, const void *data, size_t len,
    struct ws_event *ev);

#endif
