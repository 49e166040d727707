/* fuzz_json_send.c - libFuzzer target for json_parse_send: an accepted
 * body was valid UTF-8 and yields fields that pass their validators as
 * they are (nick trimmed, text normalised, no \r), agree with plain cJSON
 * where the pre-scan changed nothing, and survive the encoder and cJSON's
 * parser unchanged; a refused body leaves nothing behind. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "json.h"
#include "utf8.h"
#include "validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_fields(const struct send_request *r)
{
	size_t start, tlen, outlen;
	char *out = NULL;

	assert(validate_nick(r->nick, strlen(r->nick), &start, &tlen,
	    NULL) == CHAT_OK);
	assert(start == 0 && tlen == strlen(r->nick));
	assert(strchr(r->text, '\r') == NULL);
	assert(validate_text(r->text, strlen(r->text), &out, &outlen,
	    NULL) == CHAT_OK);
	assert(strcmp(out, r->text) == 0);
	free(out);
	assert(r->client_id == NULL || validate_client_id(r->client_id,
	    strlen(r->client_id), NULL) == CHAT_OK);
}

/* The encoder's message is one line of JSON that cJSON reads back. */
static void
check_encoded(const struct send_request *r)
{
	struct chat_message m = { 1, 2, "room", r->nick, r->text };
	struct buf b = { 0 };
	cJSON *o;

	assert(json_message(&b, &m) == 0);
	assert(strlen(b.data) == b.len && utf8_valid(b.data, b.len));
	for (size_t i = 0; i < b.len; i++)
		assert((unsigned char)b.data[i] >= 0x20);
	assert(strstr(b.data, "\xe2\x80\xa8") == NULL);
	assert(strstr(b.data, "\xe2\x80\xa9") == NULL);
	o = cJSON_Parse(b.data);
	assert(o != NULL);
	assert(strcmp(cJSON_GetObjectItem(o, "nick")->valuestring,
	    r->nick) == 0);
	assert(strcmp(cJSON_GetObjectItem(o, "text")->valuestring,
	    r->text) == 0);
	cJSON_Delete(o);
	buf_free(&b);
}

/* Without \u escapes the pre-scan rewrites nothing, so plain cJSON must
 * read the same body and, through the validators, give the same fields. */
static void
check_cjson_agrees(const uint8_t *data, size_t size,
    const struct send_request *r)
{
	size_t start, tlen, outlen;
	const cJSON *nick, *text;
	char *out = NULL;
	cJSON *o;

	if (memmem(data, size, "\\u", 2) != NULL)
		return;
	o = cJSON_ParseWithLength((const char *)data, size);
	assert(o != NULL);
	nick = cJSON_GetObjectItemCaseSensitive(o, "nick");
	text = cJSON_GetObjectItemCaseSensitive(o, "text");
	assert(validate_nick(nick->valuestring, strlen(nick->valuestring),
	    &start, &tlen, NULL) == CHAT_OK);
	assert(tlen == strlen(r->nick) &&
	    memcmp(nick->valuestring + start, r->nick, tlen) == 0);
	assert(validate_text(text->valuestring, strlen(text->valuestring),
	    &out, &outlen, NULL) == CHAT_OK);
	assert(strcmp(out, r->text) == 0);
	free(out);
	cJSON_Delete(o);
}

/* The same body from a signed-in sender: the nick is never read, so the
 * outcome is the anonymous one's but where that was bad_nick, and an
 * accepted send differs only in its nick, the user name. */
static void
check_as_user(const uint8_t *data, size_t size, enum chat_error anon,
    const struct send_request *a)
{
	struct send_request r;
	enum chat_error e;

	e = json_parse_send((const char *)data, size, "Zo\xc3\xab", &r, NULL);
	assert(e != CHAT_E_BAD_NICK);
	assert(anon == CHAT_E_BAD_NICK || e == anon);
	if (e == CHAT_OK) {
		assert(strcmp(r.nick, "Zo\xc3\xab") == 0);
		if (anon == CHAT_OK)
			assert(strcmp(r.text, a->text) == 0 &&
			    (r.client_id == NULL) == (a->client_id == NULL));
	}
	send_request_clear(&r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct send_request r;
	const char *why = NULL;
	enum chat_error e;

	e = json_parse_send((const char *)data, size, NULL, &r, &why);
	if (e != CHAT_OK) {
		assert(e == CHAT_E_BAD_JSON || e == CHAT_E_BAD_NICK ||
		    e == CHAT_E_BAD_TEXT || e == CHAT_E_BAD_CLIENT_ID ||
		    e == CHAT_E_INTERNAL);
		assert(why != NULL);
		assert(r.nick == NULL && r.text == NULL && r.client_id == NULL);
		check_as_user(data, size, e, &r);
		return 0;
	}
	assert(size > 0 && utf8_valid((const char *)data, size));
	check_fields(&r);
	check_encoded(&r);
	check_cjson_agrees(data, size, &r);
	check_as_user(data, size, e, &r);
	send_request_clear(&r);
	return 0;
}
