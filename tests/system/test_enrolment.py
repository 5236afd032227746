"""Enrolment both ways and the ID/key handshake on every link (issue 3),
with real processes: brains from brain_factory on 127.0.0.1, tentacles on
127.0.0.2-4 with their own configurations in the test's directory
(poll_interval 1, io_timeout 2).

Run:  OCTO_BUILD=/path/to/build /usr/bin/python3 -m pytest -q \
          tests/system/test_enrolment.py
"""

import os
import re
import socket
import ssl
import stat
import struct
import subprocess
import time

import pytest

import octotest
from octotest import Tentacle, wait_for

BRAIN = "127.0.0.1"
HEX96 = re.compile(r"^[0-9a-f]{96}$")


# ------------------------------------------------------------------ fixtures

@pytest.fixture
def tentacle_bin():
    if not octotest.TENTACLE_BIN.exists():
        pytest.fail("%s not built: run make (or set OCTO_BUILD)"
                    % octotest.TENTACLE_BIN, pytrace=False)
    return octotest.TENTACLE_BIN


@pytest.fixture
def brain(brain_factory):
    return brain_factory({"io_timeout": 2}, verbose=True)


@pytest.fixture
def new_tentacle(request, tmp_path, tentacle_bin):
    """new_tentacle(address, brain, **overrides) -> Tentacle (not started);
    each is stopped at the end and its log checked for sanitizer
    reports and secrets."""
    made = []

    def make(address="127.0.0.2", brain=None, name=None, **overrides):
        t = Tentacle(tmp_path / ("tentacle%d" % (len(made) + 1)), address,
                     brain, name=name, overrides=overrides)
        made.append(t)
        return t

    yield make
    for t in made:
        t.stop()
    for t in made:
        text = t.log()
        assert "AddressSanitizer" not in text, text
        assert "runtime error:" not in text, text
        assert "LeakSanitizer" not in text, text
        st = t.state()
        if st:      # the key is a secret: never logged
            assert st["key"] not in text


