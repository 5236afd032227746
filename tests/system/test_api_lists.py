"""Lists at scale (SPEC "Lists at scale", issue 18): the fleet, the runs and
a run's jobs by pages (?limit=N&after=ID, "next"), the fleet's counts,
filters and sorting on the brain, GET /api/runs/{id}?wait=S, and a fleet of
10,000 tentacles paged without an answer past the IPC limit.

The fleets are rows written into the brain's SQLite before it starts (the
schema made by a first start): tentacles at 127.x addresses where nothing
listens, with a keepalive too rare to change their states meanwhile."""

import os
import sqlite3
import threading

import pytest

import octotest
from conftest import _stop_and_check
from fleetdb import brain_with_fleet, fleet_rows
from test_enrolment import enrol_self, make_token, new_tentacle  # noqa: F401
from test_enrolment import tentacle_bin  # noqa: F401
from test_runs import FINISHED, add_script

IPC_PAYLOAD_MAX = 4 * 1024 * 1024
PENDING = {"queued", "sent", "running"}


def db_tentacles(brain):
    db = sqlite3.connect("file:%s?mode=ro" % (brain.state_dir / "brain.db"),
                         uri=True)
    try:
        return [dict(zip(("id", "hostname", "address", "enrolment", "state",
                          "last_seen"), r))
                for r in db.execute("SELECT id, hostname, address, "
                                    "enrolment, state, last_seen FROM "
                                    "tentacles ORDER BY id")]
    finally:
        db.close()


def status(t):
    return t["state"] if t["enrolment"] == "accepted" else t["enrolment"]


SORT_KEYS = {
    "id": lambda t: (t["id"],),
    "hostname": lambda t: (t["hostname"].encode(), t["id"]),
    "state": lambda t: (status(t), t["id"]),
    "last_seen": lambda t: (t["last_seen"] or 0, t["id"]),
}


def expected_order(rows, sort):
    desc = sort.startswith("-")
    return [t["id"] for t in sorted(rows, key=SORT_KEYS[sort.lstrip("-")],
                                    reverse=desc)]


def walk(client, path, member, **params):
    """Every page of a list (path may have a query of its own): the IDs in
    order, and the answers."""
    if "?" in path:
        base, _, qs = path.partition("?")
        params = dict([kv.split("=", 1) for kv in qs.split("&") if kv],
                      **params)
        path = base
    ids, answers, after = [], [], None
    while True:
        q = dict(params)
        if after is not None:
            q["after"] = after
        qs = "&".join("%s=%s" % kv for kv in q.items())
        r = client.get(path + ("?" + qs if qs else ""))
        assert r.status == 200, (path, q, r)
        j = r.json()
        answers.append((r, j))
        page = j[member]
        ids += [x["id"] for x in page]
        after = j["next"]
        if after is None:
            return ids, answers
        assert page and after == page[-1]["id"], (q, after)


@pytest.fixture(scope="module")
def fleet(request, tmp_path_factory):
    b = brain_with_fleet(tmp_path_factory.mktemp("lists"), fleet_rows(1234))
    request.addfinalizer(lambda: _stop_and_check(b))
    return b


@pytest.fixture(scope="module")
def admin(fleet):
    return fleet.login()


# ------------------------------------------------------------ the fleet

@pytest.mark.parametrize("sort", ["id", "-id", "hostname", "-hostname",
                                  "state", "-state", "last_seen",
                                  "-last_seen"])
@pytest.mark.parametrize("limit", [None, 97])
def test_pages_walk_the_fleet_once_in_order(fleet, admin, sort, limit):
    rows = db_tentacles(fleet)
    params = {"sort": sort}
    if limit:
        params["limit"] = limit
    ids, answers = walk(admin, "/api/tentacles", "tentacles", **params)
    assert ids == expected_order(rows, sort)
    assert len(set(ids)) == len(rows)
    for _, j in answers[:-1]:
        assert len(j["tentacles"]) == (limit or 1000)
    assert answers[-1][1]["next"] is None


