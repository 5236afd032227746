"""scripts/audit/user-tmp on fixture trees: per-user temporary directories
from PAM (pam_namespace, pam_mktemp, pam_tmpdir), the sticky bit of /tmp
and /var/tmp; and on this machine."""

import auditpack
from auditpack import fx  # noqa: F401

pytestmark = auditpack.SKIP_IN_ASAN
SCRIPT = "user-tmp"

test_this_machine = auditpack.host_test(SCRIPT)

SESSION = ("session [default=1] pam_permit.so\n"
           "session required pam_unix.so\n")


def tmpdirs(fx, mode=0o1777):
    fx.dir("tmp", mode)
    fx.dir("var/tmp", mode)


def test_pam_namespace(fx):
    fx.file("etc/pam.d/common-session",
            SESSION + "session required pam_namespace.so\n")
    fx.file("etc/security/namespace.conf",
            "# polyinstantiated directories\n"
            "/tmp     /tmp-inst/       level      root,adm\n")
    tmpdirs(fx)
    r = auditpack.run(SCRIPT, fx)
    r.expect("tmp.per-user", "OK", "pam_namespace .*/etc/pam.d/"
             "common-session.* polyinstantiates /tmp", rc=0)
    r.expect("tmp.sticky", "OK", "/tmp 1777, /var/tmp 1777")
    auditpack.run(SCRIPT, fx, as_nobody=auditpack.IS_ROOT).expect(
        "tmp.per-user", "OK", rc=0)


def test_pam_tmpdir_and_mktemp(fx):
    fx.file("etc/pam.d/common-session",
            SESSION + "session optional pam_tmpdir.so\n")
    auditpack.run(SCRIPT, fx).expect("tmp.per-user", "OK", "pam_tmpdir",
                                      rc=0)
    fx.file("etc/pam.d/login", "-session optional pam_mktemp.so\n")
    auditpack.run(SCRIPT, fx).expect("tmp.per-user", "OK", "pam_mktemp")


def test_findings(fx):
    # commented out, or an auth line: not a session
    fx.file("etc/pam.d/common-session",
            SESSION + "#session optional pam_tmpdir.so\n")
    fx.file("etc/pam.d/other", "auth required pam_mktemp.so\n")
    tmpdirs(fx, 0o777)
    r = auditpack.run(SCRIPT, fx)
    assert r.rc == 1, r
    r.expect("tmp.per-user", "FAIL", "none of pam_namespace")
    r.expect("tmp.sticky", "FAIL", "/tmp 777 .writable by everyone "
             "without the sticky bit")


def test_namespace_without_tmp(fx):
    fx.file("etc/pam.d/sshd", "session required pam_namespace.so\n")
    fx.file("etc/security/namespace.conf", "#/tmp /tmp-inst/ level\n"
            "$HOME/private $HOME/.inst/ user\n")
    auditpack.run(SCRIPT, fx).expect(
        "tmp.per-user", "FAIL", "polyinstantiates neither", rc=1)


def test_not_applicable(fx):
    fx.dir("etc")
    r = auditpack.run(SCRIPT, fx)
    # without PAM at all the per-user check cannot be made
    r.expect("tmp.per-user", "SKIP", "no /etc/pam.d", rc=2)
    r.expect("tmp.sticky", "SKIP", "not applicable")
