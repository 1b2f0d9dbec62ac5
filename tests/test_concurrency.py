"""The concurrency model: peak hours, limit seen per period, recommendations, warnings, JSON."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from glmtray.activity.concurrency import (
    LIMIT_SEEN_STATE_KEY,
    LimitHit,
    LimitSeen,
    LimitSeenBook,
    MeterStats,
    concurrency_state,
)
from glmtray.activity.events import EventStore
from glmtray.activity.transcripts import ActivitySummary
from glmtray.peak import in_peak_hours, parse_peak_hours

ACCOUNT = "global:default"

CST = timezone(timedelta(hours=8))
PEAK = datetime(2026, 3, 2, 15, 0, tzinfo=CST)  # 15:00 platform time, inside 14:00-18:00
OFF_PEAK = datetime(2026, 3, 2, 10, 0, tzinfo=CST)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EventStore]:
    with EventStore(tmp_path / "events.db", ACCOUNT) as events:
        yield events


def activity(sessions: int, projects: int) -> ActivitySummary:
    return ActivitySummary(
        sessions=sessions,
        projects=projects,
        session_ids=tuple(f"s{i}" for i in range(sessions)),
        project_names=tuple(f"p{i}" for i in range(projects)),
        last_seen=None,
    )


def meter(in_flight: int, peak_5m: int | None = None) -> MeterStats:
    peak = in_flight if peak_5m is None else peak_5m
    return MeterStats(in_flight=in_flight, peak_1m=peak, peak_5m=peak, peak_60m=peak)


# --- peak hours ------------------------------------------------------------------------------


def test_peak_hours_parse() -> None:
    assert parse_peak_hours("14:00-18:00") == (840, 1080)
    assert parse_peak_hours(" 22:30 - 02:00 ") == (1350, 120)
    assert parse_peak_hours("00:00-24:00") == (0, 1440)
    for bad in ("", "14-18", "14:00", "25:00-26:00", "14:00-14:00", "ab:cd-ef:gh", "14:60-15:00"):
        with pytest.raises(ValueError):
            parse_peak_hours(bad)


def test_peak_is_judged_in_platform_time() -> None:
    assert in_peak_hours(PEAK) and not in_peak_hours(OFF_PEAK)
    # 07:30 UTC is 15:30 in UTC+8: peak, whatever zone the moment is given in.
    assert in_peak_hours(datetime(2026, 3, 2, 7, 30, tzinfo=timezone.utc))
    assert in_peak_hours(datetime(2026, 3, 2, 7, 30))  # naive is UTC
    assert not in_peak_hours(datetime(2026, 3, 2, 18, 0, tzinfo=CST))  # the end is exclusive
    assert in_peak_hours(datetime(2026, 3, 2, 14, 0, tzinfo=CST))


def test_peak_window_may_wrap_midnight_and_bad_settings_fall_back() -> None:
    late = datetime(2026, 3, 2, 23, 0, tzinfo=CST)
    assert in_peak_hours(late, "22:00-02:00") and in_peak_hours(late + timedelta(hours=2), "22:00-02:00")
    assert not in_peak_hours(late + timedelta(hours=4), "22:00-02:00")
    assert in_peak_hours(PEAK, "nonsense") and not in_peak_hours(OFF_PEAK, "nonsense")


# --- limit seen ------------------------------------------------------------------------------


def test_limit_seen_is_learned_per_period_and_persisted(store: EventStore, tmp_path: Path) -> None:
    book = LimitSeenBook(store)
    assert book.limits(PEAK) == LimitSeen(None, None)
    for in_flight in (3, 3, 4):
        book.record(PEAK, in_flight)
    book.record(OFF_PEAK, 5)
    assert book.limits(PEAK) == LimitSeen(peak=2, off_peak=4)
    store.close()
    with EventStore(tmp_path / "events.db", ACCOUNT) as reopened:
        assert LimitSeenBook(reopened).limits(PEAK) == LimitSeen(peak=2, off_peak=4)


def test_limit_seen_follows_recent_samples_and_forgets_old_ones(store: EventStore) -> None:
    book = LimitSeenBook(store)
    old = PEAK - timedelta(days=40)
    for _ in range(5):
        book.record(old, 2)  # a stricter limit, long ago
    assert book.limits(old).peak == 1
    for _ in range(3):
        book.record(PEAK, 4)
    assert book.limits(PEAK).peak == 3  # the old samples are out of the 30-day window
    for _ in range(30):
        book.record(PEAK, 6)
    assert book.limits(PEAK).peak == 5  # only the latest samples count
    assert store.get_state(LIMIT_SEEN_STATE_KEY) is not None
    assert len(store.get_state(LIMIT_SEEN_STATE_KEY) or "") < 4000  # bounded


def test_limit_seen_is_at_least_one_and_uses_the_peak_setting(store: EventStore) -> None:
    book = LimitSeenBook(store, peak_hours="09:00-11:00")
    book.record(OFF_PEAK, 1)  # 10:00 is peak with this setting
    assert book.limits(OFF_PEAK) == LimitSeen(peak=1, off_peak=None)


def test_damaged_limit_state_is_relearned(store: EventStore) -> None:
    for text in ("{not json", "[]", '{"peak": "x", "off_peak": [[1, 2], ["bad-date", 3]]}'):
        store.set_state(LIMIT_SEEN_STATE_KEY, text)
        assert LimitSeenBook(store).limits(PEAK) == LimitSeen(None, None)
    LimitSeenBook(store).record(PEAK, 3)
    assert LimitSeenBook(store).limits(PEAK).peak == 2


# --- the combined state ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tier", "recommended"),
    [("lite", "1"), ("pro", "1-2"), ("max", "2+"), ("Pro", "1-2"), (None, None), ("credit", None)],
)
def test_recommendation_by_tier(tier: str | None, recommended: str | None) -> None:
    assert concurrency_state(None, None, tier, now=PEAK).recommended == recommended


def test_tooltip_and_json_with_the_meter() -> None:
    state = concurrency_state(
        meter(2, peak_5m=3),
        activity(3, 2),
        "pro",
        limits=LimitSeen(peak=2, off_peak=4),
        now=PEAK,
    )
    assert state.tooltip_line == "Concurrency: 2 in flight (peak 3 in 5 min), limit seen ≈2"
    assert state.to_json() == {
        "in_flight": 2,
        "peak_5m": 3,
        "active_sessions": 3,
        "active_projects": 2,
        "recommended": "1-2",
        "limit_seen": {"peak": 2, "off_peak": 4},
    }
    assert state.peak_now and state.limit_seen_now == 2
    assert state.warning is not None and "limit seen in peak hours (≈2)" in state.warning
    off = concurrency_state(meter(2, 3), None, "pro", limits=LimitSeen(2, 4), now=OFF_PEAK)
    assert off.warning is None  # off-peak the platform allowed 4
    assert off.tooltip_line == "Concurrency: 2 in flight (peak 3 in 5 min), limit seen ≈4"


def test_tooltip_without_the_meter_or_any_source() -> None:
    state = concurrency_state(None, activity(3, 2), "pro", now=PEAK)
    assert state.tooltip_line == "Concurrency: 3 sessions in 2 projects active, recommended 1-2"
    assert state.to_json()["in_flight"] is None and state.to_json()["peak_5m"] is None
    one = concurrency_state(None, activity(1, 1), "lite", now=PEAK)
    assert one.tooltip_line == "Concurrency: 1 session in 1 project active, recommended 1"
    assert concurrency_state(None, None, "pro", now=PEAK).tooltip_line is None
    # The meter off and nobody coding: nothing to say, not "0 sessions in 0 projects".
    assert concurrency_state(None, activity(0, 0), "pro", now=PEAK).tooltip_line is None
    nothing = concurrency_state(None, None, None, now=PEAK).to_json()
    assert nothing == {
        "in_flight": None,
        "peak_5m": None,
        "active_sessions": None,
        "active_projects": None,
        "recommended": None,
        "limit_seen": {"peak": None, "off_peak": None},
    }


def test_warnings() -> None:
    # Above the tier's recommendation, no limit seen yet.
    above = concurrency_state(meter(3), None, "pro", now=PEAK)
    assert above.warning == "3 in flight: above the Pro recommendation (1-2)"
    assert concurrency_state(meter(2), None, "pro", now=PEAK).warning is None
    assert concurrency_state(meter(9), None, "max", now=PEAK).warning is None  # "2 or more"
    # At the limit seen for this period, even within the recommendation.
    at = concurrency_state(meter(1), None, "pro", limits=LimitSeen(peak=1), now=PEAK)
    assert at.warning is not None and "1302" in at.warning
    # Nothing in flight: no warning, whatever was seen.
    idle = concurrency_state(meter(0, 5), None, "lite", limits=LimitSeen(1, 1), now=PEAK)
    assert idle.warning is None and idle.peak_5m == 5
    # Without the meter, projects against the recommendation.
    busy = concurrency_state(None, activity(4, 3), "pro", now=PEAK)
    assert busy.warning == "3 projects active: above the Pro recommendation (1-2)"
    assert concurrency_state(None, activity(4, 2), "pro", now=PEAK).warning is None


def test_meter_stats_json_round_trip_and_tolerance() -> None:
    when = datetime(2026, 3, 2, 7, 0, tzinfo=timezone.utc)
    stats = MeterStats(
        in_flight=2,
        peak_1m=3,
        peak_5m=4,
        peak_60m=5,
        requests_per_minute=12,
        requests_total=99,
        ttfb_median_ms=812.5,
        errors_total=3,
        errors_by_code={1302: 2, 1313: 1},
        upstream_failures=1,
        limit_hits=(LimitHit(when, 3),),
        last_error_code=1313,
        last_error_at=when,
    )
    assert MeterStats.from_json(stats.to_json()) == stats
    odd = MeterStats.from_json(
        {"in_flight": "2", "peak_5m": True, "errors_by_code": {"x": 1, "1302": 2}, "limit_hits": [1, {"time": "bad", "in_flight": 2}], "last_error_at": "never"}
    )  # fmt: skip
    assert odd == MeterStats(errors_by_code={1302: 2})
