/*
 * Refusals a stranger can make at will, in the audit log as one row per
 * action, peer address and minute with a count (refusals.c). The maestro
 * only: it needs the database.
 */
#ifndef OCTO_REFUSALS_H
#define OCTO_REFUSALS_H

#include <time.h>

#include "db.h"
#include "net.h"

#define REFUSAL_ACTION_MAX	32
#define REFUSAL_DETAIL_MAX	512

/*
 * Count one refusal (action, e.g. "refused_handshake") from the address
 * peer at now: the minute's row of that action and address is written at
 * the first (count 1, detail), and its count and detail (the last
 * reason) updated at each later one. Returns the count so far this
 * minute (1: the first, which the caller may log; later ones it need not),
 * or -1 on a database error. Past REFUSAL_ROWS_MAX addresses in one
 * minute, the rest share one row per action with peer "".
 */
long	refusal_audit(struct db *, time_t now, const char *actor,
	    const char *action, const char *peer, const char *detail);
/* Forget the rows followed (a new database: the tests). */
void	refusal_forget(void);

#endif
