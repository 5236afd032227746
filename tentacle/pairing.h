/*
 * The pairing code of a tentacle that waits to be enrolled by address
 * (SPEC "Enrolment by address"): when `pairing = required` and neither
 * `brain` nor `brain_fingerprint` ties it to a brain, a brain that
 * connects to the register must prove it knows the code before the
 * tentacle says anything of value (proto.h: PAIR_PROOF), and the tentacle
 * proves it back.
 *
 * The supervisor (root, with privilege separation) owns the code: it makes
 * it, keeps it in state_dir/pairing-code (0600, its own, never followed
 * through a link), shows it on the terminal with --no-daemon (never in
 * syslog) and hands it to the register it forks. The register counts the
 * wrong proofs: after PAIRING_WRONG_MAX it exits with
 * TENTACLE_EXIT_PAIRING_WRONG, and when the code is PAIRING_LIFETIME_S old
 * with TENTACLE_EXIT_PAIRING_EXPIRED; the supervisor then makes a new
 * code and starts a new register at once. After PAIRING_ROTATIONS_MAX
 * codes lost to wrong proofs within PAIRING_LIFETIME_S, pairing pauses
 * until the oldest of them is that old: at most 9 guesses an hour.
 */
#ifndef OCTO_TENTACLE_PAIRING_H
#define OCTO_TENTACLE_PAIRING_H

#include <time.h>

#include "proto.h"
#include "tentacle.h"

#define PAIRING_FILE		"pairing-code"
#define PAIRING_WRONG_MAX	3	/* wrong proofs, then a new code */
#define PAIRING_LIFETIME_S	3600	/* then a new code */
#define PAIRING_ROTATIONS_MAX	3	/* codes lost per hour: then pause */

/* This configuration, not enrolled, needs the code (not tied, required). */
int	pairing_wanted(const struct tentacle_conf *);

/* Read the code and the time it was made: 0; 1 if there is none (or the
 * file is not a private regular file of ours: a new code replaces it);
 * -1 with err on an error. */
int	pairing_read(const char *state_dir, char code[PROTO_PAIRING_LEN + 1],
	    time_t *made, char *err, size_t errlen);
/* Replace the file with code (atomically): 0, or -1 with err. */
int	pairing_write(const char *state_dir,
	    const char code[PROTO_PAIRING_LEN + 1], char *err, size_t errlen);
/* Remove the file (enrolled: the code is of no use any more). */
void	pairing_remove(const char *state_dir);

#endif
