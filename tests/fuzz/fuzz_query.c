/* fuzz_query.c - libFuzzer target for query.c: query_parse only accepts
 * values in API.md's ranges and valid nicks, answers the same for its own
 * canonical form, and query_int agrees with a 128-bit reference. */
#include <assert.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat.h"
#include "query.h"
#include "validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reference for query_int: all digits, at least one, value in range. */
static int
ref_int(const char *s, size_t len, int64_t min, int64_t max, int64_t *out)
{
	unsigned __int128 v = 0;

	if (len == 0)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
		if (v > (unsigned __int128)INT64_MAX)
			return -1;
	}
	if ((int64_t)v < min || (int64_t)v > max)
		return -1;
	*out = (int64_t)v;
	return 0;
}

static void
check_int(const char *s, size_t len)
{
	static const int64_t ranges[][2] = {
		{ 0, INT64_MAX }, { 1, CHAT_MAX_LIMIT }, { 0, CHAT_MAX_WAIT },
	};
	int64_t a, b;

	for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
		int ra = query_int(s, len, ranges[i][0], ranges[i][1], &a);
		int rb = ref_int(s, len, ranges[i][0], ranges[i][1], &b);
		assert(ra == rb);
		assert(ra == -1 || a == b);
	}
}

static void
check_params(const struct query_params *p)
{
	assert(p->since >= -1 && p->before >= -1);
	assert(p->since == -1 || p->before == -1);
	assert(p->limit >= 1 && p->limit <= CHAT_MAX_LIMIT);
	assert(p->wait >= -1 && p->wait <= CHAT_MAX_WAIT);
	assert(p->presence >= -1);
	/* A nick is kept trimmed: checking it again changes nothing. */
	if (*p->nick != '\0') {
		size_t start, len;
		assert(validate_nick(p->nick, strlen(p->nick), &start, &len,
		    NULL) == CHAT_OK);
		assert(start == 0 && len == strlen(p->nick));
	}
}

/* Writes p back as a query string and checks it parses to the same. */
static void
check_canonical(const struct query_params *p)
{
	struct query_params q;
	char qs[640];
	int n;

	n = snprintf(qs, sizeof(qs), "limit=%d", p->limit);
	if (p->since != -1)
		n += snprintf(qs + n, sizeof(qs) - (size_t)n, "&since=%" PRId64,
		    p->since);
	if (p->before != -1)
		n += snprintf(qs + n, sizeof(qs) - (size_t)n,
		    "&before=%" PRId64, p->before);
	if (p->wait != -1)
		n += snprintf(qs + n, sizeof(qs) - (size_t)n, "&wait=%d",
		    p->wait);
	if (p->presence != -1)
		n += snprintf(qs + n, sizeof(qs) - (size_t)n,
		    "&presence=%" PRId64, p->presence);
	if (*p->nick != '\0') {
		n += snprintf(qs + n, sizeof(qs) - (size_t)n, "&nick=");
		for (const char *c = p->nick; *c; c++)
			n += snprintf(qs + n, sizeof(qs) - (size_t)n, "%%%02X",
			    (unsigned char)*c);
	}
	assert(query_parse(qs, &q, NULL) == CHAT_OK);
	/* Field by field: the struct has padding. */
	assert(p->since == q.since && p->before == q.before &&
	    p->limit == q.limit && p->wait == q.wait &&
	    p->presence == q.presence && strcmp(p->nick, q.nick) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct query_params p;
	const char *why = NULL;
	enum chat_error e;
	int64_t id;
	char *qs;

	check_int((const char *)data, size < 24 ? size : 24);
	if ((qs = malloc(size + 1)) == NULL)
		return 0;
	memcpy(qs, data, size);
	qs[size] = '\0';
	e = query_parse(qs, &p, &why);
	assert(e == CHAT_OK || ((e == CHAT_E_BAD_PARAM ||
	    e == CHAT_E_BAD_NICK) && why != NULL));
	if (e == CHAT_OK) {
		assert(strlen(qs) <= QUERY_MAX_LEN);
		check_params(&p);
		check_canonical(&p);
	}
	if (query_last_event_id(qs, &id) == 0)
		assert(id >= 0);
	free(qs);
	return 0;
}
