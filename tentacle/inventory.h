/*
 * The script inventory the tentacle gives its brain in answer to the
 * keepalive ping (INVENTORY): a JSON array of {"name", "sha256",
 * "description", "version", "managed"} for every script it may run
 * (run_check_script() in scripts_dir, version 0, managed false; and, with
 * managed_scripts = yes, those of managed_scripts_dir that have a valid
 * record, with its version, managed true, listed instead of a local one
 * of the same name), sorted by name. The SHA-256 is the file's. The description is the second line of the file when it
 * reads `# description: ...` (trimmed, printable ASCII, at most
 * INVENTORY_DESC_MAX characters), else "".
 */
#ifndef OCTO_INVENTORY_H
#define OCTO_INVENTORY_H

#include <stddef.h>

#include "proto.h"

/* Characters of a description kept. */
#define INVENTORY_DESC_MAX	100
/* Scripts listed: each entry is at most ~400 bytes of JSON (a 63-byte
 * name, 64 hex digits, 100 characters that may each be escaped as two),
 * so 128 entries stay within PROTO_SCRIPTS_MAX (64 KiB); beyond, the rest
 * is left out (and logged). */
#define INVENTORY_SCRIPTS_MAX	128
/* Directory entries considered (they are sorted by name before the
 * first INVENTORY_SCRIPTS_MAX are kept): bounds the scan's memory. */
#define INVENTORY_SCAN_MAX	4096
/* Bytes of a file's head read for its description. */
#define INVENTORY_HEAD_MAX	1024

/* Pure: the description from the start of a file's content (out gets
 * "" when there is none). */
void	inventory_description(const char *head, size_t len, char *out,
	    size_t outlen);

/* Scan dir: a NUL-terminated JSON array (malloc'd, caller frees) of at
 * most PROTO_SCRIPTS_MAX bytes in *json; -1 with err. */
int	inventory_scan(const char *dir, char **json, char *err,
	    size_t errlen);
/* The same with managed_dir's scripts too (NULL: none). */
int	inventory_scan_all(const char *dir, const char *managed_dir,
	    char **json, char *err, size_t errlen);

#endif
