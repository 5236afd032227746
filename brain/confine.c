/*
 * The children's confinement (issue 12): one function per role at the end
 * of this file declares what the role keeps, as a table; confine_apply()
 * turns it into PR_SET_NO_NEW_PRIVS, a Landlock domain and a seccomp
 * filter, in that order.
 *
 * Landlock is used at the best ABI the kernel has, up to the one this code
 * knows (CONFINE_LANDLOCK_ABI_MAX); rights an older ABI does not know are
 * left out (1: files, 2: refer, 3: truncate, 4: TCP bind/connect, 5: ioctl
 * on devices, 6: scopes for abstract unix sockets and signals). Without
 * Landlock the process goes on with seccomp alone (the maestro logs it
 * once at start, the child at debug). A seccomp failure is fatal to the
 * child: seccomp is always there on Debian's kernels.
 *
 * The constants of ABI 3 and later are not in Debian 12's linux-libc-dev
 * (6.1, ABI 2): they are kernel ABI, so they are defined here when the
 * header lacks them, and used only when the running kernel says it has
 * them.
 *
 * What a role needs from the file system later is opened before: syslog's
 * socket (openlog with LOG_NDELAY, common/log.c); /etc/localtime,
 * OpenSSL's configuration and random generator, jansson's hash seed
 * (/dev/urandom), all in confine_prepare(). The children never resolve
 * names (addresses are numeric), so NSS is not needed after the maestro's
 * getpwnam.
 *
 * Sanitizer build (__SANITIZE_ADDRESS__): AddressSanitizer and UBSan keep
 * what their runtime and their reports need (see sanitizer_calls below);
 * leak detection is turned off in a confined process (__lsan_is_turned_off:
 * LeakSanitizer stops the world with clone + ptrace and reads /proc, which
 * a confined child may not), and starting a symbolizer fails with EPERM
 * instead of killing the process, so a report still comes out,
 * unsymbolised (module+offset). Nothing has to be passed in ASAN_OPTIONS
 * for a confined child; HACKING.md, "Confinement".
 */
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include <linux/landlock.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <seccomp.h>

#include "confine.h"
#include "log.h"

/* Landlock constants newer than Debian 12's header (kernel ABI). */
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE		(1ULL << 14)	/* ABI 3 */
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV		(1ULL << 15)	/* ABI 5 */
#endif
#ifndef LANDLOCK_ACCESS_NET_BIND_TCP
#define LANDLOCK_ACCESS_NET_BIND_TCP		(1ULL << 0)	/* ABI 4 */
#define LANDLOCK_ACCESS_NET_CONNECT_TCP		(1ULL << 1)
#endif
/* A TCP port rule (ABI 4): the header of Debian 12 has neither. */
#define CONFINE_RULE_NET_PORT			2
struct confine_net_port_attr {
	uint64_t	allowed_access;
	uint64_t	port;
};
#ifndef LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET
#define LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET	(1ULL << 0)	/* ABI 6 */
#define LANDLOCK_SCOPE_SIGNAL			(1ULL << 1)
#endif

/* struct landlock_ruleset_attr with every field up to ABI 6; the kernel
 * takes a longer struct than its own as long as the tail is zero, so the
 * fields an ABI does not know stay 0. */
struct confine_ruleset_attr {
	uint64_t	handled_access_fs;
	uint64_t	handled_access_net;	/* ABI 4 */
	uint64_t	scoped;			/* ABI 6 */
};

#define LL_FS_ABI1	((1ULL << 13) - 1)	/* EXECUTE .. MAKE_SYM */

/* TCP, as Landlock sees it (ABI 4). */
enum confine_net {
	NET_NONE,	/* neither bind nor connect: accept() only */
	NET_CONNECT,	/* connect to any port (see the commander); bind to
			   port 0 only: the source address of a connection,
			   its port chosen by the kernel (no listen) */
};

/* An allowed socket(family, type & SOCK_TYPE_MASK). */
struct confine_socket {
	int	family;
	int	type;
};

struct confine_policy {
	int				 fs_dir;	/* -1: no file at all */
	uint64_t			 fs_rights;	/* under fs_dir */
	enum confine_net		 net;
	const int			*calls;		/* __NR_SCMP_ERROR-ended */
	const struct confine_socket	*sockets;	/* { 0, 0 }-ended */
	int				 openat2_dirfd;	/* -1: no openat2 */
};

#define END_OF_CALLS	__NR_SCMP_ERROR

