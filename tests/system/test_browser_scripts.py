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
