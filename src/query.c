/* query.c - turns QUERY_STRING and Last-Event-ID into range-checked
 * numbers, so that no handler ever sees the raw text. */
#include "query.h"

#include <stdbool.h>
#include <string.h>

#include "chat.h"
#include "validate.h"

enum query_key { QUERY_SINCE, QUERY_BEFORE, QUERY_LIMIT, QUERY_WAIT,
    QUERY_PRESENCE, QUERY_NICK, QUERY__MAX };

/* The parameters of API.md, their ranges and what to say when broken. */
static const struct query_rule {
	const char *name;
	int64_t min, max;
	const char *bad;	/* missing, empty, not a number, out of range */
	const char *dup;	/* given twice */
} rules[QUERY__MAX] = {
	[QUERY_SINCE] = { "since", 0, INT64_MAX,
	    "since must be an integer from 0 to 9223372036854775807",
	    "since may be given only once" },
	[QUERY_BEFORE] = { "before", 0, INT64_MAX,
	    "before must be an integer from 0 to 9223372036854775807",
	    "before may be given only once" },
	[QUERY_LIMIT] = { "limit", 1, CHAT_MAX_LIMIT,
	    "limit must be an integer from 1 to 1000",
	    "limit may be given only once" },
	[QUERY_WAIT] = { "wait", 0, CHAT_MAX_WAIT,
	    "wait must be an integer from 0 to 60",
	    "wait may be given only once" },
	[QUERY_PRESENCE] = { "presence", 0, INT64_MAX,
	    "presence must be the presence version you have, an integer "
	    "from 0 (none yet) to 9223372036854775807",
	    "presence may be given only once" },
	/* Not a number: query_nick checks it. */
	[QUERY_NICK] = { "nick", 0, 0, NULL, "nick may be given only once" },
};

/* One parse in progress: the values seen so far, -1 for absent. */
struct query_state {
	int64_t v[QUERY__MAX];
	char nick[CHAT_MAX_USER + 1];	/* trimmed, when v[QUERY_NICK] is 0 */
	char tmp[QUERY_MAX_LEN];	/* a decoded name or value */
};

/* No '%' in the sentence: it may end up in a format string. */
#define QUERY_BAD_ESCAPE "a query parameter holds a percent sign that is " \
    "not followed by two hex digits"

