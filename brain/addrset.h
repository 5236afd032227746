/*
 * A set of addresses (net.h's 16-byte keys), built in pieces, then sealed
 * (sorted) and asked: the registerer's and the commander's copy of the
 * accepted tentacles' addresses (IPC_TENTACLE_ADDRESSES), for which they
 * keep connection slots no stranger can take (peer.c). Pure.
 */
#ifndef OCTO_ADDRSET_H
#define OCTO_ADDRSET_H

#include <stddef.h>

#include "net.h"

/* Addresses one set holds at most: two per tentacle (its command
 * address and its enrolment's source) of the largest fleet
 * max_tentacles allows. */
#define ADDRSET_MAX	(2 * 1000000)

struct addrset {
	unsigned char	(*keys)[NET_ADDR_KEY_LEN];
	size_t		 n, cap;
};

/* Append n keys (n * NET_ADDR_KEY_LEN bytes): 0, or -1 (out of memory or
 * past ADDRSET_MAX; the set is as before). */
int	addrset_add(struct addrset *, const unsigned char *keys, size_t n);
/* Sort and drop duplicates: addrset_has works after it. */
void	addrset_seal(struct addrset *);
int	addrset_has(const struct addrset *,
	    const unsigned char key[NET_ADDR_KEY_LEN]);
void	addrset_clear(struct addrset *);

#endif
