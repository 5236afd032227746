"""The ledger (issue 17): a hash chain over the audit log and the stored
results, written by the maestro with each row. An edit of the SQLite file
behind the brain's back (a row changed, deleted, swapped or added, an entry
edited, removed or reordered) makes `octoBrain --verify-ledger` exit 1
naming the first entry that is not intact; a result pruned by retention
leaves its entry and is reported as pruned, not broken. Entries go only
from the start, those of rows retention deleted, with the new start
recorded: a start cut without it, or its anchor edited, is named."""

import json
import re
import shutil
import sqlite3
import subprocess
import time

import pytest

import octotest
from octotest import wait_for
from test_enrolment import (enrol_self, make_token,  # noqa: F401
                            new_tentacle, tentacle_bin)
from test_export import webhook_brain
from test_retention import DAY, age_runs
from test_runs import add_script, run_and_wait


def verify(b, db, tmp_path):
    conf = tmp_path / ("verify-%s.conf" % db.stem)
    conf.write_text(octotest.format_conf(dict(b.conf, database=str(db))))
    return subprocess.run([str(b.bin), "-c", str(conf), "--verify-ledger"],
                          capture_output=True, text=True, timeout=60)


def sql(db, statement):
    subprocess.run(["sqlite3", str(db), statement], check=True,
                   capture_output=True, timeout=30)


def query(db, statement):
    r = subprocess.run(["sqlite3", str(db), statement], check=True,
                       capture_output=True, text=True, timeout=30)
    return r.stdout.strip()


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    """A brain's database with audit rows and two results, the brain
    stopped: (brain, path of a copy)."""
    d = tmp_path_factory.mktemp("ledger")
    b = octotest.Brain(d / "brain")
    t = octotest.Tentacle(d / "t", "127.0.0.2", b)
    b.start()
    try:
        c = b.login()
        for _ in range(3):
            b.login()
        add_script(t, "hello", "echo hello")
        tid = int(enrol_self(t, b, make_token(c)["token"])["id"])
        run_and_wait(c, "hello", [tid])
        run_and_wait(c, "hello", [tid])
        t.stop()
    finally:
        b.stop()
    copy = d / "pristine.db"
    shutil.copy(b.state_dir / "brain.db", copy)
    return b, copy


def case(pristine, tmp_path, name, *statements):
    b, src = pristine
    db = tmp_path / (name + ".db")
    shutil.copy(src, db)
    for s in statements:
        sql(db, s)
    return b, db


def entry_of(db, tbl, row):
    return int(query(db, "SELECT id FROM ledger WHERE tbl = '%s' AND "
                     "row_id = %d" % (tbl, row)))


def test_intact(pristine, tmp_path):
    b, db = case(pristine, tmp_path, "intact")
    r = verify(b, db, tmp_path)
    assert r.returncode == 0, r
    n = int(query(db, "SELECT count(*) FROM ledger"))
    audit = int(query(db, "SELECT count(*) FROM audit"))
    results = int(query(db, "SELECT count(*) FROM results"))
    assert audit >= 4 and n == audit + results
    assert r.stdout.startswith("ledger intact: %d entries (%d audit rows, "
                               "%d results, 0 results pruned)"
                               % (n, audit, results)), r.stdout
    head = query(db, "SELECT entry FROM ledger ORDER BY id DESC LIMIT 1")
    assert re.fullmatch(r"[0-9a-f]{64}", head)


def test_audit_row_changed(pristine, tmp_path):
    b, db = case(pristine, tmp_path, "changed",
                 "UPDATE audit SET detail = 'nothing to see' WHERE id = 3")
    r = verify(b, db, tmp_path)
    assert r.returncode == 1, r
    assert r.stdout == "ledger broken: entry %d: audit row 3 was changed\n" \
        % entry_of(db, "audit", 3), r.stdout


def test_audit_row_deleted(pristine, tmp_path):
    b, db = case(pristine, tmp_path, "deleted",
                 "DELETE FROM audit WHERE id = 2")
    r = verify(b, db, tmp_path)
    assert r.returncode == 1, r
    assert "entry %d: audit row 2 was deleted" % entry_of(db, "audit", 2) \
        in r.stdout, r.stdout


