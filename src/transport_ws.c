/* transport_ws.c - WebSocket (RFC 6455) after the handshake: the frames
 * of each batch after the socket's cursor (built once, the same bytes for
 * every socket), a ping and a keepalive frame while idle, a close with
 * 1001 when its lifetime is over; and the client's frames, read on the
 * watcher's thread: pings answered, closes echoed, protocol errors closed
 * with their code, and sends checked here and stored by ws_accept.c's
 * thread, then answered with ack or error. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "limit.h"
#include "log.h"
#include "room.h"
#include "stats.h"
#include "transport.h"
#include "ws_conn.h"

#define READ_CHUNK 16384
#define READS_PER_EVENT 4   /* then the other sockets get their turn */

struct ws_conn *
ws_conn_new(const char *addr, const char *user, size_t max_message)
{
	struct ws_conn *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->refs = 1;
	ws_parser_init(&c->parser, max_message);
	snprintf(c->addr, sizeof(c->addr), "%s", addr);
	snprintf(c->user, sizeof(c->user), "%s", user ? user : "");
	return c;
}

void
ws_conn_put(struct ws_conn *c)
{
	if (c == NULL || --c->refs > 0)
		return;
	ws_parser_clear(&c->parser);
	free(c);
}

void
ws_send_free(struct ws_send *s)
{
	if (s == NULL)
		return;
	send_request_clear(&s->req);
	chat_message_clear(&s->m);
	free(s);
}

/* Sends one frame of op with payload, or the end of the socket after it
 * when end is set. Returns 0 while w stays, -1 once it is gone or
 * closing. */
static int
ws_send_frame(struct hub *h, struct waiter *w, enum ws_opcode op,
    const char *payload, size_t len, bool end)
{
	struct buf f = { 0 };
	int rc;

	if (ws_frame(&f, op, payload, len) == -1) {
		buf_free(&f);
		hub_drop(h, w, true);
		return -1;
	}
	rc = hub_send(h, w, f.data, f.len, end);
	buf_free(&f);
	return rc;
}

/* A text frame holding the JSON in j (freed). */
static int
ws_send_json(struct hub *h, struct waiter *w, struct buf *j)
{
	int rc;

	if (j->oom) {
		buf_free(j);
		hub_drop(h, w, true);
		return -1;
	}
	rc = ws_send_frame(h, w, WS_OP_TEXT, j->data, j->len, false);
	buf_free(j);
	return rc;
}

/* Closes the socket with code: the close frame, then the end. */
static int
ws_send_close(struct hub *h, struct waiter *w, unsigned code,
    const char *reason)
{
	struct buf f = { 0 };

	if (ws_close(&f, code, reason) == -1) {
		buf_free(&f);
		hub_drop(h, w, true);
		return -1;
	}
	hub_send(h, w, f.data, f.len, true);
	buf_free(&f);
	return -1;
}

/* An error frame for a send that was refused. */
static int
ws_send_error(struct hub *h, struct waiter *w, const char *client_id,
    enum chat_error e, const char *why)
{
	const struct chat_error_info *info = chat_error_info(e);
	struct buf j = { 0 };

	stats_count(info->status >= 500 ? STATS_ERRORS_5XX : STATS_ERRORS_4XX,
	    1);
	json_ws_error(&j, client_id, info->code, why ? why : info->message);
	return ws_send_json(h, w, &j);
}

/* Every frame after the cursor; the socket stays open. */
static int
ws_deliver(struct hub *h, struct waiter *w, struct batch *b)
{
	size_t first = batch_first(b, w->cursor);
	const char *frames;
	size_t len;

	if (first == b->n)
		return 0;
	if (batch_frames(b, first, &frames, &len) == -1) {
		hub_drop(h, w, true);
		return -1;
	}
	w->cursor = b->rows[b->n - 1].id;
	hub_count_delivered(h, b->n - first);
	return hub_send(h, w, frames, len, false);
}

/* Who is here changed: a presence frame. */
static int
ws_presence(struct hub *h, struct waiter *w, const char *p, size_t len)
{
	struct buf j = { 0 };

	json_ws_presence(&j, p, len);
	return ws_send_json(h, w, &j);
}

/* The lifetime is over, or the worker is ending: 1001; the client
 * reconnects with since. */
static int
ws_expire(struct hub *h, struct waiter *w)
{
	return ws_send_close(h, w, WS_CLOSE_GOING_AWAY, "reconnect with since");
}

/* The user was removed from the private room: 4404, as the 404 of a
 * room that does not exist; reconnecting gets that 404. */
static int
ws_revoke(struct hub *h, struct waiter *w)
{
	return ws_send_close(h, w, WS_CLOSE_NOT_FOUND, "not_found");
}

