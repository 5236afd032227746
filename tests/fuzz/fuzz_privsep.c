/*
 * The tentacle's privilege separation messages (tentacle/privsep.c):
 * privsep_decode_request, what the root supervisor reads from a command
 * worker that may have been taken over, and privsep_decode_done, what the
 * command worker reads back. The first input byte picks the decoder (low
 * bit: 0 RUN_REQUEST, 1 RUN_DONE); the rest is the payload, in a buffer
 * of exactly its size.
 *
 * Invariants: a refusal has a reason; an accepted RUN_REQUEST has a job
 * in 1..INT64_MAX and a script name proto_script_name_valid() accepts
 * (no slash, no leading dot, so never "..") and encodes back to exactly
 * the input; an accepted RUN_DONE has the shape of a result, its output
 * inside the buffer, and encodes back to exactly the input.
 */
#include <string.h>

#include "fuzz.h"
#include "ipc.h"
#include "privsep.h"

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
	size_t			 len;
	int			 rc;

	if (size == 0 || size - 1 > IPC_PAYLOAD_MAX)
		return 0;
	len = size - 1;
	FUZZ_CHECK((p = malloc(len ? len : 1)) != NULL);
	memcpy(p, data + 1, len);
	buf_init(&out, IPC_PAYLOAD_MAX);
	why = NULL;
	if ((data[0] & 1) == 0) {
		memset(script, 'J', sizeof(script));
		rc = privsep_decode_request(p, len, &job, script,
		    sizeof(script), sha, &why);
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
			    sha) == 0);
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
