/* sse.h - Server-Sent Events framing (the text/event-stream format). */
#ifndef SSE_H
#define SSE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "chat.h"

/* Reconnect delay the stream asks EventSource for, in ms. */
#define SSE_RETRY_MS 3000

/* Appends "id: ID\nevent: message\ndata: JSON\n\n". json must be one line
 * (JSON encoders escape newlines). Returns 0 or -1 (out of memory). */
int sse_event(struct buf *b, int64_t id, const char *json, size_t len);

/* Appends "id: ID\nevent: NAME\ndata: JSON\n\n", without the id line when
 * id < 0 (an event that must not move the client's Last-Event-ID).
 * Returns 0 or -1 (out of memory). */
int sse_named(struct buf *b, int64_t id, const char *event, const char *json,
    size_t len);

/* Appends the event of one row read after a cursor: a message event, or
 * for a tombstone "id: ID\nevent: delete\ndata: {"id":DELETED,"room":R}".
 * tmp is scratch space (reset first). Returns 0 or -1 (out of memory). */
int sse_row(struct buf *b, struct buf *tmp, const struct chat_message *m);

/* Appends "event: limited\ndata: {"room":R,"pruned_through":N}": the
 * stream's cursor is older than what retention removed from the room, so
 * the client should reload it. No id line. Returns 0 or -1. */
int sse_limited(struct buf *b, struct buf *tmp, const char *room,
    int64_t pruned_through);

/* Appends the stream's first bytes: "retry: 3000\n\n". */
int sse_start(struct buf *b);

/* The keepalive comment sent while a stream is idle. */
#define SSE_KEEPALIVE ": keepalive\n\n"

#endif
