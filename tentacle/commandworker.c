/*
 * The command worker: once the tentacle is enrolled, it listens on
 * command_port (7001) for its brain (report 3.3).
 *
 * Every connection: the brain's certificate must be the one pinned at
 * enrolment (before any handshake), then the handshake as server with the
 * enrolment's ID and key (handshake.h). Then, by purpose:
 *	PING	INVENTORY{facts, scripts} (the brain's keepalive), close
 *	ORDER	one ORDER{job, script, hash, MAC} -> ORDER_ACK; the
 *		script then runs in the background (run.c). The connection
 *		stays open (issue 18): if the brain still holds it when
 *		the result is spooled, the RESULT goes back on it, and its
 *		RESULT_ACK ends it; otherwise (the brain closed it; an
 *		older brain does at once) the result is delivered over
 *		6001 as below. The MAC is the brain's maestro's, with our key,
 *		bound to this TLS session (proto_order_mac): an order its
 *		commander forged, changed or replayed is refused. The hash
 *		("" = any) is checked against the bytes about to run, at the
 *		run (run.c): a mismatch is a REFUSED result.
 *	SCRIPT	SIGNKEY / SCRIPT_PUT / SCRIPT_DELETE frames, one at a time,
 *		each answered with a SCRIPT_ACK (managed.h; done by the
 *		supervisor with privilege separation), until the brain
 *		closes.
 *
 * Scripts are run by this process itself (posix_spawn, run.c), with the
 * supervisor's user; or, with privilege separation (`user` set, started
 * as root: privsep.h), by the supervisor, which stays root while this
 * process runs as `user`: an ORDER becomes an IPC_RUN_REQUEST on the
 * socketpair, the result comes back as IPC_RUN_DONE. Each result is
 * written to the spool (spool.c), then delivered to the brain's
 * commander (6001, PURPOSE_RESULT, link.c); the file is removed once the
 * brain acknowledged it. A delivery that fails is retried after 1 s,
 * doubling to retry_max; at start-up everything in the spool is
 * delivered, oldest first; one delivery connection at a time. A result
 * the brain refuses for good (RESULT_ACK refused: a job it never gave
 * us, a malformed result) is logged and moved to spool_dir/rejected/,
 * never sent again.
 *
 * The same job ordered again while it runs or waits in the spool is
 * acknowledged (accepted) but not run twice.
 *
 * While the enrolment is pending it also asks the brain's registerer,
 * every poll_interval, whether an admin approved or rejected it (PURPOSE_
 * POLL, with the same handshake as client), and rewrites the state file
 * when the answer changes (with privilege separation the supervisor does,
 * IPC_STATUS_SET). It never enrols again by itself.
 *
 * With privilege separation this process never holds the tentacle's key
 * (privsep.h): the supervisor gives the nonces of our handshakes, checks
 * the brain's proofs and makes ours, makes the proofs of our own
 * connections (link.c's prover), checks each ORDER's MAC before it runs
 * it, and makes each result's MAC.
 */
#include <sys/signalfd.h>
#include <sys/stat.h>

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/string.h>
#include <event2/event.h>
#include <jansson.h>

#include "conn.h"
#include "crypto.h"
#include "enrolment.h"
#include "handshake.h"
#include "inventory.h"
#include "ipc.h"
#include "log.h"
#include "managed.h"
#include "privsep.h"
#include "run.h"
#include "spool.h"
#include "tentacle.h"

/* Connections waiting for the supervisor at once. */
#define CW_PENDING_MAX	32

struct cw {
	const struct tentacle_conf	*conf;
	struct event_base		*base;
	struct enrolment		 e;
	char				 path[OCTO_PATH_MAX + 32];
	SSL_CTX				*client;	/* polls */
	struct event			*ev_poll;
	int				 polling;	/* one in flight */
	int				 poll_failed;	/* last one failed */
	char				 brain_peer[OCTO_ADDR_MAX + 16];
	char				 commander_peer[OCTO_ADDR_MAX + 16];

	struct event			*ev_sigterm;	/* on sigterm_fd */
	int				 sigterm_fd;

	/* Delivery of spooled results: one at a time. */
	struct event			*ev_deliver;
	int				 delivering;
	uint64_t			 delivering_job;
	int				 retry_delay;	/* s, next backoff */
	struct buf			 spool_data;
	int				 unsynced;	/* spooled, no fsync */
	int				 stopping;	/* SIGTERM */

	/* Privilege separation: the supervisor runs the scripts. */
	SSL_CTX				*given_client;	/* made before the drop */
	struct enrolment		*given_e;	/* read before it */
	int				 priv_fd;	/* -1: none */
	struct ipc_chan			*priv;
	uint64_t			 asked[RUN_CONCURRENT_MAX];
	int				 nasked;	/* runs asked for */
	struct buf			 req;

	/* The inventory, rebuilt when scripts_dir's mtime changes. */
	char				*inv_scripts;
	struct timespec			 inv_mtime;
	struct timespec			 inv_mmtime;	/* managed dir's */
	int				 inv_dir_ok;

	/* Requests to the supervisor a connection waits for (SCRIPT
	 * frames, the inventory): one per connection. */
	struct {
		uint64_t		 id;	/* request, or job */
		int			 run;	/* 1: a RUN_ACCEPTED's job */
		struct cw_conn		*x;
	}				 pend[CW_PENDING_MAX];
	uint64_t			 next_req;

	/* Server nonces from the supervisor, one per handshake. */
	uint8_t				 nonces[PRIVSEP_NONCES_MAX]
					     [PROTO_NONCE_LEN];
	int				 nnonces;
	int				 nonces_asked;	/* on their way */

	/* Order connections a run's result may go back on (issue 18):
	 * at most one per run. */
	struct cw_conn			*await[RUN_CONCURRENT_MAX];
};

struct cw_conn {
	struct cw		*cw;
	struct conn		*c;
	struct handshake	 hs;
	struct buf		 out;
	int			 done;		/* authenticated */
	uint8_t			 purpose;
	uint8_t			 exporter[HS_EXPORTER_LEN];	/* ORDER MAC */
	int			 waiting;	/* for the supervisor */
	char			 script[PROTO_SCRIPT_NAME_MAX];	/* ordered */
	uint64_t		 result_job;	/* its result may come here */
	int			 result_sent;	/* RESULT_ACK awaited */
};

/* HS_PROOF_ASK's requests for link.c's client handshakes. */
#define CW_TICKET_BIT	(1ULL << 63)

static void	deliver_schedule(struct cw *, int delay);
static struct cw_conn *pend_take(struct cw *, int run, uint64_t);
static int	pend_add(struct cw *, struct cw_conn *, uint64_t *);
static int	pend_add_run(struct cw *, struct cw_conn *, uint64_t);
static void	pend_forget(struct cw *, struct cw_conn *);
static int	hs_step(struct conn *, struct cw_conn *, enum hs_result,
		    const struct wire_frame *);
static void	send_script_ack(struct conn *, struct cw_conn *,
		    const struct msg_script_ack *);
static int	inventory_send(struct conn *, struct cw *, struct buf *,
		    const char *, size_t, int, const char *);
