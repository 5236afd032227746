/*
 * Runs: creating one (its jobs), handing queued jobs to the commander,
 * the job states it reports, jobs lost with their tentacle.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bsd/string.h>
#include <jansson.h>

#include "buf.h"
#include "crypto.h"
#include "ipcmsg.h"
#include "log.h"
#include "maestro.h"
#include "proto.h"

/* ---- runs ------------------------------------------------------------ */

/* Hand a queued job (or a keepalive ping) to the commander: 0 or -1.
 * Jobs stay "queued" until it says how sending went; if it dies meanwhile
 * they are sent again when it is back (a tentacle runs a job ID once,
 * however often it is ordered). The order carries no key: a ticket, for
 * which the commander gets the proofs and the ORDER's MAC (proofs.c). */
static int
order_send(const struct db_order *o, int ping)
{
	struct child		*cmd = &children[CHILD_COMMANDER];
	struct ipc_run_order	 ro;
	uint32_t		 type = ping ? IPC_KEEPALIVE : IPC_RUN_ORDER;

	if (cmd->chan == NULL)
		return -1;
	memset(&ro, 0, sizeof(ro));
	ro.job = ping ? 0 : (uint64_t)o->job;
	ro.run = ping ? 0 : (uint64_t)o->run;
	ro.tentacle = (uint64_t)o->tentacle;
	strlcpy(ro.address, o->address, sizeof(ro.address));
	ro.port = o->port > 0 ? (uint32_t)o->port : 0;
	strlcpy(ro.fingerprint, o->fingerprint, sizeof(ro.fingerprint));
	if (!ping) {
		strlcpy(ro.script, o->script, sizeof(ro.script));
		strlcpy(ro.script_sha256, o->script_sha256,
		    sizeof(ro.script_sha256));
	}
	if ((ro.ticket = proofs_ticket(o, ping ? PURPOSE_PING :
	    PURPOSE_ORDER)) == 0 ||
	    ipcmsg_send_run_order(cmd->chan, type, 0, &ro) == -1) {
		log_warnx("tentacle %lld: cannot hand the %s to the commander",
		    (long long)o->tentacle, ping ? "keepalive" : "order");
		return -1;
	}
	if (!ping)
		log_hop("maestro-order", (unsigned long long)o->job);
	return 0;
}

/* db_jobs_queued's callback (arg set: a ping). */
void
dispatch_order(const struct db_order *o, void *arg)
{
	order_send(o, arg != NULL);
}

int
dispatch_ping(const struct db_order *o)
{
	return order_send(o, 1);
}

/*
 * Jobs a tentacle acknowledged but will never report: it went offline, or
 * its command worker restarted since (a kill -9 takes the running script's
 * result with it). Failed, with the reason; a result that was spooled
 * after all still replaces this when it arrives.
 */
void
jobs_lost(int64_t tentacle, int64_t acked_before_ms, const char *why)
{
	int	n;

	if (db_jobs_lost(m.db, tentacle, acked_before_ms, why, &n) == 0 &&
	    n > 0) {
		log_warnx("tentacle %lld: %d running job%s lost: %s",
		    (long long)tentacle, n, n == 1 ? "" : "s", why);
		run_waiters_wake();
	}
}

static void
dispatch_one(const struct db_order *o, void *arg)
{
	dispatch_order(o, NULL);
	db_job_set_state(m.db, o->job, JOB_SENT, "");
}

/* A tentacle's queued jobs that can go now: those of a managed script
 * that waited for its push (issue 14). */
void
dispatch_waiting(int64_t tentacle)
{
	if (children[CHILD_COMMANDER].chan != NULL)
		db_jobs_pushed(m.db, tentacle, dispatch_one, NULL);
}

void
dispatch_queued(int64_t run)
{
	/* Handed to the commander: "sent" (and sent again if a new
	 * commander starts before the tentacle acknowledged; the tentacle
	 * knows a job it was given). */
	if (children[CHILD_COMMANDER].chan != NULL &&
	    db_jobs_queued(m.db, run, dispatch_order, NULL) == 0)
		db_jobs_sent(m.db, run);
}

/*
 * Start a run of script on ids (n of them), by `by` (a user, or
 * "schedule:ID"), its jobs waiting for offline tentacles until
 * expires_at; lenient: leave out the IDs that are not (or no longer)
 * accepted tentacles, rather than refuse. 0 and *run, or an HTTP status
 * with why.
 */
