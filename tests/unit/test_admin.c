/* test_admin.c - admin.c: the command line of `admin` (every verb, every
 * kind of mistake), export and import through admin_run (JSON lines and
 * CSV, a round trip, idempotence, bad lines), delete and prune, and the
 * findings of --check. */
#include <sys/stat.h>

#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "admin.h"
#include "log.h"
#include "store.h"
#include "tmp_db.h"

/* --- parsing ------------------------------------------------------------ */

#define ARGV(...) ((char *const[]){ __VA_ARGS__ })
#define ARGC(...) ((int)(sizeof(ARGV(__VA_ARGS__)) / sizeof(char *)))
#define PARSE(cmd, why, ...) \
	admin_parse(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), (cmd), (why))

static void
test_parse_good(void **state)
{
	struct admin_cmd c;
	const char *why;

	(void)state;
	assert_int_equal(PARSE(&c, &why, "rooms"), 0);
	assert_int_equal(c.verb, ADMIN_ROOMS);
	assert_int_equal(PARSE(&c, &why, "export", "lobby"), 0);
	assert_int_equal(c.verb, ADMIN_EXPORT);
	assert_string_equal(c.room, "lobby");
	assert_false(c.csv);
	assert_int_equal(PARSE(&c, &why, "export", "--csv", "a-b_C"), 0);
	assert_true(c.csv);
	assert_string_equal(c.room, "a-b_C");
	assert_int_equal(PARSE(&c, &why, "import"), 0);
	assert_null(c.file);
	assert_int_equal(PARSE(&c, &why, "import", "-"), 0);
	assert_null(c.file);
	assert_int_equal(PARSE(&c, &why, "import", "x.jsonl"), 0);
	assert_string_equal(c.file, "x.jsonl");
	assert_int_equal(PARSE(&c, &why, "delete", "42"), 0);
	assert_int_equal(c.id, 42);
	assert_int_equal(PARSE(&c, &why, "delete", "9223372036854775807"), 0);
	assert_int_equal(c.id, INT64_MAX);
	assert_int_equal(PARSE(&c, &why, "prune"), 0);
	assert_int_equal(c.verb, ADMIN_PRUNE);
}

static void
test_parse_bad(void **state)
{
	static char *const bad[][4] = {
		{ "nope" }, { "ROOMS" }, { "rooms", "x" }, { "rooms", "--csv" },
		{ "export" }, { "export", "a", "b" }, { "export", "bad room" },
		{ "export", "" }, { "export", "lobby", "--json" },
		{ "import", "a", "b" }, { "delete" }, { "delete", "0" },
		{ "delete", "-1" }, { "delete", "x1" }, { "delete", "1", "2" },
		{ "delete", "9223372036854775808" }, { "prune", "now" },
	};
	struct admin_cmd c;
	const char *why;

	(void)state;
	assert_int_equal(admin_parse(0, NULL, &c, &why), -1);
	assert_non_null(why);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int n = 0;
		while (n < 4 && bad[i][n] != NULL)
			n++;
		why = NULL;
		if (admin_parse(n, bad[i], &c, &why) != -1)
			fail_msg("accepted: %s %s", bad[i][0],
			    bad[i][1] ? bad[i][1] : "");
		assert_non_null(why);
	}
}

/* --- running against a database ----------------------------------------- */

struct afx {
	struct fx db;
	struct config c;
};

static int
setup(void **state)
{
	struct afx *f = calloc(1, sizeof(*f));

	if (f == NULL || tmp_db_open(&f->db, "test_admin") == -1) {
		free(f);
		return -1;
	}
	f->c.db_path = f->db.path;
	f->c.busy_timeout_ms = 5000;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct afx *f = *state;

	tmp_db_close(&f->db);
	free(f);
	return 0;
}

static void
put(struct afx *f, const char *room, const char *nick, const char *text)
{
	struct chat_message m;
	bool created;

	assert_int_equal(store_append(f->db.s, room, nick, text, NULL, &m,
	    &created), CHAT_OK);
	chat_message_clear(&m);
}