def test_oldest_audit_rows_pruned(pristine, tmp_path):
    # Audit retention deletes the oldest rows: pruned, not broken.
    b, db = case(pristine, tmp_path, "audit-pruned",
                 "DELETE FROM audit WHERE id <= 2")
    r = verify(b, db, tmp_path)
    assert r.returncode == 0, r
    assert "results pruned, 2 audit rows pruned)" in r.stdout, r.stdout


def test_audit_rows_swapped(pristine, tmp_path):
    # Row 1 (the first admin made) and row 2 (a login) change places.
    b, db = case(pristine, tmp_path, "swapped",
                 "UPDATE audit SET id = -1 WHERE id = 1;"
                 "UPDATE audit SET id = 1 WHERE id = 2;"
                 "UPDATE audit SET id = 2 WHERE id = -1")
    assert query(db, "SELECT action FROM audit WHERE id = 1") == "login"
    r = verify(b, db, tmp_path)
    assert r.returncode == 1, r
    assert r.stdout == "ledger broken: entry %d: audit row 1 was changed\n" \
        % entry_of(db, "audit", 1), r.stdout


def test_row_added_behind_its_back(pristine, tmp_path):
    b, db = case(pristine, tmp_path, "added",
                 "INSERT INTO audit (at, actor, action, peer, detail) "
                 "VALUES (0, 'admin', 'login', '192.0.2.1', '')")
    row = int(query(db, "SELECT max(id) FROM audit"))
    r = verify(b, db, tmp_path)
    assert r.returncode == 1, r
    assert "audit row %d has no ledger entry" % row in r.stdout, r.stdout


def test_entry_edited_removed_reordered(pristine, tmp_path):
    b, db = case(pristine, tmp_path, "edited",
                 "UPDATE ledger SET content = '%s' WHERE id = 2" % ("0" * 64))
    r = verify(b, db, tmp_path)
    assert r.returncode == 1 and "entry 2 (" in r.stdout and \
        "was edited" in r.stdout, r

    b, db = case(pristine, tmp_path, "removed",
                 "DELETE FROM ledger WHERE id = 3")
    r = verify(b, db, tmp_path)
    assert r.returncode == 1 and "entry 3 is missing" in r.stdout, r

    b, db = case(pristine, tmp_path, "reordered",
                 "UPDATE ledger SET id = -1 WHERE id = 2;"
                 "UPDATE ledger SET id = 2 WHERE id = 3;"
                 "UPDATE ledger SET id = 3 WHERE id = -1")
    r = verify(b, db, tmp_path)
    assert r.returncode == 1 and "entry 2 (" in r.stdout and \
        "does not follow entry 1" in r.stdout, r


def test_results(pristine, tmp_path):
    b, src = pristine
    assert int(query(src, "SELECT count(*) FROM results")) == 2
    first = int(query(src, "SELECT min(id) FROM results"))
    b, db = case(pristine, tmp_path, "result-changed",
                 "UPDATE results SET output = CAST('forged' AS BLOB) "
                 "WHERE id = %d" % first)
    r = verify(b, db, tmp_path)
    assert r.returncode == 1, r
    assert r.stdout == "ledger broken: entry %d: results row %d was " \
        "changed\n" % (entry_of(db, "results", first), first), r.stdout

    # Retention deletes a result: its entry stays, reported as pruned.
    b, db = case(pristine, tmp_path, "result-pruned",
                 "DELETE FROM findings WHERE result_id = %d;"
                 "DELETE FROM results WHERE id = %d" % (first, first))
    r = verify(b, db, tmp_path)
    assert r.returncode == 0, r
    assert "1 results pruned" in r.stdout, r.stdout


def prune_start(db, k):
    """What retention does to the start, by hand: the rows of entries 1
    to k and the entries go, entry k + 1 recorded as the start."""
    sql(db, "DELETE FROM audit WHERE id IN (SELECT row_id FROM ledger "
        "WHERE tbl = 'audit' AND id <= %d);"
        "DELETE FROM findings WHERE result_id IN (SELECT row_id FROM ledger "
        "WHERE tbl = 'results' AND id <= %d);"
        "DELETE FROM results WHERE id IN (SELECT row_id FROM ledger "
        "WHERE tbl = 'results' AND id <= %d);"
        "INSERT INTO ledger_start VALUES (1, %d, (SELECT entry FROM ledger "
        "WHERE id = %d), 0);"
        "DELETE FROM ledger WHERE id <= %d" % (k, k, k, k + 1, k, k))


