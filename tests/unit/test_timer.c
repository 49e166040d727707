/* test_timer.c - unit tests of timer.c: push and pop in due order, remove
 * from the middle, re-key up and down, equal keys, and many random
 * operations checked against a plain reference after every step. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>

#include "timer.h"

/* Every parent's key is at most its children's, and every timer knows
 * where it is. */
static void
check_heap(const struct timer_heap *th)
{
	for (size_t i = 0; i < th->n; i++) {
		assert_int_equal(th->v[i]->idx, i);
		if (i > 0)
			assert_true(th->v[(i - 1) / 2]->due <= th->v[i]->due);
	}
}

/* Takes the first timer off and returns it. */
static struct timer *
pop(struct timer_heap *th)
{
	struct timer *t = timer_first(th);

	assert_non_null(t);
	timer_remove(th, t);
	return t;
}

static void
test_empty(void **state)
{
	struct timer_heap th = { 0 };

	(void)state;
	assert_null(timer_first(&th));
	assert_int_equal(timer_count(&th), 0);
	timer_heap_free(&th);
	timer_heap_free(NULL);
}

static void
test_push_pop_in_order(void **state)
{
	static const int64_t keys[] = { 50, 10, 40, 30, 20, 60, 0, 70 };
	struct timer t[8];
	struct timer_heap th = { 0 };
	int64_t last = -1;

	(void)state;
	for (size_t i = 0; i < 8; i++) {
		assert_int_equal(timer_push(&th, &t[i], keys[i]), 0);
		check_heap(&th);
	}
	assert_int_equal(timer_count(&th), 8);
	for (size_t i = 0; i < 8; i++) {
		struct timer *x = pop(&th);
		assert_true(x->due > last);
		last = x->due;
		check_heap(&th);
	}
	assert_null(timer_first(&th));
	timer_heap_free(&th);
}

static void
test_remove_middle(void **state)
{
	struct timer t[15];
	struct timer_heap th = { 0 };

	(void)state;
	for (int i = 0; i < 15; i++)
		assert_int_equal(timer_push(&th, &t[i], i * 10), 0);
	/* An inner node, a leaf, the root, and the last one. */
	timer_remove(&th, &t[3]);
	check_heap(&th);
	timer_remove(&th, &t[12]);
	check_heap(&th);
	timer_remove(&th, &t[0]);
	check_heap(&th);
	timer_remove(&th, th.v[th.n - 1]);
	check_heap(&th);
	assert_int_equal(timer_count(&th), 11);
	assert_ptr_equal(timer_first(&th), &t[1]);
	for (int64_t last = -1; timer_count(&th) > 0;) {
		struct timer *x = pop(&th);
		assert_true(x != &t[3] && x != &t[12] && x != &t[0]);
		assert_true(x->due > last);
		last = x->due;
	}
	timer_heap_free(&th);
}

static void
test_rekey(void **state)
{
	struct timer t[10];
	struct timer_heap th = { 0 };

	(void)state;
	for (int i = 0; i < 10; i++)
		assert_int_equal(timer_push(&th, &t[i], 100 + i), 0);
	timer_rekey(&th, &t[7], 5);        /* up to the root */
	check_heap(&th);
	assert_ptr_equal(timer_first(&th), &t[7]);
	timer_rekey(&th, &t[7], 1000);     /* down to a leaf */
	check_heap(&th);
	assert_ptr_equal(timer_first(&th), &t[0]);
	timer_rekey(&th, &t[0], 100);      /* unchanged */
	check_heap(&th);
	for (int i = 0; i < 9; i++)
		assert_int_equal(pop(&th)->due, i == 7 ? 108 : 100 + i +
		    (i > 7));
	assert_ptr_equal(pop(&th), &t[7]);
	timer_heap_free(&th);
}

static void
test_equal_keys(void **state)
{
	struct timer t[100];
	struct timer_heap th = { 0 };
	bool seen[100] = { false };

	(void)state;
	for (int i = 0; i < 100; i++)
		assert_int_equal(timer_push(&th, &t[i], i % 3), 0);
	for (int i = 0; i < 100; i++) {
		struct timer *x = pop(&th);
		assert_false(seen[x - t]);
		seen[x - t] = true;
		assert_int_equal(x->due, i < 34 ? 0 : i < 67 ? 1 : 2);
	}
	timer_heap_free(&th);
}

/* Beyond the first allocation, so that the array grows under the
 * timers. */
#define N_RANDOM 3000

/* The reference: which timers are on, and their keys. The heap's first
 * must have the smallest key of those on. */
static int64_t
ref_min(const bool *on, const int64_t *key, size_t n)
{
	int64_t m = INT64_MAX;

	for (size_t i = 0; i < n; i++)
		if (on[i] && key[i] < m)
			m = key[i];
	return m;
}

static void
test_random_against_reference(void **state)
{
	static struct timer t[N_RANDOM];
	static bool on[N_RANDOM];
	static int64_t key[N_RANDOM];
	struct timer_heap th = { 0 };
	size_t count = 0;

	(void)state;
	srand(12345);
	for (int step = 0; step < 40000; step++) {
		size_t i = (size_t)rand() % N_RANDOM;
		int64_t k = rand() % 5000;
		int op = rand() % 4;

		if (!on[i]) {
			assert_int_equal(timer_push(&th, &t[i], k), 0);
			on[i] = true;
			key[i] = k;
			count++;
		} else if (op == 0) {
			timer_remove(&th, &t[i]);
			on[i] = false;
			count--;
		} else if (op == 1) {
			timer_rekey(&th, &t[i], k);
			key[i] = k;
		} else if (op == 2 && count > 0) {
			struct timer *x = timer_first(&th);
			assert_int_equal(x->due, ref_min(on, key, N_RANDOM));
			assert_true(on[x - t]);
			timer_remove(&th, x);
			on[x - t] = false;
			count--;
		}
		assert_int_equal(timer_count(&th), count);
		if (step % 97 == 0)
			check_heap(&th);
	}
	check_heap(&th);
	for (int64_t last = INT64_MIN; count > 0; count--) {
		struct timer *x = pop(&th);
		assert_int_equal(x->due, key[x - t]);
		assert_true(x->due >= last);
		last = x->due;
	}
	timer_heap_free(&th);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_push_pop_in_order),
		cmocka_unit_test(test_remove_middle),
		cmocka_unit_test(test_rekey),
		cmocka_unit_test(test_equal_keys),
		cmocka_unit_test(test_random_against_reference),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
