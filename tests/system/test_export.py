"""Export of the brain's events (issue 17; SPEC.md "Alerts, export,
evidence"): the exporter child delivers every event to a real rsyslog from
Debian over TLS (RFC 5424 in RFC 5425 framing, imtcp with its OpenSSL
driver, a test CA) and to an HTTPS webhook (a Python server in the test,
the collector, checking the signature); a collector that is down loses
nothing; a wrong CA is refused; bad keys are configuration errors naming
file and line."""

import hashlib
import hmac
import http.server
import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import threading
from pathlib import Path

import pytest

from octotest import free_port, wait_for

RSYSLOGD = shutil.which("rsyslogd") or "/usr/sbin/rsyslogd"
OSSL_DRIVER = "/usr/lib/x86_64-linux-gnu/rsyslog/lmnsd_ossl.so"

needs_rsyslog = pytest.mark.skipif(
    not (os.access(RSYSLOGD, os.X_OK) and os.path.exists(OSSL_DRIVER)),
    reason="rsyslog and rsyslog-openssl are not installed (scripts/deps)")


# ------------------------------------------------------------ a test CA

def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=str(cwd), check=True,
                   capture_output=True, timeout=60)


def make_ca(directory, name="ca"):
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:P-256", "-nodes", "-keyout", name + ".key",
            "-out", name + ".crt", "-days", "30", "-subj",
            "/CN=Octopus test CA %s" % name, "-addext",
            "basicConstraints=critical,CA:TRUE", "-addext",
            "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
    return d / (name + ".crt"), d / (name + ".key")


def make_server_cert(directory, ca, name, ip):
    """A certificate for ip (and localhost) signed by ca."""
    d = Path(directory)
    ca_crt, ca_key = ca
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-keyout", name + ".key", "-out", name + ".csr",
            "-subj", "/CN=" + name, cwd=d)
    (d / (name + ".ext")).write_text(
        "subjectAltName=IP:%s,DNS:localhost\n"
        "extendedKeyUsage=serverAuth,clientAuth\n" % ip)
    openssl("x509", "-req", "-in", name + ".csr", "-CA", str(ca_crt),
            "-CAkey", str(ca_key), "-CAcreateserial", "-out", name + ".crt",
            "-days", "30", "-extfile", name + ".ext", cwd=d)
    return d / (name + ".crt"), d / (name + ".key")


# ------------------------------------------------------------- rsyslog

class Rsyslog:
    """rsyslogd -n on ADDR:PORT (imtcp, the ossl driver, TLS), writing each
    message's raw text to DIR/out.log."""

    def __init__(self, directory, address, ca, cert, key):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "work").mkdir(exist_ok=True)
        self.address = address
        self.port = free_port()
        self.out = self.dir / "out.log"
        self.pidfile = self.dir / "rsyslogd.pid"
        self.conf = self.dir / "rsyslog.conf"
        self.conf.write_text("""
global(workDirectory="%(work)s"
       defaultNetstreamDriver="ossl"
       defaultNetstreamDriverCAFile="%(ca)s"
       defaultNetstreamDriverCertFile="%(cert)s"
       defaultNetstreamDriverKeyFile="%(key)s"
       maxMessageSize="64k")
module(load="imtcp" streamDriver.name="ossl" streamDriver.mode="1"
       streamDriver.authMode="anon")
input(type="imtcp" address="%(addr)s" port="%(port)d")
template(name="raw" type="string" string="%%rawmsg%%\\n")
action(type="omfile" file="%(out)s" template="raw")
""" % {"work": self.dir / "work", "ca": ca, "cert": cert, "key": key,
       "addr": address, "port": self.port, "out": self.out})
        self.proc = None

    def start(self):
        if self.pidfile.exists():
            self.pidfile.unlink()
        self.log = open(self.dir / "rsyslogd.stderr", "ab")
        self.proc = subprocess.Popen(
            [RSYSLOGD, "-n", "-f", str(self.conf), "-i", str(self.pidfile)],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log,
            start_new_session=True)
        wait_for(self.listening, 20, 0.1, "rsyslogd listening on %s:%d"
                 % (self.address, self.port))

    def listening(self):
        if self.proc.poll() is not None:
            raise AssertionError("rsyslogd exited: %s" % (
                self.dir / "rsyslogd.stderr").read_text())
        r = subprocess.run(["ss", "-Htln", "src", "%s:%d" % (
            self.address, self.port)], capture_output=True, text=True)
        return str(self.port) in r.stdout

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=20)
        self.proc = None

    def messages(self):
        try:
            text = self.out.read_text(errors="replace")
        except FileNotFoundError:
            return []
        return [line for line in text.splitlines() if line]


