/* test_http.c - unit tests of http.c: the heads lighttpd and Apache really
 * forward for an upgrade (recorded from both), fed whole and byte by
 * byte, every refusal and its status, and the token-list helper. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "http.h"

/* lighttpd 1.4.69, mod_proxy with proxy.header upgrade and
 * proxy.forwarded; the browser sent its own X-Forwarded-For,
 * X-Forwarded-Proto, X-Remote-User and Forwarded, and lighttpd passed them
 * on, appending to the lists and replacing X-Forwarded-Proto. */
static const char lighttpd_head[] =
    "GET /api/rooms/lobby/ws?since=3&x=A HTTP/1.1\r\n"
    "Host: 127.0.0.1:51941\r\n"
    "Upgrade: websocket\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "X-Forwarded-For: 203.0.113.7, 127.0.0.1\r\n"
    "X-Forwarded-Proto: http\r\n"
    "X-Remote-User: mallory\r\n"
    "Forwarded: for=198.51.100.1, for=127.0.0.1;by=\"127.0.0.1:51941\";"
    "proto=http;host=\"127.0.0.1:51941\"\r\n"
    "Origin: http://example.test\r\n"
    "X-Host: 127.0.0.1:51941\r\n"
    "X-Forwarded-Host: 127.0.0.1:51941\r\n"
    "Connection: close, upgrade\r\n"
    "\r\n";

/* The same behind mod_auth (user alice), with setenv.set-request-header
 * emptying the browser's Forwarded, X-Forwarded-For and X-Remote-User. */
static const char lighttpd_auth_head[] =
    "GET /auth/ws HTTP/1.1\r\n"
    "Host: 127.0.0.1:51941\r\n"
    "Upgrade: websocket\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "X-Forwarded-For: 127.0.0.1\r\n"
    "X-Forwarded-Proto: http\r\n"
    "Forwarded: for=127.0.0.1;by=\"127.0.0.1:51941\";proto=http;"
    "host=\"127.0.0.1:51941\";remote_user=\"alice\"\r\n"
    "Origin: http://example.test\r\n"
    "Authorization: Basic YWxpY2U6c2VjcmV0\r\n"
    "X-Host: 127.0.0.1:51941\r\n"
    "X-Forwarded-Host: 127.0.0.1:51941\r\n"
    "Connection: close, upgrade\r\n"
    "\r\n";

/* Apache 2.4.71, mod_proxy_http upgrade=websocket to a unix socket, with
 * RequestHeader set X-Remote-User "expr=%{REMOTE_USER}" and
 * X-Forwarded-Proto "expr=%{REQUEST_SCHEME}". */
static const char apache_head[] =
    "GET /auth/ws HTTP/1.1\r\n"
    "Host: localhost\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "X-Forwarded-For: 203.0.113.7, 127.0.0.1\r\n"
    "X-Forwarded-Proto: http\r\n"
    "X-Remote-User: alice\r\n"
    "Forwarded: for=198.51.100.1\r\n"
    "Origin: http://example.test\r\n"
    "Authorization: Basic YWxpY2U6c2VjcmV0\r\n"
    "X-Forwarded-Host: 127.0.0.1:39943\r\n"
    "X-Forwarded-Server: 127.0.0.1\r\n"
    "Connection: Upgrade\r\n"
    "Upgrade: websocket\r\n"
    "\r\n";

/* Feeds s[0..len) in pieces of chunk bytes; returns the result and sets
 * *used to the bytes the head took in all. The caller frees *h. */
static enum http_parse
feed(struct http_head **h, const char *s, size_t len, size_t chunk,
    size_t *used)
{
	enum http_parse r = HTTP_MORE;
	size_t n, u;

	assert_non_null(*h = http_head_new());
	*used = 0;
	for (size_t at = 0; at < len && r == HTTP_MORE; at += n) {
		n = len - at < chunk ? len - at : chunk;
		r = http_head_parse(*h, s + at, n, &u);
		assert_true(u <= n);
		assert_true(r != HTTP_MORE || u == n);
		*used += u;
	}
	return r;
}

