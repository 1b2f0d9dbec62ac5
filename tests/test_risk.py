"""Risk monitor: code classes, reset times, episodes and strikes, notices, review request."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from glmtray.activity.events import Event, EventStore, Signal
from glmtray.activity.risk import (
    RiskFlagReading,
    RiskMonitor,
    RiskState,
    RiskStatus,
    status_for_code,
)
from glmtray.activity.risk_store import NoticeLedger, load_risk_flag, record_risk_flag
from glmtray.activity.risk_text import review_request, risk_notices
from glmtray.platform.codes import CodeClass, classify, parse_reset_time
from glmtray.redact import register_secret
from glmtray.timeutil import PLATFORM_TZ

ACCOUNT = "global:default"

T0 = datetime(2026, 11, 27, 10, 0, tzinfo=timezone.utc)
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
_ids = itertools.count(1)


def at(hours: float = 0, minutes: float = 0) -> datetime:
    return T0 + timedelta(hours=hours, minutes=minutes)


def event(
    when: datetime,
    code: int | None,
    *,
    trace_id: str | None = None,
    message: str = "",
    source: str = "transcript",
    code_class: CodeClass | None = None,
) -> Event:
    number = next(_ids)
    return Event(
        id=number,
        time=when,
        source=source,
        code=code,
        code_class=code_class or classify(code),
        message=message,
        trace_id=trace_id,
        dedup_key=f"k{number}",
        http_status=429,
    )


def flag_event(when: datetime) -> Event:
    return event(when, None, source="risk_flag", code_class=CodeClass.RESTRICTED)


@pytest.fixture
def monitor() -> RiskMonitor:
    return RiskMonitor()


@pytest.fixture
def store() -> Iterator[EventStore]:
    opened = EventStore(":memory:", ACCOUNT)
    yield opened
    opened.close()


# --- classification ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("codes", "status"),
    [
        ((1302, 1303, 1305), RiskStatus.THROTTLED),
        ((1304, 1308, 1310, 1316, 1317, 1318, 1319, 1320, 1321), RiskStatus.WINDOW_EXHAUSTED),
        ((1313,), RiskStatus.RESTRICTED),
        ((1112, 1121), RiskStatus.LOCKED),
        ((1309, 1113), RiskStatus.PLAN_MISSING),
        ((1000, 1311, 1312, 1110, 9999, None), None),
    ],
)
def test_status_for_every_code_class(codes: tuple[int | None, ...], status: RiskStatus) -> None:
    for code in codes:
        assert status_for_code(code) is status, code


@pytest.mark.parametrize(
    ("code", "status"),
    [
        (1302, RiskStatus.THROTTLED),
        (1308, RiskStatus.WINDOW_EXHAUSTED),
        (1313, RiskStatus.RESTRICTED),
        (1121, RiskStatus.LOCKED),
        (1309, RiskStatus.PLAN_MISSING),
        (8888, RiskStatus.OK),
    ],
)
def test_one_fresh_signal_sets_the_status(
    monitor: RiskMonitor, code: int, status: RiskStatus
) -> None:
    state = monitor.evaluate([event(at(), code)], None, at(minutes=1))
    assert state.status is status


def test_unknown_codes_are_kept_and_listed(monitor: RiskMonitor) -> None:
    events = [event(at(), 4711), event(at(minutes=1), 1302), event(at(minutes=2), 4711)]
    state = monitor.evaluate(events, None, at(minutes=3))
    assert state.unknown_codes == (4711,)
    assert state.status is RiskStatus.THROTTLED


# --- reset times -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            "Usage limit reached. Your limit will reset at 2026-11-27 18:00:00",
            datetime(2026, 11, 27, 10, 0, tzinfo=timezone.utc),
        ),
        (
            "您的周/月使用上限已用尽，将在 2026-11-29 18:00:00 重置",
            datetime(2026, 11, 29, 10, 0, tzinfo=timezone.utc),
        ),
        (
            "Limit exhausted, reset at 2026-11-27T12:30:00Z",
            datetime(2026, 11, 27, 12, 30, tzinfo=timezone.utc),
        ),
        (
            "Limit exhausted, reset at 2026-11-27 20:30 +09:00",
            datetime(2026, 11, 27, 11, 30, tzinfo=timezone.utc),
        ),
        (
            "Since 2026-11-20 08:00:00 you used it all; it will reset at 2026-11-27 18:00:00",
            datetime(2026, 11, 27, 10, 0, tzinfo=timezone.utc),
        ),
        ("Weekly limit exhausted", None),
        ("reset at 2026-13-45 18:00:00", None),
        ("", None),
    ],
)
def test_reset_time(message: str, expected: datetime | None) -> None:
    parsed = parse_reset_time(message)
    assert parsed == expected
    if parsed is not None:
        assert parsed.tzinfo is not None


def test_reset_time_without_zone_is_platform_time() -> None:
    parsed = parse_reset_time("will reset at 2026-11-27 18:00:00")
    assert parsed is not None and parsed.utcoffset() == PLATFORM_TZ.utcoffset(None)


# --- risk flag -------------------------------------------------------------------------------


def test_risk_flag_true_is_recorded_once_an_hour_and_kept(store: EventStore) -> None:
    for minutes in (0, 10, 20, 70):
        record_risk_flag(store, True, at(minutes=minutes))
    assert [e.time for e in store.all_events()] == [at(), at(minutes=70)]
    assert all(e.source == "risk_flag" for e in store.all_events())
    assert all(e.code_class is CodeClass.RESTRICTED for e in store.all_events())
    assert load_risk_flag(store) == RiskFlagReading(True, at(minutes=70))


def test_risk_flag_flip_to_false_records_the_last_true_reading(store: EventStore) -> None:
    record_risk_flag(store, True, at())
    record_risk_flag(store, True, at(minutes=40))
    record_risk_flag(store, False, at(minutes=45))
    record_risk_flag(store, None, at(minutes=50))
    assert [e.time for e in store.all_events()] == [at(), at(minutes=40)]
    assert load_risk_flag(store) == RiskFlagReading(None, at(minutes=50))


def test_no_risk_flag_reading(store: EventStore) -> None:
    assert load_risk_flag(store) is None
    store.set_state("risk.flag_last", "{broken")
    assert load_risk_flag(store) is None


# --- episodes and strikes ----------------------------------------------------------------


def test_restriction_episode_starts_and_ends_after_the_quiet_period(monitor: RiskMonitor) -> None:
    events = [event(at(), 1313, trace_id="t1"), event(at(hours=2), 1313, trace_id="t2")]

    during = monitor.evaluate(events, None, at(hours=3))
    assert during.status is RiskStatus.RESTRICTED
    assert during.active_episode is not None
    assert during.active_episode.since == at()
    assert during.active_episode.last_seen == at(hours=2)
    assert during.active_episode.codes == (1313,)
    assert during.active_episode.trace_ids == ("t1", "t2")
    assert during.strikes == 1 and during.strike_limit == 3
    assert not during.appears_lifted

    just_before = monitor.evaluate(events, None, at(hours=7, minutes=59))
    assert just_before.status is RiskStatus.RESTRICTED

    after = monitor.evaluate(events, None, at(hours=8))
    assert after.status is RiskStatus.OK
    assert after.active_episode is None
    assert after.appears_lifted
    assert after.episodes[0].end == at(hours=8)
    assert after.strikes == 1


def test_each_episode_is_a_strike(monitor: RiskMonitor) -> None:
    events = [
        event(at(), 1313),
        event(at(hours=5), 1313),  # within 6 h: same episode
        event(at(hours=20), 1313),  # after a full quiet period: second episode
        event(at(hours=40), 1121),  # third, with a lock
    ]
    state = monitor.evaluate(events, None, at(hours=41))
    assert state.strikes == 3
    assert [e.since for e in state.episodes] == [at(), at(hours=20), at(hours=40)]
    assert [e.end for e in state.episodes] == [at(hours=11), at(hours=26), None]
    assert state.status is RiskStatus.LOCKED
    assert state.active_episode is not None and state.active_episode.locked


def test_quiet_period_is_a_parameter() -> None:
    monitor = RiskMonitor(quiet_period=HOUR)
    events = [event(at(), 1313), event(at(hours=2), 1313)]
    state = monitor.evaluate(events, None, at(hours=4))
    assert state.strikes == 2 and state.appears_lifted


def test_flag_true_keeps_the_episode_open(monitor: RiskMonitor) -> None:
    events = [event(at(), 1313)]
    flag = RiskFlagReading(True, at(hours=10))
    state = monitor.evaluate(events, flag, at(hours=10))
    assert state.status is RiskStatus.RESTRICTED
    assert state.active_episode is not None
    assert state.active_episode.flagged
    assert state.active_episode.last_seen == at(hours=10)


def test_flag_true_alone_starts_an_episode(monitor: RiskMonitor) -> None:
    state = monitor.evaluate([], RiskFlagReading(True, at()), at(minutes=1))
    assert state.status is RiskStatus.RESTRICTED
    assert state.active_episode is not None and state.active_episode.codes == ()


def test_episode_ends_only_when_the_flag_reads_false_after_the_last_signal(
    monitor: RiskMonitor,
) -> None:
    events = [flag_event(at()), event(at(hours=1), 1313)]
    stale_false = RiskFlagReading(False, at(minutes=30))
    assert monitor.evaluate(events, stale_false, at(hours=12)).active_episode is not None

    fresh_false = RiskFlagReading(False, at(hours=11))
    state = monitor.evaluate(events, fresh_false, at(hours=12))
    assert state.active_episode is None and state.appears_lifted

    # Flag already false but the quiet period not over: still restricted.
    early = monitor.evaluate(events, RiskFlagReading(False, at(hours=2)), at(hours=3))
    assert early.status is RiskStatus.RESTRICTED


def test_unknown_flag_reading_leaves_it_to_the_quiet_period(monitor: RiskMonitor) -> None:
    events = [event(at(), 1313)]
    state = monitor.evaluate(events, RiskFlagReading(None, at(hours=7)), at(hours=7))
    assert state.appears_lifted


def test_throttles_do_not_start_episodes(monitor: RiskMonitor) -> None:
    events = [event(at(minutes=m), 1302) for m in range(0, 60, 5)]
    state = monitor.evaluate(events, None, at(hours=1))
    assert state.strikes == 0 and state.episodes == ()
    assert not state.appears_lifted


# --- transient statuses -------------------------------------------------------------------


def test_throttle_ages_out_after_the_transient_window(monitor: RiskMonitor) -> None:
    events = [event(at(), 1302), event(at(minutes=5), 1303, trace_id="t9")]
    state = monitor.evaluate(events, None, at(minutes=19))
    assert state.status is RiskStatus.THROTTLED
    assert state.throttle is not None
    assert state.throttle.since == at()
    assert state.throttle.last_seen == at(minutes=5)
    assert state.throttle.code == 1303 and state.throttle.trace_id == "t9"
    assert state.throttle.until == at(minutes=20)

    later = monitor.evaluate(events, None, at(minutes=20))
    assert later.status is RiskStatus.OK
    assert later.throttle is not None and not later.throttle.active


def test_successful_message_clears_a_throttle(monitor: RiskMonitor) -> None:
    events = [event(at(), 1302)]
    state = monitor.evaluate(events, None, at(minutes=2), last_activity=at(minutes=1))
    assert state.status is RiskStatus.OK


def test_exhausted_window_lasts_until_the_named_reset(monitor: RiskMonitor) -> None:
    message = "Weekly/Monthly Limit Exhausted. Your limit will reset at 2026-11-29 18:00:00"
    events = [event(at(), 1310, message=message)]
    reset = datetime(2026, 11, 29, 10, 0, tzinfo=timezone.utc)
    state = monitor.evaluate(events, None, at(hours=30))
    assert state.status is RiskStatus.WINDOW_EXHAUSTED
    assert state.throttle is not None and state.throttle.reset_at == reset
    assert monitor.evaluate(events, None, reset).status is RiskStatus.OK


def test_exhausted_window_without_reset_time_ages_out(monitor: RiskMonitor) -> None:
    events = [event(at(), 1316, message="5-hour limit reached")]
    assert monitor.evaluate(events, None, at(minutes=10)).status is RiskStatus.WINDOW_EXHAUSTED
    assert monitor.evaluate(events, None, at(minutes=16)).status is RiskStatus.OK


def test_plan_missing(monitor: RiskMonitor) -> None:
    events = [event(at(), 1309), event(at(minutes=1), 1302)]
    state = monitor.evaluate(events, None, at(minutes=30))
    assert state.status is RiskStatus.PLAN_MISSING
    assert state.plan_missing_since == at()
    assert monitor.evaluate(events, None, at(hours=1)).status is RiskStatus.OK


def test_restriction_outranks_throttling(monitor: RiskMonitor) -> None:
    events = [event(at(), 1313), event(at(minutes=1), 1302)]
    state = monitor.evaluate(events, None, at(minutes=2))
    assert state.status is RiskStatus.RESTRICTED
    assert state.throttle is not None and state.throttle.active


# --- notices -----------------------------------------------------------------------------------


def run(
    monitor: RiskMonitor,
    timeline: list[tuple[datetime, list[Event], RiskFlagReading | None]],
) -> list[list[str]]:
    """Evaluate at each step, as the app does, and collect the notice kinds."""
    before: RiskState | None = None
    kinds: list[list[str]] = []
    for now, events, flag in timeline:
        after = monitor.evaluate(events, flag, now)
        kinds.append([n.kind for n in risk_notices(before, after, tz=timezone.utc)])
        before = after
    return kinds


def test_restriction_notices_once_per_episode_then_lifted(monitor: RiskMonitor) -> None:
    first = [event(at(), 1313, trace_id="t1")]
    more = [*first, event(at(hours=1), 1313, trace_id="t2")]
    timeline: list[tuple[datetime, list[Event], RiskFlagReading | None]] = [
        (at(minutes=-1), [], None),
        (at(minutes=1), first, None),
        (at(minutes=30), first, None),
        (at(hours=1, minutes=1), more, None),
        (at(hours=7, minutes=1), more, None),
        (at(hours=8), more, None),
    ]
    assert run(monitor, timeline) == [
        [],
        ["restriction_started"],
        [],
        [],
        ["restriction_lifted"],
        [],
    ]


def test_restriction_notice_text(monitor: RiskMonitor) -> None:
    state = monitor.evaluate([event(at(), 1313, trace_id="t1")], None, at(minutes=1))
    [notice] = risk_notices(None, state, tz=timezone.utc)
    assert notice.title == "GLM Coding Plan restricted by risk control"
    assert notice.body.startswith("Since 10:00: ")  # a local clock time, not an ISO stamp
    assert "1313 (fair-use restriction by risk control)" in notice.body
    assert len(notice.body.splitlines()) <= 3
    assert "lifted automatically" in notice.body
    assert "3 violations lead to a ban" in notice.body
    assert "1 of 3" in notice.body
    assert "review" in notice.body
    assert notice.opens == "panel"


def test_escalation_to_a_lock_is_notified(monitor: RiskMonitor) -> None:
    restricted = [event(at(), 1313)]
    locked = [*restricted, event(at(minutes=30), 1121)]
    timeline: list[tuple[datetime, list[Event], RiskFlagReading | None]] = [
        (at(minutes=1), restricted, None),
        (at(minutes=31), locked, None),
        (at(minutes=40), locked, None),
    ]
    assert run(monitor, timeline) == [["restriction_started"], ["locked"], []]


def test_second_episode_notifies_again(monitor: RiskMonitor) -> None:
    one = [event(at(), 1313)]
    two = [*one, event(at(hours=10), 1313)]
    timeline: list[tuple[datetime, list[Event], RiskFlagReading | None]] = [
        (at(minutes=1), one, None),
        (at(hours=7), one, None),
        (at(hours=10, minutes=1), two, None),
    ]
    assert run(monitor, timeline) == [
        ["restriction_started"],
        ["restriction_lifted"],
        ["restriction_started"],
    ]


def test_throttling_notices_once_per_spell(monitor: RiskMonitor) -> None:
    spell = [event(at(), 1302), event(at(minutes=5), 1302)]
    again = [*spell, event(at(hours=2), 1305)]
    timeline: list[tuple[datetime, list[Event], RiskFlagReading | None]] = [
        (at(minutes=1), spell[:1], None),
        (at(minutes=6), spell, None),
        (at(minutes=30), spell, None),
        (at(hours=2, minutes=1), again, None),
    ]
    assert run(monitor, timeline) == [["throttled"], [], [], ["throttled"]]


def test_window_exhausted_notice_names_the_reset(monitor: RiskMonitor) -> None:
    message = "Usage limit reached. Your limit will reset at 2026-11-27 23:00:00"
    state = monitor.evaluate([event(at(), 1308, message=message)], None, at(minutes=1))
    [notice] = risk_notices(None, state, tz=timezone.utc)
    assert notice.kind == "window_exhausted"
    assert "It resets at 15:00." in notice.body


def test_ledger_sends_each_notice_once_across_restarts(
    monitor: RiskMonitor, store: EventStore
) -> None:
    state = monitor.evaluate([event(at(), 1313)], None, at(minutes=1))
    ledger = NoticeLedger(store)
    assert len(ledger.take_unsent(risk_notices(None, state))) == 1
    # A restart: no previous state, the same episode is still active.
    restarted = NoticeLedger(store)
    assert restarted.take_unsent(risk_notices(None, state)) == []


# --- from the store to the state ----------------------------------------------------------------


def test_store_signals_drive_the_monitor(monitor: RiskMonitor, store: EventStore) -> None:
    store.add(Signal(time=at(), source="transcript", code=1313, trace_id="t1", dedup_key="a"))
    record_risk_flag(store, True, at(minutes=10))
    state = monitor.evaluate(store.all_events(), load_risk_flag(store), at(minutes=11))
    assert state.status is RiskStatus.RESTRICTED
    assert state.active_episode is not None
    assert state.active_episode.flagged and state.active_episode.codes == (1313,)


# --- review request -------------------------------------------------------------------------------


def test_review_request_names_codes_times_and_traces_and_never_the_key(
    monitor: RiskMonitor,
) -> None:
    key = "00112233445566778899aabbccddeeff.QwErTyUiOpAsDfGh"
    register_secret(key)
    events = [
        event(at(), 1313, trace_id="trace-a", message=f"limited {key}"),
        event(at(hours=1), 1121, trace_id="trace-b"),
    ]
    state = monitor.evaluate(events, RiskFlagReading(False, at(hours=1)), at(hours=2))
    request = review_request("support@bigmodel.cn", "China (bigmodel.cn)", "GLM Coding Pro", state)

    assert request.to == "support@bigmodel.cn"
    assert "restriction" in request.subject and "China (bigmodel.cn)" in request.subject
    for expected in (
        "Region: China (bigmodel.cn)",
        "Plan: GLM Coding Pro",
        "First seen: 2026-11-27 10:00:00 UTC",
        "Last seen: 2026-11-27 11:00:00 UTC",
        "1313",
        "1121",
        "trace-a, trace-b",
        "Status: locked",
    ):
        assert expected in request.body
    assert key not in request.body and key not in request.mailto_url

    parts = urlsplit(request.mailto_url)
    assert parts.scheme == "mailto" and unquote(parts.path) == "support@bigmodel.cn"
    assert " " not in request.mailto_url and "\n" not in request.mailto_url
    query = parse_qs(parts.query)
    assert query["subject"] == [request.subject]
    assert query["body"] == [request.body.replace("\n", "\r\n")]


def test_review_request_after_the_episode_ended(monitor: RiskMonitor) -> None:
    state = monitor.evaluate([event(at(), 1313, trace_id="t1")], None, at(hours=7))
    request = review_request("support@z.ai", "Global (z.ai)", None, state)
    assert "Status: appears lifted" in request.body
    assert "Plan: unknown" in request.body
    assert "t1" in request.body


def test_review_request_without_any_episode(monitor: RiskMonitor) -> None:
    state = monitor.evaluate([], None, at())
    request = review_request("support@z.ai", "Global (z.ai)", "GLM Coding Max", state)
    assert "No restriction signal recorded" in request.body
    assert request.mailto_url.startswith("mailto:support@z.ai?subject=")


# --- when the user is back, per window ---------------------------------------------------------

FIVE_HOUR_1308 = "已达到 5 小时的使用上限。您的限额将在 2026-11-27 15:00:00 重置。"  # at(hours=-3)
FIVE_HOUR_RESET = "Usage limit reached for 5 hour. Your limit will reset at 2026-11-27 23:00:00"
WEEKLY_1310 = "[1310][Weekly/Monthly Limit Exhausted. Your limit will reset at 2026-12-01 18:00:00]"
MONTHLY_1310 = "您已达到每月使用上限，您的限额将在 2026-12-01 08:00:00 重置"


def test_back_at_per_window(monitor: RiskMonitor) -> None:
    events = [
        event(at(), 1308, message=FIVE_HOUR_RESET),
        event(at(minutes=1), 1310, message=WEEKLY_1310),
        event(at(minutes=2), 1310, message=MONTHLY_1310),
    ]
    state = monitor.evaluate(events, None, at(minutes=3))
    assert state.back_at == {
        "five_hour": at(hours=5),
        "weekly": at(hours=96),
        "monthly_tools": at(hours=86),
    }
    assert state.throttle is not None
    assert (state.throttle.code, state.throttle.window) == (1310, "monthly_tools")
    # Each entry goes once its moment has passed.
    later = monitor.evaluate(events, None, at(hours=5))
    assert later.back_at == {"weekly": at(hours=96), "monthly_tools": at(hours=86)}
    assert monitor.evaluate(events, None, at(hours=96)).back_at == {}


def test_the_latest_error_for_a_window_wins(monitor: RiskMonitor) -> None:
    later_reset = "Usage limit reached for 5 hour. Your limit will reset at 2026-11-28 04:00:00"
    events = [
        event(at(), 1308, message=FIVE_HOUR_RESET),
        event(at(hours=1), 1316, message=later_reset),
    ]
    assert monitor.evaluate(events, None, at(hours=2)).back_at == {"five_hour": at(hours=10)}


def test_a_reply_after_the_error_clears_back_at(monitor: RiskMonitor) -> None:
    events = [event(at(), 1310, message=WEEKLY_1310)]
    state = monitor.evaluate(events, None, at(minutes=5), last_activity=at(minutes=4))
    assert state.back_at == {}
    assert state.status is RiskStatus.OK
    # A reply before the error says nothing about it.
    earlier = monitor.evaluate(events, None, at(minutes=5), last_activity=at(minutes=-1))
    assert earlier.back_at == {"weekly": at(hours=96)}


@pytest.mark.parametrize(
    "message",
    [
        FIVE_HOUR_1308,  # before the signal
        "Your limit will reset at 9999-12-31 23:59:59",  # far beyond any window
        "Your limit will reset at 0001-01-01 00:00:00",  # no UTC equivalent
        "Your limit will reset at 2026-99-99 99:99:99",
        "Your limit will reset at soon",
        "",
    ],
)
def test_implausible_or_absent_reset_times_are_no_back_at(
    monitor: RiskMonitor, message: str
) -> None:
    events = [event(at(), 1308, message=message)]
    state = monitor.evaluate(events, None, at(minutes=1))
    assert state.back_at == {}
    assert state.throttle is not None
    assert state.throttle.reset_at is None and state.throttle.window == "five_hour"
    assert state.throttle.until == at(minutes=15)  # the transient window instead
    [notice] = risk_notices(None, state, tz=timezone.utc)
    assert "the 5-hour usage window is used up" in notice.body
    assert "resets at" not in notice.body


def test_window_exhausted_notice_names_the_window_and_the_moment(monitor: RiskMonitor) -> None:
    state = monitor.evaluate([event(at(), 1310, message=WEEKLY_1310)], None, at(minutes=1))
    [notice] = risk_notices(None, state, tz=timezone.utc)
    assert "the weekly usage window is used up (code 1310" in notice.body
    assert "It resets at Tue 10:00." in notice.body  # within the week: its day
    # Without a window (1304, the daily call limit), the old wording.
    daily = monitor.evaluate([event(at(), 1304)], None, at(minutes=1))
    assert daily.back_at == {}
    [notice] = risk_notices(None, daily, tz=timezone.utc)
    assert "a usage window is used up (code 1304" in notice.body


def test_throttles_have_no_back_at(monitor: RiskMonitor) -> None:
    events = [event(at(), 1302, message="Your limit will reset at 2026-11-27 23:00:00")]
    state = monitor.evaluate(events, None, at(minutes=1))
    assert state.back_at == {}
    assert state.throttle is not None and state.throttle.window is None
