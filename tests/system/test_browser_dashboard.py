"""The dashboard in a real browser (issue 5): headless Chromium driven by
python3-selenium against a real brain and real tentacles on 127.0.0.x.

Each test saves screenshots (laptop 1366x800 and phone 390x844, whole
page) into $OCTO_SCREENSHOTS, or its tmp_path/screenshots; each fails if
the page logged a JavaScript error or a CSP violation.

Run:  make BUILD=build/web
      OCTO_BUILD=$PWD/build/web /usr/bin/python3 -m pytest -q \\
          tests/system/test_browser_dashboard.py
"""

import os
import re
import signal

import pytest

import browser
import octotest
from octotest import Tentacle, wait_for
from test_enrolment import (enrol_self, make_token,  # noqa: F401
                            new_tentacle, tentacle_bin)
from test_runs import add_script, run_and_wait

# The sanitizer build runs the same brain code under the same API tests;
# a browser on top would only double the time of the suite.
if os.environ.get("OCTO_BUILD", "").rstrip("/").endswith("/asan"):
    pytest.skip("browser tests run in the normal build only",
                allow_module_level=True)

XSS = "<img src=x onerror=alert(1)>"
FAST = {"io_timeout": 2, "keepalive_interval": 1, "login_attempts": 1000}
SLOW_SCRIPT_S = 3       # long enough for the page to see it running


# ------------------------------------------------------------------ fixtures

@pytest.fixture
def chrome(request, tmp_path):
    """chrome(brain) -> a Browser on that brain's dashboard. At the end:
    closed, and the test fails if the page logged an error or saved no
    screenshot."""
    reason = browser.missing()
    if reason:
        pytest.fail(reason, pytrace=False)
    shots = browser.screenshot_dir(tmp_path)
    prefix = re.sub(r"[^A-Za-z0-9_.-]", "_", request.node.name) + "-"
    made = []

    def make(brain):
        b = browser.Browser("https://127.0.0.1:%d" % brain.web_port, shots,
                            prefix)
        made.append(b)
        return b

    yield make
    errors, saved = [], []
    for b in made:
        errors += b.console_errors()
        saved += b.saved
        b.quit()
    assert not errors, "the page logged errors:\n" + "\n".join(errors)
    assert not made or saved, "no screenshot saved"


class Fleet:
    def __init__(self, brain, admin, ids):
        self.brain = brain
        self.admin = admin      # an API client logged in as admin
        self.ids = ids          # hostname -> tentacle ID


@pytest.fixture(scope="module")
def fleet(request, tmp_path_factory):
    """A brain (keepalive every second) with two tentacles enrolled by
    token, alpha-web (127.0.0.2) and bravo-db (127.0.0.3), each with the
    scripts hello, findings, xss, state (prints a file the test can
    change), slow (sleeps, then prints) and mixed (compliant on
    alpha-web, findings on bravo-db)."""
    if not octotest.TENTACLE_BIN.exists():
        pytest.fail("%s not built" % octotest.TENTACLE_BIN, pytrace=False)
    d = tmp_path_factory.mktemp("browser_fleet")
    b = octotest.Brain(d / "brain", FAST)
    request.addfinalizer(b.stop)
    b.start()
    admin = b.login()
    ids = {}
    for i, name in ((2, "alpha-web"), (3, "bravo-db")):
        t = Tentacle(d / name, "127.0.0.%d" % i, b, name=name)
        request.addfinalizer(t.stop)
        add_script(t, "hello", "echo hello from %s" % name)
        add_script(t, "findings", "echo 'FAIL  PermitRootLogin yes'\n"
                   "echo '1 finding'\nexit 1")
        add_script(t, "xss", "printf '%%s\\n' '%s'" % XSS)
        (t.dir / "state.txt").write_text("first line\n")
        add_script(t, "state", "cat %s" % (t.dir / "state.txt"))
        add_script(t, "slow", "sleep %d\necho slow done on %s"
                   % (SLOW_SCRIPT_S, name))
        add_script(t, "mixed", "echo 'OK    all good'" if i == 2 else
                   "echo 'WARN  PasswordAuthentication yes'\nexit 1")
        ids[name] = int(enrol_self(t, b, make_token(admin)["token"])["id"])

    def scripts_known():
        # one entry per name and content: hello differs on each host
        have = {}
        for x in admin.get("/api/scripts").json()["scripts"]:
            have.setdefault(x["name"], set()).update(x["tentacles"])
        return all(have.get(n) == set(ids.values())
                   for n in ("hello", "findings", "xss", "state", "slow",
                             "mixed"))
    wait_for(scripts_known, 30, 0.2, "both tentacles' scripts listed")
    return Fleet(b, admin, ids)


