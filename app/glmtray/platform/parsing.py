"""Turns the platform's JSON into models, tolerating every quirk the platform is known for.

Every field is optional, numbers may be numeric strings, unknown fields and unknown list
entries are normal, and errors often arrive inside HTTP 200. Anything that does not fit
raises UnexpectedResponse rather than a KeyError deep in the UI.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any, ParamSpec, TypeVar

from glmtray.errors import (
    AccountRestricted,
    AuthenticationFailed,
    NoCodingPlan,
    PlanExpired,
    PlatformError,
    RateLimited,
    UnexpectedResponse,
)
from glmtray.i18n import localized
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
from glmtray.timeutil import PLATFORM_TZ, from_epoch_ms, parse_platform_datetime, platform_date

_NO_PLAN_HINTS = ("coding plan", "没有资格", "不存在")
_SUCCESS_CODES = (None, 0, 200)

MAX_NUMBER = 2**53
"""Counts, percentages, codes and epoch milliseconds all fit well below this; anything
larger (or inf, NaN) is not a value the platform means, and is read as absent."""
MAX_DEPTH = 32
"""The platform's bodies nest four or five levels deep."""
MAX_TEXT = 500
"""Longest platform text kept (names, messages): enough for any real one."""
_MAX_NUMBER_TEXT = 40
EARLIEST = datetime(1971, 1, 1, tzinfo=timezone.utc)
LATEST = datetime(9000, 1, 1, tzinfo=timezone.utc)
"""Dates outside these are read as absent: date arithmetic (a cancel-by day three days
before, a conversion to local time) stays far from datetime's limits of years 1 and 9999."""

P = ParamSpec("P")
R = TypeVar("R")


def typed(func: Callable[P, R]) -> Callable[P, R]:
    """A parser's last line of defence: whatever slipped past its checks becomes
    UnexpectedResponse, never a TypeError or RecursionError in the caller."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except PlatformError:
            raise
        except (
            ArithmeticError,
            AttributeError,
            LookupError,
            RecursionError,
            TypeError,
            ValueError,
        ) as error:
            raise UnexpectedResponse(detail=f"{func.__name__}: {type(error).__name__}") from None

    return wrapper


def to_int(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value if -MAX_NUMBER <= value <= MAX_NUMBER else None
    number = to_float(value)
    return None if number is None else int(number)


def to_float(value: object) -> float | None:
    """A finite number of plausible size, or None."""
    if isinstance(value, bool) or value is None:
        return None
    number: float
    if isinstance(value, int):
        if not -MAX_NUMBER <= value <= MAX_NUMBER:
            return None
        number = float(value)
    elif isinstance(value, float):
        number = value
    elif isinstance(value, str):
        text = value.strip()
        if not text or len(text) > _MAX_NUMBER_TEXT:
            return None
        try:
            number = float(text)
        except ValueError:
            return None
    else:
        return None
    if not math.isfinite(number) or abs(number) > MAX_NUMBER:
        return None
    return number


def text_of(value: object, limit: int = MAX_TEXT) -> str:
    """Platform text made safe to show: only strings and numbers, bounded in length, lone
    surrogates (a JSON `\\ud800` escape) replaced, control characters dropped."""
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, int):
        value = str(value) if -MAX_NUMBER <= value <= MAX_NUMBER else ""
    elif isinstance(value, float):
        value = repr(value) if math.isfinite(value) else ""
    if not isinstance(value, str):
        return ""
    text = value[: limit * 2].encode("utf-8", "replace").decode("utf-8")
    text = "".join(ch if ch.isprintable() or ch == " " else " " for ch in text)
    return text[:limit].strip()


def plausible(moment: datetime | None) -> datetime | None:
    """The moment if it is an aware datetime between 1971 and 9000, else None."""
    if moment is None or moment.tzinfo is None:
        return None
    try:
        return moment if EARLIEST <= moment <= LATEST else None
    except (OverflowError, ValueError):
        return None


def _platform_datetime(value: object) -> datetime | None:
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        return plausible(parse_platform_datetime(value))
    except (OverflowError, ValueError):
        return None


def _platform_date(value: object) -> date | None:
    moment = _platform_datetime(value)
    if moment is None:
        return None
    text = value.strip() if isinstance(value, str) else ""
    try:
        return platform_date(text)
    except (OverflowError, ValueError):
        return None


def _reject_constant(name: str) -> None:
    """NaN, Infinity and -Infinity are not JSON; read them as absent."""
    return None


@typed
def parse_json(body: bytes) -> Any:
    """A response body as JSON, or UnexpectedResponse: never a RecursionError or a
    ValueError from an integer of a million digits."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UnexpectedResponse(detail="body is not UTF-8") from None
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise UnexpectedResponse(detail="body is nested too deeply") from None
    except ValueError:
        raise UnexpectedResponse(detail="body is not JSON") from None
    check_depth(value)
    return value


