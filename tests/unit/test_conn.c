/* test_conn.c - unit tests of conn.c and fcgi.c's framing on a socket
 * pair: what arrives is well-formed FastCGI records carrying the bytes
 * sent, in order, whether the socket took them at once or they were
 * queued and flushed on EPOLLOUT; the 256 KiB cap drops a reader that
 * stops; and the iovec framing is the buffer framing byte for byte. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "conn.h"
#include "fcgi.h"

#define REQ 0x1234

/* A non-blocking socket pair with small buffers, so that a few hundred
 * KiB do not fit: sv[0] is the conn's, sv[1] the web server's. */
static void
pair(int sv[2])
{
	int small = 16384;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
}

/* Reads what is there from fd, appending to b. */
static void
slurp(int fd, struct buf *b)
{
	char chunk[65536];
	ssize_t n;

	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		assert_int_equal(buf_append(b, chunk, (size_t)n), 0);
	assert_true(n == 0 || errno == EAGAIN);
}

/* Parses records in raw: their FCGI_STDOUT content into content, and
 * whether the request was ended (an empty FCGI_STDOUT, then
 * FCGI_END_REQUEST, nothing after). */
static void
unframe(const struct buf *raw, struct buf *content, int *ended)
{
	const unsigned char *p = (const unsigned char *)raw->data;
	size_t off = 0;

	*ended = 0;
	while (off < raw->len) {
		size_t len;
		assert_true(off + 8 <= raw->len);
		assert_int_not_equal(*ended, 2);
		assert_int_equal(p[off], 1);                      /* version */
		assert_int_equal((p[off + 2] << 8) | p[off + 3], REQ);
		len = (size_t)(p[off + 4] << 8 | p[off + 5]);
		assert_int_equal(p[off + 6], 0);                  /* padding */
		assert_true(off + 8 + len <= raw->len);
		if (p[off + 1] == 6 && len > 0)
			buf_append(content, p + off + 8, len);
		else if (p[off + 1] == 6)
			*ended = 1;                               /* empty */
		else {
			assert_int_equal(p[off + 1], 3);  /* FCGI_END_REQUEST */
			assert_int_equal(*ended, 1);
			assert_int_equal(len, 8);
			*ended = 2;
		}
		off += 8 + len;
	}
	if (*ended)
		assert_int_equal(*ended, 2);
}

static char *
pattern(size_t n)
{
	char *s = malloc(n);

	assert_non_null(s);
	for (size_t i = 0; i < n; i++)
		s[i] = (char)('a' + i % 23);
	return s;
}

static void
test_small_sent_at_once(void **state)
{
	struct buf raw = { 0 }, content = { 0 };
	struct conn c;
	int sv[2], ended;

	(void)state;
	pair(sv);
	conn_init(&c, sv[0], REQ);
	assert_int_equal(conn_send(&c, "hello", 5, false), CONN_SENT);
	assert_int_equal(conn_send(&c, " world", 6, true), CONN_SENT);
	assert_false(conn_pending(&c));
	slurp(sv[1], &raw);
	unframe(&raw, &content, &ended);
	assert_int_equal(ended, 2);
	assert_int_equal(content.len, 11);
	assert_memory_equal(content.data, "hello world", 11);
	conn_close(&c, false);
	assert_int_equal(c.fd, -1);
	conn_close(&c, false);   /* twice: nothing more */
	close(sv[1]);
	buf_free(&raw);
	buf_free(&content);
}

/* More than the socket takes: the rest is queued, EPOLLOUT is asked
 * for, and flushing as the peer reads delivers all of it in order. */
static void
test_queued_then_flushed(void **state)
{
	const size_t n = 200000;
	char *data = pattern(n);
	struct buf raw = { 0 }, content = { 0 };
	struct epoll_event ev;
	struct conn c;
	int sv[2], ended, ep = epoll_create1(0);
	enum conn_status st;

	(void)state;
	pair(sv);
	conn_init(&c, sv[0], REQ);
	assert_int_equal(conn_watch(&c, ep), 0);
	assert_int_equal(conn_send(&c, data, n, false), CONN_PENDING);
	assert_true(conn_pending(&c));
	/* More behind it is queued, not written around it. */
	assert_int_equal(conn_send(&c, "tail", 4, true), CONN_PENDING);
	do {
		slurp(sv[1], &raw);
		assert_int_equal(epoll_wait(ep, &ev, 1, 1000), 1);
		assert_ptr_equal(ev.data.ptr, &c);
		assert_true(ev.events & EPOLLOUT);
		st = conn_flush(&c);
		assert_int_not_equal(st, CONN_FAILED);
	} while (st == CONN_PENDING);
	assert_false(conn_pending(&c));
	/* Nothing queued: EPOLLOUT is no longer asked for. */
	assert_int_equal(epoll_wait(ep, &ev, 1, 0), 0);
	slurp(sv[1], &raw);
	unframe(&raw, &content, &ended);
	assert_int_equal(ended, 2);
	assert_int_equal(content.len, n + 4);
	assert_memory_equal(content.data, data, n);
	assert_memory_equal(content.data + n, "tail", 4);
	conn_close(&c, false);
	close(sv[1]);
	close(ep);
	free(data);
	buf_free(&raw);
	buf_free(&content);
}