def row(b, table, text):
    """The row of table (a CSS selector) that shows text, once there."""
    def find(d):
        for tr in b.all(table + " tbody tr"):
            if text in tr.text:
                return tr
        return False
    return b.wait(find, "a row with %r in %s" % (text, table))


def no_row(b, table, text):
    b.wait(lambda d: not any(text in tr.text
                             for tr in b.all(table + " tbody tr")),
           "no row with %r in %s" % (text, table))


def run_page_id(b):
    m = b.wait(lambda d: re.search(r"#/runs/(\d+)$", d.current_url),
               "the run's page")
    return int(m.group(1))


def job_card(b, tid, outcome):
    return b.visible('article.job[data-tentacle="%d"][data-outcome="%s"]'
                     % (tid, outcome))


def job_output(b, tid, outcome):
    """The job's card once its output is there (the page fetches it
    after it learns the job finished): (card, pre)."""
    card = job_card(b, tid, outcome)
    pre = b.wait(lambda d: card.find_element("css selector", "pre.output"),
                 "the output of tentacle %d's job" % tid)
    return card, pre


def record_fetches(b):
    """From now on the page notes the address of every fetch() it makes
    (window.octoFetched); fetched(b) returns them."""
    b.driver.execute_script("""
        if (!window.octoFetched) {
            window.octoFetched = [];
            const real = window.fetch;
            window.fetch = function (url, init) {
                window.octoFetched.push(String(url));
                return real.call(this, url, init);
            };
        }""")


def fetched(b):
    return b.driver.execute_script("return window.octoFetched.slice();")


def add_user(fleet, name, password, role):
    r = fleet.admin.post("/api/users", {"name": name, "password": password,
                                        "role": role})
    assert r.status == 201, r


# --------------------------------------------------------------------- tests

def test_login_wrong_then_right_password(fleet, chrome):
    b = chrome(fleet.brain)
    b.open()
    b.visible("#login-user")
    b.fill("#login-user", "admin")
    b.fill("#login-pass", "not-the-password")
    b.css("#login-submit").click()
    b.text_in("#login-status", "Wrong user name or password.")
    assert not b.all("#logout")
    b.shoot("wrong-password")

    # With the keyboard: the password field has the focus after a failure.
    active = b.driver.switch_to.active_element
    assert active.get_attribute("id") == "login-pass"
    active.send_keys(fleet.brain.password + browser.Keys.ENTER)
    b.visible("#logout")
    assert b.css("#user-name").text == "admin"
    assert b.css("#user-role").text.lower() == "admin"
    # The fleet: counts, and both tentacles online (keepalive).
    row(b, "#fleet-table", "alpha-web")
    b.text_in("#stat-online", "2")
    b.text_in("#stat-pending", "0")
    for name in ("alpha-web", "bravo-db"):
        b.wait(lambda d, n=name: "online" in row(b, "#fleet-table", n).text,
               "%s online" % name)
    b.shoot("fleet")

    # Filtered, then sorted by host name the other way.
    b.fill("#fleet-filter", "bravo")
    no_row(b, "#fleet-table", "alpha-web")
    row(b, "#fleet-table", "bravo-db")
    b.css("#fleet-filter").clear()
    b.fill("#fleet-filter", " ")
    row(b, "#fleet-table", "alpha-web")
    sort = [e for e in b.all("#fleet-table thead button.sort")
            if "HOST NAME" in e.text.upper()][0]
    b.click(sort)
    b.wait(lambda d: [tr.text.split("\n")[0] for tr in
                      b.all("#fleet-table tbody tr")][:2] ==
           ["bravo-db", "alpha-web"], "rows sorted by host name, descending")

    b.logout()
    b.text_in("#login-status", "You are logged out.")
    b.shoot("logged-out")


