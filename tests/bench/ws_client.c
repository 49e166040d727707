/* ws_client.c - the client side of WebSocket for the load generator (see
 * ws_client.h): handshake key and accept, reading frames, masked sends. */
#include "ws_client.h"

#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <nettle/base64.h>
#include <nettle/sha1.h>

/* RFC 6455 1.3: the server hashes the key with this. */
static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

#define WS_KEY_LEN 24 /* base64 of 16 bytes */

_Static_assert(BASE64_ENCODE_RAW_LENGTH(16) == WS_KEY_LEN, "key length");
_Static_assert(BASE64_ENCODE_RAW_LENGTH(SHA1_DIGEST_SIZE) == WS_ACCEPT_LEN,
	       "accept length");

/* Opcodes RFC 6455 defines; the others are reserved (5.2). */
static const unsigned char ws_op_known[16] = {
	[WS_CONT] = 1, [WS_TEXT] = 1, [WS_BINARY] = 1,
	[WS_CLOSE] = 1, [WS_PING] = 1, [WS_PONG] = 1,
};

/* A partial frame is at most a whole message and the rest of one read. */
#define WS_IN_MAX (WS_MSG_MAX + (1u << 17))

struct ws_frame {
	int fin;
	enum ws_op op;
	const char *payload;
	size_t len;
};

static void ws_random(void *p, size_t n)
{
	size_t got = 0;
	while (got < n) {
		ssize_t k = getrandom((char *)p + got, n - got, 0);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			fprintf(stderr, "loadgen: getrandom: %s\n",
				strerror(errno));
			exit(2);
		}
		got += (size_t)k;
	}
}

static void ws_key_new(char key[WS_KEY_LEN + 1])
{
	uint8_t raw[16];
	ws_random(raw, sizeof raw);
	base64_encode_raw(key, sizeof raw, raw);
	key[WS_KEY_LEN] = '\0';
}

void ws_accept_for(const char *key, char accept[WS_ACCEPT_LEN + 1])
{
	struct sha1_ctx s;
	uint8_t d[SHA1_DIGEST_SIZE];
	sha1_init(&s);
	sha1_update(&s, strlen(key), (const uint8_t *)key);
	sha1_update(&s, sizeof ws_guid - 1, (const uint8_t *)ws_guid);
	sha1_digest(&s, sizeof d, d);
	base64_encode_raw(accept, sizeof d, d);
	accept[WS_ACCEPT_LEN] = '\0';
}

void ws_handshake(char headers[WS_HEADERS_MAX],
		  char accept[WS_ACCEPT_LEN + 1])
{
	char key[WS_KEY_LEN + 1];
	ws_key_new(key);
	ws_accept_for(key, accept);
	snprintf(headers, WS_HEADERS_MAX, "Upgrade: websocket\r\n"
		 "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
		 "Sec-WebSocket-Key: %s\r\n", key);
}

int ws_handshake_accepted(const struct http_resp *r, const char *accept)
{
	return r->status == 101 && r->upgrade_websocket &&
	       strcmp(r->ws_accept, accept) == 0;
}

ssize_t ws_frame_build(char *out, size_t cap, enum ws_op op,
		       const char *payload, size_t len)
{
	unsigned char *o = (unsigned char *)out, mask[4];
	size_t head = len < 126 ? 6 : len <= 0xffff ? 8 : 14;
	if (((op & 0x8) && len > WS_CONTROL_MAX) || cap < head ||
	    cap - head < len)
		return -1;
	o[0] = (unsigned char)(0x80 | op);
	if (len < 126) {
		o[1] = (unsigned char)(0x80 | len);
	} else if (len <= 0xffff) {
		o[1] = 0x80 | 126;
		o[2] = (unsigned char)(len >> 8);
		o[3] = (unsigned char)len;
	} else {
		o[1] = 0x80 | 127;
		for (int i = 0; i < 8; i++)
			o[2 + i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
	}
	/* RFC 6455 10.3: the mask must be unpredictable to the page's
	 * script; here nothing is at stake, but the server checks for one. */
	ws_random(mask, sizeof mask);
	memcpy(o + head - 4, mask, sizeof mask);
	for (size_t i = 0; i < len; i++)
		o[head + i] = (unsigned char)payload[i] ^ mask[i % 4];
	return (ssize_t)(head + len);
}

/* ------------------------------------------------------------------ */
/* Reading                                                             */

static int buf_append(struct ws_buf *b, const char *p, size_t n, size_t max)
{
	if (n > max || b->len > max - n)
		return -1;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n)
			cap *= 2;
		char *q = realloc(b->p, cap);
		if (!q)
			return -1;
		b->p = q;
		b->cap = cap;
	}
	if (n)
		memcpy(b->p + b->len, p, n);
	b->len += n;
	return 0;
}

