/*
 * Refusals a stranger can make at will (a refused handshake, an enrolment
 * over its source's rate), in the audit log (issue 13, item 5): one row
 * per action, peer address and minute, with a count, instead of a row
 * each; the row is written at the first one and its count and detail
 * (the last reason) follow the later ones of that minute. The maestro
 * only (the database); refusals.h.
 */
#include <stdio.h>
#include <string.h>

#include <bsd/string.h>

#include "limits.h"
#include "log.h"
#include "refusals.h"

struct refusal_row {
	char	action[REFUSAL_ACTION_MAX];
	char	peer[NET_PEER_MAX];
	long	minute;		/* time / 60; 0: free */
	int64_t	id;		/* its audit row */
	long	count;
};

/* The addresses followed this minute, and one row per action for the
 * addresses beyond them (peer ""). */
static struct refusal_row	rows[REFUSAL_ROWS_MAX];
static struct refusal_row	others[4];

static struct refusal_row *
row_find(struct refusal_row *t, size_t n, const char *action,
    const char *peer, long minute)
{
	struct refusal_row	*free_row = NULL;
	size_t			 i;

	for (i = 0; i < n; i++) {
		if (t[i].minute != minute) {
			if (free_row == NULL)
				free_row = &t[i];
			continue;
		}
		if (strcmp(t[i].action, action) == 0 &&
		    strcmp(t[i].peer, peer) == 0)
			return &t[i];
	}
	if (free_row != NULL) {
		memset(free_row, 0, sizeof(*free_row));
		strlcpy(free_row->action, action, sizeof(free_row->action));
		strlcpy(free_row->peer, peer, sizeof(free_row->peer));
		free_row->minute = minute;
	}
	return free_row;
}

long
refusal_audit(struct db *db, time_t now, const char *actor,
    const char *action, const char *peer, const char *detail)
{
	struct refusal_row	*r;
	char			 text[REFUSAL_DETAIL_MAX];
	long			 minute = (long)(now / 60) + 1;	/* never 0 */

	if ((r = row_find(rows, REFUSAL_ROWS_MAX, action, peer, minute)) ==
	    NULL) {
		if ((r = row_find(others, sizeof(others) / sizeof(others[0]),
		    action, "", minute)) == NULL)
			return -1;
		snprintf(text, sizeof(text), "from addresses beyond the %d "
		    "followed; last from %s: %s", REFUSAL_ROWS_MAX, peer,
		    detail);
		detail = text;
	}
	if (r->count == 0) {
		if (db_audit_counted(db, now, actor, action, r->peer, detail,
		    &r->id) == -1) {
			r->minute = 0;
			return -1;
		}
		r->count = 1;
		return 1;
	}
	r->count++;
	if (db_audit_recount(db, r->id, r->count, detail) == -1)
		return -1;
	return r->count;
}

void
refusal_forget(void)
{
	memset(rows, 0, sizeof(rows));
	memset(others, 0, sizeof(others));
}
