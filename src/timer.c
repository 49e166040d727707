/* timer.c - a binary min-heap of deadlines, each knowing its position so
 * that removing or re-keying one in the middle costs O(log n). */
#include "timer.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define TIMER_FIRST_CAP 1024

static void
timer_set(struct timer_heap *th, size_t i, struct timer *t)
{
	th->v[i] = t;
	t->idx = i;
}

static void
timer_up(struct timer_heap *th, size_t i)
{
	struct timer *t = th->v[i];

	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (th->v[p]->due <= t->due)
			break;
		timer_set(th, i, th->v[p]);
		i = p;
	}
	timer_set(th, i, t);
}

static void
timer_down(struct timer_heap *th, size_t i)
{
	struct timer *t = th->v[i];

	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= th->n)
			break;
		if (c + 1 < th->n && th->v[c + 1]->due < th->v[c]->due)
			c++;
		if (t->due <= th->v[c]->due)
			break;
		timer_set(th, i, th->v[c]);
		i = c;
	}
	timer_set(th, i, t);
}

/* A timer's idx that does not point back at it means the caller gave a
 * timer that is not on this heap, or one it freed: the heap would be
 * corrupted silently. */
static void
timer_check(const struct timer_heap *th, const struct timer *t)
{
	assert(t->idx < th->n && th->v[t->idx] == t);
	(void)th;
	(void)t;
}

int
timer_push(struct timer_heap *th, struct timer *t, int64_t due)
{
	if (th->n == th->cap) {
		size_t cap = th->cap ? th->cap * 2 : TIMER_FIRST_CAP;
		struct timer **v = realloc(th->v, cap * sizeof(*v));
		if (v == NULL)
			return -1;
		th->v = v;
		th->cap = cap;
	}
	t->due = due;
	timer_set(th, th->n++, t);
	timer_up(th, t->idx);
	return 0;
}

void
timer_remove(struct timer_heap *th, struct timer *t)
{
	struct timer *last;

	timer_check(th, t);
	last = th->v[--th->n];
	if (last == t)
		return;
	timer_set(th, t->idx, last);
	timer_up(th, last->idx);
	timer_down(th, last->idx);
}

void
timer_rekey(struct timer_heap *th, struct timer *t, int64_t due)
{
	timer_check(th, t);
	t->due = due;
	timer_up(th, t->idx);
	timer_down(th, t->idx);
}

struct timer *
timer_first(const struct timer_heap *th)
{
	return th->n > 0 ? th->v[0] : NULL;
}

size_t
timer_count(const struct timer_heap *th)
{
	return th->n;
}

void
timer_heap_free(struct timer_heap *th)
{
	if (th == NULL)
		return;
	free(th->v);
	memset(th, 0, sizeof(*th));
}
