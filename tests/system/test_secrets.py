"""Secrets stay in the maestro (issue 12).

- A commander taken over (its end of the socketpair taken with
  pidfd_getfd) cannot get a handshake proof for a tentacle it was not
  ordered to reach: the maestro kills it.
- An order changed on its way to the tentacle, or a result changed on its
  way to the maestro, is refused: both carry a MAC with the tentacle's key,
  which the commander that carries them does not hold.
- No IPC message carries a tentacle key: strace records every byte the
  children read and write during an enrolment, a run and its result, and
  no key is in it (in clear or as hex).
- After enrolments (both ways), runs and keepalives, no child's memory
  holds a tentacle key (/proc/PID/mem, read as root), while the tentacle's
  command worker's does (the check can fail).
"""

import hashlib
import hmac
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import time

import pytest

import octotest
from octotest import wait_for
from test_enrolment import (enrol_self, make_token,  # noqa: F401
                            new_tentacle, tentacle_bin, tentacles)
from test_maestro_ipc import restarted, steal_channel
from test_runs import run_and_wait
from test_runs_tentacle import add_script

# common/ipc.h
IPC_PROOF_CHECK, IPC_PROOF_VERDICT, IPC_PROOF_MAKE, IPC_PROOF_MADE = \
    10, 11, 12, 13
IPC_RESULT_STORE = 16
# common/proto.h, common/wire.h
PURPOSE_PING, PURPOSE_ORDER, PURPOSE_RESULT = 3, 4, 5
WIRE_ERROR, WIRE_HELLO, WIRE_HELLO_ACK = 1, 2, 3
WIRE_AUTH_ID, WIRE_AUTH_CHALLENGE, WIRE_AUTH_PROOF, WIRE_AUTH_OK = 6, 7, 8, 9
WIRE_ORDER, WIRE_ORDER_ACK = 11, 12
WIRE_VERSION = 2
EXPORTER_LABEL = b"EXPORTER-octopus-handshake"


def u8(v):
    return struct.pack(">B", v)


def u32(v):
    return struct.pack(">I", v)


def u64(v):
    return struct.pack(">Q", v)


def pbytes(b):
    b = b.encode() if isinstance(b, str) else b
    return u32(len(b)) + b


def rand_fields(n):
    """n fixed 32-byte fields (nonces, exporter, proof), as pack_bytes."""
    return b"".join(pbytes(os.urandom(32)) for _ in range(n))


def ipc(msg_type, payload, msg_id=0):
    return struct.pack("=III", msg_type, len(payload), msg_id) + payload


def frame(ftype, payload=b""):
    return b"OC" + bytes([WIRE_VERSION, ftype]) + u32(len(payload)) + \
        payload


@pytest.fixture
def brain(brain_factory):
    # Keepalives every second: tickets and pings to watch.
    return brain_factory({"io_timeout": 2, "keepalive_interval": 1},
                         verbose=True)


def enrolled(brain, new_tentacle, client, address, scripts=None):
    t = new_tentacle(address, brain)
    for name, body in (scripts or {}).items():
        add_script(t, name, body)
    st = enrol_self(t, brain, make_token(client)["token"])
    return t, int(st["id"]), bytes.fromhex(st["key"])


def enrolled_by_address(brain, new_tentacle, client, address):
    """A tentacle the brain enrols on its register port (7000)."""
    t = new_tentacle(address, brain)
    t.start(wait=False)
    t.wait_log(r"register: listening on")
    r = t.offer(client)     # with its pairing code
    assert r.status == 201, r
    t.wait_log(r"command worker: listening on")
    st = t.state()
    return t, int(st["id"]), bytes.fromhex(st["key"])


def seen(client, tid):
    t = tentacles(client).get(tid)
    return t is not None and t.get("last_seen")


# ------------------------------------------------ the commander taken over

