"""System tests of octoBrain: command line, start-up, processes,
supervision, the three TLS ports and the JSON API (issue 2's contract).

Read-only tests share one brain (ro_brain); tests that kill, stop,
rate-limit or expire get their own (brain_factory) or the module's
sup_brain. Nothing asserts a timing: waits are polls with deadlines.
"""

import os
import re
import secrets
import shutil
import signal
import socket
import ssl
import stat
import subprocess
import time

import pytest

import octotest
from octotest import (CHILDREN, ROLES, Brain, Timeout, proc_alive,
                      read_until_closed, send_quietly, tcp_accepts,
                      tls_answers, tls_connect, wait_for)

HEX64 = re.compile(r"^[0-9a-f]{64}$")
HEX = re.compile(r"^[0-9a-f]{16,}$")


# ------------------------------------------------------------------ helpers

def run_cmd(cmd, timeout=15, cwd=None):
    """Run to completion in its own process group; if it does not exit in
    time, kill the whole group and fail (a broken daemon must not hang us)."""
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         cwd=cwd, start_new_session=True, text=True)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except OSError:
            pass
        out, err = p.communicate()
        raise AssertionError("%s still running after %ss\nstdout:\n%s\n"
                             "stderr:\n%s" % (cmd, timeout, out, err))
    return subprocess.CompletedProcess(cmd, p.returncode, out, err)


def assert_json_error(r, status):
    assert r.status == status, r
    assert r.content_type == "application/json", r.header("Content-Type")
    j = r.json()
    assert isinstance(j.get("error"), str) and j["error"], j
    return j


def assert_serving(brain, restarts=0):
    """A fresh login works and /api/health shows every child up with the
    pids ps shows (and, by default, no restart)."""
    c = brain.login()
    h = brain.health(c)
    pids = brain.pids()
    names = sorted(ch["name"] for ch in h["children"])
    assert names == sorted(CHILDREN), h
    for ch in h["children"]:
        assert ch["state"] == "up", h
        assert ch["pid"] == pids[ch["name"]], (h, pids)
        if restarts is not None:
            assert ch["restarts"] == restarts, h
    return c


def openssl_s_client(port, *args, timeout=20):
    cmd = ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port,
           "-servername", "localhost"] + list(args)
    return run_cmd(cmd, timeout=timeout)


def cert_text(path):
    return subprocess.run(["openssl", "x509", "-in", str(path), "-noout",
                           "-text", "-issuer", "-subject"],
                          capture_output=True, text=True, check=True,
                          timeout=20).stdout


@pytest.fixture(scope="module")
def sup_brain(request, brain_bin, tmp_path_factory):
    """A brain whose children the supervision tests kill."""
    b = Brain(tmp_path_factory.mktemp("sup_brain"),
              {"restart_delay_max": 1})
    request.addfinalizer(b.stop)
    b.start()
    return b


def bad_conf_text(brain, bad_line):
    """brain's configuration with a comment, a blank line, then bad_line
    last. Returns (text, line number of bad_line)."""
    text = octotest.format_conf(brain.conf) + "\n# a comment\n" + \
        bad_line + "\n"
    return text, len(text.splitlines())


# -------------------------------------------------------------- command line

def test_version(brain_bin):
    r = run_cmd([str(brain_bin), "--version"])
    assert r.returncode == 0, r
    assert re.search(r"^octoBrain \d+\.\d+", r.stdout, re.M), r


def test_help_lists_options(brain_bin):
    r = run_cmd([str(brain_bin), "--help"])
    assert r.returncode == 0, r
    text = r.stdout + r.stderr
    for opt in ("-c", "--no-daemon", "-v", "-n", "--version", "--help"):
        assert opt in text, "--help does not mention %s:\n%s" % (opt, text)


def test_unknown_option_is_usage_error(brain_bin):
    r = run_cmd([str(brain_bin), "--no-such-option"])
    assert r.returncode == 2, r


def test_check_config_ok(brain_bin, tmp_path):
    b = Brain(tmp_path)
    r = run_cmd([str(brain_bin), "-c", str(b.conf_path), "-n"])
    assert r.returncode == 0, r
    assert "configuration OK" in r.stdout + r.stderr, r
    # -n starts nothing
    assert not b.pidfile.exists()
    assert not tcp_accepts(b.web_port)