/* A role that needs no call beyond child_calls. */
static const int no_more_calls[] = { END_OF_CALLS };

/*
 * Every child: its event loop (epoll), its sockets (the channel to the
 * maestro, TLS connections), memory, time, randomness, its own death.
 * Calls with arguments to check (socket, ioctl, mmap, mprotect, tgkill,
 * openat2) are added by confine_seccomp, not here.
 */
static const int child_calls[] = {
	/* I/O on descriptors it holds */
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev),
	SCMP_SYS(recvmsg), SCMP_SYS(sendmsg), SCMP_SYS(recvfrom),
	SCMP_SYS(sendto), SCMP_SYS(close), SCMP_SYS(fcntl),
	SCMP_SYS(fstat), SCMP_SYS(newfstatat), SCMP_SYS(lseek),
	/* the event loop */
	SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait), SCMP_SYS(epoll_ctl),
	SCMP_SYS(poll), SCMP_SYS(ppoll),
	/* TCP: accept on its listening socket, options, syslog's reconnect */
	SCMP_SYS(accept4), SCMP_SYS(accept), SCMP_SYS(connect),
	SCMP_SYS(setsockopt), SCMP_SYS(getsockopt), SCMP_SYS(getsockname),
	SCMP_SYS(getpeername), SCMP_SYS(shutdown),
	/* memory (mmap and mprotect: never executable, see below) */
	SCMP_SYS(brk), SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(madvise),
	/* time, randomness, identity */
	SCMP_SYS(clock_gettime), SCMP_SYS(clock_getres),
	SCMP_SYS(gettimeofday), SCMP_SYS(time), SCMP_SYS(clock_nanosleep),
	SCMP_SYS(nanosleep), SCMP_SYS(getrandom), SCMP_SYS(getpid),
	SCMP_SYS(gettid), SCMP_SYS(getppid), SCMP_SYS(uname),
	/* signals to itself (abort), futexes of libc's locks */
	SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigprocmask),
	SCMP_SYS(rt_sigaction), SCMP_SYS(futex), SCMP_SYS(sched_yield),
	SCMP_SYS(restart_syscall),
	/* the way out */
	SCMP_SYS(exit), SCMP_SYS(exit_group),
	END_OF_CALLS
};

/*
 * Calls that fail with an error instead of killing: libc or OpenSSL may
 * try them on a rare path and cope with a refusal. Opening a file by path
 * is refused here even where Landlock is missing (the webserv opens its
 * files with openat2 on web_root only).
 */
static const struct {
	int	nr;
	int	err;
} soft_denied[] = {
	{ SCMP_SYS(open),	EACCES },
	{ SCMP_SYS(openat),	EACCES },
#ifdef __SANITIZE_ADDRESS__
	/* the sanitizers' symbolizer and stack traces: fail, not kill */
	{ SCMP_SYS(readlink),	EACCES },
	{ SCMP_SYS(readlinkat),	EACCES },
	{ SCMP_SYS(clone),	EPERM },
	{ SCMP_SYS(clone3),	ENOSYS },	/* glibc then tries clone */
	{ SCMP_SYS(fork),	EPERM },
	{ SCMP_SYS(vfork),	EPERM },
	{ SCMP_SYS(execve),	EPERM },
	{ SCMP_SYS(execveat),	EPERM },
	{ SCMP_SYS(pipe),	EPERM },
	{ SCMP_SYS(pipe2),	EPERM },
#endif
};

#ifdef __SANITIZE_ADDRESS__
/* What AddressSanitizer's and UBSan's runtimes call after start-up: the
 * allocator's mappings, the shadow, the report (its alternate signal
 * stack, its checks of the process). */
static const int sanitizer_calls[] = {
	SCMP_SYS(sigaltstack), SCMP_SYS(prctl), SCMP_SYS(getrlimit),
	SCMP_SYS(prlimit64), SCMP_SYS(sched_getaffinity), SCMP_SYS(mincore),
	SCMP_SYS(msync), SCMP_SYS(getdents64), SCMP_SYS(stat), SCMP_SYS(lstat),
	SCMP_SYS(access), SCMP_SYS(faccessat), SCMP_SYS(getuid),
	SCMP_SYS(geteuid), SCMP_SYS(sched_getparam),
	END_OF_CALLS
};

/* LeakSanitizer asks this at exit: never in a confined process. */
static int confined;

int	__lsan_is_turned_off(void);

int
__lsan_is_turned_off(void)
{
	return confined;
}
#endif

