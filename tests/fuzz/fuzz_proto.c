/*
 * The protocol's message decoders (common/proto.c: HELLO, ENROL_REQUEST,
 * ENROL_REPLY, AUTH_*, STATUS, ORDER, ORDER_ACK, RESULT, RESULT_ACK,
 * INVENTORY, SIGNKEY, SCRIPT_PUT, SCRIPT_DELETE, SCRIPT_ACK, ERROR) on every frame wire_decode finds in the input, each
 * frame handed to every decoder.
 *
 * Invariants: a decoder given a frame of another type refuses it; a
 * refusal always has a reason; an accepted message has every field in
 * shape (enums in range, IDs in 1..INT64_MAX, hostnames, fingerprints and
 * tokens valid, strings printable and NUL-terminated within their field);
 * and its encoder writes back exactly the frame decoded (one encoding per
 * message; an ORDER's script name is only checked as a printable string
 * by the decoder, the tentacle refuses a bad one, so it round-trips when
 * the name is valid). Fields that point into the frame stay inside it. proto_decode_error always leaves a printable, NUL-terminated
 * reason within the buffer it was given, whatever its size.
 */
#include <string.h>

#include "fuzz.h"
#include "proto.h"

static const struct wire_frame	*cur;
static const uint8_t		*cur_bytes;
static size_t			 cur_len;

static void
check_printable(const char *s, size_t size)
{
	FUZZ_CHECK(memchr(s, '\0', size) != NULL);
	for (; *s != '\0'; s++)
		FUZZ_CHECK(*s >= 0x20 && *s <= 0x7e);
}

/* The re-encoded frame is the frame decoded. */
static void
check_same(struct buf *b)
{
	FUZZ_CHECK(b->len == cur_len);
	FUZZ_CHECK(memcmp(b->data, cur_bytes, cur_len) == 0);
	buf_reset(b);
}

/* Every decoder must refuse another frame type, with a reason. */
static int
decoded(int rc, uint8_t type, const char *why)
{
	FUZZ_CHECK(rc == 0 || rc == -1);
	if (cur->type != type)
		FUZZ_CHECK(rc == -1);
	if (rc == -1)
		FUZZ_CHECK(why != NULL && why[0] != '\0');
	return rc == 0;
}

