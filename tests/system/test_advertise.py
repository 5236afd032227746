"""Issue 13, item 2: a brain that listens on one address of several tells
the tentacles it enrols by address where to deliver (advertise_address,
by default listen_address when it is not a wildcard), and its own
connections leave from listen_address. Before, the tentacle took the
source address of the brain's connection (127.0.0.1 here) and its results
were never delivered ("Connection refused"), the job running for ever."""

import re

import pytest

from test_enrolment import new_tentacle, tentacle_bin  # noqa: F401
from test_runs import add_script, run_and_wait

LISTEN = "127.0.0.5"


@pytest.fixture
def brain5(brain_factory):  # noqa: F811
    return brain_factory({"io_timeout": 2, "listen_address": LISTEN},
                         verbose=True)


def offer(c, t):
    r = t.offer(c)      # with its pairing code
    assert r.status == 201, r
    tt = r.json()["tentacle"]
    t.wait_log(r"command worker: listening on")
    return tt


def test_results_delivered_to_listen_address(brain5, new_tentacle):  # noqa
    c = brain5.login()
    t = new_tentacle("127.0.0.6", brain5)     # its ports; not tied
    assert "brain" not in t.conf or not t.conf["brain"]
    add_script(t, "hello", "echo hi")
    t.start()
    t.wait_log(r"register: listening on")
    tt = offer(c, t)
    assert tt["enrolment"] == "accepted", tt
    # The brain's connection came from 127.0.0.1; the tentacle keeps the
    # address the brain told it.
    assert t.state()["brain_address"] == LISTEN, t.log()[-1500:]
    (job,) = run_and_wait(c, "hello", [tt["id"]])["jobs"]
    assert job["state"] == "done", job
    assert job["result"]["output"] == "hi\n"
    assert "result not delivered" not in t.log()
    # Every connection of the brain to the tentacle (the offer to its
    # 7000, the order and pings to its 7001) came from listen_address,
    # not from the address the kernel would choose (127.0.0.1).
    peers = connected_from(t)
    assert peers and peers == {LISTEN}, (peers, t.log()[-2000:])


def connected_from(t):
    """The addresses the tentacle's listeners logged connections from."""
    return set(re.findall(r"(\d+\.\d+\.\d+\.\d+):\d+: connected "
                          r"\(fingerprint", t.log()))


def test_advertise_address_differs_from_listen(brain_factory,  # noqa: F811
                                               new_tentacle):  # noqa: F811
    b = brain_factory({"io_timeout": 2, "listen_address": LISTEN,
                       "advertise_address": "127.0.0.7"}, verbose=True)
    c = b.login()
    r = c.get("/api/session")
    assert r.status == 200 and r.json()["brain_address"] == "127.0.0.7", r
    t = new_tentacle("127.0.0.6", b)
    t.start()
    t.wait_log(r"register: listening on")
    offer(c, t)
    # Results go where the brain said.
    assert t.state()["brain_address"] == "127.0.0.7"