/* ------------------------------------------------------------ Landlock */

static int
ll_create_ruleset(const struct confine_ruleset_attr *attr, size_t size,
    uint32_t flags)
{
	return (int)syscall(SYS_landlock_create_ruleset, attr, size, flags);
}

static int
ll_add_rule(int ruleset, int type, const void *attr)
{
	return (int)syscall(SYS_landlock_add_rule, ruleset, type, attr, 0);
}

static int
ll_restrict_self(int ruleset)
{
	return (int)syscall(SYS_landlock_restrict_self, ruleset, 0);
}

int
confine_landlock_abi(const char **why)
{
	int	abi;

	abi = ll_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	if (abi > 0)
		return abi;
	if (why != NULL) {
		if (errno == ENOSYS)
			*why = "not in this kernel";
		else if (errno == EOPNOTSUPP)
			*why = "not enabled (lsm= on the kernel command line)";
		else
			*why = strerror(errno);
	}
	return 0;
}

void
confine_log(void)
{
	const char	*why = NULL;
	int		 abi;

	if ((abi = confine_landlock_abi(&why)) > 0)
		log_info("children confined by seccomp and landlock (the "
		    "kernel's ABI %d, used up to %d)", abi,
		    abi > CONFINE_LANDLOCK_ABI_MAX ? CONFINE_LANDLOCK_ABI_MAX :
		    abi);
	else
		log_warnx("landlock unavailable (%s): children confined by "
		    "seccomp only", why);
}

/* Every file right the ABI knows: all of them are handled (denied unless
 * a rule gives them back). */
static uint64_t
ll_fs_rights(int abi)
{
	uint64_t	r = LL_FS_ABI1;

	if (abi >= 2)
		r |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		r |= LANDLOCK_ACCESS_FS_TRUNCATE;
	if (abi >= 5)
		r |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
	return r;
}

/* 0 confined (or no Landlock: *abi_out 0), -1 with err. */
static int
confine_landlock(const struct confine_policy *p, int *abi_out, char *err,
    size_t errlen)
{
	struct confine_ruleset_attr		 attr;
	struct landlock_path_beneath_attr	 beneath;
	struct confine_net_port_attr		 port;
	int					 abi, rs;

	*abi_out = 0;
	if ((abi = confine_landlock_abi(NULL)) == 0)
		return 0;
	if (abi > CONFINE_LANDLOCK_ABI_MAX)
		abi = CONFINE_LANDLOCK_ABI_MAX;

	memset(&attr, 0, sizeof(attr));
	attr.handled_access_fs = ll_fs_rights(abi);
	if (abi >= 4) {
		/* NET_CONNECT leaves connect alone: the ports are the
		 * tentacles' own (any port), so only bind is handled, and
		 * given back for port 0 alone below. */
		attr.handled_access_net = LANDLOCK_ACCESS_NET_BIND_TCP;
		if (p->net == NET_NONE)
			attr.handled_access_net |=
			    LANDLOCK_ACCESS_NET_CONNECT_TCP;
	}
	if (abi >= 6)
		attr.scoped = LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET |
		    LANDLOCK_SCOPE_SIGNAL;

	if ((rs = ll_create_ruleset(&attr, sizeof(attr), 0)) == -1) {
		snprintf(err, errlen, "landlock_create_ruleset (ABI %d): %s",
		    abi, strerror(errno));
		return -1;
	}
	if (p->fs_dir != -1) {
		memset(&beneath, 0, sizeof(beneath));
		beneath.allowed_access = p->fs_rights & attr.handled_access_fs;
		beneath.parent_fd = p->fs_dir;
		if (ll_add_rule(rs, LANDLOCK_RULE_PATH_BENEATH,
		    &beneath) == -1) {
			snprintf(err, errlen, "landlock_add_rule: %s",
			    strerror(errno));
			close(rs);
			return -1;
		}
	}
	if (abi >= 4 && p->net == NET_CONNECT) {
		/* Port 0 is what bind(2) takes for "any ephemeral port":
		 * a rule for it allows that and nothing else. */
		memset(&port, 0, sizeof(port));
		port.allowed_access = LANDLOCK_ACCESS_NET_BIND_TCP;
		port.port = 0;
		if (ll_add_rule(rs, CONFINE_RULE_NET_PORT, &port) == -1) {
			snprintf(err, errlen, "landlock_add_rule (port 0): %s",
			    strerror(errno));
			close(rs);
			return -1;
		}
	}
	if (ll_restrict_self(rs) == -1) {
		snprintf(err, errlen, "landlock_restrict_self: %s",
		    strerror(errno));
		close(rs);
		return -1;
	}
	close(rs);
	*abi_out = abi;
	return 0;
}

