/* test_utf8.c - unit tests of utf8.c: decoding at every boundary of
 * Unicode Table 3-7, and the White_Space and control classes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "utf8.h"

struct good {
	const char *s;
	uint32_t cp;
};

static const struct good goods[] = {
	{ "A", 0x41 }, { "\x7f", 0x7F },
	{ "\xc2\x80", 0x80 }, { "\xdf\xbf", 0x7FF },
	{ "\xe0\xa0\x80", 0x800 }, { "\xe2\x82\xac", 0x20AC },
	{ "\xed\x9f\xbf", 0xD7FF }, { "\xee\x80\x80", 0xE000 },
	{ "\xef\xbf\xbf", 0xFFFF }, { "\xf0\x90\x80\x80", 0x10000 },
	{ "\xf0\x9f\x98\x80", 0x1F600 }, { "\xf4\x8f\xbf\xbf", 0x10FFFF },
};

/* Ill-formed: overlongs, surrogates, above U+10FFFF, bad leads, bad or
 * missing continuation bytes. */
static const char *const bads[] = {
	"\xc0\x80", "\xc1\xbf", "\xe0\x80\x80", "\xe0\x9f\xbf",
	"\xf0\x80\x80\x80", "\xf0\x8f\xbf\xbf",
	"\xed\xa0\x80", "\xed\xaf\xbf", "\xed\xb0\x80", "\xed\xbf\xbf",
	"\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xf8\x88\x80\x80\x80",
	"\xfe", "\xff", "\x80", "\xbf",
	"\xc3", "\xe2\x82", "\xf0\x9f\x98",
	"\xc3\x28", "\xe2\x28\xa1", "\xe2\x82\x28", "\xf0\x9f\x98\x28",
};

static void
test_decode_good(void **state)
{
	uint32_t cp;

	(void)state;
	for (size_t i = 0; i < sizeof(goods) / sizeof(goods[0]); i++) {
		size_t len = strlen(goods[i].s);
		cp = 0xDEAD;
		assert_int_equal(utf8_decode(goods[i].s, len, &cp), len);
		assert_int_equal(cp, goods[i].cp);
		assert_true(utf8_valid(goods[i].s, len));
	}
}

static void
test_decode_bad(void **state)
{
	uint32_t cp;

	(void)state;
	for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		assert_int_equal(utf8_decode(bads[i], strlen(bads[i]), &cp), 0);
		assert_false(utf8_valid(bads[i], strlen(bads[i])));
	}
}

static void
test_decode_respects_len(void **state)
{
	uint32_t cp;

	(void)state;
	assert_int_equal(utf8_decode("", 0, &cp), 0);
	assert_int_equal(utf8_decode("\xc3\xa9", 1, &cp), 0);
	assert_int_equal(utf8_decode("\xf0\x9f\x98\x80", 3, &cp), 0);
	assert_int_equal(utf8_decode("ab", 1, &cp), 1);
	assert_int_equal(cp, 'a');
	assert_int_equal(utf8_decode("\0", 1, &cp), 1);
	assert_int_equal(cp, 0);
}

static void
test_valid_strings(void **state)
{
	(void)state;
	assert_true(utf8_valid("", 0));
	assert_true(utf8_valid("a\0b", 3));
	assert_true(utf8_valid("h\xc3\xa9llo \xf0\x9f\x98\x80!", 12));
	assert_false(utf8_valid("hello \xc3", 7));
	assert_false(utf8_valid("ok\xed\xa0\x80ok", 7));
	assert_false(utf8_valid("\xf0\x9f\x98\x80\x80", 5));
}

static void
test_white_space(void **state)
{
	static const uint32_t yes[] = { 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20,
	    0x85, 0xA0, 0x1680, 0x2000, 0x2005, 0x200A, 0x2028, 0x2029,
	    0x202F, 0x205F, 0x3000 };
	static const uint32_t no[] = { 0x00, 0x08, 0x0E, 0x1F, 0x21, 'a',
	    0x84, 0x86, 0x9F, 0xA1, 0x180E, 0x1FFF, 0x200B, 0x2027, 0x202A,
	    0x205E, 0x2060, 0x2FFF, 0x3001, 0xFEFF, 0x10FFFF };

	(void)state;
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		assert_true(utf8_is_white_space(yes[i]));
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		assert_false(utf8_is_white_space(no[i]));
}

static void
test_control(void **state)
{
	static const uint32_t yes[] = { 0x00, 0x09, 0x0A, 0x1F, 0x7F, 0x80,
	    0x85, 0x9F };
	static const uint32_t no[] = { 0x20, 0x7E, 0xA0, 0x2028, 0xFEFF,
	    0x1F600 };

	(void)state;
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		assert_true(utf8_is_control(yes[i]));
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		assert_false(utf8_is_control(no[i]));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_good),
		cmocka_unit_test(test_decode_bad),
		cmocka_unit_test(test_decode_respects_len),
		cmocka_unit_test(test_valid_strings),
		cmocka_unit_test(test_white_space),
		cmocka_unit_test(test_control),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
