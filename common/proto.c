/*
 * Encoders and decoders of the protocol's messages (see proto.h). Every
 * decoder is a pure function over one frame: it checks the frame type, each
 * length through the unpacker, each field's shape, and that nothing trails.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <bsd/string.h>

#include "crypto.h"
#include "net.h"
#include "pack.h"
#include "proto.h"

/* Pack a payload with fill(), then frame it. */
static int
frame(struct buf *out, uint8_t type, void (*fill)(struct packer *,
    const void *), const void *msg)
{
	struct buf	payload;
	struct packer	p;
	int		rc = -1;

	buf_init(&payload, WIRE_PAYLOAD_MAX);
	pack_init(&p, &payload);
	if (fill)
		fill(&p, msg);
	if (pack_error(&p) == 0)
		rc = wire_encode(out, type, payload.data, payload.len);
	buf_free(&payload);
	return rc;
}

int
proto_hex_lower(const char *s, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

static int
hex_lower(const char *s, size_t len)
{
	return strlen(s) == len && proto_hex_lower(s, len);
}

int
proto_fingerprint_valid(const char *s)
{
	return hex_lower(s, OCTO_FPR_HEX_LEN);
}

int
proto_token_secret_valid(const char *s)
{
	return hex_lower(s, PROTO_TOKEN_SECRET_LEN);
}

int
proto_hostname_valid(const char *s)
{
	size_t	i, n = strlen(s);

	if (n == 0 || n >= OCTO_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '.' &&
		    s[i] != '-' && s[i] != '_')
			return 0;
	return 1;
}

int
proto_script_name_valid(const char *s)
{
	size_t	i, n = strlen(s);

	if (n == 0 || n >= PROTO_SCRIPT_NAME_MAX || s[0] == '.')
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '.' &&
		    s[i] != '-' && s[i] != '_')
			return 0;
	return 1;
}

int
proto_label_valid(const char *s)
{
	size_t	i, n = strlen(s);

	if (n == 0 || n > PROTO_LABEL_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '.' ||
		    s[i] == '_' || s[i] == '-'))
			return 0;
	return 1;
}

int
proto_labels_add(struct proto_labels *l, const char *s, const char **why)
{
	uint32_t	i;

	if (!proto_label_valid(s)) {
		*why = "a label is 1 to 32 of a-z 0-9 . _ -";
		return -1;
	}
	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i], s) == 0)
			return 0;
	if (l->n >= PROTO_LABELS_MAX) {
		*why = "at most 32 labels";
		return -1;
	}
	strlcpy(l->v[l->n++], s, sizeof(l->v[0]));
	return 0;
}

int
proto_labels_parse(const char *text, struct proto_labels *l,
    const char **why)
{
	char		 one[PROTO_LABEL_MAX + 2];
	const char	*p = text, *e;
	size_t		 n;

	memset(l, 0, sizeof(*l));
	while (*p) {
		while (*p == ' ' || *p == '\t')
			p++;
		e = p + strcspn(p, ",");
		n = (size_t)(e - p);
		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (n == 0 && *e == '\0' && l->n > 0)
			break;		/* "web, db," */
		if (n >= sizeof(one)) {
			*why = "a label is 1 to 32 of a-z 0-9 . _ -";
			return -1;
		}
		memcpy(one, p, n);
		one[n] = '\0';
		if (proto_labels_add(l, one, why) == -1)
			return -1;
		p = *e ? e + 1 : e;
	}
	return 0;
}

void
proto_labels_join(const struct proto_labels *l, char *out, size_t outlen)
{
	uint32_t	i;

	if (outlen == 0)
		return;
	out[0] = '\0';
	for (i = 0; i < l->n; i++) {
		if (i)
			strlcat(out, ",", outlen);
		strlcat(out, l->v[i], outlen);
	}
}

/* Printable ASCII only: these strings end up in logs and the page. */
int
proto_printable(const char *s)
{
	for (; *s; s++)
		if (*s < 0x20 || *s > 0x7e)
			return 0;
	return 1;
}

#define printable(s)	proto_printable(s)

static int
check_type(const struct wire_frame *f, uint8_t type, const char **why)
{
	if (f->type != type) {
		*why = f->type == WIRE_ERROR ? "the peer sent an error" :
		    "unexpected message";
		return -1;
	}
	return 0;
}

static int
finish(struct unpacker *u, const char **why)
{
	if (unpack_end(u) == -1) {
		*why = "malformed message";
		return -1;
	}
	return 0;
}

/* ---- HELLO, HELLO_ACK, AUTH_OK: ------------------------------------- */

static void
fill_hello(struct packer *p, const void *arg)
{
	const struct msg_hello	*m = arg;

	pack_u8(p, m->purpose);
	pack_str(p, m->version);
}

int
proto_encode_hello(struct buf *out, const struct msg_hello *m)
{
	if (m->purpose == 0 || m->purpose >= PURPOSE_MAX)
		return -1;
	return frame(out, WIRE_HELLO, fill_hello, m);
}

int
proto_decode_hello(const struct wire_frame *f, struct msg_hello *m,
    const char **why)
{
	struct unpacker	u;

	if (check_type(f, WIRE_HELLO, why) == -1)
		return -1;
	unpack_init(&u, f->payload, f->len);
	unpack_u8(&u, &m->purpose);
	unpack_str(&u, m->version, sizeof(m->version));
	if (finish(&u, why) == -1)
		return -1;
	if (m->purpose == 0 || m->purpose >= PURPOSE_MAX) {
		*why = "unknown purpose";
		return -1;
	}
	if (!printable(m->version)) {
		*why = "bad version string";
		return -1;
	}
	return 0;
}

int
proto_encode_hello_ack(struct buf *out)
{
	return frame(out, WIRE_HELLO_ACK, NULL, NULL);
}


