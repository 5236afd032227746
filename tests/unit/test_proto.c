/*
 * The protocol's message codecs: every message round-trips, and every
 * malformed input is refused with a reason: wrong type, truncated at every
 * length, trailing bytes, bad fields.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "crypto.h"
#include "pack.h"
#include "proto.h"

#define FPR "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static struct wire_frame
frame_of(struct buf *b)
{
	struct wire_frame	f;
	size_t			used;

	assert_int_equal(wire_decode(b->data, b->len, &f, &used), WIRE_OK);
	return f;
}

static void
valid_request(struct msg_enrol_request *r)
{
	memset(r, 0, sizeof(*r));
	strcpy(r->hostname, "web-01.example");
	strcpy(r->facts, "{\"os\":\"Debian\"}");
	strcpy(r->fingerprint, FPR);
	strcpy(r->command_address, "192.0.2.7");
	r->command_port = 7001;
	strcpy(r->token, "00112233445566778899aabbccddeeff");
}

static void
test_enrol_request_roundtrip(void **state)
{
	struct msg_enrol_request	r, d;
	struct buf			b;
	struct wire_frame		f;
	const char			*why = NULL;

	valid_request(&r);
	buf_init(&b, WIRE_PAYLOAD_MAX);
	assert_int_equal(proto_encode_enrol_request(&b, &r), 0);
	f = frame_of(&b);
	memset(&d, 0, sizeof(d));
	assert_int_equal(proto_decode_enrol_request(&f, &d, &why), 0);
	assert_memory_equal(&r, &d, sizeof(r));

	/* Truncated at every length: refused, never read past the end. */
	for (f.len = 0; f.len < frame_of(&b).len; f.len++)
		assert_int_equal(proto_decode_enrol_request(&f, &d, &why), -1);
	/* Trailing bytes. */
	buf_append(&b, "x", 1);
	f = frame_of(&b);
	f.len += 0;
	{
		struct wire_frame	g = f;
		uint8_t			tmp[WIRE_PAYLOAD_MAX];

		memcpy(tmp, g.payload, g.len);
		tmp[g.len] = 'x';
		g.payload = tmp;
		g.len++;
		assert_int_equal(proto_decode_enrol_request(&g, &d, &why), -1);
		assert_string_equal(why, "malformed message");
	}
	/* Another frame type. */
	f.type = WIRE_ENROL_REPLY;
	assert_int_equal(proto_decode_enrol_request(&f, &d, &why), -1);
	buf_free(&b);
}

/* Each bad field is refused by the encoder and, packed by hand, by the
 * decoder. */
static void
test_enrol_request_bad_fields(void **state)
{
	struct msg_enrol_request	r, d;
	struct buf			b, pl;
	struct packer			p;
	struct wire_frame		f;
	const char			*why;
	int				i;

	for (i = 0; i < 8; i++) {
		valid_request(&r);
		switch (i) {
		case 0: strcpy(r.hostname, ""); break;
		case 1: strcpy(r.hostname, "a b"); break;
		case 2: strcpy(r.hostname, "x\033[31m"); break;
		case 3: strcpy(r.fingerprint, "ABCDEF"); break;
		case 4: r.command_port = 0; break;
		case 5: r.command_port = 70000; break;
		case 6: strcpy(r.token, "not-hex"); break;
		case 7: strcpy(r.facts, "tab\there"); break;
		}
		buf_init(&b, WIRE_PAYLOAD_MAX);
		assert_int_equal(proto_encode_enrol_request(&b, &r), -1);
		buf_init(&pl, WIRE_PAYLOAD_MAX);
		pack_init(&p, &pl);
		pack_str(&p, r.hostname);
		pack_str(&p, r.facts);
		pack_str(&p, r.fingerprint);
		pack_str(&p, r.command_address);
		pack_u32(&p, r.command_port);
		pack_str(&p, r.token);
		assert_int_equal(wire_encode(&b, WIRE_ENROL_REQUEST, pl.data,
		    pl.len), 0);
		f = frame_of(&b);
		why = NULL;
		assert_int_equal(proto_decode_enrol_request(&f, &d, &why), -1);
		assert_non_null(why);
		buf_free(&b);
		buf_free(&pl);
	}
}

static void
test_enrol_reply(void **state)
{
	struct msg_enrol_reply	r, d;
	struct buf		b;
	struct wire_frame	f;
	const char		*why;

	memset(&r, 0, sizeof(r));
	r.status = ENROLMENT_PENDING;
	r.id = 42;
	memset(r.brain_pub, 6, sizeof(r.brain_pub));
	memset(r.wrapped_key, 7, sizeof(r.wrapped_key));
	strcpy(r.brain_fingerprint, FPR);
	strcpy(r.message, "pending (no token)");
	buf_init(&b, WIRE_PAYLOAD_MAX);
	assert_int_equal(proto_encode_enrol_reply(&b, &r), 0);
	f = frame_of(&b);
	memset(&d, 0, sizeof(d));	/* padding: the decoder fills fields */
	assert_int_equal(proto_decode_enrol_reply(&f, &d, &why), 0);
	assert_memory_equal(&r, &d, sizeof(r));
	for (f.len = 0; f.len < frame_of(&b).len; f.len++)
		assert_int_equal(proto_decode_enrol_reply(&f, &d, &why), -1);
	/* Encoder refuses what the decoder would. */
	r.status = 0;
	assert_int_equal(proto_encode_enrol_reply(&b, &r), -1);
	r.status = ENROLMENT_MAX;
	assert_int_equal(proto_encode_enrol_reply(&b, &r), -1);
	r.status = ENROLMENT_ACCEPTED;
	r.id = 0;
	assert_int_equal(proto_encode_enrol_reply(&b, &r), -1);
	buf_free(&b);
}

