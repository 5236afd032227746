"""sudo-config on fixture trees (ROOT/usr/bin/sudo as a stub that is
never run, ROOT/etc/sudoers and its includes, var/lib/dpkg/status): sudo
installed (BP-028 v2.0 R33), restricted to a group (R38), the modes of
the sudoers files, the Defaults of R39 and CIS Debian 12 5.2.x, NOPASSWD,
!authenticate, negations (R42), editors (R44), rules as root (R40),
commands without arguments (R43), EXEC (R41); compliant, non-compliant,
not applicable (sudo not installed; sudoers unreadable for nobody); then
on this machine."""

import os

import pytest

import auditpack
from auditpack import fx  # noqa: F401

pytestmark = auditpack.SKIP_IN_ASAN

S = "sudo-config"
CONTENT = ("sudo.nopasswd", "sudo.authenticate", "sudo.use_pty",
           "sudo.logfile", "sudo.noexec", "sudo.requiretty", "sudo.umask",
           "sudo.ignore_dot", "sudo.env_reset", "sudo.timestamp_timeout",
           "sudo.negation", "sudo.editors", "sudo.target",
           "sudo.command_args", "sudo.exec")
CHECKS = ("sudo.installed", "sudo.group", "sudo.sudoers.mode",
          "sudo.sudoers_d.mode", "sudo.files") + CONTENT

GOOD = """\
# hardened sudoers
Defaults\tenv_reset
Defaults\tuse_pty, requiretty
Defaults\tlogfile="/var/log/sudo.log"
Defaults noexec,umask=0077
Defaults timestamp_timeout=5
Cmnd_Alias WEB = /usr/bin/systemctl restart nginx, \\
                 /usr/bin/systemctl reload nginx
%webadm\tALL=(www-data) /usr/bin/tail -n 100 /var/log/nginx/error.log
%webadm ALL = (svc) WEB
@includedir /etc/sudoers.d
"""


def sudo(fx, sudoers=GOOD, dropins=None, sudo_mode=0o4750, sudo_group=None,
         version=None):
    s = fx.stub("sudo", "echo 'the audit must never run sudo' >&2\nexit 9\n",
                where="usr/bin")
    if auditpack.IS_ROOT:
        os.chown(s, 0, auditpack.NOBODY if sudo_group is None
                 else sudo_group)
    os.chmod(s, sudo_mode)
    if sudoers is not None:
        fx.file("etc/sudoers", sudoers, 0o440)
    fx.dir("etc/sudoers.d", 0o750)
    fx.file("etc/sudoers.d/README", "# files here are read by sudo\n",
            0o440)
    for name, (text, mode) in (dropins or {}).items():
        fx.file("etc/sudoers.d/" + name, text, mode)
    if version:
        fx.file("var/lib/dpkg/status", "Package: sudo\nStatus: install ok "
                "installed\nVersion: %s\n\n" % version)


needs_root = pytest.mark.skipif(not auditpack.IS_ROOT,
                                reason="needs root to make root's files")


@needs_root
def test_compliant(fx):
    sudo(fx)
    r = auditpack.run(S, fx)
    assert r.rc == 0, r
    for c in CHECKS:
        assert r.get(c), "%s not printed: %r" % (c, r)
    for c in ("sudo.installed", "sudo.group", "sudo.sudoers.mode",
              "sudo.sudoers_d.mode", "sudo.nopasswd", "sudo.authenticate",
              "sudo.use_pty", "sudo.logfile", "sudo.noexec",
              "sudo.requiretty", "sudo.umask", "sudo.ignore_dot",
              "sudo.env_reset", "sudo.timestamp_timeout", "sudo.negation",
              "sudo.editors", "sudo.target", "sudo.command_args",
              "sudo.exec"):
        r.expect(c, "OK")
    r.expect("sudo.files", "INFO", r"/etc/sudoers /etc/sudoers.d/README")
    r.expect("sudo.group", "OK", r"mode 4750: members of group nogroup")


