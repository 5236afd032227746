"""mount-options on fixture mount tables (ROOT/proc/self/mounts): for
every mount point of ANSSI BP-028 v2.0 R28 and each of its options a
compliant table (OK), a non-compliant one (FAIL, WARN or INFO as the
script's header says) and one where the mount point is not separate (its
options SKIP)."""

import pytest

import auditpack
from auditpack import fx  # noqa: F401

pytestmark = auditpack.SKIP_IN_ASAN

S = "mount-options"

# mount point: {option: status when missing}, status when not separate
TABLE = {
    "/tmp": ({"nodev": "FAIL", "nosuid": "FAIL", "noexec": "FAIL"}, "FAIL"),
    "/var": ({"nodev": "FAIL", "nosuid": "INFO", "noexec": "INFO"}, "WARN"),
    "/home": ({"nodev": "FAIL", "nosuid": "FAIL", "noexec": "WARN"}, "WARN"),
    "/dev/shm": ({"nodev": "FAIL", "nosuid": "FAIL", "noexec": "FAIL"},
                 "INFO"),
    "/var/tmp": ({"nodev": "FAIL", "nosuid": "FAIL", "noexec": "FAIL"},
                 "INFO"),
    "/var/log": ({"nodev": "FAIL", "nosuid": "FAIL", "noexec": "FAIL"},
                 "INFO"),
    "/boot": ({"nodev": "FAIL", "nosuid": "FAIL", "noexec": "FAIL"}, "INFO"),
    "/usr": ({"nodev": "FAIL"}, "INFO"),
    "/opt": ({"nodev": "FAIL", "nosuid": "FAIL"}, "INFO"),
    "/srv": ({"nodev": "FAIL", "nosuid": "FAIL"}, "INFO"),
}


def table(options_of, proc="rw,nosuid,nodev,noexec,relatime,hidepid=2"):
    lines = ["/dev/vda1 / ext4 rw,relatime 0 0",
             "proc /proc proc %s 0 0" % proc]
    for n, (d, opts) in enumerate(sorted(options_of.items())):
        fstype = "tmpfs" if d in ("/tmp", "/dev/shm") else "ext4"
        lines.append("/dev/vdb%d %s %s rw,%srelatime 0 0" % (
            n, d.replace(" ", "\\040"), fstype,
            "".join(o + "," for o in opts)))
    return "\n".join(lines) + "\n"


def test_compliant(fx):
    fx.mounts(table({d: list(o) for d, (o, _) in TABLE.items()}))
    r = auditpack.run(S, fx)
    assert r.rc == 0, r
    for d, (opts, _) in TABLE.items():
        r.expect("mount.%s.separate" % d, "OK")
        for o in opts:
            r.expect("mount.%s.%s" % (d, o), "OK", "mounted with %s" % o)
    r.expect("mount./proc.hidepid", "OK")
    if auditpack.IS_ROOT:
        assert auditpack.run(S, fx, as_nobody=True).rc == 0


def test_no_option(fx):
    fx.mounts(table({d: [] for d in TABLE}, proc="rw,relatime"))
    r = auditpack.run(S, fx)
    assert r.rc == 1, r
    for d, (opts, _) in TABLE.items():
        r.expect("mount.%s.separate" % d, "OK")
        for o, missing in opts.items():
            r.expect("mount.%s.%s" % (d, o), missing, "without %s" % o)
    r.expect("mount./proc.hidepid", "INFO", "without hidepid=2")


@pytest.mark.parametrize("check", sorted(
    "%s.%s" % (d, o) for d, (opts, _) in TABLE.items()
    for o, st in opts.items() if st == "FAIL"))
def test_one_option_missing(fx, check):
    d, o = check.rsplit(".", 1)
    opts = {m: list(x) for m, (x, _) in TABLE.items()}
    opts[d].remove(o)
    fx.mounts(table(opts))
    r = auditpack.run(S, fx)
    assert r.rc == 1, r
    assert [c for c, _ in r.with_status("FAIL")] == ["mount." + check], r


def test_nothing_separate(fx):
    fx.mounts("/dev/vda1 / ext4 rw,relatime 0 0\n")
    r = auditpack.run(S, fx)
    assert r.rc == 1, r
    for d, (opts, sep) in TABLE.items():
        r.expect("mount.%s.separate" % d, sep)
        for o in opts:
            r.expect("mount.%s.%s" % (d, o), "SKIP", "^does not apply")
    r.expect("mount./proc.hidepid", "SKIP", "not mounted")
    assert [c for c, _ in r.with_status("FAIL")] == ["mount./tmp.separate"]


def test_topmost_mount_counts(fx):
    opts = {d: list(o) for d, (o, _) in TABLE.items()}
    text = table(opts) + "tmpfs /dev/shm tmpfs rw,nosuid,relatime 0 0\n"
    fx.mounts(text)
    r = auditpack.run(S, fx)
    r.expect("mount./dev/shm.nosuid", "OK")
    r.expect("mount./dev/shm.nodev", "FAIL", rc=1)
    r.expect("mount./dev/shm.noexec", "FAIL")


def test_no_mount_table(fx):
    r = auditpack.run(S, fx)
    r.expect("mount.table", "SKIP", "not readable", rc=2)
    fx.mounts("")
    r = auditpack.run(S, fx)
    r.expect("mount.table", "SKIP", "lists no mounted", rc=2)
