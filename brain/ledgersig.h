/*
 * The ledger's checkpoints (issue 17): the chain's length and head hash,
 * signed with an Ed25519 key of the brain's own (state_dir/ledger.key,
 * 64 hex digits of the private key, mode 0600), exported as
 * ledger.checkpoint events; a copy of them kept off the box shows a cut
 * tail or a rewritten chain (octoBrain --verify-ledger --checkpoints).
 * What is signed: "octopus-ledger-checkpoint\nBRAIN\nLENGTH\nHEAD".
 */
#ifndef OCTO_LEDGERSIG_H
#define OCTO_LEDGERSIG_H

#include <stddef.h>
#include <stdint.h>

#define LEDGER_KEY_LEN		32
#define LEDGER_SIG_LEN		64

/* Read the key, or make it when the file does not exist (*made = 1):
 * 0, or -1 with err. pub gets its public key. */
int	ledger_key_load(const char *path, int may_make,
	    uint8_t priv[LEDGER_KEY_LEN], uint8_t pub[LEDGER_KEY_LEN],
	    int *made, char *err, size_t errlen);
/* sig_hex: LEDGER_SIG_LEN * 2 + 1. 0 or -1. */
int	ledger_sign(const uint8_t priv[LEDGER_KEY_LEN], const char *brain,
	    int64_t length, const char *head, char *sig_hex);
/* 1 if sig_hex is the key's signature of that checkpoint, else 0. */
int	ledger_sig_ok(const uint8_t pub[LEDGER_KEY_LEN], const char *brain,
	    int64_t length, const char *head, const char *sig_hex);

#endif
