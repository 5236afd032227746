"""The audit script pack (scripts/audit/, issue 4 "Scripts").

Every script runs on this machine, as the current user and, when that is
root, as nobody, in a clean environment (env -i PATH=...), with a read-only
HOME as working directory: it finishes (60 s is only a hang guard), exits 0,
1 or 2, prints printable ASCII lines that start with a status word and a
summary that matches the exit status, writes nothing to stderr and changes
no file. Then targeted tests give the scripts fixture trees through
OCTO_AUDIT_ROOT (see scripts/audit/README.md): known-bad and known-good
sshd_config, mounts, sysctl values, firewall rulesets, apt state, SUID
files, accounts.

Stdlib and pytest only. No timing is asserted.
"""

import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

import auditpack

REPO = auditpack.REPO
AUDIT = auditpack.SOURCE
CLEAN_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
HANG_GUARD = 60.0       # seconds: a script past this is stuck, not slow
NOBODY = 65534

EXPECTED = ("disk-usage", "processes", "listening-ports", "logged-in-users",
            "suid-sgid-files", "sysctl-hardening", "mount-options",
            "sshd-config", "security-updates", "firewall")

SCRIPTS = sorted(p.name for p in AUDIT.iterdir()
                 if p.is_file() and os.access(p, os.X_OK))

STATUS_RE = re.compile(r"^(OK    |FAIL  |WARN  |SKIP  |INFO  )\S")
FINDING_RE = re.compile(r"^(FAIL|WARN)  ")
SKIPPED = r"( \((1 check|[0-9]+ checks) skipped\))?"
SUMMARY_RE = {
    0: re.compile(r"^compliant" + SKIPPED + r"$"),
    1: re.compile(r"^([0-9]+) findings?" + SKIPPED + r"$"),
    2: re.compile(r"^could not check: \S.*$"),
}
IS_ROOT = os.geteuid() == 0

# The scripts do not depend on the build: the sanitized pass of `make test`
# (build/asan) would only run them a second time.
if os.environ.get("OCTO_BUILD", "").rstrip("/").endswith("/asan"):
    pytestmark = pytest.mark.skip(
        reason="audit scripts are independent of the build: "
               "tested once, in the plain pass")


# ---------------------------------------------------------------- helpers

class Result:
    def __init__(self, script, rc, out, err, seconds):
        self.script, self.rc, self.out, self.err = script, rc, out, err
        self.seconds = seconds
        self.lines = out.splitlines()

    def __repr__(self):
        return "<%s exit %s>\n%s%s" % (self.script, self.rc, self.out,
                                        self.err and "stderr:\n" + self.err)

    def has(self, line):
        return line in self.lines

    def starting(self, prefix):
        return [l for l in self.lines if l.startswith(prefix)]


def _drop_to_nobody():
    os.setgroups([])
    os.setgid(NOBODY)
    os.setuid(NOBODY)


