"""scripts/audit/services on fixture trees: daemons as /proc/PID/comm,
packages in dpkg's status file, enabled units as links in
/etc/systemd/system/*.wants; and on this machine."""

import os

import auditpack
from auditpack import fx  # noqa: F401

pytestmark = auditpack.SKIP_IN_ASAN
SCRIPT = "services"

SERVICES = ("telnet", "rsh", "tftp", "inetd", "talk", "ftp", "nis",
            "rpcbind", "snmp", "avahi", "cups")

test_this_machine = auditpack.host_test(SCRIPT)


def status(*packages, removed=()):
    out = ""
    for p in packages:
        out += ("Package: %s\nStatus: install ok installed\nVersion: 1\n\n"
                % p)
    for p in removed:
        out += "Package: %s\nStatus: deinstall ok config-files\n\n" % p
    return out


def procs(fx, *comms):
    fx.procs(*comms)


def test_clean(fx):
    fx.file("var/lib/dpkg/status", status("bash", "openssh-server",
                                          removed=("telnetd",)))
    procs(fx, "systemd", "sshd", "cron")
    for u in ("ssh.service", "cron.service"):
        os.makedirs(fx.path("etc/systemd/system/multi-user.target.wants"),
                    exist_ok=True)
        os.symlink("/lib/systemd/system/" + u,
                   fx.path("etc/systemd/system/multi-user.target.wants/" + u))
    r = auditpack.run(SCRIPT, fx)
    assert r.rc == 0, r
    for s in SERVICES:
        r.expect("services." + s, "OK")
    r.expect("services.enabled-units", "INFO", "^2 units enabled")
    r.expect("services.packages", "INFO", "^2 Debian packages")
    auditpack.run(SCRIPT, fx, as_nobody=auditpack.IS_ROOT).expect(
        "services.telnet", "OK", rc=0)


def test_running_and_installed(fx):
    fx.file("var/lib/dpkg/status", status(
        "inetutils-telnetd", "xinetd", "rsh-server", "tftpd-hpa", "nis",
        "rpcbind", "snmpd", "vsftpd", "talkd", "avahi-daemon", "cups"))
    # running: telnet under inetd, tftp, NIS, rpcbind, cups; the rest only
    # installed (comm is cut at 15 characters)
    procs(fx, "inetutils-telne", "xinetd", "in.tftpd", "ypbind",
          "rpcbind", "cupsd")
    r = auditpack.run(SCRIPT, fx)
    assert r.rc == 1, r
    for s in ("telnet", "inetd", "tftp", "nis", "rpcbind", "cups"):
        r.expect("services." + s, "FAIL", " runs: ")
    for s in ("rsh", "snmp", "ftp", "talk", "avahi"):
        r.expect("services." + s, "WARN", "installed but not running")
    r.expect("services.cups", "FAIL", "cupsd")
    r.expect("services.enabled-units", "SKIP", "not a systemd system")


def test_desktop_avahi_cups(fx):
    fx.file("var/lib/dpkg/status", status("gdm3", "avahi-daemon", "cups"))
    procs(fx, "avahi-daemon", "cupsd")
    r = auditpack.run(SCRIPT, fx)
    r.expect("services.avahi", "INFO", "graphical login .gdm3.", rc=0)
    r.expect("services.cups", "INFO", "runs .cupsd.")


def test_no_dpkg(fx):
    procs(fx, "telnetd")
    r = auditpack.run(SCRIPT, fx)
    r.expect("services.telnet", "FAIL", rc=1)
    r.expect("services.packages", "SKIP", "not a Debian system")


def test_nothing_readable(fx):
    fx.dir("etc")
    r = auditpack.run(SCRIPT, fx)
    assert r.rc == 2, r
    for s in SERVICES:
        r.expect("services." + s, "SKIP", "services unknown")
