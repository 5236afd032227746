#!/usr/bin/python3
"""make bench: the round trip of issue 18, printed as a table (never
asserted). A round trip is POST /api/runs on one tentacle, then
GET /api/runs/ID?wait=30, which the brain answers once the result is
stored: API -> maestro -> commander -> tentacle (TLS 1.3, mutual
handshake, MACed order) -> the script -> the result back to the
commander (TLS, handshake, MACed result) -> stored -> the answer.

  1. Where the time goes: a brain and RT_HOPS_TENTACLES (default 2)
     tentacles, all with -v, whose hop lines (common/log.h log_hop:
     CLOCK_MONOTONIC, which this client's time.monotonic() shares) are
     matched to RT_HOPS_N (default 200) sequential round trips, each the
     only thing going on; each hop's median time from the POST (the rows
     in that order), and the median of its time from the row above's
     (negative where two branches overlap: the 202 and the GET go on
     while the order does).
  2. The figures, on a brain and RT_TENTACLES (default 100) tentacles
     without -v: the median and p95 of RT_N (default 300) sequential
     round trips; the rate of 1 and of 8 concurrent clients on one
     tentacle, and their ratio; the rate of RT_CLIENTS (default 32)
     concurrent clients, each on tentacles of its own, over all of them,
     for RT_SECONDS (default 10) each, with the load average and the CPU
     of each process kind.

Each client is a process of its own (no GIL between them) with one
keep-alive HTTPS connection, as a browser has.

Environment: OCTO_BUILD, RT_N, RT_HOPS_N, RT_HOPS_TENTACLES, RT_TENTACLES,
RT_CLIENTS, RT_SECONDS, RT_SKIP_HOPS=1, RT_SKIP_FIGURES=1, RT_USER.
"""

import http.client
import json
import multiprocessing
import os
import re
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
from bench import cpu_s, tree_pids  # noqa: E402

RT_N = int(os.environ.get("RT_N", "300"))
HOPS_N = int(os.environ.get("RT_HOPS_N", "200"))
HOPS_TENTACLES = int(os.environ.get("RT_HOPS_TENTACLES", "2"))
TENTACLES = int(os.environ.get("RT_TENTACLES", "100"))
CLIENTS = int(os.environ.get("RT_CLIENTS", "32"))
SECONDS = float(os.environ.get("RT_SECONDS", "10"))
# RT_USER=nobody (as root): the tentacles' `user`, so that the scripts
# are run by their root supervisor (privilege separation).
USER = os.environ.get("RT_USER") or None
FINISHED = ("done", "failed", "timeout", "unreachable", "refused",
            "expired")

# The hops in the order of a round trip; a name the log does not have is
# left out. (label, hop, which occurrence in the round trip: 0 first,
# -1 last)
HOPS = [
    ("web: POST /api/runs received", "web-in", 0),
    ("maestro: run stored, order to the commander", "maestro-order", 0),
    ("commander: order received", "cmd-order-in", 0),
    ("commander: TLS up with the tentacle", "peer-out-tls-up", 0),
    ("commander: asks the maestro for its proof", "peer-out-ask-proof", 0),
    ("commander: handshake done", "peer-out-authenticated", 0),
    ("commander: ORDER sent", "cmd-order-sent", 0),
    ("tentacle: TLS up with the commander", "tw-tls-up", 0),
    ("tentacle: ORDER received, MAC checked", "tw-order-in", 0),
    ("tentacle: run asked for", "tw-run-asked", 0),
    ("tentacle: script started", "run-spawned", 0),
    ("commander: ORDER_ACK received", "cmd-order-acked", 0),
    ("maestro: job running", "maestro-job-state", 0),
    ("web: 202 answered", "web-out", 0),
    ("web: GET ?wait=30 received", "web-in", 1),
    ("tentacle: script ended, output read", "run-ended", 0),
    ("tentacle: result spooled", "tw-spooled", 0),
    ("tentacle: RESULT sent on the order's connection", "tw-result-sent",
     0),
    ("tentacle: delivery started", "tw-deliver-start", 0),
    ("commander: TLS up with the tentacle", "peer-in-tls-up", 0),
    ("commander: asks the maestro to check", "peer-in-ask-check", 0),
    ("commander: handshake done", "peer-in-authenticated", 0),
    ("tentacle: handshake done, RESULT sent", "tw-deliver-authenticated",
     0),
    ("commander: RESULT received", "cmd-result-in", 0),
    ("maestro: RESULT received", "maestro-result-in", 0),
    ("maestro: result stored (committed)", "maestro-stored", 0),
    ("commander: RESULT_ACK sent", "cmd-result-acked", 0),
    ("tentacle: RESULT_ACK received", "tw-delivered", 0),
    ("maestro: the wait answered", "maestro-wait-answer", 0),
    ("web: run answered", "web-out", -1),
]

