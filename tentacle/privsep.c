/*
 * Privilege separation (privsep.h): the message codecs, and the
 * supervisor's side, which runs the scripts the command worker asks for.
 */
#include <sys/queue.h>
#include <sys/types.h>

#include <signal.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>
#include <event2/event.h>

#include "crypto.h"
#include "enrolment.h"
#include "inventory.h"
#include "ipc.h"
#include "log.h"
#include "managed.h"
#include "pack.h"
#include "privsep.h"
#include "run.h"
#include "tentacle.h"

/* ---- codecs ------------------------------------------------------------- */

static int
sha_ok(const char *s)
{
	return s[0] == '\0' || proto_fingerprint_valid(s);
}

int
privsep_encode_request(struct buf *out, uint64_t job, const char *script,
    const char *sha256)
{
	struct packer	p;

	if (sha256 == NULL)
		sha256 = "";
	if (job == 0 || job > INT64_MAX || !proto_script_name_valid(script) ||
	    !sha_ok(sha256))
		return -1;
	pack_init(&p, out);
	pack_u64(&p, job);
	pack_str(&p, script);
	pack_str(&p, sha256);
	return pack_error(&p) ? -1 : 0;
}

int
privsep_decode_request(const uint8_t *buf, size_t len, uint64_t *job,
    char *script, size_t scriptlen, char sha256[OCTO_FPR_HEX_LEN + 1],
    const char **why)
{
	struct unpacker	u;

	unpack_init(&u, buf, len);
	if (unpack_u64(&u, job) == -1 || unpack_str(&u, script, scriptlen) ==
	    -1 || unpack_str(&u, sha256, OCTO_FPR_HEX_LEN + 1) == -1 ||
	    unpack_end(&u) == -1) {
		*why = "malformed RUN_REQUEST";
		return -1;
	}
	if (!sha_ok(sha256)) {
		*why = "bad script hash";
		return -1;
	}
	if (*job == 0 || *job > INT64_MAX) {
		*why = "bad job ID";
		return -1;
	}
	if (!proto_script_name_valid(script)) {
		*why = "not a script name";
		return -1;
	}
	return 0;
}

int
privsep_encode_done(struct buf *out, const struct msg_result *m)
{
	struct packer	 p;
	const char	*why;

	if (!proto_result_valid(m, &why) ||
	    (m->output_len > 0 && m->output == NULL))
		return -1;
	pack_init(&p, out);
	pack_u64(&p, m->job);
	pack_u8(&p, m->outcome);
	pack_u32(&p, (uint32_t)m->exit_status);
	pack_u32(&p, (uint32_t)m->signal);
	pack_u64(&p, m->started_at_ms);
	pack_u64(&p, m->duration_ms);
	pack_u8(&p, m->truncated);
	pack_bytes(&p, m->output, m->output_len);
	pack_str(&p, m->sha256);
	return pack_error(&p) ? -1 : 0;
}

int
privsep_decode_done(const uint8_t *buf, size_t len, struct msg_result *m,
    const char **why)
{
	struct unpacker	 u;
	const uint8_t	*out;
	uint32_t	 status, sig;

	memset(m, 0, sizeof(*m));
	unpack_init(&u, buf, len);
	if (unpack_u64(&u, &m->job) == -1 ||
	    unpack_u8(&u, &m->outcome) == -1 ||
	    unpack_u32(&u, &status) == -1 || unpack_u32(&u, &sig) == -1 ||
	    unpack_u64(&u, &m->started_at_ms) == -1 ||
	    unpack_u64(&u, &m->duration_ms) == -1 ||
	    unpack_u8(&u, &m->truncated) == -1 ||
	    unpack_bytes_ref(&u, &out, &m->output_len, PROTO_OUTPUT_MAX) ==
	    -1 || unpack_str(&u, m->sha256, sizeof(m->sha256)) == -1 ||
	    unpack_end(&u) == -1) {
		*why = "malformed RUN_DONE";
		return -1;
	}
	m->exit_status = (int32_t)status;
	m->signal = (int32_t)sig;
	m->output = out;
	return proto_result_valid(m, why) ? 0 : -1;
}

