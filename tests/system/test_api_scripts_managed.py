"""Scripts managed by the brain (issue 14, SPEC "Scripts managed by the
brain"): the library through the API, its roles and bad input, the audit
log with each version's hash, the script-signing key."""

import hashlib
import os
import stat
import subprocess
import time

import pytest

import octotest

PW = "correct horse battery"
BODY = "#!/bin/sh\necho OK check.one \"it works\"\n"


def sha(text):
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture(scope="module")
def brain(request, tmp_path_factory):
    b = octotest.Brain(tmp_path_factory.mktemp("scripts"),
                       {"login_attempts": 200})
    request.addfinalizer(b.stop)
    b.start()
    return b


@pytest.fixture(scope="module")
def admin(brain):
    return brain.login()


@pytest.fixture(scope="module")
def users(brain, admin):
    out = {}
    for role in ("operator", "viewer"):
        r = admin.post("/api/users", {"name": "u" + role, "password": PW,
                                      "role": role})
        assert r.status == 201, r
        out[role] = brain.login("u" + role, PW)
    return out


def create(admin, name, body=BODY, description="a check"):
    r = admin.post("/api/scripts", {"name": name, "body": body,
                                    "description": description})
    assert r.status == 201, r
    return r.json()


def audit(admin, action):
    return [e["detail"] for e in admin.get(
        "/api/audit?action=" + action).json()["events"]]


def test_create_read_list(admin):
    j = create(admin, "check-one")
    assert j == {"name": "check-one", "version": 1, "sha256": sha(BODY)}
    s = admin.get("/api/scripts/check-one").json()
    assert s["name"] == "check-one" and s["managed"] is True
    assert s["body"] == BODY and s["description"] == "a check"
    assert s["version"] == 1 and s["sha256"] == sha(BODY)
    assert [v["version"] for v in s["versions"]] == [1]
    v = s["versions"][0]
    assert v["sha256"] == sha(BODY) and v["created_by"] == "admin"
    assert v["created_at"].endswith("Z")
    assert s["tentacles"] == []
    listed = [x for x in admin.get("/api/scripts").json()["scripts"]
              if x["name"] == "check-one"]
    assert len(listed) == 1
    assert listed[0]["managed"] is True and listed[0]["version"] == 1
    assert listed[0]["sha256"] == sha(BODY)
    assert listed[0]["tentacles"] == []
    assert any("check-one version 1 sha256 " + sha(BODY) in d
               for d in audit(admin, "script_create"))


def test_versions_update_delete(admin):
    create(admin, "check-two")
    body2 = BODY + "echo FAIL check.two 'second'\n"
    r = admin.put("/api/scripts/check-two", {"body": body2})
    assert r.status == 200, r
    assert r.json() == {"name": "check-two", "version": 2,
                        "sha256": sha(body2)}
    s = admin.get("/api/scripts/check-two").json()
    assert s["body"] == body2 and s["version"] == 2
    assert s["description"] == "a check"      # kept without one
    assert [v["version"] for v in s["versions"]] == [1, 2]
    v1 = admin.get("/api/scripts/check-two/versions/1").json()
    assert v1["body"] == BODY and v1["version"] == 1
    assert v1["sha256"] == sha(BODY)
    r = admin.put("/api/scripts/check-two", {"body": BODY,
                                             "description": "restored"})
    assert r.json()["version"] == 3
    assert admin.get("/api/scripts/check-two").json()["description"] == \
        "restored"
    assert any("check-two version 2 sha256 " + sha(body2) in d
               for d in audit(admin, "script_update"))

    r = admin.delete("/api/scripts/check-two")
    assert r.status == 200 and r.json()["version"] == 4, r
    assert any("check-two version 4: deleted (was sha256 " + sha(BODY) in d
               for d in audit(admin, "script_delete"))
    assert admin.get("/api/scripts/check-two").status == 404
    assert admin.get("/api/scripts/check-two/versions/1").status == 404
    assert admin.delete("/api/scripts/check-two").status == 404
    assert admin.put("/api/scripts/check-two", {"body": BODY}).status == 404
    assert "check-two" not in [x["name"] for x in admin.get(
        "/api/scripts").json()["scripts"]]
    # Created again: numbers are never given twice.
    r = admin.post("/api/scripts", {"name": "check-two", "body": BODY})
    assert r.status == 201 and r.json()["version"] == 5, r


