/* validate.c - API.md's content rules for rooms, nicks, texts and client
 * ids, with a sentence for each way a value can break them. */
#include "validate.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "chat.h"
#include "identity.h"
#include "utf8.h"

static bool
validate_room_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_' || c == '-';
}

enum chat_error
validate_room(const char *s, size_t len, const char **why)
{
	if (len == 0)
		return chat_error_why(why, CHAT_E_BAD_ROOM,
		    "room must not be empty");
	if (len > CHAT_MAX_ROOM)
		return chat_error_why(why, CHAT_E_BAD_ROOM,
		    "room must be at most 64 characters");
	for (size_t i = 0; i < len; i++)
		if (!validate_room_char((unsigned char)s[i]))
			return chat_error_why(why, CHAT_E_BAD_ROOM,
			    "room may only hold A-Z, a-z, 0-9, '_' and '-'");
	return CHAT_OK;
}

/*
 * Finds the span of s[0..len) left after trimming White_Space at both ends.
 * Returns -1 if s is not valid UTF-8; *tlen is 0 when all of it is white.
 */
static int
validate_trim(const char *s, size_t len, size_t *start, size_t *tlen)
{
	size_t i = 0, n, first = len, end = 0;
	uint32_t cp;

	while (i < len) {
		if ((n = utf8_decode(s + i, len - i, &cp)) == 0)
			return -1;
		if (!utf8_is_white_space(cp)) {
			if (first == len)
				first = i;
			end = i + n;
		}
		i += n;
	}
	*start = first == len ? 0 : first;
	*tlen = first == len ? 0 : end - first;
	return 0;
}

enum chat_error
validate_nick(const char *s, size_t len, size_t *start, size_t *tlen,
    const char **why)
{
	size_t i, n, count = 0, b, l;
	uint32_t cp;

	if (validate_trim(s, len, &b, &l) == -1)
		return chat_error_why(why, CHAT_E_BAD_NICK,
		    "nick must be valid UTF-8");
	if (l == 0)
		return chat_error_why(why, CHAT_E_BAD_NICK,
		    "nick must not be empty or only white space");
	for (i = b; i < b + l; i += n) {
		n = utf8_decode(s + i, b + l - i, &cp);
		if (utf8_is_control(cp))
			return chat_error_why(why, CHAT_E_BAD_NICK,
			    "nick must not hold control characters");
		if (++count > CHAT_MAX_NICK)
			return chat_error_why(why, CHAT_E_BAD_NICK,
			    "nick must be at most 32 characters");
	}
	*start = b;
	*tlen = l;
	return CHAT_OK;
}

/* Copies s[0..len) to out with "\r\n" and lone "\r" as "\n"; returns the
 * length written (at most len) and NUL-terminates. */
static size_t
validate_newlines(const char *s, size_t len, char *out)
{
	size_t i, o = 0;

	for (i = 0; i < len; i++) {
		if (s[i] != '\r')
			out[o++] = s[i];
		else if (i + 1 < len && s[i + 1] == '\n')
			continue;	/* the '\n' comes next */
		else
			out[o++] = '\n';
	}
	out[o] = '\0';
	return o;
}

/* True when s[0..len), valid UTF-8, holds no control character but \n, \t. */
static bool
validate_text_chars(const char *s, size_t len)
{
	size_t i, n;
	uint32_t cp;

	for (i = 0; i < len; i += n) {
		n = utf8_decode(s + i, len - i, &cp);
		if (utf8_is_control(cp) && cp != '\n' && cp != '\t')
			return false;
	}
	return true;
}

/* The text rules, checked on text already normalised. */
static enum chat_error
validate_text_rules(const char *s, size_t len, const char **why)
{
	if (len == 0)
		return chat_error_why(why, CHAT_E_BAD_TEXT,
		    "text must not be empty");
	if (len > CHAT_MAX_TEXT)
		return chat_error_why(why, CHAT_E_BAD_TEXT,
		    "text must be at most 4000 bytes of UTF-8");
	if (!validate_text_chars(s, len))
		return chat_error_why(why, CHAT_E_BAD_TEXT, "text must not "
		    "hold control characters other than newline and tab");
	return CHAT_OK;
}