int
query_int(const char *s, size_t len, int64_t min, int64_t max, int64_t *out)
{
	int64_t v = 0;
	int d;

	if (len == 0)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		d = s[i] - '0';
		if (v > (INT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	if (v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int
query_last_event_id(const char *s, int64_t *out)
{
	size_t len;

	if (s == NULL)
		return -1;
	s += strspn(s, " \t");
	len = strlen(s);
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	return query_int(s, len, 0, INT64_MAX, out);
}

int
query_hex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decodes s[0..len) into out, which has room for len bytes ('+'
 * is a space). Returns 0 and sets *outlen, or -1 on a '%' that is not
 * followed by two hex digits. */
static int
query_decode(const char *s, size_t len, char *out, size_t *outlen)
{
	size_t i, o = 0;
	int hi, lo;

	for (i = 0; i < len; i++) {
		if (s[i] == '+')
			out[o++] = ' ';
		else if (s[i] != '%')
			out[o++] = s[i];
		else if (i + 2 < len && (hi = query_hex(s[i + 1])) != -1 &&
		    (lo = query_hex(s[i + 2])) != -1) {
			out[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else
			return -1;
	}
	*outlen = o;
	return 0;
}

static enum query_key
query_key(const char *name, size_t len)
{
	enum query_key k;

	for (k = 0; k < QUERY__MAX; k++)
		if (strlen(rules[k].name) == len &&
		    memcmp(rules[k].name, name, len) == 0)
			break;
	return k;
}

/* The nick in st->tmp[0..len): checked and trimmed as a send's. */
static enum chat_error
query_nick(struct query_state *st, size_t len, const char **why)
{
	size_t start, tlen;
	enum chat_error e;

	if ((e = validate_nick(st->tmp, len, &start, &tlen, why)) != CHAT_OK)
		return e;
	memcpy(st->nick, st->tmp + start, tlen);
	st->nick[tlen] = '\0';
	st->v[QUERY_NICK] = 0;
	return CHAT_OK;
}

/* Checks one non-empty "name[=value]" pair s[0..len) and records the
 * value of a known name. Unknown names only have their escapes checked. */
static enum chat_error
query_pair(struct query_state *st, const char *s, size_t len,
    const char **why)
{
	const char *eq = memchr(s, '=', len);
	size_t nlen = eq != NULL ? (size_t)(eq - s) : len, vlen = 0;
	const struct query_rule *r;
	enum query_key k;

	if (query_decode(s, nlen, st->tmp, &vlen) == -1)
		return chat_error_why(why, CHAT_E_BAD_PARAM, QUERY_BAD_ESCAPE);
	k = query_key(st->tmp, vlen);
	vlen = 0;
	if (eq != NULL &&
	    query_decode(eq + 1, len - nlen - 1, st->tmp, &vlen) == -1)
		return chat_error_why(why, CHAT_E_BAD_PARAM, QUERY_BAD_ESCAPE);
	if (k == QUERY__MAX)
		return CHAT_OK;
	r = &rules[k];
	if (st->v[k] != -1)
		return chat_error_why(why, CHAT_E_BAD_PARAM, r->dup);
	if (k == QUERY_NICK)
		return query_nick(st, eq != NULL ? vlen : 0, why);
	/* A decoded NUL, '+' or sign is not a digit, so query_int refuses. */
	if (eq == NULL ||
	    query_int(st->tmp, vlen, r->min, r->max, &st->v[k]) == -1)
		return chat_error_why(why, CHAT_E_BAD_PARAM, r->bad);
	return CHAT_OK;
}

/* Splits qs[0..len) at '&' and checks each pair; empty pairs are skipped. */
static enum chat_error
query_pairs(struct query_state *st, const char *qs, size_t len,
    const char **why)
{
	const char *amp;
	size_t i = 0, n, pairs = 0;
	enum chat_error e;

	while (i < len) {
		amp = memchr(qs + i, '&', len - i);
		n = amp != NULL ? (size_t)(amp - (qs + i)) : len - i;
		if (n > 0 && ++pairs > QUERY_MAX_PARAMS)
			return chat_error_why(why, CHAT_E_BAD_PARAM,
			    "the query string may hold at most 32 parameters");
		if (n > 0 && (e = query_pair(st, qs + i, n, why)) != CHAT_OK)
			return e;
		i += n + 1;
	}
	return CHAT_OK;
}

enum chat_error
query_parse(const char *qs, struct query_params *out, const char **why)
{
	struct query_state st;
	enum chat_error e;
	size_t len;

	for (int k = 0; k < QUERY__MAX; k++)
		st.v[k] = -1;
	if (qs == NULL)
		qs = "";
	if ((len = strnlen(qs, QUERY_MAX_LEN + 1)) > QUERY_MAX_LEN)
		return chat_error_why(why, CHAT_E_BAD_PARAM,
		    "the query string may be at most 4096 bytes long");
	if ((e = query_pairs(&st, qs, len, why)) != CHAT_OK)
		return e;
	if (st.v[QUERY_SINCE] != -1 && st.v[QUERY_BEFORE] != -1)
		return chat_error_why(why, CHAT_E_BAD_PARAM,
		    "since and before may not be given together");
	out->since = st.v[QUERY_SINCE];
	out->before = st.v[QUERY_BEFORE];
	out->limit = st.v[QUERY_LIMIT] == -1 ? CHAT_DEFAULT_LIMIT :
	    (int)st.v[QUERY_LIMIT];
	out->wait = (int)st.v[QUERY_WAIT];
	out->presence = st.v[QUERY_PRESENCE];
	memset(out->nick, 0, sizeof(out->nick));
	if (st.v[QUERY_NICK] == 0)
		memcpy(out->nick, st.nick, strlen(st.nick));
	return CHAT_OK;
}

int
query_uri_path(const char *uri, char *out, size_t outsz)
{
	size_t o = 0;

	for (; *uri && *uri != '?' && *uri != '#'; uri++) {
		int c = (unsigned char)*uri;
		if (c == '%') {
			int hi = query_hex(uri[1]);
			int lo = hi < 0 ? -1 : query_hex(uri[2]);
			if (lo < 0 || (c = hi * 16 + lo) == 0)
				return -1;
			uri += 2;
		}
		if (o + 1 >= outsz)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return 0;
}
