/*
 * The register: while the tentacle is not enrolled (report 3.2).
 *
 * Both ways end in the same exchange, after TLS and HELLO{ENROL}/HELLO_ACK:
 *	tentacle ENROL_REQUEST{hostname, facts, its fingerprint, command
 *	    address and port, token secret or "", an ephemeral X25519 key}
 *	brain ENROL_REPLY{status, ID, its ephemeral key, our key wrapped
 *	    under both and this session's exporter value, brain fingerprint}
 * then the tentacle stores its enrolment (enrolment.h) and the register
 * exits 0: the supervisor starts the command worker in its place. With
 * privilege separation the register hands the enrolment to the
 * supervisor (IPC_ENROLMENT_SET, privsep.h), which checks and writes it
 * and answers; the register exits once it did.
 *
 *  - by the brain: it connects to register_port (7000) as TLS client; the
 *    tentacle answers as handshake server. An offer from another address
 *    than `brain` or another certificate than `brain_fingerprint` (when
 *    they are set) is refused. When neither is set (and `pairing` is not
 *    off) the tentacle has a pairing code (pairing.h): with HELLO_ACK it
 *    sends PAIR_REQUIRED, and sends nothing more until the brain's
 *    PAIR_PROOF is right; then its own PAIR_PROOF and ENROL_REQUEST. A
 *    wrong proof is refused and counted: PAIRING_WRONG_MAX of them and
 *    the register exits for a new code, as it does when the code expires.
 *  - by the tentacle (`brain` set, -b): it connects to the registerer
 *    (6000) as client, retrying every poll_interval while the brain is
 *    unreachable, and meanwhile keeps listening on 7000. With a token, the
 *    brain's certificate must be the one the token names, or the tentacle
 *    stops: a token is never sent to another brain.
 */
#include <sys/socket.h>
#include <sys/utsname.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <ifaddrs.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bsd/string.h>
#include <event2/event.h>
#include <jansson.h>

#include "conn.h"
#include "crypto.h"
#include "enrolment.h"
#include "handshake.h"
#include "ipc.h"
#include "log.h"
#include "net.h"
#include "pairing.h"
#include "privsep.h"
#include "tls.h"
#include "tentacle.h"

/* Addresses listed in the facts: more than a host has, few enough that
 * the facts stay far below PROTO_FACTS_MAX. */
#define FACTS_ADDRS_MAX	64

struct reg {
	const struct tentacle_conf	*conf;
	struct event_base		*base;
	SSL_CTX				*client;	/* self-enrolment */
	struct event			*ev_retry;
	struct conn			*out;		/* to the registerer */
	char				 brain[OCTO_ADDR_MAX];	/* normalised */
	char				 brain_peer[OCTO_ADDR_MAX + 16];
	char				 secret[PROTO_TOKEN_SECRET_LEN + 1];
	char				 token_fpr[OCTO_FPR_HEX_LEN + 1];
	char				 my_fpr[OCTO_FPR_HEX_LEN + 1];
	char				 hostname[OCTO_NAME_MAX];
	char				 facts[PROTO_FACTS_MAX];
	int				 finished;	/* enrolled or stopping */
	/* Pairing (pairing.h): the code's key, or has_pairing 0. */
	int				 has_pairing;
	uint8_t				 pairing_key[PROTO_KEY_LEN];
	time_t				 pairing_expires;
	time_t				 pairing_paused_until;
	struct event			*ev_expire;
	int				 wrong;		/* proofs */
	int				 renew;		/* exit for a new code */
	/* Privilege separation: the supervisor writes the enrolment. */
	int				 priv_fd;	/* -1: none */
	struct ipc_chan			*priv;
	int				 storing;	/* ENROLMENT_SET sent */
	/* With it: the supervisor's key pair's public half (the private
	 * one, and so the tentacle's key, never come here). */
	int				 has_enrol_pub;
	uint8_t				 enrol_pub[PROTO_PUB_LEN];
};

enum {
	PAIR_NONE,		/* no code here, or self-enrolment */
	PAIR_WAIT,		/* PAIR_REQUIRED sent: the brain proves first */
	PAIR_DONE,		/* proven both ways */
};

/* One enrolment exchange, either way. */
struct exch {
	struct reg		*reg;
	int			 outgoing;	/* we connected (6000) */
	int			 requested;	/* ENROL_REQUEST sent */
	int			 pairing;	/* PAIR_* */
	struct handshake	 hs;
	struct buf		 out;
	char			 brain_addr[OCTO_ADDR_MAX];
	char			 peer[NET_PEER_MAX];
	/* This exchange's X25519 key pair: the brain wraps our key for it
	 * (proto_enrol_wrap); never stored, wiped with the exchange. */
	uint8_t			 enrol_priv[X25519_LEN];
	uint8_t			 enrol_pub[PROTO_PUB_LEN];
};