/* The head in s is refused with e, whether fed whole or byte by byte. */
static void
expect_error(const char *s, size_t len, enum http_error e)
{
	static const size_t chunks[] = { SIZE_MAX, 1, 5 };
	struct http_head *h;
	size_t used;

	for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		assert_int_equal(feed(&h, s, len, chunks[i], &used), HTTP_BAD);
		assert_int_equal(http_head_error(h), e);
		assert_null(http_head_request(h));
		http_head_free(h);
	}
}

static void
expect_error_str(const char *s, enum http_error e)
{
	expect_error(s, strlen(s), e);
}

static void
test_lighttpd_head(void **state)
{
	static const size_t chunks[] = { SIZE_MAX, 1, 2, 7, 100 };
	const struct http_request *r;
	struct http_head *h;
	size_t used;

	(void)state;
	for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		assert_int_equal(feed(&h, lighttpd_head,
		    sizeof(lighttpd_head) - 1, chunks[i], &used), HTTP_DONE);
		assert_int_equal(used, sizeof(lighttpd_head) - 1);
		assert_non_null(r = http_head_request(h));
		assert_int_equal(http_head_error(h), HTTP_OK);
		assert_string_equal(r->method, "GET");
		assert_string_equal(r->path, "/api/rooms/lobby/ws");
		assert_string_equal(r->query, "since=3&x=A");
		assert_string_equal(r->host, "127.0.0.1:51941");
		assert_string_equal(r->upgrade, "websocket");
		assert_string_equal(r->connection, "close, upgrade");
		assert_string_equal(r->ws_key, "dGhlIHNhbXBsZSBub25jZQ==");
		assert_string_equal(r->ws_version, "13");
		assert_string_equal(r->origin, "http://example.test");
		assert_string_equal(r->client, "127.0.0.1");
		assert_string_equal(r->proto, "http");
		assert_string_equal(r->user, "mallory");
		assert_null(r->fwd_user);
		http_head_free(h);
	}
	assert_int_equal(feed(&h, lighttpd_auth_head,
	    sizeof(lighttpd_auth_head) - 1, 5, &used), HTTP_DONE);
	assert_non_null(r = http_head_request(h));
	assert_string_equal(r->path, "/auth/ws");
	assert_string_equal(r->client, "127.0.0.1");
	assert_null(r->user);
	assert_string_equal(r->fwd_user, "alice");
	http_head_free(h);
}

static void
test_apache_head(void **state)
{
	const struct http_request *r;
	struct http_head *h;
	size_t used;

	(void)state;
	assert_int_equal(feed(&h, apache_head, sizeof(apache_head) - 1, 3,
	    &used), HTTP_DONE);
	assert_non_null(r = http_head_request(h));
	assert_string_equal(r->path, "/auth/ws");
	assert_null(r->query);
	assert_string_equal(r->host, "localhost");
	assert_string_equal(r->connection, "Upgrade");
	assert_string_equal(r->client, "127.0.0.1");
	assert_string_equal(r->user, "alice");
	assert_null(r->fwd_user);
	http_head_free(h);
}

/* Bytes after the blank line are not the head's: the first frame. */
static void
test_bytes_after_head(void **state)
{
	static const char in[] = "GET / HTTP/1.1\nHost: a\n\n\x81\x85rest";
	struct http_head *h;
	size_t used;

	(void)state;
	assert_non_null(h = http_head_new());
	assert_int_equal(http_head_parse(h, in, sizeof(in) - 1, &used),
	    HTTP_DONE);
	assert_int_equal(used, 24);
	assert_int_equal(http_head_parse(h, "more", 4, &used), HTTP_DONE);
	assert_int_equal(used, 0);
	http_head_free(h);
	assert_int_equal(feed(&h, in, sizeof(in) - 1, 1, &used), HTTP_DONE);
	assert_int_equal(used, 24);
	http_head_free(h);
	http_head_free(NULL);
}

