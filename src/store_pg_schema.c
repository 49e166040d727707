/* store_pg_schema.c - PostgreSQL's schema: applies the migrations of
 * sql/pg/ (version in the table fcgichat_schema), checks it at open and
 * inspects a database for --check; and the URI as people see it, without
 * its password. */
#include "store_pg.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

/* build/sql_pg_migrations.c, made by src/embed-sql.sh from
 * sql/pg/[0-9]*.sql: migration i moves a database from version i to
 * i + 1. */
extern const char *const store_pg_migrations[];
extern const size_t store_pg_migrations_n;

/* Runs sql; true when it worked. The result is the caller's through
 * *out when out is not NULL (else cleared). */
static bool
pg_ok(PGconn *c, const char *sql, PGresult **out)
{
	PGresult *r = PQexec(c, sql);
	ExecStatusType st = PQresultStatus(r);
	bool ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;

	if (out != NULL)
		*out = r;
	else
		PQclear(r);
	return ok;
}

/* The schema version, 0 without the table, -1 when it cannot be read. */
static long long
pg_version(PGconn *c)
{
	PGresult *r;
	long long v = -1;

	if (!pg_ok(c, "SELECT to_regclass('fcgichat_schema') IS NOT NULL",
	    &r) || PQntuples(r) != 1) {
		PQclear(r);
		return -1;
	}
	if (strcmp(PQgetvalue(r, 0, 0), "t") != 0)
		v = 0;
	PQclear(r);
	if (v == 0)
		return 0;
	if (pg_ok(c, "SELECT coalesce(max(version), 0) FROM fcgichat_schema",
	    &r) && PQntuples(r) == 1)
		v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return v;
}

int
pg_schema_check(PGconn *c, const char *fn)
{
	long long v = pg_version(c);

	if (v == store_schema_version())
		return 0;
	if (v == -1)
		log_errorx("%s: PostgreSQL: cannot read the schema version: %s",
		    fn, PQerrorMessage(c));
	else
		log_errorx("%s: PostgreSQL: schema version %lld; this program "
		    "needs %d: run `fcgichat.fcgi --init`", fn, v,
		    store_schema_version());
	return -1;
}

/* Applies the one migration the database is missing, if any, in its own
 * transaction under the migration lock, so that processes on several
 * hosts may run --init at once. Returns 1 after applying one, 0 when
 * the schema is current, -1 on failure (logged). */
static int
pg_migrate_step(PGconn *c)
{
	char sql[96];
	long long v;
	int ret = -1;

	snprintf(sql, sizeof(sql), "SELECT pg_advisory_xact_lock(%lld)",
	    STORE_PG_LOCK_MIGRATE);
	if (!pg_ok(c, "BEGIN", NULL) || !pg_ok(c, sql, NULL) ||
	    !pg_ok(c, "CREATE TABLE IF NOT EXISTS fcgichat_schema "
	    "(version integer NOT NULL)", NULL) || (v = pg_version(c)) < 0) {
		log_errorx("store_migrate: PostgreSQL: %s", PQerrorMessage(c));
		goto done;
	}
	if ((size_t)v > store_pg_migrations_n) {
		log_errorx("store_migrate: PostgreSQL: schema version %lld is "
		    "not one this program knows (0-%zu); use a newer "
		    "fcgichat", v, store_pg_migrations_n);
		goto done;
	}
	if ((size_t)v == store_pg_migrations_n) {
		ret = 0;
		goto done;
	}
	snprintf(sql, sizeof(sql), "DELETE FROM fcgichat_schema; INSERT INTO "
	    "fcgichat_schema VALUES (%lld)", v + 1);
	if (!pg_ok(c, store_pg_migrations[v], NULL) || !pg_ok(c, sql, NULL) ||
	    !pg_ok(c, "COMMIT", NULL)) {
		log_errorx("store_migrate: PostgreSQL: migration %lld: %s",
		    v + 1, PQerrorMessage(c));
		goto done;
	}
	log_info("store_migrate: PostgreSQL: schema version %lld", v + 1);
	ret = 1;
done:
	if (PQtransactionStatus(c) != PQTRANS_IDLE)
		pg_ok(c, "ROLLBACK", NULL);
	return ret;
}

