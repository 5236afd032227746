"""TLS 1.3 session resumption between brain and tentacle (issue 4's
benchmark): the commander resumes its session with a tentacle's 7001 for
the next order, the tentacle resumes its session with the brain's 6001 for
the next result; both sides log "resumed session" at -v. The pinned
certificate and the handshake still decide: a tentacle whose certificate
changed is refused even though the commander holds a session for it."""

import re
import shutil

import octotest
from octotest import wait_for
from test_enrolment import (enrol_self, make_token,  # noqa: F401
                            new_tentacle, tentacle_bin)
from test_runs import add_script, run_and_wait

import pytest


@pytest.fixture
def brain(brain_factory):
    # No keepalive during the test: every 7001 connection is an order.
    return brain_factory({"io_timeout": 2, "keepalive_interval": 3600},
                         verbose=True)


def tls_up(brain, peer_rx):
    """(resumed?) of each commander 'TLS up' line for peers matching."""
    rx = re.compile(r"commander: (%s): TLS up( \(resumed session\))?, "
                    r"certificate ([0-9a-f]{64})$" % peer_rx, re.M)
    return [bool(m.group(2)) for m in rx.finditer(brain.stderr())]


def test_resumed_both_ways(brain, new_tentacle):  # noqa: F811
    c = brain.login()
    t = new_tentacle("127.0.0.2", brain)
    add_script(t, "hello", "echo hello")
    tid = int(enrol_self(t, brain, make_token(c)["token"])["id"])
    port = t.command_port
    for _ in range(4):
        (job,) = run_and_wait(c, "hello", [tid])["jobs"]
        assert job["state"] == "done", job
        assert job["result"]["output"] == "hello\n"
    # Orders: the commander connects to 127.0.0.2:<command_port>. The first
    # is a full handshake, the next ones resume.
    orders = tls_up(brain, r"127\.0\.0\.2:%d" % port)
    assert len(orders) == 4, brain.stderr()
    assert orders[0] is False and all(orders[1:]), orders
    # A quick script's result comes back on its order's connection
    # (issue 18): no connection to 6001.
    assert tls_up(brain, r"127\.0\.0\.2:(?!%d\b)\d+" % port) == []
    log = t.log()
    assert len(re.findall(r"command worker: 127\.0\.0\.1:\d+: resumed "
                          r"session$", log, re.M)) == 3, log
    assert len(re.findall(r"command worker: brain 127\.0\.0\.1:(?!%d\b)"
                          r"\d+: job \d+: result delivered$" %
                          brain.commander_port, log, re.M)) == 4, log
    # Each connection still ran the handshake (its own exporter).
    assert len(re.findall(r"tentacle %d authenticated \(order\)" % tid,
                          brain.stderr())) == 4
    assert "authenticated (result)" not in brain.stderr()


def test_results_over_6001_resumed(brain, new_tentacle):  # noqa: F811
    """A result that comes after the commander stopped waiting for it on
    the order's connection (io_timeout 2: it waits 1 s) is delivered over
    6001, and those connections resume their session too."""
    c = brain.login()
    t = new_tentacle("127.0.0.2", brain)
    add_script(t, "slow", "sleep 3\necho hello")
    tid = int(enrol_self(t, brain, make_token(c)["token"])["id"])
    port = t.command_port
    for _ in range(3):
        (job,) = run_and_wait(c, "slow", [tid], timeout=30)["jobs"]
        assert job["state"] == "done", job
        assert job["result"]["output"] == "hello\n"
    # Results: the tentacle connects to 6001 from an ephemeral port.
    results = tls_up(brain, r"127\.0\.0\.2:(?!%d\b)\d+" % port)
    assert len(results) == 3, brain.stderr()
    assert results[0] is False and all(results[1:]), results
    # The tentacle sees the same, as client (6001).
    log = t.log()
    assert len(re.findall(r"command worker: brain 127\.0\.0\.1:%d: resumed "
                          r"session$" % brain.commander_port, log,
                          re.M)) == 2, log
    assert len(re.findall(r"tentacle %d authenticated \(result\)" % tid,
                          brain.stderr())) == 3


def test_changed_certificate_not_accepted(brain, new_tentacle,  # noqa
                                          tmp_path):
    c = brain.login()
    t = new_tentacle("127.0.0.2", brain)
    add_script(t, "hello", "echo hello")
    tid = int(enrol_self(t, brain, make_token(c)["token"])["id"])
    for _ in range(2):
        (job,) = run_and_wait(c, "hello", [tid])["jobs"]
        assert job["state"] == "done", job
    port = t.command_port
    assert tls_up(brain, r"127\.0\.0\.2:%d" % port) == [False, True]
    enrolled_fpr = t.fingerprint()

    # Same enrolment (ID, key), same address and port, another key pair:
    # the commander still holds a session for this tentacle.
    t.stop()
    saved = tmp_path / "saved"
    saved.mkdir()
    shutil.copy(t.cert, saved / "tentacle.crt")
    shutil.copy(t.key, saved / "tentacle.key")
    crt, key = octotest.make_client_cert(tmp_path / "other", "impostor")
    shutil.copy(crt, t.cert)
    shutil.copy(key, t.key)
    assert t.fingerprint() != enrolled_fpr
    mark = len(brain.stderr())
    t.start()
    (job,) = run_and_wait(c, "hello", [tid])["jobs"]
    assert job["state"] in ("unreachable", "failed"), job
    assert job["result"] is None, job
    after = brain.stderr()[mark:]
    assert re.search(r"127\.0\.0\.2:%d: handshake refused: claimed ID %d: "
                     r"certificate is not the one enrolled for this "
                     r"tentacle" % (port, tid), after), after
    assert "resumed session" not in after, after
    # Nor does it get a result in: its delivery is refused too.
    assert "authenticated (result)" not in after, after

    # The enrolled certificate back: a full handshake, then resumption.
    t.stop()
    shutil.copy(saved / "tentacle.crt", t.cert)
    shutil.copy(saved / "tentacle.key", t.key)
    t.start()
    mark = len(brain.stderr())
    for _ in range(2):
        (job,) = run_and_wait(c, "hello", [tid])["jobs"]
        assert job["state"] == "done", job
    after = brain.stderr()[mark:]
    ups = re.findall(r"127\.0\.0\.2:%d: TLS up( \(resumed session\))?"
                     % port, after)
    assert ups == ["", " (resumed session)"], after
    wait_for(lambda: t.alive() and brain.alive(), 1, 0.1, "both alive")