static void
test_lists_and_absent(void **state)
{
	static const char in[] =
	    "\r\n"	/* RFC 9112 2.2: a blank line first is ignored */
	    "GET /a%20b/%41%C3%a9?q=%20 HTTP/1.1\r\n"
	    "host:  example.org \t\r\n"
	    "connection: keep-alive\r\n"
	    "CONNECTION: Upgrade\r\n"
	    "x-forwarded-for: 10.0.0.1\r\n"
	    "X-Forwarded-For: 10.0.0.2, ,\r\n"
	    "X-Forwarded-Proto: https\r\n"
	    "X-Remote-User:\r\n"
	    "Forwarded: for=a;remote_user=bob, for=b\r\n"
	    "Content-Length: 00\r\n"
	    "\r\n";
	const struct http_request *r;
	struct http_head *h;
	size_t used;

	(void)state;
	assert_int_equal(feed(&h, in, sizeof(in) - 1, SIZE_MAX, &used),
	    HTTP_DONE);
	assert_non_null(r = http_head_request(h));
	assert_string_equal(r->path, "/a b/A\xc3\xa9");
	assert_string_equal(r->query, "q=%20");
	assert_string_equal(r->host, "example.org");
	assert_string_equal(r->connection, "keep-alive, Upgrade");
	assert_string_equal(r->client, "10.0.0.2");
	assert_string_equal(r->proto, "https");
	assert_null(r->user);
	assert_null(r->fwd_user);	/* the last element has none */
	assert_null(r->upgrade);
	assert_null(r->ws_key);
	assert_null(r->origin);
	http_head_free(h);
}

static void
test_forwarded_user(void **state)
{
	static const struct {
		const char *value, *user;
	} cases[] = {
		/* lighttpd quotes the name and escapes a quote in it */
		{ "for=127.0.0.1;remote_user=\"bo\\\"b,x\"", "bo\"b,x" },
		{ "for=a, for=b;Remote_User=carol;proto=http", "carol" },
		{ "remote_user=\"\"", "" },
		{ "for=a;remote_user=dave , for=b", NULL },
		{ ", ,for=a;;remote_user=erin", "erin" },
		{ "", NULL },
	};
	char in[512];
	const struct http_request *r;
	struct http_head *h;
	size_t used;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(in, sizeof(in), "GET / HTTP/1.1\r\nHost: h\r\n"
		    "Forwarded: %s\r\n\r\n", cases[i].value);
		assert_int_equal(feed(&h, in, strlen(in), SIZE_MAX, &used),
		    HTTP_DONE);
		assert_non_null(r = http_head_request(h));
		if (cases[i].user == NULL)
			assert_null(r->fwd_user);
		else
			assert_string_equal(r->fwd_user, cases[i].user);
		http_head_free(h);
	}
}

/* A browser's malformed Forwarded must not hide or fake the element the
 * web server appended after it. */
static void
test_forwarded_malformed(void **state)
{
	static const char *const bad[] = {
		/* as lighttpd passed a browser's unclosed quote on */
		"for=198.51.100.1, for=\"evil, remote_user=x, for=127.0.0.1;"
		    "by=\"127.0.0.1:51941\";proto=http;"
		    "host=\"127.0.0.1:51941\";remote_user=\"alice\"",
		"for=\"evil, for=127.0.0.1;remote_user=\"alice\"",
		"for=\"unclosed",
		"for=\"escape at end\\",
		"=x",
		"for",
		"for=;remote_user=x",
		"for=a b",
		"for=a;remote_user=\"x\"y",
	};
	char in[512];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(in, sizeof(in), "GET / HTTP/1.1\r\nHost: h\r\n"
		    "Forwarded: %s\r\n\r\n", bad[i]);
		expect_error_str(in, HTTP_E_FORWARDED);
	}
}

