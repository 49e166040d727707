/* http_parse.c - incremental HTTP/1.1 response parser (see http_parse.h). */
#include "http_parse.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void hp_init(struct http_resp *r)
{
	memset(r, 0, sizeof *r);
	hp_reset(r);
}

void hp_reset(struct http_resp *r)
{
	r->state = HP_STATUS;
	r->status = 0;
	r->chunked = 0;
	r->conn_close = 0;
	r->event_stream = 0;
	r->upgrade_websocket = 0;
	r->content_length = -1;
	r->left = 0;
	r->line_len = 0;
	r->etag[0] = '\0';
	r->last_modified[0] = '\0';
	r->ws_accept[0] = '\0';
	r->body.len = 0;
}

void hp_free(struct http_resp *r)
{
	free(r->body.p);
	r->body.p = NULL;
	r->body.len = r->body.cap = 0;
}

int hp_headers_done(const struct http_resp *r)
{
	return r->state != HP_STATUS && r->state != HP_HEADERS &&
	       r->state != HP_ERROR;
}

void hp_body_consume(struct http_resp *r, size_t n)
{
	if (n >= r->body.len) {
		r->body.len = 0;
		return;
	}
	memmove(r->body.p, r->body.p + n, r->body.len - n);
	r->body.len -= n;
}

static int body_append(struct http_resp *r, const char *p, size_t n)
{
	struct hp_buf *b = &r->body;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 512;
		while (cap < b->len + n + 1)
			cap *= 2;
		if (cap > HP_BODY_MAX)
			return -1;
		char *q = realloc(b->p, cap);
		if (!q)
			return -1;
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0'; /* handy for string scans; not counted */
	return 0;
}

static void copy_value(char *dst, size_t cap, const char *v)
{
	size_t n = strlen(v);
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, v, n);
	dst[n] = '\0';
}

/* Case-insensitive: does the comma list v contain the token tok? */
static int has_token(const char *v, const char *tok)
{
	size_t n = strlen(tok);
	for (const char *p = v; *p; p++) {
		if (strncasecmp(p, tok, n) == 0 &&
		    (p == v || p[-1] == ',' || p[-1] == ' ') &&
		    (p[n] == '\0' || p[n] == ',' || p[n] == ' ' || p[n] == ';'))
			return 1;
	}
	return 0;
}

static int parse_status(struct http_resp *r, const char *s)
{
	if (strncmp(s, "HTTP/1.", 7) != 0 || !isdigit((unsigned char)s[7]) ||
	    s[8] != ' ')
		return -1;
	if (!isdigit((unsigned char)s[9]) || !isdigit((unsigned char)s[10]) ||
	    !isdigit((unsigned char)s[11]))
		return -1;
	r->status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
	r->conn_close = s[7] == '0';
	r->state = HP_HEADERS;
	return 0;
}

static int parse_header(struct http_resp *r, char *s)
{
	char *colon = strchr(s, ':');
	if (!colon || colon == s)
		return -1;
	*colon = '\0';
	char *v = colon + 1;
	while (*v == ' ' || *v == '\t')
		v++;
	size_t vl = strlen(v);
	while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
		v[--vl] = '\0';
	if (strcasecmp(s, "Content-Length") == 0) {
		char *end;
		long long n = strtoll(v, &end, 10);
		if (end == v || *end || n < 0)
			return -1;
		r->content_length = n;
	} else if (strcasecmp(s, "Transfer-Encoding") == 0) {
		r->chunked = has_token(v, "chunked");
	} else if (strcasecmp(s, "Connection") == 0) {
		if (has_token(v, "close"))
			r->conn_close = 1;
		else if (has_token(v, "keep-alive"))
			r->conn_close = 0;
	} else if (strcasecmp(s, "Content-Type") == 0) {
		r->event_stream = strncasecmp(v, "text/event-stream", 17) == 0;
	} else if (strcasecmp(s, "Etag") == 0) {
		copy_value(r->etag, sizeof r->etag, v);
	} else if (strcasecmp(s, "Last-Modified") == 0) {
		copy_value(r->last_modified, sizeof r->last_modified, v);
	} else if (strcasecmp(s, "Upgrade") == 0) {
		r->upgrade_websocket = has_token(v, "websocket");
	} else if (strcasecmp(s, "Sec-WebSocket-Accept") == 0) {
		copy_value(r->ws_accept, sizeof r->ws_accept, v);
	}
	return 0;
}

