/* admin.c - `fcgichat.fcgi admin ...` and `--check`, for operators. */
#include "admin.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "chat.h"
#include "csv.h"
#include "housekeep.h"
#include "json.h"
#include "query.h"
#include "store.h"
#include "validate.h"

#define EXPORT_PAGE 1000         /* rows per read while exporting */
#define IMPORT_CHUNK 500         /* messages per import transaction */
#define UTF8_BOM "\xEF\xBB\xBF"

struct admin_ctx {
	const struct config *cfg;
	struct store *store;
	FILE *out;
};

typedef int (*admin_fn)(struct admin_ctx *, const struct admin_cmd *);

static int admin_rooms(struct admin_ctx *, const struct admin_cmd *);
static int admin_export(struct admin_ctx *, const struct admin_cmd *);
static int admin_import(struct admin_ctx *, const struct admin_cmd *);
static int admin_delete(struct admin_ctx *, const struct admin_cmd *);
static int admin_prune(struct admin_ctx *, const struct admin_cmd *);
static int admin_store(struct admin_ctx *, const struct admin_cmd *);

/* The commands in one screen: name, operands, usage, what runs. */
static const struct verb {
	const char *name;
	int min, max;            /* operands, options not counted */
	const char *option;      /* the one option it takes, or NULL; one
	                          * ending in a space takes a value */
	const char *usage;
	admin_fn fn;
} verbs[ADMIN__MAX] = {
	[ADMIN_ROOMS] = { "rooms", 0, 0, NULL, "admin rooms", admin_rooms },
	[ADMIN_EXPORT] = { "export", 1, 1, "--csv", "admin export ROOM [--csv]",
	    admin_export },
	[ADMIN_IMPORT] = { "import", 0, 1, "--csv",
	    "admin import [FILE] [--csv]", admin_import },
	[ADMIN_DELETE] = { "delete", 1, 1, NULL, "admin delete ID",
	    admin_delete },
	[ADMIN_PRUNE] = { "prune", 0, 0, NULL, "admin prune", admin_prune },
	[ADMIN_PRIVATE] = { "private", 2, ADMIN_MAX_OPERANDS + 1, NULL,
	    "admin private ROOM USER...", admin_store },
	[ADMIN_PUBLIC] = { "public", 1, 1, NULL, "admin public ROOM",
	    admin_store },
	[ADMIN_MEMBERS] = { "members", 1, ADMIN_MAX_OPERANDS + 2, NULL,
	    "admin members ROOM [add|remove USER...]", admin_store },
	[ADMIN_DM] = { "dm", 2, 2, NULL, "admin dm USER USER", admin_store },
	[ADMIN_SEND] = { "send", 2, 2, "--as ", "admin send ROOM --as USER TEXT",
	    admin_store },
};

/* The commands of admin_private.c, which work on the store alone. */
static int (*const store_verbs[ADMIN__MAX])(struct store *,
    const struct admin_cmd *, FILE *) = {
	[ADMIN_PRIVATE] = admin_private, [ADMIN_PUBLIC] = admin_public,
	[ADMIN_MEMBERS] = admin_members, [ADMIN_DM] = admin_dm,
	[ADMIN_SEND] = admin_send,
};

/* --- the command line --------------------------------------------------- */

void
admin_usage(FILE *f)
{
	for (int v = 0; v < ADMIN__MAX; v++)
		fprintf(f, "       fcgichat.fcgi %s\n", verbs[v].usage);
}

/* The operands after ROOM of private, members and send. */
static int
admin_room_operands(struct admin_cmd *cmd, char *const ops[], int n,
    const char **why)
{
	int first = 1;

	if (cmd->verb == ADMIN_SEND) {
		cmd->text = ops[1];
		if (cmd->as == NULL)
			*why = "send needs --as USER: who the message is from";
		return *why ? -1 : 0;
	}
	if (cmd->verb == ADMIN_MEMBERS && n > 1) {
		cmd->add = strcmp(ops[1], "add") == 0;
		cmd->remove = strcmp(ops[1], "remove") == 0;
		first = 2;
		if (!cmd->add && !cmd->remove)
			*why = "members ROOM takes add or remove";
		else if (n < 3)
			*why = "which users?";
		if (*why)
			return -1;
	}
	for (int i = first; i < n; i++)
		cmd->users[cmd->n_users++] = ops[i];
	return 0;
}

