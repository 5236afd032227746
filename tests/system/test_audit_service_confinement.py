"""scripts/audit/service-confinement on fixture trees: listening sockets in
/proc/net/*, their owners through /proc/PID/fd links, units from
/proc/PID/cgroup, the units' files and drop-ins, a systemd-analyze stub;
and on this machine."""

import os

import pytest

import auditpack
from auditpack import fx  # noqa: F401

pytestmark = auditpack.SKIP_IN_ASAN
SCRIPT = "service-confinement"
OPTIONS = ("confine.nonewprivileges", "confine.protectsystem",
           "confine.privatetmp", "confine.protecthome", "confine.user",
           "confine.syscallfilter")

test_this_machine = auditpack.host_test(SCRIPT)

HEAD = ("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when "
        "retrnsmt   uid  timeout inode\n")
HARDENED = ("[Service]\nNoNewPrivileges=yes\nProtectSystem=strict\n"
            "PrivateTmp=yes\nProtectHome=read-only\nUser=www-data\n"
            "SystemCallFilter=@system-service\n")


def line(n, local, state, inode):
    return ("%4d: %s 00000000:0000 %s 00000000:00000000 00:00000000 "
            "00000000     0        0 %d 1 0000000000000000 100 0 0 10 0\n"
            % (n, local, state, inode))


class Host:
    """A systemd host whose sockets are made one by one."""

    def __init__(self, fx):
        self.fx, self.tcp, self.udp, self.tcp6 = fx, [], [], []
        fx.dir("run/systemd/system")

    def listen(self, pid, unit, local, inode, proto="tcp"):
        state = "07" if proto == "udp" else "0A"
        table = {"tcp": self.tcp, "udp": self.udp, "tcp6": self.tcp6}[proto]
        table.append(line(len(table), local, state, inode))
        fd = self.fx.dir("proc/%d/fd" % pid)
        os.symlink("socket:[%d]" % inode, fd / str(len(os.listdir(fd)) + 3))
        self.fx.file("proc/%d/cgroup" % pid,
                     "0::/system.slice/%s\n" % unit if unit else
                     "0::/user.slice/user-1000.slice/session-2.scope\n")

    def write(self):
        self.fx.file("proc/net/tcp", HEAD + "".join(self.tcp))
        self.fx.file("proc/net/udp", HEAD + "".join(self.udp))
        self.fx.file("proc/net/tcp6", HEAD + "".join(self.tcp6))


def test_hardened(fx):
    h = Host(fx)
    h.listen(100, "nginx.service", "00000000:0050", 5001)        # 0.0.0.0:80
    h.listen(100, "nginx.service", "00000000:01BB", 5002)
    h.listen(200, "chrony.service", "00000000:007B", 5003, "udp")
    h.listen(300, "ssh.service", "00000000:0016", 5004)
    h.listen(400, "postfix.service", "0100007F:0019", 5005)      # loopback
    h.write()
    fx.file("lib/systemd/system/nginx.service", "[Unit]\nDescription=web\n"
            "[Service]\nExecStart=/usr/sbin/nginx\n")
    fx.file("etc/systemd/system/nginx.service.d/hardening.conf", HARDENED)
    fx.file("lib/systemd/system/chrony.service",
            "[Service]\nDynamicUser=yes\nSystemCallFilter=~@mount\n")
    fx.file("lib/systemd/system/ssh.service", "[Service]\nExecStart=sshd\n")
    r = auditpack.run(SCRIPT, fx)
    assert r.rc == 0, r
    r.expect("confine.units", "INFO",
             "chrony.service, nginx.service, ssh.service$")
    for c in OPTIONS:
        r.expect(c, "OK", "the 2 network-facing services .*not held: "
                 "ssh.service")
    r.expect("confine.exposure", "SKIP", "not installed")


