/*
 * The tentacle's enrolment: what the brain gave it (ID, key, the brain's
 * certificate fingerprint, the brain's address and ports) and its status.
 * Kept in state_dir/private/enrolment (the directory only the supervisor,
 * root with privilege separation, writes: keyfile.h), `key = value`
 * lines, mode 0600, written atomically (temporary file, fsync, rename,
 * fsync of the directory). With privilege separation only the supervisor
 * writes it: the register hands it the enrolment (privsep.h).
 *
 * The reader is a pure function over a buffer (unit tests, fuzzers) and
 * strict: every field present once (script_signing_key at most once: a
 * brain before issue 14 sends none), each of the right shape, nothing
 * else.
 * A corrupt file is an error for a person to look at, never a reason to
 * enrol again.
 */
#ifndef OCTO_ENROLMENT_H
#define OCTO_ENROLMENT_H

#include <stddef.h>
#include <stdint.h>

#include "limits.h"
#include "proto.h"

/* The file is a dozen short lines; anything larger is not ours. */
#define ENROLMENT_FILE_MAX	4096

struct enrolment {
	uint64_t	id;
	uint8_t		key[PROTO_KEY_LEN];		/* secret */
	char		brain_fingerprint[OCTO_FPR_HEX_LEN + 1];
	char		brain_address[OCTO_ADDR_MAX];
	int		brain_registerer_port;
	int		brain_commander_port;
	uint8_t		status;			/* enum proto_enrolment */
	int64_t		enrolled_at;		/* unix time */
	/* The brain's script-signing key from ENROL_REPLY (issue 14),
	 * optional: `script_signing_key = HEX`. The supervisor pins it
	 * (managed.h) when none is pinned. */
	uint8_t		has_sign_pub;
	uint8_t		sign_pub[PROTO_SIGN_PUB_LEN];
};

/* Parse a whole file held in buf (pure). On error -1 and err says which
 * line and what is wrong (never the key's value). */
int	enrolment_parse(const char *buf, size_t len, struct enrolment *,
	    char *err, size_t errlen);

/* The file's text; -1 if a field is out of shape or out is too small. */
int	enrolment_format(const struct enrolment *, char *out, size_t outlen);

#define ENROLMENT_DIR	"private"	/* in state_dir: KEYFILE_DIR */
#define ENROLMENT_NAME	"enrolment"

/* state_dir/private/enrolment into path. -1 if too long. */
int	enrolment_path(const char *state_dir, char *path, size_t pathlen);
/* Where a tentacle before this change kept it: state_dir/enrolment. */
int	enrolment_old_path(const char *state_dir, char *path, size_t pathlen);
/* At start (the supervisor, once state_dir/private exists): an old
 * state_dir/enrolment is moved in, without its script_signing_key (the
 * dropped user could write that file); one left beside a new enrolment is
 * removed. 0, or -1 with err (a corrupt old file stays where it is). */
int	enrolment_migrate(const char *state_dir, char *err, size_t errlen);

/* Read and parse path: 0, 1 if it does not exist, -1 with err naming
 * the file and the reason. */
int	enrolment_load(const char *path, struct enrolment *, char *err,
	    size_t errlen);

/* Write atomically (see above); -1 with err naming the file. */
int	enrolment_store(const char *path, const struct enrolment *, char *err,
	    size_t errlen);

/* Wipe the key. */
void	enrolment_wipe(struct enrolment *);

#endif
