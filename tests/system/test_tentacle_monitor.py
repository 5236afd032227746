"""The tentacle's key and enrolment are the root supervisor's alone
(privilege separation, as OpenSSH's monitor): the enrolment lives in
state_dir/private (root's, 0700), written by the supervisor from what the
register hands it; the command worker (as `user`) never holds the key:
the supervisor checks the brain's handshake proofs and makes ours, checks
each ORDER's MAC before it runs anything and MACs each result. These tests
play the compromised worker: what it can write (state_dir, the spool) and
what its memory holds."""

import os
import pwd
import re
import signal
import sqlite3
import stat

import pytest

from octotest import wait_for
from test_enrolment import (BRAIN, brain, enrol_self,  # noqa: F401
                            make_token, tentacle_bin)
from test_managed_scripts_tentacle import (SEED, acks, body_file, brain_key,
                                           pin_path, run_and_wait,
                                           scriptpush)
from test_runs import add_script
from test_tentacle_privsep import (children, cmdline,  # noqa: F401
                                   roomy_tentacle)

pytestmark = pytest.mark.skipif(os.geteuid() != 0,
                                reason="privilege separation: root")

ATTACKER_KEY = "cd" * 32


def worker_of(t):
    def find():
        c = [p for p in children(t.proc.pid) if "command worker" in
             cmdline(p)]
        return c[0] if len(c) == 1 else None
    return wait_for(find, 10, 0.05, "the command worker")


def memory_has(pid, needle):
    """1 if needle is in a readable mapping of pid (read as root)."""
    found = False
    with open("/proc/%d/maps" % pid) as maps, \
            open("/proc/%d/mem" % pid, "rb", 0) as mem:
        for line in maps:
            m = re.match(r"([0-9a-f]+)-([0-9a-f]+) (\S+)", line)
            lo, hi, perms = int(m.group(1), 16), int(m.group(2), 16), \
                m.group(3)
            if perms[0] != "r" or "[vsyscall]" in line or \
                    "[vvar]" in line:
                continue
            try:
                mem.seek(lo)
                data = mem.read(hi - lo)
            except (OSError, OverflowError, ValueError):
                continue
            if needle in data:
                found = True
    return found


def privsep_managed(brain, roomy_tentacle, c):  # noqa: F811
    t = roomy_tentacle("127.0.0.2", brain, user="nobody",
                       managed_scripts="yes")
    t.conf["managed_scripts_dir"] = str(t.dir / "managed")
    t.write_conf()
    add_script(t, "hello", "echo hello")
    tid = int(enrol_self(t, brain, make_token(c)["token"])["id"])
    return t, tid


def restart(t):
    t.stop()
    t.proc = None
    mark = len(t.log())
    t.start()
    t.wait_log(r"command worker: listening on", start=mark)
    return mark


def test_enrolment_is_roots_and_pinned_by_it(brain,  # noqa: F811
                                             roomy_tentacle):
    """The register (nobody) hands the enrolment to the supervisor,
    which writes it (root's, 0600, in private/) and pins the brain's
    signing key; nothing of it is in state_dir."""
    c = brain.login()
    t, tid = privsep_managed(brain, roomy_tentacle, c)
    t.wait_log(r"supervisor: enrolment as tentacle ID %d stored in %s"
               % (tid, re.escape(str(t.state_file))))
    t.wait_log(r"supervisor: script-signing key of the enrolment pinned")
    st = os.stat(t.state_file)
    assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (0, 0o600)
    st = os.stat(t.state_file.parent)
    assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (0, 0o700)
    assert not (t.state_dir / "enrolment").exists()
    assert pin_path(t).read_text() == "ed25519 %s\n" % brain_key(c)


def test_planted_enrolment_pins_nothing(brain, roomy_tentacle):  # noqa
    """A compromised worker writes state_dir/enrolment (its directory)
    with its own script_signing_key, on a tentacle with no key pinned
    yet, and waits for a restart: the supervisor removes that file
    unread, pins nothing, and only the brain's key (by its SIGNKEY,
    whose MAC needs the tentacle's key) is ever taken."""
    c = brain.login()
    t, tid = privsep_managed(brain, roomy_tentacle, c)
    nobody = pwd.getpwnam("nobody")
    pin = pin_path(t)
    # As a tentacle enrolled before issue 14: no key pinned, none in the
    # enrolment.
    pin.unlink()
    text = t.state_file.read_text()
    lines = [x for x in text.splitlines(True)
             if not x.startswith("script_signing_key")]
    t.state_file.write_text("".join(lines))
    planted = t.state_dir / "enrolment"
    planted.write_text("".join(lines) + "script_signing_key = %s\n"
                       % ATTACKER_KEY)
    os.chown(planted, nobody.pw_uid, nobody.pw_gid)
    planted.chmod(0o600)
    # The worker cannot make a private/ of its own: it is root's.
    st = os.stat(t.state_dir / "private")
    assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (0, 0o700)
    mark = restart(t)
    t.wait_log(r"%s: ignored and removed" % re.escape(str(planted)),
               start=mark)
    assert not planted.exists()
    assert not pin.exists()
    assert ATTACKER_KEY not in t.state_file.read_text()
    # A script signed with another key than the brain's: refused.
    f = body_file(t, "x", "#!/bin/sh\necho attacker\n")
    (a,) = acks(scriptpush(brain, t, "put", "x", 1, f, key=SEED))
    assert a[2] == "refused", a
    assert not (t.dir / "managed" / "x").exists()
    # The brain's SIGNKEY (MAC with the tentacle's key, checked by the
    # supervisor): pinned; scripts then verify against it only.
    got = acks(scriptpush(brain, t, "signkey", "put", "y", 1, f))
    assert [x[2] for x in got] == ["ok", "ok"], got
    assert pin.read_text() == "ed25519 %s\n" % brain_key(c)
    (a,) = acks(scriptpush(brain, t, "put", "z", 1, f, key=SEED))
    assert a[2] == "refused", a


