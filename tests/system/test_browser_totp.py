"""TOTP in the dashboard (issue 13, SPEC "Accounts"), in headless Chromium
as test_browser_dashboard.py drives it: with totp_required = admin, an
admin without TOTP lands on the account page and sets one up (secret and
URI shown, a code confirms it); the login form then asks for a code, refuses
a wrong one and lets the right one in; the users page shows who has TOTP
and an admin removes another user's."""

import pytest

import octotest
from test_api_totp import PW, code_at, current_step
from test_browser_dashboard import chrome  # noqa: F401


@pytest.fixture
def brain(tmp_path):
    b = octotest.Brain(tmp_path, {"login_attempts": 1000,
                                  "totp_required": "admin"})
    b.start()
    yield b
    b.stop()


def wrong_code(secret, step):
    return "%06d" % ((int(code_at(secret, step)) + 1) % 1000000)


def test_set_up_totp_then_log_in_with_it(brain, chrome):  # noqa: F811
    b = chrome(brain)
    b.login("admin", brain.password)
    # Nothing but the account page until a TOTP is set up.
    b.text_in("#flash", "set up a TOTP")
    b.text_in("h1", "Your account")
    b.go("#/fleet")
    b.text_in("h1", "Your account")
    b.text_in("#totp-state", "off")
    b.shoot("totp-required")

    b.click(b.visible("#totp-start"))
    secret = b.visible("#totp-secret").text.strip()
    uri = b.visible("#totp-uri").text.strip()
    assert len(secret) == 32
    assert uri.startswith("otpauth://totp/Octopus:admin?secret=" + secret)
    b.shoot("totp-secret")
    step = current_step()
    b.fill("#totp-code", wrong_code(secret, step))
    b.click(b.button("Confirm"))
    b.text_in("#totp-status", "Wrong code")
    b.fill("#totp-code", code_at(secret, step))
    b.click(b.button("Confirm"))
    b.text_in("#totp-status", "TOTP is on")
    b.text_in("#totp-state", "on")
    assert not b.all("#totp-secret")
    # The rest of the dashboard is open now.
    b.go("#/users")
    b.text_in("h1", "Users")
    b.shoot("totp-on")
    b.logout()

    # The login form asks for the code once the password is right.
    b.fill("#login-user", "admin")
    b.fill("#login-pass", brain.password)
    assert not b.css("#login-totp").is_displayed()
    b.css("#login-submit").click()
    b.visible("#login-totp")
    b.text_in("#login-status", "Enter the code")
    assert b.driver.switch_to.active_element.get_attribute("id") == \
        "login-totp"
    b.shoot("login-code")
    b.fill("#login-totp", wrong_code(secret, step + 1))
    b.css("#login-submit").click()
    b.text_in("#login-status", "Wrong or already used code")
    assert not b.all("#logout")
    # The code that confirmed the TOTP was used: the next one logs in.
    b.fill("#login-totp", code_at(secret, step + 1))
    b.css("#login-submit").click()
    b.visible("#logout")
    b.text_in("#user-name", "admin")


def test_admin_removes_a_users_totp(brain, chrome):  # noqa: F811
    admin = octotest.Client(brain.web_port)
    assert admin.login("admin", brain.password).status == 200
    secret = admin.post("/api/users/admin/totp").json()["secret"]
    step = current_step()
    assert admin.post("/api/users/admin/totp/confirm", {
        "code": code_at(secret, step)}).status == 200
    assert admin.post("/api/users", {"name": "vera", "password": PW,
                                     "role": "viewer"}).status == 201
    vera = brain.login("vera", PW)
    vsecret = vera.post("/api/users/vera/totp").json()["secret"]
    assert vera.post("/api/users/vera/totp/confirm", {
        "code": code_at(vsecret, current_step())}).status == 200

    b = chrome(brain)
    b.open("#/users")
    b.fill("#login-user", "admin")
    b.fill("#login-pass", brain.password)
    b.css("#login-submit").click()
    b.fill("#login-totp", code_at(secret, step + 1))
    b.css("#login-submit").click()
    b.visible("#logout")
    b.go("#/users")
    b.visible(".remove-totp[data-user='vera']")
    assert not b.all(".remove-totp[data-user='admin']")
    b.shoot("users-totp")
    b.click(b.visible(".remove-totp[data-user='vera']"))
    b.click(b.button("Yes, remove"))
    b.text_in(".notice", "TOTP of vera removed")
    b.gone(".remove-totp[data-user='vera']")
    assert brain.client().login("vera", PW).status == 200
