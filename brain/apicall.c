/*
 * IPC_API_CALL encoder and decoder (see apicall.h).
 */
#include <stdlib.h>
#include <string.h>

#include "apibody.h"
#include "apicall.h"
#include "crypto.h"
#include "findings.h"
#include "pack.h"
#include "totp.h"

/* Which arguments an op carries (apiops.h). */
static enum api_args_shape
shape_of(uint32_t op)
{
	const struct api_op_def	*d = api_op_get(op);

	return d ? d->args : API_ARGS_NONE;
}

/* A list's page: 1 to LIST_LIMIT_MAX rows after an ID (0: from the
 * start) that JSON can carry. */
static int
page_valid(const struct api_args *a)
{
	return a->limit >= 1 && a->limit <= LIST_LIMIT_MAX &&
	    a->after <= LIST_ID_MAX;
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
	case API_ARGS_NONE:
		break;
	case API_ARGS_ID:
		pack_u64(&p, a->id);
		break;
	case API_ARGS_TENTACLES:
		pack_u32(&p, a->limit);
		pack_u64(&p, a->after);
		pack_u8(&p, a->sort);
		pack_u8(&p, a->desc);
		pack_str(&p, a->state);
		pack_str(&p, a->enrolment);
		pack_str(&p, a->q);
		pack_str(&p, a->labels);	/* one label: the filter */
		break;
	case API_ARGS_RUNS:
		pack_u64(&p, a->id);
		pack_u32(&p, a->limit);
		pack_u64(&p, a->after);
		break;
	case API_ARGS_ENROL:
		pack_str(&p, a->address);
		pack_u32(&p, a->port);
		pack_str(&p, a->pairing_code);
		break;
	case API_ARGS_TOKEN:
		pack_u64(&p, a->expires_in);
		pack_u32(&p, a->uses);
		break;
	case API_ARGS_RUN_CREATE:
		pack_str(&p, a->script);
		pack_u32(&p, a->ntentacles);
		for (i = 0; i < a->ntentacles; i++)
			pack_u64(&p, a->tentacles[i]);
		pack_str(&p, a->labels);
		pack_u64(&p, a->expires_in);
		break;
	case API_ARGS_BODY:
		pack_u64(&p, a->id);
		pack_bytes(&p, a->body, a->body_len);
		break;
	case API_ARGS_RUN:
		pack_u64(&p, a->id);
		pack_u8(&p, a->with_output);
		pack_u32(&p, a->limit);
		pack_u64(&p, a->after);
		pack_u32(&p, a->wait);
		break;
	case API_ARGS_RESULTS:
		pack_u64(&p, a->id);
		pack_u8(&p, a->with_output);
		break;
	case API_ARGS_USER_CREATE:
		pack_str(&p, a->name);
		pack_str(&p, a->password);
		pack_str(&p, a->role);
		break;
	case API_ARGS_USER:
		pack_str(&p, a->name);
		break;
	case API_ARGS_PASSWORD:
		pack_str(&p, a->name);
		pack_str(&p, a->password);
		pack_str(&p, a->current);
		break;
	case API_ARGS_TOTP_CODE:
		pack_str(&p, a->name);
		pack_str(&p, a->code);
		break;
	case API_ARGS_AUDIT:
		pack_str(&p, a->name);
		pack_str(&p, a->action);
		pack_u32(&p, a->limit);
		break;
	case API_ARGS_SCRIPT:
		pack_str(&p, a->script);
		break;
	case API_ARGS_SCRIPT_VERSION:
		pack_str(&p, a->script);
		pack_u64(&p, a->id);
		break;
	case API_ARGS_SCRIPT_UPDATE:
		pack_str(&p, a->script);
		pack_u8(&p, a->has_description);
		pack_str(&p, a->description);
		pack_bytes(&p, a->body, a->body_len);
		break;
	case API_ARGS_SCRIPT_CREATE:
		pack_str(&p, a->script);
		pack_str(&p, a->description);
		pack_bytes(&p, a->body, a->body_len);
		break;
	case API_ARGS_COMPLIANCE:
		pack_u64(&p, a->as_of);
		pack_str(&p, a->labels);
		pack_u8(&p, a->by_check);
		pack_u32(&p, a->limit);
		pack_u64(&p, a->after);
		break;
	case API_ARGS_HISTORY:
		pack_u32(&p, a->days);
		pack_str(&p, a->labels);
		break;
	case API_ARGS_TIMELINE:
		pack_u64(&p, a->id);
		pack_str(&p, a->script);
		pack_u32(&p, a->limit);
		break;
	case API_ARGS_WAIVER:
		pack_u64(&p, a->id);
		pack_str(&p, a->label);
		pack_str(&p, a->script);
		pack_str(&p, a->check);
		pack_str(&p, a->reason);
		pack_u64(&p, a->expires_at);
		break;
	}
	return pack_error(&p) ? -1 : 0;
}

