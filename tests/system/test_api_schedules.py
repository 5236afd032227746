"""Schedules (issue 16): GET/POST/PUT/DELETE /api/schedules, fired by the
maestro's own loop. An `every` schedule fires when it is created (then
every N seconds); a brain that was down over firings fires once when it
is back, not once per missed firing. Bad input gets 400 naming the field.
The restart test moves the schedule's next firing into the past in the
database while the brain is stopped, as if it had been down for an hour:
no test waits for a minute to pass."""

import sqlite3
import time
from datetime import datetime, timezone

import pytest

from octotest import wait_for
from test_enrolment import (brain, enrol_self, make_token,  # noqa: F401
                            new_tentacle, tentacle_bin)
from test_runs import add_script


def parse_time(s):
    return datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=timezone.utc).timestamp()


def schedule_runs(c, sid):
    return [r for r in c.get("/api/runs").json()["runs"]
            if r["created_by"] == "schedule:%d" % sid]


def with_hello(brain, new_tentacle):  # noqa: F811
    """(client, tentacle, its ID): a tentacle with the script "hello",
    enrolled on brain."""
    c = brain.login()
    t = new_tentacle("127.0.0.2", brain)
    add_script(t, "hello", "echo hi")
    tid = int(enrol_self(t, brain, make_token(c)["token"])["id"])
    # Its scripts are known once it answered the welcome ping.
    wait_for(lambda: any(s["name"] == "hello" for s in
                         c.get("/api/scripts").json()["scripts"]),
             15, 0.2, "the tentacle's scripts")
    return c, t, tid


@pytest.fixture
def one(brain, new_tentacle):  # noqa: F811
    return with_hello(brain, new_tentacle)


def test_every_fires_and_restart_fires_once(brain, one):  # noqa: F811
    c, t, tid = one
    before = time.time()
    r = c.post("/api/schedules", {"script": "hello", "tentacles": [tid],
                                  "every": 60})
    assert r.status == 201, r
    sid = r.json()["id"]

    # Fired by the maestro: an ordinary run by "schedule:ID", done.
    (run,) = wait_for(lambda: schedule_runs(c, sid), 10, 0.2, "fired")
    full = wait_for(lambda: (lambda j: j if j["jobs"][0]["state"] == "done"
                             else None)(c.get("/api/runs/%d" % run["id"])
                                        .json()), 20, 0.2, "run done")
    assert full["created_by"] == "schedule:%d" % sid
    assert full["jobs"][0]["result"]["output"] == "hi\n"
    s = c.get("/api/schedules/%d" % sid).json()
    assert s["last_run"] == run["id"] and s["every"] == 60
    assert s["enabled"] is True and s["disabled_reason"] is None
    # The next firing a minute after this one.
    assert 59 <= parse_time(s["next_at"]) - parse_time(s["last_at"]) <= 60
    assert parse_time(s["last_at"]) >= int(before)
    listed = c.get("/api/schedules").json()
    assert [x["id"] for x in listed["schedules"]] == [sid]
    assert listed["time_zone"] and listed["utc_offset"][0] in "+-"
    # Its jobs wait for their tentacle until the next firing.
    db = sqlite3.connect(str(brain.state_dir / "brain.db"))
    (exp,) = db.execute("SELECT expires_at FROM jobs WHERE run_id = ?",
                        (run["id"],)).fetchone()
    db.close()
    assert exp == int(parse_time(s["next_at"]))

    # Down for an hour: sixty firings missed, one run when it is back.
    brain.stop()
    db = sqlite3.connect(str(brain.state_dir / "brain.db"))
    with db:
        db.execute("UPDATE schedules SET next_at = ? WHERE id = ?",
                   (int(time.time()) - 3600 + 5, sid))
    db.close()
    brain.start()
    c = brain.login()
    runs = wait_for(lambda: (lambda x: x if len(x) >= 2 else None)(
        schedule_runs(c, sid)), 15, 0.2, "fired again on return")
    s = c.get("/api/schedules/%d" % sid).json()
    # The next firing is in the future (the phase kept): nothing more due.
    assert parse_time(s["next_at"]) > parse_time(s["last_at"])
    assert parse_time(s["next_at"]) - parse_time(s["last_at"]) <= 60
    assert len(schedule_runs(c, sid)) == 2 == len(runs)
    brain.wait_log(r"maestro: .*schedule:%d started run" % sid, timeout=1)


