"""scripts/audit/core-dumps on fixture trees: limits.conf, systemd-coredump,
fs.suid_dumpable, kernel.core_pattern; and on this machine."""

import auditpack
from auditpack import fx  # noqa: F401

pytestmark = auditpack.SKIP_IN_ASAN
SCRIPT = "core-dumps"

test_this_machine = auditpack.host_test(SCRIPT)


def test_compliant(fx):
    fx.file("etc/security/limits.conf", "# defaults\n*  soft core 0\n")
    fx.file("etc/security/limits.d/10-core.conf", "*    hard    core    0\n")
    fx.stub("systemd-coredump", "exit 0\n", where="usr/lib/systemd")
    fx.file("etc/systemd/coredump.conf", "[Coredump]\n#Storage=external\n")
    fx.file("etc/systemd/coredump.conf.d/off.conf",
            "[Coredump]\nStorage=none\nProcessSizeMax=0\n")
    fx.sysctl({"fs.suid_dumpable": "0", "kernel.core_pattern": "core"})
    r = auditpack.run(SCRIPT, fx)
    r.expect("coredump.limits", "OK", rc=0)
    r.expect("coredump.systemd", "OK", "Storage=none")
    r.expect("coredump.suid_dumpable", "OK")
    r.expect("coredump.pattern", "INFO", "= core$")
    auditpack.run(SCRIPT, fx, as_nobody=auditpack.IS_ROOT).expect(
        "coredump.limits", "OK", rc=0)


def test_findings(fx):
    fx.file("etc/security/limits.conf", "*  hard core 0\n")
    # a later drop-in wins
    fx.file("etc/security/limits.d/90-dev.conf", "*  hard core unlimited\n")
    fx.file("etc/systemd/coredump.conf", "[Coredump]\nStorage=none\n")
    fx.file("usr/lib/systemd/coredump.conf.d/x.conf", "ProcessSizeMax=2G\n")
    fx.sysctl({"fs.suid_dumpable": "2", "kernel.core_pattern":
               "|/usr/lib/systemd/systemd-coredump %P"})
    r = auditpack.run(SCRIPT, fx)
    assert r.rc == 1, r
    r.expect("coredump.limits", "FAIL", "unlimited")
    r.expect("coredump.systemd", "FAIL", "ProcessSizeMax=2G")
    r.expect("coredump.suid_dumpable", "FAIL", "= 2 .expected 0")
    r.expect("coredump.pattern", "INFO", "systemd-coredump")


def test_no_limits_file(fx):
    fx.sysctl({"fs.suid_dumpable": "0"})
    r = auditpack.run(SCRIPT, fx)
    r.expect("coredump.limits", "FAIL", "no /etc/security/limits.conf",
             rc=1)


def test_not_applicable(fx):
    # no systemd-coredump, a kernel without the keys
    fx.file("etc/security/limits.conf", "* hard core 0\n")
    fx.dir("proc/sys/fs")
    r = auditpack.run(SCRIPT, fx)
    r.expect("coredump.systemd", "SKIP", "not installed", rc=0)
    r.expect("coredump.suid_dumpable", "SKIP", "not present")
    r.expect("coredump.pattern", "SKIP")
