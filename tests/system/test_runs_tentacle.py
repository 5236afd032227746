"""The tentacle's side of runs (issue 4): the command worker on 7001
(ORDER, garbage), the script's limits seen end to end, the spool and the
delivery to 6001 with retries, at start-up, while the brain is down.

Python cannot complete the handshake (no TLS exporter in the ssl module),
so where it plays the brain it only checks what happens before the
authentication; the rest runs against the real brain."""

import os
import signal
import re
import socket
import ssl
import struct
import threading
import time
import hashlib

import pytest

import octotest
from octotest import wait_for
from test_enrolment import (brain, enrol_self, frame, hello,  # noqa: F401
                            make_token, new_tentacle, other_cert, pstr,
                            tentacle_bin, tls_to)
from test_runs import add_script, run_and_wait

PURPOSE_ORDER, PURPOSE_RESULT = 4, 5
WIRE_ERROR, WIRE_ORDER = 1, 11
OUTCOME_RAN = 1
MARKER = "[output truncated at %d bytes]"


def read_all(s, timeout=octotest.IO_TIMEOUT):
    """Everything until the peer closes (b"" on a reset)."""
    s.settimeout(timeout)
    data = b""
    while True:
        try:
            chunk = s.recv(65536)
        except (ConnectionResetError, ssl.SSLError):
            return data
        if not chunk:
            return data
        data += chunk


def enrolment_for(t, fpr, commander_port, ident=7):
    """An enrolled tentacle whose brain is `fpr` on commander_port."""
    t.state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    t.state_file.parent.mkdir(mode=0o700, exist_ok=True)
    path = t.state_file
    path.write_text(
        "id = %d\nkey = %s\nbrain_fingerprint = %s\n"
        "brain_address = 127.0.0.1\nbrain_registerer_port = 1\n"
        "brain_commander_port = %d\nstatus = accepted\n"
        "enrolled_at = 1700000000\n" % (ident, "11" * 32, fpr,
                                         commander_port))
    path.chmod(0o600)


def spool_file(job, output=b"spooled\n", outcome=OUTCOME_RAN, status=0,
               sig=0):
    """A spool file as tentacle/spool.h describes it."""
    body = (b"OCTOSPOOL1\n" + struct.pack(">QBIIQQB", job, outcome,
                                          status & 0xffffffff, sig,
                                          1700000000000, 5, 0) +
            pstr(output))
    return body + pstr(hashlib.sha256(body).digest())


# ------------------------------------------------ 7001 without a brain

@pytest.fixture
def lone(new_tentacle, other_cert):
    """An enrolled tentacle whose pinned brain is other_cert (which the
    test holds), its brain's commander nowhere."""
    crt, key, fpr = other_cert
    t = new_tentacle("127.0.0.2", None)
    enrolment_for(t, fpr, octotest.free_port())
    t.start()
    t.wait_log(r"command worker: listening on")
    return t, crt, key


def still_serving(t, crt, key):
    s = tls_to(t.command_port, crt, key, host="127.0.0.2")
    s.sendall(hello(PURPOSE_ORDER))
    s.settimeout(octotest.IO_TIMEOUT)
    data = s.recv(8)
    s.close()
    assert data[:4] == b"OC\x02\x03", data      # HELLO_ACK
    assert t.alive()


def test_order_before_the_handshake(lone):
    t, crt, key = lone
    s = tls_to(t.command_port, crt, key, host="127.0.0.2")
    s.sendall(frame(WIRE_ORDER, struct.pack(">Q", 1) + pstr(b"hello")))
    data = read_all(s)
    s.close()
    assert data[:4] == b"OC\x02\x01", data      # WIRE_ERROR, then closed
    t.wait_log(r"command worker: [\d.]+:\d+: handshake refused")
    still_serving(t, crt, key)


@pytest.mark.parametrize("junk", [
    b"\x00\xffgarbage" * 20,
    b"OC\x02\x0b" + struct.pack(">I", 0x7fffffff),        # oversized
    b"OC\x02\x0b" + struct.pack(">I", 20) + b"short",     # then EOF
    frame(WIRE_ORDER, struct.pack(">Q", 1) + pstr(b"hello")),  # no auth
    frame(200, b"x"),                                        # bad type
])
def test_junk_after_hello(lone, junk):
    t, crt, key = lone
    s = tls_to(t.command_port, crt, key, host="127.0.0.2")
    s.sendall(hello(PURPOSE_ORDER))
    s.settimeout(octotest.IO_TIMEOUT)
    assert s.recv(8)[:4] == b"OC\x02\x03"
    s.sendall(junk)
    try:
        s.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    read_all(s)
    s.close()
    t.wait_log(r"command worker: [\d.]+:\d+: closed")
    still_serving(t, crt, key)
    assert not list((t.state_dir / "spool").glob("*")), "nothing run"


