/* test_housekeep.c - the settings behind housekeeping and /api/stats:
 * FCGICHAT_RETENTION_* into a store_retention (housekeep_retention), and
 * config_load's checks of FCGICHAT_RETENTION_* and FCGICHAT_STATS_*. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "config.h"
#include "housekeep.h"
#include "log.h"

static const char *const vars[] = {
	"FCGICHAT_RETENTION_DAYS", "FCGICHAT_RETENTION_MESSAGES",
	"FCGICHAT_RETENTION_INTERVAL", "FCGICHAT_STATS_ALLOW",
	"FCGICHAT_STATS_TOKEN",
};

static int
clear_env(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		unsetenv(vars[i]);
	return 0;
}

static void
test_defaults(void **state)
{
	struct config c;
	struct store_retention r;

	(void)state;
	assert_int_equal(config_load(&c), 0);
	assert_int_equal(c.retention_days, 0);
	assert_int_equal(c.retention_messages, 0);
	assert_int_equal(c.retention_interval, 300);
	assert_int_equal(c.stats_allow, STATS_LOOPBACK);
	assert_null(c.stats_token);
	assert_false(housekeep_retention(&c, &r));
}

static void
test_retention(void **state)
{
	struct config c;
	struct store_retention r;

	(void)state;
	setenv("FCGICHAT_RETENTION_DAYS", "30", 1);
	setenv("FCGICHAT_RETENTION_MESSAGES", "1000", 1);
	setenv("FCGICHAT_RETENTION_INTERVAL", "1", 1);
	assert_int_equal(config_load(&c), 0);
	assert_true(housekeep_retention(&c, &r));
	assert_int_equal(r.max_age_ms, 30LL * 86400 * 1000);
	assert_int_equal(r.max_messages, 1000);
	assert_int_equal(r.batch, 500);
	assert_int_equal(c.retention_interval, 1);
	setenv("FCGICHAT_RETENTION_DAYS", "0", 1);
	assert_int_equal(config_load(&c), 0);
	assert_true(housekeep_retention(&c, &r));
	assert_int_equal(r.max_age_ms, 0);
}

static void
test_bad_values(void **state)
{
	static const char *const bad[][2] = {
		{ "FCGICHAT_RETENTION_DAYS", "-1" },
		{ "FCGICHAT_RETENTION_DAYS", "36501" },
		{ "FCGICHAT_RETENTION_DAYS", "1d" },
		{ "FCGICHAT_RETENTION_MESSAGES", "1000000001" },
		{ "FCGICHAT_RETENTION_INTERVAL", "0" },
		{ "FCGICHAT_STATS_ALLOW", "everyone" },
		{ "FCGICHAT_STATS_ALLOW", "token" },          /* no token */
		{ "FCGICHAT_STATS_TOKEN", "short" },
		{ "FCGICHAT_STATS_TOKEN", "has a space in it, 0123456789" },
	};
	struct config c;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		clear_env(NULL);
		setenv(bad[i][0], bad[i][1], 1);
		if (config_load(&c) != -1)
			fail_msg("accepted %s=%s", bad[i][0], bad[i][1]);
	}
}

static void
test_stats_settings(void **state)
{
	struct config c;

	(void)state;
	setenv("FCGICHAT_STATS_ALLOW", "token", 1);
	setenv("FCGICHAT_STATS_TOKEN", "0123456789abcdef", 1);
	assert_int_equal(config_load(&c), 0);
	assert_int_equal(c.stats_allow, STATS_TOKEN);
	assert_string_equal(c.stats_token, "0123456789abcdef");
	setenv("FCGICHAT_STATS_ALLOW", "open", 1);
	assert_int_equal(config_load(&c), 0);
	assert_int_equal(c.stats_allow, STATS_OPEN);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(t) cmocka_unit_test_setup_teardown(t, clear_env, clear_env)
		T(test_defaults),
		T(test_retention),
		T(test_bad_values),
		T(test_stats_settings),
#undef T
	};

	log_init("test_housekeep", LOG_LEVEL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