def seqs_of(messages, brain=None):
    """The seq of each message, in the order received (of one brain)."""
    out = []
    for m in messages:
        if brain is not None and (" %s octoBrain " % brain) not in m:
            continue
        g = re.search(r'\[octopus@32473 [^\]]*?seq="(\d+)"', m)
        if g:
            out.append(int(g.group(1)))
    return out


def first_seen(seqs):
    seen, order = set(), []
    for s in seqs:
        if s not in seen:
            seen.add(s)
            order.append(s)
    return order


def export_state(c):
    r = c.get("/api/export", background=True)
    assert r.status == 200, r
    return {t["name"]: t for t in r.json()["targets"]}


def send_test_event(c):
    r = c.post("/api/export/test")
    assert r.status == 202, r
    return r.json()["seq"]


@pytest.fixture
def pki(tmp_path):
    ca = make_ca(tmp_path / "pki")
    return tmp_path / "pki", ca


def collector(pki, tmp_path, address="127.0.0.5"):
    """An rsyslog (not started) with a certificate of pki's CA."""
    d, ca = pki
    cert, key = make_server_cert(d, ca, "collector", address)
    return Rsyslog(tmp_path / "rsyslog", address, ca[0], cert, key)


@needs_rsyslog
def test_syslog_tls_in_order_across_an_outage(brain_factory, pki, tmp_path):
    ca = pki[1]
    rs = collector(pki, tmp_path)
    rs.start()
    try:
        b = brain_factory({"syslog_target": "127.0.0.5:%d" % rs.port,
                           "syslog_ca": str(ca[0]),
                           "brain_name": "brain-a.example.org"},
                          verbose=True)
        c = b.login()
        assert "exporter" in b.children_health(c)
        wait_for(lambda: export_state(c)["syslog"]["state"] == "connected",
                 20, 0.1, "syslog target connected")
        first = send_test_event(c)
        wait_for(lambda: first in seqs_of(rs.messages()), 20, 0.1,
                 "the test event in rsyslog")
        msg = [m for m in rs.messages()
               if 'event="export.test"' in m][0]
        # RFC 5424: <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD MSG
        assert re.match(r'^<1\d\d>1 \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z '
                        r'brain-a\.example\.org octoBrain - export\.test '
                        r'\[octopus@32473 event="export\.test" seq="%d" '
                        r'id="[0-9a-f-]{36}" actor="admin" ' % first, msg), msg
        body = json.loads(msg[msg.index("] {") + 2:])
        assert body["seq"] == first and body["event"] == "export.test"
        assert body["brain"] == "brain-a.example.org"
        assert body["actor"] == "admin"
        assert re.fullmatch(r"[0-9a-f]{64}", body["ledger_head"]), body
        # The login before it is an audit row: an event too.
        assert any('event="login"' in m and 'actor="admin"' in m
                   for m in rs.messages())

        # The collector goes away: events wait in the brain's queue.
        rs.stop()
        send_test_event(c)
        wait_for(lambda: export_state(c)["syslog"]["state"] != "connected",
                 30, 0.1, "syslog target down")
        during = [send_test_event(c) for _ in range(25)]
        st = export_state(c)["syslog"]
        assert st["queue"] >= 25, st
        assert st["drops"] == 0, st
        assert st["last_error"], st
        b.wait_log(r"maestro: export syslog: 127\.0\.0\.5 is down")

        rs.start()
        wait_for(lambda: during[-1] in seqs_of(rs.messages()), 60, 0.2,
                 "the events made during the outage")
        got = first_seen(seqs_of(rs.messages()))
        assert got == list(range(1, during[-1] + 1)), got
        wait_for(lambda: export_state(c)["syslog"]["queue"] == 0, 20, 0.1,
                 "the queue drained")
        assert export_state(c)["syslog"]["state"] == "connected"
    finally:
        rs.stop()


