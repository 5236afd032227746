"""The test runner of the audit pack (scripts/audit/), shared by every
tests/system/test_audit_*.py.

- pack(): a copy of scripts/audit in a fresh directory under /tmp that
  nobody can read and execute, made once per session (issue 11: the
  checkout may sit where nobody cannot enter, /root is 0700). Scripts are
  always run from there, never from the checkout.
- Fixture: a tree in a temporary directory (a fake /etc, /proc/sys
  values, a mount table, programs of the audited system as stubs), given
  to a script as OCTO_AUDIT_ROOT. A stub is an executable under the
  fixture's usr/sbin (or usr/bin, sbin, bin): the scripts look up the
  audited system's programs there (their tool() helper), so a fixture
  without the program is a host without it.
- run(script, fixture=None, as_nobody=False): the script as-is or as
  nobody, in a clean environment (env -i PATH=... HOME=... LANG=C, as the
  tentacle runs it), in its own process group, with a hang guard. The
  output is parsed (parse()): every line must be `STATUS CHECK-ID TEXT`
  (SPEC.md "Findings"), else the test fails; the exit status must match
  the statuses (1 when there is a FAIL, else 0 or 2; 2 says why in a
  SKIP); every CHECK-ID must be in scripts/audit/CHECKS. A fixture tree
  must be unchanged afterwards.
- host_test(script, ...): the test of a script on this machine, as-is and
  as nobody; Fixture.proc()/procs(): processes of the audited system
  (/proc/PID/comm, status, cgroup, exe).
- Every CHECK-ID printed is recorded (SEEN, and in the file named by
  $OCTO_AUDIT_SEEN if set) for tests/system/test_audit_checks.py.

Stdlib and pytest only. No timing is asserted.
"""

import atexit
import os
import re
import shutil
import signal
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SOURCE = REPO / "scripts" / "audit"
CLEAN_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
HANG_GUARD = 60.0       # seconds: a script past this is stuck, not slow
NOBODY = 65534
IS_ROOT = os.geteuid() == 0
MAX_LINES = 500         # output is bounded (a script caps its lists)
MAX_LINE = 500          # characters per line

STATUSES = ("OK", "FAIL", "WARN", "INFO", "SKIP")
# CHECK-ID: lower case, no spaces, AREA.something (mount./tmp.noexec)
CHECK_RE = re.compile(r"^[a-z0-9][a-z0-9-]*\.[a-z0-9._/:+@-]+$")
LINE_RE = re.compile(r"^(OK|FAIL|WARN|INFO|SKIP)[ \t]+(\S+)[ \t]+(\S.*)$")

# The scripts do not depend on the build: the sanitized pass of `make
# test` (build/asan) would only run them a second time. A test module
# sets `pytestmark = auditpack.SKIP_IN_ASAN`.
SKIP_IN_ASAN = pytest.mark.skipif(
    os.environ.get("OCTO_BUILD", "").rstrip("/").endswith("/asan"),
    reason="audit scripts are independent of the build: tested once, in "
           "the plain pass")



def needs_root(why):
    """Marks a test that needs root (WHY: to chown fixture files to root,
    to see other users' processes...): skipped as a normal user."""
    return pytest.mark.skipif(not IS_ROOT, reason="needs root " + why)


# script -> set of CHECK-IDs printed in fixture runs / in any run
SEEN_FIXTURE = {}
SEEN_ANY = {}


def scripts():
    """The pack: every executable regular file of scripts/audit."""
    return sorted(p.name for p in SOURCE.iterdir()
                  if p.is_file() and not p.is_symlink()
                  and os.access(p, os.X_OK))


# ---------------------------------------------------------------- staging

_pack = None


def _remove_tree(d):
    for dirpath, dirnames, _ in os.walk(d):
        for name in dirnames:
            try:
                os.chmod(os.path.join(dirpath, name), 0o755)
            except OSError:
                pass
    shutil.rmtree(d, ignore_errors=True)


def pack():
    """The staged copy of scripts/audit (made on first use, removed at
    exit): a directory under /tmp, 0755, scripts 0755, other files 0644,
    owned by the current user, so nobody can run them wherever the
    checkout is."""
    global _pack
    if _pack is None:
        d = Path(tempfile.mkdtemp(prefix="octo-audit-pack-", dir="/tmp"))
        atexit.register(_remove_tree, str(d))
        for p in SOURCE.iterdir():
            if not p.is_file() or p.is_symlink():
                continue
            dst = d / p.name
            shutil.copyfile(p, dst)
            os.chmod(dst, 0o755 if os.access(p, os.X_OK) else 0o644)
        os.chmod(d, 0o755)
        _pack = d
    return _pack


