"""`make demo` as a person runs it: scripts/demo prints the dashboard URL and
the admin password, the password logs in, two tentacles are enrolled and
accepted, a third waits for approval, a fourth can be added by its address,
and Ctrl-C stops everything and cleans up."""

import os
import re
import signal
import socket
import subprocess
import time

import pytest

import octotest

REPO = str(octotest.REPO)


def port_busy(addr, port):
    s = socket.socket()
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((addr, port))
        return False
    except OSError:
        return True
    finally:
        s.close()


def test_demo(tmp_path):
    for addr, port in [("127.0.0.1", 6000), ("127.0.0.1", 6001)] + [
            ("127.0.0.%d" % i, p) for i in (2, 3, 4, 5) for p in (7000, 7001)]:
        if port_busy(addr, port):
            pytest.skip("%s:%d is in use (a demo running?)" % (addr, port))
    web_port = octotest.free_port()
    env = dict(os.environ, DEMO_WEB_PORT=str(web_port),
               TMPDIR=str(tmp_path),
               OCTO_BUILD=str(octotest.BRAIN_BIN.parent))
    p = subprocess.Popen([os.path.join(REPO, "scripts", "demo")], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True, start_new_session=True)
    lines = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = p.stdout.readline()
            if not line:
                break
            lines.append(line.rstrip("\n"))
            if line.startswith("Press Ctrl-C"):
                break
        out = "\n".join(lines)
        assert "Press Ctrl-C" in out, out
        assert "https://127.0.0.1:%d/" % web_port in out, out
        m = re.search(r"^password: (\S+)$", out, re.M)
        assert m, out

        c = octotest.Client(web_port)
        assert c.login("admin", m.group(1)).status == 200
        ts = {t["hostname"]: t for t in
              c.get("/api/tentacles").json()["tentacles"]}
        assert sorted(ts) == ["demo-tentacle-1", "demo-tentacle-2",
                              "demo-tentacle-3"], ts
        assert ts["demo-tentacle-1"]["enrolment"] == "accepted"
        assert ts["demo-tentacle-2"]["enrolment"] == "accepted"
        assert ts["demo-tentacle-3"]["enrolment"] == "pending"
        # What the README's reader does next: approve, add by address.
        r = c.post("/api/tentacles/%d/approve" % ts["demo-tentacle-3"]["id"])
        assert r.status == 200, r
        m4 = re.search(r"address 127\.0\.0\.5, pairing code "
                       r"([A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4})$", out, re.M)
        assert m4, out
        r = c.post("/api/tentacles", {"address": "127.0.0.5"})
        assert r.status == 403, r       # not without its code
        r = c.post("/api/tentacles", {"address": "127.0.0.5",
                                      "code": m4.group(1)})
        assert r.status == 201, r
        assert r.json()["tentacle"]["hostname"] == "demo-tentacle-4"
        # As a person would, once the fleet shows all four online (the
        # approved one learns it at its next poll, then it is pinged).
        octotest.wait_for(
            lambda: [t["state"] for t in c.get(
                "/api/tentacles", background=True).json()["tentacles"]] ==
            ["online"] * 4, 60, 0.2, "all four online")
        run = c.post("/api/runs", {"script": "disk-usage",
                                   "tentacles": "all"})
        assert run.status == 202, run
        octotest.wait_for(
            lambda: all(j["state"] in ("done", "failed", "timeout",
                                       "unreachable")
                        for j in c.get("/api/runs/%d" % run.json()["id"])
                        .json()["jobs"]), 60, 0.2, "the audit on all four")
        jobs = c.get("/api/runs/%d" % run.json()["id"]).json()["jobs"]
        assert len(jobs) == 4 and all(j["state"] == "done" for j in jobs), \
            jobs
        # The demo's tentacles take managed scripts: one written on the
        # brain reaches all four, signed, and runs with its hash.
        body = "#!/bin/sh\necho 'OK demo.check from the dashboard'\n"
        r = c.post("/api/scripts", {"name": "demo-check", "body": body})
        assert r.status == 201, r
        sha = r.json()["sha256"]
        octotest.wait_for(
            lambda: len(c.get("/api/scripts/demo-check", background=True)
                        .json()["tentacles"]) == 4, 60, 0.2,
            "demo-check on all four")
        run = c.post("/api/runs", {"script": "demo-check",
                                   "tentacles": "all"})
        assert run.status == 202, run
        rid = run.json()["id"]
        octotest.wait_for(
            lambda: all(j["state"] == "done" for j in c.get(
                "/api/runs/%d" % rid).json()["jobs"]), 60, 0.2,
            "demo-check run on all four")
        for j in c.get("/api/runs/%d" % rid).json()["jobs"]:
            assert j["result"]["sha256"] == sha, j
    finally:
        os.killpg(p.pid, signal.SIGINT)
        try:
            rest, _ = p.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            rest, _ = p.communicate()
    assert "demo stopped" in rest, rest
    assert not list(tmp_path.glob("octopus-demo.*")), "demo dir left behind"
    assert not port_busy("127.0.0.1", web_port)