/* Fills the operands of cmd from ops[0..n), checked. */
static int
admin_operands(struct admin_cmd *cmd, char *const ops[], int n,
    const char **why)
{
	const char *w;

	if (cmd->verb == ADMIN_DM) {
		cmd->users[0] = ops[0];
		cmd->users[1] = ops[1];
		cmd->n_users = 2;
	} else if (cmd->verb >= ADMIN_PRIVATE) {
		if (validate_room(ops[0], strlen(ops[0]), &w) != CHAT_OK) {
			*why = "the room name is 1-64 of A-Z a-z 0-9 _ -";
			return -1;
		}
		cmd->room = ops[0];
		return admin_room_operands(cmd, ops, n, why);
	}
	if (cmd->verb == ADMIN_EXPORT) {
		if (validate_room(ops[0], strlen(ops[0]), &w) != CHAT_OK) {
			*why = "the room name is 1-64 of A-Z a-z 0-9 _ -";
			return -1;
		}
		cmd->room = ops[0];
	} else if (cmd->verb == ADMIN_IMPORT && n == 1 &&
	    strcmp(ops[0], "-") != 0) {
		cmd->file = ops[0];
	} else if (cmd->verb == ADMIN_DELETE && query_int(ops[0],
	    strlen(ops[0]), 1, INT64_MAX, &cmd->id) == -1) {
		*why = "the message id is a whole number from 1 up";
		return -1;
	}
	return 0;
}

int
admin_parse(int argc, char *const argv[], struct admin_cmd *out,
    const char **why)
{
	char *ops[ADMIN_MAX_OPERANDS + 2];
	const char *opt;
	int v, n = 0;

	memset(out, 0, sizeof(*out));
	*why = NULL;
	if (argc < 1) {
		*why = "which admin command?";
		return -1;
	}
	for (v = 0; v < ADMIN__MAX && strcmp(argv[0], verbs[v].name) != 0; v++)
		continue;
	if (v == ADMIN__MAX) {
		*why = "unknown admin command";
		return -1;
	}
	out->verb = (enum admin_verb)v;
	opt = verbs[v].option;
	for (int i = 1; i < argc; i++) {
		if (opt && strcmp(argv[i], opt) == 0)
			out->csv = true;
		else if (opt && opt[strlen(opt) - 1] == ' ' &&
		    strncmp(argv[i], opt, strlen(opt) - 1) == 0 &&
		    argv[i][strlen(opt) - 1] == '\0') {
			if (i + 1 == argc)
				*why = "an option's value is missing";
			else
				out->as = argv[++i];
		} else if (argv[i][0] == '-' && argv[i][1] != '\0')
			*why = "unknown option";
		else if (n == verbs[v].max)
			*why = "too many operands";
		else
			ops[n++] = argv[i];
		if (*why != NULL)
			return -1;
	}
	if (n < verbs[v].min) {
		*why = "an operand is missing";
		return -1;
	}
	return admin_operands(out, ops, n, why);
}

/* --- the commands ------------------------------------------------------- */

static int
admin_rooms(struct admin_ctx *a, const struct admin_cmd *cmd)
{
	struct chat_room_list l = { 0 };

	(void)cmd;
	if (store_rooms(a->store, &l) != CHAT_OK)
		return 1;
	fprintf(a->out, "room\tmessages\tlast_id\tpruned_through\n");
	for (size_t i = 0; i < l.n; i++)
		fprintf(a->out, "%s\t%" PRId64 "\t%" PRId64 "\t%" PRId64 "\n",
		    l.v[i].name, l.v[i].messages, l.v[i].last_id,
		    l.v[i].pruned_through);
	chat_room_list_clear(&l);
	return 0;
}

/* Writes the messages of l (not its tombstones) as JSON lines or CSV. */
static int
export_page(FILE *f, const struct chat_list *l, bool csv, struct buf *b)
{
	for (size_t i = 0; i < l->n; i++) {
		if (l->v[i].deletes != 0)
			continue;
		if (csv) {
			csv_put_message(f, &l->v[i]);
			continue;
		}
		buf_reset(b);
		if (json_message(b, &l->v[i]) == -1)
			return -1;
		fwrite(b->data, 1, b->len, f);
		fputc('\n', f);
	}
	return ferror(f) ? -1 : 0;
}

/* Every message of the room, oldest first, one read of EXPORT_PAGE rows
 * at a time (each its own snapshot: the chat keeps running). */
