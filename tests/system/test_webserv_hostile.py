"""The dashboard's HTTP layer against hostile input (issue 13, items 1, 3,
4 and 6): output that is not UTF-8, cross-site requests, answers libevent
makes by itself, ambiguous framing, and running out of descriptors."""

import json
import os
import re
import resource
import socket
import ssl
import sqlite3
import time

import pytest

import octotest
from test_enrolment import (brain, enrol_self, make_token,  # noqa: F401
                            new_tentacle, tentacle_bin)
from test_runs import add_script, run_and_wait

# Bytes no UTF-8 decoder accepts, each of a kind the old check let
# through: a surrogate, an overlong form, past U+10FFFF; then a stray
# continuation byte and 0xff.
BAD = b"\xed\xa0\x80|\xe0\x80\x80|\xf4\x90\x80\x80|\x80|\xff"


def test_output_not_utf8_is_shown_and_stored_raw(brain, new_tentacle):  # noqa: F811,E501
    c = brain.login()
    t = new_tentacle("127.0.0.2", brain)
    octal = "".join("\\%03o" % b for b in BAD)
    add_script(t, "badbytes", "printf 'before %s after\\n'" % octal)
    tid = int(enrol_self(t, brain, make_token(c)["token"])["id"])
    run = run_and_wait(c, "badbytes", [tid])
    # The dashboard's job view (the run with its outputs).
    (job,) = run["jobs"]
    assert job["state"] == "done", job
    out = job["result"]["output"]
    assert out.startswith("before ") and out.endswith(" after\n"), out
    parts = out[len("before "):-len(" after\n")].split("|")
    assert len(parts) == 5 and all(p and set(p) == {"\ufffd"}
                                   for p in parts), parts
    r = c.get("/api/runs/%d" % run["id"])
    assert r.status == 200 and r.json()["jobs"][0]["result"]["output"] == out
    # The result itself, and the tentacle's history.
    rid = job["result"]["id"]
    r = c.get("/api/results/%d" % rid)
    assert r.status == 200, r
    assert r.json()["output"] == out
    r = c.get("/api/tentacles/%d/results" % tid)
    assert r.status == 200 and r.json()["results"][0]["id"] == rid
    # Stored as it came.
    db = sqlite3.connect("file:%s?mode=ro" % (brain.state_dir / "brain.db"),
                         uri=True)
    try:
        (raw,) = db.execute("SELECT output FROM results WHERE id = ?",
                            (rid,)).fetchone()
    finally:
        db.close()
    assert bytes(raw) == b"before " + BAD + b" after\n"
    assert "cannot encode" not in brain.log()


# ------------------------------------------------------------ item 3: CSRF

def _login_body(brain):
    return json.dumps({"username": "admin",
                       "password": brain.password}).encode()


def test_login_needs_json_content_type(brain):  # noqa: F811
    c = brain.client()
    for ctype in ("text/plain", "application/x-www-form-urlencoded",
                  "multipart/form-data; boundary=x", "application/jsonx",
                  None):
        hdrs = {"Content-Type": ctype} if ctype else {"Content-Type": ""}
        r = c.request("POST", "/api/login", raw=_login_body(brain),
                      headers=hdrs)
        assert r.status == 415, (ctype, r)
        assert r.content_type == "application/json" and r.json()["error"]
        assert r.header("X-Content-Type-Options") == "nosniff"
        assert not r.header_all("Set-Cookie"), r
    r = c.request("POST", "/api/login", raw=_login_body(brain),
                  headers={"Content-Type": "application/json; charset=utf-8"})
    assert r.status == 200, r