int
proto_decode_empty(const struct wire_frame *f, uint8_t type,
    const char **why)
{
	if (check_type(f, type, why) == -1)
		return -1;
	if (f->len != 0) {
		*why = "malformed message";
		return -1;
	}
	return 0;
}

/* ---- enrolment ------------------------------------------------------- */

static void
fill_enrol_request(struct packer *p, const void *arg)
{
	const struct msg_enrol_request	*m = arg;

	pack_str(p, m->hostname);
	pack_str(p, m->facts);
	pack_str(p, m->fingerprint);
	pack_str(p, m->command_address);
	pack_u32(p, m->command_port);
	pack_str(p, m->token);
	pack_bytes(p, m->enrol_pub, sizeof(m->enrol_pub));
}

static int
enrol_request_valid(const struct msg_enrol_request *m, const char **why)
{
	if (!proto_hostname_valid(m->hostname))
		*why = "bad hostname";
	else if (!proto_fingerprint_valid(m->fingerprint))
		*why = "bad fingerprint";
	else if (m->command_address[0] == '\0' ||
	    !printable(m->command_address))
		*why = "bad command address";
	else if (m->command_port == 0 || m->command_port > 65535)
		*why = "bad command port";
	else if (m->token[0] != '\0' && !proto_token_secret_valid(m->token))
		*why = "bad token";
	else if (!printable(m->facts) && m->facts[0] != '\0')
		*why = "bad facts";
	else
		return 1;
	return 0;
}

int
proto_encode_enrol_request(struct buf *out, const struct msg_enrol_request *m)
{
	const char	*why;

	if (!enrol_request_valid(m, &why))
		return -1;
	return frame(out, WIRE_ENROL_REQUEST, fill_enrol_request, m);
}

int
proto_decode_enrol_request(const struct wire_frame *f,
    struct msg_enrol_request *m, const char **why)
{
	struct unpacker	u;

	if (check_type(f, WIRE_ENROL_REQUEST, why) == -1)
		return -1;
	unpack_init(&u, f->payload, f->len);
	unpack_str(&u, m->hostname, sizeof(m->hostname));
	unpack_str(&u, m->facts, sizeof(m->facts));
	unpack_str(&u, m->fingerprint, sizeof(m->fingerprint));
	unpack_str(&u, m->command_address, sizeof(m->command_address));
	unpack_u32(&u, &m->command_port);
	unpack_str(&u, m->token, sizeof(m->token));
	unpack_fixed(&u, m->enrol_pub, sizeof(m->enrol_pub));
	if (finish(&u, why) == -1)
		return -1;
	return enrol_request_valid(m, why) ? 0 : -1;
}

static void
fill_enrol_reply(struct packer *p, const void *arg)
{
	const struct msg_enrol_reply	*m = arg;

	pack_u8(p, m->status);
	pack_u64(p, m->id);
	pack_bytes(p, m->brain_pub, sizeof(m->brain_pub));
	pack_bytes(p, m->wrapped_key, sizeof(m->wrapped_key));
	pack_str(p, m->brain_fingerprint);
	pack_str(p, m->message);
	pack_str(p, m->brain_address);
	if (m->has_sign_pub)
		pack_bytes(p, m->sign_pub, sizeof(m->sign_pub));
}

int
proto_encode_enrol_reply(struct buf *out, const struct msg_enrol_reply *m)
{
	if (m->status == 0 || m->status >= ENROLMENT_MAX || m->id == 0 ||
	    m->has_sign_pub > 1 ||
	    !proto_fingerprint_valid(m->brain_fingerprint) ||
	    (m->brain_address[0] != '\0' && !net_addr_valid(m->brain_address)))
		return -1;
	return frame(out, WIRE_ENROL_REPLY, fill_enrol_reply, m);
}

int
proto_decode_enrol_reply(const struct wire_frame *f,
    struct msg_enrol_reply *m, const char **why)
{
	struct unpacker	u;

	if (check_type(f, WIRE_ENROL_REPLY, why) == -1)
		return -1;
	unpack_init(&u, f->payload, f->len);
	unpack_u8(&u, &m->status);
	unpack_u64(&u, &m->id);
	unpack_fixed(&u, m->brain_pub, sizeof(m->brain_pub));
	unpack_fixed(&u, m->wrapped_key, sizeof(m->wrapped_key));
	unpack_str(&u, m->brain_fingerprint, sizeof(m->brain_fingerprint));
	unpack_str(&u, m->message, sizeof(m->message));
	unpack_str(&u, m->brain_address, sizeof(m->brain_address));
	/* The signing key: a trailing field a brain before issue 14 does
	 * not send. */
	m->has_sign_pub = 0;
	memset(m->sign_pub, 0, sizeof(m->sign_pub));
	if (u.err == 0 && u.off < u.len) {
		unpack_fixed(&u, m->sign_pub, sizeof(m->sign_pub));
		m->has_sign_pub = 1;
	}
	if (finish(&u, why) == -1)
		return -1;
	if (m->status == 0 || m->status >= ENROLMENT_MAX)
		*why = "bad status";
	else if (m->id == 0 || m->id > INT64_MAX)
		*why = "bad ID";
	else if (!proto_fingerprint_valid(m->brain_fingerprint))
		*why = "bad brain fingerprint";
	else if (!printable(m->message))
		*why = "bad message";
	else if (m->brain_address[0] != '\0' &&
	    !net_addr_valid(m->brain_address))
		*why = "bad brain address";
	else
		return 0;
	return -1;
}

/* ---- authentication -------------------------------------------------- */

static void
fill_auth_id(struct packer *p, const void *arg)
{
	const struct msg_auth_id	*m = arg;

	pack_u64(p, m->id);
	pack_bytes(p, m->nonce, sizeof(m->nonce));
}

int
proto_encode_auth_id(struct buf *out, const struct msg_auth_id *m)
{
	return frame(out, WIRE_AUTH_ID, fill_auth_id, m);
}

