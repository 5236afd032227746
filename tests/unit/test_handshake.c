/*
 * The handshake state machine, both sides in memory: success, wrong key,
 * unknown ID, replayed transcript, relay (different exporters), and every
 * kind of malformed or out-of-order frame at every step.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "handshake.h"
#include "pack.h"

static const uint8_t key[PROTO_KEY_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8 };
static const uint8_t other_key[PROTO_KEY_LEN] = { 9, 9, 9 };
static const uint8_t exporter_a[HS_EXPORTER_LEN] = { 0xaa, 1 };
static const uint8_t exporter_b[HS_EXPORTER_LEN] = { 0xbb, 2 };

/* Take the one frame in b (asserting there is exactly one). */
static struct wire_frame
one_frame(struct buf *b)
{
	struct wire_frame	f;
	size_t			used;

	assert_int_equal(wire_decode(b->data, b->len, &f, &used), WIRE_OK);
	assert_int_equal(used, b->len);
	return f;
}

/* Run a handshake; the server's check answers skey for ID 42. With
 * `external`, neither side holds the key in its struct: the client gets
 * its proofs and the server its verdict from hs_proof() (what the brain's
 * maestro does for its children). Returns the server's final result;
 * *cres the client's. Records the client's frames into rec[] if given. */
static enum hs_result
run_ext(const uint8_t *ckey, const uint8_t *skey, uint64_t cid,
    const uint8_t *cexp, const uint8_t *sexp, enum hs_result *cres,
    struct buf rec[3], int external)
{
	struct handshake	c, s;
	struct hs_inputs	in;
	struct buf		to_s, to_c;
	struct wire_frame	f;
	uint8_t			pc[PROTO_MAC_LEN], ps[PROTO_MAC_LEN];
	enum hs_result		r, sr = HS_AGAIN;
	int			step = 0;

	buf_init(&to_s, WIRE_PAYLOAD_MAX);
	buf_init(&to_c, WIRE_PAYLOAD_MAX);
	hs_client_init(&c, PURPOSE_PING, cid, external ? NULL : ckey, cexp);
	hs_server_init(&s, sexp);
	*cres = hs_client_start(&c, &to_s);
	while (to_s.len > 0) {
		if (rec)
			buf_append(&rec[step], to_s.data, to_s.len);
		step++;
		f = one_frame(&to_s);
		buf_reset(&to_c);
		sr = hs_input(&s, &f, &to_c);
		if (sr == HS_NEED_CHECK && !external)
			sr = hs_server_key(&s, s.id == 42 ? skey : NULL,
			    &to_c);
		else if (sr == HS_NEED_CHECK) {
			/* No server proof before the client's checked. */
			assert_int_equal(to_c.len, 0);
			hs_inputs(&s, &in);
			assert_int_equal(hs_proof(skey, HS_CLIENT, &in, pc), 0);
			assert_int_equal(hs_proof(skey, HS_SERVER, &in, ps), 0);
			sr = hs_server_verdict(&s, s.id == 42 &&
			    memcmp(pc, s.peer_proof, sizeof(pc)) == 0, ps,
			    "wrong key", &to_c);
		}
		buf_reset(&to_s);
		if (to_c.len == 0)
			break;
		f = one_frame(&to_c);
		r = hs_input(&c, &f, &to_s);
		if (r == HS_NEED_PROOF) {
			assert_true(external);
			assert_int_equal(to_s.len, 0);
			hs_inputs(&c, &in);
			assert_int_equal(hs_proof(ckey, HS_CLIENT, &in, pc), 0);
			assert_int_equal(hs_proof(ckey, HS_SERVER, &in, ps), 0);
			r = hs_client_proofs(&c, pc, ps, &to_s);
		}
		*cres = r;
		if (r == HS_FAIL)
			break;
	}
	buf_free(&to_s);
	buf_free(&to_c);
	return sr;
}

static enum hs_result
run(const uint8_t *ckey, const uint8_t *skey, uint64_t cid,
    const uint8_t *cexp, const uint8_t *sexp, enum hs_result *cres,
    struct buf rec[3])
{
	return run_ext(ckey, skey, cid, cexp, sexp, cres, rec, 0);
}

static void
test_success(void **state)
{
	enum hs_result	cres;

	assert_int_equal(run(key, key, 42, exporter_a, exporter_a, &cres, NULL), HS_DONE);
	assert_int_equal(cres, HS_DONE);
	/* The same with the proofs made outside the machine. */
	assert_int_equal(run_ext(key, key, 42, exporter_a, exporter_a, &cres,
	    NULL, 1), HS_DONE);
	assert_int_equal(cres, HS_DONE);
}

