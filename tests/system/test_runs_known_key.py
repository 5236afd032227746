"""The commander holds no key (issue 12): a connection that delivers a
result is authenticated by the maestro, with the key it alone holds, at
the moment the tentacle proves itself. A tentacle revoked while its script
runs has no key left in the brain: its delivery is refused at the
handshake, nothing is stored, and the tentacle keeps the result (it is not
told to drop it: a revocation is the admin's, not the result's fault)."""

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
    (job,) = run_and_wait(c, "slow", [tid])["jobs"]
    assert job["state"] == "done", job

    r = c.post("/api/runs", {"script": "slow", "tentacles": [tid]})
    assert r.status == 202, r
    run_id = r.json()["id"]
    wait_for(lambda: c.get("/api/runs/%d" % run_id).json()["jobs"][0][
        "state"] == "running", 10, 0.05, "the job running")
    r = c.delete("/api/tentacles/%d" % tid)
    assert r.status == 200, r

    brain.wait_log(r"commander: [\d.]+:\d+: handshake refused: claimed ID "
                   r"%d: %s" % (tid, re.escape("unknown or revoked tentacle "
                                               "ID")), timeout=15)
    t.wait_log(r"refused by the brain: unknown or revoked tentacle ID",
               timeout=10)
    job = c.get("/api/runs/%d" % run_id).json()["jobs"][0]
    assert job["state"] != "done" and not job.get("result"), job
