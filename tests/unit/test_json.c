/* test_json.c - unit tests of json.c: send bodies (good, bad_json and each
 * field's error, cJSON's gaps included) and the encoders, whose output is
 * read back with cJSON. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "json.h"

#define EMOJI "\xf0\x9f\x98\x80"	/* U+1F600 */
#define LS "\xe2\x80\xa8"		/* U+2028 LINE SEPARATOR */
#define PS "\xe2\x80\xa9"		/* U+2029 PARAGRAPH SEPARATOR */

/* --- json_parse_send ---------------------------------------------------- */

/* Parses body[0..len), expecting success with these fields. */
static void
okn(const char *body, size_t len, const char *nick, const char *text,
    const char *client_id)
{
	struct send_request r;
	const char *why = NULL;

	if (json_parse_send(body, len, NULL, &r, &why) != CHAT_OK)
		fail_msg("%s: %s", body, why);
	assert_string_equal(r.nick, nick);
	assert_string_equal(r.text, text);
	if (client_id == NULL)
		assert_null(r.client_id);
	else
		assert_string_equal(r.client_id, client_id);
	send_request_clear(&r);
	assert_null(r.nick);
}

static void
ok(const char *body, const char *nick, const char *text,
    const char *client_id)
{
	okn(body, strlen(body), nick, text, client_id);
}

/* Parses body[0..len), expecting error e, a why and a zeroed result. */
static void
badn(const char *body, size_t len, enum chat_error e)
{
	struct send_request r = { (char *)1, (char *)1, (char *)1 };
	const char *why = NULL;
	enum chat_error got = json_parse_send(body, len, NULL, &r, &why);

	if (got != e)
		fail_msg("%s: got %d, want %d (%s)", body, got, e,
		    why ? why : "no why");
	assert_non_null(why);
	assert_null(r.nick);
	assert_null(r.text);
	assert_null(r.client_id);
}

/* A signed-in sender's send: the nick is the user's, whatever the body
 * says, or when it says none; the rest is checked as ever. */
static void
test_send_as_user(void **state)
{
	static const char *const bodies[] = {
		"{\"nick\":\"bob\",\"text\":\"hi\"}",
		"{\"text\":\"hi\"}",
		"{\"nick\":42,\"text\":\"hi\"}",
		"{\"nick\":\"\\u0000\",\"text\":\"hi\"}",
		"{\"type\":\"send\",\"nick\":\"bob\",\"text\":\"hi\"}",
	};
	struct send_request r;
	const char *why = NULL;
	char *cid = NULL;

	(void)state;
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		assert_int_equal(json_parse_send(bodies[i], strlen(bodies[i]),
		    "Zoë", &r, &why), CHAT_OK);
		assert_string_equal(r.nick, "Zoë");
		assert_string_equal(r.text, "hi");
		send_request_clear(&r);
	}
	assert_int_equal(json_parse_ws(bodies[4], strlen(bodies[4]), "alice",
	    &r, &cid, &why), CHAT_OK);
	assert_string_equal(r.nick, "alice");
	send_request_clear(&r);
	assert_int_equal(json_parse_send("{\"text\":\"\"}", 11, "alice", &r,
	    &why), CHAT_E_BAD_TEXT);
	assert_null(r.nick);
	/* Anonymous: the nick is required as ever. */
	assert_int_equal(json_parse_send(bodies[1], strlen(bodies[1]), NULL,
	    &r, &why), CHAT_E_BAD_NICK);
}

/* An exported message with "user": checked, and its nick is the user. */
static void
test_parse_message_user(void **state)
{
	struct chat_message m;
	const char *why = NULL;
	const char *ok1 = "{\"room\":\"r\",\"nick\":\"x\",\"text\":\"t\","
	    "\"user\":\"alice\"}";
	const char *anon = "{\"room\":\"r\",\"nick\":\"x\",\"text\":\"t\","
	    "\"user\":null}";
	const char *bad1 = "{\"room\":\"r\",\"nick\":\"x\",\"text\":\"t\","
	    "\"user\":\" alice\"}";
	const char *bad2 = "{\"room\":\"r\",\"nick\":\"x\",\"text\":\"t\","
	    "\"user\":7}";

	(void)state;
	assert_int_equal(json_parse_message(ok1, strlen(ok1), 5, &m, &why),
	    CHAT_OK);
	assert_string_equal(m.user, "alice");
	assert_string_equal(m.nick, "alice");
	chat_message_clear(&m);
	assert_int_equal(json_parse_message(anon, strlen(anon), 5, &m, &why),
	    CHAT_OK);
	assert_null(m.user);
	assert_string_equal(m.nick, "x");
	chat_message_clear(&m);
	assert_int_equal(json_parse_message(bad1, strlen(bad1), 5, &m, &why),
	    CHAT_E_BAD_USER);
	assert_null(m.user);
	assert_int_equal(json_parse_message(bad2, strlen(bad2), 5, &m, &why),
	    CHAT_E_BAD_USER);
}

