/*
 * The handshakes' proofs, for the registerer and the commander (after
 * OpenSSH's monitor and OpenSMTPD's ca: the keys stay here, the children
 * get answers that are good for one connection). Two requests:
 *
 * IPC_PROOF_CHECK: a tentacle connected to a child and proved itself; we
 *	check its proof with the key bound to its ID and the certificate it
 *	enrolled with, and only then make ours (IPC_PROOF_VERDICT). A child
 *	may ask only for the purposes its port serves.
 * IPC_PROOF_MAKE: the commander reaches a tentacle we told it to (an
 *	order or a ping); the request names the ticket that came with the
 *	IPC_RUN_ORDER or IPC_KEEPALIVE, bound to that tentacle and purpose
 *	and good once. We make our proof, the one the tentacle must show,
 *	and for an order its MAC bound to that session (IPC_PROOF_MADE).
 *
 * IPC_PAIR_MAKE: the registerer reached a host an admin asked to enrol
 *	with its pairing code; we make the proofs of the code for that
 *	session (ours, and the one the host must show), once per offer
 *	(IPC_PAIR_MADE). The code never leaves this process.
 *
 * A request for what the child's role does not allow (another purpose, a
 * ticket for another tentacle or purpose, one never issued) is a child
 * taken over: it is killed and restarted (child_misbehaved).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>

#include "crypto.h"
#include "handshake.h"
#include "ipcmsg.h"
#include "log.h"
#include "maestro.h"
#include "proto.h"

struct ticket {
	uint64_t	number;		/* 0: free or used */
	unsigned	generation;	/* of the commander it went to */
	uint64_t	tentacle;
	uint64_t	job;		/* 0: a ping */
	uint8_t		purpose;
	char		script[PROTO_SCRIPT_NAME_MAX];
	char		script_sha256[OCTO_FPR_HEX_LEN + 1];
	uint8_t		signkey;	/* SCRIPT: MAC a SIGNKEY (issue 14) */
};

/* A ring: ticket n lives in slot n % PROOF_TICKETS_MAX until used or
 * overwritten by a ticket issued PROOF_TICKETS_MAX later. */
static struct ticket	*tickets;
static uint64_t		 next_ticket = 1;

uint64_t
proofs_ticket(const struct db_order *o, uint8_t purpose)
{
	struct ticket	*t;
	uint64_t	 n;

	if (tickets == NULL &&
	    (tickets = calloc(PROOF_TICKETS_MAX, sizeof(*tickets))) == NULL)
		return 0;
	n = next_ticket++;
	t = &tickets[n % PROOF_TICKETS_MAX];
	memset(t, 0, sizeof(*t));
	t->number = n;
	t->generation = children[CHILD_COMMANDER].generation;
	t->tentacle = (uint64_t)o->tentacle;
	t->job = (uint64_t)o->job;
	t->purpose = purpose;
	strlcpy(t->script, o->script, sizeof(t->script));
	strlcpy(t->script_sha256, o->script_sha256,
	    sizeof(t->script_sha256));
	log_debug("ticket %llu: %s of tentacle %lld", (unsigned long long)n,
	    proto_purpose_str(purpose), (long long)o->tentacle);
	return n;
}

/* A push of managed scripts (issue 14); signkey: the connection starts
 * with a SIGNKEY, whose MAC comes in PROOF_MADE's order_mac. */
uint64_t
proofs_ticket_script(int64_t tentacle, int signkey)
{
	struct db_order	o;
	uint64_t	n;

	memset(&o, 0, sizeof(o));
	o.tentacle = tentacle;
	if ((n = proofs_ticket(&o, PURPOSE_SCRIPT)) != 0)
		tickets[n % PROOF_TICKETS_MAX].signkey = signkey != 0;
	return n;
}

static int
enrolment_code(const char *s)
{
	if (strcmp(s, "accepted") == 0)
		return ENROLMENT_ACCEPTED;
	if (strcmp(s, "rejected") == 0)
		return ENROLMENT_REJECTED;
	return ENROLMENT_PENDING;
}

/* The key and enrolment of tentacle id if it shows the certificate it
 * enrolled with: VERDICT_OK, or why not. */
