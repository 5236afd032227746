"""The bench's swarm (issue 18, tests/bench/swarm.h): 100 simulated
tentacles in one process enrol with one token through the real
registerer, show up online, all run a script (a canned output, each
result delivered to the real commander with its MAC), and stay online
across keepalives, on resumed TLS sessions."""

import sys
from pathlib import Path

import pytest

from octotest import wait_for

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import swarm_proc  # noqa: E402

N = 100
CANNED = "canned by the swarm\n"


def fleet(client):
    """Every tentacle, by pages."""
    out, after = [], None
    while True:
        j = client.get("/api/tentacles?limit=1000" + (
            "" if after is None else "&after=%d" % after)).json()
        out += j["tentacles"]
        after = j["next"]
        if after is None:
            return out, j["counts"]


def finished_run(client, run_id):
    j = client.get("/api/runs/%d?wait=30" % run_id).json()
    return j, all(x["state"] in ("done", "failed", "timeout", "unreachable",
                                 "refused", "expired") for x in j["jobs"])


def run_on_all(client):
    """A run of one-line on every tentacle, once finished: its jobs, each
    checked done with the canned output."""
    run_id = client.post("/api/runs", {"script": "one-line",
                                       "tentacles": "all"}).json()["id"]
    run = {}

    def finished():
        run["j"], done = finished_run(client, run_id)
        return done
    wait_for(finished, 60, 0.2, "the run finished")
    jobs = run["j"]["jobs"]
    assert len(jobs) == N
    assert {j["state"] for j in jobs} == {"done"}, jobs
    assert {j["result"]["output"] for j in jobs} == {CANNED}
    assert {j["result"]["exit_status"] for j in jobs} == {0}
    return jobs


@pytest.fixture
def swarm(brain_factory, tmp_path):
    if not swarm_proc.available():
        pytest.fail("%s not built: run make" % swarm_proc.SWARM_BIN,
                    pytrace=False)
    b = brain_factory({"keepalive_interval": 1, "keepalive_misses": 2,
                       "io_timeout": 5})
    c = b.login()
    token = c.post("/api/tokens", {"expires_in": 600, "uses": N}).json()
    s = swarm_proc.Swarm(tmp_path / "swarm", b, token["token"], N,
                         delay_ms=50, output=CANNED)
    yield b, c, s
    s.stop()


def test_swarm_enrols_runs_and_stays_online(swarm):
    b, c, s = swarm
    s.start()

    # All enrolled through the registerer, with the token, and online
    # once their welcome ping is answered.
    def online():
        return fleet(c)[1]["online"] == N
    wait_for(online, 60, 0.2, "%d simulated tentacles online" % N)
    ts, counts = fleet(c)
    assert counts["total"] == N and counts["pending"] == 0, counts
    assert sorted(t["hostname"] for t in ts) == sorted(
        "swarm-%d" % i for i in range(N))
    assert {t["enrolment"] for t in ts} == {"accepted"}
    assert sorted(t["address"] for t in ts) == sorted(
        s.address(i) for i in range(N))
    assert {t["port"] for t in ts} == {s.port}
    assert all(t["facts"].get("simulated") is True for t in ts), ts[0]
    # Each its own certificate.
    assert len({t["fingerprint"] for t in ts}) == N
    scripts = c.get("/api/scripts").json()["scripts"]
    assert [x["name"] for x in scripts] == ["one-line"], scripts
    assert len(scripts[0]["tentacles"]) == N

    # A run on all: 100 results, done, with the canned output.
    for _ in range(2):
        run_on_all(c)

    # Keepalives go on (every second here): every tentacle is seen
    # again, and none goes offline.
    before = {t["id"]: t["last_seen"] for t in fleet(c)[0]}

    def all_seen_again():
        now = fleet(c)[0]
        return all(t["last_seen"] > before[t["id"]] for t in now)
    wait_for(all_seen_again, 30, 0.5, "every tentacle seen again")
    ts, counts = fleet(c)
    assert counts["online"] == N, counts
    assert "is offline" not in b.stderr()

    assert s.stop() == 0, s.log()[-2000:]
    n = s.counts()
    assert n is not None, s.lines
    assert n["enrolled"] == N and n["orders"] == 2 * N, n
    assert n["delivered"] == 2 * N and n["refused"] == 0, n
    assert n["pings"] >= 2 * N, n
    # Results went back on their orders' connections (the brain held
    # them: the delay is short), and the brain's connections resumed.
    assert n["on_order"] + n["resumed"] >= N, n
    assert n["served_resumed"] >= N, n


def test_swarm_results_over_6001(brain_factory, tmp_path):
    """With --no-result-on-order every result comes over the commander's
    port (the swarm's results otherwise go back on their order's
    connection, as octoTentacle's): all stored, none on the order's."""
    b = brain_factory({"keepalive_interval": 1, "io_timeout": 5})
    c = b.login()
    token = c.post("/api/tokens", {"expires_in": 600, "uses": N}).json()
    s = swarm_proc.Swarm(tmp_path / "swarm", b, token["token"], N,
                         output=CANNED, result_on_order=False)
    try:
        s.start()
        wait_for(lambda: fleet(c)[1]["online"] == N, 60, 0.2,
                 "%d simulated tentacles online" % N)
        run_on_all(c)
    finally:
        assert s.stop() == 0, s.log()[-2000:]
    n = s.counts()
    assert n["delivered"] == N and n["on_order"] == 0, n