static void
bad(const char *body, enum chat_error e)
{
	badn(body, strlen(body), e);
}

static void
test_send_good(void **state)
{
	(void)state;
	ok("{\"nick\":\"alice\",\"text\":\"hello\"}", "alice", "hello", NULL);
	ok(" \r\n\t{ \"text\" : \"t\" , \"nick\" : \"n\" }\n ", "n", "t",
	    NULL);
	ok("{\"nick\":\"a\",\"text\":\"b\",\"client_id\":\"c-1\"}", "a", "b",
	    "c-1");
	ok("{\"nick\":\"a\",\"text\":\"b\",\"client_id\":null}", "a", "b",
	    NULL);
	ok("{\"nick\":\" \\u00a0bob\\u3000\\t\",\"text\":\" x \"}", "bob",
	    " x ", NULL);
	ok("{\"nick\":\"a\",\"text\":\"1\\r\\n2\\r3\\n\\t4\"}", "a",
	    "1\n2\n3\n\t4", NULL);
	ok("{\"nick\":\"a\",\"text\":\"\\\"q\\\" \\\\ \\/ \\u00e9\"}", "a",
	    "\"q\" \\ / \xc3\xa9", NULL);
	ok("{\"nick\":\"" EMOJI "\",\"text\":\"" LS "\"}", EMOJI, LS, NULL);
}

static void
test_send_surrogates(void **state)
{
	(void)state;
	/* A valid pair, either case, is one code point. */
	ok("{\"nick\":\"\\ud83d\\ude00\",\"text\":\"\\uD83D\\uDE00!\"}",
	    EMOJI, EMOJI "!", NULL);
	bad("{\"nick\":\"\\ud800\",\"text\":\"b\"}", CHAT_E_BAD_NICK);
	bad("{\"nick\":\"\\udc00\",\"text\":\"b\"}", CHAT_E_BAD_NICK);
	bad("{\"nick\":\"x\\ud800y\",\"text\":\"b\"}", CHAT_E_BAD_NICK);
	bad("{\"nick\":\"\\ud800\\u0041\",\"text\":\"b\"}", CHAT_E_BAD_NICK);
	bad("{\"nick\":\"\\udbff\\udbff\",\"text\":\"b\"}", CHAT_E_BAD_NICK);
	bad("{\"nick\":\"\\ude00\\ud83d\",\"text\":\"b\"}", CHAT_E_BAD_NICK);
	bad("{\"nick\":\"a\",\"text\":\"\\udfff\"}", CHAT_E_BAD_TEXT);
	bad("{\"nick\":\"a\",\"text\":\"ok \\uD800\"}", CHAT_E_BAD_TEXT);
	bad("{\"nick\":\"a\",\"text\":\"b\",\"client_id\":\"\\ud800\"}",
	    CHAT_E_BAD_CLIENT_ID);
	/* A lone high then a valid pair: only the first is bad. */
	bad("{\"nick\":\"\\ud800\\ud83d\\ude00\",\"text\":\"b\"}",
	    CHAT_E_BAD_NICK);
	/* In an unknown field or key, nothing to answer for. */
	ok("{\"x\":\"\\ud800\",\"\\udc00\":1,\"nick\":\"a\",\"text\":\"b\"}",
	    "a", "b", NULL);
}

static void
test_send_nul_escape(void **state)
{
	(void)state;
	bad("{\"nick\":\"a\",\"text\":\"\\u0000\"}", CHAT_E_BAD_TEXT);
	bad("{\"nick\":\"a\",\"text\":\"abc\\u0000\"}", CHAT_E_BAD_TEXT);
	bad("{\"nick\":\"a\\u0000b\",\"text\":\"b\"}", CHAT_E_BAD_NICK);
	bad("{\"nick\":\"a\",\"text\":\"b\",\"client_id\":\"c\\u0000\"}",
	    CHAT_E_BAD_CLIENT_ID);
	/* Unknown fields are ignored, NUL or not. */
	ok("{\"nick\":\"a\",\"text\":\"b\",\"x\":\"\\u0000\"}", "a", "b",
	    NULL);
	/* "nick\0" is not "nick": the key does not match. */
	bad("{\"nick\\u0000\":\"a\",\"text\":\"b\"}", CHAT_E_BAD_NICK);
	/* An escaped backslash, then the text "u0000". */
	ok("{\"nick\":\"a\",\"text\":\"\\\\u0000\"}", "a", "\\u0000", NULL);
	ok("{\"nick\":\"a\",\"text\":\"\\\\\\\\u0000\"}", "a", "\\\\u0000",
	    NULL);
	/* An escaped backslash, then a real \u0000 escape. */
	bad("{\"nick\":\"a\",\"text\":\"\\\\\\u0000\"}", CHAT_E_BAD_TEXT);
	/* An escaped quote does not end the string. */
	bad("{\"nick\":\"a\",\"text\":\"\\\"\\u0000\"}", CHAT_E_BAD_TEXT);
}

