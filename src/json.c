/* json.c - parses send bodies and exported messages with cJSON, after a
 * pre-scan that covers its gaps. The encoders of json.h are in
 * json_encode.c. */
#include "json.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "query.h"
#include "utf8.h"
#include "validate.h"

/* --- parsing ----------------------------------------------------------- */

/*
 * cJSON is more lenient than RFC 8259 in ways a send body must not be, and
 * mishandles some escapes. The pre-scan walks the text once, string-aware,
 * before cJSON sees it:
 *  - a raw byte below 0x20 inside a string is bad_json (cJSON keeps it);
 *  - outside strings only space, \t, \n and \r may be white space (cJSON
 *    skips every byte up to 0x20, NUL included);
 *  - numbers must follow the JSON grammar (cJSON hands strtod "01", "1."
 *    or "-.5");
 *  - a "\u" escape without four hex digits is bad_json (cJSON reads it
 *    as U+0000);
 *  - "\u0000" (cJSON truncates the string there) and lone surrogate
 *    escapes (cJSON rejects the whole body, API.md wants the field's own
 *    error) become "\u0001": same length, still a control character, so
 *    the field's validator refuses it and an unknown field ignores it.
 * Everything else (structure, literals, other escapes) is left to cJSON.
 */

#define JSON_ESC_LEN 6	/* \uXXXX */

static bool
json_is_ws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool
json_is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* The value of the four hex digits at s[0..len), or -1. */
static long
json_hex4(const char *s, size_t len)
{
	long v = 0;

	if (len < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		int d = query_hex((unsigned char)s[i]);
		if (d < 0)
			return -1;
		v = v << 4 | d;
	}
	return v;
}

/* True when s[0..len) starts with an escaped low surrogate "\uDC00-DFFF". */
static bool
json_low_follows(const char *s, size_t len)
{
	long v;

	if (len < JSON_ESC_LEN || s[0] != '\\' || s[1] != 'u')
		return false;
	v = json_hex4(s + 2, len - 2);
	return v >= 0xDC00 && v <= 0xDFFF;
}

/* At the "\u" escape s[0..len): rewrites it to "\u0001" when it decodes to
 * U+0000 or a lone surrogate. Returns the bytes to skip, or 0 when it lacks
 * four hex digits (cJSON would read those as U+0000). */
static size_t
json_scan_unicode(char *s, size_t len)
{
	long v = json_hex4(s + 2, len - 2);

	if (v == -1)
		return 0;
	if (v >= 0xD800 && v <= 0xDBFF &&
	    json_low_follows(s + JSON_ESC_LEN, len - JSON_ESC_LEN))
		return 2 * JSON_ESC_LEN;
	if (v == 0 || (v >= 0xD800 && v <= 0xDFFF))
		memcpy(s + 2, "0001", 4);
	return JSON_ESC_LEN;
}

/* At the opening quote of a string in s[0..len): checks and rewrites it.
 * Returns the bytes up to and including the closing quote (or to the end
 * of an unterminated string, which cJSON refuses), or 0 and sets *why. */
static size_t
json_scan_string(char *s, size_t len, const char **why)
{
	size_t i = 1, n;

	while (i < len && s[i] != '"') {
		if ((unsigned char)s[i] < 0x20) {
			*why = "control characters in JSON strings must be "
			    "escaped";
			return 0;
		}
		if (s[i] != '\\')
			n = 1;
		else if (i + 1 < len && s[i + 1] == 'u')
			n = json_scan_unicode(s + i, len - i);
		else
			n = 2;	/* cJSON checks the escaped byte */
		if (n == 0) {
			*why = "a \\u escape needs four hex digits";
			return 0;
		}
		i += n;
	}
	return i < len ? i + 1 : len;
}

/* Skips the digits at s[i..len); returns how many there were. */
static size_t
json_digits(const char *s, size_t len, size_t *i)
{
	size_t start = *i;

	while (*i < len && json_is_digit((unsigned char)s[*i]))
		(*i)++;
	return *i - start;
}

static bool
json_is_number_char(unsigned char c)
{
	return json_is_digit(c) || c == '+' || c == '-' || c == '.' ||
	    c == 'e' || c == 'E';
}

/* At a number in s[0..len): returns its length if it follows the JSON
 * grammar -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? and is not followed
 * by more number characters (which cJSON would take); else 0. */