static void	spool_make_durable(struct cw *);
static int	send_ack(struct conn *, struct cw_conn *, uint64_t, int,
		    const char *);
static void	delivered(struct cw *, uint64_t, int, const char *,
		    const char *);
static int	await_add(struct cw *, struct cw_conn *, uint64_t);
static int	await_send(struct cw *, const struct msg_result *);

static struct cw	 cw;

/* Keep the pool of the supervisor's nonces full. */
static void
nonces_refill(struct cw *w)
{
	int	want = PRIVSEP_NONCES_MAX - w->nnonces - w->nonces_asked;

	if (w->priv == NULL || want <= 0)
		return;
	buf_reset(&w->req);
	if (privsep_encode_u8(&w->req, (uint8_t)want, PRIVSEP_NONCES_MAX) ==
	    0 && ipc_send(w->priv, IPC_HS_NONCE_ASK, 0, w->req.data,
	    w->req.len) == 0)
		w->nonces_asked += want;
}

/* "ID 42" once the peer claimed one, for the log. */
static const char *
claimed(const struct handshake *hs, char *out, size_t outlen)
{
	if (hs->id == 0)
		strlcpy(out, "no ID yet", outlen);
	else
		snprintf(out, outlen, "ID %" PRIu64, hs->id);
	return out;
}

static void
refuse(struct conn *c, struct cw_conn *x, const char *why)
{
	char	id[32];

	log_warnx("%s: handshake refused (%s): %s", conn_peer(c),
	    claimed(&x->hs, id, sizeof(id)), why);
	conn_fail(c, why);
}

static void *
cw_established(struct conn *c, void *arg)
{
	struct cw	*w = arg;
	struct cw_conn	*x;
	uint8_t		 exp[HS_EXPORTER_LEN];

	if (!crypto_equal(conn_peer_fingerprint(c), w->e.brain_fingerprint,
	    OCTO_FPR_HEX_LEN)) {
		log_warnx("%s: refused: certificate FPR is not our brain's",
		    conn_peer(c));
		conn_fail(c, "certificate FPR is not our brain's");
		return NULL;
	}
	if (conn_exporter(c, exp, sizeof(exp)) == -1 ||
	    (x = calloc(1, sizeof(*x))) == NULL) {
		conn_fail(c, "cannot set up the handshake");
		return NULL;
	}
	x->cw = w;
	log_hop("tw-tls-up", 0);
	if (conn_resumed(c))
		log_debug("%s: resumed session", conn_peer(c));
	buf_init(&x->out, WIRE_PAYLOAD_MAX);
	hs_server_init(&x->hs, exp);
	if (w->priv != NULL) {
		/* Our nonce is the supervisor's, which checks the proof. */
		if (w->nnonces == 0) {
			log_warnx("%s: refused: no handshake nonce from the "
			    "supervisor yet", conn_peer(c));
			crypto_wipe(exp, sizeof(exp));
			buf_free(&x->out);
			free(x);
			nonces_refill(w);
			conn_fail(c, "busy");
			return NULL;
		}
		hs_server_nonce(&x->hs, w->nonces[--w->nnonces]);
		crypto_wipe(w->nonces[w->nnonces], PROTO_NONCE_LEN);
		nonces_refill(w);
	}
	memcpy(x->exporter, exp, sizeof(x->exporter));
	crypto_wipe(exp, sizeof(exp));
	return x;
}

/* ---- orders and runs ----------------------------------------------------- */

/* A run ended (here, or in the supervisor): spool it, deliver it. */
static void
result_store(struct cw *w, const struct msg_result *mp)
{
	struct msg_result	 m = *mp;
	char			 err[1024];

	if (m.outcome == OUTCOME_RAN && m.signal != 0)
		log_info("job %" PRIu64 ": killed by signal %d after %" PRIu64
		    " ms", m.job, m.signal, m.duration_ms);
	else if (m.outcome == OUTCOME_RAN)
		log_info("job %" PRIu64 ": exited with status %d after %" PRIu64
		    " ms", m.job, m.exit_status, m.duration_ms);
	else
		log_warnx("job %" PRIu64 ": %s after %" PRIu64 " ms", m.job,
		    m.outcome == OUTCOME_TIMEOUT ? "timed out" :
		    m.outcome == OUTCOME_REFUSED ? "refused (not the script "
		    "ordered)" : "could not be run", m.duration_ms);
	/* Delivered at once: the fsyncs wait until a delivery fails (or
	 * the tentacle stops), when the file must outlive a power cut. */
	if ((w->stopping ? spool_store(w->conf->spool_dir, &m, err,
	    sizeof(err)) : spool_store_nosync(w->conf->spool_dir, &m, err,
	    sizeof(err))) == -1) {
		log_warnx("job %" PRIu64 ": cannot spool the result, it is "
		    "lost: %s", m.job, err);
		return;
	}
	if (!w->stopping)
		w->unsynced = 1;
	log_hop("tw-spooled", m.job);
	if (await_send(w, &m))
		return;		/* back on its order's connection */
	deliver_schedule(w, 0);
}

static void
run_done(struct run_result *res, void *arg)
{
	struct msg_result	 m;

	run_result_msg(res, &m);
	result_store(arg, &m);
}

/* ---- privilege separation: the supervisor runs the scripts ------------ */

static int
asked_index(const struct cw *w, uint64_t job)
{
	int	i;

	for (i = 0; i < w->nasked; i++)
		if (w->asked[i] == job)
			return i;
	return -1;
}

static int
job_running(const struct cw *w, uint64_t job)
{
	return w->priv != NULL ? asked_index(w, job) != -1 : run_active(job);
}

static int
jobs_running(const struct cw *w)
{
	return w->priv != NULL ? w->nasked : run_count();
}

/* Ask the supervisor to run it: 0, or -1 with err. */
static int
priv_run(struct cw *w, const struct msg_order *o, const uint8_t *exporter,
    char *err, size_t errlen)
{
	uint64_t	job = o->job;

	buf_reset(&w->req);
	if (privsep_encode_request(&w->req, job, o->script, o->script_sha256,
	    o->mac, exporter) == -1 ||
	    ipc_send(w->priv, IPC_RUN_REQUEST, 0, w->req.data, w->req.len) ==
	    -1) {
		snprintf(err, errlen, "cannot ask the supervisor");
		return -1;
	}
	w->asked[w->nasked++] = job;
	return 0;
}

