/* test_ws.c - unit tests of ws.c: RFC 6455's handshake and framing
 * examples, every close code API.md names, control frames between
 * fragments, and the same frames fed whole, byte by byte and in odd
 * pieces. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "ws.h"

#define MAX_MSG 1000

/* --- helpers ------------------------------------------------------------ */

/* Appends a client frame: first byte b0 (FIN, RSV bits, opcode) as given,
 * the shortest length form, the mask of RFC 6455 5.7's example. */
static void
client_frame(struct buf *b, unsigned b0, const void *payload, size_t n)
{
	static const unsigned char key[4] = { 0x37, 0xfa, 0x21, 0x3d };
	const unsigned char *p = payload;
	unsigned char h[WS_HEADER_MAX], c;
	size_t hl = ws_header(h, WS_OP_TEXT, n);

	h[0] = (unsigned char)b0;
	h[1] |= 0x80;
	assert_int_equal(buf_append(b, h, hl), 0);
	assert_int_equal(buf_append(b, key, 4), 0);
	for (size_t i = 0; i < n; i++) {
		c = p[i] ^ key[i & 3];
		assert_int_equal(buf_append(b, &c, 1), 0);
	}
}

static void
client_text(struct buf *b, unsigned b0, const char *s)
{
	client_frame(b, b0, s, strlen(s));
}

struct rec {
	enum ws_event_kind kind;
	unsigned code;
	size_t len;
	char data[300];  /* the first bytes of data */
};

#define MAX_RECS 16

/* Feeds d[0..len) in pieces of chunk bytes, calling ws_parse again on
 * what each call left; records the events. Returns how many. */
static size_t
feed(const void *d, size_t len, size_t chunk, size_t max, struct rec *out)
{
	const unsigned char *p = d;
	struct ws_parser ps;
	struct ws_event ev;
	size_t n = 0, off, clen, used;

	ws_parser_init(&ps, max);
	for (size_t at = 0; at < len; at += clen) {
		clen = len - at < chunk ? len - at : chunk;
		for (off = 0; off < clen; off += used) {
			used = ws_parse(&ps, p + at + off, clen - off, &ev);
			assert_true(used <= clen - off);
			if (ev.kind == WS_EV_NONE) {
				assert_int_equal(used, clen - off);
				continue;
			}
			assert_true(n < MAX_RECS);
			out[n].kind = ev.kind;
			out[n].code = ev.code;
			out[n].len = ev.len;
			memset(out[n].data, 0, sizeof(out[n].data));
			if (ev.len > 0)
				memcpy(out[n].data, ev.data,
				    ev.len < 299 ? ev.len : 299);
			n++;
		}
	}
	ws_parser_clear(&ps);
	return n;
}

/* Feeds b whole, then byte by byte and in pieces of 2, 3 and 7 bytes;
 * every way must give the same events. Returns the count, events in out. */
static size_t
parse_all(const struct buf *b, size_t max, struct rec *out)
{
	static const size_t chunks[] = { 1, 2, 3, 7 };
	struct rec other[MAX_RECS];
	size_t n = feed(b->data, b->len, SIZE_MAX, max, out), m;

	for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		m = feed(b->data, b->len, chunks[i], max, other);
		assert_int_equal(m, n);
		for (size_t j = 0; j < n; j++) {
			assert_int_equal(other[j].kind, out[j].kind);
			assert_int_equal(other[j].code, out[j].code);
			assert_int_equal(other[j].len, out[j].len);
			assert_memory_equal(other[j].data, out[j].data,
			    sizeof(out[j].data));
		}
	}
	return n;
}

/* b must end in exactly one failure, with code. */
static void
expect_fail(struct buf *b, unsigned code)
{
	struct rec r[MAX_RECS];
	size_t n = parse_all(b, MAX_MSG, r);

	assert_true(n >= 1);
	assert_int_equal(r[n - 1].kind, WS_EV_FAIL);
	assert_int_equal(r[n - 1].code, code);
	buf_free(b);
}

/* --- handshake ---------------------------------------------------------- */

