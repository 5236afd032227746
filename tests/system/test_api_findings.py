"""Findings (issue 15, SPEC "Findings"): a real brain parses the output of a
real tentacle's script into findings when it stores the result, and gives
them with every result of the API, joined with the references, title and
fix of the checks file (brain key checks_file): at start, on SIGHUP, and
refused with FILE:LINE when it is malformed."""

import signal
import subprocess

import pytest

import octotest
from octotest import wait_for
from test_enrolment import (enrol_self, make_token,  # noqa: F401
                            new_tentacle, tentacle_bin)
from test_runs import add_script, run_and_wait

CHECKS = (
    "# CHECK-ID\treferences\ttitle\tfix\n"
    "sysctl.kernel.kptr_restrict\tBP028:R9 CIS:1.5.2\tKernel pointers "
    "hidden\tSet kernel.kptr_restrict = 2 in /etc/sysctl.d/99-octopus.conf\n"
    "\n"
    "mount./tmp.noexec\tBP028:R28\t/tmp is noexec\tAdd noexec to /tmp in "
    "/etc/fstab\n"
    "disk.usage\t\tDisk space\tFree some space\n"
    "ssh.PermitRootLogin\tBP028:R67 CIS:5.2.10\tNo root login over SSH\t"
    "PermitRootLogin no in /etc/ssh/sshd_config.d/\n"
)

# What the script prints: findings, lines that do not parse, a line that
# is not UTF-8, a check the file does not know.
SCRIPT = r"""
printf 'OK    mount./tmp.noexec /tmp is mounted noexec\n'
printf 'FAIL sysctl.kernel.kptr_restrict kernel.kptr_restrict = 1, expected 2\n'
printf '\n'
printf 'WARN\tssh.PermitRootLogin\tprohibit-password, expected no  \n'
printf 'SKIP grub.password no GRUB here\n'
printf 'FAIL: the old format\n'
printf 'OK\n'
printf 'INFO disk.usage caf\303\251 \377\376 bytes\n'
printf 'not \377 UTF-8 at all\n'
printf '2 findings\n'
exit 1
"""

WANT = [
    ("mount./tmp.noexec", "OK", "/tmp is mounted noexec"),
    ("sysctl.kernel.kptr_restrict", "FAIL",
     "kernel.kptr_restrict = 1, expected 2"),
    ("ssh.PermitRootLogin", "WARN", "prohibit-password, expected no"),
    ("grub.password", "SKIP", "no GRUB here"),
    (None, "INFO", "FAIL: the old format"),
    (None, "INFO", "OK"),
    ("disk.usage", "INFO", "caf\u00e9 \ufffd\ufffd bytes"),
    (None, "INFO", "not \ufffd UTF-8 at all"),
    (None, "INFO", "2 findings"),
]

KNOWN = {
    "sysctl.kernel.kptr_restrict": (
        ["BP028:R9", "CIS:1.5.2"], "Kernel pointers hidden",
        "Set kernel.kptr_restrict = 2 in /etc/sysctl.d/99-octopus.conf"),
    "mount./tmp.noexec": (["BP028:R28"], "/tmp is noexec",
                          "Add noexec to /tmp in /etc/fstab"),
    "disk.usage": ([], "Disk space", "Free some space"),
    "ssh.PermitRootLogin": (["BP028:R67", "CIS:5.2.10"],
                            "No root login over SSH",
                            "PermitRootLogin no in /etc/ssh/sshd_config.d/"),
}


def assert_findings(findings, known=KNOWN):
    assert isinstance(findings, list), findings
    got = [(f["check"], f["status"], f["text"]) for f in findings]
    assert got == WANT
    for f in findings:
        assert set(f) == {"check", "status", "text", "refs", "title", "fix"}
        want = known.get(f["check"])
        if want is None:
            assert (f["refs"], f["title"], f["fix"]) == (None, None, None), f
        else:
            assert (f["refs"], f["title"], f["fix"]) == want, f


@pytest.fixture
def checks_path(tmp_path):
    p = tmp_path / "CHECKS"
    p.write_text(CHECKS)
    return p


def audited(brain, new_tentacle):  # noqa: F811
    """A tentacle enrolled, its script run: (client, tentacle ID, run)."""
    c = brain.login()
    t = new_tentacle("127.0.0.2", brain)
    add_script(t, "audit", SCRIPT)
    tid = int(enrol_self(t, brain, make_token(c)["token"])["id"])
    return c, tid, run_and_wait(c, "audit", [tid])