static void
priv_msg(struct ipc_chan *ch, const struct ipc_msg *msg, void *arg)
{
	struct cw		*w = arg;
	struct msg_result	 m;
	const char		*why;
	int			 i;

	if (msg->hdr.type == IPC_SCRIPT_DONE) {
		struct msg_script_ack	 ack;
		struct cw_conn		*x;
		uint64_t		 id;

		if (privsep_decode_script_done(msg->payload, msg->hdr.len,
		    &id, &ack, &why) == -1) {
			log_warnx("supervisor: bad SCRIPT_DONE: %s", why);
			return;
		}
		if ((x = pend_take(w, 0, id)) != NULL)
			send_script_ack(x->c, x, &ack);
		return;
	}
	if (msg->hdr.type == IPC_INVENTORY_SET) {
		struct privsep_inventory v;
		struct cw_conn		*x;

		if (privsep_decode_inventory(msg->payload, msg->hdr.len, &v,
		    &why) == -1) {
			log_warnx("supervisor: bad INVENTORY_SET: %s", why);
			return;
		}
		if ((x = pend_take(w, 0, v.request)) == NULL)
			return;
		if (inventory_send(x->c, w, &x->out, v.scripts, v.scripts_len,
		    v.managed, v.signkey) == -1)
			conn_fail(x->c, "cannot send INVENTORY");
		else
			conn_shutdown(x->c);
		return;
	}
	if (msg->hdr.type == IPC_HS_PROOF) {
		struct privsep_proof	 r;
		struct cw_conn		*x;

		if (privsep_decode_proof(msg->payload, msg->hdr.len, &r,
		    &why) == -1) {
			log_warnx("supervisor: bad HS_PROOF: %s", why);
			return;
		}
		if (r.request & CW_TICKET_BIT)
			link_proofs(r.request & ~CW_TICKET_BIT, r.ok, r.proof,
			    r.expect, r.why);
		else if ((x = pend_take(w, 0, r.request)) != NULL &&
		    hs_step(x->c, x, hs_server_verdict(&x->hs, r.ok, r.proof,
		    r.why, &x->out), NULL) == -1)
			conn_shutdown(x->c);
		crypto_wipe(&r, sizeof(r));
		return;
	}
	if (msg->hdr.type == IPC_HS_NONCES) {
		const uint8_t	*n;
		size_t		 k, count;

		if (privsep_decode_nonces(msg->payload, msg->hdr.len, &n,
		    &count, &why) == -1) {
			log_warnx("supervisor: bad HS_NONCES: %s", why);
			return;
		}
		w->nonces_asked -= (int)count;
		if (w->nonces_asked < 0)
			w->nonces_asked = 0;
		for (k = 0; k < count && w->nnonces < PRIVSEP_NONCES_MAX; k++)
			memcpy(w->nonces[w->nnonces++], n + k *
			    PROTO_NONCE_LEN, PROTO_NONCE_LEN);
		return;
	}
	if (msg->hdr.type == IPC_RUN_ACCEPTED) {
		struct msg_order_ack	 a;
		struct cw_conn		*x;

		if (privsep_decode_accepted(msg->payload, msg->hdr.len, &a,
		    &why) == -1) {
			log_warnx("supervisor: bad RUN_ACCEPTED: %s", why);
			return;
		}
		if (!a.accepted && (i = asked_index(w, a.job)) != -1)
			w->asked[i] = w->asked[--w->nasked];
		if ((x = pend_take(w, 1, a.job)) == NULL)
			return;
		if (!a.accepted) {
			log_warnx("%s: job %" PRIu64 ": ORDER refused by the "
			    "supervisor: %s", conn_peer(x->c), a.job,
			    a.message);
			conn_fail(x->c, a.message);
			return;
		}
		log_hop("tw-run-asked", a.job);
		log_info("%s: job %" PRIu64 ": running %s", conn_peer(x->c),
		    a.job, x->script);
		if (send_ack(x->c, x, a.job, 1, a.message) == 0)
			return;		/* failed */
		/* Kept for the result, unless it is not a new run. */
		if (a.message[0] != '\0' || await_add(w, x, a.job) == -1)
			conn_shutdown(x->c);
		return;
	}
	if (msg->hdr.type != IPC_RUN_DONE) {
		log_warnx("supervisor: unexpected %s: ignored",
		    ipc_type_str(msg->hdr.type));
		return;
	}
	if (privsep_decode_done(msg->payload, msg->hdr.len, &m, &why) == -1) {
		log_warnx("supervisor: bad RUN_DONE: %s", why);
		return;
	}
	if ((i = asked_index(w, m.job)) != -1)
		w->asked[i] = w->asked[--w->nasked];
	result_store(w, &m);
}

/* The supervisor closed the channel (it stops or restarts us, after
 * sending the results of what it interrupted) or died: stop as on
 * SIGTERM. */
static void
priv_closed(struct ipc_chan *ch, const char *reason, void *arg)
{
	struct cw	*w = arg;

	log_debug("supervisor: channel %s: stopping", reason);
	w->stopping = 1;
	spool_make_durable(w);
	_exit(0);
}

static int
send_ack(struct conn *c, struct cw_conn *x, uint64_t job, int accepted,
    const char *message)
{
	struct msg_order_ack	ack;

	memset(&ack, 0, sizeof(ack));
	ack.job = job;
	ack.accepted = accepted ? 1 : 0;
	strlcpy(ack.message, message, sizeof(ack.message));
	if (proto_encode_order_ack(&x->out, &ack) == -1 ||
	    link_send(c, &x->out) == -1) {
		conn_fail(c, "cannot send ORDER_ACK");
		return 0;
	}
	return -1;	/* close once flushed */
}

