/*
 * Writes the seed corpora of tests/fuzz/corpus/<target>/ with the
 * project's own encoders (wire_encode, ipc_encode, pack_*, config_dump,
 * evhttp_uriencode, jansson): valid inputs, plus a few near misses.
 *
 *	gen_corpus DIR		(make fuzz-corpus: DIR = tests/fuzz/corpus)
 *
 * Deterministic: running it again rewrites the same files.
 */
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>

#include <bsd/string.h>
#include <event2/http.h>
#include <jansson.h>

#include "apicall.h"
#include "enrolment.h"
#include "fuzz.h"
#include "fuzz_config.h"
#include "fuzz_findings.h"
#include "fuzz_pack.h"
#include "handshake.h"
#include "ipc.h"
#include "ipcmsg.h"
#include "limits.h"
#include "pack.h"
#include "proto.h"
#include "managed.h"
#include "privsep.h"
#include "spool.h"
#include "wire.h"

static const char	*outdir;

static _Noreturn void
die(const char *what)
{
	fprintf(stderr, "gen_corpus: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void
put(const char *target, const char *name, const void *p, size_t len)
{
	char	 path[1024];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/%s", outdir, target);
	if (mkdir(path, 0755) == -1 && errno != EEXIST)
		die(path);
	snprintf(path, sizeof(path), "%s/%s/%s", outdir, target, name);
	if ((f = fopen(path, "wb")) == NULL)
		die(path);
	if ((len > 0 && fwrite(p, 1, len, f) != len) || fclose(f) == EOF)
		die(path);
}

static void
put_buf(const char *target, const char *name, struct buf *b)
{
	put(target, name, b->data, b->len);
	buf_reset(b);
}

/* Brain <-> tentacle frames. */
static void
gen_wire(void)
{
	struct buf	 b, p;
	struct packer	 pk;
	uint8_t		 nonce[32];
	size_t		 i;

	for (i = 0; i < sizeof(nonce); i++)
		nonce[i] = (uint8_t)(i * 37 + 11);
	buf_init(&b, 1 << 20);
	buf_init(&p, 1 << 20);

	pack_init(&pk, &p);
	pack_str(&pk, "unknown tentacle: enrol it first");
	wire_encode(&b, WIRE_ERROR, p.data, p.len);
	put_buf("wire", "error", &b);

	/* HELLO's fields are the enrolment issue's; a plausible shape. */
	buf_reset(&p);
	pack_init(&pk, &p);
	pack_u32(&pk, 1);
	pack_str(&pk, "web-01.example.org");
	pack_bytes(&pk, nonce, sizeof(nonce));
	pack_u64(&pk, 1700000000);
	wire_encode(&b, WIRE_HELLO, p.data, p.len);
	put_buf("wire", "hello", &b);

	wire_encode(&b, WIRE_HELLO_ACK, NULL, 0);
	put_buf("wire", "hello-ack-empty", &b);

	/* Three frames in a row, as a connection reads them. */
	wire_encode(&b, WIRE_HELLO, p.data, p.len);
	wire_encode(&b, WIRE_HELLO_ACK, nonce, sizeof(nonce));
	wire_encode(&b, WIRE_ERROR, "\0\0\0\2ok", 6);
	put_buf("wire", "stream-of-three", &b);

	/* A good frame cut short, and one whose header is all there. */
	wire_encode(&b, WIRE_HELLO, p.data, p.len);
	put("wire", "truncated-payload", b.data, b.len - 5);
	put("wire", "header-only", b.data, WIRE_HDR_LEN);
	buf_reset(&b);

	/* Near misses: each header field wrong in turn. */
	wire_encode(&b, WIRE_ERROR, "x", 1);
	b.data[2] = 2;
	put_buf("wire", "bad-version", &b);
	wire_encode(&b, WIRE_ERROR, "x", 1);
	b.data[3] = 0xee;	/* past WIRE_TYPE_MAX for a long while */
	put_buf("wire", "bad-type", &b);
	wire_encode(&b, WIRE_ERROR, "x", 1);
	b.data[4] = 0xff;
	put_buf("wire", "too-long", &b);
	put("wire", "http", "GET / HTTP/1.1\r\n\r\n", 18);

	buf_free(&p);
	buf_free(&b);
}

static void
ipc_put(const char *name, uint32_t type, uint32_t id, struct buf *p,
    struct buf *b, int flush)
{
	ipc_encode(b, type, id, p->data, p->len);
	buf_reset(p);
	if (flush)
		put_buf("ipc", name, b);
}

/* Maestro <-> child messages, with the payloads of brain.h and ipc.h. */
static void
gen_ipc(void)
{
	struct buf	 b, p;
	struct packer	 pk;

	buf_init(&b, 1 << 20);
	buf_init(&p, 1 << 20);

	pack_init(&pk, &p);
	pack_str(&pk, "127.0.0.1");
	pack_str(&pk, "admin");
	pack_str(&pk, "correct horse battery staple");
	pack_str(&pk, "");
	ipc_put("auth-login", IPC_AUTH_LOGIN, 1, &p, &b, 1);

	pack_init(&pk, &p);
	pack_str(&pk, "0123456789abcdef0123456789abcdef"
	    "0123456789abcdef0123456789abcdef");
	pack_u8(&pk, 1);
	pack_str(&pk, "fedcba9876543210fedcba9876543210"
	    "fedcba9876543210fedcba9876543210");
	pack_str(&pk, "::1");
	pack_u32(&pk, 2);		/* API_HEALTH */
	ipc_put("api-call", IPC_API_CALL, 2, &p, &b, 1);

	pack_init(&pk, &p);
	pack_u32(&pk, 200);
	pack_str(&pk, "{\"status\":\"ok\",\"children\":[]}");
	pack_str(&pk, "");
	ipc_put("api-reply", IPC_API_REPLY, 2, &p, &b, 1);

	ipc_put("config-reload", IPC_CONFIG_RELOAD, 0, &p, &b, 1);

	pack_init(&pk, &p);
	pack_str(&pk, "protocol_error");
	pack_str(&pk, "192.0.2.7:40000");
	pack_str(&pk, "bad magic");
	ipc_put("log-event", IPC_LOG_EVENT, 0, &p, &b, 1);

	/* A stream: login, its reply, an event. */
	pack_init(&pk, &p);
	pack_str(&pk, "10.0.0.1");
	pack_str(&pk, "op");
	pack_str(&pk, "pw");
	pack_str(&pk, "123456");
	ipc_put(NULL, IPC_AUTH_LOGIN, 7, &p, &b, 0);
	pack_init(&pk, &p);
	pack_u32(&pk, 401);
	pack_str(&pk, "{\"error\":\"wrong user name or password\"}");
	pack_str(&pk, "-");
	ipc_put(NULL, IPC_API_REPLY, 7, &p, &b, 0);
	ipc_put("stream", IPC_CONFIG_RELOAD, 8, &p, &b, 1);

	/* Near misses. */
	pack_init(&pk, &p);
	pack_str(&pk, "x");
	ipc_encode(&b, IPC_LOG_EVENT, 0, p.data, p.len);
	buf_reset(&p);
	put("ipc", "truncated", b.data, b.len - 1);
	put("ipc", "header-only", b.data, IPC_HDR_LEN);
	b.data[0] = 0xee;	/* past IPC_TYPE_MAX for a long while */
	put_buf("ipc", "bad-type", &b);

	buf_free(&p);
	buf_free(&b);
}

/* Protocol messages (proto.h), each followed by the byte that sizes
 * proto_decode_error's buffer. */
static void
proto_put(const char *name, struct buf *b, uint8_t errlen)
{
	if (buf_append(b, &errlen, 1) == -1)
		abort();
	put_buf("proto", name, b);
}

static void
gen_proto(void)
{
	struct msg_hello		h;
	struct msg_enrol_request	rq;
	struct msg_enrol_reply		rp;
	struct msg_auth_id		id;
	struct msg_auth_challenge	ch;
	struct msg_auth_proof		pr;
	struct msg_auth_ok		ok;
	struct msg_pair_proof		pp;
	struct msg_status		st;
	struct msg_order		od;
	struct msg_order_ack		oa;
	struct msg_result		rs;
	struct msg_result_ack		ra;
	struct msg_inventory		iv;
	struct msg_signkey		sk;
	struct msg_script_put		sp;
	struct msg_script_delete	sd;
	struct msg_script_ack		sa;
	struct buf			b;

	buf_init(&b, 1 << 20);
	memset(&h, 0, sizeof(h));
	h.purpose = PURPOSE_PING;
	strcpy(h.version, "0.1.0");
	proto_encode_hello(&b, &h);
	proto_put("hello", &b, 64);
	h.purpose = PURPOSE_ENROL;
	proto_encode_hello(&b, &h);
	proto_put("hello-enrol", &b, 64);
	proto_encode_hello_ack(&b);
	proto_put("hello-ack", &b, 64);
	memset(&ok, 0x44, sizeof(ok));
	proto_encode_auth_ok(&b, &ok);
	proto_put("auth-ok", &b, 64);
	proto_encode_pair_required(&b);
	proto_put("pair-required", &b, 64);
	memset(&pp, 0x45, sizeof(pp));
	proto_encode_pair_proof(&b, &pp);
	proto_put("pair-proof", &b, 64);

	memset(&rq, 0, sizeof(rq));
	strcpy(rq.hostname, "web-01.example.org");
	strcpy(rq.facts, "{\"os\":\"Debian GNU/Linux 12\",\"cpus\":2}");
	memset(rq.fingerprint, 'a', OCTO_FPR_HEX_LEN);
	strcpy(rq.command_address, "192.0.2.10");
	rq.command_port = 7001;
	proto_encode_enrol_request(&b, &rq);
	proto_put("enrol-request", &b, 64);
	memcpy(rq.token, "0123456789abcdef0123456789abcdef",
	    PROTO_TOKEN_SECRET_LEN);
	rq.facts[0] = '\0';
	proto_encode_enrol_request(&b, &rq);
	proto_put("enrol-request-token", &b, 64);

	memset(&rp, 0, sizeof(rp));
	rp.status = ENROLMENT_ACCEPTED;
	rp.id = 42;
	memset(rp.brain_pub, 0x5a, sizeof(rp.brain_pub));
	memset(rp.wrapped_key, 0x5b, sizeof(rp.wrapped_key));
	memset(rp.brain_fingerprint, 'f', OCTO_FPR_HEX_LEN);
	strcpy(rp.message, "enrolled");
	proto_encode_enrol_reply(&b, &rp);
	proto_put("enrol-reply", &b, 64);
	rp.status = ENROLMENT_PENDING;
	rp.id = INT64_MAX;
	proto_encode_enrol_reply(&b, &rp);
	proto_put("enrol-reply-pending", &b, 64);
	rp.has_sign_pub = 1;
	memset(rp.sign_pub, 0x5c, sizeof(rp.sign_pub));
	proto_encode_enrol_reply(&b, &rp);
	proto_put("enrol-reply-signkey", &b, 64);

	memset(&id, 0, sizeof(id));
	id.id = 42;
	memset(id.nonce, 0x11, sizeof(id.nonce));
	proto_encode_auth_id(&b, &id);
	proto_put("auth-id", &b, 64);
	memset(&ch, 0x22, sizeof(ch));
	proto_encode_auth_challenge(&b, &ch);
	proto_put("auth-challenge", &b, 64);
	memset(&pr, 0x33, sizeof(pr));
	proto_encode_auth_proof(&b, &pr);
	proto_put("auth-proof", &b, 64);

	memset(&st, 0, sizeof(st));
	st.enrolment = ENROLMENT_REJECTED;
	strcpy(st.message, "rejected by admin");
	proto_encode_status(&b, &st);
	proto_put("status", &b, 64);

	memset(&od, 0, sizeof(od));
	od.job = 7;
	strcpy(od.script, "audit-ssh.sh");
	proto_encode_order(&b, &od);
	proto_put("order", &b, 64);
	memset(&oa, 0, sizeof(oa));
	oa.job = 7;
	oa.accepted = 0;
	strcpy(oa.message, "unknown script");
	proto_encode_order_ack(&b, &oa);
	proto_put("order-ack", &b, 64);
	memset(&rs, 0, sizeof(rs));
	rs.job = 7;
	rs.outcome = OUTCOME_RAN;
	rs.exit_status = 1;
	rs.started_at_ms = 1700000000123ULL;
	rs.duration_ms = 1500;
	rs.output = (const uint8_t *)"PermitRootLogin yes\n\0binary\xff";
	rs.output_len = 28;
	proto_encode_result(&b, &rs);
	proto_put("result", &b, 64);
	rs.outcome = OUTCOME_TIMEOUT;
	rs.exit_status = -1;
	rs.signal = 9;
	rs.truncated = 1;
	rs.output_len = 0;
	proto_encode_result(&b, &rs);
	proto_put("result-timeout", &b, 64);
	memset(rs.sha256, 'e', OCTO_FPR_HEX_LEN);
	proto_encode_result(&b, &rs);
	proto_put("result-sha256", &b, 64);
	memset(&ra, 0, sizeof(ra));
	ra.job = 7;
	ra.status = RESULT_ACK_STORED;
	proto_encode_result_ack(&b, &ra);
	proto_put("result-ack", &b, 64);
	ra.status = RESULT_ACK_REFUSED;
	strcpy(ra.reason, "a result for a job this tentacle was never given");
	proto_encode_result_ack(&b, &ra);
	proto_put("result-ack-refused", &b, 64);
	memset(&iv, 0, sizeof(iv));
	strcpy(iv.facts, "{\"os\":\"Debian GNU/Linux 12\"}");
	iv.scripts = "[{\"name\":\"audit-ssh.sh\",\"sha256\":\"ab\","
	    "\"description\":\"sshd settings\"}]";
	iv.scripts_len = strlen(iv.scripts);
	proto_encode_inventory(&b, &iv);
	proto_put("inventory", &b, 64);

	memset(&sk, 0x61, sizeof(sk));
	proto_encode_signkey(&b, &sk);
	proto_put("signkey", &b, 64);
	memset(&sp, 0, sizeof(sp));
	strcpy(sp.name, "check-disk.sh");
	sp.version = 2;
	strcpy(sp.description, "disk usage");
	memset(sp.sha256, 'c', OCTO_FPR_HEX_LEN);
	sp.body = (const uint8_t *)"#!/bin/sh\ndf -h\n";
	sp.body_len = strlen((const char *)sp.body);
	memset(sp.sig, 0x62, sizeof(sp.sig));
	proto_encode_script_put(&b, &sp);
	proto_put("script-put", &b, 64);
	memset(&sd, 0, sizeof(sd));
	strcpy(sd.name, "check-disk.sh");
	sd.version = 3;
	memset(sd.sig, 0x63, sizeof(sd.sig));
	proto_encode_script_delete(&b, &sd);
	proto_put("script-delete", &b, 64);
	memset(&sa, 0, sizeof(sa));
	strcpy(sa.name, "check-disk.sh");
	sa.version = 2;
	sa.status = SCRIPT_ACK_OK;
	proto_encode_script_ack(&b, &sa);
	proto_put("script-ack", &b, 64);
	sa.status = SCRIPT_ACK_REFUSED;
	strcpy(sa.message, "managed_scripts = no on this tentacle");
	proto_encode_script_ack(&b, &sa);
	proto_put("script-ack-refused", &b, 64);
	memset(&sa, 0, sizeof(sa));
	proto_encode_script_ack(&b, &sa);
	proto_put("script-ack-signkey", &b, 64);

	proto_encode_error(&b, "unknown tentacle");
	proto_put("error", &b, 8);
	proto_encode_error(&b, "bad\tbytes\x7f here");
	proto_put("error-unprintable", &b, 200);

	/* A whole handshake's frames in a row. */
	h.purpose = PURPOSE_RESULT;
	proto_encode_hello(&b, &h);
	proto_encode_hello_ack(&b);
	proto_encode_auth_id(&b, &id);
	proto_encode_auth_challenge(&b, &ch);
	proto_encode_auth_proof(&b, &pr);
	proto_encode_auth_ok(&b, &ok);
	proto_put("handshake-stream", &b, 1);
	buf_free(&b);
}

/* Handshake runs: mode + 3 * (purpose - 1), flags, then frames or a
 * man-in-the-middle script (see fuzz_handshake.c). */
static void
hs_put(const char *name, uint8_t mode, uint8_t purpose, uint8_t flags,
    const void *script, size_t slen, struct buf *frames)
{
	struct buf	b;
	uint8_t		hdr[2];

	hdr[0] = (uint8_t)(mode + 3 * (purpose - 1));
	hdr[1] = flags;
	buf_init(&b, 1 << 20);
	if (buf_append(&b, hdr, 2) == -1 ||
	    (slen && buf_append(&b, script, slen) == -1) ||
	    (frames && frames->len &&
	    buf_append(&b, frames->data, frames->len) == -1))
		abort();
	put_buf("handshake", name, &b);
	buf_free(&b);
	if (frames)
		buf_reset(frames);
}

static void
gen_handshake(void)
{
	static const uint8_t	flip[] = { 4, 9, 3 }, replay[] = { 0, 3 },
				drop[] = { 0, 0, 5 }, inject[] = { 7 },
				replace[] = { 0, 6 };
	struct msg_hello		h;
	struct msg_auth_id		id;
	struct msg_auth_challenge	ch;
	struct msg_auth_proof		pr;
	struct msg_auth_ok		ok;
	struct buf			f;
	uint8_t				p;

	buf_init(&f, 1 << 20);
	memset(&h, 0, sizeof(h));
	strcpy(h.version, "0.1.0");
	memset(&id, 0, sizeof(id));
	id.id = 42;
	memset(id.nonce, 0x11, sizeof(id.nonce));
	memset(&ch, 0x22, sizeof(ch));
	memset(&pr, 0x33, sizeof(pr));
	memset(&ok, 0x44, sizeof(ok));

	/* The fuzzer as a client, then as a server. */
	h.purpose = PURPOSE_PING;
	proto_encode_hello(&f, &h);
	proto_encode_auth_id(&f, &id);
	proto_encode_auth_proof(&f, &pr);
	hs_put("server-ping", 0, PURPOSE_PING, 1, NULL, 0, &f);
	h.purpose = PURPOSE_ENROL;
	proto_encode_hello(&f, &h);
	proto_encode_hello(&f, &h);
	hs_put("server-enrol-twice", 0, PURPOSE_ENROL, 1, NULL, 0, &f);
	proto_encode_hello_ack(&f);
	proto_encode_auth_challenge(&f, &ch);
	proto_encode_auth_ok(&f, &ok);
	hs_put("client-order", 1, PURPOSE_ORDER, 0, NULL, 0, &f);
	proto_encode_hello_ack(&f);
	proto_encode_auth_challenge(&f, &ch);
	proto_encode_auth_ok(&f, &ok);
	hs_put("client-order-external", 1, PURPOSE_ORDER, 4, NULL, 0, &f);
	proto_encode_hello_ack(&f);
	hs_put("client-enrol", 1, PURPOSE_ENROL, 0, NULL, 0, &f);
	proto_encode_error(&f, "go away");
	hs_put("client-error", 1, PURPOSE_POLL, 0, NULL, 0, &f);

	/* Honest peers for every purpose; a wrong key; a relay. */
	for (p = PURPOSE_ENROL; p < PURPOSE_MAX; p++) {
		char	name[32];

		snprintf(name, sizeof(name), "middle-honest-%s",
		    proto_purpose_str(p));
		hs_put(name, 2, p, 0, NULL, 0, NULL);
	}
	hs_put("middle-wrong-key", 2, PURPOSE_PING, 1, NULL, 0, NULL);
	/* The same with the proofs made outside (the brain's children). */
	hs_put("middle-external-result", 2, PURPOSE_RESULT, 4, NULL, 0, NULL);
	hs_put("middle-external-order", 2, PURPOSE_ORDER, 4, NULL, 0, NULL);
	hs_put("middle-external-wrong-key", 2, PURPOSE_PING, 5, NULL, 0, NULL);
	hs_put("middle-relay", 2, PURPOSE_RESULT, 2, NULL, 0, NULL);

	/* The fuzzer at work in the middle. */
	hs_put("middle-flip", 2, PURPOSE_ORDER, 0, flip, sizeof(flip), NULL);
	hs_put("middle-replay", 2, PURPOSE_PING, 0, replay, sizeof(replay),
	    NULL);
	hs_put("middle-drop", 2, PURPOSE_POLL, 0, drop, sizeof(drop), NULL);
	proto_encode_hello(&f, &h);
	hs_put("middle-inject", 2, PURPOSE_PING, 0, inject, sizeof(inject),
	    &f);
	proto_encode_auth_proof(&f, &pr);
	hs_put("middle-replace", 2, PURPOSE_RESULT, 0, replace,
	    sizeof(replace), &f);
	buf_free(&f);
}

/* The tentacle's enrolment state file, as enrolment_format writes it,
 * and hand-made near misses. */
static void
gen_enrolment(void)
{
	static const char *const hand[][2] = {
		{ "no-newline", "id = 1" },
		{ "twice", "id = 1\nid = 2\n" },
		{ "unknown", "name = x\n" },
		{ "bad-key", "key = 0123456789ABCDEF0123456789ABCDEF"
		    "0123456789ABCDEF0123456789ABCDEF\n" },
		{ "blank-comment", "\n# comment\n  \t\n" },
	};
	struct enrolment	e;
	char			text[ENROLMENT_FILE_MAX];
	int			n;
	size_t			i;

	memset(&e, 0, sizeof(e));
	e.id = 42;
	for (i = 0; i < sizeof(e.key); i++)
		e.key[i] = (uint8_t)(i * 29 + 3);
	memset(e.brain_fingerprint, 'c', OCTO_FPR_HEX_LEN);
	strcpy(e.brain_address, "192.0.2.1");
	e.brain_registerer_port = 6000;
	e.brain_commander_port = 6001;
	e.status = ENROLMENT_ACCEPTED;
	e.enrolled_at = 1700000000;
	if ((n = enrolment_format(&e, text, sizeof(text))) < 0)
		abort();
	put("enrolment", "accepted", text, (size_t)n);

	e.id = INT64_MAX;
	strcpy(e.brain_address, "2001:db8::1");
	e.brain_registerer_port = 65535;
	e.brain_commander_port = 1;
	e.status = ENROLMENT_PENDING;
	e.enrolled_at = 0;
	if ((n = enrolment_format(&e, text, sizeof(text))) < 0)
		abort();
	put("enrolment", "pending-limits", text, (size_t)n);
	/* The same, one line lost. */
	put("enrolment", "truncated", text, (size_t)n - 16);

	for (i = 0; i < sizeof(hand) / sizeof(hand[0]); i++)
		put("enrolment", hand[i][0], hand[i][1], strlen(hand[i][1]));
	enrolment_wipe(&e);
}

/* The other API bodies, as the dashboard would send them. */
static void
apibody_put(const char *name, json_t *j)
{
	char	*s;

	if (j == NULL || (s = json_dumps(j, JSON_COMPACT)) == NULL)
		die("json");
	put("apibody", name, s, strlen(s));
	free(s);
	json_decref(j);
}

static void
gen_apibody(void)
{
	static const char *const raw[] = {
		"{\"address\":\"192.0.2.1\",\"address\":\"::1\"}",
		"{\"script\":\"a\",\"tentacles\":[1,2,1e3]}",
		"{\"expires_in\":31536001}",
		"{\"uses\":-1,\"port\":0}",
		"",
	};
	char	name[32];
	size_t	i;

	apibody_put("enrol", json_pack("{s:s,s:i}", "address", "192.0.2.10",
	    "port", 7000));
	apibody_put("enrol-v6-default-port", json_pack("{s:s}", "address",
	    "2001:db8::7"));
	apibody_put("enrol-bad-address", json_pack("{s:s,s:i}", "address",
	    "host.example.org", "port", 65536));
	apibody_put("token", json_pack("{s:i,s:i}", "expires_in", 3600,
	    "uses", 5));
	apibody_put("token-defaults", json_object());
	apibody_put("run-all", json_pack("{s:s,s:s}", "script",
	    "audit-ssh.sh", "tentacles", "all"));
	apibody_put("run-list", json_pack("{s:s,s:[I,I,I]}", "script",
	    "firewall", "tentacles", (json_int_t)1, (json_int_t)42,
	    (json_int_t)INT64_MAX));
	apibody_put("user", json_pack("{s:s,s:s,s:s}", "name", "alice",
	    "password", "correct horse battery", "role", "operator"));
	apibody_put("user-bad-role", json_pack("{s:s,s:s,s:s}", "name",
	    "bob", "password", "0123456789", "role", "root"));
	apibody_put("password", json_pack("{s:s,s:s}", "password",
	    "a brand new passphrase", "current_password", "old one"));
	apibody_put("run-bad-name", json_pack("{s:s,s:s}", "script",
	    "../etc/passwd", "tentacles", "all"));
	apibody_put("script", json_pack("{s:s,s:s,s:s}", "name", "check-one",
	    "description", "a check", "body", "#!/bin/sh\necho OK a b\n"));
	apibody_put("script-version", json_pack("{s:s}", "body",
	    "#!/bin/sh\necho FAIL a \"b c\"\n"));
	for (i = 0; i < sizeof(raw) / sizeof(raw[0]); i++) {
		snprintf(name, sizeof(name), "raw-%zu", i);
		put("apibody", name, raw[i], strlen(raw[i]));
	}
}

/* Spool files as spool_format writes them, behind the flag byte of
 * fuzz_spool (1: the target fixes the digest). */
static void
spool_put(const char *name, uint8_t flag, const struct msg_result *m,
    size_t cut)
{
	struct buf	b;

	buf_init(&b, SPOOL_FILE_MAX + 1);
	if (buf_append(&b, &flag, 1) == -1 || spool_format(&b, m) == -1)
		abort();
	put("spool", name, b.data, b.len - cut);
	buf_free(&b);
}

static void
gen_spool(void)
{
	struct msg_result	m;

	memset(&m, 0, sizeof(m));
	m.job = 7;
	m.outcome = OUTCOME_RAN;
	m.exit_status = 2;
	m.started_at_ms = 1700000000123ULL;
	m.duration_ms = 420;
	m.output = (const uint8_t *)"FAIL PermitRootLogin yes\n";
	m.output_len = 25;
	spool_put("ran", 0, &m, 0);
	spool_put("ran-fix-digest", 1, &m, 0);
	spool_put("truncated", 0, &m, 10);
	m.outcome = OUTCOME_TIMEOUT;
	m.exit_status = -1;
	m.signal = 9;
	m.truncated = 1;
	m.job = INT64_MAX;
	spool_put("timeout", 1, &m, 0);
	m.outcome = OUTCOME_FAILED;
	m.exit_status = 0;
	m.signal = 0;
	m.truncated = 0;
	m.output_len = 0;
	spool_put("failed-empty", 1, &m, 0);
	put("spool", "magic-only", "\001OCTOSPOOL1\n", 12);
	m.outcome = OUTCOME_REFUSED;
	m.exit_status = -1;
	m.output = (const uint8_t *)"script on the host differs\n";
	m.output_len = 27;
	memset(m.sha256, 'd', OCTO_FPR_HEX_LEN);
	spool_put("refused-sha256", 1, &m, 0);
}

/* fuzz_managed: a selector byte (0 record, 1 SCRIPT_REQUEST, 2
 * SCRIPT_DONE, 3 INVENTORY_ASK, 4 INVENTORY_SET), then the input. */
static void
managed_put_seed(const char *name, uint8_t sel, struct buf *b)
{
	uint8_t	out[4096];

	if (b->len + 1 > sizeof(out))
		abort();
	out[0] = sel;
	memcpy(out + 1, b->data, b->len);
	put("managed", name, out, b->len + 1);
	buf_reset(b);
}

static void
gen_managed(void)
{
	struct managed_sig		s;
	struct privsep_script_req	r;
	struct privsep_inventory	v;
	struct msg_script_ack		a;
	struct buf			b;
	static const uint8_t		frame[] = "\0\0\0\x05hello";

	buf_init(&b, 1 << 16);
	memset(&s, 0, sizeof(s));
	s.version = 3;
	memset(s.sha256, 'a', OCTO_FPR_HEX_LEN);
	memset(s.sig, 0x42, sizeof(s.sig));
	managed_sig_format(&b, &s);
	managed_put_seed("record", 0, &b);
	s.deleted = 1;
	s.sha256[0] = '\0';
	managed_sig_format(&b, &s);
	managed_put_seed("record-deleted", 0, &b);
	memset(&r, 0, sizeof(r));
	r.request = 1;
	r.type = WIRE_SCRIPT_DELETE;
	r.frame = frame;
	r.frame_len = sizeof(frame) - 1;
	privsep_encode_script_req(&b, &r);
	managed_put_seed("script-req", 1, &b);
	memset(&a, 0, sizeof(a));
	strcpy(a.name, "hello");
	a.version = 2;
	a.status = SCRIPT_ACK_REFUSED;
	strcpy(a.message, "bad signature");
	privsep_encode_script_done(&b, 1, &a);
	managed_put_seed("script-done", 2, &b);
	privsep_encode_inventory_ask(&b, 9);
	managed_put_seed("inventory-ask", 3, &b);
	memset(&v, 0, sizeof(v));
	v.request = 9;
	v.managed = 1;
	memset(v.signkey, 'f', 2 * PROTO_SIGN_PUB_LEN);
	v.scripts = "[{\"name\":\"hello\",\"version\":2}]";
	v.scripts_len = strlen(v.scripts);
	privsep_encode_inventory(&b, &v);
	managed_put_seed("inventory-set", 4, &b);
	buf_free(&b);
}

/* Unpacker programs: what each decoder of the daemons reads, in order,
 * then the payload its encoder writes. */
static void
prog_put(const char *name, const uint8_t *prog, size_t nprog,
    struct buf *p)
{
	uint8_t	out[8192];

	if (1 + nprog + p->len > sizeof(out))
		abort();
	out[0] = (uint8_t)nprog;
	memcpy(out + 1, prog, nprog);
	memcpy(out + 1 + nprog, p->data, p->len);
	put("pack", name, out, 1 + nprog + p->len);
	buf_reset(p);
}

static void
gen_pack(void)
{
	static const uint8_t login[] = {	/* maestro: handle_login */
		OP(OP_STR, STR_ADDR), OP(OP_STR, STR_NAME),
		OP(OP_STR, STR_PASSWORD), OP(OP_STR, STR_NAME), OP(OP_END, 0),
	};
	static const uint8_t call[] = {		/* maestro: API call */
		OP(OP_STR, STR_TOKEN), OP(OP_U8, 0), OP(OP_STR, STR_TOKEN),
		OP(OP_STR, STR_ADDR), OP(OP_U32, 0), OP(OP_END, 0),
	};
	static const uint8_t reply[] = {	/* webserv: API reply */
		OP(OP_U32, 0), OP(OP_STR_REF, REF_IPC), OP(OP_STR, STR_TOKEN),
		OP(OP_END, 0),
	};
	static const uint8_t result[] = {	/* a result with output */
		OP(OP_STR, STR_NAME), OP(OP_U64, 0), OP(OP_U32, 0),
		OP(OP_BYTES_REF, REF_OUTPUT), OP(OP_FIXED, FIXED_32),
		OP(OP_FIXED, FIXED_16), OP(OP_U8, 0), OP(OP_END, 0),
	};
	static const uint8_t event[] = {	/* maestro: log event */
		OP(OP_STR, 11), OP(OP_STR, 11), OP(OP_STR, 11),
		OP(OP_END, 0),
	};
	struct buf	 p;
	struct packer	 pk;
	uint8_t		 nonce[32], out[300];
	size_t		 i;

	for (i = 0; i < sizeof(nonce); i++)
		nonce[i] = (uint8_t)(255 - i);
	for (i = 0; i < sizeof(out); i++)
		out[i] = (uint8_t)(i % 7 == 0 ? '\n' : 'a' + i % 26);
	buf_init(&p, 1 << 20);

	pack_init(&pk, &p);
	pack_str(&pk, "127.0.0.1");
	pack_str(&pk, "admin");
	pack_str(&pk, "secret");
	pack_str(&pk, "123456");
	prog_put("login", login, sizeof(login), &p);

	pack_init(&pk, &p);
	pack_str(&pk, "0123456789abcdef0123456789abcdef"
	    "0123456789abcdef0123456789abcdef");
	pack_u8(&pk, 0);
	pack_str(&pk, "");
	pack_str(&pk, "2001:db8::1");
	pack_u32(&pk, 1);
	prog_put("api-call", call, sizeof(call), &p);

	pack_init(&pk, &p);
	pack_u32(&pk, 200);
	pack_str(&pk, "{\"user\":\"admin\",\"role\":\"admin\"}");
	pack_str(&pk, "-");
	prog_put("api-reply", reply, sizeof(reply), &p);

	pack_init(&pk, &p);
	pack_str(&pk, "audit-ssh.sh");
	pack_u64(&pk, 1700000000123ULL);
	pack_u32(&pk, 0);
	pack_bytes(&pk, out, sizeof(out));
	pack_bytes(&pk, nonce, 32);
	pack_bytes(&pk, nonce, 16);
	pack_u8(&pk, 1);
	prog_put("result", result, sizeof(result), &p);

	pack_init(&pk, &p);
	pack_str(&pk, "protocol_error");
	pack_str(&pk, "192.0.2.7:40000");
	pack_str(&pk, "frame too long");
	prog_put("log-event", event, sizeof(event), &p);

	/* Near misses: a trailing byte, a name one byte too long. */
	pack_init(&pk, &p);
	pack_str(&pk, "127.0.0.1");
	pack_str(&pk, "admin");
	pack_str(&pk, "secret");
	pack_str(&pk, "");
	pack_u8(&pk, 0);
	prog_put("login-trailing", login, sizeof(login), &p);
	pack_init(&pk, &p);
	pack_str(&pk, "127.0.0.1");
	pack_str(&pk, "0123456789012345678901234567890123456789"
	    "012345678901234567890123");
	pack_str(&pk, "secret");
	pack_str(&pk, "");
	prog_put("login-long-name", login, sizeof(login), &p);

	buf_free(&p);
}

/* config_dump's lines, gathered. */
static char	conf_text[8192];
static size_t	conf_len;

static void
conf_line(const char *line)
{
	size_t	n = strlen(line);

	if (conf_len + n + 1 > sizeof(conf_text))
		abort();
	memcpy(conf_text + conf_len, line, n);
	conf_len += n;
	conf_text[conf_len++] = '\n';
}

static void
conf_put(const char *name, const struct fconf *c, const char *extra)
{
	conf_len = 0;
	if (extra != NULL)
		conf_line(extra);
	config_dump(fuzz_config_keys, c, conf_line);
	put("config", name, conf_text, conf_len);
}

static void
gen_config(void)
{
	static const char *const hand[][2] = {
		{ "comments", "# brain\n\n  name = \"web  01\"   # quoted\n"
		    "dir=/srv/octopus\n\tcount = -5\nenabled = off\n"
		    "port = 65535 # comment\naddress = ::1\n" },
		{ "escapes", "name = \"a \\\"b\\\" \\\\ c\"\n" },
		{ "empty-values", "name =\naddress = \"\"\n" },
		{ "crlf", "port = 6000\r\ncount = 3\r\n" },
		{ "bad-escape", "name = \"\\n\"\n" },
		{ "unknown-key", "port = 1\nhost = x\n" },
		{ "duplicate", "port = 1\nport = 2\n" },
		{ "out-of-range", "count = 100001\n" },
		{ "bad-port", "port = 0x10\n" },
		{ "bad-addr", "address = 1.2.3.4.5\n" },
		{ "no-equals", "name value\n" },
	};
	struct fconf	c;
	size_t		i;

	fuzz_config_defaults(&c);
	conf_put("defaults", &c, NULL);

	strcpy(c.name, "needs \"quotes\" # and \\");
	strcpy(c.dir, "relative/dir with spaces");
	c.count = INT_MIN_V;
	c.enabled = 0;
	c.port = 65535;
	strcpy(c.address, "2001:db8::42");
	conf_put("quoted", &c, "# written by config_dump");

	strcpy(c.name, "");
	strcpy(c.dir, "/");
	c.count = INT_MAX_V;
	c.enabled = 1;
	c.port = 1;
	strcpy(c.address, "");
	conf_put("limits", &c, NULL);

	for (i = 0; i < sizeof(hand) / sizeof(hand[0]); i++)
		put("config", hand[i][0], hand[i][1], strlen(hand[i][1]));
}

/* Script outputs: text, and every kind of byte that is not UTF-8. */
static void
gen_utf8(void)
{
	static const char *const seeds[][2] = {
		{ "ascii", "disk: 53% used\n\tok\n" },
		{ "valid", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\x99 "
		    "\xf4\x8f\xbf\xbf" },
		{ "surrogate", "\xed\xa0\x80\xed\xbf\xbf" },
		{ "overlong", "\xc0\xaf\xe0\x80\x80\xf0\x80\x80\x80" },
		{ "past-max", "\xf4\x90\x80\x80\xf5\x80\x80\x80" },
		{ "cut", "\xe2\x82 \xf0\x9f\x90 \xc3" },
		{ "stray", "\x80\xbf\xfe\xff" },
		{ "controls", "\x1b[31mred\x1b[0m\r\n\x7f\x01" },
	};
	size_t	i;

	for (i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++)
		put("utf8", seeds[i][0], seeds[i][1], strlen(seeds[i][1]));
	put("utf8", "nul", "a\0b\xff", 4);
}

/* Groups and schedules (fuzz_groups.c): the first byte picks cron (0),
 * a label list (1), a schedule body (2; 6 to create), labels' body (3). */
static void
gen_groups(void)
{
	static const char *const seeds[][2] = {
		{ "cron-every", "\0* * * * *" },
		{ "cron-all", "\0*/15 0-6,22 1,15 jan-mar mon-fri" },
		{ "cron-step", "\0" "5/20 10-20/5 */10 */5 */2" },
		{ "cron-feb30", "\0" "0 0 30 2 *" },
		{ "cron-bad", "\0" "60 24 0 13 8" },
		{ "labels", "\1 web, db ,eu-1.a_b" },
		{ "labels-bad", "\1Web,,x y" },
		{ "schedule", "\6{\"script\":\"audit\",\"labels\":[\"web\"],"
		    "\"cron\":\"0 3 * * mon\",\"enabled\":false}" },
		{ "schedule-ids", "\6{\"script\":\"a\",\"tentacles\":[1,2],"
		    "\"every\":60}" },
		{ "schedule-put", "\2{\"enabled\":true}" },
		{ "labels-body", "\3{\"labels\":[\"web\",\"db\"]}" },
	};
	size_t	i;

	for (i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++)
		put("groups", seeds[i][0], seeds[i][1], strlen(seeds[i][1] + 1)
		    + 1);
}

/* The compliance API's inputs (fuzz_compliance.c): a selector byte, then
 * a waiver body (0), an RFC 3339 time (1) or a label list (2). */
static void
gen_compliance(void)
{
	static const char *const seeds[][2] = {
		{ "waiver-tentacle", "\0{\"tentacle\":3,\"script\":\"audit\","
		    "\"reason\":\"legacy host\",\"expires_at\":"
		    "\"2027-01-01T00:00:00Z\"}" },
		{ "waiver-label-check", "\0{\"label\":\"web\",\"script\":"
		    "\"audit\",\"check\":\"ssh.PermitRootLogin\",\"reason\":"
		    "\"caf\\u00e9\",\"expires_at\":\"2027-01-01T00:00:00+02:00\"}" },
		{ "waiver-both", "\0{\"tentacle\":1,\"label\":\"web\","
		    "\"script\":\"a\",\"reason\":\"r\",\"expires_at\":"
		    "\"2027-01-01T00:00:00Z\"}" },
		{ "time", "\1" "2026-12-04T01:09:34Z" },
		{ "time-offset", "\1" "2026-12-04T02:09:34.250+01:00" },
		{ "time-leap", "\1" "2016-12-31T23:59:60Z" },
		{ "time-bad", "\1" "2023-02-29T24:00:00" },
		{ "labels", "\2web,db,eu-1.a_b" },
		{ "labels-bad", "\2web,,Db" },
	};
	size_t	i;

	for (i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++)
		put("compliance", seeds[i][0], seeds[i][1],
		    strlen(seeds[i][1] + 1) + 1);
}

/* URL paths: every file of web/, plain and percent-encoded, and ways
 * out that must be refused. */
static void
gen_webpath(void)
{
	static const char *const served[] = {
		"/", "/index.html", "/app.js", "/app.css", "/favicon.svg",
		"/apple-touch-icon.png", "/img/logo-1_b.svg",
	};
	static const char *const refused[] = {
		"/../brain.conf", "/img/../../etc/passwd", "/./app.js",
		"//etc/passwd", "/.hidden", "/dir/", "/a\\b", "/a b",
		"/%2e%2e/%2e%2e/etc/passwd", "/app.js%00.html", "/api/login",
	};
	char	 name[32], *enc;
	size_t	 i;

	for (i = 0; i < sizeof(served) / sizeof(served[0]); i++) {
		snprintf(name, sizeof(name), "served-%zu", i);
		put("webpath", name, served[i], strlen(served[i]));
		/* Every byte but '/' encoded: evhttp_uriencode leaves
		 * unreserved ones alone, so encode a '.' by hand too. */
		if ((enc = evhttp_uriencode(served[i], -1, 0)) == NULL)
			die("evhttp_uriencode");
		snprintf(name, sizeof(name), "encoded-%zu", i);
		put("webpath", name, enc, strlen(enc));
		free(enc);
	}
	put("webpath", "encoded-dot", "/app%2Ejs", 9);
	put("webpath", "nul", "/a\0/../x", 8);
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		snprintf(name, sizeof(name), "refused-%zu", i);
		put("webpath", name, refused[i], strlen(refused[i]));
	}
}

static void
json_put(const char *name, json_t *j)
{
	char	*s;

	if (j == NULL || (s = json_dumps(j, JSON_COMPACT)) == NULL)
		die("json");
	put("login_json", name, s, strlen(s));
	free(s);
	json_decref(j);
}

/* Login bodies as the dashboard sends them (JSON.stringify), and ones
 * on each side of every check. */
static void
gen_login_json(void)
{
	static const char *const raw[] = {
		"{\"username\":\"a\",\"username\":\"b\",\"password\":\"x\"}",
		"{\"username\":\"ad\\u0000min\",\"password\":\"x\"}",
		"{\"username\":\"\\ud83d\\udc19\",\"password\":\"\\u00e9\"}",
		"[\"admin\",\"secret\"]",
		"{\"username\":\"admin\",\"password\":\"secret\"} junk",
		("  {\n\t\"password\" : \"secret\" , "
		    "\"username\" : \"admin\"\n}\n"),
		"{\"username\":\"admin\"",
	};
	char	 name[32], user[OCTO_NAME_MAX + 1], pw[OCTO_PASSWORD_MAX + 2];
	size_t	 i;

	json_put("dashboard", json_pack("{s:s,s:s}", "username", "admin",
	    "password", "correct horse battery staple"));
	json_put("extra-field", json_pack("{s:s,s:s,s:b}", "username", "op",
	    "password", "pw", "remember", 1));
	json_put("not-strings", json_pack("{s:i,s:n}", "username", 1,
	    "password"));
	json_put("nested", json_pack("{s:{s:s},s:[s]}", "username", "name",
	    "admin", "password", "pw"));
	json_put("empty-object", json_object());
	json_put("empty-user", json_pack("{s:s,s:s}", "username", "",
	    "password", ""));

	/* Lengths at and past each limit. */
	memset(user, 'u', sizeof(user));
	memset(pw, 'p', sizeof(pw));
	user[OCTO_NAME_MAX - 1] = '\0';
	pw[OCTO_PASSWORD_MAX] = '\0';
	json_put("longest", json_pack("{s:s,s:s}", "username", user,
	    "password", pw));
	user[OCTO_NAME_MAX - 1] = 'u';
	user[OCTO_NAME_MAX] = '\0';
	pw[OCTO_PASSWORD_MAX] = 'p';
	pw[OCTO_PASSWORD_MAX + 1] = '\0';
	json_put("too-long", json_pack("{s:s,s:s}", "username", user,
	    "password", pw));

	for (i = 0; i < sizeof(raw) / sizeof(raw[0]); i++) {
		snprintf(name, sizeof(name), "raw-%zu", i);
		put("login_json", name, raw[i], strlen(raw[i]));
	}
}

/* IPC_API_CALL as the webserv encodes it: one seed per argument shape. */
static void
apicall_put(const char *name, struct api_call *c)
{
	struct buf	b;

	strlcpy(c->session, "0123456789abcdef0123456789abcdef0123456789abcdef"
	    "0123456789abcdef", sizeof(c->session));
	strlcpy(c->csrf, "fedcba9876543210fedcba9876543210fedcba9876543210"
	    "fedcba9876543210", sizeof(c->csrf));
	strlcpy(c->client, "127.0.0.1", sizeof(c->client));
	buf_init(&b, IPC_PAYLOAD_MAX);
	if (apicall_encode(&b, c) == -1)
		die(name);
	put_buf("apicall", name, &b);
	buf_free(&b);
}

static void
gen_apicall(void)
{
	struct api_call	c;
	uint64_t	ids[3] = { 1, 42, INT64_MAX };

	memset(&c, 0, sizeof(c));
	c.op = API_HEALTH;
	apicall_put("health", &c);
	c.op = API_TENTACLE_APPROVE;
	c.args.id = 7;
	apicall_put("approve", &c);
	memset(&c, 0, sizeof(c));
	c.op = API_TENTACLE_ENROL;
	strlcpy(c.args.address, "192.0.2.10", sizeof(c.args.address));
	c.args.port = 7000;
	apicall_put("enrol", &c);
	memset(&c, 0, sizeof(c));
	c.op = API_TOKEN_CREATE;
	c.args.expires_in = 3600;
	c.args.uses = 5;
	apicall_put("token", &c);
	memset(&c, 0, sizeof(c));
	c.op = API_RUN_CREATE;
	strlcpy(c.args.script, "sshd-config", sizeof(c.args.script));
	c.args.ntentacles = 3;
	c.args.tentacles = ids;
	apicall_put("run-create", &c);
	memset(&c, 0, sizeof(c));
	c.op = API_RUN;
	c.args.id = 3;
	c.args.limit = 1000;
	apicall_put("run", &c);
	c.args.after = 41;
	c.args.limit = 50;
	c.args.wait = 30;
	apicall_put("run-wait", &c);
	memset(&c, 0, sizeof(c));
	c.op = API_RUNS;
	c.args.id = 7;
	c.args.limit = 100;
	c.args.after = 900;
	apicall_put("runs", &c);
	memset(&c, 0, sizeof(c));
	c.op = API_TENTACLES;
	c.args.limit = 100;
	c.args.after = 4242;
	c.args.sort = LIST_SORT_LAST_SEEN;
	c.args.desc = 1;
	strlcpy(c.args.state, "online", sizeof(c.args.state));
	strlcpy(c.args.enrolment, "accepted", sizeof(c.args.enrolment));
	strlcpy(c.args.q, "web_%", sizeof(c.args.q));
	apicall_put("tentacles", &c);
	memset(&c, 0, sizeof(c));
	c.op = API_TENTACLE_RESULTS;
	c.args.id = 3;
	c.args.with_output = 1;
	apicall_put("tentacle-results", &c);
	memset(&c, 0, sizeof(c));
	c.op = API_USER_CREATE;
	strlcpy(c.args.name, "alice", sizeof(c.args.name));
	strlcpy(c.args.password, "correct horse battery",
	    sizeof(c.args.password));
	strlcpy(c.args.role, "operator", sizeof(c.args.role));
	apicall_put("user-create", &c);
	c.op = API_USER_PASSWORD;
	strlcpy(c.args.current, "the old one", sizeof(c.args.current));
	apicall_put("user-password", &c);
	c.op = API_USER_DELETE;
	apicall_put("user-delete", &c);
	memset(&c, 0, sizeof(c));
	c.op = API_AUDIT;
	strlcpy(c.args.name, "admin", sizeof(c.args.name));
	c.args.limit = 200;
	apicall_put("audit", &c);
	memset(&c, 0, sizeof(c));
	c.op = API_TOTP_CONFIRM;
	strlcpy(c.args.name, "alice", sizeof(c.args.name));
	strlcpy(c.args.code, "287082", sizeof(c.args.code));
	apicall_put("totp-confirm", &c);
	c.op = API_TOTP_ENROL;
	c.args.code[0] = '\0';
	apicall_put("totp-enrol", &c);
	memset(&c, 0, sizeof(c));
	c.op = API_SCRIPT_CREATE;
	strlcpy(c.args.script, "check-one", sizeof(c.args.script));
	strlcpy(c.args.description, "a check", sizeof(c.args.description));
	c.args.body = (char *)"#!/bin/sh\necho OK x y\n";
	c.args.body_len = strlen(c.args.body);
	apicall_put("script-create", &c);
	c.op = API_SCRIPT_UPDATE;
	c.args.has_description = 1;
	apicall_put("script-update", &c);
	memset(&c, 0, sizeof(c));
	c.op = API_SCRIPT_VERSION;
	strlcpy(c.args.script, "check-one", sizeof(c.args.script));
	c.args.id = 2;
	apicall_put("script-version", &c);
	c.op = API_SCRIPT_DELETE;
	apicall_put("script-delete", &c);
	memset(&c, 0, sizeof(c));
	c.op = API_COMPLIANCE;
	c.args.as_of = 1796346574;
	strlcpy(c.args.labels, "web,db", sizeof(c.args.labels));
	c.args.by_check = 1;
	c.args.limit = 1000;
	c.args.after = 42;
	apicall_put("compliance", &c);
	c.op = API_COMPLIANCE_HISTORY;
	c.args.days = 90;
	apicall_put("compliance-history", &c);
	memset(&c, 0, sizeof(c));
	c.op = API_COMPLIANCE_TIMELINE;
	c.args.id = 7;
	strlcpy(c.args.script, "audit", sizeof(c.args.script));
	c.args.limit = 100;
	apicall_put("compliance-timeline", &c);
	memset(&c, 0, sizeof(c));
	c.op = API_WAIVER_CREATE;
	strlcpy(c.args.label, "web", sizeof(c.args.label));
	strlcpy(c.args.script, "audit", sizeof(c.args.script));
	strlcpy(c.args.check, "ssh.PermitRootLogin", sizeof(c.args.check));
	strlcpy(c.args.reason, "accepted by the CISO", sizeof(c.args.reason));
	c.args.expires_at = 1798761600;
	apicall_put("waiver-create", &c);
}

/* The brain's IPC messages: a type byte (ipc.h), then the payload as the
 * encoders of brain/ipcmsg.c make it (see fuzz_ipcmsg.c). */
static void
ipcmsg_put(const char *name, uint8_t type, struct buf *payload)
{
	struct buf	b;

	buf_init(&b, IPC_PAYLOAD_MAX + 1);
	if (buf_append(&b, &type, 1) == -1 ||
	    buf_append(&b, payload->data, payload->len) == -1)
		abort();
	put_buf("ipcmsg", name, &b);
	buf_free(&b);
	buf_reset(payload);
}

static void
gen_ipcmsg(void)
{
	static const uint8_t		 frame[] = "\x01\x02 payload";
	struct ipc_auth_login		 al;
	struct ipc_log_event		 le;
	struct ipc_enrol_request	 erq;
	struct ipc_enrol_reply		 erp;
	struct ipc_enrol_offer		 eo;
	struct ipc_enrol_offer_done	 eod;
	struct ipc_pair_make		 pmk;
	struct ipc_pair_made		 pmd;
	struct ipc_proof_check		 pc;
	struct ipc_proof_verdict	 pv;
	struct ipc_proof_make		 pm;
	struct ipc_proof_made		 pd;
	struct ipc_run_order		 ro;
	struct ipc_job_state		 js;
	struct ipc_result_store		 rs;
	struct ipc_result_stored	 rd;
	struct ipc_tentacle_seen	 ts;
	struct ipc_tentacle_missed	 tm;
	struct ipc_child_init		 ci;
	struct ipc_config_reload	 cr;
	struct ipc_tentacle_addresses	 ta;
	unsigned char			 keys[2][NET_ADDR_KEY_LEN];
	struct ipc_api_reply		 ar;
	struct hs_inputs		 in;
	struct buf			 b;

	buf_init(&b, IPC_PAYLOAD_MAX);
	memset(&in, 0, sizeof(in));
	in.purpose = PURPOSE_RESULT;
	in.id = 42;
	memset(in.nonce_c, 0x11, sizeof(in.nonce_c));
	memset(in.nonce_s, 0x22, sizeof(in.nonce_s));
	memset(in.exporter, 0x33, sizeof(in.exporter));

	memset(&al, 0, sizeof(al));
	strlcpy(al.client, "2001:db8::7", sizeof(al.client));
	strlcpy(al.user, "alice", sizeof(al.user));
	strlcpy(al.password, "correct horse \xc3\xa9", sizeof(al.password));
	if (ipcmsg_encode_auth_login(&b, &al) == -1)
		abort();
	ipcmsg_put("auth-login", IPC_AUTH_LOGIN, &b);
	strlcpy(al.totp, "287082", sizeof(al.totp));
	if (ipcmsg_encode_auth_login(&b, &al) == -1)
		abort();
	ipcmsg_put("auth-login-totp", IPC_AUTH_LOGIN, &b);

	memset(&le, 0, sizeof(le));
	strlcpy(le.kind, "refused_handshake", sizeof(le.kind));
	strlcpy(le.peer, "192.0.2.1:4000", sizeof(le.peer));
	strlcpy(le.detail, "claimed ID 3: wrong key", sizeof(le.detail));
	if (ipcmsg_encode_log_event(&b, &le) == -1)
		abort();
	ipcmsg_put("log-event", IPC_LOG_EVENT, &b);

	memset(&erq, 0, sizeof(erq));
	erq.offer = 2;
	strlcpy(erq.source, "192.0.2.1:4000", sizeof(erq.source));
	memset(erq.fingerprint, 'a', OCTO_FPR_HEX_LEN);
	memset(erq.exporter, 0x33, sizeof(erq.exporter));
	erq.frame = frame;
	erq.frame_len = sizeof(frame);
	if (ipcmsg_encode_enrol_request(&b, &erq) == -1)
		abort();
	ipcmsg_put("enrol-request", IPC_ENROL_REQUEST, &b);

	memset(&erp, 0, sizeof(erp));
	erp.ok = 1;
	erp.status = ENROLMENT_ACCEPTED;
	erp.id = 42;
	memset(erp.brain_pub, 0x44, sizeof(erp.brain_pub));
	memset(erp.wrapped_key, 0x55, sizeof(erp.wrapped_key));
	if (ipcmsg_encode_enrol_reply(&b, &erp) == -1)
		abort();
	ipcmsg_put("enrol-reply", IPC_ENROL_REPLY, &b);
	memset(&erp, 0, sizeof(erp));
	strlcpy(erp.error, "bad token", sizeof(erp.error));
	if (ipcmsg_encode_enrol_reply(&b, &erp) == -1)
		abort();
	ipcmsg_put("enrol-reply-refused", IPC_ENROL_REPLY, &b);

	memset(&eo, 0, sizeof(eo));
	strlcpy(eo.address, "192.0.2.7", sizeof(eo.address));
	eo.port = 7000;
	if (ipcmsg_encode_enrol_offer(&b, &eo) == -1)
		abort();
	ipcmsg_put("enrol-offer", IPC_ENROL_OFFER, &b);
	eo.pairing = 1;
	if (ipcmsg_encode_enrol_offer(&b, &eo) == -1)
		abort();
	ipcmsg_put("enrol-offer-pairing", IPC_ENROL_OFFER, &b);

	memset(&pmk, 0, sizeof(pmk));
	pmk.offer = 3;
	memset(pmk.exporter, 0x33, sizeof(pmk.exporter));
	if (ipcmsg_encode_pair_make(&b, &pmk) == -1)
		abort();
	ipcmsg_put("pair-make", IPC_PAIR_MAKE, &b);
	memset(&pmd, 0, sizeof(pmd));
	pmd.ok = 1;
	memset(pmd.proof, 0x13, sizeof(pmd.proof));
	memset(pmd.expect, 0x35, sizeof(pmd.expect));
	if (ipcmsg_encode_pair_made(&b, &pmd) == -1)
		abort();
	ipcmsg_put("pair-made", IPC_PAIR_MADE, &b);

	memset(&eod, 0, sizeof(eod));
	eod.ok = 1;
	eod.tentacle = 42;
	eod.http_status = 201;
	if (ipcmsg_encode_enrol_offer_done(&b, &eod) == -1)
		abort();
	ipcmsg_put("enrol-offer-done", IPC_ENROL_OFFER_DONE, &b);
	memset(&eod, 0, sizeof(eod));
	eod.http_status = 504;
	strlcpy(eod.error, "timeout", sizeof(eod.error));
	if (ipcmsg_encode_enrol_offer_done(&b, &eod) == -1)
		abort();
	ipcmsg_put("enrol-offer-failed", IPC_ENROL_OFFER_DONE, &b);

	memset(&pc, 0, sizeof(pc));
	pc.in = in;
	memset(pc.proof, 0x66, sizeof(pc.proof));
	memset(pc.fingerprint, 'b', OCTO_FPR_HEX_LEN);
	if (ipcmsg_encode_proof_check(&b, &pc) == -1)
		abort();
	ipcmsg_put("proof-check", IPC_PROOF_CHECK, &b);

	memset(&pv, 0, sizeof(pv));
	pv.verdict = VERDICT_OK;
	pv.enrolment = ENROLMENT_PENDING;
	memset(pv.proof, 0x77, sizeof(pv.proof));
	if (ipcmsg_encode_proof_verdict(&b, &pv) == -1)
		abort();
	ipcmsg_put("proof-verdict", IPC_PROOF_VERDICT, &b);
	memset(&pv, 0, sizeof(pv));
	pv.verdict = VERDICT_CERT;
	if (ipcmsg_encode_proof_verdict(&b, &pv) == -1)
		abort();
	ipcmsg_put("proof-verdict-cert", IPC_PROOF_VERDICT, &b);

	memset(&pm, 0, sizeof(pm));
	pm.ticket = 9;
	pm.in = in;
	pm.in.purpose = PURPOSE_ORDER;
	memset(pm.fingerprint, 'c', OCTO_FPR_HEX_LEN);
	if (ipcmsg_encode_proof_make(&b, &pm) == -1)
		abort();
	ipcmsg_put("proof-make", IPC_PROOF_MAKE, &b);

	memset(&pd, 0, sizeof(pd));
	memset(pd.proof, 0x12, sizeof(pd.proof));
	memset(pd.expect, 0x34, sizeof(pd.expect));
	memset(pd.order_mac, 0x56, sizeof(pd.order_mac));
	if (ipcmsg_encode_proof_made(&b, &pd) == -1)
		abort();
	ipcmsg_put("proof-made", IPC_PROOF_MADE, &b);

	memset(&ro, 0, sizeof(ro));
	ro.job = 12;
	ro.run = 3;
	ro.ticket = 9;
	ro.tentacle = 42;
	strlcpy(ro.address, "192.0.2.7", sizeof(ro.address));
	ro.port = 7001;
	memset(ro.fingerprint, 'd', OCTO_FPR_HEX_LEN);
	strlcpy(ro.script, "disk-usage", sizeof(ro.script));
	if (ipcmsg_encode_run_order(&b, &ro) == -1)
		abort();
	ipcmsg_put("run-order", IPC_RUN_ORDER, &b);
	ro.job = 0;
	ro.run = 0;
	ro.script[0] = '\0';
	if (ipcmsg_encode_run_order(&b, &ro) == -1)
		abort();
	ipcmsg_put("keepalive", IPC_KEEPALIVE, &b);

	memset(&js, 0, sizeof(js));
	js.job = 12;
	js.state = JOB_UNREACHABLE;
	strlcpy(js.message, "Connection refused", sizeof(js.message));
	if (ipcmsg_encode_job_state(&b, &js) == -1)
		abort();
	ipcmsg_put("job-state", IPC_JOB_STATE, &b);

	memset(&rs, 0, sizeof(rs));
	rs.tentacle = 42;
	rs.frame = frame;
	rs.frame_len = sizeof(frame);
	if (ipcmsg_encode_result_store(&b, &rs) == -1)
		abort();
	ipcmsg_put("result-store", IPC_RESULT_STORE, &b);

	memset(&rd, 0, sizeof(rd));
	rd.status = STORED_REFUSED;
	rd.job = 12;
	strlcpy(rd.error, "bad MAC", sizeof(rd.error));
	if (ipcmsg_encode_result_stored(&b, &rd) == -1)
		abort();
	ipcmsg_put("result-stored", IPC_RESULT_STORED, &b);

	memset(&ts, 0, sizeof(ts));
	ts.tentacle = 42;
	ts.inventory = frame;
	ts.inventory_len = sizeof(frame);
	if (ipcmsg_encode_tentacle_seen(&b, &ts) == -1)
		abort();
	ipcmsg_put("tentacle-seen", IPC_TENTACLE_SEEN, &b);

	memset(&tm, 0, sizeof(tm));
	tm.tentacle = 42;
	strlcpy(tm.reason, "timeout", sizeof(tm.reason));
	if (ipcmsg_encode_tentacle_missed(&b, &tm) == -1)
		abort();
	ipcmsg_put("tentacle-missed", IPC_TENTACLE_MISSED, &b);

	memset(&ci, 0, sizeof(ci));
	strlcpy(ci.role, "commander", sizeof(ci.role));
	strlcpy(ci.address, "127.0.0.1", sizeof(ci.address));
	ci.port = 6001;
	ci.io_timeout = 30;
	ci.max_tentacles = 4096;
	ci.cert_pem = frame;
	ci.cert_pem_len = sizeof(frame);
	ci.key_pem = frame;
	ci.key_pem_len = sizeof(frame);
	if (ipcmsg_encode_child_init(&b, &ci) == -1)
		abort();
	ipcmsg_put("child-init", IPC_CHILD_INIT, &b);

	cr.io_timeout = 10;
	cr.max_tentacles = 4096;
	if (ipcmsg_encode_config_reload(&b, &cr) == -1)
		abort();
	ipcmsg_put("config-reload", IPC_CONFIG_RELOAD, &b);

	{
		struct ipc_script_push		sp;
		struct ipc_script_acked		sa;
		struct msg_script_delete	sd;
		struct msg_script_ack		ack;
		struct buf			fr;

		buf_init(&fr, 4096);
		memset(&sd, 0, sizeof(sd));
		strlcpy(sd.name, "check-one", sizeof(sd.name));
		sd.version = 2;
		memset(sd.sig, 7, sizeof(sd.sig));
		if (proto_encode_script_delete(&fr, &sd) == -1)
			abort();
		memset(&sp, 0, sizeof(sp));
		sp.tentacle = 42;
		sp.ticket = 7;
		strlcpy(sp.address, "192.0.2.7", sizeof(sp.address));
		sp.port = 7001;
		memset(sp.fingerprint, 'a', OCTO_FPR_HEX_LEN);
		sp.signkey = 1;
		memset(sp.pub, 3, sizeof(sp.pub));
		sp.frames = fr.data;
		sp.frames_len = fr.len;
		if (ipcmsg_encode_script_push(&b, &sp) == -1)
			abort();
		ipcmsg_put("script-push", IPC_SCRIPT_PUSH, &b);
		buf_reset(&fr);
		memset(&ack, 0, sizeof(ack));
		strlcpy(ack.name, "check-one", sizeof(ack.name));
		ack.version = 2;
		if (proto_encode_script_ack(&fr, &ack) == -1)
			abort();
		memset(&sa, 0, sizeof(sa));
		sa.tentacle = 42;
		sa.ack = fr.data + WIRE_HDR_LEN;
		sa.ack_len = fr.len - WIRE_HDR_LEN;
		if (ipcmsg_encode_script_acked(&b, &sa) == -1)
			abort();
		ipcmsg_put("script-acked", IPC_SCRIPT_ACKED, &b);
		memset(&sa, 0, sizeof(sa));
		sa.tentacle = 42;
		sa.final = 1;
		strlcpy(sa.reason, "Connection refused", sizeof(sa.reason));
		if (ipcmsg_encode_script_acked(&b, &sa) == -1)
			abort();
		ipcmsg_put("script-acked-final", IPC_SCRIPT_ACKED, &b);
		buf_free(&fr);
	}
	/* export (issue 17) */
	{
		struct ipc_export_conf	xc;
		struct ipc_export_event	xe;
		struct ipc_export_ack	xa;
		struct ipc_export_drop	xd;
		static const char	ev[] = "{\"id\":\"0b4c\",\"seq\":3,"
		    "\"event\":\"tentacle.offline\",\"fields\":{}}";

		memset(&xc, 0, sizeof(xc));
		strcpy(xc.brain, "brain-a.example.org");
		xc.syslog_on = 1;
		strcpy(xc.syslog_host, "logs.example.org");
		strcpy(xc.syslog_addr, "192.0.2.10");
		xc.syslog_port = 6514;
		xc.syslog_ca = frame;
		xc.syslog_ca_len = sizeof(frame);
		xc.webhook_on = 1;
		strcpy(xc.webhook_host, "192.0.2.11");
		strcpy(xc.webhook_addr, "192.0.2.11");
		xc.webhook_port = 8443;
		strcpy(xc.webhook_path, "/hook");
		xc.webhook_ca = frame;
		xc.webhook_ca_len = sizeof(frame);
		xc.webhook_secret = (const uint8_t *)"secret";
		xc.webhook_secret_len = 6;
		if (ipcmsg_encode_export_conf(&b, &xc) == -1)
			abort();
		ipcmsg_put("export-conf", IPC_EXPORT_CONF, &b);
		memset(&xe, 0, sizeof(xe));
		xe.target = EXPORT_SYSLOG;
		xe.seq = 3;
		xe.json = ev;
		xe.json_len = sizeof(ev) - 1;
		if (ipcmsg_encode_export_event(&b, &xe) == -1)
			abort();
		ipcmsg_put("export-event", IPC_EXPORT_EVENT, &b);
		memset(&xa, 0, sizeof(xa));
		xa.target = EXPORT_WEBHOOK;
		xa.seq = 3;
		xa.state = EXPORT_DOWN;
		strcpy(xa.error, "HTTP 500");
		if (ipcmsg_encode_export_ack(&b, &xa) == -1)
			abort();
		ipcmsg_put("export-ack", IPC_EXPORT_ACK, &b);
		xd.target = EXPORT_SYSLOG;
		xd.seq = 2;
		if (ipcmsg_encode_export_drop(&b, &xd) == -1)
			abort();
		ipcmsg_put("export-drop", IPC_EXPORT_DROP, &b);
	}
	{
		struct ipc_metrics_get	mg;

		memset(&mg, 0, sizeof(mg));
		strcpy(mg.token, "tok-3f9a");
		strcpy(mg.client, "192.0.2.5");
		histo_add(&mg.http[WEB_ROUTE_API], 1800);
		histo_add(&mg.http[WEB_ROUTE_STATIC], 90);
		if (ipcmsg_encode_metrics_get(&b, &mg) == -1)
			abort();
		ipcmsg_put("metrics-get", IPC_METRICS_GET, &b);
	}
	if (net_addr_key("192.0.2.1", keys[0]) == -1 ||
	    net_addr_key("2001:db8::1", keys[1]) == -1)
		abort();
	ta.flags = ADDRESSES_FIRST | ADDRESSES_LAST;
	ta.keys = keys[0];
	ta.count = 2;
	if (ipcmsg_encode_tentacle_addresses(&b, &ta) == -1)
		abort();
	ipcmsg_put("tentacle-addresses", IPC_TENTACLE_ADDRESSES, &b);
	ta.flags = ADDRESSES_FIRST;
	ta.keys = NULL;
	ta.count = 0;
	if (ipcmsg_encode_tentacle_addresses(&b, &ta) == -1)
		abort();
	ipcmsg_put("tentacle-addresses-empty", IPC_TENTACLE_ADDRESSES, &b);

	memset(&ar, 0, sizeof(ar));
	ar.status = 200;
	ar.json = "{\"user\":{\"name\":\"alice\",\"role\":\"admin\"},"
	    "\"csrf\":\"00ff\",\"totp_setup_required\":false}";
	ar.json_len = strlen(ar.json);
	memset(ar.cookie, 'c', OCTO_TOKEN_HEX_LEN);
	if (ipcmsg_encode_api_reply(&b, &ar) == -1)
		abort();
	ipcmsg_put("api-reply-login", IPC_API_REPLY, &b);
	ar.status = 429;
	ar.json = "{\"error\":\"too many login attempts\",\"retry_after\":30}";
	ar.json_len = strlen(ar.json);
	ar.cookie[0] = '\0';
	if (ipcmsg_encode_api_reply(&b, &ar) == -1)
		abort();
	ipcmsg_put("api-reply-429", IPC_API_REPLY, &b);
	ar.status = 200;
	ar.json = "{}";
	ar.json_len = 2;
	strlcpy(ar.cookie, "-", sizeof(ar.cookie));
	if (ipcmsg_encode_api_reply(&b, &ar) == -1)
		abort();
	ipcmsg_put("api-reply-logout", IPC_API_REPLY, &b);
	buf_free(&b);
}

/* Outputs: lines written from findings by fuzz_finding_line, as the
 * audit scripts print them, and what a script may print besides. */
static void
gen_findings(void)
{
	static const struct {
		enum finding_status	 status;
		const char		*check, *text;
	} lines[] = {
		{ FINDING_FAIL, "sysctl.kernel.kptr_restrict",
		    "kernel.kptr_restrict = 1, expected 2" },
		{ FINDING_OK, "mount./tmp.noexec", "/tmp is mounted noexec" },
		{ FINDING_WARN, "sshd.PermitRootLogin",
		    "prohibit-password, expected no" },
		{ FINDING_SKIP, "grub.password", "no GRUB (a container)" },
		{ FINDING_INFO, "processes.count", "212 processes" },
		{ FINDING_OK, "svc.getty@tty1:x+y=z", "" },
		{ FINDING_INFO, "", "3 findings (1 check skipped)" },
		{ FINDING_INFO, "", "could not check: permission denied" },
	};
	static const char *const raw[][2] = {
		{ "legacy", "OK    /var 53% used\nFAIL: x\nWARN  \n" },
		{ "bad-utf8", "FAIL a.b caf\xc3\xa9 \x80 \xc0\xaf \xed\xa0\x80 "
		    "\xf4\x90\x80\x80 \xe2\x82\n" },
		{ "controls", "OK a.b \x1b[31mred\x1b[0m\r\nINFO c\x7f\tx\n" },
		{ "blanks", "\n \t\n\tOK\ta.b\t\ttabs\t \r\n" },
	};
	struct finding	f;
	char		out[4096], big[FINDING_LINE_MAX + 64], name[32];
	size_t		i, n = 0, k;

	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		f.status = lines[i].status;
		strlcpy(f.check, lines[i].check, sizeof(f.check));
		f.text = (char *)lines[i].text;
		k = fuzz_finding_line(out + n, sizeof(out) - n, &f);
		if (k == 0)
			abort();
		snprintf(name, sizeof(name), "line-%zu-%s", i,
		    finding_status_name(f.status));
		put("findings", name, out + n, k);
		n += k;
	}
	put("findings", "report", out, n);
	put("findings", "report-no-final-newline", out, n - 1);
	for (i = 0; i < sizeof(raw) / sizeof(raw[0]); i++)
		put("findings", raw[i][0], raw[i][1], strlen(raw[i][1]));
	/* A line longer than FINDING_LINE_MAX, cut inside a character. */
	memset(big, 'x', sizeof(big));
	memcpy(big, "WARN long.line ", 15);
	memcpy(big + FINDING_LINE_MAX - 1, "\xe2\x82\xac", 3);
	put("findings", "long-line", big, sizeof(big));
}

