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

#include "ipc.h"
#include "log.h"
#include "pack.h"
#include "privsep.h"
#include "run.h"
#include "tentacle.h"

/* ---- codecs ------------------------------------------------------------- */

int
privsep_encode_request(struct buf *out, uint64_t job, const char *script)
{
	struct packer	p;

	if (job == 0 || job > INT64_MAX || !proto_script_name_valid(script))
		return -1;
	pack_init(&p, out);
	pack_u64(&p, job);
	pack_str(&p, script);
	return pack_error(&p) ? -1 : 0;
}

int
privsep_decode_request(const uint8_t *buf, size_t len, uint64_t *job,
    char *script, size_t scriptlen, const char **why)
{
	struct unpacker	u;

	unpack_init(&u, buf, len);
	if (unpack_u64(&u, job) == -1 || unpack_str(&u, script, scriptlen) ==
	    -1 || unpack_end(&u) == -1) {
		*why = "malformed RUN_REQUEST";
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
	    -1 || unpack_end(&u) == -1) {
		*why = "malformed RUN_DONE";
		return -1;
	}
	m->exit_status = (int32_t)status;
	m->signal = (int32_t)sig;
	m->output = out;
	return proto_result_valid(m, why) ? 0 : -1;
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
	char			 err[512];
	const char		*why;

	if (privsep_decode_request(msg->payload, msg->hdr.len, &job, script,
	    sizeof(script), &why) == -1) {
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

static void
chan_msg(struct ipc_chan *ch, const struct ipc_msg *msg, void *arg)
{
	char	why[64];

	if (msg->hdr.type != IPC_RUN_REQUEST) {
		snprintf(why, sizeof(why), "%s not allowed",
		    ipc_type_str(msg->hdr.type));
		chan_close(why, 1);
		return;
	}
	run_request(msg);
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