enum chat_error
validate_text(const char *s, size_t len, char **out, size_t *outlen,
    const char **why)
{
	enum chat_error e;
	char *t;
	size_t n;

	*out = NULL;
	if (!utf8_valid(s, len))
		return chat_error_why(why, CHAT_E_BAD_TEXT,
		    "text must be valid UTF-8");
	/* Each "\r\n" saves one byte, so longer input cannot fit. */
	if (len > 2 * CHAT_MAX_TEXT)
		return chat_error_why(why, CHAT_E_BAD_TEXT,
		    "text must be at most 4000 bytes of UTF-8");
	if ((t = malloc(len + 1)) == NULL)
		return chat_error_why(why, CHAT_E_INTERNAL, "out of memory");
	n = validate_newlines(s, len, t);
	if ((e = validate_text_rules(t, n, why)) != CHAT_OK) {
		free(t);
		return e;
	}
	*out = t;
	*outlen = n;
	return CHAT_OK;
}

enum chat_error
validate_client_id(const char *s, size_t len, const char **why)
{
	if (len == 0 || len > CHAT_MAX_CLIENT_ID)
		return chat_error_why(why, CHAT_E_BAD_CLIENT_ID,
		    "client_id must be 1-64 characters long");
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7E)
			return chat_error_why(why, CHAT_E_BAD_CLIENT_ID,
			    "client_id may only hold printable ASCII without "
			    "spaces");
	return CHAT_OK;
}

enum chat_error
validate_nick_copy(const char *s, size_t len, char **out, const char **why)
{
	size_t start, tlen;
	enum chat_error e;

	if ((e = validate_nick(s, len, &start, &tlen, why)) != CHAT_OK)
		return e;
	if ((*out = strndup(s + start, tlen)) == NULL)
		return chat_error_why(why, CHAT_E_INTERNAL, "out of memory");
	return CHAT_OK;
}

enum chat_error
validate_user(const char *s, const char **why)
{
	size_t len, i, n;
	uint32_t cp = 0;

	if (s == NULL)
		return CHAT_OK;
	if ((len = strlen(s)) == 0 || len > CHAT_MAX_USER)
		return chat_error_why(why, CHAT_E_BAD_USER, "the user name is "
		    "empty or longer than 128 bytes");
	if (!utf8_valid(s, len))
		return chat_error_why(why, CHAT_E_BAD_USER, "the user name is "
		    "not valid UTF-8");
	for (i = 0; i < len; i += n) {
		n = utf8_decode(s + i, len - i, &cp);
		if (utf8_is_control(cp))
			return chat_error_why(why, CHAT_E_BAD_USER, "the user "
			    "name holds a control character");
		if (utf8_is_white_space(cp) && (i == 0 || i + n == len))
			return chat_error_why(why, CHAT_E_BAD_USER, "the user "
			    "name begins or ends with white space");
	}
	return CHAT_OK;
}

enum chat_error
validate_user_copy(const char *s, char **out, const char **why)
{
	enum chat_error e;

	*out = NULL;
	if (s == NULL)
		return CHAT_OK;
	if ((e = validate_user(s, why)) != CHAT_OK)
		return e;
	if ((*out = strdup(s)) == NULL)
		return chat_error_why(why, CHAT_E_INTERNAL, "out of memory");
	return CHAT_OK;
}

enum chat_error
validate_member(const char *s, const char **why)
{
	return validate_user(s != NULL ? s : "", why) == CHAT_OK ? CHAT_OK :
	    CHAT_E_BAD_PARAM;
}

enum chat_error
validate_message(const char *room, size_t room_len, const char *nick,
    size_t nick_len, const char *text, size_t text_len,
    struct chat_message *out, const char **why)
{
	size_t len;
	enum chat_error e;

	if ((e = validate_room(room, room_len, why)) != CHAT_OK)
		return e;
	if ((out->room = strndup(room, room_len)) == NULL)
		return chat_error_why(why, CHAT_E_INTERNAL, "out of memory");
	if (out->user != NULL) {
		if ((out->nick = strdup(out->user)) == NULL)
			return chat_error_why(why, CHAT_E_INTERNAL,
			    "out of memory");
	} else if ((e = validate_nick_copy(nick, nick_len, &out->nick,
	    why)) != CHAT_OK) {
		return e;
	}
	return validate_text(text, text_len, &out->text, &len, why);
}

/* True for "application/json", any case, with no charset or UTF-8. */
bool
validate_json_type(const char *ct)
{
	const char *p;

	if (ct == NULL || strncasecmp(ct, "application/json", 16) != 0)
		return false;
	for (p = ct + 16; *p == ' ' || *p == '\t'; p++)
		;
	if (*p == '\0')
		return true;
	if (*p++ != ';')
		return false;
	while (*p == ' ' || *p == '\t')
		p++;
	if (strncasecmp(p, "charset=", 8) != 0)
		return false;
	p += 8;
	return strcasecmp(p, "utf-8") == 0 || strcasecmp(p, "\"utf-8\"") == 0 ||
	    strcasecmp(p, "utf8") == 0;
}
