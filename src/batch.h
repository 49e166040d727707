/* batch.h - the rows of one room in one wakeup, each encoded once: every
 * waiter of the room is answered with a slice of the same bytes (a
 * long-poll body, or the stream's events after its cursor), however many
 * waiters there are. */
#ifndef BATCH_H
#define BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "chat.h"

/* json holds "m1,m2,...": the messages joined with commas, message i at
 * json_off[i]..json_off[i+1]-1; a tombstone's piece is empty, so any
 * slice of json is the slice's messages (a long-poll lists tombstones in
 * "deleted"). sse holds the events back to back, a tombstone's being a
 * delete event; ws the WebSocket frames likewise. Read the fields; change
 * them only through batch_*. */
struct batch {
	const struct chat_message *rows;  /* the caller's, in id order */
	size_t n;
	struct buf json, sse, ws;
	size_t *json_off, *sse_off, *ws_off;  /* n + 1 offsets each */
	bool have_sse;                    /* sse built (batch_events) */
	bool have_ws;                     /* ws built (batch_frames) */
	struct buf body;                  /* last long-poll body built */
	size_t body_first, body_count;
};

/* Encodes rows[0..n) (n >= 1, ascending ids, all of one room) as JSON.
 * The batch borrows rows: they must outlive it. Returns 0, or -1 when out
 * of memory. Either way, free b with batch_free. */
int batch_init(struct batch *b, const struct chat_message *rows, size_t n);

/* Frees what b holds (not the rows). Accepts a batch whose init failed. */
void batch_free(struct batch *b);

/* The index of the first row with id > cursor; n when there is none. */
size_t batch_first(const struct batch *b, int64_t cursor);

/* The long-poll answer for rows first..first+count-1 (count >= 1) into
 * *data, *len: json_messages of those rows, last_id the last one's id.
 * Kept in b (valid until the next batch_body or batch_free) and reused
 * while the next waiter asks for the same slice, the usual case. Returns
 * 0, or -1 when out of memory. */
int batch_body(struct batch *b, size_t first, size_t count,
    const char **data, size_t *len);

/* The SSE events of the rows from first on into *data, *len (valid until
 * batch_free). Built the first time a stream asks. Returns 0, or -1 when
 * out of memory. */
int batch_events(struct batch *b, size_t first, const char **data,
    size_t *len);

/* The WebSocket frames of the rows from first on into *data, *len (valid
 * until batch_free): a message frame or a delete frame each (API.md).
 * Built the first time a WebSocket asks. Returns 0, or -1 when out of
 * memory. */
int batch_frames(struct batch *b, size_t first, const char **data,
    size_t *len);

#endif
