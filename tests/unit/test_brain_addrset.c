/* The set of addresses that keep connection slots (brain/addrset.c);
 * net.h's address keys it holds are tested in test_net.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "addrset.h"
#include "net.h"

static void
key(const char *addr, unsigned char out[NET_ADDR_KEY_LEN])
{
	assert_int_equal(net_addr_key(addr, out), 0);
}

static void
test_set(void **state)
{
	static const char *const in[] = { "192.0.2.9", "2001:db8::5",
	    "192.0.2.1", "192.0.2.9", "198.51.100.1" };
	unsigned char	 keys[5][NET_ADDR_KEY_LEN], k[NET_ADDR_KEY_LEN];
	struct addrset	 s;
	size_t		 i;

	memset(&s, 0, sizeof(s));
	key("192.0.2.1", k);
	assert_false(addrset_has(&s, k));	/* empty */
	for (i = 0; i < 5; i++)
		key(in[i], keys[i]);
	/* in two pieces, as the maestro's messages come */
	assert_int_equal(addrset_add(&s, keys[0], 2), 0);
	assert_int_equal(addrset_add(&s, keys[2], 3), 0);
	addrset_seal(&s);
	assert_int_equal(s.n, 4);	/* the duplicate dropped */
	for (i = 0; i < 5; i++)
		assert_true(addrset_has(&s, keys[i]));
	key("192.0.2.2", k);
	assert_false(addrset_has(&s, k));
	key("2001:db8::6", k);
	assert_false(addrset_has(&s, k));
	/* past its bound: refused, the set as it was */
	assert_int_equal(addrset_add(&s, keys[0], ADDRSET_MAX), -1);
	assert_int_equal(s.n, 4);
	addrset_clear(&s);
	assert_int_equal(s.n, 0);
	key("192.0.2.1", k);
	assert_false(addrset_has(&s, k));
	addrset_clear(&s);	/* twice is fine */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
