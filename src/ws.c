/*
 * ws.c - RFC 6455 for the server: the opening handshake, unmasked server
 * frames and a strict incremental parser of client frames.
 *
 * Hand-written rather than Debian's libwslay-dev 1.1.1, after trying it
 * (its wslay_event API fed the frames tests/unit/test_ws.c uses):
 * - its send side copies each message into a queue per connection, so the
 *   batch a room frames once and writes to every socket cannot go through
 *   it: wslay would parse, and its queue would carry only pongs and closes;
 * - a context costs 9.4 KB per connection (two 4 KB buffers), where a
 *   waiting client costs the worker about 0.5 KB today: 46 MB more for
 *   5000 sockets. This parser keeps 208 bytes and reads from the caller's
 *   buffer, so one read buffer serves every connection;
 * - API.md's 1002 cases that wslay's frame layer rejects (a fragmented or
 *   oversized control frame, a length not in its shortest form) come out
 *   as a close without a code and a "callback failure" return that cannot
 *   be told from a socket error; a one-byte close is echoed as an empty
 *   close, not refused with 1002.
 * What it does well (UTF-8 checked across fragments, a message cap checked
 * at each frame header, masks required) takes a few dozen lines here on
 * top of utf8.c. SHA-1 and base64 come from nettle, used only here.
 */
#include "ws.h"

#include <assert.h>
#include <string.h>

#include <nettle/base64.h>
#include <nettle/sha1.h>

#include "http.h"
#include "utf8.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define WS_KEY_LEN 24		/* base64 of 16 bytes: 22 characters, == */

_Static_assert(BASE64_ENCODE_RAW_LENGTH(SHA1_DIGEST_SIZE) == WS_ACCEPT_LEN,
    "Sec-WebSocket-Accept is base64 of a SHA-1");

static const char *const handshake_why[WS_HS__MAX] = {
	[WS_HS_OK] = "the upgrade request is valid",
	[WS_HS_UPGRADE] = "a WebSocket handshake needs Upgrade: websocket",
	[WS_HS_CONNECTION] = "a WebSocket handshake needs Connection: Upgrade",
	[WS_HS_VERSION] = "only Sec-WebSocket-Version 13 is supported",
	[WS_HS_KEY] = "Sec-WebSocket-Key must be 16 bytes in base64",
};

/* Ways a client breaks the protocol (API.md "Closing"), and the close code
 * each one gets. */
enum ws_fail {
	WS_F_NONE, WS_F_RSV, WS_F_OPCODE, WS_F_UNMASKED, WS_F_CTL_FRAGMENTED,
	WS_F_CTL_LONG, WS_F_CONT, WS_F_NOT_CONT, WS_F_BINARY, WS_F_LENGTH,
	WS_F_TOO_BIG, WS_F_UTF8, WS_F_CLOSE_LEN, WS_F_CLOSE_CODE,
	WS_F_CLOSE_UTF8, WS_F_NOMEM, WS_F__MAX
};

static const struct ws_fail_info {
	unsigned code;
	const char *why;
} fails[WS_F__MAX] = {
	[WS_F_NONE] = { 0, NULL },
	[WS_F_RSV] = { WS_CLOSE_PROTOCOL, "a frame has reserved bits set" },
	[WS_F_OPCODE] = { WS_CLOSE_PROTOCOL, "a frame has an unknown opcode" },
	[WS_F_UNMASKED] = { WS_CLOSE_PROTOCOL, "a client frame is not masked" },
	[WS_F_CTL_FRAGMENTED] = { WS_CLOSE_PROTOCOL,
	    "a control frame is fragmented" },
	[WS_F_CTL_LONG] = { WS_CLOSE_PROTOCOL,
	    "a control frame carries more than 125 bytes" },
	[WS_F_CONT] = { WS_CLOSE_PROTOCOL,
	    "a continuation frame has no message to continue" },
	[WS_F_NOT_CONT] = { WS_CLOSE_PROTOCOL,
	    "a message starts before the previous one ended" },
	[WS_F_BINARY] = { WS_CLOSE_UNSUPPORTED,
	    "binary messages are not accepted" },
	[WS_F_LENGTH] = { WS_CLOSE_PROTOCOL,
	    "a frame length is not in its shortest form or above 2^63" },
	[WS_F_TOO_BIG] = { WS_CLOSE_TOO_BIG,
	    "a message is larger than the server accepts" },
	[WS_F_UTF8] = { WS_CLOSE_BAD_DATA, "a text message is not UTF-8" },
	[WS_F_CLOSE_LEN] = { WS_CLOSE_PROTOCOL,
	    "a close frame carries a single byte" },
	[WS_F_CLOSE_CODE] = { WS_CLOSE_PROTOCOL,
	    "a close frame carries a code that may not be sent" },
	[WS_F_CLOSE_UTF8] = { WS_CLOSE_BAD_DATA,
	    "a close reason is not UTF-8" },
	[WS_F_NOMEM] = { WS_CLOSE_INTERNAL, "out of memory" },
};

