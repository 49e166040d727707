/* limit.h - per-client limits shared by every worker process of a
 * database: a token bucket of sends per second, and a count of waiting
 * long-polls, event streams and WebSockets. A client is its user when the
 * web server authenticated one (REMOTE_USER: key "u:NAME"), else its
 * address (REMOTE_ADDR, as the web server rewrote it for a trusted proxy).
 * The state lives in a small shared file beside the database
 * (<db>-limits, mmap'd), so that the limits hold whichever process a
 * request lands in; a process killed with waiters loses its counts, not
 * the others'. The file also keeps each client's refusals of the last
 * LIMIT_WINDOW_S seconds, for /api/stats. */
#ifndef LIMIT_H
#define LIMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "identity.h"

/* A key: "u:" and a user name, or an address as inet_ntop writes it. */
#define LIMIT_KEY_MAX (CHAT_MAX_USER + 3)
/* How far back refusals are counted, and how often one client's refusals
 * are logged at most (once per LIMIT_LOG_S, with the count since). */
#define LIMIT_WINDOW_S 300
#define LIMIT_LOG_S 10

/* What a refused client is told (the error body's message). */
#define LIMIT_WAITING_WHY "Too many of your requests are waiting already " \
	"(counted per user when signed in, else per address); close some " \
	"before opening more."
#define LIMIT_SEND_WHY "Too many sends from you (counted per user when " \
	"signed in, else per address); wait a second and send again."

struct limit_options {
	const char *db_path;   /* the state file is db_path + "-limits" */
	int send_rate;         /* sends per second per client; 0: no limit */
	int send_burst;        /* bucket size, >= 1 */
	int max_waiting;       /* waiting requests per client; 0: no limit */
};

/* Opens (creating, mode 0600) the shared state and claims a process slot.
 * Returns 0, or -1 (logged); on failure every check allows. Call once per
 * process, before threads start. */
int limit_init(const struct limit_options *o);

/* The key a client is counted under: "u:" + user when user is neither
 * NULL nor empty, else addr (REMOTE_ADDR text) in inet_ntop's form.
 * Returns false, out unchanged, when there is no user and addr is not an
 * IPv4 or IPv6 address (nothing is then limited). */
bool limit_key(const char *addr, const char *user, char out[LIMIT_KEY_MAX]);

/* Takes one send token for the client at addr authenticated as user
 * (NULL or "": anonymous). Returns 0, or the seconds to wait (>= 1) when
 * its bucket is empty; the refusal is counted and, at info level, logged
 * with the key (at most once per LIMIT_LOG_S per key). */
int limit_send(const char *addr, const char *user);

/* Counts one more waiting request of that client. Returns a handle >= 0
 * to give back with limit_wait_release, -1 when no limit applies (nothing
 * to give back), or -2 when it already has max_waiting waiting (counted
 * and logged as limit_send's refusals are). */
int limit_wait_acquire(const char *addr, const char *user);

/* Gives back a handle from limit_wait_acquire; ignores handles < 0. */
void limit_wait_release(int handle);

/* One client's state, for /api/stats. */
struct limit_entry {
	char key[LIMIT_KEY_MAX];   /* see limit_key */
	int waiting;               /* waiting requests now */
	int refused_send;          /* 429s of the last LIMIT_WINDOW_S */
	int refused_waiting;
};

enum limit_order { LIMIT_BY_WAITING, LIMIT_BY_REFUSED };

/* The (at most) n clients with the most waiting requests, or the most
 * refusals in the window, most first, into out; clients with none are
 * left out. Returns how many. */
size_t limit_top(enum limit_order by, struct limit_entry *out, size_t n);

#endif