def test_default_page_is_1000_and_next_is_the_last_id(admin):
    j = admin.get("/api/tentacles").json()
    assert len(j["tentacles"]) == 1000
    assert j["next"] == j["tentacles"][-1]["id"]
    j2 = admin.get("/api/tentacles?after=%d" % j["next"]).json()
    assert len(j2["tentacles"]) == 234 and j2["next"] is None
    assert j2["tentacles"][0]["id"] > j["next"]
    # The rows are the same as before the pages (SPEC's tentacle fields).
    t = j["tentacles"][0]
    for k in ("id", "hostname", "address", "port", "enrolment", "state",
              "enrolled_at", "last_seen", "fingerprint", "facts",
              "duplicate_of"):
        assert k in t, k


def test_counts_are_the_whole_fleets(fleet, admin):
    rows = db_tentacles(fleet)
    want = {k: 0 for k in ("online", "offline", "unknown", "pending",
                           "rejected")}
    for t in rows:
        want[status(t)] += 1
    want["total"] = len(rows)
    for q in ("", "?limit=1", "?state=offline", "?q=nothing-matches"):
        j = admin.get("/api/tentacles" + q).json()
        assert j["counts"] == want, q
    assert want["online"] and want["offline"] and want["unknown"]


@pytest.mark.parametrize("query,pick", [
    ("state=offline", lambda t: t["state"] == "offline"),
    ("state=unknown", lambda t: t["state"] == "unknown"),
    ("enrolment=pending", lambda t: t["enrolment"] == "pending"),
    ("enrolment=rejected", lambda t: t["enrolment"] == "rejected"),
    ("state=online&enrolment=accepted",
     lambda t: t["state"] == "online" and t["enrolment"] == "accepted"),
    ("state=unknown&enrolment=accepted",
     lambda t: t["state"] == "unknown" and t["enrolment"] == "accepted"),
    ("q=h0", lambda t: "h0" in t["hostname"] or "h0" in t["address"]),
    ("q=127.1.3.", lambda t: "127.1.3." in t["address"]),
    ("q=EXAMPLE.ORG", lambda t: True),      # LIKE: ASCII case-insensitive
    ("q=%25", lambda t: "%" in t["hostname"]),
    ("q=under_score", lambda t: t["hostname"].startswith("under_score")),
    ("q=_", lambda t: "_" in t["hostname"]),
    ("q=%5C", lambda t: "\\" in t["hostname"]),
    ("q=no-such-host", lambda t: False),
])
def test_filters(fleet, admin, query, pick):
    rows = db_tentacles(fleet)
    want = [t["id"] for t in rows if pick(t)]
    for extra in ("", "&limit=50", "&sort=-hostname&limit=33"):
        ids, _ = walk(admin, "/api/tentacles?" + query + extra,
                      "tentacles")
        if "sort" in extra:
            want_sorted = expected_order([t for t in rows if pick(t)],
                                         "-hostname")
            assert ids == want_sorted, query
        else:
            assert ids == want, query


@pytest.mark.parametrize("path", [
    "/api/tentacles?limit=0", "/api/tentacles?limit=1001",
    "/api/tentacles?limit=-1", "/api/tentacles?limit=ten",
    "/api/tentacles?limit=", "/api/tentacles?limit=1e3",
    "/api/tentacles?after=0", "/api/tentacles?after=-5",
    "/api/tentacles?after=x", "/api/tentacles?after=9007199254740993",
    "/api/tentacles?limit=5&limit=6", "/api/tentacles?page=2",
    "/api/tentacles?sort=address", "/api/tentacles?sort=--id",
    "/api/tentacles?state=pending", "/api/tentacles?enrolment=online",
    "/api/tentacles?q=" + "a" * 65, "/api/tentacles?q=%01",
    "/api/tentacles?q=%FF",
    "/api/runs?limit=0", "/api/runs?limit=1001", "/api/runs?after=x",
    "/api/runs?tentacle=0", "/api/runs?output=0",
    "/api/runs/1?limit=0", "/api/runs/1?after=0", "/api/runs/1?wait=0",
    "/api/runs/1?wait=31", "/api/runs/1?wait=1.5", "/api/runs/1?sort=id",
])
def test_bad_values_are_400_with_a_message(admin, path):
    r = admin.get(path)
    assert r.status == 400, (path, r)
    assert r.content_type == "application/json"
    assert r.json()["error"], path