static void
test_wrong_key_unknown_id_relay(void **state)
{
	enum hs_result	cres;
	int		ext;

	for (ext = 0; ext <= 1; ext++) {
		/* The client proves first: the server refuses its proof and
		 * never shows its own. */
		assert_int_equal(run_ext(other_key, key, 42, exporter_a,
		    exporter_a, &cres, NULL, ext), HS_FAIL);
		assert_int_not_equal(cres, HS_DONE);
		/* Unknown ID: the server refuses at the check. */
		assert_int_equal(run_ext(key, key, 7, exporter_a, exporter_a,
		    &cres, NULL, ext), HS_FAIL);
		assert_int_not_equal(cres, HS_DONE);
		/* A relay terminating TLS twice: exporters differ. */
		assert_int_equal(run_ext(key, key, 42, exporter_a, exporter_b,
		    &cres, NULL, ext), HS_FAIL);
		assert_int_not_equal(cres, HS_DONE);
	}
}

/* A server whose AUTH_OK carries a wrong proof (another brain that
 * guessed nothing): the client refuses it. */
static void
test_wrong_server_proof(void **state)
{
	struct handshake	c;
	struct buf		out;
	struct wire_frame	f;
	struct msg_auth_challenge ch;
	struct msg_auth_ok	ok;
	struct buf		fr;

	buf_init(&out, WIRE_PAYLOAD_MAX);
	buf_init(&fr, WIRE_PAYLOAD_MAX);
	hs_client_init(&c, PURPOSE_PING, 42, key, exporter_a);
	assert_int_equal(hs_client_start(&c, &out), HS_AGAIN);
	assert_int_equal(proto_encode_hello_ack(&fr), 0);
	f = one_frame(&fr);
	assert_int_equal(hs_input(&c, &f, &out), HS_AGAIN);
	buf_reset(&fr);
	memset(&ch, 7, sizeof(ch));
	assert_int_equal(proto_encode_auth_challenge(&fr, &ch), 0);
	f = one_frame(&fr);
	assert_int_equal(hs_input(&c, &f, &out), HS_AGAIN);
	buf_reset(&fr);
	memset(&ok, 9, sizeof(ok));
	assert_int_equal(proto_encode_auth_ok(&fr, &ok), 0);
	f = one_frame(&fr);
	assert_int_equal(hs_input(&c, &f, &out), HS_FAIL);
	assert_non_null(strstr(c.error, "could not prove the key"));
	buf_free(&out);
	buf_free(&fr);
}

/* The external paths refuse calls out of turn. */
static void
test_out_of_turn(void **state)
{
	struct handshake	h;
	struct buf		out;
	uint8_t			p[PROTO_MAC_LEN] = { 0 };

	buf_init(&out, WIRE_PAYLOAD_MAX);
	hs_server_init(&h, exporter_a);
	assert_int_equal(hs_server_verdict(&h, 1, p, NULL, &out), HS_FAIL);
	assert_int_equal(out.len, 0);
	hs_server_init(&h, exporter_a);
	assert_int_equal(hs_server_key(&h, key, &out), HS_FAIL);
	hs_client_init(&h, PURPOSE_PING, 42, NULL, exporter_a);
	assert_int_equal(hs_client_proofs(&h, p, p, &out), HS_FAIL);
	assert_int_equal(out.len, 0);
	buf_free(&out);
}

static void
test_replay(void **state)
{
	struct buf		rec[3];
	struct handshake	s;
	struct buf		out;
	struct wire_frame	f;
	enum hs_result		cres, r;
	int			i;

	for (i = 0; i < 3; i++)
		buf_init(&rec[i], WIRE_PAYLOAD_MAX);
	assert_int_equal(run(key, key, 42, exporter_a, exporter_a, &cres, rec), HS_DONE);

	/* Replay the client's three frames to a new server, even on a
	 * session with the same exporter: its fresh nonce breaks the proof. */
	buf_init(&out, WIRE_PAYLOAD_MAX);
	hs_server_init(&s, exporter_a);
	f = one_frame(&rec[0]);
	assert_int_equal(hs_input(&s, &f, &out), HS_AGAIN);
	f = one_frame(&rec[1]);
	assert_int_equal(hs_input(&s, &f, &out), HS_AGAIN);
	f = one_frame(&rec[2]);
	assert_int_equal(hs_input(&s, &f, &out), HS_NEED_CHECK);
	r = hs_server_key(&s, key, &out);
	assert_int_equal(r, HS_FAIL);
	assert_string_equal(s.error, "wrong key");
	for (i = 0; i < 3; i++)
		buf_free(&rec[i]);
	buf_free(&out);
}

/* Every frame type at every server step, and garbage payloads: HS_FAIL,
 * never a crash, never a success. */
