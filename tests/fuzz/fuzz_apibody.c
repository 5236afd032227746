/*
 * The other JSON request bodies of the API (brain/apibody.c, what the
 * webserv calls): apibody_enrol (POST /api/tentacles/enrol), apibody_token
 * (POST /api/tokens, an empty body read as "{}") and apibody_run
 * (POST /api/runs), apibody_user (POST /api/users) and apibody_password
 * (POST /api/users/{name}/password), apibody_totp_code
 * (POST /api/users/{name}/totp/confirm); every body goes through all six.
 *
 * Invariants: a refusal has a reason and allocates nothing; an accepted
 * enrolment has a numeric address NUL-terminated in its field and a port
 * in 1..65535; a token, expires_in in 1..TOKEN_EXPIRES_MAX and uses in
 * 1..TOKEN_USES_MAX; a run, a valid script name and either "all" (no list)
 * or 1..RUN_TENTACLES_MAX positive IDs; a TOTP code, exactly 6 digits
 * (what apicall_decode and totp_verify take). No leak (jansson objects and the
 * ID list are freed on every path).
 */
#include <string.h>

#include "apibody.h"
#include "brain.h"
#include "fuzz.h"
#include "net.h"
#include "totp.h"
#include "proto.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct enrol_body	*eb;
	struct token_body	*tb;
	struct run_body		*rb;
	struct user_body	*ub;
	struct password_body	*pb;
	char			*code;
	const char		*body = (const char *)data, *why;
	size_t			 i;

	FUZZ_CHECK((eb = malloc(sizeof(*eb))) != NULL);
	FUZZ_CHECK((tb = malloc(sizeof(*tb))) != NULL);
	FUZZ_CHECK((rb = malloc(sizeof(*rb))) != NULL);
	FUZZ_CHECK((ub = malloc(sizeof(*ub))) != NULL);
	FUZZ_CHECK((pb = malloc(sizeof(*pb))) != NULL);

	why = NULL;
	memset(eb, 'J', sizeof(*eb));
	if (apibody_enrol(body, size, eb, &why) == 0) {
		FUZZ_CHECK(memchr(eb->address, '\0', sizeof(eb->address)) !=
		    NULL);
		FUZZ_CHECK(net_addr_valid(eb->address));
		FUZZ_CHECK(eb->port >= 1 && eb->port <= 65535);
	} else
		FUZZ_CHECK(why != NULL && why[0] != '\0');

	why = NULL;
	/* The webserv reads an empty body as "{}". */
	if (apibody_token(size ? body : "{}", size ? size : 2, tb,
	    &why) == 0) {
		FUZZ_CHECK(tb->expires_in >= 1 &&
		    tb->expires_in <= TOKEN_EXPIRES_MAX);
		FUZZ_CHECK(tb->uses >= 1 && tb->uses <= TOKEN_USES_MAX);
	} else
		FUZZ_CHECK(why != NULL && why[0] != '\0');

	why = NULL;
	memset(rb, 'J', sizeof(*rb));
	if (apibody_run(body, size, rb, &why) == 0) {
		FUZZ_CHECK(memchr(rb->script, '\0', sizeof(rb->script)) !=
		    NULL);
		FUZZ_CHECK(proto_script_name_valid(rb->script));
		if (rb->ntentacles == 0)
			FUZZ_CHECK(rb->tentacles == NULL);
		else {
			FUZZ_CHECK(rb->ntentacles <= RUN_TENTACLES_MAX);
			FUZZ_CHECK(rb->tentacles != NULL);
			for (i = 0; i < rb->ntentacles; i++)
				FUZZ_CHECK(rb->tentacles[i] >= 1 &&
				    rb->tentacles[i] <= INT64_MAX);
		}
		/* Labels instead of IDs, never both; how long jobs wait. */
		FUZZ_CHECK(rb->labels.n <= PROTO_LABELS_MAX);
		FUZZ_CHECK(rb->labels.n == 0 || rb->ntentacles == 0);
		for (i = 0; i < rb->labels.n; i++)
			FUZZ_CHECK(proto_label_valid(rb->labels.v[i]));
		FUZZ_CHECK(rb->expires_in >= 1 &&
		    rb->expires_in <= RUN_EXPIRES_MAX);
		free(rb->tentacles);
	} else {
		FUZZ_CHECK(why != NULL && why[0] != '\0');
		FUZZ_CHECK(rb->tentacles == NULL);
	}

	why = NULL;
	memset(ub, 'J', sizeof(*ub));
	if (apibody_user(body, size, ub, &why) == 0) {
		FUZZ_CHECK(memchr(ub->name, '\0', sizeof(ub->name)) != NULL);
		FUZZ_CHECK(apibody_user_name_valid(ub->name));
		FUZZ_CHECK(strlen(ub->password) >= PASSWORD_MIN &&
		    strlen(ub->password) <= OCTO_PASSWORD_MAX);
		FUZZ_CHECK(strcmp(ub->role, "admin") == 0 ||
		    strcmp(ub->role, "operator") == 0 ||
		    strcmp(ub->role, "viewer") == 0);
	} else {
		FUZZ_CHECK(why != NULL && why[0] != '\0');
		/* A refused body leaves no password behind. */
		for (i = 0; i < sizeof(*ub); i++)
			FUZZ_CHECK(((unsigned char *)ub)[i] == 0);
	}

	why = NULL;
	memset(pb, 'J', sizeof(*pb));
	if (apibody_password(body, size, pb, &why) == 0) {
		FUZZ_CHECK(memchr(pb->current, '\0', sizeof(pb->current)) !=
		    NULL);
		FUZZ_CHECK(strlen(pb->password) >= PASSWORD_MIN &&
		    strlen(pb->password) <= OCTO_PASSWORD_MAX);
	} else {
		FUZZ_CHECK(why != NULL && why[0] != '\0');
		for (i = 0; i < sizeof(*pb); i++)
			FUZZ_CHECK(((unsigned char *)pb)[i] == 0);
	}

	why = NULL;
	FUZZ_CHECK((code = malloc(OCTO_TOTP_CODE_MAX + 1)) != NULL);
	if (apibody_totp_code(body, size, code, &why) == 0)
		FUZZ_CHECK(totp_code_valid(code));
	else
		FUZZ_CHECK(why != NULL && why[0] != '\0');
	free(code);

	free(pb);
	free(ub);
	free(rb);
	free(tb);
	free(eb);
	return 0;
}
