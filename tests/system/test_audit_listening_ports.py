"""listening-ports on fixture trees (an ss stub under ROOT/usr/bin, or
ROOT/proc/net/tcp* when there is no ss; ROOT/etc/passwd for the owners'
names): each check compliant, non-compliant and not applicable (no ss:
programs SKIP; nothing to read: exit 2); and one live run with a socket on
port 23 (root)."""

import socket

import pytest

import auditpack
from auditpack import fx  # noqa: F401

pytestmark = auditpack.SKIP_IN_ASAN

S = "listening-ports"
PASSWD = "root:x:0:0:root:/root:/bin/sh\nwww:x:33:33::/var/www:/bin/false\n"

# ss -H -l -n -t -u -p -e
SS_GOOD = """\
tcp LISTEN 0 128 0.0.0.0:22 0.0.0.0:* users:(("sshd",pid=500,fd=3)) ino:1001 sk:1 cgroup:/ <->
tcp LISTEN 0 128 [::]:22 [::]:* users:(("sshd",pid=500,fd=4)) ino:1002 sk:2 cgroup:/ <->
tcp LISTEN 0 128 127.0.0.1:5432 0.0.0.0:* users:(("postgres",pid=600,fd=5)) uid:33 ino:1003 sk:3 cgroup:/ <->
udp UNCONN 0 0 192.0.2.10:53 0.0.0.0:* users:(("named",pid=700,fd=6)) ino:1004 sk:4 cgroup:/ <->
"""
SS_BAD = SS_GOOD + """\
tcp LISTEN 0 128 0.0.0.0:23 0.0.0.0:* users:(("inetd",pid=800,fd=7)) ino:1005 sk:5 cgroup:/ <->
tcp LISTEN 0 128 127.0.0.1:79 0.0.0.0:* users:(("fingerd",pid=801,fd=7)) ino:1006 sk:6 cgroup:/ <->
udp UNCONN 0 0 0.0.0.0:111 0.0.0.0:* ino:1007 sk:7 cgroup:/ <->
"""


def ports(fx, ss=SS_GOOD):
    fx.file("etc/passwd", PASSWD)
    if ss is not None:
        fx.stub_output("ss", ss, where="usr/bin")
    return fx


def test_compliant(fx):
    r = auditpack.run(S, ports(fx))
    assert r.rc == 0, r
    r.expect("ports.legacy", "OK")
    r.expect("ports.programs", "OK")
    r.expect("ports.count", "INFO", "^4 listening sockets: 2 on all "
             "interfaces, 1 on one address, 1 on loopback only$")
    assert r.get("ports.socket") == [
        ("INFO", "tcp 0.0.0.0:22 (all interfaces) sshd"),
        ("INFO", "tcp [::]:22 (all interfaces) sshd"),
        ("INFO", "udp 192.0.2.10:53 (one address) named"),
        ("INFO", "tcp 127.0.0.1:5432 (loopback only) postgres")], r


@auditpack.needs_root("to see the programs of other users' sockets")
def test_legacy_services(fx):
    r = auditpack.run(S, ports(fx, SS_BAD))
    assert r.rc == 1, r
    got = r.get("ports.legacy")
    assert ("FAIL", "telnet service reachable from the network: tcp "
            "0.0.0.0:23, inetd (expected none)") in got, r
    # on loopback only: not reachable, not a finding
    assert not [t for _, t in got if "finger" in t], r
    # portmapper: a WARN; no program, as root: why it is not named
    assert ("WARN", "portmapper (rpcbind) service reachable from the "
            "network: udp 0.0.0.0:111, no visible process holds it "
            "(another PID namespace, or a kernel socket), user root "
            "(expected none)") in got, r
    r.expect("ports.programs", "INFO" if auditpack.IS_ROOT else "SKIP")


def test_from_proc_net(fx):
    ports(fx, ss=None)
    # 0.0.0.0:23 listening (state 0A), owner uid 33; a connected one
    fx.file("proc/net/tcp",
            "  sl  local_address rem_address   st tx_queue rx_queue tr "
            "tm->when retrnsmt   uid  timeout inode\n"
            "   0: 00000000:0017 00000000:0000 0A 00000000:00000000 "
            "00:00000000 00000000    33        0 1593 1\n"
            "   1: 0100007F:0016 0100007F:D000 01 00000000:00000000 "
            "00:00000000 00000000     0        0 1594 1\n")
    r = auditpack.run(S, fx)
    assert r.rc == 1, r
    r.expect("ports.source", "INFO", "read from /proc/net")
    r.expect("ports.legacy", "FAIL", "^telnet service .* tcp 0.0.0.0:23, "
             r"program unknown \(from /proc/net\), user www")
    r.expect("ports.programs", "SKIP", "ss is not available")


def test_nothing_listens(fx):
    r = auditpack.run(S, ports(fx, ss=""))
    # an ss that prints nothing and fails for the plain listing too: the
    # stub exits 0, so "no listening socket"
    r.expect("ports.legacy", "OK", "no listening socket", rc=0)


def test_nothing_to_read(fx):
    r = auditpack.run(S, fx)
    r.expect("ports.list", "SKIP", "neither ss nor /proc/net/tcp", rc=2)


@pytest.mark.skipif(not auditpack.IS_ROOT,
                    reason="needs root to run as nobody")
def test_programs_need_root(fx):
    ports(fx, SS_GOOD.replace(' users:(("postgres",pid=600,fd=5))', ""))
    r = auditpack.run(S, fx, as_nobody=True)
    r.expect("ports.programs", "SKIP", r"1 sockets .* \(needs root\)", rc=0)
    assert ("INFO", "tcp 127.0.0.1:5432 (loopback only) program not shown "
            "(needs root), user www") in r.get("ports.socket"), r


@pytest.mark.skipif(not auditpack.IS_ROOT, reason="binding port 23 needs "
                                                  "root")
def test_live_telnet_port_is_a_finding():
    s = socket.socket()
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", 23))
    except OSError as e:
        s.close()
        pytest.skip("port 23 is not free: %s" % e)
    s.listen()
    try:
        r = auditpack.run(S)
    finally:
        s.close()
    assert r.rc == 1, r
    # Issue 15: as root the program is named.
    assert [t for st, t in r.get("ports.legacy") if st == "FAIL" and
            t.startswith("telnet service reachable from the network: tcp "
                         "0.0.0.0:23, python3")], r