int
apicall_decode(const uint8_t *payload, size_t len, struct api_call *c,
    const char **why)
{
	struct api_args		*a = &c->args;
	struct unpacker		 u;
	uint32_t		 i;
	char			 code[PROTO_PAIRING_LEN + 1];
	const uint8_t		*body;
	struct proto_labels	 labels;
	const char		*lwhy;

	memset(c, 0, sizeof(*c));
	unpack_init(&u, payload, len);
	unpack_str(&u, c->session, sizeof(c->session));
	unpack_u8(&u, &c->background);
	unpack_str(&u, c->csrf, sizeof(c->csrf));
	unpack_str(&u, c->client, sizeof(c->client));
	if (unpack_u32(&u, &c->op) == -1 || api_op_get(c->op) == NULL) {
		*why = "unknown API operation";
		goto bad;
	}
	*why = "malformed arguments";
	switch (shape_of(c->op)) {
	case API_ARGS_NONE:
		break;
	case API_ARGS_ID:
		unpack_u64(&u, &a->id);
		break;
	case API_ARGS_TENTACLES:
		unpack_u32(&u, &a->limit);
		unpack_u64(&u, &a->after);
		unpack_u8(&u, &a->sort);
		unpack_u8(&u, &a->desc);
		unpack_str(&u, a->state, sizeof(a->state));
		unpack_str(&u, a->enrolment, sizeof(a->enrolment));
		unpack_str(&u, a->q, sizeof(a->q));
		unpack_str(&u, a->labels, sizeof(a->labels));
		break;
	case API_ARGS_RUNS:
		unpack_u64(&u, &a->id);
		unpack_u32(&u, &a->limit);
		unpack_u64(&u, &a->after);
		break;
	case API_ARGS_ENROL:
		unpack_str(&u, a->address, sizeof(a->address));
		unpack_u32(&u, &a->port);
		unpack_str(&u, a->pairing_code, sizeof(a->pairing_code));
		break;
	case API_ARGS_TOKEN:
		unpack_u64(&u, &a->expires_in);
		unpack_u32(&u, &a->uses);
		break;
	case API_ARGS_RUN_CREATE:
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
		unpack_str(&u, a->labels, sizeof(a->labels));
		unpack_u64(&u, &a->expires_in);
		break;
	case API_ARGS_BODY:
		unpack_u64(&u, &a->id);
		if (unpack_bytes_ref(&u, &body, &a->body_len,
		    HTTP_BODY_MAX) == -1)
			goto bad;
		if ((a->body = malloc(a->body_len + 1)) == NULL) {
			*why = "out of memory";
			goto bad;
		}
		memcpy(a->body, body, a->body_len);
		a->body[a->body_len] = '\0';
		break;
	case API_ARGS_RUN:
		unpack_u64(&u, &a->id);
		unpack_u8(&u, &a->with_output);
		unpack_u32(&u, &a->limit);
		unpack_u64(&u, &a->after);
		unpack_u32(&u, &a->wait);
		break;
	case API_ARGS_RESULTS:
		unpack_u64(&u, &a->id);
		unpack_u8(&u, &a->with_output);
		break;
	case API_ARGS_USER_CREATE:
		unpack_str(&u, a->name, sizeof(a->name));
		unpack_str(&u, a->password, sizeof(a->password));
		unpack_str(&u, a->role, sizeof(a->role));
		break;
	case API_ARGS_USER:
		unpack_str(&u, a->name, sizeof(a->name));
		break;
	case API_ARGS_PASSWORD:
		unpack_str(&u, a->name, sizeof(a->name));
		unpack_str(&u, a->password, sizeof(a->password));
		unpack_str(&u, a->current, sizeof(a->current));
		break;
	case API_ARGS_TOTP_CODE:
		unpack_str(&u, a->name, sizeof(a->name));
		unpack_str(&u, a->code, sizeof(a->code));
		break;
	case API_ARGS_AUDIT:
		unpack_str(&u, a->name, sizeof(a->name));
		unpack_str(&u, a->action, sizeof(a->action));
		unpack_u32(&u, &a->limit);
		break;
	case API_ARGS_SCRIPT:
		unpack_str(&u, a->script, sizeof(a->script));
		break;
	case API_ARGS_SCRIPT_VERSION:
		unpack_str(&u, a->script, sizeof(a->script));
		unpack_u64(&u, &a->id);
		break;
	case API_ARGS_SCRIPT_UPDATE:
	case API_ARGS_SCRIPT_CREATE:
		unpack_str(&u, a->script, sizeof(a->script));
		if (shape_of(c->op) == API_ARGS_SCRIPT_UPDATE)
			unpack_u8(&u, &a->has_description);
		unpack_str(&u, a->description, sizeof(a->description));
		if (unpack_bytes_ref(&u, &body, &a->body_len,
		    SCRIPT_BODY_MAX) == -1)
			goto bad;
		if (a->body_len > SCRIPT_BODY_MAX ||
		    (a->body = malloc(a->body_len + 1)) == NULL)
			goto bad;
		memcpy(a->body, body, a->body_len);
		a->body[a->body_len] = '\0';
		break;
	case API_ARGS_COMPLIANCE:
		unpack_u64(&u, &a->as_of);
		unpack_str(&u, a->labels, sizeof(a->labels));
		unpack_u8(&u, &a->by_check);
		unpack_u32(&u, &a->limit);
		unpack_u64(&u, &a->after);
		break;
	case API_ARGS_HISTORY:
		unpack_u32(&u, &a->days);
		unpack_str(&u, a->labels, sizeof(a->labels));
		break;
	case API_ARGS_TIMELINE:
		unpack_u64(&u, &a->id);
		unpack_str(&u, a->script, sizeof(a->script));
		unpack_u32(&u, &a->limit);
		break;
	case API_ARGS_WAIVER:
		unpack_u64(&u, &a->id);
		unpack_str(&u, a->label, sizeof(a->label));
		unpack_str(&u, a->script, sizeof(a->script));
		unpack_str(&u, a->check, sizeof(a->check));
		unpack_str(&u, a->reason, sizeof(a->reason));
		unpack_u64(&u, &a->expires_at);
		break;
	}
	if (unpack_end(&u) == -1)
		goto bad;

	/* What the webserv checked, checked again. */
	switch (shape_of(c->op)) {
	case API_ARGS_TOTP_CODE:
		if (!totp_code_valid(a->code) ||
		    !apibody_user_name_valid(a->name))
			goto bad;
		break;
	case API_ARGS_ENROL:
		if (a->pairing_code[0] != '\0' &&
		    (proto_pairing_parse(a->pairing_code, code) == -1 ||
		    strcmp(code, a->pairing_code) != 0))
			goto bad;
		crypto_wipe(code, sizeof(code));
		break;
	case API_ARGS_USER_CREATE:
		if (role_parse(a->role) == ROLE_INVALID)
			goto bad;
		/* FALLTHROUGH */
	case API_ARGS_PASSWORD:
		if (strlen(a->password) < PASSWORD_MIN)
			goto bad;
		/* FALLTHROUGH */
	case API_ARGS_USER:
		if (!apibody_user_name_valid(a->name))
			goto bad;
		break;
	case API_ARGS_AUDIT:
		if (a->limit < 1 || a->limit > AUDIT_LIMIT_MAX)
			goto bad;
		break;
	case API_ARGS_TENTACLES:
		if (!page_valid(a) || a->sort >= LIST_SORT_MAX ||
		    a->desc > 1 ||
		    (a->state[0] && !listargs_state_valid(a->state)) ||
		    (a->enrolment[0] &&
		    !listargs_enrolment_valid(a->enrolment)) ||
		    (a->q[0] && !listargs_query_valid(a->q)) ||
		    (a->labels[0] && !proto_label_valid(a->labels)))
			goto bad;
		break;
	case API_ARGS_RUNS:
		if (!page_valid(a) || a->id > LIST_ID_MAX)
			goto bad;
		break;
	case API_ARGS_RUN:
		if (!page_valid(a) || a->wait > RUN_WAIT_MAX)
			goto bad;
		/* FALLTHROUGH */
	case API_ARGS_RESULTS:
		if (a->with_output > 1)
			goto bad;
		break;
	case API_ARGS_SCRIPT_UPDATE:
	case API_ARGS_SCRIPT_CREATE:
		if (a->has_description > 1 || apibody_script_check(a->script,
		    a->description, a->body, a->body_len, why) == -1)
			goto bad;
		break;
	case API_ARGS_SCRIPT_VERSION:
		if (a->id < 1 || a->id > (1ULL << 53))
			goto bad;
		/* FALLTHROUGH */
	case API_ARGS_SCRIPT:
		if (!proto_script_name_valid(a->script))
			goto bad;
		break;
	case API_ARGS_COMPLIANCE:
		if (a->by_check > 1 || a->limit < 1 ||
		    a->limit > COMPLIANCE_LIMIT_MAX ||
		    a->as_of > INT64_MAX || a->after > INT64_MAX ||
		    !apibody_labels_valid(a->labels))
			goto bad;
		break;
	case API_ARGS_HISTORY:
		if (a->days < 1 || a->days > COMPLIANCE_DAYS_MAX ||
		    !apibody_labels_valid(a->labels))
			goto bad;
		break;
	case API_ARGS_TIMELINE:
		if (a->id < 1 || a->id > INT64_MAX || a->limit < 1 ||
		    a->limit > COMPLIANCE_LIMIT_MAX ||
		    !proto_script_name_valid(a->script))
			goto bad;
		break;
	case API_ARGS_WAIVER:
		if ((a->id == 0) == (a->label[0] == '\0') ||
		    a->id > INT64_MAX || a->expires_at > INT64_MAX ||
		    (a->label[0] != '\0' && !proto_label_valid(a->label)) ||
		    !proto_script_name_valid(a->script) ||
		    (a->check[0] != '\0' &&
		    !finding_check_valid(a->check, strlen(a->check))) ||
		    a->reason[0] == '\0')
			goto bad;
		break;
	case API_ARGS_RUN_CREATE:
		if (proto_labels_parse(a->labels, &labels, &lwhy) == -1 ||
		    a->expires_in < 1 || a->expires_in > RUN_EXPIRES_MAX ||
		    (a->ntentacles > 0 && labels.n > 0))
			goto bad;
		break;
	default:
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
	free(c->args.body);
	crypto_wipe(c, sizeof(*c));
}
