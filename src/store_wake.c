/* store_wake.c - SQLite's wake-ups through the notify file path +
 * "-notify": every commit that others must see rewrites one byte of it
 * (store_notify), and store_wake_fd watches it with inotify. */
#include "store_sqlite.h"

#include <sys/inotify.h>

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

/* How often store_wake_drain watches the notify file anew: the watchers'
 * fallback timer, so a notify file made anew is watched within the time a
 * message would take to arrive without it. */
#define STORE_WAKE_REWATCH_MS 1000

/* What the watch reports. IN_MODIFY: a commit's pwrite; IN_CLOSE_WRITE and
 * IN_ATTRIB: a writer that closes it, or a tool that touches it. */
#define STORE_WAKE_EVENTS (IN_MODIFY | IN_CLOSE_WRITE | IN_ATTRIB)

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
	if (s->wake_fd != -1)
		close(s->wake_fd);
	free(s->notify_path);
}

/* Watches the notify file itself, not its directory: SQLite's writes to
 * the -wal file beside it would wake every watcher several times per
 * commit. Adding the watch again for the same file only renews it; for a
 * file made anew it adds a second watch, and the first one lasts while
 * writers still write to the old file. False when the file cannot be
 * watched now. */
static bool
store_wake_watch(struct store *s)
{
	s->wake_rewatch_at = chat_mono_ms() + STORE_WAKE_REWATCH_MS;
	return inotify_add_watch(s->wake_fd, s->notify_path,
	    STORE_WAKE_EVENTS) >= 0;
}

/* Lazily, so that only the connection that watches (the hub's) holds an
 * inotify instance: they are few (fs.inotify.max_user_instances, 128 per
 * user by default) and every accept thread has a connection of its own. */
int
store_sqlite_wake_fd(struct store *s)
{
	if (s->wake_tried)
		return s->wake_fd;
	s->wake_tried = true;
	if (s->notify_path == NULL)
		return -1;   /* out of memory at store_open, logged */
	if ((s->wake_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) == -1) {
		log_warn("store_wake_fd: inotify_init1 (raise "
		    "fs.inotify.max_user_instances); commits wake no one here");
		return -1;
	}
	if (!store_wake_watch(s))
		log_warn("store_wake_fd: cannot watch %s yet; trying again "
		    "every %d ms", s->notify_path, STORE_WAKE_REWATCH_MS);
	return s->wake_fd;
}

/* Always true: a byte written to the notify file says nothing of what
 * changed, and reading the access version (one row of a local file)
 * costs about 2 us. */
bool
store_sqlite_wake_drain(struct store *s)
{
	char b[4096];

	if (s->wake_fd == -1)
		return true;
	assert(s->notify_path != NULL);   /* store_wake_fd checked it */
	/* The events themselves say nothing the database does not: it is
	 * the truth, they are only the hint to look. */
	while (read(s->wake_fd, b, sizeof(b)) > 0)
		continue;
	if (chat_mono_ms() >= s->wake_rewatch_at)
		store_wake_watch(s);
	return true;
}
