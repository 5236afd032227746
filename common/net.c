/*
 * Listening sockets and address formatting.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <bsd/string.h>

#include "limits.h"
#include "net.h"

int
net_sockaddr(const char *addr, int port, struct sockaddr_storage *ss,
    socklen_t *slen)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	if (port < 0 || port > 65535)
		return -1;
	memset(ss, 0, sizeof(*ss));
	if (addr == NULL || addr[0] == '\0')
		addr = "0.0.0.0";
	if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		*slen = sizeof(*sin);
		return 0;
	}
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		*slen = sizeof(*sin6);
		return 0;
	}
	return -1;
}

int
net_addr_valid(const char *s)
{
	struct in_addr	a4;
	struct in6_addr	a6;

	if (s == NULL)
		return 0;
	return inet_pton(AF_INET, s, &a4) == 1 ||
	    inet_pton(AF_INET6, s, &a6) == 1;
}

static void
v4_mapped(const struct in_addr *a4, unsigned char key[NET_ADDR_KEY_LEN])
{
	memset(key, 0, NET_ADDR_KEY_LEN);
	key[10] = key[11] = 0xff;
	memcpy(key + 12, &a4->s_addr, 4);
}

int
net_addr_key(const char *addr, unsigned char key[NET_ADDR_KEY_LEN])
{
	struct in_addr	a4;
	struct in6_addr	a6;

	if (addr == NULL)
		return -1;
	if (inet_pton(AF_INET, addr, &a4) == 1) {
		v4_mapped(&a4, key);
		return 0;
	}
	if (inet_pton(AF_INET6, addr, &a6) == 1) {
		memcpy(key, a6.s6_addr, NET_ADDR_KEY_LEN);
		return 0;
	}
	return -1;
}

int
net_sockaddr_key(const struct sockaddr *sa, socklen_t len,
    unsigned char key[NET_ADDR_KEY_LEN])
{
	if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
		v4_mapped(&((const struct sockaddr_in *)sa)->sin_addr, key);
		return 0;
	}
	if (sa->sa_family == AF_INET6 &&
	    len >= sizeof(struct sockaddr_in6)) {
		memcpy(key, ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr,
		    NET_ADDR_KEY_LEN);
		return 0;
	}
	return -1;
}

int
net_addr_specific(const char *addr)
{
	return addr != NULL && addr[0] != '\0' &&
	    strcmp(addr, "0.0.0.0") != 0 && strcmp(addr, "::") != 0;
}

const char *
net_source_for(const char *local, const char *to)
{
	if (!net_addr_specific(local) || to == NULL ||
	    (strchr(local, ':') == NULL) != (strchr(to, ':') == NULL))
		return NULL;
	return local;
}

static void
net_label(const char *addr, int port, char *out, size_t outsz)
{
	if (addr == NULL || addr[0] == '\0')
		addr = "0.0.0.0";
	if (strchr(addr, ':') != NULL)
		snprintf(out, outsz, "[%s]:%d", addr, port);
	else
		snprintf(out, outsz, "%s:%d", addr, port);
}

int
net_listen(const char *addr, int port, char *err, size_t errlen)
{
	struct sockaddr_storage	 ss;
	socklen_t		 slen;
	char			 label[OCTO_ADDR_MAX + 16];
	int			 fd, on = 1, saved;
	const char		*what;

	net_label(addr, port, label, sizeof(label));
	if (port < 0 || port > 65535) {
		snprintf(err, errlen, "%s: bad port", label);
		return -1;
	}
	if (net_sockaddr(addr, port, &ss, &slen) == -1) {
		snprintf(err, errlen, "%s: not a numeric IPv4 or IPv6 address",
		    label);
		return -1;
	}
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1) {
		what = "socket";
		goto fail;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1) {
		what = "SO_REUSEADDR";
		goto fail;
	}
	/* Accepted sockets inherit it on Linux. */
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) == -1) {
		what = "TCP_NODELAY";
		goto fail;
	}
	if (ss.ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &on, sizeof(on)) == -1) {
		what = "IPV6_V6ONLY";
		goto fail;
	}
	if (bind(fd, (struct sockaddr *)&ss, slen) == -1) {
		what = NULL;
		goto fail;
	}
	if (listen(fd, OCTO_LISTEN_BACKLOG) == -1) {
		what = "listen";
		goto fail;
	}
	return fd;
 fail:
	saved = errno;
	if (fd != -1)
		close(fd);
	if (what != NULL)
		snprintf(err, errlen, "%s: %s: %s", label, what,
		    strerror(saved));
	else
		snprintf(err, errlen, "%s: %s", label, strerror(saved));
	errno = saved;
	return -1;
}

static void
net_format(const struct sockaddr *sa, socklen_t slen, char *out,
    int withport)
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;
	char				 a[INET6_ADDRSTRLEN];

	if (sa == NULL)
		goto unknown;
	if (sa->sa_family == AF_INET && slen >= sizeof(*sin)) {
		sin = (const struct sockaddr_in *)sa;
		if (inet_ntop(AF_INET, &sin->sin_addr, a, sizeof(a)) == NULL)
			goto unknown;
		if (withport)
			snprintf(out, NET_PEER_MAX, "%s:%u", a,
			    ntohs(sin->sin_port));
		else
			strlcpy(out, a, NET_PEER_MAX);
		return;
	}
	if (sa->sa_family == AF_INET6 && slen >= sizeof(*sin6)) {
		sin6 = (const struct sockaddr_in6 *)sa;
		if (inet_ntop(AF_INET6, &sin6->sin6_addr, a, sizeof(a)) ==
		    NULL)
			goto unknown;
		if (withport)
			snprintf(out, NET_PEER_MAX, "[%s]:%u", a,
			    ntohs(sin6->sin6_port));
		else
			strlcpy(out, a, NET_PEER_MAX);
		return;
	}
 unknown:
	strlcpy(out, "unknown", NET_PEER_MAX);
}

void
net_format_peer(const struct sockaddr *sa, socklen_t slen, char *out)
{
	net_format(sa, slen, out, 1);
}

void
net_format_addr(const struct sockaddr *sa, socklen_t slen, char *out)
{
	net_format(sa, slen, out, 0);
}
