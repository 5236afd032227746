"""boot-loader on fixture trees (ROOT/boot): the GRUB password (BP-028
v2.0 R5), the owner and mode of grub.cfg and user.cfg, /boot and the
System.map files (R29), each compliant, non-compliant and not applicable
(no GRUB, no /boot: a container); then on this machine, as-is and as
nobody."""

import os

import pytest

import auditpack
from auditpack import fx  # noqa: F401

pytestmark = auditpack.SKIP_IN_ASAN

S = "boot-loader"
CHECKS = ("boot.grub.password", "boot.grub.cfg.mode", "boot.dir.mode",
          "boot.systemmap.mode")
PBKDF2 = ("grub.pbkdf2.sha512.10000.0123456789ABCDEF.FEDCBA9876543210")
GRUB_CFG = """\
### BEGIN /etc/grub.d/01_password ###
set superusers="admin"
password_pbkdf2 admin %s
### END /etc/grub.d/01_password ###
menuentry 'Debian GNU/Linux' --class debian --unrestricted {
	linux /vmlinuz-6.1.0-13-amd64 root=/dev/sda1 ro quiet
}
""" % PBKDF2
NO_PASSWORD = """\
menuentry 'Debian GNU/Linux' --class debian {
	linux /vmlinuz-6.1.0-13-amd64 root=/dev/sda1 ro quiet
}
"""


def boot(fx, cfg=GRUB_CFG, cfg_mode=0o600, boot_mode=0o700,
         map_mode=0o600, where="boot/grub/grub.cfg"):
    fx.file(where, cfg, cfg_mode)
    fx.file("boot/System.map-6.1.0-13-amd64", "ffffffff81000000 T _text\n",
            map_mode)
    fx.file("boot/vmlinuz-6.1.0-13-amd64", "kernel", 0o644)
    for d in ("boot/grub", "boot/grub2"):
        if fx.path(d).is_dir():
            os.chmod(fx.path(d), 0o700)
    os.chmod(fx.path("boot"), boot_mode)


@auditpack.needs_root("to make /boot and its files root's")
def test_compliant(fx):
    boot(fx)
    r = auditpack.run(S, fx)
    r.expect("boot.grub.password", "OK", r"superusers with a PBKDF2 password "
             r"\(/boot/grub/grub.cfg\)", rc=0)
    r.expect("boot.grub.cfg.mode", "OK", r"/boot/grub/grub.cfg is root's, "
             r"mode 600")
    r.expect("boot.dir.mode", "OK", r"/boot is root's, mode 700")
    r.expect("boot.systemmap.mode", "OK")


@pytest.mark.skipif(not auditpack.IS_ROOT, reason="needs root to make "
                    "root-only files")
def test_compliant_as_nobody(fx):
    # /boot 0700: nobody sees nothing in it, and says so
    boot(fx)
    r = auditpack.run(S, fx, as_nobody=True)
    assert r.rc == 0, r
    r.expect("boot.grub.password", "SKIP", r"needs root")
    r.expect("boot.grub.cfg.mode", "SKIP", r"needs root")
    r.expect("boot.dir.mode", "OK")
    r.expect("boot.systemmap.mode", "SKIP", r"needs root")


@pytest.mark.skipif(not auditpack.IS_ROOT, reason="needs root to make "
                    "root-only files")
def test_password_unreadable_as_nobody(fx):
    boot(fx, boot_mode=0o755)
    os.chmod(fx.path("boot/grub"), 0o755)
    r = auditpack.run(S, fx, as_nobody=True)
    r.expect("boot.grub.password", "SKIP", r"/boot/grub/grub.cfg not "
             r"readable \(needs root\)")
    r.expect("boot.grub.cfg.mode", "OK")
    r.expect("boot.dir.mode", "FAIL", rc=1)


