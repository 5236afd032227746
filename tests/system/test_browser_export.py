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