/* One frame at the start of [p, p + n): the bytes it takes, 0 when it is
 * not all there yet, -1 when it breaks the protocol. */
static ssize_t frame_parse(const unsigned char *p, size_t n,
			   struct ws_frame *f)
{
	if (n < 2)
		return 0;
	/* No extension was agreed, and servers never mask (5.1). */
	if ((p[0] & 0x70) || (p[1] & 0x80) || !ws_op_known[p[0] & 0x0f])
		return -1;
	f->fin = p[0] >> 7;
	f->op = (enum ws_op)(p[0] & 0x0f);
	uint64_t len = p[1] & 0x7f;
	size_t head = 2;
	if (len == 126) {
		if (n < 4)
			return 0;
		len = (uint64_t)p[2] << 8 | p[3];
		head = 4;
	} else if (len == 127) {
		if (n < 10)
			return 0;
		len = 0;
		for (int i = 2; i < 10; i++)
			len = len << 8 | p[i];
		head = 10;
	}
	if ((f->op & 0x8) && (!f->fin || len > WS_CONTROL_MAX))
		return -1;
	if (len > WS_MSG_MAX)
		return -1;
	if (n - head < len)
		return 0;
	f->payload = (const char *)p + head;
	f->len = (size_t)len;
	return (ssize_t)(head + len);
}

/* Hands a frame on, joining fragments: <0 protocol error, 0 go on, >0 the
 * handler stopped. */
static int frame_take(struct ws_reader *r, const struct ws_frame *f,
		      ws_handler fn, void *arg)
{
	assert(!(f->op & 0x8) || (f->fin && f->len <= WS_CONTROL_MAX));
	if (f->op & 0x8) /* control frames may come between fragments */
		return fn(arg, f->op, f->payload, f->len) ? 1 : 0;
	if (f->op == WS_CONT) {
		if (!r->msg_op)
			return -1;
	} else if (r->msg_op) {
		return -1; /* a new message before the last one ended */
	} else if (f->fin) { /* the usual case: whole, no copy */
		return fn(arg, f->op, f->payload, f->len) ? 1 : 0;
	} else {
		r->msg_op = f->op;
		r->msg.len = 0;
	}
	if (buf_append(&r->msg, f->payload, f->len, WS_MSG_MAX) < 0)
		return -1;
	if (!f->fin)
		return 0;
	enum ws_op op = (enum ws_op)r->msg_op;
	r->msg_op = 0;
	return fn(arg, op, r->msg.p, r->msg.len) ? 1 : 0;
}

/* Keeps the incomplete frame at rest for the next read. */
static int keep_rest(struct ws_reader *r, const char *rest, size_t left)
{
	if (r->in.len) { /* rest lies in r->in already */
		assert(rest >= r->in.p && rest + left == r->in.p + r->in.len);
		memmove(r->in.p, rest, left);
		r->in.len = left;
		return 0;
	}
	return buf_append(&r->in, rest, left, WS_IN_MAX);
}

