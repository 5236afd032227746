"""scripts/audit/integrity on fixture trees: AIDE installed, its database,
a periodic check (cron, systemd timer); and on this machine."""

import os

import pytest

import auditpack
from auditpack import fx  # noqa: F401

pytestmark = auditpack.SKIP_IN_ASAN
SCRIPT = "integrity"

test_this_machine = auditpack.host_test(SCRIPT)


def aide(fx, db_mode=0o600, conf=None):
    fx.stub("aide", "exit 0\n", where="usr/bin")
    fx.file("etc/aide/aide.conf", conf or
            "@@define DBDIR /var/lib/aide\n"
            "database_in=file:@@{DBDIR}/aide.db\n"
            "database_out=file:@@{DBDIR}/aide.db.new\n")
    if db_mode is not None:
        fx.file("var/lib/aide/aide.db", b"\0db", db_mode)


def test_compliant_timer(fx):
    aide(fx)
    fx.file("etc/systemd/system/timers.target.wants/dailyaidecheck.timer",
            "[Timer]\nOnCalendar=daily\n")
    r = auditpack.run(SCRIPT, fx)
    r.expect("integrity.tool", "OK", "aide", rc=0)
    r.expect("integrity.database", "OK", "/var/lib/aide/aide.db")
    r.expect("integrity.periodic", "OK", "dailyaidecheck.timer")


def test_compliant_cron(fx):
    aide(fx, conf="database=file:/srv/aide/aide.db.gz\n")
    fx.file("srv/aide/aide.db.gz", b"\0", 0o600)
    fx.file("etc/cron.d/local", "# m h dom mon dow user command\n"
            "30 4 * * * root /usr/bin/aide --check\n")
    r = auditpack.run(SCRIPT, fx)
    r.expect("integrity.database", "OK", "/srv/aide/aide.db.gz", rc=0)
    r.expect("integrity.periodic", "OK", "/etc/cron.d/local")
    fx.path("etc/cron.d/local").unlink()
    fx.file("etc/cron.daily/aide", "#!/bin/sh\n", 0o755)
    auditpack.run(SCRIPT, fx).expect("integrity.periodic", "OK",
                                      "/etc/cron.daily/aide")


def test_findings(fx):
    aide(fx, db_mode=0o666)
    # a commented job does not count
    fx.file("etc/crontab", "#0 5 * * * root aide --check\n")
    r = auditpack.run(SCRIPT, fx)
    assert r.rc == 1, r
    r.expect("integrity.database", "FAIL", "writable by group or others")
    r.expect("integrity.periodic", "FAIL", "no periodic aide check")


def test_no_database(fx):
    aide(fx, db_mode=None)
    auditpack.run(SCRIPT, fx).expect("integrity.database", "FAIL",
                                      "no aide database", rc=1)


def test_not_installed(fx):
    fx.dir("etc")
    r = auditpack.run(SCRIPT, fx)
    r.expect("integrity.tool", "FAIL", "no file integrity checker", rc=1)
    r.expect("integrity.database", "SKIP", "not applicable")
    r.expect("integrity.periodic", "SKIP", "not applicable")


@pytest.mark.skipif(not auditpack.IS_ROOT, reason="needs root to make a "
                                                  "root-only directory")
def test_database_needs_root(fx):
    aide(fx)
    os.chmod(fx.path("var/lib/aide"), 0o700)
    fx.file("etc/cron.daily/aide", "#!/bin/sh\n", 0o755)
    r = auditpack.run(SCRIPT, fx, as_nobody=True)
    r.expect("integrity.database", "SKIP", "needs root", rc=2)
    auditpack.run(SCRIPT, fx).expect("integrity.database", "OK", rc=0)
