/* batch.c - a wakeup's rows of one room, encoded once and sliced for
 * each waiter. */
#include "batch.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "sse.h"
#include "ws.h"

void
batch_free(struct batch *b)
{
	buf_free(&b->json);
	buf_free(&b->sse);
	buf_free(&b->ws);
	buf_free(&b->body);
	free(b->json_off);
	free(b->sse_off);
	free(b->ws_off);
	memset(b, 0, sizeof(*b));
}

int
batch_init(struct batch *b, const struct chat_message *rows, size_t n)
{
	memset(b, 0, sizeof(*b));
	b->rows = rows;
	b->n = n;
	b->json_off = malloc((n + 1) * sizeof(size_t));
	b->sse_off = malloc((n + 1) * sizeof(size_t));
	b->ws_off = malloc((n + 1) * sizeof(size_t));
	if (b->json_off == NULL || b->sse_off == NULL || b->ws_off == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		assert(i == 0 || rows[i - 1].id < rows[i].id);
		b->json_off[i] = b->json.len;
		if (rows[i].deletes != 0)
			continue;
		json_message(&b->json, &rows[i]);
		buf_append(&b->json, ",", 1);
	}
	b->json_off[n] = b->json.len;
	return b->json.oom ? -1 : 0;
}

/* Row i's event: a message event around its JSON piece, or a delete
 * event for a tombstone (rare: encoded in tmp). */
static void
batch_sse_row(struct batch *b, size_t i, struct buf *tmp)
{
	const struct chat_message *m = &b->rows[i];

	if (m->deletes == 0) {
		/* The piece ends with its comma. */
		assert(b->json_off[i + 1] > b->json_off[i]);
		sse_event(&b->sse, m->id, b->json.data + b->json_off[i],
		    b->json_off[i + 1] - b->json_off[i] - 1);
	} else if (sse_row(&b->sse, tmp, m) == -1)
		b->sse.oom = 1;
}

/* Row i's WebSocket frame: a message frame around its JSON piece, or a
 * delete frame for a tombstone. The text is built in tmp, then framed. */
static void
batch_ws_row(struct batch *b, size_t i, struct buf *tmp)
{
	const struct chat_message *m = &b->rows[i];

	buf_reset(tmp);
	if (m->deletes == 0) {
		assert(b->json_off[i + 1] > b->json_off[i]);
		json_ws_wrap(tmp, b->json.data + b->json_off[i],
		    b->json_off[i + 1] - b->json_off[i] - 1);
	} else {
		json_ws_delete(tmp, m);
	}
	if (tmp->oom || ws_frame(&b->ws, WS_OP_TEXT, tmp->data, tmp->len) == -1)
		b->ws.oom = 1;
}

/* One encoding of all rows (SSE events, WebSocket frames) into out, row i
 * at off[i], built the first time a waiter needs it (*have then set):
 * server frames and events are the same bytes for every connection. */
static int
batch_build(struct batch *b, struct buf *out, size_t *off, bool *have,
    void (*row)(struct batch *, size_t, struct buf *))
{
	struct buf tmp = { 0 };

	if (*have)
		return out->oom ? -1 : 0;
	*have = true;
	for (size_t i = 0; i < b->n; i++) {
		off[i] = out->len;
		row(b, i, &tmp);
	}
	off[b->n] = out->len;
	buf_free(&tmp);
	return out->oom ? -1 : 0;
}

size_t
batch_first(const struct batch *b, int64_t cursor)
{
	size_t lo = 0, hi = b->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (b->rows[mid].id <= cursor)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int
batch_body(struct batch *b, size_t first, size_t count, const char **data,
    size_t *len)
{
	size_t from, to;

	assert(count >= 1 && first + count <= b->n);
	from = b->json_off[first];
	to = b->json_off[first + count];
	assert(from <= to && to <= b->json.len);
	if (b->body.len == 0 || b->body_first != first ||
	    b->body_count != count) {
		buf_reset(&b->body);
		/* Without the slice's trailing comma; json.data is NULL
		 * when every row is a tombstone. */
		json_messages_encoded(&b->body,
		    to > from ? b->json.data + from : "",
		    to > from ? to - from - 1 : 0, b->rows + first, count,
		    b->rows[first + count - 1].id);
		b->body_first = first;
		b->body_count = count;
	}
	*data = b->body.data;
	*len = b->body.len;
	return b->body.oom ? -1 : 0;
}

int
batch_events(struct batch *b, size_t first, const char **data, size_t *len)
{
	assert(first < b->n);
	if (batch_build(b, &b->sse, b->sse_off, &b->have_sse,
	    batch_sse_row) == -1)
		return -1;
	assert(b->sse_off[first] <= b->sse.len);
	*data = b->sse.data + b->sse_off[first];
	*len = b->sse.len - b->sse_off[first];
	return 0;
}

int
batch_frames(struct batch *b, size_t first, const char **data, size_t *len)
{
	assert(first < b->n);
	if (batch_build(b, &b->ws, b->ws_off, &b->have_ws,
	    batch_ws_row) == -1)
		return -1;
	assert(b->ws_off[first] <= b->ws.len);
	*data = b->ws.data + b->ws_off[first];
	*len = b->ws.len - b->ws_off[first];
	return 0;
}