@auditpack.needs_root("to make /boot and its files root's")
def test_non_compliant(fx):
    boot(fx, cfg=NO_PASSWORD, cfg_mode=0o444, boot_mode=0o755,
         map_mode=0o644)
    r = auditpack.run(S, fx)
    assert r.rc == 1, r
    r.expect("boot.grub.password", "FAIL", r"^no GRUB password in "
             r"/boot/grub/grub.cfg \(expected set superusers and "
             r"password_pbkdf2")
    r.expect("boot.grub.cfg.mode", "FAIL", r"has mode 444 \(expected 0600")
    r.expect("boot.dir.mode", "FAIL", r"/boot has mode 755 \(expected 0700")
    r.expect("boot.systemmap.mode", "FAIL", r"System.map-6.1.0-13-amd64 has "
             r"mode 644")


@auditpack.needs_root("to make /boot and its files root's")
def test_cleartext_password(fx):
    boot(fx, cfg='set superusers="admin"\npassword admin secret\n')
    r = auditpack.run(S, fx)
    r.expect("boot.grub.password", "FAIL", r"cleartext GRUB password", rc=1)
    assert [c for c, _ in r.with_status("FAIL")] == ["boot.grub.password"]


def test_pbkdf2_without_superusers(fx):
    boot(fx, cfg="password_pbkdf2 admin %s\n" % PBKDF2)
    r = auditpack.run(S, fx)
    r.expect("boot.grub.password", "FAIL", r"without set superusers", rc=1)


@pytest.mark.skipif(not auditpack.IS_ROOT, reason="needs root to chown")
def test_cfg_not_owned_by_root(fx):
    boot(fx)
    os.chown(fx.path("boot/grub/grub.cfg"), auditpack.NOBODY,
             auditpack.NOBODY)
    r = auditpack.run(S, fx)
    r.expect("boot.grub.cfg.mode", "FAIL", r"owned by UID 65534", rc=1)


@auditpack.needs_root("to make /boot and its files root's")
def test_red_hat_user_cfg(fx):
    # grub2-setpassword: the hash in user.cfg, superusers in grub.cfg's
    # 01_users; each file's mode is checked
    boot(fx, cfg='set superusers="root"\nexport superusers\n'
                 'password_pbkdf2 root ${GRUB2_PASSWORD}\n',
         where="boot/grub2/grub.cfg")
    fx.file("boot/grub2/user.cfg", "GRUB2_PASSWORD=%s\n" % PBKDF2, 0o644)
    r = auditpack.run(S, fx)
    assert r.rc == 1, r
    r.expect("boot.grub.password", "OK")
    modes = dict((t.split()[2], s) for s, t in r.get("boot.grub.cfg.mode"))
    assert modes == {"/boot/grub2/grub.cfg": "OK",
                     "/boot/grub2/user.cfg": "FAIL"}, r


def test_container_without_boot(fx):
    r = auditpack.run(S, fx)
    assert r.rc == 0, r
    for c in CHECKS:
        assert r.status(c) == "SKIP", r
    r.expect("boot.grub.password", "SKIP", r"no GRUB configuration")


def test_empty_boot_is_not_a_finding(fx):
    # a container's empty /boot 0755: nothing boots from it
    fx.dir("boot", 0o755)
    r = auditpack.run(S, fx)
    assert r.rc == 0, r
    r.expect("boot.dir.mode", "SKIP", r"no kernel and no boot loader")
    r.expect("boot.systemmap.mode", "SKIP")


@auditpack.needs_root("to make /boot and its files root's")
def test_another_boot_loader(fx):
    # a kernel in /boot but no GRUB: the GRUB checks do not apply, /boot's
    # mode does
    fx.file("boot/vmlinuz-6.1.0-13-amd64", "kernel")
    os.chmod(fx.path("boot"), 0o700)
    r = auditpack.run(S, fx)
    assert r.rc == 0, r
    r.expect("boot.grub.password", "SKIP")
    r.expect("boot.grub.cfg.mode", "SKIP")
    r.expect("boot.dir.mode", "OK")
    r.expect("boot.systemmap.mode", "SKIP", r"not present")


test_this_machine = auditpack.host_test(S, CHECKS)
