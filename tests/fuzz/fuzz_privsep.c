/*
 * The tentacle's privilege separation messages (tentacle/privsep.c):
 * privsep_decode_request, what the root supervisor reads from a command
 * worker that may have been taken over, and privsep_decode_done, what the
 * command worker reads back; and the messages that keep the tentacle's
 * key in the supervisor. The first input byte picks the decoder (modulo
 * 8: 0 RUN_REQUEST, 1 RUN_DONE, 2 RUN_ACCEPTED, 3 ENROLMENT_SET, 4
 * ENROLMENT_STORED / STATUS_SET, 5 HS_PROOF_ASK, 6 HS_PROOF, 7
 * HS_NONCES); the
 * rest is the payload, in a buffer of exactly its size. Every accepted
 * message encodes back to exactly the input (ENROLMENT_SET: to an
 * enrolment that parses to the same).
 *
 * Invariants: a refusal has a reason; an accepted RUN_REQUEST has a job
 * in 1..INT64_MAX and a script name proto_script_name_valid() accepts
 * (no slash, no leading dot, so never "..") and encodes back to exactly
 * the input; an accepted RUN_DONE has the shape of a result, its output
 * inside the buffer, and encodes back to exactly the input.
 */
#include <string.h>

#include "crypto.h"
#include "enrolment.h"
#include "fuzz.h"
#include "handshake.h"
#include "ipc.h"
#include "privsep.h"