static void
test_unexpected_frames(void **state)
{
	struct handshake	s;
	struct buf		out;
	struct wire_frame	f;
	static const uint8_t	junk[40] = { 0xff, 0xff, 0xff, 0xff };
	uint8_t			type;
	size_t			len;

	buf_init(&out, WIRE_PAYLOAD_MAX);
	for (type = 1; type < WIRE_TYPE_MAX; type++) {
		for (len = 0; len <= sizeof(junk); len += 20) {
			if (type == WIRE_HELLO_ACK && len == 0)
				continue;
			/* at the first step */
			hs_server_init(&s, exporter_a);
			f.type = type;
			f.len = len;
			f.payload = junk;
			buf_reset(&out);
			assert_int_equal(hs_input(&s, &f, &out), HS_FAIL);
			assert_non_null(s.error);
			/* a second frame after failure also fails */
			assert_int_equal(hs_input(&s, &f, &out), HS_FAIL);
		}
	}
	/* A client that gets a challenge before its ACK fails too. */
	hs_client_init(&s, PURPOSE_PING, 42, key, exporter_a);
	buf_reset(&out);
	assert_int_equal(hs_client_start(&s, &out), HS_AGAIN);
	f.type = WIRE_AUTH_CHALLENGE;
	f.len = 0;
	f.payload = junk;
	assert_int_equal(hs_input(&s, &f, &out), HS_FAIL);
	buf_free(&out);
}

static void
test_enrol_purpose(void **state)
{
	struct handshake	c, s;
	struct buf		a, b;
	struct wire_frame	f;

	buf_init(&a, WIRE_PAYLOAD_MAX);
	buf_init(&b, WIRE_PAYLOAD_MAX);
	hs_client_init(&c, PURPOSE_ENROL, 0, NULL, exporter_a);
	hs_server_init(&s, exporter_a);
	assert_int_equal(hs_client_start(&c, &a), HS_AGAIN);
	f = one_frame(&a);
	assert_int_equal(hs_input(&s, &f, &b), HS_ENROL);
	assert_int_equal(s.purpose, PURPOSE_ENROL);
	f = one_frame(&b);
	assert_int_equal(hs_input(&c, &f, &a), HS_ENROL);
	/* A client without an ID cannot start an authenticated purpose. */
	hs_client_init(&c, PURPOSE_PING, 0, key, exporter_a);
	assert_int_equal(hs_client_start(&c, &a), HS_FAIL);
	buf_free(&a);
	buf_free(&b);
}

/* hs_server_nonce: the AUTH_CHALLENGE carries the nonce given, and the
 * proofs are made over it. */
static void
test_given_nonce(void **state)
{
	struct handshake	c, s;
	struct hs_inputs	in;
	struct buf		to_s, to_c;
	struct wire_frame	f;
	uint8_t			ns[PROTO_NONCE_LEN];
	struct msg_auth_challenge ch;
	const char		*why;

	memset(ns, 0x5e, sizeof(ns));
	buf_init(&to_s, WIRE_PAYLOAD_MAX);
	buf_init(&to_c, WIRE_PAYLOAD_MAX);
	hs_client_init(&c, PURPOSE_ORDER, 42, key, exporter_a);
	hs_server_init(&s, exporter_a);
	hs_server_nonce(&s, ns);
	assert_int_equal(hs_client_start(&c, &to_s), HS_AGAIN);
	f = one_frame(&to_s);
	assert_int_equal(hs_input(&s, &f, &to_c), HS_AGAIN);	/* HELLO */
	buf_reset(&to_s);
	f = one_frame(&to_c);
	assert_int_equal(hs_input(&c, &f, &to_s), HS_AGAIN);	/* AUTH_ID */
	buf_reset(&to_c);
	f = one_frame(&to_s);
	assert_int_equal(hs_input(&s, &f, &to_c), HS_AGAIN);
	f = one_frame(&to_c);
	assert_int_equal(proto_decode_auth_challenge(&f, &ch, &why), 0);
	assert_memory_equal(ch.nonce, ns, sizeof(ns));
	buf_reset(&to_s);
	assert_int_equal(hs_input(&c, &f, &to_s), HS_AGAIN);	/* PROOF */
	buf_reset(&to_c);
	f = one_frame(&to_s);
	assert_int_equal(hs_input(&s, &f, &to_c), HS_NEED_CHECK);
	hs_inputs(&s, &in);
	assert_memory_equal(in.nonce_s, ns, sizeof(ns));
	assert_int_equal(hs_server_key(&s, key, &to_c), HS_DONE);
	f = one_frame(&to_c);
	buf_reset(&to_s);
	assert_int_equal(hs_input(&c, &f, &to_s), HS_DONE);
	buf_free(&to_s);
	buf_free(&to_c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_success),
		cmocka_unit_test(test_given_nonce),
		cmocka_unit_test(test_wrong_key_unknown_id_relay),
		cmocka_unit_test(test_wrong_server_proof),
		cmocka_unit_test(test_out_of_turn),
		cmocka_unit_test(test_replay),
		cmocka_unit_test(test_unexpected_frames),
		cmocka_unit_test(test_enrol_purpose),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
