"""Managed scripts on the tentacle (issue 14): the brain's signing key
pinned from an end-to-end authenticated SIGNKEY, signed scripts pushed over
the command port (PURPOSE_SCRIPT), checked and written atomically with
their records, refused when anything is wrong or managed_scripts = no;
every run from a sealed memfd whose bytes are hashed and checked, refused
(job `refused`) when the script on the host is not the one ordered, and
the SHA-256 of what ran in the result.

The brain's side of the push is another engineer's; until it lands the
frames come from tests/system/scriptpush.c (built from common/), which
speaks as the brain does: the brain's certificate and key, the tentacle's
key for the handshake and SIGNKEY's MAC, an Ed25519 test key for the
signatures. Runs go through the real brain."""

import hashlib
import os
import pwd
import stat
import subprocess

import pytest

import octotest
from octotest import wait_for
from test_enrolment import (brain, enrol_self, make_token,  # noqa: F401
                            new_tentacle, tentacle_bin)
from test_runs import FINISHED, add_script
from test_tentacle_privsep import roomy_tentacle  # noqa: F401

SEED = "00" * 31 + "2a"
DIFFERS = "script on the host differs from the one ordered"


def run_and_wait(client, script, tentacles, timeout=20):
    """test_runs' run_and_wait, with `refused` among the ends."""
    r = client.post("/api/runs", {"script": script, "tentacles": tentacles})
    assert r.status == 202, r
    run_id = r.json()["id"]
    ends = FINISHED + ("refused",)

    def finished():
        j = client.get("/api/runs/%d" % run_id).json()
        return j if all(x["state"] in ends for x in j["jobs"]) else None
    return wait_for(finished, timeout, 0.1, "run %d finished" % run_id)