static void
test_small_messages(void **state)
{
	struct msg_hello		h, hd;
	struct msg_auth_id		a, ad;
	struct msg_auth_challenge	c, cd;
	struct msg_auth_proof		p, pd;
	struct msg_status		s, sd;
	struct msg_auth_ok		ok, okd;
	struct msg_pair_proof		pp, ppd;
	struct buf			b;
	struct wire_frame		f;
	const char			*why;
	char				reason[64];

	buf_init(&b, WIRE_PAYLOAD_MAX);
	memset(&h, 0, sizeof(h));
	h.purpose = PURPOSE_PING;
	strcpy(h.version, "0.1.0");
	assert_int_equal(proto_encode_hello(&b, &h), 0);
	f = frame_of(&b);
	assert_int_equal(proto_decode_hello(&f, &hd, &why), 0);
	assert_int_equal(hd.purpose, PURPOSE_PING);
	h.purpose = PURPOSE_MAX;
	assert_int_equal(proto_encode_hello(&b, &h), -1);

	buf_reset(&b);
	a.id = 9;
	memset(a.nonce, 1, sizeof(a.nonce));
	assert_int_equal(proto_encode_auth_id(&b, &a), 0);
	f = frame_of(&b);
	memset(&ad, 0, sizeof(ad));
	assert_int_equal(proto_decode_auth_id(&f, &ad, &why), 0);
	assert_memory_equal(&a, &ad, sizeof(a));
	for (f.len = 0; f.len < frame_of(&b).len; f.len++)
		assert_int_equal(proto_decode_auth_id(&f, &ad, &why), -1);
	buf_reset(&b);
	a.id = 0;
	assert_int_equal(proto_encode_auth_id(&b, &a), 0);
	f = frame_of(&b);
	assert_int_equal(proto_decode_auth_id(&f, &ad, &why), -1);

	buf_reset(&b);
	memset(&c, 2, sizeof(c));
	assert_int_equal(proto_encode_auth_challenge(&b, &c), 0);
	f = frame_of(&b);
	memset(&cd, 0, sizeof(cd));
	assert_int_equal(proto_decode_auth_challenge(&f, &cd, &why), 0);
	assert_memory_equal(&c, &cd, sizeof(c));
	/* A challenge is not a proof. */
	assert_int_equal(proto_decode_auth_proof(&f, &pd, &why), -1);

	buf_reset(&b);
	memset(&p, 3, sizeof(p));
	assert_int_equal(proto_encode_auth_proof(&b, &p), 0);
	f = frame_of(&b);
	assert_int_equal(proto_decode_auth_proof(&f, &pd, &why), 0);
	f.len--;
	assert_int_equal(proto_decode_auth_proof(&f, &pd, &why), -1);

	buf_reset(&b);
	memset(&s, 0, sizeof(s));
	s.enrolment = ENROLMENT_REJECTED;
	assert_int_equal(proto_encode_status(&b, &s), 0);
	f = frame_of(&b);
	assert_int_equal(proto_decode_status(&f, &sd, &why), 0);
	assert_int_equal(sd.enrolment, ENROLMENT_REJECTED);

	buf_reset(&b);
	memset(&ok, 4, sizeof(ok));
	assert_int_equal(proto_encode_auth_ok(&b, &ok), 0);
	f = frame_of(&b);
	memset(&okd, 0, sizeof(okd));
	assert_int_equal(proto_decode_auth_ok(&f, &okd, &why), 0);
	assert_memory_equal(&ok, &okd, sizeof(ok));
	for (f.len = 0; f.len < frame_of(&b).len; f.len++)
		assert_int_equal(proto_decode_auth_ok(&f, &okd, &why), -1);
	/* AUTH_OK now carries the server's proof: never empty. */
	f = frame_of(&b);
	assert_int_equal(proto_decode_empty(&f, WIRE_AUTH_OK, &why), -1);
	assert_int_equal(proto_decode_auth_proof(&f, &pd, &why), -1);

	/* PAIR_REQUIRED is empty; PAIR_PROOF carries exactly one proof. */
	buf_reset(&b);
	assert_int_equal(proto_encode_pair_required(&b), 0);
	f = frame_of(&b);
	assert_int_equal(proto_decode_empty(&f, WIRE_PAIR_REQUIRED, &why), 0);
	assert_int_equal(proto_decode_pair_proof(&f, &pp, &why), -1);
	buf_reset(&b);
	memset(&pp, 5, sizeof(pp));
	assert_int_equal(proto_encode_pair_proof(&b, &pp), 0);
	f = frame_of(&b);
	memset(&ppd, 0, sizeof(ppd));
	assert_int_equal(proto_decode_pair_proof(&f, &ppd, &why), 0);
	assert_memory_equal(&pp, &ppd, sizeof(pp));
	for (f.len = 0; f.len < frame_of(&b).len; f.len++)
		assert_int_equal(proto_decode_pair_proof(&f, &ppd, &why), -1);
	f = frame_of(&b);
	assert_int_equal(proto_decode_empty(&f, WIRE_PAIR_REQUIRED, &why), -1);
	assert_int_equal(proto_decode_auth_proof(&f, &pd, &why), -1);

	/* Errors are cleaned for the log. */
	buf_reset(&b);
	assert_int_equal(proto_encode_error(&b, "bad\nthing\033"), 0);
	f = frame_of(&b);
	assert_int_equal(proto_decode_error(&f, reason, sizeof(reason)), 0);
	assert_string_equal(reason, "bad?thing?");
	buf_free(&b);
}

/* Pairing codes: 60 random bits in base32, parsed in either case with
 * or without dashes; proofs differ by side, exporter and code. */
