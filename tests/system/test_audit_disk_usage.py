"""disk-usage on fixture trees (a df stub under ROOT/usr/bin answering
`df -P -l -T -k` and `df -P -l -i`, ROOT/proc/self/mounts for read-only
mounts): disk.usage compliant (under 80%), WARN (80%), FAIL (90%, space
or inodes), not applicable (read-only, virtual: not listed); df missing or
silent: exit 2."""

import auditpack
from auditpack import fx  # noqa: F401

pytestmark = auditpack.SKIP_IN_ASAN

S = "disk-usage"

BLOCKS_HEAD = "Filesystem Type 1024-blocks Used Available Capacity Mounted on"
INODES_HEAD = "Filesystem Inodes IUsed IFree IUse% Mounted on"


def df(fx, fs):
    """fs: [(mount point, type, used %, inodes used %)]"""
    blocks = [BLOCKS_HEAD]
    inodes = [INODES_HEAD]
    mounts = []
    for n, (mp, fstype, pct, ipct) in enumerate(fs):
        size = 1000000
        used = size * pct // 100
        blocks.append("/dev/vd%s %s %d %d %d %d%% %s" % (
            chr(97 + n), fstype, size, used, size - used, pct, mp))
        inodes.append("/dev/vd%s 1000 %d %d %d%% %s" % (
            chr(97 + n), ipct * 10, 1000 - ipct * 10, ipct, mp))
        mounts.append("/dev/vd%s %s %s %s 0 0" % (
            chr(97 + n), mp, fstype,
            "ro,relatime" if mp == "/media/cd" else "rw,relatime"))
    fx.stub("df", """\
case " $* " in
*" -i "*) cat <<'EOF'
%s
EOF
;;
*) cat <<'EOF'
%s
EOF
;;
esac
""" % ("\n".join(inodes), "\n".join(blocks)), where="usr/bin")
    fx.mounts("\n".join(mounts) + "\n")
    return fx


def test_compliant(fx):
    r = auditpack.run(S, df(fx, [("/", "ext4", 40, 10),
                                 ("/media/cd", "ext4", 100, 100)]))
    assert r.rc == 0, r
    r.expect("disk.usage", "OK", r"^/ \(ext4, /dev/vda\): 40% used, .*; "
             r"inodes 10% used \(expected under 80%\)$")
    if auditpack.IS_ROOT:
        assert auditpack.run(S, fx, as_nobody=True).rc == 0


def test_warn_and_fail(fx):
    r = auditpack.run(S, df(fx, [("/", "ext4", 85, 10),
                                 ("/var", "ext4", 20, 95),
                                 ("/home", "xfs", 92, 1)]))
    assert r.rc == 1, r
    got = dict((t.split(" ")[0], s) for s, t in r.get("disk.usage"))
    assert got == {"/": "WARN", "/var": "FAIL", "/home": "FAIL"}, r


def test_warn_alone_is_not_a_failure(fx):
    r = auditpack.run(S, df(fx, [("/", "ext4", 80, 0)]))
    r.expect("disk.usage", "WARN", rc=0)


def test_no_df(fx):
    r = auditpack.run(S, fx)
    r.expect("disk.df", "SKIP", "not installed", rc=2)
    fx.stub_output("df", "", rc=1, where="usr/bin")
    r = auditpack.run(S, fx)
    r.expect("disk.df", "SKIP", "listed no file system", rc=2)


def test_only_read_only_file_systems(fx):
    r = auditpack.run(S, df(fx, [("/media/cd", "ext4", 100, 100)]))
    r.expect("disk.df", "SKIP", "no local writable file system", rc=2)
