"""The keepalive's own queue (issue 13 item 10, issue 18): with 200 accepted
tentacles that take io_timeout each to fail (their addresses accept TCP and
never answer TLS), pings wait in a queue of their own, one per tentacle, and
a run on a live tentacle still completes; the queue stays bounded and its
counters are in GET /api/health."""

import socket
import sqlite3
import time

from octotest import free_port, wait_for
from test_enrolment import (enrol_self, make_token,  # noqa: F401
                            new_tentacle, tentacle_bin)
from test_runs import add_script, run_and_wait

DEAD = 200
IO_TIMEOUT = 3


def silent_listeners(port):
    """Sockets on 127.0.3.1..200:port that listen and never accept: the
    kernel completes the TCP handshake, nobody answers TLS."""
    socks = []
    for i in range(1, DEAD + 1):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind(("127.0.3.%d" % i, port))
        s.listen(1024)
        socks.append(s)
    return socks


def add_dead_tentacles(brain, port):
    db = sqlite3.connect(str(brain.state_dir / "brain.db"), timeout=30)
    now = int(time.time())
    with db:
        db.executemany(
            "INSERT INTO tentacles (hostname, address, port, key, "
            "fingerprint, enrolment, enrolled_at) VALUES (?, ?, ?, ?, ?, "
            "'accepted', ?)",
            [("dead%d.example.org" % i, "127.0.3.%d" % i, port, "00" * 32,
              "%064x" % i, now) for i in range(1, DEAD + 1)])
    db.close()


def test_runs_not_starved_by_dead_tentacles(brain_factory,
                                            new_tentacle):  # noqa: F811
    port = free_port()
    socks = silent_listeners(port)
    try:
        b = brain_factory({"io_timeout": IO_TIMEOUT, "keepalive_interval": 1,
                           "keepalive_misses": 1000})
        c = b.login()
        t = new_tentacle("127.0.0.2", b)
        add_script(t, "hello", "echo hello")
        tid = int(enrol_self(t, b, make_token(c)["token"])["id"])
        add_dead_tentacles(b, port)

        # A few intervals and timeouts: 200 pings a second asked for, a
        # few a second fail. Today they queue behind each other and
        # before the run's order, without end.
        time.sleep(2 * IO_TIMEOUT + 1)
        run = run_and_wait(c, "hello", [tid], timeout=30)
        (job,) = run["jobs"]
        assert job["state"] == "done", job
        assert job["result"]["output"] == "hello\n"

        # At most one ping per tentacle waits; the rest were refused as
        # duplicates, none dropped at the bound.
        for _ in range(5):
            ka = b.health(c)["keepalive"]
            assert ka["waiting"] <= DEAD + 1, ka
            assert 0 < ka["in_flight"] <= 32, ka
            assert ka["dropped"] == 0, ka
            time.sleep(0.5)
        assert ka["deduplicated"] > 0 and ka["sent"] > 0, ka
        assert ka["waiting_max"] >= DEAD, ka

        # The live tentacle is still pinged, among the dead ones.
        def last_seen():
            return {x["id"]: x for x in
                    c.get("/api/tentacles").json()["tentacles"]}[tid][
                        "last_seen"]
        seen = last_seen()
        wait_for(lambda: last_seen() != seen, 60, 0.5,
                 "the live tentacle pinged again")
    finally:
        for s in socks:
            s.close()
