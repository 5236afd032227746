#!/usr/bin/python3
"""make bench, compliance (issue 16): a brain whose SQLite holds 1,000
accepted hosts x 30 scripts, each with R runs of results (inserted before
it starts, as tests/system/test_api_compliance.py does); printed, never
asserted:

  - GET /api/compliance (the whole matrix, 30,000 cells, one page):
    median, 95th percentile and max of 20 answers (ms), and its size;
    the maestro's own figures (its debug log: the answer is made over
    turns of its loop): the longest turn, the loop's longest wait, and
    the time from the request to the reply;
  - the same by=check, limit=100 (a page), the history of 90 days, one
    host's timeline;
  - in headless Chromium: from opening #/compliance to the matrix drawn
    (all pages fetched, ms), and the drawing of the canvas alone (ms).

Environment: OCTO_BUILD (default build/), R (runs per script, default 3).
"""

import os
import re
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parents[1] / "system"))
import octotest  # noqa: E402
from test_api_compliance import insert_tentacles  # noqa: E402

HOSTS, SCRIPTS = 1000, 30
R = int(os.environ.get("R", "3"))


def insert(db_path):
    now = int(time.time())
    db = sqlite3.connect(str(db_path))
    with db:
        insert_tentacles(db, HOSTS, now - 86400 * 30)
        for r in range(R):
            at = now - (R - r) * 86400
            for s in range(SCRIPTS):
                run = db.execute("INSERT INTO runs (script, created_at, "
                                 "created_by) VALUES (?, ?, 'admin')",
                                 ("audit-%02d" % s, at)).lastrowid
                for h in range(1, HOSTS + 1):
                    job = db.execute(
                        "INSERT INTO jobs (run_id, tentacle_id, hostname, "
                        "state, updated_at) VALUES (?, ?, 'h', 'done', ?)",
                        (run, h, at)).lastrowid
                    k = (h + s + r) % 7
                    out = b"FAIL check.%d x\nOK check.%d y\n" % (s, s + 100)
                    cur = db.execute(
                        "INSERT INTO results (job_id, outcome, exit_status, "
                        "signal, started_at_ms, duration_ms, truncated, "
                        "output, received_at) VALUES (?, 1, ?, 0, ?, 5, 0, "
                        "?, ?)", (job, 0 if k < 4 else 1 if k < 6 else 2,
                                  at * 1000, out if k in (4, 5) else b"",
                                  at + 5))
                    if k in (4, 5):
                        db.execute("INSERT INTO findings VALUES (?, 0, ?, "
                                   "'FAIL', 'x'), (?, 1, ?, 'OK', 'y')",
                                   (cur.lastrowid, "check.%d" % s,
                                    cur.lastrowid, "check.%d" % (s + 100)))
    db.close()


def timed(c, path, n=5):
    times, size = [], 0
    for _ in range(n):
        t0 = time.monotonic()
        r = c.get(path)
        times.append(1000 * (time.monotonic() - t0))
        assert r.status == 200, (path, r)
        size = len(r.body)
    times.sort()
    return (statistics.median(times), max(times), size,
            times[min(len(times) - 1, int(0.95 * len(times)))])


def maestro_turns(brain, start):
    """The maestro's debug lines of the matrix answers since the log's
    offset start: [(longest turn, in all, CPU)] (ms)."""
    return [(int(a), int(b), int(c)) for a, b, c in re.findall(
        r"compliance: .* the longest (\d+) ms, (\d+) ms in all, CPU "
        r"(\d+) ms", brain.log()[start:])]


def browser_figures(brain):
    sys.path.insert(0, str(HERE.parents[1] / "system"))
    import browser
    if browser.missing():
        return None
    shots = tempfile.mkdtemp(prefix="octo-bench-shots.")
    b = browser.Browser("https://127.0.0.1:%d" % brain.web_port, shots)
    try:
        b.login("admin", brain.password, "#/fleet")
        t0 = time.monotonic()
        b.go("#/compliance")
        canvas = b.visible("#compliance-canvas")
        b.wait(lambda d: canvas.get_attribute("data-cells") ==
               str(HOSTS * SCRIPTS), "the matrix drawn", timeout=120)
        shown = 1000 * (time.monotonic() - t0)
        return shown, float(canvas.get_attribute("data-draw-ms"))
    finally:
        b.quit()
        shutil.rmtree(shots, ignore_errors=True)


def main():
    tmp = tempfile.mkdtemp(prefix="octo-bench-compliance.")
    b = octotest.Brain(Path(tmp) / "brain", verbose=True)
    try:
        b.start()
        b.stop()
        t0 = time.monotonic()
        insert(b.state_dir / "brain.db")
        setup = time.monotonic() - t0
        b.start()
        c = b.login()
        rows = [("setup: %d x %d, %d runs each, inserted (s)" % (
            HOSTS, SCRIPTS, R), "%.1f" % setup)]
        mark = len(b.log())
        med, worst, size, p95 = timed(c, "/api/compliance", 20)
        rows.append(("GET /api/compliance, 1,000 x 30 median (ms)",
                     "%.1f" % med))
        rows.append(("  p95 / max of 20 (ms) / size (KB)", "%.1f / %.1f / %d"
                     % (p95, worst, size // 1024)))
        turns = maestro_turns(b, mark)
        if turns:
            rows.append(("  maestro: longest turn of its loop (ms)",
                         "%d" % max(t for t, _, _ in turns)))
            rows.append(("  maestro: request to reply, median (ms)",
                         "%d" % statistics.median(a for _, a, _ in turns)))
            rows.append(("  maestro: its CPU an answer, median (ms)",
                         "%d" % statistics.median(c for _, _, c in turns)))
        ago = time.strftime("%Y-%m-%dT%H:%M:%SZ",
                            time.gmtime(time.time() - 2 * 86400 + 600))
        for label, path in (
                ("  as_of two days ago (R >= 2)", "/api/compliance?as_of="
                 + ago),
                ("  by=check, limit=100", "/api/compliance?by=check&"
                 "limit=100"),
                ("GET /api/compliance/history?days=90",
                 "/api/compliance/history?days=90"),
                ("GET /api/compliance/timeline (one cell)",
                 "/api/compliance/timeline?tentacle=500&script=audit-07")):
            med, worst, size, _ = timed(c, path)
            rows.append((label + " median (ms)", "%.1f" % med))
            rows.append(("  max of 5 (ms) / size (KB)", "%.1f / %d" % (
                worst, size // 1024)))
        fig = browser_figures(b)
        if fig:
            rows.append(("page: open #/compliance to drawn (ms)",
                         "%.0f" % fig[0]))
            rows.append(("page: drawing 30,000 cells (ms)", "%.1f" % fig[1]))
        print()
        print("Octopus compliance benchmark: %d cores, load %.1f" % (
            os.cpu_count(), os.getloadavg()[0]))
        for k, v in rows:
            print("%-50s %14s" % (k, v))
    finally:
        b.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
