"""The peer ports (brain 6000/6001, tentacle 7000/7001) against peers that
never authenticate (issue 13, items 5, 7 and 12): every listener's backlog
is OCTO_LISTEN_BACKLOG, one deadline covers accept to authenticated
handshake, frames before authentication are small, and each source
address has a cap on its unauthenticated connections."""

import re
import select
import socket
import ssl
import struct
import subprocess
import time

import octotest
from octotest import wait_for
from test_runs import add_script, run_and_wait
from test_enrolment import (enrol_self, hello, make_token,  # noqa: F401
                            new_tentacle, tentacle_bin, tentacles,
                            PURPOSE_ENROL)
from test_enrolment_limits import away_from_a_minute_boundary

BACKLOG = 1024


def listen_backlogs():
    """{(addr, port): backlog} of every listening TCP socket (ss -ltn:
    Send-Q is the backlog of a listening socket)."""
    out = subprocess.run(["ss", "-Hltn"], capture_output=True, text=True,
                         check=True).stdout
    found = {}
    for line in out.splitlines():
        f = line.split()
        if len(f) < 4:
            continue
        addr, _, port = f[3].rpartition(":")
        found[(addr, int(port))] = int(f[2])
    return found


def test_every_listener_backlog(brain_factory, new_tentacle):  # noqa: F811
    b = brain_factory()
    t = new_tentacle("127.0.0.2", b)
    enrol_self(t, b, make_token(b.login())["token"])
    # Not enrolled: it listens on its register port (7000).
    u = new_tentacle("127.0.0.3")
    u.start(wait=False)
    wait_for(lambda: (("127.0.0.3", u.register_port) in
                      listen_backlogs()), what="7000 listening")
    seen = listen_backlogs()
    ports = [("127.0.0.1", p) for p in b.ports.values()] + \
        [("127.0.0.2", t.command_port), ("127.0.0.3", u.register_port)]
    for key in ports:
        assert key in seen, (key, seen)
        assert seen[key] == BACKLOG, (key, seen[key])


# ---- one deadline before authentication, small frames (item 5) ----------

def hello_header(length):
    return struct.pack(">2sBBI", b"OC", 2, 2, length)   # WIRE_HELLO


def closed_soon(s, wait):
    """Whether the peer closed s within wait seconds (reads nothing)."""
    r, _, _ = select.select([s], [], [], wait)
    if not r:
        return False
    try:
        return s.recv(4096) == b""
    except (ssl.SSLError, OSError):
        return True


def drip(port, host, client_cert, count=40):
    """TLS up (client_cert given), then one byte a second of a frame, or
    (client_cert None) the start of a TLS ClientHello a byte a second:
    returns how many bytes went out before the peer closed, or None if it
    never did."""
    if client_cert is not None:
        s = octotest.tls_connect(port, *client_cert, host=host)
        data = hello_header(200) + b"\0" * 200
    else:
        s = socket.create_connection((host, port), timeout=10)
        data = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + \
            b"\0" * 500
    try:
        for i in range(count):
            try:
                s.sendall(data[i:i + 1])
            except (ssl.SSLError, OSError):
                return i
            if closed_soon(s, 1.0):
                return i
        return None
    finally:
        s.close()


def local_peer(s):
    return "%s:%d" % s.getsockname()[:2]


def test_drip_brain_deadline(brain_factory, client_cert):
    b = brain_factory({"io_timeout": 2})
    for port in (b.registerer_port, b.commander_port):
        sent = drip(port, "127.0.0.1", client_cert)
        assert sent is not None, "port %d held a dripping peer" % port
        assert drip(port, "127.0.0.1", None) is not None
    b.wait_log(r"timeout: not authenticated within 2 s")


def test_drip_tentacle_deadline(brain_factory, new_tentacle,  # noqa: F811
                                client_cert):
    b = brain_factory()
    t = new_tentacle("127.0.0.2", b, io_timeout=2)
    enrol_self(t, b, make_token(b.login())["token"])
    # Only the pinned brain's certificate gets through TLS: drip the
    # ClientHello.
    assert drip(t.command_port, "127.0.0.2", None) is not None
    t.wait_log(r"timeout: not authenticated within 2 s")


