/* http.c - reads the request head a web server proxies for a WebSocket
 * upgrade, line by line within fixed caps, keeping only the request line
 * and the headers the handshake, the Origin check and the limits need. */
#include "http.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "query.h"

static const struct http_error_info errors[HTTP_E__MAX] = {
	[HTTP_OK] = { 200, "OK", "the request head is well-formed" },
	[HTTP_E_SYNTAX] = { 400, "Bad Request",
	    "the request head is malformed" },
	[HTTP_E_TARGET] = { 400, "Bad Request",
	    "the request target must be a path starting with a slash, with "
	    "well-formed percent escapes and no control characters" },
	[HTTP_E_URI_LONG] = { 414, "URI Too Long",
	    "the request line is longer than 4096 bytes" },
	[HTTP_E_FIELDS_LARGE] = { 431, "Request Header Fields Too Large",
	    "the request headers are too large or too many" },
	[HTTP_E_VERSION] = { 505, "HTTP Version Not Supported",
	    "only HTTP/1.1 is served here" },
	[HTTP_E_HOST] = { 400, "Bad Request",
	    "the request has no Host header" },
	[HTTP_E_DUPLICATE] = { 400, "Bad Request",
	    "a header that may appear only once appears twice" },
	[HTTP_E_BODY] = { 400, "Bad Request",
	    "a WebSocket upgrade request carries no body" },
	[HTTP_E_FORWARDED] = { 400, "Bad Request",
	    "the Forwarded header is malformed" },
};

/* The headers kept. A repeated list header is joined (RFC 9110 5.3); any
 * other kept header may appear once, so that no proxy and no browser can
 * make two parts of the chain read two different values. */
enum http_key {
	KEY_HOST, KEY_UPGRADE, KEY_CONNECTION, KEY_WS_KEY, KEY_WS_VERSION,
	KEY_ORIGIN, KEY_XFF, KEY_XFP, KEY_REMOTE_USER, KEY_FORWARDED,
	KEY_CONTENT_LENGTH, KEY_TRANSFER_ENCODING, KEY__MAX
};

static const struct http_field {
	const char *name;
	bool list;
} fields[KEY__MAX] = {
	[KEY_HOST] = { "Host", false },
	[KEY_UPGRADE] = { "Upgrade", true },
	[KEY_CONNECTION] = { "Connection", true },
	[KEY_WS_KEY] = { "Sec-WebSocket-Key", false },
	[KEY_WS_VERSION] = { "Sec-WebSocket-Version", false },
	[KEY_ORIGIN] = { "Origin", false },
	[KEY_XFF] = { "X-Forwarded-For", true },
	[KEY_XFP] = { "X-Forwarded-Proto", true },
	[KEY_REMOTE_USER] = { "X-Remote-User", false },
	[KEY_FORWARDED] = { "Forwarded", true },
	[KEY_CONTENT_LENGTH] = { "Content-Length", false },
	[KEY_TRANSFER_ENCODING] = { "Transfer-Encoding", true },
};

struct http_head {
	struct http_request req;
	const char *val[KEY__MAX];  /* kept header values, in keep */
	enum http_parse state;
	enum http_error err;
	bool started;               /* the request line has been read */
	unsigned nfields;
	size_t head_len, line_len, keep_len;
	char line[HTTP_LINE_MAX];   /* the line being read */
	char keep[HTTP_KEEP_MAX];   /* every string of req, NUL-terminated */
};

#define HTTP_OWS(c) ((c) == ' ' || (c) == '\t')

const struct http_error_info *
http_error_info(enum http_error e)
{
	if ((unsigned)e >= HTTP_E__MAX)
		e = HTTP_E_SYNTAX;
	return &errors[e];
}

struct http_head *
http_head_new(void)
{
	struct http_head *h = calloc(1, sizeof(*h));

	if (h != NULL)
		h->state = HTTP_MORE;
	return h;
}

void
http_head_free(struct http_head *h)
{
	free(h);
}

const struct http_request *
http_head_request(const struct http_head *h)
{
	return h->state == HTTP_DONE ? &h->req : NULL;
}

enum http_error
http_head_error(const struct http_head *h)
{
	return h->err;
}

