/*
 * apicall_decode (brain/apicall.c): the maestro's reading of IPC_API_CALL,
 * the webserv's requests. The webserv faces the network; if it is taken
 * over, these bytes are the attacker's.
 *
 * Invariants: a refusal has a reason and leaves nothing allocated (ASan
 * sees leaks); an accepted message has a known op, NUL-terminated strings
 * that fit their fields, at most RUN_TENTACLES_MAX tentacle IDs, valid
 * user names and passwords for the user ops, an audit limit in range,
 * the lists' pages and filters in range (listargs.h); and
 * encoding it again gives back exactly the input (one message, one
 * encoding: nothing is ignored or read twice).
 */
#include <string.h>

#include "apibody.h"
#include "apicall.h"
#include "buf.h"
#include "fuzz.h"
#include "ipc.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct api_call	*c;
	struct buf	 b;
	const char	*why = NULL;

	if (size > IPC_PAYLOAD_MAX)
		return 0;
	FUZZ_CHECK((c = malloc(sizeof(*c))) != NULL);
	memset(c, 'J', sizeof(*c));
	if (apicall_decode(data, size, c, &why) == -1) {
		FUZZ_CHECK(why != NULL && why[0] != '\0');
		free(c);
		return 0;
	}
	FUZZ_CHECK(c->op >= 1 && c->op < API_OP_MAX);
	FUZZ_CHECK(memchr(c->session, '\0', sizeof(c->session)) != NULL);
	FUZZ_CHECK(memchr(c->csrf, '\0', sizeof(c->csrf)) != NULL);
	FUZZ_CHECK(memchr(c->client, '\0', sizeof(c->client)) != NULL);
	FUZZ_CHECK(memchr(c->args.name, '\0', sizeof(c->args.name)) != NULL);
	FUZZ_CHECK(c->args.ntentacles <= RUN_TENTACLES_MAX);
	FUZZ_CHECK((c->args.ntentacles == 0) == (c->args.tentacles == NULL));
	if (c->op == API_USER_CREATE || c->op == API_USER_DELETE ||
	    c->op == API_USER_PASSWORD)
		FUZZ_CHECK(apibody_user_name_valid(c->args.name));
	if (c->op == API_USER_CREATE || c->op == API_USER_PASSWORD)
		FUZZ_CHECK(strlen(c->args.password) >= PASSWORD_MIN);
	if (c->op == API_AUDIT)
		FUZZ_CHECK(c->args.limit >= 1 &&
		    c->args.limit <= AUDIT_LIMIT_MAX);
	/* Lists (listargs.h): a page in range, the fleet's filters valid. */
	if (c->op == API_TENTACLES || c->op == API_RUNS || c->op == API_RUN)
		FUZZ_CHECK(c->args.limit >= 1 &&
		    c->args.limit <= LIST_LIMIT_MAX &&
		    c->args.after <= LIST_ID_MAX);
	if (c->op == API_RUN)
		FUZZ_CHECK(c->args.wait <= RUN_WAIT_MAX);
	if (c->op == API_TENTACLES) {
		FUZZ_CHECK(c->args.sort < LIST_SORT_MAX && c->args.desc <= 1);
		FUZZ_CHECK(c->args.state[0] == '\0' ||
		    listargs_state_valid(c->args.state));
		FUZZ_CHECK(c->args.enrolment[0] == '\0' ||
		    listargs_enrolment_valid(c->args.enrolment));
		FUZZ_CHECK(c->args.q[0] == '\0' ||
		    listargs_query_valid(c->args.q));
	}

	buf_init(&b, IPC_PAYLOAD_MAX);
	FUZZ_CHECK(apicall_encode(&b, c) == 0);
	FUZZ_CHECK(b.len == size && memcmp(b.data, data, size) == 0);
	buf_free(&b);
	apicall_clear(c);
	free(c);
	return 0;
}