def test_check_config_verbose_dumps_keys(brain_bin, tmp_path):
    b = Brain(tmp_path)
    r = run_cmd([str(brain_bin), "-c", str(b.conf_path), "-n", "-v"])
    assert r.returncode == 0, r
    out = r.stdout + r.stderr
    for key in ("web_port", "kdf_iterations", "restart_delay_max"):
        assert key in out, out


def test_missing_config_file(brain_bin, tmp_path):
    missing = tmp_path / "nope.conf"
    r = run_cmd([str(brain_bin), "-c", str(missing), "-n"])
    assert r.returncode == 2, r
    assert "nope.conf" in r.stderr, r


BAD_LINES = {
    "unknown-key": "no_such_key = 1",
    "port-out-of-range": "web_port = 70000",
    "not-a-number": "session_timeout = soon",
    "duplicate-key": "kdf_iterations = 2000",
    "no-equals": "just some words",
}


@pytest.mark.parametrize("case", sorted(BAD_LINES))
@pytest.mark.parametrize("check_only", [True, False],
                         ids=["-n", "start"])
def test_bad_config_line(brain_bin, tmp_path, case, check_only):
    b = Brain(tmp_path)
    text, line = bad_conf_text(b, BAD_LINES[case])
    b.write_conf(text)
    cmd = [str(brain_bin), "-c", str(b.conf_path)]
    cmd += ["-n"] if check_only else ["--no-daemon"]
    r = run_cmd(cmd, cwd=str(tmp_path))
    assert r.returncode == 2, r
    assert "brain.conf:%d:" % line in r.stderr, r.stderr
    # before anything else: no pidfile, no state directory, no listening
    assert not b.pidfile.exists()
    assert not b.state_dir.exists()
    assert not tcp_accepts(b.web_port)


# ------------------------------------------------------------------ start-up

def test_state_files(ro_brain):
    sd = ro_brain.state_dir
    for name in ("brain.crt", "brain.key", "web.crt", "web.key", "brain.db",
                 "admin.password"):
        assert (sd / name).exists(), "%s missing in %s: %s" % (
            name, sd, sorted(os.listdir(sd)))
    assert stat.S_IMODE((sd / "brain.key").stat().st_mode) == 0o600
    assert stat.S_IMODE((sd / "web.key").stat().st_mode) == 0o600
    assert (sd / "web.crt").read_text() != (sd / "brain.crt").read_text()
    assert "prime256v1" in cert_text(sd / "web.crt")
    assert stat.S_IMODE((sd / "admin.password").stat().st_mode) == 0o600


def test_admin_password_file_matches_printed(ro_brain):
    assert ro_brain.password, "no 'password:' line on stdout"
    assert len(ro_brain.password) >= 12, "password too short"
    content = ro_brain.password_file.read_text()
    assert content == ro_brain.password + "\n"


def test_password_never_on_stderr(ro_brain, ro_client):
    # ro_brain runs with -v and has served logins by now
    assert ro_brain.password not in ro_brain.stderr()
    assert "password: " not in ro_brain.stderr()


def test_certificate_is_self_signed_p256(ro_brain):
    text = cert_text(ro_brain.state_dir / "brain.crt")
    assert "prime256v1" in text or "P-256" in text, text
    issuer = re.search(r"^issuer=\s*(.*)$", text, re.M).group(1)
    subject = re.search(r"^subject=\s*(.*)$", text, re.M).group(1)
    assert issuer == subject, text


@pytest.mark.parametrize("port", ["web", "registerer", "commander"])
def test_ports_present_the_brain_certificate(ro_brain, client_cert, port):
    # The dashboard has its own (web.crt, made at first start), distinct
    # from the tentacle-facing one.
    name = "web.crt" if port == "web" else "brain.crt"
    der = ssl.PEM_cert_to_DER_cert((ro_brain.state_dir / name).read_text())
    certfile, keyfile = client_cert if port != "web" else (None, None)
    with tls_connect(ro_brain.ports[port], certfile, keyfile) as s:
        assert s.getpeercert(binary_form=True) == der


