"""The Fleet page with 10,000 hosts (issue 18, SPEC "Lists at scale"): the
counts at the top from the brain's "counts", filtering and sorting done by
the brain, one page of rows in the DOM, pages turned with Previous/Next.

The first draw is measured and printed, never asserted (make bench has
the figure too). Screenshots go to $OCTO_SCREENSHOTS when set."""

import os

import pytest

import browser
from fleetdb import brain_with_fleet, fleet_rows
from conftest import _stop_and_check
from test_browser_dashboard import chrome  # noqa: F401

if os.environ.get("OCTO_BUILD", "").rstrip("/").endswith("/asan"):
    pytest.skip("browser tests run in the normal build only",
                allow_module_level=True)

N = 10000
PAGE = 100      # app.js FLEET_PAGE
MATCHES = 50    # app.js HOST_MATCHES

@pytest.fixture(scope="module")
def big_fleet(request, tmp_path_factory):
    b = brain_with_fleet(tmp_path_factory.mktemp("fleet10k"),
                         fleet_rows(N, seed=4), scripts=("audit",),
                         accepted_only=True)
    request.addfinalizer(lambda: _stop_and_check(b))
    return b


def choose(b, selector, value):
    browser.Select(b.css(selector)).select_by_value(value)


def rows(b):
    """The host names of the rows shown (once there are some; read again
    if the page's refresh replaced a row meanwhile)."""
    return b.wait(lambda d: [tr.text.split("\n")[0] for tr in
                             b.all("#fleet-table tbody tr.tentacle-row")],
                  "rows in the fleet table")


def test_fleet_page_with_ten_thousand_hosts(big_fleet, chrome):  # noqa: F811
    b = chrome(big_fleet)
    b.login("admin", big_fleet.password, "#/account")
    b.text_in("h1", "Your account")
    drawn, at = b.fleet_first_draw(N)
    print("\nFleet page, 10,000 hosts: first draw %.0f ms (hash change to "
          "the first row and the counts, headless Chromium)" % drawn)
    print("Fleet page, 10,000 hosts: rows drawn %.0f ms after navigation "
          "start (a new page load)" % at)

    # Counts of the whole fleet, one page of rows in the DOM.
    b.text_in("#stat-total", "10000")
    b.text_in("#stat-online", "6000")
    b.text_in("#stat-offline", "1000")
    b.text_in("#stat-pending", "1000")
    assert len(b.all("#fleet-table tbody tr")) == PAGE
    b.text_in("#fleet-page-info", "Hosts 1–100 of 10000")
    first = rows(b)
    assert first == sorted(first, key=lambda h: h.encode())
    b.shoot("fleet-10000")

    # The next page starts where the first ended; back again.
    b.click(b.css("#fleet-next"))
    b.text_in("#fleet-page-info", "Hosts 101–200")
    second = rows(b)
    assert len(second) == PAGE and not set(second) & set(first)
    assert sorted([first[-1], second[0]], key=lambda h: h.encode()) == \
        [first[-1], second[0]]
    b.click(b.css("#fleet-prev"))
    b.text_in("#fleet-page-info", "Hosts 1–100")
    assert rows(b) == first

    # Sorted by the brain: host name descending.
    sort = [e for e in b.all("#fleet-table thead button.sort")
            if "HOST NAME" in e.text.upper()][0]
    b.click(sort)
    b.wait(lambda d: rows(b)[0] != first[0] and
           rows(b) == sorted(rows(b), key=lambda h: h.encode(),
                             reverse=True), "sorted descending")

    # Filtered by the brain: a status (counted), a text.
    choose(b, "#fleet-status", "offline")
    b.text_in("#fleet-page-info", "of 1000")
    b.wait(lambda d: all("offline" in tr.text for tr in
                         b.all("#fleet-table tbody tr")), "offline only")
    b.shoot("fleet-10000-offline")
    choose(b, "#fleet-status", "")
    b.fill("#fleet-filter", "under_score")
    b.wait(lambda d: rows(b) == ["under_score.example.org"],
           "the one host whose name has under_score")
    b.fill("#fleet-filter", "127.1.2.")
    b.wait(lambda d: all(
        "127.1.2." in tr.text for tr in b.all("#fleet-table tbody tr")),
        "hosts by address")
    b.shoot("fleet-10000-filtered")

    # Selection survives the pages: one host picked, then another page.
    b.css("#fleet-filter").clear()
    b.fill("#fleet-filter", " ")
    choose(b, "#fleet-status", "online")
    b.text_in("#fleet-page-info", "Hosts 1–100 of 6000")
    b.wait(lambda d: all("online" in tr.text for tr in
                         b.all("#fleet-table tbody tr")), "online only")
    box = b.visible("#fleet-table tbody input.select-host")
    b.click(box)
    b.text_in("#selection-bar", "1 host selected")
    b.click(b.css("#fleet-next"))
    b.text_in("#fleet-page-info", "Hosts 101–200")
    b.text_in("#selection-bar", "1 host selected")


