"""The platform's business error codes, what each one means for a subscriber, and how to
read a code, its message, trace id and reset time out of an error text."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from enum import Enum
from typing import Any

from glmtray.timeutil import PLATFORM_TZ


class CodeClass(str, Enum):
    AUTH_FAILED = "auth_failed"
    THROTTLED = "throttled"
    WINDOW_EXHAUSTED = "window_exhausted"
    RESTRICTED = "restricted"
    LOCKED = "locked"
    PLAN_MISSING = "plan_missing"
    MODEL_UNAVAILABLE = "model_unavailable"
    ACCOUNT = "account"
    UNKNOWN = "unknown"


# code -> (class, short description)
BUSINESS_CODES: dict[int, tuple[CodeClass, str]] = {
    1000: (CodeClass.AUTH_FAILED, "authentication failed"),
    1001: (CodeClass.AUTH_FAILED, "authentication failed"),
    1002: (CodeClass.AUTH_FAILED, "authentication failed"),
    1003: (CodeClass.AUTH_FAILED, "authentication failed"),
    1004: (CodeClass.AUTH_FAILED, "authentication failed"),
    1110: (CodeClass.ACCOUNT, "account inactive"),
    1111: (CodeClass.ACCOUNT, "account does not exist"),
    1112: (CodeClass.LOCKED, "account locked"),
    1113: (CodeClass.PLAN_MISSING, "arrears, or no resource package"),
    1121: (CodeClass.LOCKED, "account locked for irregular activity"),
    1302: (CodeClass.THROTTLED, "concurrency too high"),
    1303: (CodeClass.THROTTLED, "request frequency too high"),
    1304: (CodeClass.WINDOW_EXHAUSTED, "daily call limit reached"),
    1305: (CodeClass.THROTTLED, "traffic limit, temporarily overloaded"),
    1308: (CodeClass.WINDOW_EXHAUSTED, "usage cap of the window reached"),
    1309: (CodeClass.PLAN_MISSING, "coding plan expired"),
    1310: (CodeClass.WINDOW_EXHAUSTED, "weekly or monthly limit exhausted"),
    1311: (CodeClass.MODEL_UNAVAILABLE, "plan does not include the model"),
    1312: (CodeClass.MODEL_UNAVAILABLE, "model busy"),
    1313: (CodeClass.RESTRICTED, "fair-use restriction (risk control)"),
    1316: (CodeClass.WINDOW_EXHAUSTED, "5-hour limit reached"),
    1317: (CodeClass.WINDOW_EXHAUSTED, "7-day limit reached"),
    1318: (CodeClass.WINDOW_EXHAUSTED, "limit reached, no extra-usage balance"),
    1319: (CodeClass.WINDOW_EXHAUSTED, "limit reached, no extra-usage balance"),
    1320: (CodeClass.WINDOW_EXHAUSTED, "limit reached, spend cap"),
    1321: (CodeClass.WINDOW_EXHAUSTED, "limit reached, spend cap"),
}

RISK_CONTROL_CODES = frozenset({1112, 1121, 1313})
AUTH_CODES = frozenset({401, 1000, 1001, 1002, 1003, 1004})


def classify(code: int | str | None) -> CodeClass:
    try:
        number = int(str(code).strip())
    except (TypeError, ValueError):
        return CodeClass.UNKNOWN
    if number == 401:
        return CodeClass.AUTH_FAILED
    return BUSINESS_CODES.get(number, (CodeClass.UNKNOWN, ""))[0]


def describe(code: int | str | None) -> str:
    try:
        number = int(str(code).strip())
    except (TypeError, ValueError):
        return "unknown error"
    return BUSINESS_CODES.get(number, (CodeClass.UNKNOWN, f"platform error {number}"))[1]


# --- error texts -------------------------------------------------------------------

_BRACKETED = re.compile(r"\[(\d{3,6})\]\[([^\]]*)\](?:\[([^\]\s]*)\])?")
_CODE_IN_TEXT = re.compile(r'"code"\s*:\s*"?(\d{3,6})"?')
_MESSAGE_IN_TEXT = re.compile(r'"message"\s*:\s*"((?:[^"\\]|\\.)*)"')
_TRACE_KEYS = ("trace_id", "traceId", "request_id", "requestId")


def parse_business_error(text: str) -> tuple[int | None, str, str | None]:
    """(code, message, trace id) from an API error text, as JSON or `[code][msg][trace]`."""
    return _business_code(text)


def _business_code(text: str) -> tuple[int | None, str, str | None]:
    found = _from_json(text)
    if found is None and '\\"' in text:
        # The JSON body may sit escaped inside the text (`{\"error\":{\"code\":...}}`).
        found = _from_json(text.replace('\\"', '"'))
    if found is not None:
        code, message, trace_id = found
        bracketed = _BRACKETED.search(message)
        if bracketed:
            # The Anthropic-style endpoint nests `[code][message][trace]` in the message.
            return (
                code if code is not None else int(bracketed.group(1)),
                bracketed.group(2),
                trace_id or bracketed.group(3) or None,
            )
        if code is not None:
            return code, message, trace_id
    bracketed = _BRACKETED.search(text)
    if bracketed:
        return int(bracketed.group(1)), bracketed.group(2), bracketed.group(3) or None
    unescaped = text.replace('\\"', '"')
    code_match = _CODE_IN_TEXT.search(unescaped)
    if code_match:
        message_match = _MESSAGE_IN_TEXT.search(unescaped)
        return int(code_match.group(1)), message_match.group(1) if message_match else "", None
    if found is not None:
        return found
    return None, "", None


def _from_json(text: str) -> tuple[int | None, str, str | None] | None:
    """The first JSON object in `text` that looks like an error body."""
    decoder = json.JSONDecoder()
    position = text.find("{")
    while position >= 0:
        try:
            value, end = decoder.raw_decode(text, position)
        except ValueError:
            position = text.find("{", position + 1)
            continue
        if isinstance(value, dict):
            parsed = _error_body(value)
            if parsed is not None:
                return parsed
        position = text.find("{", end)
    return None


def _error_body(body: dict[str, Any]) -> tuple[int | None, str, str | None] | None:
    inner = body.get("error")
    container = inner if isinstance(inner, dict) else body
    code = _numeric_code(container.get("code"))
    if code is None and isinstance(inner, dict):
        # Some gateways put the business code in `type` instead of `code`.
        code = _numeric_code(inner.get("type"))
    if code is None and container is not body:
        code = _numeric_code(body.get("code"))
    message_value = container.get("message", container.get("msg", body.get("msg", "")))
    message = message_value if isinstance(message_value, str) else ""
    trace_id = None
    for source in (container, body):
        for key in _TRACE_KEYS:
            value = source.get(key)
            if isinstance(value, str) and value:
                trace_id = value
                break
        if trace_id:
            break
    if code is None and not message and not isinstance(inner, dict):
        return None
    return code, message, trace_id


def _numeric_code(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


_DATETIME_IN_TEXT = re.compile(
    r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?"
    r"\s*(Z|UTC|GMT|[+-]\d{2}:?\d{2}|(?:UTC|GMT)\s*[+-]\d{1,2}(?::?\d{2})?)?",
    re.IGNORECASE,
)
_RESET_WORDS = re.compile(r"reset|重置|恢复|刷新", re.IGNORECASE)


def parse_reset_time(message: str, default_tz: timezone = PLATFORM_TZ) -> datetime | None:
    """The reset time a 1308/1310 message names, as an aware datetime, or None.

    "... will reset at 2026-11-27 18:00:00" or "将在 2026-11-27 18:00:00 重置": a time
    without a zone is the platform's local time (UTC+8). The time closest to a reset
    word wins, so that a message naming another time as well still works.
    """
    if not message:
        return None
    candidates = list(_DATETIME_IN_TEXT.finditer(message))
    if not candidates:
        return None
    words = [m.start() for m in _RESET_WORDS.finditer(message)]
    if words:

        def distance(match: re.Match[str]) -> int:
            return min(min(abs(match.start() - w), abs(match.end() - w)) for w in words)

        candidates.sort(key=distance)
    for match in candidates:
        moment = _datetime_from_match(match, default_tz)
        if moment is not None:
            return moment
    return None


def _datetime_from_match(match: re.Match[str], default_tz: timezone) -> datetime | None:
    year, month, day, hour, minute = (int(match.group(i)) for i in range(1, 6))
    second = int(match.group(6) or 0)
    zone = _zone_from_text(match.group(7), default_tz)
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=zone)
    except ValueError:
        return None


def _zone_from_text(text: str | None, default_tz: timezone) -> timezone:
    if not text:
        return default_tz
    cleaned = text.upper().replace("UTC", "").replace("GMT", "").strip()
    if cleaned in ("", "Z"):
        return timezone.utc
    sign = -1 if cleaned.startswith("-") else 1
    digits = cleaned.lstrip("+-").replace(":", "")
    hours = int(digits[:2]) if len(digits) >= 3 else int(digits)
    minutes = int(digits[2:4]) if len(digits) >= 3 else 0
    return timezone(sign * timedelta(hours=hours, minutes=minutes))
