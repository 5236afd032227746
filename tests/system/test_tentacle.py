"""System tests for octoTentacle: the real binary, on free high ports of
127.0.0.1, with every file in the test's own temporary directory.

Run:  OCTO_BUILD=/path/to/build /usr/bin/python3 -m pytest -q tests/system
"""
import os
import re
import signal
import socket
import ssl
import stat
import struct
import subprocess
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("OCTO_BUILD", str(REPO / "build")))
BIN = BUILD / "octoTentacle"
MKCERTS = REPO / "scripts" / "mkcerts"

# Generous: sanitizer builds are slow. Waits poll and return as soon as
# the condition holds; nothing asserts a duration.
DEADLINE = 30.0


def wait_for(pred, what, timeout=DEADLINE):
    end = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.05)


def free_ports(n):
    """n distinct free TCP ports of 127.0.0.1."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def processes():
    """{pid: (ppid, args)} of every process."""
    out = subprocess.run(["ps", "-eo", "pid=,ppid=,args="],
                         capture_output=True, text=True, check=True).stdout
    procs = {}
    for line in out.splitlines():
        parts = line.split(None, 2)
        if len(parts) >= 2:
            procs[int(parts[0])] = (int(parts[1]),
                                    parts[2] if len(parts) > 2 else "")
    return procs


def children_of(pid):
    return {p: args for p, (ppid, args) in processes().items()
            if ppid == pid}


def alive(pid):
    """True if pid runs (a zombie nobody reaped counts as gone)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state not in ("Z", "X")


def tls_client_context(cert, key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE     # trust is pinning, not a CA
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_cert_chain(str(cert), str(key))
    return ctx


def read_until_closed(sock, timeout=DEADLINE):
    """Read until the peer closes; returns what was read."""
    sock.settimeout(timeout)
    data = b""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, ssl.SSLEOFError, ssl.SSLZeroReturnError):
            return data
        except ssl.SSLError:
            return data
        if not chunk:
            return data
        data += chunk
    raise AssertionError("connection still open")