int
proto_decode_auth_id(const struct wire_frame *f, struct msg_auth_id *m,
    const char **why)
{
	struct unpacker	u;

	if (check_type(f, WIRE_AUTH_ID, why) == -1)
		return -1;
	unpack_init(&u, f->payload, f->len);
	unpack_u64(&u, &m->id);
	unpack_fixed(&u, m->nonce, sizeof(m->nonce));
	if (finish(&u, why) == -1)
		return -1;
	if (m->id == 0 || m->id > INT64_MAX) {
		*why = "bad ID";
		return -1;
	}
	return 0;
}

static void
fill_auth_challenge(struct packer *p, const void *arg)
{
	const struct msg_auth_challenge	*m = arg;

	pack_bytes(p, m->nonce, sizeof(m->nonce));
}

int
proto_encode_auth_challenge(struct buf *out,
    const struct msg_auth_challenge *m)
{
	return frame(out, WIRE_AUTH_CHALLENGE, fill_auth_challenge, m);
}

int
proto_decode_auth_challenge(const struct wire_frame *f,
    struct msg_auth_challenge *m, const char **why)
{
	struct unpacker	u;

	if (check_type(f, WIRE_AUTH_CHALLENGE, why) == -1)
		return -1;
	unpack_init(&u, f->payload, f->len);
	unpack_fixed(&u, m->nonce, sizeof(m->nonce));
	return finish(&u, why);
}

static void
fill_auth_proof(struct packer *p, const void *arg)
{
	const struct msg_auth_proof	*m = arg;

	pack_bytes(p, m->proof, sizeof(m->proof));
}

int
proto_encode_auth_proof(struct buf *out, const struct msg_auth_proof *m)
{
	return frame(out, WIRE_AUTH_PROOF, fill_auth_proof, m);
}

int
proto_decode_auth_proof(const struct wire_frame *f, struct msg_auth_proof *m,
    const char **why)
{
	struct unpacker	u;

	if (check_type(f, WIRE_AUTH_PROOF, why) == -1)
		return -1;
	unpack_init(&u, f->payload, f->len);
	unpack_fixed(&u, m->proof, sizeof(m->proof));
	return finish(&u, why);
}

static void
fill_auth_ok(struct packer *p, const void *arg)
{
	const struct msg_auth_ok	*m = arg;

	pack_bytes(p, m->proof, sizeof(m->proof));
}

int
proto_encode_auth_ok(struct buf *out, const struct msg_auth_ok *m)
{
	return frame(out, WIRE_AUTH_OK, fill_auth_ok, m);
}

int
proto_decode_auth_ok(const struct wire_frame *f, struct msg_auth_ok *m,
    const char **why)
{
	struct unpacker	u;

	if (check_type(f, WIRE_AUTH_OK, why) == -1)
		return -1;
	unpack_init(&u, f->payload, f->len);
	unpack_fixed(&u, m->proof, sizeof(m->proof));
	return finish(&u, why);
}

/* ---- pairing (enrolment by address) ---------------------------------- */

#define PAIRING_ALPHABET	"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
#define PAIRING_SALT		"octopus-v2 pairing"
#define PAIRING_INFO		"key"
#define PAIRING_LABEL_BRAIN	"octopus-v2 pairing brain"
#define PAIRING_LABEL_TENTACLE	"octopus-v2 pairing tentacle"
#define PAIRING_INPUT_MAX	64	/* what parse reads, dashes and all */

int
proto_encode_pair_required(struct buf *out)
{
	return frame(out, WIRE_PAIR_REQUIRED, NULL, NULL);
}

static void
fill_pair_proof(struct packer *p, const void *arg)
{
	const struct msg_pair_proof	*m = arg;

	pack_bytes(p, m->proof, sizeof(m->proof));
}

int
proto_encode_pair_proof(struct buf *out, const struct msg_pair_proof *m)
{
	return frame(out, WIRE_PAIR_PROOF, fill_pair_proof, m);
}

int
proto_decode_pair_proof(const struct wire_frame *f, struct msg_pair_proof *m,
    const char **why)
{
	struct unpacker	u;

	if (check_type(f, WIRE_PAIR_PROOF, why) == -1)
		return -1;
	unpack_init(&u, f->payload, f->len);
	unpack_fixed(&u, m->proof, sizeof(m->proof));
	return finish(&u, why);
}

int
proto_pairing_new(char code[PROTO_PAIRING_LEN + 1])
{
	uint8_t	r[PROTO_PAIRING_LEN];
	size_t	i;

	/* 256 is a multiple of 32: each byte's low 5 bits are uniform. */
	if (crypto_random(r, sizeof(r)) == -1)
		return -1;
	for (i = 0; i < PROTO_PAIRING_LEN; i++)
		code[i] = PAIRING_ALPHABET[r[i] & 31];
	code[PROTO_PAIRING_LEN] = '\0';
	crypto_wipe(r, sizeof(r));
	return 0;
}

int
proto_pairing_parse(const char *in, char code[PROTO_PAIRING_LEN + 1])
{
	size_t	i, n = 0;
	int	c;

	for (i = 0; in[i] != '\0'; i++) {
		if (i >= PAIRING_INPUT_MAX)
			goto bad;
		c = (unsigned char)in[i];
		if (c == '-' || c == ' ')
			continue;
		if (c >= 'a' && c <= 'z')
			c -= 'a' - 'A';
		if (n >= PROTO_PAIRING_LEN || c == '\0' ||
		    strchr(PAIRING_ALPHABET, c) == NULL)
			goto bad;
		code[n++] = (char)c;
	}
	if (n != PROTO_PAIRING_LEN)
		goto bad;
	code[n] = '\0';
	return 0;
bad:
	crypto_wipe(code, PROTO_PAIRING_LEN + 1);
	return -1;
}

