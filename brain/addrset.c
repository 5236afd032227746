/*
 * A sorted array of 16-byte address keys (addrset.h).
 */
#include <stdlib.h>
#include <string.h>

#include "addrset.h"

int
addrset_add(struct addrset *s, const unsigned char *keys, size_t n)
{
	unsigned char	(*k)[NET_ADDR_KEY_LEN];
	size_t		 cap;

	if (n > ADDRSET_MAX || s->n > ADDRSET_MAX - n)
		return -1;
	if (s->n + n > s->cap) {
		cap = s->cap ? s->cap : 64;
		while (cap < s->n + n)
			cap *= 2;
		if ((k = reallocarray(s->keys, cap, sizeof(*k))) == NULL)
			return -1;
		s->keys = k;
		s->cap = cap;
	}
	if (n > 0)
		memcpy(s->keys[s->n], keys, n * NET_ADDR_KEY_LEN);
	s->n += n;
	return 0;
}

static int
key_cmp(const void *a, const void *b)
{
	return memcmp(a, b, NET_ADDR_KEY_LEN);
}

void
addrset_seal(struct addrset *s)
{
	size_t	i, j;

	if (s->n == 0)
		return;
	qsort(s->keys, s->n, NET_ADDR_KEY_LEN, key_cmp);
	for (i = 1, j = 1; i < s->n; i++)
		if (memcmp(s->keys[i], s->keys[j - 1], NET_ADDR_KEY_LEN) != 0)
			memmove(s->keys[j++], s->keys[i], NET_ADDR_KEY_LEN);
	s->n = j;
}

int
addrset_has(const struct addrset *s, const unsigned char key[NET_ADDR_KEY_LEN])
{
	return s->n > 0 && bsearch(key, s->keys, s->n, NET_ADDR_KEY_LEN,
	    key_cmp) != NULL;
}

void
addrset_clear(struct addrset *s)
{
	free(s->keys);
	memset(s, 0, sizeof(*s));
}