static struct reg	 reg;

static void	attempt_schedule(struct reg *, int delay);
struct ipc_chan;
struct ipc_msg;
static void	priv_msg(struct ipc_chan *, const struct ipc_msg *, void *);
static void	priv_closed(struct ipc_chan *, const char *, void *);

/* ---- host facts -------------------------------------------------------- */

/* Printable ASCII only, so the facts pass the brain's checks. */
static void
clean(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < ' ' || (unsigned char)*s > '~')
			*s = '?';
}

static void
os_name(char *out, size_t outlen)
{
	FILE	*f;
	char	 line[512];
	char	*v, *e;

	strlcpy(out, "unknown", outlen);
	if ((f = fopen("/etc/os-release", "re")) == NULL &&
	    (f = fopen("/usr/lib/os-release", "re")) == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "PRETTY_NAME=", 12) != 0)
			continue;
		v = line + 12;
		v[strcspn(v, "\r\n")] = '\0';
		if (*v == '"' || *v == '\'') {
			if ((e = strrchr(v + 1, *v)) != NULL)
				*e = '\0';
			v++;
		}
		strlcpy(out, v, outlen);
		break;
	}
	fclose(f);
	clean(out);
}

static void
add_addr(json_t *arr, const char *a)
{
	size_t	i;

	if (json_array_size(arr) >= FACTS_ADDRS_MAX)
		return;
	for (i = 0; i < json_array_size(arr); i++)
		if (strcmp(json_string_value(json_array_get(arr, i)), a) == 0)
			return;
	json_array_append_new(arr, json_string(a));
}

/*
 * How long this process has run (ms), from /proc: the brain marks a job
 * whose order was acknowledged before the command worker started as lost
 * (a kill -9 took the script's result with it). A duration, not a time:
 * the two hosts' clocks may differ. 0 if unknown.
 */
static long long
process_uptime_ms(void)
{
	FILE			*f;
	char			 buf[1024], *p;
	unsigned long long	 start = 0;
	long			 hz = sysconf(_SC_CLK_TCK);
	struct timespec		 now;
	long long		 up;
	size_t			 n;
	int			 field;

	if (hz <= 0 || (f = fopen("/proc/self/stat", "re")) == NULL)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The command name may hold spaces and parentheses: fields are
	 * counted from the last ')', which ends field 2. Field 22 is the
	 * start, in clock ticks since boot. */
	if ((p = strrchr(buf, ')')) == NULL)
		return 0;
	for (field = 2; field < 22 && p != NULL; field++)
		p = strchr(p + 1, ' ');
	if (p == NULL || sscanf(p + 1, "%llu", &start) != 1 ||
	    clock_gettime(CLOCK_BOOTTIME, &now) == -1)
		return 0;
	up = (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000 -
	    (long long)(start * 1000 / (unsigned long long)hz);
	return up > 0 ? up : 0;
}

void
tentacle_facts(const struct tentacle_conf *conf, char *out, size_t outlen)
{
	struct utsname	 u;
	struct ifaddrs	*ifa, *i;
	json_t		*o, *addrs, *list;
	char		 os[256], a[NET_PEER_MAX];
	struct proto_labels labels;
	const char	*why;
	uint32_t	 k;
	char		*s;
	socklen_t	 sl;

	strlcpy(out, "{}", outlen);
	if ((o = json_object()) == NULL || (addrs = json_array()) == NULL) {
		json_decref(o);
		return;
	}
	os_name(os, sizeof(os));
	json_object_set_new(o, "os", json_string(os));
	if (uname(&u) == 0) {
		clean(u.release);
		clean(u.machine);
		json_object_set_new(o, "kernel", json_string(u.release));
		json_object_set_new(o, "arch", json_string(u.machine));
	}
	if (link_addr_specific(conf->listen_address))
		add_addr(addrs, conf->listen_address);
	if (getifaddrs(&ifa) == 0) {
		for (i = ifa; i != NULL; i = i->ifa_next) {
			if (i->ifa_addr == NULL ||
			    (i->ifa_addr->sa_family != AF_INET &&
			    i->ifa_addr->sa_family != AF_INET6))
				continue;
			sl = i->ifa_addr->sa_family == AF_INET ?
			    sizeof(struct sockaddr_in) :
			    sizeof(struct sockaddr_in6);
			net_format_addr(i->ifa_addr, sl, a);
			if (strncmp(a, "127.", 4) == 0 ||
			    strcmp(a, "::1") == 0 || !net_addr_valid(a))
				continue;
			add_addr(addrs, a);
		}
		freeifaddrs(ifa);
	}
	json_object_set_new(o, "addresses", addrs);
	json_object_set_new(o, "uptime_ms", json_integer(process_uptime_ms()));
	/* The labels it proposes (checked by tentacle_config_check). */
	if (proto_labels_parse(conf->labels, &labels, &why) == 0 &&
	    labels.n > 0) {
		json_object_set_new(o, "labels", (list = json_array()));
		for (k = 0; k < labels.n; k++)
			json_array_append_new(list, json_string(labels.v[k]));
	}
	/* Too long (long addresses, a strange os-release): fewer addresses. */
	for (;;) {
		s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII |
		    JSON_SORT_KEYS);
		if (s == NULL || strlen(s) < outlen ||
		    json_array_size(addrs) == 0)
			break;
		free(s);
		json_array_remove(addrs, json_array_size(addrs) - 1);
	}
	if (s != NULL && strlen(s) < outlen)
		strlcpy(out, s, outlen);
	free(s);
	json_decref(o);
}

