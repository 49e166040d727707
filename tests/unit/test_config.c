/* test_config.c - unit tests of config.c: every FCGICHAT_* variable's
 * default, the edges of its range (accepted) and one past them (refused),
 * its words, the checks of text values, and the docs (README.md's table,
 * the man page) naming every variable of the table with its default. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"

static int
clear_env(void **state)
{
	(void)state;
	for (const struct config_var *v = config_vars; v->name; v++)
		unsetenv(v->name);
	return 0;
}

/* The field of c that v fills, as a number (words: their index). */
static int64_t
field_number(const struct config *c, const struct config_var *v)
{
	const char *f = (const char *)c + v->offset;

	switch (v->kind) {
	case CONFIG_INT: case CONFIG_ENUM: return *(const int *)f;
	case CONFIG_SIZE: return (int64_t)*(const size_t *)f;
	case CONFIG_INT64: return *(const int64_t *)f;
	case CONFIG_BOOL: return *(const bool *)f;
	default: fail_msg("%s is not a number", v->name);
	}
	return -1;
}

static const char *
field_text(const struct config *c, const struct config_var *v)
{
	assert_int_equal(v->kind, CONFIG_TEXT);
	return *(const char *const *)((const char *)c + v->offset);
}

/* Loads with name=value (and nothing else set); expects rc. */
static void
load(struct config *c, const char *name, const char *value, int rc)
{
	clear_env(NULL);
	/* which FCGICHAT_STATS_ALLOW=token needs */
	if (strcmp(name, "FCGICHAT_STATS_ALLOW") == 0)
		setenv("FCGICHAT_STATS_TOKEN", "0123456789abcdef", 1);
	setenv(name, value, 1);
	if (config_load(c) != rc)
		fail_msg("%s=\"%s\" was %s", name, value,
		    rc == 0 ? "refused" : "accepted");
}

static bool
is_number(const struct config_var *v)
{
	return v->kind == CONFIG_INT || v->kind == CONFIG_SIZE ||
	    v->kind == CONFIG_INT64;
}

/* Stated again here on purpose: a change of a default must be meant. */
static void
test_defaults(void **state)
{
	struct config c;

	(void)state;
	assert_int_equal(config_load(&c), 0);
	assert_string_equal(c.db_path, "var/chat.db");
	assert_string_equal(c.prefix, "/api");
	assert_null(c.socket);
	assert_int_equal(c.max_wait, 30);
	assert_int_equal(c.sse_lifetime, 600);
	assert_int_equal(c.keepalive, 15);
	assert_int_equal(c.max_body, 16384);
	assert_int_equal(c.threads, 4);
	assert_int_equal(c.busy_timeout_ms, 5000);
	assert_false(c.sync_full);
	assert_int_equal(c.send_rate, 20);
	assert_int_equal(c.send_burst, 100);
	assert_int_equal(c.max_waiting, 500);
	assert_null(c.allow_origins);
	assert_null(c.cors_origins);
	assert_int_equal(c.log_level, LOG_LEVEL_INFO);
	assert_int_equal(c.retention_days, 0);
	assert_int_equal(c.retention_messages, 0);
	assert_int_equal(c.retention_interval, 300);
	assert_int_equal(c.stats_allow, STATS_LOOPBACK);
	assert_null(c.stats_token);
}

/* An empty variable is an unset one. */
static void
test_empty_is_default(void **state)
{
	struct config c, d;

	(void)state;
	assert_int_equal(config_load(&d), 0);
	for (const struct config_var *v = config_vars; v->name; v++) {
		load(&c, v->name, "", 0);
		if (v->kind == CONFIG_TEXT)
			assert_ptr_equal(field_text(&c, v), field_text(&d, v));
		else
			assert_int_equal(field_number(&c, v),
			    field_number(&d, v));
	}
}

static void
test_number_edges(void **state)
{
	struct config c;
	char s[32];
	int n = 0;

	(void)state;
	for (const struct config_var *v = config_vars; v->name; v++) {
		if (!is_number(v))
			continue;
		n++;
		assert_true(v->min <= v->max);
		snprintf(s, sizeof(s), "%" PRId64, v->min);
		load(&c, v->name, s, 0);
		assert_int_equal(field_number(&c, v), v->min);
		snprintf(s, sizeof(s), "%" PRId64, v->max);
		load(&c, v->name, s, 0);
		assert_int_equal(field_number(&c, v), v->max);
		snprintf(s, sizeof(s), "%" PRId64, v->min - 1);
		load(&c, v->name, s, -1);
		snprintf(s, sizeof(s), "%" PRId64, v->max + 1);
		load(&c, v->name, s, -1);
		load(&c, v->name, "1x", -1);
		load(&c, v->name, " 1", -1);
		load(&c, v->name, "99999999999999999999", -1);
	}
	assert_int_equal(n, 12);
}

