/*
 * The accepted tentacles' addresses (brain/fleetaddrs.c sends them to the
 * registerer and the commander, which keep connection slots for them).
 * db.h.
 */
#include "dbint.h"

int
db_tentacle_addresses_each(struct db *db, void (*fn)(const char *, void *),
    void *arg)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = db_prepare(db, "SELECT address FROM tentacles WHERE "
	    "enrolment = 'accepted' UNION SELECT source FROM tentacles WHERE "
	    "enrolment = 'accepted' AND source != ''")) == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		fn(col_text(st, 0), arg);
	return db_rows_end(db, st, rc);
}