/* ---- the exchange -------------------------------------------------------- */

static void
peer_label(char *out, size_t outlen, const char *addr, int port)
{
	snprintf(out, outlen, strchr(addr, ':') ? "[%s]:%d" : "%s:%d", addr,
	    port);
}

/* "::ffff:1.2.3.4" (IPv4 on an IPv6 socket) as "1.2.3.4". */
static const char *
plain_addr(const char *a)
{
	if (strncmp(a, "::ffff:", 7) == 0 && strchr(a + 7, '.') != NULL)
		return a + 7;
	return a;
}

static int
send_request(struct exch *x, struct conn *c)
{
	struct msg_enrol_request	 m;
	struct reg			*r = x->reg;
	char				 local[OCTO_ADDR_MAX];
	int				 rc;

	memset(&m, 0, sizeof(m));
	strlcpy(m.hostname, r->hostname, sizeof(m.hostname));
	strlcpy(m.facts, r->facts, sizeof(m.facts));
	strlcpy(m.fingerprint, r->my_fpr, sizeof(m.fingerprint));
	if (link_addr_specific(r->conf->listen_address))
		strlcpy(m.command_address, r->conf->listen_address,
		    sizeof(m.command_address));
	else if (link_local_addr(c, local, sizeof(local)) == -1) {
		conn_fail(c, "cannot tell my own address");
		return -1;
	} else
		strlcpy(m.command_address, plain_addr(local),
		    sizeof(m.command_address));
	m.command_port = (uint32_t)r->conf->command_port;
	if (x->outgoing)
		strlcpy(m.token, r->secret, sizeof(m.token));
	if (r->has_enrol_pub)
		memcpy(x->enrol_pub, r->enrol_pub, sizeof(x->enrol_pub));
	else if (crypto_x25519_keypair(x->enrol_priv, x->enrol_pub) == -1) {
		conn_fail(c, "no randomness");
		return -1;
	}
	memcpy(m.enrol_pub, x->enrol_pub, sizeof(m.enrol_pub));
	rc = proto_encode_enrol_request(&x->out, &m);
	crypto_wipe(&m, sizeof(m));
	if (rc == -1 || link_send(c, &x->out) == -1) {
		log_warnx("%s: cannot send the enrolment request", x->peer);
		conn_fail(c, "cannot send the enrolment request");
		return -1;
	}
	x->requested = 1;
	log_info("%s: enrolment request sent as \"%s\" (command worker on "
	    "%s:%d)%s", x->peer, r->hostname, link_addr_specific(
	    r->conf->listen_address) ? r->conf->listen_address : "this "
	    "connection's address", r->conf->command_port,
	    x->outgoing && r->secret[0] != '\0' ? " with a token" : "");
	return 0;
}

/* Stop the tentacle: what a restart would only repeat. */
static void
stop_tentacle(struct reg *r)
{
	r->finished = 1;
	listener_exit(r->base, TENTACLE_EXIT_STOP);
}

/* The enrolment from the reply (all but the key). */
static void
fill_enrolment(struct exch *x, const struct msg_enrol_reply *m,
    struct enrolment *e)
{
	struct reg	*r = x->reg;

	e->id = m->id;
	/* The brain's script-signing key, covered by the wrapping (checked
	 * by the caller, or by the supervisor); the supervisor pins it. */
	e->has_sign_pub = m->has_sign_pub;
	memcpy(e->sign_pub, m->sign_pub, sizeof(e->sign_pub));
	strlcpy(e->brain_fingerprint, m->brain_fingerprint,
	    sizeof(e->brain_fingerprint));
	/* Enrolled by address: deliver where the brain says, not to the
	 * address its connection came from (it may listen on another). */
	if (!x->outgoing && m->brain_address[0] != '\0')
		strlcpy(e->brain_address, m->brain_address,
		    sizeof(e->brain_address));
	else
		strlcpy(e->brain_address, x->brain_addr,
		    sizeof(e->brain_address));
	e->brain_registerer_port = r->conf->brain_registerer_port;
	e->brain_commander_port = r->conf->brain_commander_port;
	e->status = m->status;
	e->enrolled_at = (int64_t)time(NULL);
}

