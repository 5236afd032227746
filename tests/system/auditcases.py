"""Shared cases of the tests of the audit scripts added for issue 15
(tests/system/test_audit_<script>.py): the run on this machine, as-is and
as nobody, and the check that every CHECK-ID printed is a row of
scripts/audit/CHECKS. Built on auditpack (the runner)."""

import pytest

import auditpack


def known(r):
    """Every CHECK-ID that R printed has a row in scripts/audit/CHECKS."""
    rows = auditpack.read_checks()
    missing = sorted(c for c in r.checks() if c not in rows)
    assert not missing, "not in CHECKS: %s in %r" % (missing, r)
    return r


def run(script, fixture=None, as_nobody=False, **kw):
    """auditpack.run, then known()."""
    return known(auditpack.run(script, fixture, as_nobody=as_nobody, **kw))


def host_test(script):
    """A test that runs SCRIPT on this machine as-is and as nobody (from
    the staged pack): it exits 0, 1 or 2 and every line parses (checked by
    auditpack.run) with a known CHECK-ID."""
    @pytest.mark.parametrize("as_nobody", [False, True],
                             ids=["as-is", "nobody"])
    def test_this_machine(as_nobody):
        r = run(script, as_nobody=as_nobody)
        assert r.rc in (0, 1, 2), r
        assert r.findings, r
        print("%s (%s): exit %d, %d lines" % (
            script, "nobody" if as_nobody else "as-is", r.rc,
            len(r.findings)))
    return test_this_machine
