#!/usr/bin/python3
"""make bench SWARM=N: issue 18's figures at N tentacles, printed as lines
of bench.py's table (never asserted). The N are SIMULATED tentacles: one
swarm process (build/tests/swarm, tests/bench/swarm.h) plays them all,
each with its own certificate, ID and key, address 127.2.x.y and
listening socket, over the real protocol (TLS 1.3 with resumption, the
handshake, the MACs), enrolled through the real registerer with a token;
an order is answered with a canned output (no script runs). Real
octoTentacle processes stay in bench.py (N <= 1000).

  - setup: the brain, then N enrolled and online (s);
  - run on all N, first (full TLS handshakes) and second (sessions
    resumed): POST to all stored (s), results stored, results/s, the CPU
    of the brain and of the swarm during it;
  - the keepalive at the default interval (30 s): the brain's CPU, all
    its processes (/proc/PID/stat), as % of one core over
    KEEPALIVE_SECONDS (default 60) with nothing else asked of it;
  - round trip on one tentacle (POST, then GET ?wait=30 until stored)
    while the N are kept alive: median and p95 of ROUND_TRIPS (100);
  - the brain's total PSS at N;
  - GET /api/tentacles?limit=100 under 50 concurrent clients (wrk) with
    the N enrolled: p50, p99, requests/s;
  - the Fleet page's first draw with the N enrolled, in headless Chromium
    (tests/system/browser.py: selenium, the brain's own certificate
    accepted), logged in on another view: from the hash change to the
    first row and the fleet's total drawn, and from a new page load's
    navigation start to the first row.
Targets (issue 18, at 10,000 on 2 cores): second run <= 10 s, keepalive
<= 25% of a core, round trip <= 10 ms, PSS <= 100 MB, p99 <= 20 ms,
first draw <= 1 s.

Environment: SWARM (N, default 1000), SWARM_PROCS (worker processes of
the swarm, default 1), SWARM_DELAY_MS (default 0), SWARM_RESULT_ON_ORDER=0
(results over 6001, swarm --no-result-on-order, instead of back on the
order's connection as octoTentacle sends them), KEEPALIVE_SECONDS
(default 60), LISTS_SECONDS (default 10), OCTO_BUILD. PERF_DIR=dir: `perf
record -g` of the brain's processes during the second run and during
the keepalive, into dir/swarm-run.data and dir/swarm-keepalive.data.
"""

import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "system"))
import octotest  # noqa: E402
import bench  # noqa: E402
import browser  # noqa: E402
import swarm_proc  # noqa: E402

N = int(os.environ.get("SWARM", "1000"))
PROCS = int(os.environ.get("SWARM_PROCS", "1"))
DELAY_MS = int(os.environ.get("SWARM_DELAY_MS", "0"))
ON_ORDER = os.environ.get("SWARM_RESULT_ON_ORDER", "1") != "0"
KEEPALIVE_SECONDS = int(os.environ.get("KEEPALIVE_SECONDS", "60"))
LISTS_SECONDS = int(os.environ.get("LISTS_SECONDS", "10"))
ROUND_TRIPS = 100
ROW = "%-46s %12s"


def row(label, value, fmt="%.2f"):
    print(ROW % (label, value if isinstance(value, str) else fmt % value))
    sys.stdout.flush()


def cpu(pids):
    return sum(bench.cpu_s(p) for p in pids)


