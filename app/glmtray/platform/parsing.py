"""Turns the platform's JSON into models, tolerating every quirk the platform is known for.

Every field is optional, numbers may be numeric strings, unknown fields and unknown list
entries are normal, and errors often arrive inside HTTP 200. Anything that does not fit
raises UnexpectedResponse rather than a KeyError deep in the UI.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from glmtray.errors import (
    AccountRestricted,
    AuthenticationFailed,
    NoCodingPlan,
    PlanExpired,
    PlatformError,
    RateLimited,
    UnexpectedResponse,
)
from glmtray.platform import codes
from glmtray.platform.models import (
    FIVE_HOUR,
    MONTHLY_TOOLS,
    WEEKLY,
    Quota,
    QuotaWindow,
    Subscription,
    ToolCount,
)
from glmtray.timeutil import from_epoch_ms, parse_platform_datetime, platform_date

_NO_PLAN_HINTS = ("coding plan", "没有资格", "不存在")
_SUCCESS_CODES = (None, 0, 200)


def to_int(value: object) -> int | None:
    number = to_float(value)
    return None if number is None else int(number)


def to_float(value: object) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def to_bool(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
    return None


def business_error(
    code: int | None, message: str | None, http_status: int | None = None
) -> PlatformError:
    """The typed error for a business code (or HTTP status) and the platform's message."""
    text = message or ""
    kwargs: dict[str, Any] = {"code": code, "http_status": http_status, "platform_message": text}
    klass = codes.classify(code)
    if (
        code in codes.AUTH_CODES
        or http_status in (401, 403)
        or klass is codes.CodeClass.AUTH_FAILED
    ):
        return AuthenticationFailed(**kwargs)
    if code == 1309:
        return PlanExpired(**kwargs)
    if code == 1113 or any(hint in text.lower() for hint in _NO_PLAN_HINTS):
        return NoCodingPlan(**kwargs)
    if klass in (codes.CodeClass.LOCKED, codes.CodeClass.RESTRICTED):
        return AccountRestricted(**kwargs)
    if klass in (codes.CodeClass.THROTTLED, codes.CodeClass.WINDOW_EXHAUSTED) or http_status == 429:
        return RateLimited(**kwargs)
    described = f" ({codes.describe(code)})" if code is not None else ""
    return UnexpectedResponse(
        f"The platform answered with error {code}{described}: {text}".strip(": "), **kwargs
    )


def unwrap_envelope(body: object, http_status: int = 200) -> Any:
    """Return `data` of a successful envelope, or raise the error the envelope carries."""
    if not isinstance(body, Mapping):
        raise UnexpectedResponse(detail=f"top level is {type(body).__name__}, not an object")
    error = body.get("error")
    if isinstance(error, Mapping):
        # The inference endpoints' shape: {"error": {"code": "1302", "message": "..."}}
        raise business_error(
            to_int(error.get("code")), str(error.get("message") or ""), http_status
        )
    code = to_int(body.get("code"))
    success = to_bool(body.get("success"))
    if success is False or code not in _SUCCESS_CODES:
        raise business_error(code, str(body.get("msg") or body.get("message") or ""), http_status)
    return body.get("data")


def _window_id(kind: str, unit: int | None, number: int | None) -> str:
    if kind == "TIME_LIMIT" and (unit, number) in ((5, 1), (None, None)):
        return MONTHLY_TOOLS
    if kind in ("TOKENS_LIMIT", "CREDIT_LIMIT"):
        if (unit, number) == (3, 5):
            return FIVE_HOUR
        if (unit, number) in ((6, 1), (4, 7)):
            return WEEKLY
    slug = re.sub(r"[^a-z0-9]+", "_", kind.lower()).strip("_") or "window"
    return f"{slug}_{unit if unit is not None else 'x'}_{number if number is not None else 'x'}"


def _reset_time(value: object) -> datetime | None:
    number = to_float(value)
    if number is None:
        if isinstance(value, str):
            return parse_platform_datetime(value)
        return None
    if number <= 0:
        return None
    # Epoch milliseconds per the platform; a value that small can only be seconds.
    return from_epoch_ms(number if number > 1e11 else number * 1000)


def parse_window(raw: Mapping[str, Any]) -> QuotaWindow:
    kind = str(raw.get("type") or "UNKNOWN_LIMIT").upper()
    unit, number = to_int(raw.get("unit")), to_int(raw.get("number"))
    limit = to_int(raw.get("usage"))
    used = to_int(raw.get("currentValue"))
    remaining = to_int(raw.get("remaining"))
    percent = to_float(raw.get("percentage"))
    if percent is None and used is not None and limit:
        percent = 100.0 * used / limit
    percent = min(100.0, max(0.0, percent or 0.0))
    if used is not None and limit is not None and used >= limit:
        # currentValue can run past the cap; the user is simply out.
        percent = 100.0
        remaining = 0
    elif remaining is None and used is not None and limit is not None:
        remaining = limit - used
    tools = tuple(
        ToolCount(
            str(item.get("modelCode") or item.get("name") or "tool"), to_int(item.get("usage")) or 0
        )
        for item in raw.get("usageDetails") or ()
        if isinstance(item, Mapping)
    )
    return QuotaWindow(
        id=_window_id(kind, unit, number),
        type=kind,
        used_percent=percent,
        resets_at=_reset_time(raw.get("nextResetTime")),
        used=used,
        limit=limit,
        remaining=remaining,
        unit=unit,
        number=number,
        tools=tools,
    )