int
run_start(const char *script, const char *by, const char *client,
    const int64_t *ids, size_t n, time_t expires_at, int lenient,
    int64_t *run, char *why, size_t whylen)
{
	struct db_tentacle	 t;
	char			 detail[160];
	size_t			 i, made = 0;
	int64_t			 job, next;
	int			 rc, managed, takes, sending;

	if (db_begin(m.db) == -1)
		goto dberr_out;
	if (db_run_add(m.db, script, by, run) == -1 ||
	    db_script_next(m.db, script, &managed, &next) == -1)
		goto dberr;
	for (i = 0; i < n; i++) {
		rc = db_tentacle_get(m.db, ids[i], &t);
		crypto_wipe(t.key_hex, sizeof(t.key_hex));
		if (rc == -1)
			goto dberr;
		if (rc == DB_NOTFOUND || strcmp(t.enrolment, "accepted")) {
			if (lenient)
				continue;
			snprintf(why, whylen, "tentacle %lld %s",
			    (long long)ids[i], rc == DB_NOTFOUND ?
			    "does not exist" : "is not accepted");
			db_rollback(m.db);
			return 400;
		}
		if (db_job_add(m.db, *run, ids[i], t.hostname, &job) == -1) {
			/* The same ID twice in the list. */
			db_rollback(m.db);
			strlcpy(why, "a tentacle is listed twice", whylen);
			return 400;
		}
		/* A managed script (issue 14) waits for its push, but not
		 * on a tentacle that takes none. */
		if (managed && (db_tentacle_managed(m.db, ids[i], &takes) ==
		    -1 || (takes == 0 && db_job_set_state(m.db, job,
		    JOB_FAILED, "this tentacle takes no managed scripts "
		    "(managed_scripts = no)") == -1)))
			goto dberr;
		made++;
	}
	if (made == 0) {
		db_rollback(m.db);
		strlcpy(why, "no accepted tentacle to run it on", whylen);
		return 409;
	}
	/* The jobs that go now are "sent" and the audit row written in the
	 * run's own transaction, then the orders go: one commit on the
	 * round trip's way, not three (issue 18). The commander gets them
	 * only once they are stored. */
	snprintf(detail, sizeof(detail), "run %lld: %s on %zu tentacles",
	    (long long)*run, script, made);
	sending = children[CHILD_COMMANDER].chan != NULL;
	if (db_run_set_expiry(m.db, *run, expires_at) == -1 ||
	    (sending && db_jobs_sent(m.db, *run) == -1) ||
	    db_audit(m.db, by, "run", client, detail) == -1 ||
	    db_commit(m.db) == -1)
		goto dberr;
	if (sending)
		db_jobs_queued(m.db, *run, dispatch_order, NULL);
	log_info("%s started %s", by, detail);
	return 0;
dberr:
	db_rollback(m.db);
dberr_out:
	strlcpy(why, "database error", whylen);
	return 500;
}

void
api_run_create(const struct api_req *r)
{
	const struct api_args	*a = r->a;
	struct proto_labels	 labels;
	int64_t			*ids = NULL, run;
	size_t			 n, i;
	char			 why[96];
	const char		*lwhy;
	int			 status;

	if (!proto_script_name_valid(a->script)) {
		api_error(r, 400, "bad script name");
		return;
	}
	if (proto_labels_parse(a->labels, &labels, &lwhy) == -1) {
		api_error(r, 400, lwhy);
		return;
	}
	if (labels.n > 0 || a->ntentacles == 0) {
		if ((labels.n > 0 ? db_labels_tentacles(m.db, &labels, &ids,
		    &n) : db_tentacles_accepted(m.db, &ids, &n)) == -1) {
			api_error(r, 500, "database error");
			return;
		}
		if (n == 0) {
			free(ids);
			api_error(r, 409, labels.n > 0 ? "no accepted tentacle "
			    "has these labels" : "no accepted tentacle to run "
			    "it on");
			return;
		}
	} else {
		n = a->ntentacles;
		if ((ids = calloc(n, sizeof(*ids))) == NULL) {
			api_error(r, 500, "out of memory");
			return;
		}
		for (i = 0; i < n; i++)
			ids[i] = a->tentacles[i] > INT64_MAX ? 0 :
			    (int64_t)a->tentacles[i];
	}
	status = run_start(a->script, r->s->user, r->client, ids, n,
	    time(NULL) + (time_t)a->expires_in, 0, &run, why, sizeof(why));
	free(ids);
	if (status != 0)
		api_error(r, status, why);
	else
		api_reply(r, 202, json_pack("{s:I}", "id", (json_int_t)run));
}

/* What the commander may say of a job: the tentacle took the order,
 * refused it, or could not be reached. */
static int
job_state_reportable(enum job_state s)
{
	return s == JOB_RUNNING || s == JOB_FAILED || s == JOB_UNREACHABLE;
}

void
handle_job_state(struct child *c, const struct ipc_msg *msg)
{
	struct ipc_job_state	 js;
	const char		*why;
	enum job_state		 state;

	if (ipcmsg_decode_job_state(msg->payload, msg->hdr.len, &js,
	    &why) == -1 || !job_state_reportable((state = js.state))) {
		child_misbehaved(c, "sent a malformed job state");
		return;
	}
	/* Stored with the results of this turn of the loop, before them
	 * (results.c): one transaction, not one per job (issue 18). */
	results_job_state(js.job, state, js.message);
}