def test_commander_gets_no_proof_it_was_not_ordered(brain, new_tentacle):
    c = brain.login()
    ta, a, _ = enrolled(brain, new_tentacle, c, "127.0.0.2")
    tb, b, _ = enrolled(brain, new_tentacle, c, "127.0.0.3")
    # A stops answering: the tickets of its pings are never used.
    ta.stop()
    mark = len(brain.log())
    brain.wait_log(r"commander: tentacle %d at [\d.]+:\d+: keepalive "
                   r"missed" % a, start=mark, timeout=15)
    tickets = re.findall(r"maestro: ticket (\d+): ping of tentacle %d\b" % a,
                         brain.log()[mark:])
    assert tickets, brain.log()[mark:]
    ticket = int(tickets[0])
    pids = brain.pids()

    # The commander names A's ping ticket, but asks a proof for B.
    s = steal_channel(pids["commander"])
    try:
        s.sendall(ipc(IPC_PROOF_MAKE, u64(ticket) + u8(PURPOSE_PING) +
                      u64(b) + rand_fields(3) +
                      pbytes(octotest.cert_fingerprint(tb.cert)), 77))
    finally:
        s.close()
    restarted(brain, c, "commander", pids["commander"])
    brain.wait_log(r"maestro: commander \(pid %d\) asked for a ping proof "
                   r"for tentacle %d with a ticket for ping to tentacle %d"
                   r".*: killing it" % (pids["commander"], b, a))

    # The ticket was dropped with it: named again, even for A itself, it
    # gets nothing (refused, logged), and a ticket never issued kills.
    pids = brain.pids()
    s = steal_channel(pids["commander"])
    try:
        s.sendall(ipc(IPC_PROOF_MAKE, u64(ticket) + u8(PURPOSE_PING) +
                      u64(a) + rand_fields(3) +
                      pbytes(octotest.cert_fingerprint(ta.cert)), 78))
        brain.wait_log(r"maestro: commander: proof for tentacle %d refused: "
                       r"ticket %d used or expired" % (a, ticket))
        assert brain.pids()["commander"] == pids["commander"]
        s.sendall(ipc(IPC_PROOF_MAKE, u64(1 << 60) + u8(PURPOSE_ORDER) +
                      u64(a) + rand_fields(3) +
                      pbytes(octotest.cert_fingerprint(ta.cert)), 79))
    finally:
        s.close()
    restarted(brain, c, "commander", pids["commander"])
    brain.wait_log(r"maestro: commander \(pid %d\) asked for a proof with "
                   r"ticket %d, never issued" % (pids["commander"], 1 << 60))


def test_commander_cannot_check_for_the_registerer(brain, new_tentacle):
    """A proof check for a purpose its port does not serve (POLL is the
    registerer's) kills the commander, before any key is looked at."""
    c = brain.login()
    t, tid, _ = enrolled(brain, new_tentacle, c, "127.0.0.2")
    pids = brain.pids()
    s = steal_channel(pids["commander"])
    try:
        s.sendall(ipc(IPC_PROOF_CHECK, u8(2) + u64(tid) + rand_fields(4) +
                      pbytes(octotest.cert_fingerprint(t.cert)), 5))
    finally:
        s.close()
    restarted(brain, c, "commander", pids["commander"])
    brain.wait_log(r"maestro: commander \(pid %d\) asked to check a proof "
                   r"for poll, which its port does not serve"
                   % pids["commander"])


# ------------------------------------------------- a result changed on its way

def result_payload(job, output, mac):
    return (u64(job) + u8(1) + u32(0) + u32(0) + u64(1700000000000) +
            u64(5) + u8(0) + pbytes(output) + pbytes(mac))


def result_mac(key, tid, job, output):
    msg = (pbytes(b"octopus-v2 result") + u64(tid) + u64(job) + u8(1) +
           u32(0) + u32(0) + u64(1700000000000) + u64(5) + u8(0) +
           pbytes(output))
    return hmac.new(key, msg, hashlib.sha256).digest()