/*
 * With privilege separation: the enrolment, the key still wrapped, to
 * the supervisor, which unwraps it (its key pair), checks and writes it,
 * and answers (priv_msg); we exit then.
 */
static int
hand_over(struct exch *x, struct msg_enrol_reply *m)
{
	struct privsep_enrolment v;
	struct reg		*r = x->reg;
	struct buf		 b;
	int			 rc;

	memset(&v, 0, sizeof(v));
	fill_enrolment(x, m, &v.e);
	memcpy(v.brain_pub, m->brain_pub, sizeof(v.brain_pub));
	memcpy(v.wrapped_key, m->wrapped_key, sizeof(v.wrapped_key));
	memcpy(v.exporter, x->hs.exporter, sizeof(v.exporter));
	crypto_wipe(m, sizeof(*m));
	buf_init(&b, IPC_PAYLOAD_MAX);
	rc = privsep_encode_enrolment(&b, &v) == -1 || ipc_send(r->priv,
	    IPC_ENROLMENT_SET, 0, b.data, b.len) == -1 ? -1 : 0;
	buf_free(&b);
	if (rc == -1) {
		log_warnx("cannot hand the enrolment as tentacle ID %" PRIu64
		    " to the supervisor", v.e.id);
		crypto_wipe(&v, sizeof(v));
		stop_tentacle(r);
		return -1;
	}
	log_info("enrolled with brain %s as tentacle ID %" PRIu64 " (%s): the "
	    "supervisor stores it", v.e.brain_address, v.e.id,
	    proto_enrolment_str(v.e.status));
	crypto_wipe(&v, sizeof(v));
	r->finished = 1;
	r->storing = 1;
	return -1;
}

static int
handle_reply(struct exch *x, struct conn *c, const struct wire_frame *f)
{
	struct msg_enrol_reply	 m;
	struct enrolment	 e;
	struct reg		*r = x->reg;
	const char		*why;
	char			 path[OCTO_PATH_MAX + 32], err[1024];
	char			 msg[256];

	if (f->type == WIRE_ERROR) {
		proto_decode_error(f, msg, sizeof(msg));
		log_warnx("%s: enrolment refused by the brain: %s", x->peer,
		    msg);
		return -1;
	}
	memset(&m, 0, sizeof(m));
	if (proto_decode_enrol_reply(f, &m, &why) == -1) {
		log_warnx("%s: bad enrolment reply: %s", x->peer, why);
		conn_fail(c, why);
		crypto_wipe(&m, sizeof(m));
		return 0;
	}
	if (!crypto_equal(m.brain_fingerprint, conn_peer_fingerprint(c),
	    OCTO_FPR_HEX_LEN)) {
		log_warnx("%s: enrolment reply refused: the brain fingerprint "
		    "it gives is not the one of its certificate", x->peer);
		conn_fail(c, "brain fingerprint does not match the "
		    "certificate");
		crypto_wipe(&m, sizeof(m));
		return 0;
	}
	if (r->finished) {
		/* Another exchange won the race: this one is not stored. */
		log_warnx("%s: enrolment reply (ID %" PRIu64 ") ignored: "
		    "already enrolled", x->peer, m.id);
		crypto_wipe(&m, sizeof(m));
		return -1;
	}
	if (m.status == ENROLMENT_REJECTED) {
		log_warnx("%s: enrolment rejected by the brain%s%s", x->peer,
		    m.message[0] ? ": " : "", m.message);
		crypto_wipe(&m, sizeof(m));
		stop_tentacle(r);
		return -1;
	}
	memset(&e, 0, sizeof(e));
	e.id = m.id;
	if (r->priv != NULL)
		return hand_over(x, &m);
	/* The key came wrapped for this exchange's key pair and session. */
	if (proto_enrol_unwrap(x->enrol_priv, x->enrol_pub, x->hs.exporter, &m,
	    e.key) == -1) {
		log_warnx("%s: enrolment reply refused: its key is not wrapped "
		    "for this connection", x->peer);
		conn_fail(c, "the key is not wrapped for this connection");
		crypto_wipe(&m, sizeof(m));
		enrolment_wipe(&e);
		return 0;
	}
	crypto_wipe(x->enrol_priv, sizeof(x->enrol_priv));
	fill_enrolment(x, &m, &e);
	crypto_wipe(&m, sizeof(m));
	if (enrolment_path(r->conf->state_dir, path, sizeof(path)) == -1 ||
	    enrolment_store(path, &e, err, sizeof(err)) == -1) {
		log_warnx("cannot store the enrolment as tentacle ID %" PRIu64
		    ": %s", e.id, err);
		enrolment_wipe(&e);
		stop_tentacle(r);
		return -1;
	}
	log_info("enrolled with brain %s as tentacle ID %" PRIu64 " (%s)",
	    e.brain_address, e.id, proto_enrolment_str(e.status));
	enrolment_wipe(&e);
	r->finished = 1;
	listener_exit(r->base, 0);
	return -1;
}