static int
tentacle_key(uint64_t id, const char *fpr, uint8_t key[PROTO_KEY_LEN],
    int *enrolment)
{
	struct db_tentacle	t;
	int			rc, v;

	memset(&t, 0, sizeof(t));
	rc = id > INT64_MAX ? DB_NOTFOUND : db_tentacle_get(m.db, (int64_t)id,
	    &t);
	if (rc == -1)
		v = VERDICT_ERROR;
	else if (rc == DB_NOTFOUND || hex_decode(t.key_hex, key,
	    PROTO_KEY_LEN) == -1)
		v = VERDICT_UNKNOWN;
	else if (strlen(t.fingerprint) != OCTO_FPR_HEX_LEN ||
	    !crypto_equal(t.fingerprint, fpr, OCTO_FPR_HEX_LEN))
		v = VERDICT_CERT;
	else {
		v = VERDICT_OK;
		*enrolment = enrolment_code(t.enrolment);
	}
	if (v != VERDICT_OK)
		crypto_wipe(key, PROTO_KEY_LEN);
	crypto_wipe(&t, sizeof(t));
	return v;
}

static int
may_check(const struct child *c, uint8_t purpose)
{
	if (c == &children[CHILD_REGISTERER])
		return purpose == PURPOSE_POLL;
	if (c == &children[CHILD_COMMANDER])
		return purpose == PURPOSE_PING || purpose == PURPOSE_RESULT;
	return 0;
}

void
handle_proof_check(struct child *c, const struct ipc_msg *msg)
{
	struct ipc_proof_check	 ck;
	struct ipc_proof_verdict v;
	uint8_t			 key[PROTO_KEY_LEN], mac[PROTO_MAC_LEN];
	const char		*why;
	char			 what[96];
	int			 enrolment = 0;

	if (ipcmsg_decode_proof_check(msg->payload, msg->hdr.len, &ck,
	    &why) == -1) {
		snprintf(what, sizeof(what), "sent a malformed proof check "
		    "(%s)", why);
		child_misbehaved(c, what);
		return;
	}
	if (!may_check(c, ck.in.purpose)) {
		snprintf(what, sizeof(what), "asked to check a proof for %s, "
		    "which its port does not serve",
		    proto_purpose_str(ck.in.purpose));
		child_misbehaved(c, what);
		crypto_wipe(&ck, sizeof(ck));
		return;
	}
	memset(&v, 0, sizeof(v));
	v.verdict = tentacle_key(ck.in.id, ck.fingerprint, key, &enrolment);
	if (v.verdict == VERDICT_OK) {
		/* Its proof first; ours only if it holds the key. */
		if (hs_proof(key, HS_CLIENT, &ck.in, mac) == -1)
			v.verdict = VERDICT_ERROR;
		else if (!crypto_equal(mac, ck.proof, sizeof(mac)))
			v.verdict = VERDICT_WRONG;
		else if (hs_proof(key, HS_SERVER, &ck.in, v.proof) == -1)
			v.verdict = VERDICT_ERROR;
		else
			v.enrolment = (uint8_t)enrolment;
	}
	if (v.verdict != VERDICT_OK) {
		memset(v.proof, 0, sizeof(v.proof));
		v.enrolment = 0;
	}
	ipcmsg_send_proof_verdict(c->chan, IPC_PROOF_VERDICT, msg->hdr.id, &v);
	/* A pending tentacle polling the registerer learns here that it was
	 * approved: it starts its command worker, ping it soon. */
	if (v.verdict == VERDICT_OK && c == &children[CHILD_REGISTERER] &&
	    enrolment == ENROLMENT_ACCEPTED)
		welcome_soon();
	crypto_wipe(key, sizeof(key));
	crypto_wipe(mac, sizeof(mac));
	crypto_wipe(&v, sizeof(v));
	crypto_wipe(&ck, sizeof(ck));
}

