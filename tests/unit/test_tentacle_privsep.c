/*
 * Privilege separation's messages (tentacle/privsep.c): RUN_REQUEST and
 * RUN_DONE round-trip; the supervisor's decoder refuses every script
 * name with a path (slash, dot-dot), bad job IDs, every truncation and
 * trailing bytes; RUN_DONE out of shape is refused too.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "buf.h"
#include "ipc.h"
#include "pack.h"
#include "enrolment.h"
#include "handshake.h"
#include "privsep.h"

/* An order's MAC and its session's exporter, as the worker forwards. */
static const uint8_t	MAC[PROTO_MAC_LEN] = { 0x11, 0x22, 0x33 };
static const uint8_t	EXP[PROTO_EXPORTER_LEN] = { 0x44, 0x55 };
static uint8_t		mac[PROTO_MAC_LEN], xp[PROTO_EXPORTER_LEN];

static void
test_request_round_trip(void **state)
{
	struct buf	 b;
	uint64_t	 job = 0;
	char		 script[PROTO_SCRIPT_NAME_MAX];
	char		 sha[OCTO_FPR_HEX_LEN + 1];
	const char	*why = NULL;

	buf_init(&b, IPC_PAYLOAD_MAX);
	assert_int_equal(privsep_encode_request(&b, 42, "disk-usage", NULL, MAC, EXP), 0);
	assert_int_equal(privsep_decode_request(b.data, b.len, &job, script,
	    sizeof(script), sha, mac, xp, &why), 0);
	assert_string_equal(sha, "");
	assert_int_equal(job, 42);
	assert_string_equal(script, "disk-usage");
	buf_free(&b);
}

/* What a hostile worker could send, packed by hand. */
static int
decode_raw(uint64_t job, const char *script, int trailing, const char **why)
{
	struct buf	 b;
	struct packer	 p;
	uint64_t	 j;
	char		 s[PROTO_SCRIPT_NAME_MAX];
	char		 h[OCTO_FPR_HEX_LEN + 1];
	int		 rc;

	buf_init(&b, IPC_PAYLOAD_MAX);
	pack_init(&p, &b);
	pack_u64(&p, job);
	pack_str(&p, script);
	pack_str(&p, "");
	if (trailing)
		pack_u8(&p, 0);
	assert_int_equal(pack_error(&p), 0);
	pack_bytes(&p, MAC, PROTO_MAC_LEN);
	pack_bytes(&p, EXP, PROTO_EXPORTER_LEN);
	rc = privsep_decode_request(b.data, b.len, &j, s, sizeof(s), h, mac,
	    xp, why);
	buf_free(&b);
	return rc;
}

static void
test_request_refused(void **state)
{
	static const char *const bad[] = { "../etc/passwd", "a/b", "/bin/sh",
	    "..", ".", "", ".hidden", "sub/", "x\n", "with space" };
	const char	*why;
	size_t		 i;
	char		 longname[PROTO_SCRIPT_NAME_MAX + 8];

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		assert_int_equal(decode_raw(7, bad[i], 0, &why), -1);
		assert_non_null(why);
	}
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(decode_raw(7, longname, 0, &why), -1);
	assert_int_equal(decode_raw(0, "ok", 0, &why), -1);
	assert_int_equal(decode_raw((uint64_t)INT64_MAX + 1, "ok", 0, &why),
	    -1);
	assert_int_equal(decode_raw(7, "ok", 1, &why), -1);
	assert_int_equal(decode_raw(7, "ok", 0, &why), 0);
	/* The encoder refuses them too. */
	{
		struct buf	b;

		buf_init(&b, IPC_PAYLOAD_MAX);
		assert_int_equal(privsep_encode_request(&b, 7, "../x", NULL, MAC, EXP), -1);
		assert_int_equal(privsep_encode_request(&b, 0, "x", NULL, MAC, EXP), -1);
		buf_free(&b);
	}
}

static void
test_request_truncations(void **state)
{
	struct buf	 b;
	uint64_t	 job;
	char		 script[PROTO_SCRIPT_NAME_MAX];
	char		 sha[OCTO_FPR_HEX_LEN + 1];
	const char	*why;
	size_t		 n;

	buf_init(&b, IPC_PAYLOAD_MAX);
	assert_int_equal(privsep_encode_request(&b, 9, "script", NULL, MAC, EXP), 0);
	for (n = 0; n < b.len; n++)
		assert_int_equal(privsep_decode_request(b.data, n, &job,
		    script, sizeof(script), sha, mac, xp, &why), -1);
	buf_free(&b);
}