def test_add_tentacle_by_ip(brain_factory, new_tentacle, chrome):  # noqa: F811
    brain = brain_factory(FAST)
    t = new_tentacle("127.0.0.4", brain, name="charlie-new")
    t.start()           # not enrolled: its register listens on 7000's port
    b = chrome(brain)
    b.login("admin", brain.password)

    # Nothing listens there: the brain's reason is shown.
    b.fill("#enrol-address", "127.0.0.4")
    b.fill("#enrol-port", str(octotest.free_port()))
    b.click(b.css("#enrol-submit"))
    b.text_in("#enrol-status", "Could not enrol 127.0.0.4")
    assert "nothing listening" in b.css("#enrol-status").text
    b.shoot("enrol-refused")

    # Without its pairing code, then with a wrong one: refused, and why.
    code = t.pairing_code()
    b.fill("#enrol-address", "127.0.0.4")
    b.fill("#enrol-port", str(t.register_port))
    b.click(b.css("#enrol-submit"))
    b.text_in("#enrol-status", "needs its pairing code")
    b.shoot("enrol-no-code")
    b.fill("#enrol-address", "127.0.0.4")
    b.fill("#enrol-port", str(t.register_port))
    b.fill("#enrol-code", ("B" if code[0] == "A" else "A") + code[1:])
    b.click(b.css("#enrol-submit"))
    b.text_in("#enrol-status", "wrong pairing code")
    t.wait_log(r"wrong pairing code \(1 of 3\)")

    # The code as the host prints it (lower case is fine too).
    b.fill("#enrol-address", "127.0.0.4")
    b.fill("#enrol-port", str(t.register_port))
    b.fill("#enrol-code", code.lower())
    b.click(b.css("#enrol-submit"))
    b.text_in("#enrol-status", "Enrolled charlie-new")
    assert b.css("#enrol-code").get_attribute("value") == ""
    r = row(b, "#fleet-table", "charlie-new")
    assert "127.0.0.4" in r.text
    b.wait(lambda d: "online" in row(b, "#fleet-table", "charlie-new").text,
           "charlie-new online")
    b.text_in("#stat-online", "1")
    b.shoot("enrolled")
    t.wait_log(r"register: enrolled")


def test_approve_pending_tentacle(brain_factory, new_tentacle,  # noqa: F811
                                  chrome):
    """Approve one pending tentacle, reject another; then revoke the
    approved one from its page."""
    brain = brain_factory(FAST)
    t = new_tentacle("127.0.0.5", brain, name="delta-pending")
    t.start("-b", "127.0.0.1", wait=False)     # no token: pending
    u = new_tentacle("127.0.0.6", brain, name="echo-unknown")
    u.start("-b", "127.0.0.1", wait=False)
    c = brain.login()
    wait_for(lambda: len(c.get("/api/tentacles").json()["tentacles"]) == 2,
             20, 0.2, "the pending requests")
    b = chrome(brain)
    b.login("admin", brain.password)
    r = row(b, "#pending-table", "delta-pending")
    row(b, "#pending-table", "echo-unknown")
    b.text_in("#stat-pending", "2")
    assert "pending" in row(b, "#fleet-table", "delta-pending").text
    b.shoot("pending")

    b.click(b.button("Approve", r))
    b.text_in("#decision-status", "Approved delta-pending.")
    no_row(b, "#pending-table", "delta-pending")
    b.click(b.button("Reject", row(b, "#pending-table", "echo-unknown")))
    b.text_in("#decision-status", "Rejected echo-unknown.")
    b.gone("#pending-card")
    b.wait(lambda d: "online" in row(b, "#fleet-table", "delta-pending").text,
           "delta-pending online")
    assert "rejected" in row(b, "#fleet-table", "echo-unknown").text
    states = {x["hostname"]: x["enrolment"]
              for x in c.get("/api/tentacles").json()["tentacles"]}
    assert states == {"delta-pending": "accepted",
                      "echo-unknown": "rejected"}, states
    t.wait_log(r"register: enrolled")
    b.shoot("approved")

    b.click(row(b, "#fleet-table", "delta-pending").find_element(
        "css selector", "a.host-link"))
    b.text_in("h1", "delta-pending")
    b.click(b.visible("#revoke"))
    b.click(b.button("Yes, revoke"))
    b.text_in("#flash", "Revoked delta-pending.")
    no_row(b, "#fleet-table", "delta-pending")
    assert [x["hostname"] for x in c.get("/api/tentacles").json()[
        "tentacles"]] == ["echo-unknown"]


