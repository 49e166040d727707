/* test_forwarded.c - forwarded.c: lists of trusted proxies (addresses and
 * CIDR ranges, IPv4 and IPv6) accepted and refused, and the client an
 * X-Forwarded-For chain names, walked from the right past them as
 * lighttpd's mod_extforward and Apache's mod_remoteip do. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <string.h>

#include "forwarded.h"

static void
test_trusted_ok(void **state)
{
	static const char *const good[] = {
		"127.0.0.1", "10.0.0.0/8", " 192.0.2.1\t2001:db8::/32 ",
		"::1", "0.0.0.0/0", "::/0", "::ffff:10.0.0.1", "10.1.2.3/32",
		"2001:db8::1/128",
	};
	static const char *const bad[] = {
		"", " ", "localhost", "10.0.0.0/33", "2001:db8::/129",
		"10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/8x", "10.0.0.1,10.0.0.2",
		"300.0.0.1", "10.0.0.0/08/8",
	};
	char many[64 * 16 + 32] = "";

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(forwarded_trusted_ok(good[i]));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(forwarded_trusted_ok(bad[i]));
	for (int i = 0; i < FORWARDED_TRUSTED_MAX; i++)
		strcat(many, "10.0.0.1 ");
	assert_true(forwarded_trusted_ok(many));
	strcat(many, "10.0.0.1");
	assert_false(forwarded_trusted_ok(many));
}

static void
test_client(void **state)
{
	static const struct {
		const char *trusted, *xff, *want;   /* want NULL: false */
	} cases[] = {
		/* No proxy trusted: the last element, as the web server saw. */
		{ NULL, "198.51.100.1, 203.0.113.7", "203.0.113.7" },
		{ NULL, "203.0.113.7", "203.0.113.7" },
		/* lighttpd behind a trusted proxy appends the proxy. */
		{ "127.0.0.1", "198.51.100.9, 127.0.0.5, 127.0.0.1",
		    "127.0.0.5" },
		{ "10.0.0.0/8 2001:db8::/32", "203.0.113.7,10.1.1.1 , "
		    "2001:db8::5", "203.0.113.7" },
		/* Not from a trusted proxy: the header is not believed. */
		{ "127.0.0.1", "198.51.100.9, 127.0.0.4", "127.0.0.4" },
		/* All trusted: the left-most. */
		{ "10.0.0.0/8", "10.0.0.2, 10.0.0.1", "10.0.0.2" },
		/* One form for IPv4-mapped and IPv6 text. */
		{ NULL, "::ffff:192.0.2.1", "192.0.2.1" },
		{ "::ffff:10.0.0.1", "192.0.2.1, 10.0.0.1", "192.0.2.1" },
		{ "10.0.0.1", "192.0.2.1, ::ffff:10.0.0.1", "192.0.2.1" },
		{ NULL, "2001:DB8:0::1", "2001:db8::1" },
		/* Ranges: bits past the prefix do not matter. */
		{ "192.0.2.128/25", "198.51.100.1, 192.0.2.200", "198.51.100.1" },
		{ "192.0.2.128/25", "198.51.100.1, 192.0.2.100", "192.0.2.100" },
		{ "2001:db8::/33", "192.0.2.1, 2001:db8:7fff::1", "192.0.2.1" },
		{ "2001:db8::/33", "192.0.2.1, 2001:db8:8000::1",
		    "2001:db8:8000::1" },
		/* Empty elements are skipped; the one found must parse. */
		{ "127.0.0.1", ",, 192.0.2.1 ,,127.0.0.1,", "192.0.2.1" },
		{ "127.0.0.1", "unknown, 127.0.0.1", NULL },
		{ NULL, "192.0.2.1, _hidden", NULL },
		{ NULL, "", NULL },
		{ NULL, " , ", NULL },
		{ NULL, NULL, NULL },
	};
	char out[FORWARDED_ADDR_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		strcpy(out, "unchanged");
		bool ok = forwarded_client(cases[i].trusted, cases[i].xff, out);
		if (cases[i].want == NULL) {
			assert_false(ok);
			assert_string_equal(out, "unchanged");
		} else {
			assert_true(ok);
			assert_string_equal(out, cases[i].want);
		}
	}
}

static void
test_addr(void **state)
{
	char out[FORWARDED_ADDR_MAX];

	(void)state;
	assert_true(forwarded_addr("::ffff:127.0.0.2", out));
	assert_string_equal(out, "127.0.0.2");
	assert_true(forwarded_addr("FE80::1", out));
	assert_string_equal(out, "fe80::1");
	assert_false(forwarded_addr("local", out));
	assert_false(forwarded_addr(NULL, out));
	assert_false(forwarded_addr("1:2:3:4:5:6:7:8:9:10:11:12:13:14:15:16",
	    out));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_trusted_ok),
		cmocka_unit_test(test_client),
		cmocka_unit_test(test_addr),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
