"""Runs through the API on real tentacles (issue 4): the brain orders over
the handshake on 7001, the tentacle runs the script and delivers the result
on 6001, the brain stores it once and shows it."""

import os
import stat

import pytest

import octotest
from octotest import wait_for
from test_enrolment import (brain, enrol_self, make_token,  # noqa: F401
                            new_tentacle, tentacle_bin)

FINISHED = ("done", "failed", "timeout", "unreachable", "refused",
            "expired")


def add_script(t, name, body):
    d = t.dir / "scripts"
    d.mkdir(exist_ok=True)
    p = d / name
    p.write_text("#!/bin/sh\n# description: %s (test)\n%s\n" % (name, body))
    p.chmod(0o755)


def enrolled(brain, new_tentacle, client, address, scripts):  # noqa: F811
    t = new_tentacle(address, brain)
    for name, body in scripts.items():
        add_script(t, name, body)
    state = enrol_self(t, brain, make_token(client)["token"])
    return t, int(state["id"])


def run_and_wait(client, script, tentacles, timeout=20):
    r = client.post("/api/runs", {"script": script, "tentacles": tentacles})
    assert r.status == 202, r
    run_id = r.json()["id"]

    def finished():
        j = client.get("/api/runs/%d" % run_id).json()
        return j if all(x["state"] in FINISHED for x in j["jobs"]) else None
    return wait_for(finished, timeout, 0.1, "run %d finished" % run_id)


def test_run_on_one_tentacle(brain, new_tentacle):  # noqa: F811
    c = brain.login()
    t, tid = enrolled(brain, new_tentacle, c, "127.0.0.2", {
        "findings": "echo 'FAIL  something'\necho '1 findings'\nexit 1"})
    run = run_and_wait(c, "findings", [tid])
    assert run["script"] == "findings" and run["created_by"] == "admin"
    (job,) = run["jobs"]
    assert job["tentacle"] == tid and job["state"] == "done", job
    res = job["result"]
    assert res["exit_status"] == 1 and res["signal"] is None, res
    assert res["output"] == "FAIL  something\n1 findings\n"
    assert res["truncated"] is False
    assert res["duration_ms"] >= 0 and res["started_at"].endswith("Z")
    # The same result, whole, and in the tentacle's history.
    full = c.get("/api/results/%d" % res["id"]).json()
    assert full["output"] == res["output"] and full["tentacle"] == tid
    hist = c.get("/api/tentacles/%d/results" % tid).json()["results"]
    assert [h["id"] for h in hist] == [res["id"]]
    assert hist[0]["script"] == "findings"
    # Listed among the runs.
    runs = c.get("/api/runs").json()["runs"]
    assert runs[0]["id"] == run["id"] and runs[0]["finished"] == 1


def test_run_all_on_three(brain, new_tentacle):  # noqa: F811
    c = brain.login()
    ids = []
    for i in (2, 3, 4):
        t, tid = enrolled(brain, new_tentacle, c, "127.0.0.%d" % i,
                          {"hello": "echo hello from tentacle %d" % i})
        ids.append(tid)
    run = run_and_wait(c, "hello", "all")
    assert sorted(j["tentacle"] for j in run["jobs"]) == sorted(ids)
    for j in run["jobs"]:
        assert j["state"] == "done", j
        assert j["result"]["exit_status"] == 0
        assert j["result"]["output"].startswith("hello from tentacle")
    # Every result stored exactly once.
    for tid in ids:
        assert len(c.get("/api/tentacles/%d/results" % tid).json()[
            "results"]) == 1


def test_unknown_script_runs_nothing(brain, new_tentacle):  # noqa: F811
    c = brain.login()
    t, tid = enrolled(brain, new_tentacle, c, "127.0.0.2",
                      {"present": "echo hi"})
    run = run_and_wait(c, "absent", [tid])
    (job,) = run["jobs"]
    assert job["state"] == "failed", job
    assert "unknown script" in job["message"], job
    assert job["result"] is None


def test_hostile_output_is_stored_as_text(brain, new_tentacle):  # noqa: F811
    c = brain.login()
    payload = "<img src=x onerror=alert(1)>"
    t, tid = enrolled(brain, new_tentacle, c, "127.0.0.2", {
        "xss": "printf '%%s\\n' '%s'\nprintf 'bad byte: \\377\\n'" % payload})
    (job,) = run_and_wait(c, "xss", [tid])["jobs"]
    out = job["result"]["output"]
    assert payload in out
    # Invalid UTF-8 is shown as U+FFFD, never dropped silently.
    assert "bad byte: \ufffd" in out


def test_unreachable_tentacle(brain, new_tentacle):  # noqa: F811
    c = brain.login()
    t, tid = enrolled(brain, new_tentacle, c, "127.0.0.2",
                      {"hello": "echo hi"})
    t.stop()
    (job,) = run_and_wait(c, "hello", [tid])["jobs"]
    assert job["state"] == "unreachable", job
    assert job["message"], job


@pytest.mark.parametrize("body,status", [
    ({"script": "hello"}, 400),
    ({"script": "../etc/passwd", "tentacles": "all"}, 400),
    ({"script": ".hidden", "tentacles": "all"}, 400),
    ({"script": "hello", "tentacles": []}, 400),
    ({"script": "hello", "tentacles": [0]}, 400),
    ({"script": "hello", "tentacles": ["1"]}, 400),
    ({"script": "hello", "tentacles": [12345]}, 400),
    ({"script": "hello", "tentacles": "all"}, 409),    # no tentacle yet
])
def test_bad_run_requests(brain, body, status):  # noqa: F811
    c = brain.login()
    r = c.post("/api/runs", body)
    assert r.status == status, r
    assert r.json()["error"]
    assert c.get("/api/runs").json()["runs"] == []


def test_unknown_run_and_result(brain):  # noqa: F811
    c = brain.login()
    assert c.get("/api/runs/7").status == 404
    assert c.get("/api/results/7").status == 404
    assert c.get("/api/tentacles/7/results").json() == {"results": []}
