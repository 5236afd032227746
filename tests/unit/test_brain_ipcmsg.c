/*
 * The brain's IPC messages (brain/ipcmsg.c): every message round-trips
 * (decoded, encoded again: the same bytes), is refused truncated at every
 * length and with a trailing byte, and with each bad field; the encoder
 * refuses what the decoder would. No encoding of any message carries a
 * tentacle key: the messages that travel while one is in play (proofs,
 * verdicts, orders, enrolment replies) are built here from a real key, and
 * its bytes, in clear or as hex, are in none of them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "crypto.h"
#include "handshake.h"
#include "ipcmsg.h"
#include "pack.h"

#define FPR "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static const uint8_t frame_bytes[] = "\x00\x01 a frame's payload \xff";

/* One message type: its codec through void pointers, a valid sample, and
 * changes that make it invalid. */
struct kind {
	const char	*name;
	size_t		 size;
	int		(*enc)(struct buf *, const void *);
	int		(*dec)(const uint8_t *, size_t, void *, const char **);
	void		(*sample)(void *);
	void		(*bad[12])(void *);
};

#define WRAP(n)								\
static int								\
enc_##n(struct buf *b, const void *m)					\
{									\
	return ipcmsg_encode_##n(b, m);					\
}									\
static int								\
dec_##n(const uint8_t *p, size_t l, void *m, const char **why)		\
{									\
	return ipcmsg_decode_##n(p, l, m, why);				\
}

WRAP(auth_login)
WRAP(log_event)
WRAP(enrol_request)
WRAP(enrol_reply)
WRAP(enrol_offer)
WRAP(enrol_offer_done)
WRAP(pair_make)
WRAP(pair_made)
WRAP(proof_check)
WRAP(proof_verdict)
WRAP(proof_make)
WRAP(proof_made)
WRAP(run_order)
WRAP(job_state)
WRAP(result_store)
WRAP(result_stored)
WRAP(tentacle_seen)
WRAP(tentacle_missed)
WRAP(child_init)
WRAP(api_reply)
WRAP(config_reload)
WRAP(script_push)
WRAP(script_acked)
WRAP(export_conf)
WRAP(export_event)
WRAP(export_ack)
WRAP(export_drop)
WRAP(metrics_get)
WRAP(tentacle_addresses)

static void
inputs(struct hs_inputs *in)
{
	in->purpose = PURPOSE_RESULT;
	in->id = 42;
	memset(in->nonce_c, 1, sizeof(in->nonce_c));
	memset(in->nonce_s, 2, sizeof(in->nonce_s));
	memset(in->exporter, 3, sizeof(in->exporter));
}

/* ---- samples and their bad variants ------------------------------------ */

#define S(type, n) static void n(void *p_) { struct type *m = p_;
#define E }

S(ipc_auth_login, s_login) strcpy(m->client, "2001:db8::1");
	strcpy(m->user, "alice"); strcpy(m->password, "pass \xc3\xa9 word");
	strcpy(m->totp, "287082"); E
S(ipc_auth_login, b_login1) m->user[0] = '\0'; E
S(ipc_auth_login, b_login2) strcpy(m->totp, "12a456"); E
S(ipc_auth_login, b_login3) m->client[0] = '\n'; E
S(ipc_auth_login, b_login4) strcpy(m->totp, "12345 "); E

S(ipc_log_event, s_log) strcpy(m->kind, "refused_handshake");
	strcpy(m->peer, "192.0.2.1:4000"); strcpy(m->detail, "wrong key"); E
S(ipc_log_event, b_log1) m->kind[0] = '\0'; E
S(ipc_log_event, b_log2) strcpy(m->kind, "Bad-Kind"); E
S(ipc_log_event, b_log3) m->detail[0] = '\n'; E

S(ipc_enrol_request, s_ereq) m->offer = 3; strcpy(m->source, "192.0.2.1:4000");
	strcpy(m->fingerprint, FPR); memset(m->exporter, 9, sizeof(m->exporter));
	m->frame = frame_bytes; m->frame_len = sizeof(frame_bytes); E
S(ipc_enrol_request, b_ereq1) m->fingerprint[0] = 'X'; E
S(ipc_enrol_request, b_ereq2) m->fingerprint[10] = '\0'; E
S(ipc_enrol_request, b_ereq3) m->source[0] = '\t'; E

S(ipc_enrol_reply, s_erep) m->ok = 1; m->status = ENROLMENT_ACCEPTED;
	m->id = 7; memset(m->brain_pub, 4, sizeof(m->brain_pub));
	memset(m->wrapped_key, 5, sizeof(m->wrapped_key));
	m->has_sign_pub = 1; memset(m->sign_pub, 6, sizeof(m->sign_pub)); E
S(ipc_enrol_reply, b_erep1) m->ok = 2; E
S(ipc_enrol_reply, b_erep2) m->status = ENROLMENT_MAX; E
S(ipc_enrol_reply, b_erep3) m->id = 0; E
S(ipc_enrol_reply, b_erep4) strcpy(m->error, "ok but an error"); E
S(ipc_enrol_reply, b_erep5) m->ok = 0; E	/* refused without a reason */
S(ipc_enrol_reply, b_erep6) m->id = (uint64_t)INT64_MAX + 1; E
S(ipc_enrol_reply, b_erep7) m->has_sign_pub = 2; E

