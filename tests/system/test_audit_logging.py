"""scripts/audit/logging on fixture trees: the logging daemons as
/proc/PID/comm, journald.conf and its drop-ins, rsyslog's configuration,
the modes of /var/log; and on this machine."""

import grp
import os

import auditpack
from auditpack import fx  # noqa: F401

pytestmark = auditpack.SKIP_IN_ASAN
SCRIPT = "logging"

test_this_machine = auditpack.host_test(SCRIPT)

RSYSLOG = """\
module(load="imuxsock")
$FileOwner root
$FileGroup adm
$FileCreateMode 0640
$DirCreateMode 0755
*.*;auth,authpriv.none  -/var/log/syslog
"""


UID = os.getuid()
OTHER_ID = 54321        # no user or group has it on the test machine


def procs(fx, *comms, gid=None):
    """The processes COMMS, run by this user (and group GID, default this
    user's): as a normal user, the owner of the fixture's logs is then the
    logging daemon's account (syslog's on Ubuntu), as root is on Debian."""
    fx.procs(*comms, start=200, uid=UID,
             gid=os.getgid() if gid is None else gid)


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
    r = auditpack.run(SCRIPT, fx)
    assert r.rc == 0, r
    r.expect("logging.daemon", "OK", "systemd-journal, rsyslogd")
    r.expect("logging.persistent", "OK", "syslog daemon writes")
    r.expect("logging.forwarding", "OK", "omfwd")
    r.expect("logging.rsyslog.filemode", "OK", "0640")
    r.expect("logging.files.mode", "OK")
    r.expect("logging.service-journal", "OK", "journald keeps each "
             "service's messages under its unit")
    r.expect("logging.service-owned", "OK", "root's or the logging "
             "daemon's")
    auditpack.run(SCRIPT, fx, as_nobody=auditpack.IS_ROOT).expect(
        "logging.daemon", "OK", rc=0)


def test_journald_only_persistent(fx):
    procs(fx, "systemd-journal")
    fx.file("etc/systemd/journald.conf", "[Journal]\n#Storage=auto\n")
    fx.file("etc/systemd/journald.conf.d/50-disk.conf",
            "[Journal]\nStorage=persistent\n")
    logs(fx)
    r = auditpack.run(SCRIPT, fx)
    r.expect("logging.persistent", "OK", "Storage=persistent", rc=0)
    # no forwarding: a WARN, not a finding
    r.expect("logging.forwarding", "WARN", "not forwarded")
    r.expect("logging.rsyslog.filemode", "SKIP", "not installed")
    # auto with /var/log/journal is persistent too
    os.unlink(fx.path("etc/systemd/journald.conf.d/50-disk.conf"))
    fx.dir("var/log/journal")
    auditpack.run(SCRIPT, fx).expect("logging.persistent", "OK",
                                      "Storage=auto", rc=0)
    # and an enabled systemd-journal-upload forwards
    fx.file("etc/systemd/journal-upload.conf",
            "[Upload]\nURL=https://logs.example.org:19532\n")
    os.makedirs(fx.path("etc/systemd/system/multi-user.target.wants"))
    os.symlink("/lib/systemd/system/systemd-journal-upload.service",
               fx.path("etc/systemd/system/multi-user.target.wants/"
                       "systemd-journal-upload.service"))
    auditpack.run(SCRIPT, fx).expect(
        "logging.forwarding", "OK",
        "journal-upload is enabled .URL=https://logs.example.org:19532")


def test_findings(fx):
    procs(fx, "systemd-journal", "rsyslogd")
    fx.file("etc/systemd/journald.conf", "[Journal]\nStorage=volatile\n")
    fx.file("etc/rsyslog.conf", RSYSLOG.replace("0640", "0644"))
    logs(fx, mode=0o666)
    fx.file("var/log/dpkg.log", "x\n", 0o644)
    r = auditpack.run(SCRIPT, fx)
    assert r.rc == 1, r
    r.expect("logging.persistent", "OK", "journald Storage=volatile")
    r.expect("logging.rsyslog.filemode", "FAIL", "mode 0644")
    r.expect("logging.files.mode", "FAIL", "1 log files writable by "
             "everyone: /var/log/syslog .666.")
    os.chmod(fx.path("var/log/syslog"), 0o640)
    r = auditpack.run(SCRIPT, fx)
    r.expect("logging.files.mode", "WARN", "1 log files readable by "
             "everyone: /var/log/dpkg.log")


