"""Waivers (issue 16, SPEC "Groups, schedules, compliance, waivers"): an
admin waives a script, or one check of it, on a tentacle or a label, with
a reason and an expiry of at most a year; the matrix then shows the cell
as waived with its reason (a compliant cell stays compliant, the waiver
shown as unused), counted apart from the score; an expired waiver stops
applying by itself; every bad input is refused with a message; viewers
and operators may read but not add; all of it in the audit log."""

import time
from datetime import datetime, timezone

import pytest

from octotest import wait_for
from test_api_compliance import cells, matrix
from test_enrolment import (brain, enrol_self, make_token,  # noqa: F401
                            new_tentacle, tentacle_bin)
from test_runs import add_script, run_and_wait

PW = "correct horse battery"


def rfc3339(t):
    return datetime.fromtimestamp(int(t), timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def in_days(n):
    return rfc3339(time.time() + n * 86400)


@pytest.fixture
def audited(brain, new_tentacle):  # noqa: F811
    """Two tentacles ran "audit" (one FAIL check, one OK) and "clean"
    (compliant); t1 carries the label web. (client, t1, t2)."""
    c = brain.login()
    ids = []
    for addr in ("127.0.0.2", "127.0.0.3"):
        t = new_tentacle(addr, brain)
        add_script(t, "audit", "echo 'FAIL ssh.root root may log in'\n"
                   "echo 'OK ssh.proto protocol 2'\nexit 1")
        add_script(t, "clean", "echo 'OK sysctl.a fine'; exit 0")
        ids.append(int(enrol_self(t, brain, make_token(c)["token"])["id"]))
    r = c.put("/api/tentacles/%d/labels" % ids[0], {"labels": ["web"]})
    assert r.status == 200, r
    run_and_wait(c, "audit", ids)
    run_and_wait(c, "clean", ids)
    return c, ids[0], ids[1]


def add(c, body, status=201):
    r = c.post("/api/waivers", body)
    assert r.status == status, (body, r)
    return r.json()


def test_waiver_on_a_tentacle_applies(audited):
    c, t1, t2 = audited
    before = matrix(c)
    assert before["counts"]["findings"] == 2
    w = add(c, {"tentacle": t1, "script": "audit", "reason": "legacy host,"
                " replaced in Q1", "expires_at": in_days(30)})
    assert set(w) == {"id"}
    m = matrix(c)
    cell = cells(m)[t1]["audit"]
    assert cell["verdict"] == "waived"
    assert cell["waiver"] == {"id": w["id"], "reason": "legacy host, "
                              "replaced in Q1", "unused": False}
    assert cell["result"] and cell["failed_checks"] == 1
    assert cells(m)[t2]["audit"]["verdict"] == "findings"
    # Counted apart: the score is over compliant, findings and errors.
    assert m["counts"]["waived"] == 1 and m["counts"]["findings"] == 1
    assert m["counts"]["compliant"] == 2
    assert m["score"] == pytest.approx(100 * 2 / 3, abs=0.05)
    # Listed, with its author and expiry.
    (got,) = c.get("/api/waivers").json()["waivers"]
    assert got["id"] == w["id"] and got["tentacle"] == t1
    assert got["hostname"] and got["created_by"] == "admin"
    assert got["script"] == "audit" and got["check"] is None
    assert got["expired"] is False and got["expires_at"].endswith("Z")
    # A compliant cell stays compliant: the waiver shown as unused.
    add(c, {"tentacle": t1, "script": "clean", "reason": "just in case",
            "expires_at": in_days(1)})
    cell = cells(matrix(c))[t1]["clean"]
    assert cell["verdict"] == "compliant"
    assert cell["waiver"]["unused"] is True
    # The timeline shows it too.
    pts = c.get("/api/compliance/timeline?tentacle=%d&script=audit" %
                t1).json()["points"]
    assert pts[0]["verdict"] == "waived"
    # Removed: the cell is findings again; audited.
    r = c.delete("/api/waivers/%d" % w["id"])
    assert r.status == 200, r
    assert cells(matrix(c))[t1]["audit"]["verdict"] == "findings"
    assert c.delete("/api/waivers/%d" % w["id"]).status == 404
    assert [x["id"] for x in c.get("/api/waivers").json()["waivers"]] != \
        [w["id"]]
    events = c.get("/api/audit").json()["events"]
    actions = [e["action"] for e in events]
    assert "waiver_create" in actions and "waiver_delete" in actions
    detail = next(e["detail"] for e in events
                  if e["action"] == "waiver_create")
    assert "replaced in Q1" in detail or "just in case" in detail


def test_waiver_on_a_label_and_on_a_check(audited):
    c, t1, t2 = audited
    add(c, {"label": "web", "script": "audit", "reason": "web tier "
            "accepted by the CISO", "expires_at": in_days(90)})
    got = cells(matrix(c))
    assert got[t1]["audit"]["verdict"] == "waived"
    assert got[t2]["audit"]["verdict"] == "findings"
    (w,) = c.get("/api/waivers").json()["waivers"]
    assert w["label"] == "web" and "tentacle" not in w
    # One check, on the other host: waived by check, not the script.
    add(c, {"tentacle": t2, "script": "audit", "check": "ssh.root",
            "reason": "root login needed by the backup", "expires_at":
            in_days(7)})
    by_check = cells(matrix(c, "?by=check"))
    assert by_check[t2]["ssh.root"]["verdict"] == "waived"
    assert by_check[t2]["ssh.root"]["waiver"]["reason"] == \
        "root login needed by the backup"
    assert by_check[t2]["ssh.proto"]["verdict"] == "compliant"
    # Its only FAIL waived: the script's cell is waived too, with the
    # check waiver's reason.
    cell = cells(matrix(c))[t2]["audit"]
    assert cell["verdict"] == "waived", cell
    assert cell["waiver"]["reason"] == "root login needed by the backup"
    pts = c.get("/api/compliance/history?days=1").json()["points"]
    assert pts[-1]["waived"] == 2, pts
    # The label filter: only t1.
    m = matrix(c, "?labels=web")
    assert [t["id"] for t in m["tentacles"]] == [t1]
    assert m["tentacles"][0]["labels"] == ["web"]
    assert m["counts"]["waived"] == 1 and m["counts"]["compliant"] == 1
    assert matrix(c, "?labels=db")["tentacles"] == []


def test_expired_waiver_stops_applying(audited):
    c, t1, t2 = audited
    soon = time.time() + 3
    add(c, {"tentacle": t1, "script": "audit", "reason": "a few seconds",
            "expires_at": rfc3339(soon)})
    # (waived now, unless the machine is slower than three seconds)
    wait_for(lambda: cells(matrix(c))[t1]["audit"]["verdict"] ==
             "findings", 15, 0.2, "the waiver expired")
    (w,) = c.get("/api/waivers").json()["waivers"]
    assert w["expired"] is True
    # The past still shows it: as of when it was in force.
    created = datetime.strptime(w["created_at"], "%Y-%m-%dT%H:%M:%SZ")
    asof = created.replace(tzinfo=timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")
    assert cells(matrix(c, "?as_of=" + asof))[t1]["audit"]["verdict"] == \
        "waived"


@pytest.mark.parametrize("body,word", [
    ({"script": "audit", "reason": "r"}, "exactly one"),
    ({"tentacle": 1, "label": "web", "script": "audit", "reason": "r"},
     "exactly one"),
    ({"tentacle": 0, "script": "audit", "reason": "r"}, "tentacle"),
    ({"tentacle": "1", "script": "audit", "reason": "r"}, "tentacle"),
    ({"label": "Web!", "script": "audit", "reason": "r"}, "label"),
    ({"label": "x" * 33, "script": "audit", "reason": "r"}, "label"),
    ({"tentacle": 1, "reason": "r"}, "script"),
    ({"tentacle": 1, "script": "../etc/passwd", "reason": "r"}, "script"),
    ({"tentacle": 1, "script": "a b", "reason": "r"}, "script"),
    ({"tentacle": 1, "script": "audit", "check": "no spaces allowed",
      "reason": "r"}, "check"),
    ({"tentacle": 1, "script": "audit", "check": 5, "reason": "r"},
     "check"),
    ({"tentacle": 1, "script": "audit"}, "reason"),
    ({"tentacle": 1, "script": "audit", "reason": "   "}, "reason"),
    ({"tentacle": 1, "script": "audit", "reason": "x" * 501}, "reason"),
    ({"tentacle": 1, "script": "audit", "reason": "a\nb"}, "reason"),
    ({"tentacle": 1, "script": "audit", "reason": "r"}, "expires_at"),
    ({"tentacle": 1, "script": "audit", "reason": "r",
      "expires_at": "tomorrow"}, "expires_at"),
    ({"tentacle": 1, "script": "audit", "reason": "r",
      "expires_at": 1893456000}, "expires_at"),
    ({"tentacle": 1, "script": "audit", "reason": "r",
      "expires_at": "2020-01-01T00:00:00Z"}, "future"),
    ({"tentacle": 1, "script": "audit", "reason": "r",
      "expires_at": "PAST"}, "future"),
    ({"tentacle": 1, "script": "audit", "reason": "r",
      "expires_at": "YEAR"}, "year"),
    ({"tentacle": 1, "script": "audit", "reason": "r", "expires_at":
      "LATER", "note": "x"}, "only"),
    ({"tentacle": 999, "script": "audit", "reason": "r",
      "expires_at": "LATER"}, "tentacle"),
])
def test_bad_waivers(brain, body, word):  # noqa: F811
    c = brain.login()
    body = dict(body)
    if body.get("expires_at") == "PAST":
        body["expires_at"] = rfc3339(time.time() - 5)
    elif body.get("expires_at") == "YEAR":
        body["expires_at"] = in_days(367)
    elif body.get("expires_at") == "LATER":
        body["expires_at"] = in_days(1)
    r = c.post("/api/waivers", body)
    assert r.status == 400, (body, r)
    assert word in r.json()["error"], r.json()
    assert c.get("/api/waivers").json()["waivers"] == []


def test_bad_waiver_bodies(brain):  # noqa: F811
    c = brain.login()
    for raw in (b"", b"[]", b"{", b'{"tentacle": 1, "tentacle": 2}',
                b'"x"'):
        r = c.request("POST", "/api/waivers", raw=raw, csrf=True,
                      headers={"Content-Type": "application/json"})
        assert r.status == 400, (raw, r)
        assert r.json()["error"]
    assert c.delete("/api/waivers/12345").status == 404


def test_only_admins_add_or_remove(brain):  # noqa: F811
    admin = brain.login()
    body = {"label": "web", "script": "audit", "reason": "r",
            "expires_at": in_days(1)}
    w = add(admin, body)
    for name, role in (("vera", "viewer"), ("otto", "operator")):
        r = admin.post("/api/users", {"name": name, "password": PW,
                                      "role": role})
        assert r.status == 201, r
        u = brain.login(name, PW)
        assert u.post("/api/waivers", body).status == 403
        assert u.delete("/api/waivers/%d" % w["id"]).status == 403
        # Readers see them.
        r = u.get("/api/waivers")
        assert r.status == 200 and len(r.json()["waivers"]) == 1
        assert u.get("/api/compliance").status == 200
    # Without the CSRF token: refused.
    r = admin.request("POST", "/api/waivers", body=body, csrf=None)
    assert r.status == 403
    assert len(admin.get("/api/waivers").json()["waivers"]) == 1