def test_second_start_keeps_password_then_sigterm_stops_all(brain_factory):
    b = brain_factory()
    password = b.password
    pids = b.pids()
    b.signal(signal.SIGTERM)
    b.wait_exit()
    wait_for(lambda: not any(proc_alive(p) for p in pids.values()), 10,
             what="every octoBrain process to exit after SIGTERM")
    wait_for(lambda: not b.pidfile.exists(), 5,
             what="pidfile removed after SIGTERM")
    assert not b.leftovers()
    assert "password: " not in b.stderr()

    # start again: same database, no new admin, no password line
    b.start(expect_password=False)
    assert not octotest.PASSWORD_RE.search(b.stdout()), b.stdout()
    assert b.password_file.read_text() == password + "\n"
    c = b.client()
    assert c.login("admin", password).status == 200


def test_log_lines_name_their_role(ro_brain, ro_client):
    pids = ro_brain.pids()
    # every role says something (with -v at least) once up
    for role in ROLES:
        ro_brain.wait_log(r"^octoBrain\[\d+\] %s: " % role, timeout=10)
    for line in ro_brain.stderr().splitlines():
        m = octotest.LOG_LINE_RE.match(line)
        assert m, "log line without 'octoBrain[PID] ROLE: ': %r" % line
        pid, role = int(m.group(1)), m.group(2)
        assert pid == pids[role], "%r: pid is not the %s's (%d)" % (
            line, role, pids[role])


def test_verbose_adds_debug_lines(brain_factory):
    quiet = brain_factory()
    loud = brain_factory(verbose=True)
    # the same start-up, told in more lines with -v
    wait_for(lambda: len(loud.log_lines()) > len(quiet.log_lines()), 5,
             what="more log lines with -v:\n%s\n---\n%s"
             % (quiet.stderr(), loud.stderr()))
    for line in quiet.log_lines() + loud.log_lines():
        assert octotest.LOG_LINE_RE.match(line), line


# ----------------------------------------------------------------- processes

def test_four_processes(ro_brain):
    pids = ro_brain.pids()
    table = {pid: (ppid, args) for pid, ppid, args in octotest.ps_table()}
    maestro = pids["maestro"]
    assert "octoBrain: maestro" in table[maestro][1]
    for role in CHILDREN:
        ppid, args = table[pids[role]]
        assert "octoBrain: %s" % role in args, args
        assert ppid == maestro
    assert len(set(pids.values())) == 4


def test_health(ro_brain, ro_client):
    r = ro_client.get("/api/health", background=True)
    assert r.status == 200, r
    assert r.content_type == "application/json"
    h = r.json()
    pids = ro_brain.pids()
    assert sorted(ch["name"] for ch in h["children"]) == sorted(CHILDREN)
    for ch in h["children"]:
        assert ch["state"] == "up", h
        assert ch["pid"] == pids[ch["name"]], (h, pids)
        assert ch["restarts"] == 0, h
    assert isinstance(h["refused_handshakes"], int), h
    assert isinstance(h["uptime"], (int, float)) and h["uptime"] >= 0, h
    assert isinstance(h["version"], str) and h["version"], h
    v = run_cmd([str(octotest.BRAIN_BIN), "--version"]).stdout
    assert h["version"] in v, (h["version"], v)


# --------------------------------------------------------------- supervision

@pytest.mark.parametrize("child", CHILDREN)
def test_kill_child_is_restarted(sup_brain, child):
    c = sup_brain.login()
    before = sup_brain.pids()
    old = sup_brain.children_health(c)[child]
    assert old["pid"] == before[child]
    offset = len(sup_brain.stderr())
    os.kill(before[child], signal.SIGKILL)

    def restarted():
        r = c.get("/api/health", background=True)
        if r.status != 200:
            assert r.status != 401, "session lost when %s died" % child
            return False
        ch = {x["name"]: x for x in r.json()["children"]}
        new = ch[child]
        if new["state"] == "up" and new["pid"] != old["pid"]:
            return ch
        return False
    ch = wait_for(restarted, 20, 0.1, "%s restarted in /api/health" % child)
    assert ch[child]["restarts"] >= old["restarts"] + 1, ch
    assert not proc_alive(before[child])

    after = wait_for(sup_brain.pids, 10, what="ps to show %s" % child)
    assert after["maestro"] == before["maestro"]
    assert after[child] == ch[child]["pid"]
    for other in CHILDREN:
        if other != child:
            assert after[other] == before[other], "%s was restarted too" \
                % other
            assert ch[other]["state"] == "up"
    # the maestro said so
    sup_brain.wait_log(r"^octoBrain\[%d\] maestro: .*%s"
                       % (before["maestro"], child), start=offset)