static void
test_accept_rfc_example(void **state)
{
	char acc[WS_ACCEPT_LEN + 1];

	(void)state;
	/* RFC 6455 1.3 */
	assert_int_equal(ws_accept("dGhlIHNhbXBsZSBub25jZQ==", acc), 0);
	assert_string_equal(acc, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
	/* bytes 1 to 16 as the key, checked with node's crypto */
	assert_int_equal(ws_accept("AQIDBAUGBwgJCgsMDQ4PEA==", acc), 0);
	assert_string_equal(acc, "C/0nmHhBztSRGR1CwL6Tf4ZjwpY=");
}

static void
test_accept_bad_keys(void **state)
{
	static const char *const bad[] = {
		"", "dGhlIHNhbXBsZSBub25jZQ=", "dGhlIHNhbXBsZSBub25jZQ===",
		"dGhlIHNhbXBsZSBub25jZQAA", "dGhlIHNhbXBsZSBub25jZ===",
		"dGhlIHNhbXBsZSBub25j ZQ==", "dGhlIHNhbXBsZSBub25j-Q==",
		"dGhlIHNhbXBsZSBub25jZQ==\n", " dGhlIHNhbXBsZSBub25jZQ==",
		"dGhlIHNhbXBsZSBub25jZQ", "c2FtcGxl",
	};
	char acc[WS_ACCEPT_LEN + 1] = "unchanged";

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(ws_accept(bad[i], acc), -1);
	assert_int_equal(ws_accept(NULL, acc), -1);
	assert_string_equal(acc, "unchanged");
}

static void
test_handshake(void **state)
{
	static const struct {
		const char *upgrade, *connection, *version, *key;
		enum ws_handshake_error want;
	} cases[] = {
		{ "websocket", "Upgrade", "13", "dGhlIHNhbXBsZSBub25jZQ==",
		    WS_HS_OK },
		/* as lighttpd and Apache pass them */
		{ "websocket", "close, upgrade", "13",
		    "dGhlIHNhbXBsZSBub25jZQ==", WS_HS_OK },
		{ "WebSocket", "keep-alive, Upgrade", "13",
		    "dGhlIHNhbXBsZSBub25jZQ==", WS_HS_OK },
		{ NULL, "Upgrade", "13", "dGhlIHNhbXBsZSBub25jZQ==",
		    WS_HS_UPGRADE },
		{ "h2c", "Upgrade", "13", "dGhlIHNhbXBsZSBub25jZQ==",
		    WS_HS_UPGRADE },
		{ "websocket", NULL, "13", "dGhlIHNhbXBsZSBub25jZQ==",
		    WS_HS_CONNECTION },
		{ "websocket", "keep-alive", "13", "dGhlIHNhbXBsZSBub25jZQ==",
		    WS_HS_CONNECTION },
		{ "websocket", "Upgrade", NULL, "dGhlIHNhbXBsZSBub25jZQ==",
		    WS_HS_VERSION },
		{ "websocket", "Upgrade", "8", "dGhlIHNhbXBsZSBub25jZQ==",
		    WS_HS_VERSION },
		{ "websocket", "Upgrade", "13, 8", "dGhlIHNhbXBsZSBub25jZQ==",
		    WS_HS_VERSION },
		{ "websocket", "Upgrade", "13", NULL, WS_HS_KEY },
		{ "websocket", "Upgrade", "13", "short==", WS_HS_KEY },
	};
	char acc[WS_ACCEPT_LEN + 1];
	const char *why;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		why = NULL;
		strcpy(acc, "unchanged");
		assert_int_equal(ws_handshake(cases[i].upgrade,
		    cases[i].connection, cases[i].version, cases[i].key, acc,
		    &why), cases[i].want);
		if (cases[i].want == WS_HS_OK) {
			assert_string_equal(acc,
			    "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
			assert_null(why);
		} else {
			assert_string_equal(acc, "unchanged");
			assert_non_null(why);
		}
	}
	assert_int_equal(ws_handshake(NULL, NULL, NULL, NULL, acc, NULL),
	    WS_HS_UPGRADE);
}

/* --- server frames ------------------------------------------------------ */

static void
test_header_lengths(void **state)
{
	static const struct {
		uint64_t len;
		size_t hl;
		unsigned char h[WS_HEADER_MAX];
	} cases[] = {
		{ 0, 2, { 0x81, 0x00 } },
		{ 5, 2, { 0x81, 0x05 } },
		{ 125, 2, { 0x81, 0x7D } },
		{ 126, 4, { 0x81, 0x7E, 0x00, 0x7E } },
		/* RFC 6455 5.7: 256 bytes, 64 KiB */
		{ 256, 4, { 0x81, 0x7E, 0x01, 0x00 } },
		{ 65535, 4, { 0x81, 0x7E, 0xFF, 0xFF } },
		{ 65536, 10, { 0x81, 0x7F, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00 } },
		{ 0x123456789AULL, 10,
		    { 0x81, 0x7F, 0, 0, 0, 0x12, 0x34, 0x56, 0x78, 0x9A } },
	};
	unsigned char h[WS_HEADER_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(ws_header(h, WS_OP_TEXT, cases[i].len),
		    cases[i].hl);
		assert_memory_equal(h, cases[i].h, cases[i].hl);
	}
	assert_int_equal(ws_header(h, WS_OP_PONG, 0), 2);
	assert_int_equal(h[0], 0x8A);
}

static void
test_frames(void **state)
{
	struct buf b = { 0 };

	(void)state;
	/* RFC 6455 5.7: a single-frame unmasked text message, and a ping */
	assert_int_equal(ws_frame(&b, WS_OP_TEXT, "Hello", 5), 0);
	assert_int_equal(ws_frame(&b, WS_OP_PING, "Hello", 5), 0);
	assert_int_equal(ws_frame(&b, WS_OP_PONG, NULL, 0), 0);
	assert_int_equal(b.len, 16);
	assert_memory_equal(b.data, "\x81\x05Hello\x89\x05Hello\x8a\x00", 16);
	buf_reset(&b);
	assert_int_equal(ws_close(&b, WS_CLOSE_NORMAL, "bye"), 0);
	assert_int_equal(ws_close(&b, WS_CLOSE_TOO_BIG, NULL), 0);
	assert_int_equal(ws_close(&b, WS_CLOSE_NO_STATUS, "ignored"), 0);
	assert_int_equal(ws_close(&b, 0, NULL), 0);
	assert_int_equal(b.len, 7 + 4 + 2 + 2);
	assert_memory_equal(b.data,
	    "\x88\x05\x03\xe8" "bye" "\x88\x02\x03\xf1" "\x88\x00\x88\x00",
	    b.len);
	buf_free(&b);
}

/* One batch framed once is what every socket gets: 70 000 bytes. */
static void
test_frame_large(void **state)
{
	static char big[70000];
	struct buf b = { 0 };

	(void)state;
	memset(big, 'x', sizeof(big));
	assert_int_equal(ws_frame(&b, WS_OP_TEXT, big, sizeof(big)), 0);
	assert_int_equal(b.len, 10 + sizeof(big));
	assert_memory_equal(b.data, "\x81\x7f\0\0\0\0\0\x01\x11\x70", 10);
	assert_memory_equal(b.data + 10, big, sizeof(big));
	buf_free(&b);
}

/* --- client frames ------------------------------------------------------ */

static void
test_parse_rfc_hello(void **state)
{
	/* RFC 6455 5.7: a single-frame masked text message */
	static const unsigned char hello[] = { 0x81, 0x85, 0x37, 0xfa, 0x21,
	    0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58 };
	struct buf b = { 0 };
	struct rec r[MAX_RECS];

	(void)state;
	buf_append(&b, hello, sizeof(hello));
	assert_int_equal(parse_all(&b, MAX_MSG, r), 1);
	assert_int_equal(r[0].kind, WS_EV_TEXT);
	assert_int_equal(r[0].len, 5);
	assert_string_equal(r[0].data, "Hello");
	buf_free(&b);
}

static void
test_parse_rfc_unmasked_fails(void **state)
{
	struct buf b = { 0 };

	(void)state;
	/* RFC 6455 5.7's unmasked examples come from a server: refused */
	buf_append(&b, "\x81\x05Hello", 7);
	expect_fail(&b, WS_CLOSE_PROTOCOL);
	buf_append(&b, "\x01\x03Hel\x80\x02lo", 9);
	expect_fail(&b, WS_CLOSE_PROTOCOL);
}

/* RFC 6455 5.7's fragmented "Hel" + "lo", masked, with a ping, a pong
 * and an empty continuation between and after the fragments. */
static void
test_parse_fragments_and_control(void **state)
{
	struct buf b = { 0 };
	struct rec r[MAX_RECS];

	(void)state;
	client_text(&b, 0x01, "Hel");
	client_text(&b, 0x89, "Hello");
	client_text(&b, 0x8A, "");
	client_text(&b, 0x00, "");
	client_text(&b, 0x80, "lo");
	client_text(&b, 0x81, "");
	client_text(&b, 0x88, "\x03\xe8" "done");
	client_text(&b, 0x81, "after the close: ignored");
	assert_int_equal(parse_all(&b, MAX_MSG, r), 5);
	assert_int_equal(r[0].kind, WS_EV_PING);
	assert_string_equal(r[0].data, "Hello");
	assert_int_equal(r[1].kind, WS_EV_PONG);
	assert_int_equal(r[1].len, 0);
	assert_int_equal(r[2].kind, WS_EV_TEXT);
	assert_string_equal(r[2].data, "Hello");
	assert_int_equal(r[3].kind, WS_EV_TEXT);
	assert_int_equal(r[3].len, 0);
	assert_int_equal(r[4].kind, WS_EV_CLOSE);
	assert_int_equal(r[4].code, 1000);
	assert_int_equal(r[4].len, 4);
	assert_string_equal(r[4].data, "done");
	buf_free(&b);
}

/* Two frames in one read: the first call stops after the first. */
static void
test_parse_stops_at_each_event(void **state)
{
	struct buf b = { 0 };
	struct ws_parser p;
	struct ws_event ev;
	size_t used;

	(void)state;
	client_text(&b, 0x81, "one");
	client_text(&b, 0x81, "two");
	ws_parser_init(&p, MAX_MSG);
	used = ws_parse(&p, b.data, b.len, &ev);
	assert_int_equal(used, 2 + 4 + 3);
	assert_int_equal(ev.kind, WS_EV_TEXT);
	assert_memory_equal(ev.data, "one", 4);
	used += ws_parse(&p, b.data + used, b.len - used, &ev);
	assert_int_equal(used, b.len);
	assert_int_equal(ev.kind, WS_EV_TEXT);
	assert_string_equal(ev.data, "two");
	assert_int_equal(ws_parse(&p, "", 0, &ev), 0);
	assert_int_equal(ev.kind, WS_EV_NONE);
	ws_parser_clear(&p);
	buf_free(&b);
}

static void
test_parse_utf8_across_fragments(void **state)
{
	struct buf b = { 0 };
	struct rec r[MAX_RECS];

	(void)state;
	/* U+1F600 split after each of its bytes, and U+00E9 split too */
	client_text(&b, 0x01, "a\xf0");
	client_text(&b, 0x00, "\x9f");
	client_text(&b, 0x00, "\x98");
	client_text(&b, 0x00, "\x80\xc3");
	client_text(&b, 0x80, "\xa9");
	assert_int_equal(parse_all(&b, MAX_MSG, r), 1);
	assert_int_equal(r[0].kind, WS_EV_TEXT);
	assert_string_equal(r[0].data, "a\xf0\x9f\x98\x80\xc3\xa9");
	buf_free(&b);
	/* the leads whose second byte is narrowed, cut after the lead */
	client_text(&b, 0x01, "\xe0");
	client_text(&b, 0x00, "\xa0\x80\xed");
	client_text(&b, 0x00, "\x9f\xbf\xf4");
	client_text(&b, 0x80, "\x8f\xbf\xbf");
	assert_int_equal(parse_all(&b, MAX_MSG, r), 1);
	assert_int_equal(r[0].kind, WS_EV_TEXT);
	assert_int_equal(r[0].len, 10);
	buf_free(&b);
}

/* Invalid UTF-8 fails as soon as it is seen, before the frame ends. */
static void
test_parse_utf8_fails_fast(void **state)
{
	struct buf b = { 0 };
	struct ws_parser p;
	struct ws_event ev;

	(void)state;
	client_text(&b, 0x81, "ok \xff and more to come");
	ws_parser_init(&p, MAX_MSG);
	assert_int_equal(ws_parse(&p, b.data, 6 + 4, &ev), 6 + 4);
	assert_int_equal(ev.kind, WS_EV_FAIL);
	assert_int_equal(ev.code, WS_CLOSE_BAD_DATA);
	assert_non_null(ev.why);
	assert_int_equal(ws_parse(&p, b.data + 10, b.len - 10, &ev),
	    b.len - 10);
	assert_int_equal(ev.kind, WS_EV_NONE);
	ws_parser_clear(&p);
	buf_free(&b);
	/* a lead that cannot start anything, alone at a fragment's end */
	client_text(&b, 0x01, "ok \xf5");
	expect_fail(&b, WS_CLOSE_BAD_DATA);
	/* E0 80 is overlong already: no need to wait for the third byte */
	client_text(&b, 0x01, "\xe0\x80");
	expect_fail(&b, WS_CLOSE_BAD_DATA);
	/* a surrogate's lead and second byte, at a fragment's end */
	client_text(&b, 0x01, "\xed\xa0");
	expect_fail(&b, WS_CLOSE_BAD_DATA);
}

static void
test_parse_utf8_cut_at_end(void **state)
{
	struct buf b = { 0 };

	(void)state;
	client_text(&b, 0x81, "caf\xc3");
	expect_fail(&b, WS_CLOSE_BAD_DATA);
	client_text(&b, 0x01, "caf");
	client_text(&b, 0x80, "\xe2\x82");
	expect_fail(&b, WS_CLOSE_BAD_DATA);
}

static void
test_parse_protocol_errors(void **state)
{
	static const struct {
		unsigned b0;
		const char *payload;
		unsigned code;
	} cases[] = {
		{ 0xC1, "rsv1", WS_CLOSE_PROTOCOL },
		{ 0xA1, "rsv2", WS_CLOSE_PROTOCOL },
		{ 0x91, "rsv3", WS_CLOSE_PROTOCOL },
		{ 0x83, "opcode 3", WS_CLOSE_PROTOCOL },
		{ 0x87, "opcode 7", WS_CLOSE_PROTOCOL },
		{ 0x8B, "opcode B", WS_CLOSE_PROTOCOL },
		{ 0x8F, "opcode F", WS_CLOSE_PROTOCOL },
		{ 0x09, "fragmented ping", WS_CLOSE_PROTOCOL },
		{ 0x08, "\x03\xe8", WS_CLOSE_PROTOCOL },
		{ 0x80, "continuation first", WS_CLOSE_PROTOCOL },
		{ 0x00, "continuation first", WS_CLOSE_PROTOCOL },
		{ 0x82, "binary", WS_CLOSE_UNSUPPORTED },
		{ 0x02, "fragmented binary", WS_CLOSE_UNSUPPORTED },
	};
	struct buf b = { 0 };

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		client_text(&b, cases[i].b0, cases[i].payload);
		expect_fail(&b, cases[i].code);
	}
}