/* Ranges that other modules rely on. */
static void
test_number_ranges(void **state)
{
	struct config c;

	(void)state;
	load(&c, "FCGICHAT_MAX_WAIT", "60", 0);
	assert_int_equal(c.max_wait, CHAT_MAX_WAIT);
	load(&c, "FCGICHAT_MAX_WAIT", "61", -1);
	load(&c, "FCGICHAT_SSE_LIFETIME", "0", 0);
	load(&c, "FCGICHAT_SSE_LIFETIME", "86401", -1);
	load(&c, "FCGICHAT_MAX_BODY", "1048576", 0);
	assert_int_equal(c.max_body, 1048576);
	load(&c, "FCGICHAT_RETENTION_MESSAGES", "1000000000", 0);
	assert_int_equal(c.retention_messages, 1000000000);
}

static void
test_words(void **state)
{
	struct config c;
	int n = 0;

	(void)state;
	for (const struct config_var *v = config_vars; v->name; v++) {
		if (v->kind != CONFIG_ENUM && v->kind != CONFIG_BOOL)
			continue;
		n++;
		assert_non_null(v->words);
		for (int64_t i = 0; v->words[i] != NULL; i++) {
			load(&c, v->name, v->words[i], 0);
			assert_int_equal(field_number(&c, v), i);
		}
		load(&c, v->name, "nonsense", -1);
		load(&c, v->name, "INFO", -1);
		load(&c, v->name, "Normal", -1);
	}
	assert_int_equal(n, 3);
	load(&c, "FCGICHAT_SYNCHRONOUS", "full", 0);
	assert_true(c.sync_full);
	load(&c, "FCGICHAT_LOG_LEVEL", "debug", 0);
	assert_int_equal(c.log_level, LOG_LEVEL_DEBUG);
	load(&c, "FCGICHAT_STATS_ALLOW", "open", 0);
	assert_int_equal(c.stats_allow, STATS_OPEN);
	load(&c, "FCGICHAT_STATS_ALLOW", "token ", -1);
}