def test_repeated_crashes_keep_being_restarted(sup_brain):
    """The backoff grows but stays within restart_delay_max: a child that
    keeps dying keeps coming back (no giving up)."""
    c = sup_brain.login()
    child = "registerer"
    for _ in range(3):
        old = sup_brain.children_health(c)[child]
        os.kill(old["pid"], signal.SIGKILL)

        def back():
            ch = sup_brain.children_health(c)[child]
            return ch if ch["state"] == "up" and ch["pid"] != old["pid"] \
                else False
        new = wait_for(back, 15, 0.05, "%s back after a crash" % child)
        assert new["restarts"] == old["restarts"] + 1, (old, new)
    assert_serving(sup_brain, restarts=None)


def test_sighup_reloads_and_keeps_serving(sup_brain):
    maestro = sup_brain.maestro_pid()
    offset = len(sup_brain.stderr())
    sup_brain.signal(signal.SIGHUP)
    sup_brain.wait_log(r"(?i)^octoBrain\[%d\] maestro: .*reload" % maestro,
                       start=offset)
    assert sup_brain.alive()
    c = wait_for(lambda: sup_brain.login(), 10, 0.1, "login after SIGHUP")
    sup_brain.wait_all_up(c)
    assert sup_brain.maestro_pid() == maestro
    assert sup_brain.pids()["maestro"] == maestro


# ------------------------------------------------- instances and daemon mode

@pytest.mark.parametrize("daemon", [False, True],
                         ids=["no-daemon", "daemon"])
def test_second_instance_refused(ro_brain, tmp_path, daemon):
    other = Brain(tmp_path, {"pidfile": str(ro_brain.pidfile)})
    ro_pid = ro_brain.maestro_pid()
    try:
        if daemon:
            r = other.start(daemon=True)
            status = r.returncode
            # the shared pidfile names ro_brain: never kill that one
            other.known_pids.discard(ro_pid)
            other.pgids.discard(ro_pid)
        else:
            p = other.start(wait=False)
            try:
                status = p.wait(15)
            except subprocess.TimeoutExpired:
                raise AssertionError("second instance still running") \
                    from None
        assert status != 0
        assert "already running" in other.stderr(), other.stderr()
    finally:
        if daemon:
            other.kill_leftovers()
        else:
            other.stop()
    # the first one is untouched, pidfile included
    assert int(ro_brain.pidfile.read_text().split()[0]) == ro_pid
    assert_serving(ro_brain)


def test_daemon_mode(brain_factory, client_cert):
    b = brain_factory(start=False)
    r = b.start(daemon=True)
    assert r.returncode == 0, b.stderr()
    # exit 0 only once everything listens: no waiting here
    pid = int(b.pidfile.read_text().split()[0])
    assert proc_alive(pid)
    assert tls_answers(b.web_port)
    for port in (b.registerer_port, b.commander_port):
        with tls_connect(port, *client_cert):
            pass
    pids = wait_for(b.pids, 10, what="the four processes")
    assert pids["maestro"] == pid
    assert os.getsid(pid) == pid, "daemon is not a session leader"
    # first start: the password is in the file
    assert b.password_file.exists()
    password = b.password_file.read_text().rstrip("\n")
    c = b.client()
    assert c.login("admin", password).status == 200
    b.signal(signal.SIGTERM)
    wait_for(lambda: not any(proc_alive(p) for p in pids.values()), 10,
             what="every daemon process to exit after SIGTERM")
    wait_for(lambda: not b.pidfile.exists(), 5, what="pidfile removed")


@pytest.mark.parametrize("daemon", [False, True],
                         ids=["no-daemon", "daemon"])
@pytest.mark.parametrize("busy", ["web_port", "registerer_port",
                                  "commander_port"])
