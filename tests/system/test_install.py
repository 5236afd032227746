"""Installing and operating on Debian hosts (issue 6): make install and
uninstall, the sample configuration files, the man pages, the systemd
units and the Debian packages.

Everywhere, fast: the sample files against the programs' key tables
(`-n -v`), the man pages against `--help` and the key tables, the exact
DESTDIR tree, the units' settings and `systemd-analyze security
--offline`.

As root, on throw-away roots: / seen through an overlay whose writes go to
a temporary directory, so the real /etc, /usr, /var and users are never
touched, with a network of its own (loopback only), so the daemons run on
their default ports without meeting any other test's:
- TempRoot, a chroot in its own mount, pid and network namespaces: `make
  install` as root without DESTDIR, the installed programs started from
  the installed configuration files (as the units' ExecStart lines do);
  and the .deb packages installed, run by their ExecStart lines and purged
  with no systemd running;
- Container, the same root booted with systemd-nspawn: the packages
  installed, their services started, reloaded, restarted, killed,
  enrolled, checked for exposure and purged, leaving nothing behind.
The packages are built once per module by `make deb` (lintian included),
in the normal build's pass only: they build their own binaries, so the
sanitizer pass would only repeat the same work.
"""

import difflib
import io
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import tarfile
import time
import uuid
from pathlib import Path

import pytest

import octotest

REPO = octotest.REPO
BUILD = octotest.BUILD
BINS = {"brain": BUILD / "octoBrain", "tentacle": BUILD / "octoTentacle"}
SAMPLES = {"brain": REPO / "brain" / "brain.conf",
           "tentacle": REPO / "tentacle" / "tentacle.conf"}
MANPAGES = {"brain": REPO / "brain" / "octoBrain.8",
            "tentacle": REPO / "tentacle" / "octoTentacle.8"}
CONF_MAN = REPO / "common" / "octopus.conf.5"
UNIT_SRC = {"brain": REPO / "scripts" / "systemd" / "octobrain.service",
            "tentacle": REPO / "scripts" / "systemd" / "octotentacle.service"}
UNIT_NAME = {"brain": "octobrain.service", "tentacle": "octotentacle.service"}

# systemd-analyze security: the target for the brain; for the
# tentacle (root, the host's view kept on purpose) a bound against drift.
EXPOSURE_MAX = {"brain": 2.0, "tentacle": 5.0}

# Options that would show the tentacle's audit scripts a sandbox instead
# of the host (issue 6): its unit must not set them.
TENTACLE_FORBIDDEN = ("ProtectSystem", "ProtectHome", "PrivateTmp",
                      "PrivateDevices", "PrivateMounts", "PrivateNetwork",
                      "PrivateUsers", "ProtectKernelModules",
                      "ProtectKernelLogs", "ProtectClock", "ProtectProc",
                      "ProcSubset", "TemporaryFileSystem",
                      "InaccessiblePaths", "RootDirectory", "User",
                      "DynamicUser")

PACKAGES = ("octopus-common", "octopus-brain", "octopus-tentacle")

KEY_LINE = re.compile(r"^(#?)([a-z_][a-z0-9_]*)[ \t]*=[ \t]*(.*?)[ \t]*$")
DUMP_LINE = re.compile(r"^([a-z_][a-z0-9_]*) = (.*)$")

is_root = os.geteuid() == 0
need_root = pytest.mark.skipif(
    not is_root, reason="needs root: overlay mounts, namespaces, users")


