/*
 * Results from the commander: batched into one transaction per turn of
 * the loop, stored, then acknowledged (IPC_RESULT_STORED).
 */
#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "buf.h"
#include "log.h"
#include "maestro.h"
#include "pack.h"
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

static const char *
result_store_one(struct pending_result *pr, struct msg_result *r)
{
	struct wire_frame	 f;
	const char		*why = NULL;
	int64_t			 owner = 0;
	int			 stored = 0, accepted = 0, rc;

	f.type = WIRE_RESULT;
	f.len = (uint32_t)pr->len;
	f.payload = pr->payload;
	memset(r, 0, sizeof(*r));
	if (proto_decode_result(&f, r, &why) == -1)
		return why;
	rc = db_job_owner(m.db, (int64_t)r->job, &owner, &accepted);
	if (rc == -1)
		return "database error";
	if (rc == DB_NOTFOUND || (uint64_t)owner != pr->tentacle)
		return "a result for a job this tentacle was never given";
	/* The commander may have authenticated it with the key it was
	 * given with the order (peer.h, PEER_KEYS_MAX): whether it is still
	 * accepted is decided here, with the result, in the transaction. */
	if (!accepted)
		return "the tentacle is no longer accepted";
	if (db_result_store(m.db, (int64_t)r->job, r, &stored) == -1)
		return "database error";
	/* Any authenticated contact counts as a sign of life. */
	db_tentacle_seen(m.db, (int64_t)pr->tentacle, NULL);
	if (stored)
		log_debug("job %llu: result stored", (unsigned long long)r->job);
	return NULL;
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
	struct buf		 b;
	struct packer		 p;

	in_tx = db_begin(m.db) == 0;
	TAILQ_FOREACH(pr, &results_pending, entry) {
		memset(&r, 0, sizeof(r));
		why = in_tx ? result_store_one(pr, &r) : "database error";
		jobs[n] = r.job;
		whys[n++] = why;
		if (why && strcmp(why, "database error")) {
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
			whys[i] = "database error";
	}
	/* Stored (committed): now, and only now, acknowledge. */
	i = 0;
	while ((pr = TAILQ_FIRST(&results_pending)) != NULL) {
		TAILQ_REMOVE(&results_pending, pr, entry);
		if (cmd->chan != NULL && cmd->generation == pr->generation) {
			buf_init(&b, 1024);
			pack_init(&p, &b);
			/* 0 stored, 1 try again later, 2 refused for good
			 * (brain.h, IPC_RESULT_STORED). */
			pack_u8(&p, whys[i] == NULL ? 0 :
			    strcmp(whys[i], "database error") == 0 ? 1 : 2);
			pack_u64(&p, jobs[i]);
			pack_str(&p, whys[i] ? whys[i] : "");
			if (pack_error(&p) == 0)
				ipc_send(cmd->chan, IPC_RESULT_STORED, pr->conn,
				    b.data, b.len);
			buf_free(&b);
		}
		free(pr->payload);
		free(pr);
		i++;
	}
	results_npending = 0;
}

void
handle_result_store(struct child *c, const struct ipc_msg *msg)
{
	struct unpacker		 u;
	struct pending_result	*pr;
	const uint8_t		*payload;
	size_t			 plen;
	uint64_t		 tentacle;

	unpack_init(&u, msg->payload, msg->hdr.len);
	unpack_u64(&u, &tentacle);
	unpack_bytes_ref(&u, &payload, &plen, WIRE_PAYLOAD_MAX);
	if (unpack_end(&u) == -1) {
		child_misbehaved(c, "sent a malformed result");
		return;
	}
	if ((pr = calloc(1, sizeof(*pr))) == NULL ||
	    (pr->payload = malloc(plen ? plen : 1)) == NULL) {
		free(pr);
		log_warnx("out of memory: a result waits for its redelivery");
		return;
	}
	memcpy(pr->payload, payload, plen);
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
	if (results_npending)
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