static void
fuzz_more(int sel, const uint8_t *p, size_t len, struct buf *out)
{
	struct msg_order_ack	 a;
	struct privsep_enrolment e, e2;
	struct privsep_proof_ask q;
	struct privsep_proof	 r;
	const char		*why = NULL;
	uint8_t			 v;
	int			 rc;

	switch (sel) {
	case 2:
		rc = privsep_decode_accepted(p, len, &a, &why);
		if (rc == 0) {
			FUZZ_CHECK(a.job >= 1 && a.job <= INT64_MAX);
			FUZZ_CHECK(a.accepted <= 1);
			FUZZ_CHECK(proto_printable(a.message));
			FUZZ_CHECK(privsep_encode_accepted(out, &a) == 0);
		}
		break;
	case 3:
		rc = privsep_decode_enrolment(p, len, &e, &why);
		if (rc == 0) {
			FUZZ_CHECK(privsep_encode_enrolment(out, &e) == 0);
			FUZZ_CHECK(privsep_decode_enrolment(out->data,
			    out->len, &e2, &why) == 0);
			FUZZ_CHECK(memcmp(&e, &e2, sizeof(e)) == 0);
			buf_reset(out);
			crypto_wipe(&e2, sizeof(e2));
		} else
			FUZZ_CHECK(why != NULL && why[0] != '\0');
		crypto_wipe(&e, sizeof(e));
		return;
	case 4:
		rc = privsep_decode_u8(p, len, &v, ENROLMENT_REJECTED, &why);
		if (rc == 0) {
			FUZZ_CHECK(v <= ENROLMENT_REJECTED);
			FUZZ_CHECK(privsep_encode_u8(out, v,
			    ENROLMENT_REJECTED) == 0);
		}
		break;
	case 5:
		rc = privsep_decode_proof_ask(p, len, &q, &why);
		if (rc == 0) {
			FUZZ_CHECK(q.request != 0 && q.id != 0);
			FUZZ_CHECK(q.role == HS_CLIENT || q.role == HS_SERVER);
			FUZZ_CHECK(privsep_encode_proof_ask(out, &q) == 0);
		}
		break;
	case 7: {
		const uint8_t	*n;
		size_t		 count;

		rc = privsep_decode_nonces(p, len, &n, &count, &why);
		if (rc == 0) {
			FUZZ_CHECK(count >= 1 && count <= PRIVSEP_NONCES_MAX);
			FUZZ_CHECK(n >= p && n + count * PROTO_NONCE_LEN <=
			    p + len);
			FUZZ_CHECK(privsep_encode_nonces(out, n, count) == 0);
		}
		break;
	}
	default:
		rc = privsep_decode_proof(p, len, &r, &why);
		if (rc == 0) {
			FUZZ_CHECK(r.ok <= 1 && proto_printable(r.why));
			FUZZ_CHECK(r.ok || r.why[0] != '\0');
			FUZZ_CHECK(privsep_encode_proof(out, &r) == 0);
		}
		break;
	}
	FUZZ_CHECK(rc == 0 || rc == -1);
	if (rc == -1)
		FUZZ_CHECK(why != NULL && why[0] != '\0');
	else
		FUZZ_CHECK(out->len == len && memcmp(out->data, p, len) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct msg_result	 m;
	struct buf		 out;
	const char		*why;
	uint8_t			*p;
	uint64_t		 job;
	char			 script[PROTO_SCRIPT_NAME_MAX];
	char			 sha[OCTO_FPR_HEX_LEN + 1];
	uint8_t			 mac[PROTO_MAC_LEN], xp[PROTO_EXPORTER_LEN];
	size_t			 len;
	int			 rc, sel;

	if (size == 0 || size - 1 > IPC_PAYLOAD_MAX)
		return 0;
	len = size - 1;
	FUZZ_CHECK((p = malloc(len ? len : 1)) != NULL);
	memcpy(p, data + 1, len);
	buf_init(&out, IPC_PAYLOAD_MAX);
	why = NULL;
	sel = data[0] % 8;
	if (sel >= 2) {
		fuzz_more(sel, p, len, &out);
		buf_free(&out);
		free(p);
		return 0;
	}
	if (sel == 0) {
		memset(script, 'J', sizeof(script));
		rc = privsep_decode_request(p, len, &job, script,
		    sizeof(script), sha, mac, xp, &why);
		FUZZ_CHECK(rc == 0 || rc == -1);
		if (rc == -1)
			FUZZ_CHECK(why != NULL && why[0] != '\0');
		else {
			FUZZ_CHECK(job >= 1 && job <= INT64_MAX);
			FUZZ_CHECK(memchr(script, '\0', sizeof(script)) !=
			    NULL);
			FUZZ_CHECK(proto_script_name_valid(script));
			FUZZ_CHECK(strchr(script, '/') == NULL &&
			    script[0] != '.');
			FUZZ_CHECK(sha[0] == '\0' ||
			    proto_fingerprint_valid(sha));
			FUZZ_CHECK(privsep_encode_request(&out, job, script,
			    sha, mac, xp) == 0);
			FUZZ_CHECK(out.len == len &&
			    memcmp(out.data, p, len) == 0);
		}
	} else {
		rc = privsep_decode_done(p, len, &m, &why);
		FUZZ_CHECK(rc == 0 || rc == -1);
		if (rc == -1)
			FUZZ_CHECK(why != NULL && why[0] != '\0');
		else {
			FUZZ_CHECK(m.job >= 1 && m.job <= INT64_MAX);
			FUZZ_CHECK(m.outcome >= OUTCOME_RAN &&
			    m.outcome < OUTCOME_MAX);
			FUZZ_CHECK(m.exit_status >= -1 &&
			    m.exit_status <= 255);
			FUZZ_CHECK(m.signal >= 0 && m.signal < 128);
			FUZZ_CHECK(m.truncated <= 1);
			FUZZ_CHECK(m.output_len <= PROTO_OUTPUT_MAX);
			FUZZ_CHECK(m.output_len == 0 || (m.output >= p &&
			    m.output + m.output_len <= p + len));
			FUZZ_CHECK(m.sha256[0] == '\0' ||
			    proto_fingerprint_valid(m.sha256));
			FUZZ_CHECK(privsep_encode_done(&out, &m) == 0);
			FUZZ_CHECK(out.len == len &&
			    memcmp(out.data, p, len) == 0);
		}
	}
	buf_free(&out);
	free(p);
	return 0;
}