static struct msg_result
sample(void)
{
	static const char	out[] = "partial\n\0binary";
	struct msg_result	m;

	memset(&m, 0, sizeof(m));
	m.job = 1234;
	m.outcome = OUTCOME_TIMEOUT;
	m.exit_status = -1;
	m.signal = 9;
	m.started_at_ms = 1700000000123ULL;
	m.duration_ms = 300000;
	m.truncated = 1;
	m.output = (const uint8_t *)out;
	m.output_len = sizeof(out) - 1;
	return m;
}

static void
test_done_round_trip(void **state)
{
	struct msg_result	 m = sample(), d;
	struct buf		 b;
	const char		*why;
	size_t			 n;

	buf_init(&b, IPC_PAYLOAD_MAX);
	assert_int_equal(privsep_encode_done(&b, &m), 0);
	assert_int_equal(privsep_decode_done(b.data, b.len, &d, &why), 0);
	assert_int_equal(d.job, m.job);
	assert_int_equal(d.outcome, m.outcome);
	assert_int_equal(d.exit_status, -1);
	assert_int_equal(d.signal, 9);
	assert_int_equal(d.started_at_ms, m.started_at_ms);
	assert_int_equal(d.duration_ms, m.duration_ms);
	assert_int_equal(d.truncated, 1);
	assert_int_equal(d.output_len, m.output_len);
	assert_memory_equal(d.output, m.output, m.output_len);
	for (n = 0; n < b.len; n++)
		assert_int_equal(privsep_decode_done(b.data, n, &d, &why), -1);
	assert_int_equal(buf_append(&b, "x", 1), 0);
	assert_int_equal(privsep_decode_done(b.data, b.len, &d, &why), -1);
	buf_free(&b);

	/* The largest output fits in one message. */
	{
		uint8_t	*big = calloc(1, PROTO_OUTPUT_MAX);

		assert_non_null(big);
		m.output = big;
		m.output_len = PROTO_OUTPUT_MAX;
		buf_init(&b, IPC_PAYLOAD_MAX);
		assert_int_equal(privsep_encode_done(&b, &m), 0);
		assert_true(b.len <= IPC_PAYLOAD_MAX);
		assert_int_equal(privsep_decode_done(b.data, b.len, &d, &why),
		    0);
		assert_int_equal(d.output_len, PROTO_OUTPUT_MAX);
		buf_free(&b);
		free(big);
	}
}

static void
test_done_out_of_shape(void **state)
{
	struct msg_result	 m, d;
	struct buf		 b;
	const char		*why;
	int			 i;

	for (i = 0; i < 6; i++) {
		m = sample();
		switch (i) {
		case 0: m.job = 0; break;
		case 1: m.outcome = 0; break;
		case 2: m.outcome = OUTCOME_MAX; break;
		case 3: m.truncated = 2; break;
		case 4: m.signal = 128; break;
		case 5: m.exit_status = 256; break;
		}
		buf_init(&b, IPC_PAYLOAD_MAX);
		assert_int_equal(privsep_encode_done(&b, &m), -1);
		/* Packed by hand, the decoder refuses it. */
		{
			struct packer	p;

			buf_reset(&b);
			pack_init(&p, &b);
			pack_u64(&p, m.job);
			pack_u8(&p, m.outcome);
			pack_u32(&p, (uint32_t)m.exit_status);
			pack_u32(&p, (uint32_t)m.signal);
			pack_u64(&p, m.started_at_ms);
			pack_u64(&p, m.duration_ms);
			pack_u8(&p, m.truncated);
			pack_bytes(&p, m.output, m.output_len);
			assert_int_equal(pack_error(&p), 0);
			assert_int_equal(privsep_decode_done(b.data, b.len, &d,
			    &why), -1);
		}
		buf_free(&b);
	}
}

static void
test_types_named(void **state)
{
	assert_string_equal(ipc_type_str(IPC_RUN_REQUEST), "RUN_REQUEST");
	assert_string_equal(ipc_type_str(IPC_RUN_DONE), "RUN_DONE");
}

