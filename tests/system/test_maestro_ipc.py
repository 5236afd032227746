"""A compromised child, played for real.

The test takes a copy of a running child's end of its socketpair to the
maestro (pidfd_getfd(2), as a debugger could) and writes forged messages
into it, so the maestro receives them from that very child. The maestro
must log it, kill and restart that child, and keep serving the others with
nothing stored lost.
"""

import ctypes
import os
import socket
import struct

import pytest

import octotest

# common/ipc.h
IPC_AUTH_LOGIN, IPC_API_CALL, IPC_API_REPLY, IPC_CONFIG_RELOAD, \
    IPC_LOG_EVENT, IPC_ENROL_REQUEST, IPC_ENROL_REPLY, IPC_ENROL_OFFER, \
    IPC_ENROL_OFFER_DONE, IPC_PROOF_CHECK, IPC_PROOF_VERDICT, \
    IPC_PROOF_MAKE, IPC_PROOF_MADE = range(1, 14)
PURPOSE_POLL, PURPOSE_PING, PURPOSE_ORDER, PURPOSE_RESULT = 2, 3, 4, 5
FPR = "ab" * 32
IPC_PAYLOAD_MAX = 4 * 1024 * 1024

SYS_pidfd_getfd = 438       # x86_64 and aarch64 alike (asm-generic)


def ipc_header(msg_type, length, msg_id=0):
    # Same host, same binary: host byte order.
    return struct.pack("=III", msg_type, length, msg_id)


def pack_str(s):
    b = s.encode() if isinstance(s, str) else s
    return struct.pack(">I", len(b)) + b


def pack_fixed(n=32):
    return struct.pack(">I", n) + os.urandom(n)


def proof_check(purpose, ident=1):
    """IPC_PROOF_CHECK's payload (brain/ipcmsg.h): the inputs, a proof,
    a certificate fingerprint."""
    return (bytes([purpose]) + struct.pack(">Q", ident) + pack_fixed() +
            pack_fixed() + pack_fixed() + pack_fixed() + pack_str(FPR))


def proof_make(ticket, purpose, ident=1):
    return (struct.pack(">Q", ticket) + bytes([purpose]) +
            struct.pack(">Q", ident) + pack_fixed() + pack_fixed() +
            pack_fixed() + pack_str(FPR))


def with_header(msg_type, payload):
    return ipc_header(msg_type, len(payload), 1) + payload


def unix_socket_fds(pid):
    """The descriptors of pid that are AF_UNIX sockets."""
    unix_inodes = set()
    with open("/proc/net/unix") as f:
        next(f)
        for line in f:
            unix_inodes.add(line.split()[6])
    fds = []
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            link = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        if link.startswith("socket:[") and link[8:-1] in unix_inodes:
            fds.append(int(fd))
    return fds


def steal_channel(pid):
    """A socket object on the child's end of its channel to the maestro."""
    fds = unix_socket_fds(pid)
    assert len(fds) == 1, "expected one unix socket in pid %d, got %r" % (
        pid, fds)
    libc = ctypes.CDLL(None, use_errno=True)
    pidfd = os.pidfd_open(pid)
    try:
        fd = libc.syscall(SYS_pidfd_getfd, pidfd, fds[0], 0)
        if fd < 0:
            err = ctypes.get_errno()
            pytest.skip("pidfd_getfd: %s (ptrace not permitted here)"
                        % os.strerror(err))
    finally:
        os.close(pidfd)
    return socket.socket(fileno=fd)


def restarted(brain, client, role, old_pid):
    def check():
        r = client.get("/api/health", background=True)
        if r.status != 200:
            return False
        for ch in r.json()["children"]:
            if ch["name"] == role:
                return (ch["state"] == "up" and ch["pid"] != old_pid and
                        ch["restarts"] >= 1)
        return False
    octotest.wait_for(check, timeout=20, what="%s restarted" % role)