/* ------------------------------------------------------------- seccomp */

static int
add_calls(scmp_filter_ctx ctx, const int *calls, char *err, size_t errlen)
{
	int	r;

	for (; *calls != END_OF_CALLS; calls++)
		if ((r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, *calls, 0))
		    < 0) {
			snprintf(err, errlen, "seccomp rule for system "
			    "call %d: %s", *calls, strerror(-r));
			return -1;
		}
	return 0;
}

#define RULE(act, nr, ...) do {						\
	int r_ = seccomp_rule_add(ctx, (act), (nr), __VA_ARGS__);	\
	if (r_ < 0) {							\
		snprintf(err, errlen, "seccomp rule for %s: %s", #nr,	\
		    strerror(-r_));					\
		goto fail;						\
	}								\
} while (0)

#ifdef CONFINE_TRAP
/*
 * Debugging a policy: make BUILD=build/trap CC="gcc -DCONFINE_TRAP". A
 * refused call then raises SIGSYS, is named (by number) on stderr, and the
 * process exits with status 159; the default is SCMP_ACT_KILL_PROCESS.
 */
#include <signal.h>

static void
confine_trapped(int sig, siginfo_t *si, void *ctx)
{
	char	line[96];
	ssize_t	w = 0;
	int	n;

	n = snprintf(line, sizeof(line), "confine: system call %d refused "
	    "(asm/unistd_64.h)\n", si->si_syscall);
	if (n > 0)
		w = write(STDERR_FILENO, line, (size_t)n);
	(void)w;
	_exit(159);
}
#define CONFINE_DEFAULT	SCMP_ACT_TRAP
#else
#define CONFINE_DEFAULT	SCMP_ACT_KILL_PROCESS
#endif

static int
confine_seccomp(const struct confine_policy *p, char *err, size_t errlen)
{
	scmp_filter_ctx			 ctx;
	const struct confine_socket	*s;
	size_t				 i;
	int				 r;

#ifdef CONFINE_TRAP
	struct sigaction	sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = confine_trapped;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGSYS, &sa, NULL);
#endif
	if ((ctx = seccomp_init(CONFINE_DEFAULT)) == NULL) {
		snprintf(err, errlen, "seccomp_init failed");
		return -1;
	}
	if (add_calls(ctx, child_calls, err, errlen) == -1 ||
	    add_calls(ctx, p->calls, err, errlen) == -1)
		goto fail;
#ifdef __SANITIZE_ADDRESS__
	if (add_calls(ctx, sanitizer_calls, err, errlen) == -1)
		goto fail;
#endif
	for (i = 0; i < sizeof(soft_denied) / sizeof(soft_denied[0]); i++)
		RULE(SCMP_ACT_ERRNO(soft_denied[i].err), soft_denied[i].nr, 0);

	/* Sockets: only the families and types of the role's table (no raw
	 * socket, no netlink, no packet). */
	for (s = p->sockets; s->family != 0; s++)
		RULE(SCMP_ACT_ALLOW, SCMP_SYS(socket), 2,
		    SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)s->family),
		    SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf, (scmp_datum_t)s->type));
	/* ioctl: how much a socket has to read (libevent), nothing else. */
	RULE(SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
	    SCMP_A1(SCMP_CMP_EQ, FIONREAD));
#ifdef __SANITIZE_ADDRESS__
	/* the sanitizers' report: is stderr a terminal (colours)? */
	RULE(SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
	    SCMP_A1(SCMP_CMP_EQ, TCGETS));
