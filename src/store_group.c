/* store_group.c - group commit for every storage engine (store_group.h):
 * the queue, the choice of a leader, and each sender's own answer out of
 * its batch. */
#include "store_group.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

/* The leader's work, outside the lock: the engine commits the batch, and
 * every send of it gets the batch's outcome. me is the leader's own send:
 * every send of the batch must be for me's database. */
static void
store_group_lead(struct store_group *g, struct store *s,
    struct store_group_send *batch, const struct store_group_send *me)
{
	enum chat_error e;
	bool mine = false;

	for (struct store_group_send *p = batch; p != NULL; p = p->next) {
		assert(strcmp(p->db, me->db) == 0);
		mine |= p == me;
	}
	/* A leader takes the whole queue while its send is not done, and
	 * a send leaves the queue only in a leader's batch. */
	assert(mine);
	e = g->commit(s, batch);
	for (struct store_group_send *p = batch; p != NULL; p = p->next) {
		p->e = e;
		if (e != CHAT_OK)
			chat_message_clear(&p->m);
	}
}

/* Queues me and waits until a leader, possibly this thread, is done with
 * it. */
static void
store_group_wait(struct store_group *g, struct store *s,
    struct store_group_send *me)
{
	struct store_group_send *batch;

	pthread_mutex_lock(&g->mu);
	*g->tail = me;
	g->tail = &me->next;
	while (!me->done) {
		if (g->leading) {
			pthread_cond_wait(&g->cv, &g->mu);
			continue;
		}
		g->leading = true;
		batch = g->head;
		g->head = NULL;
		g->tail = &g->head;
		pthread_mutex_unlock(&g->mu);
		store_group_lead(g, s, batch, me);
		pthread_mutex_lock(&g->mu);
		for (struct store_group_send *p = batch; p != NULL; p = p->next)
			p->done = true;
		g->leading = false;
		pthread_cond_broadcast(&g->cv);
	}
	pthread_mutex_unlock(&g->mu);
}

enum chat_error
store_group_append(struct store_group *g, struct store *s,
    struct store_group_send *me, struct chat_message *out, bool *created)
{
	struct chat_message m;
	bool oom = false;

	store_group_wait(g, s, me);
	if (me->e != CHAT_OK)
		return me->e;
	/* A send without client_id always stores. */
	assert(me->made || me->client_id != NULL);
	m = me->m;
	if (me->made) {
		m.room = strdup(me->room);
		m.nick = strdup(me->nick);
		m.text = strdup(me->text);
		oom = chat_message_set_user(&m, me->user) == -1;
	}
	if (oom || m.room == NULL || m.nick == NULL || m.text == NULL) {
		/* Committed all the same; a retry with client_id finds it. */
		log_warnx("store_append: out of memory");
		chat_message_clear(&m);
		return CHAT_E_INTERNAL;
	}
	*out = m;
	if (created != NULL)
		*created = me->made;
	return CHAT_OK;
}