def test_empty_q_is_no_filter(admin):
    j = admin.get("/api/tentacles?q=&limit=5").json()
    assert len(j["tentacles"]) == 5


def test_after_a_revoked_tentacle(fleet, admin):
    rows = db_tentacles(fleet)
    gone = [t for t in rows if t["enrolment"] == "rejected"][3]["id"]
    assert admin.delete("/api/tentacles/%d" % gone).status == 200
    # By ID the page still starts after it...
    j = admin.get("/api/tentacles?limit=3&after=%d" % gone).json()
    assert [t["id"] for t in j["tentacles"]] == \
        [t["id"] for t in rows if t["id"] > gone][:3]
    # ...by another order its place is lost: said, not guessed.
    for sort in ("hostname", "-state", "last_seen"):
        r = admin.get("/api/tentacles?sort=%s&after=%d" % (sort, gone))
        assert r.status == 400, r
        assert "from the start" in r.json()["error"]


def test_a_kept_answer_follows_every_change(fleet, admin):
    """The maestro keeps its last answers while nothing in the database
    changes (lists.c): a change through the API or by another writer (the
    sqlite3 shell) is in the very next answer."""
    path = "/api/tentacles?limit=20&sort=-id"
    first = admin.get(path).json()
    assert admin.get(path).json() == first
    gone = [t for t in first["tentacles"] if t["enrolment"] == "rejected"]
    assert gone
    assert admin.delete("/api/tentacles/%d" % gone[0]["id"]).status == 200
    j = admin.get(path).json()
    assert gone[0]["id"] not in [t["id"] for t in j["tentacles"]]
    assert j["counts"]["rejected"] == first["counts"]["rejected"] - 1
    # Another connection's commit (PRAGMA data_version).
    other = j["tentacles"][0]
    db = sqlite3.connect(str(fleet.state_dir / "brain.db"), timeout=10)
    try:
        db.execute("UPDATE tentacles SET hostname = 'renamed.example.org' "
                   "WHERE id = ?", (other["id"],))
        db.commit()
    finally:
        db.close()
    j2 = admin.get(path).json()
    assert j2["tentacles"][0]["id"] == other["id"]
    assert j2["tentacles"][0]["hostname"] == "renamed.example.org"


# ------------------------------------------------------------ runs

def accepted_ids(fleet, n):
    return [t["id"] for t in db_tentacles(fleet)
            if t["enrolment"] == "accepted"][:n]


def wait_run_final(client, run, timeout=60):
    def final():
        j = client.get("/api/runs/%d?output=0" % run).json()
        return j if j["summary"]["finished"] == j["summary"]["jobs"] \
            else None
    return octotest.wait_for(final, timeout, 0.2, "run %d final" % run)


def test_runs_pages_newest_first(fleet, admin):
    ids = accepted_ids(fleet, 3)
    made = []
    for _ in range(7):
        r = admin.post("/api/runs", {"script": "nothing-here",
                                     "tentacles": ids})
        assert r.status == 202, r
        made.append(r.json()["id"])
    got, answers = walk(admin, "/api/runs", "runs", limit=3)
    assert got == sorted(got, reverse=True) and len(set(got)) == len(got)
    assert set(made) <= set(got)
    assert all(len(j["runs"]) == 3 for _, j in answers[:-1])
    # Filtered by a tentacle: the same pages, only its runs.
    mine, answers = walk(admin, "/api/runs", "runs", limit=2,
                         tentacle=ids[0])
    assert set(made) <= set(mine) and mine == sorted(mine, reverse=True)
    assert all("tentacle_job" in x for _, j in answers for x in j["runs"])
    for rid in made:
        wait_run_final(admin, rid)