@needs_root
def test_sudoers_unreadable_as_nobody(fx):
    sudo(fx)
    r = auditpack.run(S, fx, as_nobody=True)
    assert r.rc == 0, r
    r.expect("sudo.sudoers.mode", "OK")
    for c in CONTENT:
        r.expect(c, "SKIP", r"/etc/sudoers is not readable \(needs root\)")


DEBIAN = """\
Defaults\tenv_reset
Defaults\tmail_badpass
Defaults\tsecure_path="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin"
root\tALL=(ALL:ALL) ALL
%sudo\tALL=(ALL:ALL) ALL
@includedir /etc/sudoers.d
"""


@needs_root
def test_debian_as_installed(fx):
    sudo(fx, DEBIAN, sudo_mode=0o4755, sudo_group=0, version="1.9.13p3-1")
    r = auditpack.run(S, fx)
    assert r.rc == 1, r
    r.expect("sudo.group", "FAIL", r"mode 4755, group root: everyone may "
             r"run it")
    r.expect("sudo.use_pty", "FAIL", r"not set \(sudo 1.9.13p3-1\)")
    for c in ("sudo.logfile", "sudo.noexec", "sudo.requiretty", "sudo.umask"):
        r.expect(c, "FAIL")
    r.expect("sudo.nopasswd", "OK")
    r.expect("sudo.target", "WARN", r"^2 of 2 rules run commands as root")
    r.expect("sudo.command_args", "WARN", r"^2 rules allow any command")


@needs_root
def test_use_pty_default_of_newer_sudo(fx):
    sudo(fx, GOOD.replace("use_pty, ", ""), version="1.9.15p5-3")
    r = auditpack.run(S, fx)
    r.expect("sudo.use_pty", "OK", r"default of sudo 1.9.15p5-3", rc=0)
    sudo(fx, GOOD.replace("use_pty, ", "!use_pty, "), version="1.9.15p5-3")
    r = auditpack.run(S, fx)
    r.expect("sudo.use_pty", "FAIL", r"use_pty is off", rc=1)


@needs_root
def test_bad_rules(fx):
    sudo(fx, GOOD + "Defaults:backup !authenticate\n"
                    "Defaults !env_reset, !ignore_dot\n"
                    "Defaults timestamp_timeout=-1\n",
         dropins={
             "alice": ("alice ALL=(ALL) NOPASSWD: ALL, !/usr/bin/su\n",
                       0o440),
             "ed": ("ed\tALL=(root) /usr/bin/vim /etc/hosts\n", 0o440),
             "web": ("%webadm ALL=(www-data) EXEC: /usr/bin/make -C "
                     "/srv/site\n", 0o440),
             "old.conf~": ("bob ALL=(ALL) NOPASSWD: ALL\n", 0o644),
         })
    r = auditpack.run(S, fx)
    assert r.rc == 1, r
    r.expect("sudo.nopasswd", "FAIL", r"^rules without a password "
             r"\(NOPASSWD\): /etc/sudoers.d/alice:1: alice ALL=\(ALL\) "
             r"NOPASSWD: ALL, !/usr/bin/su \(expected")
    r.expect("sudo.authenticate", "FAIL", r"Defaults:backup !authenticate")
    r.expect("sudo.env_reset", "FAIL", r"Defaults !env_reset")
    r.expect("sudo.ignore_dot", "FAIL")
    r.expect("sudo.timestamp_timeout", "FAIL", r"timestamp_timeout=-1")
    r.expect("sudo.negation", "FAIL", r"/etc/sudoers.d/alice:1")
    # a user named ed is not an editor; vim is
    r.expect("sudo.editors", "FAIL", r"^rules or command aliases granting an editor \(shell "
             r"escapes as root\): /etc/sudoers.d/ed:1: ed ALL=\(root\) "
             r"/usr/bin/vim /etc/hosts \(expected sudoedit")
    r.expect("sudo.target", "WARN", r"^2 of 5 rules")
    r.expect("sudo.exec", "INFO", r"^1 rules allow sub-processes \(EXEC\): "
             r"/etc/sudoers.d/web:1")
    # sudo reads no file of sudoers.d with a dot or a ~: nor does the audit,
    # and its mode is no finding
    r.expect("sudo.files", "INFO", r"/etc/sudoers.d/alice /etc/sudoers.d/ed "
             r"/etc/sudoers.d/web$")
    r.expect("sudo.sudoers_d.mode", "OK")