/* Blank line after the headers: choose how the body is framed. */
static void end_headers(struct http_resp *r)
{
	if (r->status >= 100 && r->status < 200 && r->status != 101) {
		hp_reset(r); /* interim answer: the real one follows */
		return;
	}
	if (r->status == 101 || r->status == 204 || r->status == 304) {
		r->state = HP_DONE;
	} else if (r->chunked) {
		r->state = HP_CHUNK_SIZE;
	} else if (r->content_length >= 0) {
		r->left = (uint64_t)r->content_length;
		r->state = r->left ? HP_BODY_LEN : HP_DONE;
	} else {
		r->conn_close = 1;
		r->state = HP_BODY_EOF;
	}
}

static int parse_chunk_size(struct http_resp *r, const char *s)
{
	uint64_t n = 0;
	const char *p = s;
	for (; isxdigit((unsigned char)*p); p++) {
		if (n >> 56)
			return -1;
		int d = isdigit((unsigned char)*p) ? *p - '0'
						  : (tolower((unsigned char)*p) - 'a' + 10);
		n = n * 16 + (uint64_t)d;
	}
	if (p == s || (*p && *p != ';' && *p != ' ' && *p != '\t'))
		return -1;
	r->left = n;
	r->state = n ? HP_CHUNK_DATA : HP_TRAILER;
	return 0;
}

static int process_line(struct http_resp *r, char *s)
{
	switch (r->state) {
	case HP_STATUS:
		if (*s == '\0')
			return 0; /* tolerate a stray CRLF between responses */
		return parse_status(r, s);
	case HP_HEADERS:
		if (*s == '\0') {
			end_headers(r);
			return 0;
		}
		return parse_header(r, s);
	case HP_CHUNK_SIZE:
		return parse_chunk_size(r, s);
	case HP_CHUNK_CRLF:
		if (*s)
			return -1;
		r->state = HP_CHUNK_SIZE;
		return 0;
	case HP_TRAILER:
		if (*s == '\0')
			r->state = HP_DONE;
		return 0;
	default:
		return -1;
	}
}

/* Line-oriented states: gathers one line; returns bytes used or -1. */
static ssize_t feed_line(struct http_resp *r, const char *d, size_t len)
{
	const char *nl = memchr(d, '\n', len);
	size_t take = nl ? (size_t)(nl - d) + 1 : len;
	size_t body = nl ? take - 1 : take;
	if (r->line_len + body >= HP_LINE_MAX)
		return -1;
	memcpy(r->line + r->line_len, d, body);
	r->line_len += body;
	if (!nl)
		return (ssize_t)take;
	if (r->line_len && r->line[r->line_len - 1] == '\r')
		r->line_len--;
	r->line[r->line_len] = '\0';
	r->line_len = 0;
	return process_line(r, r->line) < 0 ? -1 : (ssize_t)take;
}

static ssize_t feed_data(struct http_resp *r, const char *d, size_t len)
{
	size_t n = len;
	if (r->state != HP_BODY_EOF && r->left < n)
		n = (size_t)r->left;
	if (body_append(r, d, n) < 0)
		return -1;
	if (r->state == HP_BODY_EOF)
		return (ssize_t)n;
	r->left -= n;
	if (r->left == 0)
		r->state = r->state == HP_BODY_LEN ? HP_DONE : HP_CHUNK_CRLF;
	return (ssize_t)n;
}

ssize_t hp_feed(struct http_resp *r, const char *data, size_t len)
{
	size_t used = 0;
	while (used < len && r->state != HP_DONE && r->state != HP_ERROR) {
		ssize_t n;
		if (r->state == HP_BODY_LEN || r->state == HP_BODY_EOF ||
		    r->state == HP_CHUNK_DATA)
			n = feed_data(r, data + used, len - used);
		else
			n = feed_line(r, data + used, len - used);
		if (n < 0) {
			r->state = HP_ERROR;
			return -1;
		}
		used += (size_t)n;
	}
	return r->state == HP_ERROR ? -1 : (ssize_t)used;
}

int hp_eof(struct http_resp *r)
{
	if (r->state == HP_BODY_EOF) {
		r->state = HP_DONE;
		return 0;
	}
	return r->state == HP_DONE ? 0 : -1;
}
