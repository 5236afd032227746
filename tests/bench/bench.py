#!/usr/bin/python3
"""make bench: a brain and N real tentacles on loopback, enrolled with one
token; then the figures of issue 4, printed as a table (never asserted):

  - time from POST /api/runs on all N until all N results are stored,
    and results stored per second, for a first run (full TLS handshakes
    with every tentacle) and a second one (sessions resumed), with the
    CPU time the brain and the tentacles spent on each;
  - median and p95 round trip of a run on one tentacle (100 runs of a
    script that prints one line);
  - memory as PSS (/proc/PID/smaps_rollup: shared pages divided among
    the processes that share them) of each brain process and of one idle
    tentacle;
  - the round trip again with GET /api/runs/ID?wait=30 instead of
    polling (issue 18);
  - lists at scale (issue 18), on a second brain whose database holds
    LISTS_N (default 10,000) tentacles written before it starts (rows,
    not tentacles: nothing answers for them; the output says so): the
    latency of GET /api/tentacles?limit=100 under 50 concurrent clients
    (wrk, keep-alive, for LISTS_SECONDS, default 10), one page of 1000
    and the whole fleet by pages from one client, the brain's PSS then.

The client keeps one HTTPS connection open (as the dashboard's browser
does), so that the figures measure Octopus, not the client's own TLS
handshakes; it polls the summary of the runs (GET /api/runs, one row per
run) every FANOUT_POLL_MS while N results come in, the run itself every
POLL_MS for one job. OLD_POLL=1 polls as before (a new connection per request and
the whole run every 2 ms), for comparison with earlier figures.

Environment: N (default 200), LISTS_N, LISTS_SECONDS, OCTO_BUILD (default build/), POLL_MS
(default 1), FANOUT_POLL_MS (default 10), OLD_POLL. PERF_DIR=dir: the
second run on all N is recorded with `perf record --call-graph
$PERF_CALLGRAPH` (default fp; dwarf resolves OpenSSL) (brain.data: the
brain's processes; tentacles.data: the tentacles' processes and the
scripts they run), for `perf report -i dir/brain.data --sort pid,sym`;
with STRACE=ROLE (e.g. commander) instead: `strace -c` of that brain
process into dir/strace.txt.
"""

import http.client
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "system"))
import octotest  # noqa: E402
import fleetdb  # noqa: E402

N = int(os.environ.get("N", "200"))
ROUND_TRIPS = 100
LISTS_N = int(os.environ.get("LISTS_N", "10000"))
LISTS_SECONDS = int(os.environ.get("LISTS_SECONDS", "10"))
LISTS_CLIENTS = 50


def pss_kib(pid):
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            if line.startswith("Pss:"):
                return int(line.split()[1])
    return 0