static void
test_request_line_errors(void **state)
{
	static const struct {
		const char *head;
		enum http_error e;
	} cases[] = {
		{ "GET\r\nHost: h\r\n\r\n", HTTP_E_SYNTAX },
		{ "GET /\r\nHost: h\r\n\r\n", HTTP_E_SYNTAX },
		{ "GET  / HTTP/1.1\r\nHost: h\r\n\r\n", HTTP_E_SYNTAX },
		{ "GET / HTTP/1.1 \r\nHost: h\r\n\r\n", HTTP_E_SYNTAX },
		{ "G(T / HTTP/1.1\r\nHost: h\r\n\r\n", HTTP_E_SYNTAX },
		{ " GET / HTTP/1.1\r\nHost: h\r\n\r\n", HTTP_E_SYNTAX },
		{ "GET / HTTX/1.1\r\nHost: h\r\n\r\n", HTTP_E_SYNTAX },
		{ "GET / http/1.1\r\nHost: h\r\n\r\n", HTTP_E_SYNTAX },
		{ "GET / HTTP/1.10\r\nHost: h\r\n\r\n", HTTP_E_SYNTAX },
		{ "GET / HTTP/1.0\r\nHost: h\r\n\r\n", HTTP_E_VERSION },
		{ "GET / HTTP/2.0\r\nHost: h\r\n\r\n", HTTP_E_VERSION },
		{ "GET / HTTP/0.9\r\nHost: h\r\n\r\n", HTTP_E_VERSION },
		{ "GET * HTTP/1.1\r\nHost: h\r\n\r\n", HTTP_E_TARGET },
		{ "GET http://h/ HTTP/1.1\r\nHost: h\r\n\r\n", HTTP_E_TARGET },
		{ "GET /a#f HTTP/1.1\r\nHost: h\r\n\r\n", HTTP_E_TARGET },
		{ "GET /a%00 HTTP/1.1\r\nHost: h\r\n\r\n", HTTP_E_TARGET },
		{ "GET /a%0a HTTP/1.1\r\nHost: h\r\n\r\n", HTTP_E_TARGET },
		{ "GET /a%1F HTTP/1.1\r\nHost: h\r\n\r\n", HTTP_E_TARGET },
		{ "GET /a%7f HTTP/1.1\r\nHost: h\r\n\r\n", HTTP_E_TARGET },
		{ "GET /a%zz HTTP/1.1\r\nHost: h\r\n\r\n", HTTP_E_TARGET },
		{ "GET /a%4 HTTP/1.1\r\nHost: h\r\n\r\n", HTTP_E_TARGET },
		{ "GET /\x7f HTTP/1.1\r\nHost: h\r\n\r\n", HTTP_E_TARGET },
		{ "GET /\xc3\xa9 HTTP/1.1\r\nHost: h\r\n\r\n", HTTP_E_TARGET },
		{ "GET /\r HTTP/1.1\r\nHost: h\r\n\r\n", HTTP_E_SYNTAX },
	};

	/* a NUL where a space should be */
	static const char nul[] = "GET\0/ HTTP/1.1\r\nHost: h\r\n\r\n";

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_error_str(cases[i].head, cases[i].e);
	expect_error(nul, sizeof(nul) - 1, HTTP_E_SYNTAX);
}

