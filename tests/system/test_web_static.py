"""The webserv's static files and the headers on every response, against
the shared brain; plus checks of web/ itself (no inline code, no external
resource) so that the strict CSP cannot break the page."""

import re
from html.parser import HTMLParser

import pytest

import octotest

STATIC = [
    ("/", "text/html"),
    ("/index.html", "text/html"),
    ("/app.js", "text/javascript"),
    ("/app.css", "text/css"),
    ("/favicon.svg", "image/svg+xml"),
    ("/apple-touch-icon.png", "image/png"),
]

SECRET_MARKERS = [b"root:x:0:0", b"kdf_iterations", b"BEGIN", b"PREFIX",
                  b"SQLite format", b"Octopus Supervisor: octoBrain"]


def check_security_headers(r, api=False):
    csp = r.header("Content-Security-Policy")
    assert csp, "no Content-Security-Policy: %s" % dict(r.headers)
    assert csp.startswith("default-src 'self'"), csp
    assert "frame-ancestors 'none'" in csp, csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, csp
    assert r.header("X-Content-Type-Options", "").lower() == "nosniff"
    assert r.header("Referrer-Policy", "").lower() == "no-referrer"
    hsts = r.header("Strict-Transport-Security", "")
    assert "max-age=" in hsts, hsts
    if api:
        assert "no-store" in r.header("Cache-Control", ""), \
            r.header("Cache-Control")


@pytest.fixture
def web(ro_brain):
    return ro_brain.client()


@pytest.mark.parametrize("path,ctype", STATIC)
def test_static_content_types(web, path, ctype):
    r = web.get(path)
    assert r.status == 200, r
    assert r.content_type == ctype, r.header("Content-Type")
    local = octotest.WEB_ROOT / ("index.html" if path == "/" else path[1:])
    assert r.body == local.read_bytes()
    check_security_headers(r)


def test_index_is_the_dashboard(web):
    r = web.get("/")
    assert b"Octopus Supervisor" in r.body
    assert b"app.js" in r.body and b"app.css" in r.body


@pytest.mark.parametrize("path", ["/nope.html", "/nope/", "/app.js.bak",
                                  "/index.html/x", "/.git/config"])
def test_missing_is_404(web, path):
    r = web.get(path)
    assert r.status == 404, r
    check_security_headers(r)


TRAVERSALS = [
    "/../brain.conf",
    "/../Makefile",
    "/../../../../../../etc/passwd",
    "/%2e%2e/Makefile",
    "/%2E%2E/%2E%2E/%2E%2E/%2E%2E/etc/passwd",
    "/.%2e/Makefile",
    "/..%2fMakefile",
    "/%2e%2e%2fMakefile",
    "/%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "/..%5cMakefile",
    "/%252e%252e/Makefile",
    "//etc/passwd",
    "///etc/passwd",
    "/%2fetc%2fpasswd",
    "/./../Makefile",
    "/app.js/../../Makefile",
    "/index.html%00.js",
    "/..;/Makefile",
    "/\\..\\Makefile",
]


@pytest.mark.parametrize("path", TRAVERSALS)
def test_traversal(web, ro_brain, path):
    r = web.get(path)
    assert r.status in (400, 404), (path, r)
    for marker in SECRET_MARKERS:
        assert marker not in r.body, (path, r.body[:200])
    check_security_headers(r)


def test_traversal_does_not_reach_state(web, ro_brain):
    """The state directory is outside web_root: nothing of it is served,
    whatever the spelling."""
    sd = ro_brain.state_dir
    for name in ("brain.key", "admin.password", "brain.db"):
        for path in (str(sd / name), "/" + str(sd / name),
                     "/../" + name, "/%2e%2e/" + name):
            r = web.get(path)
            assert r.status in (400, 404), (path, r)
            assert ro_brain.password.encode() not in r.body


@pytest.mark.parametrize("path,status", [("/api/health", 401),
                                         ("/api/no-such", 401),
                                         ("/api/session", 401)])
def test_api_headers_without_session(web, path, status):
    r = web.get(path)
    assert r.status == status
    check_security_headers(r, api=True)


def test_api_headers_with_session(ro_client):
    for r in (ro_client.get("/api/health"), ro_client.get("/api/session"),
              ro_client.get("/api/no-such")):
        check_security_headers(r, api=True)


def test_login_response_headers(ro_brain):
    c = ro_brain.client()
    ok = c.login("admin", ro_brain.password)
    bad = ro_brain.client().login("admin", "wrong")
    for r in (ok, bad):
        check_security_headers(r, api=True)


# ----------------------------------------------------- the files themselves

class _Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def _parse(name):
    p = _Collect()
    p.feed((octotest.WEB_ROOT / name).read_text())
    return p.tags


def test_index_has_no_inline_code_or_external_resource():
    tags = _parse("index.html")
    scripts = [a for t, a in tags if t == "script"]
    assert scripts, "no script tag"
    for a in scripts:
        assert a.get("src"), "inline <script>"
    for t, a in tags:
        assert t != "style", "inline <style>"
        assert "style" not in a, "style attribute on <%s>" % t
        for k in a:
            assert not k.startswith("on"), "%s= on <%s>" % (k, t)
        for k in ("src", "href", "action"):
            v = a.get(k) or ""
            assert not re.match(r"^(https?:)?//", v), "external %s" % v
            assert not v.lower().startswith("javascript:"), v


def test_app_js_never_uses_innerhtml():
    js = (octotest.WEB_ROOT / "app.js").read_text()
    for bad in ("innerHTML", "outerHTML", "insertAdjacentHTML",
                "document.write", "eval(", "new Function"):
        assert bad not in js, bad


def test_svg_has_no_script():
    svg = (octotest.WEB_ROOT / "favicon.svg").read_text()
    assert "<script" not in svg and "on" + "load" not in svg