def parse_quota(data: object) -> Quota:
    if not isinstance(data, Mapping):
        raise UnexpectedResponse(detail="quota data is not an object")
    raw_limits = data.get("limits")
    if raw_limits is None:
        raw_limits = []
    if not isinstance(raw_limits, list):
        raise UnexpectedResponse(detail="quota limits is not a list")
    windows: list[QuotaWindow] = []
    seen: set[str] = set()
    for raw in raw_limits:
        if not isinstance(raw, Mapping):
            continue
        window = parse_window(raw)
        window_id, n = window.id, 2
        while window_id in seen:  # two windows of one kind still need distinct ids
            window_id, n = f"{window.id}_{n}", n + 1
        seen.add(window_id)
        if window_id != window.id:
            window = QuotaWindow(**{**window.__dict__, "id": window_id})
        windows.append(window)
    level = data.get("level")
    return Quota(
        level=str(level).lower() if isinstance(level, str) and level else None,
        windows=tuple(windows),
    )


_VALID_RANGE = re.compile(
    r"(\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2})?)?)\s*(?:-|~|至|to)\s*"
    r"(\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2})?)?)"
)


def _valid_range(text: object) -> tuple[datetime | None, datetime | None]:
    if not isinstance(text, str):
        return None, None
    match = _VALID_RANGE.search(text)
    if not match:
        return None, None
    return parse_platform_datetime(match.group(1)), parse_platform_datetime(match.group(2))


def _decimal(value: object) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value).strip())
    except InvalidOperation:
        return None


def parse_subscription(raw: Mapping[str, Any], currency: str | None) -> Subscription:
    valid_from, valid_until = _valid_range(raw.get("valid"))
    next_renewal: date | None = None
    if isinstance(raw.get("nextRenewTime"), str) and raw["nextRenewTime"].strip():
        next_renewal = platform_date(raw["nextRenewTime"])
    if next_renewal is None and valid_until is not None:
        next_renewal = platform_date(valid_until.isoformat())
    price = _decimal(raw.get("actualPrice"))
    if price is None:
        price = _decimal(raw.get("initialPrice"))
    product_id = raw.get("productId")
    return Subscription(
        product=str(raw.get("productName") or product_id or "Unknown product"),
        product_id=str(product_id) if product_id is not None else None,
        status=str(raw.get("status") or "UNKNOWN"),
        in_current_period=to_bool(raw.get("inCurrentPeriod")),
        auto_renew=to_bool(raw.get("autoRenew")),
        next_renewal=next_renewal,
        billing_cycle=str(raw["billingCycle"]) if raw.get("billingCycle") else None,
        price=price,
        currency=currency,
        valid_from=valid_from,
        valid_until=valid_until,
    )


def parse_subscriptions(data: object, currency: str | None = None) -> list[Subscription]:
    if isinstance(data, Mapping):
        # Paged variants wrap the list; accept the usual names.
        for key in ("list", "records", "rows", "data"):
            if isinstance(data.get(key), list):
                data = data[key]
                break
    if data is None:
        return []
    if not isinstance(data, list):
        raise UnexpectedResponse(detail="subscription data is not a list")
    return [parse_subscription(item, currency) for item in data if isinstance(item, Mapping)]


def active_coding_plan(subscriptions: list[Subscription]) -> Subscription | None:
    """The valid coding-plan subscription of the current period; the latest-renewing on a tie."""
    active = [s for s in subscriptions if s.is_active_coding_plan]
    if not active:
        return None
    return max(active, key=lambda s: (s.in_current_period is True, s.next_renewal or date.min))


def parse_risk_flag(data: object) -> bool | None:
    """E10: `false` means fine; `null` means unknown; anything else means restricted."""
    if data is None:
        return None
    if data is False:
        return False
    if isinstance(data, str) and data.strip().lower() in ("false", "0"):
        return False
    if isinstance(data, (int, float)) and not isinstance(data, bool) and data == 0:
        return False
    if isinstance(data, Mapping):
        for key in ("isRisk", "risk", "riskCustomer", "result"):
            if key in data:
                return parse_risk_flag(data[key])
    return True


@dataclass(frozen=True)
class UsageSeries:
    """E3 or E4: buckets of counts over time, with the platform's totals."""

    times: tuple[datetime, ...]
    series: dict[str, tuple[int, ...]]
    totals: dict[str, int]


def parse_usage_series(data: object) -> UsageSeries:
    if not isinstance(data, Mapping):
        raise UnexpectedResponse(detail="usage data is not an object")
    times = tuple(
        t for t in (parse_platform_datetime(str(x)) for x in data.get("x_time") or ()) if t
    )
    series: dict[str, tuple[int, ...]] = {}
    for key, value in data.items():
        if key != "x_time" and isinstance(value, list):
            series[key] = tuple(to_int(v) or 0 for v in value)
    totals: dict[str, int] = {}
    total_usage = data.get("totalUsage")
    if isinstance(total_usage, Mapping):
        for key, value in total_usage.items():
            number = to_int(value)
            if number is not None:
                totals[key] = number
    return UsageSeries(times=times, series=series, totals=totals)