def test_old_enrolment_moved_without_its_key(brain,  # noqa: F811
                                             roomy_tentacle):
    """An older tentacle kept its enrolment in state_dir, the worker's:
    at start the supervisor moves it into private/, but does not pin the
    script_signing_key written there (anyone running as the worker could
    have written it); the tentacle works on."""
    c = brain.login()
    t, tid = privsep_managed(brain, roomy_tentacle, c)
    nobody = pwd.getpwnam("nobody")
    pin = pin_path(t)
    t.stop()
    t.proc = None
    pin.unlink()
    text = t.state_file.read_text()
    lines = [x for x in text.splitlines(True)
             if not x.startswith("script_signing_key")]
    old = t.state_dir / "enrolment"
    old.write_text("".join(lines) + "script_signing_key = %s\n"
                   % ATTACKER_KEY)
    os.chown(old, nobody.pw_uid, nobody.pw_gid)
    old.chmod(0o600)
    t.state_file.unlink()
    mark = len(t.log())
    t.start()
    t.wait_log(r"supervisor: moved the enrolment %s to %s"
               % (re.escape(str(old)), re.escape(str(t.state_file))),
               start=mark)
    t.wait_log(r"its script_signing_key is not kept", start=mark)
    t.wait_log(r"command worker: listening on", start=mark)
    assert not old.exists()
    st = os.stat(t.state_file)
    assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (0, 0o600)
    assert "script_signing_key" not in t.state_file.read_text()
    assert t.state()["id"] == str(tid)
    assert not pin.exists()
    (job,) = run_and_wait(c, "hello", [tid])["jobs"]
    assert job["state"] == "done", job
    assert job["result"]["output"] == "hello\n", job


def test_worker_memory_holds_no_key(brain, roomy_tentacle):  # noqa: F811
    """After handshakes both ways (keepalives, an order, a result
    delivered), the command worker's memory does not hold the tentacle's
    32-byte key; the supervisor's does (the test's own check)."""
    c = brain.login()
    t, tid = privsep_managed(brain, roomy_tentacle, c)
    (job,) = run_and_wait(c, "hello", [tid])["jobs"]
    assert job["state"] == "done", job
    t.wait_log(r"job \d+: result delivered")
    key = bytes.fromhex(t.state()["key"])
    assert len(key) == 32
    worker = worker_of(t)
    assert memory_has(t.proc.pid, key), "the test cannot see the key"
    assert not memory_has(worker, key), "the command worker holds the key"
    # Nor as hex text.
    assert not memory_has(worker, key.hex().encode())


def test_pending_poll_through_the_supervisor(brain,  # noqa: F811
                                             roomy_tentacle):
    """A pending tentacle's worker polls the registerer with proofs the
    supervisor makes, and the supervisor writes the new status."""
    c = brain.login()
    t = roomy_tentacle("127.0.0.2", brain, user="nobody")
    st = enrol_self(t, brain)
    assert st["status"] == "pending"
    ident = int(st["id"])
    t.wait_log(r"command worker: brain 127\.0\.0\.1:\d+: still pending")
    r = c.post("/api/tentacles/%d/approve" % ident)
    assert r.status == 200, r
    t.wait_log(r"command worker: tentacle ID %d approved by the brain"
               % ident)
    wait_for(lambda: t.state()["status"] == "accepted", 10,
             what="the state file to say accepted")
    assert os.stat(t.state_file).st_uid == 0
    assert not memory_has(worker_of(t), bytes.fromhex(st["key"]))


def brain_key_of(brain, tid):  # noqa: F811
    db = sqlite3.connect("file:%s?mode=ro" % (brain.state_dir / "brain.db"),
                         uri=True, timeout=30)
    try:
        (key,) = db.execute("SELECT key FROM tentacles WHERE id = ?",
                            (tid,)).fetchone()
    finally:
        db.close()
    return bytes.fromhex(key)


def test_register_memory_holds_no_key(brain, roomy_tentacle):  # noqa: F811
    """The register enrols, but the key comes wrapped for the
    supervisor's key pair: the supervisor unwraps it. Caught while it
    waits for the supervisor (stopped meanwhile), the register's memory
    does not hold the key the brain gave."""
    c = brain.login()
    token = make_token(c)["token"]
    brain.stop()
    t = roomy_tentacle("127.0.0.2", brain, user="nobody")
    t.start("-b", BRAIN, "-t", "-", stdin_text=token + "\n", wait=False)
    t.wait_log(r"register: brain 127\.0\.0\.1:\d+: self-enrolment failed")
    sup = t.proc.pid
    os.kill(sup, signal.SIGSTOP)
    try:
        brain.start()
        m = t.wait_log(r"register: enrolled with brain 127\.0\.0\.1 as "
                       r"tentacle ID (\d+) \(\w+\): the supervisor stores "
                       r"it", timeout=30)
        tid = int(m.group(1))
        key = brain_key_of(brain, tid)
        (reg,) = [p for p in children(sup) if "register" in cmdline(p)]
        assert not memory_has(reg, key), "the register holds the key"
        assert not memory_has(reg, key.hex().encode())
    finally:
        os.kill(sup, signal.SIGCONT)
    t.wait_log(r"command worker: listening on")
    assert bytes.fromhex(t.state()["key"]) == key
    assert memory_has(sup, key), "the test cannot see the key"
