"""The commander authenticates the connection that delivers a result with
the key the maestro gave it with the order (brain/peer.h, PEER_KEYS_MAX),
not with a key lookup per result; whether the tentacle is still accepted
is decided by the maestro when it stores the result. A tentacle revoked
while its script runs: its result is refused for good, nothing stored."""

import re

from octotest import wait_for
from test_enrolment import (brain, make_token,  # noqa: F401
                            new_tentacle, tentacle_bin)
from test_runs import run_and_wait
from test_runs_tentacle import enrolled


def test_result_of_a_tentacle_revoked_meanwhile(brain, new_tentacle):  # noqa
    c = brain.login()
    t, tid = enrolled(brain, new_tentacle, c,
                      {"slow": "sleep 2\necho late"}, retry_max=1)
    # A first run: the fast path stores it.
    (job,) = run_and_wait(c, "slow", [tid])["jobs"]
    assert job["state"] == "done", job

    r = c.post("/api/runs", {"script": "slow", "tentacles": [tid]})
    assert r.status == 202, r
    run_id = r.json()["id"]
    wait_for(lambda: c.get("/api/runs/%d" % run_id).json()["jobs"][0][
        "state"] == "running", 10, 0.05, "the job running")
    r = c.delete("/api/tentacles/%d" % tid)
    assert r.status == 200, r

    why = "the tentacle is no longer accepted"
    brain.wait_log(r"maestro: tentacle %d: result refused: %s"
                   % (tid, re.escape(why)), timeout=15)
    t.wait_log(r"result refused by the brain: %s; moved to .*/rejected/"
               % re.escape(why), timeout=10)
    job = c.get("/api/runs/%d" % run_id).json()["jobs"][0]
    assert job["state"] != "done" and not job.get("result"), job
