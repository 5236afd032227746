"""The events of the fleet (issue 17), exported to a webhook in the test:
a tentacle enrolled, a check that starts failing between two results of
the same script on the same host (finding.new) and passes again
(finding.resolved), a job the tentacle could not run (run.failed), a host
offline after its missed keepalives and back online."""

import subprocess

from octotest import wait_for
from test_enrolment import (enrol_self, make_token,  # noqa: F401
                            new_tentacle, tentacle_bin)
from test_export import webhook_brain
from test_runs import add_script, run_and_wait


def events(srv, name):
    with srv.lock:
        return [e for e in srv.events if e["event"] == name]


def wait_event(srv, name, pred=lambda e: True, what=None):
    return wait_for(lambda: [e for e in events(srv, name) if pred(e)],
                    30, 0.1, what or "event %s" % name)


def test_fleet_events(brain_factory, new_tentacle, tmp_path):  # noqa: F811
    b, srv = webhook_brain(brain_factory, tmp_path, io_timeout=2,
                           keepalive_interval=1, keepalive_misses=2)
    try:
        c = b.login()
        out = tmp_path / "audit.out"
        out.write_text("OK ssh.root_login root cannot log in\n"
                       "OK sysctl.kptr kptr hidden\n")
        out.chmod(0o644)
        t = new_tentacle("127.0.0.2", b)
        add_script(t, "audit", "cat '%s'" % out)
        (t.dir / "scripts" / "plain").write_text("#!/bin/sh\necho x\n")
        tid = int(enrol_self(t, b, make_token(c)["token"])["id"])

        (e,) = wait_event(srv, "tentacle.enrolled")
        assert e["tentacle"] == {"id": tid, "hostname": t.name}, e
        assert e["fields"]["enrolment"] == "accepted", e

        # First result: nothing to compare with, no finding event.
        run_and_wait(c, "audit", [tid])
        out.write_text("FAIL ssh.root_login root logs in with a password\n"
                       "OK sysctl.kptr kptr hidden\n")
        run_and_wait(c, "audit", [tid])
        (e,) = wait_event(srv, "finding.new")
        assert e["tentacle"]["id"] == tid
        assert e["fields"]["check"] == "ssh.root_login", e
        assert e["fields"]["status"] == "FAIL" and e["fields"]["was"] == "OK"
        assert "password" in e["fields"]["text"]

        out.write_text("OK ssh.root_login root cannot log in\n"
                       "OK sysctl.kptr kptr hidden\n")
        run_and_wait(c, "audit", [tid])
        (e,) = wait_event(srv, "finding.resolved")
        assert e["fields"]["check"] == "ssh.root_login", e
        assert e["fields"]["was"] == "FAIL" and e["fields"]["status"] == "OK"
        assert len(events(srv, "finding.new")) == 1

        # A job the tentacle cannot run.
        (job,) = run_and_wait(c, "plain", [tid])["jobs"]
        assert job["state"] == "failed", job
        (e,) = wait_event(srv, "run.failed")
        assert e["tentacle"] == {"id": tid, "hostname": t.name}, e
        assert e["fields"]["script"] == "plain" and e["fields"]["job"]
        # The run itself is an audit row: an event with its actor.
        assert [e for e in events(srv, "run") if e["actor"] == "admin"]

        # Offline after the missed pings, online again.
        t.stop()
        (e,) = wait_event(srv, "tentacle.offline")
        assert e["tentacle"]["id"] == tid and e["fields"]["misses"] == 2
        assert not events(srv, "tentacle.online")
        t.start(wait=False)
        (e,) = wait_event(srv, "tentacle.online")
        assert e["tentacle"]["id"] == tid

        # Every event once, in order: seq 1, 2, ... with no gap.
        with srv.lock:
            seqs = [e["seq"] for e in srv.events]
        assert seqs == list(range(1, len(seqs) + 1)), seqs
    finally:
        srv.shutdown()


def test_refused_handshakes_one_event_per_source_and_minute(
        brain_factory, new_tentacle, tmp_path):  # noqa: F811
    b, srv = webhook_brain(brain_factory, tmp_path)
    try:
        c = b.login()
        t = new_tentacle("127.0.0.2", b)
        tid = int(enrol_self(t, b, make_token(c)["token"])["id"])
        assert c.delete("/api/tentacles/%d" % tid).status == 200
        before = c.get("/api/health").json()["refused_handshakes"]
        for _ in range(3):
            assert t.ping().returncode == 1
        wait_for(lambda: c.get("/api/health").json()["refused_handshakes"]
                 >= before + 3, 30, 0.1, "three refusals counted")
        # Events come in order: once a test event made after the three
        # is in, whatever they made is in too.
        fence = c.post("/api/export/test").json()["seq"]
        wait_for(lambda: [e for e in events(srv, "export.test")
                          if e["seq"] == fence], 30, 0.1, "the fence")
        # The source's first refusal is handshake.refused at once; the
        # others wait for the minute's count (and so does the audit log's
        # counted row).
        (e,) = events(srv, "handshake.refused")
        assert e["fields"]["peer"] == "127.0.0.2", e
        assert e["fields"]["count"] == 1
        assert "claimed ID %d" % tid in e["fields"]["reason"], e
        assert e["fields"]["child"] == "commander"
        assert len(events(srv, "refused_handshake")) == 1
    finally:
        srv.shutdown()
    # The counted audit row changed twice: new ledger entries, intact.
    b.stop()
    r = subprocess.run([str(b.bin), "-c", str(b.conf_path),
                        "--verify-ledger"], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r