def test_start_cut_by_hand(pristine, tmp_path):
    """The first entries and their rows deleted without the recorded
    start moved: named, with the first row left."""
    b, src = pristine
    assert query(src, "SELECT group_concat(tbl) FROM ledger WHERE id <= 2") \
        == "audit,audit"
    b, db = case(pristine, tmp_path, "start-cut",
                 "DELETE FROM audit WHERE id IN (SELECT row_id FROM ledger "
                 "WHERE id <= 2); DELETE FROM ledger WHERE id <= 2")
    tbl, row = query(db, "SELECT tbl, row_id FROM ledger WHERE id = 3") \
        .split("|")
    r = verify(b, db, tmp_path)
    assert r.returncode == 1, r
    assert r.stdout == "ledger broken: entries 1 to 2 were removed from " \
        "the start without the recorded start (entry 1) moved: the first " \
        "entry left is 3 (%s row %s)\n" % (tbl, row), r.stdout


def test_start_recorded_then_edited(pristine, tmp_path):
    """Pruned from the start with the start recorded: intact, said so;
    then the anchor edited, the start moved, or its record deleted:
    named."""
    b, db = case(pristine, tmp_path, "start-pruned")
    anchor = query(db, "SELECT entry FROM ledger WHERE id = 3")
    prune_start(db, 3)
    r = verify(b, db, tmp_path)
    assert r.returncode == 0, r
    assert r.stdout.startswith("ledger intact: ")
    assert r.stdout.endswith("), 3 entries pruned from the start, start "
                             "hash %s\n" % anchor), r.stdout
    tbl, row = query(db, "SELECT tbl, row_id FROM ledger WHERE id = 4") \
        .split("|")

    edited = tmp_path / "anchor-edited.db"
    shutil.copy(db, edited)
    sql(edited, "UPDATE ledger_start SET anchor = '%s'" % ("1" * 64))
    r = verify(b, edited, tmp_path)
    assert r.returncode == 1, r
    assert r.stdout == "ledger broken: entry 4 (%s row %s) does not link " \
        "to the recorded start's anchor %s: the anchor or the entry was " \
        "edited\n" % (tbl, row, "1" * 64), r.stdout

    moved = tmp_path / "start-moved.db"
    shutil.copy(db, moved)
    sql(moved, "UPDATE ledger_start SET first = 5")
    r = verify(b, moved, tmp_path)
    assert r.returncode == 1, r
    assert r.stdout == "ledger broken: entry 4 is before the recorded " \
        "start (entry 5): the start was edited\n", r.stdout

    gone = tmp_path / "start-gone.db"
    shutil.copy(db, gone)
    sql(gone, "DELETE FROM ledger_start")
    r = verify(b, gone, tmp_path)
    assert r.returncode == 1, r
    assert "entries 1 to 3 were removed from the start" in r.stdout, r.stdout