static void
test_send_not_json(void **state)
{
	static const char *const bodies[] = {
		"", " ", "\n", "null", "true", "1", "\"str\"",
		"[]", "[{\"nick\":\"a\",\"text\":\"b\"}]",
		"{\"nick\":\"a\",\"text\":\"b\"} x",
		"{\"nick\":\"a\",\"text\":\"b\"}{}",
		"{\"nick\":\"a\",\"text\":\"b\"},",
		"{\"nick\":\"a\",\"text\":\"b\"",
		"{\"nick\":\"a\",\"text\":\"b",
		"{\"nick\":\"a\",\"text\":\"b\",}",
		"{\"nick\":\"a\" \"text\":\"b\"}",
		"{'nick':'a','text':'b'}",
		"{nick:\"a\",text:\"b\"}",
		"{\"nick\":\"a\",\"text\":\"b\"} // hi",
		"{\"nick\":\"a\",\"text\":\"\\x41\"}",
		"{\"nick\":\"a\",\"text\":\"\\u12\"}",
		"{\"nick\":\"a\",\"text\":\"\\u12G4\"}",
		"{\"nick\":\"a\",\"text\":\"\\u00\\\"x\"}",
		"{\"nick\":\"a\",\"text\":\"b\",\"x\":\"\\uzzzz\"}",
		"{\"nick\":\"\\ud800\\uzzzz\",\"text\":\"b\"}",
		"{\"nick\":\"a\",\"text\":\"\\",
		"{\"nick\":\"a\",\"text\":\"b\",\"x\":nul}",
		"{\"nick\":\"a\",\"text\":\"b\",\"x\":True}",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++)
		bad(bodies[i], CHAT_E_BAD_JSON);
	badn("", 0, CHAT_E_BAD_JSON);
	badn(NULL, 0, CHAT_E_BAD_JSON);
}

static void
test_send_raw_bytes(void **state)
{
	static const char nul_after[] = "{\"nick\":\"a\",\"text\":\"b\"}\0";
	static const char nul_inside[] = "{\"nick\":\"a\",\"text\":\"b\0\"}";

	(void)state;
	/* Invalid UTF-8 anywhere, even in an unknown field. */
	bad("{\"nick\":\"a\xff\",\"text\":\"b\"}", CHAT_E_BAD_JSON);
	bad("{\"nick\":\"a\",\"text\":\"\xed\xa0\x80\"}", CHAT_E_BAD_JSON);
	bad("{\"nick\":\"a\",\"text\":\"b\",\"x\":\"\xc0\xaf\"}",
	    CHAT_E_BAD_JSON);
	/* Raw control bytes inside strings must be escaped. */
	bad("{\"nick\":\"a\",\"text\":\"line\nbreak\"}", CHAT_E_BAD_JSON);
	bad("{\"nick\":\"a\",\"text\":\"tab\there\"}", CHAT_E_BAD_JSON);
	bad("{\"nick\":\"a\",\"text\":\"b\",\"x\":\"\x01\"}", CHAT_E_BAD_JSON);
	bad("{\"nick\":\"a\",\"text\":\"cr\r\"}", CHAT_E_BAD_JSON);
	badn(nul_inside, sizeof(nul_inside) - 1, CHAT_E_BAD_JSON);
	/* Outside strings only JSON's four white space bytes. */
	badn(nul_after, sizeof(nul_after) - 1, CHAT_E_BAD_JSON);
	bad("\f{\"nick\":\"a\",\"text\":\"b\"}", CHAT_E_BAD_JSON);
	bad("{\x01\"nick\":\"a\",\"text\":\"b\"}", CHAT_E_BAD_JSON);
	bad("{\"nick\":\"a\",\"text\":\"b\"}\x0b", CHAT_E_BAD_JSON);
	/* DEL is not JSON's business, but it is a control character. */
	bad("{\"nick\":\"a\",\"text\":\"\x7f\"}", CHAT_E_BAD_TEXT);
}