def test_result_changed_on_its_way_is_refused(brain, new_tentacle):
    c = brain.login()
    t, tid, key = enrolled(brain, new_tentacle, c, "127.0.0.2",
                           {"slow": "sleep 6\necho the real output"})
    r = c.post("/api/runs", {"script": "slow", "tentacles": [tid]})
    assert r.status == 202, r
    run_id = r.json()["id"]
    wait_for(lambda: c.get("/api/runs/%d" % run_id).json()["jobs"][0][
        "state"] == "running", 10, 0.05, "the job running")
    job = c.get("/api/runs/%d" % run_id).json()["jobs"][0]["id"]
    pids = brain.pids()

    # The commander changes the output: it cannot make the MAC. The MAC
    # of another output does not do, nor does none.
    forged = b"all is well\n"
    s = steal_channel(pids["commander"])
    try:
        for mac in (result_mac(key, tid, job, b"the real output\n"),
                    bytes(32)):
            mark = len(brain.log())
            s.sendall(ipc(IPC_RESULT_STORE, u64(tid) + pbytes(
                result_payload(job, forged, mac)), 4242))
            brain.wait_log(r"maestro: tentacle %d: result refused: bad MAC"
                           % tid, start=mark)
        # Refused for good: the job ends failed with the reason, not
        # running for ever (issue 13 item 13).
        j = c.get("/api/runs/%d" % run_id).json()["jobs"][0]
        assert j["state"] == "failed", j
        assert "result refused: bad MAC" in j["message"], j
        # With the tentacle's key, the same path stores it: the MAC is
        # what refused the others.
        s.sendall(ipc(IPC_RESULT_STORE, u64(tid) + pbytes(result_payload(
            job, b"made with the key\n",
            result_mac(key, tid, job, b"made with the key\n"))), 4243))
    finally:
        s.close()

    def output():
        j = c.get("/api/runs/%d" % run_id).json()["jobs"][0]
        return (j.get("result") or {}).get("output")
    wait_for(lambda: output() == "made with the key\n", 10,
             what="the result with the right MAC stored")
    assert len(re.findall(r"maestro: tentacle %d: result refused: bad MAC"
                          % tid, brain.log())) == 2
    # A bad MAC may be the tentacle's or the network's: no kill for it.
    assert brain.pids()["commander"] == pids["commander"]


# ------------------------------------------------- an order changed on its way

def tls13(host, port, cert, key):
    from OpenSSL import SSL
    ctx = SSL.Context(SSL.TLS_METHOD)
    ctx.set_min_proto_version(SSL.TLS1_3_VERSION)
    ctx.use_certificate_file(str(cert))
    ctx.use_privatekey_file(str(key))
    ctx.set_verify(SSL.VERIFY_NONE, lambda *a: True)
    raw = socket.create_connection((host, port), timeout=octotest.IO_TIMEOUT)
    # pyOpenSSL wants a blocking socket; the kernel bounds each read.
    raw.settimeout(None)
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO,
                   struct.pack("ll", int(octotest.IO_TIMEOUT), 0))
    conn = SSL.Connection(ctx, raw)
    conn.set_connect_state()
    conn.do_handshake()
    return conn


def read_frame(conn):
    from OpenSSL import SSL
    data = b""
    want = 8
    while len(data) < want:
        try:
            chunk = conn.recv(want - len(data))
        except (SSL.ZeroReturnError, SSL.SysCallError):
            chunk = b""
        if not chunk:
            raise AssertionError("closed after %r" % data)
        data += chunk
        if len(data) == 8:
            assert data[:3] == b"OC" + bytes([WIRE_VERSION]), data
            want = 8 + struct.unpack(">I", data[4:8])[0]
    return data[3], data[8:]