#define WS_IS_CONTROL(op) (((op) & 0x8) != 0)

/* --- handshake ---------------------------------------------------------- */

int
ws_accept(const char *key, char accept[WS_ACCEPT_LEN + 1])
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789+/";
	uint8_t digest[SHA1_DIGEST_SIZE];
	struct sha1_ctx ctx;

	if (key == NULL || strlen(key) != WS_KEY_LEN ||
	    strspn(key, alphabet) != WS_KEY_LEN - 2 ||
	    strcmp(key + WS_KEY_LEN - 2, "==") != 0)
		return -1;
	sha1_init(&ctx);
	sha1_update(&ctx, WS_KEY_LEN, (const uint8_t *)key);
	sha1_update(&ctx, sizeof(WS_GUID) - 1, (const uint8_t *)WS_GUID);
	sha1_digest(&ctx, sizeof(digest), digest);
	base64_encode_raw(accept, sizeof(digest), digest);
	accept[WS_ACCEPT_LEN] = '\0';
	return 0;
}

enum ws_handshake_error
ws_handshake(const char *upgrade, const char *connection, const char *version,
    const char *key, char accept[WS_ACCEPT_LEN + 1], const char **why)
{
	enum ws_handshake_error e = WS_HS_OK;

	if (!http_list_has(upgrade, "websocket"))
		e = WS_HS_UPGRADE;
	else if (!http_list_has(connection, "upgrade"))
		e = WS_HS_CONNECTION;
	else if (version == NULL || strcmp(version, "13") != 0)
		e = WS_HS_VERSION;
	else if (ws_accept(key, accept) != 0)
		e = WS_HS_KEY;
	if (e != WS_HS_OK && why != NULL)
		*why = handshake_why[e];
	return e;
}

/* --- server frames ------------------------------------------------------ */

size_t
ws_header(unsigned char out[WS_HEADER_MAX], enum ws_opcode op, uint64_t len)
{
	size_t n;

	assert(!WS_IS_CONTROL(op) || len <= WS_CONTROL_MAX);
	assert(len >> 63 == 0);
	out[0] = (unsigned char)(0x80 | op);
	if (len < 126) {
		out[1] = (unsigned char)len;
		return 2;
	}
	out[1] = len <= 0xFFFF ? 126 : 127;
	n = len <= 0xFFFF ? 2 : 8;
	for (size_t i = 0; i < n; i++)
		out[2 + i] = (unsigned char)(len >> (8 * (n - 1 - i)));
	return 2 + n;
}

int
ws_frame(struct buf *b, enum ws_opcode op, const void *payload, size_t len)
{
	unsigned char h[WS_HEADER_MAX];
	size_t n = ws_header(h, op, len);

	if (buf_reserve(b, n + len) != 0)
		return -1;
	buf_append(b, h, n);
	return buf_append(b, payload, len);
}

int
ws_close(struct buf *b, unsigned code, const char *reason)
{
	unsigned char p[WS_CONTROL_MAX];
	size_t rlen = reason != NULL ? strlen(reason) : 0;

	if (code == 0 || code == WS_CLOSE_NO_STATUS)
		return ws_frame(b, WS_OP_CLOSE, NULL, 0);
	assert(code >= 1000 && code <= 4999);
	assert(rlen <= WS_CONTROL_MAX - 2);
	p[0] = (unsigned char)(code >> 8);
	p[1] = (unsigned char)code;
	if (rlen > 0)
		memcpy(p + 2, reason, rlen);
	return ws_frame(b, WS_OP_CLOSE, p, rlen + 2);
}

/* --- client frames ------------------------------------------------------ */

void
ws_parser_init(struct ws_parser *p, size_t max_message)
{
	memset(p, 0, sizeof(*p));
	p->max_message = max_message;
	p->hneed = 2;
}

void
ws_parser_clear(struct ws_parser *p)
{
	if (p != NULL)
		buf_free(&p->msg);
}

static void
ws_fail(struct ws_parser *p, enum ws_fail f, struct ws_event *ev)
{
	assert(f > WS_F_NONE && f < WS_F__MAX);
	ev->kind = WS_EV_FAIL;
	ev->code = fails[f].code;
	ev->why = fails[f].why;
	p->done = true;
	buf_free(&p->msg);
}

/*
 * True when s[0..n), n < 4, can begin a well-formed sequence that bytes
 * still to come may complete. utf8_decode judges whole sequences only, so
 * complete the prefix with the lowest bytes that each lead's second-byte
 * range allows (Unicode Table 3-7: 80, or 90 after F0, or A0 after E0)
 * and ask it.
 */
