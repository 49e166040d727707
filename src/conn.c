/* conn.c - non-blocking framed writes to a parked request's socket, and
 * the queue of what the socket has not taken yet. */
#include "conn.h"

#include <assert.h>
#include <errno.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fcgi.h"

void
conn_init(struct conn *c, int fd, int request_id)
{
	*c = (struct conn){ .fd = fd, .request_id = request_id, .ep = -1 };
}

/* Appends data to out as the connection carries it: FastCGI records,
 * or the bytes themselves on a raw connection. */
static int
conn_frame(const struct conn *c, struct buf *out, const void *data,
    size_t len, bool end)
{
	if (c->request_id != CONN_RAW)
		return fcgi_frame(out, c->request_id, data, len, end);
	buf_append(out, data, len);
	return out->oom ? -1 : 0;
}

int
conn_queue(struct conn *c, const void *data, size_t len)
{
	return conn_frame(c, &c->out, data, len, false);
}

int
conn_watch(struct conn *c, int ep)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP,
	    .data.ptr = c };

	assert(c->ep == -1 && c->fd >= 0);
	if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) == -1)
		return -1;
	c->ep = ep;
	return 0;
}

/* Asks for EPOLLOUT while bytes are queued, and stops asking after. */
static void
conn_want_out(struct conn *c, bool want)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP,
	    .data.ptr = c };

	if (c->ep == -1 || c->want_out == want)
		return;
	if (want)
		ev.events |= EPOLLOUT;
	epoll_ctl(c->ep, EPOLL_CTL_MOD, c->fd, &ev);
	c->want_out = want;
}

bool
conn_pending(const struct conn *c)
{
	return c->out.len > 0;
}

enum conn_status
conn_flush(struct conn *c)
{
	assert(c->out_off <= c->out.len);
	while (c->out_off < c->out.len) {
		ssize_t n = send(c->fd, c->out.data + c->out_off,
		    c->out.len - c->out_off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			conn_want_out(c, true);
			return CONN_PENDING;
		}
		if (n <= 0)
			return CONN_FAILED;
		c->out_off += (size_t)n;
	}
	buf_reset(&c->out);
	c->out_off = 0;
	conn_want_out(c, false);
	return CONN_SENT;
}

/* Queues data behind what is pending, framed, and writes if nothing was
 * pending. */
static enum conn_status
conn_send_queued(struct conn *c, const void *data, size_t len, bool end)
{
	bool was_empty = c->out.len == 0;

	if (conn_frame(c, &c->out, data, len, end) == -1 ||
	    c->out.len - c->out_off > CONN_MAX_PENDING)
		return CONN_FAILED;
	return was_empty ? conn_flush(c) : CONN_PENDING;
}

/* Keeps the part of f that the socket did not take (it took n bytes). */
static enum conn_status
conn_keep(struct conn *c, const struct fcgi_iov *f, size_t n)
{
	for (int i = 0; i < f->n; i++) {
		size_t s = n < f->iov[i].iov_len ? n : f->iov[i].iov_len;
		n -= s;
		buf_append(&c->out, (char *)f->iov[i].iov_base + s,
		    f->iov[i].iov_len - s);
	}
	if (c->out.oom)
		return CONN_FAILED;
	conn_want_out(c, true);
	return CONN_PENDING;
}

/* The fan-out's path: records framed around the caller's bytes, one
 * writev, nothing copied unless the socket leaves some behind. */
enum conn_status
conn_send(struct conn *c, const void *data, size_t len, bool end)
{
	struct fcgi_iov f;
	ssize_t n;

	if (c->request_id == CONN_RAW && c->out.len == 0) {
		f.iov[0] = (struct iovec){ (void *)data, len };
		f.n = 1;
		f.total = len;
	} else if (c->out.len > 0 || c->request_id == CONN_RAW ||
	    fcgi_frame_iov(&f, c->request_id, data, len, end) == -1)
		return conn_send_queued(c, data, len, end);
	do
		n = writev(c->fd, f.iov, f.n);
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
		return CONN_FAILED;
	if (n < 0)
		n = 0;
	assert((size_t)n <= f.total);
	return (size_t)n == f.total ? CONN_SENT : conn_keep(c, &f, (size_t)n);
}

void
conn_close(struct conn *c, bool failed)
{
	if (c->fd >= 0) {
		/* Before close: while another process holds a copy of the
		 * descriptor, close() alone leaves it in the epoll set, which
		 * would go on reporting a freed conn (epoll(7), Q&A 6). */
		if (c->ep >= 0)
			epoll_ctl(c->ep, EPOLL_CTL_DEL, c->fd, NULL);
		if (failed)
			shutdown(c->fd, SHUT_WR);
		close(c->fd);
	}
	buf_free(&c->out);
	c->fd = c->ep = -1;
	c->out_off = 0;
}
