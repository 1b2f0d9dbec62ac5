"""A snapshot as a script reads it (`status --json`) and as a person reads it (plain text)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from glmtray.platform.models import QuotaWindow, Snapshot, Subscription
from glmtray.renewal import money
from glmtray.timeutil import format_day, format_duration, format_local_time, iso_utc


def window_json(window: QuotaWindow) -> dict[str, Any]:
    return {
        "id": window.id,
        "type": window.type,
        "label": window.label,
        "used_percent": round(window.used_percent, 1),
        "resets_at": iso_utc(window.resets_at) if window.resets_at else None,
        "used": window.used,
        "limit": window.limit,
        "remaining": window.remaining,
        "tools": {tool.name: tool.count for tool in window.tools} or None,
    }


def subscription_json(sub: Subscription | None) -> dict[str, Any] | None:
    if sub is None:
        return None

    def day(value: date | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "product": sub.product,
        "status": sub.status,
        "auto_renew": sub.auto_renew,
        "next_renewal": day(sub.next_renewal),
        "cancel_by": day(sub.cancel_by),
        "billing_cycle": sub.billing_cycle,
        "price": str(sub.price) if sub.price is not None else None,
        "currency": sub.currency,
    }


def snapshot_json(snapshot: Snapshot) -> dict[str, Any]:
    blocking = snapshot.blocking_window
    return {
        "region": snapshot.region.value,
        "tier": snapshot.tier.value if snapshot.tier else None,
        "plan_name": snapshot.plan_name,
        "windows": [window_json(w) for w in snapshot.windows],
        "blocking_window": blocking.id if blocking else None,
        "subscription": subscription_json(snapshot.subscription),
        "risk": {"restricted": snapshot.risk_restricted},
        "warnings": list(snapshot.warnings),
        "problems": {
            section.value: {
                "error": type(error).__name__,
                "title": error.title,
                "message": error.message,
            }
            for section, error in snapshot.problems.items()
        },
        "fetched_at": iso_utc(snapshot.fetched_at),
    }


def reset_phrase(window: QuotaWindow, now: datetime) -> str:
    if window.resets_at is None:
        return "not started"
    return f"resets in {format_duration(window.resets_at - now)} ({format_local_time(window.resets_at, now)})"


def blocking_phrase(window: QuotaWindow, now: datetime) -> str:
    if window.is_exhausted:
        back = f": back on {format_local_time(window.resets_at, now)}" if window.resets_at else ""
        return f"{window.label} limit reached{back}"
    return f"{window.label} window is the closest to its limit ({window.used_percent:.0f} %)"


def renewal_lines(sub: Subscription, today: date) -> list[str]:
    """Renewal and cancel-by lines in the user's local calendar (`today` is local too)."""
    renewal_day = sub.local_renewal_day()
    if renewal_day is None:
        return ["Renewal: unknown"]
    if sub.entered_by_hand:
        lines = [f"Renews: {format_day(renewal_day)} (set by hand in Settings)"]
    elif sub.auto_renew is False:
        return [f"Plan ends: {format_day(renewal_day)} (auto-renew off)"]
    else:
        price = money(sub.price, sub.currency)
        for_price = f" for {price}" if price else ""
        state = "auto-renew on" if sub.auto_renew else "auto-renew unknown"
        lines = [f"Renews: {format_day(renewal_day)}{for_price} ({state})"]
    cancel_by = sub.local_cancel_by()
    days = sub.days_to_cancel(today)
    if cancel_by is not None and days is not None:
        if days > 1:
            left = f"{days} days left"
        elif days == 1:
            left = "1 day left"
        elif days == 0:
            left = "today is the last day"
        else:
            left = "too late to cancel this period"
        lines.append(f"Cancel by: {format_day(cancel_by)} ({left})")
    return lines


def snapshot_text(snapshot: Snapshot, now: datetime) -> str:
    lines: list[str] = []
    tier = snapshot.tier.display_name if snapshot.tier else "unknown tier"
    lines.append(f"{snapshot.plan_name or 'GLM Coding Plan'} ({tier}) · {snapshot.region.value}")
    width = max((len(w.label) for w in snapshot.windows), default=0)
    for window in snapshot.windows:
        counts = (
            f"  {window.used}/{window.limit}" if window.used is not None and window.limit else ""
        )
        lines.append(
            f"  {window.label:<{width}}  {window.used_percent:5.1f} %{counts}  {reset_phrase(window, now)}"
        )
        if window.tools:
            lines.append("    " + ", ".join(f"{t.name} {t.count}" for t in window.tools))
    blocking = snapshot.blocking_window
    if blocking is not None:
        lines.append(blocking_phrase(blocking, now))
    if snapshot.subscription is not None:
        lines.extend(renewal_lines(snapshot.subscription, now.astimezone().date()))
    if snapshot.risk_restricted is True:
        lines.append(
            "Risk control: RESTRICTED - benefits limited; you can ask support for a review"
        )
    elif snapshot.risk_restricted is False:
        lines.append("Risk control: not restricted")
    elif snapshot.region.value == "china":
        lines.append("Risk control: unknown (the platform did not answer)")
    else:
        lines.append("Risk control: unknown (the platform publishes no flag for this region)")
    lines.extend(f"Warning: {w}" for w in snapshot.warnings)
    return "\n".join(lines)
