/* csv.c - messages as CSV (RFC 4180), for admin export and import. */
#include "csv.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "query.h"
#include "validate.h"

static void
csv_put_field(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

void
csv_put_message(FILE *f, const struct chat_message *m)
{
	time_t secs = (time_t)(m->ts / 1000);
	char stamp[32] = "";
	struct tm tm;

	if (gmtime_r(&secs, &tm) != NULL)
		strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(f, "%" PRId64 ",%" PRId64 ",%s.%03dZ,", m->id, m->ts, stamp,
	    (int)(m->ts % 1000));
	csv_put_field(f, m->room);
	fputc(',', f);
	csv_put_field(f, m->nick);
	fputc(',', f);
	csv_put_field(f, m->text);
	fputc(',', f);
	if (m->user != NULL)
		csv_put_field(f, m->user);
	fputs("\r\n", f);
}

ssize_t
csv_read_record(FILE *f, char **rec, size_t *cap, size_t *lines)
{
	char *line = NULL;
	size_t lcap = 0, len = 0;
	bool open = false;
	ssize_t n;

	while ((n = getline(&line, &lcap, f)) != -1) {
		(*lines)++;
		if (len + (size_t)n + 1 > *cap) {
			size_t c = (len + (size_t)n + 1) * 2;
			char *p = realloc(*rec, c);
			if (p == NULL) {
				free(line);
				return -1;
			}
			*rec = p;
			*cap = c;
		}
		memcpy(*rec + len, line, (size_t)n);
		len += (size_t)n;
		for (ssize_t i = 0; i < n; i++)
			open ^= line[i] == '"';
		if (!open)
			break;
	}
	free(line);
	if (len == 0)
		return -1;
	if ((*rec)[len - 1] == '\n')
		len--;
	if (len > 0 && (*rec)[len - 1] == '\r')
		len--;
	(*rec)[len] = '\0';
	return (ssize_t)len;
}

int
csv_split(char *rec, size_t len, struct csv_field *f, int max)
{
	char *p = rec, *end = rec + len;
	int n = 0;

	for (;;) {
		char *out = p;
		if (n == max)
			return -1;
		f[n].s = out;
		if (p < end && *p == '"') {
			for (p++;; p++) {
				if (p == end)
					return -1;
				if (*p == '"' && (p + 1 == end || p[1] != '"'))
					break;
				*out++ = *p;
				p += *p == '"';
			}
			if (++p < end && *p != ',')
				return -1;
		} else {
			for (; p < end && *p != ','; p++, out++)
				if (*p == '"')
					return -1;
		}
		f[n].len = (size_t)(out - f[n].s);
		*out = '\0';
		n++;
		if (p == end)
			return n;
		p++;
	}
}

static bool
csv_int(const struct csv_field *f, int64_t min, int64_t def, int64_t *out)
{
	if (f->len == 0) {
		*out = def;
		return true;
	}
	return query_int(f->s, f->len, min, CHAT_MAX_EXACT_INT, out) == 0;
}

enum chat_error
csv_message(const struct csv_field *f, int n, int64_t default_ts,
    struct chat_message *out, const char **why)
{
	enum chat_error e;

	memset(out, 0, sizeof(*out));
	if (n != CSV_FIELDS && n != CSV_FIELDS - 1)
		return chat_error_why(why, CHAT_E_BAD_PARAM,
		    "a record has 7 fields (" CSV_HEADER "), or the first 6 "
		    "of them (older exports)");
	if (!csv_int(&f[0], 1, 0, &out->id) ||
	    !csv_int(&f[1], 0, default_ts, &out->ts))
		return chat_error_why(why, CHAT_E_BAD_PARAM, "id and ts must "
		    "be whole numbers (id >= 1, ts >= 0) or empty");
	if (n == CSV_FIELDS && f[6].len > 0) {
		/* A NUL inside would cut the name short: refuse it. */
		if (strlen(f[6].s) != f[6].len)
			return chat_error_why(why, CHAT_E_BAD_USER,
			    "the user name holds a control character");
		if ((e = validate_user_copy(f[6].s, &out->user, why)) !=
		    CHAT_OK)
			return e;
	}
	e = validate_message(f[3].s, f[3].len, f[4].s, f[4].len, f[5].s,
	    f[5].len, out, why);
	if (e != CHAT_OK)
		chat_message_clear(out);
	return e;
}
