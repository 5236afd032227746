"""The tentacle's privilege separation (`user`): started as root, the
supervisor stays root and runs the scripts; the register and the command
worker run as `user` with no capabilities; the command worker asks the
supervisor over a socketpair and delivers what comes back. Without `user`
everything runs as before, in one child with the supervisor's user."""

import os
import pwd
import shutil
import signal
import stat
import time

import pytest

import octotest
from octotest import wait_for
from test_enrolment import (brain, enrol_self, make_token,  # noqa: F401
                            tentacle_bin)
from test_runs import add_script, run_and_wait

need_root = pytest.mark.skipif(os.geteuid() != 0,
                               reason="dropping privileges needs root")


def status_field(pid, name):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(name + ":"):
                return line.split(None, 1)[1].strip()
    raise RuntimeError("no %s line for %d" % (name, pid))


def children(pid):
    with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
        return [int(x) for x in f.read().split()]


def cmdline(pid):
    with open("/proc/%d/cmdline" % pid, "rb") as f:
        return f.read().replace(b"\0", b" ").decode(errors="replace")


def the_child(t):
    """The supervisor's one child (register or command worker); the
    scripts it runs are its children too."""
    def roles():
        c = [p for p in children(t.proc.pid)
             if "register" in cmdline(p) or "command worker" in cmdline(p)]
        return c[0] if len(c) == 1 else None
    return wait_for(roles, 10, 0.05, "one child of the supervisor")


def assert_runs_as(pid, uid, gid, what):
    assert octotest.proc_uids(pid) == (uid,) * 4, \
        "%s runs as uids %s" % (what, octotest.proc_uids(pid))
    assert octotest.proc_gids(pid) == (gid,) * 4, \
        "%s runs as gids %s" % (what, octotest.proc_gids(pid))


def assert_unprivileged(pid, user, what):
    assert_runs_as(pid, user.pw_uid, user.pw_gid, what)
    for cap in ("CapEff", "CapPrm"):
        assert int(status_field(pid, cap), 16) == 0, \
            "%s has capabilities: %s %s" % (what, cap,
                                             status_field(pid, cap))
    assert status_field(pid, "NoNewPrivs") == "1", what
    groups = status_field(pid, "Groups").split()
    assert groups in ([], [str(user.pw_gid)]), \
        "%s keeps supplementary groups %s" % (what, groups)


@pytest.fixture
def roomy_tentacle(request, tentacle_bin):  # noqa: F811
    """Like new_tentacle, in a directory the dropped user can traverse
    (pytest's tmp_path is 0700 root's), with its own copy of the program:
    nothing it runs or reads is in the checkout, which may sit where only
    root can enter (a clone in /root)."""
    made = []

    def make(address="127.0.0.2", brain=None, **overrides):  # noqa: F811
        d = octotest.reachable_dir("octo-privsep-")
        request.addfinalizer(lambda: shutil.rmtree(d, ignore_errors=True))
        binary = octotest.reachable_copy(tentacle_bin, d / "bin")
        t = octotest.Tentacle(d / "t", address, brain, overrides=overrides,
                              binary=binary)
        os.chmod(t.dir, 0o755)
        made.append(t)
        return t

    yield make
    for t in made:
        t.stop()
    for t in made:
        text = t.log()
        assert "AddressSanitizer" not in text, text
        assert "runtime error:" not in text, text
        assert "LeakSanitizer" not in text, text
        st = t.state()
        if st:
            assert st["key"] not in text


def privsep_tentacle(brain, roomy_tentacle, client, scripts,  # noqa: F811
                     **overrides):
    nobody = pwd.getpwnam("nobody")
    t = roomy_tentacle("127.0.0.2", brain, user="nobody", **overrides)
    for name, body in scripts.items():
        add_script(t, name, body)
    # Not enrolled yet: the register runs as nobody.
    t.start()
    t.wait_log(r"register and command worker as user nobody")
    reg = the_child(t)
    assert_unprivileged(reg, nobody, "the register")
    assert_runs_as(t.proc.pid, 0, 0, "the supervisor")
    t.stop()
    t.proc = None
    state = enrol_self(t, brain, make_token(client)["token"])
    return t, int(state["id"]), nobody


@need_root
def test_privsep_roles_and_runs(brain, roomy_tentacle):  # noqa: F811
    c = brain.login()
    t, tid, nobody = privsep_tentacle(brain, roomy_tentacle, c, {
        "whoami": "id -u\nid -g"})
    worker = the_child(t)
    t.wait_log(r"command worker: listening on")
    assert_unprivileged(worker, nobody, "the command worker")
    assert_runs_as(t.proc.pid, 0, 0, "the supervisor")
    assert int(status_field(t.proc.pid, "CapEff"), 16) != 0

    # What the worker writes is nobody's; the private key and the
    # enrolment stay root's (the supervisor wrote it, 0600).
    st = t.state_dir.stat()
    assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (nobody.pw_uid, 0o700)
    st = t.state_file.stat()
    assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (0, 0o600)
    assert not (t.state_dir / "enrolment").exists()
    spool = t.state_dir / "spool"
    st = spool.stat()
    assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (nobody.pw_uid, 0o700)
    st = t.key.stat()
    assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (0, 0o600)

    # Scripts run as root (by the supervisor); the result is delivered,
    # stored once, and the spool is empty afterwards.
    (job,) = run_and_wait(c, "whoami", [tid])["jobs"]
    assert job["state"] == "done", job
    assert job["result"]["output"] == "0\n0\n", job
    assert job["result"]["exit_status"] == 0, job
    t.wait_log(r"job \d+: result delivered")
    results = c.get("/api/tentacles/%d/results" % tid).json()["results"]
    assert len(results) == 1, results
    assert not list(spool.glob("job-*"))
    # Each script ran in a process of the supervisor: the worker has no
    # child, and still is the same process.
    assert children(worker) == []
    assert the_child(t) == worker

    # A name with a slash or dot-dot never becomes a run.
    for bad in ("../whoami", "a/b", "..", "/bin/sh"):
        r = c.post("/api/runs", {"script": bad, "tentacles": [tid]})
        assert r.status == 400, (bad, r)
    assert "RUN_REQUEST" not in t.log()