def test_volatile_journal_only(fx):
    procs(fx, "systemd-journal")
    fx.file("etc/systemd/journald.conf", "[Journal]\nStorage=volatile\n")
    r = auditpack.run(SCRIPT, fx)
    r.expect("logging.persistent", "FAIL", "in memory only", rc=1)
    r.expect("logging.files.mode", "SKIP", "no /var/log")
    r.expect("logging.service-owned", "SKIP", "no /var/log")


def test_no_rsyslog_file_mode(fx):
    procs(fx, "rsyslogd")
    fx.file("etc/rsyslog.conf", "*.* /var/log/messages\n")
    auditpack.run(SCRIPT, fx).expect("logging.rsyslog.filemode", "FAIL",
                                      "not set .default 0644", rc=1)


def test_nothing_runs(fx):
    procs(fx, "init")
    r = auditpack.run(SCRIPT, fx)
    r.expect("logging.daemon", "FAIL", "no logging daemon", rc=1)
    r.expect("logging.persistent", "SKIP")
    r.expect("logging.forwarding", "SKIP")
    r.expect("logging.service-journal", "SKIP", "not applicable")
    fx.file("run/.containerenv")
    auditpack.run(SCRIPT, fx).expect("logging.daemon", "SKIP",
                                      "container", rc=0)


# R72: a log per service, that the service cannot change, delete or read.

def test_rsyslog_per_program_rules(fx):
    # rsyslog alone (no journald): its rules say which programs log apart
    procs(fx, "rsyslogd")
    fx.file("etc/rsyslog.conf", RSYSLOG)
    logs(fx)
    r = auditpack.run(SCRIPT, fx)
    r.expect("logging.service-journal", "WARN", "share the files of their "
             "syslog facility", rc=0)
    fx.file("etc/rsyslog.d/30-services.conf",
            "# :programname, isequal, \"old\" /var/log/old.log\n"
            ':programname, isequal, "nginx" /var/log/nginx/nginx.log\n'
            "if $programname == 'postfix' then /var/log/mail/postfix.log\n")
    auditpack.run(SCRIPT, fx).expect(
        "logging.service-journal", "OK",
        "rsyslog writes these programs' messages apart: nginx, postfix$",
        rc=0)
    # journald stored nothing (Storage=none): the syslog rules count
    procs(fx, "rsyslogd", "systemd-journal")
    fx.file("etc/systemd/journald.conf", "[Journal]\nStorage=none\n")
    auditpack.run(SCRIPT, fx).expect("logging.service-journal", "OK",
                                      "rsyslog writes")


def test_syslog_ng_per_program_rules(fx):
    procs(fx, "syslog-ng")
    fx.file("etc/syslog-ng/syslog-ng.conf",
            'filter f_sshd { program("sshd"); };\n'
            'destination d_sshd { file("/var/log/sshd.log"); };\n')
    auditpack.run(SCRIPT, fx).expect(
        "logging.service-journal", "OK", "syslog-ng writes .*: sshd$")


def test_service_writes_its_own_log(fx):
    # the logging daemons' group is none of this user's groups
    procs(fx, "systemd-journal", "rsyslogd", gid=OTHER_ID - 1)
    fx.file("etc/rsyslog.conf", RSYSLOG)
    # the service's group may read its log: a WARN
    fx.dir("var/log/app", 0o750)
    app = fx.file("var/log/app/app.log", "x\n", 0o640)
    if auditpack.IS_ROOT:
        os.chown(app, 0, OTHER_ID)
        group = str(OTHER_ID)
    else:
        group = grp.getgrgid(os.getgid()).gr_name
    r = auditpack.run(SCRIPT, fx)
    r.expect("logging.service-owned", "WARN", "^1 log files a service's "
             "group can read: /var/log/app/app.log .640, group %s."
             % group, rc=0)
    # ... may write it: it can change it (a FAIL)
    os.chmod(app, 0o660)
    r = auditpack.run(SCRIPT, fx)
    r.expect("logging.service-owned", "FAIL", "^1 log files or directories "
             "a service account can change or delete: /var/log/app/app.log "
             ".660, group %s." % group, rc=1)
    if auditpack.IS_ROOT:
        # the service owns its directory: it can delete its log
        os.chmod(app, 0o640)
        os.chown(app, 0, 0)
        os.chown(fx.path("var/log/app"), OTHER_ID, 0)
        r = auditpack.run(SCRIPT, fx)
        r.expect("logging.service-owned", "FAIL", "/var/log/app .owner "
                 "%d." % OTHER_ID, rc=1)
        # as nobody, the directory (0750) is not searched, and said so
        r = auditpack.run(SCRIPT, fx, as_nobody=True)
        r.expect("logging.service-owned", "OK", "1 directories not "
                 "searched: needs root")
