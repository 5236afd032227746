"""The keepalive's own queue (issue 13 item 10, issue 18): with 200 accepted
tentacles that take io_timeout each to fail (their addresses accept TCP and
never answer TLS), pings wait in a queue of their own, one per tentacle, and
a run on a live tentacle still completes; the queue stays bounded and its
counters are in GET /api/health. And a run on those 200 does not hold up a
later run on the live one (the commander's orders: one queue per run)."""

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


def live_and_dead(brain_factory, new_tentacle, port):  # noqa: F811
    """A brain (keepalive every second, no tentacle ever offline) with one
    live tentacle and DEAD accepted ones on the silent listeners."""
    b = brain_factory({"io_timeout": IO_TIMEOUT, "keepalive_interval": 1,
                       "keepalive_misses": 1000})
    c = b.login()
    t = new_tentacle("127.0.0.2", b)
    add_script(t, "hello", "echo hello")
    tid = int(enrol_self(t, b, make_token(c)["token"])["id"])
    add_dead_tentacles(b, port)
    return b, c, tid


def test_runs_not_starved_by_dead_tentacles(brain_factory,
                                            new_tentacle):  # noqa: F811
    port = free_port()
    socks = silent_listeners(port)
    try:
        b, c, tid = live_and_dead(brain_factory, new_tentacle, port)

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


def test_a_run_on_dead_tentacles_holds_up_no_other_run(brain_factory,
                                                       new_tentacle):  # noqa: F811
    """Orders wait in one queue per run, taken in turn: a run on 200 dead
    tentacles (each order holds one of the commander's slots for the
    io_timeout) does not hold up a run started after it on a live one,
    and the keepalive goes on."""
    port = free_port()
    socks = silent_listeners(port)
    try:
        b, c, tid = live_and_dead(brain_factory, new_tentacle, port)
        dead = [x["id"] for x in c.get("/api/tentacles?limit=1000").json()[
            "tentacles"] if x["id"] != tid]
        assert len(dead) == DEAD

        r = c.post("/api/runs", {"script": "hello", "tentacles": dead})
        assert r.status == 202, r
        flood = r.json()["id"]
        run = run_and_wait(c, "hello", [tid], timeout=60)
        (job,) = run["jobs"]
        assert job["state"] == "done", job
        assert job["result"]["output"] == "hello\n"

        # In one queue, the live order would have waited for 136 of the
        # dead ones to time out (64 at once): taken in turn, it went at
        # the first slot free, in the first round or the second.
        jobs = c.get("/api/runs/%d?limit=1000" % flood).json()["jobs"]
        assert len(jobs) == DEAD
        ended = sum(j["state"] == "unreachable" for j in jobs)
        assert ended < 2 * 64, sorted(j["state"] for j in jobs)

        # The flood ends, every job in one state, and the live tentacle
        # is still pinged meanwhile.
        def flood_ended():
            j = c.get("/api/runs/%d?limit=1000" % flood).json()["jobs"]
            return j if all(x["state"] == "unreachable" for x in j) \
                else None
        wait_for(flood_ended, 120, 0.5, "every dead job unreachable")
        seen = {x["id"]: x for x in c.get("/api/tentacles").json()[
            "tentacles"]}[tid]["last_seen"]
        wait_for(lambda: {x["id"]: x for x in c.get(
            "/api/tentacles").json()["tentacles"]}[tid]["last_seen"] != seen,
            60, 0.5, "the live tentacle pinged again")
    finally:
        for s in socks:
            s.close()
