/*
 * Each child's confinement, entered after its set-up and just before its
 * event loop: PR_SET_NO_NEW_PRIVS, Landlock at the best ABI the kernel has
 * (files, TCP ports, scopes), and a seccomp allow-list of system calls
 * (libseccomp; anything else kills the process with SIGSYS). One function
 * per role declares it (brain/confine.c, read as a table). HACKING.md,
 * "Confinement", says what each role keeps and why.
 */
#ifndef OCTO_CONFINE_H
#define OCTO_CONFINE_H

#include <stddef.h>

/*
 * Each returns, once the process is confined, the Landlock ABI it is
 * confined at (0: no Landlock in this kernel, seccomp only; that is not an
 * error), or -1 with a reason in err if it could not be confined (the
 * caller must not go on). Once confined, the process may not call
 * confine_landlock_abi() any more (seccomp).
 */
int	confine_webserv(int webroot_fd, char *err, size_t errlen);
int	confine_registerer(char *err, size_t errlen);
int	confine_commander(char *err, size_t errlen);
int	confine_exporter(char *err, size_t errlen);

/* The Landlock ABI the running kernel has: 0 if none (not built in, not
 * enabled, or refused by a seccomp filter around us). why, if not NULL,
 * gets the reason when 0. */
int	confine_landlock_abi(const char **why);

/* Say once (the maestro, at start) what the children will be confined
 * with; a warning if the kernel has no Landlock. */
void	confine_log(void);

/* The best Landlock ABI this code knows how to use (newer kernels are
 * used at this one). */
#define CONFINE_LANDLOCK_ABI_MAX	6

#endif