def test_conflicts_and_unknown(admin):
    create(admin, "check-dup")
    r = admin.post("/api/scripts", {"name": "check-dup", "body": BODY})
    assert r.status == 409 and "exists" in r.json()["error"]
    for path in ("/api/scripts/nope", "/api/scripts/nope/versions/1",
                 "/api/scripts/check-dup/versions/9"):
        r = admin.get(path)
        assert r.status == 404 and r.json()["error"], path
    assert admin.put("/api/scripts/nope", {"body": BODY}).status == 404
    assert admin.delete("/api/scripts/nope").status == 404


@pytest.mark.parametrize("body, what", [
    ({"name": "a/b", "body": BODY}, "name"),
    ({"name": ".hidden", "body": BODY}, "name"),
    ({"name": "x" * 64, "body": BODY}, "name"),
    ({"name": "ok", "body": "echo no interpreter\n"}, "#!"),
    ({"name": "ok", "body": ""}, "#!"),
    ({"name": "ok", "body": "#!/bin/sh\n" + "#" * (256 * 1024)}, "256 KiB"),
    ({"name": "ok", "body": "#!/bin/sh\n\u0000"}, "body"),
    ({"name": "ok", "body": 12}, "body"),
    ({"name": "ok"}, "body"),
    ({"name": "ok", "body": BODY, "description": "x" * 201}, "description"),
    ({"name": "ok", "body": BODY, "description": "two\nlines"},
     "description"),
    ({"name": "ok", "body": BODY, "owner": "me"}, "only"),
    ([], "JSON object"),
])
def test_create_bad_input(admin, body, what):
    r = admin.post("/api/scripts", body)
    assert r.status == 400, r
    assert what in r.json()["error"]


def test_bad_json_and_bad_paths(admin):
    r = admin.request("POST", "/api/scripts", raw=b"{not json",
                      csrf=True)
    assert r.status == 400 and "JSON" in r.json()["error"]
    create(admin, "check-put")
    r = admin.put("/api/scripts/check-put", {"name": "other",
                                             "body": BODY})
    assert r.status == 400 and r.json()["error"]
    r = admin.put("/api/scripts/check-put", {"body": "no shebang"})
    assert r.status == 400 and "#!" in r.json()["error"]
    for path in ("/api/scripts/..", "/api/scripts/.x",
                 "/api/scripts/check-put/versions/0"):
        r = admin.get(path)
        assert r.status == 404 and r.json()["error"], path


def test_roles(admin, users):
    create(admin, "check-roles")
    for role, c in users.items():
        assert c.get("/api/scripts").status == 200
        assert c.get("/api/scripts/check-roles").status == 200
        assert c.get("/api/scripts/check-roles/versions/1").status == 200
        r = c.post("/api/scripts", {"name": "by-" + role, "body": BODY})
        assert r.status == 403 and r.json()["error"], r
        assert c.put("/api/scripts/check-roles",
                     {"body": BODY}).status == 403
        assert c.delete("/api/scripts/check-roles").status == 403
    # CSRF for every change, admins too.
    r = admin.post("/api/scripts", {"name": "no-csrf", "body": BODY},
                   csrf=False)
    assert r.status == 403
    assert admin.put("/api/scripts/check-roles", {"body": BODY},
                     csrf=False).status == 403
    assert admin.get("/api/scripts/check-roles").json()["version"] == 1


def test_largest_body(admin):
    body = "#!/bin/sh\n" + "#" * (256 * 1024 - 11) + "\n"
    assert len(body) == 256 * 1024
    j = create(admin, "check-large", body=body)
    assert j["sha256"] == sha(body)
    assert admin.get("/api/scripts/check-large").json()["body"] == body


