"""Fixtures for the system tests.

- ro_brain: one brain for the whole session, for tests that only read (or
  make their own session): started once, stopped at the end.
- brain_factory: brains for tests that change state (kill children, stop,
  rate-limit, expire sessions...): new_brain(overrides) -> started Brain;
  every one is stopped (process group killed) when the test ends.
- client_cert: a (cert, key) pair for mutual TLS on 6000/6001.
"""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import octotest  # noqa: E402


def pytest_report_header(config):
    return "octoBrain: %s (%s)" % (
        octotest.BRAIN_BIN,
        "present" if octotest.BRAIN_BIN.exists() else "MISSING")


@pytest.fixture(scope="session")
def brain_bin():
    if not octotest.BRAIN_BIN.exists():
        pytest.fail("%s not built: run make (or set OCTO_BUILD)"
                    % octotest.BRAIN_BIN, pytrace=False)
    return octotest.BRAIN_BIN


SANITIZER_REPORT = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                    "runtime error:",
                    # a child's seccomp filter (brain/confine.c) killed it
                    "a system call its confinement does not allow",
                    "confine: system call")


def _stop_and_check(b):
    """Stop; then a sanitizer report anywhere in the brain's log fails the
    test (a child that hit one was merely restarted by the maestro)."""
    b.stop()
    try:
        log = b.stderr()
    except OSError:
        return
    for marker in SANITIZER_REPORT:
        if marker in log:
            pytest.fail("sanitizer report (or a child killed by its "
                        "confinement) in %s:\n%s" % (
                b.stderr_path, log[max(0, log.index(marker) - 200):][:4000]),
                pytrace=False)


def _start_brain(request, directory, overrides=None, verbose=False,
                 start=True):
    b = octotest.Brain(directory, overrides, verbose=verbose)
    request.addfinalizer(lambda: _stop_and_check(b))
    if start:
        b.start()
    return b


# A shared brain that stops answering would make every later test wait for
# its deadlines: once a failing test leaves it unresponsive, the tests that
# follow fail at once, naming the test that broke it.
_shared = {}
_broken = {}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    b = _shared.get("ro_brain")
    if (rep.failed and b is not None and "ro_brain" not in _broken and
            "ro_brain" in getattr(item, "fixturenames", ())):
        if not b.alive() or not octotest.tls_answers(b.web_port):
            _broken["ro_brain"] = ("the shared brain stopped answering "
                                   "after %s failed" % item.nodeid)


@pytest.fixture(scope="session")
def _ro_brain_session(request, brain_bin, tmp_path_factory):
    b = _start_brain(request, tmp_path_factory.mktemp("ro_brain"),
                     {"login_attempts": 1000, "login_window": 60,
                      "session_timeout": 300, "io_timeout": 2},
                     verbose=True)
    _shared["ro_brain"] = b
    return b


@pytest.fixture
def ro_brain(_ro_brain_session):
    """A shared brain. Tests using it must leave it as they found it: every
    child up, no restart (they may log in and out with their own client).
    Verbose, so that its log also shows that -v keeps secrets out."""
    if "ro_brain" in _broken:
        pytest.fail(_broken["ro_brain"], pytrace=False)
    return _ro_brain_session


@pytest.fixture(scope="session")
def _ro_client_session(_ro_brain_session):
    return _ro_brain_session.login()


@pytest.fixture
def ro_client(ro_brain, _ro_client_session):
    """A client logged in to ro_brain (never logged out)."""
    return _ro_client_session


@pytest.fixture
def brain_factory(request, brain_bin, tmp_path):
    """new_brain(overrides=None, verbose=False, start=True) -> Brain."""
    count = [0]

    def new_brain(overrides=None, verbose=False, start=True):
        count[0] += 1
        return _start_brain(request, tmp_path / ("brain%d" % count[0]),
                            overrides, verbose, start)
    return new_brain


@pytest.fixture(scope="session")
def client_cert(tmp_path_factory):
    return octotest.make_client_cert(tmp_path_factory.mktemp("certs"))