def oversized(port, host, client_cert):
    s = octotest.tls_connect(port, *client_cert, host=host)
    try:
        me = local_peer(s)
        s.sendall(hello_header(64 * 1024))
        assert closed_soon(s, 30.0)
        return me
    finally:
        s.close()


def test_oversized_preauth_frame(brain_factory, new_tentacle,  # noqa: F811
                                 client_cert):
    b = brain_factory({"io_timeout": 60})
    for port in (b.registerer_port, b.commander_port):
        me = oversized(port, "127.0.0.1", client_cert)
        b.wait_log(re.escape(me) + r": bad frame: 65536 bytes before "
                   r"authentication")
    # 7001 takes only the pinned brain's certificate; an unenrolled
    # tentacle's 7000 takes anyone's (enrolment by address).
    t = new_tentacle("127.0.0.3", io_timeout=60)
    t.start(wait=False)
    wait_for(lambda: octotest.tcp_accepts(t.register_port, "127.0.0.3"),
             what="7000 listening")
    me = oversized(t.register_port, "127.0.0.3", client_cert)
    t.wait_log(re.escape(me) + r": closed: bad frame: 65536 bytes before "
               r"authentication")


# ---- per-source caps on unauthenticated connections (item 5) -----------

PER_SOURCE = 16     # CONN_PREAUTH_PER_SOURCE


def hold(port, host, source, n):
    """n TCP connections from source that never start TLS."""
    held = []
    for _ in range(n):
        s = socket.socket()
        s.bind((source, 0))
        s.settimeout(10)
        s.connect((host, port))
        held.append(s)
    return held


def test_per_source_cap(brain_factory, new_tentacle):  # noqa: F811
    b = brain_factory({"io_timeout": 60})
    c = b.login()
    t = new_tentacle("127.0.0.2", b, io_timeout=60)
    add_script(t, "hello", "echo hello")
    tid = int(enrol_self(t, b, make_token(c)["token"])["id"])
    held = []
    try:
        for host, port, log in (("127.0.0.2", t.command_port,
                                 t.wait_log),
                                ("127.0.0.1", b.commander_port,
                                 b.wait_log)):
            mine = hold(port, host, "127.0.0.5", PER_SOURCE)
            held += mine
            # Every one of them is still open ...
            for s in mine:
                assert not closed_soon(s, 0)
            # ... the next from the same address is closed at once ...
            (extra,) = hold(port, host, "127.0.0.5", 1)
            held.append(extra)
            assert closed_soon(extra, 20.0)
            log(r"127\.0\.0\.5: refused: %d unauthenticated connections "
                r"from this address already" % PER_SOURCE)
            # ... while another address still gets in.
            (other,) = hold(port, host, "127.0.0.6", 1)
            held.append(other)
            assert not closed_soon(other, 1.0)
        # The brain still reaches the tentacle and takes its result.
        (job,) = run_and_wait(c, "hello", [tid])["jobs"]
        assert job["state"] == "done", job
    finally:
        for s in held:
            s.close()


# ---- slots kept for the accepted tentacles' addresses (item 5) ----------

def test_caps_filled_by_strangers_leave_the_fleet_slots(brain_factory,
                                                        new_tentacle):  # noqa
    """Strangers from unknown addresses take every slot of 6001 they can
    (max_tentacles connections at once): the last eighth is kept for the
    accepted tentacles' addresses (IPC_TENTACLE_ADDRESSES), so the
    tentacle still answers its order and delivers its result."""
    b = brain_factory({"io_timeout": 60, "max_tentacles": 32},
                      verbose=True)
    c = b.login()
    t = new_tentacle("127.0.0.2", b, io_timeout=60)
    add_script(t, "hello", "echo hello")
    tid = int(enrol_self(t, b, make_token(c)["token"])["id"])
    b.wait_log(r"commander: 1 tentacle addresses keep their connection "
               r"slots")
    held = []
    try:
        for i in range(4):      # 4 x PER_SOURCE: more than the 32 slots
            held += hold(b.commander_port, "127.0.0.1", "127.0.0.%d" %
                         (40 + i), PER_SOURCE)
        b.wait_log(r"127\.0\.0\.4\d:\d+: refused: \d+ connections already "
                   r"\(4 slots are kept for the accepted tentacles' "
                   r"addresses\)")
        still = [s for s in held if not closed_soon(s, 0)]
        assert len(still) >= 28 - 1, len(still)    # the strangers' share
        (job,) = run_and_wait(c, "hello", [tid], timeout=40)["jobs"]
        assert job["state"] == "done", job
        assert job["result"]["output"] == "hello\n"
        assert "result not delivered" not in t.log()
    finally:
        for s in held:
            s.close()
    # A revoked tentacle's address keeps no slot.
    assert c.delete("/api/tentacles/%d" % tid).status == 200
    b.wait_log(r"commander: 0 tentacle addresses keep their connection "
               r"slots")


