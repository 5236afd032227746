"""sshd-config on fixture trees (ROOT/etc/ssh/sshd_config and its Includes,
host keys, a stub ROOT/usr/sbin/sshd for `sshd -T`): every keyword
compliant, non-compliant (in the file, a drop-in, a Match block, sshd -T)
and not applicable (no sshd: SKIP sshd.installed, exit 0)."""

import os

import pytest

import auditpack
from auditpack import fx  # noqa: F401

pytestmark = auditpack.SKIP_IN_ASAN

S = "sshd-config"
KEYS = ("permitrootlogin", "passwordauthentication", "permitemptypasswords",
        "x11forwarding", "maxauthtries", "logingracetime", "strictmodes",
        "permituserenvironment", "allowtcpforwarding", "ciphers", "macs",
        "kexalgorithms", "protocol")

SSHD_BAD = """\
# a known-bad configuration
Include /etc/ssh/sshd_config.d/*.conf
Protocol 2,1
PermitRootLogin yes
PasswordAuthentication yes
PermitEmptyPasswords yes
X11Forwarding yes
MaxAuthTries 10
Ciphers aes128-cbc,aes256-ctr
MACs hmac-md5,hmac-sha2-256
Match User backup
    X11Forwarding yes
"""

SSHD_GOOD = """\
# a known-good configuration
Include sshd_config.d/*.conf
PermitRootLogin no
PasswordAuthentication no
PermitEmptyPasswords no
X11Forwarding no
MaxAuthTries 2
LoginGraceTime 30s
AllowTcpForwarding no
StrictModes yes
Ciphers chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,aes256-ctr
Match Address 192.0.2.0/24
    MaxAuthTries 1
"""




def sshd(fx, config, dropins=None):
    fx.file("etc/ssh/sshd_config", config)
    fx.dir("etc/ssh/sshd_config.d")
    for name, text in (dropins or {}).items():
        fx.file("etc/ssh/sshd_config.d/" + name, text)
    return fx


def test_good_config(fx):
    sshd(fx, SSHD_GOOD, {"20-empty.conf": "# nothing here\n"})
    fx.file("etc/ssh/ssh_host_ed25519_key", "not a real key\n", 0o600)
    r = auditpack.run(S, fx)
    assert r.rc == 0, r
    for k in KEYS:
        assert r.get("sshd." + k) and \
            all(s == "OK" for s, _ in r.get("sshd." + k)), (k, r)
    assert ("OK", "PermitRootLogin no (/etc/ssh/sshd_config:3)") in \
        r.get("sshd.permitrootlogin"), r
    assert ("OK", "MaxAuthTries 1 (Match block at /etc/ssh/sshd_config:13)") \
        in r.get("sshd.maxauthtries"), r
    r.expect("sshd.config-mode", "OK")
    r.expect("sshd.hostkey-mode", "OK")
    r.expect("sshd.source", "INFO", "^settings parsed from")
    if auditpack.IS_ROOT:
        assert auditpack.run(S, fx, as_nobody=True).rc == 0


def test_bad_config(fx):
    sshd(fx, SSHD_BAD, {"10-local.conf": "StrictModes no\n"})
    r = auditpack.run(S, fx)
    assert r.rc == 1, r
    for check, status, text in (
            ("permitrootlogin", "FAIL",
             "PermitRootLogin yes (expected no; /etc/ssh/sshd_config:4)"),
            ("permitemptypasswords", "FAIL", "PermitEmptyPasswords yes "
             "(expected no; /etc/ssh/sshd_config:6)"),
            ("x11forwarding", "FAIL",
             "X11Forwarding yes (expected no; /etc/ssh/sshd_config:7)"),
            ("x11forwarding", "FAIL", "X11Forwarding yes (expected no; "
             "Match block at /etc/ssh/sshd_config:12)"),
            ("strictmodes", "FAIL", "StrictModes no (expected yes; "
             "/etc/ssh/sshd_config.d/10-local.conf:1)"),
            ("ciphers", "FAIL",
             "Ciphers includes weak aes128-cbc (/etc/ssh/sshd_config:9)"),
            ("macs", "FAIL",
             "MACs includes weak hmac-md5 (/etc/ssh/sshd_config:10)"),
            ("protocol", "FAIL", "Protocol 2,1 allows SSH-1 (expected 2; "
             "/etc/ssh/sshd_config:3)")):
        assert (status, text) in r.get("sshd." + check), (check, text, r)
    r.expect("sshd.passwordauthentication", "WARN",
             "^PasswordAuthentication yes")
    r.expect("sshd.maxauthtries", "WARN", "^MaxAuthTries 10")
    # OpenSSH's defaults when a keyword is absent
    r.expect("sshd.logingracetime", "WARN", r"^LoginGraceTime 120 \(")
    r.expect("sshd.allowtcpforwarding", "WARN", r"\(expected no unless")
    r.expect("sshd.permituserenvironment", "OK", "default")


