/* origin.h - which pages may use the API: the Origin header checked
 * against the server's own origin, FCGICHAT_ALLOW_ORIGINS and
 * FCGICHAT_CORS_ORIGINS. Shared by every path that answers browsers
 * (FastCGI requests and WebSocket handshakes). */
#ifndef ORIGIN_H
#define ORIGIN_H

#include <stdbool.h>

#include "config.h"

/* True when origin is one of the space- or comma-separated list, or the
 * list is "*". A NULL list holds nothing. */
bool origin_listed(const char *list, const char *origin);

/* True when origin is the server's own: scheme ("https://" when https)
 * and the request's Host header (host; NULL: never). */
bool origin_same(const char *origin, bool https, const char *host);

/* Whether a request with this Origin header (NULL: none, not a browser
 * page) may go on: false only when FCGICHAT_ALLOW_ORIGINS is set and the
 * origin is neither the server's own, nor listed there, nor a CORS origin.
 * *cors is set to what Access-Control-Allow-Origin must echo ("*" or the
 * origin) when the origin is a CORS origin, else left alone. */
bool origin_check(const struct config *c, const char *origin, bool https,
    const char *host, const char **cors);

/* The stricter rule of a WebSocket handshake (API.md): browsers send no
 * preflight for it and replay their credentials on it, so a page may open
 * one only from the server's own origin or one listed in
 * FCGICHAT_ALLOW_ORIGINS or FCGICHAT_CORS_ORIGINS, whether or not an
 * allow-list is set (cross-site WebSocket hijacking). No Origin (not a
 * browser page) is allowed. */
bool origin_check_ws(const struct config *c, const char *origin, bool https,
    const char *host);

#endif