# ---- refused handshakes in the audit log, per peer and minute (item 5) --

LOG_PER_MINUTE = 10     # REFUSED_LOG_PER_MINUTE


def refused_from(port, source, client_cert):
    """A handshake the brain refuses (HELLO{ENROL} on the commander),
    from source."""
    ctx = octotest.tls_client_context(*client_cert)
    raw = socket.create_connection(("127.0.0.1", port), timeout=10,
                                   source_address=(source, 0))
    s = ctx.wrap_socket(raw, server_hostname="localhost")
    try:
        octotest.send_quietly(s, hello(PURPOSE_ENROL))
        octotest.read_until_closed(s)
    finally:
        s.close()


def test_refused_handshakes_audited_per_peer_and_minute(brain_factory,
                                                        client_cert):
    b = brain_factory({"io_timeout": 10}, verbose=True)
    c = b.login()
    away_from_a_minute_boundary()
    counts = {"127.0.0.30": 12, "127.0.0.31": 3}
    for src, n in counts.items():
        for _ in range(n):
            refused_from(b.commander_port, src, client_cert)
    why = "enrol is not served on this port"

    def rows():
        r = c.get("/api/audit?action=refused_handshake")
        assert r.status == 200, r
        return [e for e in r.json()["events"] if e["peer"] in counts]
    wait_for(lambda: sum(e["count"] for e in rows()) ==
             sum(counts.values()), 10, 0.1, "every refusal counted")
    got = rows()
    # One row per peer (its address, not address:port) for the minute.
    assert sorted(e["peer"] for e in got) == sorted(counts), got
    for e in got:
        assert e["count"] == counts[e["peer"]], got
        assert why in e["detail"], e
        assert e["actor"] == "commander", e
    # The log: the first REFUSED_LOG_PER_MINUTE of an address a minute,
    # the last of them saying so; all of the other's few.
    lines = [x for x in b.stderr().splitlines()
             if "handshake refused: " + why in x]
    first = [x for x in lines if "127.0.0.30:" in x]
    assert len(first) == LOG_PER_MINUTE, lines
    assert "the next ones from this address this minute are in the audit " \
        "log only" in first[-1], first
    assert len([x for x in lines if "127.0.0.31:" in x]) == 3, lines


# ---- TLS: bounded peer certificate (item 7) -----------------------------

def big_cert(directory, names=1500):
    """A self-signed certificate of some 30 KiB (many SANs)."""
    crt, key = directory / "big.crt", directory / "big.key"
    san = ",".join("DNS:h%d.example.org" % i for i in range(names))
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                    "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", str(key), "-out", str(crt), "-days", "30",
                    "-subj", "/CN=big", "-addext", "subjectAltName=" + san],
                   check=True, capture_output=True, timeout=60)
    return str(crt), str(key)


def test_big_peer_certificate_refused(brain_factory, tmp_path):
    b = brain_factory({"io_timeout": 10})
    cert = big_cert(tmp_path)
    refused = False
    try:
        s = octotest.tls_connect(b.commander_port, *cert)
        # TLS 1.3: the client's certificate is judged after its Finished.
        refused = closed_soon(s, 10.0)
        s.close()
    except (ssl.SSLError, OSError):
        refused = True
    assert refused
    b.wait_log(r"TLS handshake failed: .*excessive message size")



# ---- slowloris: the fleet keeps working (item 5) ------------------------

def proc_stats(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])     # utime + stime
    with open("/proc/%d/status" % pid) as f:
        rss = [x for x in f if x.startswith("VmRSS:")][0].split()[1]
    return "cpu %d ticks, rss %s kB" % (ticks, rss)


def proc_children(pid):
    """A process and its children (/proc/PID/task/PID/children)."""
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [pid] + [int(x) for x in f.read().split()]
    except OSError:
        return [pid]


SLOWLORIS = 2000        # into each of 6001 and 7001 (issue 13, done when)


