/*
 * The handshake state machine (common/handshake.c) fed sequences of
 * frames. The first input byte picks a mode and a purpose, the second a
 * few flags; the rest is frames, or a script:
 *
 *	mode 0: a server fed the input's frames (the fuzzer is the client);
 *	mode 1: a client fed the input's frames (the fuzzer is the server);
 *	mode 2: an honest client and server talking, the fuzzer in the
 *		middle: for each frame in transit a script byte says pass,
 *		replay it, flip a bit, drop it, replace it or slip in a
 *		frame of its own.
 *
 * With flag 4 neither side holds the key in its struct: the client's
 * proofs and the server's verdict come from hs_proof(), as the brain's
 * maestro makes them for its children (HS_NEED_PROOF, HS_NEED_CHECK).
 *
 * Invariants: a fuzzer that does not hold the key never completes a
 * handshake (the nonces are fresh random bytes, so no proof can be
 * guessed or replayed); only a HELLO{ENROL} skips authentication, and
 * only as the first step; after an end (DONE, ENROL, FAIL) every frame
 * fails; a failure has a reason and leaves no key behind; every frame a
 * state machine emits decodes as the message due. In the middle: a side
 * that reaches DONE agrees with the other on purpose and tentacle ID; and
 * with nothing tampered, same key and same TLS exporter, both reach DONE
 * (or both ENROL); with another exporter (a relay) neither does.
 */
#include <string.h>

#include "fuzz.h"
#include "handshake.h"

#define TENTACLE_ID	42

static const uint8_t	key[PROTO_KEY_LEN] = "0123456789abcdef0123456789abcde";
static const uint8_t	other_key[PROTO_KEY_LEN] = "fedcba9876543210fedcba987654321";
static const uint8_t	exporter[HS_EXPORTER_LEN] = "exporter of this TLS session...";
static const uint8_t	relay_exporter[HS_EXPORTER_LEN] = "exporter of the relay's session";

static int	external;	/* flag 4: proofs from outside the machine */

static int
key_wiped(const struct handshake *hs)
{
	size_t	i;

	for (i = 0; i < sizeof(hs->key); i++)
		if (hs->key[i] != 0)
			return 0;
	return 1;
}

/* What a state machine emitted: whole frames, each one that is due. */
static void
check_output(const struct buf *out, size_t from, enum hs_role role)
{
	struct wire_frame		 f;
	struct msg_hello		 h;
	struct msg_auth_id		 id;
	struct msg_auth_challenge	 c;
	struct msg_auth_proof		 p;
	struct msg_auth_ok		 ok;
	const char			*why;
	size_t				 off = from, used;

	while (off < out->len) {
		FUZZ_CHECK(wire_decode(out->data + off, out->len - off, &f,
		    &used) == WIRE_OK);
		switch (f.type) {
		case WIRE_HELLO:
			FUZZ_CHECK(role == HS_CLIENT);
			FUZZ_CHECK(proto_decode_hello(&f, &h, &why) == 0);
			break;
		case WIRE_AUTH_ID:
			FUZZ_CHECK(role == HS_CLIENT);
			FUZZ_CHECK(proto_decode_auth_id(&f, &id, &why) == 0);
			break;
		case WIRE_AUTH_PROOF:
			FUZZ_CHECK(role == HS_CLIENT);
			FUZZ_CHECK(proto_decode_auth_proof(&f, &p, &why) == 0);
			break;
		case WIRE_HELLO_ACK:
			FUZZ_CHECK(role == HS_SERVER);
			FUZZ_CHECK(proto_decode_empty(&f, f.type, &why) == 0);
			break;
		case WIRE_AUTH_OK:
			FUZZ_CHECK(role == HS_SERVER);
			FUZZ_CHECK(proto_decode_auth_ok(&f, &ok, &why) == 0);
			break;
		case WIRE_AUTH_CHALLENGE:
			FUZZ_CHECK(role == HS_SERVER);
			FUZZ_CHECK(proto_decode_auth_challenge(&f, &c,
			    &why) == 0);
			break;
		default:
			FUZZ_CHECK(!"unexpected frame emitted");
		}
		off += used;
	}
}

/* After any result: the machine's invariants. */
static void
check_result(const struct handshake *hs, enum hs_result r)
{
	FUZZ_CHECK(r >= HS_AGAIN && r <= HS_FAIL);
	if (r == HS_FAIL) {
		FUZZ_CHECK(hs->error != NULL && hs->error[0] != '\0');
		FUZZ_CHECK(key_wiped(hs));
	}
	if (r == HS_NEED_CHECK)
		FUZZ_CHECK(hs->role == HS_SERVER && hs->id >= 1 &&
		    hs->id <= INT64_MAX);
	if (r == HS_NEED_PROOF)
		FUZZ_CHECK(hs->role == HS_CLIENT && external);
}

