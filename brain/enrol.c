/*
 * Enrolment decisions for the maestro (see enrol.h). The tentacle's key is
 * 256 random bits, stored as hex: the brain must compute HMACs with it, so
 * the database file is 0600 and owned by the brain's user.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <bsd/string.h>
#include <jansson.h>

#include "auth.h"
#include "crypto.h"
#include "enrol.h"
#include "log.h"
#include "net.h"

/* The facts kept: a JSON object (without a name twice), as the
 * keepalive's are (fleet.c), else {}: the fleet's pages copy them as
 * they are stored (views.c). */
static const char *
facts_kept(const char *facts)
{
	json_t	*j = facts[0] ? json_loads(facts, JSON_REJECT_DUPLICATES,
		    NULL) : NULL;
	int	 ok = json_is_object(j);

	json_decref(j);
	return ok ? facts : "{}";
}

static int
token_hash(const char *secret, char out[SHA256_LEN * 2 + 1])
{
	uint8_t	d[SHA256_LEN];

	if (crypto_sha256(secret, strlen(secret), d) == -1)
		return -1;
	hex_encode(d, sizeof(d), out);
	return 0;
}

int
enrol_tentacle(struct db *db, const struct enrol_policy *pol,
    const struct msg_enrol_request *req, int offer, const char *source, struct msg_enrol_reply *reply,
    uint8_t key[PROTO_KEY_LEN], const char **why, char *detail,
    size_t detaillen)
{
	struct db_tentacle	 t;
	char			 hash[SHA256_LEN * 2 + 1];
	const char		*token_why = "no token";
	int64_t			 id;
	int			 rc;

	/* The brain keeps the address the tentacle advertises for its
	 * command worker, never merely the TCP source. */
	if (!net_addr_valid(req->command_address)) {
		*why = "the command address must be a numeric IP address";
		return -1;
	}
	memset(&t, 0, sizeof(t));
	strlcpy(t.hostname, req->hostname, sizeof(t.hostname));
	strlcpy(t.address, req->command_address, sizeof(t.address));
	t.port = (int)req->command_port;
	strlcpy(t.fingerprint, req->fingerprint, sizeof(t.fingerprint));
	strlcpy(t.facts, facts_kept(req->facts), sizeof(t.facts));
	strlcpy(t.source, source, sizeof(t.source));

	memset(reply, 0, sizeof(*reply));
	if (offer) {
		reply->status = ENROLMENT_ACCEPTED;
		token_why = "enrolled at an admin's request";
	} else if (req->token[0] != '\0') {
		if (token_hash(req->token, hash) == -1) {
			*why = "internal error";
			return -1;
		}
		rc = db_token_use(db, hash, time(NULL), &token_why);
		if (rc == -1) {
			*why = "database error";
			return -1;
		}
		if (rc == 0) {
			reply->status = ENROLMENT_ACCEPTED;
			token_why = "valid token";
		} else
			reply->status = ENROLMENT_PENDING;
	} else
		reply->status = ENROLMENT_PENDING;
	if (reply->status == ENROLMENT_PENDING) {
		long	n = 0;

		if (pol->refuse_tokenless) {
			*why = req->token[0] != '\0' ? "the token is not valid "
			    "and enrolment without a token is refused" :
			    "enrolment without a token is refused";
			return -1;
		}
		/* Counted before the cap: a flood from one address is cut
		 * off here and leaves the pending list to the others. */
		if (ratelimit_enrol_check(source, time(NULL),
		    (long)pol->rate) != 0) {
			*why = "too many enrolment requests without a valid "
			    "token from this address: try again in a minute";
			return ENROL_THROTTLED;
		}
		if (db_tentacles_pending(db, &n) == -1) {
			*why = "database error";
			return -1;
		}
		if (n >= pol->pending_max) {
			*why = "too many tentacles wait for an admin: enrol "
			    "with a token, or accept or reject those pending";
			return -1;
		}
	}
	strlcpy(t.enrolment, proto_enrolment_str(reply->status),
	    sizeof(t.enrolment));

	if (crypto_random(key, PROTO_KEY_LEN) == -1) {
		*why = "no randomness";
		return -1;
	}
	hex_encode(key, PROTO_KEY_LEN, t.key_hex);
	rc = db_tentacle_add(db, &t, &id);
	crypto_wipe(t.key_hex, sizeof(t.key_hex));
	if (rc == -1) {
		crypto_wipe(key, PROTO_KEY_LEN);
		*why = "database error";
		return -1;
	}
	reply->id = (uint64_t)id;
	snprintf(reply->message, sizeof(reply->message), "%s (%s)",
	    proto_enrolment_str(reply->status), token_why);
	snprintf(detail, detaillen, "%s from %s: %s (%s)", t.hostname, source,
	    t.enrolment, token_why);
	return 0;
}

json_t *
enrol_token_create(struct db *db, const char *user, long expires_in,
    long uses, const char *brain_fingerprint)
{
	char	secret[PROTO_TOKEN_SECRET_LEN + 1], hash[SHA256_LEN * 2 + 1];
	char	token[PROTO_TOKEN_SECRET_LEN + OCTO_FPR_HEX_LEN + 1];
	char	expires[32];
	time_t	at = time(NULL) + expires_in;
	struct tm tm;
	int64_t	id;
	json_t	*j = NULL;

	if (crypto_random_hex(secret, PROTO_TOKEN_SECRET_LEN / 2) == -1 ||
	    token_hash(secret, hash) == -1 ||
	    db_token_add(db, hash, user, at, uses, &id) == -1)
		goto out;
	snprintf(token, sizeof(token), "%s%s", secret, brain_fingerprint);
	gmtime_r(&at, &tm);
	strftime(expires, sizeof(expires), "%Y-%m-%dT%H:%M:%SZ", &tm);
	j = json_pack("{s:I,s:s,s:s,s:I}", "id", (json_int_t)id, "token",
	    token, "expires_at", expires, "uses_left", (json_int_t)uses);
out:
	crypto_wipe(secret, sizeof(secret));
	crypto_wipe(token, sizeof(token));
	return j;
}
