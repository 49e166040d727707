/* timer.h - a min-heap of deadlines: the watcher keeps every parked
 * connection's next timer (long-poll hold, stream lifetime, keepalive,
 * drain grace) in one, and sleeps until its first. Intrusive: the caller
 * embeds a struct timer in its own object and gets the object back with
 * offsetof, so pushing allocates nothing but the heap's own array. Not
 * thread-safe: one thread owns a heap. */
#ifndef TIMER_H
#define TIMER_H

#include <stddef.h>
#include <stdint.h>

/* One deadline. due and idx are the heap's: read due, write neither. */
struct timer {
	int64_t due;     /* the key, e.g. chat_mono_ms() time */
	size_t idx;      /* position in the heap while on it */
};

/* An empty heap is all zeroes: struct timer_heap th = { 0 }. */
struct timer_heap {
	struct timer **v;
	size_t n, cap;
};

/* Puts t (not on any heap) on th with key due. Returns 0, or -1 when
 * out of memory (th unchanged, t not on it). th keeps a pointer to t
 * until timer_remove. */
int timer_push(struct timer_heap *th, struct timer *t, int64_t due);

/* Takes t, which is on th, off it. */
void timer_remove(struct timer_heap *th, struct timer *t);

/* Changes the key of t, which is on th, to due. */
void timer_rekey(struct timer_heap *th, struct timer *t, int64_t due);

/* The timer with the smallest key (of equal keys, any), or NULL when th
 * is empty. It stays on th. */
struct timer *timer_first(const struct timer_heap *th);

/* How many timers are on th. */
size_t timer_count(const struct timer_heap *th);

/* Frees th's array and empties it; the timers themselves are the
 * caller's. Accepts NULL. */
void timer_heap_free(struct timer_heap *th);

#endif
