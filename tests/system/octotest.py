"""Helpers for the system tests: run a real octoBrain in a temporary
directory on free ports of 127.0.0.1 and talk to it.

Stdlib only (the tests run with Debian's python3 and python3-pytest).
Nothing here asserts a timing: every wait is a poll with a deadline that
is only there so that a broken daemon fails the test instead of hanging it.
"""

import hashlib
import http.client
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("OCTO_BUILD", str(REPO / "build")))
BRAIN_BIN = BUILD / "octoBrain"
WEB_ROOT = REPO / "web"
MKCERTS = REPO / "scripts" / "mkcerts"

ROLES = ("maestro", "webserv", "registerer", "commander")
CHILDREN = ("webserv", "registerer", "commander")

# Generous deadlines: ASan builds on a 2-core CI are slow. They only bound
# how long a broken daemon can hang a test; a healthy one returns at once.
START_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0
IO_TIMEOUT = 5.0

PASSWORD_RE = re.compile(r"^password: (\S+)\s*$", re.M)
LOG_LINE_RE = re.compile(
    r"^octoBrain\[(\d+)\] (maestro|webserv|registerer|commander): ")


# ------------------------------------------------- runs as another user

def reachable_dir(prefix="octo-"):
    """A new directory (0755) under the system's temporary directory, that
    any user can traverse: for what a test runs as another user (nobody,
    the tentacle's `user`), since the checkout may sit where only its
    owner can enter (a clone in /root, 0700). The caller removes it."""
    d = Path(tempfile.mkdtemp(prefix=prefix))
    os.chmod(d, 0o755)
    return d


def reachable_copy(src, directory):
    """A copy of the file or tree src in directory (made 0755 if new),
    every directory 0755 and every file readable by all (executables
    0755): what runs as another user never reads the checkout."""
    src, directory = Path(src), Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    dst = directory / src.name
    if src.is_dir():
        shutil.copytree(src, dst, symlinks=False)
    else:
        shutil.copy2(src, dst)
    for p in [dst] + (list(dst.rglob("*")) if dst.is_dir() else []):
        if p.is_dir() or os.access(p, os.X_OK):
            os.chmod(p, 0o755)
        else:
            os.chmod(p, 0o644)
    os.chmod(directory, os.stat(directory).st_mode | 0o755)
    return dst


# ---------------------------------------------------------------- polling

class _MissingRole(AssertionError):
    """A brain process role not (yet) in ps."""


class Timeout(AssertionError):
    pass


