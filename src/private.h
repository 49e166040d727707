/* private.h - private rooms and direct messages: the one rule of who may
 * see a room, used before every endpoint of a room (api.c's route table,
 * the WebSocket door) and by the watcher when members change; and the
 * name of the DM of two users. The rooms and members themselves are in
 * the store (store.h, sql/004_private.sql). */
#ifndef PRIVATE_H
#define PRIVATE_H

#include <stdbool.h>
#include <stdint.h>

#include "chat.h"
#include "error.h"
#include "store.h"

/* Most members a private room made through the API may have, its creator
 * included (operators may add more). */
#define PRIVATE_MAX_MEMBERS 100

/* DMs are named PRIVATE_DM_PREFIX + 40 hex digits; no other room may be
 * named so (a public room of that name is hidden as if absent), so nobody
 * can squat on a DM before its two users open it. */
#define PRIVATE_DM_PREFIX "dm-"

/* True when user (NULL: anonymous) may see room, given what the store
 * found for it: a public room (unless named like a DM), or a private one
 * of which user is a member. */
bool private_visible(const char *room, const struct store_access *a);

/* Looks up room for user and applies private_visible: CHAT_OK when user
 * may use it (*version, may be NULL, is the access version of the
 * lookup), CHAT_E_NOT_FOUND when it must look absent to them, or the
 * store's error. */
enum chat_error private_check(struct store *s, const char *room,
    const char *user, int64_t *version);

/* The room of the DM between users a and b (in either order): "dm-" and
 * the first 20 bytes of SHA-256(min(a,b) "\n" max(a,b)) in hex, 43
 * characters of the room alphabet. Valid user names hold no "\n", so two
 * pairs never share a name. */
void private_dm_name(const char *a, const char *b,
    char out[CHAT_MAX_ROOM + 1]);

#endif
