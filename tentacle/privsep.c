/*
 * Privilege separation (privsep.h): the message codecs, and the
 * supervisor's side, which runs the scripts the command worker asks for.
 */
#include <sys/queue.h>
#include <sys/stat.h>
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
#include "handshake.h"
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
    const char *sha256, const uint8_t *mac, const uint8_t *exporter)
{
	struct packer	p;

	if (sha256 == NULL)
		sha256 = "";
	if (job == 0 || job > INT64_MAX || !proto_script_name_valid(script) ||
	    !sha_ok(sha256) || mac == NULL || exporter == NULL)
		return -1;
	pack_init(&p, out);
	pack_u64(&p, job);
	pack_str(&p, script);
	pack_str(&p, sha256);
	pack_bytes(&p, mac, PROTO_MAC_LEN);
	pack_bytes(&p, exporter, PROTO_EXPORTER_LEN);
	return pack_error(&p) ? -1 : 0;
}

int
privsep_decode_request(const uint8_t *buf, size_t len, uint64_t *job,
    char *script, size_t scriptlen, char sha256[OCTO_FPR_HEX_LEN + 1],
    uint8_t mac[PROTO_MAC_LEN], uint8_t exporter[PROTO_EXPORTER_LEN],
    const char **why)
{
	struct unpacker	u;

	unpack_init(&u, buf, len);
	if (unpack_u64(&u, job) == -1 || unpack_str(&u, script, scriptlen) ==
	    -1 || unpack_str(&u, sha256, OCTO_FPR_HEX_LEN + 1) == -1 ||
	    unpack_fixed(&u, mac, PROTO_MAC_LEN) == -1 ||
	    unpack_fixed(&u, exporter, PROTO_EXPORTER_LEN) == -1 ||
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
privsep_encode_accepted(struct buf *out, const struct msg_order_ack *a)
{
	struct packer	p;

	if (a->job == 0 || a->job > INT64_MAX || a->accepted > 1 ||
	    memchr(a->message, '\0', sizeof(a->message)) == NULL ||
	    !proto_printable(a->message))
		return -1;
	pack_init(&p, out);
	pack_u64(&p, a->job);
	pack_u8(&p, a->accepted);
	pack_str(&p, a->message);
	return pack_error(&p) ? -1 : 0;
}

int
privsep_decode_accepted(const uint8_t *buf, size_t len,
    struct msg_order_ack *a, const char **why)
{
	struct unpacker	u;

	memset(a, 0, sizeof(*a));
	unpack_init(&u, buf, len);
	if (unpack_u64(&u, &a->job) == -1 || unpack_u8(&u, &a->accepted) ==
	    -1 || unpack_str(&u, a->message, sizeof(a->message)) == -1 ||
	    unpack_end(&u) == -1 || a->job == 0 || a->job > INT64_MAX ||
	    a->accepted > 1 || !proto_printable(a->message)) {
		memset(a, 0, sizeof(*a));
		*why = "malformed RUN_ACCEPTED";
		return -1;
	}
	return 0;
}

int
privsep_encode_enrolment(struct buf *out, const struct privsep_enrolment *v)
{
	struct packer	p;
	char		text[ENROLMENT_FILE_MAX];
	int		n, rc;

	if ((n = enrolment_format(&v->e, text, sizeof(text))) == -1)
		return -1;
	pack_init(&p, out);
	pack_bytes(&p, text, (size_t)n);
	pack_bytes(&p, v->brain_pub, sizeof(v->brain_pub));
	pack_bytes(&p, v->wrapped_key, sizeof(v->wrapped_key));
	pack_bytes(&p, v->exporter, sizeof(v->exporter));
	rc = pack_error(&p) ? -1 : 0;
	crypto_wipe(text, sizeof(text));
	return rc;
}

int
privsep_decode_enrolment(const uint8_t *buf, size_t len,
    struct privsep_enrolment *v, const char **why)
{
	struct unpacker	 u;
	const uint8_t	*text;
	size_t		 n;
	char		 err[256];

	memset(v, 0, sizeof(*v));
	unpack_init(&u, buf, len);
	if (unpack_bytes_ref(&u, &text, &n, ENROLMENT_FILE_MAX) == -1 ||
	    unpack_fixed(&u, v->brain_pub, sizeof(v->brain_pub)) == -1 ||
	    unpack_fixed(&u, v->wrapped_key, sizeof(v->wrapped_key)) == -1 ||
	    unpack_fixed(&u, v->exporter, sizeof(v->exporter)) == -1 ||
	    unpack_end(&u) == -1) {
		memset(v, 0, sizeof(*v));
		*why = "malformed ENROLMENT_SET";
		return -1;
	}
	if (enrolment_parse((const char *)text, n, &v->e, err, sizeof(err)) ==
	    -1) {
		memset(v, 0, sizeof(*v));
		*why = "ENROLMENT_SET: not an enrolment";
		return -1;
	}
	return 0;
}

int
privsep_encode_u8(struct buf *out, uint8_t v, uint8_t max)
{
	struct packer	p;

	if (v > max)
		return -1;
	pack_init(&p, out);
	pack_u8(&p, v);
	return pack_error(&p) ? -1 : 0;
}

int
privsep_decode_u8(const uint8_t *buf, size_t len, uint8_t *v, uint8_t max,
    const char **why)
{
	struct unpacker	u;

	unpack_init(&u, buf, len);
	if (unpack_u8(&u, v) == -1 || unpack_end(&u) == -1 || *v > max) {
		*v = 0;
		*why = "malformed message (one byte expected)";
		return -1;
	}
	return 0;
}

static int
proof_ask_valid(const struct privsep_proof_ask *a)
{
	return a->request != 0 && (a->role == HS_CLIENT ||
	    a->role == HS_SERVER) && a->id != 0 && a->id <= INT64_MAX &&
	    a->purpose != PURPOSE_ENROL;
}

int
privsep_encode_proof_ask(struct buf *out, const struct privsep_proof_ask *a)
{
	struct packer	p;

	if (!proof_ask_valid(a))
		return -1;
	pack_init(&p, out);
	pack_u64(&p, a->request);
	pack_u8(&p, a->role);
	pack_u8(&p, a->purpose);
	pack_u64(&p, a->id);
	pack_bytes(&p, a->nonce_c, sizeof(a->nonce_c));
	pack_bytes(&p, a->nonce_s, sizeof(a->nonce_s));
	pack_bytes(&p, a->exporter, sizeof(a->exporter));
	pack_bytes(&p, a->peer_proof, sizeof(a->peer_proof));
	return pack_error(&p) ? -1 : 0;
}

int
privsep_decode_proof_ask(const uint8_t *buf, size_t len,
    struct privsep_proof_ask *a, const char **why)
{
	struct unpacker	u;

	memset(a, 0, sizeof(*a));
	unpack_init(&u, buf, len);
	if (unpack_u64(&u, &a->request) == -1 || unpack_u8(&u, &a->role) ==
	    -1 || unpack_u8(&u, &a->purpose) == -1 || unpack_u64(&u, &a->id) ==
	    -1 || unpack_fixed(&u, a->nonce_c, sizeof(a->nonce_c)) == -1 ||
	    unpack_fixed(&u, a->nonce_s, sizeof(a->nonce_s)) == -1 ||
	    unpack_fixed(&u, a->exporter, sizeof(a->exporter)) == -1 ||
	    unpack_fixed(&u, a->peer_proof, sizeof(a->peer_proof)) == -1 ||
	    unpack_end(&u) == -1) {
		memset(a, 0, sizeof(*a));
		*why = "malformed HS_PROOF_ASK";
		return -1;
	}
	if (!proof_ask_valid(a)) {
		memset(a, 0, sizeof(*a));
		*why = "bad HS_PROOF_ASK";
		return -1;
	}
	return 0;
}

int
privsep_encode_nonces(struct buf *out, const uint8_t *nonces, size_t count)
{
	struct packer	p;

	if (count == 0 || count > PRIVSEP_NONCES_MAX || nonces == NULL)
		return -1;
	pack_init(&p, out);
	pack_bytes(&p, nonces, count * PROTO_NONCE_LEN);
	return pack_error(&p) ? -1 : 0;
}

int
privsep_decode_nonces(const uint8_t *buf, size_t len, const uint8_t **nonces,
    size_t *count, const char **why)
{
	struct unpacker	u;
	size_t		n;

	unpack_init(&u, buf, len);
	if (unpack_bytes_ref(&u, nonces, &n, PRIVSEP_NONCES_MAX *
	    PROTO_NONCE_LEN) == -1 || unpack_end(&u) == -1 || n == 0 ||
	    n % PROTO_NONCE_LEN != 0) {
		*nonces = NULL;
		*count = 0;
		*why = "malformed HS_NONCES";
		return -1;
	}
	*count = n / PROTO_NONCE_LEN;
	return 0;
}

static int
proof_valid(const struct privsep_proof *r)
{
	return r->request != 0 && r->ok <= 1 &&
	    memchr(r->why, '\0', sizeof(r->why)) != NULL &&
	    proto_printable(r->why) && (r->ok || r->why[0] != '\0');
}

int
privsep_encode_proof(struct buf *out, const struct privsep_proof *r)
{
	struct packer	p;

	if (!proof_valid(r))
		return -1;
	pack_init(&p, out);
	pack_u64(&p, r->request);
	pack_u8(&p, r->ok);
	pack_bytes(&p, r->proof, sizeof(r->proof));
	pack_bytes(&p, r->expect, sizeof(r->expect));
	pack_str(&p, r->why);
	return pack_error(&p) ? -1 : 0;
}

int
privsep_decode_proof(const uint8_t *buf, size_t len, struct privsep_proof *r,
    const char **why)
{
	struct unpacker	u;

	memset(r, 0, sizeof(*r));
	unpack_init(&u, buf, len);
	if (unpack_u64(&u, &r->request) == -1 || unpack_u8(&u, &r->ok) ==
	    -1 || unpack_fixed(&u, r->proof, sizeof(r->proof)) == -1 ||
	    unpack_fixed(&u, r->expect, sizeof(r->expect)) == -1 ||
	    unpack_str(&u, r->why, sizeof(r->why)) == -1 ||
	    unpack_end(&u) == -1 || !proof_valid(r)) {
		memset(r, 0, sizeof(*r));
		*why = "malformed HS_PROOF";
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
	pack_bytes(&p, m->mac, sizeof(m->mac));
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
	    unpack_fixed(&u, m->mac, sizeof(m->mac)) == -1 ||
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

/* Server nonces given to the worker and not used yet (each good once),
 * and the sessions whose ORDER handshake we checked, which may each carry
 * one order (then forgotten). Beyond these, the oldest go. */
#define PS_NONCES_MAX	(4 * PRIVSEP_NONCES_MAX)
#define PS_SEEN_MAX	64
_Static_assert(PROTO_NONCE_LEN == 32 && PROTO_EXPORTER_LEN == 32,
    "set_take and set_put hold 32-byte values");

static struct {
	struct event_base		*base;
	const struct tentacle_conf	*conf;
	struct ipc_chan			*chan;
	pid_t				 pid;		/* its worker */
	int				 is_register;	/* its role */
	TAILQ_HEAD(, queued)		 queue;
	int				 nqueued;
	int				 init;
	/* The enrolment (with the key), from state_dir/private. */
	struct enrolment		 e;
	int				 have_e;
	uint8_t				 nonce[PS_NONCES_MAX][PROTO_NONCE_LEN];
	int				 nonce_live[PS_NONCES_MAX];
	int				 nonce_next;
	uint8_t				 seen[PS_SEEN_MAX][PROTO_EXPORTER_LEN];
	int				 seen_live[PS_SEEN_MAX];
	int				 seen_next;
	/* The SCRIPT sessions we checked (their frames are checked
	 * against them). */
	uint8_t				 sess[PS_SEEN_MAX][PROTO_EXPORTER_LEN];
	int				 sess_live[PS_SEEN_MAX];
	int				 sess_next;
	/* The register's enrolment key pair (privsep_enrol_keypair). */
	uint8_t				 enrol_priv[X25519_LEN];
	uint8_t				 enrol_pub[PROTO_PUB_LEN];
	int				 have_enrol;
} ps;

/* The enrolment, read again (root's file): 0, or -1 (logged). */
static int
enrolment_reload(void)
{
	char	path[OCTO_PATH_MAX + 32], err[1024];
	int	rc;

	enrolment_wipe(&ps.e);
	ps.have_e = 0;
	if (enrolment_path(ps.conf->state_dir, path, sizeof(path)) == -1)
		return -1;
	if ((rc = enrolment_load(path, &ps.e, err, sizeof(err))) != 0) {
		if (rc == -1)
			log_warnx("%s", err);
		enrolment_wipe(&ps.e);
		return -1;
	}
	ps.have_e = 1;
	return 0;
}

/* The result's MAC, for the brain's maestro: made here, where the key
 * is, so that a worker cannot forge a result (m->mac). */
static void
result_sign(struct msg_result *m)
{
	if (!ps.have_e || proto_result_mac(ps.e.key, ps.e.id, m, m->mac) ==
	    -1)
		memset(m->mac, 0, sizeof(m->mac));
}

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
	result_sign(&m);
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
send_accepted(uint64_t job, int accepted, const char *message)
{
	struct msg_order_ack	a;
	struct buf		b;

	memset(&a, 0, sizeof(a));
	a.job = job;
	a.accepted = accepted ? 1 : 0;
	strlcpy(a.message, message, sizeof(a.message));
	buf_init(&b, IPC_PAYLOAD_MAX);
	if (privsep_encode_accepted(&b, &a) == 0)
		(void)ipc_send(ps.chan, IPC_RUN_ACCEPTED, 0, b.data, b.len);
	buf_free(&b);
}

/* Take what is in set (one of n): 1 if it was there (now forgotten). */
static int
set_take(uint8_t (*set)[32], int *live, int n, const uint8_t *v)
{
	int	i, hit = 0;

	for (i = 0; i < n; i++)
		if (live[i] && crypto_equal(set[i], v, 32)) {
			live[i] = 0;
			crypto_wipe(set[i], 32);
			hit = 1;
		}
	return hit;
}

static int
set_has(uint8_t (*set)[32], const int *live, int n, const uint8_t *v)
{
	int	i, hit = 0;

	for (i = 0; i < n; i++)
		if (live[i] && crypto_equal(set[i], v, 32))
			hit = 1;
	return hit;
}

static void
set_put(uint8_t (*set)[32], int *live, int n, int *next, const uint8_t *v)
{
	memcpy(set[*next], v, 32);
	live[*next] = 1;
	*next = (*next + 1) % n;
}

/* Fresh server nonces for the worker's next handshakes. */
static void
nonces_give(int n)
{
	uint8_t		 out[PRIVSEP_NONCES_MAX * PROTO_NONCE_LEN];
	struct buf	 b;
	int		 i;

	if (crypto_random(out, (size_t)n * PROTO_NONCE_LEN) == -1) {
		log_warnx("no randomness for the handshakes' nonces");
		return;
	}
	for (i = 0; i < n; i++)
		set_put(ps.nonce, ps.nonce_live, PS_NONCES_MAX,
		    &ps.nonce_next, out + i * PROTO_NONCE_LEN);
	buf_init(&b, IPC_PAYLOAD_MAX);
	if (privsep_encode_nonces(&b, out, n) == 0)
		(void)ipc_send(ps.chan, IPC_HS_NONCES, 0, b.data, b.len);
	buf_free(&b);
}

static void
nonce_ask(const struct ipc_msg *msg)
{
	uint8_t		 n;
	const char	*why;

	if (privsep_decode_u8(msg->payload, msg->hdr.len, &n,
	    PRIVSEP_NONCES_MAX, &why) == -1 || n == 0) {
		chan_close("malformed HS_NONCE_ASK", 1);
		return;
	}
	nonces_give(n);
}

static void
run_request(const struct ipc_msg *msg)
{
	struct run_params	 p;
	struct msg_order	 o;
	uint64_t		 job;
	char			 script[PROTO_SCRIPT_NAME_MAX];
	char			 sha256[OCTO_FPR_HEX_LEN + 1];
	char			 err[512], pdir[OCTO_PATH_MAX];
	uint8_t			 pub[PROTO_SIGN_PUB_LEN];
	uint8_t			 exporter[PROTO_EXPORTER_LEN];
	const char		*why;

	memset(&o, 0, sizeof(o));
	if (privsep_decode_request(msg->payload, msg->hdr.len, &job, script,
	    sizeof(script), sha256, o.mac, exporter, &why) == -1) {
		chan_close(why, 1);
		return;
	}
	/* The brain's maestro made the order for this session: checked
	 * here, with the key the worker does not have. */
	o.job = job;
	strlcpy(o.script, script, sizeof(o.script));
	strlcpy(o.script_sha256, sha256, sizeof(o.script_sha256));
	if (!ps.have_e || !proto_order_mac_ok(ps.e.key, ps.e.id, &o,
	    exporter)) {
		log_warnx("job %" PRIu64 ": ORDER refused: bad MAC (not made "
		    "by the brain for that connection, or changed on its way)",
		    job);
		send_accepted(job, 0, "bad ORDER MAC");
		return;
	}
	/* One order per session whose handshake we checked: a recorded
	 * order (its session gone, or its order run) is not run again. */
	if (!set_take(ps.seen, ps.seen_live, PS_SEEN_MAX, exporter)) {
		log_warnx("job %" PRIu64 ": ORDER refused: not on a connection "
		    "the supervisor authenticated, or replayed", job);
		send_accepted(job, 0, "replayed ORDER");
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
		send_accepted(job, 1, "already accepted");
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
		send_accepted(job, 1, "");
		memset(&m, 0, sizeof(m));
		m.job = job;
		m.outcome = OUTCOME_FAILED;
		m.exit_status = -1;
		m.started_at_ms = run_now_ms();
		snprintf(out, sizeof(out), "cannot run %s: %s\n", script, err);
		m.output = (const uint8_t *)out;
		m.output_len = strlen(out);
		result_sign(&m);
		buf_init(&b, IPC_PAYLOAD_MAX);
		if (privsep_encode_done(&b, &m) == 0)
			(void)ipc_send(ps.chan, IPC_RUN_DONE, 0, b.data, b.len);
		buf_free(&b);
		return;
	}
	send_accepted(job, 1, "");
	log_debug("job %" PRIu64 ": running %s for the command worker", job,
	    script);
}

/* A handshake's proofs, for the purposes this worker's port serves (as
 * server: PING, ORDER, SCRIPT on 7001) or its connections need (as
 * client: RESULT to the commander; POLL to the registerer while the
 * enrolment is pending). As server the client's proof is checked first:
 * ours is made only for a brain that proved itself. */
static void
proof_ask(const struct ipc_msg *msg)
{
	struct privsep_proof_ask a;
	struct privsep_proof	 r;
	struct hs_inputs	 in;
	struct buf		 b;
	uint8_t			 pc[PROTO_MAC_LEN];
	const char		*why;
	int			 allowed;

	if (privsep_decode_proof_ask(msg->payload, msg->hdr.len, &a, &why) ==
	    -1) {
		chan_close(why, 1);
		return;
	}
	if (a.role == HS_SERVER)
		allowed = a.purpose == PURPOSE_PING ||
		    a.purpose == PURPOSE_ORDER || a.purpose == PURPOSE_SCRIPT;
	else
		allowed = a.purpose == PURPOSE_RESULT ||
		    (a.purpose == PURPOSE_POLL && ps.have_e &&
		    ps.e.status == ENROLMENT_PENDING);
	if (!allowed) {
		chan_close("a proof for a purpose it does not serve", 1);
		return;
	}
	if (a.role == HS_CLIENT && (!ps.have_e || a.id != ps.e.id)) {
		chan_close("a client proof for another ID", 1);
		return;
	}
	/* As server, with a nonce of ours, once: a recorded handshake
	 * played again is not checked again. */
	if (a.role == HS_SERVER && !set_take(ps.nonce, ps.nonce_live,
	    PS_NONCES_MAX, a.nonce_s)) {
		chan_close("a handshake with a nonce we did not give", 1);
		return;
	}
	memset(&r, 0, sizeof(r));
	r.request = a.request;
	memset(&in, 0, sizeof(in));
	in.purpose = a.purpose;
	in.id = a.id;
	memcpy(in.nonce_c, a.nonce_c, sizeof(in.nonce_c));
	memcpy(in.nonce_s, a.nonce_s, sizeof(in.nonce_s));
	memcpy(in.exporter, a.exporter, sizeof(in.exporter));
	if (!ps.have_e)
		strlcpy(r.why, "not enrolled", sizeof(r.why));
	else if (a.role == HS_SERVER && a.id != ps.e.id)
		strlcpy(r.why, "unknown tentacle ID", sizeof(r.why));
	else if (a.role == HS_SERVER && (hs_proof(ps.e.key, HS_CLIENT, &in,
	    pc) == -1 || !crypto_equal(pc, a.peer_proof, sizeof(pc))))
		strlcpy(r.why, "bad proof", sizeof(r.why));
	else if (a.role == HS_SERVER) {
		if (hs_proof(ps.e.key, HS_SERVER, &in, r.proof) == 0) {
			r.ok = 1;
			if (a.purpose == PURPOSE_ORDER)
				set_put(ps.seen, ps.seen_live, PS_SEEN_MAX,
				    &ps.seen_next, a.exporter);
			else if (a.purpose == PURPOSE_SCRIPT)
				set_put(ps.sess, ps.sess_live, PS_SEEN_MAX,
				    &ps.sess_next, a.exporter);
		} else
			strlcpy(r.why, "cannot make the proof", sizeof(r.why));
	} else if (hs_proof(ps.e.key, HS_CLIENT, &in, r.proof) == 0 &&
	    hs_proof(ps.e.key, HS_SERVER, &in, r.expect) == 0)
		r.ok = 1;
	else
		strlcpy(r.why, "cannot make the proof", sizeof(r.why));
	crypto_wipe(pc, sizeof(pc));
	crypto_wipe(&in, sizeof(in));
	buf_init(&b, IPC_PAYLOAD_MAX);
	if (privsep_encode_proof(&b, &r) == 0)
		(void)ipc_send(ps.chan, IPC_HS_PROOF, 0, b.data, b.len);
	buf_free(&b);
	crypto_wipe(&r, sizeof(r));
}

/* The status a pending tentacle's poll brought back: written here. */
static void
status_set(const struct ipc_msg *msg)
{
	char		 path[OCTO_PATH_MAX + 32], err[1024];
	uint8_t		 st, old;
	const char	*why;

	if (privsep_decode_u8(msg->payload, msg->hdr.len, &st,
	    ENROLMENT_REJECTED, &why) == -1) {
		chan_close(why, 1);
		return;
	}
	if (!ps.have_e || ps.e.status != ENROLMENT_PENDING) {
		chan_close("a status change while not pending", 1);
		return;
	}
	if (st == ps.e.status)
		return;
	old = ps.e.status;
	ps.e.status = st;
	if (enrolment_path(ps.conf->state_dir, path, sizeof(path)) == -1 ||
	    enrolment_store(path, &ps.e, err, sizeof(err)) == -1) {
		log_warnx("the enrolment is now %s, but it cannot be stored: "
		    "%s", proto_enrolment_str(st), err);
		ps.e.status = old;
	}
}

/* The register's enrolment: checked, written (0600, in the directory
 * only root writes), its signing key pinned if none is. */
static void
enrolment_set(const struct ipc_msg *msg)
{
	struct privsep_enrolment v;
	struct msg_enrol_reply	 m;
	struct stat		 st;
	char			 path[OCTO_PATH_MAX + 32], err[1024];
	char			 pdir[OCTO_PATH_MAX];
	uint8_t			 pub[PROTO_SIGN_PUB_LEN];
	const char		*why, *tfpr;
	struct buf		 b;
	int			 ok = 0, rc;

	if (privsep_decode_enrolment(msg->payload, msg->hdr.len, &v, &why) ==
	    -1) {
		chan_close(why, 1);
		return;
	}
	if (enrolment_path(ps.conf->state_dir, path, sizeof(path)) == -1 ||
	    lstat(path, &st) == 0) {
		crypto_wipe(&v, sizeof(v));
		chan_close("an enrolment, but we are enrolled already", 1);
		return;
	}
	tfpr = strlen(ps.conf->token) == TENTACLE_TOKEN_LEN ?
	    ps.conf->token + PROTO_TOKEN_SECRET_LEN : NULL;
	if ((ps.conf->brain_fingerprint[0] != '\0' && strcmp(
	    v.e.brain_fingerprint, ps.conf->brain_fingerprint) != 0) ||
	    (tfpr != NULL && strcmp(v.e.brain_fingerprint, tfpr) != 0)) {
		crypto_wipe(&v, sizeof(v));
		chan_close("an enrolment with another brain than ours", 1);
		return;
	}
	/* The key, wrapped by the brain for our key pair and that session
	 * (with the ID, the status and the signing key): unwrapped here,
	 * never seen by the register. */
	memset(&m, 0, sizeof(m));
	m.status = v.e.status;
	m.id = v.e.id;
	memcpy(m.brain_pub, v.brain_pub, sizeof(m.brain_pub));
	memcpy(m.wrapped_key, v.wrapped_key, sizeof(m.wrapped_key));
	m.has_sign_pub = v.e.has_sign_pub;
	memcpy(m.sign_pub, v.e.sign_pub, sizeof(m.sign_pub));
	if (!ps.have_enrol || proto_enrol_unwrap(ps.enrol_priv, ps.enrol_pub,
	    v.exporter, &m, v.e.key) == -1) {
		/* Refused, not hostile: what the brain (or a relay) sent. */
		log_warnx("enrolment as tentacle ID %" PRIu64 " refused: its "
		    "key is not wrapped for this tentacle and that connection",
		    v.e.id);
		crypto_wipe(&v, sizeof(v));
		crypto_wipe(&m, sizeof(m));
		ok = PRIVSEP_STORED_NOT_WRAPPED;
		goto reply;
	}
	crypto_wipe(&m, sizeof(m));
	crypto_wipe(ps.enrol_priv, sizeof(ps.enrol_priv));
	ps.have_enrol = 0;
	if (enrolment_store(path, &v.e, err, sizeof(err)) == -1)
		log_warnx("cannot store the enrolment as tentacle ID %" PRIu64
		    ": %s", v.e.id, err);
	else {
		ok = 1;
		log_info("enrolment as tentacle ID %" PRIu64 " stored in %s",
		    v.e.id, path);
		/* Trust on first use: the brain's key as the enrolment
		 * gave it, unless one is pinned already. */
		if (v.e.has_sign_pub && managed_pin_dir(ps.conf, pdir,
		    sizeof(pdir)) == 0 && managed_pin_load(pdir, pub, err,
		    sizeof(err)) == 0) {
			if ((rc = managed_pin_store(pdir, v.e.sign_pub, err,
			    sizeof(err))) == -1)
				log_warnx("%s", err);
			else if (rc == 1)
				log_info("script-signing key of the enrolment "
				    "pinned");
		}
	}
	crypto_wipe(&v, sizeof(v));
 reply:
	buf_init(&b, 16);
	if (privsep_encode_u8(&b, (uint8_t)ok, PRIVSEP_STORED_NOT_WRAPPED) ==
	    0)
		(void)ipc_send(ps.chan, IPC_ENROLMENT_STORED, 0, b.data,
		    b.len);
	buf_free(&b);
}

/* A frame of a PURPOSE_SCRIPT connection, checked and done here: the
 * worker may neither write managed_scripts_dir nor pin a key. */
static void
script_request(const struct ipc_msg *msg)
{
	struct privsep_script_req r;
	struct msg_script_ack	 ack;
	struct wire_frame	 f;
	struct buf		 b;
	const char		*why;

	if (privsep_decode_script_req(msg->payload, msg->hdr.len, &r, &why) ==
	    -1) {
		chan_close(why, 1);
		return;
	}
	f.type = r.type;
	f.len = (uint32_t)r.frame_len;
	f.payload = r.frame;
	/* Only on a session whose handshake we checked: a frame recorded
	 * from another is not taken. */
	if (!set_has(ps.sess, ps.sess_live, PS_SEEN_MAX, r.exporter)) {
		log_warnx("%s refused: not on a connection the supervisor "
		    "authenticated", wire_type_str(r.type));
		memset(&ack, 0, sizeof(ack));
		ack.status = SCRIPT_ACK_REFUSED;
		strlcpy(ack.message, "not on a connection the supervisor "
		    "authenticated", sizeof(ack.message));
	} else {
		/* SIGNKEY's MAC: with the key of the enrolment (root's
		 * file). */
		if (r.type == WIRE_SIGNKEY && !ps.have_e)
			log_warnx("SIGNKEY: no enrolment to check it with");
		managed_frame(ps.conf, "brain (via the command worker)",
		    ps.have_e ? ps.e.id : 0, ps.have_e ? ps.e.key : NULL, &f,
		    r.exporter, &ack);
	}
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

	if (ps.is_register) {
		if (msg->hdr.type == IPC_ENROLMENT_SET)
			enrolment_set(msg);
		else {
			snprintf(why, sizeof(why), "%s not allowed from the "
			    "register", ipc_type_str(msg->hdr.type));
			chan_close(why, 1);
		}
		return;
	}
	switch (msg->hdr.type) {
	case IPC_HS_PROOF_ASK:
		proof_ask(msg);
		return;
	case IPC_STATUS_SET:
		status_set(msg);
		return;
	case IPC_HS_NONCE_ASK:
		nonce_ask(msg);
		return;
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
	log_debug("%s: channel %s", ps.is_register ? "register" :
	    "command worker", reason);
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
		log_warnx("%s (pid %ld): %s: killing it", ps.is_register ?
		    "register" : "command worker", (long)ps.pid, why);
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
privsep_attach(int fd, pid_t pid, int is_register)
{
	struct queued	*q;

	if (ps.chan != NULL)
		chan_close("a new child", 0);
	ps.pid = pid;
	ps.is_register = is_register;
	/* What the last worker was given is not the new one's. */
	crypto_wipe(ps.seen, sizeof(ps.seen));
	memset(ps.seen_live, 0, sizeof(ps.seen_live));
	crypto_wipe(ps.sess, sizeof(ps.sess));
	memset(ps.sess_live, 0, sizeof(ps.sess_live));
	crypto_wipe(ps.nonce, sizeof(ps.nonce));
	memset(ps.nonce_live, 0, sizeof(ps.nonce_live));
	if (!is_register)
		(void)enrolment_reload();
	if ((ps.chan = ipc_chan_new(ps.base, fd, chan_msg, chan_closed,
	    NULL)) == NULL)
		return -1;
	if (is_register)
		return 0;
	/* Its first nonces, there before its first handshake needs one. */
	nonces_give(PRIVSEP_NONCES_MAX);
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

void
privsep_forget(void)
{
	enrolment_wipe(&ps.e);
	ps.have_e = 0;
	crypto_wipe(ps.seen, sizeof(ps.seen));
	memset(ps.seen_live, 0, sizeof(ps.seen_live));
	crypto_wipe(ps.sess, sizeof(ps.sess));
	memset(ps.sess_live, 0, sizeof(ps.sess_live));
	crypto_wipe(ps.nonce, sizeof(ps.nonce));
	memset(ps.nonce_live, 0, sizeof(ps.nonce_live));
	crypto_wipe(ps.enrol_priv, sizeof(ps.enrol_priv));
	ps.have_enrol = 0;
}

int
privsep_enrol_keypair(uint8_t pub[PROTO_PUB_LEN])
{
	crypto_wipe(ps.enrol_priv, sizeof(ps.enrol_priv));
	ps.have_enrol = 0;
	if (crypto_x25519_keypair(ps.enrol_priv, ps.enrol_pub) == -1)
		return -1;
	memcpy(pub, ps.enrol_pub, PROTO_PUB_LEN);
	ps.have_enrol = 1;
	return 0;
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
	privsep_forget();
}
