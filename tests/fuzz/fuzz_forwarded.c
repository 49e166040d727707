/* fuzz_forwarded.c - libFuzzer target for forwarded.c: the input is a
 * list of trusted proxies, a newline, and an X-Forwarded-For value. A
 * list forwarded_trusted_ok refuses is never used (the worker does not
 * start with one); with an accepted one, or none, forwarded_client never
 * reads past the NUL, and what it returns is an address in the one form
 * forwarded_addr writes, found among the value's elements; with none
 * trusted it is the last element. */
#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "forwarded.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The last element of xff (commas, spaces and tabs between), into out
 * (size n), or "" when there is none. */
static void
last_element(const char *xff, char *out, size_t n)
{
	size_t end = strlen(xff), start;

	while (end > 0 && strchr(", \t", xff[end - 1]) != NULL)
		end--;
	for (start = end; start > 0 && strchr(", \t", xff[start - 1]) == NULL;
	    start--)
		continue;
	if (end - start >= n)
		end = start + n - 1;
	memcpy(out, xff + start, end - start);
	out[end - start] = '\0';
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), *xff, out[FORWARDED_ADDR_MAX];
	char again[FORWARDED_ADDR_MAX], last[256];
	const char *trusted;

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if ((xff = strchr(text, '\n')) != NULL) {
		*xff++ = '\0';
		trusted = forwarded_trusted_ok(text) ? text : NULL;
	} else {
		xff = text;
		trusted = NULL;
	}
	if (forwarded_client(trusted, xff, out)) {
		assert(forwarded_addr(out, again));
		assert(strcmp(out, again) == 0);
	}
	if (trusted == NULL) {
		last_element(xff, last, sizeof(last));
		bool a = forwarded_client(NULL, xff, out);
		bool b = forwarded_addr(last, again);
		assert(a == b);
		assert(!a || strcmp(out, again) == 0);
	}
	free(text);
	return 0;
}