static size_t
json_scan_number(const char *s, size_t len)
{
	size_t i = 0, n;

	if (s[i] == '-')
		i++;
	if ((n = json_digits(s, len, &i)) == 0 || (n > 1 && s[i - n] == '0'))
		return 0;
	if (i < len && s[i] == '.') {
		i++;
		if (json_digits(s, len, &i) == 0)
			return 0;
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		if (++i < len && (s[i] == '+' || s[i] == '-'))
			i++;
		if (json_digits(s, len, &i) == 0)
			return 0;
	}
	if (i < len && json_is_number_char((unsigned char)s[i]))
		return 0;
	return i;
}

/* The pre-scan described above. Returns NULL, or why the body is bad. */
static const char *
json_prescan(char *s, size_t len)
{
	const char *why = NULL;
	size_t i = 0, n;
	unsigned char c;

	while (i < len) {
		c = (unsigned char)s[i];
		if (c == '"')
			n = json_scan_string(s + i, len - i, &why);
		else if (c == '-' || json_is_digit(c)) {
			why = "the body holds a malformed JSON number";
			n = json_scan_number(s + i, len - i);
		} else if (c < 0x20 && !json_is_ws(c)) {
			why = "the body holds a control character outside "
			    "JSON strings";
			n = 0;
		} else
			n = 1;
		if (n == 0)
			return why;
		i += n;
	}
	return NULL;
}

/* Parses the pre-scanned s[0..len) (NUL-terminated) into an object. */
static cJSON *
json_parse_object(const char *s, size_t len)
{
	const char *end = NULL;
	cJSON *root;

	if ((root = cJSON_ParseWithLengthOpts(s, len, &end, 0)) == NULL)
		return NULL;
	while (end < s + len && json_is_ws((unsigned char)*end))
		end++;
	if (end != s + len || !cJSON_IsObject(root)) {
		cJSON_Delete(root);
		return NULL;
	}
	return root;
}

static enum chat_error
json_take_nick(const cJSON *v, char **out, const char **why)
{
	if (!cJSON_IsString(v))
		return chat_error_why(why, CHAT_E_BAD_NICK,
		    "nick is required and must be a string");
	return validate_nick_copy(v->valuestring, strlen(v->valuestring), out,
	    why);
}

static enum chat_error
json_take_text(const cJSON *v, char **out, const char **why)
{
	size_t len;

	if (!cJSON_IsString(v))
		return chat_error_why(why, CHAT_E_BAD_TEXT,
		    "text is required and must be a string");
	return validate_text(v->valuestring, strlen(v->valuestring), out,
	    &len, why);
}

static enum chat_error
json_take_client_id(const cJSON *v, char **out, const char **why)
{
	enum chat_error e;

	if (v == NULL || cJSON_IsNull(v))
		return CHAT_OK;
	if (!cJSON_IsString(v))
		return chat_error_why(why, CHAT_E_BAD_CLIENT_ID,
		    "client_id must be a string or null");
	e = validate_client_id(v->valuestring, strlen(v->valuestring), why);
	if (e != CHAT_OK)
		return e;
	if ((*out = strdup(v->valuestring)) == NULL)
		return chat_error_why(why, CHAT_E_INTERNAL, "out of memory");
	return CHAT_OK;
}

/* The nick of a send: the user name when the web server signed the
 * sender in (the body's "nick" is then not read), else the body's. */
static enum chat_error
json_take_sender(const cJSON *root, const char *user, char **out,
    const char **why)
{
	if (user == NULL)
		return json_take_nick(cJSON_GetObjectItemCaseSensitive(root,
		    "nick"), out, why);
	if ((*out = strdup(user)) == NULL)
		return chat_error_why(why, CHAT_E_INTERNAL, "out of memory");
	return CHAT_OK;
}

/* Fills *out from the fields of root, checking them in a fixed order. */
static enum chat_error
json_take_send(const cJSON *root, const char *user, struct send_request *out,
    const char **why)
{
	enum chat_error e;

	e = json_take_sender(root, user, &out->nick, why);
	if (e == CHAT_OK)
		e = json_take_text(cJSON_GetObjectItemCaseSensitive(root,
		    "text"), &out->text, why);
	if (e == CHAT_OK)
		e = json_take_client_id(cJSON_GetObjectItemCaseSensitive(root,
		    "client_id"), &out->client_id, why);
	return e;
}

/* Checks body[0..len) and parses it into *root, an object, or says why
 * not. The body is copied, as the pre-scan rewrites escapes. */