static struct exch *
exch_new(struct reg *r, struct conn *c, int outgoing)
{
	struct exch	*x;

	if ((x = calloc(1, sizeof(*x))) == NULL)
		return NULL;
	x->reg = r;
	x->outgoing = outgoing;
	buf_init(&x->out, WIRE_PAYLOAD_MAX);
	strlcpy(x->peer, conn_peer(c), sizeof(x->peer));
	return x;
}

static void
exch_free(struct exch *x)
{
	if (x == NULL)
		return;
	hs_wipe(&x->hs);
	crypto_wipe(x->enrol_priv, sizeof(x->enrol_priv));
	crypto_wipe(x->hs.exporter, sizeof(x->hs.exporter));
	buf_free(&x->out);
	free(x);
}

/* While PAIR_WAIT: the brain's proof of the code, or a refusal. */
static int
pair_frame(struct exch *x, struct conn *c, const struct wire_frame *f)
{
	struct reg		*r = x->reg;
	struct msg_pair_proof	 m;
	struct buf		*out = &x->out;
	uint8_t			 expect[PROTO_MAC_LEN];
	const char		*why;
	char			 msg[256];
	int			 ok;

	if (f->type == WIRE_ERROR) {
		proto_decode_error(f, msg, sizeof(msg));
		log_warnx("%s: enrolment offer abandoned by the brain: %s",
		    x->peer, msg);
		return -1;
	}
	if (proto_decode_pair_proof(f, &m, &why) == -1) {
		log_warnx("%s: enrolment offer refused: no pairing code (%s)",
		    x->peer, wire_type_str(f->type));
		conn_fail(c, "this tentacle needs its pairing code "
		    "(octoTentacle --pairing-code on it)");
		return 0;
	}
	if (r->renew) {
		conn_fail(c, "the pairing code is being changed: ask for the "
		    "new one");
		return 0;
	}
	if (r->pairing_paused_until > time(NULL)) {
		log_warnx("%s: enrolment offer refused: pairing paused after "
		    "too many wrong codes", x->peer);
		conn_fail(c, "too many wrong pairing codes: pairing is paused "
		    "for up to an hour");
		return 0;
	}
	ok = proto_pairing_proof(r->pairing_key, PAIRING_BRAIN,
	    x->hs.exporter, expect) == 0 &&
	    crypto_equal(expect, m.proof, sizeof(expect));
	crypto_wipe(expect, sizeof(expect));
	if (!ok) {
		r->wrong++;
		log_warnx("%s: enrolment offer refused: wrong pairing code "
		    "(%d of %d)", x->peer, r->wrong, PAIRING_WRONG_MAX);
		if (r->wrong >= PAIRING_WRONG_MAX)
			r->renew = 1;	/* once this connection ends */
		conn_fail(c, "wrong pairing code");
		return 0;
	}
	if (proto_pairing_proof(r->pairing_key, PAIRING_TENTACLE,
	    x->hs.exporter, m.proof) == -1 ||
	    proto_encode_pair_proof(out, &m) == -1 || link_send(c, out) == -1) {
		crypto_wipe(&m, sizeof(m));
		conn_fail(c, "cannot send the pairing proof");
		return 0;
	}
	crypto_wipe(&m, sizeof(m));
	x->pairing = PAIR_DONE;
	conn_authenticated(c);
	log_info("%s: the brain knows the pairing code", x->peer);
	(void)send_request(x, c);
	return 0;
}

