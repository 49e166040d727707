/* sse.h - Server-Sent Events framing (the text/event-stream format). */
#ifndef SSE_H
#define SSE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* Reconnect delay the stream asks EventSource for, in ms. */
#define SSE_RETRY_MS 3000

/* Appends "id: ID\nevent: message\ndata: JSON\n\n". json must be one line
 * (JSON encoders escape newlines). Returns 0 or -1 (out of memory). */
int sse_event(struct buf *b, int64_t id, const char *json, size_t len);

/* Appends the stream's first bytes: "retry: 3000\n\n". */
int sse_start(struct buf *b);

/* The keepalive comment sent while a stream is idle. */
#define SSE_KEEPALIVE ": keepalive\n\n"

#endif
