"""The tentacle's TLS key where the dropped user cannot write (issue 13 item
14): state_dir/private/tentacle.key, the directory 0700 and the running
user's (root's with privilege separation, while state_dir is the user's);
a key of an older tentacle in state_dir is moved there; a key that is a
symbolic link, of the wrong mode or owner, or in a directory someone else
may write to, is refused with a clear message."""

import os
import pwd
import shutil
import stat

import pytest

from octotest import wait_for
from test_enrolment import new_tentacle, tentacle_bin  # noqa: F401
from test_tentacle_privsep import need_root, roomy_tentacle  # noqa: F401

EXIT_RUNTIME = 1


def started(t):
    t.start()
    t.stop()
    t.proc = None


def refused(t, pattern):
    """Start t: it stops at once (status 1) with a line matching
    pattern, before any child listens."""
    mark = len(t.log())
    t.start(wait=False)
    assert t.wait_exit() == EXIT_RUNTIME, t.log()[mark:]
    t.proc = None
    assert "listening on" not in t.log()[mark:]
    t.wait_log(pattern, start=mark)


def test_key_in_its_own_directory(new_tentacle):  # noqa: F811
    t = new_tentacle()
    t.start()
    st = t.key.stat()
    assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (os.geteuid(), 0o600)
    st = t.key.parent.stat()
    assert t.key.parent == t.state_dir / "private"
    assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (os.geteuid(), 0o700)
    assert not (t.state_dir / "tentacle.key").exists()
    assert t.cert.exists()
    r = t.run("-n", "-v")
    assert "key = %s" % t.key in r.stdout, r.stdout


def test_old_key_moved(new_tentacle):  # noqa: F811
    t = new_tentacle()
    started(t)
    key = t.key.read_bytes()
    old = t.state_dir / "tentacle.key"
    os.rename(t.key, old)
    t.key.parent.rmdir()
    t.start()
    t.wait_log(r"moved the TLS key %s to %s" % (old, t.key))
    assert t.key.read_bytes() == key
    assert not old.exists()
    assert "generated key" not in t.log().split("moved the TLS key")[1]


@pytest.mark.parametrize("how, pattern", [
    ("symlink", r"tentacle\.key: refused: a symbolic link"),
    ("mode", r"tentacle\.key: refused: mode 0644: must be 0600"),
    ("fifo", r"tentacle\.key: refused: not a regular file"),
    ("hardlink", r"tentacle\.key: refused: has 2 hard links, not 1"),
    ("dir-mode", r"its directory .*private is refused: mode 0777: "
     r"writable by group or others"),
    ("dir-symlink", r"its directory .*private is refused: not a directory "
     r"\(a symbolic link\?\)"),
    # The certificate is public and in state_dir (the user's): still never
    # a link followed or a FIFO waited on.
    ("cert-fifo", r"certificate .*tentacle\.crt: refused: not a regular "
     r"file"),
    ("cert-symlink", r"certificate .*tentacle\.crt: refused: a symbolic "
     r"link"),
])
def test_bad_key_refused(new_tentacle, how, pattern):  # noqa: F811
    t = new_tentacle()
    started(t)
    saved = t.dir / "saved.key"
    shutil.copy(t.key, saved)
    os.chmod(saved, 0o600)
    if how == "symlink":
        t.key.unlink()
        os.symlink(saved, t.key)
    elif how == "mode":
        os.chmod(t.key, 0o644)
    elif how == "fifo":
        t.key.unlink()
        os.mkfifo(t.key, 0o600)
    elif how == "hardlink":
        os.link(t.key, t.dir / "another.key")
    elif how == "dir-mode":
        os.chmod(t.key.parent, 0o777)
    elif how == "cert-fifo":
        t.cert.unlink()
        os.mkfifo(t.cert, 0o644)
    elif how == "cert-symlink":
        shutil.copy(t.cert, t.dir / "saved.crt")
        t.cert.unlink()
        os.symlink(t.dir / "saved.crt", t.cert)
    elif how == "dir-symlink":
        elsewhere = t.dir / "elsewhere"
        os.rename(t.key.parent, elsewhere)
        os.symlink(elsewhere, t.key.parent)
    refused(t, pattern)
    if how in ("symlink", "fifo"):
        # Never replaced by a new key either.
        assert "generated key" not in t.log().split("refused")[-1]


def test_old_key_refused_not_moved(new_tentacle):  # noqa: F811
    """An old key in state_dir that is a symbolic link (planted where the
    user writes) is not moved, and no new key is made in its place."""
    t = new_tentacle()
    started(t)
    saved = t.dir / "saved.key"
    os.rename(t.key, saved)
    t.key.parent.rmdir()
    os.symlink(saved, t.state_dir / "tentacle.key")
    refused(t, r"state/tentacle\.key: refused: a symbolic link; not moved "
            r"to .*private/tentacle\.key")
    assert not t.key.exists()


@need_root
def test_worker_cannot_replace_key(roomy_tentacle):  # noqa: F811
    """With privilege separation, state_dir is the user's and the key's
    directory root's: the user can neither write the key nor put one of
    its own there; a directory it puts in its place is refused."""
    nobody = pwd.getpwnam("nobody")
    t = roomy_tentacle(user="nobody")
    t.start()
    t.wait_log(r"register and command worker as user nobody")
    assert t.state_dir.stat().st_uid == nobody.pw_uid
    st = t.key.parent.stat()
    assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (0, 0o700)
    st = t.key.stat()
    assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (0, 0o600)
    key = t.key.read_bytes()
    t.stop()
    t.proc = None

    def as_nobody(fn):
        pid = os.fork()
        if pid == 0:
            try:
                os.setgroups([])
                os.setgid(nobody.pw_gid)
                os.setuid(nobody.pw_uid)
                fn()
                os._exit(0)
            except PermissionError:
                os._exit(13)
            except BaseException:
                os._exit(1)
        return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])

    def write_key():
        with open(t.key, "wb") as f:
            f.write(b"not a key")

    def add_key():
        with open(t.key.parent / "other.key", "wb") as f:
            f.write(b"not a key")

    assert as_nobody(write_key) == 13
    assert as_nobody(add_key) == 13
    assert as_nobody(lambda: os.unlink(t.key)) == 13
    assert t.key.read_bytes() == key

    # What the user can do in its state_dir: move the directory away and
    # make one of its own with its own key. Refused, not used.
    def swap():
        os.rename(t.key.parent, t.state_dir / "moved")
        os.mkdir(t.key.parent, 0o700)
        with open(t.key, "wb") as f:
            f.write(key)
        os.chmod(t.key, 0o600)
    assert as_nobody(swap) == 0
    refused(t, r"its directory .*private is refused: owned by uid %d, not "
            r"0" % nobody.pw_uid)
    wait_for(lambda: not t.alive(), 5, 0.05, "the tentacle stopped")