/* Idle: a ping keeps the web server's read timeout (lighttpd's
 * max-read-idle counts the client's pongs) and proxies from cutting the
 * socket; the keepalive frame is what a page's script can see. */
static int
ws_keepalive(struct hub *h, struct waiter *w)
{
	static const char ka[] = JSON_WS_KEEPALIVE;
	struct buf f = { 0 };
	int rc;

	if (ws_frame(&f, WS_OP_PING, NULL, 0) == -1 ||
	    ws_frame(&f, WS_OP_TEXT, ka, sizeof(ka) - 1) == -1) {
		buf_free(&f);
		hub_drop(h, w, true);
		return -1;
	}
	rc = hub_send(h, w, f.data, f.len, false);
	buf_free(&f);
	return rc;
}

/* A text message from the client: a send, checked as a POST is (same
 * limits, same codes), then stored on ws_accept.c's thread. */
static int
ws_on_text(struct hub *h, struct waiter *w, const struct ws_event *ev)
{
	struct ws_conn *c = w->priv;
	struct ws_send *s = calloc(1, sizeof(*s));
	char *cid = NULL;
	const char *why = NULL;
	enum chat_error e;
	int rc;

	if (s == NULL) {
		hub_drop(h, w, true);
		return -1;
	}
	e = json_parse_ws(ev->data, ev->len, c->user[0] ? c->user : NULL,
	    &s->req, &cid, &why);
	if (e == CHAT_OK && limit_send(c->addr, c->user) > 0) {
		e = CHAT_E_RATE_LIMITED;
		why = LIMIT_SEND_WHY;
	}
	if (e == CHAT_OK) {
		snprintf(s->room, sizeof(s->room), "%s", w->u.room->name);
		s->conn = c;
		c->refs++;
		if (ws_accept_submit(s) == 0) {
			free(cid);
			return 0;
		}
		c->refs--;
		e = CHAT_E_UNAVAILABLE;
		why = NULL;
	}
	rc = ws_send_error(h, w, cid, e, why);
	free(cid);
	ws_send_free(s);
	return rc;
}

/* One event of the parser. Returns 0 while w stays, -1 once it is gone
 * or closing. */
static int
ws_on_event(struct hub *h, struct waiter *w, const struct ws_event *ev)
{
	switch (ev->kind) {
	case WS_EV_TEXT:
		return ws_on_text(h, w, ev);
	case WS_EV_PING:
		return ws_send_frame(h, w, WS_OP_PONG, ev->data, ev->len,
		    false);
	case WS_EV_CLOSE:
		return ws_send_close(h, w, ev->code, NULL);
	case WS_EV_FAIL:
		log_debug("transport_ws: closing with %u: %s", ev->code,
		    ev->why ? ev->why : "-");
		return ws_send_close(h, w, ev->code, NULL);
	default:
		return 0;
	}
}

/* The client's bytes: parsed as they come, a few reads at a time. */
static int
ws_readable(struct hub *h, struct waiter *w)
{
	struct ws_conn *c = w->priv;
	char in[READ_CHUNK];

	c->w = w;   /* before any send of it can be in flight */
	for (int r = 0; r < READS_PER_EVENT; r++) {
		ssize_t n = read(w->conn.fd, in, sizeof(in));
		size_t off = 0;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n <= 0) {
			/* The client (or the web server) went away. */
			hub_drop(h, w, n < 0);
			return -1;
		}
		while (off < (size_t)n) {
			struct ws_event ev;
			off += ws_parse(&c->parser, in + off, (size_t)n - off,
			    &ev);
			if (ws_on_event(h, w, &ev) == -1)
				return -1;
		}
		if ((size_t)n < sizeof(in))
			return 0;
	}
	return 0;
}

static void
ws_release(struct waiter *w)
{
	struct ws_conn *c = w->priv;

	if (c == NULL)
		return;
	c->w = NULL;
	w->priv = NULL;
	ws_conn_put(c);
}

void
transport_ws_done(struct hub *h, struct ws_send *s)
{
	struct ws_conn *c = s->conn;
	struct waiter *w = c->w;
	struct buf j = { 0 };

	if (w != NULL && !w->closing) {
		if (s->e == CHAT_OK) {
			stats_count(STATS_SENDS, s->created);
			json_ws_ack(&j, s->req.client_id, &s->m);
			ws_send_json(h, w, &j);
		} else {
			ws_send_error(h, w, s->req.client_id, s->e, NULL);
		}
	}
	ws_conn_put(c);
	ws_send_free(s);
}

const struct transport transport_ws = {
	.name = "ws",
	.stream = true,
	.close_on_stop = true,
	.deliver = ws_deliver,
	.expire = ws_expire,
	.revoke = ws_revoke,
	.presence = ws_presence,
	.on_timer = ws_keepalive,
	.on_readable = ws_readable,
	.release = ws_release,
};
