"""scripts/audit/file-permissions on fixture trees: the modes and owners of
the account files, SSH host keys and sudoers; files without owner or
group, world-writable files and directories without the sticky bit; and on
this machine (its searches bounded by the time budget)."""

import grp
import os
import socket

import pytest

import auditpack
from auditpack import fx  # noqa: F401

pytestmark = auditpack.SKIP_IN_ASAN
needs_root = pytest.mark.skipif(not auditpack.IS_ROOT,
                                reason="the fixtures chown files to root, "
                                       "shadow and unknown users")
SCRIPT = "file-permissions"
UNUSED_ID = 54321       # no user or group has it on the test machine

test_this_machine = auditpack.host_test(SCRIPT)


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
    fx.file("etc/shells", "/bin/sh\n")
    fx.file("etc/pam.d/common-auth", "auth required pam_unix.so\n")
    fx.file("etc/security/opasswd", "", 0o600)
    fx.file("usr/bin/tool", "#!/bin/sh\n", 0o755)
    fx.dir("usr/lib")


@needs_root
def test_compliant(fx):
    accounts(fx)
    r = auditpack.run(SCRIPT, fx)
    assert r.rc == 0, r
    for c in ("perms.passwd.mode", "perms.group.mode", "perms.shadow.mode",
              "perms.gshadow.mode", "perms.sshd.hostkeys",
              "perms.sudoers.mode", "perms.unowned",
              "perms.world-writable.files", "perms.world-writable.dirs",
              "perms.config.mode", "perms.secrets.mode", "perms.system-dirs",
              "perms.system-programs", "perms.fifos"):
        r.expect(c, "OK")
    r.expect("perms.config.mode", "OK", "/etc/shells 644 root:root")
    r.expect("perms.secrets.mode", "OK", "/etc/security/opasswd 600")
    r.expect("perms.system-dirs", "OK", "/usr/bin 755 root:root")
    r.expect("perms.sockets", "SKIP", "/proc/net/unix is not readable")
    r.expect("perms.passwd.mode", "OK", "/etc/passwd 644 root:root, "
             "/etc/passwd- 644")
    r.expect("perms.scope", "INFO", "^searched: the fixture root$")
    # as nobody: modes are read with stat, the tree is readable
    r = auditpack.run(SCRIPT, fx, as_nobody=True)
    r.expect("perms.shadow.mode", "OK", rc=0)


@needs_root
def test_findings(fx):
    accounts(fx, passwd=0o664, shadow=0o644, key=0o640, sudoers=0o644)
    os.chown(fx.path("etc/group"), UNUSED_ID, 0)
    os.chown(fx.path("etc/gshadow"), 0, UNUSED_ID)
    fx.dir("srv/drop", 0o777)
    fx.dir("srv/ok", 0o1777)
    os.chown(fx.file("srv/ok/left", "x\n"), UNUSED_ID, UNUSED_ID)
    fx.file("srv/drop/open", "x\n", 0o666)
    os.symlink("/etc/passwd", fx.path("srv/link"))     # symlinks are 0777
    os.chmod(fx.path("etc/pam.d/common-auth"), 0o664)
    os.chmod(fx.path("etc/security/opasswd"), 0o640)
    os.chmod(fx.path("usr/bin"), 0o775)
    os.chmod(fx.path("usr/bin/tool"), 0o775)
    r = auditpack.run(SCRIPT, fx)
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
    r.expect("perms.config.mode", "FAIL", "/etc/pam.d/common-auth mode 664")
    r.expect("perms.secrets.mode", "FAIL", "/etc/security/opasswd mode 640")
    r.expect("perms.system-dirs", "FAIL", "/usr/bin mode 775")
    r.expect("perms.system-programs", "FAIL", "^1 programs .*/usr/bin/tool "
             ".775 root.")


@needs_root
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
    r = auditpack.run(SCRIPT, fx)
    r.expect("perms.world-writable.files", "FAIL", "^12 regular files.* "
             "and 8 more", rc=1)
    r.expect("perms.unowned", "FAIL", "^12 files.*\\.\\.\\.e+/u03 .*and 8 more")
    r.expect("perms.world-writable.dirs", "FAIL", "^12 ")
    r.expect("perms.sudoers.mode", "FAIL", r"\.\.\.s+03 mode 640 and 8 more")


