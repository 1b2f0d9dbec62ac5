"""Sample AppStates built from real model objects (Snapshot, Quota, Subscription), the same
ones the parser produces: the widget tests check the widgets against them, and
`render_widgets.py` draws them to look at."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import TYPE_CHECKING

from glmtray.errors import GlmtrayError, PlatformError
from glmtray.platform.models import (
    FIVE_HOUR,
    MONTHLY_TOOLS,
    WEEKLY,
    Quota,
    QuotaWindow,
    Section,
    Snapshot,
    Subscription,
    ToolCount,
)
from glmtray.platform.regions import Region
from glmtray.settings import Settings
from glmtray.state import AppState, Notice, NoticeKey, Phase

if TYPE_CHECKING:
    from glmtray.activity.risk_watch import RiskReport

NOW = datetime(2026, 3, 3, 10, 0, tzinfo=timezone.utc)
"""A fixed Tuesday: every reset time and renewal date below is relative to it."""


def make_windows(
    five: float = 17,
    weekly: float = 3,
    *,
    five_started: bool = True,
    tools_used: int = 37,
) -> tuple[QuotaWindow, ...]:
    return (
        QuotaWindow(
            FIVE_HOUR,
            "TOKENS_LIMIT",
            five,
            NOW + timedelta(hours=2, minutes=14) if five_started else None,
            unit=3,
            number=5,
        ),
        QuotaWindow(
            WEEKLY, "TOKENS_LIMIT", weekly, NOW + timedelta(days=4, hours=3), unit=6, number=1
        ),
        QuotaWindow(
            MONTHLY_TOOLS,
            "TIME_LIMIT",
            tools_used / 10,
            NOW + timedelta(days=20),
            used=tools_used,
            limit=1000,
            remaining=1000 - tools_used,
            unit=5,
            number=1,
            tools=(
                ToolCount("search-prime", tools_used - 12),
                ToolCount("web-reader", 9),
                ToolCount("zread", 3),
            ),
        ),
    )


def make_subscription(
    *, auto_renew: bool | None = True, renew_in_days: int = 20, price: str | None = "30"
) -> Subscription:
    return Subscription(
        product="GLM Coding Pro",
        product_id="coding-pro-monthly",
        status="VALID",
        in_current_period=True,
        auto_renew=auto_renew,
        next_renewal=NOW.date() + timedelta(days=renew_in_days),
        billing_cycle="monthly",
        price=Decimal(price) if price is not None else None,
        currency="USD" if price is not None else None,
    )


def make_snapshot(
    *,
    region: Region = Region.GLOBAL,
    windows: tuple[QuotaWindow, ...] | None = None,
    subscription: Subscription | None = None,
    with_subscription: bool = True,
    risk: bool | None = False,
    fetched_ago: timedelta = timedelta(seconds=40),
    warnings: tuple[str, ...] = (),
    problems: dict[Section, PlatformError] | None = None,
) -> Snapshot:
    return Snapshot(
        region=region,
        fetched_at=NOW - fetched_ago,
        quota=Quota("pro", windows if windows is not None else make_windows()),
        subscription=(subscription or make_subscription()) if with_subscription else None,
        risk_restricted=risk,
        problems=problems or {},
        warnings=warnings,
    )


def make_state(
    snapshot: Snapshot | None = None,
    *,
    phase: Phase = Phase.READY,
    error: GlmtrayError | None = None,
    region: Region = Region.GLOBAL,
    settings: Settings | None = None,
    demo: bool = False,
    notices: tuple[str, ...] = (),
) -> AppState:
    return AppState(
        phase=phase,
        region=region,
        settings=settings or Settings(region=region),
        snapshot=snapshot,
        error=error,
        last_attempt=NOW,
        demo=demo,
        notices=tuple(Notice(key, text) for key, text in zip(NoticeKey, notices, strict=False)),
    )


def healthy_state(**kw: object) -> AppState:
    return make_state(make_snapshot(), **kw)  # type: ignore[arg-type]


def weekly_exhausted_state() -> AppState:
    return make_state(make_snapshot(windows=make_windows(five=3, weekly=100)))


def restricted_state() -> AppState:
    return make_state(
        make_snapshot(risk=True, windows=make_windows(five=41, weekly=62)), region=Region.CHINA
    )


def stale_state() -> AppState:
    return make_state(make_snapshot(fetched_ago=timedelta(minutes=12)))


def risk_report(*signals: tuple[timedelta, int] | tuple[timedelta, int, str]) -> RiskReport:
    """The risk monitor's real report at NOW for business codes seen `ago` before it, each
    with the platform's message when given: (ago, code) or (ago, code, message)."""
    from glmtray.activity.events import Event
    from glmtray.activity.risk import RiskMonitor
    from glmtray.activity.risk_watch import RiskReport
    from glmtray.platform.codes import classify

    events = [
        Event(
            id=number,
            time=NOW - signal[0],
            source="transcript",
            code=signal[1],
            code_class=classify(signal[1]),
            message=signal[2] if len(signal) > 2 else "",
            trace_id=None,
            dedup_key=f"sample{number}",
            http_status=429,
        )
        for number, signal in enumerate(signals, start=1)
    ]
    return RiskReport(RiskMonitor().evaluate(events, None, NOW), None)
