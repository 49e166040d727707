/* test_validate.c - unit tests of validate.c: every limit of API.md's
 * "Names and limits" table, on both sides of its boundary. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "validate.h"

#define NBSP "\xc2\xa0"			/* U+00A0 */
#define IDEO_SPACE "\xe3\x80\x80"	/* U+3000 */
#define NEL "\xc2\x85"			/* U+0085, white space and control */
#define E_ACUTE "\xc3\xa9"		/* U+00E9 */
#define EMOJI "\xf0\x9f\x98\x80"	/* U+1F600 */

/* unit repeated n times, NUL-terminated; the caller frees it. */
static char *
rep(const char *unit, size_t n)
{
	size_t ul = strlen(unit);
	char *s = malloc(ul * n + 1);

	assert_non_null(s);
	for (size_t i = 0; i < n; i++)
		memcpy(s + i * ul, unit, ul);
	s[ul * n] = '\0';
	return s;
}

static enum chat_error
room(const char *s)
{
	const char *why = NULL;
	enum chat_error e = validate_room(s, strlen(s), &why);

	assert_true(e == CHAT_OK || why != NULL);
	return e;
}

static void
test_room(void **state)
{
	char *s64 = rep("a", 64), *s65 = rep("Z", 65);

	(void)state;
	assert_int_equal(room("lobby"), CHAT_OK);
	assert_int_equal(room("A-Z_a-z_0-9"), CHAT_OK);
	assert_int_equal(room("x"), CHAT_OK);
	assert_int_equal(room(s64), CHAT_OK);
	assert_int_equal(room(s65), CHAT_E_BAD_ROOM);
	assert_int_equal(room(""), CHAT_E_BAD_ROOM);
	assert_int_equal(room("a b"), CHAT_E_BAD_ROOM);
	assert_int_equal(room("a.b"), CHAT_E_BAD_ROOM);
	assert_int_equal(room("a/b"), CHAT_E_BAD_ROOM);
	assert_int_equal(room("caf" E_ACUTE), CHAT_E_BAD_ROOM);
	assert_int_equal(validate_room("a\0b", 3, NULL), CHAT_E_BAD_ROOM);
	free(s64);
	free(s65);
}

/* Validates nick s; on success checks the trimmed span is want. */
static enum chat_error
nick(const char *s, const char *want)
{
	size_t start = 99, tlen = 99;
	const char *why = NULL;
	enum chat_error e;

	e = validate_nick(s, strlen(s), &start, &tlen, &why);
	if (e != CHAT_OK) {
		assert_int_equal(e, CHAT_E_BAD_NICK);
		assert_non_null(why);
		return e;
	}
	assert_int_equal(tlen, strlen(want));
	assert_memory_equal(s + start, want, tlen);
	return e;
}

static void
test_nick_trim(void **state)
{
	(void)state;
	assert_int_equal(nick("alice", "alice"), CHAT_OK);
	assert_int_equal(nick("  alice \t", "alice"), CHAT_OK);
	assert_int_equal(nick(NBSP "alice" IDEO_SPACE, "alice"), CHAT_OK);
	assert_int_equal(nick(NEL "bob" NEL, "bob"), CHAT_OK);
	assert_int_equal(nick("\r\n al ice \n", "al ice"), CHAT_OK);
	assert_int_equal(nick("a" IDEO_SPACE "b", "a" IDEO_SPACE "b"),
	    CHAT_OK);
	assert_int_equal(nick(E_ACUTE, E_ACUTE), CHAT_OK);
}

static void
test_nick_empty(void **state)
{
	(void)state;
	assert_int_equal(nick("", NULL), CHAT_E_BAD_NICK);
	assert_int_equal(nick(" ", NULL), CHAT_E_BAD_NICK);
	assert_int_equal(nick(" \t\n" NBSP IDEO_SPACE "\xe2\x80\xa8", NULL),
	    CHAT_E_BAD_NICK);
}

