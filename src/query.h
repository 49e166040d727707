/* query.h - parses and range-checks the query string of API.md's GET
 * endpoints (since, before, limit, wait; nick and presence for who is
 * here) and the Last-Event-ID header. */
#ifndef QUERY_H
#define QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "identity.h"

#define QUERY_MAX_LEN 4096   /* longer query strings are bad_param */
#define QUERY_MAX_PARAMS 32  /* more name=value pairs are bad_param */

struct query_params {
	int64_t since;   /* -1 when absent; else 0..INT64_MAX */
	int64_t before;  /* -1 when absent; else 0..INT64_MAX */
	int limit;       /* 1..1000, CHAT_DEFAULT_LIMIT when absent */
	int wait;        /* -1 when absent; else 0..60 */
	int64_t presence;  /* -1 when absent; else 0..INT64_MAX: the client
	                    * wants presence lists newer than this version */
	char nick[CHAT_MAX_USER + 1];  /* an anonymous page's nick, checked
	                                * and trimmed as a send's; "" when
	                                * absent */
};

/* Parses qs (QUERY_STRING, may be NULL or empty) into *out. Names and
 * values are percent-decoded ('+' is a space). since, before, limit,
 * wait and presence must each appear at most once, with a decimal value
 * in range; nick at most once, a valid nick (else CHAT_E_BAD_NICK);
 * since and before together are not allowed; unknown names are ignored.
 * Returns CHAT_OK, or CHAT_E_BAD_PARAM with *why naming the parameter
 * (why may be NULL); *out is then unspecified. */
enum chat_error query_parse(const char *qs, struct query_params *out,
    const char **why);

/* Parses s[0..len) as a decimal integer in [min, max]: ASCII digits only,
 * no sign, no white space, leading zeros allowed, at least one digit.
 * Returns 0 and sets *out, or -1 (overflow included). */
int query_int(const char *s, size_t len, int64_t min, int64_t max,
    int64_t *out);

/* The value of the hex digit c (0-9, a-f, A-F), or -1 for any other
 * character. */
int query_hex(int c);

/* Parses a Last-Event-ID header value (a decimal id >= 0, surrounding
 * spaces and tabs allowed). Returns 0 and sets *out, or -1. */
int query_last_event_id(const char *s, int64_t *out);

/* The path part of a REQUEST_URI (before '?' or '#'), percent-decoded into
 * out (outsz bytes, NUL-terminated). Returns 0, or -1 when an escape is
 * malformed, decodes to NUL, or the path does not fit. */
int query_uri_path(const char *uri, char *out, size_t outsz);

#endif
