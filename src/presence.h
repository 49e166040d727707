/* presence.h - who is here: the people with a live connection to a room
 * (a parked long-poll, or one repeated within PRESENCE_GRACE_MS; an event
 * stream; a WebSocket), by user (REMOTE_USER, identity.h) or by the nick
 * an anonymous page passes along. Each worker process keeps its own
 * connections in memory (presence_set.c: one entry per person and room,
 * however many connections) and one thread of its own (presence.c)
 * writes that set to the shared tables of sql/005_presence.sql only when
 * it changed, at most once per PRESENCE_FLUSH_MS, plus a heartbeat every
 * PRESENCE_BEAT_MS: never once per poll. A write wakes every watcher of
 * every process and host (the store's wake); each asks its presence
 * thread to read the rooms whose version moved and hands their new lists
 * to the connections that asked for them (hub.c).
 *
 * A person whose last connection closed is gone from every list within
 * PRESENCE_GONE_MS of the server noticing it; readers ignore the rows of
 * a worker that has not beaten for PRESENCE_STALE_MS (it crashed), and
 * the next heartbeat of any worker removes them. */
#ifndef PRESENCE_H
#define PRESENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "chat.h"
#include "identity.h"
#include "store.h"

#define PRESENCE_GRACE_MS 1500    /* between two long-poll rounds */
#define PRESENCE_FLUSH_MS 1000    /* at most one write per worker per this */
#define PRESENCE_TICK_MS 250      /* the presence thread's sweep */
#define PRESENCE_BEAT_MS 15000    /* heartbeat, also without changes */
#define PRESENCE_STALE_MS 45000   /* a worker this silent has crashed */
#define PRESENCE_CHECK_MS 100     /* at most one look for changes per this */
#define PRESENCE_GONE_MS \
	(PRESENCE_GRACE_MS + PRESENCE_TICK_MS + PRESENCE_FLUSH_MS + \
	PRESENCE_CHECK_MS)
/* How often a parked connection of a person is written to when idle, so
 * that a client that left is noticed by every front end (a write to a
 * closed socket fails; Apache notices no other way): a space before a
 * long-poll's JSON, a comment on an event stream. Long-polls of no
 * person get one every LONGPOLL_PROBE_MS, to free what they hold. */
#define PRESENCE_PROBE_MS 1000
#define LONGPOLL_PROBE_MS 5000

/* --- the set of one process (presence_set.c) -------------------------- */

#define PRESENCE_BUCKETS 1024

/* One person in one room, with its connections in this process. */
struct presence_entry {
	struct presence_entry *hnext;
	char room[CHAT_MAX_ROOM + 1];
	char name[CHAT_MAX_USER + 1];
	bool verified;
	int64_t since_ms;            /* wall clock, its first connection */
	int conns;                   /* live connections */
	int64_t gone_at;             /* mono ms it goes, 0 while conns > 0 */
	bool stored;                 /* its row is in the shared table */
};

/* An empty set is all zeroes. Not thread-safe: presence.c locks. */
struct presence_set {
	struct presence_entry *buckets[PRESENCE_BUCKETS];
	size_t n;
};

/* One connection of person name (verified: a user, else a nick) joins
 * room at now_ms (wall clock). Returns its entry, to give back with
 * presence_set_leave; NULL when out of memory (s unchanged). */
struct presence_entry *presence_set_join(struct presence_set *s,
    const char *room, const char *name, bool verified, int64_t now_ms);

/* One connection of e left at mono ms: with the last one, e stays for
 * PRESENCE_GRACE_MS (a long-poll's next round) before it goes. */
void presence_set_leave(struct presence_entry *e, int64_t mono);

/* A write of the set (copies, so the set may change while it runs). */
struct presence_change {
	struct store_presence_row row;   /* points into the strings below */
	char room[CHAT_MAX_ROOM + 1];
	char name[CHAT_MAX_USER + 1];
};

/* True when the shared table is behind s at mono: a person not stored, or
 * one whose time is up. */
bool presence_set_pending(const struct presence_set *s, int64_t mono);

/* What to write at mono: the people not stored yet (every live one when
 * full) and those whose time is up (freed from s), into *out (n of them,
 * the caller frees *out). Marks what it hands out as stored. Returns 0,
 * or -1 when out of memory (s unchanged but for the people gone; the
 * caller writes in full next time). */
int presence_set_changes(struct presence_set *s, int64_t mono, bool full,
    struct presence_change **out, size_t *n);

/* Frees every entry. */
void presence_set_clear(struct presence_set *s);

/* --- the process's presence thread (presence.c) ---------------------- */

struct presence;

/* A room's new list for the watcher: version and the JSON object of
 * json_presence, which the transports send as they are. */
struct presence_update {
	struct presence_update *next;
	char room[CHAT_MAX_ROOM + 1];
	int64_t version;
	struct buf json;
};

/* Opens the thread's own database connection and starts it. Returns
 * NULL on failure (logged; nothing left open). */
struct presence *presence_start(const struct store_options *o);

/* A descriptor that is readable while updates wait (presence_take). */
int presence_fd(struct presence *p);

/* From any thread: a connection of name (verified: a user) parks in
 * room. Returns what to give to presence_leave; NULL when out of
 * memory (the connection then only counts for nobody). */
struct presence_entry *presence_join(struct presence *p, const char *room,
    const char *name, bool verified);

/* From any thread: that connection ended. Accepts NULL. */
void presence_leave(struct presence *p, struct presence_entry *e);

/* The database may have changed (the watcher's every look): the thread
 * looks for rooms whose presence moved, at most every PRESENCE_CHECK_MS. */
void presence_poke(struct presence *p);

/* The watcher has connections that want room's list: the thread reads
 * it now, and again whenever it changes, until presence_unwant. */
void presence_want(struct presence *p, const char *room);
void presence_unwant(struct presence *p, const char *room);

/* Takes the updates that are ready (a list, oldest first; NULL when
 * none). Free each with presence_update_free. */
struct presence_update *presence_take(struct presence *p);
void presence_update_free(struct presence_update *u);

/* The people of room as answered by GET /api/rooms/{room}/presence and
 * sent to waiting clients, read with s: json_presence into b. */
enum chat_error presence_read(struct store *s, const char *room,
    struct buf *b);

/* Ends the thread: the worker's rows leave the shared table (at most
 * timeout_ms). Call once. */
void presence_stop(struct presence *p, int timeout_ms);

#endif
