/* sse.c - Server-Sent Events framing. */
#include "sse.h"

#include "json.h"

int
sse_named(struct buf *b, int64_t id, const char *event, const char *json,
    size_t len)
{
	if (id >= 0)
		buf_printf(b, "id: %lld\n", (long long)id);
	buf_printf(b, "event: %s\ndata: ", event);
	buf_append(b, json, len);
	return buf_append(b, "\n\n", 2);
}

int
sse_event(struct buf *b, int64_t id, const char *json, size_t len)
{
	return sse_named(b, id, "message", json, len);
}

int
sse_row(struct buf *b, struct buf *tmp, const struct chat_message *m)
{
	buf_reset(tmp);
	if (m->deletes != 0)
		json_delete_event(tmp, m);
	else
		json_message(tmp, m);
	if (tmp->oom)
		return -1;
	return sse_named(b, m->id, m->deletes != 0 ? "delete" : "message",
	    tmp->data, tmp->len);
}

int
sse_limited(struct buf *b, struct buf *tmp, const char *room,
    int64_t pruned_through)
{
	buf_reset(tmp);
	if (json_limited_event(tmp, room, pruned_through) == -1)
		return -1;
	return sse_named(b, -1, "limited", tmp->data, tmp->len);
}

int
sse_start(struct buf *b)
{
	return buf_printf(b, "retry: %d\n\n", SSE_RETRY_MS);
}