@needs_root
def test_not_applicable(fx):
    for f in ("passwd", "group"):
        fx.file("etc/" + f, "root:x:0:0::/root:/bin/sh\n")
    r = auditpack.run(SCRIPT, fx)
    r.expect("perms.sshd.hostkeys", "SKIP", "not applicable", rc=0)
    r.expect("perms.sudoers.mode", "SKIP", "sudo is not installed")
    r.expect("perms.shadow.mode", "SKIP", "not applicable")
    for c in ("perms.config.mode", "perms.secrets.mode", "perms.system-dirs",
              "perms.system-programs"):
        r.expect(c, "SKIP", "not applicable")


@needs_root
def test_unreadable_directory_as_nobody(fx):
    accounts(fx)
    fx.dir("root", 0o700)
    fx.file("root/secret", "", 0o666)
    r = auditpack.run(SCRIPT, fx, as_nobody=True)
    r.expect("perms.world-writable.files", "OK",
             "1 directories not readable .needs root.", rc=0)
    r.expect("perms.scope", "INFO", "1 directories not readable .needs "
             "root.$")
    auditpack.run(SCRIPT, fx).expect("perms.world-writable.files", "FAIL",
                                      "/root/secret", rc=1)


# R52: named sockets (as /proc/net/unix lists them) and named pipes. These
# need no chown: they run as a normal user too (where the account files,
# the user's, are findings of other checks).

UNIX_HEADER = "Num       RefCount Protocol Flags    Type St Inode Path\n"


def bound(fx, rel, mode):
    """A Unix socket bound at ROOT/rel (its file stays), of mode MODE."""
    p = str(fx.path(rel))
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.bind(p)
    finally:
        s.close()
    os.chmod(p, mode)


def unix_table(fx, *paths):
    """ROOT/proc/net/unix listing PATHS (as on the audited system)."""
    rows = "".join("00000000%08x: 00000002 00000000 00010000 0001 01 %d %s\n"
                   % (n, 3000 + n, p) for n, p in enumerate(paths))
    fx.file("proc/net/unix", UNIX_HEADER + rows)


def sockets_tree(fx):
    fx.dir("run")
    fx.dir("run/dbus")
    bound(fx, "run/dbus/system_bus_socket", 0o666)     # public by design
    fx.dir("run/app", 0o750)
    bound(fx, "run/app/app.sock", 0o666)               # its directory protects
    bound(fx, "run/db.sock", 0o660)                    # its mode protects
    bound(fx, "run/stale.sock", 0o666)                 # bound by nobody now
    os.mkfifo(fx.path("run/app/ctl"), 0o600)
    os.chmod(fx.path("run/app/ctl"), 0o666)            # its directory protects
    os.mkfifo(fx.path("run/initctl"), 0o600)
    unix_table(fx, "/run/dbus/system_bus_socket", "/run/app/app.sock",
               "/run/db.sock", "/run/db.sock", "/run/gone.sock",
               "@/tmp/.X11-unix/X0")


def test_sockets_and_pipes_protected(fx):
    sockets_tree(fx)
    r = auditpack.run(SCRIPT, fx)
    r.expect("perms.sockets", "OK", "^4 named sockets, none open to every "
             "user but the public ones, 1 open to every user by design "
             r"\(/run/dbus/system_bus_socket\); 1 abstract sockets")
    r.expect("perms.fifos", "OK", "^no named pipe open to every user$")
    if auditpack.IS_ROOT:
        # nobody cannot enter /run/app: what it cannot reach, others cannot
        r = auditpack.run(SCRIPT, fx, as_nobody=True)
        r.expect("perms.sockets", "OK", "none open")
        r.expect("perms.fifos", "OK", "no named pipe .*not readable")