@needs_root
def test_modes(fx):
    sudo(fx, dropins={"ops": ("%ops ALL=(svc) /usr/bin/id \"\"\n", 0o644)})
    os.chmod(fx.path("etc/sudoers"), 0o644)
    os.chmod(fx.path("etc/sudoers.d"), 0o777)
    r = auditpack.run(S, fx)
    assert r.rc == 1, r
    r.expect("sudo.sudoers.mode", "FAIL", r"has mode 644 \(expected 0440")
    r.expect("sudo.sudoers_d.mode", "FAIL", r"/etc/sudoers.d\(777\) "
             r"/etc/sudoers.d/ops\(644\) \(expected")
    os.chmod(fx.path("etc/sudoers.d"), 0o750)
    os.chmod(fx.path("etc/sudoers.d/ops"), 0o440)
    os.chown(fx.path("etc/sudoers"), auditpack.NOBODY, 0)
    r = auditpack.run(S, fx)
    r.expect("sudo.sudoers.mode", "FAIL", r"owned by UID 65534", rc=1)
    r.expect("sudo.sudoers_d.mode", "OK")


@needs_root
def test_includes(fx):
    sudo(fx, GOOD.replace("@includedir /etc/sudoers.d",
                          "#include /etc/sudoers.local\n"
                          "@include extra/more"))
    fx.file("etc/sudoers.local", "carol ALL=(svc) NOPASSWD: /usr/bin/id "
                                 "\"\"\n", 0o440)
    fx.file("etc/extra/more", "Defaults !requiretty\n", 0o440)
    r = auditpack.run(S, fx)
    assert r.rc == 1, r
    r.expect("sudo.files", "INFO", r"^sudoers files read: /etc/sudoers "
             r"/etc/sudoers.local /etc/extra/more$")
    r.expect("sudo.nopasswd", "FAIL", r"/etc/sudoers.local:1: carol")
    r.expect("sudo.requiretty", "FAIL", r"requiretty is off")


@needs_root
def test_command_aliases(fx):
    # an alias is no rule (not counted, not as root), but its commands are
    # judged: a negation or an editor hidden in a Cmnd_Alias is found
    sudo(fx, GOOD.replace("Cmnd_Alias WEB = ", "Cmnd_Alias WEB = "
                          "/usr/bin/nano /etc/nginx/nginx.conf, !/usr/bin/sh, "))
    r = auditpack.run(S, fx)
    assert r.rc == 1, r
    r.expect("sudo.negation", "FAIL", r"/etc/sudoers:7: Cmnd_Alias WEB = ")
    r.expect("sudo.editors", "FAIL", r"/etc/sudoers:7: Cmnd_Alias WEB = "
             r"/usr/bin/nano")
    r.expect("sudo.target", "OK", r"\(2 rules\)")
    assert [c for c, _ in r.with_status("FAIL")] == ["sudo.negation",
                                                      "sudo.editors"], r


def test_not_installed(fx):
    fx.file("etc/sudoers", DEBIAN, 0o440)     # left behind: not checked
    r = auditpack.run(S, fx)
    assert r.rc == 0, r
    r.expect("sudo.installed", "WARN", r"sudo is not installed")
    for c in CHECKS:
        if c not in ("sudo.installed", "sudo.files"):
            r.expect(c, "SKIP", r"sudo is not installed")


@needs_root
def test_no_sudoers(fx):
    sudo(fx, sudoers=None)
    r = auditpack.run(S, fx)
    assert r.rc == 2, r
    r.expect("sudo.sudoers.mode", "SKIP", r"/etc/sudoers is not present")
    r.expect("sudo.installed", "OK")


def _known_and_installed(r, as_nobody):
    assert r.checks() <= set(CHECKS), r
    assert "sudo.installed" in r.checks(), r


test_this_machine = auditpack.host_test(S, then=_known_and_installed)