def test_sha1_kex_is_a_warning(fx):
    sshd(fx, SSHD_GOOD.replace(
        "StrictModes yes\n", "StrictModes yes\nKexAlgorithms "
        "curve25519-sha256,diffie-hellman-group14-sha1\n"))
    r = auditpack.run(S, fx)
    r.expect("sshd.kexalgorithms", "WARN", "group14-sha1", rc=0)
    sshd(fx, SSHD_GOOD.replace(
        "StrictModes yes\n",
        "StrictModes yes\nKexAlgorithms diffie-hellman-group1-sha1\n"))
    r = auditpack.run(S, fx)
    r.expect("sshd.kexalgorithms", "FAIL", "group1-sha1", rc=1)


def test_include_first_value_wins(fx):
    # The drop-in is read at the Include, before the main file's own line.
    sshd(fx, SSHD_GOOD, {"50-cloud.conf": "PermitRootLogin=yes\n"})
    r = auditpack.run(S, fx)
    assert r.rc == 1, r
    r.expect("sshd.permitrootlogin", "FAIL", r"^PermitRootLogin yes \("
             r"expected no; /etc/ssh/sshd_config.d/50-cloud.conf:1\)$")


def test_not_installed(fx):
    r = auditpack.run(S, fx)
    r.expect("sshd.installed", "SKIP", "not installed", rc=0)
    assert len(r.findings) == 1, r


SSHD_T = """\
[ "$1" = -T ] || exit 1
cat <<EOF
permitrootlogin yes
passwordauthentication no
permitemptypasswords no
x11forwarding no
maxauthtries 2
logingracetime 30
strictmodes yes
permituserenvironment no
allowtcpforwarding no
ciphers chacha20-poly1305@openssh.com,aes128-cbc
macs hmac-sha2-256-etm@openssh.com
kexalgorithms curve25519-sha256
EOF
"""


def test_effective_settings_from_sshd_T(fx):
    sshd(fx, "PermitRootLogin no\n"
             "Match User backup\n"
             "    PermitEmptyPasswords yes\n")
    fx.stub("sshd", SSHD_T)
    r = auditpack.run(S, fx)
    assert r.rc == 1, r
    r.expect("sshd.source", "INFO", "^effective settings from sshd -T")
    r.expect("sshd.permitrootlogin", "FAIL",
             r"^PermitRootLogin yes \(expected no; sshd -T\)$")
    r.expect("sshd.ciphers", "FAIL", r"weak aes128-cbc \(sshd -T\)")
    # sshd -T shows global values: Match blocks come from the files
    assert ("FAIL", "PermitEmptyPasswords yes (expected no; Match block at "
            "/etc/ssh/sshd_config:3)") in r.get("sshd.permitemptypasswords")
    r.expect("sshd.protocol", "OK")
    assert len(r.with_status("FAIL")) == 3, r


def test_sshd_T_fails_then_files_parsed(fx):
    sshd(fx, SSHD_GOOD)
    fx.stub_output("sshd", "", rc=1,
                   err="sshd: no hostkeys available -- exiting.\n")
    r = auditpack.run(S, fx)
    assert r.rc == 0, r
    texts = [t for _, t in r.get("sshd.source")]
    assert texts[0].startswith("sshd -T could not run (sshd: no hostkeys"), r
    assert texts[-1].startswith("settings parsed from /etc/ssh/sshd_config")


@pytest.mark.skipif(not auditpack.IS_ROOT,
                    reason="needs root to make a root-only file")
def test_unreadable_config_without_root(fx):
    sshd(fx, SSHD_GOOD)
    os.chmod(fx.path("etc/ssh/sshd_config"), 0o600)
    r = auditpack.run(S, fx, as_nobody=True)
    assert r.rc == 2, r
    assert ("SKIP", "/etc/ssh/sshd_config is not readable (needs root): its "
            "settings are not checked") in r.get("sshd.source"), r
    r.expect("sshd.config", "SKIP", "no sshd configuration file")
    assert auditpack.run(S, fx).rc == 0


def test_key_and_config_permissions(fx):
    sshd(fx, SSHD_GOOD)
    fx.file("etc/ssh/ssh_host_ed25519_key", "not a real key\n", 0o644)
    os.chmod(fx.path("etc/ssh/sshd_config"), 0o666)
    r = auditpack.run(S, fx)
    assert r.rc == 1, r
    r.expect("sshd.config-mode", "FAIL", "mode 666 is writable by group or "
             "others")
    r.expect("sshd.hostkey-mode", "FAIL", "ssh_host_ed25519_key mode 644 is "
             r"accessible to group or others \(expected 0600\)")


def test_no_host_key_and_no_config(fx):
    sshd(fx, SSHD_GOOD)
    r = auditpack.run(S, fx)
    r.expect("sshd.hostkey-mode", "SKIP", "no host private key", rc=0)
    fx.path("etc/ssh/sshd_config").unlink()
    fx.stub_output("sshd", "", rc=1, err="sshd: no hostkeys available\n")
    r = auditpack.run(S, fx)
    r.expect("sshd.config-mode", "SKIP", "does not exist", rc=1)
    # OpenSSH's defaults: root login with keys, passwords, forwarding
    r.expect("sshd.permitrootlogin", "FAIL", "prohibit-password")