#endif
	/* Memory is never made executable after start-up. */
	RULE(SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
	    SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	RULE(SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
	    SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	/* Signals: to itself only (abort, raise). */
	RULE(SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
	    SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid()));
	RULE(SCMP_ACT_ALLOW, SCMP_SYS(kill), 1,
	    SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid()));
	/* bind: the source address of an outgoing connection (conn.c,
	 * IP_BIND_ADDRESS_NO_PORT), an IPv4 or IPv6 address only. Its
	 * port is Landlock's (0 only, ABI 4); listen stays refused, so even
	 * without Landlock a bound port serves nothing. */
	if (p->net == NET_CONNECT) {
		RULE(SCMP_ACT_ALLOW, SCMP_SYS(bind), 1,
		    SCMP_A2(SCMP_CMP_MASKED_EQ, 0xffffffffu,
		    sizeof(struct sockaddr_in)));
		RULE(SCMP_ACT_ALLOW, SCMP_SYS(bind), 1,
		    SCMP_A2(SCMP_CMP_MASKED_EQ, 0xffffffffu,
		    sizeof(struct sockaddr_in6)));
	}
	/* openat2 on one directory (the webserv's web_root). */
	if (p->openat2_dirfd != -1)
		RULE(SCMP_ACT_ALLOW, SCMP_SYS(openat2), 1,
		    SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)p->openat2_dirfd));

	if ((r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1)) < 0 ||
	    (r = seccomp_load(ctx)) < 0) {
		snprintf(err, errlen, "cannot load the seccomp filter: %s",
		    strerror(-r));
		goto fail;
	}
	seccomp_release(ctx);
	return 0;
fail:
	seccomp_release(ctx);
	return -1;
}

/* ------------------------------------------------------------- applying */

/* Open now what is needed later from the file system. */
static int
confine_prepare(char *err, size_t errlen)
{
	unsigned char	b;

	tzset();
	json_object_seed(0);	/* jansson reads /dev/urandom for it */
	if (OPENSSL_init_ssl(OPENSSL_INIT_LOAD_CONFIG, NULL) != 1 ||
	    RAND_bytes(&b, 1) != 1) {
		snprintf(err, errlen, "cannot initialise OpenSSL");
		return -1;
	}
	return 0;
}

static int
confine_apply(const struct confine_policy *p, char *err, size_t errlen)
{
	int	abi;

	if (confine_prepare(err, errlen) == -1)
		return -1;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1) {
		snprintf(err, errlen, "PR_SET_NO_NEW_PRIVS: %s",
		    strerror(errno));
		return -1;
	}
	if (confine_landlock(p, &abi, err, errlen) == -1 ||
	    confine_seccomp(p, err, errlen) == -1)
		return -1;
#ifdef __SANITIZE_ADDRESS__
	confined = 1;
#endif
	return abi;
}

/* ---------------------------------------------------------------- roles */

/*
 * webserv: HTTPS on its inherited socket, the dashboard's static files.
 *	files		read the files under web_root (openat2 beneath it)
 *	TCP		accept only: no bind, no connect
 *	sockets		AF_UNIX datagram (syslog reconnecting)
 *	calls		child_calls; openat2 from web_root's descriptor
 *	scopes		no abstract unix socket, no signal out of itself
 */
int
confine_webserv(int webroot_fd, char *err, size_t errlen)
{
	static const struct confine_socket sockets[] = {
		{ AF_UNIX, SOCK_DGRAM },
		{ 0, 0 }
	};
	const struct confine_policy p = {
		.fs_dir = webroot_fd,
		.fs_rights = LANDLOCK_ACCESS_FS_READ_FILE,
		.net = NET_NONE,
		.calls = no_more_calls,
		.sockets = sockets,
		.openat2_dirfd = webroot_fd,
	};

	return confine_apply(&p, err, errlen);
}

/*
 * The registerer (TLS on 6000; enrolment by address connects to the
 * host's register port, which the administrator names) and the commander
 * (TLS on 6001; orders and pings go to each tentacle's command port, the
 * one it enrolled with) face tentacles alike:
 *	files		none
 *	TCP		accept; connect to any port (the tentacles'), from
 *			listen_address: bind to port 0 only (the kernel
 *			picks the port at connect); no listen
 *	sockets		TCP over IPv4 and IPv6, AF_UNIX datagram (syslog)
 *	calls		child_calls
 *	scopes		no abstract unix socket, no signal out of itself
 */
static const struct confine_socket tentacle_sockets[] = {
	{ AF_INET, SOCK_STREAM },
	{ AF_INET6, SOCK_STREAM },
	{ AF_UNIX, SOCK_DGRAM },
	{ 0, 0 }
};

static const struct confine_policy tentacle_facing = {
	.fs_dir = -1,
	.net = NET_CONNECT,
	.calls = no_more_calls,
	.sockets = tentacle_sockets,
	.openat2_dirfd = -1,
};

int
confine_registerer(char *err, size_t errlen)
{
	return confine_apply(&tentacle_facing, err, errlen);
}

int
confine_commander(char *err, size_t errlen)
{
	return confine_apply(&tentacle_facing, err, errlen);
}
