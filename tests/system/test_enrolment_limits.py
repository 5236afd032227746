"""Issue 13, item 8: token-less enrolment was unbounded (every request a
pending row). pending_max caps the tentacles waiting for an admin, and
enrolment_without_token = refuse refuses them all; a refusal is logged by
the brain and told to the tentacle."""

import time

from octotest import wait_for
from test_enrolment import (BRAIN, enrol_self, make_token,  # noqa: F401
                            new_tentacle, tentacle_bin, tentacles)


def start_tokenless(t):
    t.conf["poll_interval"] = 1
    t.write_conf()
    t.start("-b", BRAIN, wait=False)


def test_pending_cap(brain_factory, new_tentacle):  # noqa: F811
    b = brain_factory({"io_timeout": 2, "pending_max": 2}, verbose=True)
    c = b.login()
    for i in range(2):
        enrol_self(new_tentacle("127.0.0.%d" % (2 + i), b), b)
    t = new_tentacle("127.0.0.4", b)
    start_tokenless(t)
    why = "too many tentacles wait for an admin"
    t.wait_log(r"enrolment refused by the brain: %s" % why)
    wait_for(lambda: why in b.stderr(), 10, 0.1, "the brain's log line")
    pending = [x for x in tentacles(c).values()
               if x["enrolment"] == "pending"]
    assert len(pending) == 2, pending
    # A token still enrols beyond the cap.
    t.stop()
    enrol_self(new_tentacle("127.0.0.5", b), b, make_token(c)["token"])
    assert len(tentacles(c)) == 3


def test_refuse_without_token(brain_factory, new_tentacle):  # noqa: F811
    b = brain_factory({"io_timeout": 2,
                       "enrolment_without_token": "refuse"}, verbose=True)
    c = b.login()
    t = new_tentacle("127.0.0.2", b)
    start_tokenless(t)
    why = "enrolment without a token is refused"
    t.wait_log(r"enrolment refused by the brain: %s" % why)
    wait_for(lambda: why in b.stderr(), 10, 0.1, "the brain's log line")
    assert tentacles(c) == {}
    # With a token it enrols.
    t.stop()
    enrol_self(new_tentacle("127.0.0.3", b), b, make_token(c)["token"])
    assert len(tentacles(c)) == 1



def away_from_a_minute_boundary(margin=20):
    """The audit log counts per clock minute: start a burst that fits in
    one (waits at most margin seconds)."""
    left = 60 - time.time() % 60
    if left < margin:
        time.sleep(left + 0.5)


def test_enrolment_rate_per_source(brain_factory, new_tentacle):  # noqa: F811
    """A burst of token-less requests from one source is cut off after
    enrolment_rate a minute (refused, logged once, audited as one row with
    a count) while another source still enrols."""
    b = brain_factory({"io_timeout": 2, "enrolment_rate": 2}, verbose=True)
    c = b.login()
    why = ("too many enrolment requests without a valid token from this "
           "address")
    away_from_a_minute_boundary()
    burst = [new_tentacle("127.0.0.20", b) for _ in range(4)]
    for t in burst:
        start_tokenless(t)
    wait_for(lambda: sum(why in t.log() for t in burst) >= 2, 20, 0.2,
             "two tentacles of the burst refused")
    wait_for(lambda: len(tentacles(c)) >= 2, 10, 0.1, "two pending")
    for t in burst:
        t.stop()
    listed = tentacles(c).values()
    assert len(listed) == 2, listed
    assert {x["enrolment"] for x in listed} == {"pending"}
    # The brain said it once for the minute, naming the source (the
    # registerer's debug lines of each connection aside).
    lines = [x for x in b.stderr().splitlines()
             if "enrolment refused: " + why in x]
    assert len(lines) == 1, lines
    assert "127.0.0.20: enrolment refused" in lines[0], lines
    # One audit row for the source and the minute, with a count.
    r = c.get("/api/audit?action=enrolment_refused")
    assert r.status == 200, r
    rows = [e for e in r.json()["events"] if e["peer"] == "127.0.0.20"]
    assert len(rows) == 1, rows
    refused = sum(t.log().count(why) for t in burst)
    assert rows[0]["count"] == refused >= 2, (rows, refused)
    # Another source is not held up.
    t = new_tentacle("127.0.0.21", b)
    start_tokenless(t)
    wait_for(lambda: len(tentacles(c)) == 3, 10, 0.1, "the other enrols")
    assert why not in t.log()
