"""Users, roles and the audit log through the API (report §5.2): admins
manage users, everyone changes their own password, roles are enforced by
the maestro, and every action lands in the audit log."""

import pytest

import octotest

PW = "correct horse battery"


@pytest.fixture(scope="module")
def brain(request, tmp_path_factory):
    # A generous login budget: this module logs in many times on purpose.
    b = octotest.Brain(tmp_path_factory.mktemp("users"),
                       {"login_attempts": 200})
    request.addfinalizer(b.stop)
    b.start()
    return b


@pytest.fixture(scope="module")
def admin(brain):
    return brain.login()


def add_user(admin, name, role, password=PW):
    r = admin.post("/api/users", {"name": name, "password": password,
                                  "role": role})
    assert r.status == 201, r
    assert r.json() == {"name": name, "role": role}


def test_list_add_remove(brain, admin):
    users = admin.get("/api/users").json()["users"]
    assert [u["name"] for u in users] == ["admin"]
    assert users[0]["role"] == "admin" and users[0]["created_at"]

    add_user(admin, "alice", "operator")
    names = {u["name"]: u["role"]
             for u in admin.get("/api/users").json()["users"]}
    assert names == {"admin": "admin", "alice": "operator"}
    # The password hash is never shown.
    assert "pbkdf2" not in admin.get("/api/users").body.decode()

    alice = brain.login("alice", PW)
    assert alice.user == {"name": "alice", "role": "operator"}

    r = admin.delete("/api/users/alice")
    assert r.status == 200 and r.json() == {"deleted": "alice"}
    # Her session ended with her, and she can no longer log in.
    assert alice.get("/api/tentacles").status == 401
    assert brain.client().login("alice", PW).status == 401
    assert admin.delete("/api/users/alice").status == 404


@pytest.mark.parametrize("body, what", [
    ({"name": "", "password": PW, "role": "viewer"}, "name"),
    ({"name": "a/b", "password": PW, "role": "viewer"}, "name"),
    ({"name": ".hidden", "password": PW, "role": "viewer"}, "name"),
    ({"name": "x" * 33, "password": PW, "role": "viewer"}, "name"),
    ({"name": "bob", "password": "short", "role": "viewer"}, "password"),
    ({"name": "bob", "password": "p" * 257, "role": "viewer"}, "password"),
    ({"name": "bob", "password": 1234567890, "role": "viewer"}, "password"),
    ({"name": "bob", "password": PW, "role": "root"}, "role"),
    ({"name": "bob", "password": PW}, "role"),
    ([], "JSON object"),
])
def test_add_bad_input(admin, body, what):
    r = admin.post("/api/users", body)
    assert r.status == 400, r
    assert what in r.json()["error"]


def test_add_existing_is_409(admin):
    add_user(admin, "dup", "viewer")
    r = admin.post("/api/users", {"name": "dup", "password": PW,
                                  "role": "admin"})
    assert r.status == 409 and "exists" in r.json()["error"]
    assert admin.delete("/api/users/dup").status == 200


def test_cannot_remove_self(brain, admin):
    r = admin.delete("/api/users/admin")
    assert r.status == 409 and "yourself" in r.json()["error"]
    add_user(admin, "second", "admin")
    second = brain.login("second", PW)
    assert second.delete("/api/users/second").status == 409
    assert second.get("/api/users").status == 200
    assert admin.delete("/api/users/second").status == 200
    assert second.get("/api/users").status == 401
    add_user(admin, "ops", "operator")
    # An operator cannot manage users at all.
    ops = brain.login("ops", PW)
    assert ops.delete("/api/users/admin").status == 403
    assert admin.delete("/api/users/ops").status == 200


