"""Fixtures and gating for the real-desktop tier (tests marked ``@pytest.mark.desktop``).

These tests need the session that ``.ci/desktop-session`` builds. Outside it they are skipped
on a developer machine, and fail in CI (CI=true) so that a CI script which forgot the wrapper
cannot go green by skipping the whole tier.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import pytest

from . import harness

SAMPLE_TRAY = Path(__file__).with_name("sample_tray.py")
HERE = Path(__file__).parent.resolve()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Everything in tests/desktop is desktop-tier, marked or not: a forgotten marker must not
    # let a test run (and hang or fail oddly) outside the session.
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.desktop)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    # Screenshot paths printed inside a passing test are swallowed by output capture; list
    # them once at the end so a person can open them (CI keeps GLMTRAY_ARTIFACTS).
    if harness.SCREENSHOTS:
        terminalreporter.section("desktop screenshots")
        for path in dict.fromkeys(harness.SCREENSHOTS):
            terminalreporter.write_line(str(path))


def _missing_pieces() -> list[str]:
    missing = []
    if os.environ.get("GLMTRAY_DESKTOP") != "1":
        missing.append("GLMTRAY_DESKTOP=1")
    if not os.environ.get("DISPLAY"):
        missing.append("an X display (DISPLAY)")
    if not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        missing.append("a session bus (DBUS_SESSION_BUS_ADDRESS)")
    return missing


@pytest.fixture(autouse=True)
def _desktop_session_required(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("desktop") is None:
        return
    missing = _missing_pieces()
    if not missing:
        return
    message = (
        f"desktop tier needs {', '.join(missing)}: run it under .ci/desktop-session, e.g. "
        "`.ci/desktop-session .venv/bin/pytest tests/desktop`"
    )
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture
def artifacts() -> Path:
    return harness.artifacts_dir()


@pytest.fixture
def sample_tray(request: pytest.FixtureRequest) -> Iterator[Callable[..., harness.LaunchedApp]]:
    """Factory: ``sample_tray(color=..., notify=...)`` starts sample_tray.py and waits for it.

    Every started copy is stopped at teardown, and the test fails if any process of it is left.
    """
    started: list[harness.LaunchedApp] = []

    def start(*args: str, wait_ready: bool = True) -> harness.LaunchedApp:
        app = harness.launch(
            [sys.executable, str(SAMPLE_TRAY), *args],
            log_name=f"{request.node.name}-sample-{len(started)}.log",
        )
        started.append(app)
        if wait_ready:
            app.wait_event("ready", timeout=15)
        return app

    yield start
    for app in started:
        app.stop()
    harness.wait_for(
        lambda: harness.no_leftover_processes(SAMPLE_TRAY.name),
        timeout=5,
        message="sample tray processes to end",
    )


@pytest.fixture
def locked_keyring() -> Iterator[str]:
    """The default collection, locked for the test and unlocked again afterwards."""
    collection = harness.default_collection()
    harness.lock_keyring(collection)
    try:
        yield collection
    finally:
        harness.unlock_keyring(collection=collection)


@pytest.fixture(autouse=True)
def _empty_status_notifier_bar(request: pytest.FixtureRequest) -> None:
    """Each test starts with no StatusNotifierItem left from the one before: an icon the
    host still draws for an app that has ended moves the next app's icon (and a click
    aimed at it lands on the old one)."""
    if request.node.get_closest_marker("desktop") is None or harness.tray_host() != "sni":
        return
    if not harness.in_desktop_session():
        return
    harness.wait_for(
        lambda: not harness.sni_registered_items(), 10, message="no item left registered"
    )
    try:
        harness.wait_for(harness.sni_bar_empty, 10, message="the bar drawn empty")
    except harness.WaitTimeout:
        # Nothing is registered, so what the bar still draws is the host's own leftover
        # (gtk-sni-tray can keep an icon whose owner vanished while it was fetching the
        # icon's properties). Tests that act over D-Bus are not affected; those that aim at
        # pixels find their icon by its own colours. Say so, with the screen, and go on.
        shot = harness.screenshot("sni-bar-not-empty.png")
        warnings.warn(
            f"the StatusNotifierItem host still draws an icon with no item registered: {shot.path}",
            stacklevel=1,
        )


SERVICE = "glmtray"
USERNAME = "global:default"
"""Where the app keeps the global account's key in the session's Secret Service."""


@pytest.fixture
def stored_key() -> Iterator[None]:
    """The simulator's key stored as `glmtray login` stores it, removed afterwards."""
    from glmtray.simulator import SIMULATOR_API_KEY

    harness.secret_service_store(SERVICE, USERNAME, SIMULATOR_API_KEY)
    yield
    harness.secret_service_delete(SERVICE, USERNAME)


@pytest.fixture
def launch_glmtray(
    request: pytest.FixtureRequest,
) -> Iterator[Callable[..., harness.LaunchedApp]]:
    """Starts the real `glmtray -v --base-url URL [args]` (with `env` if given), each with a
    log named after the test; every one started is stopped and waited for afterwards."""
    started: list[harness.LaunchedApp] = []

    def start(base_url: str, *args: str, env: dict[str, str] | None = None) -> harness.LaunchedApp:
        app = harness.launch(
            [sys.executable, "-m", "glmtray", "-v", "--base-url", base_url, *args],
            log_name=f"{request.node.name}-glmtray-{len(started)}.log",
            env=env,
        )
        started.append(app)
        return app

    yield start
    for app in started:
        app.stop()
        harness.wait_for(partial(gone, app.pid), 5, message="glmtray process gone")


def gone(pid: int) -> bool:
    return not harness.process_tree_alive(pid)
