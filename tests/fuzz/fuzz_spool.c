/*
 * The tentacle's spool file reader (tentacle/spool.c, spool_parse: every
 * result file read at start-up and before delivery), with spool_format.
 *
 * The first input byte is a flag: when its low bit is set the target
 * rewrites the file's last field with the right SHA-256 of the rest, so
 * the fuzzer reaches the field checks behind the digest; the rest is the
 * file (in a buffer of exactly its size).
 *
 * Invariants: a refusal has a reason and leaves an all-zero result; an
 * accepted file holds a result of the shape the protocol allows (the one
 * proto_encode_result takes, output pointing inside the file), formats
 * back to exactly the same bytes, and goes on the wire as a RESULT frame
 * that decodes to the same result.
 */
#include <string.h>

#include "crypto.h"
#include "fuzz.h"
#include "pack.h"
#include "proto.h"
#include "spool.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct spool_result	 res;
	struct msg_result	*m = &res.r, back;
	struct wire_frame	 f;
	struct buf		 out, frame;
	const char		*why;
	uint8_t			*file, digest[SHA256_LEN];
	size_t			 len, used;
	char			 err[128];
	int			 rc;

	if (size == 0 || size - 1 > SPOOL_FILE_MAX)
		return 0;
	len = size - 1;
	FUZZ_CHECK((file = malloc(len ? len : 1)) != NULL);
	memcpy(file, data + 1, len);
	if ((data[0] & 1) && len >= SPOOL_MAGIC_LEN + 4 + SHA256_LEN) {
		/* u32 32, then the digest of everything before. */
		file[len - SHA256_LEN - 4] = 0;
		file[len - SHA256_LEN - 3] = 0;
		file[len - SHA256_LEN - 2] = 0;
		file[len - SHA256_LEN - 1] = SHA256_LEN;
		FUZZ_CHECK(crypto_sha256(file, len - SHA256_LEN - 4,
		    digest) == 0);
		memcpy(file + len - SHA256_LEN, digest, SHA256_LEN);
	}

	memset(&res, 0xa5, sizeof(res));
	memset(err, 'J', sizeof(err));
	err[0] = '\0';
	rc = spool_parse(file, len, &res, err, sizeof(err));
	FUZZ_CHECK(rc == 0 || rc == -1);
	if (rc == -1) {
		FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL &&
		    err[0] != '\0');
		FUZZ_CHECK(fuzz_all_zero(&res, sizeof(res)));
		free(file);
		return 0;
	}

	FUZZ_CHECK(m->job >= 1 && m->job <= INT64_MAX);
	FUZZ_CHECK(m->outcome >= OUTCOME_RAN && m->outcome < OUTCOME_MAX);
	FUZZ_CHECK(m->exit_status >= -1 && m->exit_status <= 255);
	FUZZ_CHECK(m->signal >= 0 && m->signal < 128);
	FUZZ_CHECK(m->truncated <= 1);
	FUZZ_CHECK(m->started_at_ms <= INT64_MAX &&
	    m->duration_ms <= INT64_MAX);
	FUZZ_CHECK(m->output_len <= PROTO_OUTPUT_MAX);
	FUZZ_CHECK(m->output_len == 0 || (m->output >= file &&
	    m->output + m->output_len <= file + len));

	/* Formatted again: the very same file. */
	buf_init(&out, SPOOL_FILE_MAX);
	FUZZ_CHECK(spool_format(&out, m) == 0);
	FUZZ_CHECK(out.len == len && memcmp(out.data, file, len) == 0);
	buf_free(&out);

	/* Sent to the brain: a RESULT frame with the same result. */
	buf_init(&frame, WIRE_HDR_LEN + WIRE_PAYLOAD_MAX);
	FUZZ_CHECK(proto_encode_result(&frame, m) == 0);
	FUZZ_CHECK(wire_decode(frame.data, frame.len, &f, &used) == WIRE_OK);
	FUZZ_CHECK(proto_decode_result(&f, &back, &why) == 0);
	FUZZ_CHECK(back.job == m->job && back.outcome == m->outcome &&
	    back.exit_status == m->exit_status && back.signal == m->signal &&
	    back.started_at_ms == m->started_at_ms &&
	    back.duration_ms == m->duration_ms &&
	    back.truncated == m->truncated &&
	    back.output_len == m->output_len);
	FUZZ_CHECK(m->output_len == 0 ||
	    memcmp(back.output, m->output, m->output_len) == 0);
	buf_free(&frame);
	free(file);
	return 0;
}
