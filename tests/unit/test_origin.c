/* test_origin.c - unit tests of origin.c: lists, the server's own origin,
 * and the one decision both the FastCGI and the WebSocket paths take. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "config.h"
#include "origin.h"

static void
test_listed(void **state)
{
	(void)state;
	assert_false(origin_listed(NULL, "http://a.example"));
	assert_true(origin_listed("*", "http://a.example"));
	assert_true(origin_listed("http://a.example", "http://a.example"));
	assert_true(origin_listed(" http://b.example,\thttp://a.example ",
	    "http://a.example"));
	/* Whole entries only: no prefix, no suffix. */
	assert_false(origin_listed("http://a.example.evil", "http://a.example"));
	assert_false(origin_listed("http://a.example", "http://a.example.evil"));
	assert_false(origin_listed("http://a.example", "http://a.exampl"));
	assert_false(origin_listed("", "http://a.example"));
}

static void
test_same(void **state)
{
	(void)state;
	assert_true(origin_same("http://h:8080", false, "h:8080"));
	assert_true(origin_same("https://h", true, "h"));
	assert_false(origin_same("http://h", true, "h"));
	assert_false(origin_same("https://h", false, "h"));
	assert_false(origin_same("http://h:8080", false, "h"));
	assert_false(origin_same("http://h", false, NULL));
	assert_false(origin_same("null", false, "h"));
}

static void
test_check(void **state)
{
	struct config c = { 0 };
	const char *cors = NULL;

	(void)state;
	/* No Origin: not a browser page; no allow-list: everyone. */
	assert_true(origin_check(&c, NULL, false, "h", &cors));
	assert_true(origin_check(&c, "http://evil", false, "h", &cors));
	assert_null(cors);
	c.allow_origins = "http://ok";
	assert_false(origin_check(&c, "http://evil", false, "h", &cors));
	assert_true(origin_check(&c, "http://ok", false, "h", &cors));
	assert_true(origin_check(&c, "http://h", false, "h", &cors));
	assert_null(cors);
	/* A CORS origin may use the API and gets its name echoed. */
	c.cors_origins = "http://cors";
	assert_true(origin_check(&c, "http://cors", false, "h", &cors));
	assert_string_equal(cors, "http://cors");
	cors = NULL;
	c.cors_origins = "*";
	assert_true(origin_check(&c, "http://any", false, "h", &cors));
	assert_string_equal(cors, "*");
}

static void
test_check_ws(void **state)
{
	struct config c = { 0 };

	(void)state;
	/* Without any list: the server's own origin and non-browsers only. */
	assert_true(origin_check_ws(&c, NULL, false, "h"));
	assert_true(origin_check_ws(&c, "http://h", false, "h"));
	assert_false(origin_check_ws(&c, "http://evil", false, "h"));
	assert_false(origin_check_ws(&c, "https://h", false, "h"));
	c.allow_origins = "http://ok";
	assert_true(origin_check_ws(&c, "http://ok", false, "h"));
	assert_false(origin_check_ws(&c, "http://evil", false, "h"));
	c.cors_origins = "http://app";
	assert_true(origin_check_ws(&c, "http://app", false, "h"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_listed),
		cmocka_unit_test(test_same),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_check_ws),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
