"""security-updates on fixture apt states (ROOT/var/lib/apt/lists, etc/apt,
var/lib/dpkg/status): apt-get -s of this machine computes the upgrades from
the fixture's lists. Repositories are named example.org only (issue 11).
Each check compliant, non-compliant and not applicable (no package lists:
exit 2)."""

import os
import time

import auditpack
from auditpack import fx  # noqa: F401

pytestmark = auditpack.SKIP_IN_ASAN

S = "security-updates"

RELEASE = """\
Origin: Debian
Label: {label}
Suite: {suite}
Codename: {codename}
Architectures: amd64
Components: main
"""

PACKAGE = """\
Package: {name}
Version: {version}
Architecture: all
Maintainer: Nobody <nobody@example.org>
Filename: pool/main/{name}_{version}_all.deb
Size: 1000
Description: a test package

"""

STATUS = """\
Package: {name}
Status: install ok installed
Priority: optional
Version: {version}
Architecture: all
Maintainer: Nobody <nobody@example.org>
Description: a test package

"""


AUTO = 'APT::Periodic::Update-Package-Lists "1";\n' \
       'APT::Periodic::Unattended-Upgrade "1";\n'


def apt(fx, installed, security=(), regular=(), lists=True,
        unattended=True):
    """installed: {name: version}; security/regular: [(name, version)]
    available from bookworm-security / bookworm."""
    if unattended:
        installed = dict(installed, **{"unattended-upgrades": "2.9.1"})
        fx.file("etc/apt/apt.conf.d/20auto-upgrades", AUTO)
    fx.file("var/lib/dpkg/status",
            "".join(STATUS.format(name=n, version=v)
                    for n, v in installed.items()))
    fx.file("etc/apt/sources.list",
            "deb http://deb.example.org/debian bookworm main\n"
            "deb http://deb.example.org/debian-security bookworm-security "
            "main\n")
    for d in ("etc/apt/apt.conf.d", "etc/apt/sources.list.d",
              "etc/apt/preferences.d", "var/cache/apt", "var/lib/apt/lists"):
        fx.dir(d)
    if lists:
        for prefix, label, suite, codename, pkgs in (
                ("deb.example.org_debian-security_dists_bookworm-security",
                 "Debian-Security", "stable-security", "bookworm-security",
                 security),
                ("deb.example.org_debian_dists_bookworm", "Debian", "stable",
                 "bookworm", regular)):
            fx.file("var/lib/apt/lists/%s_Release" % prefix,
                    RELEASE.format(label=label, suite=suite,
                                   codename=codename))
            fx.file("var/lib/apt/lists/%s_main_binary-amd64_Packages"
                    % prefix, "".join(PACKAGE.format(name=n, version=v)
                                      for n, v in pkgs))
    return fx


def test_compliant(fx):
    apt(fx, {"octo-demo": "1.1"}, security=[("octo-demo", "1.1")])
    r = auditpack.run(S, fx)
    assert r.rc == 0, r
    for c in ("updates.security", "updates.lists-age", "updates.signed",
              "updates.security-repo", "updates.reboot",
              "updates.unattended"):
        r.expect(c, "OK")
    r.expect("updates.other", "INFO", "^0 packages")
    assert not r.get("updates.pending")
    if auditpack.IS_ROOT:
        assert auditpack.run(S, fx, as_nobody=True).rc == 0


def test_pending(fx):
    apt(fx, {"octo-demo": "1.0", "octo-other": "1.0", "octo-lib": "1.0"},
        security=[("octo-demo", "1.1"), ("octo-lib", "1.2")],
        regular=[("octo-other", "2.0")])
    r = auditpack.run(S, fx)
    assert r.rc == 1, r
    r.expect("updates.security", "FAIL",
             "^2 packages with a pending security update")
    assert sorted(r.get("updates.pending")) == [
        ("INFO", "octo-demo 1.0 -> 1.1 (Debian-Security:stable-security)"),
        ("INFO", "octo-lib 1.0 -> 1.2 (Debian-Security:stable-security)")], r
    r.expect("updates.other", "INFO", "^1 package with another")
    # No package cache written: run() compared the whole tree.
    assert not list(fx.path("var/cache/apt").iterdir())


def test_count_matches_the_list(fx):
    # Issue 15: "87 findings" for 41 lines. The FAIL counts packages; the
    # list is capped at 40 lines plus one "... and N more".
    names = {"octo-p%02d" % i: "1.0" for i in range(45)}
    apt(fx, names, security=[(n, "1.1") for n in names])
    r = auditpack.run(S, fx)
    r.expect("updates.security", "FAIL", "^45 packages ", rc=1)
    pending = r.get("updates.pending")
    assert len(pending) == 41, r
    assert pending[-1] == ("INFO", "... and 5 more packages"), r


def test_stale_lists(fx):
    apt(fx, {"octo-demo": "1.1"}, security=[("octo-demo", "1.1")])
    old = time.time() - 30 * 86400
    for f in fx.path("var/lib/apt/lists").iterdir():
        os.utime(f, (old, old))
    r = auditpack.run(S, fx)
    r.expect("updates.lists-age", "WARN", "older than 7 days", rc=0)


def test_no_lists(fx):
    apt(fx, {"octo-demo": "1.0"}, lists=False)
    r = auditpack.run(S, fx)
    r.expect("updates.security", "SKIP", "^no package lists in "
             "/var/lib/apt/lists", rc=2)


def test_no_security_repository(fx):
    apt(fx, {"octo-demo": "1.0"}, regular=[("octo-demo", "1.0")])
    for f in fx.path("var/lib/apt/lists").glob("*security*"):
        f.unlink()
    r = auditpack.run(S, fx)
    r.expect("updates.security-repo", "WARN", "no security repository", rc=0)


def test_unsigned_sources(fx):
    apt(fx, {"octo-demo": "1.1"}, security=[("octo-demo", "1.1")])
    fx.file("etc/apt/sources.list.d/extra.list",
            "deb [trusted=yes] http://extra.example.org/debian bookworm "
            "main\n")
    r = auditpack.run(S, fx)
    r.expect("updates.signed", "FAIL", "trusted=yes", rc=1)
    fx.path("etc/apt/sources.list.d/extra.list").unlink()
    fx.file("etc/apt/apt.conf.d/99insecure",
            'Acquire::AllowInsecureRepositories "true";\n')
    r = auditpack.run(S, fx)
    r.expect("updates.signed", "FAIL", "AllowInsecureRepositories", rc=1)


def test_reboot_required(fx):
    apt(fx, {"octo-demo": "1.1"}, security=[("octo-demo", "1.1")])
    fx.file("var/run/reboot-required", "*** System restart required ***\n")
    fx.file("var/run/reboot-required.pkgs", "linux-image-amd64\n")
    r = auditpack.run(S, fx)
    r.expect("updates.reboot", "WARN", r"\(packages: linux-image-amd64 \)",
             rc=0)


def test_unattended_upgrades(fx):
    apt(fx, {"octo-demo": "1.1"}, security=[("octo-demo", "1.1")],
        unattended=False)
    r = auditpack.run(S, fx)
    r.expect("updates.unattended", "WARN", "not installed", rc=0)
    fx.file("var/lib/dpkg/status",
            fx.path("var/lib/dpkg/status").read_text() +
            STATUS.format(name="unattended-upgrades", version="2.9.1"))
    r = auditpack.run(S, fx)
    r.expect("updates.unattended", "WARN", "installed but not enabled", rc=0)
