/*
 * The brain's IPC messages (brain/ipcmsg.c): what the maestro reads from
 * a child that may have been taken over, and what a child reads from the
 * maestro. The first input byte is the IPC type (common/ipc.h; taken
 * modulo IPC_TYPE_MAX); the rest is the payload, in a buffer of exactly
 * its size, given to that type's decoder.
 *
 * Invariants: a refusal has a reason; an accepted message encodes back to
 * exactly the input (one encoding per message: nothing a decoder lets
 * through is read two ways), its strings are NUL-terminated within their
 * fields and printable, its IDs in range, its enums known, and pointer
 * fields point inside the input.
 */
#include <string.h>

#include "fuzz.h"
#include "ipc.h"
#include "ipcmsg.h"

static const uint8_t	*lo, *hi;	/* the payload's bounds */

static void
check_str(const char *s, size_t size)
{
	const char	*end = memchr(s, '\0', size);

	FUZZ_CHECK(end != NULL);
	for (; s < end; s++)
		FUZZ_CHECK(*s >= 0x20 && *s <= 0x7e);
}

static void
check_ref(const uint8_t *p, size_t len)
{
	if (len > 0)
		FUZZ_CHECK(p >= lo && p + len <= hi);
}

static void
check_id(uint64_t id)
{
	FUZZ_CHECK(id >= 1 && id <= INT64_MAX);
}

static void
check_inputs(const struct hs_inputs *in)
{
	FUZZ_CHECK(in->purpose > PURPOSE_ENROL && in->purpose < PURPOSE_MAX);
	check_id(in->id);
}

#define STR(f)	check_str((f), sizeof(f))

