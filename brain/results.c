/*
 * Results from the commander: batched into one transaction per turn of
 * the loop, their MAC checked with the tentacle's key (the commander that
 * carried them could have changed them), stored, then acknowledged
 * (IPC_RESULT_STORED).
 */
#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>
#include <event2/event.h>

#include "buf.h"
#include "crypto.h"
#include "ipcmsg.h"
#include "log.h"
#include "pack.h"
#include "maestro.h"
#include "proto.h"
#include "wire.h"

/*
 * Results are stored in batches: every result that arrives before the loop
 * comes back here (one read of the channel carries many) goes into one
 * transaction, and then each tentacle gets its answer. A batch is also
 * flushed as soon as it holds RESULT_BATCH_MAX results.
 */
#define RESULT_BATCH_MAX	256

struct pending_result {
	uint32_t		 conn;		/* the commander's connection */
	unsigned		 generation;	/* of that commander */
	uint64_t		 tentacle;
	uint8_t			*payload;	/* the RESULT frame's, copied */
	size_t			 len;
	TAILQ_ENTRY(pending_result) entry;
};

static TAILQ_HEAD(, pending_result) results_pending =
    TAILQ_HEAD_INITIALIZER(results_pending);
static int		 results_npending;
static struct event	*results_ev;

/* The jobs' states reported since (IPC_JOB_STATE: running when the
 * tentacle took the order, or why it failed), in the order they came:
 * a job's result that follows in the same batch finds it running. */
static struct pending_state {
	uint64_t		 job;
	enum job_state		 state;
	int			 changed;
	char			 message[IPCMSG_ERROR_MAX];
} states_pending[RESULT_BATCH_MAX];
static int		 states_npending;

static void	results_flush(evutil_socket_t, short, void *);

#define DB_ERROR	"database error"

/* The result's MAC, with the key of the tentacle that delivered it. */
static const char *
result_mac_check(uint64_t tentacle, const struct msg_result *r)
{
	struct db_tentacle	 t;
	uint8_t			 key[PROTO_KEY_LEN];
	const char		*why = NULL;
	int			 rc;

	memset(&t, 0, sizeof(t));
	rc = db_tentacle_get(m.db, (int64_t)tentacle, &t);
	if (rc == -1)
		why = DB_ERROR;
	else if (rc == DB_NOTFOUND ||
	    hex_decode(t.key_hex, key, sizeof(key)) == -1)
		why = "the tentacle is no longer accepted";
	else if (!proto_result_mac_ok(key, tentacle, r))
		why = "bad MAC: the result was changed on its way, or is not "
		    "this tentacle's";
	crypto_wipe(key, sizeof(key));
	crypto_wipe(&t, sizeof(t));
	return why;
}

/*
 * A result refused for good (sending it again will not mend it) ends its
 * job: failed, with the refusal's reason. Only a job of the tentacle that
 * delivered it, so that no tentacle can end another's job.
 */
static void
result_job_failed(uint64_t job, const char *why)
{
	char	msg[PROTO_MESSAGE_MAX];

	snprintf(msg, sizeof(msg), "result refused: %s", why);
	if (db_job_set_state(m.db, (int64_t)job, JOB_FAILED, msg) == 0) {
		log_info("job %llu: failed: %s", (unsigned long long)job, msg);
		job_failed_event((int64_t)job, msg);
	}
}

/*
 * The tentacle's supervisor would not run the script ordered (issue 14):
 * the script on the host is not the one signed or ordered. Evidence of a
 * change behind the brain's back: in the audit log, and not pushed over
 * (push.c); the dashboard shows the host's copy as changed.
 */
static void
result_refused_audit(uint64_t tentacle, const struct msg_result *r)
{
	char	actor[32], why[PROTO_MESSAGE_MAX], detail[PROTO_MESSAGE_MAX + 64];
	size_t	i;

	for (i = 0; i < r->output_len && i < sizeof(why) - 1 &&
	    r->output[i] >= 0x20 && r->output[i] < 0x7f; i++)
		why[i] = (char)r->output[i];
	why[i] = '\0';
	snprintf(actor, sizeof(actor), "tentacle:%llu",
	    (unsigned long long)tentacle);
	snprintf(detail, sizeof(detail), "job %llu refused: %s",
	    (unsigned long long)r->job, why[0] ? why : "the script on the "
	    "host is not the one ordered");
	db_audit(m.db, actor, "script_refused", "", detail);
	log_warnx("tentacle %llu: %s", (unsigned long long)tentacle, detail);
}