/* 1 if dir has a file name (not through a symlink). */
static int
managed_exists(const char *dir, const char *name)
{
	char		path[OCTO_PATH_MAX + PROTO_SCRIPT_NAME_MAX + 2];
	struct stat	st;

	return (size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) <
	    sizeof(path) && lstat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int
order(struct conn *c, struct cw_conn *x, const struct wire_frame *f)
{
	struct cw		*w = x->cw;
	struct msg_order	 o;
	struct run_params	 p;
	const char		*why = "malformed ORDER";
	char			 err[512], msg[PROTO_MESSAGE_MAX];
	char			 pdir[OCTO_PATH_MAX];
	uint8_t			 pub[PROTO_SIGN_PUB_LEN];

	x->purpose = 0;		/* one order per connection */
	if (proto_decode_order(f, &o, &why) == -1) {
		log_warnx("%s: bad ORDER: %s", conn_peer(c), why);
		conn_fail(c, why);
		return 0;
	}
	/* With privilege separation the supervisor checks the MAC (it has
	 * the key), before it runs anything. */
	if (w->priv == NULL && !proto_order_mac_ok(w->e.key, w->e.id, &o,
	    x->exporter)) {
		log_warnx("%s: job %" PRIu64 ": ORDER refused: bad MAC (not "
		    "made by the brain for this connection, or changed on its "
		    "way)", conn_peer(c), o.job);
		conn_fail(c, "bad ORDER MAC");
		return 0;
	}
	log_hop("tw-order-in", o.job);
	if (job_running(w, o.job) || spool_exists(w->conf->spool_dir, o.job)) {
		log_info("%s: job %" PRIu64 " (%s) ordered again: already %s",
		    conn_peer(c), o.job, o.script, job_running(w, o.job) ?
		    "running" : "done, waiting for delivery");
		return send_ack(c, x, o.job, 1, "already accepted");
	}
	/* A managed script is checked at the run (with privilege
	 * separation by the supervisor: this process may not read
	 * managed_scripts_dir). */
	if (!(w->conf->managed_scripts && proto_script_name_valid(o.script) &&
	    (w->priv != NULL || managed_exists(w->conf->managed_scripts_dir,
	    o.script))) && run_check_script(w->conf->scripts_dir, o.script,
	    err, sizeof(err)) == -1) {
		log_warnx("%s: job %" PRIu64 ": unknown script \"%s\" (%s): "
		    "not run", conn_peer(c), o.job, o.script, err);
		snprintf(msg, sizeof(msg), "unknown script %s", o.script);
		return send_ack(c, x, o.job, 0, msg);
	}
	if (jobs_running(w) >= RUN_CONCURRENT_MAX) {
		log_warnx("%s: job %" PRIu64 ": %d scripts running already: "
		    "refused", conn_peer(c), o.job, RUN_CONCURRENT_MAX);
		return send_ack(c, x, o.job, 0, "too many scripts running");
	}
	memset(&p, 0, sizeof(p));
	p.scripts_dir = w->conf->scripts_dir;
	p.script = o.script;
	p.sha256 = o.script_sha256;
	p.managed_dir = w->conf->managed_scripts ?
	    w->conf->managed_scripts_dir : NULL;
	if (p.managed_dir != NULL && managed_pin_dir(w->conf, pdir,
	    sizeof(pdir)) == 0 && managed_pin_load(pdir, pub, err,
	    sizeof(err)) == 1)
		p.sign_pub = pub;
	p.timeout_ms = w->conf->script_timeout * 1000;
	p.output_max = (size_t)w->conf->output_max;
	if (w->priv != NULL) {
		/* Answered once the supervisor checked the MAC. */
		strlcpy(x->script, o.script, sizeof(x->script));
		if (pend_add_run(w, x, o.job) == -1 || priv_run(w, &o,
		    x->exporter, err, sizeof(err)) == -1) {
			pend_forget(w, x);
			log_warnx("%s: job %" PRIu64 ": cannot run %s: %s",
			    conn_peer(c), o.job, o.script, "cannot ask the "
			    "supervisor");
			snprintf(msg, sizeof(msg), "cannot run %s", o.script);
			return send_ack(c, x, o.job, 0, msg);
		}
		return 0;
	}
	if (run_start(w->base, o.job, &p, run_done, w, err, sizeof(err)) ==
	    -1) {
		log_warnx("%s: job %" PRIu64 ": cannot run %s: %s",
		    conn_peer(c), o.job, o.script, err);
		snprintf(msg, sizeof(msg), "cannot run %s", o.script);
		return send_ack(c, x, o.job, 0, msg);
	}
	log_hop("tw-run-asked", o.job);
	log_info("%s: job %" PRIu64 ": running %s", conn_peer(c), o.job,
	    o.script);
	if (send_ack(c, x, o.job, 1, "") == 0)
		return 0;	/* failed */
	return await_add(w, x, o.job) == 0 ? 0 : -1;
}

/* ---- results back on the order's connection (issue 18) ----------------- */

static struct cw_conn *
await_find(struct cw *w, uint64_t job)
{
	int	i;

	for (i = 0; i < RUN_CONCURRENT_MAX; i++)
		if (w->await[i] != NULL && w->await[i]->result_job == job)
			return w->await[i];
	return NULL;
}

/* Keep x for job's result: 0, or -1 (no room: close it). */
static int
await_add(struct cw *w, struct cw_conn *x, uint64_t job)
{
	int	i;

	for (i = 0; i < RUN_CONCURRENT_MAX; i++)
		if (w->await[i] == NULL) {
			w->await[i] = x;
			x->result_job = job;
			x->result_sent = 0;
			return 0;
		}
	return -1;
}

static void
await_drop(struct cw *w, struct cw_conn *x)
{
	int	i;

	for (i = 0; i < RUN_CONCURRENT_MAX; i++)
		if (w->await[i] == x)
			w->await[i] = NULL;
	x->result_job = 0;
	x->result_sent = 0;
}

/* The RESULT on its order's connection if the brain still holds it: 1,
 * or 0 (deliver it over 6001). It is spooled already. */
static int
await_send(struct cw *w, const struct msg_result *m)
{
	struct cw_conn	*x;
	struct buf	 b;
	int		 rc;

	if ((x = await_find(w, m->job)) == NULL || x->result_sent ||
	    x->c == NULL)
		return 0;
	buf_init(&b, WIRE_HDR_LEN + WIRE_PAYLOAD_MAX);
	rc = link_result_frame(&w->e, m, &b) == 0 && link_send(x->c, &b) == 0;
	buf_free(&b);
	if (!rc) {
		await_drop(w, x);
		conn_shutdown(x->c);
		return 0;
	}
	x->result_sent = 1;
	log_hop("tw-result-sent", m->job);
	return 1;
}

/* A frame on an order's connection kept for the result: its RESULT_ACK,
 * after the RESULT. Anything else: delivered over 6001 instead. */
static int
await_frame(struct conn *c, struct cw_conn *x, const struct wire_frame *f)
{
	struct cw		*w = x->cw;
	struct msg_result_ack	 ack;
	uint64_t		 job = x->result_job;
	const char		*why = "unexpected message";
	char			 msg[256];
	int			 sent = x->result_sent;

	await_drop(w, x);
	if (f->type == WIRE_ERROR) {
		proto_decode_error(f, msg, sizeof(msg));
		why = msg;
	} else if (sent && proto_decode_result_ack(f, &ack, &why) == 0 &&
	    ack.job == job) {
		delivered(w, job, ack.status == RESULT_ACK_REFUSED ? -1 : 1,
		    ack.reason, conn_peer(c));
		return -1;	/* done */
	} else if (sent && f->type == WIRE_RESULT_ACK)
		why = "a RESULT_ACK for another job";
	log_warnx("%s: job %" PRIu64 ": %s on the order's connection: the "
	    "result goes over %s", conn_peer(c), job, why, w->commander_peer);
	if (sent)
		deliver_schedule(w, 0);
	if (f->type == WIRE_ERROR)
		return -1;
	conn_fail(c, why);
	return 0;
}

/* ---- requests the supervisor answers ----------------------------------- */

static int
pend_slot(struct cw *w, struct cw_conn *x, int run, uint64_t id)
{
	int	i;

	for (i = 0; i < CW_PENDING_MAX; i++)
		if (w->pend[i].x == NULL) {
			w->pend[i].id = id;
			w->pend[i].run = run;
			w->pend[i].x = x;
			x->waiting = 1;
			return 0;
		}
	return -1;
}

static int
pend_add(struct cw *w, struct cw_conn *x, uint64_t *id)
{
	if (pend_slot(w, x, 0, w->next_req + 1) == -1)
		return -1;
	*id = ++w->next_req;
	return 0;
}

/* A connection waits for the RUN_ACCEPTED of job. */
static int
pend_add_run(struct cw *w, struct cw_conn *x, uint64_t job)
{
	return pend_slot(w, x, 1, job);
}

static struct cw_conn *
pend_take(struct cw *w, int run, uint64_t id)
{
	struct cw_conn	*x;
	int		 i;

	for (i = 0; i < CW_PENDING_MAX; i++)
		if (w->pend[i].x != NULL && w->pend[i].run == run &&
		    w->pend[i].id == id) {
			x = w->pend[i].x;
			w->pend[i].x = NULL;
			x->waiting = 0;
			return x;
		}
	return NULL;
}

static void
pend_forget(struct cw *w, struct cw_conn *x)
{
	int	i;

	for (i = 0; i < CW_PENDING_MAX; i++)
		if (w->pend[i].x == x)
			w->pend[i].x = NULL;
}

/* ---- managed scripts (PURPOSE_SCRIPT) ----------------------------------- */

static void
send_script_ack(struct conn *c, struct cw_conn *x,
    const struct msg_script_ack *ack)
{
	if (proto_encode_script_ack(&x->out, ack) == -1 ||
	    link_send(c, &x->out) == -1)
		conn_fail(c, "cannot send SCRIPT_ACK");
}

static int
script_frame(struct conn *c, struct cw_conn *x, const struct wire_frame *f)
{
	struct cw			*w = x->cw;
	struct msg_script_ack		 ack;
	struct privsep_script_req	 r;

	if (x->waiting) {
		log_warnx("%s: %s before the last one's SCRIPT_ACK",
		    conn_peer(c), wire_type_str(f->type));
		conn_fail(c, "one script message at a time");
		return 0;
	}
	if (f->type != WIRE_SIGNKEY && f->type != WIRE_SCRIPT_PUT &&
	    f->type != WIRE_SCRIPT_DELETE) {
		log_warnx("%s: unexpected %s on a script connection",
		    conn_peer(c), wire_type_str(f->type));
		conn_fail(c, "unexpected frame");
		return 0;
	}
	if (w->priv == NULL) {
		managed_frame(w->conf, conn_peer(c), w->e.id, w->e.key, f,
		    x->exporter, &ack);
		send_script_ack(c, x, &ack);
		return 0;
	}
	memset(&r, 0, sizeof(r));
	r.type = f->type;
	r.frame = f->payload;
	r.frame_len = f->len;
	memcpy(r.exporter, x->exporter, sizeof(r.exporter));
	if (pend_add(w, x, &r.request) == -1) {
		conn_fail(c, "too busy");
		return 0;
	}
	buf_reset(&w->req);
	if (privsep_encode_script_req(&w->req, &r) == -1 ||
	    ipc_send(w->priv, IPC_SCRIPT_REQUEST, 0, w->req.data,
	    w->req.len) == -1) {
		pend_forget(w, x);
		conn_fail(c, "cannot ask the supervisor");
	}
	return 0;
}

/* ---- the keepalive's answer ------------------------------------------- */

/* Our facts, with what the brain needs to manage scripts here. */
static void
facts_of(struct cw *w, int managed, const char *signkey, char *out,
    size_t outlen)
{
	json_t	*o;
	char	*s;

	tentacle_facts(w->conf, out, outlen);
	if ((o = json_loads(out, 0, NULL)) == NULL)
		return;
	json_object_set_new(o, "managed_scripts", json_boolean(managed));
	json_object_set_new(o, "script_signing_key", json_string(signkey));
	if ((s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII)) != NULL &&
	    strlen(s) < outlen)
		strlcpy(out, s, outlen);
	free(s);
	json_decref(o);
}

