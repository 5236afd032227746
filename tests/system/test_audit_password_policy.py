"""password-policy on fixture trees (ROOT/etc/pam.d, etc/security,
etc/login.defs, etc/shadow, etc/gshadow): pam_pwquality and its minlen and
minclass, pam_faillock and deny, the password history (BP-028 v2.0 R31),
nullok and the hash of pam_unix, ENCRYPT_METHOD, PASS_MAX_DAYS (R31, R68),
PASS_MIN_DAYS and PASS_WARN_AGE (CIS: WARN) and the hashes in /etc/shadow
(R68; the modes of /etc/shadow and /etc/gshadow are file-permissions'
perms.shadow.mode and perms.gshadow.mode); Debian and Red Hat
stacks with their includes; no PAM; nobody (shadow unreadable); then on
this machine."""

import grp
import os

import pytest

import auditpack
from auditpack import fx  # noqa: F401

pytestmark = auditpack.SKIP_IN_ASAN

S = "password-policy"
PAM = ("pam.pwquality", "pam.pwquality.minlen", "pam.pwquality.minclass",
       "pam.faillock", "pam.faillock.deny", "pam.pwhistory",
       "pam.unix.nullok", "pam.unix.hash")
DEFS = ("password.encrypt_method", "password.max_days", "password.min_days",
        "password.warn_age")
FILES = ("password.hashes",)

AUTH_GOOD = """\
# /etc/pam.d/common-auth
auth	required			pam_faillock.so preauth
auth	[success=1 default=ignore]	pam_unix.so
auth	[default=die]			pam_faillock.so authfail
auth	requisite			pam_deny.so
auth	required			pam_permit.so
"""
PASSWORD_GOOD = """\
password	requisite			pam_pwquality.so retry=3
password	required			pam_pwhistory.so remember=5 use_authtok
password	[success=1 default=ignore]	pam_unix.so obscure use_authtok try_first_pass yescrypt
password	requisite			pam_deny.so
password	required			pam_permit.so
"""
# Debian 12 as installed
AUTH_DEBIAN = """\
auth	[success=1 default=ignore]	pam_unix.so nullok
auth	requisite			pam_deny.so
auth	required			pam_permit.so
"""
PASSWORD_DEBIAN = """\
password	[success=1 default=ignore]	pam_unix.so obscure yescrypt
password	requisite			pam_deny.so
password	required			pam_permit.so
"""
DEFS_GOOD = ("PASS_MAX_DAYS\t365\nPASS_MIN_DAYS\t1\nPASS_WARN_AGE\t7\n"
             "ENCRYPT_METHOD YESCRYPT\n")
DEFS_DEBIAN = ("PASS_MAX_DAYS\t99999\nPASS_MIN_DAYS\t0\nPASS_WARN_AGE\t7\n"
               "#ENCRYPT_METHOD SHA512\n")
SHADOW = ("root:$y$j9T$salt$hash:19700:0:99999:7:::\n"
          "daemon:*:19700:0:99999:7:::\n"
          "alice:$6$salt$hash:19700:0:99999:7:::\n"
          "bob:!$y$j9T$salt$hash:19700:0:99999:7:::\n")


def shadow_gid():
    try:
        return grp.getgrnam("shadow").gr_gid
    except KeyError:
        return 0


def policy(fx, auth=AUTH_GOOD, password=PASSWORD_GOOD, defs=DEFS_GOOD,
           pwquality="minlen = 15\nminclass = 4\n", faillock="deny = 5\n",
           shadow=SHADOW, mode=0o640):
    fx.file("etc/pam.d/common-auth", auth)
    fx.file("etc/pam.d/common-password", password)
    if pwquality is not None:
        fx.file("etc/security/pwquality.conf", "# minlen = 8\n" + pwquality)
    if faillock is not None:
        fx.file("etc/security/faillock.conf", faillock)
    if defs is not None:
        fx.file("etc/login.defs", defs)
    for name in ("shadow", "gshadow"):
        f = fx.file("etc/" + name, shadow, mode)
        if auditpack.IS_ROOT:
            os.chown(f, 0, shadow_gid())


