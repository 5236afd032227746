/*
 * ipc_decode (maestro <-> child messages: a compromised child is a hostile
 * peer) on arbitrary bytes, read as a stream of messages the way the
 * channel reads them.
 *
 * Invariants: an OK message has consumed == 12 + len <= size, a known
 * type, len <= IPC_PAYLOAD_MAX and its payload right after the header;
 * encoding it again gives back exactly the bytes consumed. An error is
 * final and seen within the header; every strict prefix of a good message
 * is "need more".
 */
#include <string.h>

#include "fuzz.h"
#include "ipc.h"
#include "limits.h"

static void
check_prefixes(const uint8_t *data, size_t size, enum ipc_status whole,
    size_t consumed)
{
	struct ipc_msg		m;
	enum ipc_status		s;
	size_t			k, used, upto;

	if (whole == IPC_OK) {
		for (k = 0; k < consumed; k++) {
			if (k > IPC_HDR_LEN + 16 && k + 16 < consumed)
				k = consumed - 16;
			FUZZ_CHECK(ipc_decode(data, k, &m, &used) ==
			    IPC_NEED_MORE);
		}
		return;
	}
	upto = size < IPC_HDR_LEN ? size : IPC_HDR_LEN;
	for (k = 0; k <= upto; k++) {
		s = ipc_decode(data, k, &m, &used);
		FUZZ_CHECK(s == IPC_NEED_MORE || s == whole);
	}
	if (whole != IPC_NEED_MORE)
		FUZZ_CHECK(ipc_decode(data, upto, &m, &used) == whole);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ipc_msg		 m;
	struct buf		 b;
	enum ipc_status		 s;
	size_t			 consumed, off = 0;
	int			 msgs = 0;

	buf_init(&b, IPC_HDR_LEN + IPC_PAYLOAD_MAX);
	for (;;) {
		consumed = 0;
		memset(&m, 0, sizeof(m));
		s = ipc_decode(data + off, size - off, &m, &consumed);
		FUZZ_CHECK(ipc_status_str(s) != NULL);
		FUZZ_CHECK(s >= IPC_OK && s <= IPC_TOO_LONG);
		check_prefixes(data + off, size - off, s, consumed);
		if (s != IPC_OK)
			break;

		FUZZ_CHECK(m.hdr.type > IPC_NONE && m.hdr.type < IPC_TYPE_MAX);
		FUZZ_CHECK(strcmp(ipc_type_str(m.hdr.type), "UNKNOWN") != 0);
		FUZZ_CHECK(m.hdr.len <= IPC_PAYLOAD_MAX);
		FUZZ_CHECK(consumed == IPC_HDR_LEN + (size_t)m.hdr.len);
		FUZZ_CHECK(consumed <= size - off);
		FUZZ_CHECK(m.payload == data + off + IPC_HDR_LEN);

		buf_reset(&b);
		FUZZ_CHECK(ipc_encode(&b, m.hdr.type, m.hdr.id, m.payload,
		    m.hdr.len) == 0);
		FUZZ_CHECK(b.len == consumed);
		FUZZ_CHECK(memcmp(b.data, data + off, consumed) == 0);

		off += consumed;
		if (++msgs > 1024)
			break;
	}
	buf_free(&b);
	return 0;
}
