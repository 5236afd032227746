"""Tentacle labels (issue 16): set by an admin with PUT
/api/tentacles/{id}/labels, proposed by a tentacle's own configuration
(`labels = web, db`) and shown as proposed until accepted; runs on the
tentacles that hold any of some labels."""

import pytest

from octotest import wait_for
from test_enrolment import (brain, enrol_self, make_token,  # noqa: F401
                            new_tentacle, tentacle_bin)
from test_runs import add_script, run_and_wait


def tentacle(c, tid):
    (t,) = [x for x in c.get("/api/tentacles").json()["tentacles"]
            if x["id"] == tid]
    return t


@pytest.fixture
def two(brain, new_tentacle):  # noqa: F811
    c = brain.login()
    t1 = new_tentacle("127.0.0.2", brain, labels="web, db")
    t2 = new_tentacle("127.0.0.3", brain)
    ids = []
    for t in (t1, t2):
        add_script(t, "hello", "echo hi")
        ids.append(int(enrol_self(t, brain, make_token(c)["token"])["id"]))
    return c, ids


def test_labels_proposed_then_accepted(two):
    c, (a, b) = two
    # The tentacle's configuration proposes; nothing is accepted yet.
    t = wait_for(lambda: (lambda t: t if t["proposed_labels"] else None)(
        tentacle(c, a)), 15, 0.2, "labels proposed")
    assert t["proposed_labels"] == ["db", "web"] and t["labels"] == []
    assert tentacle(c, b)["labels"] == [] == tentacle(c, b)["proposed_labels"]

    # Accepting one of them: it is accepted, the other still proposed.
    r = c.put("/api/tentacles/%d/labels" % a, {"labels": ["web", "eu-1"]})
    assert r.status == 200, r
    assert r.json()["labels"] == ["eu-1", "web"]
    assert r.json()["proposed_labels"] == ["db"]
    t = tentacle(c, a)
    assert t["labels"] == ["eu-1", "web"] and t["proposed_labels"] == ["db"]

    # Every change is in the audit log.
    ev = c.get("/api/audit?action=labels").json()["events"]
    assert ev and ev[0]["actor"] == "admin" and "web,eu-1" in ev[0]["detail"]

    # An empty list takes the accepted ones away; what is still proposed
    # stays (web is proposed again at the tentacle's next inventory).
    r = c.put("/api/tentacles/%d/labels" % a, {"labels": []})
    assert r.status == 200 and r.json()["labels"] == [], r
    assert r.json()["proposed_labels"] == ["db"]


@pytest.mark.parametrize("body", [
    {"labels": ["Web"]}, {"labels": ["a" * 33]}, {"labels": [""]},
    {"labels": ["web db"]}, {"labels": "web"}, {"labels": [1]}, {},
    {"labels": ["l%d" % i for i in range(33)]}, [], "web",
])
def test_bad_labels(brain, body):  # noqa: F811
    c = brain.login()
    # The tentacle is checked after the body: any ID does here.
    r = c.put("/api/tentacles/1/labels", body)
    assert r.status == 400, r
    assert "label" in r.json()["error"] or "JSON" in r.json()["error"]


def test_labels_of_unknown_tentacle_and_csrf(brain):  # noqa: F811
    c = brain.login()
    r = c.put("/api/tentacles/4242/labels", {"labels": ["web"]})
    assert r.status == 404 and r.json()["error"], r
    r = c.put("/api/tentacles/4242/labels", {"labels": ["web"]}, csrf=False)
    assert r.status == 403, r
    # PUT on a route that has none.
    assert c.put("/api/tokens", {}).status == 405


def test_runs_by_label(two):
    c, (a, b) = two
    assert c.put("/api/tentacles/%d/labels" % a,
                 {"labels": ["web"]}).status == 200
    assert c.put("/api/tentacles/%d/labels" % b,
                 {"labels": ["db"]}).status == 200
    r = c.post("/api/runs", {"script": "hello", "labels": ["web"]})
    assert r.status == 202, r
    run = wait_for(lambda: (lambda j: j if j["jobs"] and all(
        x["state"] == "done" for x in j["jobs"]) else None)(
        c.get("/api/runs/%d" % r.json()["id"]).json()), 20, 0.1, "run")
    assert [j["tentacle"] for j in run["jobs"]] == [a]
    # Any of the labels.
    r = c.post("/api/runs", {"script": "hello", "labels": ["db", "web"]})
    assert r.status == 202, r
    run = c.get("/api/runs/%d" % r.json()["id"]).json()
    assert sorted(j["tentacle"] for j in run["jobs"]) == sorted([a, b])
    # No tentacle has it; labels and tentacles at once; a bad one.
    r = c.post("/api/runs", {"script": "hello", "labels": ["nope"]})
    assert r.status == 409 and r.json()["error"], r
    r = c.post("/api/runs", {"script": "hello", "labels": ["web"],
                             "tentacles": "all"})
    assert r.status == 400 and "not both" in r.json()["error"], r
    for bad in (["Web"], [], "web"):
        r = c.post("/api/runs", {"script": "hello", "labels": bad})
        assert r.status == 400, (bad, r)
    assert run_and_wait(c, "hello", [b])["jobs"][0]["state"] == "done"
