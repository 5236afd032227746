"""GET /metrics (issue 17): the brain's state in the Prometheus text
format on the dashboard's port, for the bearer token of
metrics_token_file only, checked by the real `promtool check metrics`
(Debian's prometheus package)."""

import re
import shutil
import subprocess

import pytest

from octotest import wait_for

PROMTOOL = shutil.which("promtool")


@pytest.fixture
def metrics_brain(brain_factory, tmp_path):
    token = "tok-" + "x7" * 20
    f = tmp_path / "metrics.token"
    f.write_text(token + "\nignored\n")
    b = brain_factory({"metrics_token_file": str(f)})
    return b, token


def scrape(b, token, **kw):
    return b.client().get("/metrics", headers={
        "Authorization": "Bearer " + token} if token is not None else {},
        **kw)


def test_metrics_need_the_token(metrics_brain):
    b, token = metrics_brain
    for bad in (None, "", "wrong", token + "x", token[:-1]):
        r = scrape(b, bad)
        assert r.status == 401, (bad, r)
        assert "bearer token" in r.json()["error"]
    r = b.client().get("/metrics", headers={"Authorization": "Basic " +
                                            token})
    assert r.status == 401
    r = b.client().request("POST", "/metrics", headers={
        "Authorization": "Bearer " + token})
    assert r.status == 405
    b.wait_log(r"maestro: 127\.0\.0\.1: GET /metrics without the right "
               r"bearer token")
    assert token not in b.stderr()


def test_metrics_text(metrics_brain):
    b, token = metrics_brain
    b.login()
    r = scrape(b, token)
    assert r.status == 200, r
    assert r.header("Content-Type").startswith("text/plain; version=0.0.4")
    text = r.body.decode()
    names = set(re.findall(r"(?m)^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]", text))
    assert names and all(n.startswith("octopus_") for n in names), names
    assert 'octopus_tentacles{state="online"} 0' in text
    assert 'octopus_jobs{state="queued"} 0' in text
    assert re.search(r'(?m)^octopus_child_up\{child="webserv"\} 1$', text)
    assert re.search(r"(?m)^octopus_ledger_entries [1-9]", text)
    assert re.search(r'(?m)^octopus_child_restarts_total\{child='
                     r'"commander"\} 0$', text)


def test_the_ledger_check_in_the_metrics(brain_factory, tmp_path):
    """The maestro's last check of the ledger: a gauge to alert on."""
    (tmp_path / "t").write_text("tok-ledger\n")
    b = brain_factory({"metrics_token_file": str(tmp_path / "t"),
                       "test_ledger_verify_interval": 1})
    def checked():
        t = scrape(b, "tok-ledger").body.decode()
        return t if "octopus_ledger_intact 1\n" in t else None
    text = wait_for(checked, 30, 0.2, "the ledger check in /metrics")
    assert re.search(r"(?m)^octopus_ledger_checked_timestamp_seconds "
                     r"1\d{9}$", text), text
    if PROMTOOL:
        p = subprocess.run([PROMTOOL, "check", "metrics"],
                           input=text.encode(), capture_output=True,
                           timeout=60)
        assert p.returncode == 0, p


@pytest.mark.skipif(PROMTOOL is None, reason="promtool not installed "
                    "(Debian's prometheus package; scripts/deps)")
def test_promtool_checks_the_metrics(metrics_brain):
    b, token = metrics_brain
    r = scrape(b, token)
    assert r.status == 200, r
    p = subprocess.run([PROMTOOL, "check", "metrics"], input=r.body,
                       capture_output=True, timeout=60)
    assert p.returncode == 0, p
    assert p.stdout.strip() == b"" and p.stderr.strip() == b"", p


def test_no_metrics_without_a_token_file(ro_brain):
    r = ro_brain.client().get("/metrics", headers={
        "Authorization": "Bearer anything"})
    assert r.status == 404, r


def histogram(text, name, label, value):
    """The buckets (le -> cumulative count), sum and count of one series."""
    sel = '%s="%s"' % (label, value)
    buckets = {}
    for le, n in re.findall(r'(?m)^%s_bucket\{%s,le="([^"]+)"\} (\d+)$' % (
            name, re.escape(sel)), text):
        buckets[le] = int(n)
    s = re.search(r'(?m)^%s_sum\{%s\} ([0-9.]+)$' % (name, re.escape(sel)),
                  text)
    c = re.search(r'(?m)^%s_count\{%s\} (\d+)$' % (name, re.escape(sel)),
                  text)
    assert buckets and s and c, (name, sel, text)
    return buckets, float(s.group(1)), int(c.group(1))