FORGERIES = {
    # a type that child may never send
    "webserv-sends-reply": ("webserv", ipc_header(IPC_API_REPLY, 0)),
    "registerer-asks-login": ("registerer", ipc_header(IPC_AUTH_LOGIN, 0)),
    "commander-calls-api": ("commander", ipc_header(IPC_API_CALL, 0)),
    "commander-enrols": ("commander", ipc_header(IPC_ENROL_REQUEST, 0)),
    # proofs beyond the child's role (brain/proofs.c)
    "webserv-asks-a-proof-check": ("webserv", with_header(
        IPC_PROOF_CHECK, proof_check(PURPOSE_RESULT))),
    "registerer-asks-a-proof": ("registerer", with_header(
        IPC_PROOF_MAKE, proof_make(1, PURPOSE_ORDER))),
    "registerer-checks-a-result-proof": ("registerer", with_header(
        IPC_PROOF_CHECK, proof_check(PURPOSE_RESULT))),
    "commander-checks-a-poll-proof": ("commander", with_header(
        IPC_PROOF_CHECK, proof_check(PURPOSE_POLL))),
    "commander-ticket-never-issued": ("commander", with_header(
        IPC_PROOF_MAKE, proof_make(1 << 40, PURPOSE_ORDER))),
    "commander-sends-a-verdict": ("commander", with_header(
        IPC_PROOF_VERDICT, b"\0\1" + pack_fixed())),
    # a type nobody knows
    "unknown-type": ("registerer", ipc_header(77, 0)),
    "type-zero": ("commander", ipc_header(0, 0)),
    # a length past the hard limit
    "oversized": ("webserv", ipc_header(IPC_LOG_EVENT, IPC_PAYLOAD_MAX + 1)),
    # an allowed type whose payload does not decode
    "bad-payload": ("webserv", ipc_header(IPC_API_CALL, 3) + b"\xff\xff\xff"),
    "short-event": ("commander", ipc_header(IPC_LOG_EVENT, 4) +
                    struct.pack(">I", 1000)),
    "trailing-bytes": ("registerer",
                       (lambda p: ipc_header(IPC_LOG_EVENT, len(p)) + p)(
                           pack_str("protocol_error") + pack_str("x") +
                           pack_str("y") + b"junk")),
    # an event that decodes but is out of shape (struct ipc_log_event):
    # a kind not [a-z_]+, a line of its own forged into the audit log
    "event-bad-kind": ("commander", (lambda p: ipc_header(
        IPC_LOG_EVENT, len(p)) + p)(pack_str("Protocol-Error") +
                                    pack_str("") + pack_str(""))),
    "event-forged-line": ("registerer", (lambda p: ipc_header(
        IPC_LOG_EVENT, len(p)) + p)(pack_str("refused_handshake") +
                                    pack_str("192.0.2.1:4000") +
                                    pack_str("x\nmaestro: forged"))),
}

# The maestro's log says why, for those the decoder refuses.
WHY = {
    "event-bad-kind": r"maestro: commander: log event: bad event kind",
    "event-forged-line": r"maestro: registerer: log event: bad event text",
    "trailing-bytes": r"maestro: registerer: log event: malformed message",
}


@pytest.mark.parametrize("case", sorted(FORGERIES))
def test_forged_message_kills_only_that_child(brain_factory, case):
    role, data = FORGERIES[case]
    b = brain_factory(verbose=True)
    c = b.login()
    pids = b.pids()
    others = {r: p for r, p in pids.items() if r not in (role, "maestro")}

    s = steal_channel(pids[role])
    try:
        s.sendall(data)
    finally:
        s.close()

    restarted(b, c, role, pids[role])
    b.wait_log(r"maestro: %s \(pid %d\) .*: killing it" % (role, pids[role]))
    if case in WHY:
        b.wait_log(WHY[case])
    now = b.pids()
    assert now["maestro"] == pids["maestro"]
    for r, p in others.items():
        assert now[r] == p, "%s was restarted too" % r
    # Nothing stored is lost: the session and the user are still there.
    assert c.get("/api/session").status == 200
    b.login()


def test_truncated_message_then_more_is_still_one_message(brain_factory):
    """A message split across writes is reassembled, not misread."""
    b = brain_factory(verbose=True)
    c = b.login()
    pids = b.pids()
    payload = pack_str("protocol_error") + pack_str("1.2.3.4:5") + \
        pack_str("test split")
    data = ipc_header(IPC_LOG_EVENT, len(payload)) + payload
    s = steal_channel(pids["registerer"])
    try:
        s.sendall(data[:7])
        s.sendall(data[7:20])
        s.sendall(data[20:])
    finally:
        s.close()
    octotest.wait_for(
        lambda: c.get("/api/health", background=True).json()[
            "protocol_errors"] >= 1, timeout=10, what="event counted")
    assert b.pids() == pids
