/* store_wake.c - SQLite's wake-ups through the notify file path +
 * "-notify": every commit that others must see rewrites one byte of it
 * (store_notify), and the hub watches it with inotify. */
#include "store_sqlite.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

char *
store_notify_path(const char *db_path)
{
	size_t n = strlen(db_path) + sizeof("-notify");
	char *p;

	if ((p = malloc(n)) != NULL)
		snprintf(p, n, "%s-notify", db_path);
	return p;
}

/* The notify file store_migrate made. Recreated (0600) if someone removed
 * it; if it cannot be opened the chat still works, but watchers in other
 * processes only notice new messages on their fallback timer. A read-only
 * connection never writes it, but may watch it. */
void
store_notify_open(struct store *s, const char *db_path, bool writer)
{
	if ((s->notify_path = store_notify_path(db_path)) == NULL) {
		log_warn("store_open");
		return;
	}
	if (!writer)
		return;
	s->notify_fd = open(s->notify_path, O_WRONLY | O_CREAT | O_CLOEXEC,
	    0600);
	if (s->notify_fd == -1)
		log_warn("store_open: %s (other processes will wake late)",
		    s->notify_path);
}

/* Wakes watchers in every process: inotify reports IN_MODIFY. Written at
 * offset 0 so the file never grows. A failure costs only latency: the
 * watchers' fallback timer still finds the message. */
void
store_notify(struct store *s)
{
	if (s->notify_fd != -1 && pwrite(s->notify_fd, "x", 1, 0) != 1)
		log_debug("store_append: notify: %s", strerror(errno));
}

void
store_notify_close(struct store *s)
{
	if (s->notify_fd != -1)
		close(s->notify_fd);
	free(s->notify_path);
}