/* Issue 14: the request's hash, and the managed scripts' messages. */
static void
test_managed_codecs(void **state)
{
	static const char	 h[] = "0123456789abcdef0123456789abcdef"
	    "0123456789abcdef0123456789abcdef";
	static const uint8_t	 fr[] = { 1, 2, 3 };
	struct privsep_script_req r, dr;
	struct privsep_inventory v, dv;
	struct msg_script_ack	 a, da;
	struct buf		 b;
	uint64_t		 job, id;
	char			 script[PROTO_SCRIPT_NAME_MAX];
	char			 sha[OCTO_FPR_HEX_LEN + 1];
	const char		*why;
	size_t			 n;

	buf_init(&b, IPC_PAYLOAD_MAX);
	assert_int_equal(privsep_encode_request(&b, 3, "x", h, MAC, EXP), 0);
	assert_int_equal(privsep_decode_request(b.data, b.len, &job, script,
	    sizeof(script), sha, mac, xp, &why), 0);
	assert_string_equal(sha, h);
	buf_reset(&b);
	assert_int_equal(privsep_encode_request(&b, 3, "x", "ABC", MAC, EXP), -1);

	memset(&r, 0, sizeof(r));
	r.request = 4;
	r.type = WIRE_SCRIPT_PUT;
	r.frame = fr;
	r.frame_len = sizeof(fr);
	memset(r.exporter, 0x77, sizeof(r.exporter));
	assert_int_equal(privsep_encode_script_req(&b, &r), 0);
	assert_int_equal(privsep_decode_script_req(b.data, b.len, &dr, &why),
	    0);
	assert_int_equal(dr.request, 4);
	assert_int_equal(dr.type, WIRE_SCRIPT_PUT);
	assert_int_equal(dr.frame_len, 3);
	assert_memory_equal(dr.frame, fr, 3);
	assert_memory_equal(dr.exporter, r.exporter, sizeof(r.exporter));
	for (n = 0; n < b.len; n++)
		assert_int_equal(privsep_decode_script_req(b.data, n, &dr,
		    &why), -1);
	r.type = WIRE_ORDER;	/* only the script frames go to root */
	assert_int_equal(privsep_encode_script_req(&b, &r), -1);
	b.data[8] = WIRE_ORDER;
	assert_int_equal(privsep_decode_script_req(b.data, b.len, &dr, &why),
	    -1);

	buf_reset(&b);
	memset(&a, 0, sizeof(a));
	strcpy(a.name, "x");
	a.version = 7;
	a.status = SCRIPT_ACK_REFUSED;
	strcpy(a.message, "bad signature");
	assert_int_equal(privsep_encode_script_done(&b, 4, &a), 0);
	assert_int_equal(privsep_decode_script_done(b.data, b.len, &id, &da,
	    &why), 0);
	assert_int_equal(id, 4);
	assert_memory_equal(&a, &da, sizeof(a));
	a.message[0] = '\0';
	assert_int_equal(privsep_encode_script_done(&b, 4, &a), -1);

	buf_reset(&b);
	assert_int_equal(privsep_encode_inventory_ask(&b, 8), 0);
	assert_int_equal(privsep_decode_inventory_ask(b.data, b.len, &id,
	    &why), 0);
	assert_int_equal(id, 8);
	assert_int_equal(privsep_encode_inventory_ask(&b, 0), -1);

	buf_reset(&b);
	memset(&v, 0, sizeof(v));
	v.request = 8;
	v.managed = 1;
	strcpy(v.signkey, h);
	v.scripts = "[]";
	v.scripts_len = 2;
	assert_int_equal(privsep_encode_inventory(&b, &v), 0);
	assert_int_equal(privsep_decode_inventory(b.data, b.len, &dv, &why),
	    0);
	assert_int_equal(dv.managed, 1);
	assert_string_equal(dv.signkey, h);
	assert_int_equal(dv.scripts_len, 2);
	v.scripts = "[\n]";
	v.scripts_len = 3;
	assert_int_equal(privsep_encode_inventory(&b, &v), -1);
	v.scripts = "[]";
	v.scripts_len = 2;
	strcpy(v.signkey, "abc");
	assert_int_equal(privsep_encode_inventory(&b, &v), -1);
	buf_free(&b);
}

/* The messages that keep the key in the supervisor: round trips, every
 * truncation and trailing byte refused, values out of shape refused. */
