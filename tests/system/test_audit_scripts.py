"""The audit script pack as a whole (scripts/audit/, SPEC.md "Findings").

Every executable of scripts/audit (also the ones added later) has the
header the tentacle reads, passes shellcheck, and runs on this machine, as
the current user and, when that is root, as nobody, from the staged copy
(tests/system/auditpack.py), in a clean environment: it exits 0, 1 or 2
with lines that all parse as `STATUS CHECK-ID TEXT` and CHECK-IDs listed in
scripts/audit/CHECKS, writes nothing to stderr and nothing under its HOME.
The parser of the runner is tested here too. The checks of each script are
tested on fixture trees in tests/system/test_audit_<script>.py.

Stdlib and pytest only. No timing is asserted.
"""

import os
import re
import shutil
import subprocess

import pytest

import auditpack
from auditpack import IS_ROOT, ParseError, parse

pytestmark = auditpack.SKIP_IN_ASAN

EXPECTED = ("disk-usage", "processes", "listening-ports", "logged-in-users",
            "suid-sgid-files", "sysctl-hardening", "mount-options",
            "sshd-config", "security-updates", "firewall", "remote-auth")
SCRIPTS = auditpack.scripts()


def test_pack_is_complete():
    for name in EXPECTED:
        assert name in SCRIPTS, "scripts/audit/%s missing or not executable" \
            % name
    for doc in ("README.md", "CHECKS"):
        p = auditpack.SOURCE / doc
        assert p.is_file(), doc
        # Not installed as a script (make install takes the executables).
        assert not os.access(p, os.X_OK), doc
    for name in SCRIPTS:
        assert re.match(r"^[a-z0-9][a-z0-9-]*$", name), name


def test_staged_copy_is_reachable_by_nobody():
    d = auditpack.pack()
    assert str(d).startswith("/tmp/") and auditpack.REPO not in d.parents
    assert os.stat(d).st_mode & 0o005 == 0o005
    for name in SCRIPTS:
        assert os.stat(d / name).st_mode & 0o005 == 0o005, name
        assert (d / name).read_bytes() == \
            (auditpack.SOURCE / name).read_bytes()


@pytest.mark.parametrize("script", SCRIPTS)
def test_header(script):
    data = (auditpack.SOURCE / script).read_bytes()
    assert all(b in b"\t\n" or 32 <= b <= 126 for b in data), \
        "%s is not plain ASCII" % script
    lines = data.decode("ascii").splitlines()
    assert lines[0] == "#!/bin/sh"
    m = re.match(r"^# description: (.*)$", lines[1])
    assert m, "second line is not '# description: ...': %r" % lines[1]
    desc = m.group(1)
    assert 0 < len(desc) <= 100, "description of %d characters" % len(desc)
    assert desc == desc.strip() and re.match(r"^[ -~]+$", desc)
    block = []
    for line in lines[2:]:
        if not line.startswith("#"):
            break
        block.append(line)
    assert len(block) >= 4, "%s: no comment block after the header" % script
    text = " ".join(block)
    assert re.search(r"ANSSI|BP-028|course|original Octopus", text), \
        "%s: the comment block names no source" % script
    assert "set -u" in lines


@pytest.mark.parametrize("unprivileged", [False, True],
                         ids=["as-is", "nobody"])
@pytest.mark.parametrize("script", SCRIPTS)
def test_runs_on_this_machine(script, unprivileged):
    if unprivileged and not IS_ROOT:
        pytest.skip("not root: the as-is run is already unprivileged")
    home = auditpack._host_home()
    before = auditpack.snapshot(home)
    r = auditpack.run(script, as_nobody=unprivileged)
    assert auditpack.snapshot(home) == before, \
        "%s wrote under its HOME or working directory" % script
    print("%s (%s): exit %d, %d lines, %d FAIL" % (
        script, "nobody" if unprivileged else "uid %d" % os.geteuid(),
        r.rc, len(r.lines), len(r.with_status("FAIL"))))


def test_shellcheck():
    sc = shutil.which("shellcheck")
    if not sc:
        pytest.fail("shellcheck not installed (scripts/deps installs it)")
    p = subprocess.run(
        [sc, "-s", "sh"] + [str(auditpack.SOURCE / s) for s in SCRIPTS],
        capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr


# ---------------------------------------------------------------- parser

def test_parse_findings():
    out = ("OK   sysctl.kernel.kptr_restrict 2 (expected 2)\n"
           "FAIL mount./tmp.noexec /tmp (tmpfs) is mounted without noexec\n"
           "WARN\tsshd.maxauthtries  MaxAuthTries 6 (expected 2)  \n"
           "INFO ports.socket tcp [::]:22 (all interfaces) sshd\n"
           "SKIP users.failed-logins not counted (needs root)\n")
    assert parse(out) == [
        ("OK", "sysctl.kernel.kptr_restrict", "2 (expected 2)"),
        ("FAIL", "mount./tmp.noexec", "/tmp (tmpfs) is mounted without noexec"),
        ("WARN", "sshd.maxauthtries", "MaxAuthTries 6 (expected 2)"),
        ("INFO", "ports.socket", "tcp [::]:22 (all interfaces) sshd"),
        ("SKIP", "users.failed-logins", "not counted (needs root)"),
    ]


@pytest.mark.parametrize("line", [
    "compliant",                                  # the old summary line
    "3 findings (1 check skipped)",
    "OK    PermitRootLogin no (sshd -T)",         # the old format
    "ok sysctl.kernel.sysrq 0",                   # lower-case status
    "PASS sysctl.kernel.sysrq 0",
    "OK sysctl.kernel.sysrq",                     # no text
    "OK Sysctl.kernel.sysrq 0",                   # upper case in the ID
    "OK sysctl 0",                                # no AREA.name
    "OK .sysctl 0",
    " OK sysctl.kernel.sysrq 0",
    "",
])
def test_parse_rejects(line):
    with pytest.raises(ParseError):
        parse("OK disk.usage / 1%% used\n%s\n" % line)


def test_conventions_catch_a_wrong_exit_status():
    # A script that prints a FAIL but exits 0, one that exits 1 without a
    # FAIL and one that exits 2 without saying why: the runner refuses all.
    r = auditpack.Result("x", 0, "FAIL disk.usage / 95% used (expected "
                         "under 80%)\n", "", None)
    with pytest.raises(AssertionError):
        auditpack.check_conventions(r)
    r = auditpack.Result("x", 1, "OK disk.usage / 5% used\n", "", None)
    with pytest.raises(AssertionError):
        auditpack.check_conventions(r)
    r = auditpack.Result("x", 2, "INFO disk.usage / 5% used\n", "", None)
    with pytest.raises(AssertionError):
        auditpack.check_conventions(r)
    r = auditpack.Result("x", 0, "OK nosuch.check fine\n", "", None)
    with pytest.raises(AssertionError, match="not in scripts/audit/CHECKS"):
        auditpack.check_conventions(r)
    r = auditpack.Result("x", 2, "SKIP disk.df df listed nothing\n", "", None)
    auditpack.check_conventions(r)
