/*
 * IPC_API_CALL encoder and decoder (see apicall.h).
 */
#include <stdlib.h>
#include <string.h>

#include "apibody.h"
#include "apicall.h"
#include "crypto.h"
#include "pack.h"

/* Which arguments an op carries. */
enum arg_shape {
	SHAPE_NONE,
	SHAPE_ID,		/* u64 id */
	SHAPE_ENROL,		/* str address, u32 port */
	SHAPE_TOKEN,		/* u64 expires_in, u32 uses */
	SHAPE_RUN_CREATE,	/* str script, u32 n, n x u64 */
	SHAPE_RUN,		/* u64 id, u8 with_output (or findings) */
	SHAPE_USER_CREATE,	/* str name, str password, str role */
	SHAPE_USER,		/* str name */
	SHAPE_PASSWORD,		/* str name, str password, str current */
	SHAPE_AUDIT,		/* str actor, str action, u32 limit */
};

static enum arg_shape
shape_of(uint32_t op)
{
	switch (op) {
	case API_TENTACLE_APPROVE:
	case API_TENTACLE_REJECT:
	case API_TENTACLE_REVOKE:
	case API_TOKEN_REVOKE:
	case API_RUNS:
	case API_RESULT:
	case API_TENTACLE_SCRIPTS:
		return SHAPE_ID;
	case API_TENTACLE_ENROL:
		return SHAPE_ENROL;
	case API_TOKEN_CREATE:
		return SHAPE_TOKEN;
	case API_RUN_CREATE:
		return SHAPE_RUN_CREATE;
	case API_RUN:
	case API_TENTACLE_RESULTS:
		return SHAPE_RUN;
	case API_USER_CREATE:
		return SHAPE_USER_CREATE;
	case API_USER_DELETE:
		return SHAPE_USER;
	case API_USER_PASSWORD:
		return SHAPE_PASSWORD;
	case API_AUDIT:
		return SHAPE_AUDIT;
	default:
		return SHAPE_NONE;
	}
}

int
apicall_encode(struct buf *out, const struct api_call *c)
{
	const struct api_args	*a = &c->args;
	struct packer		 p;
	uint32_t		 i;

	pack_init(&p, out);
	pack_str(&p, c->session);
	pack_u8(&p, c->background);
	pack_str(&p, c->csrf);
	pack_str(&p, c->client);
	pack_u32(&p, c->op);
	switch (shape_of(c->op)) {
	case SHAPE_NONE:
		break;
	case SHAPE_ID:
		pack_u64(&p, a->id);
		break;
	case SHAPE_ENROL:
		pack_str(&p, a->address);
		pack_u32(&p, a->port);
		break;
	case SHAPE_TOKEN:
		pack_u64(&p, a->expires_in);
		pack_u32(&p, a->uses);
		break;
	case SHAPE_RUN_CREATE:
		pack_str(&p, a->script);
		pack_u32(&p, a->ntentacles);
		for (i = 0; i < a->ntentacles; i++)
			pack_u64(&p, a->tentacles[i]);
		break;
	case SHAPE_RUN:
		pack_u64(&p, a->id);
		pack_u8(&p, a->with_output);
		break;
	case SHAPE_USER_CREATE:
		pack_str(&p, a->name);
		pack_str(&p, a->password);
		pack_str(&p, a->role);
		break;
	case SHAPE_USER:
		pack_str(&p, a->name);
		break;
	case SHAPE_PASSWORD:
		pack_str(&p, a->name);
		pack_str(&p, a->password);
		pack_str(&p, a->current);
		break;
	case SHAPE_AUDIT:
		pack_str(&p, a->name);
		pack_str(&p, a->action);
		pack_u32(&p, a->limit);
		break;
	}
	return pack_error(&p) ? -1 : 0;
}

static int
role_valid(const char *r)
{
	return strcmp(r, "admin") == 0 || strcmp(r, "operator") == 0 ||
	    strcmp(r, "viewer") == 0;
}