/* Runs "admin ARGS" with output into a new string *out (caller frees). */
static int
run(struct afx *f, char **out, int argc, char *const argv[])
{
	struct admin_cmd cmd;
	const char *why;
	size_t len;
	FILE *m = open_memstream(out, &len);
	int rc;

	assert_non_null(m);
	assert_int_equal(admin_parse(argc, argv, &cmd, &why), 0);
	rc = admin_run(&f->c, &cmd, m);
	fclose(m);
	return rc;
}
#define RUN(f, out, ...) run((f), (out), ARGC(__VA_ARGS__), ARGV(__VA_ARGS__))

static void
write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static void
test_rooms(void **state)
{
	struct afx *f = *state;
	char *out;

	put(f, "b", "n", "1");
	put(f, "a", "n", "2");
	put(f, "b", "n", "3");
	assert_int_equal(RUN(f, &out, "rooms"), 0);
	assert_string_equal(out, "room\tmessages\tlast_id\tpruned_through\n"
	    "a\t1\t2\t0\nb\t2\t3\t0\n");
	free(out);
}

static void
test_export_import_round_trip(void **state)
{
	struct afx *f = *state;
	char *out, *again, file[PATH_MAX], other[PATH_MAX];
	struct config oc;
	struct store_options o = { .busy_timeout_ms = 5000 };

	put(f, "lobby", "alice", "hello");
	put(f, "lobby", "bob", "two\nlines \"quoted\" \\ é");
	put(f, "other", "carol", "elsewhere");
	assert_int_equal(RUN(f, &out, "export", "lobby"), 0);
	assert_non_null(strstr(out, "\"text\":\"hello\""));
	assert_non_null(strstr(out, "two\\nlines \\\"quoted\\\" \\\\ é"));
	assert_null(strstr(out, "elsewhere"));

	/* Into a fresh database, twice. */
	snprintf(file, sizeof(file), "%s/lobby.jsonl", f->db.dir);
	snprintf(other, sizeof(other), "%s/other.db", f->db.dir);
	write_file(file, out);
	oc = f->c;
	oc.db_path = o.path = other;
	assert_int_equal(store_migrate(&o), 0);
	{
		struct afx g = *f;
		char *msg;
		g.c = oc;
		assert_int_equal(RUN(&g, &msg, "import", file), 0);
		assert_string_equal(msg, "imported 2 messages, skipped 0 (id "
		    "in use), 0 bad lines\n");
		free(msg);
		assert_int_equal(RUN(&g, &again, "export", "lobby"), 0);
		assert_string_equal(again, out);
		free(again);
		assert_int_equal(RUN(&g, &msg, "import", file), 0);
		assert_string_equal(msg, "imported 0 messages, skipped 2 (id "
		    "in use), 0 bad lines\n");
		free(msg);
	}
	free(out);
}

static void
test_import_bad_lines(void **state)
{
	struct afx *f = *state;
	char *out, file[PATH_MAX];

	snprintf(file, sizeof(file), "%s/bad.jsonl", f->db.dir);
	write_file(file,
	    "{\"room\":\"r\",\"nick\":\"n\",\"text\":\"ok\"}\n"
	    "\n"
	    "{\"room\":\"bad room\",\"nick\":\"n\",\"text\":\"t\"}\n"
	    "{\"room\":\"r\",\"nick\":\"\",\"text\":\"t\"}\n"
	    "{\"room\":\"r\",\"nick\":\"n\",\"text\":\"t\",\"id\":1.5}\n"
	    "{\"room\":\"r\",\"nick\":\"n\",\"text\":\"t\",\"ts\":-1}\n"
	    "[1]\n"
	    "{\"id\":7,\"ts\":3,\"room\":\"r\",\"nick\":\" n \","
	    "\"text\":\"a\\r\\nb\"}\r\n");
	assert_int_equal(RUN(f, &out, "import", file), 1);
	assert_string_equal(out, "imported 2 messages, skipped 0 (id in use), "
	    "5 bad lines\n");
	free(out);
	/* Stored trimmed and normalised, like a send; ts kept. */
	assert_int_equal(RUN(f, &out, "export", "r"), 0);
	assert_non_null(strstr(out, "{\"id\":7,\"room\":\"r\",\"nick\":\"n\","
	    "\"text\":\"a\\nb\",\"ts\":3}\n"));
	free(out);
}