/* n times c in s (which has room), then NUL. */
static char *
repeat(char *s, char c, size_t n)
{
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

static void
test_text(void **state)
{
	char s[300];
	struct config c;

	(void)state;
	load(&c, "FCGICHAT_DB", "/tmp/x y.db", 0);
	assert_string_equal(c.db_path, "/tmp/x y.db");
	load(&c, "FCGICHAT_SOCKET", "127.0.0.1:9000", 0);
	assert_string_equal(c.socket, "127.0.0.1:9000");
	load(&c, "FCGICHAT_CORS_ORIGINS", "*", 0);
	assert_string_equal(c.cors_origins, "*");
	load(&c, "FCGICHAT_PREFIX", "/", 0);
	load(&c, "FCGICHAT_PREFIX", "api", -1);
	load(&c, "FCGICHAT_PREFIX", repeat(s, '/', 64), 0);
	load(&c, "FCGICHAT_PREFIX", repeat(s, '/', 65), -1);
	load(&c, "FCGICHAT_STATS_TOKEN", repeat(s, '~', 16), 0);
	assert_string_equal(c.stats_token, s);
	load(&c, "FCGICHAT_STATS_TOKEN", repeat(s, '!', 15), -1);
	load(&c, "FCGICHAT_STATS_TOKEN", repeat(s, 't', 256), 0);
	load(&c, "FCGICHAT_STATS_TOKEN", repeat(s, 't', 257), -1);
	load(&c, "FCGICHAT_STATS_TOKEN", "0123456789 abcdef", -1);
	load(&c, "FCGICHAT_STATS_TOKEN", "0123456789\x7f" "abcdef", -1);
}

static void
test_token_needed(void **state)
{
	struct config c;

	(void)state;
	setenv("FCGICHAT_STATS_ALLOW", "token", 1);
	assert_int_equal(config_load(&c), -1);
	setenv("FCGICHAT_STATS_TOKEN", "0123456789abcdef", 1);
	assert_int_equal(config_load(&c), 0);
	assert_int_equal(c.stats_allow, STATS_TOKEN);
	setenv("FCGICHAT_STATS_TOKEN", "short", 1);
	assert_int_equal(config_load(&c), -1);
}

/* FCGICHAT_TRUSTED_PROXIES: addresses and CIDR ranges, else refused
 * (forwarded.c's own test has the edges). */
static void
test_trusted_proxies(void **state)
{
	struct config c;

	(void)state;
	load(&c, "FCGICHAT_TRUSTED_PROXIES", "127.0.0.1 10.0.0.0/8 ::1", 0);
	assert_string_equal(c.trusted_proxies, "127.0.0.1 10.0.0.0/8 ::1");
	load(&c, "FCGICHAT_TRUSTED_PROXIES", "proxy.example.org", -1);
	load(&c, "FCGICHAT_TRUSTED_PROXIES", "10.0.0.0/33", -1);
	load(&c, "FCGICHAT_TRUSTED_PROXIES", "10.0.0.1,10.0.0.2", -1);
}

/* Every bad variable is refused, not only the first. */
static void
test_all_checked(void **state)
{
	struct config c;

	(void)state;
	setenv("FCGICHAT_THREADS", "4", 1);
	setenv("FCGICHAT_LOG_LEVEL", "loud", 1);
	assert_int_equal(config_load(&c), -1);
	clear_env(NULL);
	setenv("FCGICHAT_STATS_TOKEN", "0123456789abcdef", 1);
	setenv("FCGICHAT_PREFIX", "x", 1);
	assert_int_equal(config_load(&c), -1);
}

/* --help shows each range as the table has it, and each default. */
static void
test_usage(void **state)
{
	char *out = NULL, want[64], *line, *end;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	int lines = 0, vars = 0;

	(void)state;
	assert_non_null(f);
	config_usage(f);
	assert_int_equal(fclose(f), 0);
	for (const char *p = out; (p = strchr(p, '\n')) != NULL; p++)
		lines++;
	for (const struct config_var *v = config_vars; v->name; v++) {
		vars++;
		assert_non_null(v->help);
		snprintf(want, sizeof(want), "  %-22s ", v->name);
		if ((line = strstr(out, want)) == NULL)
			fail_msg("--help lacks %s", v->name);
		end = strchr(line, '\n');
		snprintf(want, sizeof(want), "(default: %s)",
		    v->def ? v->def : "none");
		if ((size_t)(end - line) < strlen(want) ||
		    memcmp(end - strlen(want), want, strlen(want)) != 0)
			fail_msg("--help lacks %s's default", v->name);
		if (!is_number(v))
			continue;
		snprintf(want, sizeof(want), "%" PRId64 "-%" PRId64, v->min,
		    v->max);
		if (strstr(v->help, want) == NULL)
			fail_msg("%s's help does not say %s", v->name, want);
	}
	assert_int_equal(lines, vars);
	free(out);
}

static void
test_store_options(void **state)
{
	struct config c;
	struct store_options so;

	(void)state;
	setenv("FCGICHAT_DB", "/tmp/t.db", 1);
	setenv("FCGICHAT_SYNCHRONOUS", "full", 1);
	setenv("FCGICHAT_BUSY_TIMEOUT", "1234", 1);
	assert_int_equal(config_load(&c), 0);
	so = store_options_from_config(&c);
	assert_string_equal(so.path, "/tmp/t.db");
	assert_true(so.sync_full);
	assert_int_equal(so.busy_timeout_ms, 1234);
	assert_false(so.readonly);
}

/* --- the docs ----------------------------------------------------------- */

/* The checkout this test was built in: the nearest directory above the
 * program (build/tests/ or build/asan/tests/), else above the working
 * directory, that holds README.md and src/fcgichat.8. */
static bool
find_root(char *dir, size_t dirsz)
{
	char probe[PATH_MAX + 32];
	ssize_t n = readlink("/proc/self/exe", dir, dirsz - 1);

	for (int from = 0; from < 2; from++) {
		if (from == 0 && n <= 0)
			continue;
		if (from == 0)
			dir[n] = '\0';
		else if (getcwd(dir, dirsz) == NULL)
			return false;
		for (char *slash; *dir != '\0';) {
			snprintf(probe, sizeof(probe), "%s/src/fcgichat.8", dir);
			if (access(probe, R_OK) == 0) {
				snprintf(probe, sizeof(probe), "%s/README.md",
				    dir);
				if (access(probe, R_OK) == 0)
					return true;
			}
			if ((slash = strrchr(dir, '/')) == NULL)
				break;
			*slash = '\0';
		}
	}
	return false;
}

static char *
slurp(const char *dir, const char *name)
{
	char path[PATH_MAX + 32];
	char *s = NULL;
	size_t cap = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "r")) == NULL)
		fail_msg("cannot read %s", path);
	if (getdelim(&s, &cap, '\0', f) == -1)
		fail_msg("%s is empty", path);
	fclose(f);
	return s;
}

static void
test_docs(void **state)
{
	char dir[PATH_MAX], want[256];
	char *readme, *man;

	(void)state;
	if (!find_root(dir, sizeof(dir)))
		fail_msg("no README.md and src/fcgichat.8 above the test "
		    "program or the working directory");
	readme = slurp(dir, "README.md");
	man = slurp(dir, "src/fcgichat.8");
	for (const struct config_var *v = config_vars; v->name; v++) {
		if (v->def)
			snprintf(want, sizeof(want), "\n| `%s` | `%s` |",
			    v->name, v->def);
		else
			snprintf(want, sizeof(want), "\n| `%s` | none |",
			    v->name);
		if (strstr(readme, want) == NULL)
			fail_msg("README.md's configuration table lacks the "
			    "row \"%s\"", want + 1);
		snprintf(want, sizeof(want), "\n.It Ev %s\n", v->name);
		if (strstr(man, want) == NULL)
			fail_msg("src/fcgichat.8 lacks \"%s\"", want + 1);
	}
	free(readme);
	free(man);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(t) cmocka_unit_test_setup_teardown(t, clear_env, clear_env)
		T(test_defaults),
		T(test_empty_is_default),
		T(test_number_edges),
		T(test_number_ranges),
		T(test_words),
		T(test_text),
		T(test_token_needed),
		T(test_trusted_proxies),
		T(test_all_checked),
		T(test_usage),
		T(test_store_options),
		T(test_docs),
#undef T
	};

	log_init("test_config", LOG_LEVEL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
