/* test_limit.c - limit.c: the key a client is counted under (user, else
 * address in one form), users and addresses counted apart, refusals
 * counted per kind and listed most first for /api/stats, and the log
 * line of a refusal rate-limited per key. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "limit.h"
#include "log.h"

static char dir[64];
static char db[128];

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_limit.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(db, sizeof(db), "%s/chat.db", dir);
	return limit_init(&(struct limit_options){ .db_path = db,
	    .send_rate = 1, .send_burst = 2, .max_waiting = 2 });
}

static int
teardown(void **state)
{
	char path[160];

	(void)state;
	snprintf(path, sizeof(path), "%s-limits", db);
	unlink(path);
	rmdir(dir);
	return 0;
}

static void
test_key(void **state)
{
	static const struct {
		const char *addr, *user, *want;
	} cases[] = {
		{ "192.0.2.1", NULL, "192.0.2.1" },
		{ "192.0.2.1", "", "192.0.2.1" },
		{ "::ffff:192.0.2.1", NULL, "192.0.2.1" },
		{ "2001:DB8:0:0::1", NULL, "2001:db8::1" },
		{ "192.0.2.1", "alice", "u:alice" },
		{ NULL, "bob", "u:bob" },
		{ "local", "carol", "u:carol" },
	};
	char key[LIMIT_KEY_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_true(limit_key(cases[i].addr, cases[i].user, key));
		assert_string_equal(key, cases[i].want);
	}
	strcpy(key, "unchanged");
	assert_false(limit_key(NULL, NULL, key));
	assert_false(limit_key("local", "", key));
	assert_false(limit_key("192.0.2.300", NULL, key));
	assert_false(limit_key("example.org", NULL, key));
	assert_string_equal(key, "unchanged");
}

static void
test_send_users_apart(void **state)
{
	(void)state;
	/* A burst of 2 for the address, and another for each user at it. */
	assert_int_equal(limit_send("198.51.100.1", NULL), 0);
	assert_int_equal(limit_send("::ffff:198.51.100.1", NULL), 0);
	assert_true(limit_send("198.51.100.1", "") >= 1);
	assert_int_equal(limit_send("198.51.100.1", "alice"), 0);
	assert_int_equal(limit_send("198.51.100.1", "alice"), 0);
	assert_true(limit_send("203.0.113.9", "alice") >= 1);
	assert_int_equal(limit_send("198.51.100.1", "bob"), 0);
	/* Unlimited: no key. */
	for (int i = 0; i < 5; i++)
		assert_int_equal(limit_send("local", NULL), 0);
}

/* The file outlives a reboot (it sits beside the database), but its
 * CLOCK_MONOTONIC times and process ids do not: a file of another boot is
 * started afresh instead of refusing clients for the old uptime. */
static void
test_other_boot(void **state)
{
	char path[160];
	int fd;

	(void)state;
	for (int i = 0; i < 2; i++)
		assert_int_equal(limit_send("192.0.2.77", NULL), 0);
	assert_true(limit_send("192.0.2.77", NULL) >= 1);
	/* Mapped again as by a new worker of the same boot: kept. */
	assert_int_equal(limit_init(&(struct limit_options){ .db_path = db,
	    .send_rate = 1, .send_burst = 2, .max_waiting = 2 }), 0);
	assert_true(limit_send("192.0.2.77", NULL) >= 1);
	/* The boot id after magic and version: another boot's file. */
	snprintf(path, sizeof(path), "%s-limits", db);
	assert_true((fd = open(path, O_WRONLY)) >= 0);
	assert_int_equal(pwrite(fd, "another-boot", 12, 8), 12);
	close(fd);
	assert_int_equal(limit_init(&(struct limit_options){ .db_path = db,
	    .send_rate = 1, .send_burst = 2, .max_waiting = 2 }), 0);
	assert_int_equal(limit_send("192.0.2.77", NULL), 0);
}

static void
test_waiting_and_top(void **state)
{
	struct limit_entry top[3];
	int h[3];
	size_t n;

	(void)state;
	h[0] = limit_wait_acquire("198.51.100.7", NULL);
	h[1] = limit_wait_acquire("198.51.100.7", NULL);
	assert_true(h[0] >= 0 && h[1] >= 0);
	assert_int_equal(limit_wait_acquire("198.51.100.7", NULL), -2);
	assert_int_equal(limit_wait_acquire("198.51.100.7", NULL), -2);
	h[2] = limit_wait_acquire("198.51.100.7", "carol");
	assert_true(h[2] >= 0);

	n = limit_top(LIMIT_BY_WAITING, top, 3);
	assert_int_equal(n, 2);
	assert_string_equal(top[0].key, "198.51.100.7");
	assert_int_equal(top[0].waiting, 2);
	assert_int_equal(top[0].refused_waiting, 2);
	assert_string_equal(top[1].key, "u:carol");
	assert_int_equal(top[1].waiting, 1);

	/* Refusals: 198.51.100.7 (2 waiting), 198.51.100.1 and u:alice (1
	 * send each, from the test before), most first. */
	n = limit_top(LIMIT_BY_REFUSED, top, 3);
	assert_int_equal(n, 3);
	assert_string_equal(top[0].key, "198.51.100.7");
	assert_int_equal(top[0].refused_send, 0);
	assert_int_equal(top[1].refused_send + top[2].refused_send, 2);
	assert_int_equal(limit_top(LIMIT_BY_REFUSED, top, 1), 1);
	assert_string_equal(top[0].key, "198.51.100.7");

	for (int i = 0; i < 3; i++)
		limit_wait_release(h[i]);
	assert_int_equal(limit_top(LIMIT_BY_WAITING, top, 3), 0);
	h[0] = limit_wait_acquire("198.51.100.7", NULL);
	assert_true(h[0] >= 0);
	limit_wait_release(h[0]);
	limit_wait_release(-1);
}

/* Reads what fd (a file stderr was sent to) holds from its start. */
static char *
slurp(int fd)
{
	static char text[8192];
	ssize_t n = pread(fd, text, sizeof(text) - 1, 0);

	text[n > 0 ? n : 0] = '\0';
	return text;
}

static void
test_log_rate(void **state)
{
	char path[160], *text;
	int fd, saved = dup(2);

	(void)state;
	snprintf(path, sizeof(path), "%s/log", dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0 && saved >= 0);
	log_init("test_limit", LOG_LEVEL_INFO);
	fflush(stderr);
	dup2(fd, 2);
	for (int i = 0; i < 50; i++)
		limit_send("192.0.2.77", "dave\x01");
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	text = slurp(fd);
	close(fd);
	unlink(path);
	/* One line for 48 refusals within LIMIT_LOG_S, the name escaped. */
	assert_non_null(strstr(text, "limit_send: 429 for u:dave\\x01: over 1 "
	    "sends/s (burst 2) (1 refused"));
	assert_null(strstr(strstr(text, "limit_send") + 1, "limit_send"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key),
		cmocka_unit_test(test_send_users_apart),
		cmocka_unit_test(test_waiting_and_top),
		cmocka_unit_test(test_log_rate),
		cmocka_unit_test(test_other_boot),
	};

	log_init("test_limit", LOG_LEVEL_WARN);
	return cmocka_run_group_tests(tests, setup, teardown);
}
