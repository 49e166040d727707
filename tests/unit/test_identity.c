/* test_identity.c - unit tests of identity.c and validate_user: which
 * header of a WebSocket head is the user, as each front end's shipped
 * config forwards it (conf/: lighttpd appends its Forwarded element and
 * removes X-Remote-User; Apache sets X-Remote-User and removes
 * Forwarded), and what a user name must be. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "identity.h"
#include "validate.h"

/* The user identity_ws finds in a head whose header lines are hdrs, or
 * NULL; the head must parse. */
static const char *
user_of(struct http_head **h, const char *hdrs)
{
	char head[2048];
	size_t used, n;

	n = (size_t)snprintf(head, sizeof(head), "GET /api/rooms/r/ws HTTP/1.1"
	    "\r\nHost: x\r\nUpgrade: websocket\r\nConnection: upgrade\r\n"
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	    "Sec-WebSocket-Version: 13\r\n%s\r\n", hdrs);
	assert_non_null(*h = http_head_new());
	assert_int_equal(http_head_parse(*h, head, n, &used), HTTP_DONE);
	return identity_ws(http_head_request(*h));
}

static void
expect_user(const char *hdrs, const char *want)
{
	struct http_head *h = NULL;
	const char *u = user_of(&h, hdrs);

	if (want == NULL)
		assert_null(u);
	else
		assert_string_equal(u, want);
	http_head_free(h);
}

static void
test_lighttpd(void **state)
{
	(void)state;
	/* Signed in: lighttpd's element is last, whatever came before. */
	expect_user("Forwarded: for=127.0.0.1;remote_user=\"alice\"\r\n",
	    "alice");
	expect_user("Forwarded: for=192.0.2.1;remote_user=bob, "
	    "for=127.0.0.1;remote_user=\"alice\"\r\n", "alice");
	expect_user("Forwarded: for=192.0.2.1;remote_user=\"b,ob\"\r\n"
	    "Forwarded: for=127.0.0.1;remote_user=\"a\\\"l\"\r\n", "a\"l");
	/* Anonymous: lighttpd's element (always "for") has no user. */
	expect_user("Forwarded: for=192.0.2.1;remote_user=bob, "
	    "for=127.0.0.1\r\n", NULL);
	expect_user("Forwarded: for=192.0.2.1;remote_user=bob, \r\n", NULL);
	expect_user("Forwarded: for=127.0.0.1;remote_user=\"\"\r\n", NULL);
}

static void
test_apache(void **state)
{
	(void)state;
	expect_user("X-Remote-User: alice\r\n", "alice");
	/* "set" to an empty REMOTE_USER: anonymous. */
	expect_user("X-Remote-User: \r\n", NULL);
	expect_user("X-Remote-User:\r\n", NULL);
	expect_user("", NULL);
}

static void
test_validate_user(void **state)
{
	char longest[CHAT_MAX_USER + 2];
	const char *why = NULL;
	char *copy = NULL;

	(void)state;
	memset(longest, 'a', sizeof(longest));
	longest[CHAT_MAX_USER] = '\0';
	assert_int_equal(validate_user(NULL, &why), CHAT_OK);
	assert_int_equal(validate_user("alice", &why), CHAT_OK);
	assert_int_equal(validate_user("alice@EXAMPLE.ORG", &why), CHAT_OK);
	assert_int_equal(validate_user("Zoë Ünïcode", &why), CHAT_OK);
	assert_int_equal(validate_user(longest, &why), CHAT_OK);
	longest[CHAT_MAX_USER] = 'a';
	longest[CHAT_MAX_USER + 1] = '\0';
	assert_int_equal(validate_user(longest, &why), CHAT_E_BAD_USER);
	assert_non_null(why);
	assert_int_equal(validate_user("", &why), CHAT_E_BAD_USER);
	assert_int_equal(validate_user(" alice", &why), CHAT_E_BAD_USER);
	assert_int_equal(validate_user("alice\xc2\xa0", &why), CHAT_E_BAD_USER);
	assert_int_equal(validate_user("a\tb", &why), CHAT_E_BAD_USER);
	assert_int_equal(validate_user("a\xc2\x85" "b", &why), CHAT_E_BAD_USER);
	assert_int_equal(validate_user("a\x7f", &why), CHAT_E_BAD_USER);
	assert_int_equal(validate_user("\xff", &why), CHAT_E_BAD_USER);
	assert_int_equal(validate_user("a\xc3", &why), CHAT_E_BAD_USER);
	assert_int_equal(validate_user_copy("bob", &copy, &why), CHAT_OK);
	assert_string_equal(copy, "bob");
	free(copy);
	assert_int_equal(validate_user_copy(NULL, &copy, &why), CHAT_OK);
	assert_null(copy);
	assert_int_equal(validate_user_copy(" bob", &copy, &why),
	    CHAT_E_BAD_USER);
	assert_null(copy);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lighttpd),
		cmocka_unit_test(test_apache),
		cmocka_unit_test(test_validate_user),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
