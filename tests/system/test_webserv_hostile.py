"""The dashboard's HTTP layer against hostile input (issue 13, items 1, 3,
4 and 6): output that is not UTF-8, cross-site requests, answers libevent
makes by itself, ambiguous framing, and running out of descriptors."""

import json
import sqlite3

import octotest
from test_enrolment import (brain, enrol_self, make_token,  # noqa: F401
                            new_tentacle, tentacle_bin)
from test_runs import add_script, run_and_wait

# Bytes no UTF-8 decoder accepts, each of a kind the old check let
# through: a surrogate, an overlong form, past U+10FFFF; then a stray
# continuation byte and 0xff.
BAD = b"\xed\xa0\x80|\xe0\x80\x80|\xf4\x90\x80\x80|\x80|\xff"


def test_output_not_utf8_is_shown_and_stored_raw(brain, new_tentacle):  # noqa: F811,E501
    c = brain.login()
    t = new_tentacle("127.0.0.2", brain)
    octal = "".join("\\%03o" % b for b in BAD)
    add_script(t, "badbytes", "printf 'before %s after\\n'" % octal)
    tid = int(enrol_self(t, brain, make_token(c)["token"])["id"])
    run = run_and_wait(c, "badbytes", [tid])
    # The dashboard's job view (the run with its outputs).
    (job,) = run["jobs"]
    assert job["state"] == "done", job
    out = job["result"]["output"]
    assert out.startswith("before ") and out.endswith(" after\n"), out
    parts = out[len("before "):-len(" after\n")].split("|")
    assert len(parts) == 5 and all(p and set(p) == {"\ufffd"}
                                   for p in parts), parts
    r = c.get("/api/runs/%d" % run["id"])
    assert r.status == 200 and r.json()["jobs"][0]["result"]["output"] == out
    # The result itself, and the tentacle's history.
    rid = job["result"]["id"]
    r = c.get("/api/results/%d" % rid)
    assert r.status == 200, r
    assert r.json()["output"] == out
    r = c.get("/api/tentacles/%d/results" % tid)
    assert r.status == 200 and r.json()["results"][0]["id"] == rid
    # Stored as it came.
    db = sqlite3.connect("file:%s?mode=ro" % (brain.state_dir / "brain.db"),
                         uri=True)
    try:
        (raw,) = db.execute("SELECT output FROM results WHERE id = ?",
                            (rid,)).fetchone()
    finally:
        db.close()
    assert bytes(raw) == b"before " + BAD + b" after\n"
    assert "cannot encode" not in brain.log()


# ------------------------------------------------------------ item 3: CSRF

def _login_body(brain):
    return json.dumps({"username": "admin",
                       "password": brain.password}).encode()


def test_login_needs_json_content_type(brain):  # noqa: F811
    c = brain.client()
    for ctype in ("text/plain", "application/x-www-form-urlencoded",
                  "multipart/form-data; boundary=x", "application/jsonx",
                  None):
        hdrs = {"Content-Type": ctype} if ctype else {"Content-Type": ""}
        r = c.request("POST", "/api/login", raw=_login_body(brain),
                      headers=hdrs)
        assert r.status == 415, (ctype, r)
        assert r.content_type == "application/json" and r.json()["error"]
        assert r.header("X-Content-Type-Options") == "nosniff"
        assert not r.header_all("Set-Cookie"), r
    r = c.request("POST", "/api/login", raw=_login_body(brain),
                  headers={"Content-Type": "application/json; charset=utf-8"})
    assert r.status == 200, r


def test_cross_site_requests_refused(brain):  # noqa: F811
    port = brain.web_port
    ours = "https://127.0.0.1:%d" % port
    c = brain.client()
    for hdrs in ({"Origin": "https://evil.example.org"},
                 {"Origin": "null"},
                 {"Origin": "http://127.0.0.1:%d" % port},
                 {"Origin": "https://127.0.0.1:%d" % (port + 1)},
                 {"Sec-Fetch-Site": "cross-site"},
                 {"Sec-Fetch-Site": "cross-site", "Origin": ours}):
        r = c.request("POST", "/api/login", raw=_login_body(brain),
                      headers=hdrs)
        assert r.status == 403, (hdrs, r)
        assert r.content_type == "application/json" and r.json()["error"]
        assert not r.header_all("Set-Cookie"), (hdrs, r)
    # The dashboard's own requests still work, with and without them.
    r = c.request("POST", "/api/login", raw=_login_body(brain),
                  headers={"Origin": ours, "Sec-Fetch-Site": "same-origin"})
    assert r.status == 200, r
    c.csrf = r.json()["csrf"]
    assert c.get("/api/session").status == 200
    # Logged in: a foreign origin cannot read or change anything.
    r = c.get("/api/session", headers={"Origin": "https://evil.example.org"})
    assert r.status == 403, r
    r = c.post("/api/tokens", {}, headers={"Sec-Fetch-Site": "cross-site"})
    assert r.status == 403, r
    r = c.post("/api/tokens", raw=b"{}", headers={"Content-Type":
                                                  "text/plain"})
    assert r.status == 415, r
    assert c.get("/api/tokens").json()["tokens"] == []
    r = c.post("/api/tokens", {}, headers={"Origin": ours})
    assert r.status == 201, r
