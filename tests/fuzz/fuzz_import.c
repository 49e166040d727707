/* fuzz_import.c - libFuzzer target for what `admin import` parses: the
 * first byte picks JSON lines (json_parse_message) or CSV (csv_split,
 * csv_message), the rest is one record. A message accepted either way has
 * fields that pass their validators as they are (room, trimmed nick,
 * normalised text, user; with a user the nick is the user name); a
 * refused one leaves nothing behind. CSV fields lie
 * inside the record, and a record rebuilt from them splits into the same
 * fields. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "json.h"
#include "validate.h"

#define MAX_FIELDS 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_message(enum chat_error e, const struct chat_message *m,
    const char *why)
{
	size_t start, len;
	char *text = NULL;

	if (e != CHAT_OK) {
		assert(why != NULL);
		assert(m->room == NULL && m->nick == NULL && m->text == NULL &&
		    m->user == NULL);
		return;
	}
	assert(m->id >= 0 && m->ts >= 0);
	assert(validate_room(m->room, strlen(m->room), NULL) == CHAT_OK);
	if (m->user != NULL)
		assert(validate_user(m->user, NULL) == CHAT_OK &&
		    strcmp(m->nick, m->user) == 0);
	else
		assert(validate_nick(m->nick, strlen(m->nick), &start, &len,
		    NULL) == CHAT_OK && start == 0 && len == strlen(m->nick));
	assert(validate_text(m->text, strlen(m->text), &text, &len, NULL) ==
	    CHAT_OK && strcmp(text, m->text) == 0);
	free(text);
}

/* Quotes each field, doubling quotes, and joins them with commas. */
static char *
rebuild(const struct csv_field *f, int n, size_t *len)
{
	char *out = NULL;
	FILE *w = open_memstream(&out, len);

	assert(w != NULL);
	for (int i = 0; i < n; i++) {
		fputc('"', w);
		for (size_t k = 0; k < f[i].len; k++) {
			if (f[i].s[k] == '"')
				fputc('"', w);
			fputc(f[i].s[k], w);
		}
		fputs(i + 1 < n ? "\"," : "\"", w);
	}
	fclose(w);
	return out;
}

static void
check_csv(char *rec, size_t len)
{
	struct csv_field f[MAX_FIELDS], g[MAX_FIELDS];
	struct chat_message m;
	const char *why = NULL;
	size_t blen;
	char *b;
	int n = csv_split(rec, len, f, MAX_FIELDS);

	if (n == -1)
		return;
	assert(n >= 1 && n <= MAX_FIELDS);
	for (int i = 0; i < n; i++)
		assert(f[i].s >= rec && f[i].s + f[i].len <= rec + len &&
		    f[i].s[f[i].len] == '\0');
	b = rebuild(f, n, &blen);
	assert(csv_split(b, blen, g, MAX_FIELDS) == n);
	for (int i = 0; i < n; i++)
		assert(g[i].len == f[i].len &&
		    memcmp(g[i].s, f[i].s, f[i].len) == 0);
	free(b);
	check_message(csv_message(f, n, 5, &m, &why), &m, why);
	chat_message_clear(&m);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct chat_message m;
	const char *why = NULL;
	char *rec;

	if (size < 1)
		return 0;
	if ((rec = malloc(size)) == NULL)
		return 0;
	memcpy(rec, data + 1, size - 1);
	rec[size - 1] = '\0';
	if (data[0] & 1)
		check_csv(rec, size - 1);
	else {
		check_message(json_parse_message(rec, size - 1, 5, &m, &why),
		    &m, why);
		chat_message_clear(&m);
	}
	free(rec);
	return 0;
}