def as_commander(t, tid, key, brain):
    """A commander that got its proofs from the maestro (here: made with
    the key): the authenticated ORDER connection, and its exporter."""
    conn = tls13(t.address, t.command_port, brain.state_dir / "brain.crt",
                 brain.state_dir / "brain.key")
    exp = conn.export_keying_material(EXPORTER_LABEL, 32)
    conn.sendall(frame(WIRE_HELLO, u8(PURPOSE_ORDER) + pbytes(b"0.2.0")))
    assert read_frame(conn)[0] == WIRE_HELLO_ACK
    nc = os.urandom(32)
    conn.sendall(frame(WIRE_AUTH_ID, u64(tid) + pbytes(nc)))
    ftype, p = read_frame(conn)
    assert ftype == WIRE_AUTH_CHALLENGE, p
    ns = p[4:36]
    inputs = u8(PURPOSE_ORDER) + u64(tid) + nc + ns + exp
    pc = hmac.new(key, b"octopus-v2 client" + inputs, hashlib.sha256)
    ps = hmac.new(key, b"octopus-v2 server" + inputs, hashlib.sha256)
    conn.sendall(frame(WIRE_AUTH_PROOF, pbytes(pc.digest())))
    ftype, p = read_frame(conn)
    assert ftype == WIRE_AUTH_OK and p[4:] == ps.digest(), (ftype, p)
    return conn, exp


def order_mac(key, tid, job, script, exp):
    msg = (pbytes(b"octopus-v2 order") + u64(tid) + u64(job) +
           pbytes(script) + pbytes(b"") + pbytes(exp))
    return hmac.new(key, msg, hashlib.sha256).digest()


def send_order(conn, job, script, mac):
    conn.sendall(frame(WIRE_ORDER, u64(job) + pbytes(script) + pbytes(b"") +
                       pbytes(mac)))
    return read_frame(conn)


def test_order_changed_on_its_way_is_refused(brain, new_tentacle):
    pytest.importorskip("OpenSSL")
    c = brain.login()
    t, tid, key = enrolled(brain, new_tentacle, c, "127.0.0.2",
                           {"hello": "echo hi", "other": "echo other"})
    job = 990001
    cases = {
        # the MAC of another script
        "script": lambda exp: order_mac(key, tid, job, b"other", exp),
        # the MAC of another job
        "job": lambda exp: order_mac(key, tid, job + 1, b"hello", exp),
        # the MAC made for another connection (a replay)
        "session": lambda exp: order_mac(key, tid, job, b"hello",
                                         os.urandom(32)),
        # no MAC
        "none": lambda exp: bytes(32),
    }
    for why, mac in cases.items():
        conn, exp = as_commander(t, tid, key, brain)
        ftype, p = send_order(conn, job, b"hello", mac(exp))
        conn.close()
        assert ftype == WIRE_ERROR and b"bad ORDER MAC" in p, (why, p)
        t.wait_log(r"command worker: [\d.]+:\d+: job %d: ORDER refused: "
                   r"bad MAC" % job)
    assert "running hello" not in t.log()
    # The MAC the maestro would make, for this connection: accepted.
    conn, exp = as_commander(t, tid, key, brain)
    ftype, p = send_order(conn, job, b"hello", order_mac(key, tid, job,
                                                         b"hello", exp))
    conn.close()
    assert ftype == WIRE_ORDER_ACK and p[8] == 1, p
    t.wait_log(r"job %d: running hello" % job)


# ------------------------------------------------- no key in the IPC

def child_pids(brain):
    p = brain.pids()
    return [p["webserv"], p["registerer"], p["commander"]]


def strace_dump_bytes(path):
    """Every byte the traced processes read or wrote (strace's
    -e read=all -e write=all hex dumps)."""
    out = bytearray()
    line_re = re.compile(r"^\s*\|\s+[0-9a-f]{5}\s+((?:[0-9a-f]{2}\s+)+)")
    with open(path, errors="replace") as f:
        for line in f:
            m = line_re.match(line)
            if m:
                out += bytes.fromhex("".join(m.group(1).split()))
    return bytes(out)


def key_in(data, key):
    return key in data or key.hex().encode() in data or \
        key.hex().upper().encode() in data