def still_open(socks):
    """How many of socks the peer has not closed (poll: select() stops at
    descriptor 1023)."""
    p = select.poll()
    for s in socks:
        p.register(s, select.POLLIN | select.POLLHUP)
    readable = {fd for fd, _ in p.poll(0)}
    return sum(s.fileno() not in readable for s in socks)


def slowloris_budget(want):
    """How many connections per port this process can hold: it raises
    its soft RLIMIT_NOFILE as far as needed and the hard limit allows
    (two ports, and a margin for the test's own files)."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = 2 * want + 256
    if soft < need:
        new = need if hard == resource.RLIM_INFINITY else min(hard, need)
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
    got = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    return min(want, (got - 256) // 2), (soft, hard, got)


def test_slowloris_fleet_keeps_working(brain_factory, new_tentacle,  # noqa
                                       capsys):
    n, limits = slowloris_budget(SLOWLORIS)
    assert n >= 1000, "RLIMIT_NOFILE too low for the test: %r" % (limits,)
    b = brain_factory({"io_timeout": 60, "keepalive_interval": 2})
    c = b.login()
    t = new_tentacle("127.0.0.2", b, io_timeout=60)
    add_script(t, "hello", "echo hello")
    tid = int(enrol_self(t, b, make_token(c)["token"])["id"])
    pids = dict(b.pids())
    for p in proc_children(t.proc.pid):
        pids["tentacle %d" % p] = p
    before = {r: proc_stats(p) for r, p in pids.items()}
    held = {"brain": [], "tentacle": []}
    # n each into the brain's 6001 and the tentacle's 7001, from 200
    # addresses (10 each: under the per-source cap, so the brain holds
    # them all), each silent after the start of a ClientHello.
    started = time.monotonic()
    try:
        for i in range(n):
            src = "127.0.1.%d" % (10 + i % 200)
            for who, host, port in (("brain", "127.0.0.1", b.commander_port),
                                    ("tentacle", "127.0.0.2",
                                     t.command_port)):
                s = socket.socket()
                s.bind((src, 0))
                s.settimeout(10)
                try:
                    s.connect((host, port))
                    s.send(b"\x16\x03\x01")
                except OSError:
                    s.close()
                    continue
                held[who].append(s)
        opened = time.monotonic() - started
        open_brain = still_open(held["brain"])
        open_tentacle = still_open(held["tentacle"])
        (job,) = run_and_wait(c, "hello", [tid], timeout=60)["jobs"]
        assert job["state"] == "done", job
        assert job["result"]["output"] == "hello\n"
        assert b.alive() and t.alive()
        # Still online: it answers the brain's pings (every 2 s) through
        # all that, a later one than before the flood.
        seen = tentacles(c)[tid]["last_seen"]
        wait_for(lambda: tentacles(c)[tid]["last_seen"] != seen, 20, 0.2,
                 "a keepalive answered during the flood")
        assert tentacles(c)[tid]["state"] == "online", tentacles(c)[tid]
    finally:
        for lst in held.values():
            for s in lst:
                s.close()
    after = {r: proc_stats(p) for r, p in pids.items()}
    with capsys.disabled():
        print("\nRLIMIT_NOFILE soft %s hard %s (now %s): %d connections "
              "each into 6001 and 7001 (%d and %d connected; still open "
              "when counted: %d at the brain, %d at the tentacle, which "
              "closes those past its cap), opened in %.1f s" % (limits + (n, len(held["brain"]),
                                       len(held["tentacle"]), open_brain,
                                       open_tentacle, opened)))
        for r in sorted(before):
            print("%s before: %s; after: %s" % (r, before[r],
                                                 after.get(r)))


def test_no_session_ticket_before_authentication(brain_factory, client_cert):
    b = brain_factory({"io_timeout": 10})
    ctx = octotest.tls_client_context(*client_cert)
    for port in (b.registerer_port, b.commander_port):
        raw = socket.create_connection(("127.0.0.1", port), timeout=10)
        s = ctx.wrap_socket(raw, server_hostname="localhost")
        s.settimeout(1.0)
        try:
            s.recv(1)    # would take in a ticket; no frame comes
        except (socket.timeout, ssl.SSLError, OSError):
            pass
        try:
            assert s.session is None or not s.session.has_ticket
        finally:
            s.close()