S(ipc_enrol_offer, s_offer) strcpy(m->address, "192.0.2.7"); m->port = 7000; E
S(ipc_enrol_offer, b_offer1) m->port = 0; E
S(ipc_enrol_offer, b_offer2) m->port = 65536; E
S(ipc_enrol_offer, b_offer3) m->address[0] = '\0'; E
S(ipc_enrol_offer, b_offer4) m->pairing = 2; E

S(ipc_pair_make, s_pairmk) m->offer = 3; memset(m->exporter, 4, 32); E
S(ipc_pair_make, b_pairmk1) m->offer = 0; E

S(ipc_pair_made, s_pairmd) m->ok = 1; memset(m->proof, 5, 32);
	memset(m->expect, 6, 32); E
S(ipc_pair_made, b_pairmd1) m->ok = 2; E
S(ipc_pair_made, b_pairmd2) m->ok = 0; E	/* refused without a reason */
S(ipc_pair_made, b_pairmd3) strcpy(m->error, "x\n"); E

S(ipc_enrol_offer_done, s_odone) m->ok = 1; m->tentacle = 9;
	m->http_status = 201; E
S(ipc_enrol_offer_done, b_odone1) m->tentacle = 0; E
S(ipc_enrol_offer_done, b_odone2) m->http_status = 600; E
S(ipc_enrol_offer_done, b_odone3) m->ok = 0; E	/* refused with an ID */
S(ipc_enrol_offer_done, b_odone4) m->error[0] = 0x7f; E

S(ipc_proof_check, s_pcheck) inputs(&m->in);
	memset(m->proof, 6, sizeof(m->proof)); strcpy(m->fingerprint, FPR); E
S(ipc_proof_check, b_pcheck1) m->in.purpose = PURPOSE_ENROL; E
S(ipc_proof_check, b_pcheck2) m->in.purpose = PURPOSE_MAX; E
S(ipc_proof_check, b_pcheck3) m->in.id = 0; E
S(ipc_proof_check, b_pcheck4) m->in.id = (uint64_t)INT64_MAX + 1; E
S(ipc_proof_check, b_pcheck5) m->fingerprint[0] = '\0'; E

S(ipc_proof_verdict, s_pverd) m->verdict = VERDICT_OK;
	m->enrolment = ENROLMENT_ACCEPTED; memset(m->proof, 7, sizeof(m->proof)); E
S(ipc_proof_verdict, b_pverd1) m->verdict = VERDICT_MAX; E
S(ipc_proof_verdict, b_pverd2) m->enrolment = 0; E
S(ipc_proof_verdict, b_pverd3) m->verdict = VERDICT_WRONG; E	/* + status */

S(ipc_proof_make, s_pmake) m->ticket = 77; inputs(&m->in);
	m->in.purpose = PURPOSE_ORDER; strcpy(m->fingerprint, FPR); E
S(ipc_proof_make, b_pmake1) m->ticket = 0; E
S(ipc_proof_make, b_pmake2) m->in.purpose = 0; E
S(ipc_proof_make, b_pmake3) m->in.id = 0; E
S(ipc_proof_make, b_pmake4) strcpy(m->fingerprint, "00"); E

S(ipc_proof_made, s_pmade) m->verdict = VERDICT_OK;
	memset(m->proof, 1, sizeof(m->proof));
	memset(m->expect, 2, sizeof(m->expect));
	memset(m->order_mac, 3, sizeof(m->order_mac)); E
S(ipc_proof_made, b_pmade1) m->verdict = VERDICT_MAX; E

S(ipc_run_order, s_order) m->job = 12; m->run = 3; m->ticket = 5;
	m->tentacle = 42;
	strcpy(m->address, "192.0.2.7"); m->port = 7001;
	strcpy(m->fingerprint, FPR); strcpy(m->script, "disk-usage"); E
S(ipc_run_order, b_order1) m->ticket = 0; E
S(ipc_run_order, b_order2) m->tentacle = 0; E
S(ipc_run_order, b_order3) strcpy(m->script, "../x"); E
S(ipc_run_order, b_order4) m->job = 0; m->run = 0; E	/* a keepalive
								   with a script */
S(ipc_run_order, b_order5) strcpy(m->script_sha256, "abc"); E
S(ipc_run_order, b_order6) m->port = 0; E
S(ipc_run_order, b_order7) m->job = (uint64_t)INT64_MAX + 1; E
S(ipc_run_order, b_order8) m->run = 0; E	/* a job of no run */
S(ipc_run_order, b_order9) m->job = 0; m->run = 3; strcpy(m->script, "");
	E					/* a ping of a run */

S(ipc_job_state, s_jstate) m->job = 12; m->state = JOB_FAILED;
	strcpy(m->message, "refused: unknown script"); E