def check_depth(value: object, limit: int = MAX_DEPTH) -> None:
    """Raise UnexpectedResponse for JSON nested deeper than `limit` (checked without
    recursion, so the check itself cannot overflow the stack)."""
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            raise UnexpectedResponse(detail=f"body is nested more than {limit} levels deep")
        if isinstance(item, Mapping):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)


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
    text = text_of(message)
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
    if code is not None and text:
        message = localized(
            "The platform answered with error {code} ({meaning}): {text}",
            code=code,
            meaning=codes.describe(code),
            text=text,
        )
    elif code is not None:
        message = localized(
            "The platform answered with error {code} ({meaning})",
            code=code,
            meaning=codes.describe(code),
        )
    elif text:
        message = localized("The platform answered with an error: {text}", text=text)
    else:
        message = localized("The platform answered with an error")
    return UnexpectedResponse(message, **kwargs)


@typed
def unwrap_envelope(body: object, http_status: int = 200) -> Any:
    """Return `data` of a successful envelope, or raise the error the envelope carries."""
    if not isinstance(body, Mapping):
        raise UnexpectedResponse(detail=f"top level is {type(body).__name__}, not an object")
    error = body.get("error")
    if isinstance(error, Mapping):
        # The inference endpoints' shape: {"error": {"code": "1302", "message": "..."}}
        raise business_error(to_int(error.get("code")), text_of(error.get("message")), http_status)
    raw_code = body.get("code")
    code = to_int(raw_code)
    success = to_bool(body.get("success"))
    message = text_of(body.get("msg")) or text_of(body.get("message"))
    if code is None and raw_code is not None and success is not True:
        # A code that is no number ("nan", 1e400, an object): not a success we can trust.
        raise UnexpectedResponse(
            detail=f"HTTP {http_status}: business code is not a number", platform_message=message
        )
    if success is False or code not in _SUCCESS_CODES:
        raise business_error(code, message, http_status)
    return body.get("data")


def _window_id(kind: str, unit: int | None, number: int | None) -> str:
    """Only pairs seen live get a well-known id; any other pair is a window of its own,
    never folded into one of those (a (4, 7) row is not "weekly": unit 4 is unknown)."""
    if kind == "TIME_LIMIT" and (unit, number) in ((5, 1), (None, None)):
        return MONTHLY_TOOLS
    if kind in ("TOKENS_LIMIT", "CREDIT_LIMIT"):
        if (unit, number) == (3, 5):
            return FIVE_HOUR
        if (unit, number) == (6, 1):
            return WEEKLY
    slug = re.sub(r"[^a-z0-9]+", "_", kind.lower()).strip("_") or "window"
    return f"{slug}_{unit if unit is not None else 'x'}_{number if number is not None else 'x'}"


def window_share(used: int | None, limit: int | None, percentage: float | None) -> float:
    """The share used, 0-100. Counts win: the platform's `percentage` is floor(100 x used /
    limit) raised to 1, so 1438/12000 reads 11 and 71/10000 reads 1. Past the cap is 100."""
    if used is not None and limit is not None and limit > 0:
        return min(100.0, max(0.0, 100.0 * used / limit))
    return min(100.0, max(0.0, percentage or 0.0))


def _reset_time(value: object) -> datetime | None:
    number = to_float(value)
    if number is None:
        return _platform_datetime(value)
    if number <= 0:
        return None
    # Epoch milliseconds per the platform; a value that small can only be seconds.
    try:
        return plausible(from_epoch_ms(number if number > 1e11 else number * 1000))
    except (OverflowError, ValueError, OSError):
        return None  # past year 9999: no real reset time


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


@typed
def parse_window(raw: Mapping[str, Any]) -> QuotaWindow:
    kind = (text_of(raw.get("type"), 60) or "UNKNOWN_LIMIT").upper()
    unit, number = to_int(raw.get("unit")), to_int(raw.get("number"))
    limit = to_int(raw.get("usage"))
    used = to_int(raw.get("currentValue"))
    remaining = to_int(raw.get("remaining"))
    platform_percent = to_float(raw.get("percentage"))
    percent = window_share(used, limit, platform_percent)
    if used is not None and limit is not None and limit > 0 and used >= limit:
        # currentValue can run past the cap; the user is simply out.
        remaining = 0
    elif remaining is None and used is not None and limit is not None:
        remaining = max(0, limit - used)
    tools = tuple(
        ToolCount(
            text_of(item.get("modelCode"), 80) or text_of(item.get("name"), 80) or "tool",
            to_int(item.get("usage")) or 0,
        )
        for item in _list(raw.get("usageDetails"))
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
        platform_percent=platform_percent,
    )


@typed
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
    level = text_of(data.get("level"), 40) if isinstance(data.get("level"), str) else ""
    return Quota(
        level=level.lower() or None,
        windows=tuple(windows),
    )


_VALID_RANGE = re.compile(
    r"(\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2})?)?)\s*(?:-|~|至|to)\s*"
    r"(\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2})?)?)"
)


def _valid_range(text: object) -> tuple[datetime | None, datetime | None]:
    if not isinstance(text, str) or len(text) > 200:
        return None, None
    match = _VALID_RANGE.search(text)
    if not match:
        return None, None
    return _platform_datetime(match.group(1)), _platform_datetime(match.group(2))


