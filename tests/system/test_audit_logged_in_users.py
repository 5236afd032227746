"""logged-in-users on fixture trees (ROOT/run/utmp, var/log/wtmp and btmp
as glibc utmp records, etc/passwd, etc/shadow, a ps stub): each check
compliant, non-compliant and not applicable (no utmp: users.root-login
SKIP). UID 0 accounts and empty passwords are checked by accounts only."""

import os
import struct
import time

import pytest

import auditpack
from auditpack import fx  # noqa: F401

pytestmark = auditpack.SKIP_IN_ASAN

S = "logged-in-users"
PASSWD = "root:x:0:0:root:/root:/bin/sh\n" \
         "alice:x:1000:1000:Alice:/home/alice:/bin/sh\n"
SHADOW = "root:$y$j9T$abc:19000:0:99999:7:::\n" \
         "alice:!:19000:0:99999:7:::\n"


def utmp_record(user, line, host, pid, when=None):
    """One glibc struct utmp (x86_64 and the other 64-bit ABIs: 384
    bytes), a USER_PROCESS entry."""
    return struct.pack("<hxxi32s4s32s256shhiii4i20s", 7, pid,
                       line.encode(), line[-4:].encode(), user.encode(),
                       host.encode(), 0, 0, 0,
                       int(when or time.time()), 0, 0, 0, 0, 0, b"")


def accounts(fx, passwd=PASSWD, shadow=SHADOW, shadow_mode=0o644):
    fx.file("etc/passwd", passwd)
    fx.file("etc/shadow", shadow, shadow_mode)


needs_64bit = pytest.mark.skipif(struct.calcsize("P") != 8,
                                 reason="the utmp fixture is the 64-bit "
                                        "layout")


@needs_64bit
def test_compliant(fx):
    accounts(fx)
    fx.file("run/utmp", utmp_record("alice", "tty1", "", 4243))
    fx.file("var/log/wtmp", utmp_record("alice", "tty1", "", 4243))
    fx.file("var/log/btmp", b"", 0o600)
    r = auditpack.run(S, fx)
    assert r.rc == 0, r
    r.expect("users.root-login", "OK")
    r.expect("users.sessions", "INFO", "^1 sessions, users: alice$")
    r.expect("users.session", "INFO", "^alice on tty1 since ")
    r.expect("users.failed-logins", "INFO", "^0 failed")
    if auditpack.IS_ROOT:
        r = auditpack.run(S, fx, as_nobody=True)
        assert r.rc == 0, r


@needs_64bit
def test_sessions(fx):
    accounts(fx)
    sessions = (utmp_record("root", "pts/0", "192.0.2.7", 4242) +
                utmp_record("alice", "tty1", "", 4243))
    fx.file("run/utmp", sessions)
    fx.file("var/log/wtmp", sessions)
    fx.file("var/log/btmp",
            utmp_record("admin", "ssh:notty", "192.0.2.9", 4244) * 3,
            0o600)
    r = auditpack.run(S, fx)
    assert r.rc == 0, r                      # a WARN only
    r.expect("users.sessions", "INFO", "^2 sessions, users: alice root$")
    r.expect("users.root-login", "WARN", "^root is logged in directly on "
             r"pts/0 since .* from 192\.0\.2\.7 \(expected a personal")
    assert any(t.startswith("root pts/0 192.0.2.7") or
               t.startswith("recent login: root pts/0 192.0.2.7")
               for _, t in r.get("users.recent")), r
    r.expect("users.failed-logins", "INFO", "^3 failed login attempts")
    if auditpack.IS_ROOT:
        os.chown(fx.path("var/log/btmp"), 0, 0)
        r = auditpack.run(S, fx, as_nobody=True)
        r.expect("users.failed-logins", "SKIP", r"\(needs root\)$", rc=0)


def test_no_utmp(fx):
    accounts(fx)
    fx.stub_output("ps", "alice pts/3\nroot ?\n", where="usr/bin")
    r = auditpack.run(S, fx)
    r.expect("users.root-login", "SKIP", "no utmp file", rc=0)
    r.expect("users.terminal", "INFO", "^terminal user alice: pts/3$")


def test_accounts_are_the_accounts_scripts(fx):
    # a second UID 0 and an empty password: accounts' findings (one
    # CHECK-ID each in the pack), not printed again by logged-in-users
    passwd = PASSWD + "toor:x:0:0:another root:/root:/bin/sh\n"
    shadow = SHADOW + "toor:*:19000:0:99999:7:::\nbob::19000:0:99999:7:::\n"
    accounts(fx, passwd, shadow)
    r = auditpack.run(S, fx)
    assert not r.checks() & {
        "users.uid0", "users.empty-password"}, r
    assert not r.with_status("FAIL"), r
    r = auditpack.run("accounts", fx)
    r.expect("accounts.uid0", "FAIL", "toor", rc=1)
    r.expect("accounts.empty-password", "FAIL", "bob")