def test_compliant(fx):
    policy(fx)
    r = auditpack.run(S, fx)
    assert r.rc == 0, r
    for c in PAM + DEFS + FILES:
        r.expect(c, "OK")
    r.expect("pam.pwquality.minlen", "OK", r"^minlen = 15$")
    r.expect("pam.faillock.deny", "OK", r"^deny = 5$")
    r.expect("pam.pwhistory", "OK", r"last 5 passwords")
    r.expect("pam.unix.hash", "OK", r"yescrypt")


@pytest.mark.skipif(not auditpack.IS_ROOT, reason="needs root to make a "
                    "root-only /etc/shadow")
def test_compliant_as_nobody(fx):
    policy(fx)
    r = auditpack.run(S, fx, as_nobody=True)
    assert r.rc == 0, r
    r.expect("password.hashes", "SKIP", r"not readable \(needs root\)")


def test_debian_as_installed(fx):
    policy(fx, auth=AUTH_DEBIAN, password=PASSWORD_DEBIAN, defs=DEFS_DEBIAN,
           pwquality=None, faillock=None)
    r = auditpack.run(S, fx)
    assert r.rc == 1, r
    for c in ("pam.pwquality", "pam.pwquality.minlen",
              "pam.pwquality.minclass", "pam.faillock", "pam.faillock.deny",
              "pam.pwhistory"):
        r.expect(c, "FAIL")
    r.expect("pam.unix.nullok", "FAIL", r"nullok in the auth stack")
    r.expect("pam.unix.hash", "OK", r"yescrypt")
    r.expect("password.encrypt_method", "FAIL", r"not set")
    r.expect("password.max_days", "FAIL", r"PASS_MAX_DAYS 99999 \(expected "
             r"365 or less")
    r.expect("password.min_days", "WARN", r"PASS_MIN_DAYS 0")
    r.expect("password.warn_age", "OK")


def test_weak_values(fx):
    policy(fx, pwquality="minlen = 10\nminclass = 2\nenforcing = 0\n",
           faillock="deny = 0\n",
           password=PASSWORD_GOOD.replace("remember=5", "remember=1")
           .replace("yescrypt", "md5"),
           defs="PASS_MAX_DAYS 400\nPASS_MIN_DAYS 1\nPASS_WARN_AGE 3\n"
                "ENCRYPT_METHOD MD5\n",
           shadow=SHADOW + "carol:$1$salt$hash:19700:0:99999:7:::\n"
                           "dave:abcdefghijklm:19700:0:99999:7:::\n")
    r = auditpack.run(S, fx)
    assert r.rc == 1, r
    r.expect("pam.pwquality", "FAIL", r"enforcing = 0")
    r.expect("pam.pwquality.minlen", "FAIL", r"^minlen = 10 \(expected 15")
    r.expect("pam.pwquality.minclass", "FAIL", r"^minclass = 2 ")
    r.expect("pam.faillock.deny", "FAIL", r"^deny = 0 \(expected 1 to 5")
    r.expect("pam.pwhistory", "FAIL")
    r.expect("pam.unix.hash", "FAIL", r"weak hash")
    r.expect("password.encrypt_method", "FAIL", r"ENCRYPT_METHOD MD5")
    r.expect("password.max_days", "FAIL", r"PASS_MAX_DAYS 400")
    r.expect("password.warn_age", "WARN", r"PASS_WARN_AGE 3")
    r.expect("password.hashes", "FAIL", r"carol\(MD5\) dave\(DES\) "
             r"\(expected")


def test_module_options_win_and_credits(fx):
    # options on the module line win over pwquality.conf; four negative
    # credits are as good as minclass = 4
    policy(fx, pwquality="minlen = 8\n",
           password=PASSWORD_GOOD.replace(
               "retry=3", "retry=3 minlen=16 dcredit=-1 ucredit=-1 "
                          "lcredit=-1 ocredit=-1"))
    r = auditpack.run(S, fx)
    assert r.rc == 0, r
    r.expect("pam.pwquality.minlen", "OK", r"^minlen = 16$")
    r.expect("pam.pwquality.minclass", "OK", r"4 classes required by "
             r"credits")


