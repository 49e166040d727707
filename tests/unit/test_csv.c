/* test_csv.c - unit tests of csv.c: splitting records (quotes, doubled
 * quotes, commas and line breaks inside quotes, every malformed shape),
 * joining lines into records, messages from fields, and what
 * csv_put_message writes reading back the same. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"

/* Splits a copy of rec; returns the count, fields copied into out. */
static int
split(const char *rec, char out[][64], int max)
{
	struct csv_field f[8];
	size_t len = strlen(rec);
	char *b = malloc(len + 1);
	int n;

	assert_non_null(b);
	memcpy(b, rec, len + 1);
	n = csv_split(b, len, f, max);
	for (int i = 0; i < n; i++) {
		assert_true(f[i].len < 64);
		assert_true(f[i].s >= b && f[i].s + f[i].len <= b + len);
		memcpy(out[i], f[i].s, f[i].len + 1);
		assert_int_equal(strlen(out[i]), f[i].len);
	}
	free(b);
	return n;
}

static void
test_split(void **state)
{
	char o[8][64];

	(void)state;
	assert_int_equal(split("a,b,c", o, 8), 3);
	assert_string_equal(o[0], "a");
	assert_string_equal(o[2], "c");
	assert_int_equal(split("", o, 8), 1);
	assert_string_equal(o[0], "");
	assert_int_equal(split(",,", o, 8), 3);
	assert_string_equal(o[1], "");
	assert_int_equal(split("\"x, y\",\"say \"\"hi\"\"\",\"\"", o, 8), 3);
	assert_string_equal(o[0], "x, y");
	assert_string_equal(o[1], "say \"hi\"");
	assert_string_equal(o[2], "");
	assert_int_equal(split("\"two\nlines\r\nhere\",z", o, 8), 2);
	assert_string_equal(o[0], "two\nlines\r\nhere");
	assert_int_equal(split("\"\"\"\"", o, 8), 1);
	assert_string_equal(o[0], "\"");
	assert_int_equal(split("1,\"a\",", o, 8), 3);
	assert_string_equal(o[2], "");
}

static void
test_split_malformed(void **state)
{
	char o[8][64];

	(void)state;
	assert_int_equal(split("a\"b", o, 8), -1);        /* quote inside */
	assert_int_equal(split("\"ab\"c", o, 8), -1);     /* after closing */
	assert_int_equal(split("\"ab", o, 8), -1);        /* left open */
	assert_int_equal(split("\"ab\"\"", o, 8), -1);    /* open after "" */
	assert_int_equal(split("a,\"b\" ,c", o, 8), -1);
	assert_int_equal(split("a,b,c", o, 2), -1);       /* too many */
	assert_int_equal(split("a,b", o, 2), 2);
}

static void
test_read_record(void **state)
{
	const char in[] = "h1,h2\r\n\"multi\r\nline\",x\r\n\nlast,\"no end\"";
	FILE *f = fmemopen((void *)in, sizeof(in) - 1, "r");
	char *rec = NULL;
	size_t cap = 0, lines = 0;

	(void)state;
	assert_non_null(f);
	assert_int_equal(csv_read_record(f, &rec, &cap, &lines), 5);
	assert_string_equal(rec, "h1,h2");
	assert_int_equal(lines, 1);
	assert_int_equal(csv_read_record(f, &rec, &cap, &lines), 15);
	assert_string_equal(rec, "\"multi\r\nline\",x");
	assert_int_equal(lines, 3);
	assert_int_equal(csv_read_record(f, &rec, &cap, &lines), 0);
	assert_int_equal(csv_read_record(f, &rec, &cap, &lines), 13);
	assert_string_equal(rec, "last,\"no end\"");
	assert_int_equal(csv_read_record(f, &rec, &cap, &lines), -1);
	assert_int_equal(lines, 5);
	fclose(f);
	free(rec);
}

/* A message from a record, through csv_split and csv_message. */
static enum chat_error
message(const char *rec, struct chat_message *m, const char **why)
{
	struct csv_field f[CSV_FIELDS];
	size_t len = strlen(rec);
	char *b = strdup(rec);
	enum chat_error e;
	int n;

	assert_non_null(b);
	n = csv_split(b, len, f, CSV_FIELDS);
	assert_true(n > 0);
	e = csv_message(f, n, 77, m, why);
	free(b);
	return e;
}

