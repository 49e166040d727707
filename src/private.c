/* private.c - who may see a room, and DM names (private.h). */
#include "private.h"

#include <stdio.h>
#include <string.h>

#include <nettle/sha2.h>

#define DM_HASH_BYTES 20

bool
private_visible(const char *room, const struct store_access *a)
{
	if (a->kind != CHAT_ROOM_PUBLIC)
		return a->member;
	return strncmp(room, PRIVATE_DM_PREFIX,
	    strlen(PRIVATE_DM_PREFIX)) != 0;
}

enum chat_error
private_check(struct store *s, const char *room, const char *user,
    int64_t *version)
{
	struct store_access a = { 0 };
	enum chat_error e = store_room_access(s, room, user, &a);

	if (e != CHAT_OK)
		return e;
	if (version != NULL)
		*version = a.version;
	return private_visible(room, &a) ? CHAT_OK : CHAT_E_NOT_FOUND;
}

void
private_dm_name(const char *a, const char *b, char out[CHAT_MAX_ROOM + 1])
{
	const char *lo = strcmp(a, b) <= 0 ? a : b, *hi = lo == a ? b : a;
	uint8_t d[SHA256_DIGEST_SIZE];
	struct sha256_ctx ctx;
	size_t o;

	sha256_init(&ctx);
	sha256_update(&ctx, strlen(lo), (const uint8_t *)lo);
	sha256_update(&ctx, 1, (const uint8_t *)"\n");
	sha256_update(&ctx, strlen(hi), (const uint8_t *)hi);
	sha256_digest(&ctx, sizeof(d), d);
	o = (size_t)snprintf(out, CHAT_MAX_ROOM + 1, "%s", PRIVATE_DM_PREFIX);
	for (size_t i = 0; i < DM_HASH_BYTES; i++)
		o += (size_t)snprintf(out + o, CHAT_MAX_ROOM + 1 - o, "%02x",
		    d[i]);
}