static int
inventory_send(struct conn *c, struct cw *w, struct buf *out,
    const char *scripts, size_t scripts_len, int managed,
    const char *signkey)
{
	struct msg_inventory	*m;
	int			 rc;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		return -1;
	facts_of(w, managed, signkey, m->facts, sizeof(m->facts));
	m->scripts = scripts;
	m->scripts_len = scripts_len;
	rc = proto_encode_inventory(out, m);
	free(m);
	if (rc == 0)
		rc = link_send(c, out);
	return rc;
}

static int
inventory(struct conn *c, struct cw *w, struct buf *out)
{
	struct stat		 st, mst;
	uint8_t			 pub[PROTO_SIGN_PUB_LEN];
	char			 err[512], *json, key[2 * PROTO_SIGN_PUB_LEN + 1];
	char			 pdir[OCTO_PATH_MAX];
	const char		*mdir = w->conf->managed_scripts ?
				    w->conf->managed_scripts_dir : NULL;
	int			 mchanged = 0;

	if (stat(w->conf->scripts_dir, &st) == -1) {
		if (w->inv_dir_ok || w->inv_scripts == NULL)
			log_warnx("scripts_dir %s: %s", w->conf->scripts_dir,
			    strerror(errno));
		w->inv_dir_ok = 0;
		free(w->inv_scripts);
		w->inv_scripts = NULL;
	} else if ((mdir != NULL && stat(mdir, &mst) == 0 &&
	    (mchanged = mst.st_mtim.tv_sec != w->inv_mmtime.tv_sec ||
	    mst.st_mtim.tv_nsec != w->inv_mmtime.tv_nsec)) ||
	    w->inv_scripts == NULL || !w->inv_dir_ok ||
	    st.st_mtim.tv_sec != w->inv_mtime.tv_sec ||
	    st.st_mtim.tv_nsec != w->inv_mtime.tv_nsec) {
		if (mchanged)
			w->inv_mmtime = mst.st_mtim;
		if (inventory_scan_all(w->conf->scripts_dir, mdir, &json, err,
		    sizeof(err)) == -1)
			log_warnx("%s", err);
		else {
			free(w->inv_scripts);
			w->inv_scripts = json;
			w->inv_mtime = st.st_mtim;
			w->inv_dir_ok = 1;
			log_debug("scripts_dir %s: inventory rebuilt",
			    w->conf->scripts_dir);
		}
	}
	key[0] = '\0';
	if (managed_pin_dir(w->conf, pdir, sizeof(pdir)) == 0 &&
	    managed_pin_load(pdir, pub, err, sizeof(err)) == 1)
		hex_encode(pub, sizeof(pub), key);
	json = w->inv_scripts != NULL ? w->inv_scripts : "[]";
	return inventory_send(c, w, out, json, strlen(json), mdir != NULL,
	    key);
}

/* With privilege separation the supervisor scans the scripts: ask it,
 * answer when it does (priv_msg). */
static int
inventory_ask(struct conn *c, struct cw_conn *x)
{
	struct cw	*w = x->cw;
	uint64_t	 id;

	if (pend_add(w, x, &id) == -1)
		return -1;
	buf_reset(&w->req);
	if (privsep_encode_inventory_ask(&w->req, id) == -1 ||
	    ipc_send(w->priv, IPC_INVENTORY_ASK, 0, w->req.data, w->req.len) ==
	    -1) {
		pend_forget(w, x);
		return -1;
	}
	return 0;
}

/* ---- delivery of spooled results -------------------------------------- */

static void
deliver_schedule(struct cw *w, int delay)
{
	struct timeval	tv = { delay, 0 };

	if (w->ev_deliver == NULL || w->delivering)
		return;
	/* A pending backoff stays: the brain was not there a moment ago. */
	if (delay == 0 && evtimer_pending(w->ev_deliver, NULL) &&
	    w->retry_delay > TENTACLE_RETRY_MIN)
		return;
	evtimer_add(w->ev_deliver, &tv);
}