static void
test_send_numbers(void **state)
{
	static const char *const bad_numbers[] = {
		"01", "-01", "1.", "-.5", ".5", "+1", "1e", "1e+", "1E-",
		"1.5.3", "1e5e5", "--1", "-", "0x10", "1..2", "1.e3", "00",
		"1-2", "Infinity", "NaN",
	};
	static const char *const good_numbers[] = {
		"0", "-0", "7", "-12", "0.5", "-0.0", "1e5", "1E+5", "2.5e-3",
		"123456789012345678901234567890", "1e999",
	};
	char body[128];

	(void)state;
	for (size_t i = 0; i < sizeof(bad_numbers) / sizeof(*bad_numbers);
	    i++) {
		snprintf(body, sizeof(body),
		    "{\"nick\":\"a\",\"text\":\"b\",\"x\":%s}", bad_numbers[i]);
		bad(body, CHAT_E_BAD_JSON);
	}
	for (size_t i = 0; i < sizeof(good_numbers) / sizeof(*good_numbers);
	    i++) {
		snprintf(body, sizeof(body),
		    "{\"nick\":\"a\",\"x\":[%s,{\"y\":%s}],\"text\":\"b\"}",
		    good_numbers[i], good_numbers[i]);
		ok(body, "a", "b", NULL);
	}
	/* Digits inside strings are not numbers. */
	ok("{\"nick\":\"01\",\"text\":\"-.5\"}", "01", "-.5", NULL);
}

static void
test_send_fields(void **state)
{
	(void)state;
	bad("{}", CHAT_E_BAD_NICK);
	bad("{\"text\":\"b\"}", CHAT_E_BAD_NICK);
	bad("{\"Nick\":\"a\",\"text\":\"b\"}", CHAT_E_BAD_NICK);
	bad("{\"nick\":1,\"text\":\"b\"}", CHAT_E_BAD_NICK);
	bad("{\"nick\":null,\"text\":\"b\"}", CHAT_E_BAD_NICK);
	bad("{\"nick\":[\"a\"],\"text\":\"b\"}", CHAT_E_BAD_NICK);
	bad("{\"nick\":{},\"text\":\"b\"}", CHAT_E_BAD_NICK);
	bad("{\"nick\":true,\"text\":\"b\"}", CHAT_E_BAD_NICK);
	bad("{\"nick\":1,\"text\":1}", CHAT_E_BAD_NICK);	/* nick first */
	bad("{\"nick\":\"a\"}", CHAT_E_BAD_TEXT);
	bad("{\"nick\":\"a\",\"text\":null}", CHAT_E_BAD_TEXT);
	bad("{\"nick\":\"a\",\"text\":42}", CHAT_E_BAD_TEXT);
	bad("{\"nick\":\"a\",\"text\":false}", CHAT_E_BAD_TEXT);
	bad("{\"nick\":\"a\",\"text\":\"b\",\"client_id\":5}",
	    CHAT_E_BAD_CLIENT_ID);
	bad("{\"nick\":\"a\",\"text\":\"b\",\"client_id\":true}",
	    CHAT_E_BAD_CLIENT_ID);
	bad("{\"nick\":\"a\",\"text\":\"b\",\"client_id\":[]}",
	    CHAT_E_BAD_CLIENT_ID);
	/* Duplicate keys: the first one counts. */
	ok("{\"nick\":\"a\",\"text\":\"b\",\"nick\":1}", "a", "b", NULL);
}