/* Feed one frame, answering a key lookup with key (NULL: unknown). */
static enum hs_result
feed(struct handshake *hs, const struct wire_frame *f, struct buf *out,
    const uint8_t *lookup)
{
	enum hs_result	r;
	size_t		from = out->len;

	struct hs_inputs	in;
	uint8_t			pc[PROTO_MAC_LEN], ps[PROTO_MAC_LEN];

	r = hs_input(hs, f, out);
	check_result(hs, r);
	if (r == HS_NEED_CHECK && !external) {
		r = hs_server_key(hs, hs->id == TENTACLE_ID ? lookup : NULL,
		    out);
		check_result(hs, r);
		FUZZ_CHECK(r == HS_DONE || r == HS_FAIL);
	} else if (r == HS_NEED_CHECK) {
		/* No proof of ours before the client's is checked. */
		FUZZ_CHECK(out->len == from);
		hs_inputs(hs, &in);
		if (lookup == NULL || hs->id != TENTACLE_ID)
			r = hs_server_verdict(hs, 0, pc, "unknown", out);
		else {
			FUZZ_CHECK(hs_proof(lookup, HS_CLIENT, &in, pc) == 0);
			FUZZ_CHECK(hs_proof(lookup, HS_SERVER, &in, ps) == 0);
			r = hs_server_verdict(hs, memcmp(pc, hs->peer_proof,
			    sizeof(pc)) == 0, ps, "wrong key", out);
		}
		check_result(hs, r);
		FUZZ_CHECK(r == HS_DONE || r == HS_FAIL);
	} else if (r == HS_NEED_PROOF) {
		hs_inputs(hs, &in);
		FUZZ_CHECK(hs_proof(key, HS_CLIENT, &in, pc) == 0);
		FUZZ_CHECK(hs_proof(key, HS_SERVER, &in, ps) == 0);
		r = hs_client_proofs(hs, pc, ps, out);
		check_result(hs, r);
		FUZZ_CHECK(r == HS_AGAIN || r == HS_FAIL);
	}
	check_output(out, from, hs->role);
	return r;
}

/* Modes 0 and 1: the fuzzer is the peer. */
static void
alone(enum hs_role role, uint8_t purpose, uint8_t flags,
    const uint8_t *data, size_t size)
{
	struct handshake	 hs;
	struct wire_frame	 f;
	struct buf		 out;
	enum hs_result		 r = HS_AGAIN;
	size_t			 off = 0, used;
	int			 n = 0, ended = 0;

	buf_init(&out, 1 << 20);
	if (role == HS_SERVER)
		hs_server_init(&hs, exporter);
	else {
		hs_client_init(&hs, purpose, TENTACLE_ID, external ? NULL :
		    key, exporter);
		r = hs_client_start(&hs, &out);
		check_result(&hs, r);
		FUZZ_CHECK(r == HS_AGAIN);
		check_output(&out, 0, role);
	}
	while (n < 32 && wire_decode(data + off, size - off, &f, &used) ==
	    WIRE_OK) {
		off += used;
		r = feed(&hs, &f, &out, flags & 1 ? key : NULL);
		/* Only a HELLO{ENROL} skips the proofs, and only first:
		 * the server on the first frame; the client, when it asked
		 * for enrolment, on the acknowledgement. */
		if (r == HS_ENROL)
			FUZZ_CHECK(n == 0 && !ended && (role == HS_SERVER ||
			    purpose == PURPOSE_ENROL));
		/* No proof can be made without the nonce just drawn. */
		FUZZ_CHECK(r != HS_DONE);
		if (ended)
			FUZZ_CHECK(r == HS_FAIL);
		if (r == HS_FAIL || r == HS_ENROL)
			ended = 1;
		n++;
	}
	hs_wipe(&hs);
	FUZZ_CHECK(key_wiped(&hs));
	buf_free(&out);
}

/* Mode 2: the script and the frames the fuzzer slips in. */
struct script {
	const uint8_t	*p;
	size_t		 len, off;
};

static uint8_t
script_byte(struct script *s)
{
	return s->off < s->len ? s->p[s->off++] : 0;
}

/* A frame of the fuzzer's own from the script, copied into *copy. */
static int
script_frame(struct script *s, struct wire_frame *f, uint8_t **copy)
{
	size_t	used;

	if (wire_decode(s->p + s->off, s->len - s->off, f, &used) != WIRE_OK)
		return -1;
	FUZZ_CHECK((*copy = malloc(used)) != NULL);
	memcpy(*copy, s->p + s->off, used);
	s->off += used;
	FUZZ_CHECK(wire_decode(*copy, used, f, &used) == WIRE_OK);
	return 0;
}

/* Carry the frames of from to the machine to, through the fuzzer.
 * Returns -1 once the connection is over (a frame dropped or mangled
 * beyond framing), else how many frames reached `to`. */