int ws_read(struct ws_reader *r, const char *data, size_t n, ws_handler fn,
	    void *arg)
{
	if (r->in.len) {
		if (buf_append(&r->in, data, n, WS_IN_MAX) < 0)
			return -1;
		data = r->in.p;
		n = r->in.len;
	}
	size_t used = 0;
	struct ws_frame f;
	ssize_t k;
	while ((k = frame_parse((const unsigned char *)data + used, n - used,
				&f)) > 0) {
		used += (size_t)k;
		int rc = frame_take(r, &f, fn, arg);
		if (rc)
			return rc < 0 ? -1 : 1;
	}
	if (k < 0)
		return -1;
	return keep_rest(r, data + used, n - used);
}

void ws_reader_reset(struct ws_reader *r)
{
	r->in.len = 0;
	r->msg.len = 0;
	r->msg_op = 0;
}

void ws_reader_free(struct ws_reader *r)
{
	free(r->in.p);
	free(r->msg.p);
	memset(r, 0, sizeof *r);
}

/* ------------------------------------------------------------------ */
/* Self-test                                                           */

static int st_pass, st_fail;

static void check(int cond, const char *what)
{
	if (cond) {
		st_pass++;
	} else {
		st_fail++;
		fprintf(stderr, "selftest: FAILED: ws: %s\n", what);
	}
}

/* An unmasked frame as a server sends it; returns its length. */
static size_t server_frame(char *out, int fin, int op, const char *p,
			   size_t len)
{
	unsigned char *o = (unsigned char *)out;
	size_t head = len < 126 ? 2 : 4;
	o[0] = (unsigned char)((fin ? 0x80 : 0) | op);
	if (len < 126) {
		o[1] = (unsigned char)len;
	} else {
		o[1] = 126;
		o[2] = (unsigned char)(len >> 8);
		o[3] = (unsigned char)len;
	}
	memcpy(out + head, p, len);
	return head + len;
}

/* What the reader handed on, as "op:payload|" items. */
struct st_log {
	char s[1024];
	int stop_at; /* stop on this opcode; 0 never */
};

static int st_handler(void *arg, enum ws_op op, const char *p, size_t len)
{
	struct st_log *l = arg;
	size_t n = strlen(l->s);
	snprintf(l->s + n, sizeof l->s - n, "%d:%.*s|", op,
		 len > 40 ? 40 : (int)len, p);
	return (int)op == l->stop_at;
}

/* Feeds s[0..len) in pieces of step bytes; the last ws_read result. */
static int st_feed(struct ws_reader *r, struct st_log *l, const char *s,
		   size_t len, size_t step)
{
	int rc = 0;
	for (size_t off = 0; off < len && rc == 0; off += step)
		rc = ws_read(r, s + off, len - off < step ? len - off : step,
			     st_handler, l);
	return rc;
}