static void
test_send_content(void **state)
{
	char body[4200], want[4001];
	char *p, *big;

	(void)state;
	bad("{\"nick\":\"\",\"text\":\"b\"}", CHAT_E_BAD_NICK);
	bad("{\"nick\":\" \\t\\u3000\",\"text\":\"b\"}", CHAT_E_BAD_NICK);
	bad("{\"nick\":\"a\\u0007\",\"text\":\"b\"}", CHAT_E_BAD_NICK);
	bad("{\"nick\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"text\":\"b\"}",
	    CHAT_E_BAD_NICK);
	ok("{\"nick\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"text\":\"b\"}",
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "b", NULL);
	bad("{\"nick\":\"a\",\"text\":\"\"}", CHAT_E_BAD_TEXT);
	bad("{\"nick\":\"a\",\"text\":\"\\u007f\"}", CHAT_E_BAD_TEXT);
	bad("{\"nick\":\"a\",\"text\":\"\\u0085\"}", CHAT_E_BAD_TEXT);
	bad("{\"nick\":\"a\",\"text\":\"\\u001b[0m\"}", CHAT_E_BAD_TEXT);
	ok("{\"nick\":\"a\",\"text\":\"\\r\"}", "a", "\n", NULL);
	ok("{\"nick\":\"a\",\"text\":\"\\u2028\"}", "a", LS, NULL);
	bad("{\"nick\":\"a\",\"text\":\"b\",\"client_id\":\"\"}",
	    CHAT_E_BAD_CLIENT_ID);
	bad("{\"nick\":\"a\",\"text\":\"b\",\"client_id\":\"a b\"}",
	    CHAT_E_BAD_CLIENT_ID);
	bad("{\"nick\":\"a\",\"text\":\"b\",\"client_id\":"
	    "\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "x\"}", CHAT_E_BAD_CLIENT_ID);	/* 65 */
	ok("{\"nick\":\"a\",\"text\":\"b\",\"client_id\":"
	    "\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "\"}", "a", "b",
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
	/* 3999 bytes and an escaped "\r\n" make 4000 bytes of text. */
	p = body + sprintf(body, "{\"nick\":\"a\",\"text\":\"");
	memset(p, 'x', 3999);
	strcpy(p + 3999, "\\r\\n\"}");
	memset(want, 'x', 3999);
	strcpy(want + 3999, "\n");
	ok(body, "a", want, NULL);
	/* 4000 bytes and "\r\n" are 4001. */
	strcpy(p + 3999, "x\\r\\n\"}");
	bad(body, CHAT_E_BAD_TEXT);
	/* 2000 escaped two-byte characters: 4000 bytes of text. */
	big = malloc(2001 * 6 + 64);
	assert_non_null(big);
	p = big + sprintf(big, "{\"nick\":\"a\",\"text\":\"");
	for (int i = 0; i < 2000; i++, p += 6) {
		memcpy(p, "\\u00e9", 6);
		memcpy(want + 2 * i, "\xc3\xa9", 2);
	}
	strcpy(p, "\"}");
	want[4000] = '\0';
	ok(big, "a", want, NULL);
	/* One more is 4002 bytes. */
	strcpy(p, "\\u00e9\"}");
	bad(big, CHAT_E_BAD_TEXT);
	free(big);
}

/* --- encoders ----------------------------------------------------------- */

/* Strings every encoder test runs through. */
static const char *const tricky[] = {
	"", "plain", "\"quoted\"", "back\\slash\\", "tab\there",
	"line\nbreak\r\n", "\b\f\x01\x1f\x7f", "</script>",
	EMOJI " caf\xc3\xa9 \xe2\x82\xac", "ls" LS "ps" PS "end",
	"\xe2\x80\xa7\xe2\x80\xaa", "mixed \"" LS "\\\n" EMOJI "\t",
};

/* The JSON string literal json_string writes for s. */
static char *
encode_string(const char *s)
{
	struct buf b = { 0 };

	assert_int_equal(json_string(&b, s), 0);
	return b.data;
}

static void
test_string_exact(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "", "\"\"" },
		{ "abc", "\"abc\"" },
		{ "a\"b\\c/", "\"a\\\"b\\\\c/\"" },
		{ "\n\t\r\b\f", "\"\\n\\t\\r\\b\\f\"" },
		{ "\x01\x1f\x7f", "\"\\u0001\\u001f\x7f\"" },
		{ LS PS, "\"\\u2028\\u2029\"" },
		{ "\xe2\x80\xa7" EMOJI, "\"\xe2\x80\xa7" EMOJI "\"" },
		{ "a\xe2", "\"a\xe2\"" },	/* no read past the end */
		{ "a\xe2\x80", "\"a\xe2\x80\"" },
	};
	char *got;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		got = encode_string(cases[i].in);
		assert_string_equal(got, cases[i].out);
		free(got);
	}
}

static void
test_string_round_trip(void **state)
{
	cJSON *v;
	char *got;

	(void)state;
	for (size_t i = 0; i < sizeof(tricky) / sizeof(tricky[0]); i++) {
		got = encode_string(tricky[i]);
		assert_null(strchr(got, '\n'));
		assert_null(strstr(got, LS));
		assert_null(strstr(got, PS));
		assert_non_null(v = cJSON_Parse(got));
		assert_true(cJSON_IsString(v));
		assert_string_equal(v->valuestring, tricky[i]);
		cJSON_Delete(v);
		free(got);
	}
}

/* Checks that o is the message m. */
static void
check_message(const cJSON *o, const struct chat_message *m)
{
	assert_true(cJSON_IsObject(o));
	assert_true(cJSON_GetObjectItem(o, "id")->valuedouble == (double)m->id);
	assert_true(cJSON_GetObjectItem(o, "ts")->valuedouble == (double)m->ts);
	assert_string_equal(cJSON_GetObjectItem(o, "room")->valuestring,
	    m->room);
	assert_string_equal(cJSON_GetObjectItem(o, "nick")->valuestring,
	    m->nick);
	assert_string_equal(cJSON_GetObjectItem(o, "text")->valuestring,
	    m->text);
	assert_int_equal(cJSON_GetArraySize(o), 5);
}