@needs_rsyslog
def test_syslog_wrong_ca_is_refused(brain_factory, pki, tmp_path):
    other = make_ca(tmp_path / "other", "other")
    rs = collector(pki, tmp_path)
    rs.start()
    try:
        b = brain_factory({"syslog_target": "127.0.0.5:%d" % rs.port,
                           "syslog_ca": str(other[0])})
        c = b.login()
        send_test_event(c)

        def refused():
            st = export_state(c)["syslog"]
            return st["state"] != "connected" and "certificate" in (
                st.get("last_error") or "") and st
        st = wait_for(refused, 30, 0.1, "the collector refused")
        assert st["queue"] >= 1, st
        b.wait_log(r"maestro: export syslog: 127\.0\.0\.5 is down: the "
                   r"collector's certificate")
        assert seqs_of(rs.messages()) == []
    finally:
        rs.stop()


@needs_rsyslog
def test_sighup_a_new_syslog_ca(brain_factory, pki, tmp_path):
    """A wrong syslog_ca, then the right one and SIGHUP: the exporter
    starts again with it and every event queued meanwhile reaches
    rsyslog, in order, none missing."""
    import signal
    other = make_ca(tmp_path / "other", "other")
    rs = collector(pki, tmp_path)
    rs.start()
    try:
        b = brain_factory({"syslog_target": "127.0.0.5:%d" % rs.port,
                           "syslog_ca": str(other[0])})
        c = b.login()
        sent = [send_test_event(c) for _ in range(3)]
        b.wait_log(r"maestro: export syslog: 127\.0\.0\.5 is down: the "
                   r"collector's certificate")
        b.conf["syslog_ca"] = str(pki[1][0])
        b.write_conf()
        b.signal(signal.SIGHUP)
        b.wait_log(r"reload: export: new targets")
        wait_for(lambda: sent[-1] in seqs_of(rs.messages()), 60, 0.2,
                 "the queued events in rsyslog")
        got = first_seen(seqs_of(rs.messages()))
        # (no child_killed among them: the exporter was stopped, not
        # broken)
        assert got == list(range(1, sent[-1] + 1)), [
            m[:100] for m in rs.messages()]
        wait_for(lambda: export_state(c)["syslog"]["state"] == "connected",
                 20, 0.1, "syslog target connected")
    finally:
        rs.stop()


@needs_rsyslog
def test_two_brains_one_rsyslog(brain_factory, pki, tmp_path):
    ca = pki[1]
    rs = collector(pki, tmp_path)
    rs.start()
    try:
        conf = {"syslog_target": "127.0.0.5:%d" % rs.port,
                "syslog_ca": str(ca[0])}
        a = brain_factory(dict(conf, brain_name="a.example.org"))
        b = brain_factory(dict(conf, brain_name="b.example.org"))
        ca_, cb = a.login(), b.login()
        sa = [send_test_event(ca_) for _ in range(3)]
        sb = [send_test_event(cb) for _ in range(5)]
        wait_for(lambda: sa[-1] in seqs_of(rs.messages(), "a.example.org")
                 and sb[-1] in seqs_of(rs.messages(), "b.example.org"),
                 30, 0.1, "both brains' events")
        assert first_seen(seqs_of(rs.messages(), "a.example.org")) == \
            list(range(1, sa[-1] + 1))
        assert first_seen(seqs_of(rs.messages(), "b.example.org")) == \
            list(range(1, sb[-1] + 1))
    finally:
        rs.stop()


@needs_rsyslog
def test_queue_bounded_oldest_dropped(brain_factory, pki, tmp_path):
    ca = pki[1]
    rs = collector(pki, tmp_path)
    # Not started: the collector is down from the start.
    try:
        b = brain_factory({"syslog_target": "127.0.0.5:%d" % rs.port,
                           "syslog_ca": str(ca[0]),
                           "export_queue_max": 5})
        c = b.login()
        seqs = [send_test_event(c) for _ in range(12)]
        st = export_state(c)["syslog"]
        assert st["queue"] == 5, st
        assert st["drops"] == seqs[-1] - 5, st
        b.wait_log(r"export queue full \(export_queue_max 5\)")
        rs.start()
        wait_for(lambda: seqs[-1] in seqs_of(rs.messages()), 60, 0.2,
                 "the newest events")
        assert first_seen(seqs_of(rs.messages())) == seqs[-5:]
    finally:
        rs.stop()