void
proto_pairing_show(const char code[PROTO_PAIRING_LEN + 1],
    char out[PROTO_PAIRING_SHOWN + 1])
{
	snprintf(out, PROTO_PAIRING_SHOWN + 1, "%.4s-%.4s-%.4s", code,
	    code + 4, code + 8);
}

int
proto_pairing_key(const char code[PROTO_PAIRING_LEN + 1],
    uint8_t key[PROTO_KEY_LEN])
{
	return crypto_hkdf_sha256(PAIRING_SALT, strlen(PAIRING_SALT), code,
	    PROTO_PAIRING_LEN,
	    PAIRING_INFO, strlen(PAIRING_INFO), key, PROTO_KEY_LEN);
}

int
proto_pairing_proof(const uint8_t key[PROTO_KEY_LEN],
    enum proto_pairing_side side, const uint8_t exporter[PROTO_EXPORTER_LEN],
    uint8_t proof[PROTO_MAC_LEN])
{
	const char	*label = side == PAIRING_BRAIN ? PAIRING_LABEL_BRAIN :
			    PAIRING_LABEL_TENTACLE;
	uint8_t		 msg[sizeof(PAIRING_LABEL_TENTACLE) +
			    PROTO_EXPORTER_LEN];
	size_t		 l = strlen(label);
	int		 rc;

	memcpy(msg, label, l);
	memcpy(msg + l, exporter, PROTO_EXPORTER_LEN);
	rc = crypto_hmac_sha256(key, PROTO_KEY_LEN, msg, l +
	    PROTO_EXPORTER_LEN, proof);
	crypto_wipe(msg, sizeof(msg));
	return rc;
}

/* ---- status and errors ----------------------------------------------- */

static void
fill_status(struct packer *p, const void *arg)
{
	const struct msg_status	*m = arg;

	pack_u8(p, m->enrolment);
	pack_str(p, m->message);
}

int
proto_encode_status(struct buf *out, const struct msg_status *m)
{
	if (m->enrolment == 0 || m->enrolment >= ENROLMENT_MAX)
		return -1;
	return frame(out, WIRE_STATUS, fill_status, m);
}

int
proto_decode_status(const struct wire_frame *f, struct msg_status *m,
    const char **why)
{
	struct unpacker	u;

	if (check_type(f, WIRE_STATUS, why) == -1)
		return -1;
	unpack_init(&u, f->payload, f->len);
	unpack_u8(&u, &m->enrolment);
	unpack_str(&u, m->message, sizeof(m->message));
	if (finish(&u, why) == -1)
		return -1;
	if (m->enrolment == 0 || m->enrolment >= ENROLMENT_MAX ||
	    !printable(m->message)) {
		*why = "bad status";
		return -1;
	}
	return 0;
}

static void
fill_error(struct packer *p, const void *arg)
{
	pack_bytes(p, arg, strnlen(arg, PROTO_MESSAGE_MAX - 1));
}

int
proto_encode_error(struct buf *out, const char *reason)
{
	return frame(out, WIRE_ERROR, fill_error, reason ? reason : "error");
}

int
proto_decode_error(const struct wire_frame *f, char *reason, size_t len)
{
	struct unpacker	 u;
	const uint8_t	*p;
	size_t		 n, i, o = 0;

	if (f->type != WIRE_ERROR || len == 0)
		return -1;
	unpack_init(&u, f->payload, f->len);
	if (unpack_bytes_ref(&u, &p, &n, PROTO_MESSAGE_MAX) == -1 ||
	    unpack_end(&u) == -1) {
		strlcpy(reason, "(malformed error message)", len);
		return -1;
	}
	for (i = 0; i < n && o + 1 < len; i++)
		reason[o++] = (p[i] >= 0x20 && p[i] <= 0x7e) ? (char)p[i] : '?';
	reason[o] = '\0';
	return 0;
}

/* ---- runs ------------------------------------------------------------ */

static void
fill_order(struct packer *p, const void *arg)
{
	const struct msg_order	*m = arg;

	pack_u64(p, m->job);
	pack_str(p, m->script);
	pack_str(p, m->script_sha256);
	pack_bytes(p, m->mac, sizeof(m->mac));
}

int
proto_encode_order(struct buf *out, const struct msg_order *m)
{
	if (m->job == 0 || !proto_script_name_valid(m->script) ||
	    (m->script_sha256[0] != '\0' &&
	    !proto_fingerprint_valid(m->script_sha256)))
		return -1;
	return frame(out, WIRE_ORDER, fill_order, m);
}

int
proto_decode_order(const struct wire_frame *f, struct msg_order *m,
    const char **why)
{
	struct unpacker	u;

	if (check_type(f, WIRE_ORDER, why) == -1)
		return -1;
	unpack_init(&u, f->payload, f->len);
	unpack_u64(&u, &m->job);
	unpack_str(&u, m->script, sizeof(m->script));
	unpack_str(&u, m->script_sha256, sizeof(m->script_sha256));
	unpack_fixed(&u, m->mac, sizeof(m->mac));
	if (finish(&u, why) == -1)
		return -1;
	if (m->script_sha256[0] != '\0' &&
	    !proto_fingerprint_valid(m->script_sha256)) {
		*why = "bad script hash";
		return -1;
	}
	if (m->job == 0 || m->job > INT64_MAX) {
		*why = "bad job ID";
		return -1;
	}
	/* The name is checked by the tentacle, which answers "unknown
	 * script" for a bad one: only its shape as a string is checked
	 * here. */
	if (!printable(m->script)) {
		*why = "bad script name";
		return -1;
	}
	return 0;
}

static void
fill_order_ack(struct packer *p, const void *arg)
{
	const struct msg_order_ack	*m = arg;

	pack_u64(p, m->job);
	pack_u8(p, m->accepted);
	pack_str(p, m->message);
}