static int
admin_export(struct admin_ctx *a, const struct admin_cmd *cmd)
{
	struct store_query q = { 0, -1, EXPORT_PAGE };
	struct chat_list l = { 0 };
	struct buf b = { 0 };
	int rc = 0;

	if (cmd->csv)
		fputs(CSV_HEADER "\r\n", a->out);
	for (;;) {
		if (store_read(a->store, cmd->room, &q, &l, NULL) != CHAT_OK ||
		    export_page(a->out, &l, cmd->csv, &b) == -1) {
			rc = 1;
			break;
		}
		if (l.n < EXPORT_PAGE)
			break;
		q.since = l.v[l.n - 1].id;
		chat_list_clear(&l);
	}
	chat_list_clear(&l);
	buf_free(&b);
	if (fflush(a->out) != 0)
		rc = 1;
	return rc;
}

/* Import counts, for the summary line. */
struct import_tally {
	size_t stored, skipped, bad;
};

static int
import_flush(struct admin_ctx *a, struct chat_message *v, size_t *n,
    struct import_tally *t)
{
	size_t stored = 0;
	enum chat_error e = store_import(a->store, v, *n, &stored);

	if (e == CHAT_OK) {
		t->stored += stored;
		t->skipped += *n - stored;
	}
	for (size_t i = 0; i < *n; i++)
		chat_message_clear(&v[i]);
	*n = 0;
	return e == CHAT_OK ? 0 : -1;
}

/* One message from the record rec[0..len) (NUL-terminated) of the input,
 * a JSON line or a CSV record. */
static enum chat_error
import_parse(char *rec, size_t len, bool csv, struct chat_message *m,
    const char **why)
{
	struct csv_field f[CSV_FIELDS];
	int n;

	if (!csv)
		return json_parse_message(rec, len, chat_now_ms(), m, why);
	if ((n = csv_split(rec, len, f, CSV_FIELDS)) == -1)
		return chat_error_why(why, CHAT_E_BAD_PARAM,
		    "not a CSV record of 7 fields (" CSV_HEADER ")");
	return csv_message(f, n, chat_now_ms(), m, why);
}

/* The next record of f: a CSV record, or a line (JSON lines). */
static ssize_t
import_record(FILE *f, bool csv, char **rec, size_t *cap, size_t *lines)
{
	ssize_t len;

	if (csv)
		return csv_read_record(f, rec, cap, lines);
	if ((len = getline(rec, cap, f)) == -1)
		return -1;
	(*lines)++;
	while (len > 0 && strchr("\r\n", (*rec)[len - 1]) != NULL)
		(*rec)[--len] = '\0';
	return len;
}

/* Reads JSON lines or CSV records (after an optional CSV_HEADER line)
 * from f, storing them IMPORT_CHUNK at a time. */
static int
import_stream(struct admin_ctx *a, FILE *f, const char *name, bool csv,
    struct import_tally *t)
{
	struct chat_message v[IMPORT_CHUNK];
	size_t n = 0, cap = 0, lines = 0, at;
	char *rec = NULL;
	const char *why;
	ssize_t len;
	int rc = 0;

	while (rc == 0 && (at = lines + 1,
	    len = import_record(f, csv, &rec, &cap, &lines)) != -1) {
		if (csv && at == 1 && len >= 3 &&
		    memcmp(rec, UTF8_BOM, 3) == 0) {
			/* as spreadsheets write it */
			memmove(rec, rec + 3, (size_t)len - 2);
			len -= 3;
		}
		if (len == 0 || (csv && at == 1 && (strcmp(rec, CSV_HEADER) ==
		    0 || strcmp(rec, CSV_HEADER_6) == 0)))
			continue;
		why = NULL;
		if (import_parse(rec, (size_t)len, csv, &v[n], &why) !=
		    CHAT_OK) {
			fprintf(stderr, "fcgichat: %s:%zu: %s\n", name, at,
			    why ? why : "not a message");
			t->bad++;
			continue;
		}
		if (++n == IMPORT_CHUNK)
			rc = import_flush(a, v, &n, t);
	}
	if (rc == 0 && n > 0)
		rc = import_flush(a, v, &n, t);
	for (size_t i = 0; i < n; i++)
		chat_message_clear(&v[i]);
	free(rec);
	return ferror(f) ? -1 : rc;
}