class Tentacle:
    """One octoTentacle instance in tmp_path; kills what it started."""

    def __init__(self, tmp_path):
        self.dir = tmp_path
        self.conf = tmp_path / "tentacle.conf"
        self.log = tmp_path / "tentacle.log"
        self.state_dir = tmp_path / "state"
        self.pidfile = tmp_path / "run" / "octoTentacle.pid"
        self.scripts_dir = tmp_path / "scripts"
        self.register_port, self.command_port = free_ports(2)
        self.procs = []         # Popen objects
        self.groups = set()     # process groups to kill at the end
        self.logs = []
        self.write_conf()

    def write_conf(self, extra="", io_timeout=5):
        self.conf.write_text(
            "# written by test_tentacle.py\n"
            'name = "test-tentacle"\n'
            "listen_address = 127.0.0.1\n"
            "register_port = %d\n"
            "command_port = %d\n"
            "brain_registerer_port = 1\n"
            "brain_commander_port = 2\n"
            "state_dir = %s\n"
            "pidfile = %s\n"
            "scripts_dir = %s\n"
            "%s"
            "%s" % (self.register_port, self.command_port, self.state_dir,
                    self.pidfile, self.scripts_dir,
                    "" if io_timeout is None else
                    "io_timeout = %d\n" % io_timeout, extra))

    def run(self, *args, timeout=DEADLINE, **kw):
        """Run to completion (options that exit, or daemon mode)."""
        return subprocess.run([str(BIN)] + list(args), capture_output=True,
                              text=True, timeout=timeout, **kw)

    def start(self, *args, conf=True):
        """Start in the foreground, stderr to a log file."""
        argv = [str(BIN), "--no-daemon"]
        if conf:
            argv += ["-c", str(self.conf)]
        argv += list(args)
        log = open(self.log, "ab")
        self.logs.append(log)
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                             stdout=log, stderr=log, start_new_session=True)
        self.procs.append(p)
        self.groups.add(p.pid)
        return p

    def start_daemon(self, *args):
        r = self.run("-c", str(self.conf), *args)
        if r.returncode == 0 and self.pidfile.exists():
            self.groups.add(self.daemon_pid())
        return r

    def daemon_pid(self):
        return int(self.pidfile.read_text().split()[0])

    def log_text(self):
        try:
            return self.log.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def wait_log(self, pattern, what=None):
        rx = re.compile(pattern)
        return wait_for(lambda: rx.search(self.log_text()),
                        what or "log line /%s/" % pattern)

    def child(self, supervisor_pid, old=None):
        """Wait for the supervisor's child (a new one if old is given)."""
        def find():
            kids = [p for p in children_of(supervisor_pid) if p != old]
            return kids[0] if kids else None
        return wait_for(find, "a child of %d" % supervisor_pid)

    def cleanup(self):
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=DEADLINE)
                except subprocess.TimeoutExpired:
                    pass
        if self.pidfile.exists():
            try:
                self.groups.add(self.daemon_pid())
            except (ValueError, OSError):
                pass
        for g in self.groups:
            try:
                os.killpg(g, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        for log in self.logs:
            log.close()


@pytest.fixture
def tentacle(tmp_path):
    if not BIN.exists():
        pytest.fail("%s not built (set OCTO_BUILD)" % BIN)
    t = Tentacle(tmp_path)
    yield t
    t.cleanup()
    # A sanitizer build reports there; any report is a failure.
    text = t.log_text()
    assert "AddressSanitizer" not in text, text
    assert "runtime error:" not in text, text
    assert "LeakSanitizer" not in text, text


@pytest.fixture
def client_cert(tmp_path):
    """A client key and certificate made by scripts/mkcerts, and the
    fingerprint it printed."""
    d = tmp_path / "certs"
    r = subprocess.run([str(MKCERTS), "-d", str(d), "client"],
                       capture_output=True, text=True, timeout=DEADLINE)
    assert r.returncode == 0, r.stderr
    m = re.match(r"client: ([0-9a-f]{64})$", r.stdout.strip())
    assert m, r.stdout
    return d / "client.crt", d / "client.key", m.group(1)


def tls_handshake(port, cert, key):
    """Complete a TLS 1.3 handshake with a client certificate; returns the
    open TLS socket."""
    ctx = tls_client_context(cert, key)
    raw = socket.create_connection(("127.0.0.1", port), timeout=DEADLINE)
    s = ctx.wrap_socket(raw)
    assert s.version() == "TLSv1.3"
    return s


def wait_tls(port, cert, key):
    """Poll until a TLS 1.3 handshake succeeds on port."""
    def attempt():
        try:
            tls_handshake(port, cert, key).close()
            return True
        except (OSError, ssl.SSLError):
            return False
    wait_for(attempt, "TLS on port %d" % port)


def s_client(port, cert, key):
    return subprocess.run(
        ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port,
         "-tls1_3", "-cert", str(cert), "-key", str(key)],
        stdin=subprocess.DEVNULL, capture_output=True, text=True,
        timeout=DEADLINE)


# --- options and configuration --------------------------------------------

def test_help_and_version(tentacle):
    r = tentacle.run("--help")
    assert r.returncode == 0
    for opt in ("-c", "--no-daemon", "-v", "-n", "--version", "--help",
                "-b", "-t", "--token-file", "--listen", "--name",
                "--reenrol", "--ping"):
        assert opt in r.stdout, opt
    r = tentacle.run("--version")
    assert r.returncode == 0
    assert re.fullmatch(r"octoTentacle \d+\.\d+\.\d+\n", r.stdout)


def test_check_config(tentacle):
    r = tentacle.run("-n", "-c", str(tentacle.conf))
    assert r.returncode == 0, r.stderr
    assert "configuration OK" in r.stdout
    r = tentacle.run("-n", "-v", "-c", str(tentacle.conf),
                     "--listen", "127.0.0.2")
    assert r.returncode == 0, r.stderr
    assert "register_port = %d" % tentacle.register_port in r.stdout
    assert "listen_address = 127.0.0.2" in r.stdout    # option wins
    assert "cert = %s/tentacle.crt" % tentacle.state_dir in r.stdout
    assert "configuration OK" in r.stdout


