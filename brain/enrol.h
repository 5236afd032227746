/*
 * The maestro's enrolment decisions: who gets which status, the key and ID
 * of a new tentacle, enrolment tokens. Only the maestro calls this (it
 * needs the database).
 */
#ifndef OCTO_ENROL_H
#define OCTO_ENROL_H

#include <stdint.h>

#include <jansson.h>

#include "db.h"
#include "proto.h"

/*
 * A tentacle asks to enrol (offer: an admin asked for it by address, so it
 * is accepted at once; otherwise a valid token accepts it and anything else
 * leaves it pending). Creates the tentacle with a fresh random key. On
 * success fills reply (status, id) and key, and returns 0 (the caller
 * wraps the key for the tentacle: proto_enrol_wrap); ENROL_REFUSED with
 * *why on a refusal (bad request) or a database error, ENROL_THROTTLED
 * with *why when its source is over its rate (enum enrol_result).
 */
/* What a request without a valid token may do (the configuration). */
struct enrol_policy {
	int		refuse_tokenless;	/* or it is left pending */
	long long	pending_max;		/* pending tentacles at most */
	long long	rate;			/* from one source a minute */
};

/* enrol_tentacle's outcomes. */
enum enrol_result {
	ENROL_OK = 0,
	ENROL_REFUSED = -1,	/* *why says why (or a database error) */
	ENROL_THROTTLED = -2,	/* without a valid token, and its source
				   sent pol->rate such this minute */
};

int	enrol_tentacle(struct db *, const struct enrol_policy *,
	    const struct msg_enrol_request *, int offer, const char *source, struct msg_enrol_reply *reply,
	    uint8_t key[PROTO_KEY_LEN], const char **why, char *detail,
	    size_t detaillen);

/* A new token: 201-style JSON {"id","token","expires_at","uses_left"}
 * (the token is the secret followed by the brain's fingerprint; only its
 * hash is stored). NULL on error. */
json_t	*enrol_token_create(struct db *, const char *user, long expires_in,
	    long uses, const char *brain_fingerprint);

#endif