int
store_pg_migrate(const struct store_options *o)
{
	char why[256];
	PGconn *c;
	int rc;

	/* One schema version for both engines (see sql/pg/002). */
	assert(store_pg_migrations_n == (size_t)store_schema_version());
	if ((c = pg_connect(o->path, o->busy_timeout_ms, why,
	    sizeof(why))) == NULL) {
		log_errorx("store_migrate: PostgreSQL: %s", why);
		return -1;
	}
	/* Quiet: the migrations' own NOTICEs are not news. */
	pg_ok(c, "SET client_min_messages = warning", NULL);
	/* Migrations may wait for the lock longer than a send would. */
	pg_ok(c, "SET lock_timeout = 0", NULL);
	while ((rc = pg_migrate_step(c)) == 1)
		continue;
	PQfinish(c);
	return rc;
}

/* May this connection's user write the tables (and is the server not a
 * standby)? A lock in a transaction rolled back changes nothing. */
static bool
pg_can_write(PGconn *c, struct store_health *out)
{
	PGresult *r = NULL;
	bool ok = pg_ok(c, "BEGIN", NULL) && pg_ok(c, "LOCK TABLE messages, "
	    "rooms IN ROW EXCLUSIVE MODE NOWAIT", &r);

	if (!ok)
		snprintf(out->error, sizeof(out->error), "%s",
		    PQerrorMessage(c));
	PQclear(r);
	pg_ok(c, "ROLLBACK", NULL);
	return ok;
}

int
store_pg_inspect(const struct store_options *o, struct store_health *out)
{
	PGresult *r;
	PGconn *c;

	memset(out, 0, sizeof(*out));
	out->schema = out->last_id = -1;
	out->wal = true;   /* no journal modes here */
	if ((c = pg_connect(o->path, o->busy_timeout_ms, out->error,
	    sizeof(out->error))) == NULL)
		return 0;
	out->exists = true;
	out->schema = pg_version(c);
	out->readable = out->schema >= 0;
	if (!out->readable)
		snprintf(out->error, sizeof(out->error), "%s",
		    PQerrorMessage(c));
	if (out->schema >= 1 && pg_ok(c, "SELECT coalesce(max(id), 0) FROM "
	    "messages", &r) && PQntuples(r) == 1)
		out->last_id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	if (out->schema >= 1)
		PQclear(r);
	if (out->readable && out->schema >= 1)
		out->writable = pg_can_write(c, out);
	PQfinish(c);
	return 0;
}

/* --- the URI without its password ------------------------------------ */

/* What has been written of store_pg_display_path's answer. */
struct pg_shown {
	char *p;
	size_t left;            /* room left, the terminating NUL's too */
};

static void
pg_shown_add(struct pg_shown *o, const char *s, size_t n)
{
	assert(o->left > 0);
	if (n > o->left - 1)
		n = o->left - 1;
	memcpy(o->p, s, n);
	o->p += n;
	o->left -= n;
	*o->p = '\0';
}

/* The parameters after '?', k=v joined by '&': a password's value is
 * hidden, and so is that of a name with a percent-escape in it, which
 * libpq decodes (it could spell "password"). */
static void
pg_shown_params(struct pg_shown *o, const char *q)
{
	size_t n, name;

	while (*q != '\0') {
		n = strcspn(q, "&");
		name = strcspn(q, "=&");
		if (q[name] == '=' && ((name == 8 &&
		    strncmp(q, "password", 8) == 0) ||
		    memchr(q, '%', name) != NULL)) {
			pg_shown_add(o, q, name + 1);
			pg_shown_add(o, "***", 3);
		} else
			pg_shown_add(o, q, n);
		q += n;
		if (*q == '&')
			pg_shown_add(o, q++, 1);
	}
}

/* scheme://[user[:password]@][host][/db][?params]. The user info ends at
 * the first '@' before any '/', as libpq's parser ends it. */
void
store_pg_display_path(const char *uri, char *out, size_t outsz)
{
	struct pg_shown o = { out, outsz };
	const char *a = strstr(uri, "://");
	size_t auth, user, rest;

	*out = '\0';
	assert(a != NULL);   /* the engine was chosen by this prefix */
	a += 3;
	pg_shown_add(&o, uri, (size_t)(a - uri));
	auth = strcspn(a, "@/");
	if (a[auth] == '@') {
		user = strcspn(a, ":@");
		pg_shown_add(&o, a, user);
		if (a[user] == ':')
			pg_shown_add(&o, ":***", 4);
		pg_shown_add(&o, "@", 1);
		a += auth + 1;
	}
	rest = strcspn(a, "?");
	pg_shown_add(&o, a, rest);
	if (a[rest] == '?') {
		pg_shown_add(&o, "?", 1);
		pg_shown_params(&o, a + rest + 1);
	}
}