def test_retention_prunes_the_start(brain_factory, new_tentacle,  # noqa
                                    tmp_path):
    """Retention deletes an old result and old audit lines; the maestro
    then prunes their entries from the ledger's start, up to the first
    entry whose row is kept, and records the new start: in the audit log
    (ledger_pruned), its own check and --verify-ledger say pruned from
    the start, intact."""
    b = brain_factory({"retention_days": 1, "audit_retention_days": 1,
                       "test_ledger_verify_interval": 1})
    c = b.login()
    t = new_tentacle("127.0.0.2", b)
    add_script(t, "hello", "echo hello")
    tid = int(enrol_self(t, b, make_token(c)["token"])["id"])
    runs = [run_and_wait(c, "hello", [tid]) for _ in range(2)]
    kept = runs[1]["jobs"][0]["result"]["id"]
    b.login()
    b.stop()
    db = b.state_dir / "brain.db"
    old = int(time.time()) - 3 * DAY
    con = sqlite3.connect(str(db))
    with con:
        # The first result old (a row retention deletes may be aged by
        # hand: its entry is checked no more); every audit line but the
        # last. The second result, untouched, stays.
        age_runs(con, [runs[0]["id"]], old)
        con.execute("UPDATE audit SET at = ? WHERE id < (SELECT max(id) "
                    "FROM audit)", (old,))
    con.close()
    # The first entry whose row stays: the kept result's.
    first = entry_of(db, "results", kept)
    assert first > 2

    b.start()
    m = b.wait_log(r"ledger: (\d+) entries pruned from the start, start "
                   r"entry (\d+), start hash ([0-9a-f]{64})$", timeout=30)
    assert int(m.group(1)) == first - 1 and int(m.group(2)) == first, \
        m.group(0)
    anchor = m.group(3)
    c = b.login()
    rows = c.get("/api/audit?action=ledger_pruned").json()["events"]
    assert len(rows) == 1 and rows[0]["actor"] == "system", rows
    assert rows[0]["detail"] == "%d entries pruned from the start, start " \
        "entry %d, start hash %s" % (first - 1, first, anchor), rows

    def checked():
        lg = c.get("/api/health").json()["ledger"]
        assert lg.get("outcome") != "broken", lg
        return lg if lg.get("outcome") == "intact" and \
            lg.get("start_pruned") == first - 1 else None
    lg = wait_for(checked, 30, 0.2, "the maestro's check from the start")
    assert lg["start_hash"] == anchor, lg
    b.stop()

    assert query(db, "SELECT first, anchor FROM ledger_start") == \
        "%d|%s" % (first, anchor)
    assert query(db, "SELECT min(id) FROM ledger") == str(first)
    r = verify(b, db, tmp_path)
    assert r.returncode == 0, r
    assert "1 results pruned" not in r.stdout  # its entry went too
    assert r.stdout.endswith("), %d entries pruned from the start, start "
                             "hash %s\n" % (first - 1, anchor)), r.stdout


def test_missing_database(pristine, tmp_path):
    b, _ = pristine
    r = verify(b, tmp_path / "none.db", tmp_path)
    assert r.returncode == 2, r
    assert "none.db" in r.stderr
    assert not (tmp_path / "none.db").exists()


def test_checkpoints_catch_a_cut_tail(brain_factory, tmp_path):
    """Signed ledger.checkpoint events, kept by a collector: a tail cut
    from the chain (rows and entries together, which the chain alone
    cannot show) or a forged checkpoint is named."""
    b, srv = webhook_brain(brain_factory, tmp_path,
                           ledger_checkpoint_interval=1)
    try:
        for _ in range(4):
            b.login()
        # A checkpoint that covers the logins.
        logins = int(query(b.state_dir / "brain.db",
                           "SELECT count(*) FROM ledger"))

        def covered():
            with srv.lock:
                return [e for e in srv.events
                        if e["event"] == "ledger.checkpoint" and
                        e["fields"]["length"] >= logins]
        cp = wait_for(covered, 30, 0.1, "a ledger checkpoint")[0]
        assert re.fullmatch(r"[0-9a-f]{128}", cp["fields"]["signature"])
        assert b.wait_log(r"the ledger key \S+: its public key \(pin it off "
                          r"the box\) is ([0-9a-f]{64})").group(1) == \
            cp["fields"]["public_key"]
        assert cp["ledger_head"] == cp["fields"]["head"]
        with srv.lock:
            lines = [json.dumps(e) for e in srv.events]
        # Entries past every checkpoint kept: a start pruned after cp.
        for _ in range(3):
            b.login()
    finally:
        srv.shutdown()
    b.stop()
    kept = tmp_path / "events.jsonl"
    kept.write_text("\n".join(lines) + "\n")
    db = tmp_path / "copy.db"
    shutil.copy(b.state_dir / "brain.db", db)

    def run(path, *extra):
        conf = tmp_path / "v.conf"
        conf.write_text(octotest.format_conf(dict(b.conf, database=str(path))))
        return subprocess.run([str(b.bin), "-c", str(conf), "--verify-ledger",
                               *extra], capture_output=True, text=True,
                              timeout=60)

    r = run(db, "--checkpoints", str(kept))
    assert r.returncode == 0, r
    assert "checkpoints of %s hold" % kept in r.stdout, r.stdout

    # The last two audit rows and their entries go: the chain alone is
    # still a chain...
    n = cp["fields"]["length"]
    cut = tmp_path / "cut.db"
    shutil.copy(db, cut)
    sql(cut, "DELETE FROM audit WHERE id IN (SELECT row_id FROM ledger "
        "WHERE tbl = 'audit' AND id > %d - 2);"
        "DELETE FROM ledger WHERE id > %d - 2" % (n, n))
    assert run(cut).returncode == 0
    # ...but not what the checkpoint signed.
    r = run(cut, "--checkpoints", str(kept))
    assert r.returncode == 1, r
    assert "its tail was cut" in r.stdout, r.stdout

    # Pruned from the start: a checkpoint older than the start cannot be
    # checked, said so; one at the start is checked against the anchor.
    only = tmp_path / "cp.jsonl"
    only.write_text(json.dumps(cp) + "\n")
    for k, said in ((n + 1, "1 checkpoints of %s are older than the "
                     "ledger's start (entry %d): their entries were "
                     "pruned, not checked" % (only, n + 2)),
                    (n, "1 checkpoints of %s hold" % only)):
        pruned = tmp_path / ("pruned%d.db" % k)
        shutil.copy(db, pruned)
        prune_start(pruned, k)
        r = run(pruned, "--checkpoints", str(only))
        assert r.returncode == 0, r
        assert "%d entries pruned from the start" % k in r.stdout, r.stdout
        assert said in r.stdout, r.stdout

    forged = tmp_path / "forged.jsonl"
    e = dict(cp, fields=dict(cp["fields"], length=1))
    forged.write_text(json.dumps(e) + "\n")
    r = run(db, "--checkpoints", str(forged))
    assert r.returncode == 1, r
    assert "not signed by this brain's ledger key" in r.stdout, r.stdout