/* The handshake's frames, then the reply. */
static int
exch_frame(struct exch *x, struct conn *c, const struct wire_frame *f)
{
	if (x->requested)
		return handle_reply(x, c, f);
	if (x->pairing == PAIR_WAIT)
		return pair_frame(x, c, f);
	switch (hs_input(&x->hs, f, &x->out)) {
	case HS_ENROL:
		/* By address with a code: the brain proves it first. */
		if (!x->outgoing && x->reg->has_pairing) {
			if (proto_encode_pair_required(&x->out) == -1 ||
			    link_send(c, &x->out) == -1) {
				conn_fail(c, "cannot send");
				return 0;
			}
			x->pairing = PAIR_WAIT;
			return 0;
		}
		conn_authenticated(c);
		if (link_send(c, &x->out) == -1) {
			conn_fail(c, "cannot send");
			return 0;
		}
		(void)send_request(x, c);
		return 0;
	case HS_AGAIN:
		/* A server that saw HELLO with another purpose. */
		if (!x->outgoing && x->hs.purpose != PURPOSE_ENROL) {
			log_warnx("%s: refused: %s asked of a tentacle that "
			    "is not enrolled", x->peer,
			    proto_purpose_str(x->hs.purpose));
			conn_fail(c, "not enrolled: only enrolment here");
			return 0;
		}
		if (link_send(c, &x->out) == -1)
			conn_fail(c, "cannot send");
		return 0;
	case HS_FAIL:
		if (f->type == WIRE_ERROR) {
			char	msg[256];

			proto_decode_error(f, msg, sizeof(msg));
			log_warnx("%s: enrolment refused by the brain: %s",
			    x->peer, msg);
			return -1;
		}
		log_warnx("%s: enrolment %s: %s", x->peer, x->outgoing ?
		    "failed" : "offer refused", x->hs.error);
		conn_fail(c, x->hs.error);
		return 0;
	default:
		log_warnx("%s: unexpected handshake step", x->peer);
		conn_fail(c, "unexpected handshake step");
		return 0;
	}
}

/* ---- by the brain: 7000 ------------------------------------------------- */

static void *
offer_established(struct conn *c, void *arg)
{
	struct reg	*r = arg;
	struct exch	*x;
	uint8_t		 exp[HS_EXPORTER_LEN];
	const char	*from = plain_addr(conn_peer_addr(c));

	if (r->finished) {
		conn_fail(c, "already enrolled");
		return NULL;
	}
	if (r->brain[0] != '\0' && strcmp(from, r->brain) != 0) {
		log_warnx("%s: enrolment offer refused: not from our brain %s",
		    conn_peer(c), r->brain);
		conn_fail(c, "enrolment offer refused: this tentacle is tied "
		    "to another brain");
		return NULL;
	}
	if (r->conf->brain_fingerprint[0] != '\0' &&
	    !crypto_equal(conn_peer_fingerprint(c),
	    r->conf->brain_fingerprint, OCTO_FPR_HEX_LEN)) {
		log_warnx("%s: enrolment offer refused: certificate FPR is "
		    "not the configured brain_fingerprint", conn_peer(c));
		conn_fail(c, "enrolment offer refused: this tentacle is tied "
		    "to another brain");
		return NULL;
	}
	if (conn_exporter(c, exp, sizeof(exp)) == -1 ||
	    (x = exch_new(r, c, 0)) == NULL) {
		conn_fail(c, "cannot set up the enrolment");
		return NULL;
	}
	strlcpy(x->brain_addr, from, sizeof(x->brain_addr));
	hs_server_init(&x->hs, exp);
	crypto_wipe(exp, sizeof(exp));
	return x;
}

static int
offer_frame(struct conn *c, const struct wire_frame *f, void *state)
{
	return exch_frame(state, c, f);
}

static void
offer_closed(struct conn *c, const char *reason, void *state)
{
	struct reg	*r = &reg;

	exch_free(state);
	/* The last wrong proof was answered: a new code, a new register. */
	if (r->renew && !r->finished) {
		r->finished = 1;
		listener_exit(r->base, TENTACLE_EXIT_PAIRING_WRONG);
	}
}

static void
pairing_expired(evutil_socket_t fd, short events, void *arg)
{
	struct reg	*r = arg;

	if (r->finished)
		return;
	r->finished = 1;
	listener_exit(r->base, TENTACLE_EXIT_PAIRING_EXPIRED);
}

/* ---- by the tentacle: 6000 ---------------------------------------------- */

static void
self_established(struct conn *c, void *arg)
{
	struct exch	*x = arg;
	struct reg	*r = x->reg;
	uint8_t		 exp[HS_EXPORTER_LEN];

	if (r->token_fpr[0] != '\0' && !crypto_equal(conn_peer_fingerprint(c),
	    r->token_fpr, OCTO_FPR_HEX_LEN)) {
		log_warnx("%s: brain certificate FPR does not match the "
		    "token's: refusing to enrol", x->peer);
		conn_fail(c, "certificate FPR does not match the token's");
		stop_tentacle(r);
		return;
	}
	if (r->conf->brain_fingerprint[0] != '\0' &&
	    !crypto_equal(conn_peer_fingerprint(c),
	    r->conf->brain_fingerprint, OCTO_FPR_HEX_LEN)) {
		log_warnx("%s: brain certificate FPR is not the configured "
		    "brain_fingerprint: refusing to enrol", x->peer);
		conn_fail(c, "certificate FPR is not the configured "
		    "brain_fingerprint");
		return;
	}
	if (conn_exporter(c, exp, sizeof(exp)) == -1) {
		conn_fail(c, "no TLS exporter");
		return;
	}
	hs_client_init(&x->hs, PURPOSE_ENROL, 0, NULL, exp);
	crypto_wipe(exp, sizeof(exp));
	if (hs_client_start(&x->hs, &x->out) == HS_FAIL ||
	    link_send(c, &x->out) == -1)
		conn_fail(c, "cannot send HELLO");
}