static void
test_parse_control_too_long(void **state)
{
	char p[126];
	struct buf b = { 0 };
	struct rec r[MAX_RECS];

	(void)state;
	memset(p, 'p', sizeof(p));
	client_frame(&b, 0x89, p, 125);
	assert_int_equal(parse_all(&b, MAX_MSG, r), 1);
	assert_int_equal(r[0].kind, WS_EV_PING);
	assert_int_equal(r[0].len, 125);
	buf_free(&b);
	client_frame(&b, 0x89, p, 126);
	expect_fail(&b, WS_CLOSE_PROTOCOL);
	client_frame(&b, 0x88, p, 126);
	expect_fail(&b, WS_CLOSE_PROTOCOL);
}

/* A new message while a fragmented one is open. */
static void
test_parse_interleaved_messages(void **state)
{
	struct buf b = { 0 };

	(void)state;
	client_text(&b, 0x01, "first");
	client_text(&b, 0x81, "second");
	expect_fail(&b, WS_CLOSE_PROTOCOL);
	client_text(&b, 0x01, "first");
	client_text(&b, 0x82, "binary");
	expect_fail(&b, WS_CLOSE_PROTOCOL);
}

/* Lengths must be in their shortest form, and below 2^63. */
static void
test_parse_length_forms(void **state)
{
	static const unsigned char bad[][14] = {
		{ 0x81, 0xFE, 0x00, 0x05 },
		{ 0x81, 0xFE, 0x00, 0x7D },
		{ 0x81, 0xFF, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF },
		{ 0x81, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0 },
	};
	static const size_t blen[] = { 4 + 4, 4 + 4, 10 + 4, 10 + 4 };
	struct buf b = { 0 };

	(void)state;
	for (size_t i = 0; i < sizeof(blen) / sizeof(blen[0]); i++) {
		buf_append(&b, bad[i], blen[i]);
		expect_fail(&b, WS_CLOSE_PROTOCOL);
	}
}