@pytest.mark.parametrize("line", [
    "no_such_key = 1",
    "register_port = 70000",
    "command_port = http",
    "listen_address = localhost",
    "io_timeout = 0",
    "state_dir",
    "register_port = 7000",     # a duplicate
])
def test_bad_config_line(tentacle, line):
    tentacle.write_conf(line + "\n", io_timeout=None)
    lineno = len(tentacle.conf.read_text().splitlines())
    for argv in (["-n"], ["--no-daemon"]):
        r = tentacle.run(*argv, "-c", str(tentacle.conf))
        assert r.returncode == 2, (line, r.stderr)
        assert "tentacle.conf:%d:" % lineno in r.stderr, r.stderr
    assert not tentacle.state_dir.exists()  # nothing happened


@pytest.mark.parametrize("argv, message", [
    (["--no-such-option"], "unknown option"),
    (["-b", "brain.example"], "numeric"),
    (["-b", "10.0.0.1", "-t", "a b"], "token"),
    (["-t", "abcdef"], "needs a brain"),
    (["--listen", "0.0.0.0.0"], "numeric"),
    (["--name", "bad/name"], "name"),
    (["extra-argument"], "unexpected argument"),
    (["--token-file", "/nonexistent/token"], "/nonexistent/token"),
])
def test_bad_options(tentacle, argv, message):
    r = tentacle.run("-n", "-c", str(tentacle.conf), *argv)
    assert r.returncode == 2, r.stderr
    assert message in r.stderr


def test_missing_config_file(tentacle):
    r = tentacle.run("-n", "-c", str(tentacle.dir / "nope.conf"))
    assert r.returncode == 2
    assert "nope.conf" in r.stderr


def test_token_from_stdin_and_file(tentacle):
    # A brain's token: 32 hex of secret, then its fingerprint (64 hex).
    token = "0123456789abcdef" * 6
    r = tentacle.run("-n", "-c", str(tentacle.conf), "-b", "127.0.0.1",
                     "-t", "-", input=token + "\n")
    assert r.returncode == 0, r.stderr
    tf = tentacle.dir / "token"
    tf.write_text(token + "\n")
    r = tentacle.run("-n", "-v", "-c", str(tentacle.conf), "-b", "127.0.0.1",
                     "--token-file", str(tf))
    assert r.returncode == 0, r.stderr
    assert token not in r.stdout + r.stderr     # a secret is never shown
    # Not the shape a brain makes: refused before anything happens.
    for bad in ("0123456789abcdef" * 4, "0123456789ABCDEF" * 6,
                "0123456789abcdef" * 6 + "00"):
        r = tentacle.run("-n", "-c", str(tentacle.conf), "-b", "127.0.0.1",
                         "-t", "-", input=bad + "\n")
        assert r.returncode == 2, r.stderr
        assert "96 lowercase hex digits" in r.stderr
        assert bad not in r.stderr


# --- the running daemon ---------------------------------------------------

def test_foreground_start_generates_cert(tentacle):
    p = tentacle.start()
    tentacle.wait_log(r"octoTentacle\[%d\] supervisor: " % p.pid)
    tentacle.wait_log(r"register: listening on 127\.0\.0\.1:%d"
                      % tentacle.register_port)
    log = tentacle.log_text()
    assert "generated key" in log
    key = tentacle.state_dir / "private" / "tentacle.key"
    crt = tentacle.state_dir / "tentacle.crt"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE(key.parent.stat().st_mode) == 0o700
    assert crt.exists()
    assert stat.S_IMODE(tentacle.state_dir.stat().st_mode) == 0o700
    r = subprocess.run(["openssl", "x509", "-in", str(crt), "-noout",
                        "-subject"], capture_output=True, text=True)
    assert "test-tentacle" in r.stdout      # CN = the configured name
    # A second start keeps the same key.
    before = key.read_bytes()
    p.send_signal(signal.SIGTERM)
    assert p.wait(timeout=DEADLINE) == 0
    p = tentacle.start()
    tentacle.wait_log(r"(?s)stopped.*listening on")
    assert key.read_bytes() == before