static int
self_frame(struct conn *c, const struct wire_frame *f, void *arg)
{
	return exch_frame(arg, c, f);
}

static void
self_closed(struct conn *c, const char *reason, void *arg)
{
	struct exch	*x = arg;
	struct reg	*r = x->reg;

	r->out = NULL;
	if (!r->finished) {
		log_warnx("brain %s: self-enrolment failed: %s; retrying in "
		    "%lld s", r->brain_peer, reason, r->conf->poll_interval);
		attempt_schedule(r, (int)r->conf->poll_interval);
	}
	exch_free(x);
}

static const struct conn_cbs self_cbs = {
	self_established,
	self_frame,
	self_closed,
};

static void
attempt_cb(evutil_socket_t fd, short events, void *arg)
{
	struct reg	*r = arg;
	struct exch	*x;
	char		 err[512];

	if (r->finished || r->out != NULL)
		return;
	if ((x = calloc(1, sizeof(*x))) == NULL) {
		attempt_schedule(r, (int)r->conf->poll_interval);
		return;
	}
	x->reg = r;
	x->outgoing = 1;
	buf_init(&x->out, WIRE_PAYLOAD_MAX);
	strlcpy(x->peer, r->brain_peer, sizeof(x->peer));
	strlcpy(x->brain_addr, r->brain, sizeof(x->brain_addr));
	log_info("brain %s: enrolling%s", r->brain_peer,
	    r->secret[0] != '\0' ? " with a token" : "");
	if ((r->out = conn_connect(r->base, r->client, r->brain,
	    r->conf->brain_registerer_port, link_source(r->conf, r->brain),
	    &self_cbs, x, (int)r->conf->io_timeout, err, sizeof(err))) ==
	    NULL) {
		log_warnx("brain %s: self-enrolment failed: %s; retrying in "
		    "%lld s", r->brain_peer, err, r->conf->poll_interval);
		exch_free(x);
		attempt_schedule(r, (int)r->conf->poll_interval);
	}
}

static void
attempt_schedule(struct reg *r, int delay)
{
	struct timeval	tv = { delay, 0 };

	if (r->ev_retry != NULL && !r->finished)
		evtimer_add(r->ev_retry, &tv);
}

/* ---- the child ------------------------------------------------------------ */

/* The brain's address as conn_peer_addr() writes it. */
static int
normalise_addr(const char *in, char *out, size_t outlen)
{
	struct sockaddr_storage	ss;
	socklen_t		sl;
	char			a[NET_PEER_MAX];

	if (net_sockaddr(in, 0, &ss, &sl) == -1)
		return -1;
	net_format_addr((struct sockaddr *)&ss, sl, a);
	return strlcpy(out, a, outlen) >= outlen ? -1 : 0;
}

static int
register_start(struct event_base *base, void *arg)
{
	struct reg	*r = arg;
	char		 err[1024];
	const char	*tok = r->conf->token;

	r->base = base;
	if (r->priv_fd != -1) {
		if ((r->priv = ipc_chan_new(base, r->priv_fd, priv_msg,
		    priv_closed, r)) == NULL) {
			log_warnx("cannot watch the supervisor's channel");
			return -1;
		}
		r->priv_fd = -1;
	}
	if (r->conf->name[0] != '\0')
		strlcpy(r->hostname, r->conf->name, sizeof(r->hostname));
	else if (gethostname(r->hostname, sizeof(r->hostname)) == -1 ||
	    !proto_hostname_valid(r->hostname)) {
		log_warnx("the hostname is not a valid name to enrol under: "
		    "set 'name' in the configuration (or --name)");
		return -1;
	}
	if (tls_fingerprint_file(r->conf->cert, r->my_fpr) == -1) {
		log_warnx("%s: cannot read the certificate's fingerprint",
		    r->conf->cert);
		return -1;
	}
	tentacle_facts(r->conf, r->facts, sizeof(r->facts));
	if (r->has_pairing) {
		struct timeval	tv = { 0, 0 };
		time_t		now = time(NULL);

		if (r->pairing_expires > now)
			tv.tv_sec = r->pairing_expires - now;
		if ((r->ev_expire = evtimer_new(base, pairing_expired, r)) ==
		    NULL || evtimer_add(r->ev_expire, &tv) == -1) {
			log_warnx("evtimer_new failed");
			return -1;
		}
		if (r->pairing_paused_until > now)
			log_warnx("pairing paused after too many wrong codes "
			    "(for %lld s)", (long long)(r->pairing_paused_until
			    - now));
	}
	if (r->conf->brain[0] == '\0')
		return 0;
	if (normalise_addr(r->conf->brain, r->brain, sizeof(r->brain)) == -1) {
		log_warnx("brain %s: not a numeric address", r->conf->brain);
		return -1;
	}
	peer_label(r->brain_peer, sizeof(r->brain_peer), r->brain,
	    r->conf->brain_registerer_port);
	if (tok[0] != '\0') {
		/* Checked at start-up (tentacle.c): secret then fingerprint. */
		memcpy(r->secret, tok, PROTO_TOKEN_SECRET_LEN);
		r->secret[PROTO_TOKEN_SECRET_LEN] = '\0';
		strlcpy(r->token_fpr, tok + PROTO_TOKEN_SECRET_LEN,
		    sizeof(r->token_fpr));
	}
	if (r->client == NULL && (r->client = link_client_ctx(r->conf, err,
	    sizeof(err))) == NULL) {
		log_warnx("%s", err);
		return -1;
	}
	if ((r->ev_retry = evtimer_new(base, attempt_cb, r)) == NULL) {
		log_warnx("evtimer_new failed");
		return -1;
	}
	attempt_schedule(r, 0);
	return 0;
}