@pytest.fixture
def other_cert(tmp_path):
    """Another certificate and key (scripts/mkcerts) and its fingerprint."""
    d = tmp_path / "other"
    r = subprocess.run([str(octotest.MKCERTS), "-d", str(d), "other"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    m = re.match(r"other: ([0-9a-f]{64})$", r.stdout.strip())
    assert m, r.stdout
    return d / "other.crt", d / "other.key", m.group(1)


# ------------------------------------------------------------------ helpers

def brain_fpr(brain):
    return octotest.cert_fingerprint(brain.state_dir / "brain.crt")


def make_token(client, expires_in=600, uses=1):
    r = client.post("/api/tokens", {"expires_in": expires_in, "uses": uses})
    assert r.status == 201, r
    j = r.json()
    assert HEX96.match(j["token"]), j
    return j


def tentacles(client):
    r = client.get("/api/tentacles")
    assert r.status == 200, r
    return {t["id"]: t for t in r.json()["tentacles"]}


def enrol_self(t, brain, token=None, how="stdin"):
    """Start t with -b (and the token): wait until it is enrolled and its
    command worker listens. Returns the state file."""
    args = ["-b", BRAIN]
    stdin_text = None
    if token is not None:
        if how == "stdin":
            args += ["-t", "-"]
            stdin_text = token + "\n"
        elif how == "file":
            f = t.dir / "token"
            f.write_text(token + "\n")
            f.chmod(0o600)
            args += ["--token-file", str(f)]
        else:
            args += ["-t", token]
    mark = len(t.log())
    t.start(*args, stdin_text=stdin_text, wait=False)
    t.wait_log(r"register: enrolled with brain 127\.0\.0\.1 as tentacle "
               r"ID \d+", start=mark)
    t.wait_log(r"command worker: listening on", start=mark)
    return t.state()


def ping_ok(t, status="accepted"):
    r = t.ping()
    assert r.returncode == 0, r.stderr
    assert re.fullmatch(r"brain 127\.0\.0\.1:\d+ authenticated; enrolment "
                        r"%s\n" % status, r.stdout), r.stdout
    return r


def ping_refused(t):
    r = t.ping()
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert r.stdout == ""
    assert r.stderr.startswith("octoTentacle: "), r.stderr
    return r


def refused_handshakes(client):
    return client.get("/api/health").json()["refused_handshakes"]


def frame(ftype, payload=b""):
    return b"OC\x02" + bytes([ftype]) + struct.pack(">I", len(payload)) + \
        payload


def pstr(b):
    return struct.pack(">I", len(b)) + b


WIRE_ERROR, WIRE_HELLO, WIRE_HELLO_ACK = 1, 2, 3
WIRE_AUTH_ID, WIRE_AUTH_CHALLENGE = 6, 7
PURPOSE_ENROL, PURPOSE_POLL, PURPOSE_PING = 1, 2, 3


def hello(purpose):
    return frame(WIRE_HELLO, bytes([purpose]) + pstr(b"0.1.0"))


def auth_id(ident):
    return frame(WIRE_AUTH_ID, struct.pack(">Q", ident) +
                 pstr(os.urandom(32)))


def tls_to(port, cert, key, host="127.0.0.1"):
    ctx = octotest.tls_client_context(str(cert), str(key),
                                      minimum=ssl.TLSVersion.TLSv1_3)
    raw = socket.create_connection((host, port), timeout=octotest.IO_TIMEOUT)
    return ctx.wrap_socket(raw, server_hostname="localhost")


def read_frame(sock):
    """One whole frame: (type, payload)."""
    data = b""
    while len(data) < 8:
        chunk = sock.recv(8 - len(data))
        assert chunk, "closed before a frame (%r)" % data
        data += chunk
    (n,) = struct.unpack(">I", data[4:8])
    payload = b""
    while len(payload) < n:
        chunk = sock.recv(n - len(payload))
        assert chunk, "closed inside a frame"
        payload += chunk
    return data[3], payload


# ------------------------------------------------- enrolment by the tentacle

def test_self_enrolment_with_a_valid_token(brain, new_tentacle):
    c = brain.login()
    tok = make_token(c)
    t = new_tentacle("127.0.0.2", brain)
    st = enrol_self(t, brain, tok["token"], how="argv")
    assert st["status"] == "accepted"
    assert st["brain_fingerprint"] == brain_fpr(brain)
    assert st["brain_address"] == BRAIN
    assert st["brain_registerer_port"] == str(brain.registerer_port)
    assert st["brain_commander_port"] == str(brain.commander_port)
    assert re.fullmatch(r"[0-9a-f]{64}", st["key"])
    assert stat.S_IMODE(t.state_file.stat().st_mode) == 0o600
    assert not list(t.state_dir.glob("*.tmp"))

    ident = int(st["id"])
    tt = tentacles(c)[ident]
    assert tt["hostname"] == t.name
    assert tt["enrolment"] == "accepted"
    assert tt["address"] == "127.0.0.2"     # advertised, not the source
    assert tt["port"] == t.command_port
    assert tt["fingerprint"] == t.fingerprint()
    assert tt["duplicate_of"] is None
    facts = tt["facts"]
    for k in ("os", "kernel", "arch", "addresses"):
        assert k in facts, facts
    assert "127.0.0.2" in facts["addresses"]
    assert facts["kernel"] == os.uname().release

    # The register port is closed, the command worker listens.
    assert not octotest.tcp_accepts(t.register_port, "127.0.0.2")
    assert octotest.tcp_accepts(t.command_port, "127.0.0.2")
    ping_ok(t)
    brain.wait_log(r"commander: 127\.0\.0\.2:\d+: tentacle %d "
                   r"authenticated" % ident)
    # Secrets stay out of every log.
    secret = tok["token"][:32]
    assert secret not in t.log() and secret not in brain.log()
    assert st["key"] not in brain.log()
    assert "with a token" in t.log()


def test_self_enrolment_without_token_is_pending_then_approved(
        brain, new_tentacle):
    c = brain.login()
    t = new_tentacle("127.0.0.2", brain)
    st = enrol_self(t, brain)
    assert st["status"] == "pending"
    ident = int(st["id"])
    assert tentacles(c)[ident]["enrolment"] == "pending"
    ping_ok(t, "pending")
    # It polls while pending.
    t.wait_log(r"command worker: brain 127\.0\.0\.1:\d+: still pending")
    r = c.post("/api/tentacles/%d/approve" % ident)
    assert r.status == 200, r
    assert r.json()["tentacle"]["enrolment"] == "accepted"
    t.wait_log(r"command worker: tentacle ID %d approved by the brain"
               % ident)
    wait_for(lambda: t.state()["status"] == "accepted", 10,
             what="the state file to say accepted")
    st2 = t.state()
    assert st2["id"] == st["id"] and st2["key"] == st["key"]
    assert len(tentacles(c)) == 1                   # not enrolled again
    assert t.log().count("enrolment request sent") == 1
    ping_ok(t, "accepted")


def test_rejected_then_reenrol(brain, new_tentacle):
    c = brain.login()
    t = new_tentacle("127.0.0.2", brain)
    st = enrol_self(t, brain)
    ident = int(st["id"])
    r = c.post("/api/tentacles/%d/reject" % ident)
    assert r.status == 200, r
    assert r.json()["tentacle"]["enrolment"] == "rejected"
    t.wait_log(r"tentacle ID %d rejected by the brain; run octoTentacle "
               r"--reenrol to enrol again" % ident)
    wait_for(lambda: t.state()["status"] == "rejected", 10,
             what="the state file to say rejected")
    # No more polls after a rejection; the tentacle stays up.
    n = t.log().count("asking for the enrolment status")
    time.sleep(2.5)
    assert t.log().count("asking for the enrolment status") == n
    assert t.alive()
    # --reenrol forgets it (naming the old ID) and enrols again.
    t.stop()
    mark = len(t.log())
    t.start("-b", BRAIN, "--reenrol", wait=False)
    t.wait_log(r"--reenrol: forgetting the enrolment as tentacle ID %d "
               % ident, start=mark)
    t.wait_log(r"enrolled with brain 127\.0\.0\.1 as tentacle ID (\d+) "
               r"\(pending\)", start=mark)
    new = int(t.state()["id"])
    assert new != ident
    all_ = tentacles(c)
    assert all_[new]["duplicate_of"] == ident, all_[new]


@pytest.mark.parametrize("case", ["expired", "used_up", "wrong_secret"])
def test_bad_token_leaves_the_tentacle_pending(brain, new_tentacle, case):
    c = brain.login()
    if case == "expired":
        tok = make_token(c, expires_in=1)["token"]
        time.sleep(2.2)
    elif case == "used_up":
        tok = make_token(c, uses=1)["token"]
        first = new_tentacle("127.0.0.3", brain)
        assert enrol_self(first, brain, tok)["status"] == "accepted"
    else:
        tok = make_token(c)["token"]
        flip = "0" if tok[0] != "0" else "1"
        tok = flip + tok[1:]
    t = new_tentacle("127.0.0.2", brain)
    st = enrol_self(t, brain, tok)
    assert st["status"] == "pending", case
    assert tentacles(c)[int(st["id"])]["enrolment"] == "pending"
    brain.wait_log(r"maestro: tentacle %s enrolled: .*pending"
                   % st["id"])
    ping_ok(t, "pending")


def test_token_of_another_brain_is_never_sent(brain, new_tentacle,
                                              other_cert):
    c = brain.login()
    tok = make_token(c)["token"]
    forged = tok[:32] + other_cert[2]       # the right secret, other brain
    t = new_tentacle("127.0.0.2", brain)
    t.start("-b", BRAIN, "-t", "-", stdin_text=forged + "\n", wait=False)
    assert t.wait_exit() == 1
    assert ("brain certificate FPR does not match the token's: refusing "
            "to enrol" in t.log())
    assert t.state() is None
    # The brain saw a TLS connection, never an enrolment request.
    time.sleep(0.5)
    assert "enrolment request from" not in brain.log()
    assert tentacles(c) == {}
    assert tok[:32] not in t.log() + brain.log()


def test_listening_everywhere_advertises_the_address_used(brain,
                                                         new_tentacle):
    """listen_address 0.0.0.0: the command address sent is the local
    address of the connection to the brain (not 0.0.0.0)."""
    c = brain.login()
    t = new_tentacle("0.0.0.0", brain)
    st = enrol_self(t, brain, make_token(c)["token"])
    x = tentacles(c)[int(st["id"])]
    assert x["address"] == "127.0.0.1", x
    assert x["port"] == t.command_port
    assert "0.0.0.0" not in x["facts"]["addresses"]
    ping_ok(t)


def test_self_enrolment_with_a_pinned_fingerprint(brain, new_tentacle,
                                                  other_cert):
    """brain_fingerprint set: only that brain certificate is enrolled
    with; another one is refused (logged) and retried, never sent a
    request."""
    c = brain.login()
    t = new_tentacle("127.0.0.2", brain, brain_fingerprint=other_cert[2])
    t.start("-b", BRAIN, wait=False)
    t.wait_log(r"register: 127\.0\.0\.1:\d+: brain certificate FPR "
               r"is not the configured brain_fingerprint: refusing to enrol")
    t.wait_log(r"(?s)refusing to enrol.*retrying in 1 s.*refusing to enrol")
    assert t.alive() and t.state() is None
    assert "enrolment request from" not in brain.log()
    assert tentacles(c) == {}
    # The right pin: enrolled.
    t.stop()
    t.conf["brain_fingerprint"] = brain_fpr(brain)
    t.write_conf()
    assert enrol_self(t, brain)["status"] == "pending"


def test_brain_unreachable_then_back(brain_factory, new_tentacle):
    # A brain that is not started yet: the tentacle retries.
    b = brain_factory({"io_timeout": 2}, verbose=True, start=False)
    t = new_tentacle("127.0.0.2", b)
    t.start("-b", BRAIN, wait=False)
    t.wait_log(r"self-enrolment failed: cannot connect: Connection refused; "
               r"retrying in 1 s")
    assert octotest.tcp_accepts(t.register_port, "127.0.0.2")
    b.start()
    t.wait_log(r"enrolled with brain 127\.0\.0\.1 as tentacle ID \d+ "
               r"\(pending\)")
    ping_ok(t, "pending")


# --------------------------------------------------- enrolment by the brain

def test_enrolment_by_ip_and_second_offer(brain, new_tentacle):
    c = brain.login()
    # Tied to this brain by fingerprint and address: still accepted.
    t = new_tentacle("127.0.0.2", brain, brain_fingerprint=brain_fpr(brain))
    t.conf["brain"] = BRAIN
    t.conf["brain_registerer_port"] = 1     # no self-enrolment that works
    t.write_conf()
    t.start()
    r = c.post("/api/tentacles", {"address": "127.0.0.2",
                                  "port": t.register_port})
    assert r.status == 201, r
    tt = r.json()["tentacle"]
    assert tt["enrolment"] == "accepted"
    assert tt["hostname"] == t.name
    assert tt["address"] == "127.0.0.2"
    assert tt["port"] == t.command_port
    t.wait_log(r"register: enrolled with brain 127\.0\.0\.1 as tentacle "
               r"ID %d \(accepted\)" % tt["id"])
    t.wait_log(r"command worker: listening on")
    st = t.state()
    assert st["id"] == str(tt["id"]) and st["status"] == "accepted"
    assert st["brain_address"] == BRAIN
    ping_ok(t)
    # It no longer listens on 7000: a second offer meets nothing.
    r = c.post("/api/tentacles", {"address": "127.0.0.2",
                                  "port": t.register_port})
    assert r.status in (502, 504), r
    assert "nothing listening" in r.json()["error"], r.json()
    assert len(tentacles(c)) == 1


@pytest.mark.parametrize("tie", ["address", "fingerprint"])
def test_offer_from_a_brain_we_are_not_tied_to(brain, new_tentacle,
                                               other_cert, tie):
    c = brain.login()
    if tie == "address":
        # brain = 127.0.0.9: it also tries to enrol there (and retries).
        t = new_tentacle("127.0.0.2", brain)
        t.conf["brain"] = "127.0.0.9"
        t.write_conf()
        why = r"not from our brain 127\.0\.0\.9"
    else:
        t = new_tentacle("127.0.0.2", brain,
                         brain_fingerprint=other_cert[2])
        why = r"certificate FPR is not the configured brain_fingerprint"
    t.start()
    r = c.post("/api/tentacles", {"address": "127.0.0.2",
                                  "port": t.register_port})
    assert r.status in (502, 504), r
    assert r.json()["error"], r.json()
    t.wait_log(r"register: 127\.0\.0\.1:\d+: enrolment offer refused: "
               + why)
    assert t.state() is None
    assert tentacles(c) == {}
    assert t.alive()
    assert octotest.tcp_accepts(t.register_port, "127.0.0.2")


# ------------------------------------------------ the handshake, refusals

def test_revoked_tentacle_is_refused(brain, new_tentacle):
    c = brain.login()
    t = new_tentacle("127.0.0.2", brain)
    st = enrol_self(t, brain, make_token(c)["token"])
    ident = int(st["id"])
    ping_ok(t)
    before = refused_handshakes(c)
    r = c.delete("/api/tentacles/%d" % ident)
    assert r.status == 200, r
    assert ident not in tentacles(c)
    r = ping_refused(t)
    assert "refused by the brain" in r.stderr or "handshake" in r.stderr
    brain.wait_log(r"commander: 127\.0\.0\.2:\d+: handshake refused: "
                   r"claimed ID %d: " % ident)
    wait_for(lambda: refused_handshakes(c) > before, 10,
             what="refused_handshakes to count it")


@pytest.mark.parametrize("how", ["wrong_key", "unknown_id"])
def test_wrong_key_or_unknown_id_is_refused(brain, new_tentacle, how):
    c = brain.login()
    t = new_tentacle("127.0.0.2", brain)
    st = enrol_self(t, brain, make_token(c)["token"])
    ident = int(st["id"])
    t.stop()
    text = original = t.state_file.read_text()
    if how == "wrong_key":
        bad = "%064x" % (int(st["key"], 16) ^ 1)
        text = text.replace(st["key"], bad)
        claimed = ident
    else:
        claimed = ident + 1000
        text = text.replace("id = %d\n" % ident, "id = %d\n" % claimed)
    t.state_file.write_text(text)
    before = refused_handshakes(c)
    r = ping_refused(t)
    if how == "wrong_key":
        # The tentacle proves itself first (protocol 2): the brain's
        # maestro finds its proof wrong, and the brain says so.
        assert "refused by the brain: wrong key" in r.stderr, r.stderr
    else:
        assert re.search(r"unknown .*tentacle ID", r.stderr), r.stderr
    brain.wait_log(r"commander: 127\.0\.0\.2:\d+: handshake refused: "
                   r"claimed ID %d: " % claimed)
    wait_for(lambda: refused_handshakes(c) > before, 10,
             what="refused_handshakes to count it")
    # The state as it was: accepted again.
    t.state_file.write_text(original)
    ping_ok(t)


def test_fake_brain_on_the_command_port(brain, new_tentacle, other_cert):
    c = brain.login()
    t = new_tentacle("127.0.0.2", brain)
    st = enrol_self(t, brain, make_token(c)["token"])
    crt, key, fpr = other_cert
    s = tls_to(t.command_port, crt, key, host="127.0.0.2")
    octotest.send_quietly(s, hello(PURPOSE_PING))
    data, how = octotest.read_until_closed(s)
    s.close()
    assert b"certificate FPR is not our brain's" in data, (data, how)
    t.wait_log(r"command worker: 127\.0\.0\.1:\d+: refused: certificate "
               r"FPR is not our brain's")
    # Only the brain's certificate gets as far as the handshake: with its
    # certificate but without the key, the proof fails (claimed ID kept).
    s = tls_to(t.command_port, brain.state_dir / "brain.crt",
               brain.state_dir / "brain.key", host="127.0.0.2")
    s.sendall(hello(PURPOSE_PING))
    assert read_frame(s)[0] == WIRE_HELLO_ACK
    s.sendall(auth_id(int(st["id"]) + 5))
    data, _ = octotest.read_until_closed(s)
    s.close()
    assert data[3] == WIRE_ERROR and b"unknown tentacle ID" in data, data
    t.wait_log(r"command worker: 127\.0\.0\.1:\d+: handshake refused "
               r"\(ID %d\): unknown tentacle ID" % (int(st["id"]) + 5))
    ping_ok(t)
    assert t.alive()


GARBAGE = [
    ("garbage", lambda s, ident: s.sendall(b"\x00\xffgarbage" * 20)),
    ("hello_then_garbage",
     lambda s, ident: (s.sendall(hello(PURPOSE_PING)), read_frame(s),
                       s.sendall(b"\x17junk junk junk" * 10))),
    ("hello_then_truncated",
     lambda s, ident: (s.sendall(hello(PURPOSE_PING)), read_frame(s),
                       s.sendall(frame(WIRE_AUTH_ID, b"\0" * 44)[:20]))),
    ("hello_then_oversized",
     lambda s, ident: (s.sendall(hello(PURPOSE_PING)), read_frame(s),
                       s.sendall(b"OC\x02\x06" +
                                 struct.pack(">I", 0x7fffffff)))),
    ("auth_id_then_garbage",
     lambda s, ident: (s.sendall(hello(PURPOSE_PING)), read_frame(s),
                       s.sendall(auth_id(ident)), read_frame(s),
                       s.sendall(frame(8, b"\x01\x02\x03")))),
    ("auth_id_then_truncated",
     lambda s, ident: (s.sendall(hello(PURPOSE_PING)), read_frame(s),
                       s.sendall(auth_id(ident)), read_frame(s),
                       s.sendall(frame(8, pstr(b"\0" * 32))[:15]))),
    ("auth_id_then_oversized",
     lambda s, ident: (s.sendall(hello(PURPOSE_PING)), read_frame(s),
                       s.sendall(auth_id(ident)), read_frame(s),
                       s.sendall(b"OC\x02\x08" +
                                 struct.pack(">I", 0x10000000)))),
]


def test_garbage_at_every_step_on_every_port(brain, new_tentacle):
    """6000 (registerer), 6001 (commander) and 7001 (command worker):
    garbage, truncated and oversized frames after HELLO and after AUTH_ID
    are closed, and every daemon keeps serving (a --ping after each)."""
    c = brain.login()
    t = new_tentacle("127.0.0.2", brain)
    st = enrol_self(t, brain, make_token(c)["token"])
    ident = int(st["id"])
    # The tentacle's certificate passes the brain's check for its ID; the
    # brain's passes the tentacle's pin.
    targets = [
        ("registerer", brain.registerer_port, "127.0.0.1", t.cert, t.key),
        ("commander", brain.commander_port, "127.0.0.1", t.cert, t.key),
        ("command worker", t.command_port, "127.0.0.2",
         brain.state_dir / "brain.crt", brain.state_dir / "brain.key"),
    ]
    for role, port, host, crt, key in targets:
        for name, act in GARBAGE:
            if role == "registerer" and name.startswith("auth_id"):
                # POLL is the registerer's authenticated purpose.
                def act2(s, i, act=act):
                    orig = s.sendall

                    def swap(data):
                        orig(data.replace(hello(PURPOSE_PING),
                                          hello(PURPOSE_POLL)))
                    s.sendall = swap
                    act(s, i)
                run = act2
            else:
                run = act
            s = tls_to(port, crt, key, host=host)
            try:
                run(s, ident)
                octotest.read_until_closed(s, timeout=10)
            except (OSError, ssl.SSLError, AssertionError) as exc:
                # A peer may close while we still write: that is fine,
                # as long as it closes.
                if isinstance(exc, AssertionError) and \
                        "closed" not in str(exc):
                    raise AssertionError("%s %s: %s" % (role, name, exc))
            finally:
                s.close()
            r = t.ping()
            assert r.returncode == 0, (role, name, r.stderr)
    assert t.alive() and brain.alive()
    ch = brain.children_health(c)
    assert all(ch[n]["restarts"] == 0 for n in octotest.CHILDREN), ch
    t.wait_log(r"command worker: 127\.0\.0\.1:\d+: handshake refused")


# ------------------------------------------------ persistence, many hosts

def test_state_survives_restarts_of_both_sides(brain, new_tentacle):
    c = brain.login()
    a = new_tentacle("127.0.0.2", brain)
    b = new_tentacle("127.0.0.3", brain)
    sa = enrol_self(a, brain, make_token(c)["token"])
    sb = enrol_self(b, brain)
    assert (sa["status"], sb["status"]) == ("accepted", "pending")
    before = tentacles(c)
    a.stop()
    b.stop()
    brain.stop()
    brain.start()
    c = brain.login()
    for t in (a, b):
        mark = len(t.log())
        t.start()       # no -b: the enrolment is what counts now
        t.wait_log(r"supervisor: enrolled with brain 127\.0\.0\.1 as "
                   r"tentacle ID %s" % t.state()["id"], start=mark)
        t.wait_log(r"command worker: listening on", start=mark)
    assert a.state() == sa and b.state() == sb
    after = tentacles(c)
    assert {i: (x["hostname"], x["enrolment"]) for i, x in after.items()} \
        == {i: (x["hostname"], x["enrolment"]) for i, x in before.items()}
    ping_ok(a, "accepted")
    ping_ok(b, "pending")
    # The pending one still polls the restarted brain, and learns.
    r = c.post("/api/tentacles/%s/approve" % sb["id"])
    assert r.status == 200, r
    wait_for(lambda: b.state()["status"] == "accepted", 10,
             what="the approval to reach the restarted tentacle")
    assert b.state()["id"] == sb["id"]


def test_three_tentacles_two_by_token_one_by_ip(brain, new_tentacle):
    c = brain.login()
    tok = make_token(c, uses=2)["token"]
    t2 = new_tentacle("127.0.0.2", brain)
    t3 = new_tentacle("127.0.0.3", brain)
    t4 = new_tentacle("127.0.0.4", brain)
    s2 = enrol_self(t2, brain, tok, how="stdin")
    s3 = enrol_self(t3, brain, tok, how="file")
    t4.start()
    r = t4.offer(c)     # with its pairing code
    assert r.status == 201, r
    t4.wait_log(r"command worker: listening on")
    s4 = t4.state()
    all_ = tentacles(c)
    assert len(all_) == 3
    for t, s in ((t2, s2), (t3, s3), (t4, s4)):
        x = all_[int(s["id"])]
        assert x["hostname"] == t.name
        assert x["address"] == t.address
        assert x["port"] == t.command_port
        assert x["enrolment"] == "accepted"
        assert s["status"] == "accepted"
        ping_ok(t)
    assert len({s2["id"], s3["id"], s4["id"]}) == 3