int
privsep_encode_script_req(struct buf *out, const struct privsep_script_req *r)
{
	struct packer	p;

	if (r->request == 0 || (r->type != WIRE_SIGNKEY &&
	    r->type != WIRE_SCRIPT_PUT && r->type != WIRE_SCRIPT_DELETE) ||
	    r->frame_len > WIRE_PAYLOAD_MAX || (r->frame_len > 0 &&
	    r->frame == NULL))
		return -1;
	pack_init(&p, out);
	pack_u64(&p, r->request);
	pack_u8(&p, r->type);
	pack_bytes(&p, r->frame, r->frame_len);
	pack_bytes(&p, r->exporter, sizeof(r->exporter));
	return pack_error(&p) ? -1 : 0;
}

int
privsep_decode_script_req(const uint8_t *buf, size_t len,
    struct privsep_script_req *r, const char **why)
{
	struct unpacker	u;

	memset(r, 0, sizeof(*r));
	unpack_init(&u, buf, len);
	if (unpack_u64(&u, &r->request) == -1 || unpack_u8(&u, &r->type) ==
	    -1 || unpack_bytes_ref(&u, &r->frame, &r->frame_len,
	    WIRE_PAYLOAD_MAX) == -1 || unpack_fixed(&u, r->exporter,
	    sizeof(r->exporter)) == -1 || unpack_end(&u) == -1) {
		memset(r, 0, sizeof(*r));
		*why = "malformed SCRIPT_REQUEST";
		return -1;
	}
	if (r->request == 0 || (r->type != WIRE_SIGNKEY &&
	    r->type != WIRE_SCRIPT_PUT && r->type != WIRE_SCRIPT_DELETE)) {
		memset(r, 0, sizeof(*r));
		*why = "bad SCRIPT_REQUEST";
		return -1;
	}
	return 0;
}

int
privsep_encode_script_done(struct buf *out, uint64_t request,
    const struct msg_script_ack *a)
{
	struct buf	f;
	struct packer	p;
	int		rc = -1;

	if (request == 0)
		return -1;
	buf_init(&f, WIRE_HDR_LEN + 1024);
	if (proto_encode_script_ack(&f, a) == 0) {
		pack_init(&p, out);
		pack_u64(&p, request);
		pack_bytes(&p, f.data + WIRE_HDR_LEN, f.len - WIRE_HDR_LEN);
		rc = pack_error(&p) ? -1 : 0;
	}
	buf_free(&f);
	return rc;
}

int
privsep_decode_script_done(const uint8_t *buf, size_t len,
    uint64_t *request, struct msg_script_ack *a, const char **why)
{
	struct unpacker	 u;
	struct wire_frame f;
	const uint8_t	*fp;
	size_t		 fl;

	unpack_init(&u, buf, len);
	if (unpack_u64(&u, request) == -1 || unpack_bytes_ref(&u, &fp, &fl,
	    1024) == -1 || unpack_end(&u) == -1 || *request == 0) {
		*why = "malformed SCRIPT_DONE";
		return -1;
	}
	f.type = WIRE_SCRIPT_ACK;
	f.len = (uint32_t)fl;
	f.payload = fp;
	return proto_decode_script_ack(&f, a, why);
}

int
privsep_encode_inventory_ask(struct buf *out, uint64_t request)
{
	struct packer	p;

	if (request == 0)
		return -1;
	pack_init(&p, out);
	pack_u64(&p, request);
	return pack_error(&p) ? -1 : 0;
}

int
privsep_decode_inventory_ask(const uint8_t *buf, size_t len,
    uint64_t *request, const char **why)
{
	struct unpacker	u;

	unpack_init(&u, buf, len);
	if (unpack_u64(&u, request) == -1 || unpack_end(&u) == -1 ||
	    *request == 0) {
		*why = "malformed INVENTORY_ASK";
		return -1;
	}
	return 0;
}

static int
inventory_valid(const struct privsep_inventory *v)
{
	size_t	i, n = strlen(v->signkey);

	if (v->request == 0 || v->managed > 1 || (n != 0 &&
	    n != 2 * PROTO_SIGN_PUB_LEN) || v->scripts_len > PROTO_SCRIPTS_MAX ||
	    (v->scripts_len > 0 && v->scripts == NULL))
		return 0;
	for (i = 0; i < n; i++)
		if (!((v->signkey[i] >= '0' && v->signkey[i] <= '9') ||
		    (v->signkey[i] >= 'a' && v->signkey[i] <= 'f')))
			return 0;
	for (i = 0; i < v->scripts_len; i++)
		if (v->scripts[i] < 0x20 || v->scripts[i] > 0x7e)
			return 0;
	return 1;
}

