"""scripts/audit/local-mail on fixture trees: SMTP listeners from
/proc/net/tcp and tcp6, root's alias in /etc/aliases; and on this
machine."""

import auditpack
from auditpack import fx  # noqa: F401

pytestmark = auditpack.SKIP_IN_ASAN
SCRIPT = "local-mail"

test_this_machine = auditpack.host_test(SCRIPT)

HEAD = ("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when "
        "retrnsmt   uid  timeout inode\n")


def sock(n, local, state="0A"):
    return ("%4d: %s 00000000:0000 %s 00000000:00000000 00:00000000 "
            "00000000     0        0 %d 1 0000000000000000 100 0 0 10 0\n"
            % (n, local, state, 1000 + n))


def sock6(n, local, state="0A"):
    return ("%4d: %s 00000000000000000000000000000000:0000 %s "
            "00000000:00000000 00:00000000 00000000     0        0 %d 1 "
            "0000000000000000 100 0 0 10 0\n" % (n, local, state, 2000 + n))


def mta(fx, tcp, tcp6="", aliases="root: alice@example.org\n"):
    fx.stub("sendmail", "exit 0\n")
    fx.file("proc/net/tcp", HEAD + tcp)
    fx.file("proc/net/tcp6", HEAD + tcp6)
    if aliases is not None:
        fx.file("etc/aliases", "# aliases\npostmaster: root\n" + aliases)


def test_loopback_only(fx):
    # 127.0.0.1:25, [::1]:25, a remote connection to 25 (not listening),
    # sshd on all addresses (not SMTP)
    mta(fx, sock(0, "0100007F:0019") + sock(1, "0100007F:0019", "01") +
        sock(2, "00000000:0016"),
        sock6(0, "00000000000000000000000001000000:0019"))
    r = auditpack.run(SCRIPT, fx)
    r.expect("mail.mta.loopback", "OK",
             "loopback only: 127.0.0.1:25, \\[::1\\]:25", rc=0)
    r.expect("mail.root.alias", "OK", "alice@example.org")
    auditpack.run(SCRIPT, fx, as_nobody=auditpack.IS_ROOT).expect(
        "mail.mta.loopback", "OK", rc=0)


def test_exposed_and_no_alias(fx):
    # 0.0.0.0:25, 192.0.2.10:587, [::]:465
    mta(fx, sock(0, "00000000:0019") + sock(1, "0A0200C0:024B"),
        sock6(0, "00000000000000000000000000000000:01D1"),
        aliases="")
    r = auditpack.run(SCRIPT, fx)
    assert r.rc == 1, r
    r.expect("mail.mta.loopback", "FAIL",
             "0.0.0.0:25, 192.0.2.10:587, \\[::\\]:465")
    r.expect("mail.root.alias", "FAIL", "no root alias")


def test_root_to_root_and_no_listener(fx):
    mta(fx, "", aliases="root: root\n")
    r = auditpack.run(SCRIPT, fx)
    r.expect("mail.mta.loopback", "OK", "nothing listens", rc=1)
    r.expect("mail.root.alias", "FAIL", "goes to root")
    mta(fx, "", aliases=None)
    (fx.path("etc/aliases")).unlink()
    auditpack.run(SCRIPT, fx).expect("mail.root.alias", "FAIL",
                                      "no /etc/aliases")


def test_no_mta(fx):
    fx.file("proc/net/tcp", HEAD + sock(0, "00000000:0016"))
    r = auditpack.run(SCRIPT, fx)
    r.expect("mail.mta.loopback", "SKIP", "no MTA installed", rc=0)
    r.expect("mail.root.alias", "SKIP", "no MTA installed")


def test_no_proc(fx):
    fx.stub("sendmail", "exit 0\n")
    fx.file("etc/aliases", "root: alice@example.org\n")
    r = auditpack.run(SCRIPT, fx)
    r.expect("mail.mta.loopback", "SKIP", "not readable", rc=2)
