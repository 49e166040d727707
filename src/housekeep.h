/* housekeep.h - a worker process's background chores, in one thread:
 * publishing its counters for GET /api/stats twice a second, and applying
 * retention (FCGICHAT_RETENTION_*) every interval -- in one process only,
 * the one that holds the lock file <db>-lock (taken without waiting, and
 * kept; when that process ends another one takes over). */
#ifndef HOUSEKEEP_H
#define HOUSEKEEP_H

#include <stdbool.h>

#include "config.h"
#include "hub.h"
#include "store.h"

/* The retention of the configuration; false when it keeps everything. */
bool housekeep_retention(const struct config *c, struct store_retention *r);

/* Starts the thread. cfg and hub must outlive the process. Returns 0, or
 * -1 (logged; the chat works, without retention and with its figures
 * shown only by the process that answers). */
int housekeep_start(const struct config *cfg, struct hub *hub);

#endif
