/* error.c - maps each failure kind to its HTTP status and API.md code,
 * and hands a failure back with its explanation. */
#include "error.h"

#include <stddef.h>

static const struct chat_error_info infos[CHAT_E__MAX] = {
	[CHAT_OK] = { 200, "ok", "ok" },
	[CHAT_E_BAD_JSON] = { 400, "bad_json",
	    "The request body must be one JSON object in valid UTF-8." },
	[CHAT_E_BAD_ROOM] = { 400, "bad_room",
	    "A room name is 1-64 characters of A-Z, a-z, 0-9, '_' and '-'." },
	[CHAT_E_BAD_NICK] = { 400, "bad_nick",
	    "A nick is 1-32 characters without control characters." },
	[CHAT_E_BAD_TEXT] = { 400, "bad_text",
	    "A message is 1-4000 bytes of text without control characters "
	    "other than newline and tab." },
	[CHAT_E_BAD_CLIENT_ID] = { 400, "bad_client_id",
	    "client_id must be 1-64 printable ASCII characters without spaces." },
	[CHAT_E_BAD_PARAM] = { 400, "bad_param",
	    "A query parameter is missing its value, out of range or unknown." },
	[CHAT_E_TOO_LARGE] = { 413, "too_large",
	    "The request body is larger than the server accepts." },
	[CHAT_E_UNSUPPORTED_MEDIA_TYPE] = { 415, "unsupported_media_type",
	    "Send the body as Content-Type: application/json." },
	[CHAT_E_METHOD_NOT_ALLOWED] = { 405, "method_not_allowed",
	    "This method is not allowed here; see the Allow header." },
	[CHAT_E_NOT_FOUND] = { 404, "not_found",
	    "There is no such API endpoint." },
	[CHAT_E_FORBIDDEN] = { 403, "forbidden",
	    "This origin or address may not use this endpoint." },
	[CHAT_E_CONFLICT] = { 409, "conflict",
	    "That already exists; pick another name." },
	[CHAT_E_UPGRADE_REQUIRED] = { 426, "upgrade_required",
	    "This endpoint speaks WebSocket: connect with a WebSocket "
	    "client (Upgrade: websocket)." },
	[CHAT_E_RATE_LIMITED] = { 429, "rate_limited",
	    "Too many requests; wait for Retry-After seconds and try again." },
	[CHAT_E_UNAVAILABLE] = { 503, "unavailable",
	    "Message storage is unavailable right now; try again shortly." },
	[CHAT_E_INTERNAL] = { 500, "internal",
	    "The server failed to handle the request; it has been logged." },
	[CHAT_E_BAD_USER] = { 403, "bad_user",
	    "The web server signed you in under a name this chat cannot "
	    "take (1-128 bytes of UTF-8, no control characters, no white "
	    "space at either end); ask the site's operator." },
};

const struct chat_error_info *
chat_error_info(enum chat_error e)
{
	if ((int)e < 0 || e >= CHAT_E__MAX)
		e = CHAT_E_INTERNAL;
	return &infos[e];
}

enum chat_error
chat_error_why(const char **why, enum chat_error e, const char *msg)
{
	if (why != NULL)
		*why = msg;
	return e;
}

static const struct {
	int status;
	const char *reason;
} reasons[] = {
	{ 101, "Switching Protocols" },
	{ 200, "OK" }, { 201, "Created" }, { 204, "No Content" },
	{ 400, "Bad Request" },
	{ 403, "Forbidden" }, { 404, "Not Found" },
	{ 405, "Method Not Allowed" }, { 409, "Conflict" },
	{ 413, "Payload Too Large" },
	{ 415, "Unsupported Media Type" }, { 426, "Upgrade Required" },
	{ 429, "Too Many Requests" },
	{ 500, "Internal Server Error" }, { 503, "Service Unavailable" },
};

const char *
chat_status_reason(int status)
{
	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (reasons[i].status == status)
			return reasons[i].reason;
	return "Unknown";
}