static void
test_pairing(void **state)
{
	char	code[PROTO_PAIRING_LEN + 1], again[PROTO_PAIRING_LEN + 1];
	char	shown[PROTO_PAIRING_SHOWN + 1], other[PROTO_PAIRING_LEN + 1];
	uint8_t	key[PROTO_KEY_LEN], key2[PROTO_KEY_LEN], e1[32], e2[32];
	uint8_t	pb[PROTO_MAC_LEN], pt[PROTO_MAC_LEN], px[PROTO_MAC_LEN];
	static const char *const bad[] = { "", "ABCD-EFGH-IJK",
	    "ABCD-EFGH-IJKLM", "ABCD-EFGH-IJK1", "ABCD-EFGH-IJK0",
	    "ABCD-EFGH-IJK8", "ABCD_EFGH_IJKL", "ABCDEFGHIJK\xc3",
	    "--------------------------------------"
	    "--------------------------------ABCDEFGHIJKL", NULL };
	size_t	i;

	assert_int_equal(proto_pairing_new(code), 0);
	assert_int_equal(strlen(code), PROTO_PAIRING_LEN);
	assert_int_equal(strspn(code, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"),
	    PROTO_PAIRING_LEN);
	assert_int_equal(proto_pairing_new(other), 0);
	assert_string_not_equal(code, other);
	proto_pairing_show(code, shown);
	assert_int_equal(strlen(shown), PROTO_PAIRING_SHOWN);
	assert_true(shown[4] == '-' && shown[9] == '-');
	assert_int_equal(proto_pairing_parse(shown, again), 0);
	assert_string_equal(again, code);
	assert_int_equal(proto_pairing_parse("abcd efgh-ijkl", again), 0);
	assert_string_equal(again, "ABCDEFGHIJKL");
	for (i = 0; bad[i] != NULL; i++)
		assert_int_equal(proto_pairing_parse(bad[i], again), -1);

	memset(e1, 1, sizeof(e1));
	memset(e2, 2, sizeof(e2));
	assert_int_equal(proto_pairing_key(code, key), 0);
	assert_int_equal(proto_pairing_key(other, key2), 0);
	assert_memory_not_equal(key, key2, sizeof(key));
	assert_int_equal(proto_pairing_proof(key, PAIRING_BRAIN, e1, pb), 0);
	assert_int_equal(proto_pairing_proof(key, PAIRING_TENTACLE, e1, pt), 0);
	assert_memory_not_equal(pb, pt, sizeof(pb));
	assert_int_equal(proto_pairing_proof(key, PAIRING_BRAIN, e2, px), 0);
	assert_memory_not_equal(pb, px, sizeof(pb));
	assert_int_equal(proto_pairing_proof(key2, PAIRING_BRAIN, e1, px), 0);
	assert_memory_not_equal(pb, px, sizeof(pb));
	assert_int_equal(proto_pairing_proof(key, PAIRING_BRAIN, e1, px), 0);
	assert_memory_equal(pb, px, sizeof(pb));
}

static void
test_run_messages(void **state)
{
	struct msg_order	o, od;
	struct msg_order_ack	a, ad;
	struct msg_result	r, rd;
	struct msg_result_ack	k, kd;
	struct msg_inventory	inv, invd;
	struct buf		b;
	struct wire_frame	f;
	const char		*why;
	static const char	out[] = "line one\nline two\n";
	static const char	scripts[] =
	    "[{\"name\":\"disk-usage\",\"sha256\":\"00\"}]";

	buf_init(&b, WIRE_PAYLOAD_MAX);
	memset(&o, 0, sizeof(o));
	o.job = 12;
	strcpy(o.script, "disk-usage");
	memset(o.mac, 5, sizeof(o.mac));
	assert_int_equal(proto_encode_order(&b, &o), 0);
	f = frame_of(&b);
	memset(&od, 0, sizeof(od));
	assert_int_equal(proto_decode_order(&f, &od, &why), 0);
	assert_memory_equal(&o, &od, sizeof(o));
	for (f.len = 0; f.len < frame_of(&b).len; f.len++)
		assert_int_equal(proto_decode_order(&f, &od, &why), -1);
	/* The brain never sends a name a tentacle must refuse. */
	strcpy(o.script, "../etc/passwd");
	assert_int_equal(proto_encode_order(&b, &o), -1);
	strcpy(o.script, ".hidden");
	assert_int_equal(proto_encode_order(&b, &o), -1);
	/* A script hash: empty or 64 lowercase hex digits. */
	strcpy(o.script, "disk-usage");
	strcpy(o.script_sha256, FPR);
	buf_reset(&b);
	assert_int_equal(proto_encode_order(&b, &o), 0);
	f = frame_of(&b);
	assert_int_equal(proto_decode_order(&f, &od, &why), 0);
	assert_string_equal(od.script_sha256, FPR);
	o.script_sha256[3] = 'X';
	assert_int_equal(proto_encode_order(&b, &o), -1);
	o.script_sha256[0] = '\0';
	assert_false(proto_script_name_valid("a/b"));
	assert_false(proto_script_name_valid(""));
	assert_true(proto_script_name_valid("sshd-config"));

	buf_reset(&b);
	memset(&a, 0, sizeof(a));
	a.job = 12;
	strcpy(a.message, "unknown script");
	assert_int_equal(proto_encode_order_ack(&b, &a), 0);
	f = frame_of(&b);
	memset(&ad, 0, sizeof(ad));
	assert_int_equal(proto_decode_order_ack(&f, &ad, &why), 0);
	assert_memory_equal(&a, &ad, sizeof(a));

	buf_reset(&b);
	memset(&r, 0, sizeof(r));
	r.job = 12;
	r.outcome = OUTCOME_RAN;
	r.exit_status = 1;
	r.started_at_ms = 1700000000000ULL;
	r.duration_ms = 42;
	r.output = (const uint8_t *)out;
	r.output_len = sizeof(out) - 1;
	memset(r.mac, 8, sizeof(r.mac));
	assert_int_equal(proto_encode_result(&b, &r), 0);
	f = frame_of(&b);
	assert_int_equal(proto_decode_result(&f, &rd, &why), 0);
	assert_memory_equal(rd.mac, r.mac, sizeof(r.mac));
	assert_int_equal(rd.job, 12);
	assert_int_equal(rd.exit_status, 1);
	assert_int_equal(rd.output_len, sizeof(out) - 1);
	assert_memory_equal(rd.output, out, sizeof(out) - 1);
	for (f.len = 0; f.len < frame_of(&b).len; f.len++)
		assert_int_equal(proto_decode_result(&f, &rd, &why), -1);
	r.outcome = OUTCOME_MAX;
	assert_int_equal(proto_encode_result(&b, &r), -1);
	r.outcome = OUTCOME_RAN;
	r.signal = 200;
	assert_int_equal(proto_encode_result(&b, &r), -1);
	r.signal = 0;
	r.output_len = PROTO_OUTPUT_MAX + 1;
	assert_int_equal(proto_encode_result(&b, &r), -1);

	/* RESULT_ACK: stored (no reason), or refused for good (a reason). */
	buf_reset(&b);
	memset(&k, 0, sizeof(k));
	k.job = 12;
	k.status = RESULT_ACK_STORED;
	assert_int_equal(proto_encode_result_ack(&b, &k), 0);
	f = frame_of(&b);
	assert_int_equal(proto_decode_result_ack(&f, &kd, &why), 0);
	assert_memory_equal(&k, &kd, sizeof(k));
	for (f.len = 0; f.len < frame_of(&b).len; f.len++)
		assert_int_equal(proto_decode_result_ack(&f, &kd, &why), -1);
	buf_reset(&b);
	k.status = RESULT_ACK_REFUSED;
	strcpy(k.reason, "a result for a job this tentacle was never given");
	assert_int_equal(proto_encode_result_ack(&b, &k), 0);
	f = frame_of(&b);
	memset(&kd, 0, sizeof(kd));
	assert_int_equal(proto_decode_result_ack(&f, &kd, &why), 0);
	assert_memory_equal(&k, &kd, sizeof(k));
	/* The encoder refuses what the decoder would. */
	buf_reset(&b);
	k.reason[0] = '\0';
	assert_int_equal(proto_encode_result_ack(&b, &k), -1);	/* no why */
	k.status = RESULT_ACK_STORED;
	strcpy(k.reason, "stored, but");
	assert_int_equal(proto_encode_result_ack(&b, &k), -1);
	k.status = 2;
	strcpy(k.reason, "why");
	assert_int_equal(proto_encode_result_ack(&b, &k), -1);
	k.status = RESULT_ACK_REFUSED;
	strcpy(k.reason, "bad\nline");
	assert_int_equal(proto_encode_result_ack(&b, &k), -1);
	memset(k.reason, 'x', sizeof(k.reason));	/* no NUL */
	assert_int_equal(proto_encode_result_ack(&b, &k), -1);
	k.reason[sizeof(k.reason) - 1] = '\0';
	assert_int_equal(proto_encode_result_ack(&b, &k), 0);
	k.job = 0;
	assert_int_equal(proto_encode_result_ack(&b, &k), -1);
	/* Hostile frames: each one refused with a reason. */
	{
		static const uint8_t bad_status[] = { 0, 0, 0, 0, 0, 0, 0, 12,
		    2, 0, 0, 0, 0 };
		static const uint8_t stored_why[] = { 0, 0, 0, 0, 0, 0, 0, 12,
		    0, 0, 0, 0, 1, 'x' };
		static const uint8_t refused_empty[] = { 0, 0, 0, 0, 0, 0, 0,
		    12, 1, 0, 0, 0, 0 };
		static const uint8_t ctl[] = { 0, 0, 0, 0, 0, 0, 0, 12, 1, 0,
		    0, 0, 2, 'x', 0x1b };
		static const uint8_t nul[] = { 0, 0, 0, 0, 0, 0, 0, 12, 1, 0,
		    0, 0, 2, 'x', 0 };
		static const uint8_t trailing[] = { 0, 0, 0, 0, 0, 0, 0, 12,
		    0, 0, 0, 0, 0, 0 };
		static const uint8_t old_ack[] = { 0, 0, 0, 0, 0, 0, 0, 12 };
		const struct { const uint8_t *p; size_t n; } cases[] = {
			{ bad_status, sizeof(bad_status) },
			{ stored_why, sizeof(stored_why) },
			{ refused_empty, sizeof(refused_empty) },
			{ ctl, sizeof(ctl) },
			{ nul, sizeof(nul) },
			{ trailing, sizeof(trailing) },
			{ old_ack, sizeof(old_ack) },
		};
		size_t	i;

		for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			f.type = WIRE_RESULT_ACK;
			f.payload = cases[i].p;
			f.len = (uint32_t)cases[i].n;
			why = NULL;
			assert_int_equal(proto_decode_result_ack(&f, &kd,
			    &why), -1);
			assert_non_null(why);
		}
	}

	buf_reset(&b);
	memset(&inv, 0, sizeof(inv));
	strcpy(inv.facts, "{}");
	inv.scripts = scripts;
	inv.scripts_len = sizeof(scripts) - 1;
	assert_int_equal(proto_encode_inventory(&b, &inv), 0);
	f = frame_of(&b);
	assert_int_equal(proto_decode_inventory(&f, &invd, &why), 0);
	assert_int_equal(invd.scripts_len, sizeof(scripts) - 1);
	assert_memory_equal(invd.scripts, scripts, sizeof(scripts) - 1);
	buf_free(&b);
}

