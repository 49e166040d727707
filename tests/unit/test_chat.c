/* test_chat.c - unit tests of chat.c: the FNV-1a hash against the
 * published test vectors (limit.c's shared file depends on its values),
 * and message lists. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "chat.h"

static void
test_fnv1a_vectors(void **state)
{
	static const unsigned char zeros[16];

	(void)state;
	assert_int_equal(chat_fnv1a("", 0), 0x811c9dc5u);
	assert_int_equal(chat_fnv1a("a", 1), 0xe40c292cu);
	assert_int_equal(chat_fnv1a("foobar", 6), 0xbf9cf968u);
	assert_int_equal(chat_fnv1a(zeros, sizeof(zeros)), 0x69691905u);
	/* Bytes above 0x7F hash as unsigned, whatever char's sign. */
	assert_int_equal(chat_fnv1a("\xff", 1), (0x811c9dc5u ^ 0xffu) *
	    16777619u);
}

static void
test_list_push_clear(void **state)
{
	struct chat_list l = { 0 };

	(void)state;
	for (int i = 1; i <= 40; i++)
		assert_int_equal(chat_list_push(&l, i, 1000 + i, "lobby", "n",
		    "t"), 0);
	assert_int_equal(l.n, 40);
	assert_int_equal(l.v[39].id, 40);
	assert_string_equal(l.v[0].room, "lobby");
	chat_list_clear(&l);
	assert_int_equal(l.n, 0);
	assert_null(l.v);
	chat_list_clear(NULL);
	chat_message_clear(NULL);
}

static void
test_list_reverse(void **state)
{
	struct chat_message v[5] = { { .id = 1 }, { .id = 2 }, { .id = 3 },
	    { .id = 4 }, { .id = 5 } };

	(void)state;
	chat_list_reverse(v, 0);
	assert_int_equal(v[0].id, 1);
	chat_list_reverse(v, 1);
	assert_int_equal(v[0].id, 1);
	chat_list_reverse(v, 5);
	for (int i = 0; i < 5; i++)
		assert_int_equal(v[i].id, 5 - i);
	chat_list_reverse(v + 1, 4);   /* even: 5 1 2 3 4 */
	assert_int_equal(v[1].id, 1);
	assert_int_equal(v[4].id, 4);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_list_reverse),
		cmocka_unit_test(test_fnv1a_vectors),
		cmocka_unit_test(test_list_push_clear),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