static void
test_export_csv(void **state)
{
	struct afx *f = *state;
	char *out;

	put(f, "lobby", "a \"b\"", "x,y\nz");
	assert_int_equal(RUN(f, &out, "export", "lobby", "--csv"), 0);
	assert_true(strncmp(out, "id,ts,time,room,nick,text,user\r\n1,", 34) ==
	    0);
	assert_non_null(strstr(out,
	    "Z,\"lobby\",\"a \"\"b\"\"\",\"x,y\nz\",\r\n"));
	free(out);
	/* An empty or unknown room exports nothing, successfully. */
	assert_int_equal(RUN(f, &out, "export", "nobody"), 0);
	assert_string_equal(out, "");
	free(out);
}

static void
test_delete_and_prune(void **state)
{
	struct afx *f = *state;
	char *out;

	put(f, "lobby", "n", "1");
	put(f, "lobby", "n", "2");
	put(f, "lobby", "n", "3");
	assert_int_equal(RUN(f, &out, "delete", "2"), 0);
	assert_string_equal(out, "deleted message 2 of room lobby "
	    "(tombstone 4)\n");
	free(out);
	assert_int_equal(RUN(f, &out, "delete", "2"), 1);
	free(out);
	assert_int_equal(RUN(f, &out, "prune"), 0);
	assert_string_equal(out, "nothing to prune: set "
	    "FCGICHAT_RETENTION_DAYS or FCGICHAT_RETENTION_MESSAGES\n");
	free(out);
	f->c.retention_messages = 1;
	assert_int_equal(RUN(f, &out, "prune"), 0);
	assert_string_equal(out, "pruned 1 rows\n");
	free(out);
	assert_int_equal(RUN(f, &out, "rooms"), 0);
	assert_string_equal(out, "room\tmessages\tlast_id\tpruned_through\n"
	    "lobby\t1\t4\t1\n");
	free(out);
}

/* --- --check -------------------------------------------------------------- */

static int
check(struct afx *f, char **out)
{
	size_t len;
	FILE *m = open_memstream(out, &len);
	int rc;

	assert_non_null(m);
	rc = admin_check(&f->c, m);
	fclose(m);
	return rc;
}

static void
test_check(void **state)
{
	struct afx *f = *state;
	char *out, missing[PATH_MAX];

	chmod(f->db.dir, 0700);
	assert_int_equal(check(f, &out), 0);
	assert_non_null(strstr(out, "fcgichat: ok: "));
	assert_null(strstr(out, "error:"));
	free(out);

	/* A directory others may enter is worth a warning, not a failure. */
	chmod(f->db.dir, 0755);
	assert_int_equal(check(f, &out), 0);
	assert_non_null(strstr(out, "warning: directory"));
	free(out);
	chmod(f->db.dir, 0700);

	snprintf(missing, sizeof(missing), "%s/missing.db", f->db.dir);
	f->c.db_path = missing;
	assert_int_equal(check(f, &out), 1);
	assert_non_null(strstr(out, "error: database"));
	assert_non_null(strstr(out, "--init"));
	assert_int_equal(access(missing, F_OK), -1);
	free(out);
	f->c.db_path = f->db.path;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_bad),
#define T(t) cmocka_unit_test_setup_teardown(t, setup, teardown)
		T(test_rooms),
		T(test_export_import_round_trip),
		T(test_import_bad_lines),
		T(test_export_csv),
		T(test_delete_and_prune),
		T(test_check),
#undef T
	};

	log_init("test_admin", LOG_LEVEL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