def test_large_bodies_elsewhere_are_413(brain, admin):
    # The webserv reads a script's body (up to twice 256 KiB of JSON) on
    # any route, but only the scripts' take more than 64 KiB.
    big = {"name": "bob", "password": "p" * (100 * 1024), "role": "viewer"}
    r = admin.post("/api/users", big)
    assert r.status == 413 and r.json()["error"], r
    r = brain.client().request("POST", "/api/login", body={
        "username": "admin", "password": "p" * (100 * 1024)})
    assert r.status == 413 and r.json()["error"], r
    body = "#!/bin/sh\n" + "\"" * (200 * 1024)
    r = admin.post("/api/scripts", {"name": "quoted", "body": body})
    assert r.status == 201, r


# ------------------------------------------------------------ signing key

def openssl_verify(tmp_path, pub_hex, message, sig_hex):
    """openssl pkeyutl's verdict on an Ed25519 signature (raw key)."""
    # SubjectPublicKeyInfo of an Ed25519 key: a fixed prefix, the key.
    der = bytes.fromhex("302a300506032b6570032100") + bytes.fromhex(pub_hex)
    (tmp_path / "pub.der").write_bytes(der)
    (tmp_path / "msg").write_bytes(message)
    (tmp_path / "sig").write_bytes(bytes.fromhex(sig_hex))
    r = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin",
                        "-keyform", "DER", "-inkey", str(tmp_path /
                                                         "pub.der"),
                        "-rawin", "-in", str(tmp_path / "msg"), "-sigfile",
                        str(tmp_path / "sig")], capture_output=True)
    return r.returncode == 0


def test_signing_key_file_and_holder(brain):
    path = brain.state_dir / "script-signing.key"
    st = path.stat()
    assert stat.S_IMODE(st.st_mode) == 0o600
    assert "PRIVATE KEY" in path.read_text()
    pids = brain.pids()
    real = os.path.realpath(path)
    for role, pid in pids.items():
        d = "/proc/%d/fd" % pid
        for n in os.listdir(d):
            try:
                t = os.readlink(os.path.join(d, n))
            except FileNotFoundError:
                continue
            assert t != real, (role, n)
    # Its public key is the one the API gives.
    r = subprocess.run(["openssl", "pkey", "-in", str(path), "-pubout",
                        "-outform", "DER"], capture_output=True, check=True)
    assert r.stdout[-32:].hex() == signing_key(brain)


def signing_key(brain):
    return brain.login().get("/api/scripts").json()["signing_key"]


def test_versions_and_deletion_are_signed(brain, admin, tmp_path):
    pub = signing_key(brain)
    create(admin, "check-signed")
    v = admin.get("/api/scripts/check-signed/versions/1").json()
    msg = b"octopus-script-put-v1\0check-signed\0" + b"1\0" + \
        sha(BODY).encode() + b"\0" + BODY.encode()
    assert openssl_verify(tmp_path, pub, msg, v["signature"])
    assert not openssl_verify(tmp_path, pub, msg + b"x", v["signature"])
    assert admin.delete("/api/scripts/check-signed").status == 200
    db = str(brain.state_dir / "brain.db")
    r = subprocess.run(["sqlite3", db, "SELECT latest, delete_signature "
                        "FROM scripts WHERE name = 'check-signed'"],
                       capture_output=True, text=True, check=True)
    latest, sig = r.stdout.strip().split("|")
    assert latest == "2"
    assert openssl_verify(tmp_path, pub, b"octopus-script-delete-v1\0"
                          b"check-signed\0" b"2\0", sig)


def test_key_survives_a_restart(tmp_path):
    b = octotest.Brain(tmp_path / "b")
    try:
        b.start()
        key = (b.state_dir / "script-signing.key").read_bytes()
        first = signing_key(b)
        b.stop()
        b.start(expect_password=False)
        assert (b.state_dir / "script-signing.key").read_bytes() == key
        assert signing_key(b) == first
    finally:
        b.stop()


def test_key_of_a_wrong_mode_is_refused(tmp_path):
    b = octotest.Brain(tmp_path / "b")
    try:
        b.start()
        b.stop()
        os.chmod(b.state_dir / "script-signing.key", 0o644)
        b.start(wait=False)
        b.wait_exit()
        assert "script-signing key" in b.stderr()
    finally:
        b.stop()