int
apicall_decode(const uint8_t *payload, size_t len, struct api_call *c,
    const char **why)
{
	struct api_args		*a = &c->args;
	struct unpacker		 u;
	uint32_t		 i;

	memset(c, 0, sizeof(*c));
	unpack_init(&u, payload, len);
	unpack_str(&u, c->session, sizeof(c->session));
	unpack_u8(&u, &c->background);
	unpack_str(&u, c->csrf, sizeof(c->csrf));
	unpack_str(&u, c->client, sizeof(c->client));
	if (unpack_u32(&u, &c->op) == -1 || c->op == 0 ||
	    c->op >= API_OP_MAX) {
		*why = "unknown API operation";
		goto bad;
	}
	*why = "malformed arguments";
	switch (shape_of(c->op)) {
	case SHAPE_NONE:
		break;
	case SHAPE_ID:
		unpack_u64(&u, &a->id);
		break;
	case SHAPE_ENROL:
		unpack_str(&u, a->address, sizeof(a->address));
		unpack_u32(&u, &a->port);
		break;
	case SHAPE_TOKEN:
		unpack_u64(&u, &a->expires_in);
		unpack_u32(&u, &a->uses);
		break;
	case SHAPE_RUN_CREATE:
		unpack_str(&u, a->script, sizeof(a->script));
		if (unpack_u32(&u, &a->ntentacles) == -1)
			goto bad;
		if (a->ntentacles > RUN_TENTACLES_MAX ||
		    (size_t)a->ntentacles * 8 > u.len - u.off) {
			*why = "too many tentacle IDs";
			goto bad;
		}
		if (a->ntentacles && (a->tentacles = calloc(a->ntentacles,
		    sizeof(*a->tentacles))) == NULL) {
			*why = "out of memory";
			goto bad;
		}
		for (i = 0; i < a->ntentacles; i++)
			unpack_u64(&u, &a->tentacles[i]);
		break;
	case SHAPE_RUN:
		unpack_u64(&u, &a->id);
		unpack_u8(&u, &a->with_output);
		break;
	case SHAPE_USER_CREATE:
		unpack_str(&u, a->name, sizeof(a->name));
		unpack_str(&u, a->password, sizeof(a->password));
		unpack_str(&u, a->role, sizeof(a->role));
		break;
	case SHAPE_USER:
		unpack_str(&u, a->name, sizeof(a->name));
		break;
	case SHAPE_PASSWORD:
		unpack_str(&u, a->name, sizeof(a->name));
		unpack_str(&u, a->password, sizeof(a->password));
		unpack_str(&u, a->current, sizeof(a->current));
		break;
	case SHAPE_AUDIT:
		unpack_str(&u, a->name, sizeof(a->name));
		unpack_str(&u, a->action, sizeof(a->action));
		unpack_u32(&u, &a->limit);
		break;
	}
	if (unpack_end(&u) == -1)
		goto bad;

	/* What the webserv checked, checked again. */
	switch (c->op) {
	case API_USER_CREATE:
		if (!role_valid(a->role))
			goto bad;
		/* FALLTHROUGH */
	case API_USER_PASSWORD:
		if (strlen(a->password) < PASSWORD_MIN)
			goto bad;
		/* FALLTHROUGH */
	case API_USER_DELETE:
		if (!apibody_user_name_valid(a->name))
			goto bad;
		break;
	case API_AUDIT:
		if (a->limit < 1 || a->limit > AUDIT_LIMIT_MAX)
			goto bad;
		break;
	case API_RUN:
	case API_TENTACLE_RESULTS:
		if (a->with_output > 1)
			goto bad;
		break;
	}
	*why = NULL;
	return 0;
bad:
	apicall_clear(c);
	return -1;
}

void
apicall_clear(struct api_call *c)
{
	free(c->args.tentacles);
	crypto_wipe(c, sizeof(*c));
}
