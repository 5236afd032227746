"""A relay in the middle fails, even one that holds both real certificates
and keys: the handshake's proofs cover a TLS exporter value, and the two
TLS sessions a relay terminates have different ones.

The relay here is the strongest one a test can build: it presents the
brain's own certificate to the tentacle (so pinning is satisfied) and the
tentacle's own certificate to the brain, and forwards every byte of
plaintext unchanged. The handshake still refuses, and the same tentacle
authenticates at once without the relay in between.
"""

import re
import socket
import ssl
import threading

import pytest

import octotest
from test_enrolment import (enrol_self, make_token,  # noqa: F401
                            new_tentacle, ping_ok, tentacle_bin)


class Relay:
    """TLS on both sides, plaintext forwarded as is; counts the frames it
    saw in each direction (8-byte headers: 'OC', version, type, length)."""

    def __init__(self, server_cert, server_key, client_cert, client_key,
                 upstream_port):
        self.upstream = ("127.0.0.1", upstream_port)
        self.srv_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.srv_ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        self.srv_ctx.load_cert_chain(server_cert, server_key)
        self.cli_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        self.cli_ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        self.cli_ctx.check_hostname = False
        self.cli_ctx.verify_mode = ssl.CERT_NONE
        self.cli_ctx.load_cert_chain(client_cert, client_key)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self.frames = {"to_brain": [], "to_tentacle": []}
        self.errors = []
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        try:
            raw, _ = self.sock.accept()
            down = self.srv_ctx.wrap_socket(raw, server_side=True)
            up = self.cli_ctx.wrap_socket(
                socket.create_connection(self.upstream, timeout=5))
        except OSError as e:
            self.errors.append(e)
            return
        for s in (down, up):
            s.settimeout(5)
        threading.Thread(target=self.pump, args=(down, up, "to_brain"),
                         daemon=True).start()
        self.pump(up, down, "to_tentacle")

    def pump(self, src, dst, direction):
        while True:
            try:
                data = src.recv(65536)
            except OSError:
                data = b""
            if not data:
                for s in (src, dst):
                    try:
                        s.close()
                    except OSError:
                        pass
                return
            # Frames in these small exchanges arrive whole.
            i = 0
            while i + 8 <= len(data) and data[i:i + 2] == b"OC":
                self.frames[direction].append(data[i + 3])
                i += 8 + int.from_bytes(data[i + 4:i + 8], "big")
            try:
                dst.sendall(data)
            except OSError:
                return

    def close(self):
        self.sock.close()


def set_state(t, key, value):
    text = t.state_file.read_text()
    text, n = re.subn(r"^%s = .*$" % re.escape(key), "%s = %s" % (key, value),
                      text, flags=re.M)
    assert n == 1
    t.state_file.write_text(text)


@pytest.fixture
def slow_brain(brain_factory):
    # The relay (Python threads) adds its own delays on a loaded machine:
    # both sides wait longer than the usual 2 s per step for it.
    return brain_factory({"io_timeout": 10}, verbose=True)


def test_relay_with_both_certificates_fails(slow_brain,
                                            new_tentacle):  # noqa: F811
    brain = slow_brain
    c = brain.login()
    t = new_tentacle("127.0.0.4", brain, io_timeout=10)
    enrol_self(t, brain, make_token(c)["token"])
    t.stop()
    ping_ok(t)

    relay = Relay(str(brain.state_dir / "brain.crt"),
                  str(brain.state_dir / "brain.key"),
                  str(t.cert), str(t.key),
                  brain.commander_port)
    try:
        set_state(t, "brain_commander_port", relay.port)
        r = t.ping()
        assert r.returncode == 1, (r.stdout, r.stderr)
        # The tentacle proves itself first: the brain's maestro checks that
        # proof against its own session's exporter value and refuses it.
        # (The relay may close the tentacle's side as soon as the brain
        # closes, before it forwarded the refusal: seen once under load.)
        refused = "refused by the brain: wrong key" in r.stderr
        assert refused or "closed by peer" in r.stderr, r.stderr
        # The relay really was in the middle and forwarded the handshake
        # up to the proof: HELLO, AUTH_ID and AUTH_PROOF went to the brain,
        # HELLO_ACK, AUTH_CHALLENGE and the refusal came back.
        assert relay.frames["to_brain"][:3] == [2, 6, 8], relay.frames
        assert relay.frames["to_tentacle"][:2] == [3, 7], relay.frames
        if refused:
            assert relay.frames["to_tentacle"][:3] == [3, 7, 1], \
                relay.frames
        assert not relay.errors, relay.errors
    finally:
        relay.close()

    # Without the relay, the same tentacle authenticates.
    set_state(t, "brain_commander_port", brain.commander_port)
    ping_ok(t)
