"""The brain's children are executed afresh, not only forked (issue 12):
each is `octoBrain --child ROLE` with its own address space (ASLR: the
program is mapped elsewhere than in the maestro), holds no descriptor on
the database or a key, gets the TLS credentials of its port only over its
channel (the dashboard its own web.crt, made at first start), and, started
as root with `user` set, runs as a user of its own that cannot read
state_dir."""
import os
import pwd
import shutil
import signal
import socket
import ssl
import stat
import subprocess

import pytest

import octotest
from octotest import CHILDREN, Brain, role_of, tls_connect


def exe_start(pid):
    """Start address of the first mapping of the process's own program."""
    exe = os.readlink("/proc/%d/exe" % pid)
    with open("/proc/%d/maps" % pid) as f:
        for line in f:
            fields = line.split()
            if len(fields) >= 6 and fields[5] == exe:
                return int(fields[0].split("-")[0], 16)
    raise AssertionError("%s not mapped in %d" % (exe, pid))


def cmdline(pid):
    with open("/proc/%d/cmdline" % pid, "rb") as f:
        return f.read().replace(b"\0", b" ").decode(errors="replace")


def fd_targets(pid):
    d = "/proc/%d/fd" % pid
    out = {}
    for n in os.listdir(d):
        try:
            out[int(n)] = os.readlink(os.path.join(d, n))
        except FileNotFoundError:
            pass
    return out


def caps(pid, which):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(which + ":"):
                return int(line.split()[1], 16)
    raise AssertionError("no %s for %d" % (which, pid))


# ------------------------------------------------------------ fork + exec

def test_children_are_octobrain_executed_with_their_role(ro_brain):
    pids = ro_brain.pids()
    maestro = pids["maestro"]
    exe = os.readlink("/proc/%d/exe" % maestro)
    assert os.path.samefile(exe, ro_brain.bin)
    for role in CHILDREN:
        pid = pids[role]
        assert os.readlink("/proc/%d/exe" % pid) == exe, role
        assert role in cmdline(pid), (role, cmdline(pid))
        with open("/proc/%d/comm" % pid) as f:
            assert f.read().strip() == role
        args = [a for p, _, a in octotest.ps_table() if p == pid][0]
        assert role_of(args) == role and "octoBrain: " + role in args, args


@pytest.mark.skipif(open("/proc/sys/kernel/randomize_va_space").read()
                    .strip() == "0", reason="ASLR is off on this kernel")
def test_children_have_their_own_address_space(ro_brain):
    # A forked child has the maestro's memory, mapped where it was; an
    # executed one was laid out afresh. Three children all landing where
    # the maestro did is (1/2^28)^3 with PIE.
    pids = ro_brain.pids()
    base = exe_start(pids["maestro"])
    starts = {role: exe_start(pids[role]) for role in CHILDREN}
    assert all(s != base for s in starts.values()), (hex(base), starts)


def test_children_hold_no_database_or_key(ro_brain):
    sd = os.path.realpath(ro_brain.state_dir)
    pids = ro_brain.pids()
    maestro_fds = fd_targets(pids["maestro"]).values()
    assert any(t.startswith(sd + "/brain.db") for t in maestro_fds), \
        "the maestro's database is not where the test looks"
    for role in CHILDREN:
        fds = fd_targets(pids[role])
        for n, t in fds.items():
            assert not t.startswith(sd), "%s holds fd %d on %s" % (role, n,
                                                                   t)
            assert not t.endswith((".key", ".db", "admin.password")), \
                (role, n, t)


def test_webserv_presents_its_own_certificate(ro_brain, client_cert):
    sd = ro_brain.state_dir
    web = (sd / "web.crt").read_text()
    assert web != (sd / "brain.crt").read_text()
    assert stat.S_IMODE((sd / "web.key").stat().st_mode) == 0o600
    with tls_connect(ro_brain.web_port) as s:
        assert s.getpeercert(binary_form=True) == \
            ssl.PEM_cert_to_DER_cert(web)
    for port in (ro_brain.registerer_port, ro_brain.commander_port):
        with tls_connect(port, *client_cert) as s:
            assert s.getpeercert(binary_form=True) == \
                ssl.PEM_cert_to_DER_cert((sd / "brain.crt").read_text())


def test_child_option_is_hidden_and_checked(brain_bin):
    h = subprocess.run([str(brain_bin), "--help"], capture_output=True,
                       text=True, timeout=20)
    assert h.returncode == 0 and "--child" not in h.stdout
    r = subprocess.run([str(brain_bin), "--child", "nosuch"],
                       capture_output=True, text=True, timeout=20,
                       stdin=subprocess.DEVNULL)
    assert r.returncode == 2
    assert "--child: no such role nosuch" in r.stderr, r.stderr
    # Started by hand, without the maestro's descriptors: a clear refusal.
    r = subprocess.run([str(brain_bin), "--child", "webserv",
                        "--no-daemon"], capture_output=True, text=True,
                       timeout=20, stdin=subprocess.DEVNULL, close_fds=True)
    assert r.returncode != 0
    assert "--child is for the maestro only" in r.stderr, r.stderr


def test_restarted_child_is_executed_again(brain_factory):
    b = brain_factory()
    pids = b.pids()
    old = pids["webserv"]
    os.kill(old, 9)
    new = octotest.wait_for(
        lambda: (b.pids()["webserv"] != old and b.pids()["webserv"]),
        15, 0.1, "a new webserv")
    assert os.readlink("/proc/%d/exe" % new) == \
        os.readlink("/proc/%d/exe" % pids["maestro"])
    assert "webserv" in cmdline(new)
    assert b.login().get("/api/health").status == 200