HOP_RE = re.compile(r"hop (\S+) job (\d+) at (\d+\.\d+)")


def address(i):
    return "127.3.%d.%d" % (i // 250, i % 250 + 1)


class Api:
    """One keep-alive HTTPS connection with a session."""

    def __init__(self, port, session, csrf):
        self.port, self.session, self.csrf = port, session, csrf
        self.conn = None

    def call(self, method, path, body=None, want=200):
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPSConnection(
                    "127.0.0.1", self.port, timeout=60,
                    context=octotest.tls_client_context())
            hdrs = {"Accept": "application/json",
                    "Cookie": "octopus_session=%s" % self.session}
            data = None
            if body is not None:
                data = json.dumps(body)
                hdrs["Content-Type"] = "application/json"
                hdrs["X-CSRF-Token"] = self.csrf
            else:
                hdrs["X-Octopus-Background"] = "1"
            try:
                self.conn.request(method, path, body=data, headers=hdrs)
                r = self.conn.getresponse()
                out = r.read()
                if r.getheader("Connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
            except (OSError, http.client.HTTPException):
                if self.conn is not None:
                    self.conn.close()
                self.conn = None
                if attempt:
                    raise
                continue
            if r.status != want:
                raise SystemExit("%s %s: %d %r" % (method, path, r.status,
                                                   out[:200]))
            return json.loads(out)

    def round_trip(self, tentacle):
        """POST a run on one tentacle, wait for it: the run's jobs."""
        rid = self.call("POST", "/api/runs", {
            "script": "one-line", "tentacles": [tentacle]}, want=202)["id"]
        jobs = self.call("GET", "/api/runs/%d?wait=30&output=0" % rid)[
            "jobs"]
        if not all(j["state"] in FINISHED for j in jobs):
            raise SystemExit("run %d not finished after its wait" % rid)
        if jobs[0]["state"] != "done":
            raise SystemExit("run %d: %s" % (rid, jobs[0]))
        return rid


class Fleet:
    """A brain and n tentacles enrolled with one token."""

    def __init__(self, tmp, n, verbose):
        self.tmp, self.n, self.verbose = tmp, n, verbose
        self.procs = []
        self.brain = octotest.Brain(tmp / "brain", {
            "max_tentacles": max(4096, 4 * n), "keepalive_interval": 3600,
            "login_attempts": 1000, "io_timeout": 30}, verbose=verbose)

    def start(self):
        """Started, or everything it started stopped (no tentacle left
        holding its address for the next part)."""
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self):
        b = self.brain
        b.start()
        c = b.login()
        token = c.post("/api/tokens", {"expires_in": 3600,
                                       "uses": self.n}).json()["token"]
        scripts = self.tmp / "scripts"
        scripts.mkdir(exist_ok=True)
        (scripts / "one-line").write_text(
            "#!/bin/sh\n# description: prints one line\necho ok\n")
        (scripts / "one-line").chmod(0o755)
        (self.tmp / "token").write_text(token + "\n")
        (self.tmp / "token").chmod(0o600)
        for i in range(self.n):
            d = self.tmp / ("t%d" % i)
            d.mkdir()
            conf = d / "tentacle.conf"
            conf.write_text(octotest.format_conf({
                "name": "rt-%d" % i, "listen_address": address(i),
                "brain_registerer_port": b.registerer_port,
                "brain_commander_port": b.commander_port,
                "state_dir": str(d / "state"),
                "pidfile": str(d / "tentacle.pid"),
                "scripts_dir": str(scripts), "poll_interval": 1,
                "io_timeout": 30, "user": USER}))
            cmd = [str(octotest.TENTACLE_BIN), "--no-daemon", "-c",
                   str(conf), "-b", "127.0.0.1", "--token-file",
                   str(self.tmp / "token")]
            if self.verbose:
                cmd.append("-v")
            self.procs.append(subprocess.Popen(
                cmd, stdout=subprocess.DEVNULL,
                stderr=open(d / "log", "w")))
        deadline = time.monotonic() + 120 + self.n / 5
        while time.monotonic() < deadline:
            k = sum(1 for i in range(self.n) if (
                self.tmp / ("t%d" % i) / "state" / "private" /
                "enrolment").exists())
            if k == self.n:
                break
            time.sleep(0.2)
        else:
            raise SystemExit("only %d of %d tentacles enrolled" % (k,
                                                                   self.n))
        # Until every command worker listens (the register hands over).
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            k = sum(1 for i in range(self.n) if "command worker: "
                    "listening" in (self.tmp / ("t%d" % i) /
                                    "log").read_text(errors="replace"))
            if k == self.n or not self.verbose:
                break
            time.sleep(0.2)
        time.sleep(1.0)
        self.client = c
        tl = c.get("/api/tentacles").json()["tentacles"]
        self.ids = sorted(t["id"] for t in tl)
        return self

    def api(self):
        return Api(self.brain.web_port, self.client.session,
                   self.client.csrf)

    def tentacle_logs(self):
        return [(self.tmp / ("t%d" % i) / "log").read_text(errors="replace")
                for i in range(self.n)]

    def stop(self):
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        self.brain.stop()


def hops(tmp):
    """Each hop's median time after the POST (ms), and after the hop
    before: [(label, from POST, from previous, seen in how many)]."""
    f = Fleet(tmp / "hops", HOPS_TENTACLES, True).start()
    try:
        api = f.api()
        for _ in range(20):     # sessions resumed, caches warm
            api.round_trip(f.ids[0])
        windows = []
        for i in range(HOPS_N):
            s = time.monotonic()
            api.round_trip(f.ids[i % len(f.ids)])
            windows.append((s, time.monotonic()))
        time.sleep(0.5)
        events = []
        for text in [f.brain.log()] + f.tentacle_logs():
            for m in HOP_RE.finditer(text):
                events.append((float(m.group(3)), m.group(1)))
    finally:
        f.stop()
    events.sort()
    per = []        # one dict hop -> [times] per round trip
    k = 0
    for s, e in windows:
        while k < len(events) and events[k][0] < s:
            k += 1
        seen = {}
        j = k
        while j < len(events) and events[j][0] <= e:
            seen.setdefault(events[j][1], []).append(events[j][0] - s)
            j += 1
        per.append((seen, e - s))
    rows = []
    for label, hop, which in HOPS:
        xs = [seen[hop][which] for seen, _ in per if hop in seen and
              len(seen[hop]) > (which if which >= 0 else -which - 1)]
        if xs:
            rows.append([label, hop, which, xs])
    rows.sort(key=lambda r: statistics.median(r[3]))
    # The step from the hop before, round trip by round trip.
    out = []
    for i, (label, hop, which, xs) in enumerate(rows):
        if i == 0:
            steps = xs
        else:
            ph, pw = rows[i - 1][1], rows[i - 1][2]
            steps = [seen[hop][which] - seen[ph][pw] for seen, _ in per
                     if hop in seen and ph in seen and
                     len(seen[hop]) > (which if which >= 0 else 0) and
                     len(seen[ph]) > (pw if pw >= 0 else 0)]
        out.append((label, statistics.median(xs) * 1000,
                    statistics.median(steps) * 1000 if steps else 0.0,
                    len(xs)))
    total = statistics.median(e for _, e in per) * 1000
    return out, total, len(per)


def _worker(args):
    """A client process: round trips on its tentacles until the
    deadline (monotonic): (count, [latency ms])."""
    port, session, csrf, tentacles, start, deadline = args
    api = Api(port, session, csrf)
    api.call("GET", "/api/health")      # connected before the clock
    while time.monotonic() < start:
        time.sleep(0.001)
    lat, n = [], 0
    while time.monotonic() < deadline:
        s = time.monotonic()
        api.round_trip(tentacles[n % len(tentacles)])
        lat.append((time.monotonic() - s) * 1000)
        n += 1
    return n, lat


def concurrent(f, assignment, seconds, perf_file=None):
    """Round trips from len(assignment) client processes, the i-th on
    the tentacles assignment[i]: (per second, median ms, load average,
    {kind: CPU s})."""
    pids = {"brain": list(f.brain.pids().values())}
    pids["tentacles"] = tree_pids([p.pid for p in f.procs])
    roles = f.brain.pids()
    for r, p in roles.items():
        pids["brain " + r] = [p]
    cpu0 = {k: sum(cpu_s(p) for p in v) for k, v in pids.items()}
    perf = None
    if perf_file:
        # RT_PERF=FILE: perf record of the brain's processes (and the
        # tentacles') during the last (fleet) figure.
        perf = subprocess.Popen(
            ["perf", "record", "-q", "-g", "-o", perf_file,
             "-p", ",".join(str(p) for p in pids["brain"] +
                            pids["tentacles"])],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    start = time.monotonic() + 1.0 + 0.02 * len(assignment)
    args = [(f.brain.web_port, f.client.session, f.client.csrf, t, start,
             start + seconds) for t in assignment]
    with multiprocessing.Pool(len(assignment)) as pool:
        res = pool.map(_worker, args, chunksize=1)
    took = time.monotonic() - start
    if perf is not None:
        perf.send_signal(2)
        perf.wait(60)
    cpu = {k: sum(cpu_s(p) for p in v) - cpu0[k] for k, v in pids.items()}
    n = sum(r[0] for r in res)
    lat = [x for r in res for x in r[1]]
    return (n / took, statistics.median(lat) if lat else 0.0,
            os.getloadavg()[0], cpu)


def figures(tmp):
    f = Fleet(tmp / "figures", TENTACLES, False).start()
    try:
        api = f.api()
        for i in range(len(f.ids)):     # every session made once
            api.round_trip(f.ids[i])
        one = f.ids[0]
        rtts = []
        for _ in range(RT_N):
            s = time.monotonic()
            api.round_trip(one)
            rtts.append((time.monotonic() - s) * 1000)
        rtts.sort()
        load_idle = os.getloadavg()[0]
        single = concurrent(f, [[one]], SECONDS)
        eight = concurrent(f, [[one]] * 8, SECONDS)
        fleet = concurrent(f, [f.ids[i::CLIENTS] for i in range(CLIENTS)],
                           SECONDS, os.environ.get("RT_PERF"))
    finally:
        f.stop()
    return rtts, load_idle, single, eight, fleet


def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    tmp = Path(tempfile.mkdtemp(prefix="octo-rt-"))
    if USER:
        tmp.chmod(0o755)     # the tentacles' dropped user goes in
    try:
        hop_rows = None
        if os.environ.get("RT_SKIP_HOPS") != "1":
            hop_rows = hops(tmp)
        fig = None
        if os.environ.get("RT_SKIP_FIGURES") != "1":
            fig = figures(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print()
    print("Round trip (issue 18): POST /api/runs on one tentacle + "
          "GET ?wait=30, on %s, %d cores" % (os.uname().nodename,
                                            os.cpu_count()))
    if hop_rows is not None:
        rows, total, n = hop_rows
        print("where the time goes: %d round trips, brain and %d "
              "tentacles with -v" % (n, HOPS_TENTACLES))
        print("%-46s %12s %12s" % ("hop (median)", "from POST ms",
                                   "step ms"))
        for label, at, step, seen in rows:
            print("%-46s %12.3f %12.3f%s" % (label, at, step, "" if
                  seen == n else "  (in %d of %d)" % (seen, n)))
        print("%-46s %12.3f" % ("client: answer received (whole trip)",
                                total))
    if fig is not None:
        rtts, load_idle, single, eight, fleet = fig
        print("%-46s %12s" % ("figure", "value"))
        print("%-46s %12.2f" % ("round trip on an idle brain, median (ms)",
                                statistics.median(rtts)))
        print("%-46s %12.2f" % ("round trip on an idle brain, p95 (ms)",
                                rtts[int(len(rtts) * 0.95) - 1]))
        print("%-46s %12.2f" % ("  load average (1 min) then", load_idle))
        for label, (rate, med, load, cpu) in (
                ("1 client on one tentacle", single),
                ("8 clients on one tentacle", eight),
                ("%d clients over %d tentacles" % (CLIENTS, TENTACLES),
                 fleet)):
            print("%-46s %12.0f" % ("%s: round trips/s" % label, rate))
            print("%-46s %12.2f" % ("  median (ms)", med))
            print("%-46s %12s" % ("  CPU s brain/tentacles, load 1 min",
                                  "%.1f/%.1f %.2f" % (
                                      cpu["brain"], cpu["tentacles"],
                                      load)))
            print("%-46s %12s" % ("  CPU ms a round trip: maestro/web/cmd",
                                  "/".join("%.2f" % (
                                      1000 * cpu["brain " + r] /
                                      max(1, rate * SECONDS)) for r in (
                                      "maestro", "webserv", "commander"))))
        print("%-46s %12.2f" % ("8 on one tentacle / 1: rate ratio",
                                eight[0] / single[0] if single[0] else 0))


if __name__ == "__main__":
    main()