static void
all_decoders(const struct wire_frame *f, struct buf *b, uint8_t errlen)
{
	struct msg_hello		*h = malloc(sizeof(*h));
	struct msg_enrol_request	*rq = malloc(sizeof(*rq));
	struct msg_enrol_reply		*rp = malloc(sizeof(*rp));
	struct msg_auth_id		*id = malloc(sizeof(*id));
	struct msg_auth_challenge	*ch = malloc(sizeof(*ch));
	struct msg_auth_proof		*pr = malloc(sizeof(*pr));
	struct msg_auth_ok		*ok = malloc(sizeof(*ok));
	struct msg_pair_proof		*pp = malloc(sizeof(*pp));
	struct msg_status		*st = malloc(sizeof(*st));
	struct msg_order		*od = malloc(sizeof(*od));
	struct msg_order_ack		*oa = malloc(sizeof(*oa));
	struct msg_result		*rs = malloc(sizeof(*rs));
	struct msg_result_ack		*ra = malloc(sizeof(*ra));
	struct msg_inventory		*iv = malloc(sizeof(*iv));
	struct msg_signkey		*sk = malloc(sizeof(*sk));
	struct msg_script_put		*sp = malloc(sizeof(*sp));
	struct msg_script_delete	*sd = malloc(sizeof(*sd));
	struct msg_script_ack		*sa = malloc(sizeof(*sa));
	char				*reason = malloc(errlen ? errlen : 1);
	const char			*why;
	size_t				 i;
	int				 rc;

	FUZZ_CHECK(h && rq && rp && id && ch && pr && ok && st && reason);
	FUZZ_CHECK(od && oa && rs && ra && iv && pp);
	FUZZ_CHECK(sk && sp && sd && sa);

	why = NULL;
	if (decoded(proto_decode_hello(f, h, &why), WIRE_HELLO, why)) {
		FUZZ_CHECK(h->purpose >= PURPOSE_ENROL &&
		    h->purpose < PURPOSE_MAX);
		FUZZ_CHECK(strcmp(proto_purpose_str(h->purpose),
		    "unknown") != 0);
		check_printable(h->version, sizeof(h->version));
		FUZZ_CHECK(proto_encode_hello(b, h) == 0);
		check_same(b);
	}
	why = NULL;
	if (decoded(proto_decode_empty(f, WIRE_HELLO_ACK, &why),
	    WIRE_HELLO_ACK, why)) {
		FUZZ_CHECK(proto_encode_hello_ack(b) == 0);
		check_same(b);
	}
	why = NULL;
	if (decoded(proto_decode_auth_ok(f, ok, &why), WIRE_AUTH_OK, why)) {
		FUZZ_CHECK(proto_encode_auth_ok(b, ok) == 0);
		check_same(b);
	}
	why = NULL;
	if (decoded(proto_decode_enrol_request(f, rq, &why),
	    WIRE_ENROL_REQUEST, why)) {
		FUZZ_CHECK(proto_hostname_valid(rq->hostname));
		FUZZ_CHECK(proto_fingerprint_valid(rq->fingerprint));
		FUZZ_CHECK(rq->token[0] == '\0' ||
		    proto_token_secret_valid(rq->token));
		check_printable(rq->facts, sizeof(rq->facts));
		check_printable(rq->command_address,
		    sizeof(rq->command_address));
		FUZZ_CHECK(rq->command_address[0] != '\0');
		FUZZ_CHECK(rq->command_port >= 1 && rq->command_port <= 65535);
		FUZZ_CHECK(proto_encode_enrol_request(b, rq) == 0);
		check_same(b);
	}
	why = NULL;
	if (decoded(proto_decode_enrol_reply(f, rp, &why), WIRE_ENROL_REPLY,
	    why)) {
		FUZZ_CHECK(rp->status >= ENROLMENT_PENDING &&
		    rp->status < ENROLMENT_MAX);
		FUZZ_CHECK(strcmp(proto_enrolment_str(rp->status),
		    "unknown") != 0);
		FUZZ_CHECK(rp->id >= 1 && rp->id <= INT64_MAX);
		FUZZ_CHECK(proto_fingerprint_valid(rp->brain_fingerprint));
		FUZZ_CHECK(rp->has_sign_pub <= 1);
		check_printable(rp->message, sizeof(rp->message));
		FUZZ_CHECK(proto_encode_enrol_reply(b, rp) == 0);
		check_same(b);
	}
	why = NULL;
	if (decoded(proto_decode_auth_id(f, id, &why), WIRE_AUTH_ID, why)) {
		FUZZ_CHECK(id->id >= 1 && id->id <= INT64_MAX);
		FUZZ_CHECK(proto_encode_auth_id(b, id) == 0);
		check_same(b);
	}
	why = NULL;
	if (decoded(proto_decode_auth_challenge(f, ch, &why),
	    WIRE_AUTH_CHALLENGE, why)) {
		FUZZ_CHECK(proto_encode_auth_challenge(b, ch) == 0);
		check_same(b);
	}
	why = NULL;
	if (decoded(proto_decode_auth_proof(f, pr, &why), WIRE_AUTH_PROOF,
	    why)) {
		FUZZ_CHECK(proto_encode_auth_proof(b, pr) == 0);
		check_same(b);
	}
	why = NULL;
	if (decoded(proto_decode_pair_proof(f, pp, &why), WIRE_PAIR_PROOF,
	    why)) {
		FUZZ_CHECK(proto_encode_pair_proof(b, pp) == 0);
		check_same(b);
	}
	why = NULL;
	if (decoded(proto_decode_empty(f, WIRE_PAIR_REQUIRED, &why),
	    WIRE_PAIR_REQUIRED, why)) {
		FUZZ_CHECK(proto_encode_pair_required(b) == 0);
		check_same(b);
	}
	why = NULL;
	if (decoded(proto_decode_status(f, st, &why), WIRE_STATUS, why)) {
		FUZZ_CHECK(st->enrolment >= ENROLMENT_PENDING &&
		    st->enrolment < ENROLMENT_MAX);
		check_printable(st->message, sizeof(st->message));
		FUZZ_CHECK(proto_encode_status(b, st) == 0);
		check_same(b);
	}
	why = NULL;
	if (decoded(proto_decode_order(f, od, &why), WIRE_ORDER, why)) {
		FUZZ_CHECK(od->job >= 1 && od->job <= INT64_MAX);
		check_printable(od->script, sizeof(od->script));
		if (proto_script_name_valid(od->script)) {
			FUZZ_CHECK(proto_encode_order(b, od) == 0);
			check_same(b);
		} else
			FUZZ_CHECK(proto_encode_order(b, od) == -1);
	}
	why = NULL;
	if (decoded(proto_decode_order_ack(f, oa, &why), WIRE_ORDER_ACK,
	    why)) {
		FUZZ_CHECK(oa->job >= 1 && oa->job <= INT64_MAX);
		FUZZ_CHECK(oa->accepted <= 1);
		check_printable(oa->message, sizeof(oa->message));
		FUZZ_CHECK(proto_encode_order_ack(b, oa) == 0);
		check_same(b);
	}
	why = NULL;
	if (decoded(proto_decode_result(f, rs, &why), WIRE_RESULT, why)) {
		FUZZ_CHECK(rs->job >= 1 && rs->job <= INT64_MAX);
		FUZZ_CHECK(rs->outcome >= OUTCOME_RAN &&
		    rs->outcome < OUTCOME_MAX);
		FUZZ_CHECK(rs->exit_status >= -1 && rs->exit_status <= 255);
		FUZZ_CHECK(rs->signal >= 0 && rs->signal < 128);
		FUZZ_CHECK(rs->truncated <= 1);
		FUZZ_CHECK(rs->started_at_ms <= INT64_MAX &&
		    rs->duration_ms <= INT64_MAX);
		FUZZ_CHECK(rs->output_len <= PROTO_OUTPUT_MAX);
		FUZZ_CHECK(rs->sha256[0] == '\0' ||
		    proto_fingerprint_valid(rs->sha256));
		FUZZ_CHECK(rs->output_len == 0 ||
		    (rs->output >= f->payload && rs->output + rs->output_len
		    <= f->payload + f->len));
		FUZZ_CHECK(proto_encode_result(b, rs) == 0);
		check_same(b);
	}
	why = NULL;
	if (decoded(proto_decode_result_ack(f, ra, &why), WIRE_RESULT_ACK,
	    why)) {
		FUZZ_CHECK(ra->job >= 1 && ra->job <= INT64_MAX);
		FUZZ_CHECK(ra->status == RESULT_ACK_STORED ||
		    ra->status == RESULT_ACK_REFUSED);
		check_printable(ra->reason, sizeof(ra->reason));
		/* Stored says nothing more; refused always says why. */
		FUZZ_CHECK((ra->status == RESULT_ACK_STORED) ==
		    (ra->reason[0] == '\0'));
		FUZZ_CHECK(proto_encode_result_ack(b, ra) == 0);
		check_same(b);
	}
	why = NULL;
	if (decoded(proto_decode_inventory(f, iv, &why), WIRE_INVENTORY,
	    why)) {
		check_printable(iv->facts, sizeof(iv->facts));
		FUZZ_CHECK(iv->scripts_len <= PROTO_SCRIPTS_MAX);
		FUZZ_CHECK(iv->scripts_len == 0 ||
		    ((const uint8_t *)iv->scripts >= f->payload &&
		    (const uint8_t *)iv->scripts + iv->scripts_len <=
		    f->payload + f->len));
		for (i = 0; i < iv->scripts_len; i++)
			FUZZ_CHECK(iv->scripts[i] >= 0x20 &&
			    iv->scripts[i] <= 0x7e);
		FUZZ_CHECK(proto_encode_inventory(b, iv) == 0);
		check_same(b);
	}

	why = NULL;
	if (decoded(proto_decode_signkey(f, sk, &why), WIRE_SIGNKEY, why)) {
		FUZZ_CHECK(proto_encode_signkey(b, sk) == 0);
		check_same(b);
	}
	why = NULL;
	if (decoded(proto_decode_script_put(f, sp, &why), WIRE_SCRIPT_PUT,
	    why)) {
		/* A name that is a file name, never a path. */
		FUZZ_CHECK(proto_script_name_valid(sp->name));
		FUZZ_CHECK(strchr(sp->name, '/') == NULL && sp->name[0] != '.');
		FUZZ_CHECK(sp->version >= 1);
		check_printable(sp->description, sizeof(sp->description));
		FUZZ_CHECK(proto_fingerprint_valid(sp->sha256));
		FUZZ_CHECK(sp->body_len >= 2 &&
		    sp->body_len <= PROTO_SCRIPT_BODY_MAX);
		FUZZ_CHECK(sp->body >= f->payload && sp->body + sp->body_len <=
		    f->payload + f->len);
		FUZZ_CHECK(sp->body[0] == '#' && sp->body[1] == '!');
		FUZZ_CHECK(proto_encode_script_put(b, sp) == 0);
		check_same(b);
	}
	why = NULL;
	if (decoded(proto_decode_script_delete(f, sd, &why),
	    WIRE_SCRIPT_DELETE, why)) {
		FUZZ_CHECK(proto_script_name_valid(sd->name));
		FUZZ_CHECK(sd->version >= 1);
		FUZZ_CHECK(proto_encode_script_delete(b, sd) == 0);
		check_same(b);
	}
	why = NULL;
	if (decoded(proto_decode_script_ack(f, sa, &why), WIRE_SCRIPT_ACK,
	    why)) {
		FUZZ_CHECK(sa->name[0] == '\0' ? sa->version == 0 :
		    proto_script_name_valid(sa->name) && sa->version >= 1);
		FUZZ_CHECK(sa->status == SCRIPT_ACK_OK ||
		    sa->status == SCRIPT_ACK_REFUSED);
		check_printable(sa->message, sizeof(sa->message));
		if (sa->status == SCRIPT_ACK_REFUSED)
			FUZZ_CHECK(sa->message[0] != '\0');
		FUZZ_CHECK(proto_encode_script_ack(b, sa) == 0);
		check_same(b);
	}

	/* The error's reason, into a buffer of a size the input picks. */
	memset(reason, 'J', errlen ? errlen : 1);
	rc = proto_decode_error(f, reason, errlen);
	FUZZ_CHECK(rc == 0 || rc == -1);
	if (f->type != WIRE_ERROR || errlen == 0)
		FUZZ_CHECK(rc == -1);
	else
		check_printable(reason, errlen);

	free(reason);
	free(sa);
	free(sd);
	free(sp);
	free(sk);
	free(iv);
	free(ra);
	free(rs);
	free(oa);
	free(od);
	free(st);
	free(pr);
	free(ok);
	free(pp);
	free(ch);
	free(id);
	free(rp);
	free(rq);
	free(h);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wire_frame	f;
	struct buf		b;
	size_t			consumed, used, off = 0;
	uint8_t			errlen, *copy;
	int			frames = 0;

	/* The last byte sizes proto_decode_error's buffer. */
	if (size == 0)
		return 0;
	errlen = data[size - 1];
	size--;
	buf_init(&b, WIRE_HDR_LEN + WIRE_PAYLOAD_MAX);
	while (frames++ < 64 &&
	    wire_decode(data + off, size - off, &f, &consumed) == WIRE_OK) {
		/* The frame alone in a buffer of its size: a decoder that
		 * reads past its payload trips ASan. */
		FUZZ_CHECK((copy = malloc(consumed)) != NULL);
		memcpy(copy, data + off, consumed);
		FUZZ_CHECK(wire_decode(copy, consumed, &f, &used) == WIRE_OK);
		cur = &f;
		cur_bytes = copy;
		cur_len = consumed;
		all_decoders(&f, &b, errlen);
		free(copy);
		off += consumed;
	}
	buf_free(&b);
	return 0;
}
