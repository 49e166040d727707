/* sse.c - Server-Sent Events framing. */
#include "sse.h"

int
sse_event(struct buf *b, int64_t id, const char *json, size_t len)
{
	buf_printf(b, "id: %lld\nevent: message\ndata: ", (long long)id);
	buf_append(b, json, len);
	return buf_append(b, "\n\n", 2);
}

int
sse_start(struct buf *b)
{
	return buf_printf(b, "retry: %d\n\n", SSE_RETRY_MS);
}