static void
test_message(void **state)
{
	struct chat_message m;
	const char *why = NULL;

	(void)state;
	assert_int_equal(message("5,1000,anything,lobby,\" al \",\"a\r\nb\"",
	    &m, &why), CHAT_OK);
	assert_int_equal(m.id, 5);
	assert_int_equal(m.ts, 1000);
	assert_string_equal(m.room, "lobby");
	assert_string_equal(m.nick, "al");
	assert_string_equal(m.text, "a\nb");
	chat_message_clear(&m);
	assert_int_equal(message(",,,r,n,t", &m, &why), CHAT_OK);
	assert_int_equal(m.id, 0);
	assert_int_equal(m.ts, 77);
	chat_message_clear(&m);

	assert_int_equal(message("0,1,,r,n,t", &m, &why), CHAT_E_BAD_PARAM);
	assert_non_null(why);
	assert_null(m.room);
	assert_int_equal(message("1,-1,,r,n,t", &m, &why), CHAT_E_BAD_PARAM);
	assert_int_equal(message("9007199254740993,1,,r,n,t", &m, &why),
	    CHAT_E_BAD_PARAM);
	assert_int_equal(message("x,1,,r,n,t", &m, &why), CHAT_E_BAD_PARAM);
	assert_int_equal(message(",,,r,n", &m, &why), CHAT_E_BAD_PARAM);
	assert_int_equal(message(",,,bad room,n,t", &m, &why),
	    CHAT_E_BAD_ROOM);
	assert_int_equal(message(",,,r,,t", &m, &why), CHAT_E_BAD_NICK);
	assert_null(m.room);
	assert_int_equal(message(",,,r,n,", &m, &why), CHAT_E_BAD_TEXT);
	assert_null(m.nick);
}

/* What csv_put_message writes reads back as the same message: m, and
 * the same sent by a signed-in user (whose nick is the user name). */
static void
round_trip(const struct chat_message *m)
{
	struct chat_message back;
	struct csv_field f[CSV_FIELDS];
	char *out = NULL, *rec = NULL;
	size_t outlen = 0, cap = 0, lines = 0;
	const char *why = NULL;
	FILE *w = open_memstream(&out, &outlen), *r;
	ssize_t len;

	assert_non_null(w);
	csv_put_message(w, m);
	fclose(w);
	assert_non_null(strstr(out, ",2025-11-25T19:46:40.123Z,"));
	r = fmemopen(out, outlen, "r");
	assert_non_null(r);
	len = csv_read_record(r, &rec, &cap, &lines);
	assert_true(len > 0);
	assert_int_equal(lines, strchr(m->text, '\n') != NULL ? 2 : 1);
	assert_int_equal(csv_split(rec, (size_t)len, f, CSV_FIELDS), 7);
	assert_int_equal(csv_message(f, 7, 0, &back, &why), CHAT_OK);
	assert_int_equal(back.id, m->id);
	assert_int_equal(back.ts, m->ts);
	assert_string_equal(back.room, m->room);
	assert_string_equal(back.nick, m->nick);
	assert_string_equal(back.text, m->text);
	if (m->user == NULL)
		assert_null(back.user);
	else
		assert_string_equal(back.user, m->user);
	chat_message_clear(&back);
	fclose(r);
	free(rec);
	free(out);
}

static void
test_round_trip(void **state)
{
	struct chat_message m = { 42, 1764100000123, "room-1", "al \"x\"",
	    "a, b\nc \"q\"", 0, NULL };
	struct chat_message u = { 43, 1764100000123, "room-1",
	    "Ann \"the, first\" Smith", "hi", 0, "Ann \"the, first\" Smith" };

	(void)state;
	round_trip(&m);
	round_trip(&u);
}

/* The user field: empty is anonymous; a name is checked (validate_user)
 * and becomes the nick; records of 6 fields (older exports) still read. */
static void
test_user_field(void **state)
{
	struct chat_message m;
	const char *why = NULL;

	(void)state;
	assert_int_equal(message("1,5,,r,nick,text,", &m, &why), CHAT_OK);
	assert_null(m.user);
	assert_string_equal(m.nick, "nick");
	chat_message_clear(&m);
	assert_int_equal(message("1,5,,r,nick,text,alice", &m, &why), CHAT_OK);
	assert_string_equal(m.user, "alice");
	assert_string_equal(m.nick, "alice");
	chat_message_clear(&m);
	assert_int_equal(message("1,5,,r,nick,text", &m, &why), CHAT_OK);
	assert_null(m.user);
	chat_message_clear(&m);
	assert_int_equal(message("1,5,,r,nick,text,\" alice\"", &m, &why),
	    CHAT_E_BAD_USER);
	assert_null(m.user);
	assert_int_equal(message("1,5,,r,nick,text,\"a\x01\"", &m, &why),
	    CHAT_E_BAD_USER);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_split_malformed),
		cmocka_unit_test(test_read_record),
		cmocka_unit_test(test_message),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_user_field),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
