/* worker.h - one worker process as a web server runs it: the watcher (hub),
 * the accept threads, the housekeeper, and the wait for the signal that
 * ends the process. */
#ifndef WORKER_H
#define WORKER_H

#include "config.h"
#include "store.h"

#define FCGICHAT_VERSION "1.0.0"

/* Listens (on the socket the web server gave, or cfg->socket), migrates
 * the database, starts the watcher and cfg->threads accept threads, and
 * waits for SIGTERM or SIGINT. Returns 0 then (the threads still run: the
 * caller exits), or 1 when it could not start (logged). */
int worker_serve(const struct config *cfg);

#endif