def test_run_a_script_on_two_tentacles(fleet, chrome):
    b = chrome(fleet.brain)
    b.login("admin", fleet.brain.password)
    for name in ("alpha-web", "bravo-db"):
        b.click(row(b, "#fleet-table", name).find_element(
            "css selector", "input.select-host"))
    b.text_in("#selection-bar", "2 hosts selected")
    b.click(b.css("#run-selected"))

    # The run form: the fleet's scripts with their descriptions.
    choice = b.visible('label.choice[data-script="hello"]')
    assert "hello (test)" in choice.text and "on 2 of 2 hosts" in choice.text
    b.shoot("new-run")
    b.click(choice)
    b.text_in("#run-summary", "Run hello on 2 hosts.")
    b.click(b.css("#run-submit"))
    run_id = run_page_id(b)

    for name, tid in fleet.ids.items():
        card, pre = job_output(b, tid, "compliant")
        assert name in card.text
        assert pre.text == "hello from %s" % name
        assert "compliant" in card.text and "Duration" in card.text
    b.text_in("#run-progress", "2 of 2 hosts finished")
    b.shoot("run-done")

    # In the history, found by host and by outcome.
    b.go("#/runs")
    row(b, "#runs-table", "#%d" % run_id)
    b.shoot("runs")
    browser.Select(b.css("#runs-status")).select_by_value("findings")
    no_row(b, "#runs-table", "#%d" % run_id)
    browser.Select(b.css("#runs-status")).select_by_value("compliant")
    browser.Select(b.css("#runs-host")).select_by_value(
        str(fleet.ids["bravo-db"]))
    row(b, "#runs-table", "#%d" % run_id)


def test_findings_and_compare_two_results(fleet, chrome):
    """A script with findings, then what changed between two results of
    the same script on a host."""
    b = chrome(fleet.brain)
    tid = fleet.ids["alpha-web"]
    state = fleet.brain.dir.parent / "alpha-web" / "state.txt"
    b.login("admin", fleet.brain.password, "#/tentacle/%d" % tid)
    b.text_in("h1", "alpha-web")
    b.click(b.visible('button.run-one[data-script="findings"]'))
    run_page_id(b)
    card, pre = job_output(b, tid, "findings")
    assert "FAIL  PermitRootLogin yes" in pre.text
    # The line is a finding (check PermitRootLogin): counted as a check.
    counts = card.find_element("css selector", ".finding-counts").text
    assert counts == "1 FAIL", counts
    b.shoot("findings")

    state.write_text("first line\n")
    b.go("#/tentacle/%d" % tid)
    b.click(b.visible('button.run-one[data-script="state"]'))
    run_page_id(b)
    job_card(b, tid, "compliant")
    state.write_text("first line\nsecond line\n")
    b.go("#/tentacle/%d" % tid)
    b.click(b.visible('button.run-one[data-script="state"]'))
    run_page_id(b)
    card = job_card(b, tid, "compliant")
    b.click(card.find_element("css selector", "button.compare-prev"))
    b.text_in("#diff-stats", "+1 line")
    diff = b.visible("#diff").text
    assert "  first line" in diff and "+ second line" in diff, diff
    b.shoot("compare")

    # The same pair picked from the tentacle's history.
    b.go("#/tentacle/%d" % tid)
    picks = b.wait(lambda d: [e for e in b.all(
        '#history-table input.pick[data-script="state"]')][:2] if len(
        b.all('#history-table input.pick[data-script="state"]')) >= 2
        else False, "two results of state in the history")
    for p in picks:
        b.click(p)
    b.click(b.button("Compare the two selected"))
    b.text_in("#diff-stats", "+1 line")


def test_hostile_output_is_shown_as_text(fleet, chrome):
    b = chrome(fleet.brain)
    tid = fleet.ids["bravo-db"]
    b.login("admin", fleet.brain.password, "#/tentacle/%d" % tid)
    b.click(b.visible('button.run-one[data-script="xss"]'))
    run_page_id(b)
    card, pre = job_output(b, tid, "compliant")
    assert pre.text == XSS
    assert b.alert_text() is None
    assert b.all("img") == [], "an <img> element in the page"
    assert b.driver.execute_script(
        "return document.querySelectorAll('[onerror]').length;") == 0
    b.shoot("xss-run")

    # The full result, and the tentacle's history, are text too.
    b.click(card.find_element("css selector", "a[href^='#/results/']"))
    b.text_in("pre.output", XSS)
    b.go("#/tentacle/%d" % tid)
    row(b, "#history-table", "xss")
    assert b.alert_text() is None
    assert b.all("img") == []
    b.shoot("xss-result")


def test_idle_session_returns_to_login(brain_factory, chrome):
    brain = brain_factory({"session_timeout": 3, "login_attempts": 1000})
    b = chrome(brain)
    b.login("admin", brain.password)
    # The fleet view refreshes itself, marked as background: the session
    # still ends.
    b.visible("#login-form")
    b.text_in("#login-status", "Your session ended after 3 seconds "
              "without activity")
    assert b.css("#login-user").get_attribute("value") == "admin"
    b.shoot("expired")
    # Logging in again goes back to the page that was open.
    b.go("#/brain")
    b.fill("#login-pass", brain.password)
    b.css("#login-submit").click()
    b.visible("#health")


