"""remote-auth on fixture trees (ROOT/etc/nsswitch.conf, etc/pam.d,
etc/nslcd.conf, etc/sssd/sssd.conf): each check compliant, non-compliant
and not applicable (local accounts only: the LDAP/SSSD checks SKIP).
Directory servers are named example.org only."""

import os

import pytest

import auditpack
from auditpack import fx  # noqa: F401

pytestmark = auditpack.SKIP_IN_ASAN

S = "remote-auth"

NSS_LOCAL = """\
# Debian's default: netgroup from nis is not judged
passwd:         files systemd
group:          files systemd
shadow:         files systemd
gshadow:        files systemd
hosts:          files dns
netgroup:       nis
"""
NSS_LDAP = NSS_LOCAL.replace("passwd:         files systemd",
                             "passwd:         files ldap").replace(
                             "group:          files systemd",
                             "group:          files ldap")
PAM_LDAP = "auth [success=1 default=ignore] pam_ldap.so use_first_pass\n" \
           "auth requisite pam_deny.so\n"
NSLCD_GOOD = """\
uid nslcd
gid nslcd
uri ldap://ldap.example.org/
base dc=example,dc=org
binddn cn=nss-reader,ou=services,dc=example,dc=org
bindpw not-a-real-secret
ssl start_tls
tls_reqcert demand
tls_cacertfile /etc/ssl/certs/ca-certificates.crt
"""
SSSD_GOOD = """\
[sssd]
services = nss, pam
domains = example.org, corp

[domain/example.org]
id_provider = ldap
auth_provider = ldap
ldap_uri = ldaps://ldap.example.org
ldap_search_base = dc=example,dc=org
ldap_default_bind_dn = cn=sssd,ou=services,dc=example,dc=org
ldap_tls_reqcert = demand

[domain/corp]
id_provider = ad
"""

LDAP_CHECKS = ("remoteauth.ldap-tls", "remoteauth.ldap-cert",
               "remoteauth.bind-dn", "remoteauth.bindpw-mode")
SSSD_CHECKS = ("remoteauth.sssd-tls", "remoteauth.sssd-cert")


def test_local_only(fx):
    fx.file("etc/nsswitch.conf", NSS_LOCAL)
    fx.file("etc/pam.d/common-auth", "auth [success=1 default=ignore] "
            "pam_unix.so nullok\n")
    r = auditpack.run(S, fx)
    assert r.rc == 0, r
    r.expect("remoteauth.nis", "OK")
    r.expect("remoteauth.radius", "OK")
    r.expect("remoteauth.sources", "INFO", "local only")
    for c in LDAP_CHECKS + SSSD_CHECKS:
        r.expect(c, "SKIP", "does not apply")
    if auditpack.IS_ROOT:
        assert auditpack.run(S, fx, as_nobody=True).rc == 0


def test_nis(fx):
    fx.file("etc/nsswitch.conf", NSS_LOCAL.replace(
        "shadow:         files systemd", "shadow:         files nis"))
    r = auditpack.run(S, fx)
    r.expect("remoteauth.nis", "FAIL", r"\(shadow: nis\)", rc=1)
    r.expect("remoteauth.sources", "INFO", "remote account sources: nis;")


def test_ldap_compliant(fx):
    fx.file("etc/nsswitch.conf", NSS_LDAP)
    fx.file("etc/pam.d/common-auth", PAM_LDAP)
    fx.file("etc/nslcd.conf", NSLCD_GOOD, 0o600)
    r = auditpack.run(S, fx)
    assert r.rc == 0, r
    r.expect("remoteauth.sources", "INFO", "remote account sources: ldap; "
             "PAM modules: pam_ldap.so$")
    for c in LDAP_CHECKS:
        r.expect(c, "OK")
    for c in SSSD_CHECKS:
        r.expect(c, "SKIP")


