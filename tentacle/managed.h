/*
 * Scripts managed by the brain (issue 14), on the tentacle. Only the
 * process that writes managed_scripts_dir (the root supervisor with
 * privilege separation, else the command worker) calls what writes.
 *
 * managed_scripts_dir (0700, the writer's own; made at start when
 * managed_scripts = yes) holds, for a script NAME:
 *	NAME		the body, mode 0700, exactly the signed bytes
 *	.NAME.sig	its record (below): a dot-name is never a script name,
 *			so a record never shadows a script
 * The brain's pinned script-signing public key is beside the tentacle's
 * other root-owned secrets, in the TLS key's directory (keyfile.h; by
 * default state_dir/private, root's, 0700: managed_pin_dir):
 *	script-signing.pub	"ed25519 HEX\n" (0600), written once, never
 *				replaced
 *
 * A record is text, read strictly (managed_sig_parse):
 *	octopus-managed-script-v1\n
 *	version N\n			(1..UINT32_MAX, decimal, no zero first)
 *	sha256 HEX\n  | deleted\n	(64 lowercase hex: the body's; or a
 *					 deletion's tombstone, so that an
 *					 older put cannot come back)
 *	signature HEX\n			(128 lowercase hex: Ed25519, scriptsig.h)
 * Every write is atomic: a temporary file (O_EXCL, fsync), rename, fsync
 * of the directory. A put or delete whose version is below the record's
 * is refused; a put of the record's version is written again (the same
 * signed bytes, repairing a crash between the two renames).
 */
#ifndef OCTO_TENTACLE_MANAGED_H
#define OCTO_TENTACLE_MANAGED_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

#define MANAGED_SIG_MAGIC	"octopus-managed-script-v1\n"
#define MANAGED_SIG_MAX		512	/* a record's bytes */
#define MANAGED_PIN_FILE	"script-signing.pub"
/* What a run reads of a script into its sealed memfd. */
#define MANAGED_RUN_MAX		(16 * 1024 * 1024)
/* The refusal of a run whose bytes are not the ones ordered. */
#define MANAGED_DIFFERS		"script on the host differs from the one ordered"

struct managed_sig {
	uint32_t	version;
	int		deleted;
	char		sha256[OCTO_FPR_HEX_LEN + 1];	/* "" when deleted */
	uint8_t		sig[PROTO_SCRIPT_SIG_LEN];
};

/* Pure (unit tests, fuzzing): 0, or -1 with the reason in err. */
int	managed_sig_parse(const char *buf, size_t len, struct managed_sig *,
	    char *err, size_t errlen);
/* Append the record to out: 0, or -1 if out of shape. */
int	managed_sig_format(struct buf *out, const struct managed_sig *);

/* Make dir (0700) if it is missing; refuse one that is not a directory,
 * not ours, or that others may write: 0, or -1 with err. */
int	managed_dir_init(const char *dir, char *err, size_t errlen);
/* Where the key is pinned: the directory of conf->key. 0, or -1. */
struct tentacle_conf;
int	managed_pin_dir(const struct tentacle_conf *, char *out,
	    size_t outlen);
/* The pinned key in pin_dir: 1 and pub, 0 if none is pinned, -1 with
 * err. */
int	managed_pin_load(const char *dir, uint8_t pub[PROTO_SIGN_PUB_LEN],
	    char *err, size_t errlen);
/* Pin pub unless a key is pinned already: 1 pinned now, 0 the same key
 * was pinned, -1 with err (another key is pinned: never replaced). */
int	managed_pin_store(const char *dir,
	    const uint8_t pub[PROTO_SIGN_PUB_LEN], char *err, size_t errlen);

/* NAME's record: 1 and *s, 0 if there is none, -1 with err. */
int	managed_sig_load(const char *dir, const char *name,
	    struct managed_sig *s, char *err, size_t errlen);

/* A SCRIPT_PUT / SCRIPT_DELETE already decoded: checked (hash, signature
 * with pub, the pinned key: NULL if none is, then refused; version) and
 * written in dir. 0, or -1 with the reason (for the log and the
 * SCRIPT_ACK) in msg; ok may say more. */
int	managed_put(const char *dir, const uint8_t *pub,
	    const struct msg_script_put *, char *msg, size_t msglen);
int	managed_delete(const char *dir, const uint8_t *pub,
	    const struct msg_script_delete *, char *msg, size_t msglen);

/* Before a run: body (len bytes, read from the memfd about to run) is
 * managed script NAME's signed version: 0 and its version, or -1 with
 * err. */
int	managed_check(const char *dir, const uint8_t *pub, const char *name,
	    const void *body,
	    size_t len, const char *sha256hex, uint32_t *version, char *err,
	    size_t errlen);

/*
 * One frame of a PURPOSE_SCRIPT connection (SIGNKEY, SCRIPT_PUT,
 * SCRIPT_DELETE; its payload in f), with the exporter of the TLS session
 * that carried it: checked, done, logged (peer names the brain), and the
 * SCRIPT_ACK to send in *ack. With managed_scripts = no, everything is
 * refused. A SIGNKEY's MAC is checked with the enrolment's key, read from
 * state_dir by the caller (id, key).
 */
struct wire_frame;
void	managed_frame(const struct tentacle_conf *, const char *peer,
	    uint64_t id, const uint8_t key[PROTO_KEY_LEN],
	    const struct wire_frame *f,
	    const uint8_t exporter[PROTO_EXPORTER_LEN],
	    struct msg_script_ack *ack);

#endif