static void
register_stop(void *arg)
{
	struct reg	*r = arg;

	r->finished = 1;
	if (r->out != NULL)
		conn_close(r->out);	/* self_closed() frees it */
	if (r->ev_retry != NULL)
		event_free(r->ev_retry);
	r->ev_retry = NULL;
	if (r->ev_expire != NULL)
		event_free(r->ev_expire);
	r->ev_expire = NULL;
	crypto_wipe(r->pairing_key, sizeof(r->pairing_key));
	SSL_CTX_free(r->client);
	r->client = NULL;
	crypto_wipe(r->secret, sizeof(r->secret));
	if (r->priv != NULL)
		ipc_chan_free(r->priv);
	r->priv = NULL;
}

/* ENROLMENT_STORED: the supervisor wrote it (the end: the command
 * worker follows), or could not (stop: a person must look). */
static void
priv_msg(struct ipc_chan *ch, const struct ipc_msg *msg, void *arg)
{
	struct reg	*r = arg;
	const char	*why;
	uint8_t		 ok;

	if (msg->hdr.type != IPC_ENROLMENT_STORED || !r->storing ||
	    privsep_decode_u8(msg->payload, msg->hdr.len, &ok,
	    PRIVSEP_STORED_NOT_WRAPPED, &why) == -1) {
		log_warnx("supervisor: unexpected %s: ignored",
		    ipc_type_str(msg->hdr.type));
		return;
	}
	r->storing = 0;
	if (ok == PRIVSEP_STORED_NOT_WRAPPED) {
		/* As when we unwrap it ourselves: that reply is refused,
		 * the enrolment goes on. */
		log_warnx("enrolment reply refused: its key is not wrapped "
		    "for this connection");
		r->finished = 0;
		if (r->brain[0] != '\0')
			attempt_schedule(r, (int)r->conf->poll_interval);
		return;
	}
	if (!ok) {
		log_warnx("the supervisor could not store the enrolment");
		listener_exit(r->base, TENTACLE_EXIT_STOP);
		return;
	}
	listener_exit(r->base, 0);
}

/* The supervisor stops or restarts us (EOF), or died. */
static void
priv_closed(struct ipc_chan *ch, const char *reason, void *arg)
{
	log_debug("supervisor: channel %s: stopping", reason);
	_exit(0);
}

int
register_main(struct tentacle_child *ch)
{
	static const struct tentacle_proto	proto = {
		register_start,
		offer_established,
		offer_frame,
		offer_closed,
		register_stop,
		&reg,
	};

	memset(&reg, 0, sizeof(reg));
	reg.conf = ch->conf;
	reg.client = ch->client;	/* made before a privilege drop */
	reg.priv_fd = ch->priv_fd;
	reg.has_enrol_pub = ch->has_enrol_pub;
	memcpy(reg.enrol_pub, ch->enrol_pub, sizeof(reg.enrol_pub));
	if (ch->pairing_code[0] != '\0') {
		if (proto_pairing_key(ch->pairing_code, reg.pairing_key) == -1) {
			log_warnx("cannot derive the pairing key");
			return 1;
		}
		reg.has_pairing = 1;
		reg.pairing_expires = ch->pairing_expires;
		reg.pairing_paused_until = ch->pairing_paused_until;
	}
	crypto_wipe(ch->pairing_code, sizeof(ch->pairing_code));
	return listener_run(ch, &proto);
}