def test_sockets_and_pipes_open(fx):
    sockets_tree(fx)
    os.chmod(fx.path("run/app"), 0o755)
    r = auditpack.run(SCRIPT, fx)
    r.expect("perms.sockets", "WARN", "^1 named sockets any local user can "
             r"connect to: /run/app/app.sock \(666 [^)]*\) \(expected .*\), "
             "1 open to every user by design")
    r.expect("perms.fifos", "FAIL", "^1 named pipes any local user can read "
             r"or write: /run/app/ctl \(666 ", rc=1)
    # a socket reachable through a directory others may only search
    os.chmod(fx.path("run/app"), 0o711)
    r = auditpack.run(SCRIPT, fx)
    r.expect("perms.sockets", "WARN", "/run/app/app.sock")
    # a pipe only readable by others is open too
    os.chmod(fx.path("run/app/ctl"), 0o604)
    r.expect("perms.fifos", "FAIL", "/run/app/ctl")
    if auditpack.IS_ROOT:
        # nobody may open it but cannot list /run/app (0711): not found,
        # and the text says what was not searched
        auditpack.run(SCRIPT, fx, as_nobody=True).expect(
            "perms.fifos", "OK", "1 directories not readable .needs root.")
        os.chmod(fx.path("run/app"), 0o755)
        auditpack.run(SCRIPT, fx, as_nobody=True).expect(
            "perms.fifos", "FAIL", "/run/app/ctl .604", rc=1)


def test_no_named_sockets(fx):
    unix_table(fx)
    r = auditpack.run(SCRIPT, fx)
    r.expect("perms.sockets", "OK", "^no socket bound to a path$")
    r.expect("perms.fifos", "OK")


# R50: the interactive accounts' homes and dot files

HOMES = ("root:x:0:0::/root:/bin/sh\n"
         "www-data:x:33:33::/var/www:/usr/sbin/nologin\n"
         "alice:x:1000:1000::/home/alice:/bin/bash\n"
         "bob:x:1001:1001::/home/bob:/bin/bash\n"
         "gone:x:1002:1002::/home/gone:/bin/bash\n")


def homes(fx, mode=0o750):
    fx.file("etc/passwd", HOMES)
    fx.file("etc/login.defs", "UID_MIN 1000\n")
    fx.dir("var/www", 0o777)            # a service account's: not judged
    for uid, name in ((1000, "alice"), (1001, "bob")):
        h = fx.dir("home/" + name, mode)
        os.chown(h, uid, uid)
        os.chown(fx.file("home/%s/.profile" % name, "umask 077\n"), uid, uid)
        os.symlink("/dev/null", fx.path("home/%s/.bash_history" % name))


@needs_root
def test_homes_compliant(fx):
    homes(fx)
    r = auditpack.run(SCRIPT, fx)
    r.expect("perms.home", "OK", "^2 home directories and their dot files")
    # as nobody, the homes (0750) can be stat'ed, not listed
    r = auditpack.run(SCRIPT, fx, as_nobody=True)
    r.expect("perms.home", "OK", "2 home directories not readable: their "
             "dot files need root")
    os.chmod(fx.path("home/bob"), 0o755)
    auditpack.run(SCRIPT, fx).expect("perms.home", "WARN",
                                      "readable by others: /home/bob .755.")


@needs_root
def test_homes_findings(fx):
    homes(fx)
    os.chmod(fx.path("home/alice"), 0o770)
    os.chown(fx.path("home/bob"), 0, 0)
    os.chown(fx.file("home/alice/.bashrc", ""), 0, 0)
    os.chmod(fx.file("home/alice/.ssh/authorized_keys", "", 0o600)
             .parent, 0o777)
    os.chown(fx.path("home/alice/.ssh"), 1000, 1000)
    r = auditpack.run(SCRIPT, fx)
    text = r.expect("perms.home", "FAIL", "^4 home directories or dot files "
                    "not their account's", rc=1).text("perms.home")
    for want in ("/home/alice (mode 770)", "/home/alice/.bashrc (644, owner 0)",
                 "/home/alice/.ssh (777, owner 1000)", "/home/bob (owner 0, not bob)"):
        assert want in text, text


def test_homes_not_applicable(fx):
    fx.file("etc/passwd", "root:x:0:0::/root:/bin/sh\n")
    auditpack.run(SCRIPT, fx).expect("perms.home", "SKIP", "not applicable")