S(ipc_job_state, b_jstate1) m->state = JOB_DONE; E	/* the result's */
S(ipc_job_state, b_jstate2) m->state = JOB_STATE_MAX; E
S(ipc_job_state, b_jstate3) m->job = 0; E
S(ipc_job_state, b_jstate4) m->message[2] = '\r'; E

S(ipc_result_store, s_rstore) m->tentacle = 42; m->frame = frame_bytes;
	m->frame_len = sizeof(frame_bytes); E
S(ipc_result_store, b_rstore1) m->tentacle = 0; E
S(ipc_result_store, b_rstore2) m->frame_len = WIRE_PAYLOAD_MAX + 1; E

S(ipc_result_stored, s_rstored) m->status = STORED_REFUSED; m->job = 12;
	strcpy(m->error, "bad MAC"); E
S(ipc_result_stored, b_rstored1) m->status = STORED_MAX; E
S(ipc_result_stored, b_rstored2) m->status = STORED_OK; m->job = 0; E
S(ipc_result_stored, b_rstored3) m->job = (uint64_t)INT64_MAX + 1; E

S(ipc_tentacle_seen, s_seen) m->tentacle = 42; m->inventory = frame_bytes;
	m->inventory_len = sizeof(frame_bytes); E
S(ipc_tentacle_seen, b_seen1) m->tentacle = 0; E

S(ipc_tentacle_missed, s_missed) m->tentacle = 42;
	strcpy(m->reason, "Connection refused"); E
S(ipc_tentacle_missed, b_missed1) m->tentacle = 0; E
S(ipc_tentacle_missed, b_missed2) m->reason[0] = 0x1b; E

static const uint8_t pem_bytes[] = "-----BEGIN CERTIFICATE-----\n...";
S(ipc_child_init, s_init) strcpy(m->role, "webserv");
	strcpy(m->address, "127.0.0.1"); m->port = 8443; m->io_timeout = 30;
	m->max_tentacles = 4096; strcpy(m->web_root, "/usr/share/octopus/web");
	m->cert_pem = pem_bytes; m->cert_pem_len = sizeof(pem_bytes);
	m->key_pem = pem_bytes; m->key_pem_len = sizeof(pem_bytes); E
S(ipc_child_init, b_init1) strcpy(m->role, "Web-serv"); E
S(ipc_child_init, b_init2) m->port = 0; E
S(ipc_child_init, b_init3) m->io_timeout = 0; E
S(ipc_child_init, b_init4) m->max_tentacles = 1000001; E
S(ipc_child_init, b_init5) m->key_pem_len = 0; E	/* no key */
S(ipc_child_init, b_init6) m->cert_pem_len = IPCMSG_PEM_MAX + 1; E
S(ipc_child_init, b_init7) m->address[0] = '\0'; E
S(ipc_child_init, b_init8) m->role[0] = '\0'; E

static const char json_text[] = "{\"user\":{\"name\":\"alice\"}}";
S(ipc_api_reply, s_reply) m->status = 200; m->json = json_text;
	m->json_len = sizeof(json_text) - 1; strcpy(m->cookie, FPR); E
S(ipc_api_reply, b_reply1) m->status = 199; E
S(ipc_api_reply, b_reply2) m->status = 600; E
S(ipc_api_reply, b_reply3) m->json_len = 0; E
S(ipc_api_reply, b_reply4) m->json_len = sizeof(json_text); E	/* its NUL */
S(ipc_api_reply, b_reply5) m->cookie[0] = 'A'; E	/* not a key */
S(ipc_api_reply, b_reply6) m->cookie[63] = '\0'; E	/* too short */
S(ipc_api_reply, b_reply7) strcpy(m->cookie, "x\r\nSet-Cookie: y"); E
S(ipc_api_reply, b_reply8) strcpy(m->cookie, "--"); E

S(ipc_config_reload, s_reload) m->io_timeout = 2; m->max_tentacles = 10; E
S(ipc_config_reload, b_reload1) m->io_timeout = 3601; E
S(ipc_config_reload, b_reload2) m->max_tentacles = 0; E

/* A real SCRIPT_DELETE frame, for the push's frames. */
static const uint8_t *
delete_frame(size_t *len)
{
	static uint8_t		 bytes[512];
	static size_t		 n;
	struct msg_script_delete d;
	struct buf		 b;

	if (n == 0) {
		memset(&d, 0, sizeof(d));
		strcpy(d.name, "check-one");
		d.version = 3;
		memset(d.sig, 8, sizeof(d.sig));
		buf_init(&b, sizeof(bytes));
		assert_int_equal(proto_encode_script_delete(&b, &d), 0);
		memcpy(bytes, b.data, b.len);
		n = b.len;
		buf_free(&b);
	}
	*len = n;
	return bytes;
}

S(ipc_script_push, s_push) m->tentacle = 42; m->ticket = 9;
	strcpy(m->address, "192.0.2.7"); m->port = 7001;
	strcpy(m->fingerprint, FPR); m->signkey = 1;
	memset(m->pub, 3, sizeof(m->pub));
	m->frames = delete_frame(&m->frames_len); E
