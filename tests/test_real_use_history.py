"""The usage history as a subscriber's day fills it: a burst of work, then a long pause.

The store keeps a run of equal readings short, but what reads it back (a forecast's
look-back, the 24-hour chart) must still know the value all through the pause: a window
left alone over lunch is "no use since 10:00", not "no history yet", and an idle weekly
window is a line across the whole chart, not a dot at its right edge.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from glmtray.history.forecast import Outcome, forecast_phrase, forecasts_for
from glmtray.history.recorder import history_rows
from glmtray.history.store import HistoryStore
from glmtray.history.views import window_series
from glmtray.platform.models import Quota, QuotaWindow, Snapshot
from glmtray.platform.regions import Region

ACCOUNT = "global:default"
MORNING = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
FIVE_HOUR_RESET = MORNING + timedelta(hours=5)
WEEKLY_RESET = MORNING + timedelta(days=3)


def snapshot(at: datetime, five_hour: float, weekly: float = 38.0) -> Snapshot:
    windows = (
        QuotaWindow("five_hour", "TOKENS_LIMIT", five_hour, FIVE_HOUR_RESET, unit=3, number=5),
        QuotaWindow("weekly", "TOKENS_LIMIT", weekly, WEEKLY_RESET, unit=6, number=1),
    )
    return Snapshot(
        region=Region.GLOBAL,
        fetched_at=at,
        quota=Quota("pro", windows),
        subscription=None,
        risk_restricted=None,
    )


def morning_then_lunch(store: HistoryStore, until: datetime) -> None:
    """A tray refreshing every minute: the 5-hour window climbs to 40 % by 10:00, then
    nothing more is used; the weekly window does not move at all."""
    at = MORNING
    while at <= until:
        share = min(40.0, 40 * (at - MORNING) / timedelta(hours=1))
        store.add(at, history_rows(snapshot(at, share), at))
        at += timedelta(minutes=1)


def test_a_window_left_alone_over_lunch_keeps_its_forecast(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path / "history.sqlite3", ACCOUNT)
    now = MORNING + timedelta(hours=3, minutes=30)  # 12:30
    morning_then_lunch(store, now)
    forecast = forecasts_for(store, snapshot(now, 40.0), now)["five_hour"]
    phrase = forecast_phrase(forecast, now)
    print(phrase)
    assert forecast.outcome is Outcome.IDLE, phrase
    assert forecast.share_at_reset == 0.4
    assert forecast.since is not None and forecast.since <= now - timedelta(hours=1)


def test_a_restart_after_lunch_resumes_the_forecast(tmp_path: Path) -> None:
    """The tray quit at 10:30 and started again at 12:30: the morning's readings still give
    the forecast (the pause in between is no reading, not a guess)."""
    path = tmp_path / "history.sqlite3"
    before = HistoryStore(path, ACCOUNT)
    morning_then_lunch(before, MORNING + timedelta(hours=1, minutes=30))
    before.close()
    after = HistoryStore(path, ACCOUNT)
    now = MORNING + timedelta(hours=3, minutes=30)
    after.add(now, history_rows(snapshot(now, 40.0), now))
    forecast = forecasts_for(after, snapshot(now, 40.0), now)["five_hour"]
    assert forecast.outcome is Outcome.IDLE, forecast_phrase(forecast, now)


def test_an_idle_window_is_a_line_across_the_24_hour_chart(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path / "history.sqlite3", ACCOUNT)
    now = MORNING + timedelta(hours=30)
    morning_then_lunch(store, now)
    start = now - timedelta(hours=24)
    weekly = next(s for s in window_series(store.read(start, now)) if s.key == "weekly")
    first, last = weekly.points[0], weekly.points[-1]
    print(
        f"weekly line from {first.at - start} after the chart's start, {len(weekly.points)} points"
    )
    assert first.at - start <= timedelta(minutes=61)
    assert last.at == now
    assert {p.share for p in weekly.points} == {0.38}


def test_an_idle_day_stays_a_few_points_an_hour(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path / "history.sqlite3", ACCOUNT)
    now = MORNING + timedelta(days=1)
    at = MORNING
    while at <= now:
        store.add(at, history_rows(snapshot(at, 0.0), at))
        at += timedelta(minutes=1)
    assert store.point_count() <= 2 * (24 + 2)