static const uint8_t key_a[PROTO_KEY_LEN] = { 1, 2, 3 };
static const uint8_t key_b[PROTO_KEY_LEN] = { 1, 2, 4 };
static const uint8_t exp_a[PROTO_EXPORTER_LEN] = { 0xaa };
static const uint8_t exp_b[PROTO_EXPORTER_LEN] = { 0xbb };

/* An order's MAC covers the tentacle, the job, the script, its hash and
 * the session: a change to any of them, or another key, fails it. */
static void
test_order_mac(void **state)
{
	struct msg_order	o, c;

	memset(&o, 0, sizeof(o));
	o.job = 12;
	strcpy(o.script, "disk-usage");
	assert_int_equal(proto_order_mac(key_a, 7, &o, exp_a, o.mac), 0);
	assert_true(proto_order_mac_ok(key_a, 7, &o, exp_a));
	assert_false(proto_order_mac_ok(key_b, 7, &o, exp_a));
	assert_false(proto_order_mac_ok(key_a, 8, &o, exp_a));
	assert_false(proto_order_mac_ok(key_a, 7, &o, exp_b));
	c = o;
	c.job = 13;
	assert_false(proto_order_mac_ok(key_a, 7, &c, exp_a));
	c = o;
	strcpy(c.script, "disk-usagf");
	assert_false(proto_order_mac_ok(key_a, 7, &c, exp_a));
	c = o;
	strcpy(c.script_sha256, FPR);
	assert_false(proto_order_mac_ok(key_a, 7, &c, exp_a));
	c = o;
	c.mac[31] ^= 1;
	assert_false(proto_order_mac_ok(key_a, 7, &c, exp_a));
}