static enum chat_error
json_parse_root(const char *body, size_t len, cJSON **root,
    const char **why)
{
	const char *msg;
	char *copy;

	if (len == 0)
		return chat_error_why(why, CHAT_E_BAD_JSON,
		    "the body must be a JSON object, not empty");
	if (!utf8_valid(body, len))
		return chat_error_why(why, CHAT_E_BAD_JSON,
		    "the body must be valid UTF-8");
	if ((copy = malloc(len + 1)) == NULL)
		return chat_error_why(why, CHAT_E_INTERNAL, "out of memory");
	memcpy(copy, body, len);
	copy[len] = '\0';
	/* cJSON also returns NULL when out of memory; that reads as bad. */
	if ((msg = json_prescan(copy, len)) == NULL &&
	    (*root = json_parse_object(copy, len)) == NULL)
		msg = "the body must be one JSON object";
	free(copy);
	return msg == NULL ? CHAT_OK :
	    chat_error_why(why, CHAT_E_BAD_JSON, msg);
}

enum chat_error
json_parse_send(const char *body, size_t len, const char *user,
    struct send_request *out, const char **why)
{
	cJSON *root = NULL;
	enum chat_error e;

	memset(out, 0, sizeof(*out));
	if ((e = json_parse_root(body, len, &root, why)) == CHAT_OK)
		e = json_take_send(root, user, out, why);
	cJSON_Delete(root);
	if (e != CHAT_OK)
		send_request_clear(out);
	return e;
}

enum chat_error
json_parse_ws(const char *text, size_t len, const char *user,
    struct send_request *out, char **client_id, const char **why)
{
	cJSON *root = NULL;
	const cJSON *type;
	enum chat_error e;

	memset(out, 0, sizeof(*out));
	*client_id = NULL;
	if ((e = json_parse_root(text, len, &root, why)) == CHAT_OK) {
		/* The answer names the client_id whenever it is readable,
		 * whatever else is wrong. */
		if (json_take_client_id(cJSON_GetObjectItemCaseSensitive(root,
		    "client_id"), client_id, NULL) != CHAT_OK)
			*client_id = NULL;
		type = cJSON_GetObjectItemCaseSensitive(root, "type");
		if (!cJSON_IsString(type) ||
		    strcmp(type->valuestring, "send") != 0)
			e = chat_error_why(why, CHAT_E_BAD_PARAM, "a frame's "
			    "\"type\" must be \"send\", the one thing a "
			    "client can say");
		else
			e = json_take_send(root, user, out, why);
	}
	cJSON_Delete(root);
	if (e != CHAT_OK)
		send_request_clear(out);
	return e;
}

void
send_request_clear(struct send_request *r)
{
	if (r == NULL)
		return;
	free(r->nick);
	free(r->text);
	free(r->client_id);
	memset(r, 0, sizeof(*r));
}

/* --- private rooms and DMs (POST /api/rooms, POST /api/dm) ------------- */

void
room_request_clear(struct room_request *r)
{
	if (r == NULL)
		return;
	free(r->room);
	for (size_t i = 0; i < r->n; i++)
		free(r->members[i]);
	free(r->members);
	memset(r, 0, sizeof(*r));
}

/* Adds user name v to out->members unless it is there already. */
static enum chat_error
json_take_user(const cJSON *v, struct room_request *out, const char **why)
{
	enum chat_error e;

	if (!cJSON_IsString(v))
		return chat_error_why(why, CHAT_E_BAD_PARAM,
		    "a user name must be a string");
	if ((e = validate_member(v->valuestring, why)) !=
	    CHAT_OK)
		return e;
	for (size_t i = 0; i < out->n; i++)
		if (strcmp(out->members[i], v->valuestring) == 0)
			return CHAT_OK;
	if ((out->members[out->n] = strdup(v->valuestring)) == NULL)
		return chat_error_why(why, CHAT_E_INTERNAL, "out of memory");
	out->n++;
	return CHAT_OK;
}

static enum chat_error
json_take_members(const cJSON *v, size_t max, struct room_request *out,
    const char **why)
{
	const cJSON *m;
	enum chat_error e = CHAT_OK;
	int n;

	if (v == NULL || cJSON_IsNull(v))
		return CHAT_OK;
	if (!cJSON_IsArray(v))
		return chat_error_why(why, CHAT_E_BAD_PARAM,
		    "members must be an array of user names");
	if ((n = cJSON_GetArraySize(v)) < 0 || (size_t)n > max)
		return chat_error_why(why, CHAT_E_BAD_PARAM,
		    "too many members: see the limit in the API's docs");
	if (n > 0 && (out->members = calloc((size_t)n,
	    sizeof(*out->members))) == NULL)
		return chat_error_why(why, CHAT_E_INTERNAL, "out of memory");
	cJSON_ArrayForEach(m, v)
		if ((e = json_take_user(m, out, why)) != CHAT_OK)
			break;
	return e;
}

enum chat_error
json_parse_room_create(const char *body, size_t len, size_t max_members,
    struct room_request *out, const char **why)
{
	cJSON *root = NULL;
	const cJSON *room;
	enum chat_error e;

