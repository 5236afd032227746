"""`make demo` as a person runs it: scripts/demo prints the dashboard URL and
the admin password, the password logs in, both tentacles are enrolled and
accepted, and Ctrl-C stops everything and cleans up."""

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
    for addr, port in (("127.0.0.1", 6000), ("127.0.0.1", 6001),
                       ("127.0.0.2", 7000), ("127.0.0.3", 7000),
                       ("127.0.0.2", 7001), ("127.0.0.3", 7001)):
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
        ts = c.get("/api/tentacles").json()["tentacles"]
        assert sorted(t["hostname"] for t in ts) == [
            "demo-tentacle-1", "demo-tentacle-2"], ts
        assert all(t["enrolment"] == "accepted" for t in ts), ts
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