/* Decode as NAME; if accepted, run CHECKS on m, then encode it again. */
#define CASE(type, name, checks) case type: {				\
	struct ipc_##name m;						\
									\
	memset(&m, 0xa5, sizeof(m));					\
	why = NULL;							\
	rc = ipcmsg_decode_##name(p, len, &m, &why);			\
	FUZZ_CHECK(rc == 0 || rc == -1);				\
	if (rc == -1) {							\
		FUZZ_CHECK(why != NULL && why[0] != '\0');		\
		break;							\
	}								\
	checks;								\
	FUZZ_CHECK(ipcmsg_encode_##name(&out, &m) == 0);		\
	FUZZ_CHECK(out.len == len && memcmp(out.data, p, len) == 0);	\
	break;								\
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf	 out;
	const char	*why;
	uint8_t		*p;
	size_t		 len;
	int		 rc = -1;

	if (size == 0 || size - 1 > IPC_PAYLOAD_MAX)
		return 0;
	len = size - 1;
	FUZZ_CHECK((p = malloc(len ? len : 1)) != NULL);
	memcpy(p, data + 1, len);
	lo = p;
	hi = p + len;
	buf_init(&out, IPC_PAYLOAD_MAX);
	switch (data[0] % IPC_TYPE_MAX) {
	CASE(IPC_AUTH_LOGIN, auth_login,
	    STR(m.client);
	    FUZZ_CHECK(memchr(m.password, '\0', sizeof(m.password)) != NULL);
	    FUZZ_CHECK(memchr(m.user, '\0', sizeof(m.user)) != NULL);
	    FUZZ_CHECK(m.user[0] != '\0');
	    STR(m.totp);
	    FUZZ_CHECK(strspn(m.totp, "0123456789") == strlen(m.totp)))
	CASE(IPC_LOG_EVENT, log_event,
	    STR(m.kind); STR(m.peer); STR(m.detail);
	    FUZZ_CHECK(m.kind[0] != '\0'))
	CASE(IPC_ENROL_REQUEST, enrol_request,
	    STR(m.source);
	    FUZZ_CHECK(proto_fingerprint_valid(m.fingerprint));
	    FUZZ_CHECK(m.frame_len <= WIRE_PAYLOAD_MAX);
	    check_ref(m.frame, m.frame_len))
	CASE(IPC_ENROL_REPLY, enrol_reply,
	    STR(m.error);
	    FUZZ_CHECK(m.ok <= 1);
	    if (m.ok) {
		check_id(m.id);
		FUZZ_CHECK(m.status >= ENROLMENT_PENDING &&
		    m.status < ENROLMENT_MAX);
		FUZZ_CHECK(m.error[0] == '\0');
	    } else
		FUZZ_CHECK(m.error[0] != '\0' && m.id == 0))
	CASE(IPC_ENROL_OFFER, enrol_offer,
	    STR(m.address);
	    FUZZ_CHECK(m.port >= 1 && m.port <= 65535 && m.pairing <= 1))
	CASE(IPC_PAIR_MAKE, pair_make,
	    FUZZ_CHECK(m.offer != 0))
	CASE(IPC_PAIR_MADE, pair_made,
	    STR(m.error);
	    FUZZ_CHECK(m.ok <= 1 && (m.ok || m.error[0] != '\0')))
	CASE(IPC_ENROL_OFFER_DONE, enrol_offer_done,
	    STR(m.error);
	    FUZZ_CHECK(m.ok <= 1);
	    if (m.ok)
		check_id(m.tentacle);
	    FUZZ_CHECK(m.http_status >= 100 && m.http_status <= 599))
	CASE(IPC_PROOF_CHECK, proof_check,
	    check_inputs(&m.in);
	    FUZZ_CHECK(proto_fingerprint_valid(m.fingerprint)))
	CASE(IPC_PROOF_VERDICT, proof_verdict,
	    FUZZ_CHECK(m.verdict < VERDICT_MAX);
	    FUZZ_CHECK(strcmp(ipcmsg_verdict_str(m.verdict),
		"unknown verdict") != 0))
	CASE(IPC_PROOF_MAKE, proof_make,
	    FUZZ_CHECK(m.ticket != 0);
	    check_inputs(&m.in);
	    FUZZ_CHECK(proto_fingerprint_valid(m.fingerprint)))
	CASE(IPC_PROOF_MADE, proof_made,
	    FUZZ_CHECK(m.verdict < VERDICT_MAX))
	case IPC_KEEPALIVE:
	CASE(IPC_RUN_ORDER, run_order,
	    STR(m.address); STR(m.script); STR(m.script_sha256);
	    check_id(m.tentacle);
	    FUZZ_CHECK(m.ticket != 0 && m.job <= INT64_MAX);
	    FUZZ_CHECK(m.port >= 1 && m.port <= 65535);
	    FUZZ_CHECK(proto_fingerprint_valid(m.fingerprint));
	    FUZZ_CHECK(m.job == 0 ? m.script[0] == '\0' :
		proto_script_name_valid(m.script)))
	CASE(IPC_JOB_STATE, job_state,
	    STR(m.message);
	    check_id(m.job);
	    FUZZ_CHECK(m.state == JOB_RUNNING || m.state == JOB_FAILED ||
		m.state == JOB_UNREACHABLE))
	CASE(IPC_RESULT_STORE, result_store,
	    check_id(m.tentacle);
	    FUZZ_CHECK(m.frame_len <= WIRE_PAYLOAD_MAX);
	    check_ref(m.frame, m.frame_len))
	CASE(IPC_RESULT_STORED, result_stored,
	    STR(m.error);
	    FUZZ_CHECK(m.status < STORED_MAX && m.job <= INT64_MAX);
	    if (m.status == STORED_OK)
		check_id(m.job))
	CASE(IPC_TENTACLE_SEEN, tentacle_seen,
	    check_id(m.tentacle);
	    check_ref(m.inventory, m.inventory_len))
	CASE(IPC_TENTACLE_MISSED, tentacle_missed,
	    STR(m.reason);
	    check_id(m.tentacle))
	CASE(IPC_CHILD_INIT, child_init,
	    STR(m.role); STR(m.address); STR(m.web_root);
	    FUZZ_CHECK(m.role[0] != '\0');
	    FUZZ_CHECK(m.io_timeout >= 1 && m.io_timeout <= 3600);
	    FUZZ_CHECK(m.max_tentacles >= 1 && m.max_tentacles <= 1000000);
	    /* a child without a port (the exporter) has none of the four */
	    if (m.address[0] == '\0')
		FUZZ_CHECK(m.port == 0 && m.cert_pem_len == 0 &&
		    m.key_pem_len == 0);
	    else {
		FUZZ_CHECK(m.port >= 1 && m.port <= 65535);
		FUZZ_CHECK(m.cert_pem_len >= 1 &&
		    m.cert_pem_len <= IPCMSG_PEM_MAX);
		FUZZ_CHECK(m.key_pem_len >= 1 &&
		    m.key_pem_len <= IPCMSG_PEM_MAX);
	    }
	    check_ref(m.cert_pem, m.cert_pem_len);
	    check_ref(m.key_pem, m.key_pem_len))
	CASE(IPC_API_REPLY, api_reply,
	    STR(m.cookie);
	    FUZZ_CHECK(m.status >= 200 && m.status <= 599);
	    FUZZ_CHECK(m.json_len >= 1 && m.json_len <= IPC_PAYLOAD_MAX);
	    check_ref((const uint8_t *)m.json, m.json_len);
	    FUZZ_CHECK(memchr(m.json, '\0', m.json_len) == NULL);
	    FUZZ_CHECK(m.cookie[0] == '\0' || strcmp(m.cookie, "-") == 0 ||
		(strlen(m.cookie) == OCTO_TOKEN_HEX_LEN &&
		strspn(m.cookie, "0123456789abcdef") == OCTO_TOKEN_HEX_LEN)))
	CASE(IPC_CONFIG_RELOAD, config_reload,
	    FUZZ_CHECK(m.io_timeout >= 1 && m.io_timeout <= 3600);
	    FUZZ_CHECK(m.max_tentacles >= 1 && m.max_tentacles <= 1000000))
	CASE(IPC_SCRIPT_PUSH, script_push,
	    STR(m.address);
	    check_id(m.tentacle);
	    FUZZ_CHECK(m.ticket != 0 && m.signkey <= 1);
	    FUZZ_CHECK(m.port >= 1 && m.port <= 65535);
	    FUZZ_CHECK(proto_fingerprint_valid(m.fingerprint));
	    FUZZ_CHECK(m.signkey || m.frames_len > 0);
	    FUZZ_CHECK(m.frames_len <= IPCMSG_PUSH_MAX);
	    check_ref(m.frames, m.frames_len))
	CASE(IPC_SCRIPT_ACKED, script_acked,
	    STR(m.reason);
	    check_id(m.tentacle);
	    FUZZ_CHECK(m.final ? m.ack_len == 0 : m.ack_len > 0 &&
		m.reason[0] == '\0');
	    check_ref(m.ack, m.ack_len))
	/* export (issue 17) */
	CASE(IPC_EXPORT_CONF, export_conf,
	    STR(m.brain); STR(m.syslog_host); STR(m.syslog_addr);
	    STR(m.webhook_host); STR(m.webhook_addr); STR(m.webhook_path);
	    FUZZ_CHECK(m.brain[0] != '\0' && strchr(m.brain, ' ') == NULL);
	    FUZZ_CHECK(m.syslog_on <= 1 && m.webhook_on <= 1);
	    if (m.syslog_on) {
		FUZZ_CHECK(m.syslog_port >= 1 && m.syslog_port <= 65535);
		FUZZ_CHECK(m.syslog_ca_len >= 1);
	    } else
		FUZZ_CHECK(m.syslog_ca_len == 0 && m.syslog_cert_len == 0);
	    FUZZ_CHECK((m.syslog_cert_len == 0) == (m.syslog_key_len == 0));
	    if (m.webhook_on) {
		FUZZ_CHECK(m.webhook_path[0] == '/');
		FUZZ_CHECK(m.webhook_secret_len >= 1 &&
		    m.webhook_secret_len <= EXPORT_SECRET_MAX);
	    } else
		FUZZ_CHECK(m.webhook_ca_len == 0 &&
		    m.webhook_secret_len == 0);
	    check_ref(m.syslog_ca, m.syslog_ca_len);
	    check_ref(m.syslog_cert, m.syslog_cert_len);
	    check_ref(m.syslog_key, m.syslog_key_len);
	    check_ref(m.webhook_ca, m.webhook_ca_len);
	    check_ref(m.webhook_secret, m.webhook_secret_len))
	CASE(IPC_EXPORT_EVENT, export_event,
	    FUZZ_CHECK(m.target < EXPORT_TARGETS);
	    check_id(m.seq);
	    FUZZ_CHECK(m.json_len >= 1 && m.json_len <= EXPORT_EVENT_MAX);
	    check_ref((const uint8_t *)m.json, m.json_len);
	    FUZZ_CHECK(memchr(m.json, '\0', m.json_len) == NULL))
	CASE(IPC_EXPORT_ACK, export_ack,
	    STR(m.error);
	    FUZZ_CHECK(m.target < EXPORT_TARGETS);
	    FUZZ_CHECK(m.seq <= INT64_MAX && m.state < EXPORT_STATE_MAX);
	    FUZZ_CHECK(m.dropped <= EXPORT_WINDOW);
	    FUZZ_CHECK(m.seq != 0 || m.dropped == 0))
	CASE(IPC_EXPORT_DROP, export_drop,
	    FUZZ_CHECK(m.target < EXPORT_TARGETS);
	    check_id(m.seq))
	CASE(IPC_METRICS_GET, metrics_get,
	    STR(m.token); STR(m.client);
	    FUZZ_CHECK(strchr(m.token, ' ') == NULL);
	    for (int r = 0; r < WEB_ROUTES; r++)
		    FUZZ_CHECK(histo_valid(&m.http[r])))
	CASE(IPC_TENTACLE_ADDRESSES, tentacle_addresses,
	    FUZZ_CHECK((m.flags & ~(ADDRESSES_FIRST | ADDRESSES_LAST)) == 0);
	    FUZZ_CHECK(m.count <= IPCMSG_ADDRESSES_MAX);
	    FUZZ_CHECK((m.count == 0) == (m.keys == NULL));
	    check_ref(m.keys, m.count * NET_ADDR_KEY_LEN))
	default:
		break;
	}
	buf_free(&out);
	free(p);
	return 0;
}