def test_port_in_use(brain_factory, daemon, busy):
    b = brain_factory(start=False)
    port = int(b.conf[busy])
    with socket.socket() as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.bind(("127.0.0.1", port))
        holder.listen(1)
        if daemon:
            status = b.start(daemon=True).returncode
        else:
            p = b.start(wait=False)
            try:
                status = p.wait(15)
            except subprocess.TimeoutExpired:
                raise AssertionError("started although port %d is busy"
                                     % port) from None
        assert status == 1, b.stderr()
        err = b.stderr()
        assert str(port) in err or "in use" in err.lower(), err
    wait_for(lambda: not b.leftovers(), 10,
             what="no octoBrain left after the failed start")


# ------------------------------------------------------------ hostile input

GARBAGE = b"\x00\xffGARBAGE\r\n" + bytes(range(256)) + b"\r\n\r\n"
HTTP_REQUEST = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"


@pytest.mark.parametrize("payload", [GARBAGE, HTTP_REQUEST],
                         ids=["garbage", "plain-http"])
@pytest.mark.parametrize("port", ["web", "registerer", "commander"])
def test_plain_tcp_is_closed(ro_brain, port, payload):
    with socket.create_connection(("127.0.0.1", ro_brain.ports[port]),
                                  timeout=5) as s:
        send_quietly(s, payload)
        read_until_closed(s, timeout=10)
    assert_serving(ro_brain)


@pytest.mark.parametrize("payload", [GARBAGE, HTTP_REQUEST,
                                     b"OC\x02\x02\xff\xff\xff\xff",
                                     b"OC\x09\x02\x00\x00\x00\x00"],
                         ids=["garbage", "http", "oversized-length",
                              "bad-version"])
@pytest.mark.parametrize("port", ["registerer", "commander"])
def test_garbage_inside_tls_is_closed(ro_brain, client_cert, port, payload):
    with tls_connect(ro_brain.ports[port], *client_cert) as s:
        send_quietly(s, payload)
        read_until_closed(s, timeout=10)
    assert_serving(ro_brain)


@pytest.mark.parametrize("port", ["registerer", "commander"])
def test_any_frame_gets_error_then_close(ro_brain, client_cert, port):
    hello = b"OC\x02\x02\x00\x00\x00\x00"       # WIRE_HELLO, empty payload
    with tls_connect(ro_brain.ports[port], *client_cert) as s:
        send_quietly(s, hello)
        data, how = read_until_closed(s, timeout=10)
    assert data[:4] == b"OC\x02\x01", "expected a WIRE_ERROR frame, got %r" \
        % data[:64]
    assert len(data) >= 8 + int.from_bytes(data[4:8], "big"), data
    assert_serving(ro_brain)


@pytest.mark.parametrize("port", ["registerer", "commander"])
def test_peer_ports_require_client_certificate(ro_brain, port):
    try:
        s = tls_connect(ro_brain.ports[port])
    except (ssl.SSLError, OSError):
        pass                # refused during the handshake: fine
    else:
        with s:
            # TLS 1.3: the client finishes first; the server's alert
            # (certificate required) or close comes with the first read.
            send_quietly(s, b"OC\x02\x02\x00\x00\x00\x00")
            data, how = read_until_closed(s, timeout=10)
            assert data == b"", data
    assert_serving(ro_brain)


def test_silent_clients_are_dropped(ro_brain):
    """Connect and say nothing: each port drops us after io_timeout."""
    socks = [socket.create_connection(("127.0.0.1", p), timeout=5)
             for p in ro_brain.ports.values()]
    try:
        timeout = int(ro_brain.conf["io_timeout"]) + 10
        for s in socks:
            read_until_closed(s, timeout=timeout)
    finally:
        for s in socks:
            s.close()
    assert_serving(ro_brain)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl")
@pytest.mark.parametrize("port", ["web", "registerer", "commander"])
def test_openssl_sees_tls13(ro_brain, client_cert, port):
    args = ["-brief"]
    if port != "web":
        args += ["-cert", client_cert[0], "-key", client_cert[1]]
    r = openssl_s_client(ro_brain.ports[port], *args)
    out = r.stdout + r.stderr
    assert "TLSv1.3" in out, out


@pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl")
@pytest.mark.parametrize("port", ["web", "registerer", "commander"])
def test_tls12(ro_brain, client_cert, port):
    """The dashboard also speaks TLS 1.2; the peer ports only TLS 1.3."""
    args = ["-brief", "-tls1_2"]
    if port != "web":
        args += ["-cert", client_cert[0], "-key", client_cert[1]]
    r = openssl_s_client(ro_brain.ports[port], *args)
    out = r.stdout + r.stderr
    if port == "web":
        assert "TLSv1.2" in out, out
    else:
        assert r.returncode != 0 and "Protocol version: TLSv1.2" not in out, \
            out
    assert_serving(ro_brain)


# ------------------------------------------------------------------- the API

def test_login(ro_brain):
    c = ro_brain.client()
    r = c.login("admin", ro_brain.password)
    assert r.status == 200, r
    assert r.content_type == "application/json"
    j = r.json()
    assert j["user"] == {"name": "admin", "role": "admin"} or (
        j["user"]["name"] == "admin" and j["user"]["role"] == "admin"), j
    assert HEX.match(j["csrf"]), j
    assert "no-store" in r.header("Cache-Control", ""), r.headers
    cookie = c.last_set_cookie
    assert cookie, "no Set-Cookie"
    parts = [p.strip() for p in cookie.split(";")]
    name, _, value = parts[0].partition("=")
    assert name == "octopus_session", cookie
    assert HEX64.match(value), cookie
    attrs = {p.split("=")[0].lower(): (p.split("=", 1) + [""])[1]
             for p in parts[1:]}
    assert attrs.get("path") == "/", cookie
    assert "httponly" in attrs, cookie
    assert "secure" in attrs, cookie
    assert attrs.get("samesite", "").lower() == "strict", cookie
    assert "domain" not in attrs, cookie

    s = c.get("/api/session")
    assert s.status == 200, s
    sj = s.json()
    assert sj["user"]["name"] == "admin" and sj["user"]["role"] == "admin"
    assert HEX.match(sj["csrf"]), sj
    assert sj["session_timeout"] == 300, sj


@pytest.mark.parametrize("user,password", [("admin", "wrong-password"),
                                           ("nosuchuser", "whatever")])
def test_login_refused(ro_brain, user, password):
    c = ro_brain.client()
    r = c.login(user, password)
    assert_json_error(r, 401)
    assert c.session is None, "a cookie was set: %s" % c.last_set_cookie


@pytest.mark.parametrize("raw", [b"{not json", b"", b"[]", b'"admin"',
                                 b'{"username": "admin"}',
                                 b'{"password": "x"}', b"{}"],
                         ids=["garbage", "empty", "array", "string",
                              "no-password", "no-username", "no-fields"])
def test_login_bad_request(ro_brain, raw):
    c = ro_brain.client()
    r = c.request("POST", "/api/login", raw=raw)
    assert_json_error(r, 400)
    assert c.session is None


@pytest.mark.parametrize("method,path", [
    ("GET", "/api/health"), ("GET", "/api/session"),
    ("GET", "/api/no-such-route"), ("GET", "/api/tentacles"),
    ("POST", "/api/logout"), ("DELETE", "/api/tentacles/1")])
@pytest.mark.parametrize("cookie", ["none", "forged"])
def test_api_needs_session(ro_brain, method, path, cookie):
    c = ro_brain.client()
    if cookie == "forged":
        c.session = secrets.token_hex(32)
    r = c.request(method, path)
    assert_json_error(r, 401)
    assert "no-store" in r.header("Cache-Control", "")


def test_unknown_route_with_session(ro_client):
    assert_json_error(ro_client.get("/api/no-such-route"), 404)


@pytest.mark.parametrize("method,path", [("GET", "/api/logout"),
                                         ("POST", "/api/health"),
                                         ("DELETE", "/api/session")])
def test_wrong_method(ro_client, method, path):
    r = ro_client.request(method, path, csrf=True,
                          body={} if method == "POST" else None)
    assert_json_error(r, 405)


def test_logout_needs_csrf(ro_brain):
    c = ro_brain.login()
    other = ro_brain.login()
    assert_json_error(c.post("/api/logout", csrf=False), 403)
    assert c.get("/api/health").status == 200
    assert_json_error(c.post("/api/logout", csrf="0" * 64), 403)
    assert_json_error(c.post("/api/logout", csrf=other.csrf), 403)
    assert c.get("/api/health").status == 200

    r = c.post("/api/logout")
    assert r.status == 200, r
    assert_json_error(c.get("/api/health"), 401)
    assert_json_error(c.get("/api/session"), 401)
    # the other session lives on
    assert other.get("/api/session").status == 200


