#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "net.h"

static void
test_listen(void **state)
{
	struct sockaddr_storage	ss;
	socklen_t		sl = sizeof(ss);
	char			err[256], peer[NET_PEER_MAX], addr[NET_PEER_MAX];
	int			fd, fd2, port;

	fd = net_listen("127.0.0.1", 0, err, sizeof(err));
	assert_true(fd >= 0);
	assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &sl), 0);
	port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	assert_true(port > 0);
	net_format_peer((struct sockaddr *)&ss, sl, peer);
	net_format_addr((struct sockaddr *)&ss, sl, addr);
	assert_string_equal(addr, "127.0.0.1");
	{
		char	want[NET_PEER_MAX];

		snprintf(want, sizeof(want), "127.0.0.1:%d", port);
		assert_string_equal(peer, want);
	}
	/* the same port again: in use, and the message names it */
	fd2 = net_listen("127.0.0.1", port, err, sizeof(err));
	assert_int_equal(fd2, -1);
	{
		char	want[128];

		snprintf(want, sizeof(want), "127.0.0.1:%d: Address already in "
		    "use", port);
		assert_string_equal(err, want);
	}
	close(fd);
}

static void
test_listen_v6(void **state)
{
	struct sockaddr_storage	ss;
	socklen_t		sl = sizeof(ss);
	char			err[256], peer[NET_PEER_MAX];
	int			fd;

	fd = net_listen("::1", 0, err, sizeof(err));
	if (fd == -1) {
		skip();		/* no IPv6 loopback in this sandbox */
	}
	assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &sl), 0);
	net_format_peer((struct sockaddr *)&ss, sl, peer);
	assert_true(strncmp(peer, "[::1]:", 6) == 0);
	close(fd);
}

static void
test_bad(void **state)
{
	char	err[256];

	assert_int_equal(net_listen("localhost", 0, err, sizeof(err)), -1);
	assert_string_equal(err, "localhost:0: not a numeric IPv4 or IPv6 "
	    "address");
	assert_int_equal(net_listen("1.2.3.4.5", 80, err, sizeof(err)), -1);
	assert_int_equal(net_listen("127.0.0.1", 70000, err, sizeof(err)),
	    -1);
	assert_int_equal(net_listen("127.0.0.1", -1, err, sizeof(err)), -1);
	/* an address that is not ours */
	assert_int_equal(net_listen("192.0.2.1", 0, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "192.0.2.1:0: "));
}

static void
test_addr(void **state)
{
	struct sockaddr_storage	ss;
	socklen_t		sl;
	char			out[NET_PEER_MAX];

	assert_int_equal(net_addr_valid("10.0.0.1"), 1);
	assert_int_equal(net_addr_valid("fe80::1"), 1);
	assert_int_equal(net_addr_valid("host"), 0);
	assert_int_equal(net_addr_valid(""), 0);
	assert_int_equal(net_addr_valid(NULL), 0);
	assert_int_equal(net_sockaddr("", 80, &ss, &sl), 0);
	assert_int_equal(ss.ss_family, AF_INET);
	net_format_peer((struct sockaddr *)&ss, sl, out);
	assert_string_equal(out, "0.0.0.0:80");
	assert_int_equal(net_sockaddr(NULL, 80, &ss, &sl), 0);
	assert_int_equal(net_sockaddr("2001:db8::1", 443, &ss, &sl), 0);
	net_format_peer((struct sockaddr *)&ss, sl, out);
	assert_string_equal(out, "[2001:db8::1]:443");
	net_format_addr((struct sockaddr *)&ss, sl, out);
	assert_string_equal(out, "2001:db8::1");
	assert_int_equal(net_sockaddr("x", 80, &ss, &sl), -1);
	net_format_peer(NULL, 0, out);
	assert_string_equal(out, "unknown");
}

static void
key(const char *addr, unsigned char out[NET_ADDR_KEY_LEN])
{
	assert_int_equal(net_addr_key(addr, out), 0);
}

static void
test_keys(void **state)
{
	unsigned char		a[NET_ADDR_KEY_LEN], b[NET_ADDR_KEY_LEN];
	struct sockaddr_in	sin;
	struct sockaddr_in6	sin6;

	/* an IPv4 address, its IPv4-mapped form and its socket: one key */
	key("192.0.2.1", a);
	key("::ffff:192.0.2.1", b);
	assert_memory_equal(a, b, sizeof(a));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(4000);
	inet_pton(AF_INET, "192.0.2.1", &sin.sin_addr);
	assert_int_equal(net_sockaddr_key((struct sockaddr *)&sin,
	    sizeof(sin), b), 0);
	assert_memory_equal(a, b, sizeof(a));
	/* IPv6 however written */
	key("2001:DB8::0:1", a);
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8::1", &sin6.sin6_addr);
	assert_int_equal(net_sockaddr_key((struct sockaddr *)&sin6,
	    sizeof(sin6), b), 0);
	assert_memory_equal(a, b, sizeof(a));
	assert_int_equal(net_addr_key("example.org", a), -1);
	assert_int_equal(net_addr_key("", a), -1);
	assert_int_equal(net_addr_key(NULL, a), -1);
	/* a short socket address is none */
	assert_int_equal(net_sockaddr_key((struct sockaddr *)&sin6,
	    sizeof(sin), b), -1);
}

/* Where the brain's and the tentacle's connections leave from. */
static void
test_source_for(void **state)
{
	assert_string_equal(net_source_for("127.0.0.5", "127.0.0.2"),
	    "127.0.0.5");
	assert_string_equal(net_source_for("2001:db8::1", "2001:db8::2"),
	    "2001:db8::1");
	/* a wildcard or nothing: the kernel chooses */
	assert_null(net_source_for("0.0.0.0", "127.0.0.2"));
	assert_null(net_source_for("::", "2001:db8::2"));
	assert_null(net_source_for("", "127.0.0.2"));
	assert_null(net_source_for(NULL, "127.0.0.2"));
	/* another family than the destination's */
	assert_null(net_source_for("127.0.0.5", "2001:db8::2"));
	assert_null(net_source_for("2001:db8::1", "192.0.2.1"));
	assert_true(net_addr_specific("192.0.2.1"));
	assert_false(net_addr_specific("0.0.0.0"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_listen),
		cmocka_unit_test(test_listen_v6),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_addr),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_source_for),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