static void
test_parse_size_cap(void **state)
{
	static char big[MAX_MSG + 1];
	struct buf b = { 0 };
	struct rec r[MAX_RECS];
	struct ws_parser p;
	struct ws_event ev;

	(void)state;
	memset(big, 'a', sizeof(big));
	client_frame(&b, 0x81, big, MAX_MSG);
	assert_int_equal(parse_all(&b, MAX_MSG, r), 1);
	assert_int_equal(r[0].kind, WS_EV_TEXT);
	assert_int_equal(r[0].len, MAX_MSG);
	buf_free(&b);
	/* one byte over, in one frame: refused on its header alone */
	client_frame(&b, 0x81, big, MAX_MSG + 1);
	ws_parser_init(&p, MAX_MSG);
	assert_int_equal(ws_parse(&p, b.data, 4 + 4, &ev), 8);
	assert_int_equal(ev.kind, WS_EV_FAIL);
	assert_int_equal(ev.code, WS_CLOSE_TOO_BIG);
	ws_parser_clear(&p);
	expect_fail(&b, WS_CLOSE_TOO_BIG);
	/* over across fragments, with a ping between that does not count */
	client_frame(&b, 0x01, big, 600);
	client_frame(&b, 0x89, big, 100);
	client_frame(&b, 0x80, big, 401);
	expect_fail(&b, WS_CLOSE_TOO_BIG);
	/* a 64-bit length no server would take */
	buf_append(&b, "\x81\xff\x7f\xff\xff\xff\xff\xff\xff\xff" "abcd", 14);
	expect_fail(&b, WS_CLOSE_TOO_BIG);
}