def test_not_confined(fx):
    h = Host(fx)
    h.listen(100, "apache2.service", "00000000:0050", 6001)
    # an instance of a template, on IPv6 [::]:2000
    h.listen(150, "getty-like@tty9.service",
             "00000000000000000000000000000000:07D0", 6002, "tcp6")
    h.listen(170, None, "00000000:1F90", 6003)     # a user's process
    h.write()
    fx.file("lib/systemd/system/apache2.service",
            "[Service]\nPrivateTmp=yes\nProtectSystem=yes\n"
            "# NoNewPrivileges=yes\n")
    fx.file("etc/systemd/system/apache2.service.d/override.conf",
            "[Service]\nPrivateTmp=no\n")
    fx.file("lib/systemd/system/getty-like@.service",
            "[Service]\nNoNewPrivileges=yes\nProtectSystem=full\n"
            "PrivateTmp=yes\nProtectHome=yes\nCapabilityBoundingSet=\n"
            "CapabilityBoundingSet=CAP_NET_BIND_SERVICE\n")
    # the detail of each unit named, as systemd 252 prints it
    fx.stub("systemd-analyze", '[ "$1 $2" = "security --no-pager" ] || '
            "exit 1\nshift 2\nfor u; do cat <<EOF\n"
            "  NAME   DESCRIPTION   EXPOSURE\n"
            "x PrivateNetwork=   Service has access to the host's network  0.5\n"
            "\n-> Overall exposure level for $u: 9.2 UNSAFE :-{\n"
            "EOF\ndone\n", where="usr/bin")
    r = auditpack.run(SCRIPT, fx)
    assert r.rc == 1, r
    r.expect("confine.units", "INFO", "apache2.service, "
             "getty-like@tty9.service; not in a service unit: pid 170")
    r.expect("confine.nonewprivileges", "FAIL", "^1 .*: apache2.service ")
    r.expect("confine.protectsystem", "FAIL", "apache2.service .yes.")
    r.expect("confine.privatetmp", "FAIL", "apache2.service")
    r.expect("confine.protecthome", "FAIL", "apache2.service")
    # WARN: not a finding by itself
    r.expect("confine.user", "WARN", "^1 .*: apache2.service ")
    r.expect("confine.syscallfilter", "WARN",
             "^2 .*: apache2.service, getty-like@tty9.service ")
    r.expect("confine.exposure", "INFO", "apache2.service 9.2 UNSAFE, "
             "getty-like@tty9.service 9.2 UNSAFE$")


def test_nothing_exposed(fx):
    h = Host(fx)
    h.listen(400, "postfix.service", "0100007F:0019", 7001)
    h.write()
    r = auditpack.run(SCRIPT, fx)
    r.expect("confine.units", "OK", "no systemd service listens", rc=0)
    for c in OPTIONS + ("confine.exposure",):
        r.expect(c, "SKIP", "not applicable")


def test_not_systemd(fx):
    fx.file("proc/net/tcp", HEAD)
    r = auditpack.run(SCRIPT, fx)
    r.expect("confine.units", "SKIP", "not applicable", rc=0)
    for c in OPTIONS:
        r.expect(c, "SKIP", "systemd is not running")


def test_no_proc_net(fx):
    fx.dir("run/systemd/system")
    r = auditpack.run(SCRIPT, fx)
    r.expect("confine.units", "SKIP", "not readable", rc=2)


@pytest.mark.skipif(not auditpack.IS_ROOT, reason="needs root to make a "
                                                  "root-only directory")
def test_owners_need_root(fx):
    h = Host(fx)
    h.listen(100, "nginx.service", "00000000:0050", 8001)
    h.write()
    os.chmod(fx.path("proc/100/fd"), 0o500)
    r = auditpack.run(SCRIPT, fx, as_nobody=True)
    assert r.rc == 2, r
    r.expect("confine.units", "SKIP", "needs root")
    for c in OPTIONS:
        r.expect(c, "SKIP", "needs root")
    auditpack.run(SCRIPT, fx).expect("confine.nonewprivileges", "FAIL",
                                      "nginx.service", rc=1)
