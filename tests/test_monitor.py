"""The refresh cycle's rules with a controllable clock: backoff, stale marking, merging."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

from glmtray.credentials import Account
from glmtray.errors import AuthenticationFailed, PlatformUnavailable
from glmtray.monitor import MAX_BACKOFF, FetchPlan, Monitor
from glmtray.platform.models import Quota, QuotaWindow, Section, Snapshot, Subscription
from glmtray.platform.regions import Region
from glmtray.settings import Settings
from glmtray.state import IconLook, Level, Phase

T0 = datetime(2026, 11, 27, 8, 0, tzinfo=timezone.utc)
FULL = FetchPlan(subscription=True, risk=True)
QUOTA_ONLY = FetchPlan(subscription=False, risk=False)


def snapshot(
    percent: float, at: datetime, *, sub: bool = True, risk: bool | None = False
) -> Snapshot:
    window = QuotaWindow(
        "five_hour", "TOKENS_LIMIT", percent, at + timedelta(hours=2), unit=3, number=5
    )
    subscription = (
        Subscription(
            "GLM Coding Pro",
            "p",
            "VALID",
            True,
            True,
            at.date() + timedelta(days=20),
            "monthly",
            None,
            "USD",
        )
        if sub
        else None
    )
    return Snapshot(Region.CHINA, at, Quota("pro", (window,)), subscription, risk)


def test_backoff_doubles_up_to_fifteen_minutes_then_resets() -> None:
    monitor = Monitor(Region.GLOBAL, Settings())
    assert monitor.next_delay() == timedelta(minutes=2)
    delays = []
    for i in range(8):
        monitor.failed(PlatformUnavailable(), T0 + timedelta(minutes=i))
        delays.append(monitor.next_delay())
    assert delays[:4] == [
        timedelta(seconds=30),
        timedelta(seconds=60),
        timedelta(seconds=120),
        timedelta(seconds=240),
    ]
    assert delays[-1] == MAX_BACKOFF and max(delays) == MAX_BACKOFF
    monitor.succeeded(snapshot(10, T0), FULL, T0 + timedelta(minutes=20))
    assert monitor.next_delay() == timedelta(minutes=2) and monitor.failures == 0


def test_last_good_data_is_kept_and_marked_stale() -> None:
    monitor = Monitor(Region.CHINA, Settings())
    monitor.succeeded(snapshot(40, T0), FULL, T0)
    assert monitor.state.phase is Phase.READY
    assert monitor.state.icon_spec(T0 + timedelta(minutes=1)).look is IconLook.GAUGE
    later = T0 + timedelta(minutes=3)
    monitor.failed(PlatformUnavailable(), later)
    state = monitor.state
    assert state.phase is Phase.ERROR and state.snapshot is not None
    spec = state.icon_spec(later)
    assert spec.look is IconLook.STALE and spec.percent == 40
    # stale by age alone: more than two refresh periods old
    fresh = Monitor(Region.CHINA, Settings())
    fresh.succeeded(snapshot(40, T0), FULL, T0)
    assert not fresh.state.is_stale(T0 + timedelta(minutes=4))
    assert fresh.state.is_stale(T0 + timedelta(minutes=4, seconds=1))
    assert fresh.state.icon_spec(T0 + timedelta(minutes=5)).look is IconLook.STALE


def test_quota_only_refresh_keeps_subscription_and_risk() -> None:
    monitor = Monitor(Region.CHINA, Settings())
    monitor.succeeded(snapshot(10, T0, risk=True), FULL, T0)
    monitor.succeeded(
        snapshot(20, T0 + timedelta(minutes=2), sub=False, risk=None),
        QUOTA_ONLY,
        T0 + timedelta(minutes=2),
    )
    state = monitor.state
    assert state.snapshot is not None and state.snapshot.subscription is not None
    assert state.snapshot.risk_restricted is True and state.restricted
    assert (
        state.snapshot.blocking_window is not None
        and state.snapshot.blocking_window.used_percent == 20
    )


def test_failed_subscription_section_keeps_previous_value() -> None:
    monitor = Monitor(Region.CHINA, Settings())
    monitor.succeeded(snapshot(10, T0), FULL, T0)
    broken = replace(
        snapshot(15, T0, sub=False), problems={Section.SUBSCRIPTION: PlatformUnavailable()}
    )
    monitor.succeeded(broken, FULL, T0 + timedelta(minutes=2))
    assert monitor.state.snapshot is not None and monitor.state.snapshot.subscription is not None


def test_slow_sections_hourly_or_on_demand() -> None:
    monitor = Monitor(Region.CHINA, Settings())
    assert monitor.plan(T0) == FULL
    monitor.succeeded(snapshot(10, T0), FULL, T0)
    assert monitor.plan(T0 + timedelta(minutes=30)) == QUOTA_ONLY
    assert monitor.plan(T0 + timedelta(minutes=30), forced=True) == FULL
    assert monitor.plan(T0 + timedelta(hours=1)) == FULL


def test_threshold_notifications_once_per_window_period() -> None:
    monitor = Monitor(Region.GLOBAL, Settings())
    assert monitor.succeeded(snapshot(50, T0), FULL, T0) == []
    notes = monitor.succeeded(snapshot(85, T0), QUOTA_ONLY, T0 + timedelta(minutes=2))
    assert [n.kind for n in notes] == ["threshold"] and "85 %" in notes[0].title
    assert monitor.succeeded(snapshot(90, T0), QUOTA_ONLY, T0 + timedelta(minutes=4)) == []
    notes = monitor.succeeded(snapshot(100, T0), QUOTA_ONLY, T0 + timedelta(minutes=6))
    assert len(notes) == 1 and notes[0].urgent and "limit reached" in notes[0].title
    # a new period (new reset time) may notify again
    next_period = T0 + timedelta(hours=5)
    assert len(monitor.succeeded(snapshot(81, next_period), QUOTA_ONLY, next_period)) == 1


def test_pause_silences_everything() -> None:
    monitor = Monitor(Region.GLOBAL, Settings())
    monitor.pause.for_duration(T0, timedelta(hours=1))
    notes = monitor.succeeded(snapshot(96, T0), FULL, T0)
    assert notes and monitor.deliverable(notes, T0 + timedelta(minutes=59)) == []
    assert monitor.deliverable(notes, T0 + timedelta(minutes=61)) == notes


def test_key_rejected_at_once_and_other_failures_after_a_while() -> None:
    monitor = Monitor(Region.GLOBAL, Settings())
    notes = monitor.failed(PlatformUnavailable(), T0)
    assert notes == []
    assert monitor.failed(PlatformUnavailable(), T0 + timedelta(minutes=5)) == []
    notes = monitor.failed(PlatformUnavailable(), T0 + timedelta(minutes=11))
    assert [n.kind for n in notes] == ["refresh_failing"]
    assert monitor.failed(PlatformUnavailable(), T0 + timedelta(minutes=20)) == []
    other = Monitor(Region.GLOBAL, Settings())
    notes = other.failed(AuthenticationFailed(), T0)
    assert [n.kind for n in notes] == ["key_rejected"] and other.key_rejected
    assert other.state.icon_spec(T0).look is IconLook.ERROR


def test_levels_follow_thresholds() -> None:
    monitor = Monitor(Region.GLOBAL, replace(Settings(), thresholds=(50, 70, 100)))
    for percent, level in [
        (10, Level.NORMAL),
        (55, Level.WARNING),
        (75, Level.CRITICAL),
        (100, Level.FULL),
    ]:
        monitor.succeeded(snapshot(percent, T0), FULL, T0)
        assert monitor.state.icon_spec(T0).level is level


def test_signed_out_look_and_tooltip() -> None:
    monitor = Monitor(Region.GLOBAL, Settings())
    monitor.signed_out()
    assert monitor.state.icon_spec(T0).look is IconLook.SIGNED_OUT
    assert "signed out" in monitor.state.tooltip(T0)
    monitor.signed_in(Account(Region.GLOBAL))
    assert monitor.state.icon_spec(T0).look is IconLook.LOADING


def test_tooltip_names_tier_blocking_window_and_renewal() -> None:
    monitor = Monitor(Region.CHINA, Settings())
    monitor.succeeded(snapshot(42, T0), FULL, T0)
    tip = monitor.state.tooltip(T0)
    assert (
        tip.startswith("GLM Coding Pro\n")  # the tier is in the name: said once
        and "(Pro)" not in tip
        and "5-hour: 42 %" in tip
        and "resets in 2 h" in tip
        and "Renews" in tip
    )


def test_concurrency_notification_once_per_spell() -> None:
    from glmtray.alerts import concurrency_notifications

    settings, sent = Settings(), set[str]()
    assert concurrency_notifications(0, 0, T0, settings, sent) == []
    notes = concurrency_notifications(0, 2, T0, settings, sent)
    assert [n.kind for n in notes] == ["concurrency"] and "refused 2 requests" in notes[0].body
    # more refusals within the spell: quiet, and the spell goes on
    assert concurrency_notifications(2, 5, T0 + timedelta(minutes=10), settings, sent) == []
    assert concurrency_notifications(5, 6, T0 + timedelta(minutes=20), settings, sent) == []
    # a quiet quarter of an hour ends the spell
    (again,) = concurrency_notifications(6, 7, T0 + timedelta(minutes=40), settings, sent)
    assert "refused 1 request with" in again.body
    off = replace(settings, notify_concurrency=False)
    assert concurrency_notifications(0, 9, T0 + timedelta(hours=5), off, set()) == []


def test_data_age_is_that_of_the_last_good_quota_through_an_outage() -> None:
    """Five minutes of failed refreshes (the quota endpoint answering 502 while the others
    answer) must not make the old figures look fresh: their age keeps growing and the
    stale look comes once they are over two refresh periods old."""
    from glmtray.errors import PlatformUnavailable as Unavailable

    monitor = Monitor(Region.GLOBAL, Settings())
    monitor.succeeded(snapshot(40, T0), FULL, T0)
    for minute in range(1, 6):
        moment = T0 + timedelta(minutes=minute)
        broken = replace(
            snapshot(0, moment), quota=None, problems={Section.QUOTA: Unavailable()}
        )
        monitor.succeeded(broken, FULL, moment)
        state = monitor.state
        assert state.phase is Phase.ERROR and state.snapshot is not None
        assert state.snapshot.fetched_at == T0
        assert state.snapshot.blocking_window is not None
        assert state.snapshot.blocking_window.used_percent == 40
        assert f"showing data from {minute} min ago" in state.tooltip(moment)
    assert monitor.state.icon_spec(T0 + timedelta(minutes=5)).look is IconLook.STALE


class MemoryLedger:
    def __init__(self) -> None:
        self.keys: dict[str, set[str]] = {}

    def sent_notifications(self, account: Account) -> set[str]:
        return set(self.keys.get(account.username, set()))

    def remember_sent(self, account: Account, keys: set[str]) -> None:
        self.keys[account.username] = set(keys)


def weekly_full(at: datetime) -> Snapshot:
    # The same window period all along: it resets at one fixed moment.
    window = QuotaWindow("weekly", "TOKENS_LIMIT", 100, T0 + timedelta(days=3), unit=6, number=1)
    return Snapshot(Region.GLOBAL, at, Quota("pro", (window,)), None, None)


def test_a_restart_does_not_repeat_what_was_already_shown() -> None:
    ledger = MemoryLedger()
    first = Monitor(Region.GLOBAL, Settings(), ledger=ledger)
    first.signed_in(Account(Region.GLOBAL))
    titles = [n.title for n in first.succeeded(weekly_full(T0), FULL, T0)]
    assert any("Weekly limit reached" in t for t in titles)
    restarted = Monitor(Region.GLOBAL, Settings(), ledger=ledger)
    restarted.signed_in(Account(Region.GLOBAL))
    later = T0 + timedelta(minutes=3)
    assert restarted.succeeded(weekly_full(later), FULL, later) == []
    # Another account has a ledger of its own.
    other = Monitor(Region.CHINA, Settings(), ledger=ledger)
    other.signed_in(Account(Region.CHINA))
    assert other.succeeded(weekly_full(later), FULL, later) != []


def test_a_plan_gone_is_said_at_once_and_drops_tier_and_bars() -> None:
    from glmtray.errors import NoCodingPlan, PlanExpired

    monitor = Monitor(Region.GLOBAL, Settings())
    monitor.succeeded(snapshot(40, T0), FULL, T0)
    notes = monitor.failed(PlanExpired(), T0 + timedelta(minutes=2))
    assert [n.title for n in notes] == ["Your GLM Coding Plan has expired"]
    assert notes[0].url == "https://z.ai/manage-apikey/subscription" and notes[0].urgent
    state = monitor.state
    assert state.snapshot is not None and state.snapshot.tier is None
    assert state.snapshot.blocking_window is None
    spec = state.icon_spec(T0 + timedelta(minutes=2))
    assert (spec.look, spec.level, spec.percent) == (IconLook.GAUGE, Level.FULL, 100.0)
    assert state.tooltip(T0).startswith("glmtray: Coding plan expired")
    assert monitor.failed(PlanExpired(), T0 + timedelta(minutes=3)) == []  # once
    assert isinstance(state.error, NoCodingPlan)


def test_a_charge_within_three_days_shows_in_tooltip_and_icon() -> None:
    monitor = Monitor(Region.CHINA, Settings())
    soon = snapshot(10, T0)
    assert soon.subscription is not None
    soon = replace(
        soon, subscription=replace(soon.subscription, next_renewal=(T0 + timedelta(days=2)).date())
    )
    monitor.succeeded(soon, FULL, T0)
    assert monitor.state.icon_spec(T0).charge_soon
    assert "Renewal charge in 2 days" in monitor.state.tooltip(T0) or "tomorrow" in monitor.state.tooltip(T0)
    far = snapshot(10, T0)
    monitor.succeeded(far, FULL, T0)
    assert not monitor.state.icon_spec(T0).charge_soon


def test_concurrency_advice_follows_the_peak_rule() -> None:
    """'The limit is higher off-peak' only while it is peak, with when off-peak starts."""
    from glmtray.alerts import concurrency_notifications
    from glmtray.peak import CREDIT, peak_status

    tuesday_peak = datetime(2026, 12, 1, 7, 0, tzinfo=timezone.utc)  # 15:00 UTC+8
    saturday = datetime(2026, 12, 5, 7, 0, tzinfo=timezone.utc)
    [peak_note] = concurrency_notifications(
        0, 2, tuesday_peak, Settings(), set(), peak=peak_status(tuesday_peak, CREDIT)
    )
    assert "higher off-peak, from" in peak_note.body
    [weekend_note] = concurrency_notifications(
        0, 2, saturday, Settings(), set(), peak=peak_status(saturday, CREDIT)
    )
    assert "off-peak already" in weekend_note.body and "higher off-peak" not in weekend_note.body


def test_a_reset_moment_that_moves_a_little_is_the_same_period() -> None:
    """Read at different times the platform's reset moment can move by seconds or minutes:
    "Weekly limit reached" is said once for the period all the same."""
    ledger = MemoryLedger()
    monitor = Monitor(Region.GLOBAL, Settings(), ledger=ledger)
    monitor.signed_in(Account(Region.GLOBAL))

    def weekly_out(at: datetime, drift: timedelta) -> Snapshot:
        window = QuotaWindow(
            "weekly", "TOKENS_LIMIT", 100, T0 + timedelta(days=3) + drift, unit=6, number=1
        )
        return Snapshot(Region.GLOBAL, at, Quota("pro", (window,)), None, None)

    assert monitor.succeeded(weekly_out(T0, timedelta()), FULL, T0) != []
    later = T0 + timedelta(minutes=5)
    assert monitor.succeeded(weekly_out(later, timedelta(minutes=5)), FULL, later) == []
    next_week = T0 + timedelta(days=4)
    assert monitor.succeeded(weekly_out(next_week, timedelta(days=7)), FULL, next_week) != []


def test_the_icon_shows_the_window_the_user_chose() -> None:
    """By default the window that blocks first; or the 5-hour window; or both token windows
    as two rings (a Max plan's monthly tool calls no longer take the icon)."""
    five = QuotaWindow("five_hour", "TOKENS_LIMIT", 20, T0 + timedelta(hours=2), unit=3, number=5)
    weekly = QuotaWindow("weekly", "TOKENS_LIMIT", 70, T0 + timedelta(days=3), unit=6, number=1)
    snap = Snapshot(Region.GLOBAL, T0, Quota("max", (five, weekly)), None, None)
    shown = {}
    for choice in ("blocking", "five_hour", "both"):
        monitor = Monitor(Region.GLOBAL, Settings(icon_shows=choice))
        monitor.succeeded(snap, FULL, T0)
        spec = monitor.state.icon_spec(T0)
        shown[choice] = (spec.percent, spec.inner_percent, spec.show_number)
    assert shown == {
        "blocking": (70, None, True),
        "five_hour": (20, None, True),
        "both": (20, 70, False),
    }
    assert Settings(icon_shows="nonsense").normalized().icon_shows == "blocking"
