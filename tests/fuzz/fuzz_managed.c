/*
 * Managed scripts on the tentacle (issue 14): managed_sig_parse
 * (tentacle/managed.c: a script's record, read by the root supervisor
 * before every run of it and at every put), and the supervisor's IPC
 * about them (tentacle/privsep.c): privsep_decode_script_req and
 * privsep_decode_inventory_ask, what the root supervisor reads from a
 * command worker that may have been taken over, privsep_decode_script_done
 * and privsep_decode_inventory, what the worker reads back. The first
 * input byte picks one (modulo 5); the rest is the input, in a buffer of
 * exactly its size.
 *
 * Invariants: a refusal has a reason (and a refused record leaves an
 * all-zero struct); an accepted record has a version >= 1, a valid hash
 * unless deleted, and formats back to exactly the input; an accepted
 * message has its IDs >= 1, known types, pointers inside the buffer,
 * printable inventory and hex key, and encodes back to exactly the input.
 */
#include <string.h>

#include "fuzz.h"
#include "managed.h"
#include "privsep.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct managed_sig		 s;
	struct privsep_script_req	 r;
	struct privsep_inventory	 v;
	struct msg_script_ack		 a;
	struct buf			 out;
	const char			*why;
	char				 err[128];
	uint8_t				*p;
	uint64_t			 id;
	size_t				 len, i;
	int				 rc;

	if (size == 0 || size - 1 > IPC_PAYLOAD_MAX)
		return 0;
	len = size - 1;
	FUZZ_CHECK((p = malloc(len ? len : 1)) != NULL);
	memcpy(p, data + 1, len);
	buf_init(&out, IPC_PAYLOAD_MAX);
	why = NULL;
	switch (data[0] % 5) {
	case 0:
		err[0] = '\0';
		rc = managed_sig_parse((const char *)p, len, &s, err,
		    sizeof(err));
		FUZZ_CHECK(rc == 0 || rc == -1);
		if (rc == -1) {
			FUZZ_CHECK(err[0] != '\0');
			FUZZ_CHECK(fuzz_all_zero(&s, sizeof(s)));
			break;
		}
		FUZZ_CHECK(s.version >= 1);
		FUZZ_CHECK(s.deleted ? s.sha256[0] == '\0' :
		    proto_fingerprint_valid(s.sha256));
		FUZZ_CHECK(managed_sig_format(&out, &s) == 0);
		FUZZ_CHECK(out.len == len && memcmp(out.data, p, len) == 0);
		break;
	case 1:
		rc = privsep_decode_script_req(p, len, &r, &why);
		FUZZ_CHECK(rc == 0 || rc == -1);
		if (rc == -1) {
			FUZZ_CHECK(why != NULL && why[0] != '\0');
			break;
		}
		FUZZ_CHECK(r.request >= 1);
		FUZZ_CHECK(r.type == WIRE_SIGNKEY || r.type ==
		    WIRE_SCRIPT_PUT || r.type == WIRE_SCRIPT_DELETE);
		FUZZ_CHECK(r.frame_len <= WIRE_PAYLOAD_MAX);
		FUZZ_CHECK(r.frame_len == 0 || (r.frame >= p && r.frame +
		    r.frame_len <= p + len));
		FUZZ_CHECK(privsep_encode_script_req(&out, &r) == 0);
		FUZZ_CHECK(out.len == len && memcmp(out.data, p, len) == 0);
		break;
	case 2:
		rc = privsep_decode_script_done(p, len, &id, &a, &why);
		FUZZ_CHECK(rc == 0 || rc == -1);
		if (rc == -1) {
			FUZZ_CHECK(why != NULL && why[0] != '\0');
			break;
		}
		FUZZ_CHECK(id >= 1);
		FUZZ_CHECK(a.status == SCRIPT_ACK_OK ||
		    a.status == SCRIPT_ACK_REFUSED);
		FUZZ_CHECK(memchr(a.message, '\0', sizeof(a.message)) != NULL);
		FUZZ_CHECK(privsep_encode_script_done(&out, id, &a) == 0);
		FUZZ_CHECK(out.len == len && memcmp(out.data, p, len) == 0);
		break;
	case 3:
		rc = privsep_decode_inventory_ask(p, len, &id, &why);
		FUZZ_CHECK(rc == 0 || rc == -1);
		if (rc == -1) {
			FUZZ_CHECK(why != NULL && why[0] != '\0');
			break;
		}
		FUZZ_CHECK(id >= 1);
		FUZZ_CHECK(privsep_encode_inventory_ask(&out, id) == 0);
		FUZZ_CHECK(out.len == len && memcmp(out.data, p, len) == 0);
		break;
	default:
		rc = privsep_decode_inventory(p, len, &v, &why);
		FUZZ_CHECK(rc == 0 || rc == -1);
		if (rc == -1) {
			FUZZ_CHECK(why != NULL && why[0] != '\0');
			break;
		}
		FUZZ_CHECK(v.request >= 1 && v.managed <= 1);
		FUZZ_CHECK(strlen(v.signkey) == 0 ||
		    strlen(v.signkey) == 2 * PROTO_SIGN_PUB_LEN);
		FUZZ_CHECK(v.scripts_len <= PROTO_SCRIPTS_MAX);
		FUZZ_CHECK(v.scripts_len == 0 ||
		    ((const uint8_t *)v.scripts >= p &&
		    (const uint8_t *)v.scripts + v.scripts_len <= p + len));
		for (i = 0; i < v.scripts_len; i++)
			FUZZ_CHECK(v.scripts[i] >= 0x20 && v.scripts[i] <= 0x7e);
		FUZZ_CHECK(privsep_encode_inventory(&out, &v) == 0);
		FUZZ_CHECK(out.len == len && memcmp(out.data, p, len) == 0);
	}
	buf_free(&out);
	free(p);
	return 0;
}
