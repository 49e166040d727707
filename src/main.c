/* main.c - fcgichat.fcgi's command line: serve (worker.c), initialise or
 * check the database, or run an admin command. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "config.h"
#include "log.h"
#include "store.h"
#include "worker.h"

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
	config_usage(f);
}

/* --check: configuration loaded; the database and its files ready. */
static int
check(const struct config *cfg)
{
	return admin_check(cfg, stdout);
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
			printf("fcgichat %s\n", FCGICHAT_VERSION);
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
		struct store_options so = store_options_from_config(&cfg);
		return store_migrate(&so) == 0 ? check(&cfg) : 1;
	}
	if (mode == CHECK)
		return check(&cfg);
	if (mode == ADMIN)
		return admin_run(&cfg, &cmd, stdout);
	return worker_serve(&cfg);
}