S(ipc_script_push, b_push1) m->ticket = 0; E
S(ipc_script_push, b_push2) m->signkey = 0; m->frames_len = 0; E
S(ipc_script_push, b_push3) m->frames = frame_bytes;
	m->frames_len = sizeof(frame_bytes); E	/* not a script frame */
S(ipc_script_push, b_push4) m->frames_len -= 1; E	/* a part of one */
S(ipc_script_push, b_push5) m->signkey = 2; E
S(ipc_script_push, b_push6) m->port = 0; E

S(ipc_script_acked, s_acked) m->tentacle = 42; m->ack = frame_bytes;
	m->ack_len = sizeof(frame_bytes); E
S(ipc_script_acked, b_acked1) m->tentacle = 0; E
S(ipc_script_acked, b_acked2) m->final = 1; E	/* final with an ack */
S(ipc_script_acked, b_acked3) m->ack_len = 0; E	/* neither */
S(ipc_script_acked, b_acked4) strcpy(m->reason, "x"); E
S(ipc_script_acked, b_acked5) m->final = 2; E
/* export (issue 17) */
static const uint8_t secret_bytes[] = "s3cr\xc3\xa9t";
S(ipc_export_conf, s_xconf) strcpy(m->brain, "brain-a.example.org");
	m->syslog_on = 1; strcpy(m->syslog_host, "logs.example.org");
	strcpy(m->syslog_addr, "192.0.2.10"); m->syslog_port = 6514;
	m->syslog_ca = pem_bytes; m->syslog_ca_len = sizeof(pem_bytes);
	m->syslog_cert = pem_bytes; m->syslog_cert_len = sizeof(pem_bytes);
	m->syslog_key = pem_bytes; m->syslog_key_len = sizeof(pem_bytes);
	m->webhook_on = 1; strcpy(m->webhook_host, "hooks.example.org");
	strcpy(m->webhook_addr, "2001:db8::10"); m->webhook_port = 443;
	strcpy(m->webhook_path, "/octopus?x=1");
	m->webhook_ca = pem_bytes; m->webhook_ca_len = sizeof(pem_bytes);
	m->webhook_secret = secret_bytes;
	m->webhook_secret_len = sizeof(secret_bytes) - 1; E
S(ipc_export_conf, b_xconf1) m->brain[0] = '\0'; E
S(ipc_export_conf, b_xconf2) strcpy(m->brain, "two words"); E
S(ipc_export_conf, b_xconf3) m->syslog_port = 0; E
S(ipc_export_conf, b_xconf4) m->syslog_ca_len = 0; E
S(ipc_export_conf, b_xconf5) m->syslog_key_len = 0; E	/* cert, no key */
S(ipc_export_conf, b_xconf6) strcpy(m->webhook_path, "no-slash"); E
S(ipc_export_conf, b_xconf7) m->webhook_secret_len = 0; E
S(ipc_export_conf, b_xconf8) m->webhook_on = 0; E	/* its fields set */
S(ipc_export_conf, b_xconf9) m->syslog_on = 2; E
S(ipc_export_conf, b_xconf10) m->webhook_secret_len = EXPORT_SECRET_MAX + 1; E

static const char event_json[] = "{\"seq\":7,\"event\":\"login\"}";
S(ipc_export_event, s_xevent) m->target = EXPORT_WEBHOOK; m->seq = 7;
	m->json = event_json; m->json_len = sizeof(event_json) - 1; E
S(ipc_export_event, b_xevent1) m->target = EXPORT_TARGETS; E
S(ipc_export_event, b_xevent2) m->seq = 0; E
S(ipc_export_event, b_xevent3) m->json_len = 0; E
S(ipc_export_event, b_xevent4) m->json_len = sizeof(event_json); E	/* NUL */

S(ipc_export_ack, s_xack) m->target = EXPORT_SYSLOG; m->seq = 9;
	m->dropped = 1; m->state = EXPORT_DOWN;
	strcpy(m->error, "the collector's certificate: unable to get local "
	"issuer certificate"); E
S(ipc_export_ack, b_xack1) m->target = 7; E
S(ipc_export_ack, b_xack2) m->state = EXPORT_STATE_MAX; E
S(ipc_export_ack, b_xack3) m->seq = 0; E	/* drops with nothing acked */
S(ipc_export_ack, b_xack4) m->error[0] = '\n'; E
S(ipc_export_ack, b_xack5) m->dropped = EXPORT_WINDOW + 1; E

S(ipc_export_drop, s_xdrop) m->target = EXPORT_SYSLOG; m->seq = 40; E
S(ipc_export_drop, b_xdrop1) m->seq = 0; E
S(ipc_export_drop, b_xdrop2) m->target = EXPORT_TARGETS; E

S(ipc_metrics_get, s_metrics) strcpy(m->token, "tok-3f9a");
	strcpy(m->client, "192.0.2.5");
	histo_add(&m->http[WEB_ROUTE_API], 420);
	histo_add(&m->http[WEB_ROUTE_API], 20000000);	/* +Inf */
	histo_add(&m->http[WEB_ROUTE_STATIC], 7); E
