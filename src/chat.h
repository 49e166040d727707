/* chat.h - the names, limits and message types every fcgichat module shares. */
#ifndef CHAT_H
#define CHAT_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

/* Limits of API.md version 1. */
#define CHAT_MAX_ROOM 64        /* bytes, [A-Za-z0-9_-] */
#define CHAT_MAX_NICK 32        /* code points, after trimming */
#define CHAT_MAX_TEXT 4000      /* bytes of UTF-8, after \r\n -> \n */
#define CHAT_MAX_CLIENT_ID 64   /* bytes, printable ASCII 0x21-0x7E */
#define CHAT_DEFAULT_LIMIT 100
#define CHAT_MAX_LIMIT 1000
#define CHAT_MAX_WAIT 60        /* seconds a client may ask for */
#define CHAT_DEFAULT_BODY 16384 /* request body bytes, configurable */

/* 2^53, the largest id or time exports and imports take: every integer up
 * to it is exact in a double, which is what JSON clients keep numbers in
 * (not JavaScript's MAX_SAFE_INTEGER, 2^53 - 1). */
#define CHAT_MAX_EXACT_INT 9007199254740992LL

/* One stored chat message. Strings are NUL-terminated (validated text never
 * contains NUL) and owned by whoever owns the message. A tombstone (the
 * record of a deletion, sql/002_moderation.sql) has deletes = the id of
 * the message it deleted, and nick and text "". */
struct chat_message {
	int64_t id;
	int64_t ts;   /* ms since the Unix epoch */
	char *room;
	char *nick;   /* the user name when user is set */
	char *text;
	int64_t deletes;  /* 0: a message; else a tombstone */
	char *user;   /* who the web server said sent it (identity.h,
	               * sql/003_people.sql); NULL: anonymous */
};

/* A growable list of messages, oldest first. */
struct chat_list {
	struct chat_message *v;
	size_t n, cap;
};

/* Frees the strings of m and zeroes it. Accepts NULL. */
void chat_message_clear(struct chat_message *m);

/* Appends a message with copies of the given strings. Returns 0, or -1 when
 * out of memory (the list is then unchanged). */
int chat_list_push(struct chat_list *l, int64_t id, int64_t ts,
    const char *room, const char *nick, const char *text);

/* Sets m->user to a copy of user (NULL or "": anonymous, NULL). Returns
 * 0, or -1 when out of memory (m->user is then NULL). */
int chat_message_set_user(struct chat_message *m, const char *user);

/* Frees every message and the array, leaving an empty list. Accepts NULL. */
void chat_list_clear(struct chat_list *l);

/* Reverses v[0..n) in place (a read scanned newest first, handed out
 * oldest first). */
void chat_list_reverse(struct chat_message *v, size_t n);

/* Longest user name (REMOTE_USER) taken, in bytes; identity.h says why. */
#define CHAT_MAX_USER 128

/* What kind of room a room is (sql/004_private.sql). */
enum chat_room_kind {
	CHAT_ROOM_PUBLIC,
	CHAT_ROOM_PRIVATE,       /* members only */
	CHAT_ROOM_DIRECT,        /* members only, exactly two: a DM */
};

/* A room as listed by GET /api/rooms. */
struct chat_room {
	char name[CHAT_MAX_ROOM + 1];
	int64_t last_id;
	int64_t messages;
	int64_t pruned_through;  /* highest id retention removed, 0: none */
	enum chat_room_kind kind;
	char direct[CHAT_MAX_USER + 1];  /* a DM: the other member ("" if
	                                  * none, or not a DM) */
};

struct chat_room_list {
	struct chat_room *v;
	size_t n, cap;
};

/* Appends a zeroed room to l and returns it, or NULL when out of memory
 * (l unchanged). */
struct chat_room *chat_room_list_add(struct chat_room_list *l);

/* Frees the array. Accepts NULL. */
void chat_room_list_clear(struct chat_room_list *l);

/* Appends a room called name (cut to CHAT_MAX_ROOM bytes), its figures
 * 0. Returns 0, or -1 when out of memory (l unchanged). */
int chat_room_list_push(struct chat_room_list *l, const char *name);

/* An absolute time ms from now on clock (CLOCK_REALTIME or
 * CLOCK_MONOTONIC), for pthread_cond_timedwait. */
struct timespec;
void chat_timespec_after(int clock, int64_t ms, struct timespec *ts);

/* The 32-bit FNV-1a hash of p[0..n): cheap and well spread, for hash
 * tables (the hub's rooms) and for slots in a file every process shares
 * (limit.c), so its values must never change. */
uint32_t chat_fnv1a(const void *p, size_t n);

/* Milliseconds since the Unix epoch (CLOCK_REALTIME). */
int64_t chat_now_ms(void);

/* Milliseconds on CLOCK_MONOTONIC, for deadlines. */
int64_t chat_mono_ms(void);

/* The listen queue the worker asks for on the sockets it makes (its
 * FastCGI socket when not spawned by the web server, its WebSocket
 * socket): as long as the kernel allows, which caps it at
 * net.core.somaxconn (4096 by default since Linux 5.4), so that a burst
 * of reconnecting pages waits its turn instead of being refused. */
#define CHAT_LISTEN_BACKLOG 65535

/* How long a thread whose accept failed for want of descriptors waits
 * before it tries again: the connection stays in the listen queue. */
#define CHAT_ACCEPT_RETRY_MS 100

/* Whether accept's errno err means "no descriptor or memory now" (EMFILE,
 * ENFILE, ENOBUFS, ENOMEM): a state that passes, not a broken socket. */
bool chat_accept_starved(int err);

#endif
