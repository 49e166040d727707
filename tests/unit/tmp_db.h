/* tmp_db.h - for unit tests that need a database: a fresh, migrated one
 * in its own temporary directory (/tmp/NAME.XXXXXX/chat.db), open, and its
 * removal with the directory. */
#ifndef TMP_DB_H
#define TMP_DB_H

#include <sys/stat.h>

#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "store.h"

struct fx {
	char dir[64];
	char path[PATH_MAX];
	struct store_options o;
	struct store *s;
};

static int
tmp_db_rm(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

/* Makes and opens f's database. Returns 0 or -1. */
static int
tmp_db_open(struct fx *f, const char *name)
{
	snprintf(f->dir, sizeof(f->dir), "/tmp/%s.XXXXXX", name);
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/chat.db", f->dir);
	f->o.path = f->path;
	f->o.busy_timeout_ms = 5000;
	if (store_migrate(&f->o) != 0 || (f->s = store_open(&f->o)) == NULL)
		return -1;
	return 0;
}

/* Closes f's database and removes its directory. */
static void
tmp_db_close(struct fx *f)
{
	store_free(f->s);
	nftw(f->dir, tmp_db_rm, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
