"""accounts on fixture trees (ROOT/etc/passwd, group, shadow, login.defs,
default/useradd): UID 0 and GID 0 (BP-028 v2.0 R33), service accounts
without a shell and locked (R34), unique UIDs, GIDs and names (R35),
shadowed and non-empty passwords (R68), INACTIVE and the interactive
accounts (R30), the running services' accounts (R35: /proc/PID/status
and cgroup); compliant, non-compliant and not applicable (no shadow;
/etc/shadow unreadable by nobody); then on this machine."""

import os

import pytest

import auditpack
from auditpack import fx  # noqa: F401

pytestmark = auditpack.SKIP_IN_ASAN

S = "accounts"
CHECKS = ("accounts.uid0", "accounts.gid0", "accounts.uid.unique",
          "accounts.gid.unique", "accounts.names.unique",
          "accounts.system.shell", "accounts.shadowed",
          "accounts.empty-password", "accounts.system.locked",
          "accounts.inactive", "accounts.interactive")
SERVICE_CHECKS = ("accounts.service.unique", "accounts.service.exclusive")

PASSWD = """\
root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
sync:x:4:65534:sync:/bin:/bin/sync
www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
alice:x:1000:1000:Alice,,,:/home/alice:/bin/bash
"""
GROUP = """\
root:x:0:
daemon:x:1:
www-data:x:33:
nogroup:x:65534:
alice:x:1000:
"""
SHADOW = """\
root:$y$j9T$abcdefghijklmnop$0123456789abcdef:19700:0:99999:7:::
daemon:*:19700:0:99999:7:::
sync:*:19700:0:99999:7:::
www-data:!:19700:0:99999:7:::
nobody:*:19700:0:99999:7:::
alice:$6$saltsalt$abcdefghijklmnop:19700:0:99999:7:::
"""


def accounts(fx, passwd=PASSWD, group=GROUP, shadow=SHADOW,
             inactive="INACTIVE=30\n", shadow_mode=0o640):
    fx.file("etc/passwd", passwd)
    fx.file("etc/group", group)
    if shadow is not None:
        fx.file("etc/shadow", shadow, shadow_mode)
    fx.file("etc/login.defs", "UID_MIN\t\t\t 1000\nUID_MAX\t\t\t60000\n")
    fx.file("etc/default/useradd", "SHELL=/bin/sh\n" + inactive)


def test_compliant(fx):
    accounts(fx)
    r = auditpack.run(S, fx)
    assert r.rc == 0, r
    for c in CHECKS[:-1]:
        r.expect(c, "OK")
    r.expect("accounts.interactive", "INFO", r"^1 interactive accounts to "
             r"review, remove those unused: alice$")


@pytest.mark.skipif(not auditpack.IS_ROOT, reason="needs root to make a "
                    "root-only /etc/shadow")
def test_shadow_unreadable_as_nobody(fx):
    accounts(fx)
    r = auditpack.run(S, fx, as_nobody=True)
    assert r.rc == 0, r
    r.expect("accounts.empty-password", "SKIP", r"needs root")
    r.expect("accounts.system.locked", "SKIP", r"needs root")
    r.expect("accounts.uid0", "OK")


def test_non_compliant(fx):
    passwd = PASSWD + (
        "toor:x:0:0:another root:/root:/bin/sh\n"
        "backup:x:34:0:backup:/var/backups:\n"          # empty: /bin/sh
        "postgres:x:109:115::/var/lib/postgresql:/bin/bash\n"
        "bob:$1$oldhash:1001:1001::/home/bob:/bin/bash\n"
        "carol:x:1001:1002::/home/carol:/bin/bash\n"
        "alice:x:1003:1003::/home/alice2:/bin/bash\n")
    group = GROUP + "bob:x:1001:\ncarol:x:1001:\n"
    shadow = SHADOW + (
        "toor:$y$j9T$x$y:19700:0:99999:7:::\n"
        "backup::19700:0:99999:7:::\n"
        "postgres:$6$s$h:19700:0:99999:7:::\n"
        "carol::19700:0:99999:7:::\n")
    accounts(fx, passwd, group, shadow, inactive="INACTIVE=-1\n")
    r = auditpack.run(S, fx)
    assert r.rc == 1, r
    r.expect("accounts.uid0", "FAIL", r"besides root: toor \(")
    r.expect("accounts.gid0", "FAIL", r"besides root: toor backup \(")
    r.expect("accounts.uid.unique", "FAIL", r"0\(root,toor\).*"
             r"1001\(bob,carol\)")
    r.expect("accounts.gid.unique", "FAIL", r"1001\(bob,carol\)")
    r.expect("accounts.names.unique", "FAIL", r"user:alice")
    r.expect("accounts.system.shell", "FAIL", r": toor\(/bin/sh\) "
             r"backup\(/bin/sh\) postgres\(/bin/bash\) \(expected")
    r.expect("accounts.shadowed", "FAIL", r"not x: bob ")
    r.expect("accounts.empty-password", "FAIL", r"backup carol ")
    r.expect("accounts.system.locked", "FAIL", r"usable password: toor "
             r"postgres \(")
    r.expect("accounts.inactive", "WARN", r"INACTIVE is -1")


@pytest.mark.parametrize("inactive,status", [
    ("", "WARN"), ("INACTIVE=45\n", "OK"), ("INACTIVE=90\n", "WARN"),
    ("INACTIVE=soon\n", "WARN")])
def test_inactive(fx, inactive, status):
    accounts(fx, inactive=inactive)
    r = auditpack.run(S, fx)
    r.expect("accounts.inactive", status, rc=0)