static bool
ws_utf8_prefix(const char *s, size_t n)
{
	static const unsigned char second[] = { 0x80, 0x90, 0xA0 };
	char tmp[4];
	uint32_t cp;

	assert(n > 0 && n < 4);
	for (size_t i = 0; i < sizeof(second); i++) {
		memcpy(tmp, s, n);
		memset(tmp + n, 0x80, 4 - n);
		if (n == 1)
			tmp[1] = (char)second[i];
		if (utf8_decode(tmp, 4, &cp) > n)
			return true;
	}
	return false;
}

/* Moves p->checked over the whole sequences now in p->msg, leaving a
 * sequence the next fragment may complete. -1 on a byte nothing can
 * complete: RFC 6455 8.1 fails the connection at once. */
static int
ws_utf8_check(struct ws_parser *p)
{
	const char *s = p->msg.data;
	size_t i = p->checked, len = p->msg.len, n;
	uint32_t cp;

	while (i < len) {
		if ((unsigned char)s[i] < 0x80) {
			i++;
			continue;
		}
		if ((n = utf8_decode(s + i, len - i, &cp)) == 0) {
			if (len - i < 4 && ws_utf8_prefix(s + i, len - i))
				break;
			return -1;
		}
		i += n;
	}
	p->checked = i;
	return 0;
}

static bool
ws_known(unsigned op)
{
	return op <= WS_OP_BINARY || (op >= WS_OP_CLOSE && op <= WS_OP_PONG);
}

/* The first two header bytes, read as soon as they are here. */
static enum ws_fail
ws_check_start(struct ws_parser *p)
{
	unsigned b0 = p->hdr[0], b1 = p->hdr[1], op = b0 & 0x0F;
	bool fin = (b0 & 0x80) != 0;

	if (b0 & 0x70)
		return WS_F_RSV;	/* no extension was agreed */
	if (!ws_known(op))
		return WS_F_OPCODE;
	if (!(b1 & 0x80))
		return WS_F_UNMASKED;
	if (WS_IS_CONTROL(op) && !fin)
		return WS_F_CTL_FRAGMENTED;
	if (WS_IS_CONTROL(op) && (b1 & 0x7F) > WS_CONTROL_MAX)
		return WS_F_CTL_LONG;
	if (op == WS_OP_CONT && !p->in_message)
		return WS_F_CONT;
	if (!WS_IS_CONTROL(op) && op != WS_OP_CONT && p->in_message)
		return WS_F_NOT_CONT;
	if (op == WS_OP_BINARY)
		return WS_F_BINARY;
	p->op = (unsigned char)op;
	p->fin = fin;
	return WS_F_NONE;
}

/* A close frame's payload: nothing, or a code and a UTF-8 reason. */
static enum ws_fail
ws_end_close(struct ws_parser *p, struct ws_event *ev)
{
	unsigned code = WS_CLOSE_NO_STATUS;
	size_t skip = 0;

	if (p->ctl_len == 1)
		return WS_F_CLOSE_LEN;
	if (p->ctl_len >= 2) {
		code = (unsigned)p->ctl[0] << 8 | p->ctl[1];
		skip = 2;
	}
	/* 7.4: the codes an endpoint may send; IANA added 1012-1014 since. */
	if (skip > 0 && !(code >= 1000 && code <= 1003) &&
	    !(code >= 1007 && code <= 1014) && !(code >= 3000 && code <= 4999))
		return WS_F_CLOSE_CODE;
	if (!utf8_valid((const char *)p->ctl + skip, p->ctl_len - skip))
		return WS_F_CLOSE_UTF8;
	ev->kind = WS_EV_CLOSE;
	ev->code = code;
	ev->data = (const char *)p->ctl + skip;
	ev->len = p->ctl_len - skip;
	p->done = true;
	return WS_F_NONE;
}

static enum ws_fail
ws_end_control(struct ws_parser *p, struct ws_event *ev)
{
	ev->kind = p->op == WS_OP_PING ? WS_EV_PING : WS_EV_PONG;
	ev->data = (const char *)p->ctl;
	ev->len = p->ctl_len;
	return WS_F_NONE;
}

/* A text frame or its continuation: the message is whole when fin. */
static enum ws_fail
ws_end_data(struct ws_parser *p, struct ws_event *ev)
{
	p->in_message = !p->fin;
	if (!p->fin)
		return WS_F_NONE;
	if (p->checked != p->msg.len)	/* a sequence cut by the end */
		return WS_F_UTF8;
	ev->kind = WS_EV_TEXT;
	ev->data = p->msg.data != NULL ? p->msg.data : "";
	ev->len = p->msg.len;
	p->delivered = true;
	return WS_F_NONE;
}