def test_register_port_speaks_tls13(tentacle, client_cert):
    cert, key, fpr = client_cert
    tentacle.start()
    tentacle.wait_log("register: listening on")
    r = s_client(tentacle.register_port, cert, key)
    assert "TLSv1.3" in r.stdout, r.stdout + r.stderr
    tentacle.wait_log(r"register: 127\.0\.0\.1:\d+: connected "
                      r"\(fingerprint %s\)" % fpr)
    tentacle.wait_log(r"register: 127\.0\.0\.1:\d+: closed: ")
    # Nothing on the command port while not enrolled.
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", tentacle.command_port),
                                 timeout=DEADLINE)


def test_frames_get_an_honest_refusal(tentacle, client_cert):
    cert, key, _ = client_cert
    tentacle.start()
    tentacle.wait_log("register: listening on")
    s = tls_handshake(tentacle.register_port, cert, key)
    s.sendall(b"OC\x02\x02" + struct.pack(">I", 0))     # an empty HELLO
    data = read_until_closed(s)
    s.close()
    assert data[:4] == b"OC\x02\x01", data              # WIRE_ERROR
    tentacle.wait_log(r"register: 127\.0\.0\.1:\d+: enrolment offer "
                      r"refused: \w")
    tentacle.wait_log(r"register: 127\.0\.0\.1:\d+: closed: ")


def write_enrolment(state_dir, brain_fpr="ab" * 32, status="accepted",
                    ident=7):
    """A valid enrolment state file (as the supervisor writes it, in
    state_dir/private)."""
    state_dir.mkdir(mode=0o700, exist_ok=True)
    (state_dir / "private").mkdir(mode=0o700, exist_ok=True)
    path = state_dir / "private" / "enrolment"
    path.write_text(
        "id = %d\nkey = %s\nbrain_fingerprint = %s\n"
        "brain_address = 127.0.0.1\nbrain_registerer_port = 1\n"
        "brain_commander_port = 2\nstatus = %s\nenrolled_at = 1700000000\n"
        % (ident, "11" * 32, brain_fpr, status))
    path.chmod(0o600)
    return path


def test_enrolled_listens_on_command_port(tentacle, client_cert):
    cert, key, fpr = client_cert
    write_enrolment(tentacle.state_dir)
    p = tentacle.start()
    tentacle.wait_log(r"command worker: listening on 127\.0\.0\.1:%d"
                      % tentacle.command_port)
    r = s_client(tentacle.command_port, cert, key)
    assert "TLSv1.3" in r.stdout, r.stdout + r.stderr
    tentacle.wait_log(r"command worker: 127\.0\.0\.1:\d+: connected "
                      r"\(fingerprint %s\)" % fpr)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", tentacle.register_port),
                                 timeout=DEADLINE)
    kid = tentacle.child(p.pid)
    assert "octoTentacle: command worker" in processes()[kid][1]
    # Not our brain's certificate: refused before any frame.
    s = tls_handshake(tentacle.command_port, cert, key)
    assert b"certificate FPR is not our brain's" in read_until_closed(s)
    s.close()
    tentacle.wait_log(r"command worker: 127\.0\.0\.1:\d+: refused: "
                      r"certificate FPR is not our brain's")


@pytest.mark.parametrize("junk", [
    b"\x00\xffgarbage\x16\x03\x01" * 40,
    b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    b"",
])
def test_junk_is_dropped(tentacle, client_cert, junk):
    cert, key, _ = client_cert
    tentacle.start()
    tentacle.wait_log("register: listening on")
    s = socket.create_connection(("127.0.0.1", tentacle.register_port),
                                 timeout=DEADLINE)
    if junk:
        s.sendall(junk)
    else:
        s.shutdown(socket.SHUT_WR)      # a client that says nothing
    read_until_closed(s)
    s.close()
    tentacle.wait_log(r"register: 127\.0\.0\.1:\d+: closed: ")
    wait_tls(tentacle.register_port, cert, key)


def test_client_without_certificate_is_refused(tentacle):
    tentacle.start()
    tentacle.wait_log("register: listening on")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    raw = socket.create_connection(("127.0.0.1", tentacle.register_port),
                                   timeout=DEADLINE)
    try:
        s = ctx.wrap_socket(raw)
        # TLS 1.3: the server's verdict on our (missing) certificate
        # arrives after the client considers the handshake done.
        read_until_closed(s)
        s.close()
    except (ssl.SSLError, OSError):
        raw.close()
    tentacle.wait_log(r"register: 127\.0\.0\.1:\d+: closed: ")
    assert "connected (fingerprint" not in tentacle.log_text()