def test_uid_min_from_login_defs(fx):
    # UID_MIN 500: an account of UID 600 is a person's, not a service's
    accounts(fx, PASSWD + "dave:x:600:600::/home/dave:/bin/bash\n")
    fx.file("etc/login.defs", "UID_MIN 500\n")
    r = auditpack.run(S, fx)
    r.expect("accounts.system.shell", "OK", r"UID below 500", rc=0)
    r.expect("accounts.interactive", "INFO", r"alice dave|dave alice")


def test_no_shadow(fx):
    accounts(fx, shadow=None)
    r = auditpack.run(S, fx)
    assert r.rc == 0, r
    r.expect("accounts.empty-password", "SKIP", r"not present")
    r.expect("accounts.system.locked", "SKIP", r"not present")


def test_no_passwd(fx):
    r = auditpack.run(S, fx)
    assert r.rc == 2, r
    r.expect("accounts.uid0", "SKIP", r"/etc/passwd is not readable")


def test_long_lists_are_capped(fx):
    many = "".join("svc%d:x:%d:%d::/:/bin/sh\n" % (i, 200 + i, 200 + i)
                   for i in range(30))
    accounts(fx, PASSWD + many)
    r = auditpack.run(S, fx)
    r.expect("accounts.system.shell", "FAIL", r"svc19\(/bin/sh\) and 10 "
             r"more \(expected", rc=1)


def _shadow_needs_root(r, as_nobody):
    if as_nobody and not os.access("/etc/shadow", os.R_OK):
        r.expect("accounts.empty-password", "SKIP", r"needs root")


test_this_machine = auditpack.host_test(S, CHECKS + SERVICE_CHECKS,
                                        _shadow_needs_root)


# R35: the running services (systemd units, from /proc/PID/cgroup) and
# the accounts they run under (/proc/PID/status).

def proc(fx, pid, uid, cgroup, v1=False):
    fx.proc(pid, uid=uid, cgroup=cgroup, v1=v1)


SERVICES = PASSWD + (
    "postfix:x:104:111::/var/spool/postfix:/usr/sbin/nologin\n"
    "_chrony:x:105:112::/var/lib/chrony:/usr/sbin/nologin\n")


def services(fx):
    accounts(fx, SERVICES)
    proc(fx, 1, 0, "/init.scope")
    proc(fx, 300, 0, "/system.slice/nginx.service")
    proc(fx, 301, 33, "/system.slice/nginx.service")
    proc(fx, 302, 33, "/system.slice/nginx.service")
    proc(fx, 310, 0, "/system.slice/postfix@-.service")
    proc(fx, 311, 104, "/system.slice/postfix@-.service")
    proc(fx, 312, 104, "/system.slice/system-postfix.slice/postfix@two.service")
    proc(fx, 320, 105, "/system.slice/chrony.service", v1=True)
    proc(fx, 330, 61200, "/system.slice/systemd-timesyncd.service")
    # cron runs www-data's job: the account's own, not another service
    proc(fx, 340, 33, "/system.slice/cron.service")
    proc(fx, 350, 1000, "/user.slice/user-1000.slice/session-3.scope")
    proc(fx, 351, 1000, "/user.slice/user-1000.slice/user@1000.service/app.slice/x.service")
    proc(fx, 360, 0, "/")                    # a kernel thread
    fx.file("proc/370/status", "Uid:\t33\t33\t33\t33\n")    # gone: no cgroup


def test_services_own_accounts(fx):
    services(fx)
    r = auditpack.run(S, fx)
    r.expect("accounts.service.unique", "OK", "^4 services under 4 service "
             "accounts, each its own$", rc=0)
    r.expect("accounts.service.exclusive", "OK", "no service account in a "
             "login session")
    if auditpack.IS_ROOT:
        # the fixture's /proc is readable by everyone: the same as nobody
        auditpack.run(S, fx, as_nobody=True).expect(
            "accounts.service.unique", "OK", "^4 services", rc=0)


def test_services_share_accounts(fx):
    services(fx)
    proc(fx, 303, 33, "/system.slice/php8.2-fpm.service")
    proc(fx, 380, 65534, "/system.slice/dnsmasq.service")
    r = auditpack.run(S, fx)
    r.expect("accounts.service.unique", "FAIL", r"several services or "
             r"shared: nobody \(dnsmasq.service, an account shared by "
             r"design\); www-data \(nginx.service, php8.2-fpm.service\) "
             r"\(expected", rc=1)
    r.expect("accounts.service.exclusive", "OK")


def test_services_accounts_not_exclusive(fx):
    services(fx)
    proc(fx, 390, 104, "/user.slice/user-0.slice/session-9.scope")  # su postfix
    proc(fx, 391, 1000, "/system.slice/backup.service")
    r = auditpack.run(S, fx)
    r.expect("accounts.service.exclusive", "FAIL", r"not dedicated to their "
             r"service: backup.service runs as the interactive account "
             r"alice; postfix in a login session \(expected", rc=1)
    r.expect("accounts.service.unique", "OK")


def test_services_not_applicable(fx):
    # no systemd service (another init, a container): SKIP
    accounts(fx)
    proc(fx, 1, 0, "/")
    proc(fx, 20, 33, "/")
    r = auditpack.run(S, fx)
    r.expect("accounts.service.unique", "SKIP", "not systemd, or a "
             "container", rc=0)
    r.expect("accounts.service.exclusive", "SKIP", "not told apart")
    # /proc mounted hidepid=2: PID 1's files are there but unreadable
    if not auditpack.IS_ROOT:
        return
    os.chmod(fx.path("proc/1/cgroup"), 0o600)
    r = auditpack.run(S, fx, as_nobody=True)
    r.expect("accounts.service.unique", "SKIP", "needs root", rc=0)
