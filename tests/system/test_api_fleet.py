"""The fleet API of the brain on its own: enrolment tokens, tentacle
management errors, enrolment by address that cannot succeed. (Enrolments
that succeed, with real tentacles, are in test_enrolment.py.)"""

import hashlib
import re
import socket
import subprocess

import pytest

import octotest


@pytest.fixture(scope="module")
def fleet_brain(request, tmp_path_factory):
    b = octotest.Brain(tmp_path_factory.mktemp("fleet"),
                       {"io_timeout": 2})
    request.addfinalizer(b.stop)
    b.start()
    return b


@pytest.fixture(scope="module")
def admin(fleet_brain):
    # One session for the module: logging in per test would meet the
    # brain's login rate limit, as it should.
    return fleet_brain.login()


def brain_fingerprint(brain):
    pem = subprocess.run(["openssl", "x509", "-in",
                          str(brain.state_dir / "brain.crt"), "-pubkey",
                          "-noout"], capture_output=True, check=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"],
                         input=pem, capture_output=True, check=True).stdout
    return hashlib.sha256(der).hexdigest()


def test_token_lifecycle(fleet_brain, admin):
    r = admin.post("/api/tokens", {"expires_in": 600, "uses": 3})
    assert r.status == 201, r
    t = r.json()
    assert re.fullmatch(r"[0-9a-f]{96}", t["token"]), t
    # The token carries the brain's certificate fingerprint after the secret.
    assert t["token"][32:] == brain_fingerprint(fleet_brain)
    assert t["uses_left"] == 3
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", t["expires_at"])

    listed = admin.get("/api/tokens").json()["tokens"]
    mine = [x for x in listed if x["id"] == t["id"]]
    assert mine and mine[0]["uses_left"] == 3 and not mine[0]["expired"]
    # The secret is shown once, never listed again.
    assert t["token"][:32] not in str(listed)

    assert admin.delete("/api/tokens/%d" % t["id"]).status == 200
    assert all(x["id"] != t["id"]
               for x in admin.get("/api/tokens").json()["tokens"])
    assert admin.delete("/api/tokens/%d" % t["id"]).status == 404


def test_token_defaults(admin):
    r = admin.post("/api/tokens", {})
    assert r.status == 201, r
    assert r.json()["uses_left"] == 1


@pytest.mark.parametrize("body", [
    {"expires_in": 0}, {"expires_in": -1}, {"uses": 0}, {"uses": "3"},
    {"expires_in": 10 ** 12}, {"uses": 1.5}, [1, 2], "text",
])
def test_token_bad_bodies(admin, body):
    r = admin.post("/api/tokens", body)
    assert r.status == 400, r
    assert r.json()["error"]


def test_mutations_need_csrf(admin):
    assert admin.post("/api/tokens", {}, csrf=False).status == 403
    assert admin.post("/api/tentacles", {"address": "127.0.0.1"},
                      csrf="0" * 64).status == 403
    assert admin.delete("/api/tokens/1", csrf=False).status == 403


def test_stranger_gets_401_even_with_a_bad_body(fleet_brain):
    c = fleet_brain.client()
    fake = "octopus_session=" + "a" * 64
    for path in ("/api/tokens", "/api/tentacles",
                 "/api/tentacles/1/approve"):
        r = c.request("POST", path, raw=b"{not json",
                      headers={"Cookie": fake,
                               "Content-Type": "application/json"})
        assert r.status == 401, (path, r)


@pytest.mark.parametrize("path", [
    "/api/tentacles/999/approve", "/api/tentacles/999/reject",
])
def test_unknown_tentacle(admin, path):
    r = admin.post(path)
    assert r.status == 404, r


def test_revoke_unknown_tentacle(admin):
    assert admin.delete("/api/tentacles/999").status == 404


@pytest.mark.parametrize("path", [
    "/api/tentacles/0/approve", "/api/tentacles/-1/approve",
    "/api/tentacles/abc/approve", "/api/tentacles/1x/approve",
    "/api/tentacles/99999999999999999999/approve",
])
def test_bad_ids_are_not_routes(admin, path):
    assert admin.post(path).status == 404


@pytest.mark.parametrize("body", [
    {}, {"address": "host.example"}, {"address": "127.0.0.1", "port": 0},
    {"address": "127.0.0.1", "port": 70000}, {"address": 7},
])
def test_enrol_by_address_bad_bodies(admin, body):
    r = admin.post("/api/tentacles", body)
    assert r.status == 400, r


def test_enrol_by_address_nothing_listening(admin):
    port = octotest.free_port()
    r = admin.post("/api/tentacles", {"address": "127.0.0.1", "port": port})
    assert r.status == 502, r
    assert "nothing listening" in r.json()["error"]


def test_enrol_by_address_not_a_tentacle(fleet_brain, admin):
    # The brain's own dashboard speaks TLS but not our protocol.
    r = admin.post("/api/tentacles", {"address": "127.0.0.1",
                                      "port": fleet_brain.web_port})
    assert r.status == 502, r
    assert "not a tentacle" in r.json()["error"]


def test_enrol_by_address_silent_host(admin):
    """Something that accepts TCP and never answers: a timeout, reported."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(5)
    try:
        r = admin.post("/api/tentacles", {"address": "127.0.0.1",
                                          "port": srv.getsockname()[1]})
        assert r.status == 504, r
        assert "timeout" in r.json()["error"]
    finally:
        srv.close()


def test_failed_enrolments_leave_no_tentacle(admin):
    j = admin.get("/api/tentacles").json()
    assert j["tentacles"] == [] and j["next"] is None, j
    assert j["counts"]["total"] == 0, j
