/* stats.h - figures for operators. Each worker process keeps its counters
 * in a small file of its own beside the database, <db>-stats/<pid>
 * (mmap'd, held with an flock while the process lives); GET /api/stats
 * adds up the files of the live processes, skips and removes those of dead
 * ones, and says who may ask. */
#ifndef STATS_H
#define STATS_H

#include <stdint.h>

#include "buf.h"
#include "config.h"
#include "error.h"
#include "hub.h"
#include "store.h"

/* The counters of one process, all since it started except the ones
 * marked "now". The names in stats.c's table are the JSON names. */
enum stats_counter {
	STATS_REQUESTS,          /* requests received */
	STATS_SENDS,             /* messages stored by sends */
	STATS_ERRORS_4XX,        /* answers 400-499 */
	STATS_ERRORS_5XX,        /* answers 500-599 */
	STATS_WAITING_LONGPOLL,  /* now: parked long-polls */
	STATS_WAITING_SSE,       /* now: open event streams */
	STATS_WAITING_WS,        /* now: open WebSockets */
	STATS_PARKED,            /* requests ever parked */
	STATS_DELIVERED,         /* messages written to waiting clients */
	STATS_DROPPED,           /* waiting clients dropped: gone or slow */
	STATS_PRUNED,            /* rows removed by retention */
	STATS_LAST_ID,           /* now: newest id the watcher has seen */
	STATS_PRESENCE_WRITES,   /* writes of who is here (presence.c) */
	STATS__MAX
};

/* Creates this process's file (the directory 0700, the file 0600) and
 * maps it; counters counted before stay. Call once, before threads start.
 * Returns 0, or -1 (logged): the counters then live in memory only and
 * /api/stats shows this process as long as it answers itself. */
int stats_open(const char *db_path);

/* Adds n to counter c of this process. Thread-safe and lock-free. */
void stats_count(enum stats_counter c, int64_t n);

/* Copies the "now" figures and the hub's totals into this process's
 * counters (the housekeeping thread does it twice a second). */
void stats_publish(struct hub *h);

/* May this request read the statistics (FCGICHAT_STATS_ALLOW)? loopback:
 * from 127.0.0.0/8 or ::1, or with the token; token: with the token only;
 * open: anyone. "With the token" means an Authorization: Bearer header
 * equal to FCGICHAT_STATS_TOKEN; a wrong token is refused even from
 * loopback. Returns CHAT_OK, or CHAT_E_FORBIDDEN with *why set to a
 * sentence for the client. remote_addr and authorization may be NULL. */
enum chat_error stats_allowed(const struct config *c, const char *remote_addr,
    const char *authorization, const char **why);

/* Appends the JSON answer of GET /api/stats to b: totals and waiting
 * clients over the live processes, each process's figures, the database
 * (size, newest id, rooms, messages) and the retention settings. h is this
 * process's hub (its figures are published first). Returns CHAT_OK, or
 * the store's error kind. */
enum chat_error stats_answer(struct buf *b, const struct config *c,
    struct store *s, struct hub *h);

#endif
