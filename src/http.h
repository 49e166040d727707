/* http.h - a bounded, incremental parser of the HTTP/1.1 request head that
 * lighttpd (mod_proxy) or Apache (mod_proxy_http) forwards to the worker
 * for a WebSocket upgrade, and the header-list helpers the handshake uses. */
#ifndef HTTP_H
#define HTTP_H

#include <stdbool.h>
#include <stddef.h>

#define HTTP_LINE_MAX 4096   /* request line or one header line, CRLF too */
#define HTTP_HEAD_MAX 16384  /* the whole head, blank line included */
#define HTTP_FIELDS_MAX 64   /* header lines */
#define HTTP_KEEP_MAX 8192   /* method, path, query and kept values together */

/* Why a head was refused; http_error_info() gives the HTTP status. */
enum http_error {
	HTTP_OK = 0,
	HTTP_E_SYNTAX,        /* 400: malformed request line or header line */
	HTTP_E_TARGET,        /* 400: request target not "/path[?query]" */
	HTTP_E_URI_LONG,      /* 414: request line over HTTP_LINE_MAX */
	HTTP_E_FIELDS_LARGE,  /* 431: a header line, the head, the header count
	                       * or the kept values over their caps */
	HTTP_E_VERSION,       /* 505: not HTTP/1.1 */
	HTTP_E_HOST,          /* 400: no Host header */
	HTTP_E_DUPLICATE,     /* 400: a header allowed once appears twice */
	HTTP_E_BODY,          /* 400: Content-Length other than 0, or
	                       * Transfer-Encoding: the bytes after this head
	                       * belong to the WebSocket */
	HTTP_E_FORWARDED,     /* 400: a Forwarded header that does not parse */
	HTTP_E__MAX
};

struct http_error_info {
	int status;           /* HTTP status to answer with */
	const char *reason;   /* its reason phrase */
	const char *message;  /* a sentence for the log and the error body */
};

/* The status, reason and message of e; HTTP_E_SYNTAX's for values out of
 * range. Never NULL. */
const struct http_error_info *http_error_info(enum http_error e);

/*
 * What a parsed head holds. Every string is NUL-terminated, lives in the
 * struct http_head it came from and is NULL when the request did not carry
 * it. Header values are trimmed of surrounding spaces and tabs; a header
 * that may repeat (a list) is every occurrence joined with ", ".
 */
struct http_request {
	const char *method;      /* a token, e.g. "GET" */
	const char *path;        /* percent-decoded, starts with '/', no control
	                          * characters */
	const char *query;       /* raw, after '?' (query_parse decodes it) */
	const char *host;        /* Host (lighttpd keeps the browser's; Apache
	                          * only with ProxyPreserveHost On) */
	const char *upgrade;     /* Upgrade, a token list */
	const char *connection;  /* Connection, a token list */
	const char *ws_key;      /* Sec-WebSocket-Key */
	const char *ws_version;  /* Sec-WebSocket-Version */
	const char *origin;      /* Origin */
	const char *client;      /* last X-Forwarded-For entry: the address the
	                          * web server itself saw (both append it) */
	const char *forwarded_for;  /* the whole X-Forwarded-For chain, for
	                          * forwarded_client() behind trusted proxies */
	const char *proto;       /* last X-Forwarded-Proto entry */
	/* The authenticated user, as each front end can pass it. Trust only
	 * the one your web server overwrites: a browser can send either. */
	const char *user;        /* X-Remote-User (Apache: RequestHeader set
	                          * X-Remote-User "expr=%{REMOTE_USER}");
	                          * NULL when empty */
	const char *fwd_user;    /* remote_user of the last Forwarded element
	                          * (lighttpd: proxy.forwarded "remote_user") */
};

enum http_parse {
	HTTP_MORE,  /* the head is not complete: feed more bytes */
	HTTP_DONE,  /* the head is complete: see http_head_request() */
	HTTP_BAD    /* refused: see http_head_error() */
};

struct http_head;

/* A parser for one request head (about 12 KB). NULL when out of memory.
 * The caller frees it with http_head_free(). */
struct http_head *http_head_new(void);

/* Frees h and every string of its request. Accepts NULL. */
void http_head_free(struct http_head *h);

/*
 * Feeds the next len bytes read from the connection. Sets *used to how many
 * of them belong to the head: on HTTP_DONE the bytes after that are the
 * first of the WebSocket stream; on HTTP_MORE all were used; on HTTP_BAD
 * it means nothing (answer the error and close). Lines end in CRLF or LF;
 * obs-fold, control characters (but tab in values), a space before a
 * header's colon and a CR anywhere else are HTTP_E_SYNTAX. Once HTTP_DONE
 * or HTTP_BAD, later calls return the same and use nothing.
 */
enum http_parse http_head_parse(struct http_head *h, const void *data,
    size_t len, size_t *used);

/* The request of a head that gave HTTP_DONE; NULL before. */
const struct http_request *http_head_request(const struct http_head *h);

/* Why a head gave HTTP_BAD; HTTP_OK before. */
enum http_error http_head_error(const struct http_head *h);

/* True when the comma-separated list (RFC 9110 5.6.1, spaces and tabs
 * around elements, empty elements allowed) holds token, compared without
 * regard to ASCII case. list may be NULL (false). */
bool http_list_has(const char *list, const char *token);

#endif