int
proto_encode_order_ack(struct buf *out, const struct msg_order_ack *m)
{
	if (m->job == 0 || m->accepted > 1 || !printable(m->message))
		return -1;
	return frame(out, WIRE_ORDER_ACK, fill_order_ack, m);
}

int
proto_decode_order_ack(const struct wire_frame *f, struct msg_order_ack *m,
    const char **why)
{
	struct unpacker	u;

	if (check_type(f, WIRE_ORDER_ACK, why) == -1)
		return -1;
	unpack_init(&u, f->payload, f->len);
	unpack_u64(&u, &m->job);
	unpack_u8(&u, &m->accepted);
	unpack_str(&u, m->message, sizeof(m->message));
	if (finish(&u, why) == -1)
		return -1;
	if (m->job == 0 || m->job > INT64_MAX || m->accepted > 1 ||
	    !printable(m->message)) {
		*why = "bad order acknowledgement";
		return -1;
	}
	return 0;
}

/* The fields a result's MAC covers, in wire order. */
static void
fill_result_fields(struct packer *p, const struct msg_result *m)
{

	pack_u64(p, m->job);
	pack_u8(p, m->outcome);
	pack_u32(p, (uint32_t)m->exit_status);
	pack_u32(p, (uint32_t)m->signal);
	pack_u64(p, m->started_at_ms);
	pack_u64(p, m->duration_ms);
	pack_u8(p, m->truncated);
	pack_bytes(p, m->output, m->output_len);
}

static void
fill_result(struct packer *p, const void *arg)
{
	const struct msg_result	*m = arg;

	fill_result_fields(p, m);
	pack_bytes(p, m->mac, sizeof(m->mac));
	if (m->sha256[0] != '\0')
		pack_str(p, m->sha256);
}

int
proto_result_valid(const struct msg_result *m, const char **why)
{
	const char	*dummy;

	if (why == NULL)
		why = &dummy;
	if (m->job == 0 || m->job > INT64_MAX)
		*why = "bad job ID";
	else if (m->outcome == 0 || m->outcome >= OUTCOME_MAX)
		*why = "bad outcome";
	else if (m->truncated > 1)
		*why = "bad truncated flag";
	else if (m->signal < 0 || m->signal >= 128)
		*why = "bad signal";
	else if (m->exit_status < -1 || m->exit_status > 255)
		*why = "bad exit status";
	else if (m->output_len > PROTO_OUTPUT_MAX)
		*why = "output too long";
	else if (m->started_at_ms > INT64_MAX || m->duration_ms > INT64_MAX)
		*why = "bad time";
	else if (strnlen(m->sha256, sizeof(m->sha256)) == sizeof(m->sha256) ||
	    (m->sha256[0] != '\0' && !proto_fingerprint_valid(m->sha256)))
		*why = "bad script hash";
	else
		return 1;
	return 0;
}

int
proto_encode_result(struct buf *out, const struct msg_result *m)
{
	if (!proto_result_valid(m, NULL) ||
	    (m->output_len > 0 && m->output == NULL))
		return -1;
	return frame(out, WIRE_RESULT, fill_result, m);
}

int
proto_decode_result(const struct wire_frame *f, struct msg_result *m,
    const char **why)
{
	struct unpacker	u;
	uint32_t	status, sig;

	if (check_type(f, WIRE_RESULT, why) == -1)
		return -1;
	unpack_init(&u, f->payload, f->len);
	unpack_u64(&u, &m->job);
	unpack_u8(&u, &m->outcome);
	unpack_u32(&u, &status);
	unpack_u32(&u, &sig);
	unpack_u64(&u, &m->started_at_ms);
	unpack_u64(&u, &m->duration_ms);
	unpack_u8(&u, &m->truncated);
	unpack_bytes_ref(&u, &m->output, &m->output_len, PROTO_OUTPUT_MAX);
	unpack_fixed(&u, m->mac, sizeof(m->mac));
	/* The script's hash: a trailing field, only when one ran (and
	 * never from a tentacle before issue 14). */
	m->sha256[0] = '\0';
	if (u.err == 0 && u.off < u.len) {
		unpack_str(&u, m->sha256, sizeof(m->sha256));
		if (u.err == 0 && m->sha256[0] == '\0') {
			*why = "empty script hash";
			return -1;
		}
	}
	if (finish(&u, why) == -1)
		return -1;
	m->exit_status = (int32_t)status;
	m->signal = (int32_t)sig;
	if (!proto_result_valid(m, why))
		return -1;
	return 0;
}

static void
fill_result_ack(struct packer *p, const void *arg)
{
	const struct msg_result_ack	*m = arg;

	pack_u64(p, m->job);
	pack_u8(p, m->status);
	pack_str(p, m->reason);
}

/* Stored with no reason, or refused with one; printable either way. */
static int
result_ack_valid(const struct msg_result_ack *m)
{
	size_t	n = strnlen(m->reason, sizeof(m->reason));

	if (m->job == 0 || m->job > INT64_MAX || n >= sizeof(m->reason) ||
	    !printable(m->reason))
		return 0;
	if (m->status == RESULT_ACK_STORED)
		return n == 0;
	if (m->status == RESULT_ACK_REFUSED)
		return n > 0;
	return 0;
}

int
proto_encode_result_ack(struct buf *out, const struct msg_result_ack *m)
{
	if (!result_ack_valid(m))
		return -1;
	return frame(out, WIRE_RESULT_ACK, fill_result_ack, m);
}

int
proto_decode_result_ack(const struct wire_frame *f, struct msg_result_ack *m,
    const char **why)
{
	struct unpacker	u;

	if (check_type(f, WIRE_RESULT_ACK, why) == -1)
		return -1;
	memset(m, 0, sizeof(*m));
	unpack_init(&u, f->payload, f->len);
	unpack_u64(&u, &m->job);
	unpack_u8(&u, &m->status);
	unpack_str(&u, m->reason, sizeof(m->reason));
	if (finish(&u, why) == -1)
		return -1;
	if (m->job == 0 || m->job > INT64_MAX) {
		*why = "bad job ID";
		return -1;
	}
	if (!result_ack_valid(m)) {
		*why = "bad result acknowledgement";
		return -1;
	}
	return 0;
}