/* A result's MAC covers the tentacle, the job and every field. */
static void
test_result_mac(void **state)
{
	static const uint8_t	out[] = "total 0\n", out2[] = "total 1\n";
	struct msg_result	r, c;

	memset(&r, 0, sizeof(r));
	r.job = 12;
	r.outcome = OUTCOME_RAN;
	r.started_at_ms = 1700000000000ULL;
	r.duration_ms = 5;
	r.output = out;
	r.output_len = sizeof(out) - 1;
	assert_int_equal(proto_result_mac(key_a, 7, &r, r.mac), 0);
	assert_true(proto_result_mac_ok(key_a, 7, &r));
	assert_false(proto_result_mac_ok(key_b, 7, &r));
	assert_false(proto_result_mac_ok(key_a, 6, &r));
#define CHANGED(stmt) do {						\
	c = r; stmt;							\
	assert_false(proto_result_mac_ok(key_a, 7, &c));		\
} while (0)
	CHANGED(c.job = 13);
	CHANGED(c.outcome = OUTCOME_TIMEOUT);
	CHANGED(c.exit_status = 1);
	CHANGED(c.signal = 9);
	CHANGED(c.started_at_ms++);
	CHANGED(c.duration_ms++);
	CHANGED(c.truncated = 1);
	CHANGED(c.output = out2);
	CHANGED(c.output_len--);
	CHANGED(c.mac[0] ^= 0x80);
#undef CHANGED
	/* Out of shape: no MAC at all. */
	c = r;
	c.output_len = PROTO_OUTPUT_MAX + 1;
	assert_int_equal(proto_result_mac(key_a, 7, &c, c.mac), -1);
}

/* The enrolment's key goes wrapped: the tentacle's key pair and session
 * unwrap it; another key pair, another session, a changed ID, status or
 * ciphertext do not. */
static void
test_enrol_wrap(void **state)
{
	uint8_t			priv[X25519_LEN], pub[PROTO_PUB_LEN];
	uint8_t			priv2[X25519_LEN], pub2[PROTO_PUB_LEN];
	uint8_t			got[PROTO_KEY_LEN];
	static const uint8_t	zero[PROTO_PUB_LEN];
	struct msg_enrol_reply	r, c, r2;

	assert_int_equal(crypto_x25519_keypair(priv, pub), 0);
	assert_int_equal(crypto_x25519_keypair(priv2, pub2), 0);
	assert_true(proto_enrol_pub_valid(pub));
	assert_false(proto_enrol_pub_valid(zero));
	memset(&r, 0, sizeof(r));
	r.id = 42;
	r.status = ENROLMENT_ACCEPTED;
	strcpy(r.brain_fingerprint, FPR);
	assert_int_equal(proto_enrol_wrap(pub, exp_a, key_a, &r), 0);
	/* Not the key in clear anywhere in the reply. */
	assert_null(memmem(&r, sizeof(r), key_a, 8));
	assert_int_equal(proto_enrol_unwrap(priv, pub, exp_a, &r, got), 0);
	assert_memory_equal(got, key_a, sizeof(got));
	assert_int_equal(proto_enrol_unwrap(priv2, pub2, exp_a, &r, got), -1);
	assert_int_equal(proto_enrol_unwrap(priv, pub, exp_b, &r, got), -1);
	c = r;
	c.id = 43;
	assert_int_equal(proto_enrol_unwrap(priv, pub, exp_a, &c, got), -1);
	c = r;
	c.status = ENROLMENT_PENDING;
	assert_int_equal(proto_enrol_unwrap(priv, pub, exp_a, &c, got), -1);
	c = r;
	c.wrapped_key[0] ^= 1;
	assert_int_equal(proto_enrol_unwrap(priv, pub, exp_a, &c, got), -1);
	c = r;
	c.brain_pub[0] ^= 1;
	assert_int_equal(proto_enrol_unwrap(priv, pub, exp_a, &c, got), -1);
	/* A fresh brain key pair every time: never the same wrapping. */
	r2 = r;
	assert_int_equal(proto_enrol_wrap(pub, exp_a, key_a, &r2), 0);
	assert_memory_not_equal(r.brain_pub, r2.brain_pub, sizeof(r.brain_pub));
	assert_memory_not_equal(r.wrapped_key, r2.wrapped_key,
	    sizeof(r.wrapped_key));
	/* A low-order public key cannot be wrapped for. */
	assert_int_equal(proto_enrol_wrap(zero, exp_a, key_a, &r2), -1);
}