static void
test_header_errors(void **state)
{
	static const struct {
		const char *fields;
		enum http_error e;
	} cases[] = {
		{ "Host: h\r\n", HTTP_OK },
		{ "", HTTP_E_HOST },
		{ "Host: h\r\nHost: h\r\n", HTTP_E_DUPLICATE },
		{ "Host: h\r\nOrigin: a\r\norigin: a\r\n", HTTP_E_DUPLICATE },
		{ "Host: h\r\nSec-WebSocket-Key: a\r\nSec-WebSocket-Key: b\r\n",
		    HTTP_E_DUPLICATE },
		{ "Host: h\r\nSec-WebSocket-Version: 13\r\n"
		    "Sec-WebSocket-Version: 8\r\n", HTTP_E_DUPLICATE },
		{ "Host: h\r\nX-Remote-User: a\r\nX-Remote-User: b\r\n",
		    HTTP_E_DUPLICATE },
		{ "Host: h\r\nContent-Length: 0\r\nContent-Length: 0\r\n",
		    HTTP_E_DUPLICATE },
		{ "Host: h\r\nContent-Length: 5\r\n", HTTP_E_BODY },
		{ "Host: h\r\nContent-Length: 0x0\r\n", HTTP_E_SYNTAX },
		{ "Host: h\r\nContent-Length:\r\n", HTTP_E_SYNTAX },
		{ "Host: h\r\nContent-Length: -0\r\n", HTTP_E_SYNTAX },
		{ "Host: h\r\nTransfer-Encoding: chunked\r\n", HTTP_E_BODY },
		{ "Host: h\r\nX: a\r\n b\r\n", HTTP_E_SYNTAX },
		{ "Host: h\r\n\tX: a\r\n", HTTP_E_SYNTAX },
		{ "Host : h\r\n", HTTP_E_SYNTAX },
		{ "Host: h\r\nNo colon\r\n", HTTP_E_SYNTAX },
		{ "Host: h\r\n: empty name\r\n", HTTP_E_SYNTAX },
		{ "Host: h\r\nX(: a\r\n", HTTP_E_SYNTAX },
		{ "Host: h\r\nX: a\rb\r\n", HTTP_E_SYNTAX },
		{ "Host: h\r\nX: a\x01" "b\r\n", HTTP_E_SYNTAX },
		{ "Host: h\r\nX: a\x7f\r\n", HTTP_E_SYNTAX },
		{ "Host: h\r\nX: \xc3\xa9 obs-text\tand tab\r\n", HTTP_OK },
		{ "Host: h\r\r\n", HTTP_E_SYNTAX },
	};
	static const char nul[] =
	    "GET / HTTP/1.1\r\nHost: h\r\nX: a\0b\r\n\r\n";
	char in[512];
	struct http_head *h;
	size_t used;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(in, sizeof(in), "GET / HTTP/1.1\r\n%s\r\n",
		    cases[i].fields);
		if (cases[i].e != HTTP_OK) {
			expect_error_str(in, cases[i].e);
			continue;
		}
		assert_int_equal(feed(&h, in, strlen(in), 1, &used),
		    HTTP_DONE);
		http_head_free(h);
	}
	expect_error(nul, sizeof(nul) - 1, HTTP_E_SYNTAX);
}

/* Each cap at its edge: the largest allowed passes, one more fails. */
static void
test_caps(void **state)
{
	static char in[HTTP_HEAD_MAX * 2];
	struct http_head *h;
	size_t used, n;

	(void)state;
	/* request line: HTTP_LINE_MAX with its CRLF, then one more byte */
	n = (size_t)snprintf(in, sizeof(in), "GET /");
	memset(in + n, 'a', HTTP_LINE_MAX - n - 11);
	n = HTTP_LINE_MAX - 11;
	n += (size_t)sprintf(in + n, " HTTP/1.1\r\nHost: h\r\n\r\n");
	assert_int_equal(feed(&h, in, n, 1000, &used), HTTP_DONE);
	assert_int_equal(strlen(http_head_request(h)->path),
	    HTTP_LINE_MAX - 15);
	http_head_free(h);
	memmove(in + 5, in + 4, n - 4);
	expect_error(in, n + 1, HTTP_E_URI_LONG);
	/* a header line of HTTP_LINE_MAX bytes, then one more */
	n = (size_t)sprintf(in, "GET / HTTP/1.1\r\nHost: h\r\nX: ");
	memset(in + n, 'v', HTTP_LINE_MAX - 5);
	n += HTTP_LINE_MAX - 5;
	n += (size_t)sprintf(in + n, "\r\n\r\n");
	assert_int_equal(feed(&h, in, n, SIZE_MAX, &used), HTTP_DONE);
	http_head_free(h);
	memmove(in + 30, in + 29, n - 29);
	expect_error(in, n + 1, HTTP_E_FIELDS_LARGE);
	/* HTTP_FIELDS_MAX header lines, then one more */
	n = (size_t)sprintf(in, "GET / HTTP/1.1\r\nHost: h\r\n");
	for (int i = 1; i < HTTP_FIELDS_MAX; i++)
		n += (size_t)sprintf(in + n, "X-%d: v\r\n", i);
	sprintf(in + n, "\r\n");
	assert_int_equal(feed(&h, in, n + 2, SIZE_MAX, &used), HTTP_DONE);
	http_head_free(h);
	n += (size_t)sprintf(in + n, "X-last: v\r\n\r\n");
	expect_error(in, n, HTTP_E_FIELDS_LARGE);
	/* the whole head: five lines of 4000 bytes pass no line cap */
	n = (size_t)sprintf(in, "GET / HTTP/1.1\r\nHost: h\r\n");
	for (int i = 0; i < 5; i++) {
		n += (size_t)sprintf(in + n, "X-%d: ", i);
		memset(in + n, 'v', 4000);
		n += 4000;
		n += (size_t)sprintf(in + n, "\r\n");
	}
	n += (size_t)sprintf(in + n, "\r\n");
	expect_error(in, n, HTTP_E_FIELDS_LARGE);
}