static void
fill_inventory(struct packer *p, const void *arg)
{
	const struct msg_inventory	*m = arg;

	pack_str(p, m->facts);
	pack_bytes(p, m->scripts, m->scripts_len);
}

int
proto_encode_inventory(struct buf *out, const struct msg_inventory *m)
{
	if ((m->facts[0] != '\0' && !printable(m->facts)) ||
	    m->scripts_len > PROTO_SCRIPTS_MAX)
		return -1;
	return frame(out, WIRE_INVENTORY, fill_inventory, m);
}

int
proto_decode_inventory(const struct wire_frame *f, struct msg_inventory *m,
    const char **why)
{
	struct unpacker	 u;
	const uint8_t	*s;
	size_t		 i;

	if (check_type(f, WIRE_INVENTORY, why) == -1)
		return -1;
	unpack_init(&u, f->payload, f->len);
	unpack_str(&u, m->facts, sizeof(m->facts));
	unpack_bytes_ref(&u, &s, &m->scripts_len, PROTO_SCRIPTS_MAX);
	if (finish(&u, why) == -1)
		return -1;
	for (i = 0; i < m->scripts_len; i++)
		if (s[i] < 0x20 || s[i] > 0x7e) {
			*why = "bad script list";
			return -1;
		}
	if (m->facts[0] != '\0' && !printable(m->facts)) {
		*why = "bad facts";
		return -1;
	}
	m->scripts = (const char *)s;
	return 0;
}

/* ---- managed scripts (issue 14) ----------------------------------------- */

static void
fill_signkey(struct packer *p, const void *arg)
{
	const struct msg_signkey	*m = arg;

	pack_bytes(p, m->pub, sizeof(m->pub));
	pack_bytes(p, m->mac, sizeof(m->mac));
}

int
proto_encode_signkey(struct buf *out, const struct msg_signkey *m)
{
	return frame(out, WIRE_SIGNKEY, fill_signkey, m);
}

int
proto_decode_signkey(const struct wire_frame *f, struct msg_signkey *m,
    const char **why)
{
	struct unpacker	u;

	if (check_type(f, WIRE_SIGNKEY, why) == -1)
		return -1;
	unpack_init(&u, f->payload, f->len);
	unpack_fixed(&u, m->pub, sizeof(m->pub));
	unpack_fixed(&u, m->mac, sizeof(m->mac));
	return finish(&u, why);
}

static const char *
script_put_invalid(const struct msg_script_put *m)
{
	if (!proto_script_name_valid(m->name))
		return "bad script name";
	if (m->version == 0)
		return "bad script version";
	if (strnlen(m->description, sizeof(m->description)) ==
	    sizeof(m->description) || !printable(m->description))
		return "bad script description";
	if (!proto_fingerprint_valid(m->sha256))
		return "bad script hash";
	if (m->body_len > PROTO_SCRIPT_BODY_MAX)
		return "script too long";
	if (m->body_len < 2 || m->body == NULL || m->body[0] != '#' ||
	    m->body[1] != '!')
		return "script does not start with #!";
	return NULL;
}

static void
fill_script_put(struct packer *p, const void *arg)
{
	const struct msg_script_put	*m = arg;

	pack_str(p, m->name);
	pack_u32(p, m->version);
	pack_str(p, m->description);
	pack_str(p, m->sha256);
	pack_bytes(p, m->body, m->body_len);
	pack_bytes(p, m->sig, sizeof(m->sig));
}

int
proto_encode_script_put(struct buf *out, const struct msg_script_put *m)
{
	if (script_put_invalid(m) != NULL)
		return -1;
	return frame(out, WIRE_SCRIPT_PUT, fill_script_put, m);
}

int
proto_decode_script_put(const struct wire_frame *f, struct msg_script_put *m,
    const char **why)
{
	struct unpacker	 u;
	const char	*bad;

	if (check_type(f, WIRE_SCRIPT_PUT, why) == -1)
		return -1;
	unpack_init(&u, f->payload, f->len);
	unpack_str(&u, m->name, sizeof(m->name));
	unpack_u32(&u, &m->version);
	unpack_str(&u, m->description, sizeof(m->description));
	unpack_str(&u, m->sha256, sizeof(m->sha256));
	unpack_bytes_ref(&u, &m->body, &m->body_len, PROTO_SCRIPT_BODY_MAX);
	unpack_fixed(&u, m->sig, sizeof(m->sig));
	if (finish(&u, why) == -1)
		return -1;
	if ((bad = script_put_invalid(m)) != NULL) {
		*why = bad;
		return -1;
	}
	return 0;
}

static void
fill_script_delete(struct packer *p, const void *arg)
{
	const struct msg_script_delete	*m = arg;

	pack_str(p, m->name);
	pack_u32(p, m->version);
	pack_bytes(p, m->sig, sizeof(m->sig));
}

int
proto_encode_script_delete(struct buf *out, const struct msg_script_delete *m)
{
	if (!proto_script_name_valid(m->name) || m->version == 0)
		return -1;
	return frame(out, WIRE_SCRIPT_DELETE, fill_script_delete, m);
}

int
proto_decode_script_delete(const struct wire_frame *f,
    struct msg_script_delete *m, const char **why)
{
	struct unpacker	u;