static void
test_nick_length(void **state)
{
	char *a32 = rep("a", 32), *a33 = rep("a", 33);
	char *e32 = rep(E_ACUTE, 32), *e33 = rep(E_ACUTE, 33);
	char *m32 = rep(EMOJI, 32), *m33 = rep(EMOJI, 33);
	char *padded = rep(" ", 40);

	(void)state;
	memcpy(padded + 4, a32, 32);
	assert_int_equal(nick(a32, a32), CHAT_OK);
	assert_int_equal(nick(a33, NULL), CHAT_E_BAD_NICK);
	assert_int_equal(nick(e32, e32), CHAT_OK);
	assert_int_equal(nick(e33, NULL), CHAT_E_BAD_NICK);
	assert_int_equal(nick(m32, m32), CHAT_OK);
	assert_int_equal(nick(m33, NULL), CHAT_E_BAD_NICK);
	assert_int_equal(nick(padded, a32), CHAT_OK);
	free(a32);
	free(a33);
	free(e32);
	free(e33);
	free(m32);
	free(m33);
	free(padded);
}

static void
test_nick_control(void **state)
{
	(void)state;
	assert_int_equal(nick("a\tb", NULL), CHAT_E_BAD_NICK);
	assert_int_equal(nick("a\nb", NULL), CHAT_E_BAD_NICK);
	assert_int_equal(nick("a\x01", NULL), CHAT_E_BAD_NICK);
	assert_int_equal(nick("a\x1f", NULL), CHAT_E_BAD_NICK);
	assert_int_equal(nick("a\x7f", NULL), CHAT_E_BAD_NICK);
	assert_int_equal(nick("a" NEL "b", NULL), CHAT_E_BAD_NICK);
	assert_int_equal(nick("a\xc2\x80", NULL), CHAT_E_BAD_NICK);
	assert_int_equal(nick("a\xc2\x9f", NULL), CHAT_E_BAD_NICK);
	assert_int_equal(validate_nick("a\0b", 3, &(size_t){0},
	    &(size_t){0}, NULL), CHAT_E_BAD_NICK);
}

static void
test_nick_utf8(void **state)
{
	(void)state;
	assert_int_equal(nick("al\xc3", NULL), CHAT_E_BAD_NICK);
	assert_int_equal(nick("\xed\xa0\x80", NULL), CHAT_E_BAD_NICK);
	assert_int_equal(nick("\xc0\xa0x", NULL), CHAT_E_BAD_NICK);
	assert_int_equal(nick(" \xff ", NULL), CHAT_E_BAD_NICK);
}

/* Validates text s of len bytes; on success checks the result is want. */
static enum chat_error
textn(const char *s, size_t len, const char *want)
{
	const char *why = NULL;
	size_t outlen = 99;
	char *out = (char *)1;
	enum chat_error e;

	e = validate_text(s, len, &out, &outlen, &why);
	if (e != CHAT_OK) {
		assert_int_equal(e, CHAT_E_BAD_TEXT);
		assert_null(out);
		assert_non_null(why);
		return e;
	}
	assert_int_equal(outlen, strlen(want));
	assert_string_equal(out, want);
	free(out);
	return e;
}

static enum chat_error
text(const char *s, const char *want)
{
	return textn(s, strlen(s), want);
}

static void
test_text_newlines(void **state)
{
	(void)state;
	assert_int_equal(text("hello", "hello"), CHAT_OK);
	assert_int_equal(text("\r", "\n"), CHAT_OK);
	assert_int_equal(text("\n", "\n"), CHAT_OK);
	assert_int_equal(text("\r\n", "\n"), CHAT_OK);
	assert_int_equal(text("a\r\nb\rc\nd", "a\nb\nc\nd"), CHAT_OK);
	assert_int_equal(text("\r\r\n\n\r", "\n\n\n\n"), CHAT_OK);
	assert_int_equal(text("a\tb", "a\tb"), CHAT_OK);
	assert_int_equal(text("  not trimmed  ", "  not trimmed  "), CHAT_OK);
	assert_int_equal(text(" ", " "), CHAT_OK);
	assert_int_equal(text(EMOJI " \xe2\x80\xa8", EMOJI " \xe2\x80\xa8"),
	    CHAT_OK);
}

