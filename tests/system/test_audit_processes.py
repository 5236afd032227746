"""processes on fixture trees (a ps stub under ROOT/usr/bin printing the
process table, ROOT/proc/PID/exe symbolic links): each check compliant,
non-compliant and not applicable (no ps: exit 2); and one live run with a
program really running from /tmp."""

import os
import shutil
import subprocess
import tempfile

import pytest

import auditpack
from auditpack import fx  # noqa: F401

pytestmark = auditpack.SKIP_IN_ASAN

S = "processes"

# pid user %cpu %mem stat comm  (ps -e -o pid= -o user:32= ... -o comm=)
PS_GOOD = """\
    1 root     0.1  0.2 Ss   systemd
  500 root     0.0  0.1 Ss   sshd
  900 alice    2.5  1.0 S    bash
"""
EXE_GOOD = {1: "/usr/lib/systemd/systemd", 500: "/usr/sbin/sshd",
            900: "/usr/bin/bash"}


def table(fx, ps, exes):
    fx.stub_output("ps", ps, where="usr/bin")
    for pid, target in exes.items():
        fx.proc(pid, exe=target)
    return fx


@auditpack.needs_root("to read other users' /proc/PID/exe")
def test_compliant(fx):
    r = auditpack.run(S, table(fx, PS_GOOD, EXE_GOOD))
    assert r.rc == 0, r
    for c in ("processes.legacy", "processes.ftp", "processes.tmp-exe",
              "processes.memfd", "processes.deleted-exe"):
        r.expect(c, "OK")
    r.expect("processes.count", "INFO", "^3 processes, 2 of root, 2 users$")
    r.expect("processes.exe-read", "INFO", "^3 executables read")
    assert len(r.get("processes.top-cpu")) == 3
    assert r.get("processes.top-cpu")[0][1].startswith("pid 900 alice 2.5%")


def test_findings(fx):
    ps = PS_GOOD + """\
  600 root     0.0  0.1 Ss   in.telnetd
  601 ftp      0.0  0.1 Ss   vsftpd
  602 root     0.0  0.1 Ss   xinetd
  700 bob      0.0  0.1 S    evil
  701 bob      0.0  0.1 S    evil
  800 root     0.0  0.1 S    memfd:x
  801 root     0.0  0.1 S    memfd:x
  802 root     0.0  0.1 S    memfd:x
  803 root     0.0  0.1 S    memfd:x
  804 root     0.0  0.1 S    memfd:x
  805 root     0.0  0.1 S    memfd:x
  850 root     0.0  0.1 S    nginx
  999 root     0.0  0.0 Z    defunct
"""
    exes = dict(EXE_GOOD)
    exes.update({700: "/tmp/evil", 701: "/tmp/evil",
                 850: "/usr/sbin/nginx (deleted)"})
    exes.update({p: "/memfd:x (deleted)" for p in range(800, 806)})
    r = auditpack.run(S, table(fx, ps, exes))
    assert r.rc == 1, r
    r.expect("processes.legacy", "FAIL", r"^legacy cleartext service "
             r"running: in.telnetd \(pid 600, user root;")
    r.expect("processes.ftp", "WARN", "vsftpd")
    r.expect("processes.inetd", "INFO", "xinetd")
    r.expect("processes.zombies", "INFO", "^1 zombie")
    r.expect("processes.tmp-exe", "FAIL", "^/tmp/evil runs from a temporary "
             r"directory .*: 2 processes \(pid user name: 700 bob evil, "
             r"701 bob evil\)$")
    # Issue 15: one memfd line for the six processes of one program
    r.expect("processes.memfd", "WARN", r"^/memfd:x \(deleted\) runs from a "
             r"memory file descriptor .*: 6 processes \(pid user name: 800 "
             r"root memfd:x, .*, ...\)$")
    r.expect("processes.deleted-exe", "WARN", r"^/usr/sbin/nginx \(deleted\)")


def test_memfd_alone_is_not_a_failure(fx):
    exes = dict(EXE_GOOD)
    exes[900] = "/memfd:jit (deleted)"
    r = auditpack.run(S, table(fx, PS_GOOD, exes))
    r.expect("processes.memfd", "WARN", rc=0)


def test_no_ps(fx):
    r = auditpack.run(S, fx)
    r.expect("processes.list", "SKIP", "not installed", rc=2)
    fx.stub_output("ps", "", where="usr/bin")
    r = auditpack.run(S, fx)
    r.expect("processes.list", "SKIP", "listed no process", rc=2)


@pytest.mark.skipif(not auditpack.IS_ROOT,
                    reason="needs root to run as nobody")
def test_other_users_need_root(fx):
    r = auditpack.run(S, table(fx, PS_GOOD, {}), as_nobody=True)
    r.expect("processes.exe-read", "SKIP", r"^executables of 3 processes "
             r"of other users not checked \(needs root\)", rc=0)


def test_live_program_running_from_tmp():
    d = tempfile.mkdtemp(prefix="octo-audit-exe-", dir="/tmp")
    try:
        exe = os.path.join(d, "octo-audit-sleeper")
        shutil.copy("/bin/sleep", exe)
        os.chmod(exe, 0o755)
        try:
            p = subprocess.Popen([exe, "60"])
        except OSError as e:
            pytest.skip("cannot run a program from /tmp here: %s" % e)
        try:
            r = auditpack.run(S)
        finally:
            p.kill()
            p.wait()
        assert r.rc == 1, r
        mine = [t for s, t in r.get("processes.tmp-exe") if exe in t]
        assert mine and mine[0].startswith(
            "%s runs from a temporary directory (expected none): 1 process "
            "(pid user name: %d " % (exe, p.pid)), r
    finally:
        shutil.rmtree(d, ignore_errors=True)
