/* test_batch.c - unit tests of batch.c: every long-poll slice of a batch
 * is byte for byte what json_messages makes of the same rows, every
 * stream's events what sse_row makes, every WebSocket's frames what
 * ws_frame makes of json_ws_message / json_ws_delete, tombstones included,
 * and a slice asked for again is not built again. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "batch.h"
#include "json.h"
#include "sse.h"
#include "ws.h"

/* Messages and tombstones (deletes != 0), ascending ids. */
static const struct chat_message rows[] = {
	{ 10, 1000, "lobby", "alice", "hi \"all\"", 0 },
	{ 11, 1001, "lobby", "", "", 3 },
	{ 14, 1002, "lobby", "bob", "line\nbreak", 0 },
	{ 15, 1003, "lobby", "", "", 10 },
	{ 20, 1004, "lobby", "carol", "\xf0\x9f\x98\x80", 0 },
};
#define N (sizeof(rows) / sizeof(rows[0]))

static void
test_first(void **state)
{
	struct batch b;

	(void)state;
	assert_int_equal(batch_init(&b, rows, N), 0);
	assert_int_equal(batch_first(&b, 0), 0);
	assert_int_equal(batch_first(&b, 9), 0);
	assert_int_equal(batch_first(&b, 10), 1);
	assert_int_equal(batch_first(&b, 12), 2);
	assert_int_equal(batch_first(&b, 19), 4);
	assert_int_equal(batch_first(&b, 20), N);
	assert_int_equal(batch_first(&b, 1000), N);
	batch_free(&b);
}

static void
test_body_every_slice(void **state)
{
	struct buf want = { 0 };
	struct batch b;

	(void)state;
	assert_int_equal(batch_init(&b, rows, N), 0);
	for (size_t first = 0; first < N; first++)
		for (size_t count = 1; first + count <= N; count++) {
			const char *data;
			size_t len;
			buf_reset(&want);
			json_messages(&want, rows + first, count,
			    rows[first + count - 1].id);
			assert_int_equal(batch_body(&b, first, count, &data,
			    &len), 0);
			assert_int_equal(len, want.len);
			assert_memory_equal(data, want.data, len);
		}
	buf_free(&want);
	batch_free(&b);
}

static void
test_body_reused(void **state)
{
	const char *a, *c;
	size_t la, lc;
	struct batch b;

	(void)state;
	assert_int_equal(batch_init(&b, rows, N), 0);
	assert_int_equal(batch_body(&b, 1, 3, &a, &la), 0);
	assert_int_equal(batch_body(&b, 1, 3, &c, &lc), 0);
	assert_ptr_equal(a, c);
	assert_int_equal(la, lc);
	batch_free(&b);
}

/* A batch of tombstones only has no JSON pieces at all. */
static void
test_body_tombstones_only(void **state)
{
	const char *data;
	size_t len;
	struct batch b;

	(void)state;
	assert_int_equal(batch_init(&b, rows + 1, 1), 0);
	assert_int_equal(batch_body(&b, 0, 1, &data, &len), 0);
	assert_string_equal(data,
	    "{\"messages\":[],\"deleted\":[3],\"last_id\":11}");
	assert_int_equal(len, strlen(data));
	batch_free(&b);
}

static void
test_events(void **state)
{
	struct buf want = { 0 }, tmp = { 0 };
	struct batch b;

	(void)state;
	assert_int_equal(batch_init(&b, rows, N), 0);
	for (size_t first = N; first-- > 0;) {
		const char *data;
		size_t len;
		buf_reset(&want);
		for (size_t i = first; i < N; i++)
			assert_int_equal(sse_row(&want, &tmp, &rows[i]), 0);
		assert_int_equal(batch_events(&b, first, &data, &len), 0);
		assert_int_equal(len, want.len);
		assert_memory_equal(data, want.data, len);
	}
	buf_free(&want);
	buf_free(&tmp);
	batch_free(&b);
}

/* Every WebSocket slice: one text frame per row, a message frame or a
 * delete frame, the same bytes whoever asks. */
static void
test_frames(void **state)
{
	struct buf want = { 0 }, text = { 0 };
	struct batch b;

	(void)state;
	assert_int_equal(batch_init(&b, rows, N), 0);
	for (size_t first = N; first-- > 0;) {
		const char *data;
		size_t len;
		buf_reset(&want);
		for (size_t i = first; i < N; i++) {
			buf_reset(&text);
			if (rows[i].deletes)
				assert_int_equal(json_ws_delete(&text, &rows[i]),
				    0);
			else
				assert_int_equal(json_ws_message(&text,
				    &rows[i]), 0);
			assert_int_equal(ws_frame(&want, WS_OP_TEXT, text.data,
			    text.len), 0);
		}
		assert_int_equal(batch_frames(&b, first, &data, &len), 0);
		assert_int_equal(len, want.len);
		assert_memory_equal(data, want.data, len);
	}
	/* The tombstone of message 3 at id 11: its seq is its own id. */
	buf_reset(&text);
	json_ws_delete(&text, &rows[1]);
	assert_string_equal(text.data,
	    "{\"type\":\"delete\",\"id\":3,\"room\":\"lobby\",\"seq\":11}");
	buf_free(&want);
	buf_free(&text);
	batch_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first),
		cmocka_unit_test(test_body_every_slice),
		cmocka_unit_test(test_body_reused),
		cmocka_unit_test(test_body_tombstones_only),
		cmocka_unit_test(test_events),
		cmocka_unit_test(test_frames),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
