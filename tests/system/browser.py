"""A headless Chromium for the dashboard's browser tests.

Debian's chromium and chromium-driver, driven with python3-selenium
(scripts/deps installs them). The browser accepts the test brain's
self-signed certificate; it runs with --no-sandbox so that it also works
as root (CI). Every wait is a WebDriverWait on a condition, with a
deadline only there so that a broken page fails the test instead of
hanging it; nothing here asserts a timing.

Screenshots go to $OCTO_SCREENSHOTS when set, else to the test's tmp_path:
shoot(name) saves NAME-laptop.png (1366x800) and NAME-phone.png (390x844,
a phone's viewport), each of the whole page height.
"""

import base64
import os
import re
import shutil
from pathlib import Path

CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM = "/usr/bin/chromium"

LAPTOP = (1366, 800)
PHONE = (390, 844)

# Generous: ASan brains on a 2-core CI are slow. A healthy page is there
# at once; the deadline only bounds a broken one.
WAIT = 30.0

try:
    from selenium import webdriver
    from selenium.common.exceptions import (NoAlertPresentException,
                                            StaleElementReferenceException,
                                            TimeoutException,
                                            WebDriverException)
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys  # noqa: F401
    from selenium.webdriver.support.ui import Select  # noqa: F401
    from selenium.webdriver.support.ui import WebDriverWait
    HAVE_SELENIUM = True
except ImportError:     # reported by missing()
    HAVE_SELENIUM = False


def missing():
    """What is missing to run the browser tests, or None."""
    what = []
    if not HAVE_SELENIUM:
        what.append("python3-selenium")
    if not (os.access(CHROMEDRIVER, os.X_OK) or shutil.which("chromedriver")):
        what.append("chromium-driver")
    if not (os.access(CHROMIUM, os.X_OK) or shutil.which("chromium")):
        what.append("chromium")
    if not what:
        return None
    return ("missing Debian packages: %s (run scripts/deps as root)"
            % " ".join(what))


def screenshot_dir(tmp_path):
    d = os.environ.get("OCTO_SCREENSHOTS")
    path = Path(d) if d else Path(tmp_path) / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path


# Console lines that are not errors of the page: the browser logs every
# non-2xx answer to fetch() (a wrong password is a 401, a viewer's
# refused call a 403...); the page handles them.
_EXPECTED_CONSOLE = re.compile(
    r"Failed to load resource: the server responded with a status of "
    r"(4\d\d|50[24])")


# Installed before the Fleet view is entered: the page notes (in ms) when
# the first row and the whole fleet's total are drawn.
_FLEET_DRAW_JS = """
window.octoDraw = null;
const t0 = performance.now();
const done = function () {
    const rows = document.querySelectorAll('#fleet-table tbody tr.tentacle-row');
    const total = document.querySelector('#stat-total .stat-n');
    if (rows.length && total && total.textContent === arguments[0]) {
        window.octoDraw = performance.now() - t0;
        return true;
    }
    return false;
}.bind(null, String(arguments[0]));
const obs = new MutationObserver(function () {
    if (done())
        obs.disconnect();
});
obs.observe(document.body, {childList: true, subtree: true,
    characterData: true});
location.hash = '#/fleet';
"""


