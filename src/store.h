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

/* What a read learns besides the messages, in the same snapshot. */
struct store_read_info {
	int64_t db_max;          /* newest id of the whole database, 0: empty */
	int64_t room_last;       /* the room's newest id, tombstones and pruned
	                          * ids included: where a reader starts; 0 when
	                          * the room has never had a message */
	int64_t pruned_through;  /* highest id retention removed from the
	                          * room, 0: none; a cursor below it missed
	                          * messages */
};

/* Reads messages of room into *out, oldest first: since -> the first
 * `limit` rows with id > since, tombstones included (deletes != 0);
 * before -> the newest `limit` messages with id < before; neither -> the
 * newest `limit` messages (history reads never return tombstones). Fills
 * *info in the same snapshot. out and info may be NULL. */
enum chat_error store_read(struct store *s, const char *room,
    const struct store_query *q, struct chat_list *out,
    struct store_read_info *info);

/* Reads up to limit rows (messages and tombstones) of every room with id >
 * after, oldest first (the watcher's one query per wakeup). */
enum chat_error store_read_after(struct store *s, int64_t after, int limit,
    struct chat_list *out);

/* The newest id in the database, 0 when empty. */
enum chat_error store_max_id(struct store *s, int64_t *out);

/* Every room with at least one message, by name. */
enum chat_error store_rooms(struct store *s, struct chat_room_list *out);

/* Moderation: deletes message id and, in the same transaction, appends a
 * tombstone for it (a new id; see struct chat_message), then touches the
 * notify file so that waiting clients learn of it at once. On CHAT_OK
 * *tomb holds the tombstone (free with chat_message_clear; tomb may be
 * NULL). CHAT_E_NOT_FOUND when there is no message with that id (a
 * tombstone's id included); the database is then unchanged. */
enum chat_error store_delete(struct store *s, int64_t id,
    struct chat_message *tomb);

/* Retention: what store_prune keeps. 0 turns a limit off. */
struct store_retention {
	int64_t max_age_ms;      /* rows older than this go */
	int64_t max_messages;    /* per room: rows older than the newest
	                          * max_messages messages go */
	int batch;               /* rows per transaction, 1-10000 (500) */
};

/* Prunes every room by r as of now_ms (chat_now_ms()): removes, oldest
 * first, the room's rows (tombstones too) that are too old or beyond the
 * newest max_messages messages, stopping at the first row that may stay,
 * so what remains is always everything after rooms.pruned_through, which
 * it raises. Works in short transactions of r->batch rows with a pause
 * between them, so sends never wait long. Adds the rows removed to
 * *removed (may be NULL). On failure the batches already committed stay
 * committed. */
enum chat_error store_prune(struct store *s, const struct store_retention *r,
    int64_t now_ms, int64_t *removed);

/* Import: stores each message of v[0..n) in one transaction, under its own
 * id when that id is free (id 0: a new id), with its room, nick, text and
 * ts as given; a message whose id exists is skipped. Adds the number
 * stored to *stored (may be NULL) and touches the notify file. The caller
 * validates the fields. On failure nothing of v is stored. */
enum chat_error store_import(struct store *s, const struct chat_message *v,
    size_t n, size_t *stored);

/* What --check found out about a database, without creating or changing
 * it. */
struct store_health {
	bool exists;             /* the file is there and SQLite opens it */
	bool readable;           /* the schema could be read */
	bool writable;           /* a write transaction could start */
	bool wal;                /* journal_mode is wal */
	long long schema;        /* PRAGMA user_version, -1 when unknown */
	int64_t last_id;         /* newest id, -1 when unknown */
	char error[256];         /* SQLite's sentence for the first failure */
};

/* Inspects the database at path (busy_timeout_ms from o) into *out.
 * Returns 0 when it could look, -1 when out of memory. */
int store_inspect(const struct store_options *o, struct store_health *out);

/* The notify file's path for a database path: path + "-notify". Returns a
 * new string (caller frees) or NULL when out of memory. */
char *store_notify_path(const char *db_path);

/* True when s was asked to open read-write but SQLite could only open the
 * database read-only (its files were not writable then). Such a connection
 * stays read-only, and so does every other one of the process: they share
 * SQLite's mapping of the -shm file. */
bool store_readonly(struct store *s);

/* True when the database file and its -wal and -shm files (those that
 * exist) can be opened for writing now. */
bool store_writable(const char *db_path);

#endif