def test_defaults_of_the_modules(fx):
    # faillock's deny defaults to 3; pwquality's minlen to 8
    policy(fx, faillock=None, pwquality="minclass = 4\n")
    r = auditpack.run(S, fx)
    r.expect("pam.faillock.deny", "OK", r"^deny = 3$")
    r.expect("pam.pwquality.minlen", "FAIL", r"8 \(the default\)", rc=1)


def test_includes_and_red_hat_stack(fx):
    # Red Hat: system-auth and password-auth, "include" and "substack"
    fx.file("etc/pam.d/system-auth",
            "auth        required      pam_env.so\n"
            "auth        substack      faillock-rules\n"
            "password    include       pw-rules\n"
            "account     required      pam_unix.so\n")
    fx.file("etc/pam.d/password-auth", "auth        include       "
                                       "system-auth\n")
    fx.file("etc/pam.d/faillock-rules",
            "auth required pam_faillock.so preauth silent deny=4\n"
            "auth sufficient pam_unix.so\n"
            "auth [default=die] pam_faillock.so authfail deny=4\n")
    fx.file("etc/pam.d/pw-rules",
            "password requisite pam_pwquality.so\n"
            "password requisite pam_pwhistory.so remember=4\n"
            "password sufficient pam_unix.so sha512 shadow use_authtok\n"
            "auth required pam_unix.so nullok\n")    # not a password rule
    fx.file("etc/security/pwquality.conf", "minlen = 15\nminclass = 4\n")
    fx.file("etc/login.defs", DEFS_GOOD)
    r = auditpack.run(S, fx)
    for c in PAM:
        r.expect(c, "OK")
    r.expect("pam.faillock.deny", "OK", r"^deny = 4$")
    r.expect("pam.unix.hash", "OK", r"sha512")
    # no /etc/shadow in this fixture
    r.expect("password.hashes", "SKIP", r"not present", rc=0)


def test_debian_at_include(fx):
    policy(fx, password="@include common-pwquality\n" + PASSWORD_DEBIAN)
    fx.file("etc/pam.d/common-pwquality",
            "password requisite pam_pwquality.so retry=3\n"
            "password required pam_pwhistory.so remember=2\n")
    r = auditpack.run(S, fx)
    r.expect("pam.pwquality", "OK", rc=0)
    r.expect("pam.pwhistory", "OK", r"last 2 passwords")


@pytest.mark.skipif(not auditpack.IS_ROOT, reason="needs root to chown")
def test_shadow_modes_are_file_permissions(fx):
    # one CHECK-ID per check in the pack: the modes of /etc/shadow and
    # /etc/gshadow are file-permissions', not printed here again
    policy(fx, mode=0o644)
    os.chown(fx.path("etc/gshadow"), auditpack.NOBODY, 0)
    r = auditpack.run(S, fx)
    assert not r.checks() & {"password.shadow.mode", "password.gshadow.mode"}
    r.expect("password.hashes", "OK", rc=0)
    r = auditpack.run("file-permissions", fx)
    r.expect("perms.shadow.mode", "FAIL", r"/etc/shadow mode 644", rc=1)
    r.expect("perms.gshadow.mode", "FAIL", r"/etc/gshadow mode 644, owner ")


def test_no_pam(fx):
    fx.file("etc/login.defs", DEFS_GOOD)
    r = auditpack.run(S, fx)
    assert r.rc == 0, r
    for c in PAM:
        r.expect(c, "SKIP", r"PAM not installed")
    for c in FILES:
        r.expect(c, "SKIP", r"not present")
    for c in DEFS:
        r.expect(c, "OK")


def test_nothing(fx):
    r = auditpack.run(S, fx)
    for c in DEFS:
        r.expect(c, "SKIP", r"/etc/login.defs is not present", rc=0)


test_this_machine = auditpack.host_test(S, PAM + DEFS + FILES)
