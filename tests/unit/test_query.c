/* test_query.c - unit tests of query.c: every query parameter at and
 * beyond its range, percent-decoding, duplicates, and the size limits. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "chat.h"
#include "query.h"

/* Parses qs, expecting success; returns the result. */
static struct query_params
ok(const char *qs)
{
	struct query_params p;
	const char *why = NULL;

	if (query_parse(qs, &p, &why) != CHAT_OK)
		fail_msg("\"%s\": %s", qs, why);
	return p;
}

/* Parses qs, expecting bad_param with a why that contains word. */
static void
bad(const char *qs, const char *word)
{
	struct query_params p;
	const char *why = NULL;

	if (query_parse(qs, &p, &why) != CHAT_E_BAD_PARAM)
		fail_msg("\"%s\" was accepted", qs);
	assert_non_null(why);
	if (strstr(why, word) == NULL)
		fail_msg("\"%s\": why \"%s\" lacks \"%s\"", qs, why, word);
}

static void
test_defaults(void **state)
{
	struct query_params p;

	(void)state;
	p = ok("");
	assert_int_equal(p.since, -1);
	assert_int_equal(p.before, -1);
	assert_int_equal(p.limit, CHAT_DEFAULT_LIMIT);
	assert_int_equal(p.wait, -1);
	p = ok(NULL);
	assert_int_equal(p.limit, CHAT_DEFAULT_LIMIT);
	assert_int_equal(p.since, -1);
	assert_int_equal(query_parse(NULL, &p, NULL), CHAT_OK);
}

static void
test_values(void **state)
{
	struct query_params p;

	(void)state;
	p = ok("since=5&limit=10&wait=30");
	assert_int_equal(p.since, 5);
	assert_int_equal(p.limit, 10);
	assert_int_equal(p.wait, 30);
	assert_int_equal(p.before, -1);
	p = ok("before=42");
	assert_int_equal(p.before, 42);
	assert_int_equal(p.since, -1);
	assert_int_equal(ok("since=0").since, 0);
	assert_int_equal(ok("since=007").since, 7);
	assert_true(ok("since=9223372036854775807").since == INT64_MAX);
	assert_true(ok("before=9223372036854775807").before == INT64_MAX);
	assert_int_equal(ok("limit=1").limit, 1);
	assert_int_equal(ok("limit=1000").limit, 1000);
	assert_int_equal(ok("wait=0").wait, 0);
	assert_int_equal(ok("wait=60").wait, 60);
	assert_int_equal(ok("wait=5").since, -1);	/* no effect, allowed */
}

static void
test_ranges(void **state)
{
	(void)state;
	bad("since=-1", "since");
	bad("since=abc", "since must be an integer");
	bad("since=9223372036854775808", "since");
	bad("since=99999999999999999999999", "since");
	bad("since=+1", "since");
	bad("since=1.0", "since");
	bad("since=0x10", "since");
	bad("since= 1", "since");
	bad("since=1 ", "since");
	bad("before=-5", "before");
	bad("limit=0", "limit must be an integer from 1 to 1000");
	bad("limit=1001", "limit");
	bad("limit=-1", "limit");
	bad("wait=61", "wait must be an integer from 0 to 60");
	bad("wait=-1", "wait");
	bad("limit=10&wait=x", "wait");
}

static void
test_missing_values(void **state)
{
	(void)state;
	bad("since=", "since");
	bad("since", "since");
	bad("limit", "limit");
	bad("a=1&wait=", "wait");
	bad("before&since=1", "before");
}

static void
test_combinations(void **state)
{
	(void)state;
	bad("since=1&before=2", "since and before");
	bad("before=2&since=1", "since and before");
	bad("since=1&since=2", "since may be given only once");
	bad("limit=5&limit=5", "limit");
	bad("wait=1&wait=1", "wait");
	bad("before=1&before=1", "before");
}

static void
test_unknown_and_empty(void **state)
{
	struct query_params p;

	(void)state;
	p = ok("a=1&&b=2&since=3&");
	assert_int_equal(p.since, 3);
	p = ok("&&&limit=7&&&");
	assert_int_equal(p.limit, 7);
	p = ok("foo&bar=&=baz&_=1700000000");
	assert_int_equal(p.since, -1);
	p = ok("Since=abc&LIMIT=0&sincex=1&xlimit=1");	/* names are exact */
	assert_int_equal(p.since, -1);
	assert_int_equal(p.limit, CHAT_DEFAULT_LIMIT);
	p = ok("since%00=abc");	/* "since\0" is another name */
	assert_int_equal(p.since, -1);
	p = ok("=");
	assert_int_equal(p.limit, CHAT_DEFAULT_LIMIT);
}

static void
test_percent(void **state)
{
	struct query_params p;

	(void)state;
	assert_int_equal(ok("since=%31").since, 1);
	assert_int_equal(ok("since=1%32%33").since, 123);
	assert_int_equal(ok("%6cimit=%35").limit, 5);
	assert_int_equal(ok("%6C%69%6D%69%74=9").limit, 9);
	p = ok("x=%e2%82%ac&y=%41");
	assert_int_equal(p.limit, CHAT_DEFAULT_LIMIT);
	bad("since=%zz", "percent sign");
	bad("since=%3", "percent sign");
	bad("since=1%", "percent sign");
	bad("x=%g0", "percent sign");	/* unknown names are checked too */
	bad("%&since=1", "percent sign");
	bad("since=%00", "since");	/* decoded NUL */
	bad("since=1%002", "since");
	bad("since=+1", "since");	/* '+' is a space */
	bad("since=%2B1", "since");
	bad("limit=1+", "limit");
}

