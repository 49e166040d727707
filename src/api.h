/* api.h - the HTTP API of API.md: one route table, request checks before
 * any handler runs, and one function that turns an error kind into the
 * API.md answer. */
#ifndef API_H
#define API_H

#include "config.h"
#include "fcgi.h"
#include "hub.h"
#include "store.h"

/* What one accept thread needs: its own database connection and buffers.
 * Create with api_thread_new, free with api_thread_free (accepts NULL). */
struct api_thread;

/* cfg and hub must outlive the thread. Returns NULL on failure (logged). */
struct api_thread *api_thread_new(const struct config *cfg, struct hub *hub);
void api_thread_free(struct api_thread *t);

/* Answers one accepted request, or parks it with the hub; either way req
 * is ready for the next fcgi_accept afterwards. */
void api_handle(struct api_thread *t, struct fcgi_req *req);

#endif