def checks_file():
    """The staged scripts/audit/CHECKS."""
    return pack() / "CHECKS"


# ---------------------------------------------------------------- fixtures

class Fixture:
    """A fixture tree: self.root is the audited system's /. Made in a
    world-readable directory under /tmp (so nobody can read it too), with
    a read-only home beside it (the scripts' HOME and working directory).
    Call remove() (the `fx` fixture of a test module does)."""

    def __init__(self):
        self.top = Path(tempfile.mkdtemp(prefix="octo-audit-fx-",
                                         dir="/tmp"))
        os.chmod(self.top, 0o755)
        self.root = self.top / "root"
        self.root.mkdir(mode=0o755)
        self.home = self.top / "home"
        self.home.mkdir()
        os.chmod(self.home, 0o555)

    def remove(self):
        _remove_tree(str(self.top))

    def path(self, rel):
        return self.root / rel.lstrip("/")

    def dir(self, rel, mode=0o755):
        p = self.path(rel)
        p.mkdir(parents=True, exist_ok=True)
        os.chmod(p, mode)
        return p

    def file(self, rel, text="", mode=0o644):
        """Write ROOT/rel (text: str or bytes), making its parents."""
        p = self.path(rel)
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            p.write_bytes(text)
        else:
            p.write_text(text)
        os.chmod(p, mode)
        return p

    def sysctl(self, values):
        """{"kernel.kptr_restrict": "2", ...} as ROOT/proc/sys files; a
        value None removes the key (not in this kernel)."""
        for name, value in values.items():
            p = self.path("proc/sys/" + name.replace(".", "/"))
            if value is None:
                if p.exists():
                    p.unlink()
                continue
            self.file("proc/sys/" + name.replace(".", "/"), value + "\n")

    def mounts(self, text):
        """The mount table, ROOT/proc/self/mounts (fstab syntax)."""
        return self.file("proc/self/mounts", text)

    def proc(self, pid, comm=None, uid=None, gid=None, ppid=None,
             umask=None, cgroup=None, v1=False, exe=None):
        """A process PID of the audited system, as ROOT/proc/PID files:
        comm (COMM); status (Name, Umask, State, Pid, PPid, Uid, Gid) when
        UID, GID, PPID or UMASK is given, the others 0 (PPid 1, Umask
        0022); cgroup: the unified "0::CGROUP", or with V1 the cgroup v1
        lines (a controller and name=systemd); exe, a symbolic link to
        EXE."""
        d = self.dir("proc/%d" % pid)
        if comm is not None:
            self.file("proc/%d/comm" % pid, comm + "\n")
        if (uid, gid, ppid, umask) != (None,) * 4:
            self.file("proc/%d/status" % pid,
                      "Name:\t%s\nUmask:\t%s\nState:\tS (sleeping)\n"
                      "Pid:\t%d\nPPid:\t%d\nUid:\t%s\nGid:\t%s\n" % (
                          comm or "x", umask or "0022", pid,
                          1 if ppid is None else ppid,
                          "\t".join([str(uid or 0)] * 4),
                          "\t".join([str(gid or 0)] * 4)))
        if cgroup is not None:
            self.file("proc/%d/cgroup" % pid,
                      "12:pids:%s\n1:name=systemd:%s\n" % (cgroup, cgroup)
                      if v1 else "0::%s\n" % cgroup)
        if exe is not None:
            os.symlink(exe, d / "exe")
        return d

    def procs(self, *comms, start=100, **kw):
        """Processes named COMMS, PIDs from START on (as proc())."""
        for pid, comm in enumerate(comms, start):
            self.proc(pid, comm, **kw)

    def stub(self, name, body, where="usr/sbin"):
        """A program NAME of the audited system: #!/bin/sh then BODY."""
        return self.file(where + "/" + name, "#!/bin/sh\n" + body, 0o755)

    def stub_output(self, name, out, rc=0, err="", where="usr/sbin"):
        """A program NAME that prints OUT (and ERR on stderr), exits RC,
        whatever its arguments."""
        body = "cat <<'OCTO_EOF'\n%sOCTO_EOF\n" % out if out else ""
        if err:
            body += "cat >&2 <<'OCTO_EOF'\n%sOCTO_EOF\n" % err
        return self.stub(name, body + "exit %d\n" % rc, where)