int
privsep_encode_inventory(struct buf *out, const struct privsep_inventory *v)
{
	struct packer	p;

	if (!inventory_valid(v))
		return -1;
	pack_init(&p, out);
	pack_u64(&p, v->request);
	pack_u8(&p, v->managed);
	pack_str(&p, v->signkey);
	pack_bytes(&p, v->scripts, v->scripts_len);
	return pack_error(&p) ? -1 : 0;
}

int
privsep_decode_inventory(const uint8_t *buf, size_t len,
    struct privsep_inventory *v, const char **why)
{
	struct unpacker	 u;
	const uint8_t	*s;

	memset(v, 0, sizeof(*v));
	unpack_init(&u, buf, len);
	if (unpack_u64(&u, &v->request) == -1 || unpack_u8(&u, &v->managed) ==
	    -1 || unpack_str(&u, v->signkey, sizeof(v->signkey)) == -1 ||
	    unpack_bytes_ref(&u, &s, &v->scripts_len, PROTO_SCRIPTS_MAX) ==
	    -1 || unpack_end(&u) == -1) {
		memset(v, 0, sizeof(*v));
		*why = "malformed INVENTORY_SET";
		return -1;
	}
	v->scripts = (const char *)s;
	if (!inventory_valid(v)) {
		memset(v, 0, sizeof(*v));
		*why = "bad INVENTORY_SET";
		return -1;
	}
	return 0;
}

/* ---- the supervisor's side ------------------------------------------- */

struct queued {
	struct buf		 payload;	/* a RUN_DONE's */
	uint64_t		 job;
	TAILQ_ENTRY(queued)	 entry;
};

static struct {
	struct event_base		*base;
	const struct tentacle_conf	*conf;
	struct ipc_chan			*chan;
	pid_t				 pid;		/* its worker */
	TAILQ_HEAD(, queued)		 queue;
	int				 nqueued;
	int				 init;
} ps;

static void	chan_close(const char *why, int hostile);

static int
queued_job(uint64_t job)
{
	struct queued	*q;

	TAILQ_FOREACH(q, &ps.queue, entry)
		if (q->job == job)
			return 1;
	return 0;
}

static void
queue_free(struct queued *q)
{
	TAILQ_REMOVE(&ps.queue, q, entry);
	ps.nqueued--;
	buf_free(&q->payload);
	free(q);
}

/* A run ended: its result goes to the worker, or waits for the next. */
static void
run_done(struct run_result *res, void *arg)
{
	struct msg_result	 m;
	struct queued		*q;

	run_result_msg(res, &m);
	if ((q = calloc(1, sizeof(*q))) == NULL) {
		log_warnx("job %" PRIu64 ": out of memory: result lost", m.job);
		return;
	}
	buf_init(&q->payload, IPC_PAYLOAD_MAX);
	q->job = m.job;
	if (privsep_encode_done(&q->payload, &m) == -1) {
		log_warnx("job %" PRIu64 ": cannot encode the result: lost",
		    m.job);
		buf_free(&q->payload);
		free(q);
		return;
	}
	log_debug("job %" PRIu64 ": finished, result for the command worker",
	    m.job);
	if (ps.chan != NULL && ipc_send(ps.chan, IPC_RUN_DONE, 0,
	    q->payload.data, q->payload.len) == 0) {
		buf_free(&q->payload);
		free(q);
		return;
	}
	if (ps.nqueued >= PRIVSEP_QUEUE_MAX) {
		log_warnx("job %" PRIu64 ": %d results wait for a command "
		    "worker already: the oldest (job %" PRIu64 ") is lost",
		    m.job, ps.nqueued, TAILQ_FIRST(&ps.queue)->job);
		queue_free(TAILQ_FIRST(&ps.queue));
	}
	TAILQ_INSERT_TAIL(&ps.queue, q, entry);
	ps.nqueued++;
}