# ---------------------------------------------- pushed to real tentacles

from octotest import wait_for  # noqa: E402
from test_enrolment import (enrol_self, make_token,  # noqa: E402,F401
                             new_tentacle, tentacle_bin)
from test_runs import FINISHED, add_script, run_and_wait  # noqa: E402

FAST = {"io_timeout": 2, "keepalive_interval": 1, "login_attempts": 200}


def managed(brain, new_tentacle, admin, address, on=True):  # noqa: F811
    t = new_tentacle(address, brain)
    t.conf.update({"managed_scripts": "yes" if on else "no",
                   "managed_scripts_dir": str(t.dir / "managed")})
    t.write_conf()
    add_script(t, "local-one", "echo OK local.one here")
    state = enrol_self(t, brain, make_token(admin)["token"])
    tid = int(state["id"])

    def reported():
        names = [x["name"] for x in admin.get(
            "/api/tentacles/%d/scripts" % tid).json()["scripts"]]
        return "local-one" in names
    wait_for(reported, 30, 0.2, "the inventory of tentacle %d" % tid)
    return t, tid


def holders(admin, name):
    """{tentacle: {"version", "sha256", "tampered"}} of a managed script's
    copies (the latest's from "tentacles", the others from "stale")."""
    (s,) = [x for x in admin.get("/api/scripts").json()["scripts"]
            if x["name"] == name and x["managed"]]
    h = {t: {"version": s["version"], "sha256": s["sha256"],
             "tampered": False} for t in s["tentacles"]}
    h.update({x["tentacle"]: x for x in s["stale"]})
    return h, s


def wait_held(admin, name, version, tids):
    def held():
        h, s = holders(admin, name)
        return s if s["version"] == version and all(
            tid in h and h[tid]["version"] == version for tid in tids) \
            else None
    return wait_for(held, 30, 0.2, "%s v%d on %s" % (name, version, tids))