S(ipc_metrics_get, b_metrics1) strcpy(m->token, "two words"); E
S(ipc_metrics_get, b_metrics2) m->token[0] = '\n'; E
S(ipc_metrics_get, b_metrics3) m->client[0] = '\t'; E
S(ipc_metrics_get, b_metrics4) m->http[WEB_ROUTE_METRICS].count = 1;
	m->http[WEB_ROUTE_METRICS].bucket[3] = 1;
	m->http[WEB_ROUTE_METRICS].bucket[9] = 1; E	/* more than counted */
/* 192.0.2.1, 2001:db8::1 and 192.0.2.2 as keys (net.h) */
static const uint8_t addr_keys[3 * NET_ADDR_KEY_LEN] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1,
	0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 2,
};
S(ipc_tentacle_addresses, s_addrs) m->flags = ADDRESSES_FIRST |
	ADDRESSES_LAST; m->keys = addr_keys; m->count = 3; E
S(ipc_tentacle_addresses, b_addrs1) m->flags = 0x04; E
S(ipc_tentacle_addresses, b_addrs2) m->count = IPCMSG_ADDRESSES_MAX + 1; E
S(ipc_tentacle_addresses, b_addrs3) m->keys = NULL; E

#undef S
#undef E

#define K(n, type, s, ...) { #n, sizeof(struct type), enc_##n, dec_##n, s, \
	{ __VA_ARGS__ } }

static const struct kind kinds[] = {
	K(auth_login, ipc_auth_login, s_login, b_login1, b_login2, b_login3,
	    b_login4),
	K(log_event, ipc_log_event, s_log, b_log1, b_log2, b_log3),
	K(enrol_request, ipc_enrol_request, s_ereq, b_ereq1, b_ereq2, b_ereq3),
	K(enrol_reply, ipc_enrol_reply, s_erep, b_erep1, b_erep2, b_erep3,
	    b_erep4, b_erep5, b_erep6, b_erep7),
	K(enrol_offer, ipc_enrol_offer, s_offer, b_offer1, b_offer2,
	    b_offer3, b_offer4),
	K(pair_make, ipc_pair_make, s_pairmk, b_pairmk1),
	K(pair_made, ipc_pair_made, s_pairmd, b_pairmd1, b_pairmd2,
	    b_pairmd3),
	K(enrol_offer_done, ipc_enrol_offer_done, s_odone, b_odone1,
	    b_odone2, b_odone3, b_odone4),
	K(proof_check, ipc_proof_check, s_pcheck, b_pcheck1, b_pcheck2,
	    b_pcheck3, b_pcheck4, b_pcheck5),
	K(proof_verdict, ipc_proof_verdict, s_pverd, b_pverd1, b_pverd2,
	    b_pverd3),
	K(proof_make, ipc_proof_make, s_pmake, b_pmake1, b_pmake2, b_pmake3,
	    b_pmake4),
	K(proof_made, ipc_proof_made, s_pmade, b_pmade1),
	K(run_order, ipc_run_order, s_order, b_order1, b_order2, b_order3,
	    b_order4, b_order5, b_order6, b_order7, b_order8, b_order9),
	K(job_state, ipc_job_state, s_jstate, b_jstate1, b_jstate2,
	    b_jstate3, b_jstate4),
	K(result_store, ipc_result_store, s_rstore, b_rstore1, b_rstore2),
	K(result_stored, ipc_result_stored, s_rstored, b_rstored1,
	    b_rstored2, b_rstored3),
	K(tentacle_seen, ipc_tentacle_seen, s_seen, b_seen1),
	K(tentacle_missed, ipc_tentacle_missed, s_missed, b_missed1,
	    b_missed2),
	K(child_init, ipc_child_init, s_init, b_init1, b_init2, b_init3,
	    b_init4, b_init5, b_init6, b_init7, b_init8),
	K(api_reply, ipc_api_reply, s_reply, b_reply1, b_reply2, b_reply3,
	    b_reply4, b_reply5, b_reply6, b_reply7, b_reply8),
	K(config_reload, ipc_config_reload, s_reload, b_reload1, b_reload2),
	K(script_push, ipc_script_push, s_push, b_push1, b_push2, b_push3,
	    b_push4, b_push5, b_push6),
	K(script_acked, ipc_script_acked, s_acked, b_acked1, b_acked2,
	    b_acked3, b_acked4, b_acked5),
	K(export_conf, ipc_export_conf, s_xconf, b_xconf1, b_xconf2, b_xconf3,
	    b_xconf4, b_xconf5, b_xconf6, b_xconf7, b_xconf8, b_xconf9,
	    b_xconf10),
	K(export_event, ipc_export_event, s_xevent, b_xevent1, b_xevent2,
	    b_xevent3, b_xevent4),
	K(export_ack, ipc_export_ack, s_xack, b_xack1, b_xack2, b_xack3,
	    b_xack4, b_xack5),
	K(export_drop, ipc_export_drop, s_xdrop, b_xdrop1, b_xdrop2),
	K(metrics_get, ipc_metrics_get, s_metrics, b_metrics1, b_metrics2,
	    b_metrics3, b_metrics4),
	K(tentacle_addresses, ipc_tentacle_addresses, s_addrs, b_addrs1,
	    b_addrs2, b_addrs3),
};

