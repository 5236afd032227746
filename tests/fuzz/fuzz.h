/*
 * Shared by the libFuzzer targets of tests/fuzz/. Each target calls the
 * very function the daemons call; FUZZ_CHECK turns a broken invariant into
 * a crash that libFuzzer saves (an assert() could be compiled out).
 */
#ifndef OCTO_FUZZ_H
#define OCTO_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define FUZZ_CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: invariant broken: %s\n",	\
		    __FILE__, __LINE__, #cond);				\
		abort();						\
	}								\
} while (0)

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* 1 if the n bytes at p are all zero (what a refusal leaves behind). */
static inline int
fuzz_all_zero(const void *p, size_t n)
{
	const uint8_t	*b = p;

	while (n-- > 0)
		if (*b++ != 0)
			return 0;
	return 1;
}

#endif
