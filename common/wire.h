/*
 * The brain <-> tentacle wire protocol: length-prefixed, versioned frames
 * inside TLS. Header (8 bytes):
 *
 *	magic "OC" (2) | version (1) | type (1) | payload length (4, BE)
 *
 * then the payload, whose fields are marshalled with pack.h. A frame longer
 * than WIRE_PAYLOAD_MAX, of another version or of an unknown type is a
 * protocol error: the receiver logs it and closes the connection.
 */
#ifndef OCTO_WIRE_H
#define OCTO_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define WIRE_MAGIC0	'O'
#define WIRE_MAGIC1	'C'
#define WIRE_VERSION	2	/* 2: proofs in client-first order,
				   MACed orders and results, wrapped keys */
#define WIRE_HDR_LEN	8

/* Frame types. Later protocol steps add theirs before WIRE_TYPE_MAX. */
enum wire_type {
	WIRE_ERROR = 1,		/* str: reason, for a person; then close */
	WIRE_HELLO,		/* opening message (report 4.2) */
	WIRE_HELLO_ACK,		/* its acknowledgement */
	WIRE_ENROL_REQUEST,	/* tentacle: who I am (proto.h) */
	WIRE_ENROL_REPLY,	/* brain: ID, key, status */
	WIRE_AUTH_ID,		/* client: tentacle ID + nonce */
	WIRE_AUTH_CHALLENGE,	/* server: nonce + proof */
	WIRE_AUTH_PROOF,	/* client: proof */
	WIRE_AUTH_OK,		/* server: both proven */
	WIRE_STATUS,		/* brain: enrolment status (poll, ping) */
	WIRE_ORDER,		/* brain: run this script for this job */
	WIRE_ORDER_ACK,		/* tentacle: will run it, or why not */
	WIRE_RESULT,		/* tentacle: a job's result */
	WIRE_RESULT_ACK,	/* brain: stored, delete your spool file */
	WIRE_INVENTORY,		/* tentacle: facts and scripts (keepalive) */
	WIRE_PAIR_REQUIRED,	/* tentacle: show me the pairing code first */
	WIRE_PAIR_PROOF,	/* either: proof of the pairing code */
	WIRE_SIGNKEY,		/* brain: its script-signing key (MACed) */
	WIRE_SCRIPT_PUT,	/* brain: a managed script, signed */
	WIRE_SCRIPT_DELETE,	/* brain: delete one, signed */
	WIRE_SCRIPT_ACK,	/* tentacle: done, or refused and why */
	WIRE_TYPE_MAX
};

enum wire_status {
	WIRE_OK = 0,
	WIRE_NEED_MORE,		/* not a whole frame yet: read more */
	WIRE_BAD_MAGIC,		/* not an Octopus peer (HTTP, garbage) */
	WIRE_BAD_VERSION,
	WIRE_BAD_TYPE,
	WIRE_TOO_LONG,
};

struct wire_frame {
	uint8_t		 type;
	uint32_t	 len;
	const uint8_t	*payload;	/* points into the decoded buffer */
};

/*
 * Decode the first frame of buf. On WIRE_OK fills *f and sets *consumed
 * to header + payload length. Errors are detected as early as the header
 * allows (a bad magic after 2 bytes, an oversized length at 8).
 * Pure function: no allocation, no I/O.
 */
enum wire_status wire_decode(const uint8_t *buf, size_t len,
	    struct wire_frame *f, size_t *consumed);

/* Fill the 8-byte header of a frame; -1 if type or len is not valid. */
int	wire_header(uint8_t hdr[WIRE_HDR_LEN], uint8_t type, size_t len);

/* Append a whole frame to out. -1 if too long or out's limit is hit. */
int	wire_encode(struct buf *out, uint8_t type, const void *payload,
	    size_t len);

const char *wire_status_str(enum wire_status);
const char *wire_type_str(uint8_t type);

#endif
