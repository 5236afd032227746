/*
 * Brain <-> tentacle frames: a pure decoder and an encoder.
 */
#include <string.h>

#include "limits.h"
#include "wire.h"

enum wire_status
wire_decode(const uint8_t *buf, size_t len, struct wire_frame *f,
    size_t *consumed)
{
	uint32_t	plen;

	/* Check each header byte as soon as it is there: a plain-TCP or
	 * HTTP client is refused at its first byte. */
	if (len >= 1 && buf[0] != WIRE_MAGIC0)
		return WIRE_BAD_MAGIC;
	if (len >= 2 && buf[1] != WIRE_MAGIC1)
		return WIRE_BAD_MAGIC;
	if (len >= 3 && buf[2] != WIRE_VERSION)
		return WIRE_BAD_VERSION;
	if (len >= 4 && (buf[3] == 0 || buf[3] >= WIRE_TYPE_MAX))
		return WIRE_BAD_TYPE;
	if (len < WIRE_HDR_LEN)
		return WIRE_NEED_MORE;
	plen = (uint32_t)buf[4] << 24 | (uint32_t)buf[5] << 16 |
	    (uint32_t)buf[6] << 8 | (uint32_t)buf[7];
	if (plen > WIRE_PAYLOAD_MAX)
		return WIRE_TOO_LONG;
	if (len - WIRE_HDR_LEN < plen)
		return WIRE_NEED_MORE;
	f->type = buf[3];
	f->len = plen;
	f->payload = buf + WIRE_HDR_LEN;
	*consumed = WIRE_HDR_LEN + (size_t)plen;
	return WIRE_OK;
}

int
wire_header(uint8_t hdr[WIRE_HDR_LEN], uint8_t type, size_t len)
{
	if (type == 0 || type >= WIRE_TYPE_MAX || len > WIRE_PAYLOAD_MAX)
		return -1;
	hdr[0] = WIRE_MAGIC0;
	hdr[1] = WIRE_MAGIC1;
	hdr[2] = WIRE_VERSION;
	hdr[3] = type;
	hdr[4] = (uint8_t)(len >> 24);
	hdr[5] = (uint8_t)(len >> 16);
	hdr[6] = (uint8_t)(len >> 8);
	hdr[7] = (uint8_t)len;
	return 0;
}

int
wire_encode(struct buf *out, uint8_t type, const void *payload, size_t len)
{
	uint8_t	hdr[WIRE_HDR_LEN];

	if (wire_header(hdr, type, len) == -1 || (len > 0 && payload == NULL))
		return -1;
	/* Reserve the whole frame: never leave half a frame in out. */
	if (buf_reserve(out, WIRE_HDR_LEN + len) == -1)
		return -1;
	if (buf_append(out, hdr, sizeof(hdr)) == -1 ||
	    buf_append(out, payload, len) == -1)
		return -1;
	return 0;
}

const char *
wire_status_str(enum wire_status s)
{
	switch (s) {
	case WIRE_OK:
		return "ok";
	case WIRE_NEED_MORE:
		return "truncated frame";
	case WIRE_BAD_MAGIC:
		return "bad magic";
	case WIRE_BAD_VERSION:
		return "unsupported protocol version";
	case WIRE_BAD_TYPE:
		return "unknown frame type";
	case WIRE_TOO_LONG:
		return "frame too long";
	}
	return "unknown status";
}

const char *
wire_type_str(uint8_t type)
{
	static const char *const names[WIRE_TYPE_MAX] = {
		[WIRE_ERROR] = "ERROR",
		[WIRE_HELLO] = "HELLO",
		[WIRE_HELLO_ACK] = "HELLO_ACK",
		[WIRE_ENROL_REQUEST] = "ENROL_REQUEST",
		[WIRE_ENROL_REPLY] = "ENROL_REPLY",
		[WIRE_AUTH_ID] = "AUTH_ID",
		[WIRE_AUTH_CHALLENGE] = "AUTH_CHALLENGE",
		[WIRE_AUTH_PROOF] = "AUTH_PROOF",
		[WIRE_AUTH_OK] = "AUTH_OK",
		[WIRE_STATUS] = "STATUS",
		[WIRE_ORDER] = "ORDER",
		[WIRE_ORDER_ACK] = "ORDER_ACK",
		[WIRE_RESULT] = "RESULT",
		[WIRE_RESULT_ACK] = "RESULT_ACK",
		[WIRE_INVENTORY] = "INVENTORY",
		[WIRE_PAIR_REQUIRED] = "PAIR_REQUIRED",
		[WIRE_PAIR_PROOF] = "PAIR_PROOF",
		[WIRE_SIGNKEY] = "SIGNKEY",
		[WIRE_SCRIPT_PUT] = "SCRIPT_PUT",
		[WIRE_SCRIPT_DELETE] = "SCRIPT_DELETE",
		[WIRE_SCRIPT_ACK] = "SCRIPT_ACK",
	};

	if (type >= WIRE_TYPE_MAX || names[type] == NULL)
		return "UNKNOWN";
	return names[type];
}
