/*
 * The keepalive's ping queue (the maestro's; pure: no clock, no I/O).
 *
 * Pings wait here, apart from run orders, until the commander has room
 * for them: at most one per tentacle, waiting or in flight (a tentacle
 * whose ping has not come back yet gets no second one), at most `max`
 * waiting (past it a ping is dropped and counted). The oldest waits
 * least: a slow tentacle cannot keep the others from their turn.
 *
 * The keepalive spreads its pings over the interval: each tentacle has
 * its own phase in it (pingq_phase), so a fleet is not pinged in one
 * burst; pingq_round sorts a round by phase.
 */
#ifndef OCTO_PINGQ_H
#define OCTO_PINGQ_H

#include <stddef.h>
#include <stdint.h>

struct pingq;

enum pingq_push {
	PINGQ_QUEUED,		/* it waits for its turn */
	PINGQ_DUPLICATE,	/* one is already waiting or in flight */
	PINGQ_FULL		/* max waiting: dropped */
};

struct pingq_stats {
	size_t		waiting;
	size_t		in_flight;
	uint64_t	queued;		/* pushed and taken */
	uint64_t	deduplicated;	/* refused: one was pending */
	uint64_t	dropped;	/* refused: the queue was full */
	uint64_t	sent;		/* popped */
};

/* NULL when out of memory. max > 0. */
struct pingq	*pingq_new(size_t max);
void		 pingq_free(struct pingq *);

/* Ask for a ping of tentacle (not 0). -1 only when out of memory (the
 * ping is then dropped and counted as such). */
int		 pingq_push(struct pingq *, uint64_t tentacle);
/* The oldest waiting ping, now in flight since now (any clock, the
 * caller's unit): 0, or -1 when none waits. */
int		 pingq_pop(struct pingq *, uint64_t *tentacle, uint64_t now);
/* Its answer (or miss) came: the tentacle may be pinged again. 0, or -1
 * if it had no ping in flight. */
int		 pingq_done(struct pingq *, uint64_t tentacle);
/* The commander went away with every ping in flight: forget them. */
void		 pingq_forget_in_flight(struct pingq *);
/* Forget the pings in flight since before now - max_age (their answer
 * was lost): how many. */
size_t		 pingq_expire(struct pingq *, uint64_t now, uint64_t max_age);
void		 pingq_stats(const struct pingq *, struct pingq_stats *);

/* Tentacle's phase in an interval of interval_ms (> 0): a fixed spread of
 * the IDs over [0, interval_ms), the same at every round. */
uint32_t	 pingq_phase(uint64_t tentacle, uint32_t interval_ms);

/* One round of the keepalive: tentacles by phase. */
struct pingq_slot {
	uint32_t	phase;		/* ms from the round's start */
	uint64_t	tentacle;
};
/* Fill slots[0..n) with ids[0..n) sorted by phase (then ID). */
void		 pingq_round(struct pingq_slot *slots, const int64_t *ids,
		    size_t n, uint32_t interval_ms);

#endif