def test_roles_are_enforced(brain, admin):
    add_user(admin, "viewer1", "viewer")
    add_user(admin, "oper1", "operator")
    v = brain.login("viewer1", PW)
    o = brain.login("oper1", PW)
    # Everyone reads the fleet and the runs.
    for c in (v, o):
        assert c.get("/api/tentacles").status == 200
        assert c.get("/api/runs").status == 200
    # A viewer cannot start a run; an operator can ask (400: no such
    # tentacle list here, but past the role check).
    r = v.post("/api/runs", {"script": "disk-usage", "tentacles": "all"})
    assert r.status == 403 and "role" in r.json()["error"]
    assert o.post("/api/runs", {"script": "disk-usage",
                                "tentacles": "all"}).status != 403
    # Only admins: users, audit, tokens, enrolment.
    for c in (v, o):
        assert c.get("/api/users").status == 403
        assert c.get("/api/audit").status == 403
        assert c.get("/api/tokens").status == 403
        assert c.post("/api/users", {"name": "evil", "password": PW,
                                     "role": "admin"}).status == 403
        assert c.post("/api/tentacles",
                      {"address": "127.0.0.9"}).status == 403
    # A role cannot be changed by changing someone else's password.
    assert v.post("/api/users/oper1/password",
                  {"password": "another long one"}).status == 403
    for name in ("viewer1", "oper1"):
        assert admin.delete("/api/users/%s" % name).status == 200


def test_own_password(brain, admin):
    add_user(admin, "carol", "viewer")
    c1 = brain.login("carol", PW)
    c2 = brain.login("carol", PW)
    new = "a brand new passphrase"
    # The current password is required, and checked.
    r = c1.post("/api/users/carol/password", {"password": new})
    assert r.status == 400 and "current_password" in r.json()["error"]
    r = c1.post("/api/users/carol/password",
                {"password": new, "current_password": "not it at all"})
    assert r.status == 403 and "current password" in r.json()["error"]
    r = c1.post("/api/users/carol/password",
                {"password": "short", "current_password": PW})
    assert r.status == 400
    r = c1.post("/api/users/carol/password",
                {"password": new, "current_password": PW})
    assert r.status == 200, r
    # This session goes on; the other one ended.
    assert c1.get("/api/session").status == 200
    assert c2.get("/api/session").status == 401
    assert brain.client().login("carol", PW).status == 401
    brain.login("carol", new)

    # An admin sets someone else's without knowing it; carol is logged
    # out everywhere.
    r = admin.post("/api/users/carol/password", {"password": PW})
    assert r.status == 200, r
    assert c1.get("/api/session").status == 401
    brain.login("carol", PW)
    assert admin.post("/api/users/nobody/password",
                      {"password": PW}).status == 404
    assert admin.delete("/api/users/carol").status == 200


def test_bad_routes_and_csrf(brain, admin):
    # Names in the path are checked like names in bodies.
    assert admin.delete("/api/users/..").status in (400, 404)
    assert admin.delete("/api/users/a%2Fb").status == 404
    assert admin.delete("/api/users/" + "x" * 40).status == 404
    # State changes need the CSRF token.
    r = admin.post("/api/users", {"name": "nocsrf", "password": PW,
                                  "role": "viewer"}, csrf=None)
    assert r.status == 403
    assert admin.delete("/api/users/admin", csrf=None).status == 403
    # Without a session: 401 before anything else.
    anon = brain.client()
    assert anon.get("/api/users").status == 401
    assert anon.get("/api/audit").status == 401


def test_audit_log(brain, admin):
    add_user(admin, "dave", "viewer")
    brain.client().login("dave", "wrong password!!")
    brain.login("dave", PW)
    assert admin.delete("/api/users/dave").status == 200

    events = admin.get("/api/audit").json()["events"]
    ids = [e["id"] for e in events]
    assert ids == sorted(ids, reverse=True)      # newest first
    for e in events:
        assert set(e) == {"id", "at", "actor", "action", "peer", "detail",
                          "count"}
        assert e["count"] == 1      # >1: refusals of one peer and minute
    seen = [(e["actor"], e["action"], e["detail"]) for e in events]
    assert ("admin", "user_add", "dave (viewer)") in seen
    assert ("dave", "login_failed", "") in seen
    assert ("dave", "login", "") in seen
    assert ("admin", "user_delete", "dave") in seen
    assert ("admin", "login", "") in seen

    dave = admin.get("/api/audit?actor=dave").json()["events"]
    assert dave and all(e["actor"] == "dave" for e in dave)
    logins = admin.get("/api/audit?action=login&limit=2").json()["events"]
    assert 1 <= len(logins) <= 2
    assert all(e["action"] == "login" for e in logins)
    assert admin.get("/api/audit?actor=nobody").json()["events"] == []

    for q in ("limit=0", "limit=1001", "limit=abc", "limit=5&limit=6",
              "colour=red", "actor=" + "a" * 80):
        r = admin.get("/api/audit?" + q)
        assert r.status == 400, (q, r)
        assert r.json()["error"]