/* What the end of a frame means, by opcode; binary never gets here. */
static enum ws_fail (*const frame_end[16])(struct ws_parser *,
    struct ws_event *) = {
	[WS_OP_CONT] = ws_end_data,
	[WS_OP_TEXT] = ws_end_data,
	[WS_OP_CLOSE] = ws_end_close,
	[WS_OP_PING] = ws_end_control,
	[WS_OP_PONG] = ws_end_control,
};

static void
ws_frame_end(struct ws_parser *p, struct ws_event *ev)
{
	enum ws_fail f;

	p->hlen = 0;
	p->hneed = 2;
	assert(p->op < 16 && frame_end[p->op] != NULL);
	if ((f = frame_end[p->op](p, ev)) != WS_F_NONE)
		ws_fail(p, f, ev);
}

/* The whole header is here: the payload length and the size cap. */
static enum ws_fail
ws_header_done(struct ws_parser *p)
{
	size_t ext = p->hneed - 6u;
	uint64_t len = p->hdr[1] & 0x7F;

	assert(ext == 0 || ext == 2 || ext == 8);
	if (ext > 0) {
		len = 0;
		for (size_t i = 0; i < ext; i++)
			len = len << 8 | p->hdr[2 + i];
		if (len < 126 || (ext == 8 && (len <= 0xFFFF || len >> 63)))
			return WS_F_LENGTH;
	}
	assert(p->msg.len <= p->max_message);
	if (!WS_IS_CONTROL(p->op) && len > p->max_message - p->msg.len)
		return WS_F_TOO_BIG;
	p->left = len;
	p->mpos = 0;
	p->ctl_len = 0;
	return WS_F_NONE;
}

static size_t
ws_read_header(struct ws_parser *p, const unsigned char *d, size_t n,
    struct ws_event *ev)
{
	size_t take = p->hneed - p->hlen;
	enum ws_fail f;

	if (take > n)
		take = n;
	memcpy(p->hdr + p->hlen, d, take);
	p->hlen += (unsigned char)take;
	if (p->hneed == 2 && p->hlen == 2) {
		if ((f = ws_check_start(p)) != WS_F_NONE) {
			ws_fail(p, f, ev);
			return take;
		}
		/* 7- 16- or 64-bit length, then the 4-byte mask. */
		p->hneed = (unsigned char)(2 + ((p->hdr[1] & 0x7F) == 126 ? 2 :
		    (p->hdr[1] & 0x7F) == 127 ? 8 : 0) + 4);
	}
	assert(p->hlen <= p->hneed && p->hneed <= sizeof(p->hdr));
	if (p->hlen < p->hneed)
		return take;
	if ((f = ws_header_done(p)) != WS_F_NONE)
		ws_fail(p, f, ev);
	else if (p->left == 0)
		ws_frame_end(p, ev);
	return take;
}

static size_t
ws_read_payload(struct ws_parser *p, const unsigned char *d, size_t n,
    struct ws_event *ev)
{
	const unsigned char *mask = p->hdr + p->hneed - 4;
	size_t take = n < p->left ? n : (size_t)p->left;
	unsigned char *out;

	if (WS_IS_CONTROL(p->op)) {
		assert(p->ctl_len + take <= WS_CONTROL_MAX);
		out = p->ctl + p->ctl_len;
		p->ctl_len += (unsigned char)take;
	} else {
		if (buf_reserve(&p->msg, take) != 0) {
			ws_fail(p, WS_F_NOMEM, ev);
			return take;
		}
		out = (unsigned char *)p->msg.data + p->msg.len;
		p->msg.len += take;
		p->msg.data[p->msg.len] = '\0';
	}
	for (size_t i = 0; i < take; i++)
		out[i] = d[i] ^ mask[(p->mpos + i) & 3];
	p->mpos = (unsigned char)((p->mpos + take) & 3);
	p->left -= take;
	if (!WS_IS_CONTROL(p->op) && ws_utf8_check(p) != 0)
		ws_fail(p, WS_F_UTF8, ev);
	else if (p->left == 0)
		ws_frame_end(p, ev);
	return take;
}

size_t
ws_parse(struct ws_parser *p, const void *data, size_t len,
    struct ws_event *ev)
{
	const unsigned char *d = data;
	size_t used = 0;

	memset(ev, 0, sizeof(*ev));
	if (p->delivered) {
		buf_free(&p->msg);
		p->checked = 0;
		p->delivered = false;
	}
	if (p->done)
		return len;
	while (ev->kind == WS_EV_NONE && used < len) {
		if (p->hlen < p->hneed)
			used += ws_read_header(p, d + used, len - used, ev);
		else
			used += ws_read_payload(p, d + used, len - used, ev);
	}
	assert(used <= len);
	return used;
}
