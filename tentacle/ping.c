/*
 * octoTentacle --ping: one authenticated request to the brain's commander
 * with the enrolment's ID and key, as the daemon will make them, to check
 * by hand (and in tests) that the brain and this tentacle still trust
 * each other. Takes no pidfile: it works beside a running daemon.
 */
#include <stdio.h>
#include <string.h>

#include <event2/event.h>

#include "enrolment.h"
#include "proto.h"
#include "tentacle.h"

struct ping {
	struct event_base	*base;
	int			 status;	/* exit status */
	char			 peer[OCTO_ADDR_MAX + 16];
};

static void
ping_done(int ok, const struct msg_status *st, const char *why, void *arg)
{
	struct ping	*p = arg;

	if (ok) {
		printf("brain %s authenticated; enrolment %s\n", p->peer,
		    proto_enrolment_str(st->enrolment));
		p->status = 0;
	} else {
		fprintf(stderr, "%s: brain %s: %s\n", TENTACLE_PROGNAME,
		    p->peer, why);
		p->status = 1;
	}
	/* The loop ends once the connection is gone. */
}

int
tentacle_ping(const struct tentacle_conf *conf)
{
	struct enrolment	 e;
	struct ping		 p;
	SSL_CTX			*ctx;
	char			 path[OCTO_PATH_MAX + 32], err[1024];
	int			 rc;

	memset(&p, 0, sizeof(p));
	p.status = 1;
	if (enrolment_path(conf->state_dir, path, sizeof(path)) == -1) {
		fprintf(stderr, "%s: state_dir too long\n", TENTACLE_PROGNAME);
		return 1;
	}
	if ((rc = enrolment_load(path, &e, err, sizeof(err))) != 0) {
		if (rc == 1)
			fprintf(stderr, "%s: not enrolled (no %s)\n",
			    TENTACLE_PROGNAME, path);
		else
			fprintf(stderr, "%s: %s\n", TENTACLE_PROGNAME, err);
		return 1;
	}
	snprintf(p.peer, sizeof(p.peer), strchr(e.brain_address, ':') ?
	    "[%s]:%d" : "%s:%d", e.brain_address, e.brain_commander_port);
	if ((ctx = link_client_ctx(conf, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s: %s\n", TENTACLE_PROGNAME, err);
		enrolment_wipe(&e);
		return 1;
	}
	if ((p.base = event_base_new()) == NULL) {
		fprintf(stderr, "%s: event_base_new failed\n",
		    TENTACLE_PROGNAME);
		SSL_CTX_free(ctx);
		enrolment_wipe(&e);
		return 1;
	}
	if (brain_request(p.base, ctx, conf, &e, PURPOSE_PING,
	    e.brain_commander_port, (int)conf->io_timeout, ping_done, &p, err,
	    sizeof(err)) == -1)
		fprintf(stderr, "%s: brain %s: %s\n", TENTACLE_PROGNAME, p.peer,
		    err);
	else
		event_base_dispatch(p.base);
	enrolment_wipe(&e);
	event_base_free(p.base);
	SSL_CTX_free(ctx);
	return p.status;
}