def test_a_runs_jobs_by_pages(fleet, admin):
    ids = accepted_ids(fleet, 250)
    # These tentacles are rows, not hosts: the jobs of the offline ones
    # would wait a day for them (issue 16), so they expire at once.
    r = admin.post("/api/runs", {"script": "nothing-here", "tentacles": ids,
                                 "expires_in": 1})
    assert r.status == 202, r
    rid = r.json()["id"]
    wait_run_final(admin, rid)
    seen, answers = walk(admin, "/api/runs/%d" % rid, "jobs", limit=40,
                         output=0)
    assert len(answers) == 7
    tentacles = []
    for _, j in answers:
        # The summary counts every job, on every page.
        assert j["summary"]["jobs"] == 250, j["summary"]
        assert j["summary"]["finished"] == 250
        assert j["id"] == rid
        tentacles += [x["tentacle"] for x in j["jobs"]]
    assert seen == sorted(seen) and len(set(seen)) == 250
    assert sorted(tentacles) == sorted(ids)
    # Without a page: every job (at most 1000), next null.
    j = admin.get("/api/runs/%d" % rid).json()
    assert len(j["jobs"]) == 250 and j["next"] is None


def test_unknown_run_with_wait_is_404(admin):
    assert admin.get("/api/runs/99999?wait=5").status == 404


# ------------------------------------------------------------ ?wait=S

def get_in_thread(client_factory, path, timeout):
    """GET path in a thread with its own client: (thread, box); box gets
    the answer."""
    box = {}

    def run():
        c = client_factory()
        c.timeout = timeout
        box["answer"] = c.get(path)
        box["done"] = True
    th = threading.Thread(target=run, daemon=True)
    th.start()
    return th, box


@pytest.fixture
def gated(fleet, admin, new_tentacle):  # noqa: F811
    """A real tentacle whose script "gated" runs until the file GATE
    exists."""
    t = new_tentacle("127.0.0.2", fleet)
    gate = t.dir / "GATE"
    add_script(t, "gated", "while [ ! -e '%s' ]; do sleep 0.05; done\n"
               "echo through the gate" % gate)
    add_script(t, "quick", "echo quick")
    tid = int(enrol_self(t, fleet, make_token(admin)["token"])["id"])
    return t, tid, gate


def session_client(fleet, admin):
    """A new connection with admin's session (one request at a time each:
    the waiting request must not hold the test's own client)."""
    def make():
        c = fleet.client()
        c.session = admin.session
        c.csrf = admin.csrf
        return c
    return make


def test_wait_on_a_finished_run_answers_at_once(fleet, admin, gated):
    t, tid, gate = gated
    r = admin.post("/api/runs", {"script": "quick", "tentacles": [tid]})
    rid = r.json()["id"]
    wait_run_final(admin, rid)
    # wait=30 on a run that is finished: answered before a client that
    # gives up after 20 s would (it does not wait for the 30 s).
    c = session_client(fleet, admin)()
    c.timeout = 20
    j = c.get("/api/runs/%d?wait=30&output=1" % rid).json()
    assert j["jobs"][0]["state"] == "done"
    assert j["jobs"][0]["result"]["output"] == "quick\n"


def test_wait_answers_when_the_last_job_ends(fleet, admin, gated):
    t, tid, gate = gated
    rid = admin.post("/api/runs", {"script": "gated",
                                   "tentacles": [tid]}).json()["id"]
    octotest.wait_for(lambda: admin.get("/api/runs/%d" % rid).json()
                      ["jobs"][0]["state"] == "running", 20, 0.1,
                      "the gated job running")
    th, box = get_in_thread(session_client(fleet, admin),
                            "/api/runs/%d?wait=30" % rid, 40)
    # The waiter is held while the job runs: other requests go on (the
    # maestro and the webserv are not blocked) and it has not answered.
    for _ in range(5):
        assert admin.get("/api/tentacles?limit=1").status == 200
        assert admin.get("/api/runs/%d" % rid).json()["jobs"][0][
            "state"] == "running"
    assert "done" not in box
    gate.write_text("open\n")
    th.join(40)
    assert box.get("done"), "the waiter never answered"
    r = box["answer"]
    assert r.status == 200, r
    (job,) = r.json()["jobs"]
    assert job["state"] == "done", job
    assert job["result"]["output"] == "through the gate\n"


