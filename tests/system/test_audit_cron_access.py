"""scripts/audit/cron-access on fixture trees: cron.allow, at.allow, the
modes of /etc/crontab and /etc/cron.*; and on this machine."""

import pytest

import auditpack
from auditpack import fx  # noqa: F401

pytestmark = auditpack.SKIP_IN_ASAN
SCRIPT = "cron-access"
DIRS = ("cron.hourly", "cron.daily", "cron.weekly", "cron.monthly",
        "cron.d")

test_this_machine = auditpack.host_test(SCRIPT)


def cron(fx, crontab=0o600, dirs=0o700):
    fx.stub("cron", "exit 0\n")
    fx.file("etc/crontab", "SHELL=/bin/sh\n", crontab)
    for d in DIRS:
        fx.dir("etc/" + d, dirs)


@pytest.mark.skipif(not auditpack.IS_ROOT,
                    reason="the fixture files must be root's")
def test_compliant(fx):
    cron(fx)
    fx.file("etc/cron.allow", "root\n", 0o640)
    fx.stub("at", "exit 0\n", where="usr/bin")
    fx.file("etc/at.allow", "root\n", 0o600)
    r = auditpack.run(SCRIPT, fx)
    r.expect("cron.allow", "OK", rc=0)
    r.expect("cron.crontab.mode", "OK")
    r.expect("cron.dirs.mode", "OK", "the 5 ")
    r.expect("cron.at.allow", "OK")
    if auditpack.IS_ROOT:
        auditpack.run(SCRIPT, fx, as_nobody=True).expect(
            "cron.allow", "OK", rc=0)


def test_debian_defaults(fx):
    # Debian's: 0644 crontab, 0755 directories, no allow files
    cron(fx, crontab=0o644, dirs=0o755)
    fx.stub("atd", "exit 0\n")
    fx.file("etc/at.deny", "nobody\n", 0o640)
    r = auditpack.run(SCRIPT, fx)
    assert r.rc == 1, r
    r.expect("cron.allow", "FAIL", "neither /etc/cron.allow nor "
             "/etc/cron.deny: every user may use crontab")
    r.expect("cron.crontab.mode", "FAIL", "mode 644")
    r.expect("cron.dirs.mode", "FAIL", "/etc/cron.daily mode 755")
    r.expect("cron.at.allow", "FAIL", "only /etc/at.deny")


def test_allow_file_too_open(fx):
    cron(fx)
    fx.file("etc/cron.allow", "root\n", 0o666)
    auditpack.run(SCRIPT, fx).expect("cron.allow", "FAIL", "mode 666",
                                      rc=1)


@pytest.mark.skipif(not auditpack.IS_ROOT,
                    reason="the fixture files must be root's")
def test_at_without_lists_is_root_only(fx):
    cron(fx)
    fx.file("etc/cron.allow", "root\n", 0o640)
    fx.stub("at", "exit 0\n", where="usr/bin")
    auditpack.run(SCRIPT, fx).expect("cron.at.allow", "OK",
                                      "only root may use at", rc=0)


def test_not_installed(fx):
    fx.dir("etc")
    r = auditpack.run(SCRIPT, fx)
    for c in ("cron.allow", "cron.crontab.mode", "cron.dirs.mode",
              "cron.at.allow"):
        r.expect(c, "SKIP", "not installed", rc=0)


@auditpack.needs_root("to make /etc/cron.allow root's")
def test_cron_without_directories(fx):
    fx.stub("cron", "exit 0\n")
    fx.file("etc/cron.allow", "root\n", 0o640)
    r = auditpack.run(SCRIPT, fx)
    r.expect("cron.crontab.mode", "SKIP", "no /etc/crontab", rc=0)
    r.expect("cron.dirs.mode", "SKIP")
