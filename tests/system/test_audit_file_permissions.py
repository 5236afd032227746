"""scripts/audit/file-permissions on fixture trees: the modes and owners of
the account files, SSH host keys and sudoers; files without owner or
group, world-writable files and directories without the sticky bit; and on
this machine (its searches bounded by the time budget)."""

import grp
import os

import pytest

import auditcases
import auditpack
from auditpack import fx  # noqa: F401

pytestmark = [auditpack.SKIP_IN_ASAN,
              pytest.mark.skipif(not auditpack.IS_ROOT,
                                 reason="the fixtures chown files to root, "
                                        "shadow and unknown users")]
SCRIPT = "file-permissions"
UNUSED_ID = 54321       # no user or group has it on the test machine

test_this_machine = auditcases.host_test(SCRIPT)


def shadow_gid():
    try:
        return grp.getgrnam("shadow").gr_gid
    except KeyError:
        return 0


def accounts(fx, passwd=0o644, shadow=0o640, key=0o600, sudoers=0o440):
    for f in ("passwd", "passwd-", "group", "group-"):
        fx.file("etc/" + f, "root:x:0:0::/root:/bin/sh\n", passwd)
    for f in ("shadow", "shadow-", "gshadow", "gshadow-"):
        os.chown(fx.file("etc/" + f, "root:*::\n", shadow), 0, shadow_gid())
    fx.file("etc/ssh/ssh_host_ed25519_key", "not a key\n", key)
    fx.file("etc/ssh/ssh_host_ed25519_key.pub", "ssh-ed25519 AAAA\n")
    fx.file("etc/sudoers", "root ALL=(ALL) ALL\n", sudoers)
    fx.file("etc/sudoers.d/admins", "%sudo ALL=(ALL) ALL\n", sudoers)
    fx.dir("tmp", 0o1777)


def test_compliant(fx):
    accounts(fx)
    r = auditcases.run(SCRIPT, fx)
    assert r.rc == 0, r
    for c in ("perms.passwd.mode", "perms.group.mode", "perms.shadow.mode",
              "perms.gshadow.mode", "perms.sshd.hostkeys",
              "perms.sudoers.mode", "perms.unowned",
              "perms.world-writable.files", "perms.world-writable.dirs"):
        r.expect(c, "OK")
    r.expect("perms.passwd.mode", "OK", "/etc/passwd 644 root:root, "
             "/etc/passwd- 644")
    r.expect("perms.scope", "INFO", "^searched: the fixture root$")
    # as nobody: modes are read with stat, the tree is readable
    r = auditcases.run(SCRIPT, fx, as_nobody=True)
    r.expect("perms.shadow.mode", "OK", rc=0)


def test_findings(fx):
    accounts(fx, passwd=0o664, shadow=0o644, key=0o640, sudoers=0o644)
    os.chown(fx.path("etc/group"), UNUSED_ID, 0)
    os.chown(fx.path("etc/gshadow"), 0, UNUSED_ID)
    fx.dir("srv/drop", 0o777)
    fx.dir("srv/ok", 0o1777)
    os.chown(fx.file("srv/ok/left", "x\n"), UNUSED_ID, UNUSED_ID)
    fx.file("srv/drop/open", "x\n", 0o666)
    os.symlink("/etc/passwd", fx.path("srv/link"))     # symlinks are 0777
    r = auditcases.run(SCRIPT, fx)
    assert r.rc == 1, r
    r.expect("perms.passwd.mode", "FAIL", "/etc/passwd mode 664")
    r.expect("perms.group.mode", "FAIL",
             "/etc/group mode 664, owner %d" % UNUSED_ID)
    r.expect("perms.shadow.mode", "FAIL", "/etc/shadow mode 644")
    r.expect("perms.gshadow.mode", "FAIL", "group %d" % UNUSED_ID)
    r.expect("perms.sshd.hostkeys", "FAIL", "ssh_host_ed25519_key mode 640")
    r.expect("perms.sudoers.mode", "FAIL", "/etc/sudoers mode 644")
    r.expect("perms.unowned", "FAIL", "^3 files .*/etc/group .*/etc/gshadow .*/srv/ok/left")
    r.expect("perms.world-writable.files", "FAIL",
             "^1 regular files .*/srv/drop/open .666.")
    r.expect("perms.world-writable.dirs", "FAIL",
             "^1 world-writable directories .*/srv/drop .777.")


def test_lists_are_capped(fx):
    # long names too: every line stays within the runner's 500 characters
    accounts(fx)
    deep = "srv/" + "d" * 120 + "/" + "e" * 120
    for n in range(12):
        fx.file("%s/f%02d" % (deep, n), "", 0o646)
        os.chown(fx.file("%s/u%02d" % (deep, n), ""), UNUSED_ID, UNUSED_ID)
        fx.dir("%s/w%02d" % (deep, n), 0o777)
    for n in range(12):
        fx.file("etc/sudoers.d/%s%02d" % ("s" * 80, n), "", 0o640)
    r = auditcases.run(SCRIPT, fx)
    r.expect("perms.world-writable.files", "FAIL", "^12 regular files.* "
             "and 8 more", rc=1)
    r.expect("perms.unowned", "FAIL", "^12 files.*\\.\\.\\.e+/u03 .*and 8 more")
    r.expect("perms.world-writable.dirs", "FAIL", "^12 ")
    r.expect("perms.sudoers.mode", "FAIL", r"\.\.\.s+03 mode 640 and 8 more")


def test_not_applicable(fx):
    for f in ("passwd", "group"):
        fx.file("etc/" + f, "root:x:0:0::/root:/bin/sh\n")
    r = auditcases.run(SCRIPT, fx)
    r.expect("perms.sshd.hostkeys", "SKIP", "not applicable", rc=0)
    r.expect("perms.sudoers.mode", "SKIP", "sudo is not installed")
    r.expect("perms.shadow.mode", "SKIP", "not applicable")


def test_unreadable_directory_as_nobody(fx):
    accounts(fx)
    fx.dir("root", 0o700)
    fx.file("root/secret", "", 0o666)
    r = auditcases.run(SCRIPT, fx, as_nobody=True)
    r.expect("perms.world-writable.files", "OK",
             "1 directories not readable .needs root.", rc=0)
    r.expect("perms.scope", "INFO", "1 directories not readable .needs "
             "root.$")
    auditcases.run(SCRIPT, fx).expect("perms.world-writable.files", "FAIL",
                                      "/root/secret", rc=1)
