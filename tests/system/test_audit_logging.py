"""scripts/audit/logging on fixture trees: the logging daemons as
/proc/PID/comm, journald.conf and its drop-ins, rsyslog's configuration,
the modes of /var/log; and on this machine."""

import os

import auditcases
import auditpack
from auditpack import fx  # noqa: F401

pytestmark = auditpack.SKIP_IN_ASAN
SCRIPT = "logging"

test_this_machine = auditcases.host_test(SCRIPT)

RSYSLOG = """\
module(load="imuxsock")
$FileOwner root
$FileGroup adm
$FileCreateMode 0640
$DirCreateMode 0755
*.*;auth,authpriv.none  -/var/log/syslog
"""


def procs(fx, *comms):
    for n, c in enumerate(comms, 200):
        fx.file("proc/%d/comm" % n, c + "\n")


def logs(fx, mode=0o640):
    fx.dir("var/log")
    fx.file("var/log/syslog", "x\n", mode)
    fx.file("var/log/wtmp", "", 0o664)      # meant to be readable
    fx.file("var/log/apt/history.log", "x\n", 0o640)


def test_rsyslog_forwarding(fx):
    procs(fx, "systemd-journal", "rsyslogd")
    fx.file("etc/rsyslog.conf", RSYSLOG)
    fx.file("etc/rsyslog.d/90-remote.conf",
            "# *.* @@old.example.org\n"
            'action(type="omfwd" target="192.0.2.5" port="514" '
            'protocol="tcp")\n')
    logs(fx)
    r = auditcases.run(SCRIPT, fx)
    assert r.rc == 0, r
    r.expect("logging.daemon", "OK", "systemd-journal, rsyslogd")
    r.expect("logging.persistent", "OK", "syslog daemon writes")
    r.expect("logging.forwarding", "OK", "omfwd")
    r.expect("logging.rsyslog.filemode", "OK", "0640")
    r.expect("logging.files.mode", "OK")
    auditcases.run(SCRIPT, fx, as_nobody=auditpack.IS_ROOT).expect(
        "logging.daemon", "OK", rc=0)


def test_journald_only_persistent(fx):
    procs(fx, "systemd-journal")
    fx.file("etc/systemd/journald.conf", "[Journal]\n#Storage=auto\n")
    fx.file("etc/systemd/journald.conf.d/50-disk.conf",
            "[Journal]\nStorage=persistent\n")
    logs(fx)
    r = auditcases.run(SCRIPT, fx)
    r.expect("logging.persistent", "OK", "Storage=persistent", rc=0)
    # no forwarding: a WARN, not a finding
    r.expect("logging.forwarding", "WARN", "not forwarded")
    r.expect("logging.rsyslog.filemode", "SKIP", "not installed")
    # auto with /var/log/journal is persistent too
    os.unlink(fx.path("etc/systemd/journald.conf.d/50-disk.conf"))
    fx.dir("var/log/journal")
    auditcases.run(SCRIPT, fx).expect("logging.persistent", "OK",
                                      "Storage=auto", rc=0)
    # and an enabled systemd-journal-upload forwards
    fx.file("etc/systemd/journal-upload.conf",
            "[Upload]\nURL=https://logs.example.org:19532\n")
    os.makedirs(fx.path("etc/systemd/system/multi-user.target.wants"))
    os.symlink("/lib/systemd/system/systemd-journal-upload.service",
               fx.path("etc/systemd/system/multi-user.target.wants/"
                       "systemd-journal-upload.service"))
    auditcases.run(SCRIPT, fx).expect(
        "logging.forwarding", "OK",
        "journal-upload is enabled .URL=https://logs.example.org:19532")


def test_findings(fx):
    procs(fx, "systemd-journal", "rsyslogd")
    fx.file("etc/systemd/journald.conf", "[Journal]\nStorage=volatile\n")
    fx.file("etc/rsyslog.conf", RSYSLOG.replace("0640", "0644"))
    logs(fx, mode=0o666)
    fx.file("var/log/dpkg.log", "x\n", 0o644)
    r = auditcases.run(SCRIPT, fx)
    assert r.rc == 1, r
    r.expect("logging.persistent", "OK", "journald Storage=volatile")
    r.expect("logging.rsyslog.filemode", "FAIL", "mode 0644")
    r.expect("logging.files.mode", "FAIL", "1 log files writable by "
             "everyone: /var/log/syslog .666.")
    os.chmod(fx.path("var/log/syslog"), 0o640)
    r = auditcases.run(SCRIPT, fx)
    r.expect("logging.files.mode", "WARN", "1 log files readable by "
             "everyone: /var/log/dpkg.log")


def test_volatile_journal_only(fx):
    procs(fx, "systemd-journal")
    fx.file("etc/systemd/journald.conf", "[Journal]\nStorage=volatile\n")
    r = auditcases.run(SCRIPT, fx)
    r.expect("logging.persistent", "FAIL", "in memory only", rc=1)
    r.expect("logging.files.mode", "SKIP", "no /var/log")


def test_no_rsyslog_file_mode(fx):
    procs(fx, "rsyslogd")
    fx.file("etc/rsyslog.conf", "*.* /var/log/messages\n")
    auditcases.run(SCRIPT, fx).expect("logging.rsyslog.filemode", "FAIL",
                                      "not set .default 0644", rc=1)


def test_nothing_runs(fx):
    procs(fx, "init")
    r = auditcases.run(SCRIPT, fx)
    r.expect("logging.daemon", "FAIL", "no logging daemon", rc=1)
    r.expect("logging.persistent", "SKIP")
    r.expect("logging.forwarding", "SKIP")
    fx.file("run/.containerenv")
    auditcases.run(SCRIPT, fx).expect("logging.daemon", "SKIP",
                                      "container", rc=0)