static void
truncations(const struct buf *b, int (*dec)(const uint8_t *, size_t))
{
	uint8_t	*more;
	size_t	 n;

	for (n = 0; n < b->len; n++)
		assert_int_equal(dec(b->data, n), -1);
	more = malloc(b->len + 1);
	memcpy(more, b->data, b->len);
	more[b->len] = 0;
	assert_int_equal(dec(more, b->len + 1), -1);
	assert_int_equal(dec(b->data, b->len), 0);
	free(more);
}

static int
dec_accepted(const uint8_t *p, size_t n)
{
	struct msg_order_ack	a;
	const char		*why;

	return privsep_decode_accepted(p, n, &a, &why);
}

static int
dec_proof_ask(const uint8_t *p, size_t n)
{
	struct privsep_proof_ask	a;
	const char			*why;

	return privsep_decode_proof_ask(p, n, &a, &why);
}

static int
dec_proof(const uint8_t *p, size_t n)
{
	struct privsep_proof	r;
	const char		*why;

	return privsep_decode_proof(p, n, &r, &why);
}

static int
dec_enrolment(const uint8_t *p, size_t n)
{
	struct privsep_enrolment e;
	const char		*why;

	return privsep_decode_enrolment(p, n, &e, &why);
}

static void
test_key_keeping_codecs(void **state)
{
	struct msg_order_ack	 a, da;
	struct privsep_proof_ask q, dq;
	struct privsep_proof	 r, dr;
	struct privsep_enrolment e, de;
	struct buf		 b;
	struct packer		 pk;
	const char		*why;
	uint8_t			 v;
	size_t			 i;

	buf_init(&b, IPC_PAYLOAD_MAX);
	memset(&a, 0, sizeof(a));
	a.job = 77;
	a.accepted = 0;
	strcpy(a.message, "bad ORDER MAC");
	assert_int_equal(privsep_encode_accepted(&b, &a), 0);
	assert_int_equal(privsep_decode_accepted(b.data, b.len, &da, &why), 0);
	assert_memory_equal(&a, &da, sizeof(a));
	truncations(&b, dec_accepted);
	buf_reset(&b);
	a.accepted = 2;
	assert_int_equal(privsep_encode_accepted(&b, &a), -1);
	a.accepted = 1;
	a.job = 0;
	assert_int_equal(privsep_encode_accepted(&b, &a), -1);
	a.job = 1;
	strcpy(a.message, "tab\there");
	assert_int_equal(privsep_encode_accepted(&b, &a), -1);

	/* HS_PROOF_ASK */
	memset(&q, 0, sizeof(q));
	q.request = 5;
	q.role = HS_SERVER;
	q.purpose = PURPOSE_ORDER;
	q.id = 42;
	memset(q.nonce_c, 1, sizeof(q.nonce_c));
	memset(q.nonce_s, 2, sizeof(q.nonce_s));
	memset(q.exporter, 3, sizeof(q.exporter));
	memset(q.peer_proof, 4, sizeof(q.peer_proof));
	buf_reset(&b);
	assert_int_equal(privsep_encode_proof_ask(&b, &q), 0);
	assert_int_equal(privsep_decode_proof_ask(b.data, b.len, &dq, &why),
	    0);
	assert_memory_equal(&q, &dq, sizeof(q));
	truncations(&b, dec_proof_ask);
	buf_reset(&b);
	q.role = 7;
	assert_int_equal(privsep_encode_proof_ask(&b, &q), -1);
	q.role = HS_CLIENT;
	q.purpose = PURPOSE_ENROL;	/* no key to prove there */
	assert_int_equal(privsep_encode_proof_ask(&b, &q), -1);
	q.purpose = PURPOSE_RESULT;
	q.id = 0;
	assert_int_equal(privsep_encode_proof_ask(&b, &q), -1);
	/* By hand: a bad role is refused by the decoder too. */
	pack_init(&pk, &b);
	pack_u64(&pk, 1);
	pack_u8(&pk, 9);
	pack_u8(&pk, PURPOSE_PING);
	pack_u64(&pk, 42);
	for (i = 0; i < 4; i++)
		pack_bytes(&pk, q.nonce_c, 32);
	assert_int_equal(privsep_decode_proof_ask(b.data, b.len, &dq, &why),
	    -1);
	assert_string_equal(why, "bad HS_PROOF_ASK");

	/* HS_PROOF */
	memset(&r, 0, sizeof(r));
	r.request = 5;
	r.ok = 1;
	memset(r.proof, 8, sizeof(r.proof));
	memset(r.expect, 9, sizeof(r.expect));
	buf_reset(&b);
	assert_int_equal(privsep_encode_proof(&b, &r), 0);
	assert_int_equal(privsep_decode_proof(b.data, b.len, &dr, &why), 0);
	assert_memory_equal(&r, &dr, sizeof(r));
	truncations(&b, dec_proof);
	r.ok = 0;		/* a refusal says why */
	buf_reset(&b);
	assert_int_equal(privsep_encode_proof(&b, &r), -1);
	strcpy(r.why, "bad proof");
	assert_int_equal(privsep_encode_proof(&b, &r), 0);

	/* ENROLMENT_SET: the file's text, parsed as strictly, and the
	 * key's wrapping */
	memset(&e, 0, sizeof(e));
	e.e.id = 42;
	memset(e.e.brain_fingerprint, 'a', OCTO_FPR_HEX_LEN);
	strcpy(e.e.brain_address, "192.0.2.1");
	e.e.brain_registerer_port = 6000;
	e.e.brain_commander_port = 6001;
	e.e.status = ENROLMENT_ACCEPTED;
	e.e.enrolled_at = 1700000000;
	e.e.has_sign_pub = 1;
	memset(e.e.sign_pub, 0x33, sizeof(e.e.sign_pub));
	memset(e.brain_pub, 0x61, sizeof(e.brain_pub));
	memset(e.wrapped_key, 0x62, sizeof(e.wrapped_key));
	memset(e.exporter, 0x63, sizeof(e.exporter));
	buf_reset(&b);
	assert_int_equal(privsep_encode_enrolment(&b, &e), 0);
	assert_int_equal(privsep_decode_enrolment(b.data, b.len, &de, &why),
	    0);
	assert_memory_equal(&e, &de, sizeof(e));
	truncations(&b, dec_enrolment);
	buf_reset(&b);
	pack_init(&pk, &b);
	pack_bytes(&pk, "id = 1\n", 7);
	pack_bytes(&pk, e.brain_pub, sizeof(e.brain_pub));
	pack_bytes(&pk, e.wrapped_key, sizeof(e.wrapped_key));
	pack_bytes(&pk, e.exporter, sizeof(e.exporter));
	assert_int_equal(privsep_decode_enrolment(b.data, b.len, &de, &why),
	    -1);
	assert_string_equal(why, "ENROLMENT_SET: not an enrolment");

	/* ENROLMENT_STORED, STATUS_SET */
	buf_reset(&b);
	assert_int_equal(privsep_encode_u8(&b, ENROLMENT_REJECTED,
	    ENROLMENT_REJECTED), 0);
	assert_int_equal(privsep_decode_u8(b.data, b.len, &v,
	    ENROLMENT_REJECTED, &why), 0);
	assert_int_equal(v, ENROLMENT_REJECTED);
	assert_int_equal(privsep_decode_u8(b.data, b.len, &v, 1, &why), -1);
	assert_int_equal(privsep_decode_u8(b.data, 0, &v, 9, &why), -1);
	assert_int_equal(privsep_encode_u8(&b, 3, PRIVSEP_STORED_NOT_WRAPPED),
	    -1);
	buf_free(&b);
}

static void
test_done_carries_mac(void **state)
{
	struct msg_result	m, d;
	struct buf		b;
	const char		*why;

	m = sample();
	memset(m.mac, 0xab, sizeof(m.mac));
	buf_init(&b, IPC_PAYLOAD_MAX);
	assert_int_equal(privsep_encode_done(&b, &m), 0);
	assert_int_equal(privsep_decode_done(b.data, b.len, &d, &why), 0);
	assert_memory_equal(d.mac, m.mac, sizeof(m.mac));
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_managed_codecs),
		cmocka_unit_test(test_key_keeping_codecs),
		cmocka_unit_test(test_done_carries_mac),
		cmocka_unit_test(test_request_round_trip),
		cmocka_unit_test(test_request_refused),
		cmocka_unit_test(test_request_truncations),
		cmocka_unit_test(test_done_round_trip),
		cmocka_unit_test(test_done_out_of_shape),
		cmocka_unit_test(test_types_named),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
