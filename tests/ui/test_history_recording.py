"""The whole app keeps its usage history and forecasts from it: each fetch from the
simulator recorded in the account's file, the forecasts in the state, the panel and the
tooltip, and a notification when a window runs out well before its reset."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from pytestqt.qtbot import QtBot

from glmtray.credentials import Account
from glmtray.history.forecast import Outcome
from glmtray.history.store import HistoryRow, HistoryStore
from glmtray.platform.regions import Region
from glmtray.settings import data_dir
from glmtray.simulator import PlatformSimulator
from glmtray.state import Phase
from glmtray.ui.application import GlmTrayApp
from tests.ui.test_application import (
    WAIT_MS,
    MakeApp,
    keyring_with_key,
    make_app,
    refresh_and_wait,
    signed_in_app,
    sim,
    wait_phase,
)

__all__ = ["make_app", "signed_in_app", "sim"]
"""The app tests' fixtures, used here by name: the same real app against the simulator."""


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def test_each_fetch_is_recorded_and_forecast(qtbot: QtBot, signed_in_app: GlmTrayApp) -> None:
    app = signed_in_app
    qtbot.waitUntil(lambda: bool(app.monitor.state.forecasts), timeout=WAIT_MS)
    snapshot = app.monitor.state.snapshot
    assert snapshot is not None
    windows = {w.id for w in snapshot.windows}
    assert set(app.monitor.state.forecasts) == windows
    # A fresh data folder: the first fetch has nothing to compare with.
    assert app.monitor.state.forecasts["five_hour"].outcome is Outcome.NO_HISTORY
    qtbot.wait(1100)  # readings are kept in whole seconds: the next one a second later
    refresh_and_wait(qtbot, app)
    qtbot.waitUntil(
        lambda: app.monitor.state.forecasts["five_hour"].outcome is Outcome.SHORT_SPAN,
        timeout=WAIT_MS,
    )
    store = app.environment.open_history(app.monitor.account)
    assert store.path == str(data_dir() / "history.sqlite3")
    rows = store.read(utcnow() - timedelta(minutes=5), utcnow())
    assert {r.window_key for r in rows} == windows
    five = [r for r in rows if r.window_key == "five_hour"]
    now_five = next(w for w in snapshot.windows if w.id == "five_hour")
    assert len(five) >= 1 and five[-1].share == now_five.used_percent / 100
    app.show_panel()
    row = next(r for r in app.panel.quota_section.rows if r.window_id == "five_hour")
    qtbot.waitUntil(lambda: row.forecast.text() == "Forecast after 10 min of readings")
    # Every window waits for the same reason: the panel says it once, not under each.
    said = [r.forecast.text() for r in app.panel.quota_section.rows if not r.forecast.isHidden()]
    assert said == ["Forecast after 10 min of readings"]


def test_a_window_running_out_early_is_told_once(
    qtbot: QtBot, make_app: MakeApp, sim: PlatformSimulator
) -> None:
    sim.set_scenario("pro")  # the weekly window at 3 %, resetting in 3 d 4 h
    before = utcnow() - timedelta(minutes=10, seconds=30)
    reset = utcnow() + timedelta(days=3, hours=4)
    store = HistoryStore(data_dir() / "history.sqlite3", Account(Region.GLOBAL).username)
    store.add(before, [HistoryRow(before, "weekly", "Weekly", 0.0, None, None, reset)])
    store.close()
    app = make_app(keyring_with_key())
    assert app.start()
    wait_phase(qtbot, app, Phase.READY)
    qtbot.waitUntil(lambda: "weekly" in app.monitor.state.forecasts, timeout=WAIT_MS)
    forecast = app.monitor.state.forecasts["weekly"]
    # 3 % in 10.5 minutes is 17 % an hour: used up in hours, days before the reset.
    assert forecast.outcome is Outcome.RUNS_OUT and forecast.runs_out_early
    notifier = app.notifications.notifier
    assert notifier is not None
    qtbot.waitUntil(lambda: len(notifier.sent) > 0, timeout=WAIT_MS)  # type: ignore[attr-defined]
    sent = notifier.sent  # type: ignore[attr-defined]
    assert [title for title, _ in sent] == ["Weekly quota may run out before it resets"]
    assert sent[0][1].startswith("At this pace the Weekly window runs out at ")
    assert "Weekly: At this pace it runs out at " in app.monitor.state.tooltip(utcnow())
    refresh_and_wait(qtbot, app)
    qtbot.wait(300)  # the refresh's forecasts have arrived by now
    assert len(sent) == 1  # once per window period


def test_the_demo_forecasts_from_its_first_fetch(qtbot: QtBot, make_app: MakeApp) -> None:
    app = make_app(demo=True, story=())
    assert app.start()
    wait_phase(qtbot, app, Phase.READY)
    qtbot.waitUntil(lambda: "five_hour" in app.monitor.state.forecasts, timeout=WAIT_MS)
    assert app.monitor.state.forecasts["five_hour"].outcome not in (
        Outcome.NO_HISTORY,
        Outcome.SINGLE_POINT,
    )
    store = app.environment.open_history(app.monitor.account)
    assert store.memory_only
    assert store.read(utcnow() - timedelta(days=3), utcnow())[0].at < utcnow() - timedelta(days=2)
