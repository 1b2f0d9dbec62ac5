"""Pace and forecast per window: the arithmetic at every edge case, and its wording in
local time (the tests' zone is UTC+2, so a UTC time shown as is would be caught)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest

from glmtray.history.forecast import (
    MIN_SPAN,
    Forecast,
    Outcome,
    forecast_phrase,
    forecast_window,
    forecasts_for,
    labelled_phrase,
    look_back,
    runs_out_before_reset,
    weighted_hours,
)
from glmtray.history.store import HistoryRow, HistoryStore
from glmtray.peak import PEAK_RULES
from glmtray.platform.models import Quota, QuotaWindow, Snapshot
from glmtray.platform.regions import Region

NOW = datetime(2026, 12, 1, 11, 0, tzinfo=timezone.utc)
RESET = datetime(2026, 12, 1, 14, 0, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def local_zone_utc_plus_2(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "LOC-2")  # POSIX: two hours east of UTC, no tz database needed
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def five_hour(
    percent: float, resets_at: datetime | None = RESET, *, kind: str = "TOKENS_LIMIT"
) -> QuotaWindow:
    return QuotaWindow("five_hour", kind, percent, resets_at, unit=3, number=5)


def at(hours: float) -> datetime:
    return NOW + timedelta(hours=hours)


def reading(
    when: datetime, percent: float, resets_at: datetime | None = RESET, key: str = "five_hour"
) -> HistoryRow:
    return HistoryRow(when, key, "5-hour", percent / 100, None, None, resets_at)


def test_no_history_at_all() -> None:
    forecast = forecast_window([], five_hour(30), NOW)
    assert forecast.outcome is Outcome.NO_HISTORY
    assert forecast.readings == 1 and forecast.runs_out_at is None
    assert forecast_phrase(forecast, NOW) == ("No history yet: forecast after a few refreshes")


def test_the_stored_copy_of_the_current_reading_is_not_history() -> None:
    # The recorder stored this very fetch (whole seconds) just before the forecast.
    forecast = forecast_window([reading(NOW.replace(microsecond=0), 30)], five_hour(30), NOW)
    assert forecast.outcome is Outcome.NO_HISTORY


def test_other_windows_readings_are_not_this_windows_history() -> None:
    rows = [reading(at(-1), 10, key="weekly")]
    assert forecast_window(rows, five_hour(30), NOW).outcome is Outcome.NO_HISTORY


def test_a_single_reading_in_this_period() -> None:
    # History exists, but only of the period before the reset.
    previous = RESET - timedelta(hours=5)
    forecast = forecast_window([reading(at(-4), 80, previous)], five_hour(3), NOW)
    assert forecast.outcome is Outcome.SINGLE_POINT
    assert forecast.readings == 1 and forecast.since == NOW
    assert forecast_phrase(forecast, NOW) == ("First reading of this period: forecast soon")


def test_readings_too_close_together() -> None:
    rows = [reading(NOW - MIN_SPAN + timedelta(seconds=1), 20)]
    forecast = forecast_window(rows, five_hour(25), NOW)
    assert forecast.outcome is Outcome.SHORT_SPAN
    assert forecast.readings == 2
    assert forecast_phrase(forecast, NOW) == "Forecast after 10 min of readings"


def test_runs_out_before_the_reset() -> None:
    # 20 % at 10:00, 50 % at 11:00: 30 % an hour; the other 50 % last 1 h 40 min.
    forecast = forecast_window([reading(at(-1), 20)], five_hour(50), NOW)
    assert forecast.outcome is Outcome.RUNS_OUT
    assert forecast.pace_per_hour == pytest.approx(0.30)
    assert forecast.runs_out_at == at(1) + timedelta(minutes=40)
    assert forecast.margin == timedelta(hours=1, minutes=20)
    assert forecast.share_at_reset == 1.0
    assert forecast.runs_out_early
    # 12:40 UTC is 14:40 in the user's zone.
    assert forecast_phrase(forecast, NOW) == (
        "At this pace it runs out at 14:40, 1 h 20 min before it resets"
    )
    assert labelled_phrase(forecast, NOW) == (
        "5-hour: At this pace it runs out at 14:40, 1 h 20 min before it resets"
    )


def test_on_pace_to_last_until_the_reset() -> None:
    # 10 % an hour for the 3 hours left: 20 % + 30 % = 50 %.
    forecast = forecast_window([reading(at(-1), 10)], five_hour(20), NOW)
    assert forecast.outcome is Outcome.LASTS
    assert forecast.share_at_reset == pytest.approx(0.50)
    assert forecast.runs_out_at is None and forecast.margin is None
    assert not forecast.runs_out_early
    assert forecast_phrase(forecast, NOW) == "On pace to use about 50 % by the reset"


def test_the_pace_is_the_look_back_s_not_the_whole_period_s() -> None:
    # Heavy use early in the period, light use over the last hour (the look-back of a
    # 5-hour window): the last hour sets the pace.
    assert look_back(five_hour(0)) == timedelta(hours=1)
    rows = [reading(at(-2), 0), reading(at(-1.5), 30), reading(at(-1), 40)]
    forecast = forecast_window(rows, five_hour(45), NOW)
    assert forecast.since == at(-1)
    assert forecast.pace_per_hour == pytest.approx(0.05)
    assert forecast.share_at_reset == pytest.approx(0.60)


def test_a_reset_in_between_only_this_period_counts() -> None:
    previous = RESET - timedelta(hours=5)
    rows = [
        reading(at(-2), 70, previous),
        reading(at(-1.5), 90, previous),  # the old period's climb must not set the pace
        reading(at(-1), 5),
        reading(at(-0.5), 10),
    ]
    forecast = forecast_window(rows, five_hour(20), NOW)
    assert forecast.outcome is Outcome.LASTS
    assert forecast.since == at(-1) and forecast.readings == 3
    assert forecast.pace_per_hour == pytest.approx(0.15)
    assert forecast.share_at_reset == pytest.approx(0.65)


def test_a_reset_moment_that_wobbles_is_still_the_same_period() -> None:
    rows = [reading(at(-1), 20, RESET + timedelta(minutes=2))]
    assert forecast_window(rows, five_hour(50), NOW).outcome is Outcome.RUNS_OUT


def test_an_idle_window_stays_where_it_is() -> None:
    rows = [
        reading(at(-1.5), 35),
        reading(at(-1.25), 40),
        reading(at(-1), 40),
        reading(at(-0.5), 40),
    ]
    forecast = forecast_window(rows, five_hour(40), NOW)
    assert forecast.outcome is Outcome.IDLE
    assert forecast.pace_per_hour == 0.0
    assert forecast.share_at_reset == pytest.approx(0.40)
    assert forecast.since == at(-1.25)  # when it last changed
    # 09:45 UTC is 11:45 local.
    assert forecast_phrase(forecast, NOW) == "No use since 11:45: stays at 40 % at this pace"


def test_usage_that_fell_gives_no_forecast() -> None:
    forecast = forecast_window([reading(at(-1), 50)], five_hour(30), NOW)
    assert forecast.outcome is Outcome.FELL
    assert forecast.since == at(-1) and forecast.runs_out_at is None
    assert forecast_phrase(forecast, NOW) == ("Usage fell: a forecast once it rises again")


def test_after_a_fall_only_the_readings_since_it_count() -> None:
    rows = [reading(at(-2), 50), reading(at(-1.5), 10), reading(at(-1), 15)]
    forecast = forecast_window(rows, five_hour(30), NOW)
    assert forecast.outcome is Outcome.LASTS
    assert forecast.since == at(-1) and forecast.readings == 3
    assert forecast.pace_per_hour == pytest.approx(0.15)
    assert forecast.share_at_reset == pytest.approx(0.75)


def test_an_unknown_reset_time() -> None:
    forecast = forecast_window([reading(at(-1), 10, None)], five_hour(30, None), NOW)
    assert forecast.outcome is Outcome.NO_RESET
    assert forecast.runs_out_at is None and forecast.share_at_reset is None
    assert forecast_phrase(forecast, NOW) == "Reset time unknown: no forecast"


def test_a_window_not_started() -> None:
    forecast = forecast_window([], five_hour(0, None), NOW)
    assert forecast.outcome is Outcome.NOT_STARTED
    assert forecast_phrase(forecast, NOW) == "Not started: nothing to forecast"


def test_already_used_up() -> None:
    forecast = forecast_window([reading(at(-1), 80)], five_hour(100), NOW)
    assert forecast.outcome is Outcome.EXHAUSTED
    assert forecast.share_at_reset == 1.0 and forecast.margin is None
    assert not forecast.runs_out_early  # the threshold alert has said it already
    assert forecast_phrase(forecast, NOW) == "Used up: back at 16:00"
    no_reset = forecast_window([], five_hour(100, None), NOW)
    assert forecast_phrase(no_reset, NOW) == "Used up; the reset time is unknown"


def test_a_reset_already_due_keeps_the_share_it_has() -> None:
    forecast = forecast_window([reading(at(-1), 10, at(-0.1))], five_hour(20, at(-0.1)), NOW)
    assert forecast.outcome is Outcome.LASTS
    assert forecast.share_at_reset == pytest.approx(0.20)


def test_the_projection_walks_through_the_coming_peak_hours() -> None:
    # Token rule: 14:00-18:00 UTC+8 (06:00-10:00 UTC) counts 3x. An off-peak hour gained
    # 10 %; from 06:00 UTC on, the same work counts 30 % an hour: the 60 % left last 2 h.
    now = datetime(2026, 12, 1, 6, 0, tzinfo=timezone.utc)
    reset = now + timedelta(hours=3)
    window = five_hour(40, reset)
    rows = [reading(now - timedelta(hours=1), 30, reset)]
    rule = PEAK_RULES["token"]
    assert weighted_hours(now - timedelta(hours=1), now, rule) == pytest.approx(1.0)
    assert weighted_hours(now, reset, rule) == pytest.approx(9.0)
    forecast = forecast_window(rows, window, now, rule)
    assert forecast.outcome is Outcome.RUNS_OUT
    assert forecast.runs_out_at == now + timedelta(hours=2)
    assert forecast.margin == timedelta(hours=1)
    assert forecast.pace_per_hour == pytest.approx(0.10)  # as counted over the look-back
    # Counting every hour alike, the same readings last: 40 % + 3 x 10 % = 70 %.
    flat = forecast_window(rows, window, now, None)
    assert flat.outcome is Outcome.LASTS and flat.share_at_reset == pytest.approx(0.70)
    # The rule may be named, as the settings name it.
    assert forecast_window(rows, window, now, "token").runs_out_at == now + timedelta(hours=2)


def test_a_peak_look_back_is_not_taken_for_the_off_peak_pace() -> None:
    # The last hour was peak (3x) and gained 30 %: off-peak the same work counts 10 %.
    now = datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)  # 18:00 UTC+8: peak just ended
    reset = now + timedelta(hours=2)
    rows = [reading(now - timedelta(hours=1), 10, reset)]
    forecast = forecast_window(rows, five_hour(40, reset), now, "token")
    assert forecast.outcome is Outcome.LASTS
    assert forecast.share_at_reset == pytest.approx(0.60)


def test_tool_calls_count_alike_in_peak_hours() -> None:
    now = datetime(2026, 12, 1, 6, 0, tzinfo=timezone.utc)
    reset = now + timedelta(hours=3)
    window = QuotaWindow("five_hour", "TIME_LIMIT", 40, reset, unit=3, number=5)
    rows = [reading(now - timedelta(hours=1), 30, reset)]
    forecast = forecast_window(rows, window, now, "token")
    assert forecast.outcome is Outcome.LASTS
    assert forecast.share_at_reset == pytest.approx(0.70)


def test_look_back_follows_the_window_length() -> None:
    weekly = QuotaWindow("weekly", "TOKENS_LIMIT", 10, RESET, unit=6, number=1)
    monthly = QuotaWindow("monthly_tools", "TIME_LIMIT", 10, RESET, unit=5, number=1)
    odd = QuotaWindow("x", "TOKENS_LIMIT", 10, RESET, unit=9, number=2)
    assert look_back(weekly) == timedelta(days=1)  # a fifth of a week, capped at a day
    assert look_back(monthly) == timedelta(days=1)
    assert look_back(odd) == timedelta(hours=1)


def test_forecasts_for_reads_the_account_s_store() -> None:
    store = HistoryStore(":memory:", "global:default")
    store.add(at(-1), [reading(at(-1), 20)])
    weekly = QuotaWindow("weekly", "TOKENS_LIMIT", 5, RESET + timedelta(days=3), unit=6, number=1)
    snapshot = Snapshot(
        Region.GLOBAL, NOW, Quota("pro", (five_hour(50), weekly)), None, risk_restricted=None
    )
    forecasts = forecasts_for(store, snapshot, NOW)
    assert set(forecasts) == {"five_hour", "weekly"}
    assert forecasts["five_hour"].outcome is Outcome.RUNS_OUT
    assert forecasts["weekly"].outcome is Outcome.NO_HISTORY
    assert [f.window_key for f in runs_out_before_reset(forecasts)] == ["five_hour"]
    # Only the look-back and the hour before are read: a day-old reading is not history.
    old = HistoryStore(":memory:", "global:default")
    old.add(at(-24), [reading(at(-24), 20)])
    assert forecasts_for(old, snapshot, NOW)["five_hour"].outcome is Outcome.NO_HISTORY
    store.close()  # a closed (unreadable) store: no history, no error
    assert forecasts_for(store, snapshot, NOW)["five_hour"].outcome is Outcome.NO_HISTORY
    assert forecasts_for(None, snapshot, NOW)["five_hour"].outcome is Outcome.NO_HISTORY


def test_json_field_by_field() -> None:
    forecast = forecast_window([reading(at(-1), 20)], five_hour(50), NOW)
    assert forecast.to_json(NOW) == {
        "outcome": "runs_out",
        "phrase": "At this pace it runs out at 14:40, 1 h 20 min before it resets",
        "share_now": 0.5,
        "pace_per_hour": 0.3,
        "runs_out_at": "2026-12-01T12:40:00Z",
        "margin_seconds": 4800,
        "share_at_reset": 1.0,
        "resets_at": "2026-12-01T14:00:00Z",
        "since": "2026-12-01T10:00:00Z",
        "readings": 2,
    }
    empty = Forecast("weekly", "Weekly", Outcome.NO_RESET, 0.3, None)
    assert empty.to_json(NOW) == {
        "outcome": "no_reset",
        "phrase": "Reset time unknown: no forecast",
        "share_now": 0.3,
        "pace_per_hour": None,
        "runs_out_at": None,
        "margin_seconds": None,
        "share_at_reset": None,
        "resets_at": None,
        "since": None,
        "readings": 0,
    }