def test_cron_enable_disable_delete(brain, one):  # noqa: F811
    c, t, tid = one
    r = c.post("/api/schedules", {"script": "hello", "tentacles": "all",
                                  "cron": "30 3 * * mon-fri"})
    assert r.status == 201, r
    sid = r.json()["id"]
    s = c.get("/api/schedules/%d" % sid).json()
    assert s["cron"] == "30 3 * * mon-fri" and s["tentacles"] == "all"
    nxt = parse_time(s["next_at"])
    assert time.time() < nxt <= time.time() + 4 * 86400
    local = time.localtime(nxt)
    assert (local.tm_hour, local.tm_min) == (3, 30) and local.tm_wday < 5

    r = c.put("/api/schedules/%d" % sid, {"enabled": False})
    assert r.status == 200, r
    assert r.json()["enabled"] is False and r.json()["next_at"] is None
    r = c.put("/api/schedules/%d" % sid, {"labels": ["nope"]})
    assert r.status == 400 and "label" in r.json()["error"], r
    assert c.put("/api/tentacles/%d/labels" % tid,
                 {"labels": ["web"]}).status == 200
    r = c.put("/api/schedules/%d" % sid, {"labels": ["web"],
                                          "enabled": True})
    assert r.status == 200, r
    assert r.json()["labels"] == ["web"] and "tentacles" not in r.json()
    assert parse_time(r.json()["next_at"]) == nxt

    ev = c.get("/api/audit").json()["events"]
    actions = [e["action"] for e in ev if "schedule %d" % sid in e["detail"]]
    assert "schedule created" in actions and "schedule changed" in actions
    assert c.delete("/api/schedules/%d" % sid).status == 200
    assert c.get("/api/schedules/%d" % sid).status == 404
    assert c.delete("/api/schedules/%d" % sid).status == 404
    assert c.put("/api/schedules/%d" % sid, {"enabled": True}).status == 404
    assert c.get("/api/schedules").json()["schedules"] == []


@pytest.mark.parametrize("body,says", [
    ({"script": "hello", "tentacles": "all", "every": 59}, "every"),
    ({"script": "hello", "tentacles": "all", "every": 30.5}, "every"),
    ({"script": "hello", "tentacles": "all", "cron": "* * * *"}, "cron"),
    ({"script": "hello", "tentacles": "all", "cron": "61 * * * *"},
     "cron: minute"),
    ({"script": "hello", "tentacles": "all", "cron": "* * * foo *"},
     "cron: month"),
    ({"script": "hello", "tentacles": "all", "cron": "0 0 31 2 *"},
     "never"),
    ({"script": "nosuch", "tentacles": "all", "every": 60}, "script"),
    ({"script": "../x", "tentacles": "all", "every": 60}, "script"),
    ({"script": "hello", "labels": ["unknown"], "every": 60}, "label"),
    ({"script": "hello", "labels": ["Bad"], "every": 60}, "label"),
    ({"script": "hello", "tentacles": [4242], "every": 60}, "tentacle"),
    ({"script": "hello", "tentacles": "some", "every": 60}, "tentacles"),
    ({"script": "hello", "every": 60}, "tentacles or labels"),
    ({"tentacles": "all", "every": 60}, "script"),
    ({"script": "hello", "tentacles": "all"}, "every or cron"),
    ({"script": "hello", "tentacles": "all", "every": 60, "when": 1},
     "unknown field"),
])
def test_bad_schedules(one, body, says):
    c, t, tid = one
    r = c.post("/api/schedules", body)
    assert r.status == 400, r
    assert says in r.json()["error"], r.json()
    assert c.get("/api/schedules").json()["schedules"] == []


def test_schedule_of_a_script_gone_is_disabled(brain, one):  # noqa: F811
    c, t, tid = one
    r = c.post("/api/schedules", {"script": "hello", "tentacles": "all",
                                  "every": 3600})
    assert r.status == 201, r
    sid = r.json()["id"]
    wait_for(lambda: schedule_runs(c, sid), 10, 0.2, "fired")
    # The script left every tentacle (as its inventory would say), and
    # the schedule is due again.
    brain.stop()
    db = sqlite3.connect(str(brain.state_dir / "brain.db"))
    with db:
        db.execute("DELETE FROM tentacle_scripts WHERE name = 'hello'")
        db.execute("UPDATE schedules SET next_at = ? WHERE id = ?",
                   (int(time.time()) - 1, sid))
    db.close()
    brain.start()
    c = brain.login()
    s = wait_for(lambda: (lambda s: s if not s["enabled"] else None)(
        c.get("/api/schedules/%d" % sid).json()), 10, 0.2, "disabled")
    assert "hello" in s["disabled_reason"] and s["next_at"] is None, s
    assert len(schedule_runs(c, sid)) == 1
    ev = c.get("/api/audit?action=schedule%20disabled").json()["events"]
    assert ev and ev[0]["actor"] == "system"


def test_only_admins_change_schedules_and_labels(brain, one):  # noqa: F811
    c, t, tid = one
    r = c.post("/api/users", {"name": "op", "password": "operator-pass-1",
                              "role": "operator"})
    assert r.status in (200, 201), r
    r = c.post("/api/schedules", {"script": "hello", "tentacles": "all",
                                  "every": 3600})
    sid = r.json()["id"]
    op = brain.client()
    assert op.login("op", "operator-pass-1").status == 200
    # An operator reads them, and runs on labels; changes none.
    assert op.get("/api/schedules").status == 200
    assert op.get("/api/schedules/%d" % sid).status == 200
    for r in (op.post("/api/schedules", {"script": "hello",
                                         "tentacles": "all", "every": 60}),
              op.put("/api/schedules/%d" % sid, {"enabled": False}),
              op.delete("/api/schedules/%d" % sid),
              op.put("/api/tentacles/%d/labels" % tid, {"labels": ["x"]})):
        assert r.status == 403 and r.json()["error"], r
    assert c.get("/api/schedules/%d" % sid).json()["enabled"] is True