def perf_start(name, pids):
    out = os.environ.get("PERF_DIR")
    if not out:
        return None
    os.makedirs(out, exist_ok=True)
    p = subprocess.Popen(
        ["perf", "record", "-q", "-g", "-o",
         os.path.join(out, "swarm-%s.data" % name), "-p",
         ",".join(str(x) for x in pids)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    return p


def perf_stop(p):
    if p is not None:
        p.send_signal(2)
        p.wait(60)


def wait_run(ka, run_id, timeout):
    """Until every job of the run is final: a request the brain holds
    (?wait=30) rather than polls, which at N jobs a run would cost the
    maestro more than what is measured (a summary of the runs counts all
    their jobs); the summary once per answer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ka.get("/api/runs/%d?wait=30&limit=1&output=0" % run_id)
        for r in ka.get("/api/runs?limit=5")["runs"]:
            if r["id"] == run_id and r["finished"] >= r["jobs"]:
                return
    raise SystemExit("run %d did not finish in %d s" % (run_id, timeout))


def fleet_counts(ka):
    return ka.get("/api/tentacles?limit=1")["counts"]


def fleet_draw(brain, tmp):
    """browser.Browser.fleet_first_draw at N, or None without Chromium."""
    if browser.missing():
        return None
    b = browser.Browser("https://127.0.0.1:%d" % brain.web_port,
                        tmp / "screenshots")
    try:
        b.login("admin", brain.password, "#/account")
        b.text_in("h1", "Your account")
        return b.fleet_first_draw(N)
    finally:
        b.quit()


def main():
    # Stopped: the brain and the swarm are stopped too (finally).
    signal.signal(signal.SIGTERM, lambda sig, frame: sys.exit(1))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    tmp = Path(tempfile.mkdtemp(prefix="octo-swarm-bench-"))
    # The default keepalive_interval (30 s): what is measured.
    brain = octotest.Brain(tmp / "brain", {
        "max_tentacles": max(4096, 2 * N), "login_attempts": 1000,
        "io_timeout": 30})
    swarm = None
    try:
        t0 = time.monotonic()
        brain.start()
        c = brain.login()
        token = c.post("/api/tokens", {"expires_in": 7200,
                                       "uses": N}).json()["token"]
        swarm = swarm_proc.Swarm(tmp / "swarm", brain, token, N,
                                 delay_ms=DELAY_MS, net=2, procs=PROCS,
                                 result_on_order=ON_ORDER)
        swarm.start(timeout=120 + N / 10)
        enrolled = time.monotonic() - t0
        ka = bench.KeepAlive(c)
        deadline = time.monotonic() + 120 + N / 50
        while fleet_counts(ka)["online"] < N:
            if time.monotonic() > deadline:
                raise SystemExit("only %d of %d simulated tentacles online"
                                 % (fleet_counts(ka)["online"], N))
            time.sleep(0.5)
        setup = time.monotonic() - t0
        bpids = list(brain.pids().values())
        spids = swarm.pids()

        def run_all(perf_name=None):
            client = brain.login()
            k = bench.KeepAlive(client)
            k.get("/api/health")
            p = perf_start(perf_name, bpids) if perf_name else None
            b0, s0 = cpu(bpids), cpu(spids)
            start = time.monotonic()
            run_id = k.post("/api/runs", {"script": "one-line",
                                          "tentacles": "all"})["id"]
            wait_run(k, run_id, 120 + N / 10)
            took = time.monotonic() - start
            b1, s1 = cpu(bpids), cpu(spids)
            perf_stop(p)
            jobs = bench.run_jobs(k, run_id)
            return (took, sum(1 for j in jobs if j["state"] == "done"),
                    b1 - b0, s1 - s0, os.getloadavg()[0])

        cold = run_all()
        warm = run_all("run")

        # The keepalive alone, at the default interval.
        time.sleep(5)
        p = perf_start("keepalive", bpids)
        b0, w0 = cpu(bpids), time.monotonic()
        time.sleep(KEEPALIVE_SECONDS)
        ka_cpu = (cpu(bpids) - b0) / (time.monotonic() - w0) * 100
        perf_stop(p)
        online_after = fleet_counts(bench.KeepAlive(brain.login()))

        # The round trip on one tentacle, the N kept alive meanwhile.
        client = brain.login()
        k = bench.KeepAlive(client)
        one = k.get("/api/tentacles?limit=1")["tentacles"][0]["id"]
        rtts = []
        for _ in range(ROUND_TRIPS):
            s = time.monotonic()
            rid = k.post("/api/runs", {"script": "one-line",
                                       "tentacles": [one]})["id"]
            bench.wait_held(k, rid)
            rtts.append((time.monotonic() - s) * 1000)
        rtts.sort()

        roles_pss = {r: bench.pss_kib(p) / 1024
                     for r, p in brain.pids().items()}
        pss = sum(roles_pss.values())
        swarm_pss = sum(bench.pss_kib(p) for p in spids) / 1024
        lat = bench.wrk_latency(brain, brain.login(),
                                "/api/tentacles?limit=100", LISTS_SECONDS,
                                50)
        lists_load = os.getloadavg()[0]
        draw = fleet_draw(brain, tmp)

        print()
        print("Octopus swarm benchmark: N=%d SIMULATED tentacles (one swarm "
              "process%s, canned results after %d ms%s) on %s, %d cores" % (
                  N, "" if PROCS == 1 else " with %d workers" % PROCS,
                  DELAY_MS, ", on the order's connection" if ON_ORDER
                  else ", over 6001", os.uname().nodename, os.cpu_count()))
        print(ROW % ("figure", "value"))
        row("setup: brain + N simulated enrolled (s)", enrolled, "%.1f")
        row("  ... and all N online (s)", setup, "%.1f")
        for label, (took, done, bcpu, scpu, load) in (
                ("first", cold), ("second", warm)):
            row("%s run on all N: POST to all stored (s)" % label, took,
                "%.3f")
            row("  results stored (done) of N", done, "%d")
            row("  results stored per second", N / took, "%.0f")
            row("  CPU of the brain during it (s)", bcpu)
            row("  CPU of the swarm during it (s)", scpu)
            row("  load average (1 min) after it", load)
        row("keepalive (30 s), brain CPU (% of one core)", ka_cpu, "%.1f")
        row("  over (s); online after it", "%d; %d" % (
            KEEPALIVE_SECONDS, online_after["online"]))
        row("round trip on one tentacle, median (ms)",
            statistics.median(rtts))
        row("round trip on one tentacle, p95 (ms)",
            rtts[int(len(rtts) * 0.95) - 1])
        row("brain total PSS at N (MB)", pss, "%.1f")
        row("  maestro/webserv/registerer/commander (MB)", "/".join(
            "%.1f" % roles_pss[r] for r in octotest.ROLES))
        row("swarm PSS (MB)", swarm_pss, "%.1f")
        if lat is None:
            row("GET /api/tentacles?limit=100, 50 clients", "no wrk")
        else:
            row("  ?limit=100, 50 clients (wrk): p50 (ms)", lat[0])
            row("  ?limit=100, 50 clients (wrk): p99 (ms)", lat[1])
            row("  ?limit=100, 50 clients: requests/s", lat[2], "%.0f")
            row("  load average (1 min) after it", lists_load)
        if draw is None:
            row("Fleet page at N, first draw", "no chromium")
        else:
            row("Fleet page at N, first draw (ms)", draw[0], "%.0f")
            row("  new page load to rows drawn (ms)", draw[1], "%.0f")
    finally:
        if swarm is not None:
            swarm.stop()
            n = swarm.counts()
            if n:
                print("swarm: %(enrolled)d enrolled, %(pings)d pings, "
                      "%(orders)d orders, %(delivered)d delivered "
                      "(%(resumed)d resumed), %(deliver_failed)d deliveries "
                      "failed, %(served)d connections from the brain "
                      "(%(served_resumed)d resumed), %(on_order)d results "
                      "on the order's connection" % n)
        brain.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