def test_the_maestro_checks_the_ledger(brain_factory, tmp_path):
    """The maestro's own check (daily; every second here with the
    test-only key test_ledger_verify_interval): its last outcome in
    GET /api/health's "ledger", and an edit of the SQLite file behind
    the running brain's back found at the next check: the entry named,
    an audit row (ledger_broken) and its event at the webhook."""
    b, srv = webhook_brain(brain_factory, tmp_path,
                           test_ledger_verify_interval=1)
    try:
        c = b.login()
        for _ in range(3):
            b.login()

        def outcome(want):
            def f():
                lg = c.get("/api/health").json()["ledger"]
                return lg if lg.get("outcome") == want and \
                    (want == "broken" or lg["entries"] >= 4) else None
            return f
        lg = wait_for(outcome("intact"), 30, 0.2, "an intact ledger check")
        assert lg["every"] == 1
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ",
                            lg["checked_at"]), lg
        assert lg["audit"] >= 4 and lg["pruned"] == 0
        assert "broken" not in lg
        b.wait_log(r"ledger check: intact, \d+ entries")

        db = b.state_dir / "brain.db"
        sql(db, "UPDATE audit SET actor = 'mallory' WHERE id = 2")
        lg = wait_for(outcome("broken"), 30, 0.2, "a broken ledger check")
        assert lg["bad_entry"] == 2, lg
        assert lg["broken"] == "entry 2: audit row 2 was changed", lg
        b.wait_log(r"ledger check: broken: entry 2: audit row 2 was "
                   r"changed")
        rows = c.get("/api/audit?action=ledger_broken").json()["events"]
        assert rows and rows[0]["detail"] == lg["broken"], rows

        def event():
            with srv.lock:
                return [e for e in srv.events
                        if e["event"] == "ledger_broken"]
        ev = wait_for(event, 30, 0.1, "the ledger_broken event")[0]
        assert ev["fields"]["detail"] == lg["broken"]
    finally:
        srv.shutdown()


def test_ledger_check_daily_by_default(ro_brain):
    """Without the test key the check is daily; before its first (a
    minute after the start) the health says so, with no outcome."""
    lg = ro_brain.login().get("/api/health").json()["ledger"]
    assert lg["every"] == 86400, lg
    if lg["checked_at"] is None:
        assert "outcome" not in lg and lg["checking"] in (True, False), lg
    else:
        assert lg["outcome"] == "intact", lg
