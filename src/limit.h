/* limit.h - per-client-address limits shared by every worker process of a
 * database: a token bucket of sends per second, and a count of waiting
 * long-polls and event streams. The state lives in a small shared file
 * beside the database (<db>-limits, mmap'd), so that the limits hold
 * whichever process a request lands in; a process killed with waiters
 * loses its counts, not the others'. */
#ifndef LIMIT_H
#define LIMIT_H

#include <stdbool.h>
#include <stdint.h>

struct limit_options {
	const char *db_path;   /* the state file is db_path + "-limits" */
	int send_rate;         /* sends per second per address; 0: no limit */
	int send_burst;        /* bucket size, >= 1 */
	int max_waiting;       /* waiting requests per address; 0: no limit */
};

/* Opens (creating, mode 0600) the shared state and claims a process slot.
 * Returns 0, or -1 (logged); on failure every check allows. Call once per
 * process, before threads start. */
int limit_init(const struct limit_options *o);

/* Takes one send token for addr (REMOTE_ADDR text). Returns 0, or the
 * seconds to wait (>= 1) when the bucket is empty. */
int limit_send(const char *addr);

/* Counts one more waiting request of addr. Returns a handle >= 0 to give
 * back with limit_wait_release, -1 when no limit applies (nothing to give
 * back), or -2 when addr already has max_waiting waiting. */
int limit_wait_acquire(const char *addr);

/* Gives back a handle from limit_wait_acquire; ignores handles < 0. */
void limit_wait_release(int handle);

#endif