# -------------------------------------------------------------- webhook

class Hook(http.server.BaseHTTPRequestHandler):
    server_version = "TestCollector/1"

    def log_message(self, *a):
        pass

    def do_POST(self):
        srv = self.server
        body = self.rfile.read(int(self.headers["Content-Length"]))
        sig = self.headers.get("X-Octopus-Signature", "")
        good = "sha256=" + hmac.new(srv.secret, body,
                                    hashlib.sha256).hexdigest()
        with srv.lock:
            srv.requests.append((sig, body))
            ok = hmac.compare_digest(sig, good)
            refuse = srv.refuse > 0
            if refuse:
                srv.refuse -= 1
            if ok and not refuse:
                srv.events.append(json.loads(body))
        status = 401 if not ok else 500 if refuse else 204
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()


def webhook_brain(brain_factory, tmp_path, path="/", secret=b"k",
                  rest=b"", **overrides):
    """A webhook collector on 127.0.0.6 with a test CA, and a brain that
    exports to it: (brain, server)."""
    d = tmp_path / "pki"
    ca = make_ca(d)
    cert, key = make_server_cert(d, ca, "hook", "127.0.0.6")
    (tmp_path / "hook.secret").write_bytes(secret + b"\n" + rest)
    srv = start_webhook("127.0.0.6", cert, key, secret)
    conf = {"webhook_url": "https://127.0.0.6:%d%s" % (
            srv.server_address[1], path),
            "webhook_ca": str(ca[0]),
            "webhook_secret_file": str(tmp_path / "hook.secret")}
    conf.update(overrides)
    try:
        return brain_factory(conf), srv
    except BaseException:
        srv.shutdown()
        raise


def start_webhook(address, cert, key, secret):
    srv = http.server.ThreadingHTTPServer((address, 0), Hook)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(cert), str(key))
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    srv.secret = secret
    srv.lock = threading.Lock()
    srv.requests, srv.events = [], []
    srv.refuse = 0
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def test_webhook_signed_retried(brain_factory, tmp_path):
    # The key is the file's first line, as bytes (UTF-8 here).
    b, srv = webhook_brain(brain_factory, tmp_path, "/octopus/in",
                           b"s3cr\xc3\xa9t key", b"second line ignored\n",
                           brain_name="hooked.example.org")
    try:
        c = b.login()
        s1 = send_test_event(c)
        wait_for(lambda: any(e["seq"] == s1 for e in srv.events), 30, 0.1,
                 "the signed test event")
        e = [e for e in srv.events if e["seq"] == s1][0]
        assert e["event"] == "export.test" and e["brain"] == \
            "hooked.example.org"
        assert set(e) >= {"id", "seq", "time", "brain", "event", "fields",
                          "ledger_head", "actor"}
        assert all(sig.startswith("sha256=") for sig, _ in srv.requests)

        # The collector answers 500 twice: retried with backoff, then in.
        with srv.lock:
            srv.refuse = 2
        s2 = send_test_event(c)
        wait_for(lambda: any(e["seq"] == s2 for e in srv.events), 60, 0.1,
                 "the event after two refusals")
        st = export_state(c)["webhook"]
        assert st["drops"] == 0, st
        assert st["last_error"] == "HTTP 500", st
        got = first_seen([e["seq"] for e in srv.events])
        assert got == sorted(got) and got[-1] == s2
        wait_for(lambda: export_state(c)["webhook"]["queue"] == 0, 20, 0.1,
                 "the webhook's queue drained")
    finally:
        srv.shutdown()


def test_export_api_without_targets(ro_client):
    r = ro_client.get("/api/export")
    assert r.status == 200, r
    assert r.json()["targets"] == []
    r = ro_client.post("/api/export/test")
    assert r.status == 409, r
    assert "no export target" in r.json()["error"]


