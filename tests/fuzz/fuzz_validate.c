/* fuzz_validate.c - libFuzzer target for validate.c: the first byte picks
 * a validator, the rest is its input, and each answer is compared with a
 * plain reference implementation of API.md's rule. */
#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chat.h"
#include "utf8.h"
#include "validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_room(const char *s, size_t len)
{
	const char *why = NULL;
	enum chat_error e = validate_room(s, len, &why);
	bool want = len >= 1 && len <= CHAT_MAX_ROOM;

	for (size_t i = 0; i < len && want; i++)
		want = s[i] != '\0' && strchr("abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-", s[i]) != NULL;
	assert(want == (e == CHAT_OK));
	assert(e == CHAT_OK || (e == CHAT_E_BAD_ROOM && why != NULL));
}

/* Decodes s[0..len) into a new array; returns NULL if not UTF-8. */
static uint32_t *
decode_all(const char *s, size_t len, size_t *n, size_t **offs)
{
	uint32_t *cps = malloc((len + 1) * sizeof(*cps));
	size_t i = 0, k = 0, used;

	*offs = malloc((len + 1) * sizeof(**offs));
	assert(cps != NULL && *offs != NULL);
	while (i < len) {
		if ((used = utf8_decode(s + i, len - i, &cps[k])) == 0) {
			free(cps);
			free(*offs);
			return NULL;
		}
		(*offs)[k++] = i;
		i += used;
	}
	(*offs)[k] = len;
	*n = k;
	return cps;
}

static void
check_nick(const char *s, size_t len)
{
	size_t start = 0, tlen = 0, n, b = 0, *offs;
	const char *why = NULL;
	enum chat_error e = validate_nick(s, len, &start, &tlen, &why);
	uint32_t *cps = decode_all(s, len, &n, &offs);
	bool want = cps != NULL;

	assert(e == CHAT_OK || (e == CHAT_E_BAD_NICK && why != NULL));
	if (cps == NULL) {
		assert(e != CHAT_OK);
		return;
	}
	while (b < n && utf8_is_white_space(cps[b]))
		b++;
	while (n > b && utf8_is_white_space(cps[n - 1]))
		n--;
	want = n - b >= 1 && n - b <= CHAT_MAX_NICK;
	for (size_t i = b; i < n && want; i++)
		want = !utf8_is_control(cps[i]);
	assert(want == (e == CHAT_OK));
	if (e == CHAT_OK)
		assert(start == offs[b] && tlen == offs[n] - offs[b]);
	free(cps);
	free(offs);
}

/* Reference normalisation: "\r\n" -> "\n" first, then "\r" -> "\n". */
static char *
ref_newlines(const char *s, size_t len, size_t *outlen)
{
	char *a = malloc(len + 1);
	size_t i, o = 0;

	assert(a != NULL);
	for (i = 0; i < len; i++) {
		if (s[i] == '\r' && i + 1 < len && s[i + 1] == '\n')
			continue;
		a[o++] = s[i];
	}
	for (i = 0; i < o; i++)
		if (a[i] == '\r')
			a[i] = '\n';
	a[o] = '\0';
	*outlen = o;
	return a;
}

static bool
ref_text_ok(const char *s, size_t len)
{
	size_t n, *offs;
	uint32_t *cps = decode_all(s, len, &n, &offs);
	bool ok = cps != NULL && len >= 1 && len <= CHAT_MAX_TEXT;

	for (size_t i = 0; ok && i < n; i++)
		ok = !utf8_is_control(cps[i]) || cps[i] == '\n' ||
		    cps[i] == '\t';
	free(cps);
	if (cps != NULL)
		free(offs);
	return ok;
}

static void
check_text(const char *s, size_t len)
{
	const char *why = NULL;
	char *out = NULL, *want, *again = NULL;
	size_t outlen = 0, wlen, alen = 0;
	enum chat_error e = validate_text(s, len, &out, &outlen, &why);

	assert(e == CHAT_OK || e == CHAT_E_BAD_TEXT || e == CHAT_E_INTERNAL);
	want = ref_newlines(s, len, &wlen);
	if (!utf8_valid(s, len) || !ref_text_ok(want, wlen)) {
		assert(e != CHAT_OK && out == NULL && why != NULL);
		free(want);
		return;
	}
	assert(e == CHAT_OK);
	assert(outlen == wlen && memcmp(out, want, wlen + 1) == 0);
	assert(strlen(out) == outlen && memchr(out, '\r', outlen) == NULL);
	/* Normalised text is its own normal form. */
	assert(validate_text(out, outlen, &again, &alen, NULL) == CHAT_OK);
	assert(alen == outlen && memcmp(again, out, alen) == 0);
	free(again);
	free(want);
	free(out);
}

static void
check_client_id(const char *s, size_t len)
{
	const char *why = NULL;
	enum chat_error e = validate_client_id(s, len, &why);
	bool want = len >= 1 && len <= CHAT_MAX_CLIENT_ID;

	for (size_t i = 0; i < len && want; i++)
		want = s[i] >= '!' && s[i] <= '~';
	assert(want == (e == CHAT_OK));
	assert(e == CHAT_OK || (e == CHAT_E_BAD_CLIENT_ID && why != NULL));
}

static void (*const checks[])(const char *, size_t) = {
	check_room, check_nick, check_text, check_client_id,
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 0)
		checks[data[0] % (sizeof(checks) / sizeof(checks[0]))](
		    (const char *)data + 1, size - 1);
	return 0;
}
