"""The compliance matrix (issue 16, SPEC "Groups, schedules, compliance,
waivers"): GET /api/compliance from the results of real runs on real
tentacles, as of a time before and after a run, by script and by check,
paged over tentacles with the fleet's score; the daily history and one
host's timeline; a fleet of 1,000 hosts x 30 scripts inserted into the
brain's SQLite before it starts."""

import sqlite3
import time
from datetime import datetime, timezone

import pytest

from test_enrolment import (brain, enrol_self, make_token,  # noqa: F401
                            new_tentacle, tentacle_bin)
from test_runs import add_script, run_and_wait


def rfc3339(t):
    return datetime.fromtimestamp(int(t), timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def next_second():
    """Sleep into the next second: results are stored with seconds."""
    time.sleep(1.05 - (time.time() % 1))


def matrix(c, query=""):
    r = c.get("/api/compliance" + query)
    assert r.status == 200, r
    return r.json()


def cells(m):
    return {t["id"]: t["cells"] for t in m["tentacles"]}


# The "flip" script finds something until its flag file exists.
def flip_script(flag):
    return ("if [ -e %s ]; then echo 'OK ssh.root no root login'; exit 0; "
            "fi\necho 'FAIL ssh.root root may log in'\n"
            "echo 'OK ssh.proto protocol 2'\nexit 1" % flag)


@pytest.fixture
def fleet(brain, new_tentacle):  # noqa: F811
    """Two tentacles: t1 has good, flip and broken; t2 has good and
    flip. Returns (client, t1, t2, flag file, time before any run)."""
    c = brain.login()
    t1 = new_tentacle("127.0.0.2", brain)
    t2 = new_tentacle("127.0.0.3", brain)
    flag = t1.dir / "fixed"
    for t in (t1, t2):
        add_script(t, "good", "echo 'OK sysctl.a fine'; exit 0")
        add_script(t, "flip", flip_script(flag))
    add_script(t1, "broken", "echo 'cannot read /etc'; exit 2")
    id1 = int(enrol_self(t1, brain, make_token(c)["token"])["id"])
    id2 = int(enrol_self(t2, brain, make_token(c)["token"])["id"])
    next_second()
    before = time.time()
    next_second()
    return c, id1, id2, flag, before


def test_verdicts_from_real_runs(fleet):
    c, id1, id2, flag, before = fleet
    m = matrix(c)
    assert m["scripts"] == ["broken", "flip", "good"]
    # Nothing ran yet: every cell none, nothing to score.
    assert m["score"] is None
    assert m["counts"] == {"compliant": 0, "findings": 0, "errors": 0,
                           "waived": 0, "none": 6}
    run_and_wait(c, "good", [id1, id2])
    run_and_wait(c, "flip", [id1, id2])
    run_and_wait(c, "broken", [id1])
    m = matrix(c)
    assert m["by"] == "script" and m["next"] is None
    assert [t["id"] for t in m["tentacles"]] == [id1, id2]
    assert all(t["labels"] == [] and t["hostname"] for t in m["tentacles"])
    got = cells(m)
    assert {k: v["verdict"] for k, v in got[id1].items()} == {
        "good": "compliant", "flip": "findings", "broken": "error"}
    assert {k: v["verdict"] for k, v in got[id2].items()} == {
        "good": "compliant", "flip": "findings", "broken": "none"}
    assert got[id1]["flip"]["failed_checks"] == 1
    assert got[id1]["good"]["failed_checks"] == 0
    assert got[id2]["broken"] == {"verdict": "none", "result": None,
                                  "at": None, "failed_checks": 0}
    # A cell opens its result: the one of that script on that host.
    r = c.get("/api/results/%d" % got[id1]["flip"]["result"]).json()
    assert r["exit_status"] == 1 and r["tentacle"] == id1, r
    assert got[id1]["flip"]["at"].endswith("Z")
    # Score: 2 compliant of 2 + 2 findings + 1 error.
    assert m["counts"] == {"compliant": 2, "findings": 2, "errors": 1,
                           "waived": 0, "none": 1}
    assert m["score"] == 40.0


def test_as_of_before_and_after_a_run(fleet):
    c, id1, id2, flag, before = fleet
    run_and_wait(c, "flip", [id1])
    next_second()
    between = time.time()
    next_second()
    flag.write_text("")
    run_and_wait(c, "flip", [id1])
    now = cells(matrix(c))
    assert now[id1]["flip"]["verdict"] == "compliant"
    then = matrix(c, "?as_of=" + rfc3339(between))
    assert then["as_of"] == rfc3339(between)
    assert cells(then)[id1]["flip"]["verdict"] == "findings"
    assert cells(then)[id1]["flip"]["result"] != now[id1]["flip"]["result"]
    # Before the first run: its script was no column yet, but the
    # hosts' own scripts are: all none.
    old = matrix(c, "?as_of=" + rfc3339(before))
    assert all(v["verdict"] == "none"
               for t in old["tentacles"] for v in t["cells"].values())
    # With an offset, the same instant.
    local = datetime.fromtimestamp(int(between), timezone.utc).astimezone()
    same = matrix(c, "?as_of=" + local.isoformat().replace("+", "%2B"))
    assert same["as_of"] == rfc3339(between)
    # The timeline of that script on that host, newest first.
    r = c.get("/api/compliance/timeline?tentacle=%d&script=flip" % id1)
    assert r.status == 200, r
    pts = r.json()["points"]
    assert [p["verdict"] for p in pts] == ["compliant", "findings"]
    assert pts[0]["result"] == now[id1]["flip"]["result"]
    r = c.get("/api/compliance/timeline?tentacle=%d&script=flip&limit=1"
              % id1)
    assert len(r.json()["points"]) == 1


def test_by_check_and_paging(fleet):
    c, id1, id2, flag, before = fleet
    run_and_wait(c, "good", [id1, id2])
    run_and_wait(c, "flip", [id1, id2])
    m = matrix(c, "?by=check")
    assert m["by"] == "check"
    assert m["scripts"] == ["ssh.proto", "ssh.root", "sysctl.a"]
    got = cells(m)
    for tid in (id1, id2):
        assert got[tid]["ssh.root"]["verdict"] == "findings"
        assert got[tid]["ssh.root"]["failed_checks"] == 1
        assert got[tid]["ssh.proto"]["verdict"] == "compliant"
        assert got[tid]["sysctl.a"]["verdict"] == "compliant"
    assert m["counts"]["compliant"] == 4 and m["counts"]["findings"] == 2
    assert m["score"] == pytest.approx(100 * 4 / 6, abs=0.05)
    # Pages of one tentacle: the score is the fleet's on each.
    p1 = matrix(c, "?limit=1")
    assert [t["id"] for t in p1["tentacles"]] == [id1]
    assert p1["next"] == id1
    p2 = matrix(c, "?limit=1&after=%d" % p1["next"])
    assert [t["id"] for t in p2["tentacles"]] == [id2]
    assert p2["next"] is None
    assert p1["score"] == p2["score"] == matrix(c)["score"]
    assert p1["counts"] == p2["counts"]
    assert matrix(c, "?after=%d" % id2)["tentacles"] == []


def test_history(fleet):
    c, id1, id2, flag, before = fleet
    run_and_wait(c, "flip", [id1, id2])
    r = c.get("/api/compliance/history?days=3")
    assert r.status == 200, r
    pts = r.json()["points"]
    assert len(pts) == 3
    today = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    assert pts[-1]["date"] == today
    assert pts[-1]["findings"] == 2 and pts[-1]["compliant"] == 0
    assert pts[-1]["score"] == 0.0
    # The tentacles were enrolled today: nothing on the days before.
    assert pts[0]["compliant"] == pts[0]["findings"] == 0
    assert pts[0]["score"] is None
    assert len(c.get("/api/compliance/history").json()["points"]) == 30


@pytest.mark.parametrize("query", [
    "?as_of=yesterday", "?as_of=2026-13-01T00:00:00Z",
    "?as_of=2026-02-30T00:00:00Z", "?as_of=2026-01-01T00:00:00",
    "?as_of=2999-01-01T00:00:00Z", "?by=host", "?limit=0", "?limit=1001",
    "?after=x", "?labels=Web", "?labels=a,,b", "?labels=a,", "?days=3",
    "?x=1", "?by=check&by=script",
])
def test_bad_matrix_queries(brain, query):  # noqa: F811
    c = brain.login()
    r = c.get("/api/compliance" + query)
    assert r.status == 400, (query, r)
    assert r.json()["error"]


@pytest.mark.parametrize("path", [
    "/api/compliance/history?days=0", "/api/compliance/history?days=367",
    "/api/compliance/history?as_of=2026-01-01T00:00:00Z",
    "/api/compliance/timeline?script=x",
    "/api/compliance/timeline?tentacle=1",
    "/api/compliance/timeline?tentacle=1&script=../x",
    "/api/compliance/timeline?tentacle=0&script=x",
])
def test_bad_history_and_timeline_queries(brain, path):  # noqa: F811
    c = brain.login()
    r = c.get(path)
    assert r.status == 400, (path, r)
    assert r.json()["error"]


# ------------------------------------------- a large fleet, inserted


HOSTS, SCRIPTS = 1000, 30


def insert_tentacles(db, hosts, enrolled_at, name="host%04d.example.org"):
    """Accepted tentacles 1..hosts, as enrolment would leave them."""
    db.executemany("INSERT INTO tentacles (id, hostname, address, port, "
                   "key, fingerprint, enrolment, enrolled_at) VALUES (?, "
                   "?, '192.0.2.1', 7001, 'k', 'f', 'accepted', ?)",
                   [(h, name % h, enrolled_at) for h in
                    range(1, hosts + 1)])


def insert_fleet(db_path, hosts=HOSTS, scripts=SCRIPTS, days_ago=0):
    """Accepted tentacles, one run per script with a job and a result
    each: verdict by (host + script) % 7 (0-3 compliant, 4-5 findings,
    6 error), a few left without a result. Returns the expected counts."""
    now = int(time.time()) - days_ago * 86400
    db = sqlite3.connect(str(db_path))
    want = {"compliant": 0, "findings": 0, "errors": 0, "none": 0}
    with db:
        insert_tentacles(db, hosts, now - 86400 * 10)
        for s in range(scripts):
            cur = db.execute("INSERT INTO runs (script, created_at, "
                             "created_by) VALUES (?, ?, 'admin')",
                             ("audit-%02d" % s, now - 60))
            run = cur.lastrowid
            for h in range(1, hosts + 1):
                k = (h + s) % 7
                skip = (h * 31 + s) % 97 == 0
                cur = db.execute("INSERT INTO jobs (run_id, tentacle_id, "
                                 "hostname, state, updated_at) VALUES "
                                 "(?, ?, 'h', ?, ?)",
                                 (run, h, "unreachable" if skip else
                                  "done", now))
                if skip:
                    want["none"] += 1
                    continue
                status = 0 if k < 4 else 1 if k < 6 else 2
                db.execute("INSERT INTO results (job_id, outcome, "
                           "exit_status, signal, started_at_ms, "
                           "duration_ms, truncated, output, received_at) "
                           "VALUES (?, 1, ?, 0, ?, 5, 0, x'', ?)",
                           (cur.lastrowid, status, now * 1000, now - 30))
                want[("compliant", "findings", "errors")[status]] += 1
    db.close()
    return want


def test_thousand_hosts_thirty_scripts(brain_factory):
    b = brain_factory({"io_timeout": 2})
    b.stop()
    want = insert_fleet(b.state_dir / "brain.db")
    b.start()
    c = b.login()
    t0 = time.monotonic()
    m = matrix(c)
    print("matrix of %d x %d: %.0f ms" % (HOSTS, SCRIPTS,
                                          1000 * (time.monotonic() - t0)))
    assert len(m["scripts"]) == SCRIPTS
    assert len(m["tentacles"]) == HOSTS and m["next"] is None
    for k, n in want.items():
        assert m["counts"][k] == n, (k, m["counts"])
    scored = want["compliant"] + want["findings"] + want["errors"]
    assert m["score"] == pytest.approx(100 * want["compliant"] / scored,
                                       abs=0.05)
    # Cells agree with the counts.
    seen = {}
    for t in m["tentacles"]:
        for v in t["cells"].values():
            seen[v["verdict"]] = seen.get(v["verdict"], 0) + 1
    assert seen.get("compliant") == want["compliant"]
    assert seen.get("error") == want["errors"]
    # Pages of 300: the same tentacles, the same score on each.
    ids, after = [], 0
    while True:
        p = matrix(c, "?limit=300&after=%d" % after)
        assert p["counts"] == m["counts"]
        ids += [t["id"] for t in p["tentacles"]]
        if p["next"] is None:
            break
        after = p["next"]
    assert ids == list(range(1, HOSTS + 1))
    h = c.get("/api/compliance/history?days=30").json()["points"]
    assert h[-1]["compliant"] == want["compliant"]
    assert h[-1]["findings"] == want["findings"]


def insert_history(db_path, hosts=12, scripts=3, days=8):
    """Tentacles enrolled a month ago; each past day (noon UTC, days..1
    days ago) one run of each script, its verdicts getting better: host h
    finds something on day d while h + s > 2 * d, some error. Two label
    sets: even hosts web."""
    now = int(time.time())
    midnight = now - now % 86400
    db = sqlite3.connect(str(db_path))
    with db:
        insert_tentacles(db, hosts, midnight - 30 * 86400,
                         "h%02d.example.org")
        db.executemany("INSERT INTO tentacle_labels VALUES (?, 'web', "
                       "'accepted')", [(h,) for h in range(2, hosts + 1,
                                                           2)])
        for ago in range(days, 0, -1):
            d = days - ago
            at = midnight - ago * 86400 + 12 * 3600
            for s in range(scripts):
                run = db.execute("INSERT INTO runs (script, created_at, "
                                 "created_by) VALUES (?, ?, 'admin')",
                                 ("check-%d" % s, at)).lastrowid
                for h in range(1, hosts + 1):
                    if (h + d + s) % 5 == 0:
                        continue        # offline that day: unchanged
                    job = db.execute(
                        "INSERT INTO jobs (run_id, tentacle_id, hostname, "
                        "state, updated_at) VALUES (?, ?, 'h', 'done', ?)",
                        (run, h, at)).lastrowid
                    status = 1 if h + s > 2 * d else 0
                    if (h * s + d) % 11 == 0:
                        status = 2
                    db.execute("INSERT INTO results (job_id, outcome, "
                               "exit_status, signal, started_at_ms, "
                               "duration_ms, truncated, output, "
                               "received_at) VALUES (?, 1, ?, 0, ?, 5, 0, "
                               "x'', ?)", (job, status, at * 1000, at + 5))
    db.close()


def test_history_matches_the_matrix_of_each_day(brain_factory):
    """Each day's point is the matrix as of the end of that day, both
    computed from the stored results."""
    b = brain_factory({"io_timeout": 2})
    b.stop()
    insert_history(b.state_dir / "brain.db")
    b.start()
    c = b.login()
    for labels in ("", "&labels=web"):
        pts = c.get("/api/compliance/history?days=10" + labels).json()[
            "points"]
        assert len(pts) == 10
        for p in pts[:-1]:
            m = matrix(c, "?as_of=%sT23:59:59Z%s" % (p["date"], labels))
            for k in ("compliant", "findings", "errors", "waived"):
                assert p[k] == m["counts"][k], (p, m["counts"], labels)
            assert p["score"] == m["score"], (p, m["score"])
        now = matrix(c, "?" + labels[1:])
        assert pts[-1]["compliant"] == now["counts"]["compliant"]
        assert pts[-1]["findings"] == now["counts"]["findings"]
    # Before the first run: nothing; then it gets better.
    pts = c.get("/api/compliance/history?days=10").json()["points"]
    # (10 days: the first run was 8 days ago, the second point)
    assert pts[0]["score"] is None and pts[1]["score"] is not None
    scores = [p["score"] for p in pts[1:]]
    assert scores[-1] > scores[0], scores
    # A waiver on a label counts on the days it was in force only.
    r = c.post("/api/waivers", {"label": "web", "script": "check-2",
                                "reason": "web tier accepted",
                                "expires_at": rfc3339(time.time() + 86400)})
    assert r.status == 201, r
    pts = c.get("/api/compliance/history?days=10").json()["points"]
    assert pts[-2]["waived"] == 0
    assert pts[-1]["waived"] == matrix(c)["counts"]["waived"] > 0


def test_long_reasons_end_a_page_early(brain_factory):
    """Waived cells carry their reason: 30,000 of them with 500-byte
    reasons would pass what one answer may hold, so a page ends early
    (with "next") and the pages still cover every host once."""
    b = brain_factory({"io_timeout": 2})
    b.stop()
    insert_fleet(b.state_dir / "brain.db")
    db = sqlite3.connect(str(b.state_dir / "brain.db"))
    with db:
        db.executemany("INSERT INTO tentacle_labels VALUES (?, 'all', "
                       "'accepted')", [(h,) for h in range(1, HOSTS + 1)])
    db.close()
    b.start()
    c = b.login()
    for s in range(SCRIPTS):
        r = c.post("/api/waivers", {"label": "all", "script": "audit-%02d" %
                                    s, "reason": "\u00e9" * 250,
                                    "expires_at": rfc3339(time.time() +
                                                          86400)})
        assert r.status == 201, r
    ids, after, pages = [], 0, 0
    while True:
        r = c.get("/api/compliance?after=%d" % after)
        assert r.status == 200, r
        assert len(r.body) < 4 * 1024 * 1024
        p = r.json()
        pages += 1
        ids += [t["id"] for t in p["tentacles"]]
        assert p["counts"]["compliant"] > 0 and p["counts"]["waived"] > 0
        if p["next"] is None:
            break
        assert p["next"] == ids[-1]
        after = p["next"]
    assert pages > 1
    assert ids == list(range(1, HOSTS + 1))