static const char *
result_store_one(struct pending_result *pr, struct msg_result *r)
{
	struct wire_frame	 f;
	struct unpacker		 u;
	const char		*why = NULL;
	int64_t			 owner = 0;
	uint64_t		 job = 0;
	int			 stored = 0, accepted = 0, rc, bad;

	f.type = WIRE_RESULT;
	f.len = (uint32_t)pr->len;
	f.payload = pr->payload;
	memset(r, 0, sizeof(*r));
	/* A malformed result still names its job in its first field. */
	if ((bad = proto_decode_result(&f, r, &why) == -1)) {
		unpack_init(&u, pr->payload, pr->len);
		unpack_u64(&u, &job);
		if (u.err || job == 0 || job > INT64_MAX)
			return why;
		memset(r, 0, sizeof(*r));
		r->job = job;
	}
	rc = db_job_owner(m.db, (int64_t)r->job, &owner, &accepted);
	if (rc == -1)
		return DB_ERROR;
	if (rc == DB_NOTFOUND || (uint64_t)owner != pr->tentacle)
		return bad ? why :
		    "a result for a job this tentacle was never given";
	if (bad) {
		result_job_failed(r->job, why);
		return why;
	}
	/* Whether it is still accepted is decided here, with the result, in
	 * the transaction (it may have been revoked since it connected). */
	if (!accepted)
		return "the tentacle is no longer accepted";
	if ((why = result_mac_check(pr->tentacle, r)) != NULL) {
		if (strcmp(why, DB_ERROR) != 0)
			result_job_failed(r->job, why);
		return why;
	}
	if (db_result_store(m.db, (int64_t)r->job, r, &stored) == -1)
		return DB_ERROR;
	if (stored && job_state_of_outcome(r->outcome) == JOB_FAILED)
		job_failed_event((int64_t)r->job, "the tentacle could not run "
		    "the script");
	else if (stored)
		result_events((int64_t)r->job);
	/* Any authenticated contact counts as a sign of life. */
	tentacle_seen_event((int64_t)pr->tentacle);
	db_tentacle_seen(m.db, (int64_t)pr->tentacle, NULL);
	if (stored)
		log_debug("job %llu: result stored", (unsigned long long)r->job);
	if (stored && r->outcome == OUTCOME_REFUSED)
		result_refused_audit(pr->tentacle, r);
	return NULL;
}

/* The states, in the batch's transaction (or each its own). */
static void
states_store(void)
{
	struct pending_state	*ps;
	int			 i;

	for (i = 0; i < states_npending; i++) {
		ps = &states_pending[i];
		ps->changed = db_job_set_state(m.db, (int64_t)ps->job,
		    ps->state, ps->message) == 0;
		if (!ps->changed)
			continue;
		log_hop("maestro-job-state", ps->job);
		log_debug("job %llu: %s%s%s", (unsigned long long)ps->job,
		    job_state_name(ps->state), ps->message[0] ? ": " : "",
		    ps->message);
		if (ps->state == JOB_FAILED)
			job_failed_event((int64_t)ps->job, ps->message);
	}
}

/* Once committed: who waits for those jobs. */
static void
states_done(void)
{
	int	i;

	for (i = 0; i < states_npending; i++)
		if (states_pending[i].changed &&
		    !job_state_pending(states_pending[i].state))
			run_waiters_wake_job((int64_t)states_pending[i].job);
	states_npending = 0;
}

void
results_job_state(uint64_t job, enum job_state state, const char *message)
{
	struct pending_state	*ps;

	if (states_npending >= RESULT_BATCH_MAX)
		results_flush(-1, 0, NULL);
	ps = &states_pending[states_npending++];
	ps->job = job;
	ps->state = state;
	ps->changed = 0;
	strlcpy(ps->message, message, sizeof(ps->message));
	event_active(results_ev, EV_TIMEOUT, 0);
}