	if (check_type(f, WIRE_SCRIPT_DELETE, why) == -1)
		return -1;
	unpack_init(&u, f->payload, f->len);
	unpack_str(&u, m->name, sizeof(m->name));
	unpack_u32(&u, &m->version);
	unpack_fixed(&u, m->sig, sizeof(m->sig));
	if (finish(&u, why) == -1)
		return -1;
	if (!proto_script_name_valid(m->name)) {
		*why = "bad script name";
		return -1;
	}
	if (m->version == 0) {
		*why = "bad script version";
		return -1;
	}
	return 0;
}

static const char *
script_ack_invalid(const struct msg_script_ack *m)
{
	size_t	n = strnlen(m->message, sizeof(m->message));

	/* A put's or delete's (a name and a version), or a SIGNKEY's
	 * (neither). */
	if (m->name[0] == '\0' ? m->version != 0 :
	    !proto_script_name_valid(m->name) || m->version == 0)
		return "bad script acknowledgement";
	if (n >= sizeof(m->message) || !printable(m->message))
		return "bad message";
	if (m->status == SCRIPT_ACK_REFUSED)
		return n > 0 ? NULL : "refused without a reason";
	if (m->status != SCRIPT_ACK_OK)
		return "bad status";
	return NULL;
}

static void
fill_script_ack(struct packer *p, const void *arg)
{
	const struct msg_script_ack	*m = arg;

	pack_str(p, m->name);
	pack_u32(p, m->version);
	pack_u8(p, m->status);
	pack_str(p, m->message);
}

int
proto_encode_script_ack(struct buf *out, const struct msg_script_ack *m)
{
	if (script_ack_invalid(m) != NULL)
		return -1;
	return frame(out, WIRE_SCRIPT_ACK, fill_script_ack, m);
}

int
proto_decode_script_ack(const struct wire_frame *f, struct msg_script_ack *m,
    const char **why)
{
	struct unpacker	 u;
	const char	*bad;

	if (check_type(f, WIRE_SCRIPT_ACK, why) == -1)
		return -1;
	memset(m, 0, sizeof(*m));
	unpack_init(&u, f->payload, f->len);
	unpack_str(&u, m->name, sizeof(m->name));
	unpack_u32(&u, &m->version);
	unpack_u8(&u, &m->status);
	unpack_str(&u, m->message, sizeof(m->message));
	if (finish(&u, why) == -1)
		return -1;
	if ((bad = script_ack_invalid(m)) != NULL) {
		*why = bad;
		return -1;
	}
	return 0;
}

/* ---- end-to-end MACs and the enrolment's wrapping ------------------- */

#define LABEL_ORDER	"octopus-v2 order"
#define LABEL_RESULT	"octopus-v2 result"
#define LABEL_WRAP	"octopus-v2 enrol-wrap"
#define LABEL_SIGNKEY	"octopus-v2 signkey"

static int
mac_packed(const uint8_t key[PROTO_KEY_LEN], struct buf *b,
    uint8_t mac[PROTO_MAC_LEN])
{
	int	rc;

	rc = crypto_hmac_sha256(key, PROTO_KEY_LEN, b->data, b->len, mac);
	buf_free(b);
	return rc;
}

int
proto_order_mac(const uint8_t key[PROTO_KEY_LEN], uint64_t tentacle,
    const struct msg_order *m, const uint8_t exporter[PROTO_EXPORTER_LEN],
    uint8_t mac[PROTO_MAC_LEN])
{
	struct buf	b;
	struct packer	p;

	buf_init(&b, 1024);
	pack_init(&p, &b);
	pack_str(&p, LABEL_ORDER);
	pack_u64(&p, tentacle);
	pack_u64(&p, m->job);
	pack_str(&p, m->script);
	pack_str(&p, m->script_sha256);
	pack_bytes(&p, exporter, PROTO_EXPORTER_LEN);
	if (pack_error(&p)) {
		buf_free(&b);
		return -1;
	}
	return mac_packed(key, &b, mac);
}

int
proto_order_mac_ok(const uint8_t key[PROTO_KEY_LEN], uint64_t tentacle,
    const struct msg_order *m, const uint8_t exporter[PROTO_EXPORTER_LEN])
{
	uint8_t	mac[PROTO_MAC_LEN];

	return proto_order_mac(key, tentacle, m, exporter, mac) == 0 &&
	    crypto_equal(mac, m->mac, sizeof(mac));
}

int
proto_result_mac(const uint8_t key[PROTO_KEY_LEN], uint64_t tentacle,
    const struct msg_result *m, uint8_t mac[PROTO_MAC_LEN])
{
	struct buf	b;
	struct packer	p;

	if (m->output_len > PROTO_OUTPUT_MAX ||
	    (m->output_len > 0 && m->output == NULL))
		return -1;
	buf_init(&b, WIRE_PAYLOAD_MAX);
	pack_init(&p, &b);
	pack_str(&p, LABEL_RESULT);
	pack_u64(&p, tentacle);
	fill_result_fields(&p, m);
	if (m->sha256[0] != '\0')
		pack_str(&p, m->sha256);
	if (pack_error(&p)) {
		buf_free(&b);
		return -1;
	}
	return mac_packed(key, &b, mac);
}

int
proto_result_mac_ok(const uint8_t key[PROTO_KEY_LEN], uint64_t tentacle,
    const struct msg_result *m)
{
	uint8_t	mac[PROTO_MAC_LEN];

	return proto_result_mac(key, tentacle, m, mac) == 0 &&
	    crypto_equal(mac, m->mac, sizeof(mac));
}

int
proto_signkey_mac(const uint8_t key[PROTO_KEY_LEN], uint64_t tentacle,
    const uint8_t pub[PROTO_SIGN_PUB_LEN],
    const uint8_t exporter[PROTO_EXPORTER_LEN], uint8_t mac[PROTO_MAC_LEN])
{
	struct buf	b;
	struct packer	p;

	buf_init(&b, 256);
	pack_init(&p, &b);
	pack_str(&p, LABEL_SIGNKEY);
	pack_u64(&p, tentacle);
	pack_bytes(&p, pub, PROTO_SIGN_PUB_LEN);
	pack_bytes(&p, exporter, PROTO_EXPORTER_LEN);
	if (pack_error(&p)) {
		buf_free(&b);
		return -1;
	}
	return mac_packed(key, &b, mac);
}

