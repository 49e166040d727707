/* fuzz_ws_frame.c - libFuzzer target for ws.c's client-frame parser. The
 * first byte picks a mode. Raw: the rest, fed whole and in pieces whose
 * sizes come from the input, gives the same events; a text message is
 * valid UTF-8 within the cap, a control payload at most 125 bytes, a
 * failure carries one of API.md's codes, and nothing follows a close or a
 * failure. Framed: the rest is cut into valid UTF-8 messages, framed with
 * ws_header, masked and fragmented here with pings between the
 * fragments; the parser must give back exactly those messages. */
#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"
#include "ws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_EVENTS 4096

struct event {
	enum ws_event_kind kind;
	unsigned code;
	size_t len;
	uint64_t hash;
};

static uint64_t
hash(const void *p, size_t n)
{
	const unsigned char *s = p;
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < n; i++)
		h = (h ^ s[i]) * 1099511628211ULL;
	return h;
}

/* The properties every event has, whatever the input. */
static void
check_event(const struct ws_event *ev, size_t max)
{
	switch (ev->kind) {
	case WS_EV_TEXT:
		assert(ev->len <= max && ev->data[ev->len] == '\0');
		assert(utf8_valid(ev->data, ev->len));
		break;
	case WS_EV_PING:
	case WS_EV_PONG:
		assert(ev->len <= WS_CONTROL_MAX);
		break;
	case WS_EV_CLOSE:
		assert(ev->len <= WS_CONTROL_MAX - 2);
		assert(utf8_valid(ev->data, ev->len));
		assert((ev->code >= 1000 && ev->code <= 4999 &&
		    ev->code != 1004 && ev->code != 1006) ||
		    ev->code == WS_CLOSE_NO_STATUS);
		break;
	case WS_EV_FAIL:
		assert(ev->why != NULL);
		assert(ev->code == 1002 || ev->code == 1003 ||
		    ev->code == 1007 || ev->code == 1009 || ev->code == 1011);
		break;
	case WS_EV_NONE:
		break;
	}
}

/* Feeds d[0..n) in pieces: all at once when sizes is NULL, else of
 * 1 + sizes[i] % 17 bytes. Records the events; returns how many. */
static size_t
run(const uint8_t *d, size_t n, size_t max, const uint8_t *sizes,
    size_t nsizes, struct event *out)
{
	struct ws_parser p;
	struct ws_event ev;
	size_t at = 0, k = 0, piece, used, count = 0;
	bool ended = false;

	ws_parser_init(&p, max);
	while (at < n) {
		piece = sizes == NULL ? n - at : 1 + sizes[k++ % nsizes] % 17;
		if (piece > n - at)
			piece = n - at;
		for (size_t off = 0; off < piece; off += used) {
			used = ws_parse(&p, d + at + off, piece - off, &ev);
			assert(used <= piece - off);
			check_event(&ev, max);
			if (ev.kind == WS_EV_NONE) {
				assert(used == piece - off);
				continue;
			}
			assert(!ended && count < MAX_EVENTS);
			ended = ev.kind == WS_EV_CLOSE || ev.kind == WS_EV_FAIL;
			out[count++] = (struct event){ ev.kind, ev.code, ev.len,
			    ev.len > 0 ? hash(ev.data, ev.len) : 0 };
		}
		at += piece;
	}
	ws_parser_clear(&p);
	return count;
}

static void
same(const struct event *a, size_t na, const struct event *b, size_t nb)
{
	assert(na == nb);
	for (size_t i = 0; i < na; i++)
		assert(a[i].kind == b[i].kind && a[i].code == b[i].code &&
		    a[i].len == b[i].len && a[i].hash == b[i].hash);
}

static void
fuzz_raw(const uint8_t *d, size_t n, size_t max)
{
	static struct event a[MAX_EVENTS], b[MAX_EVENTS];
	size_t na = run(d, n, max, NULL, 0, a);

	same(a, na, b, run(d, n, max, d, n, b));
}

/* Appends a masked client frame of payload p[0..n) with first byte b0. */
static void
client_frame(struct buf *out, unsigned b0, const uint8_t key[4],
    const uint8_t *p, size_t n)
{
	unsigned char h[WS_HEADER_MAX], c;
	size_t hl = ws_header(h, WS_OP_TEXT, n);

	h[0] = (unsigned char)b0;
	h[1] |= 0x80;
	buf_append(out, h, hl);
	buf_append(out, key, 4);
	for (size_t i = 0; i < n; i++) {
		c = p[i] ^ key[i & 3];
		buf_append(out, &c, 1);
	}
}

/*
 * Each message: a length byte pair, a flags byte (low two bits: fragments
 * - 1; bit 2: a ping after each fragment but the last), the payload.
 * Messages that are not UTF-8 are left out.
 */
static void
fuzz_framed(const uint8_t *d, size_t n)
{
	static struct event got[MAX_EVENTS], want[MAX_EVENTS];
	uint8_t key[4] = { n > 0 ? d[0] : 0, 0x5A, 0xA5, 0x0F };
	struct buf out = { 0 };
	size_t at = 0, len, frags, nwant = 0, piece, ping;
	unsigned flags;

	while (n - at >= 3 && nwant + 8 < MAX_EVENTS) {
		len = ((size_t)d[at] << 8 | d[at + 1]) % (n - at - 2);
		flags = d[at + 2];
		at += 3;
		if (!utf8_valid((const char *)d + at, len)) {
			at += len;
			continue;
		}
		frags = 1 + (flags & 3);
		ping = len < 5 ? len : 5;
		for (size_t f = 0, off = 0; f < frags; f++, off += piece) {
			piece = f + 1 < frags ? (len - off) / 2 : len - off;
			client_frame(&out, (f + 1 == frags ? 0x80 : 0) |
			    (f == 0 ? WS_OP_TEXT : WS_OP_CONT), key,
			    d + at + off, piece);
			if ((flags & 4) && f + 1 < frags) {
				client_frame(&out, 0x80 | WS_OP_PING, key,
				    d + at, ping);
				want[nwant++] = (struct event){ WS_EV_PING, 0,
				    ping, ping > 0 ? hash(d + at, ping) : 0 };
			}
		}
		want[nwant++] = (struct event){ WS_EV_TEXT, 0, len,
		    len > 0 ? hash(d + at, len) : 0 };
		at += len;
	}
	assert(!out.oom);
	same(want, nwant, got, run((const uint8_t *)out.data, out.len,
	    SIZE_MAX / 2, d, n, got));
	buf_free(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 1)
		fuzz_framed(data + 1, size - 1);
	else
		fuzz_raw(data + 1, size - 1, (size_t)16 << (data[0] >> 4 & 7));
	return 0;
}
