/* store_group.h - private to the store: group commit, for every engine.
 * The concurrent sends of one process queue in their engine's group; a
 * thread that finds no commit running becomes the leader and hands
 * everything queued to the engine's commit function, which stores it in
 * one transaction on the leader's connection, so that N concurrent sends
 * cost one commit (one WAL write or round trip, one round of locks, one
 * wake-up of the watchers). What that asks of store_append's callers is
 * in store.h. Nothing outside store*.c includes it. */
#ifndef STORE_GROUP_H
#define STORE_GROUP_H

#include <stdbool.h>

#include <pthread.h>

#include "chat.h"
#include "error.h"
#include "store.h"

/* One queued send. The strings are the sender's, valid while it waits;
 * the commit function reads them from the leader's thread. */
struct store_group_send {
	struct store_group_send *next;   /* the queue's */
	const char *room, *nick, *text, *client_id;
	const char *user;       /* identity.h's; NULL: anonymous */
	const char *db;         /* the sender's database (SQLite: its file;
	                         * PostgreSQL: its URI); the leader's must be
	                         * the same, as a send is stored through the
	                         * leader's connection */
	struct chat_message m;  /* set by the commit function: id and ts of
	                         * a row it stored, or the whole row an
	                         * earlier send with this client_id stored */
	bool made;              /* set by the commit function: stored now */
	bool done;              /* the group's: a leader took it and is done */
	enum chat_error e;      /* the group's: the batch's outcome */
};

/* An engine's commit: stores every send of batch (linked by next, oldest
 * first) in one transaction on s, all or nothing, setting each one's m
 * and made. Returns CHAT_OK once committed, or the failure that rolled
 * the whole batch back (each m may then hold what it had got: the group
 * frees it). Runs on one thread of the process at a time. */
typedef enum chat_error store_group_commit_fn(struct store *s,
    struct store_group_send *batch);

/* One engine's queue: a static object made with STORE_GROUP_INIT. */
struct store_group {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct store_group_send *head, **tail;
	bool leading;           /* a leader is committing a batch now */
	store_group_commit_fn *commit;
};

#define STORE_GROUP_INIT(g, fn) { PTHREAD_MUTEX_INITIALIZER, \
	PTHREAD_COND_INITIALIZER, NULL, &(g).head, false, (fn) }

/* store_append's body, for an engine whose database s is on: me is the
 * send (its strings, user and db as struct store_group_send says; the
 * rest zero). Queues me on g and waits until a leader, possibly this
 * thread, committed or failed its batch. On CHAT_OK *out holds the
 * message (free with chat_message_clear) and *created (may be NULL) says
 * whether this call stored it. On failure *out is unchanged.
 * CHAT_E_INTERNAL when out of memory after the commit (stored all the
 * same: a retry with client_id finds it). */
enum chat_error store_group_append(struct store_group *g, struct store *s,
    struct store_group_send *me, struct chat_message *out, bool *created);

#endif
