/* csv.h - messages as CSV (RFC 4180): what `admin export --csv` writes and
 * `admin import --csv` reads. One record per message, the fields
 * CSV_HEADER names; quoted fields may hold commas, quotes (doubled) and
 * line breaks. */
#ifndef CSV_H
#define CSV_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "chat.h"
#include "error.h"

#define CSV_HEADER "id,ts,time,room,nick,text,user"
#define CSV_FIELDS 7
/* What exports wrote before messages had a user: still read (records of
 * 6 fields are anonymous). */
#define CSV_HEADER_6 "id,ts,time,room,nick,text"

struct csv_field {
	char *s;          /* NUL-terminated, inside the record */
	size_t len;       /* bytes before the NUL (a field may hold NULs) */
};

/* Writes m as one record ending in CRLF: id, ts, the time as ISO 8601 UTC,
 * room, nick, text (those three quoted), user (quoted; empty when
 * anonymous). */
void csv_put_message(FILE *f, const struct chat_message *m);

/* Reads the next record of f into *rec (a buffer and its capacity, as for
 * getline): lines are joined while a quoted field is open. The record's
 * final line break is removed and (*rec)[len] is NUL. *lines counts the
 * lines read. Returns the record's length, or -1 at the end of f, on a
 * read error or when out of memory (ferror / errno tell). */
ssize_t csv_read_record(FILE *f, char **rec, size_t *cap, size_t *lines);

/* Splits rec[0..len) in place into at most max fields, unquoted; rec[len]
 * must exist (csv_read_record's NUL). Returns the number of fields, or -1
 * when rec is not well-formed (a quote in an unquoted field, anything but
 * a comma after a closing quote, a quote left open) or has more than max
 * fields. */
int csv_split(char *rec, size_t len, struct csv_field *f, int max);

/* A message from the CSV_FIELDS fields of a record (or the 6 of
 * CSV_HEADER_6), checked as a send is (API.md): id empty or 1..2^53
 * (empty: a new id, 0), ts empty (then default_ts) or 0..2^53, time
 * ignored, room, nick (trimmed) and text (line breaks normalised), user
 * empty (anonymous) or a user name (validate_user; the nick is then the
 * user name). On failure *why says what is wrong and out
 * holds nothing. */
enum chat_error csv_message(const struct csv_field *f, int n,
    int64_t default_ts, struct chat_message *out, const char **why);

#endif