MAX_PRICE = Decimal(10) ** 9


def _decimal(value: object) -> Decimal | None:
    """A finite price below a billion, or None (`1e300000000` formats as 300 MB of digits)."""
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    text = value.strip() if isinstance(value, str) else repr(value)
    if not text or len(text) > _MAX_NUMBER_TEXT:
        return None
    try:
        number = Decimal(text)
    except (InvalidOperation, ValueError):
        return None
    # adjusted() and copy_abs() use no context: abs() would trap on `1e300000000`.
    if not number.is_finite() or number.adjusted() > 9 or number.copy_abs() >= MAX_PRICE:
        return None
    return number


def renewal_day(
    next_renew: date | None, valid_until: datetime | None, now: datetime | None = None
) -> date | None:
    """The renewal (or end) day: `nextRenewTime`, unless it is absent or stale.

    A `nextRenewTime` that is not in the future (seen live: the *start* of the current
    period, on the renewal day) gives way to the end of the `valid` range, when that is
    later. Days are the platform's (UTC+8)."""
    end = valid_until.astimezone(PLATFORM_TZ).date() if valid_until is not None else None
    if next_renew is None:
        return end
    today = (now or datetime.now(timezone.utc)).astimezone(PLATFORM_TZ).date()
    if next_renew <= today and end is not None and end > next_renew:
        return end
    return next_renew


@typed
def parse_subscription(
    raw: Mapping[str, Any], currency: str | None, now: datetime | None = None
) -> Subscription:
    """One E2 entry. `now` (default: the clock) decides whether `nextRenewTime` is stale."""
    valid_from, valid_until = _valid_range(raw.get("valid"))
    next_renewal = renewal_day(_platform_date(raw.get("nextRenewTime")), valid_until, now)
    price = _decimal(raw.get("actualPrice"))
    if price is None:
        price = _decimal(raw.get("initialPrice"))
    product_id = text_of(raw.get("productId"), 120) or None
    return Subscription(
        product=text_of(raw.get("productName"), 120) or product_id or "Unknown product",
        product_id=product_id,
        status=text_of(raw.get("status"), 40) or "UNKNOWN",
        in_current_period=to_bool(raw.get("inCurrentPeriod")),
        auto_renew=to_bool(raw.get("autoRenew")),
        next_renewal=next_renewal,
        billing_cycle=text_of(raw.get("billingCycle"), 40) or None,
        price=price,
        currency=currency,
        valid_from=valid_from,
        valid_until=valid_until,
    )


@typed
def parse_subscriptions(
    data: object, currency: str | None = None, now: datetime | None = None
) -> list[Subscription]:
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
    return [parse_subscription(item, currency, now) for item in data if isinstance(item, Mapping)]


def active_coding_plan(subscriptions: list[Subscription]) -> Subscription | None:
    """The valid coding-plan subscription of the current period; the latest-renewing on a tie."""
    active = [s for s in subscriptions if s.is_active_coding_plan]
    if not active:
        return None
    return max(active, key=lambda s: (s.in_current_period is True, s.next_renewal or date.min))


@typed
def parse_risk_flag(data: object) -> bool | None:
    """E10: `false` means fine; `null` means unknown; anything else means restricted."""
    for _ in range(MAX_DEPTH):  # a loop, not recursion: {"result": {"result": ...}}
        if not isinstance(data, Mapping):
            break
        inner = next(
            (data[key] for key in ("isRisk", "risk", "riskCustomer", "result") if key in data),
            _NOT_FOUND,
        )
        if inner is _NOT_FOUND:
            return True
        data = inner
    if data is None:
        return None
    if data is False:
        return False
    if isinstance(data, str) and data.strip().lower() in ("false", "0"):
        return False
    return not (isinstance(data, (int, float)) and not isinstance(data, bool) and data == 0)


_NOT_FOUND = object()


@dataclass(frozen=True)
class UsageSeries:
    """E3 or E4: buckets of counts over time, with the platform's totals."""

    times: tuple[datetime, ...]
    series: dict[str, tuple[int, ...]]
    totals: dict[str, int]


@typed
def parse_usage_series(data: object) -> UsageSeries:
    if not isinstance(data, Mapping):
        raise UnexpectedResponse(detail="usage data is not an object")
    times = tuple(t for t in (_platform_datetime(x) for x in _list(data.get("x_time"))) if t)
    series: dict[str, tuple[int, ...]] = {}
    for key, value in data.items():
        if key != "x_time" and isinstance(key, str) and isinstance(value, list):
            series[text_of(key, 80)] = tuple(to_int(v) or 0 for v in value)
    totals: dict[str, int] = {}
    total_usage = data.get("totalUsage")
    if isinstance(total_usage, Mapping):
        for key, value in total_usage.items():
            number = to_int(value)
            if number is not None and isinstance(key, str):
                totals[text_of(key, 80)] = number
    return UsageSeries(times=times, series=series, totals=totals)