#define NKINDS	(sizeof(kinds) / sizeof(kinds[0]))
#define MSG_MAX	4096	/* bigger than any of the structs */

static void
test_roundtrip_truncation_trailing(void **state)
{
	uint8_t		 m[MSG_MAX], d[MSG_MAX];
	struct buf	 b, again, longer;
	const char	*why;
	size_t		 i, n;

	for (i = 0; i < NKINDS; i++) {
		print_message("%s\n", kinds[i].name);
		assert_true(kinds[i].size <= MSG_MAX);
		memset(m, 0, sizeof(m));
		kinds[i].sample(m);
		buf_init(&b, IPC_PAYLOAD_MAX);
		buf_init(&again, IPC_PAYLOAD_MAX);
		buf_init(&longer, IPC_PAYLOAD_MAX);
		assert_int_equal(kinds[i].enc(&b, m), 0);
		why = NULL;
		assert_int_equal(kinds[i].dec(b.data, b.len, d, &why), 0);
		assert_int_equal(kinds[i].enc(&again, d), 0);
		assert_int_equal(again.len, b.len);
		assert_memory_equal(again.data, b.data, b.len);
		/* Truncated at every length. */
		for (n = 0; n < b.len; n++) {
			why = NULL;
			assert_int_equal(kinds[i].dec(b.data, n, d, &why), -1);
			assert_non_null(why);
		}
		/* A trailing byte. */
		buf_append(&longer, b.data, b.len);
		buf_append(&longer, "", 1);
		why = NULL;
		assert_int_equal(kinds[i].dec(longer.data, longer.len, d, &why),
		    -1);
		assert_non_null(why);
		buf_free(&b);
		buf_free(&again);
		buf_free(&longer);
	}
}

/* Each bad field: the encoder refuses it. The decoder runs the very same
 * check of the fields after reading them (ipcmsg.c: one *_valid per
 * message), so what a child taken over packs by hand is refused too
 * (test_hostile_bytes, and the fuzz target). */
static void
test_bad_fields(void **state)
{
	uint8_t		 m[MSG_MAX];
	struct buf	 b;
	size_t		 i, j;

	for (i = 0; i < NKINDS; i++)
		for (j = 0; j < 8 && kinds[i].bad[j]; j++) {
			print_message("%s bad %zu\n", kinds[i].name, j);
			memset(m, 0, sizeof(m));
			kinds[i].sample(m);
			kinds[i].bad[j](m);
			buf_init(&b, IPC_PAYLOAD_MAX);
			assert_int_equal(kinds[i].enc(&b, m), -1);
			buf_free(&b);
		}
}

/* IPC_API_REPLY packed by hand, and why it is refused. */
static const struct bad_reply {
	uint32_t	 status;
	const char	*json;
	size_t		 json_len;
	const char	*cookie;
	const char	*why;
} bad_replies[] = {
	{ 200, "{}", 2, FPR "\r\nSet-Cookie: octopus_session=attacker",
	    "malformed message" },		/* longer than its field */
	{ 200, "{}", 2, "a\r\nX: y", "bad cookie" },
	{ 200, "{}\0{}", 5, "", "malformed message" },
	{ 0, "{}", 2, "-", "bad HTTP status" },
	{ 200, "", IPC_PAYLOAD_MAX + 1, "", "malformed message" },
};