static void
test_param_count(void **state)
{
	char qs[512];
	size_t n = 0;

	(void)state;
	for (int i = 0; i < 32; i++)
		n += (size_t)snprintf(qs + n, sizeof(qs) - n, "p%d=1&", i);
	ok(qs);
	snprintf(qs + n, sizeof(qs) - n, "p32=1");
	bad(qs, "32 parameters");
	/* Empty pairs do not count. */
	snprintf(qs + n, sizeof(qs) - n, "&&&&&");
	ok(qs);
}

static void
test_length(void **state)
{
	static char qs[QUERY_MAX_LEN + 2];

	(void)state;
	/* "since=" and leading zeros up to exactly the limit. */
	memset(qs, '0', QUERY_MAX_LEN);
	memcpy(qs, "since=", 6);
	qs[QUERY_MAX_LEN - 1] = '9';
	qs[QUERY_MAX_LEN] = '\0';
	assert_int_equal(ok(qs).since, 9);
	qs[QUERY_MAX_LEN] = '0';
	qs[QUERY_MAX_LEN + 1] = '\0';
	bad(qs, "4096 bytes");
}

static void
test_query_int(void **state)
{
	int64_t v = 77;

	(void)state;
	assert_int_equal(query_int("0", 1, 0, 10, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(query_int("10", 2, 0, 10, &v), 0);
	assert_int_equal(v, 10);
	assert_int_equal(query_int("11", 2, 0, 10, &v), -1);
	assert_int_equal(v, 10);
	assert_int_equal(query_int("5", 1, 6, 10, &v), -1);
	assert_int_equal(query_int("", 0, 0, 10, &v), -1);
	assert_int_equal(query_int("123", 2, 0, 100, &v), 0);	/* len */
	assert_int_equal(v, 12);
	assert_int_equal(query_int("9223372036854775807", 19, 0, INT64_MAX,
	    &v), 0);
	assert_true(v == INT64_MAX);
	assert_int_equal(query_int("9223372036854775808", 19, 0, INT64_MAX,
	    &v), -1);
	assert_int_equal(query_int("18446744073709551626", 20, 0, INT64_MAX,
	    &v), -1);
	assert_int_equal(query_int("-1", 2, -5, 5, &v), -1);
	assert_int_equal(query_int(" 1", 2, 0, 5, &v), -1);
	assert_int_equal(query_int("1\0", 2, 0, 5, &v), -1);
}

static void
test_last_event_id(void **state)
{
	int64_t v = 77;

	(void)state;
	assert_int_equal(query_last_event_id("42", &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(query_last_event_id(" \t0 \t", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(query_last_event_id("9223372036854775807", &v), 0);
	assert_true(v == INT64_MAX);
	assert_int_equal(query_last_event_id("9223372036854775808", &v), -1);
	assert_int_equal(query_last_event_id("", &v), -1);
	assert_int_equal(query_last_event_id("  ", &v), -1);
	assert_int_equal(query_last_event_id(NULL, &v), -1);
	assert_int_equal(query_last_event_id("-1", &v), -1);
	assert_int_equal(query_last_event_id("1 2", &v), -1);
	assert_int_equal(query_last_event_id("abc", &v), -1);
	assert_int_equal(query_last_event_id("4\n", &v), -1);
}

/* Every byte value: the 22 hex digits and nothing else. */
static void
test_hex(void **state)
{
	static const char digits[] = "0123456789abcdefABCDEF";
	int n = 0;

	(void)state;
	for (int c = -128; c < 256; c++) {
		const char *p = c > 0 ? memchr(digits, c, 22) : NULL;
		int want = p == NULL ? -1 : p - digits < 16 ?
		    (int)(p - digits) : (int)(p - digits) - 6;
		if (query_hex(c) != want)
			fail_msg("query_hex(%d) is %d, not %d", c,
			    query_hex(c), want);
		n += want >= 0;
	}
	assert_int_equal(n, 22);
	assert_int_equal(query_hex('F'), 15);
	assert_int_equal(query_hex('g'), -1);
	assert_int_equal(query_hex('/'), -1);
	assert_int_equal(query_hex(':'), -1);
	assert_int_equal(query_hex('@'), -1);
	assert_int_equal(query_hex('`'), -1);
}

static void
test_uri_path(void **state)
{
	char out[16];

	(void)state;
	assert_int_equal(query_uri_path("/api/rooms?x=%41", out, sizeof(out)), 0);
	assert_string_equal(out, "/api/rooms");
	assert_int_equal(query_uri_path("/a%2Fb#frag", out, sizeof(out)), 0);
	assert_string_equal(out, "/a/b");
	assert_int_equal(query_uri_path("/a%00b", out, sizeof(out)), -1);
	assert_int_equal(query_uri_path("/a%4", out, sizeof(out)), -1);
	assert_int_equal(query_uri_path("/a%zz", out, sizeof(out)), -1);
	/* 15 bytes fit with the NUL, 16 do not. */
	assert_int_equal(query_uri_path("/23456789012345", out, sizeof(out)), 0);
	assert_int_equal(query_uri_path("/234567890123456", out, sizeof(out)),
	    -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_ranges),
		cmocka_unit_test(test_missing_values),
		cmocka_unit_test(test_combinations),
		cmocka_unit_test(test_unknown_and_empty),
		cmocka_unit_test(test_percent),
		cmocka_unit_test(test_param_count),
		cmocka_unit_test(test_length),
		cmocka_unit_test(test_query_int),
		cmocka_unit_test(test_last_event_id),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_uri_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
