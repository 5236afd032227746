#!/usr/bin/python3
"""make bench, retention (issue 16): the size of the brain's database
after RUNS runs on HOSTS hosts, and what retention makes of it, printed
as a table (never asserted).

The database is made by a real octoBrain (its migrations, its
auto_vacuum), then filled by this script with what RUNS runs of one
audit script on HOSTS tentacles store: a job and a result per host and
run, an output of LINES finding lines and their findings (as the brain
stores them: brain/findings.c). The oldest runs are then aged past
retention_days and the brain started again with -v: it prunes them in
batches from its event loop; the figures are the database's size before
and after, the time the pruning took, and the longest batch (each batch
is one turn of the maestro's loop: its longest stall), that of each kind
of turn (the deletes, the vacuum's steps; the WAL's checkpoints, which
run in a thread of their own and stall nothing, apart), and
the machine's load (other work on the cores makes the turns longer).

Environment: HOSTS (default 1000), RUNS (default 100), KEEP (runs kept
young, default 10), LINES (default 20), OCTO_BUILD (default build/).
"""

import os
import re
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "system"))
import octotest  # noqa: E402
from test_retention import age_runs  # noqa: E402

HOSTS = int(os.environ.get("HOSTS", "1000"))
RUNS = int(os.environ.get("RUNS", "100"))
KEEP = int(os.environ.get("KEEP", "10"))
LINES = int(os.environ.get("LINES", "20"))
DAY = 86400


def size_mb(path):
    total = 0
    for suffix in ("", "-wal"):
        p = Path(str(path) + suffix)
        if p.exists():
            total += p.stat().st_size
    return total / 1e6


def fill(db_path):
    lines = ["%s check.%02d the text of check %d on this host, as an audit "
             "script prints it" % ("FAIL" if i % 5 == 0 else "OK", i, i)
             for i in range(LINES)]
    output = ("\n".join(lines) + "\n").encode()
    now = int(time.time())
    db = sqlite3.connect(str(db_path))
    with db:
        db.executemany(
            "INSERT INTO tentacles (hostname, address, port, key, "
            "fingerprint, enrolment, state, enrolled_at, last_seen) "
            "VALUES (?, '192.0.2.1', 7001, ?, ?, 'accepted', 'offline', "
            "?, ?)", [("host%04d.example.org" % i, "a" * 64, "b" * 64, now,
                       now) for i in range(HOSTS)])
        ids = [r[0] for r in db.execute("SELECT id FROM tentacles")]
    for run in range(RUNS):
        at = now - (RUNS - run) * 3600
        with db:
            rid = db.execute("INSERT INTO runs (script, created_at, "
                             "created_by) VALUES ('audit', ?, 'bench')",
                             (at,)).lastrowid
            db.executemany("INSERT INTO jobs (run_id, tentacle_id, hostname,"
                           " state, updated_at) VALUES (?, ?, ?, 'done', ?)",
                           [(rid, t, "host%04d.example.org" % t, at)
                            for t in ids])
            jobs = [r[0] for r in db.execute(
                "SELECT id FROM jobs WHERE run_id = ?", (rid,))]
            db.executemany("INSERT INTO results (job_id, outcome, "
                           "exit_status, signal, started_at_ms, duration_ms,"
                           " truncated, output, received_at) VALUES (?, 1, "
                           "1, 0, ?, 120, 0, ?, ?)",
                           [(j, at * 1000, output, at) for j in jobs])
            res = [r[0] for r in db.execute(
                "SELECT r.id FROM results r JOIN jobs j ON j.id = r.job_id "
                "WHERE j.run_id = ?", (rid,))]
            db.executemany("INSERT INTO findings (result_id, seq, check_id, "
                           "status, text) VALUES (?, ?, ?, ?, ?)",
                           [(r, i, "check.%02d" % i, "FAIL" if i % 5 == 0
                             else "OK", lines[i][11:])
                            for r in res for i in range(LINES)])
    db.close()


def main():
    tmp = Path(tempfile.mkdtemp(prefix="octo-bench-retention-"))
    b = octotest.Brain(tmp / "brain", {"retention_days": 2}, verbose=True)
    b.start()
    b.stop()
    db_path = b.state_dir / "brain.db"
    t0 = time.monotonic()
    fill(db_path)
    fill_s = time.monotonic() - t0
    full = size_mb(db_path)

    # All but the KEEP newest runs: older than retention_days.
    now = int(time.time())
    db = sqlite3.connect(str(db_path))
    with db:
        age_runs(db, [r[0] for r in db.execute(
            "SELECT id FROM runs ORDER BY id LIMIT ?", (RUNS - KEEP,))],
            now - 10 * DAY)
    db.close()

    mark = 0       # b.log() is the current run's
    t0 = time.monotonic()
    b.start()
    b.wait_log(r"retention: \d+ rows pruned", timeout=3600, start=mark)
    # (That line comes once the freed pages went back too.)
    prune_s = time.monotonic() - t0
    b.stop()
    log = b.log()[mark:]
    batches = [int(x) for x in re.findall(r"retention: .* in (\d+) ms", log)]
    cpu = sorted(int(x) for x in re.findall(
        r"retention: .* in \d+ ms \(CPU (\d+) ms\)", log))
    kinds = {}
    for kind, pattern in (
            ("deletes", r"retention: \d+ [a-z ]+ pruned .* in (\d+) ms"),
            ("checkpoints in the loop", r"retention: checkpoint, .* in (\d+) ms"),
            ("checkpoints, their thread (no stall)",
             r"database: checkpoint in its own thread, .* in (\d+) ms"),
            ("vacuum steps", r"retention: \d+ free pages .* in (\d+) ms")):
        kinds[kind] = sorted(int(x) for x in re.findall(pattern, log))
    db = sqlite3.connect(str(db_path))
    (results,) = db.execute("SELECT count(*) FROM results").fetchone()
    db.close()
    pruned = size_mb(db_path)

    print()
    print("Octopus retention: %d runs on %d hosts, %d finding lines each"
          % (RUNS, HOSTS, LINES))
    print("%-46s %12s" % ("figure", "value"))
    print("%-46s %12.1f" % ("database after %d runs (MB)" % RUNS, full))
    print("%-46s %12.1f" % ("  filling it (s, this script's inserts)",
                            fill_s))
    print("%-46s %12.1f" % ("database after retention, %d runs kept (MB)"
                            % KEEP, pruned))
    print("%-46s %12d" % ("  results kept", results))
    print("%-46s %12.1f" % ("  pruning, start to done (s)", prune_s))
    print("%-46s %12d" % ("  batches", len(batches)))
    if batches:
        batches.sort()
        print("%-46s %12d" % ("  longest batch: loop stall (ms)",
                              batches[-1]))
        print("%-46s %12d" % ("  median batch (ms)",
                              batches[len(batches) // 2]))
        print("%-46s %12s" % ("  batches over 30 / over 50 ms", "%d / %d" % (
            sum(x > 30 for x in batches), sum(x > 50 for x in batches))))
    if cpu:
        print("%-46s %12s" % ("  the maestro's CPU a batch, longest / median",
                              "%d / %d" % (cpu[-1], cpu[len(cpu) // 2])))
    for kind, v in sorted(kinds.items()):
        if v:
            print("%-46s %12s" % ("  %s: %d, longest / median (ms)" % (
                kind, len(v)), "%d / %d" % (v[-1], v[len(v) // 2])))
    print("%-46s %12.1f" % ("  load (1 min) at the end", os.getloadavg()[0]))


if __name__ == "__main__":
    main()