@pytest.mark.parametrize("key,value,why", [
    ("syslog_target", "no-port.example.org", "must be HOST:PORT"),
    ("syslog_target", "192.0.2.1:99999", "must be HOST:PORT"),
    ("webhook_url", "http://192.0.2.1/hook", "must be https://"),
    ("brain_name", "two words", "without spaces"),
])
def test_bad_keys_name_file_and_line(brain_factory, tmp_path, key, value,
                                     why):
    b = brain_factory({key: value, "syslog_ca": "/dev/null",
                       "webhook_secret_file": "/dev/null"}, start=False)
    r = subprocess.run(b.command("-n"), capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 2, r
    lines = b.conf_path.read_text().splitlines()
    line = [i + 1 for i, ln in enumerate(lines)
            if ln.startswith(key + " ")][0]
    assert "%s:%d: %s: " % (b.conf_path, line, key) in r.stderr, r.stderr
    assert why in r.stderr, r.stderr


# ------------------------------------------------------------- SIGHUP

def test_sighup_reloads_the_export_keys(brain_factory, tmp_path):
    """SIGHUP re-reads webhook_url, webhook_secret_file, the CAs and
    metrics_token_file: the exporter starts again with the new target
    (not counted as a restart; the queue goes on where it was), the new
    secret signs, the new token opens /metrics and the old one no longer;
    a secret file that cannot be read keeps the running target."""
    import signal
    (tmp_path / "m1").write_text("tok-one\n")
    b, srv = webhook_brain(brain_factory, tmp_path, "/old", secret=b"one",
                           metrics_token_file=str(tmp_path / "m1"))
    d = tmp_path / "pki2"
    ca = make_ca(d)
    cert, key = make_server_cert(d, ca, "hook2", "127.0.0.7")
    srv2 = start_webhook("127.0.0.7", cert, key, b"two")
    try:
        c = b.login()
        assert c.post("/api/export/test").status == 202
        wait_for(lambda: [e for e in srv.events
                          if e["event"] == "export.test"], 30, 0.1,
                 "the first test event at the old webhook")

        def scrape(tok):
            return b.client().get("/metrics", headers={
                "Authorization": "Bearer " + tok}).status
        assert scrape("tok-one") == 200

        (tmp_path / "hook2.secret").write_bytes(b"two\n")
        (tmp_path / "m2").write_text("tok-two\n")
        b.conf.update({
            "webhook_url": "https://127.0.0.7:%d/new" %
            srv2.server_address[1], "webhook_ca": str(ca[0]),
            "webhook_secret_file": str(tmp_path / "hook2.secret"),
            "metrics_token_file": str(tmp_path / "m2")})
        b.write_conf()
        b.signal(signal.SIGHUP)
        b.wait_log(r"reload: export: new targets: the exporter starts "
                   r"again with them")
        b.wait_log(r"exporter .*: starting it again with the new "
                   r"configuration")
        wait_for(lambda: c.get("/api/export").json()["targets"][0][
            "target"].endswith("/new"), 30, 0.1, "the new target")
        assert c.post("/api/export/test").status == 202
        ev = wait_for(lambda: [e for e in srv2.events
                               if e["event"] == "export.test"], 30, 0.1,
                      "the test event at the new webhook, signed with the "
                      "new secret")
        assert ev[0]["seq"] > 1
        assert wait_for(lambda: scrape("tok-two") == 200, 10, 0.1,
                        "the new token")
        assert scrape("tok-one") == 401
        h = c.get("/api/health").json()
        assert [x["restarts"] for x in h["children"]
                if x["name"] == "exporter"] == [0], h
        assert "killing it" not in b.stderr()
        assert not c.get("/api/audit?action=child_killed").json()["events"]

        # A secret that cannot be read: the running target stays.
        b.conf["webhook_secret_file"] = str(tmp_path / "missing.secret")
        b.write_conf()
        b.signal(signal.SIGHUP)
        b.wait_log(r"reload: export: webhook_secret_file .*missing\.secret"
                   r".*: keeping the running targets")
        n = len(srv2.events)
        assert c.post("/api/export/test").status == 202
        wait_for(lambda: len(srv2.events) > n, 30, 0.1,
                 "delivery to the running target")
    finally:
        srv.shutdown()
        srv2.shutdown()