static void
test_message(void **state)
{
	struct chat_message m = { 42, 1764100000123, "lobby", NULL, NULL };
	struct buf b = { 0 };
	cJSON *o;

	(void)state;
	for (size_t i = 0; i < sizeof(tricky) / sizeof(tricky[0]); i++) {
		m.nick = (char *)tricky[(i + 1) % 12];
		m.text = (char *)tricky[i];
		buf_reset(&b);
		assert_int_equal(json_message(&b, &m), 0);
		assert_non_null(o = cJSON_Parse(b.data));
		check_message(o, &m);
		cJSON_Delete(o);
	}
	buf_reset(&b);
	m = (struct chat_message){ INT64_MAX, 0, "r", "n", "t" };
	assert_int_equal(json_message(&b, &m), 0);
	assert_string_equal(b.data, "{\"id\":9223372036854775807,\"room\":"
	    "\"r\",\"nick\":\"n\",\"text\":\"t\",\"ts\":0}");
	/* A signed-in sender's: "user" after "nick". */
	buf_reset(&b);
	m.user = "al\"ice";
	assert_int_equal(json_message(&b, &m), 0);
	assert_string_equal(b.data, "{\"id\":9223372036854775807,\"room\":"
	    "\"r\",\"nick\":\"n\",\"user\":\"al\\\"ice\",\"text\":\"t\","
	    "\"ts\":0}");
	buf_reset(&b);
	assert_int_equal(json_me(&b, "alice"), 0);
	assert_string_equal(b.data, "{\"user\":\"alice\"}");
	buf_reset(&b);
	assert_int_equal(json_me(&b, NULL), 0);
	assert_string_equal(b.data, "{\"user\":null}");
	buf_free(&b);
}

static void
test_messages(void **state)
{
	struct chat_message v[3] = {
		{ 1, 1000, "lobby", "alice", "hi \"bob\"" },
		{ 2, 2000, "lobby", "bob", "line\none" LS },
		{ 3, 3000, "lobby", EMOJI, "\\" },
	};
	struct buf b = { 0 };
	cJSON *o, *a;

	(void)state;
	assert_int_equal(json_messages(&b, v, 0, 7), 0);
	assert_string_equal(b.data, "{\"messages\":[],\"last_id\":7}");
	buf_reset(&b);
	assert_int_equal(json_messages(&b, v, 3, 3), 0);
	assert_non_null(o = cJSON_Parse(b.data));
	a = cJSON_GetObjectItem(o, "messages");
	assert_int_equal(cJSON_GetArraySize(a), 3);
	for (int i = 0; i < 3; i++)
		check_message(cJSON_GetArrayItem(a, i), &v[i]);
	assert_true(cJSON_GetObjectItem(o, "last_id")->valuedouble == 3);
	cJSON_Delete(o);
	buf_free(&b);
}

/* Messages encoded beforehand (as the hub's batches do) give the same
 * bytes as encoding them in the answer. */
static void
test_messages_encoded(void **state)
{
	struct chat_message v[3] = {
		{ 1, 1000, "lobby", "alice", "a\u00e9", 0 },
		{ 2, 2000, "lobby", "", "", 1 },
		{ 3, 3000, "lobby", "bob", "b" LS, 0 },
	};
	struct buf want = { 0 }, joined = { 0 }, b = { 0 };

	(void)state;
	json_message(&joined, &v[0]);
	buf_append(&joined, ",", 1);
	json_message(&joined, &v[2]);
	assert_int_equal(json_messages(&want, v, 3, 3), 0);
	assert_int_equal(json_messages_encoded(&b, joined.data, joined.len,
	    v, 3, 3), 0);
	assert_string_equal(b.data, want.data);
	buf_reset(&b);
	assert_int_equal(json_messages_encoded(&b, "", 0, v + 1, 1, 2), 0);
	assert_string_equal(b.data,
	    "{\"messages\":[],\"deleted\":[1],\"last_id\":2}");
	buf_free(&want);
	buf_free(&joined);
	buf_free(&b);
}

static void
test_error_health_rooms(void **state)
{
	struct chat_room r[2] = { { "lobby", 42, 17 }, { "a-b_c", 9, 1 } };
	struct chat_room_list l = { r, 0, 2 };
	struct buf b = { 0 };
	cJSON *o, *x;

	(void)state;
	assert_int_equal(json_error(&b, "bad_text", "Say \"it\"\n"), 0);
	assert_string_equal(b.data, "{\"error\":{\"code\":\"bad_text\","
	    "\"message\":\"Say \\\"it\\\"\\n\"}}");
	buf_reset(&b);
	assert_int_equal(json_health(&b, 42), 0);
	assert_string_equal(b.data, "{\"status\":\"ok\",\"last_id\":42}");
	buf_reset(&b);
	assert_int_equal(json_rooms(&b, &l), 0);
	assert_string_equal(b.data, "{\"rooms\":[]}");
	buf_reset(&b);
	l.n = 2;
	assert_int_equal(json_rooms(&b, &l), 0);
	assert_non_null(o = cJSON_Parse(b.data));
	x = cJSON_GetObjectItem(o, "rooms");
	assert_int_equal(cJSON_GetArraySize(x), 2);
	x = cJSON_GetArrayItem(x, 1);
	assert_string_equal(cJSON_GetObjectItem(x, "name")->valuestring,
	    "a-b_c");
	assert_true(cJSON_GetObjectItem(x, "last_id")->valuedouble == 9);
	assert_true(cJSON_GetObjectItem(x, "messages")->valuedouble == 1);
	cJSON_Delete(o);
	buf_free(&b);
}

