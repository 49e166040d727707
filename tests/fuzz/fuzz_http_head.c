/* fuzz_http_head.c - libFuzzer target for http.c (and ws_handshake on
 * what it finds): the input fed whole and in pieces whose sizes come from
 * the input gives the same result, the same bytes used and the same
 * fields; a parsed head's strings hold no CR, LF or NUL and its path
 * starts with '/'; http_list_has agrees with a reference written
 * differently. */
#include <assert.h>
#include <ctype.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "ws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Feeds d[0..n) in pieces: all at once when sizes is NULL, else of
 * 1 + sizes[i] % 64 bytes. */
static enum http_parse
run(struct http_head *h, const uint8_t *d, size_t n, const uint8_t *sizes,
    size_t nsizes, size_t *used)
{
	enum http_parse r = HTTP_MORE;
	size_t at = 0, k = 0, piece, u;

	*used = 0;
	while (at < n && r == HTTP_MORE) {
		piece = sizes == NULL ? n - at : 1 + sizes[k++ % nsizes] % 64;
		if (piece > n - at)
			piece = n - at;
		r = http_head_parse(h, d + at, piece, &u);
		assert(u <= piece && (r != HTTP_MORE || u == piece));
		*used += u;
		at += piece;
	}
	return r;
}

/* Reference: lower-case copy, split at commas, trim spaces and tabs. */
static bool
ref_list_has(const char *list, const char *token)
{
	char *copy, *p, *e, *save = NULL;
	bool found = false;

	if (list == NULL || (copy = strdup(list)) == NULL)
		return false;
	for (p = copy; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	for (p = strtok_r(copy, ",", &save); p != NULL && !found;
	    p = strtok_r(NULL, ",", &save)) {
		while (*p == ' ' || *p == '\t')
			p++;
		e = p + strlen(p);
		while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
			*--e = '\0';
		found = strcmp(p, token) == 0;
	}
	free(copy);
	return found;
}

static void
same_string(const char *a, const char *b)
{
	assert((a == NULL) == (b == NULL));
	assert(a == NULL || strcmp(a, b) == 0);
	assert(a == NULL || strpbrk(a, "\r\n") == NULL);
}

#define FIELD(r, off) (*(const char *const *)((const char *)(r) + (off)))

static const size_t fields[] = {
	offsetof(struct http_request, method),
	offsetof(struct http_request, path),
	offsetof(struct http_request, query),
	offsetof(struct http_request, host),
	offsetof(struct http_request, upgrade),
	offsetof(struct http_request, connection),
	offsetof(struct http_request, ws_key),
	offsetof(struct http_request, ws_version),
	offsetof(struct http_request, origin),
	offsetof(struct http_request, client),
	offsetof(struct http_request, proto),
	offsetof(struct http_request, user),
	offsetof(struct http_request, fwd_user),
};

static void
check_request(const struct http_request *a, const struct http_request *b)
{
	char acc[WS_ACCEPT_LEN + 1];

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		same_string(FIELD(a, fields[i]), FIELD(b, fields[i]));
	assert(a->method != NULL && a->method[0] != '\0');
	assert(a->path != NULL && a->path[0] == '/');
	assert(a->host != NULL);
	assert(http_list_has(a->connection, "upgrade") ==
	    ref_list_has(a->connection, "upgrade"));
	assert(http_list_has(a->upgrade, "websocket") ==
	    ref_list_has(a->upgrade, "websocket"));
	if (ws_handshake(a->upgrade, a->connection, a->ws_version, a->ws_key,
	    acc, NULL) == WS_HS_OK)
		assert(strlen(acc) == WS_ACCEPT_LEN);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_head *a = http_head_new(), *b = http_head_new();
	enum http_parse ra, rb;
	size_t ua, ub;

	assert(a != NULL && b != NULL);
	ra = run(a, data, size, NULL, 0, &ua);
	rb = run(b, data, size, data, size, &ub);
	assert(ra == rb && (ra == HTTP_BAD || (ua == ub && ua <= size)));
	assert(http_head_error(a) == http_head_error(b));
	assert((ra == HTTP_BAD) == (http_head_error(a) != HTTP_OK));
	assert(http_error_info(http_head_error(a))->status >= 200);
	if (ra == HTTP_DONE)
		check_request(http_head_request(a), http_head_request(b));
	else
		assert(http_head_request(a) == NULL);
	if (ra == HTTP_MORE)
		assert(ua == size);
	http_head_free(a);
	http_head_free(b);
	return 0;
}