int
proto_signkey_mac_ok(const uint8_t key[PROTO_KEY_LEN], uint64_t tentacle,
    const struct msg_signkey *m, const uint8_t exporter[PROTO_EXPORTER_LEN])
{
	uint8_t	mac[PROTO_MAC_LEN];

	return proto_signkey_mac(key, tentacle, m->pub, exporter, mac) == 0 &&
	    crypto_equal(mac, m->mac, sizeof(mac));
}

/* label, 2 public keys, ID, status, signing key: 21 + 64 + 9 + 32 */
#define WRAP_INFO_MAX	160

/* info (also the AEAD's aad) and the derived key and nonce. */
static int
wrap_keys(const uint8_t shared[X25519_LEN],
    const uint8_t enrol_pub[PROTO_PUB_LEN],
    const uint8_t exporter[PROTO_EXPORTER_LEN],
    const struct msg_enrol_reply *r, uint8_t info[WRAP_INFO_MAX],
    size_t *infolen,
    uint8_t kn[AEAD_KEY_LEN + AEAD_NONCE_LEN])
{
	size_t	n, l = strlen(LABEL_WRAP);
	int	i;

	memcpy(info, LABEL_WRAP, l);
	n = l;
	memcpy(info + n, enrol_pub, PROTO_PUB_LEN);
	n += PROTO_PUB_LEN;
	memcpy(info + n, r->brain_pub, PROTO_PUB_LEN);
	n += PROTO_PUB_LEN;
	for (i = 7; i >= 0; i--)
		info[n++] = (uint8_t)(r->id >> (8 * i));
	info[n++] = r->status;
	if (r->has_sign_pub) {
		memcpy(info + n, r->sign_pub, PROTO_SIGN_PUB_LEN);
		n += PROTO_SIGN_PUB_LEN;
	}
	*infolen = n;
	return crypto_hkdf_sha256(exporter, PROTO_EXPORTER_LEN, shared,
	    X25519_LEN, info, n, kn, AEAD_KEY_LEN + AEAD_NONCE_LEN);
}

int
proto_enrol_pub_valid(const uint8_t pub[PROTO_PUB_LEN])
{
	uint8_t	priv[X25519_LEN], mine[X25519_LEN], shared[X25519_LEN];
	int	ok;

	ok = crypto_x25519_keypair(priv, mine) == 0 &&
	    crypto_x25519(priv, pub, shared) == 0;
	crypto_wipe(priv, sizeof(priv));
	crypto_wipe(shared, sizeof(shared));
	return ok;
}

int
proto_enrol_wrap(const uint8_t enrol_pub[PROTO_PUB_LEN],
    const uint8_t exporter[PROTO_EXPORTER_LEN],
    const uint8_t key[PROTO_KEY_LEN], struct msg_enrol_reply *r)
{
	uint8_t	priv[X25519_LEN], shared[X25519_LEN], info[WRAP_INFO_MAX];
	uint8_t	kn[AEAD_KEY_LEN + AEAD_NONCE_LEN];
	size_t	infolen;
	int	rc = -1;

	if (crypto_x25519_keypair(priv, r->brain_pub) == 0 &&
	    crypto_x25519(priv, enrol_pub, shared) == 0 &&
	    wrap_keys(shared, enrol_pub, exporter, r, info, &infolen,
	    kn) == 0 &&
	    crypto_aead_seal(kn, kn + AEAD_KEY_LEN, info, infolen, key,
	    PROTO_KEY_LEN, r->wrapped_key) == 0)
		rc = 0;
	crypto_wipe(priv, sizeof(priv));
	crypto_wipe(shared, sizeof(shared));
	crypto_wipe(kn, sizeof(kn));
	if (rc == -1)
		crypto_wipe(r->wrapped_key, sizeof(r->wrapped_key));
	return rc;
}

int
proto_enrol_unwrap(const uint8_t enrol_priv[PROTO_PUB_LEN],
    const uint8_t enrol_pub[PROTO_PUB_LEN],
    const uint8_t exporter[PROTO_EXPORTER_LEN],
    const struct msg_enrol_reply *r, uint8_t key[PROTO_KEY_LEN])
{
	uint8_t	shared[X25519_LEN], info[WRAP_INFO_MAX];
	uint8_t	kn[AEAD_KEY_LEN + AEAD_NONCE_LEN];
	size_t	infolen;
	int	rc = -1;

	if (crypto_x25519(enrol_priv, r->brain_pub, shared) == 0 &&
	    wrap_keys(shared, enrol_pub, exporter, r, info, &infolen,
	    kn) == 0 &&
	    crypto_aead_open(kn, kn + AEAD_KEY_LEN, info, infolen,
	    r->wrapped_key, sizeof(r->wrapped_key), key) == 0)
		rc = 0;
	crypto_wipe(shared, sizeof(shared));
	crypto_wipe(kn, sizeof(kn));
	return rc;
}

const char *
proto_purpose_str(uint8_t p)
{
	switch (p) {
	case PURPOSE_ENROL:	return "enrol";
	case PURPOSE_POLL:	return "poll";
	case PURPOSE_PING:	return "ping";
	case PURPOSE_ORDER:	return "order";
	case PURPOSE_RESULT:	return "result";
	case PURPOSE_SCRIPT:	return "script";
	default:		return "unknown";
	}
}

const char *
proto_enrolment_str(uint8_t e)
{
	switch (e) {
	case ENROLMENT_PENDING:		return "pending";
	case ENROLMENT_ACCEPTED:	return "accepted";
	case ENROLMENT_REJECTED:	return "rejected";
	default:			return "unknown";
	}
}
