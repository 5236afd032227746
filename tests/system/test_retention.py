"""Retention (issue 16): results, jobs and runs older than retention_days
are pruned by the maestro, except each host's latest result of each
script; audit lines older than audit_retention_days too. The results are
made through the real protocol, then aged in the database while the brain
is stopped."""

import sqlite3
import time

from octotest import wait_for
from test_enrolment import (enrol_self, make_token,  # noqa: F401
                            new_tentacle, tentacle_bin)
from test_runs import add_script, run_and_wait

DAY = 86400


def age_runs(db, runs, at):
    """Make runs (IDs), their jobs and results as old as at (a Unix
    time), in the database connection db (the brain stopped)."""
    q = ",".join("?" * len(runs))
    db.execute("UPDATE runs SET created_at = ? WHERE id IN (%s)" % q,
               [at] + runs)
    db.execute("UPDATE jobs SET updated_at = ? WHERE run_id IN (%s)" % q,
               [at] + runs)
    db.execute("UPDATE results SET received_at = ? WHERE job_id IN "
               "(SELECT id FROM jobs WHERE run_id IN (%s))" % q, [at] + runs)


def test_old_results_pruned_but_latest(brain_factory, new_tentacle):  # noqa
    b = brain_factory({"io_timeout": 2, "retention_days": 1,
                       "audit_retention_days": 2}, verbose=True)
    c = b.login()
    t = new_tentacle("127.0.0.2", b)
    add_script(t, "one", "echo one")
    add_script(t, "two", "echo two")
    tid = int(enrol_self(t, b, make_token(c)["token"])["id"])
    runs = [run_and_wait(c, s, [tid]) for s in ("one", "one", "two", "one")]
    results = [r["jobs"][0]["result"]["id"] for r in runs]
    assert len(set(results)) == 4
    fresh = run_and_wait(c, "two", [tid])

    b.stop()
    now = int(time.time())
    db = sqlite3.connect(str(b.state_dir / "brain.db"))
    with db:
        # Two days old, but the last run of "two"; the audit log three.
        age_runs(db, [r["id"] for r in runs], now - 2 * DAY)
        db.execute("UPDATE audit SET at = ?", (now - 3 * DAY,))
        (n_audit,) = db.execute("SELECT count(*) FROM audit").fetchone()
    db.close()
    assert n_audit > 3

    b.start()
    c = b.login()

    def kept():
        ids = sorted(r["id"] for r in
                     c.get("/api/tentacles/%d/results" % tid).json()
                     ["results"])
        return ids if len(ids) == 2 else None
    ids = wait_for(kept, 15, 0.2, "old results pruned")
    # The latest "one" (old, but the latest of its script) and the fresh
    # "two"; the old "two" went, it is not the latest.
    assert ids == sorted([results[3], fresh["jobs"][0]["result"]["id"]])
    # The runs whose results went are gone with their jobs.
    listed = [r["id"] for r in c.get("/api/runs").json()["runs"]]
    assert not set(r["id"] for r in runs[:3]) & set(listed), listed
    assert runs[3]["id"] in listed and fresh["id"] in listed
    assert c.get("/api/runs/%d" % runs[0]["id"]).status == 404
    # The audit log: only what happened since the restart.
    ev = wait_for(lambda: (lambda e: e if all(
        x["at"] >= time.strftime("%Y-%m-%dT", time.gmtime(now - DAY))
        for x in e) else None)(c.get("/api/audit").json()["events"]),
        15, 0.2, "old audit lines pruned")
    assert ev and len(ev) < n_audit

    # The database stays in WAL and gives the pruned pages back.
    db = sqlite3.connect(str(b.state_dir / "brain.db"))
    try:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA auto_vacuum").fetchone()[0] == 2
        wait_for(lambda: db.execute("PRAGMA freelist_count").fetchone()[0]
                 == 0, 15, 0.2, "free pages given back")
    finally:
        db.close()
