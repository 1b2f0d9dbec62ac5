"""History views: window shares read back from the real history store (a SQLite file),
resets found where a share falls or the announced reset moves, peak periods to shade, and
the whole view loaded from the store and the simulator."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from glmtray.history.store import HistoryRow, HistoryStore
from glmtray.history.views import (
    Span,
    UsageCache,
    detect_resets,
    load_history_view,
    peak_periods,
    window_series,
)
from glmtray.peak import CREDIT, TOKEN
from glmtray.platform.client import PlatformClient
from glmtray.platform.regions import Region
from glmtray.simulator import SIMULATOR_API_KEY, PlatformSimulator

UTC = timezone.utc
T0 = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)  # Thursday 17:30 in UTC+8
MIN = timedelta(minutes=1)


def row(
    at: datetime, share: float, resets_at: datetime | None, key: str = "five_hour"
) -> HistoryRow:
    labels = {"five_hour": "5-hour", "weekly": "Weekly", "monthly_tools": "Monthly tool calls"}
    return HistoryRow(at, key, labels[key], share, None, None, resets_at)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[HistoryStore]:
    history = HistoryStore(tmp_path / "history.sqlite3", "global:default")
    yield history
    history.close()


def stored(store: HistoryStore, rows: list[HistoryRow]) -> list[HistoryRow]:
    for reading in rows:
        store.add(reading.at, [reading])
    return store.read(rows[0].at - MIN, rows[-1].at + MIN)


def test_a_reset_at_the_announced_time_between_two_readings(store: HistoryStore) -> None:
    first_reset = T0 - timedelta(hours=1)
    rows = stored(
        store,
        [
            row(T0 - timedelta(hours=4), 0.10, first_reset),
            row(T0 - timedelta(hours=3), 0.30, first_reset),
            row(T0 - timedelta(hours=1, minutes=2), 0.62, first_reset),
            row(T0 - timedelta(minutes=58), 0.04, first_reset + timedelta(hours=5)),
            row(T0, 0.20, first_reset + timedelta(hours=5)),
        ],
    )
    assert detect_resets(rows) == (first_reset,)


def test_a_share_that_falls_before_its_announced_reset_is_a_reset_when_seen(
    store: HistoryStore,
) -> None:
    announced = T0 + timedelta(hours=2)
    rows = stored(
        store,
        [row(T0 - timedelta(minutes=20), 0.5, announced), row(T0, 0.1, announced)],
    )
    assert detect_resets(rows) == (T0,)


def test_an_idle_window_passing_its_reset_time_resets_without_its_share_falling(
    store: HistoryStore,
) -> None:
    reset = T0 - timedelta(minutes=30)
    rows = stored(
        store,
        [row(T0 - timedelta(hours=1), 0.0, reset), row(T0, 0.0, reset + timedelta(hours=5))],
    )
    assert detect_resets(rows) == (reset,)


def test_no_reset_for_growth_jitter_or_a_window_that_starts(store: HistoryStore) -> None:
    reset = T0 + timedelta(hours=3)
    rows = stored(
        store,
        [
            row(T0 - timedelta(hours=2), 0.0, None),  # idle: not started, no reset time
            row(T0 - timedelta(hours=1), 0.1, reset),  # started: a reset time appears
            row(T0 - timedelta(minutes=30), 0.2, reset + timedelta(seconds=40)),  # jitter
            row(T0, 0.2, reset),
        ],
    )
    assert len(rows) == 4
    assert detect_resets(rows) == ()


def test_series_per_window_from_the_store(store: HistoryStore) -> None:
    weekly_reset = T0 + timedelta(days=3)
    for minutes in range(0, 60, 10):
        at = T0 - timedelta(minutes=60 - minutes)
        store.add(
            at,
            [
                row(at, 0.01 * minutes, T0 + timedelta(hours=2)),
                row(at, 0.3, weekly_reset, "weekly"),
                row(at, 1.2 if minutes == 50 else 0.5, None, "monthly_tools"),
            ],
        )
    series = window_series(store.read(T0 - timedelta(hours=2), T0))
    assert [s.key for s in series] == ["five_hour", "monthly_tools", "weekly"]
    five, tools, weekly = series
    assert five.label == "5-hour" and weekly.label == "Weekly"
    assert [p.share for p in five.points] == [0.0, 0.1, 0.2, 0.3, 0.4, 0.5]
    assert [p.at for p in five.points] == [
        T0 - timedelta(minutes=m) for m in (60, 50, 40, 30, 20, 10)
    ]
    # Equal readings: the store keeps the run's first and last point only.
    assert [p.share for p in weekly.points] == [0.3, 0.3]
    assert tools.points[-1].share == 1.0  # shares are 0..1 whatever the store holds
    assert five.resets == weekly.resets == ()


# -- peak periods -------------------------------------------------------------------------


def test_peak_periods_token_rule_every_day_clipped_to_the_span() -> None:
    start = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)  # Monday 15:00 UTC+8: inside a peak
    end = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)  # the next Monday 15:00
    periods = peak_periods(start, end, TOKEN)
    assert len(periods) == 8
    assert periods[0] == (start, datetime(2026, 11, 23, 10, 0, tzinfo=UTC))
    for day, (begins, ends) in enumerate(periods[1:-1], start=24):
        assert begins == datetime(2026, 11, day, 6, 0, tzinfo=UTC)
        assert ends - begins == timedelta(hours=4)
    assert periods[-1] == (datetime(2026, 11, 30, 6, 0, tzinfo=UTC), end)


def test_peak_periods_credit_rule_skips_weekends() -> None:
    start = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
    end = start + timedelta(days=7)
    periods = peak_periods(start, end, CREDIT)
    days = [b.astimezone(timezone(timedelta(hours=8))).strftime("%a") for b, _ in periods]
    assert days == ["Mon", "Tue", "Wed", "Thu", "Fri"]


def test_peak_periods_wrapping_midnight_and_a_whole_day() -> None:
    start = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)  # Monday 08:00 UTC+8
    end = start + timedelta(days=2)
    wrapped = peak_periods(start, end, TOKEN, "22:00-02:00")
    assert wrapped[0] == (
        datetime(2026, 11, 23, 14, 0, tzinfo=UTC),
        datetime(2026, 11, 23, 18, 0, tzinfo=UTC),
    )
    assert len(wrapped) == 2
    assert peak_periods(start, end, TOKEN, "00:00-24:00") == ((start, end),)  # merged


# -- the whole view -----------------------------------------------------------------------


def test_load_history_view_joins_the_store_and_the_platform(store: HistoryStore) -> None:
    store.add(T0 - timedelta(days=2), [row(T0 - timedelta(days=2), 0.9, None)])  # outside 24 h
    for hours in (20, 10, 1):
        at = T0 - timedelta(hours=hours)
        store.add(at, [row(at, 0.25, at + timedelta(hours=3))])
    with (
        PlatformSimulator("pro", clock=T0.timestamp) as sim,
        PlatformClient(SIMULATOR_API_KEY, Region.GLOBAL, base_url=sim.base_url) as client,
    ):
        view = load_history_view(client, store, Span.DAY, T0, UsageCache(), peak_rule=CREDIT)
    assert (view.span, view.start, view.end) == (Span.DAY, T0 - timedelta(days=1), T0)
    (five,) = view.windows
    assert [p.at for p in five.points] == [T0 - timedelta(hours=h) for h in (20, 10, 1)]
    assert len(five.resets) == 2  # each reading announced a later reset
    assert view.peak_rule == CREDIT
    assert view.peak_periods == (  # Wednesday's last half hour, Thursday's under way
        (T0 - timedelta(days=1), datetime(2026, 11, 25, 10, 0, tzinfo=UTC)),
        (datetime(2026, 11, 26, 6, 0, tzinfo=UTC), T0),
    )
    assert len(view.model_tokens) == 25 and len(view.tool_calls) == 25
    assert view.usage_note is None and view.usage_fetched_at == T0
    assert set(view.model_totals) == {"glm-4.6", "glm-4.5-air"}
