/*
 * wire_decode (brain <-> tentacle frames) on arbitrary bytes, read as a
 * stream of frames the way a connection reads them.
 *
 * Invariants: an OK frame has consumed == 8 + len <= size, a known type,
 * len <= WIRE_PAYLOAD_MAX and its payload right after the header; encoding
 * it again gives back exactly the bytes consumed. An error is final (more
 * bytes never turn it into another answer) and is seen within the header;
 * every strict prefix of a good frame is "need more".
 */
#include <string.h>

#include "fuzz.h"
#include "limits.h"
#include "wire.h"

static void
check_prefixes(const uint8_t *data, size_t size, enum wire_status whole,
    size_t consumed)
{
	struct wire_frame	f;
	enum wire_status	s;
	size_t			k, used, upto;

	/* A good frame: every cut is "need more" (the payload may be long:
	 * the header cuts and a few payload cuts are enough). */
	if (whole == WIRE_OK) {
		for (k = 0; k < consumed; k++) {
			if (k > WIRE_HDR_LEN + 16 && k + 16 < consumed)
				k = consumed - 16;
			FUZZ_CHECK(wire_decode(data, k, &f, &used) ==
			    WIRE_NEED_MORE);
		}
		return;
	}
	/* An error: visible from the header alone, and no prefix gives
	 * another error. */
	upto = size < WIRE_HDR_LEN ? size : WIRE_HDR_LEN;
	for (k = 0; k <= upto; k++) {
		s = wire_decode(data, k, &f, &used);
		FUZZ_CHECK(s == WIRE_NEED_MORE || s == whole);
	}
	if (whole != WIRE_NEED_MORE)
		FUZZ_CHECK(wire_decode(data, upto, &f, &used) == whole);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wire_frame	 f;
	struct buf		 b;
	enum wire_status	 s;
	size_t			 consumed, off = 0;
	int			 frames = 0;

	buf_init(&b, WIRE_HDR_LEN + WIRE_PAYLOAD_MAX);
	for (;;) {
		consumed = 0;
		memset(&f, 0, sizeof(f));
		s = wire_decode(data + off, size - off, &f, &consumed);
		FUZZ_CHECK(wire_status_str(s) != NULL);
		FUZZ_CHECK(s >= WIRE_OK && s <= WIRE_TOO_LONG);
		check_prefixes(data + off, size - off, s, consumed);
		if (s != WIRE_OK)
			break;

		FUZZ_CHECK(f.type >= WIRE_ERROR && f.type < WIRE_TYPE_MAX);
		FUZZ_CHECK(strcmp(wire_type_str(f.type), "UNKNOWN") != 0);
		FUZZ_CHECK(f.len <= WIRE_PAYLOAD_MAX);
		FUZZ_CHECK(consumed == WIRE_HDR_LEN + (size_t)f.len);
		FUZZ_CHECK(consumed <= size - off);
		FUZZ_CHECK(f.payload == data + off + WIRE_HDR_LEN);

		/* Round trip: the encoder writes back the very bytes. */
		buf_reset(&b);
		FUZZ_CHECK(wire_encode(&b, f.type, f.payload, f.len) == 0);
		FUZZ_CHECK(b.len == consumed);
		FUZZ_CHECK(memcmp(b.data, data + off, consumed) == 0);

		off += consumed;
		/* Zero-length frames make progress too (8 bytes each), so
		 * the loop ends; bound it anyway. */
		if (++frames > 1024)
			break;
	}
	buf_free(&b);
	return 0;
}