static void
results_flush(evutil_socket_t fd, short events, void *arg)
{
	struct child		*cmd = &children[CHILD_COMMANDER];
	struct pending_result	*pr;
	struct msg_result	 r;
	const char		*why, *whys[RESULT_BATCH_MAX];
	uint64_t		 jobs[RESULT_BATCH_MAX];
	char			 detail[160];
	int			 n = 0, i, in_tx;
	struct ipc_result_stored rs;

	in_tx = db_begin(m.db) == 0;
	states_store();
	TAILQ_FOREACH(pr, &results_pending, entry) {
		memset(&r, 0, sizeof(r));
		why = in_tx ? result_store_one(pr, &r) : DB_ERROR;
		jobs[n] = r.job;
		whys[n++] = why;
		if (why && strcmp(why, DB_ERROR)) {
			snprintf(detail, sizeof(detail), "tentacle %llu: "
			    "result refused: %s",
			    (unsigned long long)pr->tentacle, why);
			log_warnx("%s", detail);
			db_audit(m.db, "system", "result_refused", "", detail);
		}
	}
	if (in_tx && db_commit(m.db) == -1) {
		db_rollback(m.db);
		for (i = 0; i < n; i++)
			whys[i] = DB_ERROR;
		if (states_npending > 0)
			log_warnx("database: %d job states lost",
			    states_npending);
		states_npending = 0;
	}
	states_done();
	/* Stored (committed): now, and only now, acknowledge. */
	i = 0;
	while ((pr = TAILQ_FIRST(&results_pending)) != NULL) {
		TAILQ_REMOVE(&results_pending, pr, entry);
		log_hop("maestro-stored", jobs[i]);
		if (cmd->chan != NULL && cmd->generation == pr->generation) {
			memset(&rs, 0, sizeof(rs));
			rs.status = whys[i] == NULL ? STORED_OK :
			    strcmp(whys[i], DB_ERROR) == 0 ? STORED_RETRY :
			    STORED_REFUSED;
			rs.job = jobs[i] <= INT64_MAX ? jobs[i] : 0;
			ipcmsg_text(rs.error, sizeof(rs.error), whys[i]);
			ipcmsg_send_result_stored(cmd->chan, IPC_RESULT_STORED,
			    pr->conn, &rs);
		}
		free(pr->payload);
		free(pr);
		i++;
	}
	results_npending = 0;
	for (i = 0; i < n; i++)
		if (jobs[i] != 0 && jobs[i] <= INT64_MAX)
			run_waiters_wake_job((int64_t)jobs[i]);
}

void
handle_result_store(struct child *c, const struct ipc_msg *msg)
{
	struct ipc_result_store	 rs;
	struct pending_result	*pr;
	const uint8_t		*payload;
	size_t			 plen;
	uint64_t		 tentacle;
	const char		*why;

	if (ipcmsg_decode_result_store(msg->payload, msg->hdr.len, &rs,
	    &why) == -1) {
		child_misbehaved(c, "sent a malformed result");
		return;
	}
	tentacle = rs.tentacle;
	payload = rs.frame;
	plen = rs.frame_len;
	if ((pr = calloc(1, sizeof(*pr))) == NULL ||
	    (pr->payload = malloc(plen ? plen : 1)) == NULL) {
		free(pr);
		log_warnx("out of memory: a result waits for its redelivery");
		return;
	}
	memcpy(pr->payload, payload, plen);
	log_hop("maestro-result-in", 0);
	pr->len = plen;
	pr->conn = msg->hdr.id;
	pr->generation = c->generation;
	pr->tentacle = tentacle;
	TAILQ_INSERT_TAIL(&results_pending, pr, entry);
	if (++results_npending >= RESULT_BATCH_MAX)
		results_flush(-1, 0, NULL);
	else
		event_active(results_ev, EV_TIMEOUT, 0);
}

int
results_start(struct event_base *base)
{
	results_ev = event_new(base, -1, 0, results_flush, NULL);
	return results_ev == NULL ? -1 : 0;
}

/* At shutdown: what is pending is stored (and acknowledged if it can). */
void
results_stop(void)
{
	if (results_npending || states_npending)
		results_flush(-1, 0, NULL);
	event_free(results_ev);
	results_ev = NULL;
}

/* ---- the API's reads of results -------------------------------------- */

void
api_tentacle_results(const struct api_req *r)
{
	api_reply_or_error(r, json_pack("{s:o*}", "results",
	    view_tentacle_results(m.db, api_id(r->a), r->a->with_output,
	    m.checks)), "results");
}

void
api_result(const struct api_req *r)
{
	api_reply_or_error(r, view_result(m.db, api_id(r->a), m.checks),
	    NULL);
}
