"""What the dashboard reads to follow runs (issue 5 on the API of issue 4):
a run's summary (states and verdicts), the runs of one tentacle, a run
without its outputs for polling; a tentacle just accepted is pinged at
once (its facts and scripts show without waiting for the keepalive); the
session tells where tentacles enrol."""

import pytest

from octotest import wait_for
from test_enrolment import (enrol_self, make_token,  # noqa: F401
                            new_tentacle, tentacle_bin)
from test_runs import add_script, run_and_wait


@pytest.fixture
def slow_keepalive_brain(brain_factory):
    # An hour between keepalives: only the welcome ping can be seen here.
    return brain_factory({"io_timeout": 2, "keepalive_interval": 3600},
                         verbose=True)


def test_summary_filter_and_polling(slow_keepalive_brain,
                                    new_tentacle):  # noqa: F811
    b = slow_keepalive_brain
    c = b.login()
    ids = []
    for i, body in enumerate(["echo all good", "echo FAIL: x; exit 1"]):
        t = new_tentacle("127.0.0.%d" % (i + 2), b)
        add_script(t, "check", body)
        ids.append(int(enrol_self(t, b, make_token(c)["token"])["id"]))

    run = run_and_wait(c, "check", "all")
    s = run["summary"]
    assert s["jobs"] == 2 and s["finished"] == 2
    assert s["states"]["done"] == 2 and s["states"]["queued"] == 0
    assert (s["compliant"], s["findings"], s["errors"]) == (1, 1, 0), s

    # Polling without the outputs.
    light = c.get("/api/runs/%d?output=0" % run["id"]).json()
    assert all("output" not in j["result"] for j in light["jobs"])
    assert all("exit_status" in j["result"] for j in light["jobs"])
    full = c.get("/api/runs/%d?output=1" % run["id"]).json()
    assert all("output" in j["result"] for j in full["jobs"])

    # A run on the first tentacle only; the filter by tentacle.
    one = run_and_wait(c, "check", [ids[0]])
    listed = c.get("/api/runs").json()["runs"]
    assert [r["id"] for r in listed] == [one["id"], run["id"]]
    assert listed[0]["summary"]["compliant"] == 1
    assert listed[0]["jobs"] == 1 and listed[0]["finished"] == 1
    first = c.get("/api/runs?tentacle=%d" % ids[0]).json()["runs"]
    second = c.get("/api/runs?tentacle=%d" % ids[1]).json()["runs"]
    assert [r["id"] for r in first] == [one["id"], run["id"]]
    assert [r["id"] for r in second] == [run["id"]]
    assert c.get("/api/runs?tentacle=999").json()["runs"] == []
    # With the filter, each run also carries that tentacle's own job.
    mine = {r["id"]: r["tentacle_job"] for r in second}
    assert mine[run["id"]]["state"] == "done"
    assert mine[run["id"]]["result"]["exit_status"] == 1
    assert mine[run["id"]]["result"]["signal"] is None
    assert first[0]["tentacle_job"]["result"]["exit_status"] == 0
    assert "tentacle_job" not in listed[0]

    for q in ("/api/runs?tentacle=0", "/api/runs?tentacle=x",
              "/api/runs?host=1", "/api/runs?tentacle=1&tentacle=2",
              "/api/runs/%d?output=2" % run["id"],
              "/api/runs/%d?verbose=1" % run["id"]):
        r = c.get(q)
        assert r.status == 400, (q, r)
        assert r.json()["error"]


def test_welcome_ping_and_brain_address(slow_keepalive_brain,
                                        new_tentacle):  # noqa: F811
    b = slow_keepalive_brain
    c = b.login()
    session = c.get("/api/session").json()
    assert session["brain_address"] == "127.0.0.1"
    assert session["registerer_port"] == b.registerer_port

    t = new_tentacle("127.0.0.2", b)
    add_script(t, "hello", "echo hi")
    tid = int(enrol_self(t, b, make_token(c)["token"])["id"])

    def known():
        for x in c.get("/api/tentacles", background=True).json()[
                "tentacles"]:
            if x["id"] == tid and x["state"] == "online":
                return x
        return None
    # Long before the hour-long keepalive: facts and scripts are in.
    x = wait_for(known, 30, 0.2, "tentacle pinged after its enrolment")
    assert x["facts"].get("os") and x["last_seen"]
    names = [s["name"] for s in c.get("/api/scripts").json()["scripts"]]
    assert names == ["hello"]


def test_session_without_brain_address(brain_factory):
    b = brain_factory({"listen_address": "0.0.0.0"})
    c = b.login()
    assert c.get("/api/session").json()["brain_address"] is None
