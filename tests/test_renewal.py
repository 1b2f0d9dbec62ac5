"""Renewal reminders and local dates, with a controllable clock and zone."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from glmtray.monitor import FetchPlan, Monitor
from glmtray.platform.models import Quota, QuotaWindow, Snapshot, Subscription
from glmtray.platform.regions import REGIONS, Region
from glmtray.renewal import manual_subscription, money, renewal_notifications
from glmtray.settings import Settings
from glmtray.timeutil import PLATFORM_TZ

UTC = timezone.utc
BERLIN = timezone(timedelta(hours=1))
TOKYO = timezone(timedelta(hours=9))


def pro(
    renewal: date, *, auto_renew: bool = True, valid_until: datetime | None = None
) -> Subscription:
    return Subscription(
        "GLM Coding Pro", "coding-pro", "VALID", True, auto_renew, renewal, "monthly", Decimal("30"), "USD",
        valid_until=valid_until,
    )  # fmt: skip


def at(day: date, hour: int = 12, tz: timezone = BERLIN) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=tz)


def test_money_formats() -> None:
    assert money(Decimal("30.00"), "USD") == "$30"
    assert money(Decimal("27.5"), "CNY") == "¥27.50"
    assert money(Decimal("5"), "EUR") == "5 EUR"
    assert money(None, "USD") is None


def test_reminder_days_before_cancel_by_then_last_day_once_each() -> None:
    sub = pro(date(2027, 2, 12), valid_until=datetime(2027, 2, 12, 16, 55, tzinfo=PLATFORM_TZ))
    settings, sent = Settings(), set[str]()
    assert sub.local_cancel_by(BERLIN) == date(2027, 2, 9)
    assert (
        renewal_notifications(sub, settings, Region.GLOBAL, at(date(2027, 2, 6)), sent, BERLIN)
        == []
    )
    notes = renewal_notifications(sub, settings, Region.GLOBAL, at(date(2027, 2, 7)), sent, BERLIN)
    assert [n.body for n in notes] == [
        "The charge is $30. To stop it, cancel by 9 Feb: there are no refunds."
    ]
    assert notes[0].url == REGIONS[Region.GLOBAL].subscription_page
    assert (
        renewal_notifications(sub, settings, Region.GLOBAL, at(date(2027, 2, 8)), sent, BERLIN)
        == []
    )
    notes = renewal_notifications(sub, settings, Region.GLOBAL, at(date(2027, 2, 9)), sent, BERLIN)
    assert [n.title for n in notes] == ["Last day to cancel"] and notes[0].urgent
    assert (
        renewal_notifications(sub, settings, Region.GLOBAL, at(date(2027, 2, 10)), sent, BERLIN)
        == []
    )
    # after the renewal, the next date starts the cycle again
    following = pro(date(2027, 3, 12))
    notes = renewal_notifications(
        following, settings, Region.GLOBAL, at(date(2027, 3, 7)), sent, BERLIN
    )
    assert len(notes) == 1 and "11 Mar" in notes[0].title  # midnight UTC+8 is the 11th in Berlin


def test_each_reminder_can_be_turned_off() -> None:
    sub = pro(date(2027, 2, 12))
    off = replace(Settings(), notify_renewal=False, notify_cancel_day=False)
    for day in range(5, 13):
        assert (
            renewal_notifications(sub, off, Region.GLOBAL, at(date(2027, 2, day)), set(), BERLIN)
            == []
        )


def test_plan_ending_with_auto_renew_off() -> None:
    sub = pro(date(2027, 2, 12), auto_renew=False)
    sent: set[str] = set()
    assert (
        renewal_notifications(sub, Settings(), Region.CHINA, at(date(2027, 2, 7)), sent, BERLIN)
        == []
    )
    notes = renewal_notifications(sub, Settings(), Region.CHINA, at(date(2027, 2, 9)), sent, BERLIN)
    assert len(notes) == 1 and "ends on" in notes[0].title
    assert notes[0].url == REGIONS[Region.CHINA].subscription_page


@pytest.mark.parametrize(
    ("tz", "renewal_day", "cancel_by"),
    [
        (PLATFORM_TZ, date(2027, 2, 12), date(2027, 2, 9)),
        (TOKYO, date(2027, 2, 12), date(2027, 2, 9)),
        (UTC, date(2027, 2, 11), date(2027, 2, 8)),  # midnight UTC+8 is still the 11th in UTC
        (timezone(timedelta(hours=-8)), date(2027, 2, 11), date(2027, 2, 8)),
    ],
)
def test_local_days_across_zones(tz: timezone, renewal_day: date, cancel_by: date) -> None:
    sub = pro(date(2027, 2, 12))  # a bare platform date: midnight in UTC+8
    assert sub.renews_at == datetime(2027, 2, 12, 0, 0, tzinfo=PLATFORM_TZ)
    assert sub.local_renewal_day(tz) == renewal_day
    assert sub.local_cancel_by(tz) == cancel_by


def test_time_of_day_from_the_valid_range_moves_the_local_day() -> None:
    late = pro(date(2027, 2, 12), valid_until=datetime(2027, 2, 12, 23, 30, tzinfo=PLATFORM_TZ))
    assert late.local_renewal_day(TOKYO) == date(2027, 2, 13)  # 00:30 next day in UTC+9
    assert late.local_renewal_day(UTC) == date(2027, 2, 12)


def test_manual_date_fills_in_and_the_platform_wins() -> None:
    settings = replace(Settings(), manual_renewal_date="2027-01-20", manual_billing_cycle="monthly")
    manual = manual_subscription(settings, "GLM Coding Lite")
    assert (
        manual is not None and manual.entered_by_hand and manual.next_renewal == date(2027, 1, 20)
    )
    assert manual_subscription(replace(settings, manual_renewal_date="junk"), None) is None
    monitor = Monitor(Region.GLOBAL, settings)
    now = datetime(2027, 1, 1, tzinfo=UTC)
    window = QuotaWindow("five_hour", "TOKENS_LIMIT", 10, now + timedelta(hours=1))
    without = Snapshot(Region.GLOBAL, now, Quota("lite", (window,)), None, None)
    monitor.succeeded(without, FetchPlan(True, True), now)
    shown = monitor.state.snapshot
    assert (
        shown is not None and shown.subscription is not None and shown.subscription.entered_by_hand
    )
    with_platform = replace(without, subscription=pro(date(2027, 1, 25)))
    monitor.succeeded(with_platform, FetchPlan(True, True), now)
    shown = monitor.state.snapshot
    assert shown is not None and shown.subscription is not None
    assert not shown.subscription.entered_by_hand and shown.subscription.next_renewal == date(
        2027, 1, 25
    )


def test_days_to_cancel_counts_local_days() -> None:
    sub = pro(date(2027, 2, 12))  # midnight UTC+8: the 11th in UTC, so cancel by the 8th
    assert sub.days_to_cancel(date(2027, 2, 6), UTC) == 2
    assert sub.days_to_cancel(date(2027, 2, 6), PLATFORM_TZ) == 3
    assert sub.days_to_cancel(date(2027, 2, 9), UTC) == -1
    assert replace(sub, next_renewal=None).days_to_cancel(date(2027, 2, 6)) is None
