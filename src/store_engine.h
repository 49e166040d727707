/* store_engine.h - private to the store: the table of functions each
 * storage engine fills (SQLite's in store_sqlite.c, PostgreSQL's in
 * store_pg.c) and store.c dispatches store.h's calls through. Nothing
 * outside store*.c includes it. */
#ifndef STORE_ENGINE_H
#define STORE_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* One engine: store.h's functions, with the same contracts. Every
 * engine's struct store begins with a pointer to its table (the one
 * member store.c reads: see store_engine_of). */
struct store_engine {
	const char *name;
	struct store *(*open)(const struct store_options *);
	void (*free)(struct store *);
	int (*migrate)(const struct store_options *);
	bool (*readonly)(struct store *);
	enum chat_error (*append)(struct store *, const char *, const char *,
	    const char *, const char *, const char *, struct chat_message *,
	    bool *);
	enum chat_error (*read)(struct store *, const char *,
	    const struct store_query *, struct chat_list *,
	    struct store_read_info *);
	enum chat_error (*read_after)(struct store *, int64_t, int,
	    struct chat_list *);
	enum chat_error (*max_id)(struct store *, int64_t *);
	enum chat_error (*rooms)(struct store *, struct chat_room_list *);
	enum chat_error (*delete)(struct store *, int64_t,
	    struct chat_message *);
	enum chat_error (*prune)(struct store *,
	    const struct store_retention *, int64_t, int64_t *);
	enum chat_error (*import)(struct store *, const struct chat_message *,
	    size_t, size_t *);
	int (*inspect)(const struct store_options *, struct store_health *);
	int (*wake_fd)(struct store *);
	bool (*wake_drain)(struct store *);
	bool (*writable)(const char *);
	void (*display_path)(const char *, char *, size_t);
	enum chat_error (*size)(struct store *, int64_t *, int64_t *);
	enum chat_error (*room_access)(struct store *, const char *,
	    const char *, struct store_access *);
	enum chat_error (*access_version)(struct store *, int64_t *);
	enum chat_error (*private_make)(struct store *, const char *,
	    enum chat_room_kind, const char *, const char *const *, size_t,
	    bool, bool *);
	enum chat_error (*members_edit)(struct store *, const char *, bool,
	    const char *const *, size_t);
	enum chat_error (*private_drop)(struct store *, const char *);
	enum chat_error (*members)(struct store *, const char *,
	    struct store_members *, enum chat_room_kind *);
	enum chat_error (*rooms_for)(struct store *, const char *,
	    struct chat_room_list *);
	enum chat_error (*presence_sync)(struct store *,
	    const struct store_presence_sync *);
	enum chat_error (*presence_read)(struct store *, const char *, int64_t,
	    struct chat_people *, int64_t *);
	enum chat_error (*presence_changed)(struct store *, int64_t,
	    struct chat_room_list *, int64_t *);
};

/* Appends a copy of name to *m. Returns 0, or -1 when out of memory (m
 * unchanged). */
int store_members_push(struct store_members *m, const char *name);

/* The kind of a private_rooms.kind text ("direct" or anything else). */
enum chat_room_kind store_kind_of(const char *kind);

extern const struct store_engine store_sqlite_engine;
extern const struct store_engine store_pg_engine;

/* The end of an engine's store_delete, once its transaction has ended
 * with e: on CHAT_OK the tombstone m gets its empty nick and text and is
 * handed to *tomb (tomb may be NULL); otherwise, or then, m is cleared.
 * Returns e, or CHAT_E_INTERNAL when out of memory (the delete stays
 * committed all the same). */
enum chat_error store_tombstone_out(enum chat_error e, struct chat_message *m,
    struct chat_message *tomb);

/* The end of an engine's store_presence_read: on CHAT_OK *got becomes
 * *out (whose old people are freed); otherwise *got is freed and *out
 * stays. Returns e. */
enum chat_error store_people_out(enum chat_error e, struct chat_people *got,
    struct chat_people *out);

/* Appends a copy of one person to p. Returns 0, or -1 when out of memory
 * (p unchanged). */
int store_people_push(struct chat_people *p, const char *name, bool verified,
    int64_t since_ms);

#endif
