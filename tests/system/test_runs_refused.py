"""A result the brain refuses for good (issue 4, "a result for a job the
tentacle was never given -> refused and logged"): the brain logs the
refusal naming the tentacle and the reason and stores nothing; RESULT_ACK
says "refused", so the tentacle moves the file to spool/rejected/ and never
sends it again (a transient failure is still retried, see
test_runs_tentacle.py); both daemons keep serving."""

import os
import re
import time

from octotest import wait_for
from test_enrolment import (brain, make_token,  # noqa: F401
                            new_tentacle, tentacle_bin)
from test_runs import run_and_wait
from test_runs_tentacle import enrolled, spool_file

REFUSAL = "a result for a job this tentacle was never given"


def refusals(brain, tid):
    """The maestro's refusal lines about tentacle tid."""
    rx = re.compile(r"maestro: tentacle %d: result refused: (.*)$" % tid,
                    re.M)
    return rx.findall(brain.stderr())


def results_of(client, tid):
    r = client.get("/api/tentacles/%d/results" % tid)
    assert r.status == 200, r
    return r.json()["results"]


def test_result_for_another_tentacles_job(brain, new_tentacle):  # noqa
    c = brain.login()
    # retry_max 1: a result that were retried would come back every second.
    a, aid = enrolled(brain, new_tentacle, c, {"hello": "echo from a"},
                      address="127.0.0.2", retry_max=1)
    b, bid = enrolled(brain, new_tentacle, c, {"hello": "echo from b"},
                      address="127.0.0.3", retry_max=1)
    (bjob,) = run_and_wait(c, "hello", [bid])["jobs"]
    assert bjob["state"] == "done", bjob
    b_result = results_of(c, bid)
    assert len(b_result) == 1
    # The API does not show job IDs; the brain's log (-v) does.
    stored = re.findall(r"maestro: job (\d+): result stored", brain.stderr())
    assert len(stored) == 1, brain.stderr()
    bjob_id = int(stored[0])

    # A's spool gets a result for B's job, and one for a job never made.
    a.stop()
    spool = a.state_dir / "spool"
    spool.mkdir(mode=0o700, exist_ok=True)
    planted = [bjob_id, 999999]
    for job in planted:
        (spool / ("job-%d.result" % job)).write_bytes(
            spool_file(job, output=b"forged by a\n"))
    mark = len(brain.stderr())
    a.start()

    # The brain refuses each one once, naming A and the reason.
    wait_for(lambda: len(refusals(brain, aid)) >= len(planted), 20, 0.1,
             "the brain's refusals")
    for why in refusals(brain, aid):
        assert why == REFUSAL, why
    # The tentacle logs it, moves it aside, never sends it again.
    for job in planted:
        a.wait_log(r"job %d: result refused by the brain: %s; moved to "
                   r".*/rejected/, not sent again" % (job, re.escape(
                       REFUSAL)))
    wait_for(lambda: not list(spool.glob("job-*.result")), 10, 0.1,
             "nothing left to deliver")
    rejected = sorted(p.name for p in (spool / "rejected").iterdir())
    assert rejected == sorted("job-%d.result" % j for j in planted)
    assert oct((spool / "rejected").stat().st_mode & 0o777) == "0o700"
    # Several retry periods later: still one refusal each.
    time.sleep(3.5)
    assert len(refusals(brain, aid)) == len(planted), brain.stderr()[mark:]
    assert "result not delivered" not in a.log()
    # Nothing stored: A has no result, B's is unchanged.
    assert results_of(c, aid) == []
    assert results_of(c, bid) == b_result
    # Audited.
    audit = c.get("/api/audit")
    if audit.status == 200:
        text = str(audit.json())
        assert "result_refused" in text, text[:2000]

    # Both keep serving: a normal run on A is stored.
    (ajob,) = run_and_wait(c, "hello", [aid])["jobs"]
    assert ajob["state"] == "done", ajob
    assert ajob["result"]["output"] == "from a\n"
    assert a.alive() and brain.alive()


def test_rejected_is_bounded(brain, new_tentacle):  # noqa: F811
    c = brain.login()
    t, tid = enrolled(brain, new_tentacle, c, {"hello": "echo hi"},
                      retry_max=1)
    t.stop()
    spool = t.state_dir / "spool"
    spool.mkdir(mode=0o700, exist_ok=True)
    n = 103
    now = time.time() - 1000
    for i in range(n):
        p = spool / ("job-%d.result" % (500000 + i))
        p.write_bytes(spool_file(500000 + i))
        os.utime(p, (now + i, now + i))     # oldest first
    t.start()
    wait_for(lambda: not list(spool.glob("job-*.result")), 60, 0.2,
             "every planted result refused")
    wait_for(lambda: len(refusals(brain, tid)) >= n, 20, 0.2,
             "the brain's refusals")
    left = sorted(int(p.name[4:-7]) for p in (spool / "rejected").iterdir())
    # The 100 newest are kept.
    assert left == list(range(500000 + n - 100, 500000 + n)), left
    (job,) = run_and_wait(c, "hello", [tid])["jobs"]
    assert job["state"] == "done", job
    assert t.alive() and brain.alive()
