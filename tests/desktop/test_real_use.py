"""The real `glmtray` used as a subscriber uses it, on the real desktop: restarted with a
history behind it, a window running out fast, a platform that stops answering, and a
keyring that waits for its unlock prompt or was locked when the tray started.

Each test runs the app with its own config, data and cache folders (the session's keyring
and tray host are shared), so a history seeded here never reaches another test.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from glmtray.history.store import HistoryRow, HistoryStore
from glmtray.simulator import SIMULATOR_API_KEY, PlatformSimulator
from glmtray.simulator import scenarios as sim_scenarios
from glmtray.simulator.scenarios import Call, Reply

from . import harness
from .conftest import SERVICE, USERNAME
from .test_glmtray_e2e import wait_line

REPO = Path(__file__).resolve().parents[2]
READY = "tray icon shows data"
FORECAST_TITLE = "5-hour quota may run out before it resets"
ENGLISH = {"LANGUAGE": "en"}
"""The texts below are checked in English, whatever language the session speaks."""
BURN_PER_MINUTE = 1.0
"""How fast the "burn" scenario's 5-hour window fills: 1 % a minute, all of it in 80 min."""


class Burn:
    """A 5-hour window filling at `BURN_PER_MINUTE` from 20 % now, resetting in 3 hours:
    at this pace it runs out well over half an hour before its reset."""

    def __init__(self) -> None:
        self.start = time.time()
        self.reset = self.start + 3 * 3600

    def share(self, moment: float) -> float:
        return min(100.0, 20 + BURN_PER_MINUTE * (moment - self.start) / 60)

    def quota(self, call: Call) -> Reply:
        tier = sim_scenarios.TIERS["pro"]
        limits = [
            sim_scenarios.window("TOKENS_LIMIT", 3, 5, int(self.share(call.now)), self.reset),
            sim_scenarios.window("TOKENS_LIMIT", 6, 1, 10, self.start + 4 * 86400),
            sim_scenarios.tool_window(tier, tier.tool_used, self.start + 17 * 86400),
        ]
        return sim_scenarios.ok({"level": "pro", "limits": limits}, call)

    def seed(self, store: HistoryStore) -> int:
        """The readings an earlier run of the tray took over the last 20 minutes."""
        reset = datetime.fromtimestamp(self.reset, timezone.utc)
        count = 0
        for minutes_ago in range(20, 0, -2):
            at = datetime.fromtimestamp(self.start - minutes_ago * 60, timezone.utc)
            share = (20 - BURN_PER_MINUTE * minutes_ago) / 100
            row = HistoryRow(at.replace(microsecond=0), "five_hour", "5-hour", share, None, None,
                             reset)  # fmt: skip
            store.add(row.at, [row])
            count += 1
        return count


@pytest.fixture
def burn(sim: PlatformSimulator, monkeypatch: pytest.MonkeyPatch) -> Burn:
    scenario = Burn()
    monkeypatch.setitem(
        sim_scenarios.SCENARIOS,
        "burn",
        sim_scenarios.Scenario(
            "burn", "5-hour window filling fast", sim_scenarios.standard(e1=scenario.quota)
        ),
    )
    sim.set_scenario("burn")
    return scenario


@pytest.fixture
def home(tmp_path: Path) -> dict[str, str]:
    """The app's own folders, with a settings file as a subscriber leaves it."""
    folders = {
        "XDG_CONFIG_HOME": tmp_path / "config",
        "XDG_DATA_HOME": tmp_path / "data",
        "XDG_CACHE_HOME": tmp_path / "cache",
        "XDG_STATE_HOME": tmp_path / "state",
    }
    for folder in folders.values():
        folder.mkdir()
    (folders["XDG_CONFIG_HOME"] / "glmtray").mkdir()
    settings = {"schema_version": 2, "refresh_seconds": 60, "statusline_max_age_seconds": 5}
    (folders["XDG_CONFIG_HOME"] / "glmtray" / "settings.json").write_text(json.dumps(settings))
    return {name: str(path) for name, path in folders.items()}


@pytest.fixture
def glmtray(
    launch_glmtray: Callable[..., harness.LaunchedApp],
    sim: PlatformSimulator,
    home: dict[str, str],
) -> Iterator[Callable[..., harness.LaunchedApp]]:
    def start(env: dict[str, str] | None = None) -> harness.LaunchedApp:
        return launch_glmtray(sim.base_url, env={**home, **ENGLISH, **(env or {})})

    yield start
    for proc in harness.leftover_processes("glmtray.key_helper"):
        os.kill(proc.pid, signal.SIGKILL)


def data_file(home: dict[str, str]) -> Path:
    return Path(home["XDG_DATA_HOME"]) / "glmtray" / "history.sqlite3"


def stored_points(home: dict[str, str]) -> int:
    with sqlite3.connect(data_file(home)) as db:
        count: int = db.execute("SELECT count(*) FROM points").fetchone()[0]
    return count


def statusline(home: dict[str, str], sim: PlatformSimulator, *args: str) -> tuple[str, float]:
    env = {**os.environ, **home, **ENGLISH, "GLMTRAY_BASE_URL": sim.base_url, "NO_COLOR": "1"}
    env.pop("GLMTRAY_API_KEY", None)
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "glmtray", "statusline", *args],
        capture_output=True, text=True, env=env, timeout=30, check=True, cwd=REPO,
    )  # fmt: skip
    return done.stdout.strip(), time.monotonic() - started