def test_latency_histograms_count_the_requests(metrics_brain):
    """webserv's request latencies (per route class, sent to the maestro
    with each GET /metrics) and the maestro's time per child message
    (per role): cumulative buckets ending at +Inf == count, counts that
    grow with the requests made."""
    b, token = metrics_brain
    http = "octopus_http_request_duration_seconds"
    ipc = "octopus_ipc_request_duration_seconds"
    text = scrape(b, token).body.decode()
    assert "# TYPE %s histogram" % http in text
    assert "# TYPE %s histogram" % ipc in text
    api0 = histogram(text, http, "route", "api")[2]
    static0 = histogram(text, http, "route", "static")[2]
    met0 = histogram(text, http, "route", "metrics")[2]
    web0 = histogram(text, ipc, "role", "webserv")[2]
    c = b.login()
    for _ in range(5):
        assert c.get("/api/tentacles").status == 200
    for _ in range(3):
        assert c.get("/").status == 200
    assert c.get("/no-such-file").status == 404
    text = scrape(b, token).body.decode()
    buckets, total, count = histogram(text, http, "route", "api")
    assert count >= api0 + 6        # the login and the five lists
    assert buckets["+Inf"] == count and total > 0
    les = list(buckets)
    vals = [buckets[k] for k in les]
    assert vals == sorted(vals), buckets     # cumulative
    assert les[0] == "0.00005" and les[-2] == "10", les
    assert histogram(text, http, "route", "static")[2] == static0 + 4
    # the scrape before this one
    assert histogram(text, http, "route", "metrics")[2] == met0 + 1
    # every API call and login was a webserv message to the maestro
    assert histogram(text, ipc, "role", "webserv")[2] >= web0 + 7
    assert histogram(text, ipc, "role", "registerer")[1] >= 0


PROMETHEUS = shutil.which("prometheus")


@pytest.mark.skipif(PROMETHEUS is None, reason="prometheus not installed "
                    "(Debian's prometheus package; scripts/deps)")
def test_a_real_prometheus_scrapes_the_brain(metrics_brain, tmp_path):
    """Debian's Prometheus, started here on 127.0.0.8, scrapes /metrics
    over HTTPS (the brain's own dashboard certificate as its CA, the
    bearer token from the token file): the target is up, and the brain's
    series (a histogram among them) are in its database."""
    import json
    import urllib.request
    from octotest import free_port
    b, token = metrics_brain
    port = free_port()
    # Prometheus sends the whole file (trimmed), the brain reads the
    # first line: a file of one line serves both.
    (tmp_path / "scraper.token").write_text(token + "\n")
    conf = tmp_path / "prometheus.yml"
    conf.write_text("""global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: octopus
    scheme: https
    metrics_path: /metrics
    authorization:
      type: Bearer
      credentials_file: %s
    tls_config:
      ca_file: %s
    static_configs:
      - targets: ["127.0.0.1:%d"]
""" % (tmp_path / "scraper.token", b.state_dir / "web.crt", b.web_port))
    log = open(tmp_path / "prometheus.log", "wb")
    p = subprocess.Popen([PROMETHEUS, "--config.file=%s" % conf,
                          "--storage.tsdb.path=%s" % (tmp_path / "tsdb"),
                          "--web.listen-address=127.0.0.8:%d" % port],
                         stdout=log, stderr=subprocess.STDOUT)
    api = "http://127.0.0.8:%d/api/v1/" % port

    def get(path):
        with urllib.request.urlopen(api + path, timeout=5) as r:
            return json.load(r)

    def query(q):
        r = get("query?query=" + urllib.request.quote(q))
        assert r["status"] == "success", r
        return r["data"]["result"]
    try:
        def up():
            t = get("targets")["data"]["activeTargets"]
            return t if t and t[0]["health"] == "up" else None
        try:
            t = wait_for(up, 90, 0.5, "the brain's target up in Prometheus")
        except Exception:
            try:
                print(json.dumps(get("targets"), indent=1))
            except Exception:  # noqa: BLE001 - the log says more
                pass
            print((tmp_path / "prometheus.log").read_text()[-3000:])
            raise
        assert t[0]["labels"]["job"] == "octopus"
        r = wait_for(lambda: query('up{job="octopus"}'), 30, 0.5,
                     "up in a query")
        assert r[0]["value"][1] == "1", r
        # each scrape is counted in the next one's
        r = wait_for(lambda: [x for x in query(
            'octopus_http_request_duration_seconds_count{route="metrics"}')
            if int(x["value"][1]) >= 1], 30, 0.5,
            "the scrapes in the histogram's count")
        assert r[0]["metric"]["job"] == "octopus"
        r = query('octopus_child_up{child="webserv"}')
        assert r and r[0]["value"][1] == "1", r
    finally:
        p.terminate()
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        log.close()
