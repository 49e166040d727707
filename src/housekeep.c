/* housekeep.c - the thread that publishes counters and prunes history. */
#include "housekeep.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "chat.h"
#include "log.h"
#include "stats.h"

#define TICK_MS 500              /* counters are published this often */
#define PRUNE_BATCH 500          /* rows per retention transaction */
#define DAY_MS (86400 * (int64_t)1000)

struct housekeeper {
	const struct config *cfg;
	struct hub *hub;
	struct store_retention keep;
	bool retain;                 /* keep limits anything */
	int lock_fd;                 /* >= 0 once this process prunes */
	struct store *store;         /* opened for the first prune */
	int64_t next_prune;          /* chat_mono_ms() */
};

bool
housekeep_retention(const struct config *c, struct store_retention *r)
{
	r->max_age_ms = c->retention_days * DAY_MS;
	r->max_messages = c->retention_messages;
	r->batch = PRUNE_BATCH;
	return r->max_age_ms > 0 || r->max_messages > 0;
}

/* Takes <db>-lock without waiting. True when this process holds it. */
static bool
housekeep_lead(struct housekeeper *k)
{
	char path[PATH_MAX];
	int fd;

	if (k->lock_fd >= 0)
		return true;
	if (snprintf(path, sizeof(path), "%s-lock", k->cfg->state_path) >=
	    (int)sizeof(path))
		return false;
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1) {
		log_warn("housekeep: %s", path);
		return false;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno != EWOULDBLOCK)
			log_warn("housekeep: flock %s", path);
		close(fd);
		return false;
	}
	log_info("housekeep: this process applies retention");
	k->lock_fd = fd;
	return true;
}

static void
housekeep_prune(struct housekeeper *k)
{
	struct store_options so = store_options_from_config(k->cfg);
	int64_t removed = 0, t0 = chat_mono_ms();
	enum chat_error e;

	if (k->store == NULL && (k->store = store_open(&so)) == NULL)
		return;
	e = store_prune(k->store, &k->keep, chat_now_ms(), &removed);
	stats_count(STATS_PRUNED, removed);
	if (e != CHAT_OK)
		log_warnx("housekeep: retention failed after removing %" PRId64
		    " rows; it tries again in %d s", removed,
		    k->cfg->retention_interval);
	else if (removed > 0)
		log_info("housekeep: retention removed %" PRId64 " rows in %"
		    PRId64 " ms", removed, chat_mono_ms() - t0);
}

static void
sleep_tick(void)
{
	struct timespec ts = { 0, TICK_MS * 1000000L };

	nanosleep(&ts, NULL);
}

static void *
housekeep_main(void *arg)
{
	struct housekeeper *k = arg;

	for (;;) {
		int64_t now;
		sleep_tick();
		stats_publish(k->hub);
		now = chat_mono_ms();
		if (!k->retain || now < k->next_prune)
			continue;
		k->next_prune = now + k->cfg->retention_interval * 1000LL;
		if (housekeep_lead(k))
			housekeep_prune(k);
	}
	return NULL;
}

int
housekeep_start(const struct config *cfg, struct hub *hub)
{
	static struct housekeeper k;   /* lives as long as the process */
	pthread_t t;

	k.cfg = cfg;
	k.hub = hub;
	k.lock_fd = -1;
	k.retain = housekeep_retention(cfg, &k.keep);
	k.next_prune = chat_mono_ms();
	if (pthread_create(&t, NULL, housekeep_main, &k) != 0) {
		log_errorx("housekeep_start: cannot start the thread");
		return -1;
	}
	pthread_detach(t);
	return 0;
}
