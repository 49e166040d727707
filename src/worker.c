/* worker.c - one worker process: the watcher, the accept threads, and the
 * wait for the signal (or the watcher's request) that ends it. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "api.h"
#include "fcgi.h"
#include "housekeep.h"
#include "hub.h"
#include "limit.h"
#include "log.h"
#include "stats.h"
#include "store.h"
#include "worker.h"
#include "ws_accept.h"

struct worker {
	pthread_t thread;
	int listen_fd;
	struct api_thread *api;
};

/* Parked connections each hold a descriptor: allow as many as we may. */
static void
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		log_debug("main: %llu descriptors allowed",
		    (unsigned long long)rl.rlim_cur);
}

/* Waits for one of the signals in stop, or for the watcher to ask, on
 * stop_fd, for this worker to make way for a new one (hub_options). Returns
 * what ended the wait, for the log. */
static const char *
worker_wait(const sigset_t *stop, int stop_fd)
{
	struct pollfd p[2] = { { .fd = signalfd(-1, stop, SFD_CLOEXEC),
	    .events = POLLIN }, { .fd = stop_fd, .events = POLLIN } };
	struct signalfd_siginfo si;
	int sig, n;

	if (p[0].fd != -1) {
		while ((n = poll(p, 2, -1)) == -1 && errno == EINTR)
			;
		if (n > 0 && !(p[0].revents & POLLIN))
			return "the watcher asked for a new worker";
		if (read(p[0].fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
			return strsignal((int)si.ssi_signo);
	} else
		log_warn("worker_wait: signalfd; only signals end this "
		    "worker");
	sigwait(stop, &sig);
	return strsignal(sig);
}

/* How long an ending worker gives the watcher to close its streams. */
#define STOP_GRACE_MS 200

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct fcgi_req *req = fcgi_req_new(w->listen_fd);

	if (req == NULL) {
		log_errorx("worker_main: out of memory");
		return NULL;
	}
	while (fcgi_accept(req) == 0)
		api_handle(w->api, req);
	fcgi_req_free(req);
	return NULL;
}

int
worker_serve(const struct config *cfg)
{
	struct store_options so = store_options_from_config(cfg);
	struct hub_options ho = { .store = so, .keepalive_s = cfg->keepalive };
	struct limit_options lo = {
		.db_path = cfg->state_path, .send_rate = cfg->send_rate,
		.send_burst = cfg->send_burst, .max_waiting = cfg->max_waiting,
	};
	/* Static (like the housekeeper's state): serve() returns while the
	 * threads still run, and LeakSanitizer's check at exit must find the
	 * array held, whatever registers the threads keep their part in. */
	static struct worker *w;
	struct hub *hub;
	sigset_t stop;
	const char *why;
	char shown[PATH_MAX];   /* the database, its password hidden */
	int fd, n = cfg->threads;

	/* Blocked before any thread starts, as every thread inherits it: only
	 * worker_wait below takes SIGTERM (the web server stopping, and again
	 * as the parent-death signal when it exits) and SIGINT. A thread that
	 * left them unblocked would take one that comes while the main thread
	 * is not waiting, and end the process there and then. */
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	if ((fd = fcgi_init(cfg->socket)) < 0)
		return 1;
	raise_nofile();
	if ((ho.stop_fd = eventfd(0, EFD_CLOEXEC)) == -1) {
		log_error("worker_serve: eventfd");
		return 1;
	}
	if (store_migrate(&so) == -1 || (hub = hub_start(&ho)) == NULL)
		return 1;
	stats_open(cfg->state_path);
	housekeep_start(cfg, hub);
	limit_init(&lo);
	if (ws_accept_start(cfg, hub) == -1)
		return 1;
	if ((w = calloc((size_t)n, sizeof(*w))) == NULL)
		return 1;
	for (int i = 0; i < n; i++) {
		w[i].listen_fd = fd;
		if ((w[i].api = api_thread_new(cfg, hub)) == NULL)
			return 1;
		if (pthread_create(&w[i].thread, NULL, worker_main, &w[i]) != 0)
			return 1;
	}
	log_info("main: fcgichat %s serving %s at %s with %d threads",
	    FCGICHAT_VERSION, store_display_path(cfg->db_path, shown,
	    sizeof(shown)), cfg->prefix, n);
	why = worker_wait(&stop, ho.stop_fd);
	/* Parked clients see their connection close (WebSockets with 1001)
	 * and resume from their last id; every acknowledged message is
	 * already committed. */
	log_info("main: %s, exiting", why);
	hub_stop(hub, STOP_GRACE_MS);
	return 0;
}