def test_connection_limit(tentacle, client_cert):
    cert, key, _ = client_cert
    # Silent clients stay until io_timeout: make it long for this test.
    tentacle.write_conf(io_timeout=300)
    tentacle.start()
    tentacle.wait_log("register: listening on")
    held = []
    try:
        # 16 a source address (CONN_PREAUTH_PER_SOURCE).
        for i in range(64):
            held.append(socket.create_connection(
                ("127.0.0.1", tentacle.register_port), timeout=DEADLINE,
                source_address=("127.0.0.%d" % (10 + i // 16), 0)))
        extra = socket.create_connection(
            ("127.0.0.1", tentacle.register_port), timeout=DEADLINE,
            source_address=("127.0.0.20", 0))
        read_until_closed(extra)        # closed at once, not at io_timeout
        extra.close()
        tentacle.wait_log(r"register: 127\.0\.0\.20:\d+: refused: 64 "
                          r"connections already open")
    finally:
        for s in held:
            s.close()
    wait_tls(tentacle.register_port, cert, key)


def test_process_titles(tentacle):
    p = tentacle.start()
    tentacle.wait_log("register: listening on")
    kid = tentacle.child(p.pid)
    procs = processes()
    assert "octoTentacle: supervisor" in procs[p.pid][1]
    assert "octoTentacle: register" in procs[kid][1]


def test_killed_child_is_restarted(tentacle, client_cert):
    cert, key, _ = client_cert
    p = tentacle.start()
    tentacle.wait_log("register: listening on")
    old = tentacle.child(p.pid)
    os.kill(old, signal.SIGKILL)
    tentacle.wait_log(r"register \(pid %d\) killed by signal 9" % old)
    new = tentacle.child(p.pid, old=old)
    assert new != old
    wait_for(lambda: "octoTentacle: register" in
             processes().get(new, (0, ""))[1], "the new child's title")
    wait_tls(tentacle.register_port, cert, key)
    assert p.poll() is None


def test_restart_follows_the_enrolment_state(tentacle, client_cert):
    """A child restarted after the enrolment file appeared is the command
    worker, on the command port; the register port is closed."""
    cert, key, _ = client_cert
    p = tentacle.start()
    tentacle.wait_log("register: listening on")
    old = tentacle.child(p.pid)
    write_enrolment(tentacle.state_dir)
    os.kill(old, signal.SIGKILL)
    new = tentacle.child(p.pid, old=old)
    tentacle.wait_log(r"command worker: listening on 127\.0\.0\.1:%d"
                      % tentacle.command_port)
    wait_tls(tentacle.command_port, cert, key)
    assert _refused(tentacle.register_port)
    wait_for(lambda: "octoTentacle: command worker" in
             processes().get(new, (0, ""))[1], "the new child's title")


def test_sigterm_stops_everything(tentacle):
    p = tentacle.start()
    tentacle.wait_log("register: listening on")
    kid = tentacle.child(p.pid)
    p.send_signal(signal.SIGTERM)
    assert p.wait(timeout=DEADLINE) == 0
    wait_for(lambda: not alive(kid), "the child to exit")
    assert not tentacle.pidfile.exists()


def test_sighup_reloads(tentacle, client_cert):
    cert, key, _ = client_cert
    p = tentacle.start()
    tentacle.wait_log("register: listening on")
    old = tentacle.child(p.pid)
    # A broken file: the running configuration stays.
    good = tentacle.conf.read_text()
    tentacle.conf.write_text(good + "bogus = 1\n")
    p.send_signal(signal.SIGHUP)
    tentacle.wait_log(r"tentacle\.conf:\d+: unknown key 'bogus'; keeping "
                      r"the current configuration")
    assert old in children_of(p.pid)
    # A good one: the child restarts with it, on the new port.
    new_port = free_ports(1)[0]
    tentacle.conf.write_text(good.replace(
        "register_port = %d" % tentacle.register_port,
        "register_port = %d" % new_port))
    p.send_signal(signal.SIGHUP)
    tentacle.wait_log("configuration reloaded")
    tentacle.child(p.pid, old=old)
    wait_tls(new_port, cert, key)
    wait_for(lambda: _refused(tentacle.register_port), "old port closed")
    assert p.poll() is None


def _refused(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return False
    except ConnectionRefusedError:
        return True


def test_port_in_use(tentacle):
    busy = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    busy.bind(("127.0.0.1", tentacle.register_port))
    busy.listen(1)
    try:
        r = tentacle.run("--no-daemon", "-c", str(tentacle.conf))
    finally:
        busy.close()
    assert r.returncode == 1
    assert ("127.0.0.1:%d: Address already in use" % tentacle.register_port
            in r.stderr)
    assert not tentacle.pidfile.exists()


def test_self_enrolment_retries_while_the_brain_is_away(tentacle):
    # brain_registerer_port = 1: nothing listens there.
    tentacle.write_conf("poll_interval = 1\n")
    p = tentacle.start("-b", "127.0.0.1")
    tentacle.wait_log("register: listening on")
    tentacle.wait_log(r"register: brain 127\.0\.0\.1:1: self-enrolment "
                      r"failed: cannot connect: Connection refused; "
                      r"retrying in 1 s")
    tentacle.wait_log(r"(?s)retrying in 1 s.*retrying in 1 s")
    assert p.poll() is None
    assert not (tentacle.state_dir / "enrolment").exists()


def test_enrolment_that_is_a_fifo_does_not_hang(tentacle):
    # Issue 13, item 14: a FIFO planted as state_dir/enrolment (the
    # directory is the dropped worker's) made the next start block in
    # open(2) for ever; now it is refused as not a regular file.
    tentacle.state_dir.mkdir(mode=0o700)
    os.mkfifo(tentacle.state_dir / "enrolment", 0o600)
    try:
        r = tentacle.run("--no-daemon", "-c", str(tentacle.conf),
                         timeout=20)
    except subprocess.TimeoutExpired:
        pytest.fail("the tentacle hangs on a FIFO as its enrolment")
    assert r.returncode == 1, r.stderr
    assert "%s: not a regular file" % (
        tentacle.state_dir / "enrolment") in r.stderr, r.stderr


def test_corrupt_enrolment_file_stops(tentacle):
    tentacle.state_dir.mkdir(mode=0o700)
    (tentacle.state_dir / "enrolment").write_text("id = 1\n")
    r = tentacle.run("--no-daemon", "-c", str(tentacle.conf))
    assert r.returncode == 1
    assert "%s: corrupt enrolment file: 'key' is missing" % (
        tentacle.state_dir / "enrolment") in r.stderr, r.stderr
    assert "--reenrol" in r.stderr
    # --reenrol forgets it: the register starts.
    p = tentacle.start("--reenrol")
    tentacle.wait_log("--reenrol: removing the unreadable enrolment file")
    tentacle.wait_log("register: listening on")
    assert not (tentacle.state_dir / "enrolment").exists()
    assert not (tentacle.state_dir / "private" / "enrolment").exists()
    assert p.poll() is None


def test_daemon_mode(tentacle, client_cert):
    cert, key, _ = client_cert
    r = tentacle.start_daemon()
    assert r.returncode == 0, r.stderr
    pid = tentacle.daemon_pid()
    assert alive(pid)
    assert "octoTentacle: supervisor" in processes()[pid][1]
    kid = tentacle.child(pid)
    wait_tls(tentacle.register_port, cert, key)

    r2 = tentacle.run("-c", str(tentacle.conf))
    assert r2.returncode != 0
    assert "already running" in r2.stderr
    r3 = tentacle.run("--no-daemon", "-c", str(tentacle.conf))
    assert r3.returncode == 1
    assert "already running" in r3.stderr
    assert tentacle.daemon_pid() == pid

    os.kill(pid, signal.SIGTERM)
    wait_for(lambda: not alive(pid) and not alive(kid),
             "the daemon and its child to exit")
    wait_for(lambda: not tentacle.pidfile.exists(), "the pidfile removed")
