/*
 * The accept loop both tentacle children run (register on 7000, command
 * worker on 7001): every connection on the inherited listening socket
 * becomes a conn (common/conn.c: TLS 1.3, mutual, framed, with timeouts),
 * at most TENTACLE_CONN_MAX at once. Each connection is logged when its TLS
 * handshake completes and when it ends, with the reason; whole frames go
 * to the role's protocol.
 */
#include <sys/queue.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bsd/string.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "conn.h"
#include "log.h"
#include "net.h"
#include "tentacle.h"

/* After accept() fails for want of descriptors or memory, stop accepting
 * this long instead of spinning on a listening socket that stays ready. */
#define ACCEPT_PAUSE_S	1

struct listener {
	struct event_base		*base;
	struct evconnlistener		*evl;
	struct event			*ev_resume;
	SSL_CTX				*tls;
	int				 timeout;
	const struct tentacle_proto	*proto;
	int				 nconn;
	LIST_HEAD(, lconn)		 conns;
	unsigned long			 refused;	/* since last log */
	time_t				 refused_logged;
};

static time_t
now_mono(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* One accepted connection: the protocol's state rides along. */
struct lconn {
	struct listener		*l;
	struct conn		*c;
	void			*state;
	LIST_ENTRY(lconn)	 entry;
};

static int	 exit_status;
static char	 reserved_addr[NET_PEER_MAX];

void
listener_reserve(const char *addr)
{
	strlcpy(reserved_addr, addr != NULL ? addr : "",
	    sizeof(reserved_addr));
}

static void
conn_established(struct conn *c, void *arg)
{
	struct lconn	*lc = arg;

	log_info("%s: connected (fingerprint %s)", conn_peer(c),
	    conn_peer_fingerprint(c));
	if (lc->l->proto->on_established == NULL)
		return;
	/* NULL: the protocol already failed the connection (conn_fail
	 * flushes its reason to the peer: closing now would drop it). */
	lc->state = lc->l->proto->on_established(c, lc->l->proto->arg);
}

static int
conn_frame(struct conn *c, const struct wire_frame *f, void *arg)
{
	struct lconn	*lc = arg;

	log_debug("%s: %s frame, %u bytes", conn_peer(c),
	    wire_type_str(f->type), f->len);
	if (lc->state == NULL && lc->l->proto->on_established != NULL) {
		conn_fail(c, "internal error: no state");
		return 0;
	}
	return lc->l->proto->on_frame(c, f, lc->state);
}

static void
conn_closed(struct conn *c, const char *reason, void *arg)
{
	struct lconn	*lc = arg;
	struct listener	*l = lc->l;

	log_info("%s: closed: %s", conn_peer(c), reason);
	if (l->proto->on_close != NULL)
		l->proto->on_close(c, reason, lc->state);
	LIST_REMOVE(lc, entry);
	free(lc);
	l->nconn--;
}

static struct listener	*running;

void
listener_exit(struct event_base *base, int status)
{
	struct lconn	*lc, *next;

	exit_status = status;
	if (running != NULL) {
		evconnlistener_disable(running->evl);
		/* Each is freed now, or when the callback we are in returns. */
		for (lc = LIST_FIRST(&running->conns); lc != NULL; lc = next) {
			next = LIST_NEXT(lc, entry);
			conn_close(lc->c);
		}
	}
	event_base_loopexit(base, NULL);
}

static const struct conn_cbs listener_cbs = {
	conn_established,
	conn_frame,
	conn_closed,
};

/* Over the limit: close at once. Log at most once a second, so a flood
 * cannot flood the logs too. */
static void
refuse(struct listener *l, evutil_socket_t fd, const struct sockaddr *sa,
    socklen_t salen)
{
	char	peer[NET_PEER_MAX];
	time_t	now;

	close(fd);
	l->refused++;
	now = now_mono();
	if (now == l->refused_logged)
		return;
	net_format_peer(sa, salen, peer);
	log_warnx("%s: refused: %d connections already open (limit); "
	    "%lu refused in the last second", peer, l->nconn, l->refused);
	l->refused = 0;
	l->refused_logged = now;
}

static void
accept_cb(struct evconnlistener *evl, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct listener	*l = arg;
	struct lconn	*lc;
	char		 peer[NET_PEER_MAX];

	char		 addr[NET_PEER_MAX];
	int		 brain;

	net_format_addr(sa, (socklen_t)salen, addr);
	/* The pinned brain's address has slots no stranger can take. */
	brain = reserved_addr[0] != '\0' && strcmp(addr, reserved_addr) == 0;
	if (l->nconn >= TENTACLE_CONN_MAX || (!brain &&
	    reserved_addr[0] != '\0' && conn_preauth_count() >=
	    TENTACLE_CONN_MAX - TENTACLE_CONN_RESERVED)) {
		refuse(l, fd, sa, (socklen_t)salen);
		return;
	}
	if (!brain && conn_admit(sa, (socklen_t)salen) == -1) {
		close(fd);
		return;
	}
	net_format_peer(sa, (socklen_t)salen, peer);
	log_debug("%s: accepted", peer);
	if ((lc = calloc(1, sizeof(*lc))) == NULL) {
		log_warn("%s: cannot set up the connection", peer);
		close(fd);
		return;
	}
	lc->l = l;
	if ((lc->c = conn_accept(l->base, l->tls, fd, sa, (socklen_t)salen,
	    &listener_cbs, lc, l->timeout)) == NULL) {
		log_warnx("%s: cannot set up the connection", peer);
		free(lc);
		return;
	}
	LIST_INSERT_HEAD(&l->conns, lc, entry);
	l->nconn++;
}

static void
resume_cb(evutil_socket_t fd, short events, void *arg)
{
	struct listener	*l = arg;

	evconnlistener_enable(l->evl);
}

static void
accept_error_cb(struct evconnlistener *evl, void *arg)
{
	struct listener	*l = arg;
	struct timeval	 tv = { ACCEPT_PAUSE_S, 0 };

	log_warn("accept");
	evconnlistener_disable(evl);
	evtimer_add(l->ev_resume, &tv);
}

int
listener_run(struct tentacle_child *ch, const struct tentacle_proto *proto)
{
	struct listener	l;
	int		port;

	memset(&l, 0, sizeof(l));
	LIST_INIT(&l.conns);
	l.tls = ch->tls;
	l.timeout = (int)ch->conf->io_timeout;
	l.proto = proto;
	if ((l.base = event_base_new()) == NULL) {
		log_warnx("event_base_new failed");
		return 1;
	}
	if ((l.ev_resume = evtimer_new(l.base, resume_cb, &l)) == NULL) {
		log_warnx("evtimer_new failed");
		event_base_free(l.base);
		return 1;
	}
	/* backlog 0: the supervisor already listen()ed. */
	if ((l.evl = evconnlistener_new(l.base, accept_cb, &l,
	    LEV_OPT_CLOSE_ON_FREE, 0, ch->listen_fd)) == NULL) {
		log_warnx("evconnlistener_new failed");
		event_free(l.ev_resume);
		event_base_free(l.base);
		return 1;
	}
	evconnlistener_set_error_cb(l.evl, accept_error_cb);

	port = ch->role == ROLE_REGISTER ? ch->conf->register_port :
	    ch->conf->command_port;
	log_info(strchr(ch->conf->listen_address, ':') != NULL ?
	    "listening on [%s]:%d" : "listening on %s:%d",
	    ch->conf->listen_address, port);
	running = &l;
	if (proto->start != NULL && proto->start(l.base, proto->arg) == -1)
		exit_status = TENTACLE_EXIT_STOP;	/* a restart would too */
	else
		event_base_dispatch(l.base);
	listener_exit(l.base, exit_status);	/* close what is left */
	if (proto->stop != NULL)
		proto->stop(proto->arg);
	running = NULL;

	evconnlistener_free(l.evl);
	event_free(l.ev_resume);
	event_base_free(l.base);
	return exit_status;
}