/* A peer that reads nothing: past CONN_MAX_PENDING queued, give up. */
static void
test_cap(void **state)
{
	char *data = pattern(32768);
	enum conn_status st = CONN_SENT;
	struct conn c;
	size_t sent = 0;
	int sv[2];

	(void)state;
	pair(sv);
	conn_init(&c, sv[0], REQ);
	while (sent < 4 * CONN_MAX_PENDING &&
	    (st = conn_send(&c, data, 32768, false)) != CONN_FAILED)
		sent += 32768;
	assert_int_equal(st, CONN_FAILED);
	assert_true(sent >= CONN_MAX_PENDING);
	assert_true(sent < CONN_MAX_PENDING + 256 * 1024);
	conn_close(&c, true);
	close(sv[1]);
	free(data);
}

/* conn_queue holds the first bytes until conn_flush. */
static void
test_queue_then_flush(void **state)
{
	struct buf raw = { 0 }, content = { 0 };
	struct conn c;
	int sv[2], ended;

	(void)state;
	pair(sv);
	conn_init(&c, sv[0], REQ);
	assert_int_equal(conn_queue(&c, "retry: 3000\n\n", 13), 0);
	slurp(sv[1], &raw);
	assert_int_equal(raw.len, 0);
	assert_int_equal(conn_flush(&c), CONN_SENT);
	slurp(sv[1], &raw);
	unframe(&raw, &content, &ended);
	assert_int_equal(ended, 0);
	assert_int_equal(content.len, 13);
	conn_close(&c, false);
	close(sv[1]);
	buf_free(&raw);
	buf_free(&content);
}

/* A peer gone: the write fails (SIGPIPE ignored, as fcgi_init does). */
static void
test_peer_gone(void **state)
{
	struct conn c;
	int sv[2];

	(void)state;
	signal(SIGPIPE, SIG_IGN);
	pair(sv);
	close(sv[1]);
	conn_init(&c, sv[0], REQ);
	assert_int_equal(conn_send(&c, "x", 1, false), CONN_FAILED);
	conn_close(&c, true);
}

/* The same records, whether framed around the caller's bytes or copied
 * into a buffer, at the record size's edges. */
static void
test_frame_iov_equals_buffer(void **state)
{
	static const size_t sizes[] = { 0, 1, FCGI_MAX_CONTENT,
	    FCGI_MAX_CONTENT + 1, 3 * FCGI_MAX_CONTENT + 7,
	    (size_t)FCGI_IOV_RECORDS * FCGI_MAX_CONTENT };
	char *data = pattern(sizes[5] + 1);
	struct fcgi_iov *f = malloc(sizeof(*f));

	(void)state;
	assert_non_null(f);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		for (int end = 0; end < 2; end++) {
			struct buf a = { 0 }, b = { 0 };
			assert_int_equal(fcgi_frame(&a, REQ, data, sizes[i],
			    end), 0);
			assert_int_equal(fcgi_frame_iov(f, REQ, data,
			    sizes[i], end), 0);
			for (int k = 0; k < f->n; k++)
				buf_append(&b, f->iov[k].iov_base,
				    f->iov[k].iov_len);
			assert_int_equal(b.len, f->total);
			assert_int_equal(a.len, b.len);
			assert_memory_equal(a.data, b.data, a.len);
			buf_free(&a);
			buf_free(&b);
		}
	/* One byte more than the iovecs hold: the caller must copy. */
	assert_int_equal(fcgi_frame_iov(f, REQ, data, sizes[5] + 1, true), -1);
	free(f);
	free(data);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_small_sent_at_once),
		cmocka_unit_test(test_queued_then_flushed),
		cmocka_unit_test(test_cap),
		cmocka_unit_test(test_queue_then_flush),
		cmocka_unit_test(test_peer_gone),
		cmocka_unit_test(test_frame_iov_equals_buffer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
