"""scripts/audit/mac-policy on fixture trees: AppArmor (module parameter,
securityfs profiles, /proc/PID/attr), SELinux (/sys/fs/selinux,
/etc/selinux); and on this machine."""


import pytest

import auditpack
from auditpack import fx  # noqa: F401

pytestmark = auditpack.SKIP_IN_ASAN
SCRIPT = "mac-policy"
APPARMOR = ("mac.apparmor.profiles", "mac.apparmor.complain",
            "mac.apparmor.unconfined")
SELINUX = ("mac.selinux.enforcing", "mac.selinux.config", "mac.selinux.users",
           "mac.selinux.booleans", "mac.selinux.debugtools")

test_this_machine = auditpack.host_test(SCRIPT)


def apparmor(fx, profiles, mode=0o444):
    fx.file("sys/module/apparmor/parameters/enabled", "Y\n")
    fx.file("sys/kernel/security/apparmor/profiles", profiles, mode)


def process(fx, pid, exe, context, attr="attr/current"):
    fx.proc(pid, exe=exe)
    fx.file("proc/%d/%s" % (pid, attr), context + "\n")


def test_apparmor_enforcing(fx):
    apparmor(fx, "/usr/sbin/cupsd (enforce)\n/usr/bin/man (enforce)\n"
                 "lsb_release (enforce)\n")
    process(fx, 10, "/usr/sbin/cupsd", "/usr/sbin/cupsd (enforce)")
    process(fx, 11, "/usr/bin/bash", "unconfined")
    process(fx, 12, "/usr/bin/man", "/usr/bin/man (enforce)",
            attr="attr/apparmor/current")
    r = auditpack.run(SCRIPT, fx)
    assert r.rc == 0, r
    r.expect("mac.enabled", "OK", "AppArmor")
    r.expect("mac.apparmor.profiles", "OK", "3 AppArmor profiles loaded, "
             "3 in enforce mode")
    r.expect("mac.apparmor.complain", "OK")
    r.expect("mac.apparmor.unconfined", "OK")
    for c in SELINUX:
        r.expect(c, "SKIP", "not applicable")


def test_apparmor_findings(fx):
    apparmor(fx, "/usr/sbin/cupsd (enforce)\n/usr/bin/man (complain)\n"
                 "/usr/sbin/ntpd (complain)\n")
    process(fx, 10, "/usr/sbin/cupsd", "unconfined")
    r = auditpack.run(SCRIPT, fx)
    assert r.rc == 1, r
    r.expect("mac.apparmor.complain", "FAIL",
             "2 profiles in complain mode: /usr/bin/man, /usr/sbin/ntpd")
    r.expect("mac.apparmor.unconfined", "FAIL",
             "/usr/sbin/cupsd .pid 10.")


def test_apparmor_no_profiles(fx):
    apparmor(fx, "")
    auditpack.run(SCRIPT, fx).expect("mac.apparmor.profiles", "FAIL",
                                      "0 AppArmor profiles", rc=1)


@pytest.mark.skipif(not auditpack.IS_ROOT, reason="needs root to make a "
                                                  "root-only file")
def test_apparmor_profiles_need_root(fx):
    apparmor(fx, "/usr/sbin/cupsd (enforce)\n", mode=0o400)
    r = auditpack.run(SCRIPT, fx, as_nobody=True)
    assert r.rc == 2, r
    for c in APPARMOR:
        r.expect(c, "SKIP", "needs root")


def test_apparmor_without_securityfs(fx):
    fx.file("sys/module/apparmor/parameters/enabled", "Y\n")
    r = auditpack.run(SCRIPT, fx)
    r.expect("mac.apparmor.profiles", "SKIP", "securityfs", rc=2)


def selinux(fx, enforce="1", config="SELINUX=enforcing\n"
            "SELINUXTYPE=targeted\n", default="user_u", booleans=None):
    fx.file("sys/fs/selinux/enforce", enforce)
    fx.file("etc/selinux/config", "# config\n" + config)
    fx.file("etc/selinux/targeted/seusers",
            "root:unconfined_u:s0-s0:c0.c1023\n__default__:%s:s0\n"
            % default)
    for name, value in (booleans or {"deny_execmem": "1 1",
                                     "selinuxuser_execheap": "0 0",
                                     "selinuxuser_execstack": "0 0",
                                     "secure_mode_insmod": "1 1",
                                     "ssh_sysadm_login": "0 0"}).items():
        fx.file("sys/fs/selinux/booleans/" + name, value)


def test_selinux_compliant(fx):
    selinux(fx)
    r = auditpack.run(SCRIPT, fx)
    assert r.rc == 0, r
    r.expect("mac.enabled", "OK", "SELinux")
    r.expect("mac.selinux.enforcing", "OK")
    r.expect("mac.selinux.config", "OK", "SELINUXTYPE=targeted")
    r.expect("mac.selinux.users", "OK", "user_u")
    r.expect("mac.selinux.booleans", "OK", "the 5 booleans")
    r.expect("mac.selinux.debugtools", "OK")
    for c in APPARMOR:
        r.expect(c, "SKIP", "not applicable")
    auditpack.run(SCRIPT, fx, as_nobody=auditpack.IS_ROOT).expect(
        "mac.selinux.enforcing", "OK", rc=0)


def test_selinux_findings(fx):
    selinux(fx, enforce="0", config="SELINUX=permissive\n"
            "SELINUXTYPE=targeted\n", default="unconfined_u",
            booleans={"deny_execmem": "0 0", "ssh_sysadm_login": "1 1"})
    fx.stub("setroubleshootd", "exit 0\n")
    r = auditpack.run(SCRIPT, fx)
    assert r.rc == 1, r
    r.expect("mac.selinux.enforcing", "FAIL", "permissive")
    r.expect("mac.selinux.config", "FAIL", "SELINUX=permissive")
    r.expect("mac.selinux.users", "FAIL", "unconfined_u")
    r.expect("mac.selinux.booleans", "FAIL",
             "deny_execmem=0 .expected 1. ssh_sysadm_login=1")
    r.expect("mac.selinux.debugtools", "FAIL", "setroubleshootd")


def test_selinux_unreadable_parts(fx):
    fx.file("sys/fs/selinux/enforce", "1")
    r = auditpack.run(SCRIPT, fx)
    r.expect("mac.selinux.config", "FAIL", "missing", rc=1)
    r.expect("mac.selinux.users", "SKIP", "not readable")
    r.expect("mac.selinux.booleans", "SKIP", "none of the booleans")


def test_no_mac(fx):
    fx.dir("sys/module")
    r = auditpack.run(SCRIPT, fx)
    r.expect("mac.enabled", "FAIL", "neither AppArmor nor SELinux", rc=1)
    fx.file("run/systemd/container", "docker\n")
    auditpack.run(SCRIPT, fx).expect("mac.enabled", "SKIP", "container",
                                      rc=0)
