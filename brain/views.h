/*
 * The API's JSON views of the database's rows (SPEC Interfaces): what the
 * maestro's handlers answer. NULL on a database error, or when the one
 * thing asked for does not exist.
 */
#ifndef OCTO_VIEWS_H
#define OCTO_VIEWS_H

#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "db.h"
#include "findings.h"

/* {"users": [{"name", "role", "created_at"}]} */
json_t	*view_users(struct db *);
/* {"events": [{"id", "at", "actor", "action", "peer", "detail"}]} */
json_t	*view_audit(struct db *, const char *actor, const char *action,
	    unsigned limit);
json_t	*view_tentacle(struct db *, int64_t id);
json_t	*view_tentacles(struct db *);
json_t	*view_tokens(struct db *);
/* [{"name", "sha256", "description", "tentacles": [ids]}] for the fleet
 * (0) or one tentacle. */
json_t	*view_scripts(struct db *, int64_t tentacle);
/*
 * Results carry "findings": [{"check", "status", "text", "refs", "title",
 * "fix"}] joined with checks (the checks file's table, may be NULL;
 * finding_json), in the order of the output; the results of one reply
 * past FINDINGS_JSON_MAX of them get "findings": null.
 *
 * A run with its jobs (results without their output and findings unless
 * with_output) and "summary": {"jobs", "states": {state: n}, "finished",
 * "compliant", "findings", "errors"}.
 */
json_t	*view_run(struct db *, int64_t id, int with_output,
	    const struct checks *);
/* The 500 newest runs, each with its summary; tentacle != 0: only the
 * runs that include it, each with "tentacle_job". */
json_t	*view_runs(struct db *, int64_t tentacle);
json_t	*view_result(struct db *, int64_t id, const struct checks *);
/* A tentacle's 500 newest results, without their output; with their
 * findings if with_findings. */
json_t	*view_tentacle_results(struct db *, int64_t tentacle,
	    int with_findings, const struct checks *);

/* A time as RFC 3339 in UTC ("2026-01-02T03:04:05Z"; out: 32 bytes);
 * as a JSON string, or null for 0. */
void	rfc3339(time_t, char *out, size_t len);
json_t	*time_or_null(time_t);

/* ---- groups and schedules (issue 16: views_groups.c) ----------------- */

/* Give each tentacle object of list (all of them, or only tentacle's)
 * "labels" and "proposed_labels". 0 or -1. */
int	view_labels_attach(struct db *, int64_t tentacle, json_t *list);
/* A schedule: {"id", "script", "tentacles": "all"|[id…] | "labels",
 * "every"|"cron", "enabled", "disabled_reason", "next_at", "last_at",
 * "last_run", "created_by", "created_at"}. */
json_t	*view_schedule(const struct db_schedule *);
/* {"schedules": [...], "time_zone", "utc_offset", "now"} */
json_t	*view_schedules(struct db *);

#endif