static void
run_request(const struct ipc_msg *msg)
{
	struct run_params	 p;
	uint64_t		 job;
	char			 script[PROTO_SCRIPT_NAME_MAX];
	char			 sha256[OCTO_FPR_HEX_LEN + 1];
	char			 err[512], pdir[OCTO_PATH_MAX];
	uint8_t			 pub[PROTO_SIGN_PUB_LEN];
	const char		*why;

	if (privsep_decode_request(msg->payload, msg->hdr.len, &job, script,
	    sizeof(script), sha256, &why) == -1) {
		chan_close(why, 1);
		return;
	}
	if (run_active(job)) {
		chan_close("a job already running asked again", 1);
		return;
	}
	if (queued_job(job)) {
		/* It ended while the worker restarted: the result is on
		 * its way to it. */
		log_info("job %" PRIu64 ": asked again: its result waits for "
		    "the command worker", job);
		return;
	}
	if (run_count() >= RUN_CONCURRENT_MAX) {
		chan_close("too many runs at once", 1);
		return;
	}
	memset(&p, 0, sizeof(p));
	p.scripts_dir = ps.conf->scripts_dir;
	p.script = script;
	p.sha256 = sha256;
	p.managed_dir = ps.conf->managed_scripts ?
	    ps.conf->managed_scripts_dir : NULL;
	if (p.managed_dir != NULL && managed_pin_dir(ps.conf, pdir,
	    sizeof(pdir)) == 0 && managed_pin_load(pdir, pub, err,
	    sizeof(err)) == 1)
		p.sign_pub = pub;
	p.timeout_ms = ps.conf->script_timeout * 1000;
	p.output_max = (size_t)ps.conf->output_max;
	/* run_start() checks the script again (a regular executable file
	 * directly in scripts_dir, no symlink): one it may not run is a
	 * FAILED result that says why. */
	if (run_start(ps.base, job, &p, run_done, NULL, err, sizeof(err)) ==
	    -1) {
		struct msg_result	m;
		struct buf		b;
		char			out[600];

		log_warnx("job %" PRIu64 ": cannot run %s: %s", job, script,
		    err);
		memset(&m, 0, sizeof(m));
		m.job = job;
		m.outcome = OUTCOME_FAILED;
		m.exit_status = -1;
		m.started_at_ms = run_now_ms();
		snprintf(out, sizeof(out), "cannot run %s: %s\n", script, err);
		m.output = (const uint8_t *)out;
		m.output_len = strlen(out);
		buf_init(&b, IPC_PAYLOAD_MAX);
		if (privsep_encode_done(&b, &m) == 0)
			(void)ipc_send(ps.chan, IPC_RUN_DONE, 0, b.data, b.len);
		buf_free(&b);
		return;
	}
	log_debug("job %" PRIu64 ": running %s for the command worker", job,
	    script);
}

/* A frame of a PURPOSE_SCRIPT connection, checked and done here: the
 * worker may neither write managed_scripts_dir nor pin a key. */
static void
script_request(const struct ipc_msg *msg)
{
	struct privsep_script_req r;
	struct msg_script_ack	 ack;
	struct wire_frame	 f;
	struct enrolment	 e;
	struct buf		 b;
	char			 path[OCTO_PATH_MAX + 32], err[512];
	const char		*why;
	int			 have = 0;

	if (privsep_decode_script_req(msg->payload, msg->hdr.len, &r, &why) ==
	    -1) {
		chan_close(why, 1);
		return;
	}
	f.type = r.type;
	f.len = (uint32_t)r.frame_len;
	f.payload = r.frame;
	memset(&e, 0, sizeof(e));
	if (r.type == WIRE_SIGNKEY) {
		/* The MAC's key from the state file, not from the worker. */
		if (enrolment_path(ps.conf->state_dir, path, sizeof(path)) ==
		    0 && enrolment_load(path, &e, err, sizeof(err)) == 0)
			have = 1;
		else
			log_warnx("SIGNKEY: no enrolment to check it with");
	}
	managed_frame(ps.conf, "brain (via the command worker)", e.id,
	    have ? e.key : NULL, &f, r.exporter, &ack);
	enrolment_wipe(&e);
	buf_init(&b, IPC_PAYLOAD_MAX);
	if (privsep_encode_script_done(&b, r.request, &ack) == 0)
		(void)ipc_send(ps.chan, IPC_SCRIPT_DONE, 0, b.data, b.len);
	buf_free(&b);
}

