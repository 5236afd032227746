"""The dashboard's HTTP layer against hostile input (issue 13, items 1, 3,
4 and 6): output that is not UTF-8, cross-site requests, answers libevent
makes by itself, ambiguous framing, and running out of descriptors."""

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