def tentacle_fetches(b):
    """The /api/tentacles addresses the page fetched since it was loaded
    (the browser's resource timing entries)."""
    return b.driver.execute_script("""
        return performance.getEntriesByType('resource')
            .map(e => e.name.replace(location.origin, ''))
            .filter(u => u.startsWith('/api/tentacles'));""")


def fresh_page(b, hash_):
    """hash_ in a new page load (its own resource entries), shown."""
    b.driver.get("about:blank")
    b.open(hash_)


def test_run_form_finds_a_host_by_typing(big_fleet, chrome):  # noqa: F811
    """The new-run form with 8,000 accepted hosts: the counts from the
    brain, the first HOST_MATCHES by name (not the fleet), a host found
    by typing a part of its name, a run started on it."""
    b = chrome(big_fleet)
    b.login("admin", big_fleet.password, "#/account")
    b.text_in("h1", "Your account")
    b.driver.set_script_timeout(60)
    took = b.driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        const t0 = performance.now();
        location.hash = '#/run';
        (function look() {
            if (document.querySelectorAll(
                '#host-choices input[type=checkbox]').length > 0 &&
                document.querySelector('label.choice'))
                done(performance.now() - t0);
            else
                requestAnimationFrame(look);
        })();""")
    print("\nNew-run form, 8,000 accepted hosts: drawn %.0f ms (the first "
          "%d by name, and the counts)" % (took, MATCHES))
    b.text_in("label[for=target-all]", "All accepted hosts (8000)")
    assert len(b.all("#host-choices input[type=checkbox]")) == MATCHES
    choice = b.visible('label.choice[data-script="audit"]')
    assert "on 8000 of 8000 hosts" in choice.text, choice.text
    b.text_in("#host-choices-note", "The first 50 by name")
    asked = tentacle_fetches(b)
    assert asked and all("limit=%d" % MATCHES in u for u in asked), asked

    b.click(choice)
    b.text_in("#run-summary", "Run audit on all 8000 accepted hosts.")
    # A label no host has: asked of the brain (label=, limit=1), refused.
    b.fill("#run-labels", "nosuch")
    b.text_in("#run-summary", "No accepted host has these labels.")
    assert not b.css("#run-submit").is_enabled()
    assert any("label=nosuch" in u for u in tentacle_fetches(b))

    b.fill("#host-choices-find", "under_score")
    b.wait(lambda d: [e.text for e in b.all(
        "#host-choices .host-choice-name")] == ["under_score.example.org"],
        "the one host found by typing")
    b.shoot("run-form-10000-found")
    b.click(b.css("#host-choices input[type=checkbox]"))
    b.text_in("#run-summary", "Run audit on 1 host.")
    assert b.css("#target-some").is_selected()

    # Another search: the chosen host stays ticked, first.
    b.fill("#host-choices-find", "127.1.2.")
    b.wait(lambda d: len(b.all("#host-choices .host-choice-name")) > 1,
           "hosts by address")
    names = [e.text for e in b.all("#host-choices .host-choice-name")]
    assert names[0] == "under_score.example.org", names
    assert len(b.all("#host-choices input:checked")) == 1
    b.shoot("run-form-10000")

    b.click(b.css("#run-submit"))
    b.wait(lambda d: "#/runs/" in d.current_url, "the run's page")
    run_id = int(b.driver.current_url.rsplit("/", 1)[1])
    admin = big_fleet.login()
    jobs = admin.get("/api/runs/%d" % run_id).json()["jobs"]
    assert [j["hostname"] for j in jobs] == ["under_score.example.org"]


def test_pages_do_not_ask_for_the_whole_fleet(big_fleet, chrome):  # noqa: F811
    """The Scripts page, a script's page, the Runs page and Schedules ask
    for a bounded page of tentacles, never every page of the fleet."""
    b = chrome(big_fleet)
    b.login("admin", big_fleet.password, "#/account")
    b.text_in("h1", "Your account")

    fresh_page(b, "#/scripts")
    b.text_in("#scripts-total", "Of 8000 accepted hosts.")
    b.text_in("table", "8000 hosts")
    asked = tentacle_fetches(b)
    assert asked and all(u.endswith("?limit=1") for u in asked), asked

    fresh_page(b, "#/runs")
    b.visible("#runs-host-find")
    b.wait(lambda d: len(b.all("#runs-host option")) == 1 + MATCHES,
           "the first hosts in the host filter")
    b.fill("#runs-host-find", "under_score")
    b.wait(lambda d: [o.text for o in b.all("#runs-host option")][1:] ==
           ["under_score.example.org"], "the host found")
    asked = tentacle_fetches(b)
    assert asked and all("limit=%d" % MATCHES in u and "after=" not in u
                         for u in asked), asked
    b.shoot("runs-10000-host-find")

    fresh_page(b, "#/schedules")
    b.visible("#schedule-hosts-find")
    b.wait(lambda d: len(b.all("#schedule-hosts input")) == MATCHES,
           "the first hosts in the schedule's picker")
    asked = tentacle_fetches(b)
    assert asked and all("after=" not in u for u in asked), asked