def test_cross_site_requests_refused(brain):  # noqa: F811
    port = brain.web_port
    ours = "https://127.0.0.1:%d" % port
    c = brain.client()
    for hdrs in ({"Origin": "https://evil.example.org"},
                 {"Origin": "null"},
                 {"Origin": "http://127.0.0.1:%d" % port},
                 {"Origin": "https://127.0.0.1:%d" % (port + 1)},
                 {"Sec-Fetch-Site": "cross-site"},
                 {"Sec-Fetch-Site": "cross-site", "Origin": ours}):
        r = c.request("POST", "/api/login", raw=_login_body(brain),
                      headers=hdrs)
        assert r.status == 403, (hdrs, r)
        assert r.content_type == "application/json" and r.json()["error"]
        assert not r.header_all("Set-Cookie"), (hdrs, r)
    # The dashboard's own requests still work, with and without them.
    r = c.request("POST", "/api/login", raw=_login_body(brain),
                  headers={"Origin": ours, "Sec-Fetch-Site": "same-origin"})
    assert r.status == 200, r
    c.csrf = r.json()["csrf"]
    assert c.get("/api/session").status == 200
    # Logged in: a foreign origin cannot read or change anything.
    r = c.get("/api/session", headers={"Origin": "https://evil.example.org"})
    assert r.status == 403, r
    r = c.post("/api/tokens", {}, headers={"Sec-Fetch-Site": "cross-site"})
    assert r.status == 403, r
    r = c.post("/api/tokens", raw=b"{}", headers={"Content-Type":
                                                  "text/plain"})
    assert r.status == 415, r
    assert c.get("/api/tokens").json()["tokens"] == []
    r = c.post("/api/tokens", {}, headers={"Origin": ours})
    assert r.status == 201, r


# ------------------------------------- item 4: answers libevent makes itself

SECURITY_HEADERS = ("content-security-policy", "x-content-type-options",
                    "x-frame-options", "strict-transport-security")


def _parse_responses(data):
    """Every HTTP response in data: [(status, {header: value}, body)]."""
    out = []
    while data:
        head, sep, rest = data.partition(b"\r\n\r\n")
        assert sep, "truncated response: %r" % data[:300]
        lines = head.decode("latin-1").split("\r\n")
        assert lines[0].startswith("HTTP/1."), lines[0]
        status = int(lines[0].split()[1])
        hdrs = {}
        for ln in lines[1:]:
            k, _, v = ln.partition(":")
            hdrs[k.strip().lower()] = v.strip()
        n = int(hdrs.get("content-length", len(rest)))
        out.append((status, hdrs, rest[:n]))
        data = rest[n:]
    return out


def _exchange(brain, data):
    """Send data on one TLS connection; the responses until it closes."""
    s = octotest.tls_connect(brain.web_port)
    try:
        octotest.send_quietly(s, data)
        got, _ = octotest.read_until_closed(s, timeout=10)
    finally:
        s.close()
    return _parse_responses(got)


def _assert_ours(resp, status):
    st, hdrs, body = resp
    if isinstance(status, int):
        status = (status,)
    assert st in status, resp
    for h in SECURITY_HEADERS:
        assert h in hdrs, (h, resp)
    assert hdrs.get("content-type", "").startswith("application/json"), resp
    assert json.loads(body.decode())["error"], resp


def test_libevent_errors_are_ours(brain):  # noqa: F811
    cases = [
        (b"GARBAGE\r\n\r\n", 400),
        (b"GET / HTTP/9.9\r\nHost: x\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 +
         b"\r\n\r\n", (400, 413)),
        # Past what libevent reads for any route (a script's body, limits.h
        # HTTP_SCRIPT_BODY_MAX): refused before a byte of it is read.
        (b"POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Type: "
         b"application/json\r\nContent-Length: 1000000\r\n\r\n", 413),
        (b"PATCH / HTTP/1.1\r\nHost: x\r\n\r\n", (400, 405, 501)),
        (b"POST /api/login HTTP/1.1\r\nHost: x\r\nExpect: x\r\n"
         b"Content-Length: 2\r\n\r\n{}", 417),
    ]
    for data, status in cases:
        got = _exchange(brain, data)
        assert len(got) == 1, (data[:60], got)
        _assert_ours(got[0], status)