static int
carry(struct buf *from, struct handshake *to, struct buf *back,
    struct script *s, int *tampered, enum hs_result *res,
    const uint8_t *lookup)
{
	struct wire_frame	 f, g;
	uint8_t			*copy, *mine;
	size_t			 used, pos;
	int			 n = 0, stop = 0;

	while (!stop && from->len > 0) {
		FUZZ_CHECK(wire_decode(from->data, from->len, &f, &used) ==
		    WIRE_OK);
		FUZZ_CHECK((copy = malloc(used)) != NULL);
		memcpy(copy, from->data, used);
		buf_consume(from, used);
		switch (script_byte(s) % 8) {
		case 3:		/* replay it: the copy comes first */
			*tampered = 1;
			FUZZ_CHECK(wire_decode(copy, used, &g, &pos) ==
			    WIRE_OK);
			*res = feed(to, &g, back, lookup);
			n++;
			break;
		case 4:		/* flip one bit */
			pos = script_byte(s) % used;
			copy[pos] ^= (uint8_t)(1 << (script_byte(s) % 8));
			*tampered = 1;
			if (wire_decode(copy, used, &f, &used) != WIRE_OK)
				stop = 1;	/* the receiver closes */
			break;
		case 5:		/* drop: the receiver waits, then times out */
			*tampered = 1;
			stop = 1;
			break;
		case 6:		/* replace it with a frame of the fuzzer's */
			*tampered = 1;
			free(copy);
			if (script_frame(s, &f, &copy) == -1) {
				copy = NULL;
				stop = 1;
			}
			break;
		case 7:		/* slip one in before it */
			*tampered = 1;
			if (script_frame(s, &g, &mine) == 0) {
				*res = feed(to, &g, back, lookup);
				free(mine);
				n++;
			}
			if (wire_decode(copy, used, &f, &used) != WIRE_OK)
				stop = 1;
			break;
		default:	/* pass */
			FUZZ_CHECK(wire_decode(copy, used, &f, &used) ==
			    WIRE_OK);
			break;
		}
		if (!stop) {
			*res = feed(to, &f, back, lookup);
			n++;
		}
		free(copy);
	}
	return stop ? -1 : n;
}

static void
middle(uint8_t purpose, uint8_t flags, const uint8_t *data, size_t size)
{
	struct handshake	 c, s;
	struct buf		 to_s, to_c;
	struct script		 sc = { data, size, 0 };
	enum hs_result		 cr, sr = HS_AGAIN;
	const uint8_t		*skey = flags & 1 ? other_key : key;
	const uint8_t		*sexp = flags & 2 ? relay_exporter : exporter;
	int			 tampered = 0, rounds = 0, a, b;

	buf_init(&to_s, 1 << 20);
	buf_init(&to_c, 1 << 20);
	hs_client_init(&c, purpose, TENTACLE_ID, external ? NULL : key,
	    exporter);
	hs_server_init(&s, sexp);
	cr = hs_client_start(&c, &to_s);
	FUZZ_CHECK(cr == HS_AGAIN);
	while (rounds++ < 16) {
		a = carry(&to_s, &s, &to_c, &sc, &tampered, &sr, skey);
		if (a == -1)
			break;
		b = carry(&to_c, &c, &to_s, &sc, &tampered, &cr, NULL);
		if (b == -1 || (a == 0 && b == 0))
			break;
	}

	/* Whoever is done agrees with the client on what and who. */
	if (sr == HS_DONE)
		FUZZ_CHECK(s.purpose == c.purpose && s.id == c.id &&
		    skey == key && sexp == exporter);
	if (cr == HS_DONE)
		FUZZ_CHECK(s.purpose == c.purpose && s.id == c.id &&
		    skey == key && sexp == exporter);
	/* Left alone, honest peers get there. */
	if (!tampered && rounds < 16) {
		if (purpose == PURPOSE_ENROL)
			FUZZ_CHECK(sr == HS_ENROL && cr == HS_ENROL);
		else if (skey == key && sexp == exporter)
			FUZZ_CHECK(sr == HS_DONE && cr == HS_DONE);
		else
			FUZZ_CHECK(sr == HS_FAIL || cr == HS_FAIL);
	}
	hs_wipe(&c);
	hs_wipe(&s);
	buf_free(&to_s);
	buf_free(&to_c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t	mode, purpose, flags;

	if (size < 2)
		return 0;
	mode = data[0] % 3;
	purpose = (uint8_t)(1 + (data[0] / 3) % (PURPOSE_MAX - 1));
	flags = data[1];
	external = (flags & 4) != 0;
	data += 2;
	size -= 2;
	switch (mode) {
	case 0:
		alone(HS_SERVER, purpose, flags, data, size);
		break;
	case 1:
		alone(HS_CLIENT, purpose, flags, data, size);
		break;
	default:
		middle(purpose, flags, data, size);
		break;
	}
	return 0;
}
