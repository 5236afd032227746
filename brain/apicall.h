/*
 * IPC_API_CALL, the webserv's request to the maestro: one struct, the
 * webserv's encoder and the maestro's pure decoder (so that the fuzzer
 * calls what the maestro calls on bytes from a possibly compromised
 * child). Layout:
 *	str session, u8 background, str csrf, str client address, u32 op,
 *	then the op's arguments (their shape: apiops.h).
 */
#ifndef OCTO_APICALL_H
#define OCTO_APICALL_H

#include <stddef.h>
#include <stdint.h>

#include "apibody.h"
#include "brain.h"
#include "buf.h"
#include "limits.h"
#include "listargs.h"
#include "proto.h"

struct api_args {
	uint64_t	 id;		/* {id} of the route; runs: tentacle */
	char		 address[OCTO_ADDR_MAX];	/* enrol */
	uint32_t	 port;
	char		 pairing_code[PROTO_PAIRING_LEN + 1]; /* enrol; "" none */
	uint64_t	 expires_in;			/* token */
	uint32_t	 uses;
	char		 script[PROTO_SCRIPT_NAME_MAX];	/* run */
	uint32_t	 ntentacles;	/* 0: all accepted (or labels) */
	uint64_t	*tentacles;	/* malloc'd: apicall_clear frees */
	uint8_t		 with_output;	/* one run; a tentacle's results: findings */
	char		 name[OCTO_NAME_MAX];	/* users; audit: actor */
	char		 role[16];
	char		 password[OCTO_PASSWORD_MAX + 1];
	char		 current[OCTO_PASSWORD_MAX + 1];
	char		 code[OCTO_TOTP_CODE_MAX + 1];	/* TOTP */
	char		 action[OCTO_NAME_MAX];		/* audit */
	uint32_t	 limit;		/* audit; lists: rows of a page */
	/* Lists (listargs.h): the page starts after this ID; the fleet's
	 * order and filters ("" none); a run's wait in seconds (0 none). */
	uint64_t	 after;
	uint8_t		 sort;		/* enum list_sort */
	uint8_t		 desc;
	char		 state[16];
	char		 enrolment[16];
	char		 q[LIST_QUERY_MAX + 1];
	uint32_t	 wait;
	/* Scripts (issue 14): name in script, version in id. */
	uint8_t		 has_description;
	char		 description[SCRIPT_DESC_MAX + 1];
	/* Scripts' body, or the JSON body of BODY: malloc'd, NUL-ended
	 * (apicall_clear frees it). */
	char		*body;
	size_t		 body_len;	/* scripts: <= SCRIPT_BODY_MAX */
	/* Run: tentacles with any of these labels ("a,b"; "": none);
	 * expires_in (above) is then how long a job waits for its
	 * tentacle. */
	char		 labels[PROTO_LABELS_TEXT_MAX];
	/* Compliance and waivers (h16b); labels above. */
	uint64_t	 as_of;		/* 0: now */
	uint8_t		 by_check;
	uint32_t	 days;
	char		 label[PROTO_LABEL_MAX + 1];
	char		 check[FINDING_CHECK_MAX + 1];
	char		 reason[WAIVER_REASON_MAX + 1];
	uint64_t	 expires_at;
};

struct api_call {
	char		 session[OCTO_TOKEN_HEX_LEN + 1];
	uint8_t		 background;	/* don't extend the session */
	char		 csrf[OCTO_TOKEN_HEX_LEN + 1];
	char		 client[OCTO_ADDR_MAX];
	uint32_t	 op;		/* enum api_op */
	struct api_args	 args;
};

/* Append the message payload to out; -1 if a field does not fit. */
int	apicall_encode(struct buf *out, const struct api_call *);
/*
 * Decode and check the shape: a known op, its arguments and nothing more,
 * strings without NUL that fit, at most RUN_TENTACLES_MAX tentacle IDs,
 * user names, passwords and TOTP codes as apibody checks them, an audit limit in
 * range, script names, descriptions and bodies as apibody_script checks
 * them, the lists' pages, filters, sort and wait as listargs.h says.
 * Values are checked again where they are used. 0, or -1 with the
 * reason (then nothing is left to free).
 */
int	apicall_decode(const uint8_t *, size_t, struct api_call *,
	    const char **why);
/* Free the tentacle list and the body, and wipe the passwords and the session key. */
void	apicall_clear(struct api_call *);

#endif