def test_findings_in_every_view_of_a_result(brain_factory, checks_path,
                                            new_tentacle):  # noqa: F811
    b = brain_factory({"checks_file": str(checks_path)})
    assert "checks_file %s: 4 checks" % checks_path in b.stderr()
    c, tid, run = audited(b, new_tentacle)
    (job,) = run["jobs"]
    res = job["result"]
    assert res["exit_status"] == 1, res
    # The run with its outputs (the default); without them, no findings.
    assert_findings(res["findings"])
    light = c.get("/api/runs/%d?output=0" % run["id"]).json()
    assert "findings" not in light["jobs"][0]["result"]
    assert_findings(c.get("/api/runs/%d?output=1" % run["id"]).json()[
        "jobs"][0]["result"]["findings"])
    # The result alone, and the tentacle's history.
    one = c.get("/api/results/%d" % res["id"])
    assert one.status == 200
    assert_findings(one.json()["findings"])
    hist = c.get("/api/tentacles/%d/results" % tid).json()["results"]
    assert [h["id"] for h in hist] == [res["id"]]
    assert_findings(hist[0]["findings"])
    # Without them, for polling.
    hist = c.get("/api/tentacles/%d/results?findings=0" % tid).json()[
        "results"]
    assert [h["id"] for h in hist] == [res["id"]]
    assert "findings" not in hist[0]
    for q in ("findings=2", "findings=x", "findings=1&findings=1", "x=1"):
        r = c.get("/api/tentacles/%d/results?%s" % (tid, q))
        assert r.status == 400, (q, r)
    # The output itself is unchanged by the parse.
    assert one.json()["output"].startswith(
        "OK    mount./tmp.noexec /tmp is mounted noexec\n")


def test_checks_file_reloaded_on_sighup(brain_factory, checks_path,
                                        new_tentacle):  # noqa: F811
    b = brain_factory({"checks_file": str(checks_path)})
    c, tid, run = audited(b, new_tentacle)
    rid = run["jobs"][0]["result"]["id"]

    # A malformed file on SIGHUP: the running table is kept, the log names
    # the file and line.
    checks_path.write_text(CHECKS + "disk.usage\tX:1\tagain\tagain\n")
    offset = len(b.stderr())
    b.signal(signal.SIGHUP)
    b.wait_log(r"reload failed, keeping the running configuration: %s:7: "
               r"duplicate CHECK-ID disk.usage \(first on line 5\)"
               % checks_path, start=offset)
    assert_findings(c.get("/api/results/%d" % rid).json()["findings"])

    # A good one: the findings stored show the new titles at once.
    checks_path.write_text(CHECKS.replace("Disk space", "Space left"))
    offset = len(b.stderr())
    b.signal(signal.SIGHUP)
    b.wait_log(r"checks_file %s: 4 checks" % checks_path, start=offset)
    known = dict(KNOWN)
    known["disk.usage"] = ([], "Space left", "Free some space")
    assert_findings(c.get("/api/results/%d" % rid).json()["findings"], known)

    # Gone: a warning; findings without references, title or fix.
    checks_path.unlink()
    offset = len(b.stderr())
    b.signal(signal.SIGHUP)
    b.wait_log(r"maestro: checks_file %s: No such file or directory: "
               r"findings will have no references" % checks_path,
               start=offset)
    assert_findings(c.get("/api/results/%d" % rid).json()["findings"], {})
    assert b.alive()


def check_config(tmp_path, checks):
    conf = tmp_path / "brain.conf"
    conf.write_text("checks_file = %s\n" % checks)
    return subprocess.run([str(octotest.BRAIN_BIN), "-n", "-c", str(conf)],
                          capture_output=True, text=True, timeout=30)


@pytest.mark.parametrize("text,line,why", [
    ("a\tR:1\tt\n", 1, "3 fields where 4 are due"),
    ("# c\nbad id\tR:1\tt\tf\n", 2, "bad CHECK-ID"),
    ("a\tR9\tt\tf\n", 1, "a bad reference"),
    ("a\tR:1\tt\tf\nb\tR:1\tt\tf\na\tR:1\tt\tf\n", 3,
     "duplicate CHECK-ID a (first on line 1)"),
    ("a\tR:1\tt\xff\tf\n", 1, "the title is not UTF-8"),
], ids=["fields", "id", "reference", "duplicate", "utf8"])
def test_malformed_checks_file_is_a_config_error(tmp_path, text, line, why):
    p = tmp_path / "CHECKS"
    p.write_bytes(text.encode("latin-1"))
    r = check_config(tmp_path, p)
    assert r.returncode == 2, r
    assert r.stderr.startswith("octoBrain: %s:%d: %s" % (p, line, why)), \
        r.stderr
    assert "configuration OK" not in r.stdout


def test_missing_checks_file_is_a_warning(brain_factory, tmp_path,
                                          new_tentacle):  # noqa: F811
    missing = tmp_path / "no" / "CHECKS"
    r = check_config(tmp_path, missing)
    assert r.returncode == 0 and "configuration OK" in r.stdout, r
    assert "warning: checks_file %s: No such file" % missing in r.stderr
    b = brain_factory({"checks_file": str(missing)})
    assert "maestro: checks_file %s: No such file" % missing in b.stderr()
    c, tid, run = audited(b, new_tentacle)
    assert_findings(run["jobs"][0]["result"]["findings"], {})


@pytest.mark.skipif(not (octotest.REPO / "scripts/audit/CHECKS").is_file(),
                    reason="no scripts/audit/CHECKS in this tree")
def test_the_packs_checks_file_loads(tmp_path):
    """The file installed with the brain is one the brain accepts."""
    r = check_config(tmp_path, octotest.REPO / "scripts/audit/CHECKS")
    assert r.returncode == 0, r.stderr
    assert r.stderr == "" and "configuration OK" in r.stdout