/* Bytes a hostile child may write, packed by hand. */
static void
test_hostile_bytes(void **state)
{
	struct buf			b;
	struct packer			p;
	struct ipc_proof_check		ck;
	struct ipc_run_order		ro;
	struct ipc_result_stored	rs;
	struct ipc_api_reply		ar;
	struct ipc_log_event		le;
	struct ipc_tentacle_addresses	ta;
	const char			*why;
	uint8_t				z[32] = { 0 };
	size_t				i;

	/* A proof check whose nonce is one byte short. */
	buf_init(&b, IPC_PAYLOAD_MAX);
	pack_init(&p, &b);
	pack_u8(&p, PURPOSE_PING);
	pack_u64(&p, 42);
	pack_bytes(&p, z, 31);
	pack_bytes(&p, z, 32);
	pack_bytes(&p, z, 32);
	pack_bytes(&p, z, 32);
	pack_str(&p, FPR);
	assert_int_equal(ipcmsg_decode_proof_check(b.data, b.len, &ck, &why),
	    -1);
	buf_free(&b);

	/* A string with a NUL inside. */
	buf_init(&b, IPC_PAYLOAD_MAX);
	pack_init(&p, &b);
	pack_u8(&p, STORED_REFUSED);
	pack_u64(&p, 1);
	pack_bytes(&p, "a\0b", 3);
	assert_int_equal(ipcmsg_decode_result_stored(b.data, b.len, &rs, &why),
	    -1);
	buf_free(&b);

	/* A string longer than its field. */
	buf_init(&b, IPC_PAYLOAD_MAX);
	pack_init(&p, &b);
	pack_u64(&p, 1);
	pack_u64(&p, 1);
	pack_u64(&p, 1);
	pack_u64(&p, 1);
	pack_str(&p, "192.0.2.1.192.0.2.1.192.0.2.1.192.0.2.1.192.0.2.1.192.0.2.1."
	    "192.0.2.1");
	pack_u32(&p, 7001);
	pack_str(&p, FPR);
	pack_str(&p, "x");
	pack_str(&p, "");
	assert_int_equal(ipcmsg_decode_run_order(b.data, b.len, &ro, &why), -1);
	buf_free(&b);

	/* Replies the webserv must not pass on: a header in the cookie, a
	 * body with a NUL, a status that is none, a body too long. */
	for (i = 0; i < sizeof(bad_replies) / sizeof(bad_replies[0]); i++) {
		const struct bad_reply *r = &bad_replies[i];

		buf_init(&b, IPC_PAYLOAD_MAX);
		pack_init(&p, &b);
		pack_u32(&p, r->status);
		if (r->json_len <= IPC_PAYLOAD_MAX) {
			pack_bytes(&p, r->json, r->json_len);
			pack_str(&p, r->cookie);
		} else
			pack_u32(&p, r->json_len);	/* nothing behind */
		memset(&ar, 0x5a, sizeof(ar));
		assert_int_equal(ipcmsg_decode_api_reply(b.data, b.len, &ar,
		    &why), -1);
		assert_string_equal(why, r->why);
		assert_int_equal(ar.cookie[0], '\0');	/* wiped */
		buf_free(&b);
	}

	/* Events with what the audit log must not get. */
	buf_init(&b, IPC_PAYLOAD_MAX);
	pack_init(&p, &b);
	pack_str(&p, "refused_handshake");
	pack_str(&p, "192.0.2.1:4000");
	pack_str(&p, "x\nmaestro: forged line");
	assert_int_equal(ipcmsg_decode_log_event(b.data, b.len, &le, &why), -1);
	assert_string_equal(why, "bad event text");
	buf_reset(&b);
	pack_init(&p, &b);
	pack_str(&p, "refused handshake");
	pack_str(&p, "");
	pack_str(&p, "");
	assert_int_equal(ipcmsg_decode_log_event(b.data, b.len, &le, &why), -1);
	assert_string_equal(why, "bad event kind");
	buf_free(&b);

	/* Addresses that are not whole keys; more than one message holds;
	 * none at all is a set (empty). */
	buf_init(&b, IPC_PAYLOAD_MAX);
	pack_init(&p, &b);
	pack_u8(&p, ADDRESSES_FIRST);
	pack_bytes(&p, addr_keys, NET_ADDR_KEY_LEN + 1);
	assert_int_equal(ipcmsg_decode_tentacle_addresses(b.data, b.len, &ta,
	    &why), -1);
	assert_string_equal(why, "addresses are not whole keys");
	buf_reset(&b);
	pack_init(&p, &b);
	pack_u8(&p, ADDRESSES_LAST);
	pack_u32(&p, (IPCMSG_ADDRESSES_MAX + 1) * NET_ADDR_KEY_LEN);
	assert_int_equal(ipcmsg_decode_tentacle_addresses(b.data, b.len, &ta,
	    &why), -1);
	buf_reset(&b);
	pack_init(&p, &b);
	pack_u8(&p, ADDRESSES_FIRST | ADDRESSES_LAST);
	pack_bytes(&p, NULL, 0);
	assert_int_equal(ipcmsg_decode_tentacle_addresses(b.data, b.len, &ta,
	    &why), 0);
	assert_int_equal(ta.count, 0);
	assert_null(ta.keys);
	buf_free(&b);
}

static int
has(const struct buf *b, const void *needle, size_t n)
{
	return b->len >= n && memmem(b->data, b->len, needle, n) != NULL;
}

/*
 * The messages made while a tentacle's key is in play, from a real key,
 * as the maestro makes them (proofs.c, fleet.c): none holds the key, in
 * clear or as hex, or any 8 bytes of it.
 */
