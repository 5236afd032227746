"""The pairing code of enrolment by address (issue 13, SPEC "Enrolment by
address"): a tentacle that is not tied to a brain (neither `brain` nor
`brain_fingerprint`) enrols by address only with a brain that proves it
knows its code, bound to the TLS session, before the tentacle sends
anything of value; the tentacle proves it back. Right code, wrong code
(either way), no code, a new code after 3 wrong ones, the pause after
too many, a relay in the middle, `pairing = off`.

Run:  OCTO_BUILD=/path/to/build /usr/bin/python3 -m pytest -q \
          tests/system/test_pairing.py
"""

import os
import re
import socket
import ssl
import stat
import threading

import pytest

import octotest
from test_enrolment import (frame, hello, new_tentacle,  # noqa: F401
                            other_cert, pstr, read_frame, tentacle_bin, tentacles, tls_to,
                            PURPOSE_ENROL, WIRE_ERROR, WIRE_HELLO_ACK)
from test_handshake_relay import Relay
from test_tentacle_privsep import roomy_tentacle  # noqa: F401

WIRE_ENROL_REQUEST = 4
WIRE_PAIR_REQUIRED, WIRE_PAIR_PROOF = 16, 17
CODE_RE = re.compile(r"^[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}$")


@pytest.fixture
def brain(brain_factory):
    return brain_factory({"io_timeout": 2}, verbose=True)


def waiting(new_tentacle, address="127.0.0.2", brain=None, **overrides):
    """A tentacle that waits on its register port to be enrolled."""
    t = new_tentacle(address, brain, **overrides)
    t.start(wait=False)
    t.wait_log(r"register: listening on")
    return t


def wrong(code):
    """Another valid code."""
    first = "B" if code[0] == "A" else "A"
    return first + code[1:]


def no_request_sent(t):
    assert "enrolment request sent" not in t.log(), t.log()


# ------------------------------------------------------------------ the code

def test_code_file_terminal_and_not_in_log_lines(brain, new_tentacle):
    t = waiting(new_tentacle, brain=brain)
    code = t.pairing_code()
    assert CODE_RE.match(code), code
    st = os.stat(t.pairing_file)
    assert stat.S_IMODE(st.st_mode) == 0o600
    assert st.st_uid == os.geteuid()
    assert t.pairing_file.read_text() == code + "\n"
    # --no-daemon: on the terminal, as its own line; in no log line (a
    # daemon's log lines go to syslog).
    log = t.log()
    assert re.search(r"^pairing code: %s$" % code, log, re.M), log
    for line in log.splitlines():
        if line.startswith("octoTentacle["):
            assert code not in line and code.replace("-", "") not in line
    # A restart keeps the code (the file), and shows it again.
    t.stop()
    mark = len(t.log())
    t.start(wait=False)
    t.wait_log(r"register: listening on", start=mark)
    assert t.pairing_code() == code
    assert re.search(r"^pairing code: %s$" % code, t.log()[mark:], re.M)


@pytest.mark.parametrize("what", ["an hour old", "readable by others",
                                  "not a code", "a FIFO", "a symlink"])
def test_old_or_odd_code_file_replaced(brain, new_tentacle, tmp_path, what):
    t = new_tentacle("127.0.0.2", brain)
    t.state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    f = t.pairing_file
    old = "ABCD-EFGH-JKLM"
    if what == "a FIFO":
        os.mkfifo(f, 0o600)
    elif what == "a symlink":
        target = tmp_path / "elsewhere"
        target.write_text(old + "\n")
        target.chmod(0o600)
        f.symlink_to(target)
    else:
        f.write_text(old + "\n" if what != "not a code" else "hello\n")
        f.chmod(0o644 if what == "readable by others" else 0o600)
        if what == "an hour old":
            past = os.stat(f).st_mtime - 3601
            os.utime(f, (past, past))
    t.start(wait=False)
    t.wait_log(r"register: listening on")
    t.wait_log(r"supervisor: new pairing code made")
    code = t.pairing_code()
    assert code != old and CODE_RE.match(code)
    st = os.lstat(f)
    assert stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600
    if what == "a symlink":
        assert (tmp_path / "elsewhere").read_text() == old + "\n"