/* ---- managed scripts (issue 14) ----------------------------------------- */

static const char script_body[] = "#!/bin/sh\necho managed\n";

static void
valid_put(struct msg_script_put *m)
{
	memset(m, 0, sizeof(*m));
	strcpy(m->name, "managed.sh");
	m->version = 3;
	strcpy(m->description, "says managed");
	assert_int_equal(crypto_sha256(script_body, strlen(script_body),
	    (uint8_t *)m->sig), 0);
	hex_encode(m->sig, 32, m->sha256);
	memset(m->sig, 0x5a, sizeof(m->sig));
	m->body = (const uint8_t *)script_body;
	m->body_len = strlen(script_body);
}

static void
test_script_put(void **state)
{
	struct msg_script_put	 m, d;
	struct buf		 b;
	struct wire_frame	 f;
	const char		*why;
	static uint8_t		 big[PROTO_SCRIPT_BODY_MAX + 1];
	size_t			 full;

	buf_init(&b, WIRE_HDR_LEN + WIRE_PAYLOAD_MAX);
	valid_put(&m);
	assert_int_equal(proto_encode_script_put(&b, &m), 0);
	f = frame_of(&b);
	assert_int_equal(f.type, WIRE_SCRIPT_PUT);
	memset(&d, 0, sizeof(d));
	assert_int_equal(proto_decode_script_put(&f, &d, &why), 0);
	assert_string_equal(d.name, m.name);
	assert_int_equal(d.version, 3);
	assert_string_equal(d.description, m.description);
	assert_string_equal(d.sha256, m.sha256);
	assert_int_equal(d.body_len, m.body_len);
	assert_memory_equal(d.body, script_body, d.body_len);
	assert_true(d.body >= f.payload && d.body + d.body_len <= f.payload +
	    f.len);
	assert_memory_equal(d.sig, m.sig, sizeof(m.sig));
	full = f.len;
	for (f.len = 0; f.len < full; f.len++) {
		why = NULL;
		assert_int_equal(proto_decode_script_put(&f, &d, &why), -1);
		assert_non_null(why);
	}
	/* Another frame type. */
	f = frame_of(&b);
	f.type = WIRE_SCRIPT_DELETE;
	assert_int_equal(proto_decode_script_put(&f, &d, &why), -1);

	/* Out of shape: the encoder refuses, and so does the decoder
	 * (frames packed by hand). */
#define BAD_PUT(stmt, reason) do {					\
	struct buf	 pl;						\
	struct packer	 pk;						\
	valid_put(&m);							\
	stmt;								\
	buf_reset(&b);							\
	assert_int_equal(proto_encode_script_put(&b, &m), -1);		\
	buf_init(&pl, WIRE_PAYLOAD_MAX);				\
	pack_init(&pk, &pl);						\
	pack_str(&pk, m.name);						\
	pack_u32(&pk, m.version);					\
	pack_str(&pk, m.description);					\
	pack_str(&pk, m.sha256);					\
	pack_bytes(&pk, m.body, m.body_len);				\
	pack_bytes(&pk, m.sig, sizeof(m.sig));				\
	assert_int_equal(pack_error(&pk), 0);				\
	buf_reset(&b);							\
	assert_int_equal(wire_encode(&b, WIRE_SCRIPT_PUT, pl.data,	\
	    pl.len), 0);						\
	buf_free(&pl);							\
	f = frame_of(&b);						\
	assert_int_equal(proto_decode_script_put(&f, &d, &why), -1);	\
	assert_string_equal(why, reason);				\
} while (0)
	BAD_PUT(strcpy(m.name, "../etc/passwd"), "bad script name");
	BAD_PUT(strcpy(m.name, "a/b"), "bad script name");
	BAD_PUT(strcpy(m.name, ".hidden"), "bad script name");
	BAD_PUT(strcpy(m.name, ""), "bad script name");
	BAD_PUT(m.version = 0, "bad script version");
	BAD_PUT(strcpy(m.description, "tab\there"), "bad script description");
	BAD_PUT(m.sha256[3] = 'A', "bad script hash");
	BAD_PUT(m.sha256[63] = '\0', "bad script hash");
	BAD_PUT(m.body = (const uint8_t *)"echo no interpreter\n";
	    m.body_len = 20, "script does not start with #!");
	BAD_PUT(m.body = (const uint8_t *)"#"; m.body_len = 1,
	    "script does not start with #!");
	BAD_PUT(m.body_len = 0, "script does not start with #!");
#undef BAD_PUT
	/* Too long: the encoder refuses; the decoder too (the unpacker's
	 * maximum). */
	valid_put(&m);
	memcpy(big, "#!", 2);
	m.body = big;
	m.body_len = PROTO_SCRIPT_BODY_MAX;
	buf_reset(&b);
	assert_int_equal(proto_encode_script_put(&b, &m), 0);
	m.body_len = PROTO_SCRIPT_BODY_MAX + 1;
	buf_reset(&b);
	assert_int_equal(proto_encode_script_put(&b, &m), -1);
	{
		struct buf	pl;
		struct packer	pk;

		buf_init(&pl, WIRE_PAYLOAD_MAX);
		pack_init(&pk, &pl);
		pack_str(&pk, m.name);
		pack_u32(&pk, m.version);
		pack_str(&pk, m.description);
		pack_str(&pk, m.sha256);
		pack_bytes(&pk, m.body, m.body_len);
		pack_bytes(&pk, m.sig, sizeof(m.sig));
		assert_int_equal(wire_encode(&b, WIRE_SCRIPT_PUT, pl.data,
		    pl.len), 0);
		buf_free(&pl);
		f = frame_of(&b);
		assert_int_equal(proto_decode_script_put(&f, &d, &why), -1);
	}
	buf_free(&b);
}

