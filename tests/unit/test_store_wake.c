/* test_store_wake.c - store_wake_fd and store_wake_drain: a commit through
 * one connection, or another process, makes a watching connection's
 * descriptor readable within a bound; draining makes it quiet again; what
 * commits wake and what do not; and (SQLite) a notify file made anew is
 * watched again. */
#include <sys/wait.h>

#include <limits.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "chat.h"
#include "log.h"
#include "store.h"
#include "tmp_db.h"

/* How long a wake-up may take. inotify queues the event inside the
 * committer's write, so it is there at once; the bound is for a loaded
 * machine. */
#define WAKE_BOUND_MS 1000

/* Longer than store_wake_drain's pause between two watches anew. */
#define REWATCH_WAIT_MS 1100

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL || tmp_db_open(f, "test_store_wake") == -1) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	tmp_db_close(f);
	free(f);
	return 0;
}

/* --- helpers ----------------------------------------------------------- */

/* Whether fd becomes readable within ms. */
static bool
readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms) == 1 && (p.revents & POLLIN);
}

static void
assert_quiet(int fd)
{
	assert_false(readable(fd, 0));
}

/* Asserts that w's descriptor wakes within the bound, then drains it. */
static void
assert_woken(struct store *w, int fd)
{
	int64_t t0 = chat_mono_ms();

	assert_true(readable(fd, WAKE_BOUND_MS));
	assert_true(chat_mono_ms() - t0 < WAKE_BOUND_MS);
	/* SQLite cannot tell an access change from a message: always. */
	assert_true(store_wake_drain(w));
	assert_quiet(fd);
}

static enum chat_error
send_as(struct store *s, const char *cid, bool *created, int64_t *id)
{
	struct chat_message m;
	enum chat_error e;

	e = store_append(s, "lobby", "n", "t", cid, &m, created);
	if (e == CHAT_OK) {
		if (id != NULL)
			*id = m.id;
		chat_message_clear(&m);
	}
	return e;
}

static int64_t
put(struct store *s)
{
	bool created = false;
	int64_t id = 0;

	assert_int_equal(send_as(s, NULL, &created, &id), CHAT_OK);
	assert_true(created);
	return id;
}

static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static void
notify_unlink(struct fx *f)
{
	char *p = store_notify_path(f->path);

	assert_non_null(p);
	assert_int_equal(unlink(p), 0);
	free(p);
}

/* --- tests ------------------------------------------------------------- */

static void
test_wake_on_commit(void **state)
{
	struct fx *f = *state;
	struct store *w;
	int fd;

	assert_non_null(w = store_open(&f->o));
	assert_true(store_wake_drain(w));   /* no descriptor yet: no hint */
	assert_true((fd = store_wake_fd(w)) >= 0);
	assert_int_equal(store_wake_fd(w), fd);
	assert_quiet(fd);

	put(f->s);
	assert_woken(w, fd);
	/* Quiet until the next commit, which wakes it again. */
	store_wake_drain(w);
	assert_quiet(fd);
	put(f->s);
	put(f->s);
	assert_woken(w, fd);
	store_free(w);
}

