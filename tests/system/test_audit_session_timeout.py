"""session-timeout on fixture trees (ROOT/etc/profile, profile.d,
bash.bashrc, systemd/logind.conf): TMOUT set and read-only (BP-028 v2.0
R32, CIS Debian 12 5.4.3.2), StopIdleSessionSec of systemd-logind;
compliant, non-compliant, not applicable (no profile: exit 2; no logind);
then on this machine."""

import pytest

import auditpack
from auditpack import fx  # noqa: F401

pytestmark = auditpack.SKIP_IN_ASAN

S = "session-timeout"
CHECKS = ("session.tmout", "session.tmout.readonly", "session.logind.idle")


def shells(fx, tmout="TMOUT=600\nreadonly TMOUT\nexport TMOUT\n",
           logind="[Login]\nStopIdleSessionSec=900\n"):
    fx.file("etc/profile", "if [ \"$PS1\" ]; then PS1='$ '; fi\n")
    fx.file("etc/bash.bashrc", "# system-wide .bashrc\n")
    if tmout is not None:
        fx.file("etc/profile.d/tmout.sh", tmout)
    if logind is not None:
        fx.file("usr/lib/systemd/systemd-logind", "", 0o755)
        fx.file("etc/systemd/logind.conf", "[Login]\n#KillUserProcesses=no\n")
        fx.file("etc/systemd/logind.conf.d/idle.conf", logind)


def test_compliant(fx):
    shells(fx)
    r = auditpack.run(S, fx)
    assert r.rc == 0, r
    r.expect("session.tmout", "OK", r"^TMOUT=600 "
             r"\(/etc/profile.d/tmout.sh:1\)$")
    r.expect("session.tmout.readonly", "OK", r"tmout.sh:2")
    r.expect("session.logind.idle", "OK", r"StopIdleSessionSec=900")
    if auditpack.IS_ROOT:
        assert auditpack.run(S, fx, as_nobody=True).rc == 0


@pytest.mark.parametrize("line", [
    "readonly TMOUT=900; export TMOUT",
    "declare -rx TMOUT=300",
    "typeset -r TMOUT=60",
    "TMOUT=900 ; readonly TMOUT",
    "export TMOUT=900; readonly TMOUT",
])
def test_readonly_forms(fx, line):
    shells(fx, tmout=line + "\n")
    r = auditpack.run(S, fx)
    assert r.rc == 0, r
    r.expect("session.tmout", "OK")
    r.expect("session.tmout.readonly", "OK")


def test_not_set(fx):
    shells(fx, tmout=None, logind=None)
    r = auditpack.run(S, fx)
    assert r.rc == 1, r
    r.expect("session.tmout", "FAIL", r"TMOUT is set in no shell profile")
    r.expect("session.tmout.readonly", "FAIL", r"neither set nor read-only")
    r.expect("session.logind.idle", "SKIP", r"not installed")


def test_not_readonly(fx):
    shells(fx, tmout="TMOUT=600\nexport TMOUT\n")
    r = auditpack.run(S, fx)
    r.expect("session.tmout", "OK")
    r.expect("session.tmout.readonly", "FAIL", r"a user can unset it", rc=1)


@pytest.mark.parametrize("value", ["0", "3600", "$X"])
def test_too_long_or_off(fx, value):
    shells(fx)
    fx.file("etc/bash.bashrc", "  TMOUT=%s\n" % value)
    r = auditpack.run(S, fx)
    r.expect("session.tmout", "FAIL", r"^/etc/bash.bashrc:1 TMOUT=%s "
             r"\(expected 1 to 900" % value.replace("$", r"\$"), rc=1)


def test_commented_out(fx):
    shells(fx, tmout="# TMOUT=600\n#readonly TMOUT\n")
    r = auditpack.run(S, fx)
    r.expect("session.tmout", "FAIL", rc=1)
    r.expect("session.tmout.readonly", "FAIL")


@pytest.mark.parametrize("setting,status", [
    ("", "WARN"), ("StopIdleSessionSec=infinity\n", "WARN"),
    ("StopIdleSessionSec=15min\n", "OK"), ("StopIdleSessionSec=2h\n", "WARN"),
    ("StopIdleSessionSec=1800\n", "WARN")])
def test_logind(fx, setting, status):
    shells(fx, logind="[Login]\n" + setting)
    r = auditpack.run(S, fx)
    r.expect("session.logind.idle", status, rc=0)


def test_no_profile(fx):
    r = auditpack.run(S, fx)
    assert r.rc == 2, r
    r.expect("session.tmout", "SKIP", r"no shell profile")
    r.expect("session.tmout.readonly", "SKIP")


test_this_machine = auditpack.host_test(S, CHECKS)