def test_viewer_sees_no_run_button_and_is_refused(fleet, chrome):
    add_user(fleet, "vera", "viewer-password-1", "viewer")
    b = chrome(fleet.brain)
    b.login("vera", "viewer-password-1")
    assert b.css("#user-role").text.lower() == "viewer"
    row(b, "#fleet-table", "alpha-web")
    assert b.all("#run-script") == []
    assert b.all("input.select-host") == []
    assert b.all("#add-host") == []
    nav = b.css("nav.nav").text
    assert "Runs" in nav and "Tokens" not in nav and "Users" not in nav \
        and "Audit" not in nav
    b.shoot("viewer-fleet")

    b.go("#/tentacle/%d" % fleet.ids["alpha-web"])
    b.text_in("h1", "alpha-web")
    row(b, "#tentacle-details ~ section table", "hello")
    assert b.all("button.run-one") == [] and b.all("#revoke") == []
    assert b.all("#tentacle-run") == []
    assert not b.buttons("Run")
    b.shoot("viewer-tentacle")
    b.go("#/runs")
    b.visible("#runs-table")
    assert b.all("#new-run") == []
    b.go("#/run")
    b.text_in("h1", "Not allowed")
    b.go("#/users")
    b.text_in("h1", "Not allowed")

    # The API refuses the same calls, made by hand from the page.
    b.driver.set_script_timeout(browser.WAIT)
    status = b.driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        fetch('/api/session').then(r => r.json()).then(s => Promise.all([
          fetch('/api/runs', {method: 'POST', headers: {
            'Content-Type': 'application/json', 'X-CSRF-Token': s.csrf},
            body: JSON.stringify({script: 'hello', tentacles: 'all'})}),
          fetch('/api/users'), fetch('/api/tokens')]))
        .then(rs => done(rs.map(r => r.status)), e => done(String(e)));
    """)
    assert status == [403, 403, 403], status
    b.shoot("viewer-refused")
    assert fleet.admin.delete("/api/users/vera").status == 200


def test_users_add_set_password_remove(fleet, chrome):
    b = chrome(fleet.brain)
    b.login("admin", fleet.brain.password, "#/users")
    me = row(b, "#users-table", "admin")
    assert "(you)" in me.text and not me.find_elements(
        "css selector", "button.remove-user")

    b.fill("#user-new-name", "olivia")
    b.fill("#user-new-password", "operator-pass-1")
    browser.Select(b.css("#user-new-role")).select_by_value("operator")
    b.click(b.css("#user-add"))
    b.text_in("#user-add-status", "User olivia added as operator.")
    assert "operator" in row(b, "#users-table", "olivia").text
    # Again: the brain says it exists.
    b.fill("#user-new-name", "olivia")
    b.fill("#user-new-password", "operator-pass-1")
    b.click(b.css("#user-add"))
    b.text_in("#user-add-status", "already exists")
    b.shoot("user-added")

    # An admin sets another user's password.
    b.click(row(b, "#users-table", "olivia").find_element(
        "css selector", "button.set-password"))
    b.fill("#user-password-slot input.pw-new", "another-pass-22")
    b.fill("#user-password-slot input.pw-again", "another-pass-22")
    b.click(b.button("Change password", b.css("#user-password-slot")))
    b.text_in("#user-password-slot .notice", "Password changed for olivia")
    assert fleet.brain.client().login("olivia", "another-pass-22").status \
        == 200

    r = row(b, "#users-table", "olivia")
    b.click(r.find_element("css selector", "button.remove-user"))
    b.click(b.button("Yes, remove", r))
    b.text_in("main .notice", "User olivia removed.")
    no_row(b, "#users-table", "olivia")
    b.shoot("user-removed")
    names = [u["name"] for u in
             fleet.admin.get("/api/users").json()["users"]]
    assert "olivia" not in names


def test_tokens_and_the_audit_log(fleet, chrome):
    """A token made and revoked in the page, a refused login: the audit
    log shows them, filterable."""
    assert fleet.brain.client().login("mallory", "guess-guess").status == 401
    b = chrome(fleet.brain)
    b.login("admin", fleet.brain.password, "#/tokens")
    b.click(b.visible("#token-create"))
    cmd = b.visible("#token-command").text
    m = re.fullmatch(r"octoTentacle -b 127\.0\.0\.1 -t ([0-9a-f]{96})", cmd)
    assert m, cmd
    token_id = int(re.search(r"Token (\d+) created",
                             b.css("#new-token").text).group(1))
    tr = row(b, "#tokens-table", "valid")
    assert m.group(1)[:32] not in b.css("#tokens-table").text
    b.shoot("token")
    tr = b.wait(lambda d: [t for t in b.all("#tokens-table tbody tr")
                           if t.find_element("css selector", "td").text ==
                           str(token_id)] or False, "token's row")[0]
    b.click(tr.find_element("css selector", "button"))
    b.click(b.button("Yes, revoke", tr))
    b.text_in("main .notice", "Token %d revoked." % token_id)

    b.go("#/audit")
    row(b, "#audit-table", "token_revoke")
    for action, who in (("token_create", "admin"), ("token_revoke", "admin"),
                        ("login", "admin"), ("login_failed", "mallory")):
        b.wait(lambda d, a=action, w=who: any(
            a in tr.text.split() and w in tr.text
            for tr in b.all("#audit-table tbody tr")),
            "%s by %s in the audit log" % (action, who))
    assert any("token %d" % token_id in tr.text
               for tr in b.all("#audit-table tbody tr"))
    b.shoot("audit")

    browser.Select(b.css("#audit-action")).select_by_value("token_create")
    b.wait(lambda d: b.all("#audit-table tbody tr") and all(
        "token_create" in tr.text for tr in b.all("#audit-table tbody tr")),
        "only token_create events")
    b.fill("#audit-actor", "mallory")
    browser.Select(b.css("#audit-action")).select_by_value("")
    b.wait(lambda d: b.all("#audit-table tbody tr") and all(
        "mallory" in tr.text for tr in b.all("#audit-table tbody tr")),
        "only mallory's events")
    b.shoot("audit-filtered")


def test_operator_runs_but_does_not_administer_and_changes_password(
        fleet, chrome):
    add_user(fleet, "oscar", "operator-password-1", "operator")
    b = chrome(fleet.brain)
    b.login("oscar", "operator-password-1")
    row(b, "#fleet-table", "alpha-web")
    assert b.all("#run-script") and b.all("input.select-host")
    assert b.all("#add-host") == []
    nav = b.css("nav.nav").text
    assert "Tokens" not in nav and "Users" not in nav and "Audit" not in nav
    b.go("#/tentacle/%d" % fleet.ids["alpha-web"])
    b.visible("button.run-one")
    assert b.all("#revoke") == []
    b.shoot("operator-tentacle")

    # Own password: the current one is checked.
    b.click(b.css("#user-name"))
    b.text_in("h1", "Your account")
    b.fill("input.pw-current", "not-my-password")
    b.fill("input.pw-new", "operator-password-2")
    b.fill("input.pw-again", "operator-password-2")
    b.click(b.button("Change password"))
    b.text_in("form.pw-form .notice", "wrong")
    b.fill("input.pw-current", "operator-password-1")
    b.fill("input.pw-new", "operator-password-2")
    b.fill("input.pw-again", "operator-password-2")
    b.click(b.button("Change password"))
    b.text_in("form.pw-form .notice", "Password changed")
    b.shoot("operator-password")
    assert fleet.brain.client().login("oscar", "operator-password-2").status \
        == 200
    # This session goes on.
    b.go("#/runs")
    b.visible("#new-run")
    assert fleet.admin.delete("/api/users/oscar").status == 200


# ------------------------------------------- the dashboard's newer API calls

def test_token_command_names_the_brain_address(brain_factory, chrome):
    """The command to paste on a host names the address the brain takes
    enrolments on (GET /api/session's brain_address), not the address
    the page was opened with; when the brain listens on every address
    the page falls back to its own host and says so. A registerer port
    other than 6000 is pointed out."""
    brain = brain_factory(dict(FAST, listen_address="127.0.0.9"))
    b = chrome(brain)
    b.login("admin", brain.password, "#/tokens")
    b.click(b.visible("#token-create"))
    cmd = b.visible("#token-command").text
    assert re.fullmatch(r"octoTentacle -b 127\.0\.0\.9 -t [0-9a-f]{96}",
                        cmd), cmd
    assert "127.0.0.9 is the address" in b.css("#token-address-note").text
    assert "brain_registerer_port = %d" % brain.registerer_port in \
        b.css("#token-port-note").text
    b.shoot("token-brain-address")
    b.go("#/brain")
    b.text_in("#health", "127.0.0.9, port %d" % brain.registerer_port)

    anywhere = brain_factory(dict(FAST, listen_address="0.0.0.0"))
    c = chrome(anywhere)
    c.login("admin", anywhere.password, "#/tokens")
    c.click(c.visible("#token-create"))
    cmd = c.visible("#token-command").text
    assert re.fullmatch(r"octoTentacle -b 127\.0\.0\.1 -t [0-9a-f]{96}",
                        cmd), cmd
    assert "listens on every address" in \
        c.css("#token-address-note").text
    c.shoot("token-any-address")


def test_history_filtered_by_host_asks_the_brain(fleet, chrome):
    """The run history's host filter is GET /api/runs?tentacle=ID; the
    outcome filter then works on that host's own job."""
    alpha, bravo = fleet.ids["alpha-web"], fleet.ids["bravo-db"]
    only_alpha = run_and_wait(fleet.admin, "hello", [alpha])["id"]
    only_bravo = run_and_wait(fleet.admin, "findings", [bravo])["id"]
    b = chrome(fleet.brain)
    b.login("admin", fleet.brain.password, "#/runs")
    row(b, "#runs-table", "#%d" % only_alpha)
    row(b, "#runs-table", "#%d" % only_bravo)
    assert "1 compliant" in row(b, "#runs-table", "#%d" % only_alpha).text
    assert "1 findings" in row(b, "#runs-table", "#%d" % only_bravo).text
    record_fetches(b)
    browser.Select(b.css("#runs-host")).select_by_value(str(bravo))
    no_row(b, "#runs-table", "#%d" % only_alpha)
    row(b, "#runs-table", "#%d" % only_bravo)
    assert "/api/runs?tentacle=%d&limit=500" % bravo in fetched(b), \
        fetched(b)
    assert "host=%d" % bravo in b.driver.current_url
    b.shoot("runs-by-host")

    browser.Select(b.css("#runs-status")).select_by_value("compliant")
    no_row(b, "#runs-table", "#%d" % only_bravo)
    browser.Select(b.css("#runs-host")).select_by_value(str(alpha))
    row(b, "#runs-table", "#%d" % only_alpha)
    assert "/api/runs?tentacle=%d&limit=500" % alpha in fetched(b), \
        fetched(b)
    browser.Select(b.css("#runs-status")).select_by_value("findings")
    no_row(b, "#runs-table", "#%d" % only_alpha)

    # From the tentacle's page.
    b.go("#/tentacle/%d" % bravo)
    b.click(b.visible("#history-runs"))
    row(b, "#runs-table", "#%d" % only_bravo)
    assert b.css("#runs-host").get_attribute("value") == str(bravo)


def test_history_by_host_and_outcome_judges_that_hosts_job(fleet, chrome):
    """One run on two hosts, compliant on alpha-web and with findings on
    bravo-db: filtered by host and outcome, the history judges the
    chosen host's own job, not the whole run, and shows its verdict with
    a link to its result."""
    alpha, bravo = fleet.ids["alpha-web"], fleet.ids["bravo-db"]
    run = run_and_wait(fleet.admin, "mixed", [alpha, bravo])
    run_id = run["id"]
    results = {j["tentacle"]: j["result"]["id"] for j in run["jobs"]}
    key = "#%d" % run_id
    b = chrome(fleet.brain)
    b.login("admin", fleet.brain.password, "#/runs")
    tr = row(b, "#runs-table", key)
    assert "1 compliant" in tr.text and "1 findings" in tr.text, tr.text
    # No host chosen: no host's column, no caveat.
    assert not b.css("#runs-table th.host-col").is_displayed()
    assert not b.css("#runs-note").is_displayed()

    # alpha-web: compliant there, whatever bravo-db found.
    browser.Select(b.css("#runs-host")).select_by_value(str(alpha))
    browser.Select(b.css("#runs-status")).select_by_value("compliant")
    b.wait(lambda d: "host=%d" % alpha in d.current_url and
           "status=compliant" in d.current_url, "the filters in the URL")
    tr = row(b, "#runs-table", key)
    verdict = b.wait(lambda d: tr.find_element(
        "css selector", ".host-verdict[data-outcome=compliant]"),
        "alpha-web's verdict in the row")
    link = verdict.find_element("css selector", "a.host-result")
    assert link.get_attribute("href").endswith(
        "#/results/%d" % results[alpha])
    assert b.css("#runs-table th.host-col").is_displayed()
    assert "whole run" not in b.page_text()
    assert b.css("#runs-status option[value=compliant]").text == "Compliant"
    b.shoot("runs-host-compliant")
    browser.Select(b.css("#runs-status")).select_by_value("findings")
    no_row(b, "#runs-table", key)
    browser.Select(b.css("#runs-status")).select_by_value("error")
    no_row(b, "#runs-table", key)

    # bravo-db: the same run has findings there, and is not compliant.
    browser.Select(b.css("#runs-host")).select_by_value(str(bravo))
    no_row(b, "#runs-table", key)
    browser.Select(b.css("#runs-status")).select_by_value("findings")
    tr = row(b, "#runs-table", key)
    verdict = b.wait(lambda d: tr.find_element(
        "css selector", ".host-verdict[data-outcome=findings]"),
        "bravo-db's verdict in the row")
    assert "findings" in verdict.text
    b.shoot("runs-host-findings")
    browser.Select(b.css("#runs-status")).select_by_value("compliant")
    no_row(b, "#runs-table", key)

    # The verdict's link opens that host's result.
    browser.Select(b.css("#runs-status")).select_by_value("findings")
    tr = row(b, "#runs-table", key)
    b.click(b.wait(lambda d: tr.find_element(
        "css selector", "a.host-result"), "the result link"))
    b.wait(lambda d: d.current_url.endswith("#/results/%d" % results[bravo]),
           "bravo-db's result page")
    b.text_in("body", "PasswordAuthentication")


def test_output_arrives_while_polling_without_outputs(fleet, chrome):
    """While a run is in progress the page asks for it without the
    outputs; a job's output is fetched when the job finishes. The job
    is seen running on the way."""
    tid = fleet.ids["alpha-web"]
    b = chrome(fleet.brain)
    b.login("admin", fleet.brain.password, "#/tentacle/%d" % tid)
    b.text_in("h1", "alpha-web")
    record_fetches(b)
    b.click(b.visible('button.run-one[data-script="slow"]'))
    run_id = run_page_id(b)
    card = b.visible('article.job[data-tentacle="%d"][data-state="running"]'
                     % tid)
    assert "running" in card.text and "Running:" in card.text, card.text
    b.text_in("#run-progress", "1 running")
    b.shoot("run-running")
    card, pre = job_output(b, tid, "compliant")
    assert pre.text == "slow done on alpha-web"
    b.text_in("#run-progress", "1 of 1 host finished")
    rid = int(card.get_attribute("data-result"))
    urls = fetched(b)
    polls = [u for u in urls if u.startswith("/api/runs/%d" % run_id)]
    # Without the outputs, its jobs by pages.
    assert polls and all(u.startswith("/api/runs/%d?output=0&limit="
                                      % run_id) for u in polls), urls
    assert "/api/results/%d" % rid in urls, urls
    b.shoot("run-output-arrived")

    # A finished run opened afresh: its outputs are fetched as shown.
    b.go("#/runs")
    b.visible("#runs-table")
    b.go("#/runs/%d" % run_id)
    card = job_card(b, tid, "compliant")
    b.wait(lambda d: card.find_element("css selector", "pre.output").text ==
           "slow done on alpha-web", "the output again")


def test_failed_job_shows_its_message(brain_factory, new_tentacle,  # noqa: F811
                                      chrome):
    """A tentacle killed while it runs the script: the job turns failed
    and the page shows why."""
    brain = brain_factory(dict(FAST, keepalive_misses=2))
    admin = brain.login()
    t = new_tentacle("127.0.0.7", brain, name="foxtrot-dies")
    add_script(t, "long", "sleep 8\necho never seen")
    tid = int(enrol_self(t, brain, make_token(admin)["token"])["id"])
    wait_for(lambda: any(x["name"] == "long" for x in admin.get(
        "/api/scripts").json()["scripts"]), 20, 0.2, "the script listed")
    b = chrome(brain)
    b.login("admin", brain.password, "#/tentacle/%d" % tid)
    b.click(b.visible('button.run-one[data-script="long"]'))
    run_page_id(b)
    b.visible('article.job[data-tentacle="%d"][data-state="running"]' % tid)
    os.killpg(t.proc.pid, signal.SIGKILL)
    t.proc.wait(10)
    card = b.visible('article.job[data-tentacle="%d"][data-state="failed"]'
                     % tid)
    msg = b.wait(lambda d: card.find_element("css selector", ".job-message"),
                 "the job's message")
    assert "went offline during the run" in msg.text, msg.text
    assert msg.is_displayed()
    assert "failed" in card.find_element("css selector", ".badge").text
    b.text_in("#run-progress", "1 failed")
    b.shoot("run-failed-message")
    # In the history: a run with errors.
    b.go("#/runs")
    browser.Select(b.css("#runs-status")).select_by_value("error")
    assert "1 failed" in row(b, "#runs-table", "long").text