# ------------------------------------------------ delivery, fake brain

class FakeCommander:
    """A TLS server with the pinned brain certificate: records each
    connection's first frame, then hangs up (no handshake possible)."""

    def __init__(self, crt, key):
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        self.ctx.load_cert_chain(str(crt), str(key))
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.firsts = []
        self.times = []
        self.stop = False
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        self.sock.settimeout(0.2)
        while not self.stop:
            try:
                raw, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.times.append(time.monotonic())
            try:
                s = self.ctx.wrap_socket(raw, server_side=True)
                s.settimeout(5)
                self.firsts.append(s.recv(64))
                s.close()
            except (OSError, ssl.SSLError):
                raw.close()

    def close(self):
        self.stop = True
        self.sock.close()
        self.thread.join(5)


def test_delivery_retries_with_backoff(new_tentacle, other_cert):
    crt, key, fpr = other_cert
    fake = FakeCommander(crt, key)
    try:
        t = new_tentacle("127.0.0.2", None, retry_max=2)
        enrolment_for(t, fpr, fake.port)
        spool = t.state_dir / "spool"
        spool.mkdir(mode=0o700)
        (spool / "job-41.result").write_bytes(spool_file(41))
        (spool / "job-42.result").write_bytes(b"OCTOSPOOL1\ncorrupt")
        (spool / "notes.txt").write_text("not ours")
        t.start()
        # Delivered at start-up: HELLO{RESULT} to the commander.
        wait_for(lambda: len(fake.firsts) >= 4, 15, 0.1,
                 "four delivery attempts")
        for f in fake.firsts:
            assert f[:4] == b"OC\x02\x02" and f[8] == PURPOSE_RESULT, f
        # 1 s, 2 s, then capped at retry_max = 2 s.
        gaps = [b - a for a, b in zip(fake.times, fake.times[1:])]
        assert 0.7 < gaps[0] < 1.8, gaps
        assert 1.6 < gaps[1] < 2.8, gaps
        assert 1.6 < gaps[2] < 2.8, gaps
        t.wait_log(r"job 41: result not delivered: .*; next try in 1 s")
        t.wait_log(r"job 41: result not delivered: .*; next try in 2 s")
        # The corrupt file is moved aside, the good one stays.
        assert (spool / "job-42.result.corrupt").exists()
        assert not (spool / "job-42.result").exists()
        assert (spool / "job-41.result").exists()
        assert (spool / "notes.txt").exists()
        t.wait_log(r"job-42\.result: corrupt \(.*\): moved aside")
        assert t.alive()
    finally:
        fake.close()


def test_new_keys_in_the_configuration(new_tentacle):
    t = new_tentacle("127.0.0.2", None, script_timeout=7, output_max=1000,
                     retry_max=60)
    r = t.run("-n", "-v")
    assert r.returncode == 0, r.stderr
    assert re.search(r"^script_timeout = 7$", r.stdout, re.M), r.stdout
    assert re.search(r"^output_max = 1000$", r.stdout, re.M), r.stdout
    assert re.search(r"^retry_max = 60$", r.stdout, re.M), r.stdout
    for k, v in (("script_timeout", "0"), ("output_max", "262145"),
                 ("output_max", "0"), ("retry_max", "x")):
        t2 = new_tentacle("127.0.0.2", None, **{k: v})
        r = t2.run("-n")
        assert r.returncode == 2, (k, v, r.stdout, r.stderr)
        assert "tentacle.conf:" in r.stderr and k in r.stderr, r.stderr


# ------------------------------------------------ end to end, real brain

def enrolled(brain, new_tentacle, client, scripts,  # noqa: F811
             address="127.0.0.2", **overrides):
    t = new_tentacle(address, brain, **overrides)
    for name, body in scripts.items():
        add_script(t, name, body)
    state = enrol_self(t, brain, make_token(client)["token"])
    return t, int(state["id"])


