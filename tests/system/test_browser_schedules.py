"""Labels and schedules in the dashboard (issue 16), in headless Chromium
on a real brain and a real tentacle: the tentacle page shows the labels
its configuration proposes and an admin accepts them; the Fleet shows
labels; the new-run form runs on hosts with a label; the Schedules page
says the brain's time zone, creates a schedule (which fires: an interval
starts now), disables, edits and deletes one; a job for a host that is
away says until when it waits. Screenshots as in
test_browser_dashboard.py (OCTO_SCREENSHOTS=dir keeps them)."""

import pytest

import octotest
from octotest import Tentacle, wait_for
from test_browser_dashboard import FAST, chrome  # noqa: F401
from test_enrolment import enrol_self, make_token
from test_runs import add_script


@pytest.fixture
def labelled(brain_factory, tmp_path):
    if not octotest.TENTACLE_BIN.exists():
        pytest.fail("%s not built" % octotest.TENTACLE_BIN, pytrace=False)
    b = brain_factory(FAST)
    admin = b.login()
    t = Tentacle(tmp_path / "web-1", "127.0.0.2", b, name="web-1",
                 overrides={"labels": "web, eu-west"})
    add_script(t, "audit", "echo OK x.y fine")
    tid = int(enrol_self(t, b, make_token(admin)["token"])["id"])
    wait_for(lambda: any(s["name"] == "audit" for s in
                         admin.get("/api/scripts").json()["scripts"]),
             15, 0.2, "scripts known")
    try:
        yield b, admin, tid, t
    finally:
        t.stop()


def test_labels_and_schedules_pages(labelled, chrome):  # noqa: F811
    brain, admin, tid, tentacle = labelled
    b = chrome(brain)
    b.login("admin", brain.password, "#/tentacle/%d" % tid)

    # Proposed by the host, accepted by the admin.
    b.text_in("#tentacle-labels", "web?")
    b.text_in("#labels-proposed-note", "eu-west")
    b.shoot("tentacle-labels-proposed")
    b.click(b.button("Accept proposed labels"))
    b.text_in("#labels-status", "Labels saved")
    wait_for(lambda: sorted(admin.get("/api/tentacles").json()["tentacles"]
                            [0]["labels"]) == ["eu-west", "web"], 10, 0.2,
             "labels accepted")
    assert "?" not in b.css("#tentacle-labels").text
    # Edited by hand.
    b.fill("#labels-input", "web, db")
    b.click(b.css("#labels-save"))
    b.wait(lambda d: "db" in b.css("#tentacle-labels").text and
           "eu-west" not in b.css("#tentacle-labels").text, "labels edited")

    # The Fleet shows them.
    b.go("#/fleet")
    b.text_in("#fleet-table", "db")

    # A run on the hosts with a label.
    b.go("#/run")
    b.click(b.visible("label[data-script=audit]"))
    b.fill("#run-labels", "web")
    b.text_in("#run-summary", "Run audit on")
    b.click(b.css("#run-submit"))
    b.wait(lambda d: "#/runs/" in d.current_url, "the run's page")
    run = admin.get("/api/runs").json()["runs"][0]
    assert admin.get("/api/runs/%d" % run["id"]).json()["jobs"][0][
        "tentacle"] == tid

    # Schedules: the brain's time zone said; create one on a label.
    b.go("#/schedules")
    b.text_in("#schedules-tz", "brain's local time")
    b.text_in("#schedules-table", "No schedule yet")
    b.fill("#schedule-labels", "web")
    b.fill("#schedule-every", "2")
    b.driver.execute_script(
        "const s = document.getElementById('schedule-every-unit');"
        "s.value = '3600'; s.dispatchEvent(new Event('change'));")
    b.click(b.css("#schedule-save"))
    b.text_in("#schedule-status", "created")
    row = b.text_in("#schedules-table tbody tr", "every 2 hours")
    assert "audit" in row.text and "web" in row.text
    (s,) = admin.get("/api/schedules").json()["schedules"]
    assert s["every"] == 7200 and s["labels"] == ["web"]
    # It fired at once: a run by schedule:ID.
    wait_for(lambda: any(r["created_by"] == "schedule:%d" % s["id"]
                         for r in admin.get("/api/runs").json()["runs"]),
             10, 0.2, "the schedule's first run")
    b.text_in("#schedules-table", "#%d" % (s["id"]))
    b.shoot("schedules")

    # A bad cron expression: the brain's message, naming the field.
    b.fill("#schedule-cron", "0 25 * * *")
    b.click(b.css("#schedule-save"))
    b.text_in("#schedule-status", "cron: hour")

    # Disable, edit to a cron expression, delete.
    b.click(b.visible(".schedule-toggle"))
    b.text_in("#schedules-table", "disabled")
    assert admin.get("/api/schedules").json()["schedules"][0][
        "enabled"] is False
    b.click(b.visible(".schedule-edit"))
    b.text_in("#schedule-form-title", "Schedule #%d" % s["id"])
    b.fill("#schedule-cron", "30 3 * * mon-fri")
    b.click(b.css("#schedule-enabled"))
    b.click(b.css("#schedule-save"))
    b.text_in("#schedules-table", "30 3 * * mon-fri")
    got = admin.get("/api/schedules").json()["schedules"][0]
    assert got["cron"] == "30 3 * * mon-fri" and got["enabled"] is True
    b.shoot("schedules-cron")
    b.click(b.visible(".schedule-delete"))
    b.click(b.button("Yes, delete"))
    b.text_in("#schedules-table", "No schedule yet")
    assert admin.get("/api/schedules").json()["schedules"] == []

    # A job for a host that is away says until when it waits.
    tentacle.stop()
    wait_for(lambda: [x for x in admin.get("/api/tentacles").json()[
        "tentacles"] if x["id"] == tid][0]["state"] == "offline", 20, 0.2,
        "offline")
    r = admin.post("/api/runs", {"script": "audit", "tentacles": [tid],
                                 "expires_in": 3600})
    assert r.status == 202, r
    b.go("#/runs/%d" % r.json()["id"])
    b.text_in(".job-message", "Waits for its host until")
    b.shoot("run-waiting")
