"""The children's confinement seen from outside (issue 12, "Each child
confined"; brain/confine.c): every child of a running brain is under a
seccomp filter with no_new_privs, the maestro is not (it starts and
restarts children, drops root); Landlock where the kernel has it; a child
the filter kills is named in the log with its signal.

What the filters refuse and allow, role by role, is tests/unit/
test_brain_confine.c; that they allow all a child needs is every other
system test of the brain, which runs confined children (conftest.py fails
a test whose brain logged a child killed by its confinement).
"""

import ctypes
import os
import signal

import octotest
from octotest import CHILDREN, Brain, wait_for


def status_fields(pid):
    fields = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return fields


def landlock_abi():
    """The running kernel's Landlock ABI, 0 if none."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    # landlock_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION)
    abi = libc.syscall(444, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    return abi if abi > 0 else 0


def test_children_confined_maestro_not(brain_factory):
    b = brain_factory(verbose=True)
    pids = b.pids()
    for role in CHILDREN:
        st = status_fields(pids[role])
        assert st["Seccomp"] == "2", (role, st["Seccomp"])
        assert st["NoNewPrivs"] == "1", role
        assert int(st.get("Seccomp_filters", "1")) >= 1, role
    # The maestro keeps what it needs to start children and drop root:
    # no filter, and no_new_privs only if whoever started it set it.
    st = status_fields(pids["maestro"])
    assert st["Seccomp"] == "0"
    assert st["NoNewPrivs"] == status_fields(os.getpid())["NoNewPrivs"]


def test_the_log_says_how(brain_factory):
    b = brain_factory(verbose=True)
    abi = landlock_abi()
    if abi:
        b.wait_log(r"maestro: children confined by seccomp and landlock "
                   r"\(the kernel's ABI %d, used up to \d\)" % abi)
    else:
        b.wait_log(r"maestro: landlock unavailable \(.*\): children "
                   r"confined by seccomp only")
    for role in CHILDREN:
        if abi:
            b.wait_log(r"%s: confined: seccomp, landlock ABI %d"
                       % (role, min(abi, 6)))
        else:
            b.wait_log(r"%s: confined: seccomp only" % role)


def test_confined_children_serve(brain_factory):
    """Login (webserv -> maestro), the dashboard's files (web_root under
    Landlock), health of every child."""
    b = brain_factory()
    c = b.login()
    b.wait_all_up(c)
    r = c.get("/")
    assert r.status == 200 and b"<html" in r.body.lower()
    r = c.get("/app.js")
    assert r.status == 200
    assert c.get("/api/tentacles").status == 200


def test_child_killed_by_sigsys_is_named(tmp_path):
    """What a child killed by its filter looks like in the log (sent by
    hand here: SIGSYS is what SCMP_ACT_KILL_PROCESS delivers). Not through
    brain_factory: its check fails any brain that logged this."""
    b = Brain(tmp_path / "brain")
    try:
        b.start()
        old = b.pids()["webserv"]
        os.kill(old, signal.SIGSYS)
        b.wait_log(r"maestro: webserv killed by signal %d \(SIGSYS\): a "
                   r"system call its confinement does not allow; "
                   r"restarting it" % signal.SIGSYS)

        def restarted():
            pid = b.pids().get("webserv")
            return pid if pid and pid != old else None
        new = wait_for(restarted, 15, 0.1, "a new webserv")
        wait_for(lambda: status_fields(new)["Seccomp"] == "2", 10, 0.05,
                 "the new webserv confined")
        os.kill(b.pids()["registerer"], signal.SIGTERM)
        b.wait_log(r"maestro: registerer killed by signal %d \(SIGTERM\)"
                   % signal.SIGTERM)
    finally:
        b.stop()
        b.kill_leftovers()
