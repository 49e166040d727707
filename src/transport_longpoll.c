/* transport_longpoll.c - long-polling: one answer with the messages after
 * the request's cursor as soon as there are any, or with the room's
 * presence list when it changed and the client asked for it, or an empty
 * one when the hold is over; the client then asks again. While it waits,
 * a space now and then (JSON allows white space before a value): a
 * client that left makes the write fail, and so is noticed on every
 * front end, Apache's too. */
#include <stdbool.h>

#include "buf.h"
#include "json.h"
#include "transport.h"

/* The answer with up to limit messages after the cursor; done. */
static int
longpoll_deliver(struct hub *h, struct waiter *w, struct batch *b)
{
	size_t first = batch_first(b, w->cursor), count = b->n - first;
	const char *body;
	size_t len;

	if (count == 0)
		return 0;
	if (count > (size_t)w->limit)
		count = (size_t)w->limit;
	if (batch_body(b, first, count, &body, &len) == -1) {
		hub_drop(h, w, true);
		return -1;
	}
	hub_count_delivered(h, count);
	return hub_send(h, w, body, len, true);
}

/* An answer without messages, with the cursor to ask from next: and
 * the room's presence list p[0..len) when p is not NULL. Done. */
static int
longpoll_answer(struct hub *h, struct waiter *w, const char *p, size_t len)
{
	struct buf body = { 0 };
	int rc;

	if ((p != NULL ? json_presence_answer(&body, w->cursor, p, len) :
	    json_messages(&body, NULL, 0, w->cursor)) == -1) {
		buf_free(&body);
		hub_drop(h, w, true);
		return -1;
	}
	rc = hub_send(h, w, body.data, body.len, true);
	buf_free(&body);
	return rc;
}

/* The hold is over: an empty answer. */
static int
longpoll_expire(struct hub *h, struct waiter *w)
{
	return longpoll_answer(h, w, NULL, 0);
}

/* Who is here changed: the answer carries the room's list. */
static int
longpoll_presence(struct hub *h, struct waiter *w, const char *p, size_t len)
{
	return longpoll_answer(h, w, p, len);
}

/* Idle: one space before the answer's JSON. */
static int
longpoll_probe(struct hub *h, struct waiter *w)
{
	return hub_send(h, w, " ", 1, false);
}

const struct transport transport_longpoll = {
	.name = "longpoll",
	.stream = false,
	.deliver = longpoll_deliver,
	.expire = longpoll_expire,
	.presence = longpoll_presence,
	.on_timer = longpoll_probe,
};
