"""Issue 13, item 8: token-less enrolment was unbounded (every request a
pending row). pending_max caps the tentacles waiting for an admin, and
enrolment_without_token = refuse refuses them all; a refusal is logged by
the brain and told to the tentacle."""

from octotest import wait_for
from test_enrolment import (BRAIN, enrol_self, make_token,  # noqa: F401
                            new_tentacle, tentacle_bin, tentacles)


def start_tokenless(t):
    t.conf["poll_interval"] = 1
    t.write_conf()
    t.start("-b", BRAIN, wait=False)


def test_pending_cap(brain_factory, new_tentacle):  # noqa: F811
    b = brain_factory({"io_timeout": 2, "pending_max": 2}, verbose=True)
    c = b.login()
    for i in range(2):
        enrol_self(new_tentacle("127.0.0.%d" % (2 + i), b), b)
    t = new_tentacle("127.0.0.4", b)
    start_tokenless(t)
    why = "too many tentacles wait for an admin"
    t.wait_log(r"enrolment refused by the brain: %s" % why)
    wait_for(lambda: why in b.stderr(), 10, 0.1, "the brain's log line")
    pending = [x for x in tentacles(c).values()
               if x["enrolment"] == "pending"]
    assert len(pending) == 2, pending
    # A token still enrols beyond the cap.
    t.stop()
    enrol_self(new_tentacle("127.0.0.5", b), b, make_token(c)["token"])
    assert len(tentacles(c)) == 3


def test_refuse_without_token(brain_factory, new_tentacle):  # noqa: F811
    b = brain_factory({"io_timeout": 2,
                       "enrolment_without_token": "refuse"}, verbose=True)
    c = b.login()
    t = new_tentacle("127.0.0.2", b)
    start_tokenless(t)
    why = "enrolment without a token is refused"
    t.wait_log(r"enrolment refused by the brain: %s" % why)
    wait_for(lambda: why in b.stderr(), 10, 0.1, "the brain's log line")
    assert tentacles(c) == {}
    # With a token it enrols.
    t.stop()
    enrol_self(new_tentacle("127.0.0.3", b), b, make_token(c)["token"])
    assert len(tentacles(c)) == 1