def wait_for(predicate, timeout=10.0, interval=0.05, what="condition"):
    """Call predicate() until it returns a true value, which is returned.
    Exceptions from predicate count as false (the last one is reported)."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while True:
        try:
            value = predicate()
            if value:
                return value
            last_exc = None
        except Exception as exc:  # noqa: BLE001 - reported below
            last_exc = exc
        if time.monotonic() >= deadline:
            msg = "timed out after %.1fs waiting for %s" % (timeout, what)
            if last_exc is not None:
                msg += " (last error: %r)" % (last_exc,)
            raise Timeout(msg)
        time.sleep(interval)


# ----------------------------------------------------------------- ports

_handed_out = set()


def _ephemeral_range():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            lo, hi = (int(x) for x in f.read().split())
            return lo, hi
    except (OSError, ValueError):
        return 32768, 60999


def free_port():
    """A TCP port of 127.0.0.1 free right now, never handed out twice by
    this process. Taken below the kernel's ephemeral range when there is
    room, so that no outgoing connection (ours or another test's) can grab
    it between now and the moment the daemon binds it."""
    lo, hi = _ephemeral_range()
    if lo > 12000:
        candidates = (random.randint(10000, lo - 1) for _ in range(500))
    else:
        candidates = (0 for _ in range(500))
    for want in candidates:
        if want in _handed_out:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", want))
            except OSError:
                continue
            port = s.getsockname()[1]
        if port not in _handed_out and port > 1024:
            _handed_out.add(port)
            return port
    raise RuntimeError("no free port")


# -------------------------------------------------------------- processes

def proc_alive(pid):
    """True if pid exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return False
    # state is the field after the ")" that closes comm
    state = stat[stat.rfind(")") + 2:].split()[0]
    return state not in ("Z", "X")


def proc_uids(pid):
    """(real, effective, saved, fs) uids from /proc/PID/status."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Uid:"):
                return tuple(int(x) for x in line.split()[1:5])
    raise RuntimeError("no Uid line for %d" % pid)


def proc_gids(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Gid:"):
                return tuple(int(x) for x in line.split()[1:5])
    raise RuntimeError("no Gid line for %d" % pid)


def ps_table():
    """[(pid, ppid, args)] from `ps -eo pid,ppid,args`."""
    out = subprocess.run(["ps", "-eo", "pid=,ppid=,args="],
                         capture_output=True, text=True, check=True,
                         timeout=10).stdout
    rows = []
    for line in out.splitlines():
        parts = line.split(None, 2)
        if len(parts) < 2:
            continue
        args = parts[2] if len(parts) > 2 else ""
        rows.append((int(parts[0]), int(parts[1]), args))
    return rows


def role_of(args):
    m = re.search(r"octoBrain: (maestro|webserv|registerer|commander)\b",
                  args)
    return m.group(1) if m else None


# ------------------------------------------------------------ TLS / sockets

def tls_client_context(certfile=None, keyfile=None, minimum=None,
                       maximum=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if minimum is not None:
        ctx.minimum_version = minimum
    if maximum is not None:
        ctx.maximum_version = maximum
    if certfile:
        ctx.load_cert_chain(certfile, keyfile)
    return ctx


def tls_connect(port, certfile=None, keyfile=None, host="127.0.0.1",
                timeout=IO_TIMEOUT, **kw):
    """A TLS socket whose handshake is done (raises otherwise)."""
    ctx = tls_client_context(certfile, keyfile, **kw)
    raw = socket.create_connection((host, port), timeout=timeout)
    try:
        s = ctx.wrap_socket(raw, server_hostname="localhost")
    except Exception:
        raw.close()
        raise
    return s


def tls_answers(port):
    try:
        with tls_connect(port, timeout=2.0):
            return True
    except (OSError, ssl.SSLError):
        return False


def tcp_accepts(port, host="127.0.0.1"):
    try:
        with socket.create_connection((host, port), timeout=2.0):
            return True
    except OSError:
        return False


def read_until_closed(sock, timeout=IO_TIMEOUT, limit=1 << 20):
    """Read until the peer closes. Returns (data, how) where how is "eof",
    "reset" or "ssl-error: ..."; raises Timeout if the peer keeps the
    connection open past the deadline."""
    deadline = time.monotonic() + timeout
    data = b""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise Timeout("peer did not close within %.1fs (got %r)"
                          % (timeout, data[:200]))
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            continue
        except ssl.SSLError as exc:
            return data, "ssl-error: %s" % exc
        except (ConnectionResetError, BrokenPipeError):
            return data, "reset"
        if not chunk:
            return data, "eof"
        data += chunk
        if len(data) > limit:
            raise AssertionError("peer sent more than %d bytes" % limit)


def send_quietly(sock, data):
    """Send, ignoring a peer that already closed (that is allowed)."""
    try:
        sock.sendall(data)
        return True
    except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
        return False


def make_client_cert(directory, name="testpeer"):
    """(cert, key) for mutual TLS: scripts/mkcerts when present, else the
    openssl command line."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    crt, key = directory / (name + ".crt"), directory / (name + ".key")
    if MKCERTS.exists() and os.access(MKCERTS, os.X_OK):
        r = subprocess.run([str(MKCERTS), "-f", "-d", str(directory), name],
                           capture_output=True, text=True, timeout=60)
        if r.returncode == 0 and crt.exists() and key.exists():
            return str(crt), str(key)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                    "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", str(key), "-out", str(crt), "-days", "30",
                    "-subj", "/CN=" + name],
                   check=True, capture_output=True, timeout=60)
    return str(crt), str(key)


# ------------------------------------------------------------ HTTPS client

