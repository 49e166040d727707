/* validate.h - the content rules of API.md for rooms, nicks, texts and
 * client ids. Each check returns CHAT_OK or its field's error kind, and on
 * failure points *why (when why != NULL) at a static sentence a person can
 * act on. Nothing is allocated unless the function says so. */
#ifndef VALIDATE_H
#define VALIDATE_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

/* room: 1-64 bytes of [A-Za-z0-9_-]. CHAT_E_BAD_ROOM otherwise. */
enum chat_error validate_room(const char *s, size_t len, const char **why);

/* nick: s[0..len) must be valid UTF-8; leading and trailing Unicode
 * White_Space is trimmed; the rest must be 1-32 code points with no control
 * characters. On success sets *start and *tlen to the trimmed span inside
 * s. CHAT_E_BAD_NICK otherwise. */
enum chat_error validate_nick(const char *s, size_t len, size_t *start,
    size_t *tlen, const char **why);

/* validate_nick, then *out is a new string of the trimmed nick. */
enum chat_error validate_nick_copy(const char *s, size_t len, char **out,
    const char **why);

/* text: s[0..len) must be valid UTF-8; "\r\n" and a lone "\r" become "\n";
 * the result must be 1-4000 bytes with no control characters but \n and
 * \t. On success *out is a new NUL-terminated string (the caller frees it
 * with free()) of *outlen bytes. CHAT_E_BAD_TEXT otherwise, or
 * CHAT_E_INTERNAL when out of memory; *out is then NULL. */
enum chat_error validate_text(const char *s, size_t len, char **out,
    size_t *outlen, const char **why);

/* client_id: 1-64 bytes, each 0x21-0x7E. CHAT_E_BAD_CLIENT_ID otherwise. */
enum chat_error validate_client_id(const char *s, size_t len,
    const char **why);

/* user: a name the web server authenticated (identity.h) or an imported
 * message's "user": 1-128 bytes (CHAT_MAX_USER) of valid UTF-8, no
 * control characters, no Unicode White_Space at either end (it would not
 * survive as a nick). NULL passes (anonymous). CHAT_E_BAD_USER otherwise. */
enum chat_error validate_user(const char *s, const char **why);

/* validate_user, then *out is a new string of s (NULL for NULL). */
enum chat_error validate_user_copy(const char *s, char **out,
    const char **why);

/* A member named in a request body (a private room's, the other one of a
 * DM): validate_user's rules, but the client's mistake: CHAT_E_BAD_PARAM. */
enum chat_error validate_member(const char *s, const char **why);

/* room, nick and text of a message from outside the API (admin import),
 * checked as a send's are: on CHAT_OK out->room, out->nick (trimmed) and
 * out->text (normalised) are new strings. When out->user is set already
 * (validate_user_copy), nick is not read: out->nick is the user name, as
 * for a signed-in sender. On failure some may be set:
 * chat_message_clear(out) frees them. */
struct chat_message;
enum chat_error validate_message(const char *room, size_t room_len,
    const char *nick, size_t nick_len, const char *text, size_t text_len,
    struct chat_message *out, const char **why);

/* True for a Content-Type of "application/json", any case, with no
 * charset or a UTF-8 one: what a send's body must be. */
bool validate_json_type(const char *content_type);

#endif
