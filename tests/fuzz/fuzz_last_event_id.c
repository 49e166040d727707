/* fuzz_last_event_id.c - libFuzzer target for query_last_event_id, the
 * parser of the Last-Event-ID header that an SSE client resumes with: it
 * agrees with a 128-bit reference (spaces and tabs around, then ASCII
 * digits only, at most INT64_MAX), never reads past the NUL, and what it
 * accepts prints back to a value it parses the same. */
#include <assert.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
ref_last_event_id(const char *s, int64_t *out)
{
	size_t b = 0, e = strlen(s);
	unsigned __int128 v = 0;

	while (s[b] == ' ' || s[b] == '\t')
		b++;
	while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t'))
		e--;
	if (b == e)
		return -1;
	for (size_t i = b; i < e; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
		if (v > (unsigned __int128)INT64_MAX)
			return -1;
	}
	*out = (int64_t)v;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int64_t a = -1, b = -1, c = -1;
	char again[32];
	char *s;
	int ra, rb;

	/* Exactly the bytes up to the first NUL, as a header value arrives:
	 * a heap copy of that size, so ASan sees any read past its end. */
	size = strnlen((const char *)data, size);
	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	ra = query_last_event_id(s, &a);
	rb = ref_last_event_id(s, &b);
	assert(ra == rb);
	if (ra == 0) {
		assert(a == b && a >= 0);
		snprintf(again, sizeof(again), " %" PRId64 "\t", a);
		assert(query_last_event_id(again, &c) == 0 && c == a);
	}
	assert(query_last_event_id(NULL, &c) == -1);
	free(s);
	return 0;
}
