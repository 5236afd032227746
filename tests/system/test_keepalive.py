"""Keepalive and live status (issue 4, report 5.2): the brain pings each
accepted tentacle; answers set it online with its last-seen time, facts and
scripts; missed pings in a row set it offline; it is online again at its
first answer."""

from octotest import wait_for
from test_enrolment import (enrol_self, make_token,  # noqa: F401
                            new_tentacle, tentacle_bin)
from test_runs import add_script


def state_of(client, tid):
    for t in client.get("/api/tentacles").json()["tentacles"]:
        if t["id"] == tid:
            return t
    return None


def test_online_offline_online(brain_factory, new_tentacle):  # noqa: F811
    b = brain_factory({"io_timeout": 2, "keepalive_interval": 1,
                       "keepalive_misses": 2}, verbose=True)
    c = b.login()
    t = new_tentacle("127.0.0.2", b)
    add_script(t, "hello", "echo hi")
    tid = int(enrol_self(t, b, make_token(c)["token"])["id"])

    wait_for(lambda: state_of(c, tid)["state"] == "online", 15, 0.2,
             "tentacle online")
    seen = state_of(c, tid)
    assert seen["last_seen"] is not None
    assert seen["facts"].get("kernel"), seen

    # Its scripts, for the fleet and for the tentacle.
    scripts = c.get("/api/scripts").json()["scripts"]
    assert [s["name"] for s in scripts] == ["hello"], scripts
    assert scripts[0]["tentacles"] == [tid]
    assert scripts[0]["description"] == "hello (test)"
    assert len(scripts[0]["sha256"]) == 64
    own = c.get("/api/tentacles/%d/scripts" % tid).json()["scripts"]
    assert [s["name"] for s in own] == ["hello"]

    t.stop()
    wait_for(lambda: state_of(c, tid)["state"] == "offline", 15, 0.2,
             "tentacle offline")
    b.wait_log(r"maestro: tentacle %d is offline" % tid)

    t.start(wait=False)
    wait_for(lambda: state_of(c, tid)["state"] == "online", 15, 0.2,
             "tentacle online again")
