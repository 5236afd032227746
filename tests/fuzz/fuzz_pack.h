/*
 * The little language of fuzz_pack.c, shared with gen_corpus.c: a program
 * byte is an operation (low 3 bits) and an index (high 5 bits) into the
 * table of that operation (taken modulo its size).
 */
#ifndef OCTO_FUZZ_PACK_H
#define OCTO_FUZZ_PACK_H

#include <stddef.h>
#include <stdint.h>

#include "limits.h"

enum fuzz_pack_op {
	OP_U8, OP_U32, OP_U64, OP_STR, OP_STR_REF, OP_BYTES_REF, OP_FIXED,
	OP_END,
};

#define OP(op, idx)	((uint8_t)((op) | (idx) << 3))

/* unpack_str's dstsz */
static const size_t str_sizes[] = {
	0, 1, 2, 3, 8, 16, OCTO_NAME_MAX, OCTO_ADDR_MAX,
	OCTO_TOKEN_HEX_LEN + 1, OCTO_PASSWORD_MAX + 1, OCTO_PATH_MAX, 4096,
};
enum { STR_NAME = 6, STR_ADDR = 7, STR_TOKEN = 8, STR_PASSWORD = 9,
	STR_PATH = 10 };

/* unpack_str_ref's and unpack_bytes_ref's max */
static const size_t ref_maxes[] = {
	0, 1, 4, 16, OCTO_NAME_MAX, 4096, OCTO_OUTPUT_MAX, IPC_PAYLOAD_MAX,
	UINT32_MAX, SIZE_MAX,
};
enum { REF_OUTPUT = 6, REF_IPC = 7 };

/* unpack_fixed's n */
static const size_t fixed_sizes[] = { 0, 1, 4, 16, 32, 64 };
enum { FIXED_16 = 3, FIXED_32 = 4 };

#define PICK(table, arg) \
	((table)[(arg) % (sizeof(table) / sizeof((table)[0]))])

#endif