@need_root
def test_privsep_unknown_scripts_refused(brain, roomy_tentacle):  # noqa
    c = brain.login()
    t, tid, nobody = privsep_tentacle(brain, roomy_tentacle, c, {
        "real": "echo real"})
    d = t.dir / "scripts"
    os.symlink("real", d / "alias")
    os.symlink("/bin/true", d / "outside")
    (d / "plain").write_text("#!/bin/sh\necho plain\n")
    (d / "plain").chmod(0o644)
    for name in ("alias", "outside", "plain", "missing"):
        (job,) = run_and_wait(c, name, [tid])["jobs"]
        assert job["state"] == "failed", job
        assert "unknown script %s" % name in job["message"], job
        assert job["result"] is None
    (job,) = run_and_wait(c, "real", [tid])["jobs"]
    assert job["result"]["output"] == "real\n", job


@need_root
def test_privsep_reload_and_worker_crash_during_runs(brain,  # noqa: F811
                                                      roomy_tentacle):
    """A reload stops the worker: the supervisor interrupts the script and
    hands the result to it first. A worker killed outright: the result
    waits in the supervisor for the next worker, which delivers it."""
    c = brain.login()
    t, tid, nobody = privsep_tentacle(brain, roomy_tentacle, c, {
        "long": "echo partial\nsleep 300"})
    for how in ("reload", "kill"):
        # Before the order: the tentacle may log its run before the
        # POST's answer is read.
        mark = len(t.log())
        r = c.post("/api/runs", {"script": "long", "tentacles": [tid]})
        assert r.status == 202, r
        run_id = r.json()["id"]
        t.wait_log(r"job \d+: running long", start=mark)
        time.sleep(0.3)
        worker = the_child(t)
        if how == "reload":
            t.proc.send_signal(signal.SIGHUP)
            t.wait_log(r"stopping the command worker; 1 script interrupted",
                       start=mark)
        else:
            os.kill(worker, signal.SIGKILL)
            t.wait_log(r"command worker gone: 1 script interrupted",
                       start=mark)
        t.wait_log(r"job \d+: result delivered", start=mark, timeout=20)
        (job,) = wait_for(lambda: (lambda j: j["jobs"] if j["jobs"][0][
            "state"] in ("done", "failed") else None)(
            c.get("/api/runs/%d" % run_id).json()), 20, 0.1, "the run over")
        assert job["result"]["output"] == \
            "partial\n\n[interrupted: the tentacle stopped]\n", job
        new = the_child(t)
        assert new != worker
        assert_unprivileged(new, nobody, "the new command worker")
    assert t.alive()
    assert not list((t.state_dir / "spool").glob("job-*"))
    # No script left behind.
    out = octotest.ps_table()
    assert not [a for _, _, a in out if a.startswith("/bin/sh") and
                "long" in a and str(t.dir) in a], out


@need_root
def test_without_user_as_before(brain, roomy_tentacle):  # noqa: F811
    c = brain.login()
    t = roomy_tentacle("127.0.0.2", brain)
    add_script(t, "whoami", "id -u")
    state = enrol_self(t, brain, make_token(c)["token"])
    tid = int(state["id"])
    worker = the_child(t)
    assert_runs_as(worker, 0, 0, "the command worker")
    assert "register and command worker as user" not in t.log()
    (job,) = run_and_wait(c, "whoami", [tid])["jobs"]
    assert job["result"]["output"] == "0\n", job
    # The worker ran it itself, as before: the supervisor's SIGCHLD
    # handling never saw it.
    assert t.state_dir.stat().st_uid == 0


def test_user_check(roomy_tentacle):
    """`user` is checked at start-up as root; ignored otherwise."""
    t = roomy_tentacle("127.0.0.2", None, user="no-such-user-octo")
    r = t.run("-n")
    assert r.returncode == 0, r.stderr
    if os.geteuid() == 0:
        t.start(wait=False)
        assert t.wait_exit() == 1
        assert "user no-such-user-octo: no such user" in t.log()
        t.conf["user"] = "root"
        t.write_conf()
        t.start(wait=False)
        assert t.wait_exit() == 1
        assert "user root: is root" in t.log()
    else:
        t.start()
        assert "as user" not in t.log()


@need_root
def test_planted_symlinks_not_followed(roomy_tentacle, tmp_path):
    """state_dir is the user's: what a compromised child plants there
    (a symlink instead of the spool, or of a spooled result) must not make
    root hand anything else to the user at the next start."""
    t = roomy_tentacle("127.0.0.2", None, user="nobody")
    t.start()
    t.stop()
    t.proc = None
    victim = tmp_path / "victim"
    victim.mkdir()
    victim.chmod(0o755)
    (victim / "secret").write_text("root's\n")
    spool = t.state_dir / "spool"
    (spool / "job-1.result").symlink_to(victim / "secret")
    t.start()
    t.stop()
    t.proc = None
    assert (victim / "secret").stat().st_uid == 0
    shutil.rmtree(spool)
    spool.symlink_to(victim)
    t.start(wait=False)
    assert t.wait_exit() == 1
    assert "not a directory (a symbolic link?)" in t.log()
    assert victim.stat().st_uid == 0
    assert stat.S_IMODE(victim.stat().st_mode) == 0o755
    assert (victim / "secret").stat().st_uid == 0