/* What waits in the spool must now survive a power cut. */
static void
spool_make_durable(struct cw *w)
{
	char	err[1024];

	if (!w->unsynced)
		return;
	if (spool_sync(w->conf->spool_dir, err, sizeof(err)) == -1)
		log_warnx("%s", err);
	else
		w->unsynced = 0;
}

static void
deliver_failed(struct cw *w, const char *why)
{
	spool_make_durable(w);
	log_warnx("brain %s: job %" PRIu64 ": result not delivered: %s; "
	    "next try in %d s", w->commander_peer, w->delivering_job, why,
	    w->retry_delay);
	deliver_schedule(w, w->retry_delay);
	w->retry_delay *= 2;
	if (w->retry_delay > w->conf->retry_max)
		w->retry_delay = (int)w->conf->retry_max;
}

/* The brain answered job's result (from peer): stored (ok 1) or refused
 * for good (-1, with why): out of the spool either way. */
static void
delivered(struct cw *w, uint64_t job, int ok, const char *why,
    const char *peer)
{
	char	err[1024];

	if (ok == -1) {
		/* Refused for good: kept aside, never sent again. */
		log_warnx("brain %s: job %" PRIu64 ": result refused by the "
		    "brain: %s; moved to %s/" SPOOL_REJECTED_DIR "/, not sent "
		    "again", peer, job, why, w->conf->spool_dir);
		if (spool_reject(w->conf->spool_dir, job, err,
		    sizeof(err)) == -1)
			log_warnx("%s", err);
	} else {
		log_hop("tw-delivered", job);
		log_info("brain %s: job %" PRIu64 ": result delivered", peer,
		    job);
		if (spool_remove(w->conf->spool_dir, job, err,
		    sizeof(err)) == -1)
			log_warnx("%s", err);
	}
	w->retry_delay = TENTACLE_RETRY_MIN;
	deliver_schedule(w, 0);
}

static void
deliver_done(int ok, const char *why, void *arg)
{
	struct cw	*w = arg;

	w->delivering = 0;
	if (!ok) {
		deliver_failed(w, why);
		return;
	}
	delivered(w, w->delivering_job, ok, why, w->commander_peer);
}

static void
deliver_cb(evutil_socket_t fd, short events, void *arg)
{
	struct cw		*w = arg;
	struct spool_result	 res;
	uint64_t		*jobs;
	char			 err[1024];
	int			 n, i, rc;

	if (w->delivering)
		return;
	if ((jobs = calloc(SPOOL_LIST_MAX, sizeof(*jobs))) == NULL)
		return;
	if ((n = spool_list(w->conf->spool_dir, jobs, SPOOL_LIST_MAX, err,
	    sizeof(err))) == -1) {
		log_warnx("%s", err);
		free(jobs);
		return;
	}
	for (i = 0; i < n; i++) {
		/* On its way back on its order's connection. */
		if (await_find(w, jobs[i]) != NULL)
			continue;
		rc = spool_load(w->conf->spool_dir, jobs[i], &w->spool_data,
		    &res, err, sizeof(err));
		if (rc == 1)
			continue;
		if (rc == -1) {
			log_warnx("%s", err);
			continue;
		}
		w->delivering_job = jobs[i];
		if (brain_deliver(w->base, w->client, w->conf, &w->e, &res.r,
		    (int)w->conf->io_timeout, deliver_done, w, err,
		    sizeof(err)) == -1) {
			buf_reset(&w->spool_data);
			deliver_failed(w, err);
			free(jobs);
			return;
		}
		w->delivering = 1;
		log_hop("tw-deliver-start", jobs[i]);
		log_debug("brain %s: delivering job %" PRIu64,
		    w->commander_peer, jobs[i]);
		buf_reset(&w->spool_data);
		break;
	}
	free(jobs);
}

static int
served(uint8_t purpose)
{
	return purpose == PURPOSE_PING || purpose == PURPOSE_ORDER ||
	    purpose == PURPOSE_SCRIPT;
}

/* HS_PROOF_ASK for a handshake with these inputs: 0, or -1. */
static int
proof_ask(struct cw *w, uint64_t request, enum hs_role role,
    const struct hs_inputs *in, const uint8_t *peer_proof)
{
	struct privsep_proof_ask a;
	int			 rc;

	memset(&a, 0, sizeof(a));
	a.request = request;
	a.role = (uint8_t)role;
	a.purpose = in->purpose;
	a.id = in->id;
	memcpy(a.nonce_c, in->nonce_c, sizeof(a.nonce_c));
	memcpy(a.nonce_s, in->nonce_s, sizeof(a.nonce_s));
	memcpy(a.exporter, in->exporter, sizeof(a.exporter));
	if (peer_proof != NULL)
		memcpy(a.peer_proof, peer_proof, sizeof(a.peer_proof));
	buf_reset(&w->req);
	rc = privsep_encode_proof_ask(&w->req, &a) == -1 || ipc_send(w->priv,
	    IPC_HS_PROOF_ASK, 0, w->req.data, w->req.len) == -1 ? -1 : 0;
	crypto_wipe(&a, sizeof(a));
	return rc;
}

/* Ask the supervisor to check the brain's proof and make ours (it has
 * the key): hs_step() follows when it answers (priv_msg). */
static int
proof_ask_server(struct cw *w, struct cw_conn *x)
{
	struct hs_inputs	in;
	uint64_t		id;
	int			rc;

	if (pend_add(w, x, &id) == -1)
		return -1;
	hs_inputs(&x->hs, &in);
	if ((rc = proof_ask(w, id, HS_SERVER, &in, x->hs.peer_proof)) == -1)
		pend_forget(w, x);
	crypto_wipe(&in, sizeof(in));
	return rc;
}

/* A client handshake's proofs (link.c), from the supervisor. */
static int
cw_prover(uint64_t ticket, const struct hs_inputs *in, void *arg)
{
	if (ticket & CW_TICKET_BIT)
		return -1;
	return proof_ask(arg, ticket | CW_TICKET_BIT, HS_CLIENT, in, NULL);
}

static int
cw_frame(struct conn *c, const struct wire_frame *f, void *state)
{
	struct cw_conn		*x = state;
	struct cw		*w = x->cw;
	enum hs_result		 r;

	x->c = c;
	if (x->done) {
		if (x->result_job != 0)
			return await_frame(c, x, f);
		if (x->purpose == PURPOSE_ORDER)
			return order(c, x, f);
		if (x->purpose == PURPOSE_SCRIPT)
			return script_frame(c, x, f);
		conn_fail(c, "unexpected frame");
		return 0;
	}
	if (x->waiting) {
		refuse(c, x, "a frame before the handshake was checked");
		return 0;
	}
	r = hs_input(&x->hs, f, &x->out);
	/* An ID that is not ours is refused at once, before any proof. */
	if (r == HS_AGAIN && x->hs.id != 0 && x->hs.id != w->e.id) {
		refuse(c, x, "unknown tentacle ID");
		return 0;
	}
	if (r == HS_NEED_CHECK && w->priv != NULL) {
		if (x->hs.id != w->e.id)
			r = hs_server_key(&x->hs, NULL, &x->out);
		else {
			if (proof_ask_server(w, x) == -1)
				refuse(c, x, "cannot ask the supervisor");
			return 0;
		}
	} else if (r == HS_NEED_CHECK)
		r = hs_server_key(&x->hs, x->hs.id == w->e.id ? w->e.key :
		    NULL, &x->out);
	return hs_step(c, x, r, f);
}