/* A 16-bit and a 64-bit length within the cap, byte by byte too. */
static void
test_parse_long_lengths(void **state)
{
	static char big[70000];
	struct buf b = { 0 };
	struct rec r[MAX_RECS];

	(void)state;
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)('a' + i % 26);
	client_frame(&b, 0x01, big, 300);
	client_frame(&b, 0x80, big + 300, sizeof(big) - 300);
	assert_int_equal(parse_all(&b, sizeof(big), r), 1);
	assert_int_equal(r[0].kind, WS_EV_TEXT);
	assert_int_equal(r[0].len, sizeof(big));
	assert_memory_equal(r[0].data, big, 299);
	buf_free(&b);
}

static void
test_parse_close_codes(void **state)
{
	static const unsigned good[] = { 1000, 1001, 1002, 1003, 1007, 1008,
	    1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999 };
	static const unsigned bad[] = { 0, 999, 1004, 1005, 1006, 1015, 1016,
	    1100, 2000, 2999, 5000, 65535 };
	unsigned char p[2];
	struct buf b = { 0 };
	struct rec r[MAX_RECS];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		p[0] = (unsigned char)(good[i] >> 8);
		p[1] = (unsigned char)good[i];
		client_frame(&b, 0x88, p, 2);
		assert_int_equal(parse_all(&b, MAX_MSG, r), 1);
		assert_int_equal(r[0].kind, WS_EV_CLOSE);
		assert_int_equal(r[0].code, good[i]);
		assert_int_equal(r[0].len, 0);
		buf_free(&b);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		p[0] = (unsigned char)(bad[i] >> 8);
		p[1] = (unsigned char)bad[i];
		client_frame(&b, 0x88, p, 2);
		expect_fail(&b, WS_CLOSE_PROTOCOL);
	}
}