	memset(out, 0, sizeof(*out));
	if ((e = json_parse_root(body, len, &root, why)) == CHAT_OK) {
		room = cJSON_GetObjectItemCaseSensitive(root, "room");
		if (!cJSON_IsString(room))
			e = chat_error_why(why, CHAT_E_BAD_ROOM,
			    "room is required and must be a string");
		else if ((e = validate_room(room->valuestring,
		    strlen(room->valuestring), why)) == CHAT_OK &&
		    (out->room = strdup(room->valuestring)) == NULL)
			e = chat_error_why(why, CHAT_E_INTERNAL,
			    "out of memory");
	}
	if (e == CHAT_OK)
		e = json_take_members(cJSON_GetObjectItemCaseSensitive(root,
		    "members"), max_members, out, why);
	cJSON_Delete(root);
	if (e != CHAT_OK)
		room_request_clear(out);
	return e;
}

enum chat_error
json_parse_dm(const char *body, size_t len, struct room_request *out,
    const char **why)
{
	cJSON *root = NULL;
	enum chat_error e;

	memset(out, 0, sizeof(*out));
	if ((e = json_parse_root(body, len, &root, why)) == CHAT_OK &&
	    (out->members = calloc(1, sizeof(*out->members))) == NULL)
		e = chat_error_why(why, CHAT_E_INTERNAL, "out of memory");
	if (e == CHAT_OK)
		e = json_take_user(cJSON_GetObjectItemCaseSensitive(root,
		    "user"), out, why);
	cJSON_Delete(root);
	if (e != CHAT_OK)
		room_request_clear(out);
	return e;
}

/* --- exported messages (admin import) ---------------------------------- */

/* An optional integer field in [min, 2^53]: absent or null -> def. */
static bool
json_take_int(const cJSON *v, int64_t min, int64_t def, int64_t *out)
{
	double d;

	if (v == NULL || cJSON_IsNull(v)) {
		*out = def;
		return true;
	}
	if (!cJSON_IsNumber(v))
		return false;
	d = v->valuedouble;
	if (d < (double)min || d > (double)CHAT_MAX_EXACT_INT ||
	    d != (double)(int64_t)d)
		return false;
	*out = (int64_t)d;
	return true;
}

/* Fills *out from the fields of root, checking them in a fixed order. */
static enum chat_error
json_take_message(const cJSON *root, int64_t default_ts,
    struct chat_message *out, const char **why)
{
	const cJSON *room = cJSON_GetObjectItemCaseSensitive(root, "room");
	const cJSON *nick = cJSON_GetObjectItemCaseSensitive(root, "nick");
	const cJSON *text = cJSON_GetObjectItemCaseSensitive(root, "text");
	const cJSON *user = cJSON_GetObjectItemCaseSensitive(root, "user");
	enum chat_error e;

	if (!json_take_int(cJSON_GetObjectItemCaseSensitive(root, "id"), 1, 0,
	    &out->id) || !json_take_int(cJSON_GetObjectItemCaseSensitive(root,
	    "ts"), 0, default_ts, &out->ts))
		return chat_error_why(why, CHAT_E_BAD_PARAM,
		    "id and ts must be whole numbers (id >= 1, ts >= 0)");
	if (user != NULL && !cJSON_IsNull(user) && !cJSON_IsString(user))
		return chat_error_why(why, CHAT_E_BAD_USER,
		    "user must be a string or null");
	if (cJSON_IsString(user) && (e = validate_user_copy(user->valuestring,
	    &out->user, why)) != CHAT_OK)
		return e;
	/* A signed-in sender's nick is the user name: nick is not read. */
	if (out->user != NULL)
		nick = user;
	if (!cJSON_IsString(room) || !cJSON_IsString(nick) ||
	    !cJSON_IsString(text))
		return chat_error_why(why, CHAT_E_BAD_JSON,
		    "room, nick and text are required and must be strings");
	return validate_message(room->valuestring, strlen(room->valuestring),
	    nick->valuestring, strlen(nick->valuestring), text->valuestring,
	    strlen(text->valuestring), out, why);
}

enum chat_error
json_parse_message(const char *line, size_t len, int64_t default_ts,
    struct chat_message *out, const char **why)
{
	cJSON *root = NULL;
	enum chat_error e;

	memset(out, 0, sizeof(*out));
	if ((e = json_parse_root(line, len, &root, why)) == CHAT_OK)
		e = json_take_message(root, default_ts, out, why);
	cJSON_Delete(root);
	if (e != CHAT_OK)
		chat_message_clear(out);
	return e;
}
