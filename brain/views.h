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
/*
 * Lists at scale (SPEC "Lists at scale"): pages of at most limit rows (0:
 * no limit) after the row `after` (0: from the start), cut earlier when
 * their JSON reaches LIST_JSON_MAX; "next": the last row's ID when more
 * follow, else null.
 *
 * {"tentacles": [...], "counts": {"online", "offline", "unknown",
 * "pending", "rejected", "total"}, "next"} (counts: the whole fleet;
 * online, offline and unknown count the accepted tentacles); *notfound
 * when the order needs the row `after` and it is gone. As JSON text
 * (NUL-terminated, malloc'd: free it), written without a json_t per row.
 */
char	*view_tentacles_text(struct db *, const struct db_fleet_query *,
	    uint64_t after, unsigned limit, int *notfound);
/* The same parsed (the unit tests'). */
json_t	*view_tentacles_page(struct db *, const struct db_fleet_query *,
	    uint64_t after, unsigned limit, int *notfound);
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
/* The same with a page of its jobs (by ID) and "next"; the summary
 * counts every job. */
json_t	*view_run_page(struct db *, int64_t id, int with_output,
	    const struct checks *, uint64_t after, unsigned limit);
/* {"runs": [...], "next"}: a page of the runs, newest first, each with
 * its summary; tentacle != 0: only the runs that include it, each with
 * "tentacle_job". */
json_t	*view_runs_page(struct db *, int64_t tentacle, uint64_t after,
	    unsigned limit);
json_t	*view_result(struct db *, int64_t id, const struct checks *);
/* A tentacle's 500 newest results, without their output; with their
 * findings if with_findings. */
json_t	*view_tentacle_results(struct db *, int64_t tentacle,
	    int with_findings, const struct checks *);

/*
 * Scripts managed by the brain (issue 14; scriptviews.c). The fleet's
 * list: managed scripts first, by name, {"name", "description",
 * "managed": true, "version", "sha256", "tentacles": [ids holding the
 * latest as signed], "stale": [{"tentacle", "version", "sha256",
 * "tampered"}] (the other copies: older, or tampered: not the one signed,
 * by its hash or a refused run since it got it)}, then the
 * local ones as view_scripts gives them (with "managed": false,
 * "version": null). One script: its latest version's fields and body,
 * "versions": [{"version", "sha256", "created_at", "created_by",
 * "description"}], "tentacles", "stale". One version: {"name",
 * "version", "description", "sha256", "created_at", "created_by",
 * "signature" (the maestro's Ed25519 signature, hex: scriptsig.h),
 * "body"} (version 0: the latest).
 */
json_t	*view_scripts_fleet(struct db *);
json_t	*view_script(struct db *, const char *name);
json_t	*view_script_version(struct db *, const char *name, int64_t version);
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
