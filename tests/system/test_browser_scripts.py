"""The Scripts page (issue 14) in headless Chromium on a real brain: an
admin writes a script in the editor and creates it, saves a second
version, sees the line diff between the two, restores the first as a
third, and deletes it; a viewer reads but gets none of the controls.
Every body is shown as text. Screenshots as in test_browser_dashboard.py
(OCTO_SCREENSHOTS=dir keeps them)."""

import pytest

import octotest
from test_browser_dashboard import FAST, XSS, chrome  # noqa: F401

PW = "correct horse battery"
V1 = "#!/bin/sh\n# description: hello\necho \"OK hello.one %s\"\nexit 0\n" \
    % XSS
V2 = "#!/bin/sh\n# description: hello\necho \"OK hello.one %s\"\n" \
    "echo \"FAIL hello.two second check\"\nexit 1\n" % XSS


@pytest.fixture
def brain(brain_factory):
    b = brain_factory(FAST)
    admin = b.login()
    r = admin.post("/api/users", {"name": "vera", "password": PW,
                                  "role": "viewer"})
    assert r.status == 201, r
    return b


def type_body(b, text):
    ta = b.visible("#script-body")
    ta.clear()
    # the editor's own keys: a newline is Enter; no tab in these
    ta.send_keys(text)
    return ta


def test_write_version_diff_restore_delete(brain, chrome):  # noqa: F811
    b = chrome(brain)
    password = brain.password_file.read_text().strip()
    b.login("admin", password, "#/scripts")
    b.visible("#script-new")
    b.click(b.css("#script-new"))
    b.fill("#script-name", "hello")
    b.fill("#script-desc", "says hello")
    type_body(b, V1)
    # line numbers follow the text
    b.text_in(".code-gutter", "4")
    b.shoot("scripts-new")
    b.click(b.css("#script-create"))

    b.text_in("#script-code", "echo")
    b.text_in(".page-h1", "hello")
    # shown as text: the markup in it is not markup
    assert XSS in b.css("#script-code").text
    assert not b.all("#script-code img")
    lines = b.all("#script-code li")
    assert [li.text for li in lines] == V1.rstrip("\n").split("\n")
    api = brain.login()
    s = api.get("/api/scripts/hello").json()
    assert s["version"] == 1 and s["body"] == V1
    assert s["description"] == "says hello"
    assert s["sha256"] in b.css("#script-sha").text

    # a second version from the editor
    type_body(b, V2)
    b.click(b.css("#script-save"))
    b.text_in("#flash, .notice", "Saved as version 2")
    b.text_in(".card-head h2", "Version 2")
    assert api.get("/api/scripts/hello").json()["body"] == V2
    b.shoot("scripts-v2")

    # the diff of v1 and v2
    b.click(b.button("Show the diff"))
    d = b.visible("#script-diff")
    adds = [e.text for e in d.find_elements("css selector", ".diff-add")]
    dels = [e.text for e in d.find_elements("css selector", ".diff-del")]
    assert adds == ["+ echo \"FAIL hello.two second check\"", "+ exit 1"]
    assert dels == ["- exit 0"]
    b.shoot("scripts-diff")

    # restore v1 as v3
    b.click(b.visible("button.restore[data-version='1']"))
    b.text_in(".card-head h2", "Version 3")
    s = api.get("/api/scripts/hello").json()
    assert s["version"] == 3 and s["body"] == V1
    assert [v["version"] for v in s["versions"]] == [1, 2, 3]

    # the list
    b.go("#/scripts")
    row = b.text_in("table tbody tr", "hello")
    assert "managed" in row.text and "v3" in row.text
    b.shoot("scripts-list")

    # delete, with its confirmation
    b.go("#/scripts/hello")
    b.click(b.button("Delete"))
    b.text_in(".confirm-q", "Delete hello")
    b.click(b.buttons("Delete")[-1])
    b.text_in("#flash", "deleted")
    assert api.get("/api/scripts/hello").status == 404


