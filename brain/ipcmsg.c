/*
 * Encoders and pure decoders of the brain's IPC messages (ipcmsg.h). Each
 * message has one check of its fields, used by its encoder (a child or
 * the maestro never sends what the other end would refuse) and by its
 * decoder after the unpacker read every byte and nothing more.
 */
#include <string.h>

#include <bsd/string.h>

#include "crypto.h"
#include "ipc.h"
#include "ipcmsg.h"
#include "pack.h"

#define printable(s)	proto_printable(s)

void
ipcmsg_text(char *dst, size_t dstsz, const char *src)
{
	size_t	i;

	if (dstsz == 0)
		return;
	strlcpy(dst, src ? src : "", dstsz);
	for (i = 0; dst[i]; i++)
		if (dst[i] < 0x20 || dst[i] > 0x7e)
			dst[i] = '?';
}

static int
id_valid(uint64_t id)
{
	return id != 0 && id <= INT64_MAX;
}

static int
port_valid(uint32_t port)
{
	return port != 0 && port <= 65535;
}

static int
finish(struct unpacker *u, const char **why)
{
	if (unpack_end(u) == -1) {
		*why = "malformed message";
		return -1;
	}
	return 0;
}

/* Check, then pack: the encoders' common shape. */
#define ENCODER(name)							\
int									\
ipcmsg_encode_##name(struct buf *out, const struct ipc_##name *m)	\
{									\
	struct packer	p;						\
	const char	*why;						\
									\
	if (!name##_valid(m, &why))					\
		return -1;						\
	pack_init(&p, out);						\
	fill_##name(&p, m);						\
	return pack_error(&p) ? -1 : 0;					\
}									\
									\
int									\
ipcmsg_send_##name(struct ipc_chan *chan, uint32_t type, uint32_t id,	\
    const struct ipc_##name *m)						\
{									\
	struct buf	b;						\
	int		rc = -1;					\
									\
	buf_init(&b, IPC_PAYLOAD_MAX);					\
	if (chan != NULL && ipcmsg_encode_##name(&b, m) == 0)		\
		rc = ipc_send(chan, type, id, b.data, b.len);		\
	buf_free(&b);		/* wipes it */			\
	return rc;							\
}

/* ---- AUTH_LOGIN ------------------------------------------------------ */

static int
auth_login_valid(const struct ipc_auth_login *m, const char **why)
{
	const char	*c;

	for (c = m->totp; *c >= '0' && *c <= '9'; c++)
		;
	if (!printable(m->client))
		*why = "bad client address";
	else if (m->user[0] == '\0')
		*why = "empty user name";
	else if (*c != '\0')
		*why = "bad TOTP code";
	else
		return 1;
	return 0;
}

static void
fill_auth_login(struct packer *p, const struct ipc_auth_login *m)
{
	pack_str(p, m->client);
	pack_str(p, m->user);
	pack_str(p, m->password);
	pack_str(p, m->totp);
}

ENCODER(auth_login)

int
ipcmsg_decode_auth_login(const uint8_t *b, size_t len,
    struct ipc_auth_login *m, const char **why)
{
	struct unpacker	u;

	memset(m, 0, sizeof(*m));
	unpack_init(&u, b, len);
	unpack_str(&u, m->client, sizeof(m->client));
	unpack_str(&u, m->user, sizeof(m->user));
	unpack_str(&u, m->password, sizeof(m->password));
	unpack_str(&u, m->totp, sizeof(m->totp));
	if (finish(&u, why) == -1 || !auth_login_valid(m, why)) {
		crypto_wipe(m, sizeof(*m));
		return -1;
	}
	return 0;
}

/* ---- LOG_EVENT ------------------------------------------------------- */

static int
log_event_valid(const struct ipc_log_event *m, const char **why)
{
	const char	*k;

	for (k = m->kind; *k; k++)
		if (!((*k >= 'a' && *k <= 'z') || *k == '_'))
			break;
	if (m->kind[0] == '\0' || *k != '\0')
		*why = "bad event kind";
	else if (!printable(m->peer) || !printable(m->detail))
		*why = "bad event text";
	else
		return 1;
	return 0;
}

static void
fill_log_event(struct packer *p, const struct ipc_log_event *m)
{
	pack_str(p, m->kind);
	pack_str(p, m->peer);
	pack_str(p, m->detail);
}

ENCODER(log_event)

int
ipcmsg_decode_log_event(const uint8_t *b, size_t len, struct ipc_log_event *m,
    const char **why)
{
	struct unpacker	u;

	memset(m, 0, sizeof(*m));
	unpack_init(&u, b, len);
	unpack_str(&u, m->kind, sizeof(m->kind));
	unpack_str(&u, m->peer, sizeof(m->peer));
	unpack_str(&u, m->detail, sizeof(m->detail));
	if (finish(&u, why) == -1)
		return -1;
	return log_event_valid(m, why) ? 0 : -1;
}

/* ---- ENROL_REQUEST --------------------------------------------------- */

static int
enrol_request_valid(const struct ipc_enrol_request *m, const char **why)
{
	if (!printable(m->source))
		*why = "bad source";
	else if (!proto_fingerprint_valid(m->fingerprint))
		*why = "bad fingerprint";
	else if (m->frame_len > WIRE_PAYLOAD_MAX ||
	    (m->frame_len > 0 && m->frame == NULL))
		*why = "bad frame";
	else
		return 1;
	return 0;
}

static void
fill_enrol_request(struct packer *p, const struct ipc_enrol_request *m)
{
	pack_u32(p, m->offer);
	pack_str(p, m->source);
	pack_str(p, m->fingerprint);
	pack_bytes(p, m->exporter, sizeof(m->exporter));
	pack_bytes(p, m->frame, m->frame_len);
}

ENCODER(enrol_request)

int
ipcmsg_decode_enrol_request(const uint8_t *b, size_t len,
    struct ipc_enrol_request *m, const char **why)
{
	struct unpacker	u;

	memset(m, 0, sizeof(*m));
	unpack_init(&u, b, len);
	unpack_u32(&u, &m->offer);
	unpack_str(&u, m->source, sizeof(m->source));
	unpack_str(&u, m->fingerprint, sizeof(m->fingerprint));
	unpack_fixed(&u, m->exporter, sizeof(m->exporter));
	unpack_bytes_ref(&u, &m->frame, &m->frame_len, WIRE_PAYLOAD_MAX);
	if (finish(&u, why) == -1)
		return -1;
	return enrol_request_valid(m, why) ? 0 : -1;
}

/* ---- ENROL_REPLY ----------------------------------------------------- */

static int
enrol_reply_valid(const struct ipc_enrol_reply *m, const char **why)
{
	if (m->ok > 1 || !printable(m->error))
		*why = "bad enrolment reply";
	else if (m->ok && (m->error[0] != '\0' || m->status == 0 ||
	    m->status >= ENROLMENT_MAX || !id_valid(m->id)))
		*why = "bad enrolment";
	else if (!m->ok && (m->error[0] == '\0' || m->status != 0 ||
	    m->id != 0))
		*why = "bad enrolment refusal";
	else if (m->has_sign_pub > 1 || (!m->ok && m->has_sign_pub))
		*why = "bad script-signing key";
	else
		return 1;
	return 0;
}

static void
fill_enrol_reply(struct packer *p, const struct ipc_enrol_reply *m)
{
	pack_u8(p, m->ok);
	pack_str(p, m->error);
	pack_u8(p, m->status);
	pack_u64(p, m->id);
	pack_bytes(p, m->brain_pub, sizeof(m->brain_pub));
	pack_bytes(p, m->wrapped_key, sizeof(m->wrapped_key));
	pack_u8(p, m->has_sign_pub);
	pack_bytes(p, m->sign_pub, sizeof(m->sign_pub));
}

ENCODER(enrol_reply)

int
ipcmsg_decode_enrol_reply(const uint8_t *b, size_t len,
    struct ipc_enrol_reply *m, const char **why)
{
	struct unpacker	u;

	memset(m, 0, sizeof(*m));
	unpack_init(&u, b, len);
	unpack_u8(&u, &m->ok);
	unpack_str(&u, m->error, sizeof(m->error));
	unpack_u8(&u, &m->status);
	unpack_u64(&u, &m->id);
	unpack_fixed(&u, m->brain_pub, sizeof(m->brain_pub));
	unpack_fixed(&u, m->wrapped_key, sizeof(m->wrapped_key));
	unpack_u8(&u, &m->has_sign_pub);
	unpack_fixed(&u, m->sign_pub, sizeof(m->sign_pub));
	if (finish(&u, why) == -1)
		return -1;
	return enrol_reply_valid(m, why) ? 0 : -1;
}

/* ---- ENROL_OFFER, ENROL_OFFER_DONE ----------------------------------- */

static int
enrol_offer_valid(const struct ipc_enrol_offer *m, const char **why)
{
	if (m->address[0] == '\0' || !printable(m->address))
		*why = "bad address";
	else if (!port_valid(m->port))
		*why = "bad port";
	else if (m->pairing > 1)
		*why = "bad pairing flag";
	else
		return 1;
	return 0;
}

static void
fill_enrol_offer(struct packer *p, const struct ipc_enrol_offer *m)
{
	pack_str(p, m->address);
	pack_u32(p, m->port);
	pack_u8(p, m->pairing);
}

ENCODER(enrol_offer)

int
ipcmsg_decode_enrol_offer(const uint8_t *b, size_t len,
    struct ipc_enrol_offer *m, const char **why)
{
	struct unpacker	u;

	memset(m, 0, sizeof(*m));
	unpack_init(&u, b, len);
	unpack_str(&u, m->address, sizeof(m->address));
	unpack_u32(&u, &m->port);
	unpack_u8(&u, &m->pairing);
	if (finish(&u, why) == -1)
		return -1;
	return enrol_offer_valid(m, why) ? 0 : -1;
}

static int
enrol_offer_done_valid(const struct ipc_enrol_offer_done *m, const char **why)
{
	if (m->ok > 1 || (m->ok && !id_valid(m->tentacle)) ||
	    (!m->ok && m->tentacle != 0))
		*why = "bad offer outcome";
	else if (m->http_status < 100 || m->http_status > 599)
		*why = "bad HTTP status";
	else if (!printable(m->error))
		*why = "bad error";
	else
		return 1;
	return 0;
}

static void
fill_enrol_offer_done(struct packer *p, const struct ipc_enrol_offer_done *m)
{
	pack_u8(p, m->ok);
	pack_u64(p, m->tentacle);
	pack_u32(p, m->http_status);
	pack_str(p, m->error);
}

ENCODER(enrol_offer_done)

int
ipcmsg_decode_enrol_offer_done(const uint8_t *b, size_t len,
    struct ipc_enrol_offer_done *m, const char **why)
{
	struct unpacker	u;

	memset(m, 0, sizeof(*m));
	unpack_init(&u, b, len);
	unpack_u8(&u, &m->ok);
	unpack_u64(&u, &m->tentacle);
	unpack_u32(&u, &m->http_status);
	unpack_str(&u, m->error, sizeof(m->error));
	if (finish(&u, why) == -1)
		return -1;
	return enrol_offer_done_valid(m, why) ? 0 : -1;
}

/* ---- PAIR_MAKE, PAIR_MADE -------------------------------------------- */

static int
pair_make_valid(const struct ipc_pair_make *m, const char **why)
{
	if (m->offer == 0) {
		*why = "bad offer";
		return 0;
	}
	return 1;
}

static void
fill_pair_make(struct packer *p, const struct ipc_pair_make *m)
{
	pack_u32(p, m->offer);
	pack_bytes(p, m->exporter, sizeof(m->exporter));
}

ENCODER(pair_make)

int
ipcmsg_decode_pair_make(const uint8_t *b, size_t len,
    struct ipc_pair_make *m, const char **why)
{
	struct unpacker	u;

	memset(m, 0, sizeof(*m));
	unpack_init(&u, b, len);
	unpack_u32(&u, &m->offer);
	unpack_fixed(&u, m->exporter, sizeof(m->exporter));
	if (finish(&u, why) == -1)
		return -1;
	return pair_make_valid(m, why) ? 0 : -1;
}

static int
pair_made_valid(const struct ipc_pair_made *m, const char **why)
{
	if (m->ok > 1)
		*why = "bad pairing outcome";
	else if (!printable(m->error) || (!m->ok && m->error[0] == '\0'))
		*why = "bad error";
	else
		return 1;
	return 0;
}

static void
fill_pair_made(struct packer *p, const struct ipc_pair_made *m)
{
	pack_u8(p, m->ok);
	pack_bytes(p, m->proof, sizeof(m->proof));
	pack_bytes(p, m->expect, sizeof(m->expect));
	pack_str(p, m->error);
}

ENCODER(pair_made)

int
ipcmsg_decode_pair_made(const uint8_t *b, size_t len,
    struct ipc_pair_made *m, const char **why)
{
	struct unpacker	u;

	memset(m, 0, sizeof(*m));
	unpack_init(&u, b, len);
	unpack_u8(&u, &m->ok);
	unpack_fixed(&u, m->proof, sizeof(m->proof));
	unpack_fixed(&u, m->expect, sizeof(m->expect));
	unpack_str(&u, m->error, sizeof(m->error));
	if (finish(&u, why) == -1)
		return -1;
	return pair_made_valid(m, why) ? 0 : -1;
}

/* ---- proofs ---------------------------------------------------------- */

/* A proof is for an authenticated purpose (never ENROL) and an ID. */
static int
inputs_valid(const struct hs_inputs *in)
{
	return in->purpose > PURPOSE_ENROL && in->purpose < PURPOSE_MAX &&
	    id_valid(in->id);
}

static void
pack_inputs(struct packer *p, const struct hs_inputs *in)
{
	pack_u8(p, in->purpose);
	pack_u64(p, in->id);
	pack_bytes(p, in->nonce_c, sizeof(in->nonce_c));
	pack_bytes(p, in->nonce_s, sizeof(in->nonce_s));
	pack_bytes(p, in->exporter, sizeof(in->exporter));
}

static void
unpack_inputs(struct unpacker *u, struct hs_inputs *in)
{
	unpack_u8(u, &in->purpose);
	unpack_u64(u, &in->id);
	unpack_fixed(u, in->nonce_c, sizeof(in->nonce_c));
	unpack_fixed(u, in->nonce_s, sizeof(in->nonce_s));
	unpack_fixed(u, in->exporter, sizeof(in->exporter));
}

static int
proof_check_valid(const struct ipc_proof_check *m, const char **why)
{
	if (!inputs_valid(&m->in))
		*why = "bad purpose or ID";
	else if (!proto_fingerprint_valid(m->fingerprint))
		*why = "bad fingerprint";
	else
		return 1;
	return 0;
}

static void
fill_proof_check(struct packer *p, const struct ipc_proof_check *m)
{
	pack_inputs(p, &m->in);
	pack_bytes(p, m->proof, sizeof(m->proof));
	pack_str(p, m->fingerprint);
}

ENCODER(proof_check)

int
ipcmsg_decode_proof_check(const uint8_t *b, size_t len,
    struct ipc_proof_check *m, const char **why)
{
	struct unpacker	u;

	memset(m, 0, sizeof(*m));
	unpack_init(&u, b, len);
	unpack_inputs(&u, &m->in);
	unpack_fixed(&u, m->proof, sizeof(m->proof));
	unpack_str(&u, m->fingerprint, sizeof(m->fingerprint));
	if (finish(&u, why) == -1)
		return -1;
	return proof_check_valid(m, why) ? 0 : -1;
}

static int
proof_verdict_valid(const struct ipc_proof_verdict *m, const char **why)
{
	if (m->verdict >= VERDICT_MAX)
		*why = "bad verdict";
	else if (m->verdict == VERDICT_OK ? (m->enrolment == 0 ||
	    m->enrolment >= ENROLMENT_MAX) : m->enrolment != 0)
		*why = "bad enrolment status";
	else
		return 1;
	return 0;
}

static void
fill_proof_verdict(struct packer *p, const struct ipc_proof_verdict *m)
{
	pack_u8(p, m->verdict);
	pack_u8(p, m->enrolment);
	pack_bytes(p, m->proof, sizeof(m->proof));
}

ENCODER(proof_verdict)

int
ipcmsg_decode_proof_verdict(const uint8_t *b, size_t len,
    struct ipc_proof_verdict *m, const char **why)
{
	struct unpacker	u;

	memset(m, 0, sizeof(*m));
	unpack_init(&u, b, len);
	unpack_u8(&u, &m->verdict);
	unpack_u8(&u, &m->enrolment);
	unpack_fixed(&u, m->proof, sizeof(m->proof));
	if (finish(&u, why) == -1)
		return -1;
	return proof_verdict_valid(m, why) ? 0 : -1;
}

static int
proof_make_valid(const struct ipc_proof_make *m, const char **why)
{
	if (m->ticket == 0)
		*why = "bad ticket";
	else if (!inputs_valid(&m->in))
		*why = "bad purpose or ID";
	else if (!proto_fingerprint_valid(m->fingerprint))
		*why = "bad fingerprint";
	else
		return 1;
	return 0;
}

static void
fill_proof_make(struct packer *p, const struct ipc_proof_make *m)
{
	pack_u64(p, m->ticket);
	pack_inputs(p, &m->in);
	pack_str(p, m->fingerprint);
}

ENCODER(proof_make)

int
ipcmsg_decode_proof_make(const uint8_t *b, size_t len,
    struct ipc_proof_make *m, const char **why)
{
	struct unpacker	u;

	memset(m, 0, sizeof(*m));
	unpack_init(&u, b, len);
	unpack_u64(&u, &m->ticket);
	unpack_inputs(&u, &m->in);
	unpack_str(&u, m->fingerprint, sizeof(m->fingerprint));
	if (finish(&u, why) == -1)
		return -1;
	return proof_make_valid(m, why) ? 0 : -1;
}

static int
proof_made_valid(const struct ipc_proof_made *m, const char **why)
{
	if (m->verdict >= VERDICT_MAX) {
		*why = "bad verdict";
		return 0;
	}
	return 1;
}

static void
fill_proof_made(struct packer *p, const struct ipc_proof_made *m)
{
	pack_u8(p, m->verdict);
	pack_bytes(p, m->proof, sizeof(m->proof));
	pack_bytes(p, m->expect, sizeof(m->expect));
	pack_bytes(p, m->order_mac, sizeof(m->order_mac));
}

ENCODER(proof_made)

int
ipcmsg_decode_proof_made(const uint8_t *b, size_t len,
    struct ipc_proof_made *m, const char **why)
{
	struct unpacker	u;

	memset(m, 0, sizeof(*m));
	unpack_init(&u, b, len);
	unpack_u8(&u, &m->verdict);
	unpack_fixed(&u, m->proof, sizeof(m->proof));
	unpack_fixed(&u, m->expect, sizeof(m->expect));
	unpack_fixed(&u, m->order_mac, sizeof(m->order_mac));
	if (finish(&u, why) == -1)
		return -1;
	return proof_made_valid(m, why) ? 0 : -1;
}

/* ---- runs and keepalives --------------------------------------------- */

static int
run_order_valid(const struct ipc_run_order *m, const char **why)
{
	if (m->job > INT64_MAX)
		*why = "bad job ID";
	else if (m->run > INT64_MAX || (m->job == 0) != (m->run == 0))
		*why = "bad run ID";
	else if (m->ticket == 0)
		*why = "bad ticket";
	else if (!id_valid(m->tentacle))
		*why = "bad tentacle ID";
	else if (m->address[0] == '\0' || !printable(m->address) ||
	    !port_valid(m->port))
		*why = "bad address";
	else if (!proto_fingerprint_valid(m->fingerprint))
		*why = "bad fingerprint";
	else if (m->job != 0 ? !proto_script_name_valid(m->script) :
	    m->script[0] != '\0' || m->script_sha256[0] != '\0')
		*why = "bad script";
	else if (m->script_sha256[0] != '\0' &&
	    !proto_fingerprint_valid(m->script_sha256))
		*why = "bad script hash";
	else
		return 1;
	return 0;
}

static void
fill_run_order(struct packer *p, const struct ipc_run_order *m)
{
	pack_u64(p, m->job);
	pack_u64(p, m->run);
	pack_u64(p, m->ticket);
	pack_u64(p, m->tentacle);
	pack_str(p, m->address);
	pack_u32(p, m->port);
	pack_str(p, m->fingerprint);
	pack_str(p, m->script);
	pack_str(p, m->script_sha256);
}

ENCODER(run_order)

int
ipcmsg_decode_run_order(const uint8_t *b, size_t len, struct ipc_run_order *m,
    const char **why)
{
	struct unpacker	u;

	memset(m, 0, sizeof(*m));
	unpack_init(&u, b, len);
	unpack_u64(&u, &m->job);
	unpack_u64(&u, &m->run);
	unpack_u64(&u, &m->ticket);
	unpack_u64(&u, &m->tentacle);
	unpack_str(&u, m->address, sizeof(m->address));
	unpack_u32(&u, &m->port);
	unpack_str(&u, m->fingerprint, sizeof(m->fingerprint));
	unpack_str(&u, m->script, sizeof(m->script));
	unpack_str(&u, m->script_sha256, sizeof(m->script_sha256));
	if (finish(&u, why) == -1)
		return -1;
	return run_order_valid(m, why) ? 0 : -1;
}

static int
job_state_valid(const struct ipc_job_state *m, const char **why)
{
	if (!id_valid(m->job))
		*why = "bad job ID";
	else if (m->state != JOB_RUNNING && m->state != JOB_FAILED &&
	    m->state != JOB_UNREACHABLE)
		*why = "bad job state";
	else if (!printable(m->message))
		*why = "bad message";
	else
		return 1;
	return 0;
}

static void
fill_job_state(struct packer *p, const struct ipc_job_state *m)
{
	pack_u64(p, m->job);
	pack_u8(p, m->state);
	pack_str(p, m->message);
}

ENCODER(job_state)

int
ipcmsg_decode_job_state(const uint8_t *b, size_t len, struct ipc_job_state *m,
    const char **why)
{
	struct unpacker	u;

	memset(m, 0, sizeof(*m));
	unpack_init(&u, b, len);
	unpack_u64(&u, &m->job);
	unpack_u8(&u, &m->state);
	unpack_str(&u, m->message, sizeof(m->message));
	if (finish(&u, why) == -1)
		return -1;
	return job_state_valid(m, why) ? 0 : -1;
}

/* ---- results --------------------------------------------------------- */

static int
result_store_valid(const struct ipc_result_store *m, const char **why)
{
	if (!id_valid(m->tentacle))
		*why = "bad tentacle ID";
	else if (m->frame_len > WIRE_PAYLOAD_MAX ||
	    (m->frame_len > 0 && m->frame == NULL))
		*why = "bad frame";
	else
		return 1;
	return 0;
}

static void
fill_result_store(struct packer *p, const struct ipc_result_store *m)
{
	pack_u64(p, m->tentacle);
	pack_bytes(p, m->frame, m->frame_len);
}

ENCODER(result_store)

int
ipcmsg_decode_result_store(const uint8_t *b, size_t len,
    struct ipc_result_store *m, const char **why)
{
	struct unpacker	u;

	memset(m, 0, sizeof(*m));
	unpack_init(&u, b, len);
	unpack_u64(&u, &m->tentacle);
	unpack_bytes_ref(&u, &m->frame, &m->frame_len, WIRE_PAYLOAD_MAX);
	if (finish(&u, why) == -1)
		return -1;
	return result_store_valid(m, why) ? 0 : -1;
}

static int
result_stored_valid(const struct ipc_result_stored *m, const char **why)
{
	if (m->status >= STORED_MAX)
		*why = "bad status";
	else if (m->job > INT64_MAX || (m->status == STORED_OK && m->job == 0))
		*why = "bad job ID";
	else if (!printable(m->error))
		*why = "bad error";
	else
		return 1;
	return 0;
}

static void
fill_result_stored(struct packer *p, const struct ipc_result_stored *m)
{
	pack_u8(p, m->status);
	pack_u64(p, m->job);
	pack_str(p, m->error);
}

ENCODER(result_stored)

int
ipcmsg_decode_result_stored(const uint8_t *b, size_t len,
    struct ipc_result_stored *m, const char **why)
{
	struct unpacker	u;

	memset(m, 0, sizeof(*m));
	unpack_init(&u, b, len);
	unpack_u8(&u, &m->status);
	unpack_u64(&u, &m->job);
	unpack_str(&u, m->error, sizeof(m->error));
	if (finish(&u, why) == -1)
		return -1;
	return result_stored_valid(m, why) ? 0 : -1;
}

/* ---- keepalive answers ----------------------------------------------- */

static int
tentacle_seen_valid(const struct ipc_tentacle_seen *m, const char **why)
{
	if (!id_valid(m->tentacle))
		*why = "bad tentacle ID";
	else if (m->inventory_len > WIRE_PAYLOAD_MAX ||
	    (m->inventory_len > 0 && m->inventory == NULL))
		*why = "bad inventory";
	else
		return 1;
	return 0;
}

static void
fill_tentacle_seen(struct packer *p, const struct ipc_tentacle_seen *m)
{
	pack_u64(p, m->tentacle);
	pack_bytes(p, m->inventory, m->inventory_len);
}

ENCODER(tentacle_seen)

int
ipcmsg_decode_tentacle_seen(const uint8_t *b, size_t len,
    struct ipc_tentacle_seen *m, const char **why)
{
	struct unpacker	u;

	memset(m, 0, sizeof(*m));
	unpack_init(&u, b, len);
	unpack_u64(&u, &m->tentacle);
	unpack_bytes_ref(&u, &m->inventory, &m->inventory_len,
	    WIRE_PAYLOAD_MAX);
	if (finish(&u, why) == -1)
		return -1;
	return tentacle_seen_valid(m, why) ? 0 : -1;
}

static int
tentacle_missed_valid(const struct ipc_tentacle_missed *m, const char **why)
{
	if (!id_valid(m->tentacle))
		*why = "bad tentacle ID";
	else if (!printable(m->reason))
		*why = "bad reason";
	else
		return 1;
	return 0;
}

static void
fill_tentacle_missed(struct packer *p, const struct ipc_tentacle_missed *m)
{
	pack_u64(p, m->tentacle);
	pack_str(p, m->reason);
}

ENCODER(tentacle_missed)

int
ipcmsg_decode_tentacle_missed(const uint8_t *b, size_t len,
    struct ipc_tentacle_missed *m, const char **why)
{
	struct unpacker	u;

	memset(m, 0, sizeof(*m));
	unpack_init(&u, b, len);
	unpack_u64(&u, &m->tentacle);
	unpack_str(&u, m->reason, sizeof(m->reason));
	if (finish(&u, why) == -1)
		return -1;
	return tentacle_missed_valid(m, why) ? 0 : -1;
}

/* ---- CHILD_INIT ------------------------------------------------------ */

static int
child_init_valid(const struct ipc_child_init *m, const char **why)
{
	const char	*r;
	int		 portless;

	for (r = m->role; *r >= 'a' && *r <= 'z'; r++)
		;
	/* A child without a port of its own (the exporter) gets neither
	 * address nor credentials. */
	portless = m->cert_pem_len == 0 && m->key_pem_len == 0 &&
	    m->address[0] == '\0' && m->port == 0;
	if (m->role[0] == '\0' || *r != '\0')
		*why = "bad role";
	else if (!printable(m->advertise))
		*why = "bad advertise address";
	else if (portless && m->io_timeout >= 1 && m->io_timeout <= 3600 &&
	    m->max_tentacles >= 1 && m->max_tentacles <= 1000000 &&
	    printable(m->web_root))
		return 1;
	else if (m->address[0] == '\0' || !printable(m->address))
		*why = "bad address";
	else if (!port_valid(m->port))
		*why = "bad port";
	else if (m->io_timeout < 1 || m->io_timeout > 3600)
		*why = "bad io_timeout";
	else if (m->max_tentacles < 1 || m->max_tentacles > 1000000)
		*why = "bad max_tentacles";
	else if (!printable(m->web_root))
		*why = "bad web_root";
	else if (m->cert_pem == NULL || m->cert_pem_len == 0 ||
	    m->cert_pem_len > IPCMSG_PEM_MAX)
		*why = "bad certificate";
	else if (m->key_pem == NULL || m->key_pem_len == 0 ||
	    m->key_pem_len > IPCMSG_PEM_MAX)
		*why = "bad key";
	else
		return 1;
	return 0;
}

static void
fill_child_init(struct packer *p, const struct ipc_child_init *m)
{
	pack_str(p, m->role);
	pack_str(p, m->address);
	pack_str(p, m->advertise);
	pack_u32(p, m->port);
	pack_u32(p, m->io_timeout);
	pack_u32(p, m->max_tentacles);
	pack_str(p, m->web_root);
	pack_bytes(p, m->cert_pem, m->cert_pem_len);
	pack_bytes(p, m->key_pem, m->key_pem_len);
}

ENCODER(child_init)

int
ipcmsg_decode_child_init(const uint8_t *b, size_t len,
    struct ipc_child_init *m, const char **why)
{
	struct unpacker	u;

	memset(m, 0, sizeof(*m));
	unpack_init(&u, b, len);
	unpack_str(&u, m->role, sizeof(m->role));
	unpack_str(&u, m->address, sizeof(m->address));
	unpack_str(&u, m->advertise, sizeof(m->advertise));
	unpack_u32(&u, &m->port);
	unpack_u32(&u, &m->io_timeout);
	unpack_u32(&u, &m->max_tentacles);
	unpack_str(&u, m->web_root, sizeof(m->web_root));
	unpack_bytes_ref(&u, &m->cert_pem, &m->cert_pem_len, IPCMSG_PEM_MAX);
	unpack_bytes_ref(&u, &m->key_pem, &m->key_pem_len, IPCMSG_PEM_MAX);
	if (finish(&u, why) == -1)
		return -1;
	return child_init_valid(m, why) ? 0 : -1;
}

/* ---- API_REPLY ------------------------------------------------------- */

/* "" (leave it), "-" (clear it) or a session key: it goes into a
 * Set-Cookie header as it is. */
static int
cookie_valid(const char *c)
{
	size_t	n;

	if (c[0] == '\0' || strcmp(c, "-") == 0)
		return 1;
	for (n = 0; (c[n] >= '0' && c[n] <= '9') || (c[n] >= 'a' &&
	    c[n] <= 'f'); n++)
		;
	return c[n] == '\0' && n == OCTO_TOKEN_HEX_LEN;
}

static int
api_reply_valid(const struct ipc_api_reply *m, const char **why)
{
	if (m->status < 200 || m->status > 599)
		*why = "bad HTTP status";
	else if (m->json == NULL || m->json_len == 0 ||
	    m->json_len > IPC_PAYLOAD_MAX ||
	    memchr(m->json, '\0', m->json_len) != NULL)
		*why = "bad JSON body";
	else if (!cookie_valid(m->cookie))
		*why = "bad cookie";
	else
		return 1;
	return 0;
}

static void
fill_api_reply(struct packer *p, const struct ipc_api_reply *m)
{
	pack_u32(p, m->status);
	pack_bytes(p, m->json, m->json_len);
	pack_str(p, m->cookie);
}

ENCODER(api_reply)

int
ipcmsg_decode_api_reply(const uint8_t *b, size_t len,
    struct ipc_api_reply *m, const char **why)
{
	struct unpacker	u;

	memset(m, 0, sizeof(*m));
	unpack_init(&u, b, len);
	unpack_u32(&u, &m->status);
	unpack_str_ref(&u, &m->json, &m->json_len, IPC_PAYLOAD_MAX);
	unpack_str(&u, m->cookie, sizeof(m->cookie));
	if (finish(&u, why) == -1 || !api_reply_valid(m, why)) {
		crypto_wipe(m->cookie, sizeof(m->cookie));
		return -1;
	}
	return 0;
}

/* ---- CONFIG_RELOAD --------------------------------------------------- */

static int
config_reload_valid(const struct ipc_config_reload *m, const char **why)
{
	if (m->io_timeout < 1 || m->io_timeout > 3600)
		*why = "bad io_timeout";
	else if (m->max_tentacles < 1 || m->max_tentacles > 1000000)
		*why = "bad max_tentacles";
	else
		return 1;
	return 0;
}

static void
fill_config_reload(struct packer *p, const struct ipc_config_reload *m)
{
	pack_u32(p, m->io_timeout);
	pack_u32(p, m->max_tentacles);
}

ENCODER(config_reload)

int
ipcmsg_decode_config_reload(const uint8_t *b, size_t len,
    struct ipc_config_reload *m, const char **why)
{
	struct unpacker	u;

	memset(m, 0, sizeof(*m));
	unpack_init(&u, b, len);
	unpack_u32(&u, &m->io_timeout);
	unpack_u32(&u, &m->max_tentacles);
	if (finish(&u, why) == -1)
		return -1;
	return config_reload_valid(m, why) ? 0 : -1;
}

/* ---- TENTACLE_ADDRESSES ---------------------------------------------- */

static int
tentacle_addresses_valid(const struct ipc_tentacle_addresses *m,
    const char **why)
{
	if ((m->flags & ~(ADDRESSES_FIRST | ADDRESSES_LAST)) != 0)
		*why = "bad flags";
	else if (m->count > IPCMSG_ADDRESSES_MAX)
		*why = "too many addresses";
	else if (m->count > 0 && m->keys == NULL)
		*why = "no addresses";
	else
		return 1;
	return 0;
}

static void
fill_tentacle_addresses(struct packer *p,
    const struct ipc_tentacle_addresses *m)
{
	pack_u8(p, m->flags);
	pack_bytes(p, m->keys, m->count * NET_ADDR_KEY_LEN);
}

ENCODER(tentacle_addresses)

int
ipcmsg_decode_tentacle_addresses(const uint8_t *b, size_t len,
    struct ipc_tentacle_addresses *m, const char **why)
{
	struct unpacker	u;
	size_t		n = 0;

	memset(m, 0, sizeof(*m));
	unpack_init(&u, b, len);
	unpack_u8(&u, &m->flags);
	unpack_bytes_ref(&u, &m->keys, &n,
	    (size_t)IPCMSG_ADDRESSES_MAX * NET_ADDR_KEY_LEN);
	if (finish(&u, why) == -1)
		return -1;
	if (n % NET_ADDR_KEY_LEN != 0) {
		*why = "addresses are not whole keys";
		return -1;
	}
	m->count = n / NET_ADDR_KEY_LEN;
	if (m->count == 0)
		m->keys = NULL;
	return tentacle_addresses_valid(m, why) ? 0 : -1;
}

/* ---- EXPORT_CONF, EXPORT_EVENT, EXPORT_ACK (issue 17) ---------------- */

static int
blob_valid(const uint8_t *p, size_t len, size_t min, size_t max)
{
	return len >= min && len <= max && (len == 0 || p != NULL);
}

static int
export_conf_valid(const struct ipc_export_conf *m, const char **why)
{
	if (m->brain[0] == '\0' || !printable(m->brain) ||
	    strchr(m->brain, ' ') != NULL)
		*why = "bad brain name";
	else if (m->syslog_on > 1 || m->webhook_on > 1)
		*why = "bad target flag";
	else if (m->syslog_on && (m->syslog_host[0] == '\0' ||
	    !printable(m->syslog_host) || m->syslog_addr[0] == '\0' ||
	    !printable(m->syslog_addr) || !port_valid(m->syslog_port)))
		*why = "bad syslog target";
	else if (!blob_valid(m->syslog_ca, m->syslog_ca_len, m->syslog_on,
	    m->syslog_on ? EXPORT_CA_MAX : 0) ||
	    !blob_valid(m->syslog_cert, m->syslog_cert_len, 0,
	    m->syslog_on ? IPCMSG_PEM_MAX : 0) ||
	    !blob_valid(m->syslog_key, m->syslog_key_len, 0,
	    m->syslog_on ? IPCMSG_PEM_MAX : 0) ||
	    (m->syslog_cert_len == 0) != (m->syslog_key_len == 0))
		*why = "bad syslog credentials";
	else if (m->webhook_on && (m->webhook_host[0] == '\0' ||
	    !printable(m->webhook_host) || m->webhook_addr[0] == '\0' ||
	    !printable(m->webhook_addr) || !port_valid(m->webhook_port) ||
	    m->webhook_path[0] != '/' || !printable(m->webhook_path) ||
	    strchr(m->webhook_path, ' ') != NULL))
		*why = "bad webhook target";
	else if (!blob_valid(m->webhook_ca, m->webhook_ca_len, m->webhook_on,
	    m->webhook_on ? EXPORT_CA_MAX : 0) ||
	    !blob_valid(m->webhook_secret, m->webhook_secret_len,
	    m->webhook_on, m->webhook_on ? EXPORT_SECRET_MAX : 0))
		*why = "bad webhook credentials";
	else if ((!m->syslog_on && (m->syslog_host[0] || m->syslog_addr[0] ||
	    m->syslog_port)) || (!m->webhook_on && (m->webhook_host[0] ||
	    m->webhook_addr[0] || m->webhook_port || m->webhook_path[0])))
		*why = "fields of a target that is off";
	else
		return 1;
	return 0;
}

static void
fill_export_conf(struct packer *p, const struct ipc_export_conf *m)
{
	pack_str(p, m->brain);
	pack_u8(p, m->syslog_on);
	pack_str(p, m->syslog_host);
	pack_str(p, m->syslog_addr);
	pack_u32(p, m->syslog_port);
	pack_bytes(p, m->syslog_ca, m->syslog_ca_len);
	pack_bytes(p, m->syslog_cert, m->syslog_cert_len);
	pack_bytes(p, m->syslog_key, m->syslog_key_len);
	pack_u8(p, m->webhook_on);
	pack_str(p, m->webhook_host);
	pack_str(p, m->webhook_addr);
	pack_u32(p, m->webhook_port);
	pack_str(p, m->webhook_path);
	pack_bytes(p, m->webhook_ca, m->webhook_ca_len);
	pack_bytes(p, m->webhook_secret, m->webhook_secret_len);
}

ENCODER(export_conf)

int
ipcmsg_decode_export_conf(const uint8_t *b, size_t len,
    struct ipc_export_conf *m, const char **why)
{
	struct unpacker	u;

	memset(m, 0, sizeof(*m));
	unpack_init(&u, b, len);
	unpack_str(&u, m->brain, sizeof(m->brain));
	unpack_u8(&u, &m->syslog_on);
	unpack_str(&u, m->syslog_host, sizeof(m->syslog_host));
	unpack_str(&u, m->syslog_addr, sizeof(m->syslog_addr));
	unpack_u32(&u, &m->syslog_port);
	unpack_bytes_ref(&u, &m->syslog_ca, &m->syslog_ca_len, EXPORT_CA_MAX);
	unpack_bytes_ref(&u, &m->syslog_cert, &m->syslog_cert_len,
	    IPCMSG_PEM_MAX);
	unpack_bytes_ref(&u, &m->syslog_key, &m->syslog_key_len,
	    IPCMSG_PEM_MAX);
	unpack_u8(&u, &m->webhook_on);
	unpack_str(&u, m->webhook_host, sizeof(m->webhook_host));
	unpack_str(&u, m->webhook_addr, sizeof(m->webhook_addr));
	unpack_u32(&u, &m->webhook_port);
	unpack_str(&u, m->webhook_path, sizeof(m->webhook_path));
	unpack_bytes_ref(&u, &m->webhook_ca, &m->webhook_ca_len,
	    EXPORT_CA_MAX);
	unpack_bytes_ref(&u, &m->webhook_secret, &m->webhook_secret_len,
	    EXPORT_SECRET_MAX);
	if (finish(&u, why) == -1)
		return -1;
	return export_conf_valid(m, why) ? 0 : -1;
}

static int
export_event_valid(const struct ipc_export_event *m, const char **why)
{
	if (m->target >= EXPORT_TARGETS)
		*why = "bad export target";
	else if (!id_valid(m->seq))
		*why = "bad event sequence number";
	else if (m->json == NULL || m->json_len == 0 ||
	    m->json_len > EXPORT_EVENT_MAX ||
	    memchr(m->json, '\0', m->json_len) != NULL)
		*why = "bad event";
	else
		return 1;
	return 0;
}

static void
fill_export_event(struct packer *p, const struct ipc_export_event *m)
{
	pack_u8(p, m->target);
	pack_u64(p, m->seq);
	pack_bytes(p, m->json, m->json_len);
}

ENCODER(export_event)

int
ipcmsg_decode_export_event(const uint8_t *b, size_t len,
    struct ipc_export_event *m, const char **why)
{
	struct unpacker	u;

	memset(m, 0, sizeof(*m));
	unpack_init(&u, b, len);
	unpack_u8(&u, &m->target);
	unpack_u64(&u, &m->seq);
	unpack_str_ref(&u, &m->json, &m->json_len, EXPORT_EVENT_MAX);
	if (finish(&u, why) == -1)
		return -1;
	return export_event_valid(m, why) ? 0 : -1;
}

static int
export_ack_valid(const struct ipc_export_ack *m, const char **why)
{
	if (m->target >= EXPORT_TARGETS)
		*why = "bad export target";
	else if (m->seq > INT64_MAX)
		*why = "bad event sequence number";
	else if (m->dropped > EXPORT_WINDOW || (m->seq == 0 && m->dropped))
		*why = "bad count of dropped events";
	else if (m->state >= EXPORT_STATE_MAX)
		*why = "bad export state";
	else if (!printable(m->error))
		*why = "bad error text";
	else
		return 1;
	return 0;
}

static void
fill_export_ack(struct packer *p, const struct ipc_export_ack *m)
{
	pack_u8(p, m->target);
	pack_u64(p, m->seq);
	pack_u32(p, m->dropped);
	pack_u8(p, m->state);
	pack_str(p, m->error);
}

ENCODER(export_ack)

int
ipcmsg_decode_export_ack(const uint8_t *b, size_t len,
    struct ipc_export_ack *m, const char **why)
{
	struct unpacker	u;

	memset(m, 0, sizeof(*m));
	unpack_init(&u, b, len);
	unpack_u8(&u, &m->target);
	unpack_u64(&u, &m->seq);
	unpack_u32(&u, &m->dropped);
	unpack_u8(&u, &m->state);
	unpack_str(&u, m->error, sizeof(m->error));
	if (finish(&u, why) == -1)
		return -1;
	return export_ack_valid(m, why) ? 0 : -1;
}

static int
export_drop_valid(const struct ipc_export_drop *m, const char **why)
{
	if (m->target >= EXPORT_TARGETS)
		*why = "bad export target";
	else if (!id_valid(m->seq))
		*why = "bad event sequence number";
	else
		return 1;
	return 0;
}

static void
fill_export_drop(struct packer *p, const struct ipc_export_drop *m)
{
	pack_u8(p, m->target);
	pack_u64(p, m->seq);
}

ENCODER(export_drop)

int
ipcmsg_decode_export_drop(const uint8_t *b, size_t len,
    struct ipc_export_drop *m, const char **why)
{
	struct unpacker	u;

	memset(m, 0, sizeof(*m));
	unpack_init(&u, b, len);
	unpack_u8(&u, &m->target);
	unpack_u64(&u, &m->seq);
	if (finish(&u, why) == -1)
		return -1;
	return export_drop_valid(m, why) ? 0 : -1;
}

static int
metrics_get_valid(const struct ipc_metrics_get *m, const char **why)
{
	int	i;

	if (!printable(m->token) || strchr(m->token, ' ') != NULL)
		*why = "bad token";
	else if (!printable(m->client))
		*why = "bad client address";
	else {
		for (i = 0; i < WEB_ROUTES; i++)
			if (!histo_valid(&m->http[i])) {
				*why = "bad latency histogram";
				return 0;
			}
		return 1;
	}
	return 0;
}

static void
pack_histo(struct packer *p, const struct histo *h)
{
	int	i;

	pack_u64(p, h->count);
	pack_u64(p, h->sum_us);
	for (i = 0; i < HISTO_BUCKETS; i++)
		pack_u64(p, h->bucket[i]);
}

static void
unpack_histo(struct unpacker *u, struct histo *h)
{
	int	i;

	unpack_u64(u, &h->count);
	unpack_u64(u, &h->sum_us);
	for (i = 0; i < HISTO_BUCKETS; i++)
		unpack_u64(u, &h->bucket[i]);
}

static void
fill_metrics_get(struct packer *p, const struct ipc_metrics_get *m)
{
	int	i;

	pack_str(p, m->token);
	pack_str(p, m->client);
	for (i = 0; i < WEB_ROUTES; i++)
		pack_histo(p, &m->http[i]);
}

ENCODER(metrics_get)

int
ipcmsg_decode_metrics_get(const uint8_t *b, size_t len,
    struct ipc_metrics_get *m, const char **why)
{
	struct unpacker	u;
	int		i;

	memset(m, 0, sizeof(*m));
	unpack_init(&u, b, len);
	unpack_str(&u, m->token, sizeof(m->token));
	unpack_str(&u, m->client, sizeof(m->client));
	for (i = 0; i < WEB_ROUTES; i++)
		unpack_histo(&u, &m->http[i]);
	if (finish(&u, why) == -1 || !metrics_get_valid(m, why)) {
		crypto_wipe(m, sizeof(*m));
		return -1;
	}
	return 0;
}

/* ---- names ----------------------------------------------------------- */

const char *
ipcmsg_web_route_str(int r)
{
	switch (r) {
	case WEB_ROUTE_API:	return "api";
	case WEB_ROUTE_METRICS:	return "metrics";
	case WEB_ROUTE_STATIC:	return "static";
	default:		return "?";
	}
}

const char *
ipcmsg_verdict_str(uint8_t v)
{
	switch (v) {
	case VERDICT_OK:	return "ok";
	case VERDICT_UNKNOWN:	return "unknown or revoked tentacle ID";
	case VERDICT_CERT:	return "certificate is not the one enrolled "
				    "for this ID";
	case VERDICT_WRONG:	return "wrong key";
	case VERDICT_REFUSED:	return "not a connection the maestro ordered";
	case VERDICT_ERROR:	return "internal error";
	default:		return "unknown verdict";
	}
}

/* ---- managed scripts (issue 14) -------------------------------------- */

/* frames: whole SCRIPT_PUT / SCRIPT_DELETE wire frames, nothing else. */
static int
push_frames_valid(const uint8_t *b, size_t len)
{
	struct wire_frame	f;
	size_t			used;

	while (len > 0) {
		if (wire_decode(b, len, &f, &used) != WIRE_OK ||
		    (f.type != WIRE_SCRIPT_PUT && f.type != WIRE_SCRIPT_DELETE))
			return 0;
		b += used;
		len -= used;
	}
	return 1;
}

static int
script_push_valid(const struct ipc_script_push *m, const char **why)
{
	if (!id_valid(m->tentacle))
		*why = "bad tentacle ID";
	else if (m->ticket == 0)
		*why = "bad ticket";
	else if (m->address[0] == '\0' || !printable(m->address) ||
	    !port_valid(m->port))
		*why = "bad address";
	else if (!proto_fingerprint_valid(m->fingerprint))
		*why = "bad fingerprint";
	else if (m->signkey > 1 || (!m->signkey && m->frames_len == 0))
		*why = "nothing to push";
	else if (m->frames_len > IPCMSG_PUSH_MAX ||
	    (m->frames_len > 0 && m->frames == NULL) ||
	    !push_frames_valid(m->frames, m->frames_len))
		*why = "bad script frames";
	else
		return 1;
	return 0;
}

static void
fill_script_push(struct packer *p, const struct ipc_script_push *m)
{
	pack_u64(p, m->tentacle);
	pack_u64(p, m->ticket);
	pack_str(p, m->address);
	pack_u32(p, m->port);
	pack_str(p, m->fingerprint);
	pack_u8(p, m->signkey);
	pack_bytes(p, m->pub, sizeof(m->pub));
	pack_bytes(p, m->frames, m->frames_len);
}

ENCODER(script_push)

int
ipcmsg_decode_script_push(const uint8_t *b, size_t len,
    struct ipc_script_push *m, const char **why)
{
	struct unpacker	u;

	memset(m, 0, sizeof(*m));
	unpack_init(&u, b, len);
	unpack_u64(&u, &m->tentacle);
	unpack_u64(&u, &m->ticket);
	unpack_str(&u, m->address, sizeof(m->address));
	unpack_u32(&u, &m->port);
	unpack_str(&u, m->fingerprint, sizeof(m->fingerprint));
	unpack_u8(&u, &m->signkey);
	unpack_fixed(&u, m->pub, sizeof(m->pub));
	unpack_bytes_ref(&u, &m->frames, &m->frames_len, IPCMSG_PUSH_MAX);
	if (finish(&u, why) == -1)
		return -1;
	return script_push_valid(m, why) ? 0 : -1;
}

static int
script_acked_valid(const struct ipc_script_acked *m, const char **why)
{
	if (!id_valid(m->tentacle))
		*why = "bad tentacle ID";
	else if (m->final > 1 || (m->final ? m->ack_len != 0 :
	    m->ack_len == 0 || m->reason[0] != '\0'))
		*why = "bad end of push";
	else if (!printable(m->reason))
		*why = "bad reason";
	else if (m->ack_len > WIRE_PREAUTH_PAYLOAD_MAX ||
	    (m->ack_len > 0 && m->ack == NULL))
		*why = "bad acknowledgement";
	else
		return 1;
	return 0;
}

static void
fill_script_acked(struct packer *p, const struct ipc_script_acked *m)
{
	pack_u64(p, m->tentacle);
	pack_u8(p, m->final);
	pack_str(p, m->reason);
	pack_bytes(p, m->ack, m->ack_len);
}

ENCODER(script_acked)

int
ipcmsg_decode_script_acked(const uint8_t *b, size_t len,
    struct ipc_script_acked *m, const char **why)
{
	struct unpacker	u;

	memset(m, 0, sizeof(*m));
	unpack_init(&u, b, len);
	unpack_u64(&u, &m->tentacle);
	unpack_u8(&u, &m->final);
	unpack_str(&u, m->reason, sizeof(m->reason));
	unpack_bytes_ref(&u, &m->ack, &m->ack_len, WIRE_PREAUTH_PAYLOAD_MAX);
	if (finish(&u, why) == -1)
		return -1;
	return script_acked_valid(m, why) ? 0 : -1;
}
