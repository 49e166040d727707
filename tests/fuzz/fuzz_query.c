/* fuzz_query.c - libFuzzer target for query.c: query_parse only accepts
 * values in API.md's ranges, answers the same for its own canonical form,
 * and query_int agrees with a 128-bit reference. */
#include <assert.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat.h"
#include "query.h"

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
}

/* Writes p back as a query string and checks it parses to the same. */
static void
check_canonical(const struct query_params *p)
{
	struct query_params q;
	char qs[128];
	int n;

	n = snprintf(qs, sizeof(qs), "limit=%d", p->limit);
	if (p->since != -1)
		n += snprintf(qs + n, sizeof(qs) - (size_t)n, "&since=%" PRId64,
		    p->since);
	if (p->before != -1)
		n += snprintf(qs + n, sizeof(qs) - (size_t)n,
		    "&before=%" PRId64, p->before);
	if (p->wait != -1)
		snprintf(qs + n, sizeof(qs) - (size_t)n, "&wait=%d", p->wait);
	assert(query_parse(qs, &q, NULL) == CHAT_OK);
	assert(memcmp(p, &q, sizeof(q)) == 0);
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
	assert(e == CHAT_OK || (e == CHAT_E_BAD_PARAM && why != NULL));
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