def test_no_code_when_tied_or_off(new_tentacle, brain):
    t = new_tentacle("127.0.0.2", brain, brain_fingerprint="0" * 64)
    r = t.run("--pairing-code")
    assert r.returncode == 1 and "tied to its brain" in r.stderr, r
    t = new_tentacle("127.0.0.3", brain, pairing="off")
    r = t.run("--pairing-code")
    assert r.returncode == 1 and "pairing = off" in r.stderr, r
    t = new_tentacle("127.0.0.4", brain, pairing="maybe")
    r = t.run("-n")
    assert r.returncode == 2 and "pairing" in r.stderr, r


# ------------------------------------------------------ through the brain

def test_right_code_enrols(brain, new_tentacle):
    c = brain.login()
    t = waiting(new_tentacle, brain=brain)
    code = t.pairing_code()
    # Either case, with or without the dashes.
    r = t.offer(c, code=code.lower().replace("-", ""))
    assert r.status == 201, r
    tt = r.json()["tentacle"]
    assert tt["hostname"] == t.name and tt["enrolment"] == "accepted"
    t.wait_log(r"register: 127\.0\.0\.1:\d+: the brain knows the pairing "
               r"code")
    t.wait_log(r"command worker: listening on")
    assert t.state()["id"] == str(tt["id"])
    brain.wait_log(r"registerer: 127\.0\.0\.2:\d+: the host proved its "
                   r"pairing code")
    # Enrolled: the code is gone.
    assert not t.pairing_file.exists()
    r = t.run("--pairing-code")
    assert r.returncode == 1 and "enrolled" in r.stderr, r
    assert code not in brain.log() and code not in t.log().replace(
        "pairing code: " + code, "")


def test_no_code_refused_when_required(brain, new_tentacle):
    c = brain.login()
    t = waiting(new_tentacle, brain=brain)
    r = t.offer(c, code="")
    assert r.status == 403, r
    assert "needs its pairing code" in r.json()["error"], r.json()
    t.wait_log(r"enrolment offer abandoned by the brain: this host needs "
               r"its pairing code")
    no_request_sent(t)
    assert t.state() is None and tentacles(c) == {}
    assert t.alive()


@pytest.mark.parametrize("code", ["ABCD-EFGH-IJK", "ABCD-EFGH-IJK1",
                                  "ABCD-EFGH-IJKLM", 12, ""])
def test_bad_code_shapes(brain, code):
    c = brain.login()
    r = c.post("/api/tentacles", {"address": "127.0.0.2", "port": 7000,
                                  "code": code})
    if code == "":
        # An empty code is no code: nothing listens on that port.
        assert r.status in (403, 502, 504), r
    else:
        assert r.status == 400, r
        assert "pairing code" in r.json()["error"], r.json()


def test_wrong_code_refused_then_a_new_code(brain, new_tentacle):
    c = brain.login()
    t = waiting(new_tentacle, brain=brain)
    code = t.pairing_code()
    for n in (1, 2, 3):
        r = t.offer(c, code=wrong(code))
        assert r.status == 403, r
        assert "wrong pairing code" in r.json()["error"], r.json()
        t.wait_log(r"enrolment offer refused: wrong pairing code "
                   r"\(%d of 3\)" % n)
    no_request_sent(t)
    assert tentacles(c) == {}
    # After the third: a new code, shown on the terminal.
    t.wait_log(r"3 wrong pairing codes: making a new code")
    new = t.pairing_code(other_than=code)
    assert new != code
    t.wait_log(r"^pairing code: %s$" % new)
    t.wait_log(r"register: listening on", start=t.log().index(new))
    # The old one is good for nothing now; the new one enrols.
    r = t.offer(c, code=code)
    assert r.status == 403, r
    r = t.offer(c, code=new)
    assert r.status == 201, r
    t.wait_log(r"command worker: listening on")


def test_pause_after_too_many_wrong_codes(brain, new_tentacle):
    c = brain.login()
    t = waiting(new_tentacle, brain=brain)
    code = None
    for lost in range(3):
        code = t.pairing_code(other_than=code)
        mark = len(t.log())
        for _ in range(3):
            assert t.offer(c, code=wrong(code)).status == 403
        t.wait_log(r"3 wrong pairing codes: making a new code", start=mark)
        t.wait_log(r"register: listening on", start=mark)
    # Nine wrong guesses in the hour: even the right code waits.
    code = t.pairing_code(other_than=code)
    t.wait_log(r"pairing paused after too many wrong codes")
    r = t.offer(c, code=code)
    assert r.status == 403, r
    assert "paused" in r.json()["error"], r.json()
    no_request_sent(t)
    assert tentacles(c) == {}
    # Refused without counting: the code stays.
    assert t.pairing_code() == code


