/*
 * The keepalive's ping queue: a FIFO of tentacle IDs and a set of the
 * pending ones (open addressing, linear probing, backward-shift deletion),
 * both grown by doubling. See pingq.h.
 */
#include <stdlib.h>
#include <string.h>

#include "pingq.h"

enum { SLOT_WAITING = 1, SLOT_IN_FLIGHT = 2 };

struct entry {
	uint64_t	id;		/* 0: free */
	uint64_t	since;		/* in flight since */
	uint8_t		state;
};

struct pingq {
	size_t		 max;
	/* pending tentacles: mask + 1 entries, at most half used */
	struct entry	*set;
	size_t		 mask;
	size_t		 used;
	/* waiting ones in order: ring of cap (a power of two) */
	uint64_t	*ring;
	size_t		 cap, head, count;
	struct pingq_stats st;	/* counters and in_flight; waiting = count */
};

static size_t
hash(uint64_t id, size_t mask)
{
	/* Fibonacci hashing: consecutive IDs spread over the table. */
	return (size_t)((id * 0x9e3779b97f4a7c15ULL) >> 17) & mask;
}

static struct entry *
find(const struct pingq *q, uint64_t id)
{
	size_t	i;

	for (i = hash(id, q->mask); q->set[i].id != 0; i = (i + 1) & q->mask)
		if (q->set[i].id == id)
			return &q->set[i];
	return NULL;
}

static void
insert(struct entry *set, size_t mask, const struct entry *e)
{
	size_t	i;

	for (i = hash(e->id, mask); set[i].id != 0; i = (i + 1) & mask)
		;
	set[i] = *e;
}

static int
set_grow(struct pingq *q)
{
	struct entry	*n;
	size_t		 nmask = q->mask * 2 + 1, i;

	if ((n = calloc(nmask + 1, sizeof(*n))) == NULL)
		return -1;
	for (i = 0; i <= q->mask; i++)
		if (q->set[i].id != 0)
			insert(n, nmask, &q->set[i]);
	free(q->set);
	q->set = n;
	q->mask = nmask;
	return 0;
}

/* Remove e, shifting back the entries of its cluster that may move. */
static void
set_remove(struct pingq *q, struct entry *e)
{
	size_t	hole = (size_t)(e - q->set), i = hole, home;

	for (;;) {
		i = (i + 1) & q->mask;
		if (q->set[i].id == 0)
			break;
		home = hash(q->set[i].id, q->mask);
		/* It may fill the hole if its home is not in (hole, i]. */
		if (((i - home) & q->mask) >= ((i - hole) & q->mask)) {
			q->set[hole] = q->set[i];
			hole = i;
		}
	}
	memset(&q->set[hole], 0, sizeof(q->set[hole]));
	q->used--;
}

static int
ring_grow(struct pingq *q)
{
	uint64_t	*n;
	size_t		 i;

	if ((n = calloc(q->cap * 2, sizeof(*n))) == NULL)
		return -1;
	for (i = 0; i < q->count; i++)
		n[i] = q->ring[(q->head + i) & (q->cap - 1)];
	free(q->ring);
	q->ring = n;
	q->cap *= 2;
	q->head = 0;
	return 0;
}

struct pingq *
pingq_new(size_t max)
{
	struct pingq	*q;

	if (max == 0 || (q = calloc(1, sizeof(*q))) == NULL)
		return NULL;
	q->max = max;
	q->mask = 63;
	q->cap = 64;
	if ((q->set = calloc(q->mask + 1, sizeof(*q->set))) == NULL ||
	    (q->ring = calloc(q->cap, sizeof(*q->ring))) == NULL) {
		pingq_free(q);
		return NULL;
	}
	return q;
}

void
pingq_free(struct pingq *q)
{
	if (q == NULL)
		return;
	free(q->set);
	free(q->ring);
	free(q);
}

