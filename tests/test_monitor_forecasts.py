"""Forecasts in the app's state: kept by the monitor, said in the tooltip when a window runs
out before its reset, and notified once per window period when it runs out well before."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from glmtray.credentials import Account
from glmtray.history.forecast import Forecast, Outcome, forecast_window
from glmtray.history.store import HistoryRow
from glmtray.monitor import FetchPlan, Monitor
from glmtray.platform.models import Quota, QuotaWindow, Snapshot
from glmtray.platform.regions import Region
from glmtray.settings import Settings
from glmtray.state import Phase
from tests.test_monitor import MemoryLedger

NOW = datetime(2026, 12, 1, 11, 0, tzinfo=timezone.utc)
RESET = NOW + timedelta(hours=3)
FULL = FetchPlan(subscription=True, risk=True)


@pytest.fixture(autouse=True)
def local_zone_utc_plus_2(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "LOC-2")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def window(percent: float, resets_at: datetime = RESET) -> QuotaWindow:
    return QuotaWindow("five_hour", "TOKENS_LIMIT", percent, resets_at, unit=3, number=5)


def snapshot(percent: float, resets_at: datetime = RESET) -> Snapshot:
    weekly = QuotaWindow("weekly", "TOKENS_LIMIT", 10, NOW + timedelta(days=3), unit=6, number=1)
    return Snapshot(
        Region.GLOBAL, NOW, Quota("pro", (window(percent, resets_at), weekly)), None, False
    )


def runs_out(
    earlier_percent: float, percent: float, resets_at: datetime = RESET, now: datetime = NOW
) -> dict[str, Forecast]:
    """The forecast after an hour from `earlier_percent` to `percent`."""
    row = HistoryRow(
        now - timedelta(hours=1),
        "five_hour",
        "5-hour",
        earlier_percent / 100,
        None,
        None,
        resets_at,
    )
    return {"five_hour": forecast_window([row], window(percent, resets_at), now)}


def signed_in_monitor(settings: Settings | None = None) -> tuple[Monitor, MemoryLedger]:
    ledger = MemoryLedger()
    monitor = Monitor(Region.GLOBAL, settings or Settings(), ledger=ledger)
    monitor.signed_in(Account(Region.GLOBAL))
    monitor.succeeded(snapshot(50), FULL, NOW)
    return monitor, ledger


def test_the_monitor_keeps_the_forecasts_in_the_state() -> None:
    monitor, _ = signed_in_monitor()
    forecasts = runs_out(20, 50)
    monitor.set_forecasts(forecasts, NOW)
    assert monitor.state.forecasts == forecasts
    assert monitor.state.forecasts["five_hour"].outcome is Outcome.RUNS_OUT


def test_a_new_session_or_signing_out_drops_the_forecasts() -> None:
    monitor, _ = signed_in_monitor()
    monitor.set_forecasts(runs_out(20, 50), NOW)
    monitor.signed_in(Account(Region.CHINA))
    assert monitor.state.forecasts == {}
    monitor.set_forecasts(runs_out(20, 50), NOW)
    monitor.signed_out()
    assert monitor.state.forecasts == {}
    # A late answer of the ended session changes nothing.
    assert monitor.set_forecasts(runs_out(20, 50), NOW) == []
    assert monitor.state.forecasts == {} and monitor.state.phase is Phase.SIGNED_OUT


def test_the_tooltip_says_when_a_window_runs_out_before_its_reset() -> None:
    monitor, _ = signed_in_monitor()
    monitor.set_forecasts(runs_out(20, 50), NOW)
    lines = monitor.state.tooltip(NOW).splitlines()
    # 30 % an hour: 12:40 UTC, 14:40 in the user's zone, 1 h 20 min before 14:00 UTC.
    assert "5-hour: At this pace it runs out at 14:40, 1 h 20 min before it resets" in lines
    assert (
        lines.index("5-hour: At this pace it runs out at 14:40, 1 h 20 min before it resets") == 2
    )


def test_the_tooltip_stays_quiet_for_a_window_that_lasts() -> None:
    monitor, _ = signed_in_monitor()
    monitor.set_forecasts(runs_out(45, 50), NOW)  # 5 % an hour: about 65 % by the reset
    assert monitor.state.forecasts["five_hour"].outcome is Outcome.LASTS
    assert "At this pace" not in monitor.state.tooltip(NOW)
    assert monitor.state.forecast_lines(NOW) == []


def test_a_run_out_moment_already_past_is_not_shown() -> None:
    monitor, _ = signed_in_monitor()
    monitor.set_forecasts(runs_out(20, 50), NOW)
    later = NOW + timedelta(hours=2)  # data stale past the forecast moment
    assert monitor.state.forecast_lines(later) == []


def test_a_notification_once_per_window_period() -> None:
    monitor, ledger = signed_in_monitor()
    notes = monitor.set_forecasts(runs_out(20, 50), NOW)
    assert [(n.kind, n.title) for n in notes] == [
        ("forecast", "5-hour quota may run out before it resets")
    ]
    assert notes[0].body == (
        "At this pace the 5-hour window runs out at 14:40, 1 h 20 min before it resets at 16:00."
    )
    assert not notes[0].urgent
    key = notes[0].key
    assert key == f"forecast:five_hour:{RESET.isoformat()}"
    assert key in ledger.keys["global:default"]  # kept across restarts
    # Later forecasts in the same period, its reset moment wobbling a little: quiet.
    later = NOW + timedelta(minutes=10)
    assert monitor.set_forecasts(runs_out(25, 60, RESET + timedelta(minutes=3), later), later) == []
    # The next period may say it again.
    next_reset = RESET + timedelta(hours=5)
    next_now = NOW + timedelta(hours=5)
    notes = monitor.set_forecasts(runs_out(20, 50, next_reset, next_now), next_now)
    assert len(notes) == 1


def test_a_restart_does_not_repeat_the_forecast_notification() -> None:
    monitor, ledger = signed_in_monitor()
    assert len(monitor.set_forecasts(runs_out(20, 50), NOW)) == 1
    restarted = Monitor(Region.GLOBAL, Settings(), ledger=ledger)
    restarted.signed_in(Account(Region.GLOBAL))
    restarted.succeeded(snapshot(50), FULL, NOW)
    assert restarted.set_forecasts(runs_out(20, 50), NOW) == []


def test_no_notification_within_half_an_hour_of_the_reset() -> None:
    monitor, _ = signed_in_monitor()
    # 10 % an hour from 80 %: runs out in 2 h, 29 min before a reset in 2 h 29 min.
    reset = NOW + timedelta(hours=2, minutes=29)
    forecasts = runs_out(70, 80, reset)
    assert forecasts["five_hour"].outcome is Outcome.RUNS_OUT
    assert forecasts["five_hour"].margin == timedelta(minutes=29)
    assert monitor.set_forecasts(forecasts, NOW) == []
    # 31 minutes ahead of the reset is worth it.
    reset = NOW + timedelta(hours=2, minutes=31)
    assert len(monitor.set_forecasts(runs_out(70, 80, reset), NOW)) == 1


def test_the_setting_turns_the_notification_off() -> None:
    monitor, _ = signed_in_monitor(replace(Settings(), notify_forecast=False))
    assert monitor.set_forecasts(runs_out(20, 50), NOW) == []
    assert monitor.state.forecasts["five_hour"].outcome is Outcome.RUNS_OUT  # still shown
