/*
 * Sockets: listening sockets with the options every Octopus port wants,
 * and address formatting for log lines.
 */
#ifndef OCTO_NET_H
#define OCTO_NET_H

#include <stddef.h>
#include <sys/socket.h>

/*
 * A non-blocking TCP listening socket on addr:port (numeric IPv4 or IPv6;
 * "" or NULL = all IPv4 addresses), SO_REUSEADDR, TCP_NODELAY (inherited by
 * accepted sockets on Linux: small replies must not wait 40 ms for a
 * delayed ACK), backlog OCTO_LISTEN_BACKLOG. -1 with err naming the
 * address ("127.0.0.1:6000: Address already in use").
 */
int	net_listen(const char *addr, int port, char *err, size_t errlen);

/* Fill a sockaddr from a numeric address and port; -1 if not numeric. */
int	net_sockaddr(const char *addr, int port, struct sockaddr_storage *,
	    socklen_t *);

/* "1.2.3.4:5678" or "[::1]:5678"; out needs NET_PEER_MAX bytes. */
#define NET_PEER_MAX	64
void	net_format_peer(const struct sockaddr *, socklen_t, char *out);
/* Same for the address alone (no port): for rate limits and storage. */
void	net_format_addr(const struct sockaddr *, socklen_t, char *out);

/* 1 if s is a numeric IPv4 or IPv6 address. */
int	net_addr_valid(const char *s);

/* An address as 16 bytes (IPv4 as IPv4-mapped IPv6), to compare and
 * sort: from a numeric address (-1 if not one) or a socket's. */
#define NET_ADDR_KEY_LEN	16
int	net_addr_key(const char *addr, unsigned char key[NET_ADDR_KEY_LEN]);
int	net_sockaddr_key(const struct sockaddr *, socklen_t,
	    unsigned char key[NET_ADDR_KEY_LEN]);

/* 1 if addr names one address: not "", 0.0.0.0 or ::. */
int	net_addr_specific(const char *addr);
/* The address to bind an outgoing connection to before connecting to
 * `to`: local when it is specific and of to's family, else NULL (let the
 * kernel choose). */
const char *net_source_for(const char *local, const char *to);

#endif
