/*
 * The part of webserv, registerer and commander that is the same for all
 * three: set up a loop of their own and leave when the maestro does.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/string.h>
#include <event2/listener.h>
#include <openssl/crypto.h>

#include "buf.h"
#include "child.h"
#include "confine.h"
#include "daemon.h"
#include "ipcmsg.h"
#include "log.h"
#include "tls.h"

/* IPC_CHILD_INIT: two PEM blobs and a few short fields. */
#define CHILD_INIT_MAX		(2 * IPCMSG_PEM_MAX + 4096)

/* What a child knows of the configuration (IPC_CHILD_INIT, then
 * IPC_CONFIG_RELOAD); child_env.conf points here. */
static struct brain_conf	child_conf;

static int
read_full(int fd, void *p, size_t n)
{
	uint8_t	*b = p;
	ssize_t	 r;

	while (n > 0) {
		if ((r = read(fd, b, n)) == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		b += r;
		n -= (size_t)r;
	}
	return 0;
}

/*
 * The first message on the channel, read exactly (nothing after it is
 * consumed: the maestro may already have queued more, which the channel
 * reads later). The channel's fd stays blocking until then.
 */
static uint8_t *
read_init(size_t *lenp)
{
	struct ipc_hdr	 h;
	uint8_t		*p;

	if (read_full(CHILD_FD_IPC, &h, sizeof(h)) == -1)
		fatalx("no IPC_CHILD_INIT from the maestro");
	if (h.type != IPC_CHILD_INIT || h.len == 0 || h.len > CHILD_INIT_MAX)
		fatalx("the maestro's first message is %s of %u bytes, not "
		    "CHILD_INIT", ipc_type_str(h.type), h.len);
	if ((p = malloc(h.len)) == NULL)
		fatal("malloc");
	if (read_full(CHILD_FD_IPC, p, h.len) == -1)
		fatalx("IPC_CHILD_INIT cut short");
	*lenp = h.len;
	return p;
}

int
child_exec_main(const char *role, int (*entry)(struct child_env *),
    int foreground, int verbose)
{
	struct brain_conf		*conf = &child_conf;
	static struct child_env		 env;
	struct ipc_child_init		 ci;
	struct stat			 st;
	const char			*why;
	char				 err[512];
	uint8_t				*init;
	size_t				 len;
	int				 web = strcmp(role, "webserv") == 0;
	/* The exporter has no port: no listening socket, no credentials. */
	int				 portless = strcmp(role,
					    "exporter") == 0;
	int				 fd;

	log_init("octoBrain", foreground, verbose);
	log_procinit(role);
	proc_title("octoBrain", role);
	signal(SIGPIPE, SIG_IGN);
	if (fstat(CHILD_FD_IPC, &st) == -1 || !S_ISSOCK(st.st_mode) ||
	    (!portless && (fstat(CHILD_FD_LISTEN, &st) == -1 ||
	    !S_ISSOCK(st.st_mode))) ||
	    (web && (fstat(CHILD_FD_WEBROOT, &st) == -1 ||
	    !S_ISDIR(st.st_mode))))
		fatalx("--child is for the maestro only (descriptors %d to "
		    "%d are not what it gives)", CHILD_FD_IPC, web ?
		    CHILD_FD_WEBROOT : portless ? CHILD_FD_IPC :
		    CHILD_FD_LISTEN);
	/* Nothing of ours goes further (we execute nothing, but still). */
	for (fd = CHILD_FD_IPC; fd <= (portless ? CHILD_FD_IPC :
	    CHILD_FD_WEBROOT); fd++)
		if (fd != CHILD_FD_WEBROOT || web)
			(void)fcntl(fd, F_SETFD, FD_CLOEXEC);

	init = read_init(&len);
	if (ipcmsg_decode_child_init(init, len, &ci, &why) == -1)
		fatalx("IPC_CHILD_INIT: %s", why);
	if (strcmp(ci.role, role) != 0)
		fatalx("IPC_CHILD_INIT for %s, but I am %s", ci.role, role);
	memset(conf, 0, sizeof(*conf));
	conf->io_timeout = ci.io_timeout;
	conf->max_tentacles = ci.max_tentacles;
	strlcpy(conf->web_root, ci.web_root, sizeof(conf->web_root));
	if (web) {
		strlcpy(conf->web_address, ci.address,
		    sizeof(conf->web_address));
		conf->web_port = (int)ci.port;
	} else {
		strlcpy(conf->listen_address, ci.address,
		    sizeof(conf->listen_address));
		strlcpy(conf->advertise_address, ci.advertise,
		    sizeof(conf->advertise_address));
		if (strcmp(role, "registerer") == 0)
			conf->registerer_port = (int)ci.port;
		else
			conf->commander_port = (int)ci.port;
	}
	memset(&env, 0, sizeof(env));
	env.conf = conf;
	env.ipc_fd = CHILD_FD_IPC;
	if (portless) {
		env.listen_fd = -1;
		env.webroot_fd = -1;
		OPENSSL_cleanse(init, len);
		free(init);
		return entry(&env);
	}
	env.listen_fd = CHILD_FD_LISTEN;
	env.webroot_fd = web ? CHILD_FD_WEBROOT : -1;
	env.tls = tls_ctx_new_pem(web ? TLS_WEB_SERVER : TLS_PEER_SERVER,
	    ci.cert_pem, ci.cert_pem_len, ci.key_pem, ci.key_pem_len, err,
	    sizeof(err));
	/* The commander's: a session per tentacle of the expected fleet
	 * (tls.h): results come from all of it in turn, and a smaller LRU
	 * would keep none. */
	if (env.tls != NULL && strcmp(role, "commander") == 0 &&
	    conf->max_tentacles > TLS_SESSION_CACHE_MAX)
		SSL_CTX_sess_set_cache_size(env.tls,
		    (long)conf->max_tentacles);
	if (env.tls != NULL && !web)
		env.tls_client = tls_ctx_new_pem(TLS_PEER_CLIENT, ci.cert_pem,
		    ci.cert_pem_len, ci.key_pem, ci.key_pem_len, err,
		    sizeof(err));
	/* The key now lives in the contexts only. */
	OPENSSL_cleanse(init, len);
	free(init);
	memset(&ci, 0, sizeof(ci));
	if (env.tls == NULL || (!web && env.tls_client == NULL))
		fatalx("TLS: %s", err);
	return entry(&env);
}

static void
child_ipc_closed(struct ipc_chan *chan, const char *reason, void *arg)
{
	struct child_loop	*cl = arg;

	log_debug("channel to the maestro closed (%s): exiting", reason);
	event_base_loopexit(cl->base, NULL);
}

static void
child_reload(struct child_loop *cl, const struct ipc_msg *m)
{
	struct ipc_config_reload	 r;
	const char			*why;

	if (ipcmsg_decode_config_reload(m->payload, m->hdr.len, &r, &why) ==
	    -1) {
		log_warnx("IPC_CONFIG_RELOAD: %s: ignored", why);
		return;
	}
	child_conf.io_timeout = r.io_timeout;
	child_conf.max_tentacles = r.max_tentacles;
	if (cl->reloaded)
		cl->reloaded(&child_conf);
	log_info("configuration reloaded: io_timeout %u s, max_tentacles %u",
	    r.io_timeout, r.max_tentacles);
}

static void
child_dispatch(struct ipc_chan *chan, const struct ipc_msg *m, void *arg)
{
	struct child_loop	*cl = arg;

	if (m->hdr.type == IPC_CONFIG_RELOAD)
		child_reload(cl, m);
	else if (cl->handler)
		cl->handler(chan, m, cl->handler_arg);
	else
		log_debug("ignoring %s from the maestro",
		    ipc_type_str(m->hdr.type));
}

#define CHILD_IPC_READ_MAX	(256 * 1024)

int
child_loop_init(struct child_loop *cl, struct child_env *env,
    const char *role, ipc_handler handler, void *arg)
{
	memset(cl, 0, sizeof(*cl));
	cl->role = role;
	if ((cl->base = event_base_new()) == NULL)
		return -1;
	cl->handler = handler;
	cl->handler_arg = arg;
	cl->chan = ipc_chan_new(cl->base, env->ipc_fd, child_dispatch,
	    child_ipc_closed, cl);
	if (cl->chan == NULL)
		return -1;
	/* The maestro's answers in one read: a page of the fleet is 30 KB
	 * and more (issue 18). Its own reads of what the children send stay
	 * at libevent's 16 KB, so that a batch of keepalive answers never
	 * keeps an API call waiting long. */
	ipc_chan_read_max(cl->chan, CHILD_IPC_READ_MAX);
	/* No signal events here: SIGTERM's default action is what a child
	 * needs (SIGHUP is ignored: the maestro reloads and sends
	 * IPC_CONFIG_RELOAD); the usual way out is the maestro closing the
	 * channel. */
	return 0;
}

int
child_loop_run(struct child_loop *cl)
{
	event_base_dispatch(cl->base);
	log_debug("exiting");
	if (cl->listener)
		evconnlistener_free(cl->listener);
	return 0;
}

void
child_confine(int confine_result, const char *err)
{
	if (confine_result == -1)
		fatalx("cannot confine this process: %s", err);
	if (confine_result > 0)
		log_debug("confined: seccomp, landlock ABI %d", confine_result);
	else
		log_debug("confined: seccomp only (no landlock)");
}

void
child_report(struct child_loop *cl, const char *kind, const char *peer,
    const char *detail)
{
	struct ipc_log_event	e;

	memset(&e, 0, sizeof(e));
	ipcmsg_text(e.kind, sizeof(e.kind), kind);
	ipcmsg_text(e.peer, sizeof(e.peer), peer);
	ipcmsg_text(e.detail, sizeof(e.detail), detail);
	if (ipcmsg_send_log_event(cl->chan, IPC_LOG_EVENT, 0, &e) == -1)
		log_warnx("cannot report %s to the maestro", e.kind);
}