class Response:
    def __init__(self, status, reason, headers, body):
        self.status = status
        self.reason = reason
        self.headers = headers          # http.client.HTTPMessage
        self.body = body

    def header(self, name, default=None):
        return self.headers.get(name, default)

    def header_all(self, name):
        return self.headers.get_all(name) or []

    @property
    def content_type(self):
        ct = self.headers.get("Content-Type", "")
        return ct.split(";")[0].strip().lower()

    def json(self):
        try:
            return json.loads(self.body.decode("utf-8"))
        except ValueError as exc:
            raise AssertionError("not JSON (%s %s, %s): %r"
                                 % (self.status, self.reason,
                                    self.headers.get("Content-Type"),
                                    self.body[:300])) from exc

    def __repr__(self):
        return "<Response %d %s %r>" % (self.status, self.reason,
                                        self.body[:200])


class Client:
    """HTTPS JSON client for the dashboard API. Keeps the session cookie
    and the CSRF token; one connection per request (no keep-alive state to
    go stale when the webserv is restarted)."""

    COOKIE = "octopus_session"

    def __init__(self, port, host="127.0.0.1", timeout=IO_TIMEOUT,
                 source_address=None):
        self.host = host
        self.port = port
        self.timeout = timeout
        self.source_address = source_address    # (ip, 0) to pick the peer
        self.session = None
        self.csrf = None
        self.user = None
        self.last_set_cookie = None
        self._ctx = tls_client_context()

    def request(self, method, path, body=None, headers=None, raw=None,
                background=False, csrf=None):
        """body: JSON-encoded if not None; raw: bytes sent as is.
        csrf: True = send the stored token, a str = send that, None/False
        = send none."""
        hdrs = {"Accept": "application/json"}
        payload = None
        if raw is not None:
            payload = raw
            hdrs["Content-Type"] = "application/json"
        elif body is not None:
            payload = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        if self.session:
            hdrs["Cookie"] = "%s=%s" % (self.COOKIE, self.session)
        if csrf is True:
            if self.csrf:
                hdrs["X-CSRF-Token"] = self.csrf
        elif csrf:
            hdrs["X-CSRF-Token"] = csrf
        if background:
            hdrs["X-Octopus-Background"] = "1"
        if headers:
            hdrs.update(headers)
        conn = http.client.HTTPSConnection(self.host, self.port,
                                           timeout=self.timeout,
                                           context=self._ctx,
                                           source_address=self.source_address)
        try:
            conn.request(method, path, body=payload, headers=hdrs)
            resp = conn.getresponse()
            data = resp.read()
            r = Response(resp.status, resp.reason, resp.headers, data)
        finally:
            conn.close()
        for sc in r.header_all("Set-Cookie"):
            self.last_set_cookie = sc
            m = re.match(r"\s*%s=([^;]*)" % self.COOKIE, sc)
            if m:
                self.session = m.group(1) or None
        return r

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        kw.setdefault("csrf", True)
        return self.request("POST", path, body=body, **kw)

    def delete(self, path, **kw):
        kw.setdefault("csrf", True)
        return self.request("DELETE", path, **kw)

    def put(self, path, body=None, **kw):
        kw.setdefault("csrf", True)
        return self.request("PUT", path, body=body, **kw)

    def login(self, username="admin", password=None, totp=None):
        body = {"username": username, "password": password}
        if totp is not None:
            body["totp"] = totp
        r = self.request("POST", "/api/login", body=body)
        if r.status == 200:
            j = r.json()
            self.csrf = j.get("csrf")
            self.user = j.get("user")
        return r

    def logout(self):
        return self.post("/api/logout")


# ------------------------------------------------------------------- brain

def format_conf(conf):
    lines = ["# octoBrain configuration written by tests/system/octotest.py"]
    for k, v in conf.items():
        if v is None:
            continue
        lines.append("%s = %s" % (k, v))
    return "\n".join(lines) + "\n"