@pytest.fixture
def fx():
    """A fresh Fixture, removed at the end of the test. A test module
    gets it with `from auditpack import fx  # noqa: F401`."""
    f = Fixture()
    yield f
    f.remove()


# ---------------------------------------------------------------- output

class ParseError(AssertionError):
    pass


def parse(out):
    """[(status, check, text)] of an output; ParseError on any line that
    is not `STATUS CHECK-ID TEXT` with a well-formed CHECK-ID."""
    findings = []
    for n, line in enumerate(out.splitlines(), 1):
        m = LINE_RE.match(line)
        if not m:
            raise ParseError("line %d does not parse as STATUS CHECK-ID "
                             "TEXT: %r" % (n, line))
        status, check, text = m.groups()
        if not CHECK_RE.match(check):
            raise ParseError("line %d: bad CHECK-ID %r (lower case, no "
                             "spaces, AREA.name): %r" % (n, check, line))
        findings.append((status, check, text.rstrip()))
    return findings


class Result:
    def __init__(self, script, rc, out, err, fixture):
        self.script, self.rc, self.out, self.err = script, rc, out, err
        self.fixture = fixture
        self.lines = out.splitlines()
        self.findings = []

    def __repr__(self):
        return "<%s exit %s>\n%s%s" % (self.script, self.rc, self.out,
                                        self.err and "stderr:\n" + self.err)

    def checks(self):
        return {c for _, c, _ in self.findings}

    def get(self, check):
        """[(status, text)] of the lines of CHECK (a check about items,
        one SUID file per line, may print several)."""
        return [(s, t) for s, c, t in self.findings if c == check]

    def status(self, check):
        """The status of CHECK, which must be printed exactly once."""
        got = self.get(check)
        assert len(got) == 1, "%s printed %d times in %r" % (
            check, len(got), self)
        return got[0][0]

    def text(self, check):
        got = self.get(check)
        assert len(got) == 1, "%s printed %d times in %r" % (
            check, len(got), self)
        return got[0][1]

    def expect(self, check, status, text=None, rc=None):
        """Assert CHECK's status (once printed), optionally that TEXT (a
        regular expression) is found in its text, and the exit status."""
        assert self.status(check) == status, "%s is not %s in %r" % (
            check, status, self)
        if text is not None:
            assert re.search(text, self.text(check)), \
                "%s: %r not in %r" % (check, text, self.text(check))
        if rc is not None:
            assert self.rc == rc, "exit %d, expected %d: %r" % (
                self.rc, rc, self)
        return self

    def with_status(self, status):
        return [(c, t) for s, c, t in self.findings if s == status]


def check_conventions(r):
    """SPEC.md "Findings" and scripts/audit/README.md."""
    assert r.rc in (0, 1, 2), r
    assert r.err == "", "stderr is not empty: %r" % (r,)
    assert r.lines, "%s printed nothing" % r.script
    assert len(r.lines) <= MAX_LINES, "output not bounded: %d lines" % \
        len(r.lines)
    for line in r.lines:
        assert all(32 <= ord(c) <= 126 for c in line), \
            "not printable ASCII: %r in %r" % (line, r)
        assert len(line) <= MAX_LINE, "line too long: %r" % line
    try:
        r.findings = parse(r.out)
    except ParseError as e:
        raise AssertionError("%s\n%r" % (e, r)) from None
    known = _known_checks()
    unknown = sorted(r.checks() - known)
    assert not unknown, "CHECK-IDs not in scripts/audit/CHECKS: %s in %r" % (
        unknown, r)
    fails = r.with_status("FAIL")
    if fails:
        assert r.rc == 1, "FAIL lines but exit %d: %r" % (r.rc, r)
    else:
        assert r.rc != 1, "exit 1 without a FAIL line: %r" % (r,)
    if r.rc == 2:
        assert r.with_status("SKIP"), \
            "exit 2 (could not check) without a SKIP line saying why: %r" % r


_known = None


def _known_checks():
    global _known
    if _known is None:
        _known = set(read_checks(checks_file()))
    return _known


# ---------------------------------------------------------------- running

