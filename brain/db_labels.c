/*
 * Tentacle labels (SPEC "Groups, schedules, compliance, waivers"): the
 * table tentacle_labels, one row per tentacle and label, accepted (set
 * by an admin) or proposed (the tentacle's configuration, through its
 * inventory, until an admin accepts it). Runs and schedules pick
 * tentacles by their accepted labels.
 */
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>

#include "dbint.h"

/* Whether the tentacle exists: 0, DB_NOTFOUND, -1. */
static int
tentacle_exists(struct db *db, int64_t id)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = db_prepare(db, "SELECT 1 FROM tentacles WHERE id = ?")) ==
	    NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	rc = db_step_row(db, st);
	sqlite3_finalize(st);
	return rc;
}

/* Insert each label of l in state (OR REPLACE, or OR IGNORE). */
static int
labels_insert(struct db *db, int64_t id, const struct proto_labels *l,
    const char *sql)
{
	sqlite3_stmt	*st;
	uint32_t	 i;

	for (i = 0; i < l->n; i++) {
		if ((st = db_prepare(db, sql)) == NULL)
			return -1;
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_text(st, 2, l->v[i], -1, SQLITE_STATIC);
		if (db_step_done(db, st) == -1)
			return -1;
	}
	return 0;
}

int
db_labels_set(struct db *db, int64_t id, const struct proto_labels *l)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((rc = tentacle_exists(db, id)) != 0)
		return rc;
	if ((st = db_prepare(db, "DELETE FROM tentacle_labels WHERE "
	    "tentacle_id = ? AND state = 'accepted'")) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	if (db_step_done(db, st) == -1)
		return -1;
	/* A proposed label that is set becomes accepted. */
	return labels_insert(db, id, l, "INSERT OR REPLACE INTO "
	    "tentacle_labels (tentacle_id, label, state) VALUES (?, ?, "
	    "'accepted')");
}

int
db_labels_propose(struct db *db, int64_t id, const struct proto_labels *l)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((rc = tentacle_exists(db, id)) != 0)
		return rc;
	if ((st = db_prepare(db, "DELETE FROM tentacle_labels WHERE "
	    "tentacle_id = ? AND state = 'proposed'")) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	if (db_step_done(db, st) == -1)
		return -1;
	/* Already accepted: stays so. */
	return labels_insert(db, id, l, "INSERT OR IGNORE INTO "
	    "tentacle_labels (tentacle_id, label, state) VALUES (?, ?, "
	    "'proposed')");
}

int
db_labels_each(struct db *db, int64_t tentacle,
    void (*fn)(const struct db_label_row *, void *), void *arg)
{
	sqlite3_stmt		*st;
	struct db_label_row	 r;
	int			 rc;

	if ((st = db_prepare(db, "SELECT tentacle_id, label, state = "
	    "'accepted' FROM tentacle_labels WHERE ?1 = 0 OR tentacle_id = ?1 "
	    "ORDER BY tentacle_id, label")) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, tentacle);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		r.tentacle = sqlite3_column_int64(st, 0);
		r.label = col_text(st, 1);
		r.accepted = sqlite3_column_int(st, 2);
		fn(&r, arg);
	}
	return db_rows_end(db, st, rc);
}

int
db_labels_tentacles(struct db *db, const struct proto_labels *l,
    int64_t **ids, size_t *n)
{
	sqlite3_stmt	*st;
	char		 set[PROTO_LABELS_TEXT_MAX + 2];
	int64_t		*v = NULL, *nv;
	size_t		 cap = 0;
	int		 rc;

	*ids = NULL;
	*n = 0;
	set[0] = ',';
	proto_labels_join(l, set + 1, sizeof(set) - 1);
	strlcat(set, ",", sizeof(set));
	if ((st = db_prepare(db, "SELECT DISTINCT t.id FROM tentacles t JOIN "
	    "tentacle_labels l ON l.tentacle_id = t.id WHERE l.state = "
	    "'accepted' AND t.enrolment = 'accepted' AND instr(?, ',' || "
	    "l.label || ',') > 0 ORDER BY t.id")) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, set, -1, SQLITE_TRANSIENT);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			if ((nv = realloc(v, cap * sizeof(*v))) == NULL) {
				free(v);
				sqlite3_finalize(st);
				return -1;
			}
			v = nv;
		}
		v[(*n)++] = sqlite3_column_int64(st, 0);
	}
	if (db_rows_end(db, st, rc) == -1) {
		free(v);
		*n = 0;
		return -1;
	}
	*ids = v;
	return 0;
}

int
db_label_known(struct db *db, const char *label)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = db_prepare(db, "SELECT 1 FROM tentacle_labels WHERE label "
	    "= ? AND state = 'accepted' LIMIT 1")) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, label, -1, SQLITE_STATIC);
	rc = db_step_row(db, st);
	sqlite3_finalize(st);
	return rc;
}
