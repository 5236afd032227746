/*
 * Text for the API from bytes nobody checked (a script's output, a row of
 * an older brain): well-formed UTF-8 (RFC 3629), anything else U+FFFD, so
 * that every JSON answer can be encoded whatever a host printed. Pure.
 */
#ifndef OCTO_UTF8_H
#define OCTO_UTF8_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define UTF8_KEEP_CONTROLS	0x1	/* else controls but tab are U+FFFD */

/* Length of the well-formed sequence at p[0..n) (no overlong form, no
 * surrogate, nothing past U+10FFFF), 0 if there is none. */
size_t	 utf8_seq(const uint8_t *p, size_t n);

/* Copy src[0..n) to dst (room for 3 * n bytes) with every byte that
 * starts no well-formed sequence replaced by U+FFFD; returns the length
 * written. */
size_t	 utf8_sanitize(char *dst, const uint8_t *src, size_t n, int flags);

/* A JSON string of src[0..n), sanitized as above; NULL only when out of
 * memory. */
json_t	*utf8_json(const void *src, size_t n, int flags);

#endif
