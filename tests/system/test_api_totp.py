"""TOTP second factor through the API (issue 13, SPEC "Accounts"): each
user sets up their own (secret and otpauth URI shown once, active once a
code confirms it), login then needs a code, each code counts once, one step
of clock skew either way, an admin can remove a user's TOTP but never see
or set it, `totp_required = none|admin|all`, `octoBrain --reset-totp USER`,
and codes are rate-limited like passwords. Codes are computed here with
hmac/hashlib (RFC 6238, SHA-1, 6 digits, 30 s)."""

import base64
import hashlib
import hmac
import signal
import struct
import subprocess
import time
import urllib.parse

import pytest

import octotest

PW = "correct horse battery"
STEP = 30


def code_at(secret, step):
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    mac = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    o = mac[-1] & 0x0F
    n = struct.unpack(">I", mac[o:o + 4])[0] & 0x7FFFFFFF
    return "%06d" % (n % 1000000)


def current_step():
    """This step, away from its edges: when less than 3 s of it are left,
    wait for the next, so that the brain sees the same step as we do (not
    a timing assertion: only where in the step the test begins)."""
    while time.time() % STEP > STEP - 3:
        time.sleep(0.5)
    return int(time.time() // STEP)


@pytest.fixture(scope="module")
def brain(request, tmp_path_factory):
    b = octotest.Brain(tmp_path_factory.mktemp("totp"),
                       {"login_attempts": 200})
    request.addfinalizer(b.stop)
    b.start()
    return b


@pytest.fixture(scope="module")
def admin(brain):
    return brain.login()


def add_user(admin, name, role="viewer"):
    r = admin.post("/api/users", {"name": name, "password": PW,
                                  "role": role})
    assert r.status == 201, r


def enrol(c, name):
    """Set up (not confirm) name's TOTP: its secret."""
    r = c.post("/api/users/%s/totp" % name)
    assert r.status == 200, r
    j = r.json()
    assert set(j) == {"secret", "otpauth_uri"}
    return j["secret"]


def enrolled(brain, admin, name, role="viewer"):
    """A new user with a confirmed TOTP: (client, secret, step used)."""
    add_user(admin, name, role)
    c = brain.login(name, PW)
    secret = enrol(c, name)
    step = current_step()
    r = c.post("/api/users/%s/totp/confirm" % name,
               {"code": code_at(secret, step)})
    assert r.status == 200 and r.json() == {"totp": True}, r
    return c, secret, step


def login(brain, name, totp=None, password=PW):
    return brain.client().login(name, password, totp=totp)


def test_enrol_confirm_login_replay(brain, admin):
    add_user(admin, "alice")
    alice = brain.login("alice", PW)
    assert alice.get("/api/session").json()["user"]["totp"] is False

    secret = enrol(alice, "alice")
    assert len(secret) == 32 and set(secret) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
    # Set up again before confirming: a new secret replaces it.
    secret = enrol(alice, "alice")
    r = alice.post("/api/users/alice/totp")
    assert r.status == 200
    uri = r.json()["otpauth_uri"]
    secret = r.json()["secret"]
    u = urllib.parse.urlparse(uri)
    q = urllib.parse.parse_qs(u.query)
    assert u.scheme == "otpauth" and u.netloc == "totp"
    assert u.path == "/Octopus:alice"
    assert q == {"secret": [secret], "issuer": ["Octopus"],
                 "algorithm": ["SHA1"], "digits": ["6"], "period": ["30"]}

    # Not active until confirmed: the password alone still logs in.
    assert login(brain, "alice").status == 200
    users = {u["name"]: u for u in admin.get("/api/users").json()["users"]}
    assert users["alice"]["totp"] is False

    other = brain.login("alice", PW)
    step = current_step()
    # A wrong code does not confirm it; malformed ones are 400.
    wrong = "%06d" % ((int(code_at(secret, step)) + 1) % 1000000)
    r = alice.post("/api/users/alice/totp/confirm", {"code": wrong})
    assert r.status == 400 and "wrong code" in r.json()["error"], r
    for bad in ({"code": "12345"}, {"code": 123456}, {"code": "12345a"},
                {}, {"code": "1234567"}):
        r = alice.post("/api/users/alice/totp/confirm", bad)
        assert r.status == 400, (bad, r)
    assert login(brain, "alice").status == 200

    r = alice.post("/api/users/alice/totp/confirm",
                   {"code": code_at(secret, step)})
    assert r.status == 200 and r.json() == {"totp": True}, r
    assert alice.get("/api/session").json()["user"]["totp"] is True
    # Her sessions opened with the password alone ended, but this one.
    assert other.get("/api/session").status == 401
    users = {u["name"]: u for u in admin.get("/api/users").json()["users"]}
    assert users["alice"]["totp"] is True
    # The secret is never shown again, to her or to an admin.
    for c in (alice, admin):
        for path in ("/api/users", "/api/session", "/api/audit"):
            r = c.get(path)
            assert secret not in r.body.decode(), path
    # Confirmed: neither set up again nor confirmed again.
    r = alice.post("/api/users/alice/totp")
    assert r.status == 409 and "remove it first" in r.json()["error"], r
    r = alice.post("/api/users/alice/totp/confirm",
                   {"code": code_at(secret, step + 1)})
    assert r.status == 409, r

    # Login without a code, with a wrong one: 401 and totp_required.
    c = brain.client()
    r = c.login("alice", PW)
    assert r.status == 401, r
    assert r.json()["totp_required"] is True and r.json()["error"]
    assert c.session is None
    r = login(brain, "alice", wrong)
    assert r.status == 401 and r.json()["totp_required"] is True, r
    # A wrong password with a right code: no hint that a code is wanted.
    r = login(brain, "alice", code_at(secret, step + 1), password="nope" * 3)
    assert r.status == 401 and "totp_required" not in r.json(), r
    # The code that confirmed it was used: not again.
    r = login(brain, "alice", code_at(secret, step))
    assert r.status == 401 and r.json()["totp_required"] is True, r

    # The next step's code (one step of skew) logs in, once.
    c = brain.client()
    r = c.login("alice", PW, totp=code_at(secret, step + 1))
    assert r.status == 200, r
    assert r.json()["totp_setup_required"] is False
    assert c.get("/api/session").status == 200
    r = login(brain, "alice", code_at(secret, step + 1))
    assert r.status == 401 and r.json()["totp_required"] is True, r
    # An earlier step than the last used: refused too.
    r = login(brain, "alice", code_at(secret, step))
    assert r.status == 401, r
    # Not digits: the same 401 as a wrong password; not a string: 400.
    r = login(brain, "alice", "12ab56")
    assert r.status == 401, r
    r = brain.client().request("POST", "/api/login", body={
        "username": "alice", "password": PW, "totp": 123456})
    assert r.status == 400, r

    events = admin.get("/api/audit?actor=alice").json()["events"]
    actions = [e["action"] for e in events]
    assert "totp_setup" in actions and "totp_add" in actions
    assert "totp_failed" in actions
    assert any(e["action"] == "login_failed" and "TOTP" in e["detail"]
               for e in events)


def test_skew(brain, admin):
    add_user(admin, "bob")
    bob = brain.login("bob", PW)
    secret = enrol(bob, "bob")
    step = current_step()
    # Two steps off either way: refused; one step back: accepted.
    for s in (step - 2, step + 2):
        r = bob.post("/api/users/bob/totp/confirm",
                     {"code": code_at(secret, s)})
        assert r.status == 400, (s - step, r)
    r = bob.post("/api/users/bob/totp/confirm",
                 {"code": code_at(secret, step - 1)})
    assert r.status == 200, r
    assert login(brain, "bob", code_at(secret, step + 2)).status == 401
    assert login(brain, "bob", code_at(secret, step - 2)).status == 401
    assert login(brain, "bob", code_at(secret, step)).status == 200
    assert login(brain, "bob", code_at(secret, step + 1)).status == 200
    assert login(brain, "bob", code_at(secret, step + 1)).status == 401


def test_own_only(brain, admin):
    add_user(admin, "carl")
    carl = brain.login("carl", PW)
    # Nobody sets up or confirms another's, not even an admin.
    r = admin.post("/api/users/carl/totp")
    assert r.status == 403, r
    r = carl.post("/api/users/admin/totp")
    assert r.status == 403, r
    enrol(carl, "carl")
    r = admin.post("/api/users/carl/totp/confirm", {"code": "000000"})
    assert r.status == 403, r
    # Without the CSRF token: refused.
    r = carl.post("/api/users/carl/totp", csrf=False)
    assert r.status == 403, r
    r = brain.client().post("/api/users/carl/totp")
    assert r.status == 401, r


def test_remove(brain, admin):
    c, secret, step = enrolled(brain, admin, "dora")
    add_user(admin, "eve")
    eve = brain.login("eve", PW)
    # A viewer cannot remove another's.
    r = eve.delete("/api/users/dora/totp")
    assert r.status == 403, r
    assert eve.delete("/api/users/eve/totp").status == 404
    # An admin can.
    r = admin.delete("/api/users/dora/totp")
    assert r.status == 200 and r.json() == {"totp": False}, r
    assert admin.delete("/api/users/dora/totp").status == 404
    assert admin.delete("/api/users/nosuch/totp").status == 404
    assert login(brain, "dora").status == 200
    ev = admin.get("/api/audit?action=totp_remove").json()["events"]
    assert ev[0]["actor"] == "admin" and ev[0]["detail"] == "dora"

    # Its user can: set up again, then remove.
    secret = enrol(c, "dora")
    step = current_step()
    assert c.post("/api/users/dora/totp/confirm",
                  {"code": code_at(secret, step)}).status == 200
    assert login(brain, "dora").status == 401
    r = c.delete("/api/users/dora/totp")
    assert r.status == 200, r
    assert login(brain, "dora").status == 200


def test_confirm_rate_limited(tmp_path):
    b = octotest.Brain(tmp_path, {"login_attempts": 4})
    b.start()
    try:
        admin = b.login()
        r = admin.post("/api/users/admin/totp")
        secret = r.json()["secret"]
        step = current_step()
        wrong = "%06d" % ((int(code_at(secret, step)) + 1) % 1000000)
        # login_attempts per address and window: the login used one.
        for _ in range(3):
            r = admin.post("/api/users/admin/totp/confirm", {"code": wrong})
            assert r.status == 400, r
        r = admin.post("/api/users/admin/totp/confirm",
                       {"code": code_at(secret, step)})
        assert r.status == 429 and r.json()["retry_after"] > 0, r
    finally:
        b.stop()


def test_login_codes_rate_limited(tmp_path):
    b = octotest.Brain(tmp_path, {"login_attempts": 5})
    b.start()
    try:
        admin = b.login()
        secret = enrol(admin, "admin")
        step = current_step()
        assert admin.post("/api/users/admin/totp/confirm", {
            "code": code_at(secret, step)}).status == 200
        wrong = "%06d" % ((int(code_at(secret, step + 1)) + 1) % 1000000)
        # login_attempts per address and window: the login and the
        # confirmation used two.
        for _ in range(3):
            r = b.client().login("admin", b.password, totp=wrong)
            assert r.status == 401 and r.json()["totp_required"], r
        # The budget is spent: even the right code waits.
        r = b.client().login("admin", b.password,
                             totp=code_at(secret, step + 1))
        assert r.status == 429, r
    finally:
        b.stop()


def test_required_and_reset(tmp_path):
    b = octotest.Brain(tmp_path, {"login_attempts": 200,
                                  "totp_required": "admin"})
    b.start()
    try:
        # An admin without TOTP logs in, and may only set one up.
        c = b.client()
        r = c.login("admin", b.password)
        assert r.status == 200 and r.json()["totp_setup_required"] is True
        s = c.get("/api/session")
        assert s.status == 200 and s.json()["totp_setup_required"] is True
        for path in ("/api/tentacles", "/api/users", "/api/health",
                     "/api/runs"):
            r = c.get(path)
            assert r.status == 403, (path, r)
            assert r.json()["totp_setup_required"] is True
            assert "TOTP" in r.json()["error"]
        r = c.post("/api/users", {"name": "vic", "password": PW,
                                  "role": "viewer"})
        assert r.status == 403, r
        r = c.post("/api/users/admin/password", {
            "password": "another long one", "current_password": b.password})
        assert r.status == 403, r
        secret = enrol(c, "admin")
        step = current_step()
        r = c.post("/api/users/admin/totp/confirm",
                   {"code": code_at(secret, step)})
        assert r.status == 200, r
        # The same session now reaches the rest.
        assert c.get("/api/tentacles").status == 200
        assert c.get("/api/session").json()["totp_setup_required"] is False
        r = c.post("/api/users", {"name": "vic", "password": PW,
                                  "role": "viewer"})
        assert r.status == 201, r
        # admin: a viewer needs none.
        vic = b.login("vic", PW)
        assert vic.get("/api/tentacles").status == 200
        assert b.client().login("admin", b.password).status == 401

        # all: every user; read on SIGHUP.
        b.conf["totp_required"] = "all"
        b.write_conf()
        b.signal(signal.SIGHUP)
        octotest.wait_for(lambda: vic.get("/api/tentacles").status == 403,
                          10, 0.1, "totp_required = all after SIGHUP")
        assert vic.get("/api/session").status == 200

        # The locked-out admin: --reset-totp removes it.
        p = subprocess.run([str(b.bin), "-c", str(b.conf_path),
                            "--reset-totp", "admin"],
                           capture_output=True, text=True, timeout=30)
        assert p.returncode == 0, p
        assert "admin" in p.stdout
        r = b.client().login("admin", b.password)
        assert r.status == 200 and r.json()["totp_setup_required"] is True
        p = subprocess.run([str(b.bin), "-c", str(b.conf_path),
                            "--reset-totp", "nosuch"],
                           capture_output=True, text=True, timeout=30)
        assert p.returncode == 1 and "no such user" in p.stderr, p
        # The admin's session without TOTP only reaches the audit log
        # after setting one up; vic's reads it as a viewer cannot: check
        # with a fresh enrolment.
        c = b.client()
        c.login("admin", b.password)
        secret = enrol(c, "admin")
        step = current_step()
        assert c.post("/api/users/admin/totp/confirm",
                      {"code": code_at(secret, step)}).status == 200
        ev = c.get("/api/audit?action=totp_remove").json()["events"]
        assert ev[0]["actor"] == "system" and ev[0]["detail"] == "admin"
    finally:
        b.stop()


def test_reset_totp_needs_a_database(tmp_path):
    b = octotest.Brain(tmp_path)
    p = subprocess.run([str(b.bin), "-c", str(b.conf_path), "--reset-totp",
                        "admin"], capture_output=True, text=True, timeout=30)
    assert p.returncode == 1 and "brain.db" in p.stderr, p
    assert not (b.state_dir / "brain.db").exists()


@pytest.mark.parametrize("value", ["sometimes", "yes", "Admin", ""])
def test_bad_totp_required(tmp_path, value):
    b = octotest.Brain(tmp_path, {"totp_required": value})
    p = subprocess.run(b.command("-n"), capture_output=True, text=True,
                       timeout=30)
    assert p.returncode == 2, p
    assert "totp_required must be none, admin or all" in p.stderr
