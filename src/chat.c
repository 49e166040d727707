/* chat.c - message lists, a hash and clocks shared by all modules. */
#include "chat.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void
chat_message_clear(struct chat_message *m)
{
	if (m == NULL)
		return;
	free(m->room);
	free(m->nick);
	free(m->text);
	free(m->user);
	memset(m, 0, sizeof(*m));
}

int
chat_message_set_user(struct chat_message *m, const char *user)
{
	free(m->user);
	m->user = NULL;
	if (user == NULL || *user == '\0')
		return 0;
	return (m->user = strdup(user)) != NULL ? 0 : -1;
}

int
chat_list_push(struct chat_list *l, int64_t id, int64_t ts,
    const char *room, const char *nick, const char *text)
{
	struct chat_message m = { .id = id, .ts = ts };

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct chat_message *v = realloc(l->v, cap * sizeof(*v));
		if (v == NULL)
			return -1;
		l->v = v;
		l->cap = cap;
	}
	m.room = strdup(room);
	m.nick = strdup(nick);
	m.text = strdup(text);
	if (m.room == NULL || m.nick == NULL || m.text == NULL) {
		chat_message_clear(&m);
		return -1;
	}
	l->v[l->n++] = m;
	return 0;
}

void
chat_list_clear(struct chat_list *l)
{
	if (l == NULL)
		return;
	for (size_t i = 0; i < l->n; i++)
		chat_message_clear(&l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

struct chat_room *
chat_room_list_add(struct chat_room_list *l)
{
	struct chat_room *v;
	size_t cap;

	if (l->n == l->cap) {
		cap = l->cap ? l->cap * 2 : 16;
		if ((v = realloc(l->v, cap * sizeof(*v))) == NULL)
			return NULL;
		l->v = v;
		l->cap = cap;
	}
	v = &l->v[l->n++];
	memset(v, 0, sizeof(*v));
	return v;
}

void
chat_room_list_clear(struct chat_room_list *l)
{
	if (l == NULL)
		return;
	free(l->v);
	memset(l, 0, sizeof(*l));
}

int
chat_room_list_push(struct chat_room_list *l, const char *name)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		struct chat_room *v = realloc(l->v, cap * sizeof(*v));
		if (v == NULL)
			return -1;
		l->v = v;
		l->cap = cap;
	}
	memset(&l->v[l->n], 0, sizeof(l->v[l->n]));
	snprintf(l->v[l->n].name, sizeof(l->v[l->n].name), "%s", name);
	l->n++;
	return 0;
}

void
chat_timespec_after(int clock, int64_t ms, struct timespec *ts)
{
	clock_gettime(clock, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

uint32_t
chat_fnv1a(const void *p, size_t n)
{
	const unsigned char *c = p;
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ c[i]) * 16777619u;
	return h;
}

static int64_t
clock_ms(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
chat_now_ms(void)
{
	return clock_ms(CLOCK_REALTIME);
}

int64_t
chat_mono_ms(void)
{
	return clock_ms(CLOCK_MONOTONIC);
}

bool
chat_accept_starved(int err)
{
	return err == EMFILE || err == ENFILE || err == ENOBUFS ||
	    err == ENOMEM;
}

void
chat_list_reverse(struct chat_message *v, size_t n)
{
	struct chat_message t;

	for (size_t i = 0; i < n / 2; i++) {
		t = v[i];
		v[i] = v[n - 1 - i];
		v[n - 1 - i] = t;
	}
}