/* The handshake's next step (f: the frame that led to it, or NULL when
 * the supervisor's verdict did): cw_frame()'s return value. */
static int
hs_step(struct conn *c, struct cw_conn *x, enum hs_result r,
    const struct wire_frame *f)
{
	struct cw	*w = x->cw;
	uint8_t		 purpose;

	switch (r) {
	case HS_AGAIN:
		if (!served(x->hs.purpose)) {
			refuse(c, x, "purpose not served on the command port");
			return 0;
		}
		if (link_send(c, &x->out) == -1)
			conn_fail(c, "cannot send");
		return 0;
	case HS_ENROL:
		refuse(c, x, "already enrolled");
		return 0;
	case HS_FAIL:
		if (f != NULL && f->type == WIRE_ERROR) {
			char	msg[256], id[32];

			proto_decode_error(f, msg, sizeof(msg));
			log_warnx("%s: the brain gave up (%s): %s",
			    conn_peer(c), claimed(&x->hs, id, sizeof(id)),
			    msg);
			return -1;
		}
		refuse(c, x, x->hs.error ? x->hs.error : "handshake failed");
		return 0;
	case HS_DONE:
		break;
	default:
		refuse(c, x, "unexpected handshake step");
		return 0;
	}
	x->done = 1;
	conn_authenticated(c);
	purpose = x->purpose = x->hs.purpose;
	hs_wipe(&x->hs);
	log_info("%s: brain authenticated (%s)", conn_peer(c),
	    proto_purpose_str(purpose));
	if (purpose == PURPOSE_ORDER || purpose == PURPOSE_SCRIPT) {
		/* AUTH_OK, then wait for the ORDER / the script frames. */
		if (link_send(c, &x->out) == -1)
			conn_fail(c, "cannot send");
		return 0;
	}
	if (w->priv != NULL) {
		/* AUTH_OK now, the INVENTORY once the supervisor gave it. */
		if (link_send(c, &x->out) == -1 || inventory_ask(c, x) == -1)
			conn_fail(c, "cannot send INVENTORY");
		return 0;
	}
	if (link_send(c, &x->out) == -1 || inventory(c, w, &x->out) == -1) {
		conn_fail(c, "cannot send INVENTORY");
		return 0;
	}
	return -1;	/* close once flushed */
}

static void
cw_closed(struct conn *c, const char *reason, void *state)
{
	struct cw_conn	*x = state;

	if (x == NULL)
		return;
	pend_forget(x->cw, x);
	if (x->result_job != 0) {
		/* A RESULT sent and not acknowledged: over 6001, now. */
		if (x->result_sent)
			deliver_schedule(x->cw, 0);
		await_drop(x->cw, x);
	}
	hs_wipe(&x->hs);
	buf_free(&x->out);
	free(x);
}

/* ---- polls of a pending tentacle ---------------------------------------- */

static void
poll_schedule(struct cw *w, int delay)
{
	struct timeval	tv = { delay, 0 };

	if (w->ev_poll != NULL)
		evtimer_add(w->ev_poll, &tv);
}

static void
poll_done(int ok, const struct msg_status *st, const char *why, void *arg)
{
	struct cw	*w = arg;
	struct enrolment old;
	char		 err[1024];

	w->polling = 0;
	if (!ok) {
		log_warnx("brain %s: status poll failed (ID %" PRIu64 "): %s; "
		    "next in %lld s", w->brain_peer, w->e.id, why,
		    w->conf->poll_interval);
		w->poll_failed = 1;
		poll_schedule(w, (int)w->conf->poll_interval);
		return;
	}
	if (w->poll_failed)
		log_info("brain %s: status poll works again", w->brain_peer);
	w->poll_failed = 0;
	if (st->enrolment == w->e.status) {
		log_debug("brain %s: still %s", w->brain_peer,
		    proto_enrolment_str(st->enrolment));
		poll_schedule(w, (int)w->conf->poll_interval);
		return;
	}
	if (w->priv != NULL) {
		/* The supervisor writes the enrolment (root's file). */
		buf_reset(&w->req);
		if (privsep_encode_u8(&w->req, st->enrolment,
		    ENROLMENT_REJECTED) == -1 || ipc_send(w->priv,
		    IPC_STATUS_SET, 0, w->req.data, w->req.len) == -1) {
			log_warnx("brain %s: the enrolment is now %s, but the "
			    "supervisor cannot be told", w->brain_peer,
			    proto_enrolment_str(st->enrolment));
			poll_schedule(w, (int)w->conf->poll_interval);
			return;
		}
		w->e.status = st->enrolment;
		goto stored;
	}
	old = w->e;
	w->e.status = st->enrolment;
	if (enrolment_store(w->path, &w->e, err, sizeof(err)) == -1) {
		log_warnx("brain %s: the enrolment is now %s, but it cannot "
		    "be stored: %s", w->brain_peer,
		    proto_enrolment_str(st->enrolment), err);
		w->e.status = old.status;
		enrolment_wipe(&old);
		poll_schedule(w, (int)w->conf->poll_interval);
		return;
	}
	enrolment_wipe(&old);
 stored:
	switch (w->e.status) {
	case ENROLMENT_ACCEPTED:
		log_info("tentacle ID %" PRIu64 " approved by the brain",
		    w->e.id);
		break;
	case ENROLMENT_REJECTED:
		log_warnx("tentacle ID %" PRIu64 " rejected by the brain; run "
		    "octoTentacle --reenrol to enrol again", w->e.id);
		break;
	default:
		log_info("tentacle ID %" PRIu64 " is %s again", w->e.id,
		    proto_enrolment_str(w->e.status));
		poll_schedule(w, (int)w->conf->poll_interval);
	}
}

static void
poll_cb(evutil_socket_t fd, short events, void *arg)
{
	struct cw	*w = arg;
	char		 err[512];

	if (w->polling || w->e.status != ENROLMENT_PENDING)
		return;
	log_debug("brain %s: asking for the enrolment status",
	    w->brain_peer);
	if (brain_request(w->base, w->client, w->conf, &w->e, PURPOSE_POLL,
	    w->e.brain_registerer_port, (int)w->conf->io_timeout, poll_done,
	    w, err, sizeof(err)) == -1) {
		log_warnx("brain %s: status poll failed: %s; next in %lld s",
		    w->brain_peer, err, w->conf->poll_interval);
		poll_schedule(w, (int)w->conf->poll_interval);
		return;
	}
	w->polling = 1;
}

/* ---- the child ------------------------------------------------------------ */

/* Stopping: what is spooled, and what run_interrupt_all() spools now,
 * is written durably. */