def test_pushed_run_edit_tamper_delete(brain_factory, new_tentacle):  # noqa: F811,E501
    b = brain_factory(FAST)
    admin = b.login()
    t1, id1 = managed(b, new_tentacle, admin, "127.0.0.2")
    t2, id2 = managed(b, new_tentacle, admin, "127.0.0.3")
    t3, id3 = managed(b, new_tentacle, admin, "127.0.0.4", on=False)

    # A local script's name is not taken.
    r = admin.post("/api/scripts", {"name": "local-one", "body": BODY})
    assert r.status == 409 and "local" in r.json()["error"], r

    v1 = create(admin, "pushed")
    s = wait_held(admin, "pushed", 1, [id1, id2])
    assert sorted(s["tentacles"]) == sorted([id1, id2])
    h, _ = holders(admin, "pushed")
    assert h[id1]["sha256"] == v1["sha256"] and id3 not in h
    f1 = t1.dir / "managed" / "pushed"
    assert f1.read_text() == BODY
    # The tentacle pinned the brain's key.
    facts = {x["id"]: x["facts"] for x in admin.get(
        "/api/tentacles").json()["tentacles"]}
    assert facts[id1]["script_signing_key"] == signing_key(b)
    assert facts[id3]["managed_scripts"] is False

    run = run_and_wait(admin, "pushed", "all")
    jobs = {j["tentacle"]: j for j in run["jobs"]}
    for tid in (id1, id2):
        assert jobs[tid]["state"] == "done", jobs[tid]
        assert "it works" in jobs[tid]["result"]["output"]
        assert jobs[tid]["result"]["sha256"] == v1["sha256"]
    assert jobs[id3]["state"] == "failed"
    assert "managed_scripts = no" in jobs[id3]["message"]

    # v2, with one tentacle offline: it gets v2 when it comes back.
    t2.stop()
    body2 = BODY + "echo 'FAIL check.two second'\nexit 1\n"
    v2 = admin.put("/api/scripts/pushed", {"body": body2}).json()
    wait_held(admin, "pushed", 2, [id1])
    # A run ordered now waits for the push on the one that is away.
    r = admin.post("/api/runs", {"script": "pushed", "tentacles": [id2]})
    assert r.status == 202, r
    waiting = r.json()["id"]
    (job,) = admin.get("/api/runs/%d" % waiting).json()["jobs"]
    assert job["state"] == "queued", job
    t2.start()
    wait_held(admin, "pushed", 2, [id1, id2])

    def ran():
        (j,) = admin.get("/api/runs/%d" % waiting).json()["jobs"]
        return j if j["state"] in FINISHED else None
    job = wait_for(ran, 30, 0.2, "the run that waited")
    assert job["state"] == "done" and job["result"]["sha256"] == \
        v2["sha256"], job
    run = run_and_wait(admin, "pushed", [id1, id2])
    for j in run["jobs"]:
        assert j["state"] == "done" and j["result"]["sha256"] == \
            v2["sha256"], j
        assert j["result"]["exit_status"] == 1

    # Changed on one host behind the brain's back: that run is refused,
    # the other done; the brain does not push over it.
    f1.write_text(body2 + "echo tampered\n")
    run = run_and_wait(admin, "pushed", [id1, id2])
    jobs = {j["tentacle"]: j for j in run["jobs"]}
    assert jobs[id1]["state"] == "refused", jobs[id1]
    assert jobs[id1]["result"]["outcome"] == "refused"
    assert "differs" in jobs[id1]["message"]
    assert jobs[id2]["state"] == "done"
    assert any("job %d refused" % jobs[id1]["id"] in d and "differs" in d
               for d in audit(admin, "script_refused"))
    # The list shows that host's copy is not the one signed; it stays
    # there (evidence, not pushed over).
    h, s = holders(admin, "pushed")
    assert h[id1]["tampered"] is True and h[id2]["tampered"] is False
    time.sleep(3)   # keepalives: nothing pushed over it meanwhile
    assert "tampered" in f1.read_text()
    # The admin pushes it again as a new version: back to the signed one.
    v3 = admin.put("/api/scripts/pushed", {"body": body2}).json()
    assert v3["version"] == 3 and v3["sha256"] == v2["sha256"]
    wait_held(admin, "pushed", 3, [id1, id2])
    assert f1.read_text() == body2
    assert holders(admin, "pushed")[0][id1]["tampered"] is False

    # Deleted: gone from the tentacles.
    assert admin.delete("/api/scripts/pushed").status == 200
    f2 = t2.dir / "managed" / "pushed"
    wait_for(lambda: not f2.exists(), 30, 0.2, "pushed deleted on t2")
    # t3 never had it, and refuses pushes: its log says so? it got none.
    assert not (t3.dir / "managed" / "pushed").exists()


def test_key_announced_to_a_tentacle_without_it(brain_factory,
                                                new_tentacle):  # noqa: F811
    # A tentacle enrolled before managed scripts has no key pinned: the
    # brain announces it (SIGNKEY, MACed with the tentacle's key) first.
    b = brain_factory(FAST)
    admin = b.login()
    t, tid = managed(b, new_tentacle, admin, "127.0.0.2")
    t.stop()
    pins = list(t.state_dir.rglob("script-signing.pub"))
    assert len(pins) == 1, pins
    pins[0].unlink()
    # as its enrolment of before: without the key
    lines = t.state_file.read_text().splitlines(keepends=True)
    t.state_file.write_text("".join(x for x in lines
                                    if not x.startswith("script_signing")))
    t.start()
    wait_for(lambda: [x for x in admin.get("/api/tentacles").json()[
        "tentacles"] if x["id"] == tid and x["state"] == "online"], 30,
        0.2, "the tentacle back")
    create(admin, "announced")
    wait_held(admin, "announced", 1, [tid])
    assert pins[0].exists()
    b.wait_log(r"tentacle %d pinned the script-signing key" % tid)
    key = signing_key(b)
    wait_for(lambda: [x for x in admin.get("/api/tentacles").json()[
        "tentacles"] if x["id"] == tid and x["facts"].get(
            "script_signing_key") == key], 30, 0.2, "the key in its facts")