def scriptpush(brain, t, *args):  # noqa: F811
    tool = octotest.BUILD / "tests" / "scriptpush"
    assert tool.exists(), "scriptpush not built (make)"
    r = subprocess.run(
        [str(tool), str(brain.state_dir / "brain.crt"),
         str(brain.state_dir / "brain.key"), str(t.state_file),
         t.address, str(t.command_port), SEED] + [str(a) for a in args],
        capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return [line.split(" ", 4) for line in r.stdout.splitlines()]


def acks(lines):
    """[(name, version, status, message)] of the ACK lines."""
    return [(x[1], int(x[2]), x[3], x[4] if len(x) > 4 else "")
            for x in lines if x[0] == "ACK"]


def body_file(t, name, text):
    p = t.dir / ("body-" + name)
    p.write_text(text)
    return p


def sha(text):
    return hashlib.sha256(text.encode()).hexdigest()


def managed_tentacle(brain, new_tentacle, client, **over):  # noqa: F811
    t = new_tentacle("127.0.0.2", brain)
    t.conf.update({"managed_scripts": "yes",
                   "managed_scripts_dir": str(t.dir / "managed")})
    t.conf.update(over)
    t.write_conf()
    add_script(t, "local-one", "echo local")
    state = enrol_self(t, brain, make_token(client)["token"])
    return t, int(state["id"])


def inventory(client, tid, want=None):
    """The tentacle as the API lists it (with its facts), once its scripts
    (the keepalive's inventory) include want."""
    def seen():
        r = client.get("/api/tentacles/%d/scripts" % tid)
        assert r.status == 200, r
        names = [s["name"] for s in r.json()["scripts"]]
        if want is not None and want not in names:
            return None
        (j,) = [x for x in client.get("/api/tentacles").json()["tentacles"]
                if x["id"] == tid]
        return j if "managed_scripts" in j["facts"] else None
    return wait_for(seen, 30, 0.2, "inventory of tentacle %d" % tid)


def rejected_result(t, job):
    """A result the brain refused for good (a job it never gave: the
    orders scriptpush makes) is kept in spool/rejected: its bytes."""
    p = t.state_dir / "spool" / "rejected" / ("job-%d.result" % job)
    wait_for(p.exists, 20, 0.1, "result of job %d set aside" % job)
    return p.read_bytes()


def test_push_run_tamper_delete(brain, new_tentacle):  # noqa: F811
    c = brain.login()
    t, tid = managed_tentacle(brain, new_tentacle, c)
    mdir = t.dir / "managed"
    st = os.stat(mdir)
    assert stat.S_IMODE(st.st_mode) == 0o700 and st.st_uid == os.geteuid()

    # Nothing is taken before a signing key is pinned.
    v1 = "#!/bin/sh\n# description: managed hello\necho v1 \"$0\"\n" \
        "readlink /proc/$$/fd/3\n"
    f1 = body_file(t, "v1", v1)
    (a,) = acks(scriptpush(brain, t, "put", "hello", 1, f1))
    assert a[2] == "refused" and "no script-signing key" in a[3], a

    # SIGNKEY whose MAC is not the tentacle key's: refused, not pinned.
    (a,) = acks(scriptpush(brain, t, "signkey", "badmac"))
    assert a[:3] == ("-", 0, "refused") and "MAC" in a[3], a
    pin = t.state_dir / "private" / "script-signing.pub"
    assert not pin.exists()
    (a,) = acks(scriptpush(brain, t, "signkey"))
    assert a[:3] == ("-", 0, "ok"), a
    pinned = pin.read_text()
    assert pinned.startswith("ed25519 ")
    assert stat.S_IMODE(os.stat(pin).st_mode) == 0o600

    # Bad signature, another key, a hash that is not the body's: refused,
    # nothing written; then the good one.
    got = acks(scriptpush(brain, t, "put", "hello", 1, f1, "badsig",
                          "put", "hello", 1, f1, "otherkey",
                          "put", "hello", 1, f1, "badhash",
                          "put", "hello", 1, f1))
    assert [x[2] for x in got] == ["refused"] * 3 + ["ok"], got
    assert "bad signature" in got[0][3] and "bad signature" in got[1][3]
    assert "hash does not match" in got[2][3], got
    t.wait_log(r"script hello version 1 refused: bad signature")
    assert (mdir / "hello").read_text() == v1
    assert stat.S_IMODE(os.stat(mdir / "hello").st_mode) == 0o700
    rec = (mdir / ".hello.sig").read_text().splitlines()
    assert rec[:3] == ["octopus-managed-script-v1", "version 1",
                       "sha256 " + sha(v1)], rec
    assert not [p for p in os.listdir(mdir) if p.endswith(".tmp")]

    # The inventory: the managed script with its version and hash, the
    # local one with version 0, and the tentacle's managed_scripts.
    j = inventory(c, tid, "hello")
    facts = j.get("facts", {})
    assert facts.get("managed_scripts") is True, facts
    assert facts.get("script_signing_key") == pinned.split()[1], facts

    # Run through the real brain: the managed bytes, from a memfd.
    run = run_and_wait(c, "hello", [tid])
    (job,) = run["jobs"]
    assert job["state"] == "done", job
    out = job["result"]["output"]
    assert out.startswith("v1 /proc/self/fd/3\n"), out
    assert "/memfd:hello (deleted)" in out, out

    # v2; an older version afterwards is refused.
    v2 = v1.replace("v1", "v2")
    f2 = body_file(t, "v2", v2)
    got = acks(scriptpush(brain, t, "put", "hello", 2, f2,
                          "put", "hello", 1, f1))
    assert [x[2] for x in got] == ["ok", "refused"], got
    assert "older" in got[1][3], got
    assert (mdir / "hello").read_text() == v2

    # The SHA-256 of what ran is in the result (an order made here: its
    # result is set aside by the brain, which never gave that job).
    (o,) = [x for x in scriptpush(brain, t, "order", 900001, "hello",
                                  sha(v2)) if x[0] == "ORDER_ACK"]
    assert o[2] == "accepted", o
    data = rejected_result(t, 900001)
    assert data.startswith(b"OCTOSPOOL2\n") and sha(v2).encode() in data
    # Ordered with another hash: refused, nothing ran.
    scriptpush(brain, t, "order", 900002, "hello", sha(v1))
    data = rejected_result(t, 900002)
    assert DIFFERS.encode() in data and b"v2 /proc" not in data

    # Edited on the host after the push: the next run is refused, with
    # the message, and the job ends refused.
    (mdir / "hello").write_text(v2 + "echo tampered\n")
    run = run_and_wait(c, "hello", [tid])
    (job,) = run["jobs"]
    assert job["state"] == "refused", job
    assert DIFFERS in (job.get("message") or "") or \
        DIFFERS in (job.get("result") or {}).get("output", ""), job
    assert "tampered" not in str(job)
    t.wait_log(r"hello refused: " + DIFFERS)

    # A local script runs from a memfd too, its hash in the result.
    scriptpush(brain, t, "order", 900003, "local-one", "-")
    data = rejected_result(t, 900003)
    local = (t.dir / "scripts" / "local-one").read_text()
    assert sha(local).encode() in data and b"local\n" in data

    # Delete: a bad signature is refused; then gone, and an old put
    # cannot bring it back.
    got = acks(scriptpush(brain, t, "delete", "hello", 3, "badsig",
                          "delete", "hello", 3, "put", "hello", 2, f2))
    assert [x[2] for x in got] == ["refused", "ok", "refused"], got
    assert not (mdir / "hello").exists()
    assert (mdir / ".hello.sig").read_text().splitlines()[2] == "deleted"


def test_signing_key_never_replaced(brain, new_tentacle):  # noqa: F811
    c = brain.login()
    t, tid = managed_tentacle(brain, new_tentacle, c)
    mdir = t.dir / "managed"
    pin = t.state_dir / "private" / "script-signing.pub"
    pin.write_text("ed25519 " + "ab" * 32 + "\n")
    (a,) = acks(scriptpush(brain, t, "signkey"))
    assert a[2] == "refused" and "pinned" in a[3], a
    assert pin.read_text() == "ed25519 " + "ab" * 32 + "\n"
    f = body_file(t, "x", "#!/bin/sh\necho x\n")
    (a,) = acks(scriptpush(brain, t, "put", "x", 1, f))
    assert a[2] == "refused" and "bad signature" in a[3], a
    assert not (mdir / "x").exists()


def test_managed_scripts_no_refuses(brain, new_tentacle):  # noqa: F811
    c = brain.login()
    t = new_tentacle("127.0.0.2", brain)
    t.conf["managed_scripts_dir"] = str(t.dir / "managed")
    t.write_conf()
    tid = int(enrol_self(t, brain, make_token(c)["token"])["id"])
    f = body_file(t, "x", "#!/bin/sh\necho x\n")
    got = acks(scriptpush(brain, t, "signkey", "put", "x", 1, f,
                          "delete", "x", 2))
    assert [x[2] for x in got] == ["refused"] * 3, got
    assert all("managed_scripts = no" in x[3] for x in got), got
    assert not (t.dir / "managed").exists()
    t.wait_log(r"script x version 1 refused: managed_scripts = no")
    facts = inventory(c, tid).get("facts", {})
    assert facts.get("managed_scripts") is False, facts


def test_config_errors(new_tentacle):  # noqa: F811
    t = new_tentacle("127.0.0.2")
    t.conf["managed_scripts"] = "maybe"
    t.write_conf()
    r = t.run("-n")
    assert r.returncode == 2
    assert str(t.conf_path) in r.stderr and "managed_scripts" in r.stderr
    t.conf["managed_scripts"] = "yes"
    t.conf["managed_scripts_dir"] = str(t.state_dir / "managed")
    t.write_conf()
    r = t.run("-n")
    assert r.returncode == 2 and "inside state_dir" in r.stderr, r.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="privilege separation: root")
