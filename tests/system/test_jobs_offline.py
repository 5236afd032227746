"""Jobs for offline hosts (issue 16): a job for a tentacle that is offline
waits (queued) and is sent when the tentacle answers the keepalive again;
one the commander could not deliver (unreachable) is retried the same
way; either expires at its run's expires_in. Every job ends in one
state, and a run's counts add up to its jobs."""

from octotest import wait_for
from test_api_schedules import parse_time
from test_enrolment import (enrol_self, make_token,  # noqa: F401
                            new_tentacle, tentacle_bin)
from test_keepalive import state_of
from test_runs import add_script

FINAL = ("done", "failed", "timeout", "refused", "expired", "unreachable")


def run_of(c, rid):
    return c.get("/api/runs/%d" % rid).json()


def wait_state(c, rid, state, timeout=20):
    return wait_for(lambda: (lambda j: j if all(
        x["state"] == state for x in j["jobs"]) else None)(run_of(c, rid)),
        timeout, 0.2, "run %d %s" % (rid, state))


def counts_add_up(run):
    s = run["summary"]
    assert sum(s["states"].values()) == s["jobs"] == len(run["jobs"]), s


def test_offline_job_waits_then_runs(brain_factory, new_tentacle):  # noqa
    b = brain_factory({"io_timeout": 2, "keepalive_interval": 1,
                       "keepalive_misses": 2}, verbose=True)
    c = b.login()
    t1 = new_tentacle("127.0.0.2", b)
    t2 = new_tentacle("127.0.0.3", b)
    ids = []
    for t in (t1, t2):
        add_script(t, "hello", "echo hi")
        ids.append(int(enrol_self(t, b, make_token(c)["token"])["id"]))
    a, other = ids
    wait_for(lambda: state_of(c, a)["state"] == "online", 15, 0.2, "online")
    t1.stop()
    wait_for(lambda: state_of(c, a)["state"] == "offline", 15, 0.2,
             "offline")

    # The offline one waits, queued; the online one runs now.
    r = c.post("/api/runs", {"script": "hello", "tentacles": "all"})
    assert r.status == 202, r
    waiting = r.json()["id"]
    run = wait_for(lambda: (lambda j: j if [x["state"] for x in j["jobs"]] ==
                            ["queued", "done"] else None)(
        run_of(c, waiting)), 20, 0.2, "one done, one queued")
    counts_add_up(run)
    assert run["jobs"][0]["tentacle"] == a
    # It says until when it waits: a day by default.
    waits = parse_time(run["jobs"][0]["expires_at"]) - parse_time(
        run["created_at"])
    assert 86400 - 2 <= waits <= 86400 + 2, run["jobs"][0]
    # Another that cannot wait long: expired when the tentacle is still
    # away after 2 s.
    r = c.post("/api/runs", {"script": "hello", "tentacles": [a],
                             "expires_in": 2})
    assert r.status == 202, r
    short = r.json()["id"]
    run = wait_state(c, short, "expired")
    assert run["jobs"][0]["message"], run
    assert run["jobs"][0]["result"] is None
    counts_add_up(run)
    assert run["summary"]["states"]["expired"] == 1
    b.wait_log(r"maestro: 1 job expired waiting for their tentacle")
    assert run_of(c, waiting)["jobs"][0]["state"] == "queued"

    # Back: the waiting job is delivered and runs; the expired one stays.
    t1.start(wait=False)
    run = wait_state(c, waiting, "done", timeout=30)
    assert run["jobs"][0]["result"]["output"] == "hi\n"
    counts_add_up(run)
    assert run_of(c, short)["jobs"][0]["state"] == "expired"


def test_unreachable_job_is_retried(brain_factory, new_tentacle):  # noqa
    # Misses enough that the tentacle is still "online" when its job is
    # sent: the commander cannot reach it (unreachable), and the job is
    # sent again when the tentacle answers.
    b = brain_factory({"io_timeout": 2, "keepalive_interval": 1,
                       "keepalive_misses": 1000}, verbose=True)
    c = b.login()
    t = new_tentacle("127.0.0.2", b)
    add_script(t, "hello", "echo hi")
    tid = int(enrol_self(t, b, make_token(c)["token"])["id"])
    wait_for(lambda: state_of(c, tid)["state"] == "online", 15, 0.2, "online")
    t.stop()
    r = c.post("/api/runs", {"script": "hello", "tentacles": [tid]})
    assert r.status == 202, r
    rid = r.json()["id"]
    run = wait_state(c, rid, "unreachable")
    assert run["jobs"][0]["message"]
    t.start(wait=False)
    run = wait_state(c, rid, "done", timeout=30)
    assert run["jobs"][0]["result"]["output"] == "hi\n"
    counts_add_up(run)
    assert all(j["state"] in FINAL for j in run["jobs"])
