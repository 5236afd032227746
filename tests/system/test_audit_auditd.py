"""scripts/audit/auditd on fixture trees: auditd installed and running,
the rules from an auditctl stub (loaded rules) or from the rules files;
and on this machine."""

import os

import pytest

import auditpack
from auditpack import fx  # noqa: F401

pytestmark = auditpack.SKIP_IN_ASAN
SCRIPT = "auditd"
RULES = ("auditd.rules.execve", "auditd.rules.identity",
         "auditd.rules.sudoers", "auditd.rules.modules", "auditd.rules.time",
         "auditd.rules.immutable")

test_this_machine = auditpack.host_test(SCRIPT)

# as auditctl -l prints them (CIS- and ANSSI-style rules)
LOADED = """\
-w /etc/passwd -p wa -k identity
-w /etc/shadow -p wa -k identity
-w /etc/group -p wa -k identity
-w /etc/gshadow -p wa -k identity
-w /etc/sudoers -p wa -k scope
-w /etc/sudoers.d -p wa -k scope
-a always,exit -F arch=b64 -S execve -F key=exec
-a always,exit -F arch=b64 -S adjtimex,settimeofday,clock_settime -F key=time-change
-a always,exit -F arch=b64 -S init_module,finit_module,delete_module -F key=modules
"""

ANSSI_FILE = """\
# ANSSI's example
-w /sbin/insmod -p x
-w /sbin/modprobe -p x
-w /etc/ -p wa
-a exit,always -S execve
-w /etc/localtime -p wa
-e 2
"""


def auditd(fx, running=True):
    fx.stub("auditd", "exit 0\n")
    if running:
        fx.proc(42, "auditd")


def test_loaded_rules(fx):
    auditd(fx)
    fx.stub("auditctl", '[ "$1" = -l ] && cat <<EOF\n%sEOF\n'
            '[ "$1" = -s ] && printf "enabled 2\\nfailure 1\\npid 42\\n"\n'
            "exit 0\n" % LOADED)
    r = auditpack.run(SCRIPT, fx)
    assert r.rc == 0, r
    r.expect("auditd.installed", "OK")
    r.expect("auditd.running", "OK")
    for c in RULES:
        r.expect(c, "OK", "auditctl")


def test_rules_files_anssi_style(fx):
    auditd(fx)
    # auditctl refuses (not root): the files are read
    fx.stub_output("auditctl", "", rc=4,
                   err="You must be root to run this program.\n")
    fx.file("etc/audit/rules.d/50-anssi.rules", ANSSI_FILE)
    r = auditpack.run(SCRIPT, fx)
    assert r.rc == 0, r
    r.expect("auditd.rules.identity", "OK", "rules files")
    r.expect("auditd.rules.sudoers", "OK")
    r.expect("auditd.rules.modules", "OK", "modprobe")
    r.expect("auditd.rules.time", "OK")
    r.expect("auditd.rules.immutable", "OK", "enabled 2")


def test_missing_rules(fx):
    auditd(fx, running=False)
    fx.file("etc/audit/rules.d/audit.rules",
            "-D\n-b 8192\n-w /etc/passwd -p wa\n-e 1\n")
    r = auditpack.run(SCRIPT, fx)
    assert r.rc == 1, r
    r.expect("auditd.running", "FAIL", "does not run")
    r.expect("auditd.rules.execve", "FAIL", "no rule for execve")
    r.expect("auditd.rules.identity", "FAIL",
             "/etc/shadow, /etc/group, /etc/gshadow")
    r.expect("auditd.rules.sudoers", "FAIL")
    r.expect("auditd.rules.modules", "FAIL")
    r.expect("auditd.rules.time", "FAIL")
    r.expect("auditd.rules.immutable", "FAIL", "enabled 1")


def test_no_rules(fx):
    auditd(fx)
    fx.stub_output("auditctl", "No rules\n")
    r = auditpack.run(SCRIPT, fx)
    for c in RULES:
        r.expect(c, "FAIL", rc=1)


@pytest.mark.skipif(not auditpack.IS_ROOT, reason="needs root to make a "
                                                  "root-only file")
def test_rules_need_root(fx):
    auditd(fx)
    fx.file("etc/audit/rules.d/50-anssi.rules", ANSSI_FILE, 0o640)
    r = auditpack.run(SCRIPT, fx, as_nobody=True)
    assert r.rc == 2, r
    for c in RULES:
        r.expect(c, "SKIP", "needs root")
    auditpack.run(SCRIPT, fx).expect("auditd.rules.execve", "OK", rc=0)


def test_not_installed(fx):
    fx.dir("etc")
    r = auditpack.run(SCRIPT, fx)
    r.expect("auditd.installed", "FAIL", "not installed", rc=1)
    r.expect("auditd.running", "SKIP", "not applicable")
    for c in RULES:
        r.expect(c, "SKIP", "not applicable")
    fx.file(".dockerenv")
    auditpack.run(SCRIPT, fx).expect("auditd.installed", "SKIP",
                                      "container", rc=0)
    os.unlink(fx.path(".dockerenv"))