def cpu_s(pid):
    """User + system CPU seconds of a process (0 if gone)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf(
            "SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def tree_pids(pids):
    """pids and their children (one level: a tentacle's workers)."""
    out = list(pids)
    for pid in pids:
        try:
            with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
                out.extend(int(x) for x in f.read().split())
        except OSError:
            pass
    return out


def address(i):
    # 127.1.x.y: room for thousands of tentacles, each on its own address.
    return "127.1.%d.%d" % (i // 250, i % 250 + 1)


POLL = float(os.environ.get("POLL_MS", "1")) / 1000
FANOUT_POLL = float(os.environ.get("FANOUT_POLL_MS", "10")) / 1000
OLD_POLL = os.environ.get("OLD_POLL") == "1"


class KeepAlive:
    """GET on one persistent HTTPS connection with the Client's session
    (background: it does not extend the session); reconnects once if the
    webserv closed it."""

    def __init__(self, client):
        self.c = client
        self.conn = None

    def get(self, path):
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPSConnection(
                    self.c.host, self.c.port, timeout=30,
                    context=octotest.tls_client_context())
            try:
                self.conn.request("GET", path, headers={
                    "Accept": "application/json",
                    "Cookie": "%s=%s" % (self.c.COOKIE, self.c.session),
                    "X-Octopus-Background": "1"})
                r = self.conn.getresponse()
                body = r.read()
                if r.getheader("Connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
                if r.status != 200:
                    raise SystemExit("GET %s: %d %r" % (path, r.status, body))
                return json.loads(body)
            except (OSError, http.client.HTTPException):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise

    def post(self, path, body):
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPSConnection(
                    self.c.host, self.c.port, timeout=30,
                    context=octotest.tls_client_context())
            try:
                self.conn.request("POST", path, body=json.dumps(body),
                                  headers={
                    "Accept": "application/json",
                    "Content-Type": "application/json",
                    "Cookie": "%s=%s" % (self.c.COOKIE, self.c.session),
                    "X-CSRF-Token": self.c.csrf})
                r = self.conn.getresponse()
                data = r.read()
                if r.getheader("Connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
                if r.status != 202:
                    raise SystemExit("POST %s: %d %r" % (path, r.status,
                                                         data))
                return json.loads(data)
            except (OSError, http.client.HTTPException):
                if self.conn is not None:
                    self.conn.close()
                self.conn = None
                if attempt:
                    raise


FINISHED = ("done", "failed", "timeout", "unreachable")


def wait_all(ka, run_id, n, timeout):
    """Until the run's summary counts n finished jobs; then the jobs.
    Every FANOUT_POLL_MS: each poll costs the maestro a query over all
    jobs, which would otherwise compete with what is measured."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        # The newest runs: this one is among them.
        for r in ka.get("/api/runs?limit=5")["runs"]:
            if r["id"] == run_id:
                if r["finished"] >= n:
                    return run_jobs(ka, run_id)
                break
        time.sleep(FANOUT_POLL)
    raise SystemExit("run %d did not finish in %d s" % (run_id, timeout))


def run_jobs(ka, run_id):
    """Every job of a run, by pages (SPEC "Lists at scale")."""
    jobs, after = [], None
    while True:
        j = ka.get("/api/runs/%d?output=0%s" % (
            run_id, "" if after is None else "&after=%d" % after))
        jobs += j["jobs"]
        after = j.get("next")
        if after is None:
            return jobs


def wait_one(ka, run_id, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        jobs = ka.get("/api/runs/%d" % run_id)["jobs"]
        if all(j["state"] in FINISHED for j in jobs):
            return jobs
        time.sleep(POLL)
    raise SystemExit("run %d did not finish in %d s" % (run_id, timeout))


def wait_run(client, run_id, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        jobs = client.get("/api/runs/%d" % run_id,
                          background=True).json()["jobs"]
        if all(j["state"] in ("done", "failed", "timeout", "unreachable")
               for j in jobs):
            return jobs
        time.sleep(0.002)
    raise SystemExit("run %d did not finish in %d s" % (run_id, timeout))


def wait_held(ka, run_id):
    """The run as the brain answers it once finished: one request that
    it holds (?wait=30) instead of polls."""
    jobs = ka.get("/api/runs/%d?wait=30" % run_id)["jobs"]
    if not all(j["state"] in FINISHED for j in jobs):
        raise SystemExit("run %d not finished after its wait" % run_id)
    return jobs


def wrk_ms(v):
    """wrk's "850.00us", "1.23ms", "1.02s" in milliseconds."""
    for unit, scale in (("us", 0.001), ("ms", 1.0), ("s", 1000.0)):
        if v.endswith(unit):
            return float(v[:-len(unit)]) * scale
    raise SystemExit("wrk: a latency without its unit: %r" % v)


def wrk_latency(brain, client, path, seconds, clients):
    """wrk's figures for path: (p50 ms, p99 ms, requests per second), or
    None when wrk is missing (scripts/deps installs it)."""
    wrk = shutil.which("wrk")
    if wrk is None:
        return None
    out = subprocess.run(
        [wrk, "-t%d" % min(2, clients), "-c%d" % clients, "-d%ds" % seconds, "--latency",
         "-H", "Cookie: %s=%s" % (client.COOKIE, client.session),
         "-H", "X-Octopus-Background: 1",
         "https://127.0.0.1:%d%s" % (brain.web_port, path)],
        capture_output=True, text=True, timeout=seconds + 60).stdout
    pct, rate, bad = {}, 0.0, 0
    for line in out.splitlines():
        f = line.split()
        if len(f) == 2 and f[0] in ("50%", "99%"):
            pct[f[0]] = wrk_ms(f[1])
        elif line.startswith("Requests/sec:"):
            rate = float(f[1])
        elif line.strip().startswith("Non-2xx"):
            bad = int(f[-1])
    if "50%" not in pct or bad:
        raise SystemExit("wrk: %s" % (out if not bad else
                                      "%d answers not 2xx" % bad))
    return pct["50%"], pct["99%"], rate


def lists_bench(tmp):
    """Issue 18's lists figures on a brain with LISTS_N tentacles in its
    database: a dict of label -> value."""
    b = fleetdb.brain_with_fleet(tmp / "lists-brain",
                                 fleetdb.fleet_rows(LISTS_N))
    try:
        c = b.login()
        ka = KeepAlive(c)
        ka.get("/api/tentacles?limit=1")
        page = []
        for _ in range(20):
            s = time.monotonic()
            ka.get("/api/tentacles")
            page.append((time.monotonic() - s) * 1000)
        s = time.monotonic()
        after, pages = None, 0
        while True:
            j = ka.get("/api/tentacles?limit=1000" + (
                "" if after is None else "&after=%d" % after))
            pages += 1
            after = j["next"]
            if after is None:
                break
        whole = time.monotonic() - s
        lat = wrk_latency(b, c, "/api/tentacles?limit=100", LISTS_SECONDS,
                          LISTS_CLIENTS)
        pss = sum(pss_kib(p) for p in b.pids().values()) / 1024
        return {"page": statistics.median(page), "whole": whole,
                "pages": pages, "wrk": lat, "pss": pss}
    finally:
        b.stop()


def start_perf(bpids, tpids):
    """perf record of the brain and of the tentacles if PERF_DIR is set."""
    out = os.environ.get("PERF_DIR")
    if not out:
        return []
    os.makedirs(out, exist_ok=True)
    procs = []
    if os.environ.get("STRACE"):
        # Syscall counts of one brain process (STRACE=its role's pid).
        procs.append(subprocess.Popen(
            ["strace", "-c", "-o", os.path.join(out, "strace.txt"), "-p",
             os.environ["STRACE"]],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        time.sleep(1.0)
        return procs
    for name, pids in (("brain", bpids), ("tentacles", tpids)):
        procs.append(subprocess.Popen(
            ["perf", "record", "-q", "--call-graph",
             os.environ.get("PERF_CALLGRAPH", "fp"), "-o",
             os.path.join(out, name + ".data"), "-p",
             ",".join(str(p) for p in pids)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    time.sleep(1.0)     # attached before the run starts
    return procs


def stop_perf(procs):
    for p in procs:
        p.send_signal(2)
    for p in procs:
        p.wait(60)


def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    tmp = Path(tempfile.mkdtemp(prefix="octo-bench-"))
    procs = []
    brain = octotest.Brain(tmp / "brain", {
        "max_tentacles": max(4096, 4 * N), "keepalive_interval": 3600,
        "login_attempts": 1000, "io_timeout": 30})
    try:
        t0 = time.monotonic()
        brain.start()
        c = brain.login()
        token = c.post("/api/tokens", {"expires_in": 3600,
                                       "uses": N}).json()["token"]
        scripts = tmp / "scripts"
        scripts.mkdir()
        (scripts / "one-line").write_text(
            "#!/bin/sh\n# description: prints one line\necho ok\n")
        (scripts / "one-line").chmod(0o755)
        (tmp / "token").write_text(token + "\n")
        (tmp / "token").chmod(0o600)
        for i in range(N):
            d = tmp / ("t%d" % i)
            d.mkdir()
            conf = d / "tentacle.conf"
            conf.write_text(octotest.format_conf({
                "name": "bench-%d" % i, "listen_address": address(i),
                "brain_registerer_port": brain.registerer_port,
                "brain_commander_port": brain.commander_port,
                "state_dir": str(d / "state"),
                "pidfile": str(d / "tentacle.pid"),
                "scripts_dir": str(scripts), "poll_interval": 1,
                "io_timeout": 30}))
            procs.append(subprocess.Popen(
                [str(octotest.TENTACLE_BIN), "--no-daemon", "-c", str(conf),
                 "-b", "127.0.0.1", "--token-file", str(tmp / "token")],
                stdout=subprocess.DEVNULL,
                stderr=open(d / "log", "w")))
        deadline = time.monotonic() + 120 + N / 5
        while time.monotonic() < deadline:
            n = sum(1 for i in range(N)
                    if (tmp / ("t%d" % i) / "state" / "private" /
                         "enrolment").exists())
            if n == N:
                break
            time.sleep(0.2)
        else:
            raise SystemExit("only %d of %d tentacles enrolled" % (n, N))
        # Their command workers listen once the register has handed over.
        time.sleep(1.0)
        setup = time.monotonic() - t0

        ka = KeepAlive(c)
        ka.get("/api/health")   # the connection is up before the clock
        broles = brain.pids()
        bpids = list(broles.values())
        tpids = tree_pids([p.pid for p in procs])

        def run_all():
            roles0 = {r: cpu_s(p) for r, p in broles.items()}
            bcpu0 = sum(cpu_s(p) for p in bpids)
            tcpu0 = sum(cpu_s(p) for p in tpids)
            start = time.monotonic()
            if OLD_POLL:
                run_id = c.post("/api/runs", {
                    "script": "one-line", "tentacles": "all"}).json()["id"]
                jobs = wait_run(c, run_id, 60 + N / 10)
            else:
                run_id = ka.post("/api/runs", {"script": "one-line",
                                               "tentacles": "all"})["id"]
                jobs = wait_all(ka, run_id, N, 60 + N / 10)
            took = time.monotonic() - start
            return (took,
                    sum(1 for j in jobs if j["state"] == "done"),
                    (sum(cpu_s(p) for p in bpids) - bcpu0,
                     {r: cpu_s(p) - roles0[r] for r, p in broles.items()}),
                    sum(cpu_s(p) for p in tpids) - tcpu0,
                    os.getloadavg()[0])

        # The first run meets every tentacle for the first time (full TLS
        # handshakes both ways); the second resumes the sessions, as every
        # run after the first keepalive or run does.
        cold = run_all()
        if os.environ.get("STRACE") in broles:
            os.environ["STRACE"] = str(broles[os.environ["STRACE"]])
        perf = start_perf(bpids, tpids)
        fan_out, done, bcpu, tcpu, load = warm = run_all()
        stop_perf(perf)

        one = [t for t in c.get("/api/tentacles").json()["tentacles"]][0]
        rtts = []
        for _ in range(ROUND_TRIPS):
            s = time.monotonic()
            if OLD_POLL:
                rid = c.post("/api/runs", {
                    "script": "one-line",
                    "tentacles": [one["id"]]}).json()["id"]
                wait_run(c, rid, 30)
            else:
                rid = ka.post("/api/runs", {"script": "one-line",
                                            "tentacles": [one["id"]]})["id"]
                wait_one(ka, rid, 30)
            rtts.append((time.monotonic() - s) * 1000)
        rtts.sort()
        # The same round trip, the client waiting for the result in one
        # request instead of polling (GET /api/runs/ID?wait=30).
        held = []
        if not OLD_POLL:
            for _ in range(ROUND_TRIPS):
                s = time.monotonic()
                rid = ka.post("/api/runs", {"script": "one-line",
                                            "tentacles": [one["id"]]})["id"]
                wait_held(ka, rid)
                held.append((time.monotonic() - s) * 1000)
            held.sort()

        pids = brain.pids()
        brain_pss = {role: pss_kib(pid) for role, pid in pids.items()}
        idle = [p.pid for p in procs[:1]]
        kids = subprocess.run(["pgrep", "-P", str(idle[0])],
                              capture_output=True, text=True).stdout.split()
        tentacle_pss = pss_kib(idle[0]) + sum(pss_kib(int(k)) for k in kids)

        lists = lists_bench(tmp)

        print()
        print("Octopus benchmark: N=%d tentacles on %s, %d cores" % (
            N, os.uname().nodename, os.cpu_count()))
        print("%-46s %12s" % ("figure", "value"))
        print("%-46s %12s" % ("client polling", "old: new conn"
                                if OLD_POLL else "keep-alive"))
        print("%-46s %12.1f" % ("setup: brain + N enrolled (s)", setup))
        for label, (fan_out, done, bcpu, tcpu, load) in (
                ("first", cold), ("second", warm)):
            print("%-46s %12.3f" % ("%s run on all N: POST to all stored (s)"
                                    % label, fan_out))
            print("%-46s %12d" % ("  results stored (done) of N", done))
            print("%-46s %12.0f" % ("  results stored per second",
                                    N / fan_out))
            print("%-46s %12.2f" % ("  CPU of the brain during it (s)",
                                    bcpu[0]))
            print("%-46s %12s" % ("    maestro/webserv/registerer/commander",
                                  "/".join("%.2f" % bcpu[1][r] for r in (
                                      "maestro", "webserv", "registerer",
                                      "commander"))))
            print("%-46s %12.2f" % ("  CPU of the tentacles during it (s)",
                                    tcpu))
            print("%-46s %12.2f" % ("  load average (1 min) after it",
                                    load))
        print("%-46s %12.2f" % ("round trip on one tentacle, median (ms)",
                                statistics.median(rtts)))
        print("%-46s %12.2f" % ("round trip on one tentacle, p95 (ms)",
                                rtts[int(len(rtts) * 0.95) - 1]))
        for role in ("maestro", "webserv", "registerer", "commander"):
            print("%-46s %12.1f" % ("brain %s PSS (MB)" % role,
                                    brain_pss[role] / 1024))
        print("%-46s %12.1f" % ("brain total PSS (MB)",
                                sum(brain_pss.values()) / 1024))
        print("%-46s %12.1f" % ("one idle tentacle PSS, both processes (MB)",
                                tentacle_pss / 1024))
        if held:
            print("%-46s %12.2f" % ("round trip with ?wait=30, median (ms)",
                                    statistics.median(held)))
            print("%-46s %12.2f" % ("round trip with ?wait=30, p95 (ms)",
                                    held[int(len(held) * 0.95) - 1]))
        print("lists: a second brain with %d tentacles written into its "
              "database (rows, not live tentacles)" % LISTS_N)
        print("%-46s %12.1f" % ("  GET /api/tentacles (1000 rows), median (ms)",
                                lists["page"]))
        print("%-46s %12.2f" % ("  the whole fleet by pages of 1000 (s)",
                                lists["whole"]))
        if lists["wrk"] is None:
            print("%-46s %12s" % ("  ?limit=100 under 50 clients", "no wrk"))
        else:
            p50, p99, rate = lists["wrk"]
            print("%-46s %12.2f" % ("  ?limit=100, 50 clients (wrk): p50 (ms)",
                                    p50))
            print("%-46s %12.2f" % ("  ?limit=100, 50 clients (wrk): p99 (ms)",
                                    p99))
            print("%-46s %12.0f" % ("  ?limit=100, 50 clients: requests/s",
                                    rate))
        print("%-46s %12.1f" % ("  brain total PSS after it (MB)",
                                lists["pss"]))
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        brain.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
