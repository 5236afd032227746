/*
 * utf8_sanitize / utf8_json (brain/utf8.c): a script's output, from a
 * tentacle, made text for every JSON answer that carries it.
 *
 * Whatever the bytes: the output is at most 3 bytes per input byte, valid
 * UTF-8 (jansson's json_stringn takes it), without controls but tab unless
 * they are kept, and jansson encodes utf8_json's string. An input that is
 * valid already comes out unchanged (with the controls kept).
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fuzz.h"
#include "utf8.h"

static void
check(const uint8_t *data, size_t size, int flags)
{
	char	*out;
	size_t	 n, i;
	json_t	*j;
	char	*text;

	if ((out = malloc(size * 3 + 1)) == NULL)
		return;
	n = utf8_sanitize(out, data, size, flags);
	FUZZ_CHECK(n <= size * 3 && n >= size);
	FUZZ_CHECK((j = json_stringn(out, n)) != NULL);
	json_decref(j);
	if (!(flags & UTF8_KEEP_CONTROLS))
		for (i = 0; i < n; i++)
			FUZZ_CHECK(((unsigned char)out[i] >= 0x20 &&
			    out[i] != 0x7f) || out[i] == '\t');
	if ((flags & UTF8_KEEP_CONTROLS) &&
	    (j = json_stringn((const char *)data, size)) != NULL) {
		FUZZ_CHECK(n == size && memcmp(out, data, size) == 0);
		json_decref(j);
	}
	free(out);
	if ((j = utf8_json(data, size, flags)) == NULL)
		return;		/* out of memory */
	FUZZ_CHECK((text = json_dumps(j, JSON_ENCODE_ANY)) != NULL);
	free(text);
	json_decref(j);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check(data, size, 0);
	check(data, size, UTF8_KEEP_CONTROLS);
	return 0;
}
