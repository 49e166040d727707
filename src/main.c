/* main.c - fcgichat.fcgi: starts the watcher and the accept threads of one
 * worker process, or initialises / checks the database. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "admin.h"
#include "api.h"
#include "config.h"
#include "fcgi.h"
#include "housekeep.h"
#include "hub.h"
#include "limit.h"
#include "log.h"
#include "stats.h"
#include "store.h"

#define VERSION "1.0.0"

struct worker {
	pthread_t thread;
	int listen_fd;
	struct api_thread *api;
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: fcgichat.fcgi [--socket PATH|HOST:PORT]\n"
	    "       fcgichat.fcgi --init | --check | --help | --version\n");
	admin_usage(f);
	fprintf(f, "\n"
	    "Run by the web server (lighttpd mod_fastcgi, Apache mod_fcgid) it\n"
	    "answers on the socket it was given; with --socket or\n"
	    "FCGICHAT_SOCKET it listens on its own (Apache mod_proxy_fcgi).\n"
	    "--init creates or migrates the database and exits; --check\n"
	    "validates the configuration and the database; admin lists rooms,\n"
	    "exports and imports history, deletes a message, prunes (man 8\n"
	    "fcgichat).\n\n"
	    "Environment:\n");
	for (const struct config_var *v = config_vars; v->name; v++)
		fprintf(f, "  %-22s %s (default: %s)\n", v->name, v->help,
		    *v->def ? v->def : "none");
}

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

static struct store_options
store_options_of(const struct config *cfg)
{
	struct store_options so = {
		.path = cfg->db_path, .sync_full = cfg->sync_full,
		.busy_timeout_ms = cfg->busy_timeout_ms,
	};
	return so;
}

/* --check: configuration loaded; the database and its files ready. */
static int
check(const struct config *cfg)
{
	return admin_check(cfg, stdout);
}

static int
serve(const struct config *cfg)
{
	struct store_options so = store_options_of(cfg);
	struct hub_options ho = { .store = so, .keepalive_s = cfg->keepalive };
	struct limit_options lo = {
		.db_path = cfg->db_path, .send_rate = cfg->send_rate,
		.send_burst = cfg->send_burst, .max_waiting = cfg->max_waiting,
	};
	/* Static (like the housekeeper's state): serve() returns while the
	 * threads still run, and LeakSanitizer's check at exit must find the
	 * array held, whatever registers the threads keep their part in. */
	static struct worker *w;
	struct hub *hub;
	sigset_t stop;
	int fd, sig, n = cfg->threads;

	/* Blocked before any thread starts, as every thread inherits it: only
	 * sigwait below takes SIGTERM (the web server stopping, and again as
	 * the parent-death signal when it exits) and SIGINT. A thread that
	 * left them unblocked would take one that comes while the main thread
	 * is not waiting, and end the process there and then. */
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	if ((fd = fcgi_init(cfg->socket)) < 0)
		return 1;
	raise_nofile();
	if (store_migrate(&so) == -1 || (hub = hub_start(&ho)) == NULL)
		return 1;
	stats_open(cfg->db_path);
	housekeep_start(cfg, hub);
	limit_init(&lo);
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
	    VERSION, cfg->db_path, cfg->prefix, n);
	sigwait(&stop, &sig);
	/* Parked clients see their connection close and resume from their
	 * last id; every acknowledged message is already committed. */
	log_info("main: %s, exiting", strsignal(sig));
	return 0;
}

int
main(int argc, char *argv[])
{
	struct config cfg;
	const char *sock = NULL, *why;
	enum { SERVE, INIT, CHECK, ADMIN } mode = SERVE;
	struct admin_cmd cmd;

	log_init("fcgichat", LOG_LEVEL_INFO);
	/* Run as a CGI program, a query string without '=' would arrive here
	 * as arguments (RFC 3875 4.4): never take commands from a request. */
	if (argc > 1 && getenv("GATEWAY_INTERFACE") != NULL) {
		fprintf(stderr, "fcgichat: no arguments when run by a web "
		    "server as a CGI program\n");
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--init") == 0)
			mode = INIT;
		else if (strcmp(argv[i], "--check") == 0)
			mode = CHECK;
		else if (strcmp(argv[i], "--socket") == 0 && i + 1 < argc)
			sock = argv[++i];
		else if (strcmp(argv[i], "admin") == 0) {
			if (admin_parse(argc - i - 1, argv + i + 1, &cmd,
			    &why) == -1) {
				fprintf(stderr, "fcgichat: admin: %s\n", why);
				admin_usage(stderr);
				return 2;
			}
			mode = ADMIN;
			break;
		} else if (strcmp(argv[i], "--version") == 0) {
			printf("fcgichat %s\n", VERSION);
			return 0;
		} else if (strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (config_load(&cfg) == -1)
		return 1;
	log_level = cfg.log_level;
	if (sock != NULL)
		cfg.socket = sock;
	if (mode == INIT) {
		struct store_options so = store_options_of(&cfg);
		return store_migrate(&so) == 0 ? check(&cfg) : 1;
	}
	if (mode == CHECK)
		return check(&cfg);
	if (mode == ADMIN)
		return admin_run(&cfg, &cmd, stdout);
	return serve(&cfg);
}
