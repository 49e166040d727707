/* store.h - the only module that knows SQLite: opens the chat database,
 * creates and migrates its schema from sql/, and reads and appends
 * messages. A struct store is one connection: use it from one thread at a
 * time. Failures return CHAT_E_UNAVAILABLE when the database is busy,
 * locked, read-only, full or cannot be opened (the API's 503), or
 * CHAT_E_INTERNAL for anything else; they are logged, and leave the
 * database unchanged. */
#ifndef STORE_H
#define STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "chat.h"
#include "error.h"

struct store;

struct store_options {
	const char *path;       /* database file */
	bool sync_full;         /* PRAGMA synchronous=FULL instead of NORMAL */
	int busy_timeout_ms;    /* how long a write waits for the lock */
	bool readonly;          /* open read-only (no migration) */
};

/* Opens the database, which must already have the current schema (see
 * store_migrate). Sets WAL mode checks, busy timeout, synchronous and
 * prepares the statements. Returns NULL on failure (logged). */
struct store *store_open(const struct store_options *o);

/* Closes the connection. Accepts NULL. */
void store_free(struct store *s);

/* Creates the database file if missing (mode 0600 in a directory it
 * creates 0700 if missing), sets WAL mode and applies every migration of
 * sql/ newer than PRAGMA user_version, in one transaction each. Safe to
 * call from several processes at once (retries while locked, up to
 * busy_timeout_ms). Returns 0, or -1 (logged). */
int store_migrate(const struct store_options *o);

/* The schema version the program expects (the newest migration). */
int store_schema_version(void);

/* Appends a message to room with ts = now. When client_id is not NULL and
 * a message with the same room, nick and client_id exists, stores nothing
 * and returns that one with *created = false. On CHAT_OK *out holds the
 * committed message (free with chat_message_clear). After a commit it
 * touches the notify file (path + "-notify") so watchers wake. */
enum chat_error store_append(struct store *s, const char *room,
    const char *nick, const char *text, const char *client_id,
    struct chat_message *out, bool *created);

/* A read of one room. since and before are -1 when absent (both present
 * is the caller's error). */
struct store_query {
	int64_t since;
	int64_t before;
	int limit;
};

/* Reads messages of room into *out, oldest first: since -> the first
 * `limit` with id > since; before -> the newest `limit` with id < before;
 * neither -> the newest `limit`. In the same snapshot sets *db_max to the
 * newest id of the whole database (0 when empty) and *room_last to the
 * newest id of the room (0 when none). Any output pointer may be NULL. */
enum chat_error store_read(struct store *s, const char *room,
    const struct store_query *q, struct chat_list *out, int64_t *db_max,
    int64_t *room_last);

/* Reads up to limit messages of every room with id > after, oldest first
 * (the watcher's one query per wakeup). */
enum chat_error store_read_after(struct store *s, int64_t after, int limit,
    struct chat_list *out);

/* The newest id in the database, 0 when empty. */
enum chat_error store_max_id(struct store *s, int64_t *out);

/* Every room with at least one message, by name. */
enum chat_error store_rooms(struct store *s, struct chat_room_list *out);

/* The notify file's path for a database path: path + "-notify". Returns a
 * new string (caller frees) or NULL when out of memory. */
char *store_notify_path(const char *db_path);

#endif