static void
test_parse_close_payloads(void **state)
{
	struct buf b = { 0 };
	struct rec r[MAX_RECS];

	(void)state;
	/* no code: the echo carries none either */
	client_text(&b, 0x88, "");
	assert_int_equal(parse_all(&b, MAX_MSG, r), 1);
	assert_int_equal(r[0].kind, WS_EV_CLOSE);
	assert_int_equal(r[0].code, WS_CLOSE_NO_STATUS);
	buf_free(&b);
	client_text(&b, 0x88, "\x03");
	expect_fail(&b, WS_CLOSE_PROTOCOL);
	client_text(&b, 0x88, "\x03\xe8" "bad \xc3");
	expect_fail(&b, WS_CLOSE_BAD_DATA);
	/* a close in the middle of a fragmented message */
	client_text(&b, 0x01, "half \xc3");
	client_text(&b, 0x88, "\x03\xe9");
	assert_int_equal(parse_all(&b, MAX_MSG, r), 1);
	assert_int_equal(r[0].kind, WS_EV_CLOSE);
	assert_int_equal(r[0].code, 1001);
	buf_free(&b);
}

/* What a caller does with the events: pong, echo, close with the code. */
static void
test_replies(void **state)
{
	struct buf in = { 0 }, out = { 0 };
	struct ws_parser p;
	struct ws_event ev;
	size_t at = 0;

	(void)state;
	client_text(&in, 0x89, "hi");
	client_text(&in, 0x88, "\x0f\xa0");
	ws_parser_init(&p, MAX_MSG);
	while (at < in.len) {
		at += ws_parse(&p, in.data + at, in.len - at, &ev);
		if (ev.kind == WS_EV_PING)
			ws_frame(&out, WS_OP_PONG, ev.data, ev.len);
		else if (ev.kind == WS_EV_CLOSE)
			ws_close(&out, ev.code, NULL);
	}
	assert_int_equal(out.len, 4 + 4);
	assert_memory_equal(out.data, "\x8a\x02hi\x88\x02\x0f\xa0", 8);
	ws_parser_clear(&p);
	ws_parser_clear(NULL);
	buf_free(&in);
	buf_free(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accept_rfc_example),
		cmocka_unit_test(test_accept_bad_keys),
		cmocka_unit_test(test_handshake),
		cmocka_unit_test(test_header_lengths),
		cmocka_unit_test(test_frames),
		cmocka_unit_test(test_frame_large),
		cmocka_unit_test(test_parse_rfc_hello),
		cmocka_unit_test(test_parse_rfc_unmasked_fails),
		cmocka_unit_test(test_parse_fragments_and_control),
		cmocka_unit_test(test_parse_stops_at_each_event),
		cmocka_unit_test(test_parse_utf8_across_fragments),
		cmocka_unit_test(test_parse_utf8_fails_fast),
		cmocka_unit_test(test_parse_utf8_cut_at_end),
		cmocka_unit_test(test_parse_protocol_errors),
		cmocka_unit_test(test_parse_control_too_long),
		cmocka_unit_test(test_parse_interleaved_messages),
		cmocka_unit_test(test_parse_length_forms),
		cmocka_unit_test(test_parse_size_cap),
		cmocka_unit_test(test_parse_long_lengths),
		cmocka_unit_test(test_parse_close_codes),
		cmocka_unit_test(test_parse_close_payloads),
		cmocka_unit_test(test_replies),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