def pid_dead(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            st = f.read().rsplit(")", 1)[1].split()[0]
        return st in ("Z", "X")
    except FileNotFoundError:
        return True


def test_timeout_kills_the_group(brain, new_tentacle, tmp_path):  # noqa
    c = brain.login()
    pidfile = tmp_path / "grandchild.pid"
    t, tid = enrolled(brain, new_tentacle, c, {
        "hangs": "echo started\nsleep 300 &\necho $! > %s\nsleep 300"
                 % pidfile}, script_timeout=1)
    (job,) = run_and_wait(c, "hangs", [tid])["jobs"]
    assert job["state"] == "timeout", job
    res = job["result"]
    assert res["signal"] == 9 and res["exit_status"] is None, res
    assert res["output"] == "started\n"
    assert 900 <= res["duration_ms"] < 10000, res
    grandchild = int(pidfile.read_text())
    wait_for(lambda: pid_dead(grandchild), 5, 0.05, "the grandchild gone")
    t.wait_log(r"job \d+: timed out")


def test_output_capped_with_a_marker(brain, new_tentacle):  # noqa: F811
    c = brain.login()
    t, tid = enrolled(brain, new_tentacle, c, {
        "chatty": "head -c 50000 /dev/zero | tr '\\0' x\necho\necho end"},
        output_max=1000)
    (job,) = run_and_wait(c, "chatty", [tid])["jobs"]
    assert job["state"] == "done", job
    res = job["result"]
    assert res["truncated"] is True, res
    out = res["output"]
    assert out.startswith("x" * 1000)
    assert out[1000:] == "\n" + MARKER % 1000 + "\n"


def test_signal_and_clean_environment(brain, new_tentacle):  # noqa: F811
    c = brain.login()
    t, tid = enrolled(brain, new_tentacle, c, {
        "env": "/usr/bin/env | LC_ALL=C sort\necho \"args=$# $0\"",
        "killed": "echo bye\nkill -KILL $$"})
    (job,) = run_and_wait(c, "env", [tid])["jobs"]
    out = job["result"]["output"]
    assert "PATH=/usr/sbin:/usr/bin:/sbin:/bin\n" in out, out
    assert "LANG=C\n" in out and "HOME=/\n" in out, out
    assert "OCTO" not in out and "PYTEST" not in out, out
    assert "args=0 " in out, out
    (job,) = run_and_wait(c, "killed", [tid])["jobs"]
    assert job["state"] == "done", job
    assert job["result"]["signal"] == 9, job
    assert job["result"]["exit_status"] is None, job
    assert job["result"]["output"] == "bye\n"


def test_symlink_and_non_executable_refused(brain, new_tentacle):  # noqa
    c = brain.login()
    t, tid = enrolled(brain, new_tentacle, c, {"real": "echo real"})
    d = t.dir / "scripts"
    os.symlink("real", d / "alias")
    (d / "plain").write_text("#!/bin/sh\necho plain\n")
    (d / "plain").chmod(0o644)
    for name in ("alias", "plain"):
        (job,) = run_and_wait(c, name, [tid])["jobs"]
        assert job["state"] == "failed", job
        assert "unknown script %s" % name in job["message"], job
        assert job["result"] is None
    t.wait_log(r"unknown script \"alias\" \(a symbolic link\): not run")


def test_brain_down_while_running(brain, new_tentacle):  # noqa: F811
    """The result is spooled while the brain is down, delivered once it
    is back, stored once; the spool is empty afterwards."""
    c = brain.login()
    t, tid = enrolled(brain, new_tentacle, c,
                      {"slow": "sleep 2\necho finished"}, retry_max=1)
    r = c.post("/api/runs", {"script": "slow", "tentacles": [tid]})
    assert r.status == 202, r
    run_id = r.json()["id"]
    t.wait_log(r"job \d+: running slow")
    brain.stop()
    t.wait_log(r"job \d+: exited with status 0")
    t.wait_log(r"result not delivered: .*; next try in 1 s")
    spool = t.state_dir / "spool"
    assert len(list(spool.glob("job-*.result"))) == 1
    brain.start()
    t.wait_log(r"job \d+: result delivered", timeout=20)
    c = brain.login()
    run = wait_for(lambda: (lambda j: j if j["jobs"][0]["state"] == "done"
                            else None)(c.get("/api/runs/%d" % run_id).json()),
                   20, 0.1, "the run done")
    assert run["jobs"][0]["result"]["output"] == "finished\n"
    assert len(c.get("/api/tentacles/%d/results" % tid).json()[
        "results"]) == 1
    assert not list(spool.glob("job-*"))


def test_spool_delivered_at_start_up(brain, new_tentacle):  # noqa: F811
    """A result spooled before the tentacle stopped is delivered when it
    starts again."""
    c = brain.login()
    t, tid = enrolled(brain, new_tentacle, c,
                      {"quick": "echo quick"}, retry_max=30)
    brain.stop()
    # Nothing can order it now: play the command worker's part by
    # spooling a result for a job the brain gave (the next run).
    t.stop()
    brain.start()
    c = brain.login()
    r = c.post("/api/runs", {"script": "quick", "tentacles": [tid]})
    assert r.status == 202, r
    run_id = r.json()["id"]
    run = wait_for(lambda: (lambda j: j if j["jobs"][0]["state"] ==
                            "unreachable" else None)(
        c.get("/api/runs/%d" % run_id).json()), 20, 0.1, "unreachable")
    job_ids = [j.get("id") for j in run["jobs"]]
    if job_ids[0] is None:
        pytest.skip("the run API does not show job IDs")
    spool = t.state_dir / "spool"
    (spool / ("job-%d.result" % job_ids[0])).write_bytes(
        spool_file(job_ids[0], b"from the spool\n"))
    t.start()
    t.wait_log(r"job %d: result delivered" % job_ids[0], timeout=20)
    assert not list(spool.glob("job-*"))


# ------------------------------------------------ keepalive: INVENTORY

@pytest.fixture
def pinged_brain(brain_factory):
    return brain_factory({"io_timeout": 2, "keepalive_interval": 1},
                         verbose=True)


def scripts_of(client, tid):
    r = client.get("/api/scripts")
    assert r.status == 200, r
    return {s["name"]: s for s in r.json()["scripts"]
            if tid in s["tentacles"]}


def test_inventory_answers_the_keepalive(pinged_brain,  # noqa: F811
                                         new_tentacle):
    brain = pinged_brain
    c = brain.login()
    t, tid = enrolled(brain, new_tentacle, c, {"disk": "df -h"})
    d = t.dir / "scripts"
    (d / "nodesc").write_bytes(b"#!/bin/sh\necho no description\n")
    (d / "nodesc").chmod(0o755)
    (d / "plain").write_text("#!/bin/sh\n# description: not executable\n")
    os.symlink("disk", d / "alias")
    (d / ".hidden").write_text("#!/bin/sh\n")
    (d / ".hidden").chmod(0o755)
    os.mkdir(d / "subdir")
    got = wait_for(lambda: (lambda s: s if "nodesc" in s else None)(
        scripts_of(c, tid)), 15, 0.2, "the inventory in /api/scripts")
    assert sorted(got) == ["disk", "nodesc"], got
    disk = (d / "disk").read_bytes()
    assert got["disk"]["sha256"] == hashlib.sha256(disk).hexdigest()
    assert got["disk"]["description"] == "disk (test)"
    assert got["nodesc"]["description"] == ""
    # A new script (the directory's mtime changes): listed at the next
    # keepalive.
    add_script(t, "newone", "echo new")
    wait_for(lambda: "newone" in scripts_of(c, tid), 15, 0.2,
             "the new script listed")
    t.wait_log(r"brain authenticated \(ping\)")


def test_reload_during_a_run_reports_it(brain, new_tentacle):  # noqa: F811
    """SIGHUP restarts the command worker: the script it was running is
    killed, and the brain gets a result that says so (spooled, delivered
    by the new command worker), instead of a job running forever."""
    c = brain.login()
    t, tid = enrolled(brain, new_tentacle, c,
                      {"long": "echo partial\nsleep 300"})
    # Before the order: the tentacle may log its run before the POST's
    # answer is read.
    mark = len(t.log())
    r = c.post("/api/runs", {"script": "long", "tentacles": [tid]})
    assert r.status == 202, r
    run_id = r.json()["id"]
    t.wait_log(r"job \d+: running long", start=mark)
    time.sleep(0.3)
    t.proc.send_signal(signal.SIGHUP)
    t.wait_log(r"SIGTERM: stopping; 1 script interrupted", start=mark)
    t.wait_log(r"job \d+: result delivered", start=mark, timeout=20)
    (job,) = wait_for(lambda: (lambda j: j["jobs"] if j["jobs"][0]["state"]
                               in ("done", "failed") else None)(
        c.get("/api/runs/%d" % run_id).json()), 20, 0.1, "the run over")
    assert job["result"] is not None, job
    assert job["result"]["output"] == \
        "partial\n\n[interrupted: the tentacle stopped]\n", job
    assert t.alive()
    assert not list((t.state_dir / "spool").glob("job-*"))
