"""suid-sgid-files on fixture trees (the root searched with find -xdev,
ROOT/var/lib/dpkg/info/*.list for the packaged files): each check
compliant, non-compliant and not applicable (no dpkg database:
suid.unpackaged SKIP; unreadable directories: suid.searched SKIP)."""

import grp
import os
import pwd

import pytest

import auditpack
from auditpack import fx  # noqa: F401

pytestmark = auditpack.SKIP_IN_ASAN

S = "suid-sgid-files"


def owner():
    return "%s:%s" % (pwd.getpwuid(os.geteuid()).pw_name,
                      grp.getgrgid(os.getegid()).gr_name)


def test_compliant(fx):
    fx.file("usr/bin/passwd", "", 0o4755)
    fx.file("usr/bin/both", "", 0o6755)          # packaged as /bin/both
    fx.file("usr/bin/plain", "", 0o755)
    fx.file("var/lib/dpkg/info/passwd.list",
            "/.\n/usr\n/usr/bin\n/usr/bin/passwd\n/bin/both\n")
    r = auditpack.run(S, fx)
    assert r.rc == 0, r
    r.expect("suid.count", "INFO", "^2 SUID/SGID files found")
    for c in ("suid.tmp-home", "suid.world-writable", "suid.unpackaged"):
        r.expect(c, "OK")
    assert sorted(r.get("suid.packaged")) == [
        ("INFO", "/usr/bin/both (SUID+SGID %s, mode 6755): review whether "
                 "it needs the bit" % owner()),
        ("INFO", "/usr/bin/passwd (SUID %s, mode 4755): review whether it "
                 "needs the bit" % owner())], r
    if auditpack.IS_ROOT:
        assert auditpack.run(S, fx, as_nobody=True).rc == 0


def test_findings(fx):
    files = {
        "usr/bin/passwd": 0o4755,     # packaged
        "usr/bin/ww": 0o4777,         # packaged, but writable by all
        "usr/local/bin/odd": 0o2755,  # from no package
        "tmp/evil": 0o4755,           # in a temporary directory
        "home/bob/a b": 0o4755,       # in a home, with a space
    }
    for rel, mode in files.items():
        fx.file(rel, "", mode)
    # a name that is not ASCII, with a newline: shown as '?'
    fx.file("tmp/caf\u00e9\nx", "", 0o4755)
    fx.file("var/lib/dpkg/info/passwd.list",
            "/.\n/usr\n/usr/bin\n/usr/bin/passwd\n/usr/bin/ww\n")
    r = auditpack.run(S, fx)
    assert r.rc == 1, r
    r.expect("suid.count", "INFO", "^6 SUID/SGID files found")
    r.expect("suid.world-writable", "FAIL", r"^/usr/bin/ww \(SUID %s, mode "
             r"4777\): writable by everyone" % owner())
    assert sorted(t.split(" (")[0] for _, t in r.get("suid.tmp-home")) == [
        "/home/bob/a b", "/tmp/caf???x", "/tmp/evil"], r
    assert all(s == "FAIL" for s, _ in r.get("suid.tmp-home"))
    r.expect("suid.unpackaged", "WARN", r"^/usr/local/bin/odd \(SGID %s, "
             r"mode 2755\): installed by no package" % owner())
    r.expect("suid.packaged", "INFO", "^/usr/bin/passwd ")


def test_no_dpkg_database(fx):
    fx.file("usr/local/bin/odd", "", 0o4755)
    r = auditpack.run(S, fx)
    r.expect("suid.unpackaged", "SKIP", "no dpkg database", rc=0)
    r.expect("suid.packaged", "INFO", "^/usr/local/bin/odd ")


def test_list_is_capped(fx):
    for i in range(45):
        fx.file("tmp/s%02d" % i, "", 0o4755)
    r = auditpack.run(S, fx)
    got = r.get("suid.tmp-home")
    assert len(got) == 41 and got[-1] == ("FAIL", "... and 5 more"), r
    r.expect("suid.count", "INFO", "^45 ", rc=1)


@pytest.mark.skipif(not auditpack.IS_ROOT,
                    reason="needs root to make a root-only directory")
def test_unreadable_directory_without_root(fx):
    fx.file("usr/bin/passwd", "", 0o4755)
    fx.file("var/lib/dpkg/info/passwd.list", "/usr/bin/passwd\n")
    fx.dir("root", 0o700)
    r = auditpack.run(S, fx, as_nobody=True)
    r.expect("suid.searched", "SKIP", "^1 directories not searched: not "
             r"readable without root \(e.g. /root\)", rc=0)


def test_nothing_to_search(fx):
    r = auditpack.run(S, fx, env={"OCTO_AUDIT_ROOT": str(fx.root / "none")})
    r.expect("suid.search", "SKIP", "no file system could be searched", rc=2)