def sleeping_keyring(tmp_path: Path) -> dict[str, str]:
    """A keyring backend that never answers, as one behind an unlock prompt nobody saw."""
    store = tmp_path / "keyring.json"
    store.write_text(json.dumps({f"{SERVICE}/{USERNAME}": SIMULATOR_API_KEY}))
    return {
        "PYTHON_KEYRING_BACKEND": "tests.file_keyring.SleepingKeyring",
        "GLMTRAY_TEST_KEYRING": str(store),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }


def choose_from_menu(app: harness.LaunchedApp, label: str, ups: int) -> None:
    """Choose a tray menu entry: over D-Bus by its label on the StatusNotifierItem host, by
    keyboard on trayer (`ups` presses of Up from the bottom: Up first selects the last)."""
    if harness.tray_host() == "sni":
        items = harness.wait_for(harness.sni_registered_items, 10, message="SNI item")
        harness.sni_menu_click(items[0], label)
        return
    icon = harness.wait_for_tray_icon(pid=app.pid, timeout=10)
    harness.click_rect(icon.rect, button=3)
    harness.wait_for(lambda: harness.popup_menus(pid=app.pid), 5, message="tray menu")
    harness.key(*(["Up"] * ups), "Return")


def forecast_notes(since: int) -> list[harness.Notification]:
    return [
        note
        for note in harness.notifications_history()
        if note["id"] > since and note["summary"] == FORECAST_TITLE
    ]


def test_a_restart_keeps_the_history_and_announces_a_forecast_once(
    glmtray: Any, stored_key: None, burn: Burn, home: dict[str, str], sim: PlatformSimulator
) -> None:
    Path(home["XDG_DATA_HOME"], "glmtray").mkdir()
    store = HistoryStore(data_file(home), USERNAME)
    seeded = burn.seed(store)
    store.close()
    since = harness.last_notification_id()

    first = glmtray()
    wait_line(first, READY)
    note = harness.wait_for(lambda: forecast_notes(since), 10, message="the forecast notice")[0]
    print(f"forecast notice: {note['body']!r}")
    assert note["appname"] == "glmtray" and "before it resets" in note["body"]
    line, _ = statusline(home, sim, "--no-fetch", "--format", "5h")
    assert line.startswith("5h 2"), line  # the tray's own snapshot: 20-29 % by now
    assert stored_points(home) > seeded, "the tray's reading was not added to the history"

    choose_from_menu(first, "Quit", ups=1)
    assert first.process.wait(15) == 0

    second = glmtray()
    wait_line(second, READY)
    if harness.tray_host() == "sni":
        items = harness.wait_for(harness.sni_registered_items, 10, message="SNI item")
        tip = harness.wait_for(
            lambda: "runs out" in harness.sni_tooltip(items[0]) and harness.sni_tooltip(items[0]),
            5, message="the forecast in the tooltip",
        )  # fmt: skip
        print(f"tooltip after the restart: {tip!r}")
    time.sleep(3)  # a second notice would come with the restart's first data
    assert len(forecast_notes(since)) == 1, "the forecast was announced again after a restart"

    # The platform stops answering: the status line says its value is old, in time.
    sim.set_scenario("slow")
    time.sleep(5.5)  # older than statusline_max_age_seconds
    line, took = statusline(home, sim, "--format", "5h")
    print(f"status line with the platform not answering: {line!r} in {took:.2f} s")
    assert took < 2.5 and "old" in line and line.startswith("5h 2"), (line, took)


def test_a_tray_ended_while_the_keyring_waits_leaves_no_key_reader(
    glmtray: Any, tmp_path: Path
) -> None:
    app = glmtray(sleeping_keyring(tmp_path))
    readers = harness.wait_for(
        lambda: harness.leftover_processes("glmtray.key_helper"), 10, message="the key reader"
    )
    time.sleep(1)
    app.process.send_signal(signal.SIGTERM)
    app.process.wait(10)
    harness.wait_for(
        lambda: not any(harness.process_tree_alive(p.pid) for p in readers),
        5,
        message="the key reader to end with the tray",
    )


def test_quit_while_the_keyring_waits_ends_cleanly(glmtray: Any, tmp_path: Path) -> None:
    app = glmtray(sleeping_keyring(tmp_path))
    harness.wait_for(
        lambda: harness.leftover_processes("glmtray.key_helper"), 10, message="the key reader"
    )
    time.sleep(1)
    choose_from_menu(app, "Quit", ups=1)
    assert app.process.wait(15) == 0, f"exit {app.process.returncode}; log: {app.log_path}"


def test_unlocking_the_keyring_then_signing_in_uses_the_stored_key(
    glmtray: Any, stored_key: None, locked_keyring: str
) -> None:
    app = glmtray()
    wait_line(app, "keyring read failed")
    harness.unlock_keyring(collection=locked_keyring)
    choose_from_menu(app, "Sign in…", ups=2)
    wait_line(app, READY, timeout=8)


def test_quit_during_a_slow_refresh_ends_cleanly(
    glmtray: Any, stored_key: None, sim: PlatformSimulator
) -> None:
    app = glmtray()
    wait_line(app, READY)
    sim.set_scenario("slow")
    choose_from_menu(app, "Refresh now", ups=7)  # from the bottom: … Sign out, Quit
    time.sleep(1.5)  # the worker waits for the platform now
    choose_from_menu(app, "Quit", ups=1)
    assert app.process.wait(15) == 0, f"exit {app.process.returncode}; log: {app.log_path}"