/* The inventory of scripts (this process reads managed_scripts_dir). */
static void
inventory_ask(const struct ipc_msg *msg)
{
	struct privsep_inventory v;
	struct buf		 b;
	uint8_t			 pub[PROTO_SIGN_PUB_LEN];
	char			 err[512], *json = NULL, pdir[OCTO_PATH_MAX];
	const char		*why;

	memset(&v, 0, sizeof(v));
	if (privsep_decode_inventory_ask(msg->payload, msg->hdr.len,
	    &v.request, &why) == -1) {
		chan_close(why, 1);
		return;
	}
	v.managed = ps.conf->managed_scripts ? 1 : 0;
	if (managed_pin_dir(ps.conf, pdir, sizeof(pdir)) == 0 &&
	    managed_pin_load(pdir, pub, err, sizeof(err)) == 1)
		hex_encode(pub, sizeof(pub), v.signkey);
	if (inventory_scan_all(ps.conf->scripts_dir, v.managed ?
	    ps.conf->managed_scripts_dir : NULL, &json, err, sizeof(err)) ==
	    -1)
		log_warnx("%s", err);
	v.scripts = json != NULL ? json : "[]";
	v.scripts_len = strlen(v.scripts);
	buf_init(&b, IPC_PAYLOAD_MAX);
	if (privsep_encode_inventory(&b, &v) == 0)
		(void)ipc_send(ps.chan, IPC_INVENTORY_SET, 0, b.data, b.len);
	buf_free(&b);
	free(json);
}

static void
chan_msg(struct ipc_chan *ch, const struct ipc_msg *msg, void *arg)
{
	char	why[64];

	switch (msg->hdr.type) {
	case IPC_RUN_REQUEST:
		run_request(msg);
		return;
	case IPC_SCRIPT_REQUEST:
		script_request(msg);
		return;
	case IPC_INVENTORY_ASK:
		inventory_ask(msg);
		return;
	default:
		snprintf(why, sizeof(why), "%s not allowed",
		    ipc_type_str(msg->hdr.type));
		chan_close(why, 1);
	}
}

static void
chan_closed(struct ipc_chan *ch, const char *reason, void *arg)
{
	log_debug("command worker: channel %s", reason);
	chan_close(reason, 0);
}

/* The worker misbehaved or went away: no more requests from it. What it
 * asked for is interrupted; the results wait for the next worker. */
static void
chan_close(const char *why, int hostile)
{
	struct ipc_chan	*ch = ps.chan;

	if (ch == NULL)
		return;
	ps.chan = NULL;
	if (hostile) {
		/* Hostile or broken: it is killed and restarted. */
		log_warnx("command worker (pid %ld): %s: killing it",
		    (long)ps.pid, why);
		if (ps.pid > 0)
			kill(ps.pid, SIGKILL);
	}
	ipc_chan_free(ch);
	if (run_count() > 0)
		log_warnx("command worker gone: %d script%s interrupted",
		    run_count(), run_count() == 1 ? "" : "s");
	run_interrupt_all("the tentacle stopped");
}

void
privsep_init(struct event_base *base, const struct tentacle_conf *conf)
{
	ps.base = base;
	ps.conf = conf;
	if (!ps.init) {
		TAILQ_INIT(&ps.queue);
		run_sigchld_external();
		ps.init = 1;
	}
}

void
privsep_set_conf(const struct tentacle_conf *conf)
{
	ps.conf = conf;
}

int
privsep_attach(int fd, pid_t pid)
{
	struct queued	*q;

	if (ps.chan != NULL)
		chan_close("a new command worker", 0);
	ps.pid = pid;
	if ((ps.chan = ipc_chan_new(ps.base, fd, chan_msg, chan_closed,
	    NULL)) == NULL)
		return -1;
	while ((q = TAILQ_FIRST(&ps.queue)) != NULL) {
		if (ipc_send(ps.chan, IPC_RUN_DONE, 0, q->payload.data,
		    q->payload.len) == -1)
			break;
		queue_free(q);
	}
	return 0;
}

void
privsep_detach(void)
{
	struct ipc_chan	*ch = ps.chan;

	if (ch == NULL)
		return;
	if (run_count() > 0)
		log_warnx("stopping the command worker; %d script%s "
		    "interrupted", run_count(), run_count() == 1 ? "" : "s");
	/* The results go to this worker before its channel closes. */
	run_interrupt_all("the tentacle stopped");
	ipc_flush(ch);
	ps.chan = NULL;
	ipc_chan_free(ch);
}

int
privsep_attached(void)
{
	return ps.chan != NULL;
}

void
privsep_sigchld(void)
{
	if (ps.init)
		run_sigchld();
}

void
privsep_shutdown(void)
{
	struct queued	*q;

	if (!ps.init)
		return;
	if (ps.chan != NULL)
		privsep_detach();
	run_abort_all();
	while ((q = TAILQ_FIRST(&ps.queue)) != NULL)
		queue_free(q);
}