static void selftest_handshake(void)
{
	char key[WS_KEY_LEN + 1], key2[WS_KEY_LEN + 1], h[WS_HEADERS_MAX];
	char acc[WS_ACCEPT_LEN + 1], acc2[WS_ACCEPT_LEN + 1], resp[256];
	ws_accept_for("dGhlIHNhbXBsZSBub25jZQ==", acc);
	check(strcmp(acc, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") == 0,
	      "RFC 6455 1.3 accept example");
	ws_key_new(key);
	ws_key_new(key2);
	check(strlen(key) == WS_KEY_LEN && strcmp(key + 22, "==") == 0 &&
	      strcmp(key, key2) != 0, "keys: 16 random bytes in base64");
	ws_handshake(h, acc);
	const char *k = strstr(h, "Sec-WebSocket-Key: ");
	snprintf(key, sizeof key, "%.24s", k ? k + 19 : "");
	ws_accept_for(key, acc2);
	check(k && strcmp(acc2, acc) == 0 &&
	      strstr(h, "Upgrade: websocket\r\n") != NULL,
	      "handshake headers and their accept value");
	struct http_resp r;
	hp_init(&r);
	int n = snprintf(resp, sizeof resp, "HTTP/1.1 101 Switching Protocols"
			 "\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\n"
			 "Sec-WebSocket-Accept: %s\r\n\r\n\x81", acc);
	check(hp_feed(&r, resp, (size_t)n) == n - 1 && r.state == HP_DONE &&
	      ws_handshake_accepted(&r, acc), "101 accepted, frames left");
	hp_reset(&r);
	resp[n - 6] ^= 1; /* the accept value's last character */
	hp_feed(&r, resp, (size_t)n);
	check(!ws_handshake_accepted(&r, acc), "wrong accept refused");
	hp_free(&r);
}

static void selftest_build(void)
{
	char out[300], big[200];
	unsigned char *u = (unsigned char *)out;
	ssize_t n = ws_frame_build(out, sizeof out, WS_PONG, "hi", 2);
	check(n == 8 && u[0] == 0x8A && u[1] == 0x82 &&
	      (out[6] ^ out[2]) == 'h' && (out[7] ^ out[3]) == 'i',
	      "masked pong");
	memset(big, 'x', sizeof big);
	n = ws_frame_build(out, sizeof out, WS_TEXT, big, sizeof big);
	check(n == 208 && u[1] == (0x80 | 126) && u[2] == 0 && u[3] == 200,
	      "16-bit length");
	check(ws_frame_build(out, sizeof out, WS_PING, big, 126) < 0 &&
	      ws_frame_build(out, 10, WS_TEXT, big, 5) < 0,
	      "oversized control frame, short buffer");
}

static void selftest_read(void)
{
	char s[1024], big[300];
	size_t len = 0;
	memset(big, 'y', sizeof big);
	len += server_frame(s + len, 1, WS_TEXT, "a", 1);
	len += server_frame(s + len, 1, WS_PING, "p", 1);
	len += server_frame(s + len, 0, WS_TEXT, "he", 2);
	len += server_frame(s + len, 1, WS_PING, "", 0);
	len += server_frame(s + len, 1, WS_CONT, "llo", 3);
	len += server_frame(s + len, 1, WS_TEXT, big, sizeof big);
	len += server_frame(s + len, 1, WS_CLOSE, "\x03\xe8", 2);
	static const char want[] = "1:a|9:p|9:|1:hello|1:yyyyyyyyyyyyyyyyyyyy"
				   "yyyyyyyyyyyyyyyyyyyy|8:\x03\xe8|";
	struct ws_reader r = {0};
	for (size_t step = 1; step <= len; step += 5) {
		struct st_log l = {.s = "", .stop_at = 0};
		ws_reader_reset(&r);
		check(st_feed(&r, &l, s, len, step) == 0 &&
		      strcmp(l.s, want) == 0 && r.in.len == 0,
		      "frames in pieces, fragments joined");
	}
	struct st_log l = {.s = "", .stop_at = WS_PING};
	ws_reader_reset(&r);
	check(ws_read(&r, s, len, st_handler, &l) == 1 &&
	      strcmp(l.s, "1:a|9:p|") == 0, "handler stops the reading");
	ws_reader_free(&r);
}

static void selftest_errors(void)
{
	static const struct {
		const char *bytes;
		size_t len;
		const char *what;
	} bad[] = {
		{"\x81\x81" "abcdx", 7, "masked server frame"},
		{"\xC1\x01" "a", 3, "reserved bit"},
		{"\x83\x01" "a", 3, "reserved opcode"},
		{"\x80\x01" "a", 3, "continuation out of place"},
		{"\x09\x01" "a", 3, "fragmented ping"},
		{"\x89\x7e\x00\x7e", 4, "control frame over 125"},
		{"\x01\x01" "a" "\x81\x01" "b", 6, "text inside a fragmented text"},
		{"\x82\x7f\x00\x00\x00\x00\x7f\x00\x00\x00", 10, "2 GB message"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		struct ws_reader r = {0};
		struct st_log l = {.s = "", .stop_at = 0};
		check(ws_read(&r, bad[i].bytes, bad[i].len, st_handler, &l) < 0,
		      bad[i].what);
		ws_reader_free(&r);
	}
}

int ws_selftest(int *passed)
{
	st_pass = st_fail = 0;
	selftest_handshake();
	selftest_build();
	selftest_read();
	selftest_errors();
	*passed += st_pass;
	return st_fail;
}
