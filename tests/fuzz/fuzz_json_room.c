/* fuzz_json_room.c - libFuzzer target for the bodies of POST /api/rooms
 * and POST /api/dm (json_parse_room_create, json_parse_dm): an accepted
 * body was valid UTF-8 and yields a valid room, at most the cap of
 * distinct members, each a valid user name; a refused body leaves
 * nothing behind and says why. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "json.h"
#include "utf8.h"
#include "validate.h"

#define MAX_MEMBERS 5

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_members(const struct room_request *r)
{
	assert(r->n <= MAX_MEMBERS);
	for (size_t i = 0; i < r->n; i++) {
		assert(validate_member(r->members[i],
		    NULL) == CHAT_OK);
		for (size_t j = 0; j < i; j++)
			assert(strcmp(r->members[i], r->members[j]) != 0);
	}
}

static void
check_refused(enum chat_error e, const char *why, const struct room_request *r)
{
	assert(e == CHAT_E_BAD_JSON || e == CHAT_E_BAD_ROOM ||
	    e == CHAT_E_BAD_PARAM || e == CHAT_E_INTERNAL);
	assert(why != NULL);
	assert(r->room == NULL && r->members == NULL && r->n == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data, *why = NULL;
	struct room_request r;
	enum chat_error e;

	e = json_parse_room_create(body, size, MAX_MEMBERS, &r, &why);
	if (e == CHAT_OK) {
		assert(utf8_valid(body, size));
		assert(validate_room(r.room, strlen(r.room), NULL) == CHAT_OK);
		check_members(&r);
	} else {
		check_refused(e, why, &r);
	}
	room_request_clear(&r);
	why = NULL;
	e = json_parse_dm(body, size, &r, &why);
	if (e == CHAT_OK) {
		assert(r.room == NULL && r.n == 1);
		check_members(&r);
	} else {
		check_refused(e, why, &r);
	}
	room_request_clear(&r);
	return 0;
}