# ------------------------------------------------------ per-child users

TEST_USERS = {"maestro": "octotest-mae", "webserv": "octotest-web",
              "registerer": "octotest-reg", "commander": "octotest-cmd"}


@pytest.fixture
def test_users(request):
    if os.geteuid() != 0:
        pytest.skip("making users needs root")
    if shutil.which("useradd") is None:
        pytest.skip("no useradd")
    made = []

    def remove():
        for u in made:
            subprocess.run(["userdel", u], capture_output=True, timeout=60)
    request.addfinalizer(remove)
    for u in TEST_USERS.values():
        try:
            pwd.getpwnam(u)
            continue        # left by an earlier run: used as is
        except KeyError:
            pass
        subprocess.run(["useradd", "--system", "--user-group",
                        "--no-create-home", "--home-dir", "/nonexistent",
                        "--shell", "/usr/sbin/nologin", u], check=True,
                       capture_output=True, timeout=60)
        made.append(u)
    return {role: pwd.getpwnam(u) for role, u in TEST_USERS.items()}


def root_brain(request, brain_bin, overrides):
    d = octotest.reachable_dir("octo-users-")
    request.addfinalizer(lambda: shutil.rmtree(d, ignore_errors=True))
    binary = octotest.reachable_copy(brain_bin, d / "bin")
    web = octotest.reachable_copy(octotest.WEB_ROOT, d)
    conf = {"pidfile": str(d / "run" / "octoBrain.pid"),
            "web_root": str(web)}
    conf.update(overrides)
    b = Brain(d, conf, binary=binary)
    request.addfinalizer(b.stop)
    b.start()
    return b


def test_each_child_runs_as_its_own_user(request, brain_bin, test_users):
    b = root_brain(request, brain_bin, {
        "user": TEST_USERS["maestro"],
        "webserv_user": TEST_USERS["webserv"],
        "registerer_user": TEST_USERS["registerer"],
        "commander_user": TEST_USERS["commander"]})
    pids = b.pids()
    seen = set()
    for role, pid in pids.items():
        if role.startswith("_"):
            continue
        pw = test_users[role]
        assert octotest.proc_uids(pid) == (pw.pw_uid,) * 4, role
        assert octotest.proc_gids(pid) == (pw.pw_gid,) * 4, role
        seen.add(pw.pw_uid)
    assert len(seen) == 4, "the four processes share a uid"
    # The maestro kept only what starting a child as its user needs; the
    # children nothing.
    setid = (1 << 6) | (1 << 7)     # CAP_SETGID, CAP_SETUID
    assert caps(pids["maestro"], "CapEff") == setid
    assert caps(pids["maestro"], "CapPrm") == setid
    for role in CHILDREN:
        assert caps(pids[role], "CapEff") == 0, role
        assert caps(pids[role], "CapPrm") == 0, role
    # state_dir is the maestro's user's, 0700: no child's user can read it.
    st = os.stat(b.state_dir)
    assert stat.S_IMODE(st.st_mode) == 0o700
    assert st.st_uid == test_users["maestro"].pw_uid
    for role in CHILDREN:
        r = subprocess.run(["cat", str(b.state_dir / "brain.key")],
                           user=TEST_USERS[role], capture_output=True,
                           timeout=20)
        assert r.returncode != 0 and b"BEGIN" not in r.stdout, role
        r = subprocess.run(["ls", str(b.state_dir)], user=TEST_USERS[role],
                           capture_output=True, timeout=20)
        assert r.returncode != 0, role
    # And it all still works: login (webserv), the children up.
    c = b.login()
    h = b.health(c)
    assert sorted(ch["name"] for ch in h["children"]) == sorted(CHILDREN)
    assert all(ch["state"] == "up" for ch in h["children"]), h


def test_missing_child_user_falls_back_to_user(request, brain_bin,
                                               test_users):
    b = root_brain(request, brain_bin, {
        "user": TEST_USERS["maestro"],
        "webserv_user": "octotest-none",
        "registerer_user": TEST_USERS["registerer"],
        "commander_user": ""})
    pids = b.pids()
    mae = test_users["maestro"].pw_uid
    assert octotest.proc_uids(pids["webserv"]) == (mae,) * 4
    assert octotest.proc_uids(pids["commander"]) == (mae,) * 4
    assert octotest.proc_uids(pids["registerer"]) == \
        (test_users["registerer"].pw_uid,) * 4
    err = b.stderr()
    assert err.count("user octotest-none does not exist") == 1, err
    assert b.login().get("/api/health").status == 200


# ------------------------------------------------------------------ SIGHUP

def test_sighup_reaches_the_executed_children(brain_factory):
    """The children were executed with the configuration of their start:
    on SIGHUP the maestro sends them IPC_CONFIG_RELOAD, and the running
    children apply the new io_timeout at once (no restart)."""
    b = brain_factory({"io_timeout": 3600})
    pids = b.pids()
    offset = len(b.stderr())
    b.conf["io_timeout"] = 2
    b.write_conf()
    b.signal(signal.SIGHUP)
    for role in CHILDREN:
        b.wait_log(r"^octoBrain\[%d\] %s: configuration reloaded: "
                   r"io_timeout 2 s" % (pids[role], role), start=offset)
    # A silent client is now dropped after 2 s, not after an hour.
    socks = [socket.create_connection(("127.0.0.1", p), timeout=5)
             for p in (b.registerer_port, b.commander_port)]
    try:
        for s in socks:
            octotest.read_until_closed(s, timeout=30)
    finally:
        for s in socks:
            s.close()
    assert b.pids() == pids, "a child was restarted"
    assert b.login().get("/api/health").status == 200
