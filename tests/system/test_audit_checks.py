"""scripts/audit/CHECKS against what the scripts print (SPEC.md
"Findings", issue 15).

- Every row has 4 tab-separated fields: a well-formed CHECK-ID, at least
  one reference (BP028:Rn or CIS:x.y...), a title and a fix.
- Every CHECK-ID in CHECKS is printed by some fixture run, and every
  CHECK-ID printed (fixture or this machine) is in CHECKS: the second half
  is asserted by the runner on every run (auditpack.check_conventions);
  the first is found by running every tests/system/test_audit_*.py (but
  this one) in a child pytest that records the CHECK-IDs of its fixture
  runs (OCTO_AUDIT_SEEN). New scripts and their tests are picked up
  without a change here; a child that runs no test, or fails, fails this.
- Every executable of scripts/audit prints at least one CHECK-ID of its
  own area in some fixture run.
"""

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import auditpack

pytestmark = auditpack.SKIP_IN_ASAN

REF_RE = re.compile(r"^(BP028:R[0-9]+|CIS:[0-9]+(\.[0-9]+)*)$")
HERE = Path(__file__).resolve().parent


def rows():
    return auditpack.read_checks()


def test_rows_are_well_formed():
    text = (auditpack.SOURCE / "CHECKS").read_text()
    assert text.endswith("\n")
    lines = text.splitlines()
    assert lines[0].startswith("#") and "CHECK-ID" in lines[0], \
        "CHECKS starts with a comment naming its columns"
    n = 0
    for line in lines:
        if line.startswith("#"):
            continue
        n += 1
        fields = line.split("\t")
        assert len(fields) == 4, "not 4 fields: %r" % line
        check, refs, title, fix = fields
        assert auditpack.CHECK_RE.match(check), check
        assert refs.split(), "%s: no reference" % check
        for ref in refs.split(" "):
            assert REF_RE.match(ref), "%s: bad reference %r" % (check, ref)
        assert title.strip() == title and len(title) >= 8, check
        assert fix.strip() == fix and len(fix) >= 8, check
        assert all(32 <= ord(c) <= 126 for c in "".join(fields)), check
    assert n >= 100, "only %d checks" % n
    assert len(rows()) == n          # no CHECK-ID twice


@pytest.fixture(scope="module")
def seen():
    """(fixture CHECK-IDs by script, host CHECK-IDs by script) of a child
    pytest over the other test_audit_*.py."""
    files = sorted(str(p) for p in HERE.glob("test_audit_*.py")
                   if p.name != Path(__file__).name)
    assert files
    fd, path = tempfile.mkstemp(prefix="octo-audit-seen-", dir="/tmp")
    os.close(fd)
    try:
        env = dict(os.environ, OCTO_AUDIT_SEEN=path)
        p = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
             "-k", "not shellcheck"] + files,
            cwd=str(auditpack.REPO), env=env, stdin=subprocess.DEVNULL,
            capture_output=True, text=True, timeout=1800)
        tail = (p.stdout + p.stderr)[-6000:]
        assert p.returncode == 0, "the audit pack tests failed:\n" + tail
        assert re.search(r"\b[0-9]+ passed\b", tail), tail
        fixture, host = {}, {}
        for line in Path(path).read_text().splitlines():
            kind, script, check = line.split("\t")
            (fixture if kind == "fixture" else host).setdefault(
                script, set()).add(check)
    finally:
        os.unlink(path)
    return fixture, host


def test_every_check_is_printed_by_a_fixture(seen):
    fixture, _ = seen
    printed = set().union(*fixture.values()) if fixture else set()
    missing = sorted(set(rows()) - printed)
    assert not missing, "in CHECKS but printed by no fixture: %s" % missing


def test_every_printed_check_is_listed(seen):
    # (also asserted by the runner on each run: this catches a runner that
    # stopped checking)
    fixture, host = seen
    listed = set(rows())
    for kind in (fixture, host):
        for script, checks in kind.items():
            extra = sorted(checks - listed)
            assert not extra, "%s prints CHECK-IDs not in CHECKS: %s" % (
                script, extra)


def test_every_script_has_fixtures(seen):
    fixture, host = seen
    for script in auditpack.scripts():
        assert fixture.get(script), "%s: no fixture run" % script
        assert host.get(script), "%s: no run on this machine" % script


def test_one_area_per_script(seen):
    # A script's CHECK-IDs share its area prefix, and no two scripts use
    # the same area: a CHECK-ID names one script.
    fixture, host = seen
    owner = {}
    for kind in (fixture, host):
        for script, checks in kind.items():
            for area in {c.split(".", 1)[0] for c in checks}:
                assert owner.setdefault(area, script) == script, \
                    "area %s printed by %s and %s" % (area, owner[area],
                                                      script)