static void
test_wake_other_process(void **state)
{
	struct fx *f = *state;
	int fd, status;
	pid_t pid;

	assert_true((fd = store_wake_fd(f->s)) >= 0);
	assert_quiet(fd);
	/* The child sends through a connection of its own (a connection
	 * must not cross a fork). */
	assert_true((pid = fork()) != -1);
	if (pid == 0) {
		struct store *s = store_open(&f->o);
		bool created = false;
		int ok = s != NULL &&
		    send_as(s, NULL, &created, NULL) == CHAT_OK && created;
		store_free(s);
		_exit(ok ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_woken(f->s, fd);
}

/* Commits that others must see wake; those that change nothing a reader
 * could be sent do not. The watcher here is read-only, as a hub's is when
 * the files cannot be written. */
static void
test_wake_what_wakes(void **state)
{
	struct fx *f = *state;
	struct store_options o = f->o;
	struct store_retention keep = { .max_messages = 1 };
	struct chat_message imp = { .id = 100, .ts = 1, .room = "lobby",
	    .nick = "n", .text = "imported" };
	struct store *w;
	bool created;
	size_t stored = 0;
	int64_t a, removed = 0;
	int fd;

	o.readonly = true;
	assert_non_null(w = store_open(&o));
	assert_true((fd = store_wake_fd(w)) >= 0);
	a = put(f->s);
	assert_woken(w, fd);

	assert_int_equal(send_as(f->s, "k", &created, NULL), CHAT_OK);
	assert_true(created);
	assert_woken(w, fd);
	assert_int_equal(send_as(f->s, "k", &created, NULL), CHAT_OK);
	assert_false(created);   /* a retry stores nothing, wakes nobody */
	assert_quiet(fd);

	assert_int_equal(store_delete(f->s, a, NULL), CHAT_OK);
	assert_woken(w, fd);
	assert_int_equal(store_delete(f->s, a, NULL), CHAT_E_NOT_FOUND);
	assert_quiet(fd);

	assert_int_equal(store_import(f->s, &imp, 1, &stored), CHAT_OK);
	assert_int_equal(stored, 1);
	assert_woken(w, fd);
	assert_int_equal(store_import(f->s, &imp, 1, &stored), CHAT_OK);
	assert_int_equal(stored, 1);   /* its id is taken: skipped */
	assert_quiet(fd);

	assert_int_equal(store_prune(f->s, &keep, chat_now_ms(), &removed),
	    CHAT_OK);
	assert_true(removed > 0);
	assert_quiet(fd);
	store_free(w);
}

/* SQLite: a notify file removed and made anew (by the next store_open) is
 * watched again after a drain once the pause has passed; writers of the
 * old file still wake the watcher meanwhile. */
static void
test_wake_notify_file_replaced(void **state)
{
	struct fx *f = *state;
	struct store *w, *s2;
	int fd;

	assert_non_null(w = store_open(&f->o));
	assert_true((fd = store_wake_fd(w)) >= 0);
	notify_unlink(f);
	store_wake_drain(w);   /* the unlink itself (IN_ATTRIB) */
	assert_non_null(s2 = store_open(&f->o));

	/* Why watching anew matters: the new file is not watched yet. */
	put(s2);
	assert_quiet(fd);
	put(f->s);   /* still writes the old file */
	assert_woken(w, fd);

	sleep_ms(REWATCH_WAIT_MS);
	store_wake_drain(w);
	put(s2);
	assert_woken(w, fd);
	store_free(s2);
	store_free(w);
}

/* SQLite: a notify file missing when store_wake_fd is called is watched
 * once it exists, after a drain once the pause has passed. */
static void
test_wake_notify_file_missing(void **state)
{
	struct fx *f = *state;
	struct store_options o = f->o;
	struct store *w, *s2;
	int fd;

	notify_unlink(f);
	o.readonly = true;   /* does not make the file */
	assert_non_null(w = store_open(&o));
	assert_true((fd = store_wake_fd(w)) >= 0);
	assert_non_null(s2 = store_open(&f->o));   /* makes it */
	sleep_ms(REWATCH_WAIT_MS);
	store_wake_drain(w);
	assert_quiet(fd);
	put(s2);
	assert_woken(w, fd);
	store_free(s2);
	store_free(w);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(t) cmocka_unit_test_setup_teardown(t, setup, teardown)
		T(test_wake_on_commit),
		T(test_wake_other_process),
		T(test_wake_what_wakes),
		T(test_wake_notify_file_replaced),
		T(test_wake_notify_file_missing),
#undef T
	};

	log_init("test_store_wake", getenv("TEST_STORE_LOG") ?
	    LOG_LEVEL_DEBUG : LOG_LEVEL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