static void
test_script_delete_ack(void **state)
{
	struct msg_script_delete m, d;
	struct msg_script_ack	 a, da;
	struct msg_signkey	 k, dk;
	struct buf		 b;
	struct wire_frame	 f;
	const char		*why;
	size_t			 full;

	buf_init(&b, WIRE_PAYLOAD_MAX);
	memset(&m, 0, sizeof(m));
	strcpy(m.name, "managed.sh");
	m.version = 4;
	memset(m.sig, 0x33, sizeof(m.sig));
	assert_int_equal(proto_encode_script_delete(&b, &m), 0);
	f = frame_of(&b);
	memset(&d, 0, sizeof(d));
	assert_int_equal(proto_decode_script_delete(&f, &d, &why), 0);
	assert_memory_equal(&d, &m, sizeof(m));
	full = f.len;
	for (f.len = 0; f.len < full; f.len++)
		assert_int_equal(proto_decode_script_delete(&f, &d, &why), -1);
	m.version = 0;
	assert_int_equal(proto_encode_script_delete(&b, &m), -1);
	m.version = 1;
	strcpy(m.name, "x/y");
	assert_int_equal(proto_encode_script_delete(&b, &m), -1);

	/* Acknowledgements: ok (with or without a word), refused (always
	 * with one), SIGNKEY's (no name, version 0). */
	memset(&a, 0, sizeof(a));
	strcpy(a.name, "managed.sh");
	a.version = 4;
	a.status = SCRIPT_ACK_OK;
	buf_reset(&b);
	assert_int_equal(proto_encode_script_ack(&b, &a), 0);
	f = frame_of(&b);
	assert_int_equal(proto_decode_script_ack(&f, &da, &why), 0);
	assert_memory_equal(&a, &da, sizeof(a));
	full = f.len;
	for (f.len = 0; f.len < full; f.len++)
		assert_int_equal(proto_decode_script_ack(&f, &da, &why), -1);
	a.status = SCRIPT_ACK_REFUSED;
	assert_int_equal(proto_encode_script_ack(&b, &a), -1);
	strcpy(a.message, "managed_scripts = no");
	buf_reset(&b);
	assert_int_equal(proto_encode_script_ack(&b, &a), 0);
	f = frame_of(&b);
	assert_int_equal(proto_decode_script_ack(&f, &da, &why), 0);
	assert_string_equal(da.message, "managed_scripts = no");
	assert_int_equal(da.status, SCRIPT_ACK_REFUSED);
	a.status = 2;
	assert_int_equal(proto_encode_script_ack(&b, &a), -1);
	a.status = SCRIPT_ACK_OK;
	a.version = 0;
	assert_int_equal(proto_encode_script_ack(&b, &a), -1);
	a.name[0] = '\0';
	buf_reset(&b);
	assert_int_equal(proto_encode_script_ack(&b, &a), 0);
	a.version = 1;
	assert_int_equal(proto_encode_script_ack(&b, &a), -1);
	a.version = 0;
	strcpy(a.message, "bell\a");
	assert_int_equal(proto_encode_script_ack(&b, &a), -1);

	/* SIGNKEY: two fixed fields. */
	memset(&k, 0x11, sizeof(k));
	buf_reset(&b);
	assert_int_equal(proto_encode_signkey(&b, &k), 0);
	f = frame_of(&b);
	assert_int_equal(proto_decode_signkey(&f, &dk, &why), 0);
	assert_memory_equal(&k, &dk, sizeof(k));
	full = f.len;
	for (f.len = 0; f.len < full; f.len++)
		assert_int_equal(proto_decode_signkey(&f, &dk, &why), -1);
	f = frame_of(&b);
	f.type = WIRE_ORDER;
	assert_int_equal(proto_decode_signkey(&f, &dk, &why), -1);
	buf_free(&b);
}

/* SIGNKEY's MAC covers the tentacle, the key and the session. */
static void
test_signkey_mac(void **state)
{
	struct msg_signkey	k, c;

	memset(&k, 0, sizeof(k));
	memset(k.pub, 0x42, sizeof(k.pub));
	assert_int_equal(proto_signkey_mac(key_a, 7, k.pub, exp_a, k.mac), 0);
	assert_true(proto_signkey_mac_ok(key_a, 7, &k, exp_a));
	assert_false(proto_signkey_mac_ok(key_b, 7, &k, exp_a));
	assert_false(proto_signkey_mac_ok(key_a, 8, &k, exp_a));
	assert_false(proto_signkey_mac_ok(key_a, 7, &k, exp_b));
	c = k;
	c.pub[31] ^= 1;
	assert_false(proto_signkey_mac_ok(key_a, 7, &c, exp_a));
	c = k;
	c.mac[0] ^= 1;
	assert_false(proto_signkey_mac_ok(key_a, 7, &c, exp_a));
}

/* ENROL_REPLY's signing key: optional on the wire, covered by the
 * wrapping when present (the registerer can neither change nor drop it). */