# ---------------------------------------------- a brain that does not know

def fake_brain(t, brain):
    """TLS to the register with a certificate (the tentacle is tied to
    none), HELLO{ENROL}: (socket, frames it answered)."""
    s = tls_to(t.register_port, brain.state_dir / "brain.crt",
               brain.state_dir / "brain.key", host=t.address)
    s.sendall(hello(PURPOSE_ENROL))
    got = [read_frame(s)[0], read_frame(s)[0]]
    return s, got


def test_wrong_brain_proof_refused_by_the_tentacle(brain, new_tentacle):
    t = waiting(new_tentacle, brain=brain)
    s, got = fake_brain(t, brain)
    # Nothing but the acknowledgement and the demand for a proof.
    assert got == [WIRE_HELLO_ACK, WIRE_PAIR_REQUIRED]
    s.sendall(frame(WIRE_PAIR_PROOF, pstr(os.urandom(32))))
    ftype, payload = read_frame(s)
    assert ftype == WIRE_ERROR and b"wrong pairing code" in payload
    s.close()
    t.wait_log(r"enrolment offer refused: wrong pairing code \(1 of 3\)")
    no_request_sent(t)


@pytest.mark.parametrize("what", ["enrol_request", "short_proof",
                                  "silence"])
def test_no_proof_no_request(brain, new_tentacle, what):
    t = waiting(new_tentacle, brain=brain)
    s, got = fake_brain(t, brain)
    assert got == [WIRE_HELLO_ACK, WIRE_PAIR_REQUIRED]
    if what == "enrol_request":
        s.sendall(frame(WIRE_ENROL_REQUEST, b"\0" * 40))
    elif what == "short_proof":
        s.sendall(frame(WIRE_PAIR_PROOF, pstr(os.urandom(31))))
    try:
        ftype, payload = read_frame(s)
        assert ftype == WIRE_ERROR, (ftype, payload)
        if what != "silence":
            assert b"pairing code" in payload, payload
    except (AssertionError, OSError, ssl.SSLError) as e:
        # silence: the register's io_timeout may just close.
        assert what == "silence", e
    s.close()
    no_request_sent(t)
    assert "wrong pairing code (" not in t.log()


# ------------------------------------------- a host that does not know

class FakeHost:
    """A TLS server that plays a tentacle waiting on its register port:
    HELLO_ACK and PAIR_REQUIRED, then `answer` to the brain's PAIR_PROOF.
    Records the frames the brain sent."""

    def __init__(self, cert, key, answer):
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        self.ctx.load_cert_chain(str(cert), str(key))
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.port = self.sock.getsockname()[1]
        self.answer = answer
        self.got = []
        self.errors = []
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        try:
            raw, _ = self.sock.accept()
            raw.settimeout(5)
            s = self.ctx.wrap_socket(raw, server_side=True)
            self.got.append(read_frame(s))          # HELLO
            s.sendall(frame(WIRE_HELLO_ACK) + frame(WIRE_PAIR_REQUIRED))
            self.got.append(read_frame(s))          # PAIR_PROOF
            s.sendall(self.answer)
            while True:
                self.got.append(read_frame(s))
        except (AssertionError, OSError, ssl.SSLError) as e:
            self.errors.append(e)

    def close(self):
        self.sock.close()


@pytest.mark.parametrize("answer", ["wrong proof", "enrol request"])
def test_host_that_cannot_prove_the_code_refused(brain, other_cert,
                                                 answer):
    c = brain.login()
    if answer == "wrong proof":
        reply = frame(WIRE_PAIR_PROOF, pstr(os.urandom(32)))
    else:
        reply = frame(WIRE_ENROL_REQUEST, b"\0" * 40)
    host = FakeHost(other_cert[0], other_cert[1], reply)
    try:
        r = c.post("/api/tentacles", {"address": "127.0.0.1",
                                      "port": host.port,
                                      "code": "ABCD-EFGH-JKLM"})
        assert r.status == 403, r
        why = r.json()["error"]
        if answer == "wrong proof":
            assert "could not prove the pairing code" in why, why
        else:
            assert "did not prove the pairing code" in why, why
        # The brain proved first (a proof of 32 bytes), then refused:
        # no ENROL_REPLY.
        octotest.wait_for(lambda: len(host.got) >= 3, 5, 0.05,
                          "the brain's refusal")
        types = [t for t, _ in host.got]
        assert types[:2] == [2, WIRE_PAIR_PROOF], types
        assert len(host.got[1][1]) == 4 + 32
        assert types[2] == WIRE_ERROR and 5 not in types, types
    finally:
        host.close()
    assert tentacles(c) == {}