/* Repeated list headers are copied as they are joined: the keep area,
 * not the head size, is what three long ones exhaust. */
static void
test_keep_area_full(void **state)
{
	static char in[HTTP_HEAD_MAX];
	size_t n;

	(void)state;
	n = (size_t)sprintf(in, "GET / HTTP/1.1\r\nHost: h\r\n");
	for (int i = 0; i < 3; i++) {
		n += (size_t)sprintf(in + n, "X-Forwarded-For: ");
		memset(in + n, '1', 3000);
		n += 3000;
		n += (size_t)sprintf(in + n, "\r\n");
	}
	n += (size_t)sprintf(in + n, "\r\n");
	assert_true(n < HTTP_HEAD_MAX);
	expect_error(in, n, HTTP_E_FIELDS_LARGE);
}

static void
test_error_info(void **state)
{
	static const int status[HTTP_E__MAX] = {
		[HTTP_OK] = 200, [HTTP_E_SYNTAX] = 400, [HTTP_E_TARGET] = 400,
		[HTTP_E_URI_LONG] = 414, [HTTP_E_FIELDS_LARGE] = 431,
		[HTTP_E_VERSION] = 505, [HTTP_E_HOST] = 400,
		[HTTP_E_DUPLICATE] = 400, [HTTP_E_BODY] = 400,
		[HTTP_E_FORWARDED] = 400,
	};

	(void)state;
	for (int e = 0; e < HTTP_E__MAX; e++) {
		assert_int_equal(http_error_info(e)->status, status[e]);
		assert_non_null(http_error_info(e)->reason);
		assert_non_null(http_error_info(e)->message);
		assert_null(strchr(http_error_info(e)->message, '%'));
	}
	assert_int_equal(http_error_info(HTTP_E__MAX)->status, 400);
	assert_int_equal(http_error_info((enum http_error)-1)->status, 400);
}

static void
test_list_has(void **state)
{
	(void)state;
	assert_true(http_list_has("Upgrade", "upgrade"));
	assert_true(http_list_has("keep-alive, Upgrade", "upgrade"));
	assert_true(http_list_has("close,upgrade", "upgrade"));
	assert_true(http_list_has(" ,\tUPGRADE\t, ,", "upgrade"));
	assert_true(http_list_has("websocket", "websocket"));
	assert_false(http_list_has("upgraded", "upgrade"));
	assert_false(http_list_has("up grade", "upgrade"));
	assert_false(http_list_has("keep-alive", "upgrade"));
	assert_false(http_list_has("", "upgrade"));
	assert_false(http_list_has(",,", "upgrade"));
	assert_false(http_list_has(NULL, "upgrade"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lighttpd_head),
		cmocka_unit_test(test_apache_head),
		cmocka_unit_test(test_bytes_after_head),
		cmocka_unit_test(test_lists_and_absent),
		cmocka_unit_test(test_forwarded_user),
		cmocka_unit_test(test_forwarded_malformed),
		cmocka_unit_test(test_request_line_errors),
		cmocka_unit_test(test_header_errors),
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_keep_area_full),
		cmocka_unit_test(test_error_info),
		cmocka_unit_test(test_list_has),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
