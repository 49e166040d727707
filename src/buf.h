/* buf.h - a growable byte buffer, the output type of every encoder. */
#ifndef BUF_H
#define BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *data;   /* NUL-terminated when len < cap; NULL until first append */
	size_t len, cap;
	int oom;      /* set once an append failed; later appends do nothing */
};

/* Each append returns 0, or -1 (and sets oom) when out of memory. */
int buf_append(struct buf *b, const void *p, size_t n);
int buf_puts(struct buf *b, const char *s);
int buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Makes room for n more bytes; returns 0 or -1. */
int buf_reserve(struct buf *b, size_t n);
/* Empties the buffer, keeping its memory. */
void buf_reset(struct buf *b);
/* Frees the memory. Accepts NULL. */
void buf_free(struct buf *b);

#endif