static void
test_enrol_reply_sign_pub(void **state)
{
	uint8_t			priv[X25519_LEN], pub[PROTO_PUB_LEN];
	uint8_t			got[PROTO_KEY_LEN];
	struct msg_enrol_reply	r, d, c;
	struct buf		b;
	struct wire_frame	f;
	const char		*why;
	size_t			full, old_len;

	memset(&r, 0, sizeof(r));
	r.status = ENROLMENT_ACCEPTED;
	r.id = 42;
	strcpy(r.brain_fingerprint, FPR);
	buf_init(&b, WIRE_PAYLOAD_MAX);
	assert_int_equal(proto_encode_enrol_reply(&b, &r), 0);
	old_len = frame_of(&b).len;
	r.has_sign_pub = 1;
	memset(r.sign_pub, 0x77, sizeof(r.sign_pub));
	buf_reset(&b);
	assert_int_equal(proto_encode_enrol_reply(&b, &r), 0);
	f = frame_of(&b);
	assert_int_equal(f.len, old_len + 4 + PROTO_SIGN_PUB_LEN);
	memset(&d, 0, sizeof(d));
	assert_int_equal(proto_decode_enrol_reply(&f, &d, &why), 0);
	assert_memory_equal(&r, &d, sizeof(r));
	/* Cut at the old end: an older brain's reply, without the key. */
	full = f.len;
	for (f.len = 0; f.len < full; f.len++) {
		int rc = proto_decode_enrol_reply(&f, &d, &why);

		assert_int_equal(rc, f.len == old_len ? 0 : -1);
		if (rc == 0)
			assert_int_equal(d.has_sign_pub, 0);
	}
	r.has_sign_pub = 2;
	assert_int_equal(proto_encode_enrol_reply(&b, &r), -1);
	r.has_sign_pub = 1;

	assert_int_equal(crypto_x25519_keypair(priv, pub), 0);
	assert_int_equal(proto_enrol_wrap(pub, exp_a, key_a, &r), 0);
	assert_int_equal(proto_enrol_unwrap(priv, pub, exp_a, &r, got), 0);
	assert_memory_equal(got, key_a, sizeof(got));
	c = r;
	c.sign_pub[5] ^= 1;
	assert_int_equal(proto_enrol_unwrap(priv, pub, exp_a, &c, got), -1);
	c = r;
	c.has_sign_pub = 0;
	assert_int_equal(proto_enrol_unwrap(priv, pub, exp_a, &c, got), -1);
	buf_free(&b);
}

/* RESULT's sha256: a trailing field when one ran, covered by the MAC;
 * absent, the frame and the MAC are those of before. */
static void
test_result_sha256(void **state)
{
	static const uint8_t	 out[] = "hi\n";
	struct msg_result	 r, d, c;
	struct buf		 b;
	struct wire_frame	 f;
	const char		*why;
	uint8_t			 mac_old[PROTO_MAC_LEN];
	size_t			 old_len, full;

	memset(&r, 0, sizeof(r));
	r.job = 5;
	r.outcome = OUTCOME_RAN;
	r.output = out;
	r.output_len = 3;
	assert_int_equal(proto_result_mac(key_a, 7, &r, mac_old), 0);
	memcpy(r.mac, mac_old, sizeof(r.mac));
	buf_init(&b, WIRE_HDR_LEN + WIRE_PAYLOAD_MAX);
	assert_int_equal(proto_encode_result(&b, &r), 0);
	old_len = frame_of(&b).len;
	f = frame_of(&b);
	memset(&d, 0, sizeof(d));
	assert_int_equal(proto_decode_result(&f, &d, &why), 0);
	assert_string_equal(d.sha256, "");
	assert_true(proto_result_mac_ok(key_a, 7, &d));

	strcpy(r.sha256, FPR);
	assert_int_equal(proto_result_mac(key_a, 7, &r, r.mac), 0);
	assert_memory_not_equal(r.mac, mac_old, sizeof(mac_old));
	buf_reset(&b);
	assert_int_equal(proto_encode_result(&b, &r), 0);
	f = frame_of(&b);
	assert_int_equal(f.len, old_len + 4 + 64);
	assert_int_equal(proto_decode_result(&f, &d, &why), 0);
	assert_string_equal(d.sha256, FPR);
	assert_true(proto_result_mac_ok(key_a, 7, &d));
	/* Stripped or changed on the way: the MAC fails. */
	full = f.len;
	for (f.len = 0; f.len < full; f.len++) {
		int rc = proto_decode_result(&f, &d, &why);

		assert_int_equal(rc, f.len == old_len ? 0 : -1);
		if (rc == 0)
			assert_false(proto_result_mac_ok(key_a, 7, &d));
	}
	c = r;
	c.sha256[0] = 'f';
	assert_false(proto_result_mac_ok(key_a, 7, &c));
	c = r;
	c.sha256[0] = 'G';
	buf_reset(&b);
	assert_int_equal(proto_encode_result(&b, &c), -1);
	/* An empty hash sent explicitly is refused (one encoding only). */
	{
		struct buf	pl;
		struct packer	pk;
		size_t		hdr = WIRE_HDR_LEN;

		buf_reset(&b);
		c = r;
		c.sha256[0] = '\0';
		assert_int_equal(proto_encode_result(&b, &c), 0);
		buf_init(&pl, WIRE_PAYLOAD_MAX);
		assert_int_equal(buf_append(&pl, b.data + hdr, b.len - hdr), 0);
		pack_init(&pk, &pl);
		pack_str(&pk, "");
		buf_reset(&b);
		assert_int_equal(wire_encode(&b, WIRE_RESULT, pl.data, pl.len),
		    0);
		buf_free(&pl);
		f = frame_of(&b);
		assert_int_equal(proto_decode_result(&f, &d, &why), -1);
	}
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_enrol_request_roundtrip),
		cmocka_unit_test(test_enrol_request_bad_fields),
		cmocka_unit_test(test_enrol_reply),
		cmocka_unit_test(test_small_messages),
		cmocka_unit_test(test_pairing),
		cmocka_unit_test(test_run_messages),
		cmocka_unit_test(test_order_mac),
		cmocka_unit_test(test_result_mac),
		cmocka_unit_test(test_enrol_wrap),
		cmocka_unit_test(test_script_put),
		cmocka_unit_test(test_script_delete_ack),
		cmocka_unit_test(test_signkey_mac),
		cmocka_unit_test(test_enrol_reply_sign_pub),
		cmocka_unit_test(test_result_sha256),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