def test_viewer_reads_without_controls(brain, chrome):  # noqa: F811
    admin = brain.login()
    assert admin.post("/api/scripts", {"name": "check", "body": V1,
                                       "description": "a check"}).status \
        == 201
    assert admin.put("/api/scripts/check", {"body": V2}).status == 200
    b = chrome(brain)
    b.login("vera", PW, "#/scripts")
    b.text_in("table tbody tr", "check")
    assert not b.all("#script-new")
    b.go("#/scripts/check")
    b.text_in("#script-code", "FAIL hello.two")
    assert not b.all("#script-form") and not b.all("#script-delete")
    assert not b.all("button.restore") and not b.all("#script-run")
    # the diff is for everyone
    b.click(b.button("Show the diff"))
    b.text_in("#script-diff", "+ exit 1")
    b.shoot("scripts-viewer")


# ------------------------------------- written, pushed, run on two hosts

from octotest import Tentacle, wait_for  # noqa: E402
from test_browser_dashboard import job_card, run_page_id  # noqa: E402
from test_enrolment import enrol_self, make_token  # noqa: E402


def test_write_run_on_two_hosts_diff(brain, chrome, tmp_path):  # noqa: F811
    if not octotest.TENTACLE_BIN.exists():
        pytest.fail("%s not built" % octotest.TENTACLE_BIN, pytrace=False)
    admin = brain.login()
    hosts = {}
    made = []
    try:
        for name, addr in (("alpha-web", "127.0.0.2"),
                           ("bravo-db", "127.0.0.3")):
            t = Tentacle(tmp_path / name, addr, brain, name=name,
                         overrides={"managed_scripts": "yes",
                                    "managed_scripts_dir":
                                    str(tmp_path / name / "managed")})
            (t.dir / "scripts").mkdir(exist_ok=True)
            made.append(t)
            hosts[name] = int(enrol_self(t, brain, make_token(admin)[
                "token"])["id"])
        wait_for(lambda: all(x["facts"].get("managed_scripts") is True
                             for x in admin.get("/api/tentacles").json()[
                                 "tentacles"]), 30, 0.2, "inventories")

        b = chrome(brain)
        b.login("admin", brain.password_file.read_text().strip(),
                "#/scripts/new")
        b.fill("#script-name", "hello")
        type_body(b, V1)
        b.click(b.css("#script-create"))
        b.text_in("#script-code", "echo")
        # pushed to both: the hosts' card says so
        for name in hosts:
            b.text_in(".script-holders tr", name)
        wait_for(lambda: sorted(admin.get("/api/scripts/hello").json()[
            "tentacles"]) == sorted(hosts.values()), 30, 0.2, "pushed")
        b.go("#/scripts")
        b.go("#/scripts/hello")
        b.text_in(".script-holders", "v1 (latest)")
        b.shoot("scripts-hosts")

        type_body(b, V2)
        b.click(b.css("#script-save"))
        b.text_in(".card-head h2", "Version 2")
        v2 = admin.get("/api/scripts/hello").json()
        wait_for(lambda: sorted(admin.get("/api/scripts/hello").json()[
            "tentacles"]) == sorted(hosts.values()), 30, 0.2, "v2 pushed")

        # Run now (the latest) on both
        b.click(b.css("#script-run"))
        choice = b.visible('label.choice[data-script="hello"] input')
        assert choice.is_selected()
        b.click(b.css("#run-submit"))
        run_page_id(b)
        for name, tid in hosts.items():
            card = job_card(b, tid, "findings")
            assert name in card.text
            b.wait(lambda d: v2["sha256"][:12] in card.text,
                   "the hash on %s's result" % name)
        b.shoot("scripts-run")
        card = job_card(b, hosts["alpha-web"], "findings")
        b.click(card.find_element("link text", "Full result"))
        b.text_in("#result-sha256", v2["sha256"])

        # the diff of v1 and v2
        b.go("#/scripts/hello")
        b.click(b.button("Show the diff"))
        b.text_in("#script-diff", "+ exit 1")
        b.text_in("#script-diff", "- exit 0")

        # the host's page says it takes managed scripts
        b.go("#/tentacle/%d" % hosts["alpha-web"])
        b.text_in(".meta-item", "Managed scripts")
        item = b.text_in(".meta-item", "Managed scripts")
        assert "yes" in item.text and "no signing key" not in item.text
    finally:
        for t in made:
            t.stop()
