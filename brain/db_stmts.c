/*
 * The maestro's prepared statements, kept for the life of the connection
 * (issue 18): db_prepare() hands out a statement of the same SQL text
 * prepared before, when one is free, and finalizing a kept one (dbint.h
 * maps sqlite3_finalize() to db_finalize() in the db_*.c files) resets it
 * and clears its bindings instead, so that nothing of one use stays bound
 * to the next. SQLite then parses and plans each statement once, not at
 * every call: the prepares were a third of the maestro's time per round
 * trip in a profile of tests/bench/roundtrip.py.
 *
 * A statement in use (a loop over rows whose callback runs the same SQL)
 * is not handed out twice: the second gets a statement of its own, which
 * is finalized for real. Past DB_STMTS_MAX texts, statements are no longer
 * kept. The maestro is one thread; so is every unit test.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dbint.h"
#include "limits.h"
#include "log.h"

#undef sqlite3_finalize

static struct db_stmt {
	sqlite3		*h;		/* NULL: a free slot */
	uint64_t	 hash;
	char		*sql;
	sqlite3_stmt	*st;
	int		 in_use;
} stmts[DB_STMTS_MAX];
static int	high;		/* slots at and past it were never used */

static uint64_t
sql_hash(const char *s)
{
	uint64_t	h = 14695981039346656037ULL;	/* FNV-1a */

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

int
db_stmt_take(sqlite3 *h, const char *sql, sqlite3_stmt **out)
{
	struct db_stmt	*free_slot = NULL;
	uint64_t	 hash = sql_hash(sql);
	int		 i;

	for (i = 0; i < high; i++) {
		if (stmts[i].h == NULL) {
			if (free_slot == NULL)
				free_slot = &stmts[i];
			continue;
		}
		if (stmts[i].h == h && stmts[i].hash == hash &&
		    !stmts[i].in_use && strcmp(stmts[i].sql, sql) == 0) {
			stmts[i].in_use = 1;
			*out = stmts[i].st;
			return 0;
		}
	}
	if (free_slot == NULL && high < DB_STMTS_MAX)
		free_slot = &stmts[high++];
	if (free_slot == NULL || (free_slot->sql = strdup(sql)) == NULL)
		return -1;
	if (sqlite3_prepare_v3(h, sql, -1, SQLITE_PREPARE_PERSISTENT,
	    &free_slot->st, NULL) != SQLITE_OK) {
		log_warnx("database: prepare: %s", sqlite3_errmsg(h));
		free(free_slot->sql);
		free_slot->sql = NULL;
		free_slot->st = NULL;
		*out = NULL;
		return 0;
	}
	free_slot->h = h;
	free_slot->hash = hash;
	free_slot->in_use = 1;
	*out = free_slot->st;
	return 0;
}

void
db_finalize(sqlite3_stmt *st)
{
	int	i;

	if (st == NULL)
		return;
	for (i = 0; i < high; i++)
		if (stmts[i].st == st && stmts[i].h != NULL) {
			sqlite3_reset(st);
			sqlite3_clear_bindings(st);
			stmts[i].in_use = 0;
			return;
		}
	sqlite3_finalize(st);
}

void
db_stmts_close(sqlite3 *h)
{
	int	i;

	for (i = 0; i < high; i++)
		if (stmts[i].h == h) {
			sqlite3_finalize(stmts[i].st);
			free(stmts[i].sql);
			memset(&stmts[i], 0, sizeof(stmts[i]));
		}
}
