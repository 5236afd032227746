/*
 * The dashboard's login body (POST /api/login): apibody_login
 * (brain/apibody.c), the function the webserv's api_login calls, then the
 * IPC_AUTH_LOGIN message api_login encodes and the maestro's handle_login
 * decodes.
 *
 * Invariants: a refusal has a reason and the status the webserv answers
 * with (400, or 401 as for a wrong password) and leaves no password
 * behind; a body that is accepted gives a non-empty user name shorter
 * than OCTO_NAME_MAX, a password of at most OCTO_PASSWORD_MAX bytes,
 * neither holding a NUL, and a TOTP code of digits only ("" when none);
 * and the message made of them (ipcmsg_encode_auth_login) decodes in the
 * maestro (ipcmsg_decode_auth_login, as handle_login does) to the same
 * strings: a body the webserv lets through must never get the webserv
 * killed as a misbehaving child. No leak (jansson objects are freed on
 * every path).
 */
#include <string.h>

#include <bsd/string.h>

#include "apibody.h"
#include "auth.h"
#include "fuzz.h"
#include "ipc.h"
#include "ipcmsg.h"
#include "limits.h"
#include "pack.h"

/* The longest address evhttp_connection_get_peer can give. */
#define CLIENT	"ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255"

/* What the maestro's handle_login does with the message. */
static void
maestro_side(const struct buf *payload, const struct login_body *lb)
{
	struct buf		 wire;
	struct ipc_msg		 m;
	struct ipc_auth_login	*al;
	const char		*why = NULL;
	size_t			 used;

	buf_init(&wire, IPC_HDR_LEN + IPC_PAYLOAD_MAX);
	FUZZ_CHECK(ipc_encode(&wire, IPC_AUTH_LOGIN, 1, payload->data,
	    payload->len) == 0);
	FUZZ_CHECK(ipc_decode(wire.data, wire.len, &m, &used) == IPC_OK);
	FUZZ_CHECK(used == wire.len && m.hdr.type == IPC_AUTH_LOGIN);

	al = malloc(sizeof(*al));
	FUZZ_CHECK(al != NULL);
	FUZZ_CHECK(ipcmsg_decode_auth_login(m.payload, m.hdr.len, al,
	    &why) == 0);

	FUZZ_CHECK(strcmp(al->client, CLIENT) == 0);
	FUZZ_CHECK(strcmp(al->user, lb->user) == 0);
	FUZZ_CHECK(strcmp(al->password, lb->password) == 0);
	FUZZ_CHECK(strcmp(al->totp, lb->totp) == 0);

	free(al);
	buf_free(&wire);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct login_body	*lb;
	struct ipc_auth_login	 al;
	struct buf		 b;
	const char		*why = NULL;
	int			 status = 0, rc;

	/* Exactly its size on the heap: an overflow trips ASan. */
	FUZZ_CHECK((lb = malloc(sizeof(*lb))) != NULL);
	memset(lb, 'J', sizeof(*lb));
	rc = apibody_login((const char *)data, size, lb, &status, &why);
	FUZZ_CHECK(rc == 0 || rc == -1);
	if (rc == -1) {
		FUZZ_CHECK(why != NULL && why[0] != '\0');
		FUZZ_CHECK(status == 400 || status == 401);
		/* Refused: nothing of a password stays in the struct. */
		if (status == 401)
			FUZZ_CHECK(fuzz_all_zero(lb, sizeof(*lb)));
		free(lb);
		return 0;
	}

	FUZZ_CHECK(memchr(lb->user, '\0', sizeof(lb->user)) != NULL);
	FUZZ_CHECK(memchr(lb->password, '\0', sizeof(lb->password)) != NULL);
	FUZZ_CHECK(lb->user[0] != '\0');
	FUZZ_CHECK(strlen(lb->user) < OCTO_NAME_MAX);
	FUZZ_CHECK(strlen(lb->password) <= OCTO_PASSWORD_MAX);

	FUZZ_CHECK(memchr(lb->totp, '\0', sizeof(lb->totp)) != NULL);
	FUZZ_CHECK(strspn(lb->totp, "0123456789") == strlen(lb->totp));

	/* api_login's message. */
	memset(&al, 0, sizeof(al));
	strlcpy(al.client, CLIENT, sizeof(al.client));
	strlcpy(al.user, lb->user, sizeof(al.user));
	strlcpy(al.password, lb->password, sizeof(al.password));
	strlcpy(al.totp, lb->totp, sizeof(al.totp));
	buf_init(&b, IPC_PAYLOAD_MAX);
	FUZZ_CHECK(ipcmsg_encode_auth_login(&b, &al) == 0);
	maestro_side(&b, lb);
	buf_free(&b);
	free(lb);
	return 0;
}