def test_wait_ends_after_s_with_the_run_as_it_is(fleet, admin, gated):
    t, tid, gate = gated
    rid = admin.post("/api/runs", {"script": "gated",
                                   "tentacles": [tid]}).json()["id"]
    c = session_client(fleet, admin)()
    c.timeout = 40
    # Longer than the webserv's io_timeout (2 s here): the held request
    # is not dropped meanwhile.
    r = c.get("/api/runs/%d?wait=4" % rid)
    assert r.status == 200, r
    j = r.json()
    # The gate is still closed: the answer came at the end of the wait,
    # with the job not final.
    assert not gate.exists()
    assert j["jobs"][0]["state"] in PENDING, j
    assert j["summary"]["finished"] == 0
    gate.write_text("open\n")
    j = c.get("/api/runs/%d?wait=30" % rid).json()
    assert j["jobs"][0]["state"] in FINISHED


def test_many_waiters_at_once(fleet, admin, gated):
    t, tid, gate = gated
    rid = admin.post("/api/runs", {"script": "gated",
                                   "tentacles": [tid]}).json()["id"]
    threads = [get_in_thread(session_client(fleet, admin),
                             "/api/runs/%d?wait=30&output=0" % rid, 40)
               for _ in range(20)]
    octotest.wait_for(lambda: admin.get("/api/runs/%d" % rid).json()
                      ["jobs"][0]["state"] == "running", 20, 0.1,
                      "the gated job running")
    assert not any("done" in box for _, box in threads)
    gate.write_text("open\n")
    for th, box in threads:
        th.join(40)
        assert box.get("done")
        assert box["answer"].json()["jobs"][0]["state"] == "done"


# ------------------------------------------------------------ 10,000

def test_ten_thousand_tentacles_paged_within_the_ipc_limit(tmp_path):
    # Facts of ~6 KB each: a page of 1000 would be 6 MB, past the IPC
    # limit; the brain cuts the page and says where the next starts.
    rows = fleet_rows(10000, facts_bytes=6000, seed=10000)
    # Each with the audit pack's scripts: GET /api/scripts lists every
    # tentacle of each (not paged; it grows with scripts x tentacles).
    pack = sorted(p.name for p in (octotest.REPO / "scripts" / "audit")
                  .iterdir() if p.is_file() and os.access(p, os.X_OK))
    b = brain_with_fleet(tmp_path / "brain", rows, scripts=pack)
    try:
        c = b.login()
        ids, answers = walk(c, "/api/tentacles", "tentacles")
        assert ids == list(range(1, 10001))
        for r, j in answers:
            assert len(r.body) < IPC_PAYLOAD_MAX, len(r.body)
            assert j["counts"]["total"] == 10000
        assert len(answers) > 10        # cut by size, not by the limit
        assert all(len(j["tentacles"]) < 1000 for _, j in answers)
        print("\n10,000 tentacles (6 KB facts): %d pages, largest %.1f MiB"
              % (len(answers), max(len(r.body) for r, _ in answers) /
                 2 ** 20))
        # Small pages, sorted, filtered: complete too.
        ids, answers = walk(c, "/api/tentacles", "tentacles", limit=1000,
                            sort="-last_seen", state="online")
        assert len(ids) == 6000 and len(set(ids)) == 6000
        j = c.get("/api/tentacles?limit=100").json()
        assert len(j["tentacles"]) == 100 and j["next"] == 100
        assert j["counts"] == {"online": 6000, "offline": 1000,
                               "unknown": 1000, "pending": 1000,
                               "rejected": 1000, "total": 10000}
        r = c.get("/api/scripts")
        assert r.status == 200, r
        assert len(r.json()["scripts"]) == len(pack) >= 30
        assert len(r.body) < IPC_PAYLOAD_MAX
        print("GET /api/scripts, %d scripts on 10,000 tentacles: %.1f MiB"
              % (len(pack), len(r.body) / 2 ** 20))
        assert "does not fit" not in b.log()
    finally:
        _stop_and_check(b)