def snapshot(top):
    """Everything under top: path -> (type, size, mtime_ns, mode)."""
    snap = {}
    for dirpath, dirnames, filenames in os.walk(top):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            snap[os.path.relpath(path, top)] = (
                stat.S_IFMT(st.st_mode), st.st_size, st.st_mtime_ns,
                stat.S_IMODE(st.st_mode))
    st = os.lstat(top)
    snap["."] = (st.st_size, st.st_mtime_ns, stat.S_IMODE(st.st_mode))
    return snap


def _drop_to_nobody():
    os.setgroups([])
    os.setgid(NOBODY)
    os.setuid(NOBODY)


def _record(script, checks, fixture):
    SEEN_ANY.setdefault(script, set()).update(checks)
    if fixture:
        SEEN_FIXTURE.setdefault(script, set()).update(checks)
    path = os.environ.get("OCTO_AUDIT_SEEN")
    if path:
        with open(path, "a") as f:
            for c in sorted(checks):
                f.write("%s\t%s\t%s\n" % ("fixture" if fixture else "host",
                                          script, c))


def run(script, fixture=None, as_nobody=False, env=None, cwd=None,
        timeout=HANG_GUARD, check=True):
    """Run the staged SCRIPT (on FIXTURE's tree if given, else on this
    machine) as the current user or as nobody (needs root; skips the test
    otherwise), with env -i PATH=CLEAN_PATH HOME=... LANG=C (plus ENV);
    kill its process group at the hang guard. Checks the conventions and
    that the fixture tree is unchanged; returns the Result."""
    if as_nobody and not IS_ROOT:
        pytest.skip("running as nobody needs root")
    if cwd is None:
        cwd = fixture.home if fixture else _host_home()
    full = {"PATH": CLEAN_PATH, "HOME": str(cwd), "LANG": "C"}
    if fixture:
        full["OCTO_AUDIT_ROOT"] = str(fixture.root)
    full.update(env or {})
    before = snapshot(fixture.root) if fixture else None
    p = subprocess.Popen([str(pack() / script)], cwd=str(cwd), env=full,
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, start_new_session=True,
                         preexec_fn=_drop_to_nobody if as_nobody else None)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        pytest.fail("%s did not finish within %.0f s (hang guard); output "
                    "so far:\n%s" % (script, timeout,
                                     out.decode("ascii", "replace")))
    finally:
        try:
            os.killpg(p.pid, signal.SIGKILL)    # what it left behind
        except OSError:
            pass
    r = Result(script, p.returncode, out.decode("latin-1"),
               err.decode("latin-1"), fixture)
    if fixture:
        assert snapshot(fixture.root) == before, \
            "%s changed its fixture tree" % script
    if check:
        check_conventions(r)
        _record(script, r.checks(), fixture is not None)
    return r


def host_test(script, checks=None, then=None):
    """A test that runs SCRIPT on this machine, as-is and as nobody (the
    latter skipped without root), from the staged pack: it exits 0, 1 or
    2 and every line parses with a known CHECK-ID (run() checks both).
    CHECKS: the CHECK-IDs it must print, exactly; THEN(r, as_nobody): more
    assertions. A test module names it `test_this_machine`."""
    @pytest.mark.parametrize("as_nobody", [False, True],
                             ids=["as-is", "nobody"])
    def test_this_machine(as_nobody):
        r = run(script, as_nobody=as_nobody)
        assert r.findings, r
        if checks is not None:
            assert r.checks() == set(checks), r
        if then is not None:
            then(r, as_nobody)
        print("%s (%s): exit %d, %d lines" % (
            script, "nobody" if as_nobody else "as-is", r.rc,
            len(r.findings)))
    return test_this_machine


_host = None


def _host_home():
    """A read-only, world-readable empty directory for runs on this
    machine (HOME and working directory)."""
    global _host
    if _host is None:
        d = tempfile.mkdtemp(prefix="octo-audit-home-", dir="/tmp")
        atexit.register(_remove_tree, d)
        os.chmod(d, 0o555)
        _host = Path(d)
    return _host


def read_checks(path=None):
    """scripts/audit/CHECKS as {check: [fields]} (comment and blank lines
    skipped); a row keeps all its tab-separated fields."""
    rows = {}
    text = Path(path or SOURCE / "CHECKS").read_text()
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        assert fields[0] not in rows, "CHECKS: %s twice" % fields[0]
        rows[fields[0]] = fields
    return rows