class Browser:
    """One Chromium, on one brain's dashboard."""

    def __init__(self, base_url, shots_dir, prefix=""):
        self.base = base_url.rstrip("/")
        self.shots_dir = Path(shots_dir)
        self.prefix = prefix
        self.saved = []
        opts = webdriver.ChromeOptions()
        for arg in ("--headless", "--no-sandbox", "--disable-gpu",
                    "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    "--no-first-run", "--disable-dev-shm-usage",
                    "--disable-extensions", "--lang=en-US",
                    "--window-size=%d,%d" % LAPTOP):
            opts.add_argument(arg)
        opts.accept_insecure_certs = True
        opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        binary = CHROMIUM if os.access(CHROMIUM, os.X_OK) else \
            shutil.which("chromium")
        if binary:
            opts.binary_location = binary
        driver_path = CHROMEDRIVER if os.access(CHROMEDRIVER, os.X_OK) \
            else shutil.which("chromedriver")
        self.driver = webdriver.Chrome(service=Service(driver_path),
                                       options=opts)
        self.driver.set_page_load_timeout(WAIT)
        self.console = []
        self.set_size(LAPTOP)

    # -- navigation and lookups

    def open(self, hash_="#/fleet"):
        self.driver.get(self.base + "/" + hash_)

    def go(self, hash_):
        """Change the hash as a link would (no reload)."""
        self.driver.execute_script("location.hash = arguments[0];", hash_)

    def css(self, selector):
        return self.driver.find_element(By.CSS_SELECTOR, selector)

    def all(self, selector):
        return self.driver.find_elements(By.CSS_SELECTOR, selector)

    def wait(self, condition, what, timeout=WAIT):
        """Wait until condition(driver) is true; returns its value.
        Stale elements (the page refreshed them) count as not yet."""
        def check(d):
            try:
                return condition(d)
            except StaleElementReferenceException:
                return False
        try:
            return WebDriverWait(self.driver, timeout, 0.1).until(check)
        except TimeoutException:
            raise AssertionError("timed out after %.0fs waiting for %s "
                                 "(page: %s)" % (timeout, what,
                                                 self.page_text()[:1500]))

    def visible(self, selector, timeout=WAIT):
        """The first visible element matching selector, once there is one."""
        def find(d):
            for e in d.find_elements(By.CSS_SELECTOR, selector):
                if e.is_displayed():
                    return e
            return False
        return self.wait(find, "a visible %r" % selector, timeout)

    def gone(self, selector, timeout=WAIT):
        self.wait(lambda d: not any(
            e.is_displayed()
            for e in d.find_elements(By.CSS_SELECTOR, selector)),
            "no visible %r" % selector, timeout)

    def text_in(self, selector, text, timeout=WAIT):
        """Wait until an element matching selector shows text; returns
        it."""
        def find(d):
            for e in d.find_elements(By.CSS_SELECTOR, selector):
                if text in e.text:
                    return e
            return False
        return self.wait(find, "%r in %r" % (text, selector), timeout)

    def button(self, label, scope=None, timeout=WAIT):
        """The visible, enabled <button> whose text is label."""
        def find(d):
            root = scope or d
            for e in root.find_elements(By.TAG_NAME, "button"):
                if e.text.strip() == label and e.is_displayed() and \
                        e.is_enabled():
                    return e
            return False
        return self.wait(find, "a button %r" % label, timeout)

    def buttons(self, label):
        return [e for e in self.all("button")
                if e.text.strip() == label and e.is_displayed()]

    def click(self, element):
        self.driver.execute_script(
            "arguments[0].scrollIntoView({block: 'center'});", element)
        element.click()

    def fill(self, selector, value):
        e = self.visible(selector)
        e.clear()
        e.send_keys(value)
        return e

    def page_text(self):
        try:
            return self.driver.find_element(By.TAG_NAME, "body").text
        except WebDriverException:
            return "(no page)"

    def alert_text(self):
        """The text of an open alert/confirm, or None."""
        try:
            return self.driver.switch_to.alert.text
        except NoAlertPresentException:
            return None

    # -- the dashboard

    def login(self, user, password, hash_="#/fleet"):
        """Open the page, log in, wait for the dashboard."""
        self.open(hash_)
        self.visible("#login-user")
        self.fill("#login-user", user)
        self.fill("#login-pass", password)
        self.css("#login-submit").click()
        self.visible("#logout")
        self.text_in("#user-name", user)

    def logout(self):
        self.click(self.visible("#logout"))
        self.visible("#login-form")

    # -- evidence

    def set_size(self, size, height=None):
        w, h = size
        self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": w, "height": height or h, "deviceScaleFactor": 1,
            "mobile": size == PHONE})

    def shot(self, name, size=LAPTOP):
        """One PNG of the whole page at size; returns its path."""
        self.set_size(size)
        # let layout settle for the new width, then measure the page
        self.driver.execute_script("return document.body.offsetHeight;")
        height = self.driver.execute_script(
            "return Math.max(document.documentElement.scrollHeight,"
            " document.body.scrollHeight);")
        height = max(size[1], min(int(height), 6000))
        self.set_size(size, height)
        png = self.driver.execute_cdp_cmd("Page.captureScreenshot",
                                          {"format": "png"})["data"]
        self.set_size(LAPTOP)
        path = self.shots_dir / ("%s%s-%s.png" % (
            self.prefix, name, "phone" if size == PHONE else "laptop"))
        path.write_bytes(base64.b64decode(png))
        self.saved.append(path)
        return path

    def shoot(self, name):
        """Screenshots at laptop and phone sizes."""
        return [self.shot(name, LAPTOP), self.shot(name, PHONE)]

    def console_errors(self):
        """Console errors of the page so far (JavaScript exceptions, CSP
        violations...), without the expected HTTP error answers."""
        try:
            self.console.extend(self.driver.get_log("browser"))
        except WebDriverException:
            pass
        return [e["message"] for e in self.console
                if e.get("level") == "SEVERE" and
                not _EXPECTED_CONSOLE.search(e.get("message", ""))]

    # -- figures (printed by the tests and make bench, never asserted)

    def fleet_first_draw(self, total):
        """The Fleet page's first draw with `total` hosts, logged in on
        another view: (ms from the hash change to the first row and the
        whole fleet's total drawn, ms from a new page load's navigation
        start to the first row drawn, the app's start and its session
        check included)."""
        self.driver.set_script_timeout(60)
        self.driver.execute_script(_FLEET_DRAW_JS, total)
        self.wait(lambda d: d.execute_script(
            "return window.octoDraw;") is not None, "the fleet drawn", 60)
        drawn = self.driver.execute_script("return window.octoDraw;")
        self.driver.get("about:blank")
        self.open("#/fleet")
        loaded = self.driver.execute_async_script("""
            const done = arguments[arguments.length - 1];
            (function look() {
                if (document.querySelector(
                    '#fleet-table tbody tr.tentacle-row'))
                    done(performance.now());
                else
                    requestAnimationFrame(look);
            })();""")
        return drawn, loaded

    def quit(self):
        try:
            self.driver.quit()
        except WebDriverException:
            pass
