/* transport_sse.c - Server-Sent Events: the events after the stream's
 * cursor as they come, a keepalive comment while it is idle, and the end
 * of the response when its lifetime is over. The event text is sse.c's,
 * built once per batch (batch_events). */
#include <stdbool.h>
#include <string.h>

#include "sse.h"
#include "transport.h"

/* Every event after the cursor; the stream stays open. */
static int
sse_deliver(struct hub *h, struct waiter *w, struct batch *b)
{
	size_t first = batch_first(b, w->cursor);
	const char *events;
	size_t len;

	if (first == b->n)
		return 0;
	if (batch_events(b, first, &events, &len) == -1) {
		hub_drop(h, w, true);
		return -1;
	}
	w->cursor = b->rows[b->n - 1].id;
	hub_count_delivered(h, b->n - first);
	return hub_send(h, w, events, len, false);
}

/* The lifetime is over: end the response; EventSource reconnects with
 * Last-Event-ID and loses nothing. */
static int
sse_expire(struct hub *h, struct waiter *w)
{
	return hub_send(h, w, "", 0, true);
}

/* Idle: a comment keeps the web server (lighttpd's max-write-idle) and
 * proxies from timing the stream out, and finds a client that has gone. */
static int
sse_keepalive(struct hub *h, struct waiter *w)
{
	return hub_send(h, w, SSE_KEEPALIVE, strlen(SSE_KEEPALIVE), false);
}

/* Who is here changed: an event without an id (Last-Event-ID stays). */
static int
sse_presence(struct hub *h, struct waiter *w, const char *p, size_t len)
{
	struct buf ev = { 0 };
	int rc;

	if (sse_named(&ev, -1, "presence", p, len) == -1) {
		buf_free(&ev);
		hub_drop(h, w, true);
		return -1;
	}
	rc = hub_send(h, w, ev.data, ev.len, false);
	buf_free(&ev);
	return rc;
}

const struct transport transport_sse = {
	.name = "sse",
	.stream = true,
	.deliver = sse_deliver,
	.expire = sse_expire,
	.presence = sse_presence,
	.on_timer = sse_keepalive,
};