void
handle_proof_make(struct child *c, const struct ipc_msg *msg)
{
	struct ipc_proof_make	 mk;
	struct ipc_proof_made	 md;
	struct msg_order	 order;
	struct ticket		*t;
	uint8_t			 key[PROTO_KEY_LEN];
	uint8_t			 pub[PROTO_SIGN_PUB_LEN];
	const char		*why;
	char			 what[160];
	int			 enrolment = 0;

	if (ipcmsg_decode_proof_make(msg->payload, msg->hdr.len, &mk,
	    &why) == -1) {
		snprintf(what, sizeof(what), "sent a malformed proof request "
		    "(%s)", why);
		child_misbehaved(c, what);
		return;
	}
	if (mk.ticket >= next_ticket || tickets == NULL) {
		snprintf(what, sizeof(what), "asked for a proof with ticket "
		    "%llu, never issued", (unsigned long long)mk.ticket);
		child_misbehaved(c, what);
		return;
	}
	memset(&md, 0, sizeof(md));
	t = &tickets[mk.ticket % PROOF_TICKETS_MAX];
	if (t->number != mk.ticket) {
		/* Used already, or dropped for a newer one. */
		log_warnx("commander: proof for tentacle %llu refused: ticket "
		    "%llu used or expired", (unsigned long long)mk.in.id,
		    (unsigned long long)mk.ticket);
		md.verdict = VERDICT_REFUSED;
		goto send;
	}
	if (t->tentacle != mk.in.id || t->purpose != mk.in.purpose ||
	    t->generation != c->generation) {
		snprintf(what, sizeof(what), "asked for a %s proof for "
		    "tentacle %llu with a ticket for %s to tentacle %llu",
		    proto_purpose_str(mk.in.purpose),
		    (unsigned long long)mk.in.id,
		    proto_purpose_str(t->purpose),
		    (unsigned long long)t->tentacle);
		t->number = 0;
		child_misbehaved(c, what);
		return;
	}
	t->number = 0;		/* good once */
	md.verdict = tentacle_key(mk.in.id, mk.fingerprint, key, &enrolment);
	if (md.verdict == VERDICT_OK && enrolment != ENROLMENT_ACCEPTED)
		md.verdict = VERDICT_UNKNOWN;
	if (md.verdict == VERDICT_OK) {
		memset(&order, 0, sizeof(order));
		order.job = t->job;
		strlcpy(order.script, t->script, sizeof(order.script));
		strlcpy(order.script_sha256, t->script_sha256,
		    sizeof(order.script_sha256));
		if (hs_proof(key, HS_CLIENT, &mk.in, md.proof) == -1 ||
		    hs_proof(key, HS_SERVER, &mk.in, md.expect) == -1 ||
		    (t->purpose == PURPOSE_ORDER && proto_order_mac(key,
		    t->tentacle, &order, mk.in.exporter, md.order_mac) == -1) ||
		    (t->purpose == PURPOSE_SCRIPT && t->signkey &&
		    (scriptkey_public(pub) == -1 || proto_signkey_mac(key,
		    t->tentacle, pub, mk.in.exporter, md.order_mac) == -1)))
			md.verdict = VERDICT_ERROR;
	}
	if (md.verdict != VERDICT_OK) {
		log_warnx("commander: proof for tentacle %llu refused: %s",
		    (unsigned long long)mk.in.id,
		    ipcmsg_verdict_str(md.verdict));
		memset(md.proof, 0, sizeof(md.proof));
		memset(md.expect, 0, sizeof(md.expect));
		memset(md.order_mac, 0, sizeof(md.order_mac));
	}
send:
	ipcmsg_send_proof_made(c->chan, IPC_PROOF_MADE, msg->hdr.id, &md);
	crypto_wipe(key, sizeof(key));
	crypto_wipe(&md, sizeof(md));
	crypto_wipe(&mk, sizeof(mk));
}

void
handle_pair_make(struct child *c, const struct ipc_msg *msg)
{
	struct ipc_pair_make	 pm;
	struct ipc_pair_made	 out;
	const char		*why;
	int			 rc;

	if (ipcmsg_decode_pair_make(msg->payload, msg->hdr.len, &pm,
	    &why) == -1) {
		child_misbehaved(c, "sent a malformed pairing request");
		return;
	}
	memset(&out, 0, sizeof(out));
	rc = offer_pairing_proofs(pm.offer, pm.exporter, out.proof,
	    out.expect);
	crypto_wipe(&pm, sizeof(pm));
	if (rc == 1) {
		crypto_wipe(&out, sizeof(out));
		child_misbehaved(c, "asked for pairing proofs it may not have");
		return;
	}
	out.ok = rc == 0;
	if (!out.ok) {
		crypto_wipe(&out, sizeof(out));
		ipcmsg_text(out.error, sizeof(out.error),
		    "the enrolment is over");
	}
	ipcmsg_send_pair_made(c->chan, IPC_PAIR_MADE, msg->hdr.id, &out);
	crypto_wipe(&out, sizeof(out));
}
