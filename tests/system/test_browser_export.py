"""The Brain page's export card (issue 17) in a real browser: each
target's state, queue and drops, and the button that sends a test event,
which reaches the webhook collector of the test."""

import os

import pytest

from octotest import wait_for
from test_browser_dashboard import chrome  # noqa: F401
from test_export import webhook_brain

if os.environ.get("OCTO_BUILD", "").rstrip("/").endswith("/asan"):
    pytest.skip("browser tests run in the normal build only",
                allow_module_level=True)


def test_brain_page_export_card(brain_factory, chrome, tmp_path):  # noqa
    brain, srv = webhook_brain(brain_factory, tmp_path, "/in")
    try:
        b = chrome(brain)
        b.login("admin", brain.password, "#/brain")
        b.text_in("#export-targets", "webhook")
        b.text_in("#export-targets", "https://127.0.0.6:%d/in"
                  % srv.server_address[1])
        b.click(b.visible("#export-test"))
        b.text_in("main", "queued.")
        wait_for(lambda: [e for e in srv.events
                          if e["event"] == "export.test"], 30, 0.1,
                 "the test event at the webhook")
        b.text_in("#export-targets", "connected")
        b.shoot("brain-export")
    finally:
        srv.shutdown()


def test_brain_page_ledger_check(brain_factory, chrome):  # noqa: F811
    """The Brain page shows the maestro's last check of the ledger:
    intact, then the broken entry (in red) once the SQLite file was
    edited behind the brain's back."""
    import subprocess
    brain = brain_factory({"test_ledger_verify_interval": 1})
    b = chrome(brain)
    b.login("admin", brain.password, "#/brain")
    b.text_in("#health .ledger-check", "intact")
    b.text_in("#health .ledger-check", "last verified")
    subprocess.run(["sqlite3", str(brain.state_dir / "brain.db"),
                    "UPDATE audit SET detail = 'forged' WHERE id = 1"],
                   check=True, timeout=30)
    b.text_in("#health .ledger-broken", "BROKEN: entry 1: audit row 1 was "
              "changed", timeout=60)
    b.shoot("brain-ledger-broken")
    assert not b.console_errors()