int
pingq_push(struct pingq *q, uint64_t tentacle)
{
	if (tentacle == 0)
		return -1;
	if (find(q, tentacle) != NULL) {
		q->st.deduplicated++;
		return PINGQ_DUPLICATE;
	}
	if (q->count >= q->max) {
		q->st.dropped++;
		return PINGQ_FULL;
	}
	if (((q->used + 1) * 2 > q->mask + 1 && set_grow(q) == -1) ||
	    (q->count == q->cap && ring_grow(q) == -1)) {
		q->st.dropped++;
		return -1;
	}
	insert(q->set, q->mask, &(struct entry){ tentacle, 0, SLOT_WAITING });
	q->used++;
	q->ring[(q->head + q->count) & (q->cap - 1)] = tentacle;
	q->count++;
	q->st.queued++;
	return PINGQ_QUEUED;
}

int
pingq_pop(struct pingq *q, uint64_t *tentacle, uint64_t now)
{
	struct entry	*e;
	uint64_t	 id;

	while (q->count > 0) {
		id = q->ring[q->head];
		q->head = (q->head + 1) & (q->cap - 1);
		q->count--;
		/* Always found: only pop and forget change a waiting one. */
		if ((e = find(q, id)) == NULL || e->state != SLOT_WAITING)
			continue;
		e->state = SLOT_IN_FLIGHT;
		e->since = now;
		q->st.in_flight++;
		q->st.sent++;
		*tentacle = id;
		return 0;
	}
	return -1;
}

int
pingq_done(struct pingq *q, uint64_t tentacle)
{
	struct entry	*e;

	if ((e = find(q, tentacle)) == NULL || e->state != SLOT_IN_FLIGHT)
		return -1;
	set_remove(q, e);
	q->st.in_flight--;
	return 0;
}

/* Remove the pings in flight since before `before` (all: UINT64_MAX). */
static size_t
forget(struct pingq *q, uint64_t before)
{
	struct entry	*e;
	size_t		 i, n = 0, removed;

	/* A removal shifts entries back into slot i (look at it again),
	 * or one wrapped round the table's end behind us: another pass
	 * then, until one removes nothing. */
	do {
		removed = 0;
		for (i = 0; q->st.in_flight > 0 && i <= q->mask; ) {
			e = &q->set[i];
			if (e->id != 0 && e->state == SLOT_IN_FLIGHT &&
			    e->since < before) {
				set_remove(q, e);
				q->st.in_flight--;
				removed++;
			} else
				i++;
		}
		n += removed;
	} while (removed > 0 && q->st.in_flight > 0);
	return n;
}

void
pingq_forget_in_flight(struct pingq *q)
{
	forget(q, UINT64_MAX);
}

size_t
pingq_expire(struct pingq *q, uint64_t now, uint64_t max_age)
{
	return now > max_age ? forget(q, now - max_age) : 0;
}

void
pingq_stats(const struct pingq *q, struct pingq_stats *s)
{
	*s = q->st;
	s->waiting = q->count;
}

uint32_t
pingq_phase(uint64_t tentacle, uint32_t interval_ms)
{
	uint64_t	h = tentacle * 0x9e3779b97f4a7c15ULL;

	/* The high 32 bits, scaled: no modulo bias to speak of, and the
	 * IDs 1, 2, 3... land far apart. */
	return (uint32_t)(((h >> 32) * (uint64_t)interval_ms) >> 32);
}

static int
slot_cmp(const void *a, const void *b)
{
	const struct pingq_slot	*x = a, *y = b;

	if (x->phase != y->phase)
		return x->phase < y->phase ? -1 : 1;
	return x->tentacle < y->tentacle ? -1 : x->tentacle > y->tentacle;
}

void
pingq_round(struct pingq_slot *slots, const int64_t *ids, size_t n,
    uint32_t interval_ms)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		slots[i].tentacle = (uint64_t)ids[i];
		slots[i].phase = pingq_phase((uint64_t)ids[i], interval_ms);
	}
	if (n > 1)
		qsort(slots, n, sizeof(*slots), slot_cmp);
}