static int
admin_import(struct admin_ctx *a, const struct admin_cmd *cmd)
{
	struct import_tally t = { 0 };
	const char *name = cmd->file ? cmd->file : "stdin";
	FILE *f = cmd->file ? fopen(cmd->file, "r") : stdin;
	int rc;

	if (f == NULL) {
		fprintf(stderr, "fcgichat: %s: %s\n", name, strerror(errno));
		return 1;
	}
	rc = import_stream(a, f, name, cmd->csv, &t);
	if (f != stdin)
		fclose(f);
	fprintf(a->out, "imported %zu messages, skipped %zu (id in use), "
	    "%zu bad lines\n", t.stored, t.skipped, t.bad);
	return rc == 0 && t.bad == 0 ? 0 : 1;
}

static int
admin_delete(struct admin_ctx *a, const struct admin_cmd *cmd)
{
	struct chat_message tomb = { 0 };
	enum chat_error e = store_delete(a->store, cmd->id, &tomb);

	if (e == CHAT_E_NOT_FOUND)
		fprintf(stderr, "fcgichat: there is no message %" PRId64 "\n",
		    cmd->id);
	else if (e == CHAT_OK)
		fprintf(a->out, "deleted message %" PRId64 " of room %s "
		    "(tombstone %" PRId64 ")\n", cmd->id, tomb.room, tomb.id);
	chat_message_clear(&tomb);
	return e == CHAT_OK ? 0 : 1;
}

static int
admin_store(struct admin_ctx *a, const struct admin_cmd *cmd)
{
	return store_verbs[cmd->verb](a->store, cmd, a->out);
}

static int
admin_prune(struct admin_ctx *a, const struct admin_cmd *cmd)
{
	struct store_retention r;
	int64_t removed = 0;

	(void)cmd;
	if (!housekeep_retention(a->cfg, &r)) {
		fprintf(a->out, "nothing to prune: set FCGICHAT_RETENTION_DAYS "
		    "or FCGICHAT_RETENTION_MESSAGES\n");
		return 0;
	}
	if (store_prune(a->store, &r, chat_now_ms(), &removed) != CHAT_OK)
		return 1;
	fprintf(a->out, "pruned %" PRId64 " rows\n", removed);
	return 0;
}

int
admin_run(const struct config *c, const struct admin_cmd *cmd, FILE *out)
{
	struct store_options so = store_options_from_config(c);
	struct admin_ctx a = { c, NULL, out };
	int rc;

	if ((unsigned)cmd->verb >= ADMIN__MAX)
		return 2;
	if ((a.store = store_open(&so)) == NULL)
		return 1;
	rc = verbs[cmd->verb].fn(&a, cmd);
	store_free(a.store);
	return rc;
}

/* --- --check ------------------------------------------------------------- */

struct check {
	FILE *out;
	int errors;
};