def run(script, cwd, as_nobody=False, env=None, timeout=HANG_GUARD):
    """Run scripts/audit/SCRIPT with env -i PATH=... HOME=cwd (plus env) in
    its own process group; kill the group at the hang guard."""
    full = {"PATH": CLEAN_PATH, "HOME": str(cwd)}
    full.update(env or {})
    start = time.monotonic()
    # Run from the staged copy, never from the checkout (issue 11).
    p = subprocess.Popen([str(auditpack.pack() / script)], cwd=str(cwd),
                         env=full,
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
    seconds = time.monotonic() - start
    return Result(script, p.returncode, out.decode("latin-1"),
                  err.decode("latin-1"), seconds)


snapshot = auditpack.snapshot


@pytest.fixture
def world():
    """A directory every user can read (pytest's tmp_path is 0700 root's),
    removed at the end: fixtures built there can be read by nobody."""
    d = tempfile.mkdtemp(prefix="octo-audit-test-", dir="/tmp")
    os.chmod(d, 0o755)
    yield Path(d)
    # Make it removable whatever a test did to modes inside.
    for dirpath, dirnames, _ in os.walk(d):
        for name in dirnames:
            os.chmod(os.path.join(dirpath, name), 0o755)
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def home(world):
    """A read-only HOME (and working directory) with a file in it."""
    h = world / "home"
    h.mkdir()
    (h / "marker").write_text("untouched\n")
    os.chmod(h, 0o555)
    return h


def write(path, text, mode=0o644):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    os.chmod(path, mode)
    return path


def fixture_run(script, root, home, as_nobody=False):
    """Run SCRIPT on the fixture tree ROOT and check it changed nothing
    there and that the output follows the conventions."""
    before = snapshot(root)
    r = run(script, home, as_nobody=as_nobody,
            env={"OCTO_AUDIT_ROOT": str(root)})
    assert snapshot(root) == before, "%s changed its fixture tree" % script
    check_format(r)
    return r


def check_format(r):
    """The output conventions of scripts/audit/README.md."""
    assert r.rc in (0, 1, 2), r
    assert r.err == "", "stderr is not empty: %r" % (r,)
    assert r.lines, "%s printed nothing" % r.script
    for line in r.lines:
        assert all(32 <= ord(c) <= 126 for c in line), \
            "not printable ASCII: %r in %r" % (line, r)
        assert len(line) <= 500, "line too long: %r" % line
    assert len(r.lines) <= 250, "output not bounded: %d lines" % len(r.lines)
    *body, last = r.lines
    for line in body:
        assert STATUS_RE.match(line), \
            "line without a status word: %r in %r" % (line, r)
    m = SUMMARY_RE[r.rc].match(last)
    assert m, "summary %r does not match exit status %d: %r" % (last, r.rc, r)
    found = [l for l in body if FINDING_RE.match(l)]
    if r.rc == 0:
        assert not found, r
    if r.rc == 1:
        assert found, r
        n = int(m.group(1))
        if any("... and " in l for l in found):
            assert n >= len(found), r
        else:
            assert n == len(found), \
                "summary says %d findings, %d FAIL/WARN lines: %r" % (
                    n, len(found), r)
    skipped = [l for l in body if l.startswith("SKIP")]
    if r.rc in (0, 1) and skipped:
        assert "skipped" in last, "SKIP lines not counted in %r" % last


# ---------------------------------------------------------------- the pack

def test_pack_is_complete():
    for name in EXPECTED:
        assert name in SCRIPTS, "scripts/audit/%s missing or not executable" \
            % name
    readme = AUDIT / "README.md"
    assert readme.is_file()
    # Not installed as a script (make install takes the executable files).
    assert not os.access(readme, os.X_OK)
    for name in SCRIPTS:
        assert re.match(r"^[a-z0-9][a-z0-9-]*$", name), name


@pytest.mark.parametrize("script", SCRIPTS)
def test_header(script):
    data = (AUDIT / script).read_bytes()
    assert all(b in b"\t\n" or 32 <= b <= 126 for b in data), \
        "%s is not plain ASCII" % script
    lines = data.decode("ascii").splitlines()
    assert lines[0] == "#!/bin/sh"
    m = re.match(r"^# description: (.*)$", lines[1])
    assert m, "second line is not '# description: ...': %r" % lines[1]
    desc = m.group(1)
    assert 0 < len(desc) <= 100, "description of %d characters" % len(desc)
    assert desc == desc.strip() and re.match(r"^[ -~]+$", desc)
    # A comment block follows: what it checks and the source.
    block = []
    for line in lines[2:]:
        if not line.startswith("#"):
            break
        block.append(line)
    assert len(block) >= 4, "%s: no comment block after the header" % script
    text = " ".join(block)
    assert re.search(r"ANSSI|course|original Octopus", text), \
        "%s: the comment block names no source" % script
    assert "set -u" in lines


@pytest.mark.parametrize("unprivileged", [False, True],
                         ids=["as-is", "nobody"])
@pytest.mark.parametrize("script", SCRIPTS)
def test_runs_on_this_machine(script, unprivileged, home):
    if unprivileged and not IS_ROOT:
        pytest.skip("not root: the as-is run is already unprivileged")
    before = snapshot(home.parent)
    r = run(script, home, as_nobody=unprivileged)
    assert r.seconds < HANG_GUARD
    check_format(r)
    assert snapshot(home.parent) == before, \
        "%s wrote under its HOME or working directory" % script
    # What could not be checked says why (needs root, ...).
    for line in r.starting("SKIP"):
        assert re.search(r"needs root|not present|installed|budget|stopped|"
                         r"not readable|unreadable", line), line
    print("%s (%s): exit %d, %s" % (script, "nobody" if unprivileged
                                     else "uid %d" % os.geteuid(),
                                     r.rc, r.lines[-1]))


# ---------------------------------------------------------------- shellcheck

def test_shellcheck():
    sc = shutil.which("shellcheck")
    if not sc:
        pytest.skip("shellcheck not installed (scripts/deps installs it)")
    p = subprocess.run([sc, "-s", "sh"] + [str(AUDIT / s) for s in SCRIPTS],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr


# ---------------------------------------------------------------- sshd-config

SSHD_BAD = """\
# a known-bad configuration
Include /etc/ssh/sshd_config.d/*.conf
Protocol 2,1
PermitRootLogin yes
PasswordAuthentication yes
PermitEmptyPasswords yes
X11Forwarding yes
MaxAuthTries 10
Ciphers aes128-cbc,aes256-ctr
MACs hmac-md5,hmac-sha2-256
Match User backup
    X11Forwarding yes
"""

SSHD_GOOD = """\
# a known-good configuration
Include sshd_config.d/*.conf
PermitRootLogin no
PasswordAuthentication no
PermitEmptyPasswords no
X11Forwarding no
MaxAuthTries 2
LoginGraceTime 30s
AllowTcpForwarding no
StrictModes yes
Ciphers chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,aes256-ctr
Match Address 10.0.0.0/8
    MaxAuthTries 1
"""


def sshd_root(world, config, dropins=None):
    root = world / "root"
    write(root / "etc/ssh/sshd_config", config)
    (root / "etc/ssh/sshd_config.d").mkdir(exist_ok=True)
    for name, text in (dropins or {}).items():
        write(root / "etc/ssh/sshd_config.d" / name, text)
    return root


def test_sshd_bad_config(world, home):
    root = sshd_root(world, SSHD_BAD, {"10-local.conf": "StrictModes no\n"})
    r = fixture_run("sshd-config", root, home)
    assert r.rc == 1, r
    for line in (
            "FAIL  PermitRootLogin yes (expected no; /etc/ssh/sshd_config:4)",
            "FAIL  PermitEmptyPasswords yes (expected no; "
            "/etc/ssh/sshd_config:6)",
            "FAIL  X11Forwarding yes (expected no; /etc/ssh/sshd_config:7)",
            "FAIL  X11Forwarding yes (expected no; Match block at "
            "/etc/ssh/sshd_config:12)",
            "FAIL  StrictModes no (expected yes; "
            "/etc/ssh/sshd_config.d/10-local.conf:1)",
            "FAIL  Ciphers includes weak aes128-cbc (/etc/ssh/sshd_config:9)",
            "FAIL  MACs includes weak hmac-md5 (/etc/ssh/sshd_config:10)",
            "FAIL  Protocol 2,1 allows SSH-1 (expected 2; "
            "/etc/ssh/sshd_config:3)"):
        assert r.has(line), "missing %r in %r" % (line, r)
    assert r.starting("WARN  PasswordAuthentication yes")
    assert r.starting("WARN  MaxAuthTries 10")
    # OpenSSH's defaults when a keyword is absent
    assert r.starting("WARN  LoginGraceTime 120 (")
    assert r.starting("OK    PermitUserEnvironment no (")


def test_sshd_good_config(world, home):
    root = sshd_root(world, SSHD_GOOD,
                     {"20-empty.conf": "# nothing here\n"})
    r = fixture_run("sshd-config", root, home)
    assert r.rc == 0, r
    assert r.lines[-1] == "compliant"
    assert r.has("OK    PermitRootLogin no (/etc/ssh/sshd_config:3)")
    assert r.has("OK    MaxAuthTries 1 (Match block at "
                 "/etc/ssh/sshd_config:13)")
    if IS_ROOT:
        r = fixture_run("sshd-config", root, home, as_nobody=True)
        assert r.rc == 0, r


def test_sshd_include_first_value_wins(world, home):
    # The drop-in is read at the Include, before the main file's own line.
    root = sshd_root(world, SSHD_GOOD,
                     {"50-cloud.conf": "PermitRootLogin=yes\n"})
    r = fixture_run("sshd-config", root, home)
    assert r.rc == 1, r
    assert r.has("FAIL  PermitRootLogin yes (expected no; "
                 "/etc/ssh/sshd_config.d/50-cloud.conf:1)"), r


def test_sshd_not_installed(world, home):
    root = world / "root"
    root.mkdir()
    r = fixture_run("sshd-config", root, home)
    assert r.rc == 0, r
    assert "not installed" in r.lines[0]


def fake_program(path, script):
    write(path, "#!/bin/sh\n" + script, mode=0o755)


def test_sshd_effective_settings_from_sshd_T(world, home):
    root = sshd_root(world, "PermitRootLogin no\n"
                            "Match User backup\n"
                            "    PermitEmptyPasswords yes\n")
    # sshd -T gives the effective settings: they win over the file.
    fake_program(root / "usr/sbin/sshd", """\
[ "$1" = -T ] || exit 1
cat <<EOF
permitrootlogin yes
passwordauthentication no
permitemptypasswords no
x11forwarding no
maxauthtries 2
logingracetime 30
strictmodes yes
permituserenvironment no
allowtcpforwarding no
ciphers chacha20-poly1305@openssh.com,aes128-cbc
macs hmac-sha2-256-etm@openssh.com
kexalgorithms curve25519-sha256
EOF
""")
    r = fixture_run("sshd-config", root, home)
    assert r.rc == 1, r
    assert r.starting("INFO  effective settings from sshd -T")
    assert r.has("FAIL  PermitRootLogin yes (expected no; sshd -T)"), r
    assert r.has("FAIL  Ciphers includes weak aes128-cbc (sshd -T)"), r
    # sshd -T shows global values: Match blocks come from the files
    assert r.has("FAIL  PermitEmptyPasswords yes (expected no; Match block "
                 "at /etc/ssh/sshd_config:3)"), r
    assert r.lines[-1] == "3 findings"


def test_sshd_T_fails_then_files_parsed(world, home):
    root = sshd_root(world, SSHD_GOOD)
    fake_program(root / "usr/sbin/sshd",
                 'echo "sshd: no hostkeys available -- exiting." >&2\n'
                 'exit 1\n')
    r = fixture_run("sshd-config", root, home)
    assert r.rc == 0, r
    assert any(l.startswith("INFO  sshd -T could not run (sshd: no hostkeys")
               for l in r.lines), r
    assert r.starting("INFO  settings parsed from /etc/ssh/sshd_config")


@pytest.mark.skipif(not IS_ROOT, reason="needs root to make a root-only file")
def test_sshd_unreadable_config_without_root(world, home):
    root = sshd_root(world, SSHD_GOOD)
    os.chmod(root / "etc/ssh/sshd_config", 0o600)
    r = fixture_run("sshd-config", root, home, as_nobody=True)
    assert r.rc == 2, r
    assert r.has("SKIP  /etc/ssh/sshd_config is not readable (needs root): "
                 "its settings are not checked"), r
    assert r.lines[-1].startswith("could not check:")
    # root reads it
    r = fixture_run("sshd-config", root, home)
    assert r.rc == 0, r


def test_sshd_key_and_config_permissions(world, home):
    root = sshd_root(world, SSHD_GOOD)
    write(root / "etc/ssh/ssh_host_ed25519_key", "not a real key\n", 0o644)
    os.chmod(root / "etc/ssh/sshd_config", 0o666)
    r = fixture_run("sshd-config", root, home)
    assert r.rc == 1, r
    assert r.has("FAIL  /etc/ssh/sshd_config is writable by group or "
                 "others"), r
    assert r.has("FAIL  host private key /etc/ssh/ssh_host_ed25519_key is "
                 "accessible to group or others (expected 0600)"), r


# ---------------------------------------------------------------- mount-options

MOUNTS_GOOD = """\
/dev/sda1 / ext4 rw,relatime 0 0
proc /proc proc rw,nosuid,nodev,noexec,relatime,hidepid=2 0 0
tmpfs /tmp tmpfs rw,nosuid,nodev,noexec,relatime 0 0
/dev/sda2 /var ext4 rw,nodev,relatime 0 0
/dev/sda3 /home ext4 rw,nosuid,nodev,noexec,relatime 0 0
tmpfs /dev/shm tmpfs rw,nosuid,nodev,noexec 0 0
/dev/sda4 /var/log ext4 rw,nosuid,nodev,noexec,relatime 0 0
"""

MOUNTS_BAD = """\
/dev/sda1 / ext4 rw,relatime 0 0
proc /proc proc rw,relatime 0 0
/dev/sda2 /home ext4 rw,nodev,relatime 0 0
tmpfs /dev/shm tmpfs rw,relatime 0 0
tmpfs /dev/shm tmpfs rw,nosuid,relatime 0 0
/dev/sda4 /var/tmp ext4 rw,relatime 0 0
"""


def mounts_root(world, text):
    root = world / "root"
    write(root / "proc/self/mounts", text)
    return root


def test_mount_options_good(world, home):
    r = fixture_run("mount-options", mounts_root(world, MOUNTS_GOOD), home)
    assert r.rc == 0, r
    assert r.has("OK    /tmp (tmpfs) is mounted with nodev,nosuid,noexec")
    assert r.has("OK    /home (ext4) is mounted with nodev,nosuid,noexec")
    # Debian: nosuid and noexec on /var are noted, not required
    assert r.starting("INFO  /var is mounted without nosuid,noexec")
    assert r.has("OK    /proc is mounted with hidepid=2")
    if IS_ROOT:
        assert fixture_run("mount-options", mounts_root(world, MOUNTS_GOOD),
                           home, as_nobody=True).rc == 0


def test_mount_options_bad(world, home):
    r = fixture_run("mount-options", mounts_root(world, MOUNTS_BAD), home)
    assert r.rc == 1, r
    assert r.has("FAIL  /tmp is not a separate mount point (part of /): "
                 "nodev,nosuid,noexec cannot be applied"), r
    assert r.starting("WARN  /var is not a separate mount point"), r
    assert r.has("FAIL  /home (ext4) is mounted without nosuid,noexec "
                 "(expected nodev,nosuid, recommended noexec)"), r
    # the last (topmost) mount of /dev/shm counts
    assert r.has("FAIL  /dev/shm (tmpfs) is mounted without nodev,noexec "
                 "(expected nodev,nosuid,noexec)"), r
    assert r.has("FAIL  /var/tmp (ext4) is mounted without "
                 "nodev,nosuid,noexec (expected nodev,nosuid,noexec)"), r
    assert r.lines[-1] == "5 findings"


def test_mount_options_no_mounts_file(world, home):
    root = world / "root"
    root.mkdir()
    r = fixture_run("mount-options", root, home)
    assert r.rc == 2, r


# ---------------------------------------------------------------- sysctl

# The course's list ("Configuration noyau (sysctl)"), compliant values.
SYSCTL_COURSE = {
    "net.ipv4.ip_forward": "0",
    "net.ipv4.conf.all.rp_filter": "1",
    "net.ipv4.conf.default.rp_filter": "1",
    "net.ipv4.conf.all.send_redirects": "0",
    "net.ipv4.conf.default.send_redirects": "0",
    "net.ipv4.conf.all.accept_source_route": "0",
    "net.ipv4.conf.default.accept_source_route": "0",
    "net.ipv4.conf.all.accept_redirects": "0",
    "net.ipv4.conf.all.secure_redirects": "0",
    "net.ipv4.conf.default.accept_redirects": "0",
    "net.ipv4.conf.default.secure_redirects": "0",
    "net.ipv4.conf.all.log_martians": "1",
    "net.ipv4.tcp_rfc1337": "1",
    "net.ipv4.icmp_ignore_bogus_error_responses": "1",
    "net.ipv4.ip_local_port_range": "32768\t65535",
    "net.ipv4.tcp_syncookies": "1",
    "net.ipv6.conf.all.router_solicitations": "0",
    "net.ipv6.conf.default.router_solicitations": "0",
    "net.ipv6.conf.all.accept_ra_rtr_pref": "0",
    "net.ipv6.conf.default.accept_ra_rtr_pref": "0",
    "net.ipv6.conf.all.accept_ra_pinfo": "0",
    "net.ipv6.conf.default.accept_ra_pinfo": "0",
    "net.ipv6.conf.all.accept_ra_defrtr": "0",
    "net.ipv6.conf.default.accept_ra_defrtr": "0",
    "net.ipv6.conf.all.autoconf": "0",
    "net.ipv6.conf.default.autoconf": "0",
    "net.ipv6.conf.all.accept_redirects": "0",
    "net.ipv6.conf.default.accept_redirects": "0",
    "net.ipv6.conf.all.accept_source_route": "0",
    "net.ipv6.conf.default.accept_source_route": "0",
    "net.ipv6.conf.all.max_addresses": "1",
    "net.ipv6.conf.default.max_addresses": "1",
    "kernel.sysrq": "0",
    "fs.suid_dumpable": "0",
    "fs.protected_symlinks": "1",
    "fs.protected_hardlinks": "1",
    "kernel.randomize_va_space": "2",
    "vm.mmap_min_addr": "65536",
    "kernel.pid_max": "65536",
    "kernel.kptr_restrict": "1",
    "kernel.dmesg_restrict": "1",
    "kernel.perf_event_paranoid": "2",
    "kernel.perf_event_max_sample_rate": "1",
    "kernel.perf_cpu_time_max_percent": "1",
}


def sysctl_root(world, values, ipv6=True):
    root = world / "root"
    sysdir = root / "proc/sys"
    sysdir.mkdir(parents=True)
    for name, value in values.items():
        if name.startswith("net.ipv6.") and not ipv6:
            continue
        write(sysdir / name.replace(".", "/"), value + "\n")
    if ipv6:
        write(sysdir / "net/ipv6/conf/all/disable_ipv6", "0\n")
    return root


def test_sysctl_course_values_compliant(world, home):
    r = fixture_run("sysctl-hardening", sysctl_root(world, SYSCTL_COURSE),
                    home)
    assert r.rc == 0, r
    assert r.lines[-1] == "compliant"
    for name, value in SYSCTL_COURSE.items():
        shown = value.replace("\t", " ")
        assert r.has("OK    %s = %s" % (name, shown)), \
            "%s not checked: %r" % (name, r)


def test_sysctl_findings(world, home):
    values = dict(SYSCTL_COURSE)
    values.update({
        "net.ipv4.conf.all.rp_filter": "0",
        "net.ipv4.ip_local_port_range": "32768\t60999",
        "kernel.kptr_restrict": "2",          # stricter: fine
        "kernel.pid_max": "4194304",          # larger: fine
        "kernel.perf_event_paranoid": "3",    # stricter: fine
        "vm.mmap_min_addr": "4096",
        "kernel.perf_cpu_time_max_percent": "0",   # 0 disables the limit
    })
    del values["kernel.sysrq"]                # not in this kernel
    r = fixture_run("sysctl-hardening", sysctl_root(world, values), home)
    assert r.rc == 1, r
    assert r.has("FAIL  net.ipv4.conf.all.rp_filter = 0 (expected 1)")
    assert r.has("FAIL  net.ipv4.ip_local_port_range = 32768 60999 "
                 "(expected 32768 65535 or wider)")
    assert r.has("FAIL  vm.mmap_min_addr = 4096 (expected 65536 or more)")
    assert r.has("FAIL  kernel.perf_cpu_time_max_percent = 0 (expected 1)")
    assert r.has("OK    kernel.kptr_restrict = 2")
    assert r.has("OK    kernel.pid_max = 4194304")
    assert r.has("SKIP  kernel.sysrq: not present in this kernel "
                 "(not checked)")
    assert r.lines[-1] == "4 findings (1 check skipped)"


def test_sysctl_without_ipv6(world, home):
    r = fixture_run("sysctl-hardening",
                    sysctl_root(world, SYSCTL_COURSE, ipv6=False), home)
    assert r.rc == 0, r
    assert r.starting("INFO  IPv6 is not available in this kernel")
    assert not [l for l in r.lines if "net.ipv6." in l]


def test_sysctl_no_proc(world, home):
    root = world / "root"
    root.mkdir()
    r = fixture_run("sysctl-hardening", root, home)
    assert r.rc == 2, r


# ---------------------------------------------------------------- firewall

RULESET_DROP = """\
table inet filter {
	set admins {
		type ipv4_addr
		elements = { 10.0.0.1,
			     10.0.0.2 }
	}
	chain input {
		type filter hook input priority filter; policy drop;
		ct state established,related accept
		iif "lo" accept
		tcp dport 22 ip saddr @admins accept
	}
	chain forward {
		type filter hook forward priority filter; policy drop;
	}
	chain output {
		type filter hook output priority filter; policy accept;
	}
}
"""

# Debian's /etc/nftables.conf as shipped: chains that accept everything,
# and an iptables-nft table filtering IPv4 only.
RULESET_OPEN = """\
table inet filter {
	chain input {
		type filter hook input priority filter;
	}
	chain forward {
		type filter hook forward priority filter;
	}
	chain output {
		type filter hook output priority filter;
	}
}
table ip filter {
	chain INPUT {
		type filter hook input priority filter; policy accept;
		ip saddr 192.0.2.0/24 counter packets 0 bytes 0 drop
	}
}
"""


def firewall_root(world, nft_body=None, ipv6=True):
    root = world / "root"
    root.mkdir()
    if nft_body is not None:
        fake_program(root / "usr/sbin/nft", nft_body)
    if ipv6:
        write(root / "proc/sys/net/ipv6/conf/all/disable_ipv6", "0\n")
    return root


def test_firewall_drop_policy(world, home):
    root = firewall_root(world, "cat <<'EOF'\n%sEOF\n" % RULESET_DROP)
    r = fixture_run("firewall", root, home)
    assert r.rc == 0, r
    assert r.has("OK    nftables inet filter chain input: policy drop, "
                 "3 rules, 0 drop/reject"), r
    assert r.has("OK    IPv4: incoming traffic is filtered")
    assert r.has("OK    IPv6: incoming traffic is filtered")


def test_firewall_accepts_everything(world, home):
    root = firewall_root(world, "cat <<'EOF'\n%sEOF\n" % RULESET_OPEN)
    r = fixture_run("firewall", root, home)
    assert r.rc == 1, r
    assert r.has("OK    IPv4: incoming traffic is filtered"), r
    assert r.has("FAIL  IPv6: the input chains accept everything (no drop "
                 "policy, no drop/reject rule)"), r
    assert r.lines[-1] == "1 finding"


def test_firewall_empty_ruleset(world, home):
    r = fixture_run("firewall", firewall_root(world, "exit 0\n"), home)
    assert r.rc == 1, r
    assert r.starting("FAIL  IPv4: no input filtering rule")
    assert r.starting("FAIL  IPv6: no input filtering rule")


def test_firewall_iptables_save(world, home):
    root = firewall_root(world, ipv6=False)
    fake_program(root / "usr/sbin/iptables-save", """\
cat <<'EOF'
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -p tcp --dport 22 -j ACCEPT
COMMIT
EOF
""")
    r = fixture_run("firewall", root, home)
    assert r.rc == 0, r
    assert r.has("OK    iptables-save filter INPUT: policy drop, 2 rules, "
                 "0 drop/reject"), r
    assert r.starting("INFO  IPv6 is disabled or absent")


def test_firewall_not_permitted(world, home):
    root = firewall_root(world, 'echo "Error: Operation not permitted" >&2\n'
                                "exit 1\n")
    r = fixture_run("firewall", root, home)
    assert r.rc == 2, r
    assert r.starting("SKIP  nft list ruleset: Error: Operation not "
                      "permitted"), r
    assert r.lines[-1].startswith("could not check:")


def test_firewall_no_tooling(world, home):
    r = fixture_run("firewall", firewall_root(world), home)
    assert r.rc == 2, r
    assert r.starting("SKIP  neither nft (nftables) nor iptables-save")


# ---------------------------------------------------------------- security-updates

RELEASE = """\
Origin: Debian
Label: {label}
Suite: {suite}
Codename: {codename}
Architectures: amd64
Components: main
"""

PACKAGE = """\
Package: {name}
Version: {version}
Architecture: all
Maintainer: Nobody <nobody@example.org>
Filename: pool/main/{name}_{version}_all.deb
Size: 1000
Description: a test package

"""

STATUS = """\
Package: {name}
Status: install ok installed
Priority: optional
Version: {version}
Architecture: all
Maintainer: Nobody <nobody@example.org>
Description: a test package

"""


def apt_root(world, installed, security=(), regular=(), lists=True):
    """installed: {name: version}; security/regular: [(name, version)]
    available from bookworm-security / bookworm."""
    root = world / "root"
    write(root / "var/lib/dpkg/status",
          "".join(STATUS.format(name=n, version=v)
                  for n, v in installed.items()))
    write(root / "etc/apt/sources.list",
          "deb http://deb.example.org/debian bookworm main\n"
          "deb http://deb.example.org/debian-security bookworm-security "
          "main\n")
    for d in ("etc/apt/apt.conf.d", "etc/apt/sources.list.d",
              "etc/apt/preferences.d", "var/cache/apt",
              "var/lib/apt/lists"):
        (root / d).mkdir(parents=True, exist_ok=True)
    if lists:
        ld = root / "var/lib/apt/lists"
        for prefix, label, suite, codename, pkgs in (
                ("deb.example.org_debian-security_dists_bookworm-security",
                 "Debian-Security", "stable-security", "bookworm-security",
                 security),
                ("deb.example.org_debian_dists_bookworm", "Debian", "stable",
                 "bookworm", regular)):
            write(ld / (prefix + "_Release"),
                  RELEASE.format(label=label, suite=suite,
                                 codename=codename))
            write(ld / (prefix + "_main_binary-amd64_Packages"),
                  "".join(PACKAGE.format(name=n, version=v)
                          for n, v in pkgs))
    return root


def test_security_updates_pending(world, home):
    root = apt_root(world, {"octo-demo": "1.0", "octo-other": "1.0"},
                    security=[("octo-demo", "1.1")],
                    regular=[("octo-other", "2.0")])
    r = fixture_run("security-updates", root, home)
    assert r.rc == 1, r
    assert r.has("FAIL  octo-demo 1.0 -> 1.1 "
                 "(Debian-Security:stable-security)"), r
    assert r.has("INFO  1 other updates pending (not from a security "
                 "repository)"), r
    assert r.starting("OK    package lists are recent")
    assert r.lines[-1] == "1 finding"
    # No package cache written (built in memory), nothing else either:
    # fixture_run compared the whole tree.
    assert not list((root / "var/cache/apt").iterdir())
    if IS_ROOT:
        r = fixture_run("security-updates", root, home, as_nobody=True)
        assert r.rc == 1, r


def test_security_updates_none(world, home):
    root = apt_root(world, {"octo-demo": "1.1"},
                    security=[("octo-demo", "1.1")])
    r = fixture_run("security-updates", root, home)
    assert r.rc == 0, r
    assert r.starting("OK    no pending security update")


def test_security_updates_stale_lists(world, home):
    root = apt_root(world, {"octo-demo": "1.1"},
                    security=[("octo-demo", "1.1")])
    old = time.time() - 30 * 86400
    for f in (root / "var/lib/apt/lists").iterdir():
        os.utime(f, (old, old))
    r = fixture_run("security-updates", root, home)
    assert r.rc == 1, r
    assert r.starting("WARN  package lists are older than 7 days"), r


def test_security_updates_no_lists(world, home):
    root = apt_root(world, {"octo-demo": "1.0"}, lists=False)
    r = fixture_run("security-updates", root, home)
    assert r.rc == 2, r
    assert r.lines[-1].startswith("could not check: no package lists in "
                                  "/var/lib/apt/lists")


def test_security_updates_no_security_repository(world, home):
    root = apt_root(world, {"octo-demo": "1.0"},
                    regular=[("octo-demo", "1.0")])
    for f in (root / "var/lib/apt/lists").glob("*security*"):
        f.unlink()
    r = fixture_run("security-updates", root, home)
    assert r.rc == 1, r
    assert r.starting("WARN  no security repository"), r


# ---------------------------------------------------------------- suid-sgid-files

def test_suid_sgid_files(world, home):
    root = world / "root"
    files = {
        "usr/bin/passwd": 0o4755,     # packaged (listed as /usr/bin)
        "usr/bin/both": 0o6755,       # packaged as /bin/both (merged /usr)
        "usr/bin/ww": 0o4777,         # packaged, but writable by all
        "usr/local/bin/odd": 0o2755,  # from no package
        "tmp/evil": 0o4755,           # in a temporary directory
        "home/bob/a b": 0o4755,       # in a home, with a space
        "usr/bin/plain": 0o755,       # not SUID: not listed
    }
    for rel, mode in files.items():
        write(root / rel, "", mode)
    # a name that is not ASCII, with a newline: shown as '?'
    weird = root / "tmp" / "caf\u00e9\nx"
    write(weird, "", 0o4755)
    write(root / "var/lib/dpkg/info/passwd.list",
          "/.\n/usr\n/usr/bin\n/usr/bin/passwd\n/usr/bin/ww\n/bin/both\n")
    r = fixture_run("suid-sgid-files", root, home)
    assert r.rc == 1, r
    assert r.has("INFO  7 SUID/SGID files found"), r
    assert r.has("FAIL  /usr/bin/ww (SUID %s, mode 4777): writable by "
                 "everyone" % owner()), r
    assert r.has("FAIL  /tmp/evil (SUID %s, mode 4755): in a temporary or "
                 "home directory" % owner()), r
    assert r.has("FAIL  /home/bob/a b (SUID %s, mode 4755): in a temporary "
                 "or home directory" % owner()), r
    assert r.has("FAIL  /tmp/caf??" + "?x (SUID %s, mode 4755): in a "
                 "temporary or home directory" % owner()), r
    assert r.has("WARN  /usr/local/bin/odd (SGID %s, mode 2755): installed "
                 "by no package, check who put it there" % owner()), r
    assert r.has("INFO  /usr/bin/passwd (SUID %s, mode 4755)" % owner()), r
    assert r.has("INFO  /usr/bin/both (SUID+SGID %s, mode 6755)" % owner())
    assert r.lines[-1] == "5 findings"


def owner():
    import grp
    import pwd
    return "%s:%s" % (pwd.getpwuid(os.geteuid()).pw_name,
                      grp.getgrgid(os.getegid()).gr_name)


@pytest.mark.skipif(not IS_ROOT, reason="needs root to make a root-only "
                                        "directory")
def test_suid_unreadable_directory_without_root(world, home):
    root = world / "root"
    write(root / "usr/bin/passwd", "", 0o4755)
    (root / "root").mkdir()
    os.chmod(root / "root", 0o700)
    r = fixture_run("suid-sgid-files", root, home, as_nobody=True)
    assert r.rc == 0, r
    assert r.has("INFO  no dpkg database: files cannot be matched to "
                 "packages"), r
    assert r.has("SKIP  1 directories not searched: not readable without "
                 "root (e.g. /root)"), r
    assert r.lines[-1] == "compliant (1 check skipped)"


# ---------------------------------------------------------------- logged-in-users

def utmp_record(user, line, host, pid, when=None):
    """One glibc struct utmp (x86_64 and the other 64-bit ABIs: 384 bytes),
    a USER_PROCESS entry."""
    import struct
    return struct.pack("<hxxi32s4s32s256shhiii4i20s", 7, pid,
                       line.encode(), line[-4:].encode(), user.encode(),
                       host.encode(), 0, 0, 0,
                       int(when or time.time()), 0, 0, 0, 0, 0, b"")


def test_sessions(world, home):
    import struct
    if struct.calcsize("P") != 8:
        pytest.skip("the utmp fixture is the 64-bit layout")
    root = world / "root"
    sessions = (utmp_record("root", "pts/0", "192.0.2.7", 4242) +
                utmp_record("alice", "tty1", "", 4243))
    (root / "run").mkdir(parents=True)
    (root / "run/utmp").write_bytes(sessions)
    (root / "var/log").mkdir(parents=True)
    (root / "var/log/wtmp").write_bytes(sessions)
    (root / "var/log/btmp").write_bytes(
        utmp_record("admin", "ssh:notty", "198.51.100.9", 4244) * 3)
    os.chmod(root / "var/log/btmp", 0o600)
    write(root / "etc/passwd", "root:x:0:0:root:/root:/bin/sh\n")
    r = fixture_run("logged-in-users", root, home)
    assert r.rc == 1, r
    assert r.has("INFO  2 sessions, users: alice root"), r
    assert [l for l in r.lines if l.startswith(
        "WARN  root is logged in directly on pts/0 since ") and
        l.endswith(" from 192.0.2.7: log in with a personal account and "
                   "use sudo")], r
    assert r.starting("INFO  alice on tty1 since ")
    assert [l for l in r.lines if l.startswith("INFO  recent login: root "
                                               "pts/0 192.0.2.7")], r
    assert r.has("INFO  3 failed login attempts recorded in "
                 "/var/log/btmp"), r
    assert r.lines[-1] == "1 finding"
    if IS_ROOT:
        os.chown(root / "var/log/btmp", 0, 0)
        r = fixture_run("logged-in-users", root, home, as_nobody=True)
        assert r.rc == 1, r
        assert r.has("SKIP  failed logins (/var/log/btmp) not counted "
                     "(needs root)"), r


def test_accounts(world, home):
    root = world / "root"
    write(root / "etc/passwd",
          "root:x:0:0:root:/root:/bin/bash\n"
          "toor:x:0:0:another root:/root:/bin/sh\n"
          "alice:x:1000:1000:Alice:/home/alice:/bin/bash\n")
    write(root / "etc/shadow",
          "root:$y$j9T$abc:19000:0:99999:7:::\n"
          "toor:*:19000:0:99999:7:::\n"
          "alice::19000:0:99999:7:::\n", 0o644)
    r = fixture_run("logged-in-users", root, home)
    assert r.rc == 1, r
    assert r.has("FAIL  account toor has UID 0: it is root under another "
                 "name"), r
    assert r.has("FAIL  account alice has an empty password: anyone can "
                 "log in as alice"), r
    assert r.lines[-1] == "2 findings"


def test_accounts_shadow_needs_root(world, home):
    if not IS_ROOT:
        pytest.skip("needs root to make a root-only /etc/shadow")
    root = world / "root"
    write(root / "etc/passwd", "root:x:0:0:root:/root:/bin/sh\n")
    write(root / "etc/shadow", "root:*:19000:0:99999:7:::\n", 0o640)
    r = fixture_run("logged-in-users", root, home, as_nobody=True)
    assert r.rc == 0, r
    assert r.has("SKIP  empty passwords not checked: /etc/shadow is readable "
                 "by root only (needs root)"), r
    assert r.has("OK    root is the only account with UID 0")


# ---------------------------------------------------------------- live system

def test_processes_running_from_tmp(home):
    d = tempfile.mkdtemp(prefix="octo-audit-exe-", dir="/tmp")
    try:
        exe = os.path.join(d, "octo-audit-sleeper")
        shutil.copy("/bin/sleep", exe)
        os.chmod(exe, 0o755)
        try:
            p = subprocess.Popen([exe, "60"])
        except OSError as e:
            pytest.skip("cannot run a program from /tmp here: %s" % e)
        try:
            r = run("processes", home)
        finally:
            p.kill()
            p.wait()
        check_format(r)
        assert r.rc == 1, r
        mine = [l for l in r.lines if exe in l]
        assert mine and mine[0].startswith(
            "FAIL  runs from a temporary directory: %s (pid %d, user "
            % (exe, p.pid)), r
    finally:
        shutil.rmtree(d, ignore_errors=True)


@pytest.mark.skipif(not IS_ROOT, reason="binding port 23 needs root")
def test_listening_telnet_port_is_a_finding(home):
    s = socket.socket()
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", 23))
    except OSError as e:
        s.close()
        pytest.skip("port 23 is not free: %s" % e)
    s.listen()
    try:
        r = run("listening-ports", home)
    finally:
        s.close()
    check_format(r)
    assert r.rc == 1, r
    assert r.starting("FAIL  telnet service reachable from the network: tcp "
                      "0.0.0.0:23 ("), r
