"""Fleets written into a brain's SQLite before it starts (the schema made
by a first start), for the tests and the bench of the lists at scale
(SPEC "Lists at scale"): tentacles at 127.x addresses where nothing
listens, with a keepalive too rare to change their states meanwhile.
They are rows, not tentacles: nothing answers for them."""

import json
import random
import sqlite3
import time

import octotest

NOW = int(time.time())

# Keepalive once a day, never offline: the rows keep the states written.
QUIET = {"keepalive_interval": 86400, "keepalive_misses": 1000,
         "io_timeout": 2, "login_attempts": 1000}


def fleet_rows(n, facts_bytes=0, seed=18):
    """n tentacles: enrolment and state by i % 10 (6 online, 1 offline, 1
    never seen, 1 pending, 1 rejected), host names in another order than
    the IDs, a few with LIKE's special characters."""
    rnd = random.Random(seed)
    names = ["h%05d.example.org" % rnd.randrange(10 ** 5) for _ in range(n)]
    special = ["pct%host.example.org", "under_score.example.org",
               "underXscore.example.org", "back\\slash.example.org"]
    names[:len(special)] = special
    pad = "x" * facts_bytes
    rows = []
    for i in range(n):
        k = i % 10
        enrolment = "pending" if k == 8 else "rejected" if k == 9 else \
            "accepted"
        state = "offline" if k == 6 else "unknown" if k >= 7 else "online"
        seen = None if k == 7 else NOW - 3600 * (k == 6) - rnd.randrange(
            100000)
        rows.append((names[i], "127.%d.%d.%d" % (1 + i // 65025,
                                                 i // 255 % 255,
                                                 1 + i % 255),
                     7001, "%064x" % (i + 1), "%064x" % (10 ** 6 + i),
                     enrolment, state, NOW - 86400, seen,
                     json.dumps({"os": "Debian GNU/Linux 12",
                                 "kernel": "6.1.0-%d" % (i % 30),
                                 "pad": pad})))
    return rows


def fill_db(brain, rows, scripts=(), accepted_only=False):
    """The rows into the brain's database; each tentacle with the scripts
    named (as its keepalive would have reported them; accepted_only: the
    accepted ones only, as a real fleet's keepalives do)."""
    db = sqlite3.connect(str(brain.state_dir / "brain.db"))
    try:
        db.executemany(
            "INSERT INTO tentacles (hostname, address, port, key, "
            "fingerprint, enrolment, state, enrolled_at, last_seen, facts) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        db.executemany(
            "INSERT INTO tentacle_scripts (tentacle_id, name, sha256, "
            "description) SELECT id, ?, ?, ? FROM tentacles" +
            (" WHERE enrolment = 'accepted'" if accepted_only else ""),
            [(name, "%064x" % i, "the audit pack's %s" % name)
             for i, name in enumerate(scripts)])
        db.commit()
    finally:
        db.close()


def brain_with_fleet(directory, rows, overrides=None, scripts=(),
                     accepted_only=False):
    """A brain started once (its schema), stopped, given the rows, started
    again. The caller stops it."""
    conf = dict(QUIET)
    conf.update(overrides or {})
    b = octotest.Brain(directory, conf, verbose=False)
    b.start()
    b.stop()
    fill_db(b, rows, scripts, accepted_only)
    b.start()
    return b
