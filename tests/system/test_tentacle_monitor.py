"""The tentacle's key and enrolment are the root supervisor's alone
(privilege separation, as OpenSSH's monitor): the enrolment lives in
state_dir/private (root's, 0700), written by the supervisor from what the
register hands it; the command worker (as `user`) never holds the key:
the supervisor checks the brain's handshake proofs and makes ours, checks
each ORDER's MAC before it runs anything and MACs each result. These tests
play the compromised worker: what it can write (state_dir, the spool) and
what its memory holds."""

import ctypes
import hashlib
import hmac
import os
import pwd
import re
import signal
import socket
import sqlite3
import stat
import struct
from pathlib import Path

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


# Mappings larger than this are not data (the sanitizers' shadow memory,
# terabytes of untouched pages in the SAN build): skipped.
MAPPING_MAX = 1 << 30
CHUNK = 1 << 20


def memory_has(pid, needle):
    """True if needle is in a readable mapping of pid (read as root)."""
    with open("/proc/%d/maps" % pid) as maps, \
            open("/proc/%d/mem" % pid, "rb", 0) as mem:
        for line in maps:
            m = re.match(r"([0-9a-f]+)-([0-9a-f]+) (\S+)", line)
            lo, hi, perms = int(m.group(1), 16), int(m.group(2), 16), \
                m.group(3)
            if perms[0] != "r" or "[vsyscall]" in line or \
                    "[vvar]" in line or hi - lo > MAPPING_MAX:
                continue
            tail = b""
            off = lo
            while off < hi:
                try:
                    mem.seek(off)
                    data = mem.read(min(CHUNK, hi - off))
                except (OSError, OverflowError, ValueError):
                    break
                if not data:
                    break
                if needle in tail + data:
                    return True
                tail = data[-(len(needle) - 1):]
                off += len(data)
    return False


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
    # Back on its order's connection (issue 18), with the supervisor's
    # MAC: not over the commander's port.
    m = t.wait_log(r"command worker: brain 127\.0\.0\.1:(\d+): job %d: "
                   r"result delivered" % job["id"])
    assert int(m.group(1)) != int(t.state()["brain_commander_port"])
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


# ---- the worker's channel, as a compromised worker would use it --------

SYS_PIDFD_GETFD = 438
CHILD_PRIV_FD = 4       # tentacle.c


def enum_value(header, enum, prefix, name):
    """The value of PREFIX<name> in enum of common/<header>."""
    text = (octotest_root() / "common" / header).read_text()
    body = text[text.index("enum " + enum):]
    body = body[:body.index("};")]
    names = re.findall(r"^\s*%s(\w+)(?:\s*=\s*(\d+))?," % prefix, body,
                       re.M)
    n = -1
    for k, v in names:
        n = int(v) if v else n + 1
        if k == name:
            return n
    raise KeyError(name)


def ipc_type(name):
    return enum_value("ipc.h", "ipc_type", "IPC_", name)


def octotest_root():
    return Path(__file__).resolve().parents[2]


def pstr(b):
    return struct.pack(">I", len(b)) + b


def grab_channel(worker):
    """The worker's end of its socketpair (pidfd_getfd), the worker
    stopped: what we send is what it could have sent."""
    os.kill(worker, signal.SIGSTOP)
    pidfd = os.pidfd_open(worker)
    libc = ctypes.CDLL(None, use_errno=True)
    fd = libc.syscall(SYS_PIDFD_GETFD, pidfd, CHILD_PRIV_FD, 0)
    os.close(pidfd)
    assert fd >= 0, os.strerror(ctypes.get_errno())
    s = socket.socket(fileno=fd)
    s.settimeout(10)
    return s


def ipc_send(s, name, payload):
    s.sendall(struct.pack("=III", ipc_type(name), len(payload), 0) +
              payload)


def ipc_recv(s, name):
    """The next message of type name (others skipped)."""
    while True:
        hdr = b""
        while len(hdr) < 12:
            chunk = s.recv(12 - len(hdr))
            assert chunk, "channel closed"
            hdr += chunk
        t, n, _ = struct.unpack("=III", hdr)
        body = b""
        while len(body) < n:
            chunk = s.recv(n - len(body))
            assert chunk, "channel closed"
            body += chunk
        if t == ipc_type(name):
            return body