@pytest.mark.skipif(shutil.which("strace") is None, reason="no strace")
def test_no_key_in_the_ipc(brain, new_tentacle, tmp_path):
    c = brain.login()
    trace = tmp_path / "strace.out"
    cmd = ["strace", "-q", "-f", "-o", str(trace), "-e",
           "trace=read,write,readv,writev,recvmsg,sendmsg,recvfrom,sendto",
           "-e", "read=all", "-e", "write=all"]
    for pid in child_pids(brain):
        cmd += ["-p", str(pid)]
    st = subprocess.Popen(cmd, stderr=subprocess.PIPE)
    try:
        time.sleep(1)
        if st.poll() is not None:
            pytest.skip("strace cannot attach: %s" % st.stderr.read())
        # An enrolment by token (6000), and one by address (7000).
        t1, tid1, key1 = enrolled(brain, new_tentacle, c, "127.0.0.2",
                                  {"marker": "echo marker-7c1f3a"})
        t2, tid2, key2 = enrolled_by_address(brain, new_tentacle, c,
                                             "127.0.0.3")
        # A run and its result; keepalives of both.
        (job,) = run_and_wait(c, "marker", [tid1])["jobs"]
        assert job["state"] == "done", job
        wait_for(lambda: seen(c, tid2), 15, what="a keepalive of tentacle 2")
        time.sleep(1.5)
    finally:
        st.send_signal(signal.SIGINT)
        st.wait(timeout=20)
    data = strace_dump_bytes(trace)
    # The trace saw the IPC: the result's output went through the
    # commander, the request's hostname through the registerer.
    assert b"marker-7c1f3a" in data, len(data)
    assert t1.conf["name"].encode() in data or b"127.0.0.2" in data
    for tid, key in ((tid1, key1), (tid2, key2)):
        assert not key_in(data, key), "tentacle %d's key in the IPC" % tid


# ------------------------------------------------- no key in a child's memory

def memory_has(pid, needles):
    """Which of needles are somewhere in pid's readable memory."""
    found = set()
    with open("/proc/%d/maps" % pid) as maps, \
            open("/proc/%d/mem" % pid, "rb", 0) as mem:
        for line in maps:
            parts = line.split()
            lo, hi = (int(x, 16) for x in parts[0].split("-"))
            name = parts[5] if len(parts) > 5 else ""
            # Unreadable, the kernel's, or sanitizer shadow (huge, sparse).
            if parts[1][0] != "r" or name in ("[vvar]", "[vsyscall]") or \
                    hi - lo > (1 << 30):
                continue
            try:
                mem.seek(lo)
                chunk = mem.read(hi - lo)
            except (OSError, ValueError, OverflowError):
                continue
            for n in needles:
                if n in chunk:
                    found.add(n)
    return found


def tentacle_worker_pid(t):
    for pid, ppid, args in octotest.ps_table():
        if ppid == t.proc.pid and "command worker" in args:
            return pid
    return None


@pytest.mark.skipif(os.geteuid() != 0, reason="reading /proc/PID/mem of "
                    "another process needs root")
def test_no_key_in_a_childs_memory(brain, new_tentacle):
    c = brain.login()
    t1, tid1, key1 = enrolled(brain, new_tentacle, c, "127.0.0.2",
                              {"hello": "echo hi"})
    t2, tid2, key2 = enrolled_by_address(brain, new_tentacle, c, "127.0.0.3")
    for _ in range(3):
        (job,) = run_and_wait(c, "hello", [tid1])["jobs"]
        assert job["state"] == "done", job
    wait_for(lambda: seen(c, tid1) and seen(c, tid2), 15,
             what="keepalives of both")
    time.sleep(2)       # a few more keepalives
    needles = []
    for key in (key1, key2):
        needles += [key, key.hex().encode(), key.hex().upper().encode()]
    for role, pid in brain.pids().items():
        if role == "maestro":
            continue
        found = memory_has(pid, needles)
        assert not found, "%s (pid %d) holds a tentacle key" % (role, pid)
    # The scanner finds a key where one is: the tentacle's own worker.
    wpid = tentacle_worker_pid(t1)
    assert wpid is not None, octotest.ps_table()
    assert key1 in memory_has(wpid, [key1])
