"""The swarm of simulated tentacles (build/tests/swarm, tests/bench/swarm.h)
as a process for the bench and the system tests: N identities enrolled
with a token on a brain (octotest.Brain), each answering keepalives and
orders on 127.NET.x.y:PORT with a canned output after delay_ms.

Stdlib only, as octotest."""

import os
import random
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "system"))
import octotest  # noqa: E402

SWARM_BIN = octotest.BUILD / "tests" / "swarm"
ENROLLED = "simulated tentacles enrolled"
COUNTS_RE = re.compile(r"(\d+) enrolled, (\d+) pings, (\d+) orders, "
                       r"(\d+) results delivered \((\d+) on a resumed "
                       r"session\), (\d+) deliveries failed, (\d+) refused, "
                       r"(\d+) connections served \((\d+) on a resumed "
                       r"session\), (\d+) results on the order's "
                       r"connection")


def address(net, i):
    """Where identity i listens (swarm.h: 250 per third octet)."""
    return "127.%d.%d.%d" % (net, i // 250, i % 250 + 1)


class Swarm:
    """start() returns once every identity is enrolled; stop() sends
    SIGTERM and returns the exit status; lines holds what it printed."""

    def __init__(self, directory, brain, token, n, delay_ms=0, net=None,
                 port=None, output=None, script="one-line", procs=1,
                 result_on_order=True, verbose=False):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.brain = brain
        self.n = n
        # A second octet of its own: no other test's address.
        self.net = net if net is not None else random.randint(100, 250)
        self.port = port if port is not None else octotest.free_port()
        self.token_file = self.dir / "token"
        self.token_file.write_text(token + "\n")
        self.token_file.chmod(0o600)
        self.args = [str(SWARM_BIN), "-n", str(n),
                     "--token-file", str(self.token_file),
                     "--registerer-port", str(brain.registerer_port),
                     "--commander-port", str(brain.commander_port),
                     "--net", str(self.net), "--port", str(self.port),
                     "--delay", str(delay_ms), "--script", script,
                     "--procs", str(procs)]
        if output is not None:
            self.args += ["--output", output]
        if not result_on_order:
            self.args.append("--no-result-on-order")
        if verbose:
            self.args.append("-v")
        self.stderr_path = self.dir / "swarm.log"
        self.proc = None
        self.lines = []
        self._reader = None

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def start(self, timeout=None):
        if timeout is None:
            timeout = 60 + self.n / 20
        self.proc = subprocess.Popen(
            self.args, stdout=subprocess.PIPE, text=True,
            stderr=open(self.stderr_path, "w"))
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(ENROLLED in ln for ln in self.lines):
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        rc = self.proc.poll()
        self.stop()
        raise AssertionError("swarm: %d identities not enrolled (%s); its "
                             "log ends:\n%s" % (
                                 self.n, "exit %s" % rc if rc is not None
                                 else "timeout", self.log()[-3000:]))

    def pids(self):
        """The swarm's process and its workers (--procs)."""
        out = [self.proc.pid]
        try:
            with open("/proc/%d/task/%d/children" % (
                    self.proc.pid, self.proc.pid)) as f:
                out.extend(int(x) for x in f.read().split())
        except OSError:
            pass
        return out

    def address(self, i):
        return address(self.net, i)

    def log(self):
        try:
            return self.stderr_path.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self, timeout=20):
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.terminate()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        if self._reader is not None:
            self._reader.join(5)
        return self.proc.returncode

    def counts(self):
        """Its counts at the end (after stop), summed over the workers."""
        keys = ("enrolled", "pings", "orders", "delivered", "resumed",
                "deliver_failed", "refused", "served", "served_resumed",
                "on_order")
        total, seen = dict.fromkeys(keys, 0), False
        for line in self.lines:
            m = COUNTS_RE.search(line)
            if m:
                seen = True
                for k, v in zip(keys, m.groups()):
                    total[k] += int(v)
        return total if seen else None


def available():
    return SWARM_BIN.exists() and os.access(SWARM_BIN, os.X_OK)
