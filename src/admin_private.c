/* admin_private.c - the operators' commands of private rooms:
 *   admin private ROOM USER...        make ROOM private with these members
 *   admin public ROOM                 make it public again
 *   admin members ROOM                list its members
 *   admin members ROOM add|remove USER...
 *   admin dm USER USER                make (or find) their DM; prints its
 *                                     room
 *   admin send ROOM --as USER TEXT    post as a service account (the
 *                                     "tell one user" case:
 *     fcgichat.fcgi admin send "$(fcgichat.fcgi admin dm support alice)" \
 *         --as support 'Your question was answered')
 * A member removed is cut off at once wherever they wait (hub_access.c). */
#include "admin.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "chat.h"
#include "private.h"
#include "store.h"
#include "validate.h"

/* Every user name of cmd is one the API would take. */
static int
admin_users_valid(const struct admin_cmd *cmd)
{
	const char *why;

	for (int i = 0; i < cmd->n_users; i++)
		if (validate_member(cmd->users[i], &why) !=
		    CHAT_OK) {
			fprintf(stderr, "fcgichat: admin: %s\n", why);
			return -1;
		}
	return 0;
}

static void
admin_not_private(const char *room)
{
	fprintf(stderr, "fcgichat: admin: room %s is not private\n", room);
}

int
admin_private(struct store *s, const struct admin_cmd *cmd, FILE *out)
{
	bool created = false;

	if (admin_users_valid(cmd) == -1)
		return 1;
	if (store_private_make(s, cmd->room, CHAT_ROOM_PRIVATE, "",
	    cmd->users, (size_t)cmd->n_users, false, &created) != CHAT_OK)
		return 1;
	fprintf(out, "room %s is %s private; its members now:\n", cmd->room,
	    created ? "now" : "still");
	return admin_members(s, &(struct admin_cmd){ .verb = ADMIN_MEMBERS,
	    .room = cmd->room }, out);
}

int
admin_public(struct store *s, const struct admin_cmd *cmd, FILE *out)
{
	enum chat_error e = store_private_drop(s, cmd->room);

	if (e == CHAT_E_NOT_FOUND)
		admin_not_private(cmd->room);
	else if (e == CHAT_OK)
		fprintf(out, "room %s is public\n", cmd->room);
	return e == CHAT_OK ? 0 : 1;
}

int
admin_members(struct store *s, const struct admin_cmd *cmd, FILE *out)
{
	struct store_members m = { 0 };
	enum chat_room_kind kind = CHAT_ROOM_PRIVATE;
	enum chat_error e = CHAT_OK;

	if ((cmd->add || cmd->remove) && admin_users_valid(cmd) == -1)
		return 1;
	/* A DM is two users: it may lose one, never gain a third. */
	if (cmd->add && (e = store_members(s, cmd->room, &m, &kind)) ==
	    CHAT_OK && kind == CHAT_ROOM_DIRECT) {
		fprintf(stderr, "fcgichat: admin: %s is a direct message of two "
		    "users; make a private room for more\n", cmd->room);
		store_members_clear(&m);
		return 1;
	}
	store_members_clear(&m);
	if (e == CHAT_OK && (cmd->add || cmd->remove))
		e = store_members_edit(s, cmd->room, cmd->add, cmd->users,
		    (size_t)cmd->n_users);
	if (e == CHAT_OK)
		e = store_members(s, cmd->room, &m, &kind);
	if (e == CHAT_E_NOT_FOUND)
		admin_not_private(cmd->room);
	for (size_t i = 0; e == CHAT_OK && i < m.n; i++)
		fprintf(out, "%s\t%s\n", m.v[i],
		    kind == CHAT_ROOM_DIRECT ? "direct" : "private");
	store_members_clear(&m);
	return e == CHAT_OK ? 0 : 1;
}

int
admin_dm(struct store *s, const struct admin_cmd *cmd, FILE *out)
{
	char room[CHAT_MAX_ROOM + 1];

	if (admin_users_valid(cmd) == -1)
		return 1;
	if (strcmp(cmd->users[0], cmd->users[1]) == 0) {
		fprintf(stderr, "fcgichat: admin: a DM is between two users\n");
		return 1;
	}
	private_dm_name(cmd->users[0], cmd->users[1], room);
	if (store_private_make(s, room, CHAT_ROOM_DIRECT, "", cmd->users, 2,
	    false, NULL) != CHAT_OK)
		return 1;
	fprintf(out, "%s\n", room);
	return 0;
}

int
admin_send(struct store *s, const struct admin_cmd *cmd, FILE *out)
{
	struct chat_message m = { 0 };
	const char *why = NULL;
	char *text = NULL;
	size_t len;
	enum chat_error e;

	/* A service account is a verified user: its name is the nick in
	 * full, as for a signed-in send (json.c). */
	if ((e = validate_member(cmd->as, &why)) == CHAT_OK)
		e = validate_text(cmd->text, strlen(cmd->text), &text, &len,
		    &why);
	if (e == CHAT_OK)
		e = store_append_as(s, cmd->room, cmd->as, cmd->as, text, NULL,
		    &m, NULL);
	else
		fprintf(stderr, "fcgichat: admin: %s\n", why);
	if (e == CHAT_OK)
		fprintf(out, "sent message %" PRId64 " to room %s as %s\n",
		    m.id, cmd->room, cmd->as);
	chat_message_clear(&m);
	free(text);
	return e == CHAT_OK ? 0 : 1;
}
