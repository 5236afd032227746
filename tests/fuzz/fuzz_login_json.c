/*
 * The dashboard's login body (POST /api/login), parsed today inside
 * brain/webserv.c's api_login() with jansson. Until api_login's parsing is
 * split into a pure function this target can call, it repeats the same
 * steps (keep them in step with webserv.c): the body-size limit,
 * json_loadb with JSON_REJECT_DUPLICATES, an object with string
 * "username" and "password", the length checks, and the IPC_AUTH_LOGIN
 * payload packed for the maestro.
 *
 * Invariants: a body that is accepted gives a non-empty user name shorter
 * than OCTO_NAME_MAX and a password of at most OCTO_PASSWORD_MAX bytes,
 * neither holding a NUL; and the message it makes decodes in the maestro
 * (handle_login's unpacking into struct kdf_job) to the same strings: a
 * body the webserv lets through must never get the webserv killed as a
 * misbehaving child. No leak (jansson objects are freed on every path).
 */
#include <string.h>

#include <jansson.h>

#include "auth.h"
#include "fuzz.h"
#include "ipc.h"
#include "limits.h"
#include "pack.h"

/* The longest address evhttp_connection_get_peer can give. */
#define CLIENT	"ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255"

enum login_result {
	LOGIN_OK,		/* IPC_AUTH_LOGIN sent to the maestro */
	LOGIN_TOO_LARGE,	/* 413 */
	LOGIN_NOT_OBJECT,	/* 400 */
	LOGIN_MISSING,		/* 400 */
	LOGIN_REFUSED,		/* 401, same as a wrong password */
	LOGIN_INTERNAL,		/* 500 */
};

/* api_login's body handling, request plumbing left out. */
static enum login_result
login_body(const uint8_t *data, size_t len, const char *client,
    struct buf *b)
{
	const char	*user, *password;
	json_t		*body;
	json_error_t	 jerr;
	struct packer	 p;

	if (len > HTTP_BODY_MAX)
		return LOGIN_TOO_LARGE;
	body = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES,
	    &jerr);
	if (body == NULL || !json_is_object(body)) {
		json_decref(body);
		return LOGIN_NOT_OBJECT;
	}
	user = json_string_value(json_object_get(body, "username"));
	password = json_string_value(json_object_get(body, "password"));
	if (user == NULL || password == NULL) {
		json_decref(body);
		return LOGIN_MISSING;
	}
	if (user[0] == '\0' || strlen(user) >= OCTO_NAME_MAX ||
	    strlen(password) > OCTO_PASSWORD_MAX ||
	    strlen(user) != json_string_length(json_object_get(body,
	    "username")) || strlen(password) !=
	    json_string_length(json_object_get(body, "password"))) {
		json_decref(body);
		return LOGIN_REFUSED;
	}
	pack_init(&p, b);
	pack_str(&p, client);
	pack_str(&p, user);
	pack_str(&p, password);
	json_decref(body);
	return pack_error(&p) == 0 ? LOGIN_OK : LOGIN_INTERNAL;
}

/* What the maestro's handle_login does with the message. */
static void
maestro_side(const struct buf *payload)
{
	struct buf	 wire;
	struct ipc_msg	 m;
	struct unpacker	 u;
	struct kdf_job	*job;
	size_t		 used;
	char		 user[OCTO_NAME_MAX + 1];

	buf_init(&wire, IPC_HDR_LEN + IPC_PAYLOAD_MAX);
	FUZZ_CHECK(ipc_encode(&wire, IPC_AUTH_LOGIN, 1, payload->data,
	    payload->len) == 0);
	FUZZ_CHECK(ipc_decode(wire.data, wire.len, &m, &used) == IPC_OK);
	FUZZ_CHECK(used == wire.len && m.hdr.type == IPC_AUTH_LOGIN);

	job = calloc(1, sizeof(*job));
	FUZZ_CHECK(job != NULL);
	unpack_init(&u, m.payload, m.hdr.len);
	unpack_str(&u, job->client, sizeof(job->client));
	unpack_str(&u, job->user, sizeof(job->user));
	unpack_str(&u, job->password, sizeof(job->password));
	FUZZ_CHECK(unpack_end(&u) == 0);

	FUZZ_CHECK(strcmp(job->client, CLIENT) == 0);
	FUZZ_CHECK(job->user[0] != '\0');
	FUZZ_CHECK(strlen(job->user) < OCTO_NAME_MAX);
	FUZZ_CHECK(strlen(job->password) <= OCTO_PASSWORD_MAX);

	/* The same strings as packed (re-read with the generous sizes). */
	unpack_init(&u, payload->data, payload->len);
	unpack_str(&u, user, sizeof(user));
	FUZZ_CHECK(strcmp(user, CLIENT) == 0);
	unpack_str(&u, user, sizeof(user));
	FUZZ_CHECK(strcmp(user, job->user) == 0);

	free(job);
	buf_free(&wire);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf		b;
	enum login_result	r;

	buf_init(&b, IPC_PAYLOAD_MAX);
	r = login_body(data, size, CLIENT, &b);
	FUZZ_CHECK(r != LOGIN_INTERNAL);
	if (r == LOGIN_OK)
		maestro_side(&b);
	buf_free(&b);
	return 0;
}
