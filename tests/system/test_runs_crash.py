"""kill -9 of the brain while 50 results are in flight (issue 4): after a
restart, every result is stored exactly once. Fifty real tentacles, one
brain killed with SIGKILL (its children die with it), then started again on
the same database."""

import os
import signal

from octotest import proc_alive, wait_for
from test_enrolment import (brain, new_tentacle,  # noqa: F401
                            tentacle_bin, make_token)
from test_runs import add_script

N = 50


def test_kill_brain_with_results_in_flight(brain, new_tentacle):  # noqa: F811
    c = brain.login()
    token = make_token(c, uses=N)["token"]
    ts = []
    for i in range(N):
        t = new_tentacle("127.2.0.%d" % (i + 1), brain)
        add_script(t, "slow", "sleep 2\necho finished")
        f = t.dir / "token"
        f.write_text(token + "\n")
        f.chmod(0o600)
        t.start("-b", "127.0.0.1", "--token-file", str(f), wait=False)
        ts.append(t)
    wait_for(lambda: all((t.state() or {}).get("status") == "accepted"
                         for t in ts), 120, 0.2, "all tentacles enrolled")
    for t in ts:
        t.wait_log(r"command worker: listening on", timeout=30)

    run = c.post("/api/runs", {"script": "slow", "tentacles": "all"})
    assert run.status == 202, run
    run_id = run.json()["id"]

    def jobs():
        return c.get("/api/runs/%d" % run_id, background=True).json()["jobs"]
    # Every tentacle has its order and is running the script (2 s): kill
    # the brain before any result can be delivered.
    wait_for(lambda: all(j["state"] == "running" for j in jobs()), 60, 0.05,
             "every order acknowledged")
    pids = brain.pids()
    os.kill(pids["maestro"], signal.SIGKILL)
    wait_for(lambda: not any(proc_alive(p) for p in pids.values()), 20,
             0.05, "every brain process gone")
    assert not any(j["state"] == "done" for j in _jobs_on_disk(brain,
                                                              run_id))

    # Scripts finish while the brain is down; deliveries fail and retry.
    brain.start()
    c = brain.login()
    wait_for(lambda: all(j["state"] == "done" for j in
                         c.get("/api/runs/%d" % run_id).json()["jobs"]),
             120, 0.2, "every result stored after the restart")
    js = c.get("/api/runs/%d" % run_id).json()["jobs"]
    assert len(js) == N
    for j in js:
        assert j["result"]["output"] == "finished\n", j
        results = c.get("/api/tentacles/%d/results" % j["tentacle"]).json()
        assert len(results["results"]) == 1, (j, results)
    # And nothing is left in any spool.
    for t in ts:
        spool = t.state_dir / "spool"
        wait_for(lambda: not list(spool.glob("*.result")), 30, 0.2,
                 "spool of %s empty" % t.name)


def _jobs_on_disk(brain, run_id):
    """Jobs as the database holds them while the brain is down: read the
    SQLite file directly (the brain is the only writer; it is dead)."""
    import sqlite3
    db = sqlite3.connect("file:%s?mode=ro" % (brain.state_dir / "brain.db"),
                         uri=True)
    try:
        return [{"state": s} for (s,) in db.execute(
            "SELECT state FROM jobs WHERE run_id = ?", (run_id,))]
    finally:
        db.close()