/* The statistics answer, byte for byte (API.md documents it). */
static void
test_stats(void **state)
{
	static const char *const names[] = { "requests", "last_id" };
	static const int64_t totals[] = { 12, 40 }, a[] = { 5, 40 },
	    c[] = { 7, 39 };
	static const struct json_stats_proc procs[] = {
		{ 101, true, 60, a }, { 102, false, 3, c },
	};
	static const struct limit_entry top[] = {
		{ "u:al\"ice", 3, 1, 2 }, { "2001:db8::1", 1, 0, 0 },
	};
	struct json_stats s = { .now = 1764100000123, .uptime_s = 60,
	    .waiting_longpoll = 4, .waiting_sse = 2, .names = names,
	    .n_counters = 2, .totals = totals, .procs = procs, .n_procs = 2,
	    .db_path = "/var/lib/\"x\"/chat.db", .db_bytes = 4096,
	    .wal_bytes = 0, .last_id = 40, .messages = 38, .schema = 2,
	    .rooms = 3, .retention_days = 0, .retention_interval_s = 300,
	    .retention_messages = 1000, .send_rate = 5, .send_burst = 20,
	    .max_waiting = 100, .top_waiting = top, .n_top_waiting = 2,
	    .top_refused = top, .n_top_refused = 1 };
	struct buf b = { 0 };

	(void)state;
	assert_int_equal(json_stats(&b, &s), 0);
	assert_string_equal(b.data, "{\"now\":1764100000123,\"uptime_s\":60,"
	    "\"waiting\":{\"longpoll\":4,\"sse\":2,\"ws\":0,\"total\":6},"
	    "\"requests\":12,\"last_id\":40,\"processes\":["
	    "{\"pid\":101,\"self\":true,\"uptime_s\":60,\"requests\":5,"
	    "\"last_id\":40},{\"pid\":102,\"self\":false,\"uptime_s\":3,"
	    "\"requests\":7,\"last_id\":39}],\"database\":{\"path\":"
	    "\"/var/lib/\\\"x\\\"/chat.db\",\"size_bytes\":4096,"
	    "\"wal_bytes\":0,\"schema\":2,\"last_id\":40,\"rooms\":3,"
	    "\"messages\":38},\"retention\":{\"days\":0,\"messages\":1000,"
	    "\"interval_s\":300},\"limits\":{\"send_rate\":5,"
	    "\"send_burst\":20,\"max_waiting\":100,\"window_s\":300,"
	    "\"top_waiting\":[{\"user\":\"al\\\"ice\",\"waiting\":3,"
	    "\"refused_send\":1,\"refused_waiting\":2},{\"address\":"
	    "\"2001:db8::1\",\"waiting\":1,\"refused_send\":0,"
	    "\"refused_waiting\":0}],\"top_refused\":[{\"user\":"
	    "\"al\\\"ice\",\"waiting\":3,\"refused_send\":1,"
	    "\"refused_waiting\":2}]}}");
	buf_free(&b);
}

/* Once an append failed, every encoder says so. */
static void
test_encoder_oom(void **state)
{
	struct chat_message m = { 1, 2, "r", "n", "t" };
	struct chat_room_list l = { NULL, 0, 0 };
	struct buf b = { 0 };

	(void)state;
	b.oom = 1;
	assert_int_equal(json_string(&b, "x"), -1);
	assert_int_equal(json_message(&b, &m), -1);
	assert_int_equal(json_messages(&b, &m, 1, 1), -1);
	assert_int_equal(json_messages_encoded(&b, "", 0, &m, 1, 1), -1);
	assert_int_equal(json_error(&b, "c", "m"), -1);
	assert_int_equal(json_rooms(&b, &l), -1);
	assert_int_equal(json_health(&b, 1), -1);
	assert_null(b.data);
}

