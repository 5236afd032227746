"""A job's life as the API shows it (issue 4): queued, sent, running, then
done; a tentacle killed during a run (the job shows it, whether the
tentacle comes back or not); a result spooled before the tentacle died is
accepted when it comes back; the flow on 20 tentacles."""

import os
import signal
import time

import pytest

from octotest import wait_for
from test_enrolment import (enrol_self, make_token,  # noqa: F401
                            new_tentacle, tentacle_bin)
from test_runs import add_script, run_and_wait

# Short keepalive so that the tests see the brain notice.
FAST = {"io_timeout": 2, "keepalive_interval": 1, "keepalive_misses": 2}


def start_run(c, script, tentacles):
    r = c.post("/api/runs", {"script": script, "tentacles": tentacles})
    assert r.status == 202, r
    return r.json()["id"]


def job(c, run_id, index=0):
    return c.get("/api/runs/%d" % run_id, background=True).json()[
        "jobs"][index]


def wait_job(c, run_id, state, what):
    """The job of a one-tentacle run once in that state."""
    return wait_for(lambda: (lambda x: x if x["state"] == state else None)(
        job(c, run_id)), 30, 0.05, what)


def kill9(t):
    """kill -9 of the whole tentacle (supervisor, register, command
    worker); the script, in its own process group, is orphaned."""
    os.killpg(t.proc.pid, signal.SIGKILL)
    t.proc.wait(10)


@pytest.fixture
def fast_brain(brain_factory):
    return brain_factory(FAST, verbose=True)


def test_running_then_done(fast_brain, new_tentacle):  # noqa: F811
    c = fast_brain.login()
    t = new_tentacle("127.0.0.2", fast_brain)
    add_script(t, "slow", "sleep 2\necho over")
    enrol_self(t, fast_brain, make_token(c)["token"])
    run_id = start_run(c, "slow", "all")
    states = set()

    def done():
        s = job(c, run_id)["state"]
        states.add(s)
        return s == "done"
    wait_for(done, 30, 0.05, "job done")
    # It was seen running (the tentacle acknowledged, the script ran
    # 2 s), and never went through an error state on the way.
    assert "running" in states, states
    assert states <= {"queued", "sent", "running", "done"}, states
    assert job(c, run_id)["result"]["output"] == "over\n"


def test_tentacle_killed_and_restarted(fast_brain,
                                       new_tentacle):  # noqa: F811
    c = fast_brain.login()
    t = new_tentacle("127.0.0.2", fast_brain)
    add_script(t, "long", "sleep 30\necho never seen")
    add_script(t, "quick", "echo alive")
    enrol_self(t, fast_brain, make_token(c)["token"])
    run_id = start_run(c, "long", "all")
    wait_job(c, run_id, "running", "job running")
    kill9(t)
    time.sleep(0.3)     # a restart takes that long in life, not 1 ms
    t.start(wait=True)
    # The command worker started after the order: its result is lost.
    j = wait_job(c, run_id, "failed", "job marked failed")
    assert "restarted during the run" in j["message"], j
    assert j["result"] is None
    fast_brain.wait_log(r"tentacle \d+: 1 running job lost: the tentacle "
                        r"restarted during the run")
    # The tentacle serves again.
    again = run_and_wait(c, "quick", "all")
    assert again["jobs"][0]["state"] == "done"
    assert again["jobs"][0]["result"]["output"] == "alive\n"


def test_tentacle_killed_stays_down(fast_brain, new_tentacle):  # noqa: F811
    c = fast_brain.login()
    t = new_tentacle("127.0.0.2", fast_brain)
    add_script(t, "long", "sleep 30")
    enrol_self(t, fast_brain, make_token(c)["token"])
    run_id = start_run(c, "long", "all")
    wait_job(c, run_id, "running", "job running")
    kill9(t)
    j = wait_job(c, run_id, "failed", "job marked failed")
    assert "offline during the run" in j["message"], j
    tentacles = c.get("/api/tentacles").json()["tentacles"]
    assert tentacles[0]["state"] == "offline"


def test_result_spooled_before_death(fast_brain, new_tentacle):  # noqa: F811
    """The script finishes while the brain is down; the tentacle spools
    the result and is killed; the brain comes back and, the tentacle
    silent, marks the job failed; the tentacle comes back and delivers:
    the job is done with its real result, stored once."""
    c = fast_brain.login()
    t = new_tentacle("127.0.0.2", fast_brain, retry_max=1)
    add_script(t, "short", "sleep 1\necho spooled")
    enrol_self(t, fast_brain, make_token(c)["token"])
    run_id = start_run(c, "short", "all")
    wait_job(c, run_id, "running", "job running")
    fast_brain.stop()
    spool = t.state_dir / "spool"
    wait_for(lambda: list(spool.glob("*.result")), 20, 0.1,
             "result spooled")
    kill9(t)

    fast_brain.start()
    c = fast_brain.login()
    j = wait_job(c, run_id, "failed", "job marked failed while it is away")
    assert "offline" in j["message"], j

    t.start(wait=True)
    j = wait_job(c, run_id, "done", "job done when it is back")
    assert j["result"]["output"] == "spooled\n"
    assert j["message"] == ""
    tid = j["tentacle"]
    assert len(c.get("/api/tentacles/%d/results" % tid).json()[
        "results"]) == 1
    wait_for(lambda: not list(spool.glob("*.result")), 20, 0.1,
             "spool empty")


def test_flow_on_twenty(brain_factory, new_tentacle):  # noqa: F811
    b = brain_factory({"io_timeout": 5}, verbose=False)
    c = b.login()
    token = make_token(c, uses=20)["token"]
    ts = []
    for i in range(20):
        t = new_tentacle("127.3.0.%d" % (i + 1), b)
        add_script(t, "whoami-test", "echo host %d" % i)
        f = t.dir / "token"
        f.write_text(token + "\n")
        f.chmod(0o600)
        t.start("-b", "127.0.0.1", "--token-file", str(f), wait=False)
        ts.append(t)
    for t in ts:
        t.wait_log(r"command worker: listening on", timeout=60)
    run = run_and_wait(c, "whoami-test", "all", timeout=60)
    assert len(run["jobs"]) == 20
    outputs = sorted(j["result"]["output"] for j in run["jobs"])
    assert outputs == sorted("host %d\n" % i for i in range(20))
    assert all(j["state"] == "done" and j["result"]["exit_status"] == 0
               for j in run["jobs"])
    # Each tentacle's history holds exactly its one result.
    for j in run["jobs"]:
        r = c.get("/api/tentacles/%d/results" % j["tentacle"]).json()
        assert len(r["results"]) == 1