def test_ambiguous_framing_one_400_and_closed(brain):  # noqa: F811
    second = b"GET /api/session HTTP/1.1\r\nHost: x\r\n\r\n"
    head = (b"POST /api/login HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\n")
    n = len(second)
    cases = [
        b"Content-Length: 0\r\nContent-Length: %d\r\n" % n,
        b"Content-Length: %d\r\nContent-Length: %d\r\n" % (n, n),
        b"Content-Length: +0\r\n",
        b"Content-Length: 0x0\r\n",
        b"Transfer-Encoding : chunked\r\nContent-Length: 0\r\n",
        b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
        b"Transfer-Encoding: identity\r\nContent-Length: 0\r\n",
    ]
    for extra in cases:
        body = second
        if b"Transfer-Encoding: chunked" in extra:
            body = b"0\r\n\r\n" + second
        got = _exchange(brain, head + extra + b"\r\n" + body)
        assert len(got) == 1, (extra, got)
        _assert_ours(got[0], 400)
    # Pipelined requests that are well framed are still each answered.
    got = _exchange(brain, second.replace(b"\r\n\r\n", b"\r\n"
                                          b"Connection: keep-alive\r\n\r\n")
                    + second.replace(b"\r\n\r\n",
                                     b"\r\nConnection: close\r\n\r\n"))
    assert [g[0] for g in got] == [401, 401], got
    assert brain.alive()


# --------------------------------- item 6: connection cap, out of descriptors

CONN_MAX = 256          # HTTP_CONN_MAX, common/limits.h


def _cpu_seconds(pid):
    fields = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _sockets(pid):
    n = 0
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            if os.readlink("/proc/%d/fd/%s" % (pid, fd)).startswith(
                    "socket:"):
                n += 1
        except OSError:
            pass
    return n


def _connect_many(port, n):
    socks = []
    for _ in range(n):
        socks.append(socket.create_connection(("127.0.0.1", port),
                                              timeout=10))
    return socks


def test_out_of_descriptors_pauses_accepting(brain_factory):
    b = brain_factory({"io_timeout": 60}, verbose=True)
    c = b.login()
    ws = b.pids()["webserv"]
    resource.prlimit(ws, resource.RLIMIT_NOFILE, (64, 64))
    start = len(b.log())
    socks = _connect_many(b.web_port, 120)     # the backlog takes the rest
    try:
        # It has used up its descriptors.
        octotest.wait_for(lambda: len(os.listdir("/proc/%d/fd" % ws)) >=
                          60, 10, 0.05, "the webserv out of descriptors")
        cpu, t0 = _cpu_seconds(ws), time.monotonic()
        # Several pauses go by: the webserv neither spins nor logs each.
        octotest.wait_for(lambda: time.monotonic() - t0 > 3.5, 10, 0.2,
                          "a few pauses")
        used = _cpu_seconds(ws) - cpu
        assert used < 0.5 * (time.monotonic() - t0), used
        log = b.log()[start:]
        assert log.count("Too many open files") == 1, log[-2000:]
        assert re.search(r"webserv: accept .*pausing", log), log[-2000:]
        assert b.pids()["webserv"] == ws
    finally:
        for s in socks:
            s.close()
    # Once they close, it serves again (the same process).
    octotest.wait_for(lambda: c.get("/api/session").status == 200, 30, 0.2,
                      "the dashboard answering again")
    assert b.pids()["webserv"] == ws


def test_connection_cap(brain_factory):
    b = brain_factory({"io_timeout": 60}, verbose=True)
    c = b.login()
    ws = b.pids()["webserv"]
    before = _sockets(ws)
    start = len(b.log())
    socks = _connect_many(b.web_port, CONN_MAX + 20)
    try:
        octotest.wait_for(lambda: _sockets(ws) >= before + CONN_MAX, 10,
                          0.05, "%d connections accepted" % CONN_MAX)
        # The ones past the cap wait in the kernel's backlog.
        with pytest.raises((socket.timeout, ssl.SSLError, OSError)):
            octotest.tls_connect(b.web_port, timeout=1.0).close()
        assert _sockets(ws) <= before + CONN_MAX, _sockets(ws)
        b.wait_log(r"webserv: %d connections open \(limit\)" % CONN_MAX,
                   start=start)
        for s in socks[:40]:
            s.close()
        # Closing some lets the waiting ones in, and then a new one.
        octotest.wait_for(lambda: c.get("/api/session").status == 200, 30,
                          0.2, "the dashboard answering again")
    finally:
        for s in socks:
            s.close()
    assert b.pids()["webserv"] == ws