def test_privsep_supervisor_writes(brain, roomy_tentacle):  # noqa: F811
    """With `user`, the command worker (nobody) hands the frames to the
    root supervisor, which alone writes the managed directory (root's,
    0700) and scans it for the inventory; runs are checked there."""
    c = brain.login()
    nobody = pwd.getpwnam("nobody")
    t = roomy_tentacle("127.0.0.2", brain, user="nobody",
                       managed_scripts="yes")
    t.conf["managed_scripts_dir"] = str(t.dir / "managed")
    t.write_conf()
    tid = int(enrol_self(t, brain, make_token(c)["token"])["id"])
    mdir = t.dir / "managed"
    st = os.stat(mdir)
    assert st.st_uid == 0 and stat.S_IMODE(st.st_mode) == 0o700
    body = "#!/bin/sh\necho privsep $(id -u)\n"
    f = body_file(t, "p", body)
    got = acks(scriptpush(brain, t, "signkey", "put", "ps", 1, f))
    assert [x[2] for x in got] == ["ok", "ok"], got
    assert os.stat(mdir / "ps").st_uid == 0
    pin = t.state_dir / "private" / "script-signing.pub"
    assert os.stat(pin).st_uid == 0 and os.stat(pin.parent).st_uid == 0
    inventory(c, tid, "ps")
    run = run_and_wait(c, "ps", [tid])
    (job,) = run["jobs"]
    assert job["state"] == "done", job
    assert job["result"]["output"] == "privsep 0\n", job
    assert nobody.pw_uid != 0
    (mdir / "ps").write_text(body + "echo more\n")
    run = run_and_wait(c, "ps", [tid])
    (job,) = run["jobs"]
    assert job["state"] == "refused", job


def test_key_of_the_enrolment_pinned(brain, new_tentacle):  # noqa: F811
    """The key ENROL_REPLY carried (the register keeps it in the state
    file as script_signing_key) is pinned by the supervisor once
    managed_scripts is on; a SIGNKEY of another key is refused after."""
    c = brain.login()
    t = new_tentacle("127.0.0.2", brain)
    enrol_self(t, brain, make_token(c)["token"])
    t.stop()
    t.proc = None
    key = subprocess.run(
        ["openssl", "pkey", "-pubout", "-outform", "DER"],
        input=bytes.fromhex("302e020100300506032b657004220420" + SEED),
        capture_output=True, check=True).stdout[-32:].hex()
    with open(t.state_file, "a") as f:
        f.write("script_signing_key = %s\n" % key)
    t.conf.update({"managed_scripts": "yes",
                   "managed_scripts_dir": str(t.dir / "managed")})
    t.write_conf()
    t.start()
    t.wait_log(r"script-signing key of the enrolment pinned")
    assert (t.state_dir / "private" / "script-signing.pub").read_text() == \
        "ed25519 %s\n" % key
    f = body_file(t, "e", "#!/bin/sh\necho e\n")
    got = acks(scriptpush(brain, t, "put", "e", 1, f, "signkey"))
    assert [x[2] for x in got] == ["ok", "ok"], got
    assert got[1][3] == "pinned already"
