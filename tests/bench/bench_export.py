#!/usr/bin/python3
"""make bench, export (issue 17): the events per second the exporter
delivers to a local rsyslog over TLS (Debian's, imtcp with its OpenSSL
driver), printed, never asserted.

The brain queues EVENTS events while the collector is down (test events
made through the API by a few clients at once: the maestro numbers and
stores each, as it does every fact), then rsyslog starts and the time
until the queue is empty and every event is in rsyslog's file is the
exporter's own throughput: the maestro's pump, the IPC, RFC 5424 framing,
TLS, rsyslog (timed from its reconnection: the backoff is not the
rate). Environment: EVENTS (default 10000), OCTO_BUILD."""

import os
import re
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "system"))
import octotest  # noqa: E402
from test_export import (OSSL_DRIVER, RSYSLOGD, Rsyslog,  # noqa: E402
                         make_ca, make_server_cert)

EVENTS = int(os.environ.get("EVENTS", "10000"))
CLIENTS = 4


def main():
    if not (os.access(RSYSLOGD, os.X_OK) and os.path.exists(OSSL_DRIVER)):
        print("bench_export: rsyslog and rsyslog-openssl are not installed "
              "(scripts/deps): skipped")
        return 0
    tmp = Path(tempfile.mkdtemp(prefix="octo-bench-export-"))
    ca = make_ca(tmp / "pki")
    cert, key = make_server_cert(tmp / "pki", ca, "collector", "127.0.0.5")
    rs = Rsyslog(tmp / "rsyslog", "127.0.0.5", ca[0], cert, key)
    brain = octotest.Brain(tmp / "brain", {
        "syslog_target": "127.0.0.5:%d" % rs.port, "syslog_ca": str(ca[0]),
        "export_queue_max": EVENTS * 2, "login_attempts": 1000})
    try:
        brain.start()
        clients = [brain.login() for _ in range(CLIENTS)]

        def make(c, n):
            for _ in range(n):
                assert c.post("/api/export/test").status == 202
        t0 = time.monotonic()
        threads = [threading.Thread(target=make, args=(c, EVENTS // CLIENTS))
                   for c in clients]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        made_s = time.monotonic() - t0
        admin = clients[0]
        total = admin.get("/api/export").json()["targets"][0]["queue"]

        rs.start()
        # From the exporter's reconnection (its backoff is not the rate).
        octotest.wait_for(lambda: admin.get(
            "/api/export", background=True).json()["targets"][0]["state"]
            == "connected", 60, 0.01, "the exporter connected")
        t0 = time.monotonic()
        octotest.wait_for(lambda: admin.get(
            "/api/export", background=True).json()["targets"][0]["queue"]
            == 0, 600, 0.05, "the queue drained")
        drained_s = time.monotonic() - t0
        got = len(set(int(m) for m in re.findall(
            r'\[octopus@32473 event="[^"]*" seq="(\d+)"',
            rs.out.read_text(errors="replace"))))
        print("export to rsyslog over TLS (127.0.0.5, test CA)")
        print("  %-40s %8d" % ("events queued while it was down", total))
        print("  %-40s %8.0f /s" % ("made through the API", EVENTS / made_s))
        print("  %-40s %8.2f s" % ("delivered after its start in", drained_s))
        print("  %-40s %8.0f /s" % ("delivered", total / drained_s))
        print("  %-40s %8d" % ("distinct seqs in rsyslog's file", got))
    finally:
        rs.stop()
        brain.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
