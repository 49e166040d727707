/* test_stats.c - stats.c: who may read /api/stats, the per-process files
 * (made private, counted into, read back by another process's answer,
 * left behind by a dead process and then removed), and the JSON answer. */
#include <sys/stat.h>
#include <sys/wait.h>

#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "config.h"
#include "log.h"
#include "stats.h"
#include "store.h"
#include "tmp_db.h"

/* --- access ------------------------------------------------------------ */

static void
test_allowed(void **state)
{
	static const char tok[] = "0123456789abcdefXYZ";
	static const struct {
		enum stats_access allow;
		const char *token, *addr, *auth;
		enum chat_error want;
	} cases[] = {
		{ STATS_LOOPBACK, NULL, "127.0.0.1", NULL, CHAT_OK },
		{ STATS_LOOPBACK, NULL, "127.8.9.10", NULL, CHAT_OK },
		{ STATS_LOOPBACK, NULL, "::1", NULL, CHAT_OK },
		{ STATS_LOOPBACK, NULL, "::ffff:127.0.0.1", NULL, CHAT_OK },
		{ STATS_LOOPBACK, NULL, "192.0.2.1", NULL, CHAT_E_FORBIDDEN },
		{ STATS_LOOPBACK, NULL, "2001:db8::1", NULL, CHAT_E_FORBIDDEN },
		{ STATS_LOOPBACK, NULL, "::ffff:192.0.2.1", NULL,
		    CHAT_E_FORBIDDEN },
		{ STATS_LOOPBACK, NULL, NULL, NULL, CHAT_E_FORBIDDEN },
		{ STATS_LOOPBACK, NULL, "localhost", NULL, CHAT_E_FORBIDDEN },
		{ STATS_LOOPBACK, tok, "192.0.2.1", "Bearer 0123456789abcdefXYZ",
		    CHAT_OK },
		{ STATS_LOOPBACK, tok, "192.0.2.1", "bearer  0123456789abcdefXYZ",
		    CHAT_OK },
		{ STATS_LOOPBACK, tok, "127.0.0.1", "Bearer wrong",
		    CHAT_E_FORBIDDEN },
		{ STATS_LOOPBACK, NULL, "127.0.0.1", "Bearer anything",
		    CHAT_E_FORBIDDEN },
		{ STATS_TOKEN, tok, "127.0.0.1", NULL, CHAT_E_FORBIDDEN },
		{ STATS_TOKEN, tok, "127.0.0.1", "Bearer 0123456789abcdefXY",
		    CHAT_E_FORBIDDEN },
		{ STATS_TOKEN, tok, "127.0.0.1", "Bearer 0123456789abcdefXYZZ",
		    CHAT_E_FORBIDDEN },
		{ STATS_TOKEN, tok, "127.0.0.1", "Basic 0123456789abcdefXYZ",
		    CHAT_E_FORBIDDEN },
		{ STATS_TOKEN, tok, "192.0.2.1", "Bearer 0123456789abcdefXYZ",
		    CHAT_OK },
		{ STATS_OPEN, NULL, "192.0.2.1", NULL, CHAT_OK },
	};
	const char *why;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct config c = { .stats_allow = cases[i].allow,
		    .stats_token = cases[i].token };
		enum chat_error e = stats_allowed(&c, cases[i].addr,
		    cases[i].auth, &why);
		if (e != cases[i].want)
			fail_msg("case %zu (%s, %s): %d", i,
			    cases[i].addr ? cases[i].addr : "-",
			    cases[i].auth ? cases[i].auth : "-", e);
		if (e != CHAT_OK)
			assert_non_null(why);
	}
}

/* --- files and the answer ---------------------------------------------- */

static struct fx db;
static struct store *st;
static struct config cfg;

static int
group_setup(void **state)
{
	(void)state;
	if (tmp_db_open(&db, "test_stats") == -1)
		return -1;
	st = db.s;
	cfg.db_path = cfg.state_path = db.path;
	cfg.retention_interval = 300;
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	tmp_db_close(&db);
	return 0;
}

/* The answer, parsed. */
static cJSON *
answer(void)
{
	struct buf b = { 0 };
	cJSON *j;

	assert_int_equal(stats_answer(&b, &cfg, st, NULL), CHAT_OK);
	assert_non_null(j = cJSON_ParseWithLength(b.data, b.len));
	buf_free(&b);
	return j;
}

static double
num(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	assert_true(cJSON_IsNumber(v));
	return v->valuedouble;
}

static void
test_own_file(void **state)
{
	char p[PATH_MAX + 32];	/* the database path and a suffix */
	struct stat sb;
	cJSON *j, *procs;

	(void)state;
	stats_count(STATS_SENDS, 3);   /* before the file: carried over */
	assert_int_equal(stats_open(db.path), 0);
	stats_count(STATS_SENDS, 2);
	stats_count(STATS_REQUESTS, 7);
	snprintf(p, sizeof(p), "%s-stats", db.path);
	assert_int_equal(stat(p, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0700);
	snprintf(p, sizeof(p), "%s-stats/%ld", db.path, (long)getpid());
	assert_int_equal(stat(p, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);

	j = answer();
	assert_int_equal(num(j, "sends"), 5);
	assert_int_equal(num(j, "requests"), 7);
	procs = cJSON_GetObjectItemCaseSensitive(j, "processes");
	assert_int_equal(cJSON_GetArraySize(procs), 1);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetArrayItem(procs, 0), "self")));
	assert_int_equal(num(cJSON_GetObjectItemCaseSensitive(j, "database"),
	    "schema"), store_schema_version());
	assert_int_equal(num(cJSON_GetObjectItemCaseSensitive(j, "retention"),
	    "interval_s"), 300);
	cJSON_Delete(j);
}

/* A second process: its file counts while it lives, and goes after. */
static void
test_other_process(void **state)
{
	int go[2], ready[2];
	char c, p[PATH_MAX + 32];
	cJSON *j;
	pid_t pid;

	(void)state;
	assert_int_equal(pipe(go), 0);
	assert_int_equal(pipe(ready), 0);
	if ((pid = fork()) == 0) {
		stats_open(db.path);
		stats_count(STATS_SENDS, 100);
		(void)!write(ready[1], "r", 1);
		(void)!read(go[0], &c, 1);
		_exit(0);
	}
	assert_int_equal(read(ready[0], &c, 1), 1);
	j = answer();
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j,
	    "processes")), 2);
	assert_true(num(j, "sends") >= 105);
	cJSON_Delete(j);

	assert_int_equal(write(go[1], "g", 1), 1);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	snprintf(p, sizeof(p), "%s-stats/%ld", db.path, (long)pid);
	assert_int_equal(access(p, F_OK), 0);   /* a crash leaves it */
	j = answer();
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j,
	    "processes")), 1);
	assert_true(num(j, "sends") < 105);
	cJSON_Delete(j);
	assert_int_equal(access(p, F_OK), -1);  /* and the next answer
	                                         * removes it */
	close(go[0]);
	close(go[1]);
	close(ready[0]);
	close(ready[1]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_allowed),
		cmocka_unit_test(test_own_file),
		cmocka_unit_test(test_other_process),
	};

	log_init("test_stats", LOG_LEVEL_ERROR);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