# ---- the clock driven by test_schedule_min_every (a test-only key) ----

@pytest.fixture
def quick(brain_factory, new_tentacle):  # noqa: F811
    """A brain whose schedules may fire every second (the test-only key
    test_schedule_min_every), with one tentacle that has "hello"."""
    b = brain_factory({"io_timeout": 2, "test_schedule_min_every": 1},
                      verbose=True)
    return (b,) + with_hello(b, new_tentacle)


def test_every_two_seconds_fires_again_until_disabled(quick):
    b, c, t, tid = quick
    # Below the key's minimum: still 400 naming the field.
    r = c.post("/api/schedules", {"script": "hello", "tentacles": [tid],
                                  "every": 0})
    assert r.status == 400 and "every" in r.json()["error"], r
    r = c.post("/api/schedules", {"script": "hello", "tentacles": [tid],
                                  "every": 2})
    assert r.status == 201, r
    sid = r.json()["id"]

    runs = wait_for(lambda: (lambda x: x if len(x) >= 3 else None)(
        schedule_runs(c, sid)), 30, 0.2, "three firings")
    # Each an ordinary run by "schedule:ID", each done, on its own.
    assert len({r["id"] for r in runs}) == len(runs)
    for run in runs[:3]:
        full = wait_for(lambda: (lambda j: j if j["jobs"][0]["state"] ==
                                 "done" else None)(
            c.get("/api/runs/%d" % run["id"]).json()), 20, 0.2, "done")
        assert full["created_by"] == "schedule:%d" % sid
        assert full["script"] == "hello"
        assert full["jobs"][0]["result"]["output"] == "hi\n"
    s = c.get("/api/schedules/%d" % sid).json()
    assert s["every"] == 2 and s["enabled"] is True
    assert parse_time(s["next_at"]) - parse_time(s["last_at"]) == 2

    # Disabled: no firing any more (two periods and more, the maestro's
    # tick is a second).
    r = c.put("/api/schedules/%d" % sid, {"enabled": False})
    assert r.status == 200 and r.json()["next_at"] is None, r
    n = len(schedule_runs(c, sid))
    time.sleep(5)
    assert len(schedule_runs(c, sid)) == n
    # Enabled again: it fires at once, then goes on.
    r = c.put("/api/schedules/%d" % sid, {"enabled": True})
    assert r.status == 200, r
    wait_for(lambda: len(schedule_runs(c, sid)) > n, 10, 0.2, "again")


def test_schedule_of_a_deleted_managed_script_is_disabled(quick):
    b, c, t, tid = quick
    # A managed script, on the tentacle (as its inventory said before it
    # went offline: it cannot drop its copy).
    r = c.post("/api/scripts", {"name": "gone", "body": "#!/bin/sh\n"
                                "echo OK check.gone fine\n"})
    assert r.status == 201, r
    sha = r.json()["sha256"]
    t.stop()
    b.stop()
    db = sqlite3.connect(str(b.state_dir / "brain.db"))
    with db:
        db.execute("INSERT INTO tentacle_scripts (tentacle_id, name, "
                   "sha256, description, version) VALUES (?, 'gone', ?, "
                   "'', 1)", (tid, sha))
    db.close()
    b.start()
    c = b.login()
    r = c.post("/api/schedules", {"script": "gone", "tentacles": [tid],
                                  "every": 2})
    assert r.status == 201, r
    sid = r.json()["id"]
    wait_for(lambda: schedule_runs(c, sid), 10, 0.2, "fired")

    assert c.delete("/api/scripts/gone").status == 200
    s = wait_for(lambda: (lambda s: s if not s["enabled"] else None)(
        c.get("/api/schedules/%d" % sid).json()), 10, 0.2, "disabled")
    assert s["disabled_reason"] == "the script gone was deleted", s
    assert s["next_at"] is None
    ev = c.get("/api/audit?action=schedule%20disabled").json()["events"]
    assert ev and ev[0]["actor"] == "system"
    assert "schedule %d: the script gone was deleted" % sid in \
        ev[0]["detail"]
    # Nor can a new one be made on it.
    r = c.post("/api/schedules", {"script": "gone", "tentacles": [tid],
                                  "every": 2})
    assert r.status == 400 and "gone was deleted" in r.json()["error"], r


@pytest.mark.parametrize("value", ["0", "61", "-1", "soon"])
def test_min_every_key_out_of_range(brain_bin, tmp_path, value):
    from octotest import Brain
    from test_brain import bad_conf_text, run_cmd
    b = Brain(tmp_path)
    text, line = bad_conf_text(b, "test_schedule_min_every = " + value)
    b.write_conf(text)
    r = run_cmd([str(brain_bin), "-c", str(b.conf_path), "-n"],
                cwd=str(tmp_path))
    assert r.returncode == 2, r
    assert "brain.conf:%d:" % line in r.stderr, r.stderr
    assert "test_schedule_min_every" in r.stderr, r.stderr