def run(argv, timeout=120, check=False, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    kw.setdefault("stdin", subprocess.DEVNULL)
    r = subprocess.run(argv, timeout=timeout, **kw)
    if check and r.returncode != 0:
        raise AssertionError("%s: exit %d\n%s%s" % (
            " ".join(map(str, argv)), r.returncode, r.stdout, r.stderr))
    return r


def need(*programs):
    missing = [p for p in programs if shutil.which(p) is None]
    if missing:
        pytest.skip("not installed: %s (scripts/deps installs it)"
                    % ", ".join(missing))


def sanitized():
    """The ASan build: the package tests build their own binaries."""
    with open(BINS["brain"], "rb") as f:
        return b"__asan_init" in f.read()


def unquote(v):
    if len(v) >= 2 and v[0] == '"' and v[-1] == '"':
        return re.sub(r'\\(["\\])', r"\1", v[1:-1])
    return v


# ------------------------------------------------- configuration and help

@pytest.fixture(scope="module")
def empty_conf(tmp_path_factory):
    p = tmp_path_factory.mktemp("conf") / "empty.conf"
    p.write_text("")
    return p


def program_config(role, conf):
    """{key: value} as `-n -v -c conf` prints them: every key the program
    has, with the value in use."""
    r = run([str(BINS[role]), "-n", "-v", "-c", str(conf)], timeout=30)
    assert r.returncode == 0, "%s -n -v -c %s: exit %d\n%s" % (
        BINS[role].name, conf, r.returncode, r.stderr)
    keys = {}
    for line in r.stdout.splitlines():
        m = DUMP_LINE.match(line)
        if m:
            keys[m.group(1)] = unquote(m.group(2))
    assert keys, "%s -n -v printed no key" % BINS[role].name
    return keys


def sample_keys(path):
    """{key: (commented, value)} for the `#key = value` lines of a sample
    file (prose comments start with '# ')."""
    return sample_keys_of(Path(path).read_text(), path)


def sample_keys_of(text, where="the file"):
    keys = {}
    for line in text.splitlines():
        m = KEY_LINE.match(line)
        if m:
            assert m.group(2) not in keys, "%s: %s twice" % (where,
                                                              m.group(2))
            keys[m.group(2)] = (m.group(1) == "#", unquote(m.group(3)))
    return keys


@pytest.mark.parametrize("role", ["brain", "tentacle"])
def test_sample_config_lists_every_key(role, empty_conf):
    program = program_config(role, empty_conf)
    sample = sample_keys(SAMPLES[role])
    missing = sorted(set(program) - set(sample))
    unknown = sorted(set(sample) - set(program))
    assert not missing, "%s lacks keys that %s has: %s" % (
        SAMPLES[role].relative_to(REPO), BINS[role].name, ", ".join(missing))
    assert not unknown, "%s has keys that %s does not know: %s" % (
        SAMPLES[role].relative_to(REPO), BINS[role].name, ", ".join(unknown))
    active = sorted(k for k, (commented, _) in sample.items()
                    if not commented)
    assert not active, "%s sets keys (all must be commented): %s" % (
        SAMPLES[role].relative_to(REPO), ", ".join(active))


@pytest.mark.parametrize("role", ["brain", "tentacle"])
def test_sample_config_shows_the_defaults(role, empty_conf, tmp_path):
    """As installed, the file changes nothing; with every key uncommented
    it still gives exactly the built-in defaults: the values shown are the
    real ones, and the file parses."""
    defaults = program_config(role, empty_conf)
    assert program_config(role, SAMPLES[role]) == defaults
    uncommented = tmp_path / ("%s.conf" % role)
    uncommented.write_text(re.sub(r"(?m)^#(?=[a-z_][a-z0-9_]*[ \t]*=)", "",
                                  SAMPLES[role].read_text()))
    got = program_config(role, uncommented)
    diff = {k: (got.get(k), v) for k, v in defaults.items()
            if got.get(k) != v}
    assert not diff, "uncommented %s differs from the defaults " \
        "(key: (file, default)): %s" % (SAMPLES[role].name, diff)


def help_options(role):
    r = run([str(BINS[role]), "--help"], timeout=30)
    assert r.returncode == 0
    opts = set()
    for line in r.stdout.splitlines():
        if re.match(r"^\s+-", line):
            opts.update(re.findall(r"(?<![\w'/-])(--?[A-Za-z][A-Za-z0-9-]*)",
                                   line))
    return opts


def man_options(page):
    """Options of the .It lines of a man page (.It Fl c Ar file , Fl
    \\-config ...)."""
    opts = set()
    for line in Path(page).read_text().splitlines():
        if line.startswith(".It Fl "):
            for tok in re.findall(r"\bFl (\S+)", line):
                opts.add("-" + tok.replace("\\", ""))
    return opts


@pytest.mark.parametrize("role", ["brain", "tentacle"])
def test_man_page_matches_help(role):
    helped, documented = help_options(role), man_options(MANPAGES[role])
    assert helped, "no option found in --help"
    assert not helped - documented, \
        "in %s --help, not in %s: %s" % (BINS[role].name, MANPAGES[role].name,
                                         sorted(helped - documented))
    assert not documented - helped, \
        "in %s, not in %s --help: %s" % (MANPAGES[role].name,
                                         BINS[role].name,
                                         sorted(documented - helped))


def test_conf_man_page_has_every_key(empty_conf):
    text = CONF_MAN.read_text()
    sections = re.split(r"(?m)^\.Sh ", text)
    documented = {}
    for sec in sections:
        name = sec.split("\n", 1)[0].strip()
        documented[name] = set(re.findall(r"(?m)^\.It Cm (\w+)", sec))
    for role, section in (("brain", "BRAIN.CONF"),
                          ("tentacle", "TENTACLE.CONF")):
        keys = set(program_config(role, empty_conf))
        have = documented.get(section, set())
        assert not keys - have, "%s section %s lacks: %s" % (
            CONF_MAN.name, section, sorted(keys - have))
        assert not have - keys, "%s section %s documents unknown keys: %s" % (
            CONF_MAN.name, section, sorted(have - keys))


@pytest.mark.parametrize("page", [MANPAGES["brain"], MANPAGES["tentacle"],
                                  CONF_MAN], ids=lambda p: p.name)
def test_man_page_renders_cleanly(page):
    need("groff")
    r = run(["groff", "-mandoc", "-Tutf8", "-ww", "-z", str(page)],
            env=dict(os.environ, LC_ALL="C.UTF-8"))
    assert r.returncode == 0 and r.stderr == "", r.stderr


# ------------------------------------------------------------------ units

def unit_settings(unit):
    """[(section, key, value)] of a unit file, given as a path or as its
    text (continuation lines joined)."""
    text = unit.read_text() if isinstance(unit, Path) else unit
    out, section, pending = [], None, ""
    for raw in text.splitlines():
        line = pending + raw.strip()
        pending = ""
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        k, _, v = line.partition("=")
        out.append((section, k.strip(), v.strip()))
    return out


def unit_get(unit, key):
    return [v for s, k, v in unit_settings(unit) if k == key]


@pytest.mark.parametrize("role", ["brain", "tentacle"])
def test_unit_matches_the_program(role, empty_conf):
    """Type=forking on the program's own pidfile, in the runtime and state
    directories systemd makes; reload by SIGHUP; restart on failure."""
    conf = program_config(role, empty_conf)
    unit = UNIT_SRC[role]
    assert unit_get(unit, "Type") == ["forking"]
    assert unit_get(unit, "PIDFile") == [conf["pidfile"]]
    assert unit_get(unit, "RuntimeDirectory") == [
        os.path.basename(os.path.dirname(conf["pidfile"]))]
    assert conf["state_dir"].startswith("/var/lib/")
    assert unit_get(unit, "StateDirectory") == [
        conf["state_dir"][len("/var/lib/"):]]
    assert unit_get(unit, "StateDirectoryMode") == ["0700"]
    assert unit_get(unit, "ExecStart") == ["/usr/local/sbin/" +
                                           BINS[role].name]
    assert unit_get(unit, "ExecReload") == ["/bin/kill -HUP $MAINPID"]
    assert unit_get(unit, "Restart") == ["on-failure"]
    assert unit_get(unit, "WantedBy") == ["multi-user.target"]
    if role == "brain":
        assert unit_get(unit, "User") == [conf["user"]]
        for key, want in (("NoNewPrivileges", "yes"),
                          ("ProtectSystem", "strict"),
                          ("ProtectHome", "yes"), ("PrivateTmp", "yes"),
                          ("PrivateDevices", "yes"),
                          ("CapabilityBoundingSet", "")):
            assert unit_get(unit, key) == [want], key
    else:
        set_keys = {k for _, k, _ in unit_settings(unit)}
        bad = sorted(set(TENTACLE_FORBIDDEN) & set_keys)
        assert not bad, "octotentacle.service would hide the host from " \
            "the audit scripts: %s" % bad


@pytest.mark.parametrize("role", ["brain", "tentacle"])
def test_unit_exposure_offline(role):
    need("systemd-analyze")
    r = run(["systemd-analyze", "security", "--offline=true", "--no-pager",
             str(UNIT_SRC[role])], timeout=60)
    m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", r.stdout)
    assert m, "no exposure level in:\n%s%s" % (r.stdout, r.stderr)
    assert float(m.group(1)) <= EXPOSURE_MAX[role], r.stdout


# ------------------------------------------------------------ DESTDIR

def make(*args, prefix=None, timeout=300):
    """make in the repository with the binaries of $OCTO_BUILD, never
    rebuilding them (-o)."""
    argv = ["make", "--no-print-directory", "-C", str(REPO),
            "BUILD=%s" % BUILD, "-o", str(BINS["brain"]),
            "-o", str(BINS["tentacle"])]
    if prefix:
        argv.append("PREFIX=%s" % prefix)
    return run(argv + list(args), timeout=timeout,
               preexec_fn=lambda: os.umask(0o022))


def tree(root):
    """{relative path: (kind, mode)} of everything under root."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            kind = "d" if stat.S_ISDIR(st.st_mode) else \
                "f" if stat.S_ISREG(st.st_mode) else "other"
            out[os.path.relpath(p, root)] = (kind,
                                             stat.S_IMODE(st.st_mode))
    return out


def audit_scripts():
    d = REPO / "scripts" / "audit"
    if not d.is_dir():
        return []
    return sorted(p.name for p in d.iterdir()
                  if p.is_file() and os.access(p, os.X_OK))


def checks_file():
    """scripts/audit/CHECKS, installed with the brain (checks_file)."""
    p = REPO / "scripts" / "audit" / "CHECKS"
    return p if p.is_file() else None


def expected_tree(prefix="usr/local", unitdir=None):
    unitdir = unitdir or prefix + "/lib/systemd/system"
    files = {prefix + "/sbin/octoBrain": 0o755,
             prefix + "/sbin/octoTentacle": 0o755,
             prefix + "/share/man/man8/octoBrain.8": 0o644,
             prefix + "/share/man/man8/octoTentacle.8": 0o644,
             prefix + "/share/man/man5/octopus.conf.5": 0o644,
             unitdir + "/octobrain.service": 0o644,
             unitdir + "/octotentacle.service": 0o644,
             "etc/octopus/brain.conf": 0o644,
             "etc/octopus/tentacle.conf": 0o644}
    for p in (REPO / "web").glob("*.*"):
        files[prefix + "/share/octopus/web/" + p.name] = 0o644
    for name in audit_scripts():
        files[prefix + "/lib/octopus/scripts/" + name] = 0o755
    if checks_file():
        files[prefix + "/share/octopus/audit/CHECKS"] = 0o644
    want = {p: ("f", m) for p, m in files.items()}
    dirs = {"var/lib/octopus/brain": 0o700,
            "var/lib/octopus/tentacle": 0o700,
            prefix + "/lib/octopus/scripts": 0o755,
            prefix + "/share/octopus/audit": 0o755}
    for p in list(files) + list(dirs):
        parent = os.path.dirname(p)
        while parent:
            dirs.setdefault(parent, 0o755)
            parent = os.path.dirname(parent)
    want.update({p: ("d", m) for p, m in dirs.items()})
    return want


def assert_tree(root, want):
    got = tree(root)
    missing = sorted(set(want) - set(got))
    extra = sorted(set(got) - set(want))
    wrong = sorted("%s: %s %o, want %s %o" % (p, got[p][0], got[p][1],
                                               want[p][0], want[p][1])
                   for p in set(want) & set(got) if got[p] != want[p])
    assert not (missing or extra or wrong), \
        "missing: %s\nextra: %s\nwrong: %s" % (missing, extra, wrong)


def test_destdir_install_tree(tmp_path):
    dest = tmp_path / "dest"
    r = make("DESTDIR=%s" % dest, "install")
    assert r.returncode == 0, r.stdout + r.stderr
    assert_tree(dest, expected_tree())
    # Copied as they are for PREFIX=/usr/local.
    assert (dest / "etc/octopus/brain.conf").read_text() == \
        SAMPLES["brain"].read_text()
    assert (dest / "etc/octopus/tentacle.conf").read_text() == \
        SAMPLES["tentacle"].read_text()
    assert (dest / "usr/local/lib/systemd/system/octobrain.service"
            ).read_text() == UNIT_SRC["brain"].read_text()


def test_destdir_install_other_prefix(tmp_path):
    """PREFIX=/usr with the units in /lib/systemd/system, as the packages:
    the paths in the units and in the sample files follow."""
    dest = tmp_path / "dest"
    r = make("DESTDIR=%s" % dest, "UNITDIR=/lib/systemd/system", "install",
             prefix="/usr")
    assert r.returncode == 0, r.stdout + r.stderr
    assert_tree(dest, expected_tree("usr", "lib/systemd/system"))
    for role, prog in (("brain", "octoBrain"), ("tentacle", "octoTentacle")):
        unit = dest / "lib/systemd/system" / UNIT_NAME[role]
        assert unit_get(unit, "ExecStart") == ["/usr/sbin/" + prog]
    brain = sample_keys(dest / "etc/octopus/brain.conf")
    assert brain["web_root"] == (True, "/usr/share/octopus/web")
    assert brain["checks_file"] == (True, "/usr/share/octopus/audit/CHECKS")
    tentacle = sample_keys(dest / "etc/octopus/tentacle.conf")
    assert tentacle["scripts_dir"] == (True, "/usr/lib/octopus/scripts")


def test_install_keeps_existing_configuration(tmp_path):
    dest = tmp_path / "dest"
    assert make("DESTDIR=%s" % dest, "install").returncode == 0
    conf = dest / "etc/octopus/brain.conf"
    conf.write_text("web_port = 9443\n")
    conf.chmod(0o600)
    r = make("DESTDIR=%s" % dest, "install-brain")
    assert r.returncode == 0, r.stdout + r.stderr
    assert conf.read_text() == "web_port = 9443\n"
    assert stat.S_IMODE(conf.stat().st_mode) == 0o600
    assert "exists: kept" in r.stdout


def test_uninstall_keeps_configuration_and_state(tmp_path):
    dest = tmp_path / "dest"
    assert make("DESTDIR=%s" % dest, "install").returncode == 0
    (dest / "var/lib/octopus/brain/brain.db").write_text("")
    r = make("DESTDIR=%s" % dest, "uninstall")
    assert r.returncode == 0, r.stdout + r.stderr
    left = sorted(p for p, (kind, _) in tree(dest).items() if kind != "d")
    assert left == ["etc/octopus/brain.conf", "etc/octopus/tentacle.conf",
                    "var/lib/octopus/brain/brain.db"]
    assert not (dest / "usr/local/share/octopus").exists()
    assert not (dest / "usr/local/lib/octopus").exists()


# ------------------------------------------------------ throw-away roots

def children_of(pid):
    kids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        if int(st[st.rfind(")") + 2:].split()[1]) == pid:
            kids.append(int(d))
    return kids


def comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return None


# What an installed octopus on the host would show through the overlay:
# hidden by whiteouts, so every throw-away root starts without it.
HOST_LEFTOVERS = ("etc/octopus", "var/lib/octopus",
                  "usr/local/sbin/octoBrain", "usr/local/sbin/octoTentacle",
                  "usr/local/share/octopus", "usr/local/lib/octopus",
                  "usr/local/lib/systemd/system/octobrain.service",
                  "usr/local/lib/systemd/system/octotentacle.service")


class Overlay:
    """/ through an overlay: reads from the host, writes to self.upper.
    Files in self.upper before start() are in the root from the start."""

    def __init__(self, base, hide=HOST_LEFTOVERS):
        self.base = Path(base)
        self.upper = self.base / "upper"
        self.work = self.base / "work"
        self.root = self.base / "root"
        for d in (self.upper, self.work, self.root):
            d.mkdir(parents=True)
        for rel in hide:
            if os.path.lexists("/" + rel):
                w = self.upper / rel
                w.parent.mkdir(parents=True, exist_ok=True)
                os.mknod(w, stat.S_IFCHR, os.makedev(0, 0))

    def mount_script(self):
        return ("mount -t overlay overlay -o lowerdir=/,upperdir=%s,"
                "workdir=%s %s\n" % (self.upper, self.work, self.root))

    def upper_files(self, pattern):
        """Paths (relative to /) written in this root whose name contains
        pattern."""
        hits = []
        for dirpath, dirnames, filenames in os.walk(self.upper):
            for name in dirnames + filenames:
                if pattern in name:
                    hits.append("/" + os.path.relpath(
                        os.path.join(dirpath, name), self.upper))
        return sorted(hits)

    def cleanup(self):
        shutil.rmtree(self.base, ignore_errors=True)


REAPER = """
import os, time
while True:
    try:
        os.wait()
    except ChildProcessError:
        time.sleep(0.1)
"""


class TempRoot(Overlay):
    """A chroot on the overlay, in its own mount, pid and network
    namespaces; the paths given in binds are mounted read-only at the same
    place. Killing its pid 1 ends every process started inside."""

    def __init__(self, base, binds=()):
        super().__init__(base)
        self.binds = binds
        self.proc = None
        self.pid = None

    def start(self):
        root = self.root
        script = "set -e\n" + self.mount_script()
        script += ("mount -t proc proc {r}/proc\n"
                   "mount -t sysfs sysfs {r}/sys\n"
                   "mount --bind /dev {r}/dev\n"
                   "mount -t tmpfs -o mode=1777 tmpfs {r}/dev/shm\n"
                   "mount -t tmpfs -o mode=0755 tmpfs {r}/run\n"
                   "mount -t tmpfs -o mode=1777 tmpfs {r}/tmp\n").format(
                       r=root)
        for b in self.binds:
            script += ("mkdir -p {r}{b}\nmount --bind {b} {r}{b}\n"
                       "mount -o remount,bind,ro {r}{b}\n").format(r=root,
                                                                   b=b)
        script += "ip link set lo up\necho ready\n"
        # pid 1 reaps the daemons' orphans, so that they do not linger
        # as zombies once stopped.
        script += "exec chroot %s python3 -c '%s'\n" % (root, REAPER)
        self.proc = subprocess.Popen(
            ["unshare", "--mount", "--net", "--pid", "--fork",
             "--kill-child", "--propagation", "private", "sh", "-c", script],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        if self.proc.stdout.readline().strip() != "ready":
            self.proc.wait(timeout=10)
            raise RuntimeError("cannot make a temporary root: %s"
                               % self.proc.stderr.read())
        self.pid = octotest.wait_for(
            lambda: next((p for p in children_of(self.proc.pid)
                          if comm(p) == "python3"), None),
            timeout=10, what="the temporary root's pid 1")

    def run(self, cmd, timeout=120, check=True, input=None):
        argv = ["nsenter", "-t", str(self.pid), "-m", "-n", "-p", "-r",
                "-w", "--"]
        argv += ["sh", "-c", cmd] if isinstance(cmd, str) else list(cmd)
        r = subprocess.run(argv, capture_output=True, text=True,
                           timeout=timeout, input=input,
                           stdin=None if input is not None
                           else subprocess.DEVNULL)
        if check and r.returncode != 0:
            raise AssertionError("in the temporary root: %s: exit %d\n%s%s"
                                 % (cmd, r.returncode, r.stdout, r.stderr))
        return r

    def write(self, path, text):
        subprocess.run(["nsenter", "-t", str(self.pid), "-m", "-r", "--",
                        "sh", "-c", 'cat > "$0"', path],
                       input=text.encode(), check=True, timeout=30)

    def stop(self):
        if self.pid:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.proc:
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
            self.proc.stdout.close()
            self.proc.stderr.close()
        self.cleanup()


def temp_root_or_skip(tmp_path, binds=(), prepare=None):
    """A started TempRoot; prepare(root) runs before it starts."""
    need("unshare", "nsenter", "ip")
    r = TempRoot(tmp_path / "root", binds)
    if prepare:
        prepare(r)
    try:
        r.start()
    except RuntimeError as e:
        r.stop()
        pytest.skip(str(e))
    return r


# Runs inside a root (python3 of the host, through the overlay): logs in
# as admin, then makes each call "METHOD /path" given, and prints
# {"login": status, "METHOD /path": [status, body], ...}.
API_PY = r'''
import http.cookiejar, json, ssl, sys, urllib.error, urllib.request
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
opener = urllib.request.build_opener(
    urllib.request.HTTPSHandler(context=ctx),
    urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
base = "https://127.0.0.1:8443"
def call(method, path, body=None, headers=None):
    headers = dict(headers or {})
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(base + path, data=data, method=method,
                                 headers=headers)
    try:
        with opener.open(req, timeout=10) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")
password = open(sys.argv[1]).read().strip()
status, body = call("POST", "/api/login",
                    {"username": "admin", "password": password})
out = {"login": status}
csrf = body.get("csrf") if status == 200 else None
for spec in sys.argv[2:]:
    method, path = spec.split(" ", 1)
    out[spec] = call(method, path,
                     headers={"X-CSRF-Token": csrf} if csrf else None)
print(json.dumps(out))
'''


def api(root, password_file, *calls):
    r = root.run(["python3", "-c", API_PY, password_file] + list(calls))
    return json.loads(r.stdout)


def stat_of(root, path):
    """(owner, group, octal mode) of path inside root."""
    out = root.run(["stat", "-c", "%U %G %a", path]).stdout.split()
    return out[0], out[1], out[2]


def printed_fingerprint(output, path):
    """The fingerprint the install printed for the certificate path."""
    m = re.search(r"%s, fingerprint ([0-9a-f]{64})$" % re.escape(path),
                  output, re.M)
    assert m, "no fingerprint printed for %s in:\n%s" % (path, output)
    return m.group(1)


def fingerprint_in(root, path):
    return root.run("openssl x509 -in %s -pubkey -noout | openssl pkey "
                    "-pubin -outform DER | openssl dgst -sha256 -r | "
                    "cut -d' ' -f1" % path).stdout.strip()


def wait_in(root, cmd, what, timeout=30.0):
    return octotest.wait_for(
        lambda: root.run(cmd, check=False, timeout=30).returncode == 0,
        timeout=timeout, interval=0.2, what=what)


def listening(root, port):
    return "ss -Htln 'sport = :%d' | grep -q LISTEN" % port


@need_root
def test_make_install_as_root_then_run(tmp_path):
    """make install without DESTDIR, as root, in a temporary root: the user
    octopus is created and given the brain's state directory; the units
    pass systemd-analyze verify; the programs start from the installed
    configuration files (as the units' ExecStart lines, without -c),
    make their keys with the right owners and modes, and stop cleanly;
    make uninstall keeps configuration and state."""
    binds = [str(REPO)]
    if not str(BUILD).startswith(str(REPO) + "/"):
        binds.append(str(BUILD))
    root = temp_root_or_skip(tmp_path, binds)
    try:
        argv = ["make", "--no-print-directory", "-C", str(REPO),
                "BUILD=%s" % BUILD, "-o", str(BINS["brain"]),
                "-o", str(BINS["tentacle"]), "install"]
        r = root.run(["sh", "-c", "umask 022; exec \"$@\"", "sh"] + argv)
        assert "/var/lib/octopus/brain/admin.password" in r.stdout
        fprs = {p: printed_fingerprint(r.stdout, p) for p in (
            "/var/lib/octopus/brain/brain.crt",
            "/var/lib/octopus/tentacle/tentacle.crt")}
        pw = root.run(["getent", "passwd", "octopus"]).stdout.split(":")
        assert int(pw[2]) < 1000 and pw[6].strip().endswith("nologin"), pw
        assert stat_of(root, "/var/lib/octopus/brain") == \
            ("octopus", "octopus", "700")
        assert stat_of(root, "/var/lib/octopus/tentacle") == \
            ("root", "root", "700")
        if shutil.which("systemd-analyze"):
            units = "/usr/local/lib/systemd/system/"
            v = root.run(["systemd-analyze", "verify",
                          units + "octobrain.service",
                          units + "octotentacle.service"], check=False)
            assert v.returncode == 0 and v.stderr.strip() == "", v.stderr

        root.run(["/usr/local/sbin/octoBrain"])
        root.run(["/usr/local/sbin/octoTentacle"])
        bpid = root.run("cat /run/octopus-brain/octoBrain.pid").stdout.strip()
        tpid = root.run(
            "cat /run/octopus-tentacle/octoTentacle.pid").stdout.strip()
        assert root.run(["ps", "-o", "user=", "-p", bpid]).stdout.strip() \
            == "octopus"
        assert root.run(["ps", "-o", "user=", "-p", tpid]).stdout.strip() \
            == "root"
        wait_in(root, listening(root, 8443), "the dashboard on 8443")
        wait_in(root, listening(root, 7000), "the register on 7000")
        # make install as root wrote `user = octopus` in the tentacle.conf
        # it installed (install-setup edits no configuration file): the
        # network-facing register runs as octopus, the supervisor as root.
        conf = root.run(["cat", "/etc/octopus/tentacle.conf"]).stdout
        assert conf == SAMPLES["tentacle"].read_text().replace(
            "\n#user =\n", "\nuser = octopus\n"), conf
        wait_in(root, "test \"$(ps -o user= --ppid %s)\" = octopus" % tpid,
                "the register running as octopus")
        for path in ("/var/lib/octopus/brain/admin.password",
                     "/var/lib/octopus/brain/brain.key",
                     "/var/lib/octopus/tentacle/private/tentacle.key"):
            assert stat_of(root, path)[2] == "600", path
        assert stat_of(root, "/var/lib/octopus/brain/brain.key") == \
            ("octopus", "octopus", "600")
        for path, fpr in fprs.items():
            assert fingerprint_in(root, path) == fpr, \
                "%s was made again at first start" % path
        assert stat_of(root, "/var/lib/octopus/brain/brain.db")[:2] == \
            ("octopus", "octopus")
        out = api(root, "/var/lib/octopus/brain/admin.password",
                  "GET /api/health")
        assert out["login"] == 200, out
        status, health = out["GET /api/health"]
        assert status == 200 and all(c["state"] == "up"
                                     for c in health["children"]), health

        root.run("kill -TERM %s %s" % (bpid, tpid))
        wait_in(root, "! test -e /run/octopus-brain/octoBrain.pid && "
                "! test -e /run/octopus-tentacle/octoTentacle.pid",
                "both pidfiles removed at exit")

        r = root.run(["sh", "-c", "umask 022; exec \"$@\"", "sh"] +
                     argv[:-1] + ["uninstall"])
        root.run("! test -e /usr/local/sbin/octoBrain && "
                 "! test -e /usr/local/sbin/octoTentacle && "
                 "test -e /etc/octopus/brain.conf && "
                 "test -e /var/lib/octopus/brain/brain.key")
    finally:
        root.stop()


@need_root
def test_make_install_tentacle_alone_makes_its_user(tmp_path):
    """make install-tentacle as root on a host without the brain: the
    tentacle.conf it writes names octopus as `user` and install-setup
    creates that system user, so the register runs as octopus; a
    tentacle.conf already there is kept as it is, and no user is made for
    it."""
    binds = [str(BUILD)] if not str(BUILD).startswith(str(REPO) + "/") \
        else []
    root = temp_root_or_skip(tmp_path, [str(REPO)] + binds)
    try:
        argv = ["sh", "-c", "umask 022; exec \"$@\"", "sh", "make",
                "--no-print-directory", "-C", str(REPO), "BUILD=%s" % BUILD,
                "-o", str(BINS["tentacle"]), "install-tentacle"]
        root.run("mkdir -p /etc/octopus && echo 'name = kept' "
                 ">/etc/octopus/tentacle.conf")
        r = root.run(argv)
        assert "exists: kept" in r.stdout
        assert root.run(["cat", "/etc/octopus/tentacle.conf"]).stdout == \
            "name = kept\n"
        assert not user_exists(root, "octopus")

        root.run("rm /etc/octopus/tentacle.conf")
        root.run(argv)
        pw = root.run(["getent", "passwd", "octopus"]).stdout.split(":")
        assert int(pw[2]) < 1000 and pw[6].strip().endswith("nologin"), pw
        root.run("grep -qx 'user = octopus' /etc/octopus/tentacle.conf")
        root.run(["/usr/local/sbin/octoTentacle"])
        tpid = root.run(
            "cat /run/octopus-tentacle/octoTentacle.pid").stdout.strip()
        wait_in(root, "test \"$(ps -o user= --ppid %s)\" = octopus" % tpid,
                "the register running as octopus")
        assert stat_of(root, "/var/lib/octopus/tentacle") == \
            ("octopus", "octopus", "700")
        assert stat_of(root, "/var/lib/octopus/tentacle/private") == \
            ("root", "root", "700")
        assert stat_of(root,
                       "/var/lib/octopus/tentacle/private/tentacle.key") == \
            ("root", "root", "600")
    finally:
        root.stop()


@need_root
def test_brain_started_as_root_leaves_its_files_to_its_user(tmp_path):
    """Started by hand as root, the brain makes its certificate, key and
    admin password, then hands them to its user, so that the unit
    (User=octopus) can start it later."""
    binds = [str(BUILD)] if not str(BUILD).startswith(str(REPO) + "/") \
        else []
    root = temp_root_or_skip(tmp_path, [str(REPO)] + binds)
    try:
        argv = ["make", "--no-print-directory", "-C", str(REPO),
                "BUILD=%s" % BUILD, "-o", str(BINS["brain"]),
                "-o", str(BINS["tentacle"]), "install-brain"]
        root.run(["sh", "-c", "umask 022; exec \"$@\"", "sh"] + argv)
        # Not the pair install made: the brain makes its own, as root.
        root.run("rm /var/lib/octopus/brain/brain.key "
                 "/var/lib/octopus/brain/brain.crt")
        root.run(["/usr/local/sbin/octoBrain"])
        owners = root.run("stat -c '%n %U' /var/lib/octopus/brain/*").stdout
        for f in ("admin.password", "brain.key", "brain.crt", "brain.db"):
            assert "/var/lib/octopus/brain/%s octopus" % f in \
                owners.splitlines(), owners
        assert all(line.endswith(" octopus")
                   for line in owners.splitlines()), owners
    finally:
        root.stop()


# ------------------------------------------------------- Debian packages

@pytest.fixture(scope="module")
def debs(tmp_path_factory):
    """The packages, built once by `make deb` (which runs lintian) from a
    copy of the working tree."""
    if sanitized():
        pytest.skip("packages are built and checked in the normal build's "
                    "pass (make deb builds its own binaries)")
    need("dpkg-buildpackage", "dh", "lintian", "fakeroot")
    out = tmp_path_factory.mktemp("deb") / "out"
    r = run(["make", "--no-print-directory", "-C", str(REPO),
             "DEB_OUT=%s" % out, "deb"], timeout=600)
    assert r.returncode == 0, "make deb failed:\n%s\n%s" % (
        r.stdout[-6000:], r.stderr[-6000:])
    found = {}
    for name in PACKAGES:
        hits = sorted(out.glob("%s_*.deb" % name))
        assert len(hits) == 1, "make deb made %s" % hits
        found[name] = hits[0]
    found["lintian"] = r.stdout + r.stderr
    return found


def deb_contents(path):
    r = run(["dpkg-deb", "-c", str(path)], check=True)
    out = {}
    for line in r.stdout.splitlines():
        f = line.split()
        name = f[5].lstrip(".")
        if len(name) > 1:
            out[name.rstrip("/")] = f[0]
    return out


def deb_control(path, member):
    r = run(["dpkg-deb", "-I", str(path), member])
    return r.stdout if r.returncode == 0 else None


def test_deb_lintian_has_no_error(debs):
    errors = [l for l in debs["lintian"].splitlines() if l.startswith("E: ")]
    assert not errors, "\n".join(errors)


def test_deb_contents(debs):
    web = {"/usr/share/octopus/web/" + p.name
           for p in (REPO / "web").glob("*.*")}
    files = {
        "octopus-brain": {
            "/etc/octopus/brain.conf", "/lib/systemd/system/octobrain.service",
            "/usr/sbin/octoBrain", "/usr/share/man/man8/octoBrain.8.gz",
            "/usr/share/doc/octopus-brain/changelog.gz",
            "/usr/share/doc/octopus-brain/copyright"} | web |
        ({"/usr/share/octopus/audit/CHECKS"} if checks_file() else set()),
        "octopus-tentacle": {
            "/etc/octopus/tentacle.conf",
            "/lib/systemd/system/octotentacle.service",
            "/usr/sbin/octoTentacle", "/usr/share/man/man8/octoTentacle.8.gz",
            "/usr/share/doc/octopus-tentacle/changelog.gz",
            "/usr/share/doc/octopus-tentacle/copyright"} |
        {"/usr/lib/octopus/scripts/" + n for n in audit_scripts()},
        "octopus-common": {
            "/usr/share/man/man5/octopus.conf.5.gz",
            "/usr/share/doc/octopus-common/README.md.gz",
            "/usr/share/doc/octopus-common/changelog.gz",
            "/usr/share/doc/octopus-common/copyright"},
    }
    for name in PACKAGES:
        got = deb_contents(debs[name])
        regular = {p for p, mode in got.items() if mode.startswith("-")}
        assert regular == files[name], "%s: extra %s, missing %s" % (
            name, sorted(regular - files[name]), sorted(files[name] - regular))
        for p, mode in got.items():
            want = "drwxr-xr-x" if mode.startswith("d") else \
                "-rwxr-xr-x" if "/sbin/" in p or "/scripts/" in p else \
                "-rw-r--r--"
            assert mode == want, "%s: %s is %s" % (name, p, mode)
    assert "/usr/lib/octopus/scripts" in deb_contents(
        debs["octopus-tentacle"])
    assert deb_control(debs["octopus-brain"], "conffiles").split() == \
        ["/etc/octopus/brain.conf"]
    assert deb_control(debs["octopus-tentacle"], "conffiles").split() == \
        ["/etc/octopus/tentacle.conf"]
    for name in ("octopus-brain", "octopus-tentacle"):
        depends = run(["dpkg-deb", "-f", str(debs[name]), "Depends"],
                      check=True).stdout
        assert "adduser" in depends and "octopus-common (= " in depends, \
            (name, depends)
    for name in ("octopus-brain", "octopus-tentacle"):
        for script in ("postinst", "prerm", "postrm"):
            assert deb_control(debs[name], script), (name, script)


@pytest.mark.parametrize("role", [
    "brain",
    "tentacle"])
def test_deb_programs_use_the_packaged_files(role, debs, tmp_path):
    """The packaged program's built-in defaults are the values its
    packaged configuration file shows, and its web_root or scripts_dir is
    where the package puts the dashboard or the audit pack."""
    name = "octopus-" + role
    run(["dpkg-deb", "-x", str(debs[name]), str(tmp_path)], check=True)
    binary = tmp_path / "usr/sbin" / BINS[role].name
    conf = tmp_path / "etc/octopus" / SAMPLES[role].name
    r = run([str(binary), "-n", "-v", "-c", str(conf)], timeout=30,
            check=True)
    got = {m.group(1): unquote(m.group(2)) for m in
           map(DUMP_LINE.match, r.stdout.splitlines()) if m}
    shown = {k: v for k, (_, v) in sample_keys(conf).items()}
    diff = {k: (got.get(k), v) for k, v in shown.items() if got.get(k) != v}
    assert not diff, "(program, file): %s" % diff
    key, want = {"brain": ("web_root", "/usr/share/octopus/web"),
                 "tentacle": ("scripts_dir", "/usr/lib/octopus/scripts")}[role]
    assert want in deb_contents(debs[name])
    assert got[key] == want


def packaged_file(deb, path):
    r = run(["dpkg-deb", "--fsys-tarfile", str(deb)], text=False,
            check=True)
    with tarfile.open(fileobj=io.BytesIO(r.stdout)) as tar:
        return tar.extractfile("." + path).read().decode()


def test_deb_tentacle_conf_sets_the_user(debs):
    """The tentacle's conffile is the sample for PREFIX=/usr with one key
    set, `user = octopus` (privilege separation), as the package ships it:
    no maintainer script edits it."""
    conf = packaged_file(debs["octopus-tentacle"],
                         "/etc/octopus/tentacle.conf")
    sample = SAMPLES["tentacle"].read_text().replace("/usr/local/", "/usr/")
    assert conf == sample.replace("\n#user =\n", "\nuser = octopus\n")
    assert [k for k, (commented, _) in sample_keys_of(conf).items()
            if not commented] == ["user"]
    brain = packaged_file(debs["octopus-brain"], "/etc/octopus/brain.conf")
    assert brain == SAMPLES["brain"].read_text().replace("/usr/local/",
                                                         "/usr/")
    for name in ("octopus-brain", "octopus-tentacle"):
        for script in ("postinst", "postrm", "prerm"):
            text = deb_control(debs[name], script)
            assert not re.search(r"(sed|>>?)[^\n]*(/etc/octopus|\$CONF)",
                                 text), "%s.%s writes a conffile" % (
                                     name, script)


def copy_debs(debs, upper):
    d = upper / "root" / "octopus-debs"
    d.mkdir(parents=True)
    for name in PACKAGES:
        shutil.copy(debs[name], d)
    return "/root/octopus-debs/"


def left_behind(overlay):
    """Files whose name says octo that the root still has after purge; not
    the packages themselves, nor the formatted pages man-db caches when
    the man pages are read (systemd-analyze verify reads them), which
    man-db's own timer expires."""
    return [p for p in overlay.upper_files("octo")
            if not p.startswith(("/root/octopus-debs", "/var/cache/man/"))]


def user_exists(root, name):
    return root.run(["getent", "passwd", name], check=False).returncode == 0


@need_root
def test_deb_lifecycle_without_systemd(debs, tmp_path):
    """dpkg -i in a temporary root where systemd is not running: the
    maintainer scripts make the user and directories and enable the units
    without starting them; the ExecStart lines start the daemons (as the
    unit's User for the brain) on the installed configuration; purge
    leaves nothing."""
    root = temp_root_or_skip(
        tmp_path, prepare=lambda r: copy_debs(debs, r.upper))
    try:
        where = "/root/octopus-debs"
        r = root.run("cd %s && dpkg -i %s" % (where, " ".join(
            "%s_*.deb" % n for n in PACKAGES)))
        assert "admin.password" in r.stdout
        fpr = printed_fingerprint(r.stdout,
                                  "/var/lib/octopus/brain/brain.crt")
        printed_fingerprint(r.stdout,
                            "/var/lib/octopus/tentacle/tentacle.crt")
        assert user_exists(root, "octopus")
        for unit in UNIT_NAME.values():
            root.run("test -L /etc/systemd/system/multi-user.target.wants/"
                     + unit)
        root.run("! pgrep -x maestro && ! pgrep -x supervisor")  # enabled only
        for role in ("brain", "tentacle"):
            unit = root.run(["cat", "/lib/systemd/system/" + UNIT_NAME[role]]
                            ).stdout
            exec_start = unit_get(unit, "ExecStart")[0]
            user = (unit_get(unit, "User") or ["root"])[0]
            root.run(["install", "-d", "-o", user, "-g", user, "-m", "0755",
                      os.path.dirname(unit_get(unit, "PIDFile")[0])])
            cmd = ["setpriv", "--reuid", user, "--regid", user,
                   "--init-groups", "--"] if user != "root" else []
            root.run(cmd + exec_start.split())
        wait_in(root, listening(root, 8443), "the dashboard on 8443")
        wait_in(root, listening(root, 7000), "the register on 7000")
        assert fingerprint_in(root, "/var/lib/octopus/brain/brain.crt") \
            == fpr
        root.run("kill -TERM $(cat /run/octopus-brain/octoBrain.pid) "
                 "$(cat /run/octopus-tentacle/octoTentacle.pid)")
        wait_in(root, "! pgrep -x maestro && ! pgrep -x supervisor",
                "both stopped")
        root.run("dpkg --purge %s" % " ".join(reversed(PACKAGES)))
        assert not user_exists(root, "octopus")
        assert left_behind(root) == []
    finally:
        root.stop()


def start_tentacle_unit(root):
    """octotentacle.service's ExecStart, as root (what systemd does):
    returns the supervisor's pid once the register listens on 7000."""
    unit = root.run(["cat", "/lib/systemd/system/octotentacle.service"]
                    ).stdout
    root.run(["install", "-d", "-m", "0755", "/run/octopus-tentacle"])
    root.run(unit_get(unit, "ExecStart")[0].split())
    wait_in(root, listening(root, 7000), "the register on 7000")
    return root.run("cat /run/octopus-tentacle/octoTentacle.pid"
                    ).stdout.strip()


def stop_tentacle_unit(root, pid):
    root.run("kill -TERM %s" % pid)
    wait_in(root, "! pgrep -x supervisor", "the tentacle stopped")


@need_root
def test_deb_tentacle_alone_runs_as_octopus(debs, tmp_path):
    """The tentacle's package alone (no brain on the host) makes the system
    user octopus that its conffile names as `user`, and leaves the
    conffile as shipped; started by its unit's ExecStart, the supervisor
    runs as root and the register as octopus, with state_dir handed to it
    and the key root's. The user is shared with the brain's package: a
    purge of the brain keeps it for the tentacle, the last purge removes
    it."""
    root = temp_root_or_skip(
        tmp_path, prepare=lambda r: copy_debs(debs, r.upper))
    try:
        where = "/root/octopus-debs"
        r = root.run("cd %s && dpkg -i octopus-common_*.deb "
                     "octopus-tentacle_*.deb" % where)
        assert "octotentacle.service is enabled, not started" in r.stdout
        pw = root.run(["getent", "passwd", "octopus"]).stdout.split(":")
        assert int(pw[2]) < 1000 and pw[6].strip() == "/usr/sbin/nologin", pw
        # The conffile as shipped: dpkg knows no change to any file.
        assert root.run(["dpkg", "--verify", "octopus-tentacle"]
                        ).stdout == ""
        assert root.run(["cat", "/etc/octopus/tentacle.conf"]).stdout == \
            packaged_file(debs["octopus-tentacle"],
                          "/etc/octopus/tentacle.conf")
        assert stat_of(root, "/var/lib/octopus/tentacle") == \
            ("root", "root", "700")

        for attempt in ("tentacle alone", "after the brain's purge"):
            pid = start_tentacle_unit(root)
            assert root.run(["ps", "-o", "user=", "-p", pid]
                            ).stdout.strip() == "root", attempt
            # The supervisor listens, then its child drops to the user.
            octotest.wait_for(
                lambda: root.run(["ps", "-o", "user=", "--ppid", pid],
                                 check=False).stdout.split() == ["octopus"],
                timeout=30, interval=0.2,
                what="the register running as octopus (%s)" % attempt)
            assert stat_of(root, "/var/lib/octopus/tentacle") == \
                ("octopus", "octopus", "700"), attempt
            assert stat_of(
                root, "/var/lib/octopus/tentacle/private/tentacle.key") \
                == ("root", "root", "600"), attempt
            stop_tentacle_unit(root, pid)
            if attempt == "tentacle alone":
                root.run("cd %s && dpkg -i octopus-brain_*.deb" % where)
                root.run("dpkg --purge octopus-brain")
                assert user_exists(root, "octopus"), \
                    "the brain's purge removed the tentacle's user"

        root.run("dpkg --purge octopus-tentacle octopus-common")
        assert not user_exists(root, "octopus")
        assert root.run(["getent", "group", "octopus"], check=False
                        ).returncode != 0
        assert left_behind(root) == []
    finally:
        root.stop()


class Container(Overlay):
    """The overlay booted by systemd-nspawn, with a network of its own.
    Without the policy-rc.d that Docker-built hosts have (exit 101: no
    service may start or stop), which a real Debian host does not."""

    def __init__(self, base):
        super().__init__(base, HOST_LEFTOVERS + ("usr/sbin/policy-rc.d",))
        self.proc = None
        self.pid = None
        self.log = self.base / "nspawn.log"

    def start(self, timeout=120):
        (self.upper / "etc").mkdir(exist_ok=True)
        (self.upper / "etc" / "machine-id").write_text(uuid.uuid4().hex
                                                       + "\n")
        script = "set -e\n" + self.mount_script()
        script += ("exec systemd-nspawn -q -D %s --private-network "
                   "--register=no --keep-unit --boot --machine=octotest-%s\n"
                   % (self.root, uuid.uuid4().hex[:8]))
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(
                ["unshare", "--mount", "--propagation", "private", "sh",
                 "-c", script], stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT)

        deadline = time.monotonic() + 60
        while self.pid is None:
            if self.proc.poll() is not None:
                raise RuntimeError("systemd-nspawn exited: %s"
                                   % self.log.read_text()[-2000:])
            if time.monotonic() > deadline:
                raise RuntimeError("no systemd in the container after 60 s")
            self.pid = next((p for p in children_of(self.proc.pid)
                             if comm(p) == "systemd"), None)
            time.sleep(0.1)
        # Until systemd listens on its socket, systemctl cannot even ask.
        deadline = time.monotonic() + timeout
        while True:
            r = self.run("systemctl is-system-running --wait", check=False,
                         timeout=timeout)
            state = r.stdout.strip()
            if state in ("running", "degraded"):
                return
            if state or time.monotonic() > deadline:
                raise RuntimeError("the container did not boot: %s %s"
                                   % (r.stdout, r.stderr))
            time.sleep(0.2)

    def run(self, cmd, timeout=120, check=True):
        argv = ["nsenter", "-t", str(self.pid), "-a", "--"]
        argv += ["sh", "-c", cmd] if isinstance(cmd, str) else list(cmd)
        r = subprocess.run(argv, capture_output=True, text=True,
                           timeout=timeout, stdin=subprocess.DEVNULL,
                           env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
                                "LANG": "C.UTF-8", "SYSTEMD_PAGER": "",
                                "SYSTEMD_COLORS": "0"})
        if check and r.returncode != 0:
            raise AssertionError("in the container: %s: exit %d\n%s%s"
                                 % (cmd, r.returncode, r.stdout, r.stderr))
        return r

    def write(self, path, text):
        subprocess.run(["nsenter", "-t", str(self.pid), "-a", "--", "sh",
                        "-c", 'cat > "$0"', path],
                       input=text.encode(), check=True, timeout=30)

    def stop(self):
        if self.proc and self.proc.poll() is None and self.pid:
            self.run("systemctl poweroff", check=False, timeout=30)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                try:
                    os.kill(self.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        if self.proc:
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.cleanup()


@pytest.fixture(scope="module")
def container(debs, tmp_path_factory):
    if not is_root:
        pytest.skip("needs root: overlay mounts, systemd-nspawn")
    need("systemd-nspawn", "unshare", "nsenter")
    if not os.path.exists("/lib/systemd/systemd"):
        pytest.skip("systemd is not installed on the host (scripts/deps)")
    c = Container(tmp_path_factory.mktemp("container") / "c")
    c.debs = copy_debs(debs, c.upper)
    try:
        c.start()
    except (RuntimeError, octotest.Timeout) as e:
        c.stop()
        pytest.skip("cannot boot a container with systemd-nspawn here: %s"
                    % e)
    yield c
    c.stop()


def service(c, unit, prop):
    return c.run(["systemctl", "show", "-p", prop, "--value", unit]
                 ).stdout.strip()


def test_deb_install_enables_without_starting(container):
    c = container
    r = c.run("cd %s && dpkg -i %s" % (c.debs, " ".join(
        "%s_*.deb" % n for n in PACKAGES)))
    assert "enabled, not started" in r.stdout
    assert "/var/lib/octopus/brain/admin.password" in r.stdout
    c.fingerprints = {p: printed_fingerprint(r.stdout, p) for p in (
        "/var/lib/octopus/brain/brain.crt",
        "/var/lib/octopus/tentacle/tentacle.crt")}
    assert stat_of(c, "/var/lib/octopus/brain/brain.key") == \
        ("octopus", "octopus", "600")
    assert stat_of(c, "/var/lib/octopus/tentacle/private/tentacle.key") == \
        ("root", "root", "600")
    for unit in UNIT_NAME.values():
        assert c.run(["systemctl", "is-enabled", unit]).stdout.strip() == \
            "enabled"
        assert c.run(["systemctl", "is-active", unit], check=False
                     ).stdout.strip() == "inactive"
    pw = c.run(["getent", "passwd", "octopus"]).stdout.split(":")
    assert int(pw[2]) < 1000 and pw[6].strip() == "/usr/sbin/nologin", pw
    assert stat_of(c, "/var/lib/octopus/brain") == ("octopus", "octopus",
                                                     "700")
    assert stat_of(c, "/var/lib/octopus/tentacle") == ("root", "root", "700")
    v = c.run(["systemd-analyze", "verify", "octobrain.service",
               "octotentacle.service"], check=False)
    assert v.returncode == 0 and v.stderr.strip() == "", v.stderr


def test_deb_brain_service(container):
    """Started by systemd as octopus in its sandbox: it makes its keys and
    admin password, serves, reloads on SIGHUP, survives a restart, and
    systemd restarts it when killed; exposure at most 2.0."""
    c = container
    c.run("systemctl start octobrain")
    pid = service(c, "octobrain.service", "MainPID")
    assert c.run(["ps", "-o", "user=,args=", "-p", pid]).stdout.split()[:2] \
        == ["octopus", "octoBrain:"]
    for f in ("admin.password", "brain.key", "brain.db"):
        assert stat_of(c, "/var/lib/octopus/brain/" + f) == \
            ("octopus", "octopus", "600"), f
    crt = "/var/lib/octopus/brain/brain.crt"
    assert fingerprint_in(c, crt) == c.fingerprints[crt]
    out = api(c, "/var/lib/octopus/brain/admin.password", "GET /api/health")
    assert out["login"] == 200, out
    assert all(ch["state"] == "up" for ch in out["GET /api/health"][1][
        "children"]), out
    # Within the unit's sandbox each child confines itself (its filter
    # stacks with the unit's, which lets it load one), and none was
    # killed by its filter.
    kids = c.run(["pgrep", "-P", pid]).stdout.split()
    assert len(kids) == 3, kids
    for kid in kids:
        st = c.run(["cat", "/proc/%s/status" % kid]).stdout
        assert re.search(r"^Seccomp:\s+2$", st, re.M), st
        assert re.search(r"^NoNewPrivs:\s+1$", st, re.M), st
    journal = c.run("journalctl -u octobrain --no-pager").stdout
    assert "children confined by seccomp" in journal, journal
    assert "confinement does not allow" not in journal, journal

    r = c.run(["systemd-analyze", "security", "--no-pager",
               "octobrain.service"])
    m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", r.stdout)
    assert m and float(m.group(1)) <= EXPOSURE_MAX["brain"], r.stdout

    c.run("systemctl reload octobrain")
    assert service(c, "octobrain.service", "MainPID") == pid
    assert service(c, "octobrain.service", "ActiveState") == "active"
    c.run("systemctl restart octobrain")
    pid2 = service(c, "octobrain.service", "MainPID")
    assert pid2 not in (pid, "0")
    c.run("kill -KILL %s" % pid2)
    octotest.wait_for(
        lambda: service(c, "octobrain.service", "MainPID") not in
        (pid2, "0") and service(c, "octobrain.service", "ActiveState") ==
        "active", timeout=30, interval=0.5,
        what="systemd restarting the killed brain (RestartSec=5s)")
    out = api(c, "/var/lib/octopus/brain/admin.password", "GET /api/health")
    assert out["login"] == 200, out

    # A configuration error: a reload keeps the running configuration; a
    # restart fails and says why (then systemd retries, StartLimitBurst
    # times at most).
    pid3 = service(c, "octobrain.service", "MainPID")
    c.run("cp /etc/octopus/brain.conf /root/brain.conf.ok && "
          "echo 'web_prot = 8443' >> /etc/octopus/brain.conf")
    c.run("systemctl reload octobrain")
    assert service(c, "octobrain.service", "MainPID") == pid3
    assert service(c, "octobrain.service", "ActiveState") == "active"
    assert c.run("systemctl restart octobrain", check=False).returncode != 0
    assert "unknown key 'web_prot'" in c.run(
        "journalctl -u octobrain --no-pager -n 20").stdout
    c.run("cp /root/brain.conf.ok /etc/octopus/brain.conf && "
          "systemctl reset-failed octobrain; systemctl restart octobrain")
    assert service(c, "octobrain.service", "ActiveState") == "active"


def test_deb_tentacle_enrols_and_survives_restarts(container):
    """A tentacle configured with its brain's address enrols (pending until
    the admin approves it), and stays enrolled across restarts of both
    services."""
    c = container
    extra = "brain = 127.0.0.1\n"
    probe = c.run("printf 'poll_interval = 1\\n' > /tmp/p.conf && "
                  "octoTentacle -n -c /tmp/p.conf", check=False)
    if probe.returncode == 0:
        extra += "poll_interval = 1\n"
    c.run("printf '%s' >> /etc/octopus/tentacle.conf" % extra)
    c.run("systemctl start octotentacle")
    assert service(c, "octotentacle.service", "ActiveState") == "active"
    pid = service(c, "octotentacle.service", "MainPID")
    assert c.run(["ps", "-o", "user=", "-p", pid]).stdout.strip() == "root"
    # The packaged tentacle.conf's user: the register runs as octopus.
    octotest.wait_for(
        lambda: c.run(["ps", "-o", "user=", "--ppid", pid], check=False
                      ).stdout.split() == ["octopus"],
        timeout=30, interval=0.2, what="the register running as octopus")
    pw = "/var/lib/octopus/brain/admin.password"
    listed = api(c, pw, "GET /api/tentacles")["GET /api/tentacles"]
    if listed[0] == 404:
        pytest.skip("the brain has no /api/tentacles yet (enrolment)")

    def pending():
        status, body = api(c, pw, "GET /api/tentacles")["GET /api/tentacles"]
        return status == 200 and [t["id"] for t in body["tentacles"]]
    ids = octotest.wait_for(pending, timeout=30, interval=0.5,
                            what="the tentacle in the brain's list")
    assert len(ids) == 1
    call = "POST /api/tentacles/%d/approve" % ids[0]
    assert api(c, pw, call)[call][0] == 200
    wait_in(c, listening(c, 7001), "the command worker on 7001")

    c.run("systemctl restart octobrain octotentacle")
    wait_in(c, listening(c, 7001), "the command worker after a restart")
    assert c.run(listening(c, 7000), check=False).returncode != 0
    status, body = api(c, pw, "GET /api/tentacles")["GET /api/tentacles"]
    assert status == 200 and [t["enrolment"] for t in body["tentacles"]] \
        == ["accepted"], body


# What the audit scripts look at, run once as root and once under the
# tentacle unit's settings: the output must be the same.
PROBE = r"""
set +e
echo "## mounts"
for m in / /tmp /home /dev/shm /var /var/tmp /run /proc /sys; do
    findmnt -kn -o TARGET,SOURCE,FSTYPE,OPTIONS --mountpoint "$m"
done
echo "## suid"; find /home /tmp /usr/bin -xdev -perm -4000 -type f | sort
echo "## tcp"; ss -Htlnp | sed 's/ \+/ /g' | sort
echo "## udp"; ss -Hulnp | sed 's/ \+/ /g' | sort
echo "## netlink"; ip -br link; ip -br addr
echo "## sysctl"
sysctl kernel.dmesg_restrict kernel.kptr_restrict kernel.yama.ptrace_scope \
    fs.suid_dumpable kernel.randomize_va_space net.ipv4.ip_forward \
    fs.protected_symlinks fs.protected_hardlinks 2>&1
echo "## firewall"
command -v nft >/dev/null && nft list ruleset 2>&1
command -v iptables-save >/dev/null && iptables-save 2>&1 | grep -v '^#'
echo "## files"; stat -c '%n %a %U %G' /etc/shadow /etc/passwd /etc/gshadow \
    /tmp /dev/shm /var/tmp /root
echo "## homes"; ls -la /home
echo "## id"; id -u
"""

# The installed audit pack, every script at once (as the tentacle runs
# them: no shell, a clean environment), each report headed by
# "### NAME EXIT".
AUDIT_PACK = r"""
d=$(mktemp -d)
for s in /usr/lib/octopus/scripts/*; do
    [ -f "$s" ] && [ -x "$s" ] || continue
    n=${s##*/}
    (env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "$s" >"$d/$n" 2>&1
     echo $? >"$d/$n.exit") &
done
wait
for f in "$d"/*.exit; do
    n=${f##*/}; n=${n%.exit}
    echo "### $n $(cat "$f")"; cat "$d/$n"
done
rm -rf "$d"
"""


VERDICT_WORDS = ("OK", "FAIL", "WARN", "SKIP")


def verdicts(report):
    """{script: (exit status, summary line, [status word of every OK,
    FAIL, WARN and SKIP line])}: what an audit found, without the
    inventory (INFO) and the counts that change from one run to the
    next. The summary is a last line without a status word, if any (an
    INFO line that ends the report is inventory)."""
    out = {}
    for block in report.split("### ")[1:]:
        head, _, body = block.partition("\n")
        name, status = head.split()
        lines = body.rstrip("\n").splitlines()
        first = [l.split()[0] if l.split() else "" for l in lines]
        summary = lines[-1] if lines and first[-1] not in \
            VERDICT_WORDS + ("INFO",) else ""
        words = [w for w in first if w in VERDICT_WORDS]
        out[name] = (int(status), summary, words)
    return out


def under_tentacle_unit(c, name, script, output):
    """Start (in the background) a oneshot that runs script with the
    [Service] settings of octotentacle.service, minus what makes it the
    daemon; its standard output goes to output."""
    daemon_only = {"Type", "PIDFile", "ExecStart", "ExecReload", "Restart",
                   "RestartSec", "RuntimeDirectory", "RuntimeDirectoryMode",
                   "StateDirectory", "StateDirectoryMode"}
    lines = ["[Service]", "Type=oneshot",
             "ExecStart=/bin/sh %s" % script,
             "StandardOutput=file:%s" % output]
    unit = c.run("cat /lib/systemd/system/octotentacle.service").stdout
    for section, key, value in unit_settings(unit):
        if section == "Service" and key not in daemon_only:
            lines.append("%s=%s" % (key, value))
    c.write("/run/systemd/system/%s.service" % name, "\n".join(lines) + "\n")
    c.run("systemctl daemon-reload")
    return subprocess.Popen(["nsenter", "-t", str(c.pid), "-a", "--",
                             "systemctl", "start", name],
                            stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)


def test_deb_tentacle_unit_shows_audits_the_host(container):
    """What the audit scripts read (mounts, SUID files, sockets, netlink,
    sysctl, firewall, modes) and the installed audit pack's findings are
    the same under octotentacle.service's sandbox as for root outside any
    unit."""
    c = container
    c.write("/root/probe.sh", PROBE)
    c.write("/root/audit.sh", AUDIT_PACK)
    probe = under_tentacle_unit(c, "octo-probe", "/root/probe.sh",
                                "/root/probe.unit")
    audit = under_tentacle_unit(c, "octo-audit", "/root/audit.sh",
                                "/root/audit.unit")
    host_probe = c.run("sh /root/probe.sh").stdout
    host_audit = c.run("sh /root/audit.sh", timeout=300).stdout
    for p in (probe, audit):
        out, _ = p.communicate(timeout=300)
        assert p.returncode == 0, out
    unit_probe = c.run("cat /root/probe.unit").stdout
    assert unit_probe == host_probe, "\n".join(difflib.unified_diff(
        host_probe.splitlines(), unit_probe.splitlines(), "as root",
        "under octotentacle.service", lineterm=""))

    unit_audit = c.run("cat /root/audit.unit").stdout
    want, got = verdicts(host_audit), verdicts(unit_audit)
    assert sorted(want) == sorted(got) == sorted(
        Path(p).name for p in audit_scripts())
    differ = sorted(n for n in want if want[n] != got[n])
    assert not differ, "audit results differ under the unit:\n" + \
        "\n".join(difflib.unified_diff(
            host_audit.splitlines(), unit_audit.splitlines(), "as root",
            "under octotentacle.service", lineterm=""))


def test_deb_remove_keeps_state_and_purge_leaves_nothing(container):
    c = container
    c.run("systemctl start octobrain octotentacle")
    c.run("dpkg -r octopus-brain octopus-tentacle")
    for unit in UNIT_NAME.values():
        assert c.run(["systemctl", "is-active", unit], check=False
                     ).stdout.strip() in ("inactive", "unknown")
    c.run("test -e /etc/octopus/brain.conf && test -e /etc/octopus/"
          "tentacle.conf && test -e /var/lib/octopus/brain/brain.db && "
          "test -e /var/lib/octopus/tentacle/private/tentacle.key && "
          "! test -e /usr/sbin/octoBrain")
    assert user_exists(c, "octopus")
    c.run("dpkg --purge %s" % " ".join(reversed(PACKAGES)))
    for unit in UNIT_NAME.values():
        assert c.run(["systemctl", "is-active", unit], check=False
                     ).stdout.strip() in ("inactive", "unknown")
    assert c.run("pgrep -x 'maestro|webserv|registerer|commander|"
                 "supervisor|register|command worker'", check=False
                 ).returncode != 0
    assert not user_exists(c, "octopus")
    assert c.run(["getent", "group", "octopus"], check=False
                 ).returncode != 0
    assert left_behind(c) == []