def test_ldap_non_compliant(fx):
    fx.file("etc/nsswitch.conf", NSS_LDAP)
    fx.file("etc/pam.d/common-auth", PAM_LDAP)
    fx.file("etc/nslcd.conf", NSLCD_GOOD.replace(
        "ssl start_tls", "ssl off").replace(
        "tls_reqcert demand", "tls_reqcert never").replace(
        "cn=nss-reader,ou=services", "cn=admin"), 0o644)
    r = auditpack.run(S, fx)
    assert r.rc == 1, r
    r.expect("remoteauth.ldap-tls", "FAIL", "uri ldap://ldap.example.org/ "
             "without ssl start_tls")
    r.expect("remoteauth.ldap-cert", "FAIL", "tls_reqcert never")
    r.expect("remoteauth.bind-dn", "FAIL", "cn=admin,dc=example,dc=org is a "
             "directory administrator")
    r.expect("remoteauth.bindpw-mode", "FAIL", "mode 644")


def test_ldaps_uri_needs_no_starttls(fx):
    fx.file("etc/nsswitch.conf", NSS_LDAP)
    fx.file("etc/nslcd.conf", NSLCD_GOOD.replace(
        "ldap://", "ldaps://").replace("ssl start_tls\n", "").replace(
        "tls_reqcert demand\n", ""), 0o600)
    r = auditpack.run(S, fx)
    r.expect("remoteauth.ldap-tls", "OK", rc=0)
    r.expect("remoteauth.ldap-cert", "OK", "default")


def test_ldap_without_nslcd_conf(fx):
    fx.file("etc/nsswitch.conf", NSS_LDAP)
    r = auditpack.run(S, fx)
    r.expect("remoteauth.ldap-tls", "FAIL", "nslcd.conf is missing", rc=1)


def test_sssd(fx):
    fx.file("etc/nsswitch.conf", NSS_LOCAL.replace(
        "passwd:         files systemd", "passwd:         files sss"))
    fx.file("etc/pam.d/common-auth", "auth sufficient pam_sss.so\n")
    fx.file("etc/sssd/sssd.conf", SSSD_GOOD, 0o600)
    r = auditpack.run(S, fx)
    assert r.rc == 0, r
    assert ("OK", "domain example.org: ldap_uri ldaps://ldap.example.org, "
            "ldap_id_use_start_tls false (expected ldaps:// or StartTLS)") \
        in r.get("remoteauth.sssd-tls"), r
    assert ("INFO", "domain corp: providers ad/ad (ad, ipa, krb5: secure "
            "transport by default)") in r.get("remoteauth.sssd-tls"), r
    r.expect("remoteauth.sssd-cert", "OK")
    r.expect("remoteauth.bindpw-mode", "OK")
    r.expect("remoteauth.bind-dn", "OK")
    fx.file("etc/sssd/sssd.conf", SSSD_GOOD.replace(
        "ldaps://", "ldap://").replace("= demand", "= allow").replace(
        "cn=sssd,ou=services", "cn=Directory Manager"), 0o644)
    r = auditpack.run(S, fx)
    assert r.rc == 1, r
    assert [s for s, t in r.get("remoteauth.sssd-tls")
            if t.startswith("domain example.org")] == ["FAIL"], r
    r.expect("remoteauth.sssd-cert", "FAIL", "= allow")
    r.expect("remoteauth.bind-dn", "FAIL", "Directory Manager")
    r.expect("remoteauth.bindpw-mode", "FAIL", "mode 644")


@pytest.mark.skipif(not auditpack.IS_ROOT,
                    reason="needs root to run as nobody")
def test_sssd_conf_needs_root(fx):
    fx.file("etc/nsswitch.conf", NSS_LOCAL)
    fx.file("etc/sssd/sssd.conf", SSSD_GOOD, 0o600)
    r = auditpack.run(S, fx, as_nobody=True)
    r.expect("remoteauth.sssd-tls", "SKIP", r"\(needs root\)", rc=0)


def test_radius(fx):
    fx.file("etc/nsswitch.conf", NSS_LOCAL)
    fx.file("etc/pam.d/sshd", "auth sufficient pam_radius_auth.so\n")
    r = auditpack.run(S, fx)
    r.expect("remoteauth.radius", "WARN", "pam_radius_auth", rc=0)


def test_no_nsswitch(fx):
    r = auditpack.run(S, fx)
    r.expect("remoteauth.nis", "SKIP", "no /etc/nsswitch.conf", rc=0)
    if auditpack.IS_ROOT:
        fx.file("etc/nsswitch.conf", NSS_LOCAL, 0o600)
        r = auditpack.run(S, fx, as_nobody=True)
        r.expect("remoteauth.nis", "SKIP", "not readable", rc=2)
    assert os.path.isdir(fx.root)
