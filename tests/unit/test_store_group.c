/* test_store_group.c - unit tests of store_group.c with a fake engine: a
 * send's answer (stored, found by client_id), a failed batch failing every
 * send of it and freeing what it had got, and many threads sending at once
 * (one commit at a time, fewer commits than sends, every send stored
 * once, each thread's sends in its order). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store_group.h"

/* The fake engine: hands out ids from 1, or fails every batch with fail;
 * client_id "dup" is taken (found, not stored). */
struct store {
	int64_t next_id;
	enum chat_error fail;
	long pause_ns;          /* per batch: lets the queue fill */
	atomic_int inside;      /* commits running now */
	atomic_int overlaps;    /* commits that began while one ran (checked
	                         * by the main thread: cmocka's asserts
	                         * belong there) */
	int batches, max_batch;
	int64_t sends;
};

static enum chat_error
fake_commit(struct store *s, struct store_group_send *batch)
{
	struct timespec pause = { 0, s->pause_ns };
	int n = 0;

	if (atomic_fetch_add(&s->inside, 1) != 0)
		atomic_fetch_add(&s->overlaps, 1);
	if (s->pause_ns > 0)
		nanosleep(&pause, NULL);
	for (struct store_group_send *p = batch; p != NULL; p = p->next) {
		n++;
		if (p->client_id != NULL && strcmp(p->client_id, "dup") == 0) {
			p->m = (struct chat_message){ .id = 7, .ts = 70,
			    .room = strdup(p->room), .nick = strdup(p->nick),
			    .text = strdup("first") };
			p->made = false;
			continue;
		}
		p->m.id = ++s->next_id;
		p->m.ts = 1000 + p->m.id;
		p->made = true;
	}
	s->batches++;
	s->sends += n;
	if (n > s->max_batch)
		s->max_batch = n;
	atomic_fetch_sub(&s->inside, 1);
	return s->fail;
}

static struct store_group group = STORE_GROUP_INIT(group, fake_commit);

static enum chat_error
send1(struct store *s, const char *cid, struct chat_message *out,
    bool *created)
{
	struct store_group_send me = { .room = "lobby", .nick = "ann",
	    .text = "hi", .client_id = cid, .db = "test.db" };

	return store_group_append(&group, s, &me, out, created);
}

static void
test_stored(void **state)
{
	struct store s = { 0 };
	struct chat_message m = { 0 };
	bool created = false;

	(void)state;
	assert_int_equal(send1(&s, NULL, &m, &created), CHAT_OK);
	assert_true(created);
	assert_int_equal(m.id, 1);
	assert_int_equal(m.ts, 1001);
	assert_string_equal(m.room, "lobby");
	assert_string_equal(m.nick, "ann");
	assert_string_equal(m.text, "hi");
	chat_message_clear(&m);
	assert_int_equal(send1(&s, "new", &m, NULL), CHAT_OK);
	assert_int_equal(m.id, 2);
	chat_message_clear(&m);
	assert_int_equal(s.batches, 2);
}

static void
test_found_by_client_id(void **state)
{
	struct store s = { 0 };
	struct chat_message m = { 0 };
	bool created = true;

	(void)state;
	assert_int_equal(send1(&s, "dup", &m, &created), CHAT_OK);
	assert_false(created);
	assert_int_equal(m.id, 7);
	assert_int_equal(m.ts, 70);
	assert_string_equal(m.text, "first");
	chat_message_clear(&m);
}

/* The found row's strings are freed by the group (the sanitizer build
 * would report them lost), and out stays as it was. */
static void
test_failed_batch(void **state)
{
	struct store s = { .fail = CHAT_E_UNAVAILABLE };
	struct chat_message m = { .id = 42 };
	bool created = true;

	(void)state;
	assert_int_equal(send1(&s, "dup", &m, &created), CHAT_E_UNAVAILABLE);
	assert_int_equal(m.id, 42);
	assert_null(m.room);
	assert_true(created);
	assert_int_equal(send1(&s, NULL, &m, NULL), CHAT_E_UNAVAILABLE);
	assert_int_equal(m.id, 42);
}

#define THREADS 8
#define PER_THREAD 100

struct sender {
	pthread_t t;
	struct store *s;
	int64_t ids[PER_THREAD];
	int failed;
};

static void *
sender_run(void *arg)
{
	struct sender *me = arg;
	struct chat_message m;

	for (int i = 0; i < PER_THREAD; i++) {
		memset(&m, 0, sizeof(m));
		if (send1(me->s, NULL, &m, NULL) != CHAT_OK)
			me->failed++;
		me->ids[i] = m.id;
		chat_message_clear(&m);
	}
	return NULL;
}

static void
test_concurrent(void **state)
{
	static struct sender snd[THREADS];
	struct store s = { .pause_ns = 200000 };
	static bool seen[THREADS * PER_THREAD + 1];

	(void)state;
	for (int i = 0; i < THREADS; i++) {
		snd[i].s = &s;
		assert_int_equal(pthread_create(&snd[i].t, NULL, sender_run,
		    &snd[i]), 0);
	}
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_join(snd[i].t, NULL), 0);
	assert_int_equal(s.sends, THREADS * PER_THREAD);
	assert_int_equal(atomic_load(&s.overlaps), 0);
	for (int i = 0; i < THREADS; i++) {
		assert_int_equal(snd[i].failed, 0);
		for (int k = 0; k < PER_THREAD; k++) {
			int64_t id = snd[i].ids[k];
			assert_true(id >= 1 && id <= THREADS * PER_THREAD);
			assert_false(seen[id]);
			seen[id] = true;
			if (k > 0)
				assert_true(id > snd[i].ids[k - 1]);
		}
	}
	/* Sends that queued behind a running commit shared the next one. */
	assert_true(s.batches < THREADS * PER_THREAD);
	assert_true(s.max_batch > 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stored),
		cmocka_unit_test(test_found_by_client_id),
		cmocka_unit_test(test_failed_batch),
		cmocka_unit_test(test_concurrent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