static void
test_no_key_in_any_message(void **state)
{
	uint8_t			 key[PROTO_KEY_LEN], priv[X25519_LEN];
	uint8_t			 pub[PROTO_PUB_LEN];
	char			 hex[PROTO_KEY_LEN * 2 + 1];
	struct hs_inputs	 in;
	struct ipc_proof_verdict v;
	struct ipc_proof_made	 md;
	struct ipc_enrol_reply	 er;
	struct msg_enrol_reply	 wr;
	struct msg_order	 o;
	struct buf		 all;
	size_t			 i;

	assert_int_equal(crypto_random(key, sizeof(key)), 0);
	hex_encode(key, sizeof(key), hex);
	buf_init(&all, IPC_PAYLOAD_MAX);
	inputs(&in);

	memset(&v, 0, sizeof(v));
	v.verdict = VERDICT_OK;
	v.enrolment = ENROLMENT_ACCEPTED;
	assert_int_equal(hs_proof(key, HS_SERVER, &in, v.proof), 0);
	assert_int_equal(ipcmsg_encode_proof_verdict(&all, &v), 0);

	memset(&md, 0, sizeof(md));
	in.purpose = PURPOSE_ORDER;
	assert_int_equal(hs_proof(key, HS_CLIENT, &in, md.proof), 0);
	assert_int_equal(hs_proof(key, HS_SERVER, &in, md.expect), 0);
	memset(&o, 0, sizeof(o));
	o.job = 12;
	strcpy(o.script, "disk-usage");
	assert_int_equal(proto_order_mac(key, 42, &o, in.exporter,
	    md.order_mac), 0);
	assert_int_equal(ipcmsg_encode_proof_made(&all, &md), 0);

	assert_int_equal(crypto_x25519_keypair(priv, pub), 0);
	memset(&wr, 0, sizeof(wr));
	wr.id = 42;
	wr.status = ENROLMENT_ACCEPTED;
	assert_int_equal(proto_enrol_wrap(pub, in.exporter, key, &wr), 0);
	memset(&er, 0, sizeof(er));
	er.ok = 1;
	er.status = wr.status;
	er.id = wr.id;
	memcpy(er.brain_pub, wr.brain_pub, sizeof(er.brain_pub));
	memcpy(er.wrapped_key, wr.wrapped_key, sizeof(er.wrapped_key));
	assert_int_equal(ipcmsg_encode_enrol_reply(&all, &er), 0);

	assert_true(all.len > 3 * PROTO_MAC_LEN);
	assert_false(has(&all, hex, sizeof(hex) - 1));
	for (i = 0; i + 8 <= sizeof(key); i++) {
		assert_false(has(&all, key + i, 8));
		assert_false(has(&all, hex + 2 * i, 16));
	}
	/* The check can fail: the key itself is found. */
	buf_append(&all, key + 5, 8);
	assert_true(has(&all, key + 5, 8));
	buf_free(&all);
}

/* The exporter has no port: its IPC_CHILD_INIT has neither address, port
 * nor credentials; a child with a port still needs all three. */
static void
test_child_init_portless(void **state)
{
	struct ipc_child_init	ci, d;
	struct buf		b;
	const char		*why;

	memset(&ci, 0, sizeof(ci));
	strcpy(ci.role, "exporter");
	ci.io_timeout = 30;
	ci.max_tentacles = 4096;
	buf_init(&b, IPC_PAYLOAD_MAX);
	assert_int_equal(ipcmsg_encode_child_init(&b, &ci), 0);
	assert_int_equal(ipcmsg_decode_child_init(b.data, b.len, &d, &why), 0);
	assert_string_equal(d.role, "exporter");
	assert_int_equal(d.cert_pem_len, 0);
	/* a port without credentials, or credentials without a port */
	ci.port = 8443;
	strcpy(ci.address, "127.0.0.1");
	buf_reset(&b);
	assert_int_equal(ipcmsg_encode_child_init(&b, &ci), -1);
	ci.port = 0;
	ci.address[0] = '\0';
	ci.cert_pem = (const uint8_t *)"x";
	ci.cert_pem_len = 1;
	assert_int_equal(ipcmsg_encode_child_init(&b, &ci), -1);
	/* portless, but a bad io_timeout */
	ci.cert_pem_len = 0;
	ci.io_timeout = 0;
	assert_int_equal(ipcmsg_encode_child_init(&b, &ci), -1);
	buf_free(&b);
}

/* What child_report sends: any text made one LOG_EVENT the maestro takes
 * (a child's own report never gets it killed). */
static void
test_text_makes_valid_events(void **state)
{
	struct ipc_log_event	e, d;
	struct buf		b;
	const char		*why;
	char			long_text[1000];

	memset(long_text, 'x', sizeof(long_text) - 1);
	long_text[sizeof(long_text) - 1] = '\0';
	long_text[3] = '\n';
	long_text[5] = (char)0xc3;
	memset(&e, 0, sizeof(e));
	ipcmsg_text(e.kind, sizeof(e.kind), "protocol_error");
	ipcmsg_text(e.peer, sizeof(e.peer), NULL);
	ipcmsg_text(e.detail, sizeof(e.detail), long_text);
	assert_int_equal(strlen(e.detail), sizeof(e.detail) - 1);
	assert_int_equal(e.detail[3], '?');
	assert_int_equal(e.detail[5], '?');
	buf_init(&b, IPC_PAYLOAD_MAX);
	assert_int_equal(ipcmsg_encode_log_event(&b, &e), 0);
	assert_int_equal(ipcmsg_decode_log_event(b.data, b.len, &d, &why), 0);
	assert_string_equal(d.detail, e.detail);
	assert_string_equal(d.peer, "");
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_truncation_trailing),
		cmocka_unit_test(test_bad_fields),
		cmocka_unit_test(test_hostile_bytes),
		cmocka_unit_test(test_text_makes_valid_events),
		cmocka_unit_test(test_child_init_portless),
		cmocka_unit_test(test_no_key_in_any_message),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