# ------------------------------------------------------------ the relay

def test_relay_cannot_reuse_the_brains_proof(brain_factory, new_tentacle):
    brain = brain_factory({"io_timeout": 10}, verbose=True)
    c = brain.login()
    t = waiting(new_tentacle, brain=brain, io_timeout=10)
    code = t.pairing_code()
    # The strongest relay: the tentacle's own certificate toward the
    # brain, the brain's toward the tentacle, plaintext forwarded as is.
    relay = Relay(str(t.cert), str(t.key),
                  str(brain.state_dir / "brain.crt"),
                  str(brain.state_dir / "brain.key"), t.register_port)
    relay.upstream = (t.address, t.register_port)
    # The brain answers when the relayed attempt ends, which may be its
    # io_timeout (10 s) if the relay does not pass the tentacle's close on
    # at once: wait longer than that (seen once on a loaded machine).
    c.timeout = 40
    try:
        r = c.post("/api/tentacles", {"address": "127.0.0.1",
                                      "port": relay.port, "code": code})
        assert r.status in (403, 502), r
        # The brain's proof went through, and the tentacle refused it: it
        # is bound to the brain <-> relay session, not the relay's own.
        t.wait_log(r"enrolment offer refused: wrong pairing code "
                   r"\(1 of 3\)")
        # (The relay's names are for a tentacle that connects: here its
        # "to_brain" side carries what the brain sent to the tentacle.)
        from_brain, from_tentacle = (relay.frames["to_brain"],
                                     relay.frames["to_tentacle"])
        assert WIRE_PAIR_PROOF in from_brain, relay.frames
        assert from_tentacle[:2] == [WIRE_HELLO_ACK, WIRE_PAIR_REQUIRED]
        assert WIRE_ENROL_REQUEST not in from_tentacle, relay.frames
        assert WIRE_PAIR_PROOF not in from_tentacle, relay.frames
        assert not relay.errors, relay.errors
    finally:
        relay.close()
    no_request_sent(t)
    # Without the relay, the same code enrols.
    assert t.offer(c, code=code).status == 201


# ------------------------------------------------------------ pairing off

def test_pairing_off(brain, new_tentacle):
    c = brain.login()
    t = waiting(new_tentacle, brain=brain, pairing="off")
    assert not t.pairing_file.exists()
    # A code given for a host that has none is not proven: refused.
    r = t.offer(c, code="ABCD-EFGH-JKLM")
    assert r.status == 403, r
    assert "did not prove" in r.json()["error"] or \
        "no pairing code here" in r.json()["error"], r.json()
    assert tentacles(c) == {}
    r = t.offer(c, code="")
    assert r.status == 201, r


# ------------------------------------------------- privilege separation

@pytest.mark.skipif(os.geteuid() != 0, reason="dropping privileges needs "
                    "root")
def test_code_stays_roots_with_privilege_separation(brain,
                                                    roomy_tentacle):  # noqa: F811
    import pwd
    nobody = pwd.getpwnam("nobody")
    c = brain.login()
    t = roomy_tentacle("127.0.0.2", brain, user="nobody")
    t.start(wait=False)
    t.wait_log(r"register: listening on")
    code = t.pairing_code()
    st = os.stat(t.pairing_file)
    # The register runs as nobody, who owns state_dir but cannot read
    # the code: only root (the supervisor, --pairing-code) can.
    assert st.st_uid == 0 and stat.S_IMODE(st.st_mode) == 0o600
    assert os.stat(t.state_dir).st_uid == nobody.pw_uid
    # A restart keeps it (the file is still root's own).
    t.stop()
    mark = len(t.log())
    t.start(wait=False)
    t.wait_log(r"register: listening on", start=mark)
    assert t.pairing_code() == code
    # Wrong, then right: the register (as nobody) checks with the code
    # its root supervisor gave it.
    assert t.offer(c, code=wrong(code)).status == 403
    r = t.offer(c, code=code)
    assert r.status == 201, r
    t.wait_log(r"command worker: listening on")
    assert not t.pairing_file.exists()