/* A parsed body, encoded and read back, is the same text. */
static void
test_parse_encode_round_trip(void **state)
{
	static const char body[] = "{\"nick\":\" \\\"q\\\" \\ud83d\\ude00\","
	    "\"text\":\"a\\r\\nb\\\\ \\u2028 \\t\\\"\"}";
	struct send_request r;
	struct buf b = { 0 };
	cJSON *o;

	(void)state;
	assert_int_equal(json_parse_send(body, strlen(body), NULL, &r, NULL),
	    CHAT_OK);
	assert_int_equal(json_string(&b, r.text), 0);
	assert_non_null(o = cJSON_Parse(b.data));
	assert_string_equal(o->valuestring, "a\nb\\ " LS " \t\"");
	assert_string_equal(r.nick, "\"q\" " EMOJI);
	cJSON_Delete(o);
	buf_free(&b);
	send_request_clear(&r);
	send_request_clear(NULL);
}

/* A WebSocket client's frame: a send checked as a POST body, its type, and
 * the client_id that an error answer names when it is readable. */
static void
test_parse_ws(void **state)
{
	struct send_request r;
	const char *why;
	char *cid;

	(void)state;
#define WS(s) json_parse_ws(s, strlen(s), NULL, &r, &cid, &why)
	assert_int_equal(WS("{\"type\":\"send\",\"nick\":\" al \","
	    "\"text\":\"hi\",\"client_id\":\"c1\"}"), CHAT_OK);
	assert_string_equal(r.nick, "al");
	assert_string_equal(r.client_id, "c1");
	assert_string_equal(cid, "c1");
	free(cid);
	send_request_clear(&r);
	assert_int_equal(WS("[1]"),
	    CHAT_E_BAD_JSON);
	assert_null(cid);
	assert_int_equal(WS("{\"type\":\"join\",\"client_id\":\"c2\"}"),
	    CHAT_E_BAD_PARAM);
	assert_string_equal(cid, "c2");
	free(cid);
	assert_int_equal(WS("{\"nick\":\"a\",\"text\":\"b\"}"), CHAT_E_BAD_PARAM);
	assert_int_equal(WS("{\"type\":\"send\",\"nick\":\"a\","
	    "\"text\":\"\",\"client_id\":\"c3\"}"),
	    CHAT_E_BAD_TEXT);
	assert_string_equal(cid, "c3");
	assert_null(r.nick);
	free(cid);
	/* A bad client_id is not echoed. */
	assert_int_equal(WS("{\"type\":\"send\",\"nick\":\"a\","
	    "\"text\":\"b\",\"client_id\":\"a b\"}"),
	    CHAT_E_BAD_CLIENT_ID);
	assert_null(cid);
#undef WS
}

static void
test_ws_frames_json(void **state)
{
	struct chat_message m = { 7, 1000, "lobby", "al", "hi", 0 };
	struct buf b = { 0 };

	(void)state;
	json_ws_ack(&b, "c1", &m);
	assert_string_equal(b.data, "{\"type\":\"ack\",\"client_id\":\"c1\","
	    "\"message\":{\"id\":7,\"room\":\"lobby\",\"nick\":\"al\","
	    "\"text\":\"hi\",\"ts\":1000}}");
	buf_reset(&b);
	json_ws_error(&b, NULL, "bad_text", "no \"text\"");
	assert_string_equal(b.data, "{\"type\":\"error\",\"client_id\":null,"
	    "\"error\":{\"code\":\"bad_text\",\"message\":\"no \\\"text\\\"\"}}");
	buf_reset(&b);
	json_ws_limited(&b, "lobby", 42);
	assert_string_equal(b.data,
	    "{\"type\":\"limited\",\"room\":\"lobby\",\"pruned_through\":42}");
	buf_reset(&b);
	json_ws_message(&b, &m);
	assert_string_equal(b.data, "{\"type\":\"message\",\"message\":"
	    "{\"id\":7,\"room\":\"lobby\",\"nick\":\"al\",\"text\":\"hi\","
	    "\"ts\":1000}}");
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_ws),
		cmocka_unit_test(test_ws_frames_json),
		cmocka_unit_test(test_send_good),
		cmocka_unit_test(test_send_surrogates),
		cmocka_unit_test(test_send_nul_escape),
		cmocka_unit_test(test_send_not_json),
		cmocka_unit_test(test_send_raw_bytes),
		cmocka_unit_test(test_send_numbers),
		cmocka_unit_test(test_send_fields),
		cmocka_unit_test(test_send_content),
		cmocka_unit_test(test_string_exact),
		cmocka_unit_test(test_string_round_trip),
		cmocka_unit_test(test_message),
		cmocka_unit_test(test_messages),
		cmocka_unit_test(test_messages_encoded),
		cmocka_unit_test(test_error_health_rooms),
		cmocka_unit_test(test_stats),
		cmocka_unit_test(test_encoder_oom),
		cmocka_unit_test(test_parse_encode_round_trip),
		cmocka_unit_test(test_send_as_user),
		cmocka_unit_test(test_parse_message_user),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
