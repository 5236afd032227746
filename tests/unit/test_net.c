#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_listen),
		cmocka_unit_test(test_listen_v6),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_addr),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