/* RFC 9110 5.6.2 tchar. */
static bool
http_tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z') || (c != '\0' && strchr("!#$%&'*+-.^_`|~",
	    c) != NULL);
}

static size_t
http_token_len(const char *s, size_t len)
{
	size_t i = 0;

	while (i < len && http_tchar((unsigned char)s[i]))
		i++;
	return i;
}

/* Copies a, then ", " and b when a is not NULL, into the keep area.
 * Returns the copy, or NULL when the area is full. */
static const char *
http_keep(struct http_head *h, const char *a, const char *b, size_t blen)
{
	size_t alen = a != NULL ? strlen(a) + 2 : 0;
	char *out = h->keep + h->keep_len;

	if (blen >= HTTP_KEEP_MAX - h->keep_len ||
	    alen >= HTTP_KEEP_MAX - h->keep_len - blen)
		return NULL;
	if (a != NULL) {
		memcpy(out, a, alen - 2);
		memcpy(out + alen - 2, ", ", 2);
	}
	memcpy(out + alen, b, blen);
	out[alen + blen] = '\0';
	h->keep_len += alen + blen + 1;
	assert(h->keep_len <= HTTP_KEEP_MAX);
	return out;
}

/* Keeps the percent-decoded path s[0..len); NULL on a bad escape or one
 * that decodes to a control character (%00, %0A: no route has them, and a
 * path may end up in a log line or a header), or when the keep area is
 * full (*e says which). */
static const char *
http_path(struct http_head *h, const char *s, size_t len, enum http_error *e)
{
	char *out = h->keep + h->keep_len;
	size_t n = 0;
	int hi, lo;

	*e = HTTP_E_FIELDS_LARGE;
	if (len >= HTTP_KEEP_MAX - h->keep_len)
		return NULL;
	*e = HTTP_E_TARGET;
	for (size_t i = 0; i < len; i++) {
		if (s[i] != '%') {
			out[n++] = s[i];
			continue;
		}
		if (len - i < 3 || (hi = query_hex(s[i + 1])) < 0 ||
		    (lo = query_hex(s[i + 2])) < 0 || hi < 2 ||
		    (hi << 4 | lo) == 0x7F)
			return NULL;
		out[n++] = (char)(hi << 4 | lo);
		i += 2;
	}
	out[n] = '\0';
	h->keep_len += n + 1;
	return out;
}

/* origin-form (RFC 9112 3.2.1): "/" path ["?" query], visible ASCII. */
static enum http_error
http_target(struct http_head *h, const char *s, size_t len)
{
	const char *q = memchr(s, '?', len);
	size_t plen = q != NULL ? (size_t)(q - s) : len;
	enum http_error e;

	if (len == 0 || s[0] != '/')
		return HTTP_E_TARGET;
	for (size_t i = 0; i < len; i++)
		if (s[i] < 0x21 || s[i] > 0x7E || s[i] == '#')
			return HTTP_E_TARGET;
	if ((h->req.path = http_path(h, s, plen, &e)) == NULL)
		return e;
	if (q != NULL && (h->req.query = http_keep(h, NULL, q + 1,
	    len - plen - 1)) == NULL)
		return HTTP_E_FIELDS_LARGE;
	return HTTP_OK;
}

/* METHOD SP request-target SP HTTP/1.1 */
static enum http_error
http_request_line(struct http_head *h, const char *s, size_t len)
{
	static const char v11[] = "HTTP/1.1";
	const char *sp1, *sp2, *v;
	size_t mlen, vlen;

	if ((sp1 = memchr(s, ' ', len)) == NULL ||
	    (sp2 = memchr(sp1 + 1, ' ', len - (size_t)(sp1 + 1 - s))) == NULL)
		return HTTP_E_SYNTAX;
	mlen = (size_t)(sp1 - s);
	v = sp2 + 1;
	vlen = len - (size_t)(v - s);
	if (mlen == 0 || http_token_len(s, mlen) != mlen)
		return HTTP_E_SYNTAX;
	if (vlen != sizeof(v11) - 1 || memcmp(v, "HTTP/", 5) != 0 ||
	    v[5] < '0' || v[5] > '9' || v[6] != '.' || v[7] < '0' || v[7] > '9')
		return HTTP_E_SYNTAX;
	if (memcmp(v, v11, vlen) != 0)
		return HTTP_E_VERSION;
	if ((h->req.method = http_keep(h, NULL, s, mlen)) == NULL)
		return HTTP_E_FIELDS_LARGE;
	return http_target(h, sp1 + 1, (size_t)(sp2 - sp1 - 1));
}

static int
http_key(const char *name, size_t len)
{
	for (int k = 0; k < KEY__MAX; k++)
		if (strlen(fields[k].name) == len &&
		    strncasecmp(fields[k].name, name, len) == 0)
			return k;
	return -1;
}

/* field-name ":" OWS field-value OWS; a kept one goes to h->val. */
static enum http_error
http_field_line(struct http_head *h, const char *s, size_t len)
{
	const char *colon = memchr(s, ':', len), *v;
	size_t nlen, vlen;
	int k;

	if (colon == NULL)
		return HTTP_E_SYNTAX;
	/* A space before the colon, or at the start (obs-fold), fails here. */
	nlen = (size_t)(colon - s);
	if (nlen == 0 || http_token_len(s, nlen) != nlen)
		return HTTP_E_SYNTAX;
	v = colon + 1;
	vlen = len - nlen - 1;
	for (size_t i = 0; i < vlen; i++)
		if (((unsigned char)v[i] < 0x20 && v[i] != '\t') ||
		    v[i] == 0x7F)
			return HTTP_E_SYNTAX;
	while (vlen > 0 && HTTP_OWS(*v))
		v++, vlen--;
	while (vlen > 0 && HTTP_OWS(v[vlen - 1]))
		vlen--;
	if (++h->nfields > HTTP_FIELDS_MAX)
		return HTTP_E_FIELDS_LARGE;
	if ((k = http_key(s, nlen)) < 0)
		return HTTP_OK;
	if (h->val[k] != NULL && !fields[k].list)
		return HTTP_E_DUPLICATE;
	if ((h->val[k] = http_keep(h, h->val[k], v, vlen)) == NULL)
		return HTTP_E_FIELDS_LARGE;
	return HTTP_OK;
}

/* Sets *out to the last non-empty element of list, kept (NULL when list is
 * NULL or has none). Returns HTTP_OK or HTTP_E_FIELDS_LARGE. */
static enum http_error
http_list_last(struct http_head *h, const char *list, const char **out)
{
	const char *end, *start;

	*out = NULL;
	if (list == NULL)
		return HTTP_OK;
	end = list + strlen(list);
	while (end > list && (HTTP_OWS(end[-1]) || end[-1] == ','))
		end--;
	if (end == list)
		return HTTP_OK;
	start = end;
	while (start > list && start[-1] != ',')
		start--;
	while (HTTP_OWS(*start))
		start++;
	*out = http_keep(h, NULL, start, (size_t)(end - start));
	return *out != NULL ? HTTP_OK : HTTP_E_FIELDS_LARGE;
}

/* Reads a forwarded-pair value at *p: a token or a quoted-string. Sets
 * *p past it; returns its length, 0 when malformed. */
static size_t
http_fwd_value(const char **p)
{
	const char *s = *p;
	size_t n;

	if (*s != '"') {
		n = http_token_len(s, strlen(s));
		*p = s + n;
		return n;
	}
	for (n = 1; s[n] != '"'; n++) {
		if (s[n] == '\0' || (s[n] == '\\' && s[++n] == '\0'))
			return 0;
	}
	*p = s + n + 1;
	return n + 1;
}

/* Keeps v[0..n), a token or quoted-string, unquoted; NULL when the keep
 * area is full. A quoted string may be longer than a line: repeated
 * Forwarded lines are joined before they are read. */
static const char *
http_unquote(struct http_head *h, const char *v, size_t n)
{
	char *out = h->keep + h->keep_len;
	size_t o = 0;

	if (v[0] != '"')
		return http_keep(h, NULL, v, n);
	assert(n >= 2);
	if (n - 1 > HTTP_KEEP_MAX - h->keep_len)
		return NULL;
	for (size_t i = 1; i + 1 < n; i++)
		out[o++] = v[i] == '\\' ? v[++i] : v[i];
	out[o] = '\0';
	h->keep_len += o + 1;
	return out;
}

/*
 * Finds remote_user in the last element of a Forwarded list (RFC 7239).
 * Quoted strings are read whole, so a comma inside one (lighttpd quotes
 * user names) ends nothing, and a browser's unclosed quote in its own
 * element makes the whole header fail rather than swallow the element
 * the web server appended.
 */
static enum http_error
http_forwarded(struct http_head *h, const char *p)
{
	const char *name, *found = NULL;
	size_t nlen, vlen, flen = 0;

	for (; p != NULL && *p != '\0';) {
		if (HTTP_OWS(*p) || *p == ';' || *p == ',') {
			if (*p++ == ',')
				found = NULL;
			continue;
		}
		name = p;
		nlen = http_token_len(p, strlen(p));
		p += nlen;
		if (nlen == 0 || *p++ != '=')
			return HTTP_E_FORWARDED;
		if ((vlen = http_fwd_value(&p)) == 0)
			return HTTP_E_FORWARDED;
		if (nlen == 11 && strncasecmp(name, "remote_user", 11) == 0) {
			found = p - vlen;
			flen = vlen;
		}
		if (*p != '\0' && !HTTP_OWS(*p) && *p != ';' && *p != ',')
			return HTTP_E_FORWARDED;
	}
	if (found != NULL &&
	    (h->req.fwd_user = http_unquote(h, found, flen)) == NULL)
		return HTTP_E_FIELDS_LARGE;
	return HTTP_OK;
}

/* After the blank line: what every head needs, and the derived fields. */
static enum http_error
http_head_end(struct http_head *h)
{
	const char *cl = h->val[KEY_CONTENT_LENGTH];
	struct http_request *r = &h->req;
	enum http_error e;

	if (h->val[KEY_HOST] == NULL)
		return HTTP_E_HOST;
	if (cl != NULL && (cl[0] == '\0' || strspn(cl, "0123456789") !=
	    strlen(cl)))
		return HTTP_E_SYNTAX;
	if ((cl != NULL && strspn(cl, "0") != strlen(cl)) ||
	    h->val[KEY_TRANSFER_ENCODING] != NULL)
		return HTTP_E_BODY;
	r->host = h->val[KEY_HOST];
	r->upgrade = h->val[KEY_UPGRADE];
	r->connection = h->val[KEY_CONNECTION];
	r->ws_key = h->val[KEY_WS_KEY];
	r->ws_version = h->val[KEY_WS_VERSION];
	r->origin = h->val[KEY_ORIGIN];
	r->forwarded_for = h->val[KEY_XFF];
	r->user = h->val[KEY_REMOTE_USER];
	if (r->user != NULL && r->user[0] == '\0')
		r->user = NULL;
	if ((e = http_list_last(h, h->val[KEY_XFF], &r->client)) != HTTP_OK ||
	    (e = http_list_last(h, h->val[KEY_XFP], &r->proto)) != HTTP_OK)
		return e;
	return http_forwarded(h, h->val[KEY_FORWARDED]);
}

/* One line of h->line, its LF still there. */
static enum http_error
http_line(struct http_head *h)
{
	size_t len = h->line_len;

	assert(len > 0 && h->line[len - 1] == '\n');
	h->line_len = 0;
	len--;
	if (len > 0 && h->line[len - 1] == '\r')
		len--;
	if (memchr(h->line, '\r', len) != NULL)
		return HTTP_E_SYNTAX;
	if (len == 0 && !h->started)	/* RFC 9112 2.2: ignore it */
		return HTTP_OK;
	if (len == 0) {
		h->state = HTTP_DONE;
		return http_head_end(h);
	}
	if (!h->started) {
		h->started = true;
		return http_request_line(h, h->line, len);
	}
	return http_field_line(h, h->line, len);
}

static enum http_parse
http_fail(struct http_head *h, enum http_error e)
{
	assert(e != HTTP_OK);
	h->err = e;
	h->state = HTTP_BAD;
	return HTTP_BAD;
}

enum http_parse
http_head_parse(struct http_head *h, const void *data, size_t len,
    size_t *used)
{
	const char *d = data, *nl;
	enum http_error e;
	size_t i = 0, n;

	*used = 0;
	while (h->state == HTTP_MORE && i < len) {
		nl = memchr(d + i, '\n', len - i);
		n = nl != NULL ? (size_t)(nl - d) + 1 - i : len - i;
		if (n > HTTP_LINE_MAX - h->line_len)
			return http_fail(h, h->started ? HTTP_E_FIELDS_LARGE :
			    HTTP_E_URI_LONG);
		if (n > HTTP_HEAD_MAX - h->head_len)
			return http_fail(h, HTTP_E_FIELDS_LARGE);
		memcpy(h->line + h->line_len, d + i, n);
		h->line_len += n;
		h->head_len += n;
		i += n;
		if (nl != NULL && (e = http_line(h)) != HTTP_OK)
			return http_fail(h, e);
	}
	assert(i <= len && h->head_len <= HTTP_HEAD_MAX);
	*used = i;
	return h->state;
}

bool
http_list_has(const char *list, const char *token)
{
	size_t tlen = strlen(token), n;

	for (const char *p = list; p != NULL && *p != '\0';) {
		while (HTTP_OWS(*p) || *p == ',')
			p++;
		n = strcspn(p, ",");
		while (n > 0 && HTTP_OWS(p[n - 1]))
			n--;
		if (n == tlen && strncasecmp(p, token, n) == 0)
			return true;
		p += strcspn(p, ",");
	}
	return false;
}