def run_request(job, script, mac, exporter):
    return (struct.pack(">Q", job) + pstr(script.encode()) + pstr(b"") +
            pstr(mac) + pstr(exporter))


def proof_ask(request, role, purpose, tid):
    """HS_PROOF_ASK (privsep.h) with nonces, exporter and proof of our
    own making."""
    return (struct.pack(">QBBQ", request, role, purpose, tid) +
            b"".join(pstr(os.urandom(32)) for _ in range(4)))


def order_mac(key, tid, job, script, exporter):
    packed = (pstr(b"octopus-v2 order") + struct.pack(">QQ", tid, job) +
              pstr(script.encode()) + pstr(b"") + pstr(exporter))
    return hmac.new(key, packed, hashlib.sha256).digest()


def test_worker_cannot_make_root_run_anything(brain,  # noqa: F811
                                              roomy_tentacle):
    """Speaking on the worker's channel: an order with a forged MAC is
    refused; one with the right MAC (as recorded from the brain) on a
    session whose handshake the supervisor never checked is refused as a
    replay; nothing runs. A proof for a purpose the worker does not
    serve, or a handshake with a nonce the supervisor never gave, ends
    the channel and the worker."""
    c = brain.login()
    t, tid = privsep_managed(brain, roomy_tentacle, c)
    (t.dir / "ran").unlink(missing_ok=True)
    add_script(t, "mark", "touch %s" % (t.dir / "ran"))
    key = bytes.fromhex(t.state()["key"])
    worker = worker_of(t)
    ch = grab_channel(worker)
    try:
        exporter = os.urandom(32)
        ipc_send(ch, "RUN_REQUEST", run_request(901, "mark", b"\0" * 32,
                                                exporter))
        acc = ipc_recv(ch, "RUN_ACCEPTED")
        assert acc == struct.pack(">QB", 901, 0) + pstr(b"bad ORDER MAC")
        t.wait_log(r"supervisor: job 901: ORDER refused: bad MAC")
        mac = order_mac(key, tid, 902, "mark", exporter)
        ipc_send(ch, "RUN_REQUEST", run_request(902, "mark", mac,
                                                exporter))
        acc = ipc_recv(ch, "RUN_ACCEPTED")
        assert acc == struct.pack(">QB", 902, 0) + pstr(b"replayed ORDER")
        t.wait_log(r"supervisor: job 902: ORDER refused: not on a "
                   r"connection the supervisor authenticated, or replayed")
        assert not (t.dir / "ran").exists()
        # A SIGNKEY (e.g. recorded) on a session the supervisor never
        # authenticated: refused.
        ipc_send(ch, "SCRIPT_REQUEST", struct.pack(">QB", 3, enum_value(
            "wire.h", "wire_type", "WIRE_", "SIGNKEY")) + pstr(b"x" * 64) +
            pstr(exporter))
        done = ipc_recv(ch, "SCRIPT_DONE")
        assert b"not on a connection the supervisor authenticated" in done
        t.wait_log(r"supervisor: SIGNKEY refused: not on a connection the "
                   r"supervisor authenticated")
        # A server proof with a nonce of our own choosing.
        ipc_send(ch, "HS_PROOF_ASK", proof_ask(7, 1, 3, tid))
        t.wait_log(r"supervisor: command worker \(pid %d\): a handshake "
                   r"with a nonce we did not give: killing it" % worker)
    finally:
        ch.close()
    wait_for(lambda: worker_of(t) != worker, 20, 0.1, "a new worker")
    worker = worker_of(t)
    ch = grab_channel(worker)
    try:
        # A client proof for PING: the worker never makes that one.
        ipc_send(ch, "HS_PROOF_ASK", proof_ask(8, 0, 3, tid))
        t.wait_log(r"supervisor: command worker \(pid %d\): a proof for "
                   r"a purpose it does not serve: killing it" % worker)
    finally:
        ch.close()
    # And the real brain still gets its runs done.
    wait_for(lambda: worker_of(t) != worker, 20, 0.1, "a new worker")
    (job,) = run_and_wait(c, "mark", [tid], timeout=40)["jobs"]
    assert job["state"] == "done", job
    assert (t.dir / "ran").exists()
