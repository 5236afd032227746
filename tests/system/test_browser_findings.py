"""Findings in the dashboard (issue 15), in headless Chromium on a real
brain and a real tentacle: the result page shows a result's findings as a
table, failing first, with each check's title, fix and references from the
brain's checks_file; the comparison of two results says which checks
changed status. Screenshots as in test_browser_dashboard.py.
"""

import pytest

import octotest
from octotest import Tentacle
from test_browser_dashboard import FAST, XSS, chrome  # noqa: F401
from test_enrolment import enrol_self, make_token
from test_runs import add_script, run_and_wait

CHECKS = (
    "# CHECK-ID\treferences\ttitle\tfix\n"
    "sysctl.kernel.kptr_restrict\tBP028:R9 CIS:1.5.2\tKernel pointers "
    "hidden\tSet kernel.kptr_restrict = 2 in /etc/sysctl.d/99-octopus.conf "
    "and run sysctl --system\n"
    "mount./tmp.noexec\tBP028:R28 CIS:1.1.2.4\t/tmp is noexec\tAdd noexec "
    "to the options of /tmp in /etc/fstab, then mount -o remount /tmp\n"
    "ssh.PermitRootLogin\tBP028:R67 CIS:5.2.10\tNo root login over SSH\t"
    "PermitRootLogin no in /etc/ssh/sshd_config.d/octopus.conf\n"
    "disk.usage\t\tDisk space used\tFree space on the file system\n"
)

BEFORE = (
    "OK    mount./tmp.noexec /tmp is mounted nodev,nosuid,noexec\n"
    "WARN  ssh.PermitRootLogin PermitRootLogin prohibit-password, "
    "expected no\n"
    "FAIL  sysctl.kernel.kptr_restrict kernel.kptr_restrict = 1, "
    "expected 2\n"
    "INFO  xss.text %s\n"
    "plain text \377 that is no finding\n"
    "2 findings\n" % XSS
)

AFTER = (
    "FAIL  mount./tmp.noexec /tmp is mounted without noexec\n"
    "SKIP  ssh.PermitRootLogin no sshd on this host\n"
    "OK    sysctl.kernel.kptr_restrict kernel.kptr_restrict = 2\n"
    "INFO  xss.text %s\n"
    "INFO  disk.usage / 41%% used\n"
    "1 finding\n" % XSS
)


@pytest.fixture
def audited(brain_factory, tmp_path):
    """A brain with the CHECKS above, a tentacle whose script prints
    output.txt; run(text) runs it once with that output: result ID."""
    if not octotest.TENTACLE_BIN.exists():
        pytest.fail("%s not built" % octotest.TENTACLE_BIN, pytrace=False)
    checks = tmp_path / "CHECKS"
    checks.write_text(CHECKS)
    b = brain_factory(dict(FAST, checks_file=str(checks)))
    admin = b.login()
    t = Tentacle(tmp_path / "alpha-web", "127.0.0.2", b, name="alpha-web")
    out = t.dir / "output.txt"
    add_script(t, "audit", "cat %s\nexit 1" % out)
    tid = int(enrol_self(t, b, make_token(admin)["token"])["id"])

    def run(text):
        out.write_bytes(text.encode("latin-1"))
        (job,) = run_and_wait(admin, "audit", [tid])["jobs"]
        assert job["state"] == "done", job
        return job["result"]["id"]
    try:
        yield b, run
    finally:
        t.stop()


def rows(b, table):
    return b.all(table + " tbody tr")


def cells(tr):
    return [td.text for td in tr.find_elements("css selector", "td")]


def test_result_page_shows_findings_failing_first(audited, chrome):  # noqa: F811
    brain, run = audited
    rid = run(BEFORE)
    b = chrome(brain)
    b.login("admin", brain.password, "#/results/%d" % rid)
    b.visible("#findings-table")
    b.text_in("#finding-counts", "1 FAIL")
    got = [cells(tr) for tr in rows(b, "#findings-table")]
    assert [r[:3] for r in got] == [
        ["FAIL", "sysctl.kernel.kptr_restrict",
         "kernel.kptr_restrict = 1, expected 2"],
        ["WARN", "ssh.PermitRootLogin",
         "PermitRootLogin prohibit-password, expected no"],
        ["INFO", "xss.text", XSS],
        ["OK", "mount./tmp.noexec", "/tmp is mounted nodev,nosuid,noexec"],
        ["INFO", "—", "plain text \ufffd that is no finding"],
        ["INFO", "—", "2 findings"],
    ], got
    # Title, fix and references of the check; none for an unknown one.
    assert got[0][3:] == [
        "Kernel pointers hidden",
        "Set kernel.kptr_restrict = 2 in /etc/sysctl.d/99-octopus.conf and "
        "run sysctl --system", "BP028:R9\nCIS:1.5.2"], got[0]
    assert got[2][3:] == ["—", "—", "—"]
    counts = b.css("#finding-counts").text
    for want in ("1 FAIL", "1 WARN", "1 INFO", "1 OK"):
        assert want in counts, counts
    # The hostile text is text.
    assert b.all("img") == [] and b.alert_text() is None
    assert b.driver.execute_script(
        "return document.querySelectorAll('[onerror]').length;") == 0
    # The output is still there, whole.
    b.text_in("pre.output", "2 findings")
    b.shoot("result-findings")

    # Only what fails or warns.
    b.driver.execute_script(
        "const s = document.getElementById('findings-show');"
        "s.value = 'problems'; s.dispatchEvent(new Event('change'));")
    b.wait(lambda d: len(rows(b, "#findings-table")) == 2,
           "only FAIL and WARN rows")
    assert [cells(tr)[0] for tr in rows(b, "#findings-table")] == \
        ["FAIL", "WARN"]


def test_compare_says_which_checks_changed(audited, chrome):  # noqa: F811
    brain, run = audited
    first = run(BEFORE)
    second = run(AFTER)
    b = chrome(brain)
    b.login("admin", brain.password, "#/compare/%d/%d" % (second, first))
    b.visible("#changes-table")
    stats = b.text_in("#checks-stats", "new FAIL").text
    for want in ("1 new FAIL", "1 resolved", "2 changed"):
        assert want in stats, stats
    got = [cells(tr)[:4] for tr in rows(b, "#changes-table")]
    assert got == [
        ["New FAIL", "mount./tmp.noexec", "OK", "FAIL"],
        ["Changed", "disk.usage", "not reported", "INFO"],
        ["Changed", "ssh.PermitRootLogin", "WARN", "SKIP"],
        ["Resolved", "sysctl.kernel.kptr_restrict", "FAIL", "OK"],
    ], got
    # xss.text kept its status: not listed.
    assert "xss.text" not in b.css("#changes-table").text
    assert b.all("img") == []
    b.shoot("compare-checks")

    # The same result twice: nothing changed.
    b.go("#/compare/%d/%d" % (first, first))
    b.text_in("#checks-stats", "No check changed status.")