static void
w_stop_sync(void)
{
	cw.stopping = 1;
	spool_make_durable(&cw);
}

/* SIGTERM (a stop, a reload, the supervisor gone): what runs is killed
 * and spooled as interrupted, so that the brain learns of it once we are
 * back, then the loop ends. */
static void
cw_sigterm(evutil_socket_t fd, short events, void *arg)
{
	struct signalfd_siginfo	si;
	int			n = run_count();

	if (read(fd, &si, sizeof(si)) != (ssize_t)sizeof(si))
		return;
	if (n > 0)
		log_warnx("SIGTERM: stopping; %d script%s interrupted", n,
		    n == 1 ? "" : "s");
	w_stop_sync();
	run_interrupt_all("the tentacle stopped");
	/* As SIGTERM's default action did before: nothing else to save
	 * (the spool is on disk), connections simply drop. */
	_exit(0);
}

/* At start-up: read every spooled result once, so that a corrupt file is
 * reported and moved aside now, not when its turn comes. */
static void
spool_check(struct cw *w)
{
	struct spool_result	 res;
	uint64_t		*jobs;
	char			 err[1024];
	int			 n, i;

	if ((jobs = calloc(SPOOL_LIST_MAX, sizeof(*jobs))) == NULL)
		return;
	if ((n = spool_list(w->conf->spool_dir, jobs, SPOOL_LIST_MAX, err,
	    sizeof(err))) == -1)
		log_warnx("%s", err);
	for (i = 0; i < n; i++)
		if (spool_load(w->conf->spool_dir, jobs[i], &w->spool_data,
		    &res, err, sizeof(err)) == -1)
			log_warnx("%s", err);
	if (n > 0) {
		log_info("%s: %d result%s to deliver", w->conf->spool_dir, n,
		    n == 1 ? "" : "s");
		w->unsynced = 1;	/* a crash may have left them so */
	}
	buf_reset(&w->spool_data);
	free(jobs);
}

static int
cw_start(struct event_base *base, void *arg)
{
	struct cw	*w = arg;
	sigset_t	 term;
	char		 err[1024];
	int		 rc;

	w->base = base;
	if (enrolment_path(w->conf->state_dir, w->path, sizeof(w->path)) ==
	    -1) {
		log_warnx("state_dir too long");
		return -1;
	}
	if (w->given_e != NULL) {
		/* Read by the supervisor before the drop, without the key
		 * (private/ is root's). */
		w->e = *w->given_e;
		enrolment_wipe(w->given_e);
		w->given_e = NULL;
	} else if ((rc = enrolment_load(w->path, &w->e, err, sizeof(err))) !=
	    0) {
		if (rc == 1)
			log_warnx("%s: gone: not enrolled", w->path);
		else
			log_warnx("%s", err);
		return -1;
	}
	snprintf(w->brain_peer, sizeof(w->brain_peer),
	    strchr(w->e.brain_address, ':') ? "[%s]:%d" : "%s:%d",
	    w->e.brain_address, w->e.brain_registerer_port);
	listener_reserve(w->e.brain_address);
	log_info("tentacle ID %" PRIu64 " of brain %s (%s)", w->e.id,
	    w->e.brain_address, proto_enrolment_str(w->e.status));
	if (w->e.status == ENROLMENT_REJECTED)
		log_warnx("tentacle ID %" PRIu64 " was rejected by the brain; "
		    "run octoTentacle --reenrol to enrol again", w->e.id);
	snprintf(w->commander_peer, sizeof(w->commander_peer),
	    strchr(w->e.brain_address, ':') ? "[%s]:%d" : "%s:%d",
	    w->e.brain_address, w->e.brain_commander_port);
	if (w->given_client != NULL) {
		w->client = w->given_client;
		w->given_client = NULL;
	} else if ((w->client = link_client_ctx(w->conf, err, sizeof(err))) ==
	    NULL) {
		log_warnx("%s", err);
		return -1;
	}
	if (w->priv_fd != -1) {
		buf_init(&w->req, IPC_PAYLOAD_MAX);
		if ((w->priv = ipc_chan_new(base, w->priv_fd, priv_msg,
		    priv_closed, w)) == NULL) {
			log_warnx("cannot watch the supervisor's channel");
			return -1;
		}
		w->priv_fd = -1;
		/* The supervisor sent the first nonces already. */
		link_set_prover(cw_prover, w);
	}
	if (spool_init(w->conf->spool_dir, err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		return -1;
	}
	buf_init(&w->spool_data, SPOOL_FILE_MAX);
	w->retry_delay = TENTACLE_RETRY_MIN;
	if ((w->ev_deliver = evtimer_new(base, deliver_cb, w)) == NULL) {
		log_warnx("evtimer_new failed");
		return -1;
	}
	/* A signalfd, not evsignal: the supervisor's event base, inherited
	 * through fork(), holds libevent's signal slot. */
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &term, NULL) == -1 ||
	    (w->sigterm_fd = signalfd(-1, &term, SFD_NONBLOCK |
	    SFD_CLOEXEC)) == -1 || (w->ev_sigterm = event_new(base,
	    w->sigterm_fd, EV_READ | EV_PERSIST, cw_sigterm, w)) == NULL ||
	    event_add(w->ev_sigterm, NULL) == -1) {
		log_warn("cannot watch SIGTERM");
		return -1;
	}
	/* Whatever the spool holds from before: deliver it now. */
	spool_check(w);
	deliver_schedule(w, 0);
	if (w->e.status != ENROLMENT_PENDING)
		return 0;
	if ((w->ev_poll = evtimer_new(base, poll_cb, w)) == NULL) {
		log_warnx("evtimer_new failed");
		return -1;
	}
	poll_schedule(w, 0);
	return 0;
}

static void
cw_stop(void *arg)
{
	struct cw	*w = arg;

	if (w->ev_poll != NULL)
		event_free(w->ev_poll);
	w->ev_poll = NULL;
	if (w->ev_deliver != NULL)
		event_free(w->ev_deliver);
	w->ev_deliver = NULL;
	if (w->ev_sigterm != NULL)
		event_free(w->ev_sigterm);
	w->ev_sigterm = NULL;
	if (w->sigterm_fd != -1)
		close(w->sigterm_fd);
	w->sigterm_fd = -1;
	run_abort_all();
	if (w->priv != NULL)
		ipc_chan_free(w->priv);
	w->priv = NULL;
	buf_free(&w->req);
	buf_free(&w->spool_data);
	free(w->inv_scripts);
	w->inv_scripts = NULL;
	SSL_CTX_free(w->client);
	w->client = NULL;
	enrolment_wipe(&w->e);
}

int
commandworker_main(struct tentacle_child *ch)
{
	static const struct tentacle_proto	proto = {
		cw_start,
		cw_established,
		cw_frame,
		cw_closed,
		cw_stop,
		&cw,
	};

	memset(&cw, 0, sizeof(cw));
	cw.conf = ch->conf;
	cw.sigterm_fd = -1;
	cw.given_client = ch->client;
	cw.priv_fd = ch->priv_fd;
	cw.given_e = ch->enrolment;
	return listener_run(ch, &proto);
}
