"""scripts/audit/time-sync on fixture trees (running daemons as
/proc/PID/comm, their configuration files); and on this machine."""

import auditpack
from auditpack import fx  # noqa: F401

pytestmark = auditpack.SKIP_IN_ASAN
SCRIPT = "time-sync"

test_this_machine = auditpack.host_test(SCRIPT)


def proc(fx, pid, comm):
    fx.proc(pid, comm)


def test_chrony(fx):
    proc(fx, 1, "systemd")
    proc(fx, 812, "chronyd")
    fx.file("etc/chrony/chrony.conf", "# pool 2.debian.pool.ntp.org\n"
            "confdir /etc/chrony/conf.d\n")
    fx.file("etc/chrony/sources.d/local.sources",
            "server ntp1.example.org iburst\npool ntp.example.org\n")
    r = auditpack.run(SCRIPT, fx)
    r.expect("time.sync.active", "OK", "chronyd", rc=0)
    r.expect("time.sync.single", "OK")
    r.expect("time.sync.servers", "OK",
             "ntp1.example.org, ntp.example.org")


def test_timesyncd_defaults(fx):
    proc(fx, 300, "systemd-timesyn")
    fx.file("etc/systemd/timesyncd.conf", "[Time]\n#NTP=\n")
    r = auditpack.run(SCRIPT, fx)
    r.expect("time.sync.servers", "OK", "built-in", rc=0)
    fx.file("etc/systemd/timesyncd.conf.d/site.conf",
            "[Time]\nNTP=ntp.example.org\n")
    auditpack.run(SCRIPT, fx).expect("time.sync.servers", "OK",
                                      "ntp.example.org")


def test_nothing_runs(fx):
    proc(fx, 1, "init")
    r = auditpack.run(SCRIPT, fx)
    r.expect("time.sync.active", "FAIL", rc=1)
    r.expect("time.sync.single", "SKIP")
    r.expect("time.sync.servers", "SKIP")


def test_two_daemons_no_servers(fx):
    proc(fx, 10, "chronyd")
    proc(fx, 11, "ntpd")
    fx.file("etc/chrony/chrony.conf", "driftfile /var/lib/chrony/drift\n")
    r = auditpack.run(SCRIPT, fx)
    r.expect("time.sync.single", "FAIL", "2 time synchronisation", rc=1)
    r.expect("time.sync.servers", "FAIL", "chrony has no server")


def test_container(fx):
    fx.file(".dockerenv")
    r = auditpack.run(SCRIPT, fx)
    r.expect("time.sync.active", "SKIP", "container", rc=0)