class Brain:
    """One octoBrain in its own directory:

        DIR/brain.conf  DIR/brain.pid  DIR/state/  DIR/stdout  DIR/stderr
    """

    def __init__(self, directory, overrides=None, verbose=False, binary=None):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.verbose = verbose
        self.bin = Path(binary) if binary else BRAIN_BIN
        self.conf = {
            "listen_address": "127.0.0.1",
            "registerer_port": free_port(),
            "commander_port": free_port(),
            "web_address": "127.0.0.1",
            "web_port": free_port(),
            "web_root": str(WEB_ROOT),
            "state_dir": str(self.dir / "state"),
            "pidfile": str(self.dir / "brain.pid"),
            "user": "",
            "kdf_iterations": 1000,
            "restart_delay_max": 1,
        }
        if overrides:
            self.conf.update(overrides)
        self.conf_path = self.dir / "brain.conf"
        self.write_conf()
        self.proc = None
        self.daemon = False
        self.password = None
        self.known_pids = set()
        self.pgids = set()
        self._out = None
        self._err = None
        self._run = 0
        self.stdout_path = self.dir / "stdout"
        self.stderr_path = self.dir / "stderr"

    # -- configuration and paths

    def write_conf(self, text=None):
        self.conf_path.write_text(format_conf(self.conf) if text is None
                                  else text)

    @property
    def web_port(self):
        return int(self.conf["web_port"])

    @property
    def registerer_port(self):
        return int(self.conf["registerer_port"])

    @property
    def commander_port(self):
        return int(self.conf["commander_port"])

    @property
    def ports(self):
        return {"web": self.web_port, "registerer": self.registerer_port,
                "commander": self.commander_port}

    @property
    def state_dir(self):
        return Path(self.conf["state_dir"])

    @property
    def pidfile(self):
        return Path(self.conf["pidfile"])

    @property
    def password_file(self):
        return self.state_dir / "admin.password"

    def command(self, *extra, daemon=False):
        cmd = [str(self.bin), "-c", str(self.conf_path)]
        if not daemon:
            cmd.append("--no-daemon")
        if self.verbose:
            cmd.append("-v")
        cmd.extend(extra)
        return cmd

    # -- running

    def start(self, daemon=False, wait=True, expect_password=None,
              extra=()):
        """Start the brain. --no-daemon (default): Popen in its own process
        group, stdout/stderr to files; wait until the web port answers TLS
        and, on a first start, the "password:" line appeared. daemon=True:
        run the launcher to completion and return its CompletedProcess
        (stdout/stderr in files too)."""
        assert self.proc is None or self.proc.poll() is not None, \
            "brain already started"
        if not self.bin.exists():
            raise AssertionError("%s not built (make, or set OCTO_BUILD)"
                                 % self.bin)
        if expect_password is None:
            expect_password = not self.password_file.exists()
        self._run += 1
        # Keep earlier runs' output: tests read the current run only.
        for p in (self.stdout_path, self.stderr_path):
            if p.exists():
                p.rename(p.with_name("%s.%d" % (p.name, self._run - 1)))
        self._out = open(self.stdout_path, "wb")
        self._err = open(self.stderr_path, "wb")
        self.daemon = daemon
        if daemon:
            try:
                r = subprocess.run(self.command(*extra, daemon=True),
                                   stdin=subprocess.DEVNULL,
                                   stdout=self._out, stderr=self._err,
                                   cwd=str(self.dir), timeout=START_TIMEOUT,
                                   start_new_session=True)
            finally:
                self._out.flush()
                self._err.flush()
            self._remember_pidfile()
            return r
        self.proc = subprocess.Popen(self.command(*extra),
                                     stdin=subprocess.DEVNULL,
                                     stdout=self._out, stderr=self._err,
                                     cwd=str(self.dir),
                                     start_new_session=True)
        self.known_pids.add(self.proc.pid)
        self.pgids.add(self.proc.pid)
        if wait:
            self.wait_ready(expect_password)
        return self.proc

    def _remember_pidfile(self):
        try:
            pid = int(self.pidfile.read_text().split()[0])
            self.known_pids.add(pid)
            self.pgids.add(pid)
        except (OSError, ValueError, IndexError):
            pass

    def wait_ready(self, expect_password=True, timeout=START_TIMEOUT):
        def ready():
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(
                    "octoBrain exited with status %s during start-up\n"
                    "stdout:\n%s\nstderr:\n%s"
                    % (self.proc.returncode, self.stdout(), self.stderr()))
            if not tls_answers(self.web_port):
                return False
            if expect_password and not PASSWORD_RE.search(self.stdout()):
                return False
            return True
        try:
            wait_for(ready, timeout, 0.05, "octoBrain to start")
        except Timeout as exc:
            raise AssertionError(
                "%s (web port TLS: %s, 'password:' line on stdout: %s)\n"
                "stderr:\n%s" % (exc, tls_answers(self.web_port),
                                 bool(PASSWORD_RE.search(self.stdout())),
                                 self.stderr()[-4000:])) from None
        if expect_password:
            self.password = PASSWORD_RE.search(self.stdout()).group(1)
        elif self.password is None and self.password_file.exists():
            self.password = self.password_file.read_text().strip()
        try:
            self.known_pids.update(self.pids().values())
        except AssertionError:
            pass

    def maestro_pid(self):
        if self.proc is not None and not self.daemon:
            return self.proc.pid
        return int(self.pidfile.read_text().split()[0])

    def pids(self, require=ROLES, timeout=5.0):
        """{role: pid} of this brain from ps (children: ppid = maestro).
        A child just forked may still show the maestro's title for a
        moment: a missing role is looked for again until timeout."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                return self._pids_once(require)
            except _MissingRole:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.05)

    def _pids_once(self, require):
        maestro = self.maestro_pid()
        found = {}
        for pid, ppid, args in ps_table():
            role = role_of(args)
            if pid == maestro:
                found["maestro"] = pid
                found["_maestro_args"] = args
            elif ppid == maestro and role in CHILDREN:
                if role in found:
                    raise AssertionError("two %s children: %d and %d"
                                         % (role, found[role], pid))
                found[role] = pid
        args = found.pop("_maestro_args", "")
        missing = [r for r in require if r not in found]
        if missing:
            raise _MissingRole("missing %s in ps (maestro %d: %r)"
                               % (missing, maestro, args))
        self.known_pids.update(found.values())
        return found

    def alive(self):
        if self.proc is not None and not self.daemon:
            return self.proc.poll() is None
        try:
            return proc_alive(self.maestro_pid())
        except (OSError, ValueError, IndexError):
            return False

    def signal(self, sig):
        os.kill(self.maestro_pid(), sig)

    def wait_exit(self, timeout=STOP_TIMEOUT):
        """Wait for the maestro to exit; returns its status when known."""
        if self.proc is not None and not self.daemon:
            try:
                return self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                raise Timeout("maestro still running %.1fs after the "
                              "signal" % timeout) from None
        pid = self.maestro_pid()
        wait_for(lambda: not proc_alive(pid), timeout, 0.05,
                 "maestro %d to exit" % pid)
        return None

    def stop(self):
        """Stop, whatever the state: SIGTERM the maestro, then SIGKILL
        every octoBrain process of its process group and every pid of this
        brain ever seen. Never raises."""
        maestro = None
        try:
            maestro = self.maestro_pid()
        except (OSError, ValueError, IndexError):
            pass
        if maestro is not None:
            self.pgids.add(maestro)
            try:
                self.pgids.add(os.getpgid(maestro))
            except OSError:
                pass
        if maestro is not None and proc_alive(maestro):
            try:
                os.kill(maestro, signal.SIGTERM)
            except OSError:
                pass
            try:
                if self.proc is not None and not self.daemon:
                    self.proc.wait(STOP_TIMEOUT)
                else:
                    wait_for(lambda: not proc_alive(maestro), STOP_TIMEOUT,
                             0.05)
            except (subprocess.TimeoutExpired, Timeout):
                pass
        self.kill_leftovers()
        if self.proc is not None:
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                pass
        for f in (self._out, self._err):
            if f is not None:
                try:
                    f.close()
                except OSError:
                    pass

    def leftovers(self):
        """Live octoBrain processes of this brain (its process groups or
        pids seen before)."""
        try:
            out = subprocess.run(["ps", "-eo", "pid=,pgid=,args="],
                                 capture_output=True, text=True,
                                 timeout=10).stdout
        except (OSError, subprocess.SubprocessError):
            out = ""
        found = set()
        for line in out.splitlines():
            parts = line.split(None, 2)
            if len(parts) < 3 or "octoBrain" not in parts[2]:
                continue
            pid, pgid = int(parts[0]), int(parts[1])
            if pgid in self.pgids or pid in self.known_pids:
                if proc_alive(pid):
                    found.add(pid)
        return found

    def kill_leftovers(self):
        for pid in self.leftovers():
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass

    # -- output

    def stdout(self):
        try:
            return self.stdout_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def stderr(self):
        try:
            return self.stderr_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log(self):
        """The log lines (stderr with --no-daemon)."""
        return self.stderr()

    def log_lines(self, role=None):
        out = []
        for line in self.stderr().splitlines():
            m = LOG_LINE_RE.match(line)
            if role is None or (m and m.group(2) == role):
                out.append(line)
        return out

    def wait_log(self, pattern, timeout=10.0, start=0):
        """Wait until regex pattern matches the log from offset start;
        returns the match."""
        rx = re.compile(pattern, re.M)
        return wait_for(lambda: rx.search(self.stderr(), start), timeout,
                        0.05, "log line matching %r" % pattern)

    # -- API

    def client(self, source=None):
        """source: a local address to connect from (127.0.0.x)."""
        return Client(self.web_port,
                      source_address=(source, 0) if source else None)

    def login(self, username="admin", password=None):
        """A Client logged in (asserts 200)."""
        c = self.client()
        r = c.login(username, self.password if password is None
                    else password)
        assert r.status == 200, "login failed: %r" % (r,)
        return c

    def health(self, client=None, background=False):
        c = client or self.login()
        r = c.get("/api/health", background=background)
        assert r.status == 200, r
        return r.json()

    def children_health(self, client=None):
        return {ch["name"]: ch for ch in self.health(client)["children"]}

    def wait_all_up(self, client, timeout=15.0):
        def all_up():
            r = client.get("/api/health", background=True)
            if r.status != 200:
                return False
            ch = {c["name"]: c for c in r.json()["children"]}
            if all(ch.get(n, {}).get("state") == "up" for n in CHILDREN):
                return ch
            return False
        return wait_for(all_up, timeout, 0.1, "every child up in /api/health")


def random_name(prefix="x"):
    return "%s%s" % (prefix, secrets.token_hex(4))


def which(prog):
    return shutil.which(prog)


# ---------------------------------------------------------------- tentacle

TENTACLE_BIN = BUILD / "octoTentacle"
TENTACLE_LOG_RE = re.compile(
    r"^octoTentacle\[(\d+)\] (supervisor|register|command worker): ")


class Tentacle:
    """One octoTentacle in its own directory, in the foreground:

        DIR/tentacle.conf  DIR/tentacle.pid  DIR/state/  DIR/log

    address: its listen_address (127.0.0.x); brain: a Brain whose ports it
    uses (its address is only set as `brain` when tie=True or by start's
    options, e.g. "-b", "127.0.0.1"). Short poll_interval and io_timeout.
    """

    def __init__(self, directory, address="127.0.0.2", brain=None,
                 name=None, overrides=None, binary=None):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.bin = Path(binary) if binary else TENTACLE_BIN
        self.address = address
        self.conf = {
            "name": name or random_name("tentacle-"),
            "listen_address": address,
            "register_port": free_port(),
            "command_port": free_port(),
            "brain_registerer_port": brain.registerer_port if brain else 1,
            "brain_commander_port": brain.commander_port if brain else 2,
            "state_dir": str(self.dir / "state"),
            "pidfile": str(self.dir / "tentacle.pid"),
            "scripts_dir": str(self.dir / "scripts"),
            "io_timeout": 2,
            "poll_interval": 1,
        }
        if overrides:
            self.conf.update(overrides)
        self.conf_path = self.dir / "tentacle.conf"
        self.log_path = self.dir / "log"
        self.write_conf()
        self.proc = None
        self._log = None

    def write_conf(self):
        lines = ["# octoTentacle configuration written by octotest.py"]
        for k, v in self.conf.items():
            if v is not None:
                lines.append("%s = %s" % (k, v))
        self.conf_path.write_text("\n".join(lines) + "\n")

    @property
    def name(self):
        return self.conf["name"]

    @property
    def register_port(self):
        return int(self.conf["register_port"])

    @property
    def command_port(self):
        return int(self.conf["command_port"])

    @property
    def state_dir(self):
        return Path(self.conf["state_dir"])

    @property
    def state_file(self):
        return self.state_dir / "private" / "enrolment"

    @property
    def cert(self):
        return self.state_dir / "tentacle.crt"

    @property
    def key(self):
        return self.state_dir / "private" / "tentacle.key"

    def command(self, *extra):
        return [str(self.bin), "-c", str(self.conf_path)] + list(extra)

    def run(self, *extra, input=None, timeout=START_TIMEOUT):
        """Run to completion (--ping, -n...): CompletedProcess."""
        return subprocess.run(self.command(*extra), capture_output=True,
                              text=True, input=input, timeout=timeout,
                              stdin=None if input is not None
                              else subprocess.DEVNULL)

    def ping(self):
        return self.run("--ping")

    def start(self, *extra, wait=True, stdin_text=None):
        """Start in the foreground (-v), log to DIR/log (appended). wait:
        until its child listens (register or command worker)."""
        assert self.proc is None or self.proc.poll() is not None, \
            "tentacle already started"
        self._mark = len(self.log())
        if self._log is not None:
            self._log.close()
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            self.command("--no-daemon", "-v", *extra),
            stdin=subprocess.PIPE if stdin_text is not None
            else subprocess.DEVNULL,
            stdout=self._log, stderr=self._log, start_new_session=True)
        if stdin_text is not None:
            self.proc.stdin.write(stdin_text.encode())
            self.proc.stdin.close()
        if wait:
            self.wait_log(r"(register|command worker): listening on",
                          start=self._mark)
        return self.proc

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def wait_exit(self, timeout=STOP_TIMEOUT):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise Timeout("octoTentacle still running after %.1fs"
                          % timeout) from None

    def stop(self):
        """SIGTERM, then SIGKILL its process group. Never raises."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGTERM)
                self.proc.wait(STOP_TIMEOUT)
            except (OSError, subprocess.TimeoutExpired):
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            pass
        if self._log is not None:
            self._log.close()
            self._log = None

    def log(self):
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def wait_log(self, pattern, timeout=10.0, start=0):
        rx = re.compile(pattern, re.M)
        return wait_for(lambda: rx.search(self.log(), start), timeout,
                        0.05, "tentacle log line matching %r" % pattern)

    def state(self):
        """The enrolment state file as a dict (None if absent)."""
        try:
            text = self.state_file.read_text()
        except FileNotFoundError:
            return None
        out = {}
        for line in text.splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                k, _, v = line.partition("=")
                out[k.strip()] = v.strip()
        return out

    def fingerprint(self):
        """Its certificate's fingerprint (SPKI SHA-256), by openssl."""
        return cert_fingerprint(self.cert)

    @property
    def pairing_file(self):
        return self.state_dir / "pairing-code"

    def pairing_code(self, timeout=10.0, other_than=None):
        """Its pairing code as `octoTentacle --pairing-code` prints it
        (XXXX-XXXX-XXXX), once there is one (other than other_than)."""
        def current():
            r = self.run("--pairing-code")
            code = r.stdout.strip()
            if r.returncode == 0 and code and code != other_than:
                return code
            return None
        return wait_for(current, timeout, 0.1, "a pairing code")

    def offer(self, client, code=None, **extra):
        """POST /api/tentacles for this tentacle's register port, with
        its pairing code unless code is given ("" for none)."""
        body = {"address": self.address, "port": self.register_port}
        if code is None:
            code = self.pairing_code()
        if code:
            body["code"] = code
        body.update(extra)
        return client.post("/api/tentacles", body)


def cert_fingerprint(certfile):
    """SHA-256 of the DER SubjectPublicKeyInfo, lowercase hex."""
    pub = subprocess.run(["openssl", "x509", "-in", str(certfile), "-noout",
                          "-pubkey"], capture_output=True, check=True,
                         timeout=30).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"],
                         input=pub, capture_output=True, check=True,
                         timeout=30).stdout
    return hashlib.sha256(der).hexdigest()
