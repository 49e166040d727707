/* admin.h - the commands of the people who run the chat:
 *   fcgichat.fcgi admin rooms | export ROOM [--csv] | import [FILE] |
 *                       delete ID | prune |
 *                       private ROOM USER... | public ROOM |
 *                       members ROOM [add|remove USER...] |
 *                       dm USER USER | send ROOM --as USER TEXT
 * and --check. They work on the database of FCGICHAT_DB while the chat
 * runs; run them as the user the workers run as. Output goes to the given
 * stream, problems to stderr; each returns the process exit status: 0 ok,
 * 1 failed, 2 bad usage. */
#ifndef ADMIN_H
#define ADMIN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"

enum admin_verb {
	ADMIN_ROOMS, ADMIN_EXPORT, ADMIN_IMPORT, ADMIN_DELETE, ADMIN_PRUNE,
	ADMIN_PRIVATE, ADMIN_PUBLIC, ADMIN_MEMBERS, ADMIN_DM, ADMIN_SEND,
	ADMIN__MAX
};

#define ADMIN_MAX_OPERANDS 256  /* user names on one command line */

/* One parsed command line. Strings point into argv. */
struct admin_cmd {
	enum admin_verb verb;
	const char *room;       /* export, private, public, members, send */
	const char *file;       /* import; NULL: standard input */
	int64_t id;             /* delete */
	bool csv;               /* export --csv */
	const char *as;         /* send --as USER */
	const char *text;       /* send */
	bool add, remove;       /* members ROOM add|remove (neither: list) */
	const char *users[ADMIN_MAX_OPERANDS];  /* private, members */
	int n_users;
};

/* Parses the words after "admin". Returns 0, or -1 with *why set to a
 * sentence naming the problem. */
int admin_parse(int argc, char *const argv[], struct admin_cmd *out,
    const char **why);

/* Prints the usage lines of the admin commands. */
void admin_usage(FILE *f);

/* Runs a parsed command against the database of c, writing to out. */
int admin_run(const struct config *c, const struct admin_cmd *cmd, FILE *out);

/* admin_private.c: the commands of private rooms, each returning an exit
 * status (0 ok, 1 failed), writing to out. */
struct store;
int admin_private(struct store *s, const struct admin_cmd *cmd, FILE *out);
int admin_public(struct store *s, const struct admin_cmd *cmd, FILE *out);
int admin_members(struct store *s, const struct admin_cmd *cmd, FILE *out);
int admin_dm(struct store *s, const struct admin_cmd *cmd, FILE *out);
int admin_send(struct store *s, const struct admin_cmd *cmd, FILE *out);

/* --check: the configuration (already loaded), the database's directory,
 * file, schema version, journal mode, writability and notify file. Prints
 * one line per finding ("ok:", "warning:", "error:") to out and returns 1
 * when there is an error, else 0. */
int admin_check(const struct config *c, FILE *out);

#endif