def test_login_rate_limited(brain_factory):
    b = brain_factory({"login_attempts": 3, "login_window": 2})
    c = b.client()
    for _ in range(3):
        assert_json_error(c.login("admin", "wrong"), 401)
    r = c.login("admin", b.password)   # the right password, too late
    assert_json_error(r, 429)
    retry = r.header("Retry-After")
    assert retry is not None and retry.strip().isdigit(), r.headers
    assert c.session is None
    # other routes are not rate-limited
    assert c.get("/api/health").status == 401
    # the limit is per address: 127.0.0.2 is another client
    other = b.client(source="127.0.0.2")
    r2 = other.login("admin", b.password)
    assert r2.status == 200, r2
    # once the window has passed, the right password works again
    time.sleep(min(max(int(retry), 2), 10) + 0.5)
    assert c.login("admin", b.password).status == 200


def test_session_expiry_and_background_requests(brain_factory):
    b = brain_factory({"session_timeout": 3})
    bg = b.login()          # only background polling: must expire
    fg = b.login()          # a user at work: must not
    assert fg.get("/api/session").json()["session_timeout"] == 3
    t0 = time.monotonic()
    next_fg = t0 + 1.0
    expired_at = None
    while True:
        now = time.monotonic() - t0
        if expired_at is not None and now > 6.0:
            break
        if now > 20.0:
            raise Timeout("a session polled only with X-Octopus-Background "
                          "did not expire (session_timeout 3)")
        r = bg.get("/api/health", background=True)
        if expired_at is None:
            if r.status == 401:
                expired_at = now
            else:
                assert r.status == 200, r
        else:
            assert r.status == 401, "expired session came back: %r" % r
        if time.monotonic() >= next_fg:
            rf = fg.get("/api/health")
            assert rf.status == 200, \
                "session used every second expired at %.1fs" % now
            next_fg += 1.0
        time.sleep(0.5)
    assert fg.get("/api/session").status == 200
    assert_json_error(bg.get("/api/session"), 401)


# ------------------------------------------------------------ least privilege

@pytest.mark.skipif(os.geteuid() != 0,
                    reason="dropping privileges needs root")
def test_privilege_drop_to_nobody(request, brain_bin):
    import pwd
    nobody = pwd.getpwnam("nobody")
    # What runs as nobody (the program, the dashboard) is copied out of
    # the checkout, which may sit where only root can enter.
    d = octotest.reachable_dir("octo-priv-")
    request.addfinalizer(lambda: shutil.rmtree(d, ignore_errors=True))
    binary = octotest.reachable_copy(brain_bin, d / "bin")
    web = octotest.reachable_copy(octotest.WEB_ROOT, d)
    state = d / "state"
    state.mkdir()
    os.chown(state, nobody.pw_uid, nobody.pw_gid)
    # The pidfile's directory does not exist: the brain makes it and hands
    # it to the user it drops to, so that it can remove the pidfile at exit.
    pidfile = d / "run" / "octoBrain.pid"
    # The children's own users are test_confine.py's: here all is nobody.
    b = Brain(d, {"user": "nobody", "pidfile": str(pidfile),
                  "web_root": str(web), "webserv_user": "",
                  "registerer_user": "", "commander_user": ""},
              binary=binary)
    request.addfinalizer(b.stop)
    b.start()
    assert pidfile.exists()
    pids = b.pids()
    for role, pid in pids.items():
        uids = octotest.proc_uids(pid)
        assert uids == (nobody.pw_uid,) * 4, "%s runs as uids %s" % (role,
                                                                     uids)
        gids = octotest.proc_gids(pid)
        assert gids == (nobody.pw_gid,) * 4, "%s runs as gids %s" % (role,
                                                                     gids)
    # still fully working after the drop: database, static files, API
    c = assert_serving(b)
    assert c.get("/").status == 200
    assert b.password not in b.stderr()
    b.stop()
    assert not pidfile.exists(), "pidfile left behind after the drop"