/* Checks files written from tables by fuzz_checks_format, and near
 * misses. */
static void
gen_checks(void)
{
	static const char *const rows[][4] = {
		{ "sysctl.kernel.kptr_restrict", "BP028:R9 CIS:1.5.2",
		    "Kernel pointers hidden from every user",
		    "Set kernel.kptr_restrict = 2 in /etc/sysctl.d/99-octopus.conf"
		    " and run sysctl --system" },
		{ "mount./tmp.noexec", "BP028:R28 CIS:1.1.2.4", "/tmp noexec",
		    "Add noexec to the options of /tmp in /etc/fstab" },
		{ "disk.usage", "", "Disk space used",
		    "Free space or grow the file system (caf\xc3\xa9)" },
		{ "sudo.use_pty", "BP028:R38-R44", "sudo runs in a pty",
		    "Defaults use_pty in /etc/sudoers.d/octopus" },
	};
	static const char *const raw[][2] = {
		{ "three-fields", "a\tR:1\ttitle\n" },
		{ "bad-id", "1a\tR:1\tt\tf\n" },
		{ "bad-ref", "a\tR9\tt\tf\n" },
		{ "double-space", "a\tA:1  B:2\tt\tf\n" },
		{ "duplicate", "a\tR:1\tt\tf\nb\tR:1\tt\tf\na\tR:2\tt\tf\n" },
		{ "crlf", "a\tR:1\tt\tf\r\n" },
		{ "bad-utf8", "a\tR:1\tt\xc3\tf\n" },
	};
	struct check_info	v[sizeof(rows) / sizeof(rows[0])];
	struct checks		c = { v, sizeof(rows) / sizeof(rows[0]) };
	char			*text;
	size_t			 i, len;

	memset(v, 0, sizeof(v));
	for (i = 0; i < c.n; i++) {
		strlcpy(v[i].id, rows[i][0], sizeof(v[i].id));
		v[i].refs = (char *)rows[i][1];
		v[i].title = (char *)rows[i][2];
		v[i].fix = (char *)rows[i][3];
	}
	text = fuzz_checks_format(&c, "CHECK-ID\treferences\ttitle\tfix",
	    &len);
	put("checks", "pack", text, len);
	free(text);
	c.n = 1;
	text = fuzz_checks_format(&c, NULL, &len);
	put("checks", "one", text, len);
	put("checks", "one-no-final-newline", text, len - 1);
	free(text);
	for (i = 0; i < sizeof(raw) / sizeof(raw[0]); i++)
		put("checks", raw[i][0], raw[i][1], strlen(raw[i][1]));
}

int
main(int argc, char *argv[])
{
	if (argc != 2) {
		fprintf(stderr, "usage: gen_corpus DIR\n");
		return 2;
	}
	outdir = argv[1];
	if (mkdir(outdir, 0755) == -1 && errno != EEXIST)
		die(outdir);
	gen_wire();
	gen_ipc();
	gen_proto();
	gen_handshake();
	gen_enrolment();
	gen_spool();
	gen_managed();
	gen_apibody();
	gen_pack();
	gen_config();
	gen_webpath();
	gen_login_json();
	gen_apicall();
	gen_ipcmsg();
	gen_findings();
	gen_checks();
	gen_utf8();
	gen_groups();
	gen_compliance();
	return 0;
}