static void
test_text_length(void **state)
{
	char *a4000 = rep("a", 4000), *a4001 = rep("a", 4001);
	char *e2000 = rep(E_ACUTE, 2000), *crlf4000 = rep("\r\n", 4000);
	char *crlf4001 = rep("\r\n", 4001), *nl4000 = rep("\n", 4000);
	char *sent = rep("a", 4002), *want = rep("a", 4000);

	(void)state;
	assert_int_equal(text(a4000, a4000), CHAT_OK);
	assert_int_equal(text(a4001, NULL), CHAT_E_BAD_TEXT);
	assert_int_equal(text(e2000, e2000), CHAT_OK);
	assert_int_equal(text(crlf4000, nl4000), CHAT_OK);
	assert_int_equal(text(crlf4001, NULL), CHAT_E_BAD_TEXT);
	/* 3999 bytes and "\r\n": 4001 sent, 4000 after normalisation. */
	memcpy(sent + 3999, "\r\n", 3);
	want[3999] = '\n';
	assert_int_equal(text(sent, want), CHAT_OK);
	/* 4000 bytes and "\r\n" is 4001 after normalisation. */
	memcpy(sent + 3999, "a\r\n", 4);
	assert_int_equal(text(sent, NULL), CHAT_E_BAD_TEXT);
	/* 3999 bytes and a two-byte character. */
	memcpy(sent + 3999, E_ACUTE, 3);
	assert_int_equal(text(sent, NULL), CHAT_E_BAD_TEXT);
	free(a4000);
	free(a4001);
	free(e2000);
	free(crlf4000);
	free(crlf4001);
	free(nl4000);
	free(sent);
	free(want);
}

static void
test_text_bad(void **state)
{
	(void)state;
	assert_int_equal(text("", NULL), CHAT_E_BAD_TEXT);
	assert_int_equal(text("a\x7f", NULL), CHAT_E_BAD_TEXT);
	assert_int_equal(text("a" NEL "b", NULL), CHAT_E_BAD_TEXT);
	assert_int_equal(text(NEL, NULL), CHAT_E_BAD_TEXT);
	assert_int_equal(text("\x01", NULL), CHAT_E_BAD_TEXT);
	assert_int_equal(text("a\x0b", NULL), CHAT_E_BAD_TEXT);
	assert_int_equal(text("\x1b[31m", NULL), CHAT_E_BAD_TEXT);
	assert_int_equal(textn("a\0b", 3, NULL), CHAT_E_BAD_TEXT);
	assert_int_equal(text("caf\xc3", NULL), CHAT_E_BAD_TEXT);
	assert_int_equal(text("\xed\xb0\x80", NULL), CHAT_E_BAD_TEXT);
}

static enum chat_error
client_id(const char *s)
{
	const char *why = NULL;
	enum chat_error e = validate_client_id(s, strlen(s), &why);

	assert_true(e == CHAT_OK || why != NULL);
	return e;
}

static void
test_client_id(void **state)
{
	char *c64 = rep("x", 64), *c65 = rep("x", 65);

	(void)state;
	assert_int_equal(client_id("a"), CHAT_OK);
	assert_int_equal(client_id("!~{}[]\"'%20"), CHAT_OK);
	assert_int_equal(client_id("550e8400-e29b-41d4-a716-446655440000"),
	    CHAT_OK);
	assert_int_equal(client_id(c64), CHAT_OK);
	assert_int_equal(client_id(c65), CHAT_E_BAD_CLIENT_ID);
	assert_int_equal(client_id(""), CHAT_E_BAD_CLIENT_ID);
	assert_int_equal(client_id("a b"), CHAT_E_BAD_CLIENT_ID);
	assert_int_equal(client_id("a\x7f"), CHAT_E_BAD_CLIENT_ID);
	assert_int_equal(client_id("a\t"), CHAT_E_BAD_CLIENT_ID);
	assert_int_equal(client_id(E_ACUTE), CHAT_E_BAD_CLIENT_ID);
	assert_int_equal(validate_client_id("a\0", 2, NULL),
	    CHAT_E_BAD_CLIENT_ID);
	free(c64);
	free(c65);
}

static void
test_json_type(void **state)
{
	static const char *const good[] = { "application/json",
	    "Application/JSON", "application/json; charset=utf-8",
	    "application/json;charset=UTF-8", "application/json; charset=\"utf-8\"",
	    "application/json ; charset=utf8" };
	static const char *const bad[] = { "text/plain", "application/jsonp",
	    "application/json; charset=latin1", "application/json; foo=bar",
	    "application/json,", "" };

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(validate_json_type(good[i]));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(validate_json_type(bad[i]));
	assert_false(validate_json_type(NULL));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_room),
		cmocka_unit_test(test_nick_trim),
		cmocka_unit_test(test_nick_empty),
		cmocka_unit_test(test_nick_length),
		cmocka_unit_test(test_nick_control),
		cmocka_unit_test(test_nick_utf8),
		cmocka_unit_test(test_text_newlines),
		cmocka_unit_test(test_text_length),
		cmocka_unit_test(test_text_bad),
		cmocka_unit_test(test_client_id),
		cmocka_unit_test(test_json_type),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
