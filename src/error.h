/* error.h - the one list of failures fcgichat can answer with, and their
 * HTTP status and API.md error code. */
#ifndef ERROR_H
#define ERROR_H

enum chat_error {
	CHAT_OK = 0,
	CHAT_E_BAD_JSON,
	CHAT_E_BAD_ROOM,
	CHAT_E_BAD_NICK,
	CHAT_E_BAD_TEXT,
	CHAT_E_BAD_CLIENT_ID,
	CHAT_E_BAD_PARAM,
	CHAT_E_TOO_LARGE,
	CHAT_E_UNSUPPORTED_MEDIA_TYPE,
	CHAT_E_METHOD_NOT_ALLOWED,
	CHAT_E_NOT_FOUND,
	CHAT_E_FORBIDDEN,
	CHAT_E_CONFLICT,
	CHAT_E_UPGRADE_REQUIRED,
	CHAT_E_RATE_LIMITED,
	CHAT_E_UNAVAILABLE,
	CHAT_E_INTERNAL,
	CHAT_E_BAD_USER,
	CHAT_E__MAX
};

struct chat_error_info {
	int status;           /* HTTP status */
	const char *code;     /* API.md error code */
	const char *message;  /* default sentence for people */
};

/* The status, code and default message of e; CHAT_E_INTERNAL's for values
 * out of range. Never NULL. */
const struct chat_error_info *chat_error_info(enum chat_error e);

/* Sets *why to msg (a sentence for people, kept by the caller; why may be
 * NULL) and returns e: the failure path of the checks that explain
 * themselves. */
enum chat_error chat_error_why(const char **why, enum chat_error e,
    const char *msg);

/* The reason phrase of an HTTP status ("Not Found"); "Unknown" for one
 * fcgichat never answers with. Never NULL. */
const char *chat_status_reason(int status);

#endif
