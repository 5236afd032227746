"""umask on fixture trees (ROOT/etc/login.defs, profile, profile.d,
bash.bashrc, pam.d, proc/PID/status): UMASK of login.defs, the shells'
umask, pam_umask, the services started by init (BP-028 v2.0 R36, CIS
Debian 12 5.4.3.3); 077 compliant, 027 WARN, weaker FAIL; not applicable
(no login.defs, no PAM, no /proc); then on this machine."""

import auditpack
from auditpack import fx  # noqa: F401

pytestmark = auditpack.SKIP_IN_ASAN

S = "umask"
CHECKS = ("umask.login_defs", "umask.shell", "umask.pam", "umask.services")


def proc(fx, pid, name, ppid, umask):
    fx.proc(pid, name, ppid=ppid, umask=umask)


def host(fx, defs="077", shell="077", pam=True, services=("0027", "0077")):
    if defs is not None:
        fx.file("etc/login.defs", "MAIL_DIR /var/mail\nUMASK\t\t%s\n" % defs)
    fx.file("etc/profile", "PATH=/usr/bin:/bin\nexport PATH\n")
    if shell is not None:
        fx.file("etc/profile.d/umask.sh", "umask %s\n" % shell)
    if pam is not None:
        fx.file("etc/pam.d/common-session",
                "session required pam_unix.so\n" +
                ("session optional pam_umask.so\n" if pam else
                 "# session optional pam_umask.so\n"))
    proc(fx, 1, "systemd", 0, "0000")
    for i, u in enumerate(services):
        proc(fx, 100 + i, "svc%d" % i, 1, u)
    proc(fx, 200, "bash", 100, "0022")     # not started by init


def test_compliant(fx):
    host(fx)
    r = auditpack.run(S, fx)
    assert r.rc == 0, r
    r.expect("umask.login_defs", "OK", r"^UMASK 077 ")
    r.expect("umask.shell", "OK", r"/etc/profile.d/umask.sh:1=077")
    r.expect("umask.pam", "OK", r"/etc/pam.d/common-session")
    r.expect("umask.services", "OK")
    if auditpack.IS_ROOT:
        assert auditpack.run(S, fx, as_nobody=True).rc == 0


def test_cis_minimum_is_a_warning(fx):
    host(fx, defs="027", shell="0027")
    r = auditpack.run(S, fx)
    assert r.rc == 0, r
    r.expect("umask.login_defs", "WARN", r"ANSSI recommends 077")
    r.expect("umask.shell", "WARN", r"umask.sh:1 umask 0027")


def test_non_compliant(fx):
    host(fx, defs="022", shell="022", pam=False,
         services=("0022", "0027", "0002"))
    r = auditpack.run(S, fx)
    assert r.rc == 1, r
    r.expect("umask.login_defs", "FAIL", r"UMASK 022 .*\(expected 077\)")
    r.expect("umask.shell", "FAIL", r"umask 022 \(expected 077")
    r.expect("umask.pam", "WARN", r"pam_umask is in no session stack")
    r.expect("umask.services", "WARN", r"^2 services run with a umask "
             r"weaker than 0027: svc0\(0022\) svc2\(0002\) ")


def test_weakest_shell_umask_wins(fx):
    host(fx)
    fx.file("etc/bash.bashrc", "[ -z \"$PS1\" ] && return\numask 022\n")
    r = auditpack.run(S, fx)
    r.expect("umask.shell", "FAIL", r"^/etc/bash.bashrc:2 umask 022", rc=1)


def test_no_umask_in_profiles(fx):
    host(fx, shell=None)
    fx.file("etc/profile", "# umask 077\n")
    r = auditpack.run(S, fx)
    r.expect("umask.shell", "FAIL", r"no umask in", rc=1)


def test_login_defs_without_umask(fx):
    host(fx)
    fx.file("etc/login.defs", "MAIL_DIR /var/mail\n")
    r = auditpack.run(S, fx)
    r.expect("umask.login_defs", "FAIL", r"not set", rc=1)


def test_many_services_capped(fx):
    host(fx, services=["0022"] * 14)
    r = auditpack.run(S, fx)
    r.expect("umask.services", "WARN", r"^14 services .* and 4 more ", rc=0)


def test_not_applicable(fx):
    r = auditpack.run(S, fx)
    assert r.rc == 1, r             # no umask in any shell profile
    r.expect("umask.login_defs", "SKIP", r"not present")
    r.expect("umask.pam", "SKIP", r"PAM not installed")
    r.expect("umask.services", "SKIP", r"/proc/1/status is not readable")
    r.expect("umask.shell", "FAIL")


test_this_machine = auditpack.host_test(S, CHECKS)