static void
check_say(struct check *k, const char *level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
check_say(struct check *k, const char *level, const char *fmt, ...)
{
	va_list ap;

	if (strcmp(level, "error") == 0)
		k->errors++;
	fprintf(k->out, "%s: ", level);
	va_start(ap, fmt);
	vfprintf(k->out, fmt, ap);
	va_end(ap);
	fputc('\n', k->out);
}

/* Ownership and mode of a file or directory that should be private to the
 * user the workers run as. */
static void
check_private(struct check *k, const char *what, const char *path,
    const struct stat *sb)
{
	if (sb->st_uid != geteuid())
		check_say(k, "warning", "%s %s belongs to uid %ld, this check "
		    "runs as uid %ld: run it as the user the workers run as",
		    what, path, (long)sb->st_uid, (long)geteuid());
	if (sb->st_mode & 077)
		check_say(k, "warning", "%s %s has mode %04o: other users can "
		    "reach it (0700 for the directory, 0600 for files keeps "
		    "the chat private)", what, path,
		    (unsigned)(sb->st_mode & 07777));
}

/* The directory must let SQLite create the -wal and -shm files. */
static void
check_dir(struct check *k, const char *db_path)
{
	char copy[PATH_MAX], *dir;
	struct stat sb;

	snprintf(copy, sizeof(copy), "%s", db_path);
	dir = dirname(copy);
	errno = 0;
	if (stat(dir, &sb) == -1 || !S_ISDIR(sb.st_mode)) {
		check_say(k, "error", "directory %s: %s", dir,
		    errno ? strerror(errno) : "not a directory");
		return;
	}
	if (access(dir, W_OK | X_OK) == -1)
		check_say(k, "error", "directory %s is not writable by uid %ld:"
		    " SQLite creates the -wal and -shm files there", dir,
		    (long)geteuid());
	check_private(k, "directory", dir, &sb);
}

/* One socket of FCGICHAT_WS_SOCKETS: its directory, and whether a worker
 * answers on it now (connecting takes nothing from the workers). */
static void
check_ws_socket(struct check *k, const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	char copy[PATH_MAX], *dir;
	int fd;

	if (strlen(path) >= sizeof(a.sun_path)) {
		check_say(k, "error", "WebSocket socket %s: the path is longer "
		    "than %zu bytes", path, sizeof(a.sun_path) - 1);
		return;
	}
	snprintf(copy, sizeof(copy), "%s", path);
	dir = dirname(copy);
	if (access(dir, W_OK | X_OK) == -1) {
		check_say(k, "error", "WebSocket socket %s: directory %s is not "
		    "writable by uid %ld", path, dir, (long)geteuid());
		return;
	}
	memcpy(a.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
		check_say(k, "ok", "WebSocket socket %s: a worker serves it",
		    path);
	else
		check_say(k, "ok", "WebSocket socket %s: free (a worker takes it "
		    "when it starts)", path);
	if (fd >= 0)
		close(fd);
}

/* FCGICHAT_WS_SOCKETS: each socket the workers would take. */
static void
check_ws(struct check *k, const char *list)
{
	char path[PATH_MAX];

	if (list == NULL) {
		check_say(k, "ok", "WebSocket off (FCGICHAT_WS_SOCKETS unset)");
		return;
	}
	for (const char *p = list + strspn(list, " \t"); *p;
	    p += strspn(p, " \t")) {
		size_t n = strcspn(p, " \t");
		snprintf(path, sizeof(path), "%.*s", (int)n, p);
		p += n;
		check_ws_socket(k, path);
	}
}

/* The notify file wakes the other processes after each send. */
static void
check_notify(struct check *k, const char *db_path)
{
	char *p = store_notify_path(db_path);
	int fd;

	if (p == NULL)
		return;
	if ((fd = open(p, O_WRONLY | O_CLOEXEC)) == -1)
		check_say(k, "error", "notify file %s: %s: waiting clients in "
		    "other processes would wake late; run --init", p,
		    strerror(errno));
	else
		close(fd);
	free(p);
}

static void
check_schema(struct check *k, const struct store_health *h,
    const char *path)
{
	int want = store_schema_version();

	if (!h->readable) {
		check_say(k, "error", "%s cannot be read: %s", path, h->error);
		return;
	}
	if (h->schema < want)
		check_say(k, "error", "%s has schema version %lld, this "
		    "program needs %d: run `fcgichat.fcgi --init`", path,
		    h->schema, want);
	else if (h->schema > want)
		check_say(k, "error", "%s has schema version %lld, newer than "
		    "this program's %d: use a newer fcgichat", path, h->schema,
		    want);
	if (!h->wal)
		check_say(k, "error", "%s is not in WAL mode: run "
		    "`fcgichat.fcgi --init`", path);
	if (!h->writable)
		check_say(k, "error", "%s cannot be written: %s", path,
		    h->error);
}

/* name: the database as shown (store_display_path). */
static void
check_db(struct check *k, const struct config *c, const char *name,
    struct store_health *h)
{
	struct store_options so = store_options_from_config(c);
	struct stat sb;
	bool file = store_is_file(c->db_path);

	if (file && stat(c->db_path, &sb) == -1) {
		check_say(k, "error", "database %s: %s: create it with "
		    "`fcgichat.fcgi --init` as the user the workers run as",
		    c->db_path, strerror(errno));
		return;
	}
	if (file)
		check_private(k, "database", c->db_path, &sb);
	if (store_inspect(&so, h) == -1 || !h->exists) {
		check_say(k, "error", "database %s: %s", name, h->error);
		return;
	}
	check_schema(k, h, name);
	if (file)
		check_notify(k, c->db_path);
}

int
admin_check(const struct config *c, FILE *out)
{
	struct check k = { out, 0 };
	struct store_health h = { .last_id = -1 };
	char name[PATH_MAX];

	store_display_path(c->db_path, name, sizeof(name));
	check_say(&k, "ok", "configuration (FCGICHAT_* variables)");
	if (store_is_file(c->db_path))
		check_dir(&k, c->db_path);
	check_db(&k, c, name, &h);
	check_ws(&k, c->ws_sockets);
	if (k.errors > 0) {
		fprintf(out, "fcgichat: check failed for %s: %d error%s\n",
		    name, k.errors, k.errors == 1 ? "" : "s");
		return 1;
	}
	fprintf(out, "fcgichat: ok: %s, schema %d, newest id %" PRId64 "\n",
	    name, store_schema_version(), h.last_id);
	return 0;
}
