"""The platform's business error codes, what each one means for a subscriber, and how to
read a code, its message, trace id and reset time out of an error text.

A code is found, in this order: in a JSON error body; in `[code][message][trace]`
brackets (the Anthropic-style endpoint); from the platform's known message texts
(`MESSAGE_TEXTS`, English and Chinese). The last step matters because Claude Code 2.1
keeps only the body's `error.message` in its transcripts: the code itself is gone.
"""

from __future__ import annotations

import functools
import json
import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import Enum
from typing import Any

from glmtray.i18n import N_, _
from glmtray.platform.models import FIVE_HOUR, MONTHLY_TOOLS, WEEKLY
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


# code -> (class, short description in English; `describe` gives it in the user's language)
BUSINESS_CODES: dict[int, tuple[CodeClass, str]] = {
    1000: (CodeClass.AUTH_FAILED, N_("authentication failed")),
    1001: (CodeClass.AUTH_FAILED, N_("authentication failed")),
    1002: (CodeClass.AUTH_FAILED, N_("authentication failed")),
    1003: (CodeClass.AUTH_FAILED, N_("authentication failed")),
    1004: (CodeClass.AUTH_FAILED, N_("authentication failed")),
    1110: (CodeClass.ACCOUNT, N_("account inactive")),
    1111: (CodeClass.ACCOUNT, N_("account does not exist")),
    1112: (CodeClass.LOCKED, N_("account locked")),
    1113: (CodeClass.PLAN_MISSING, N_("arrears, or no resource package")),
    1121: (CodeClass.LOCKED, N_("account locked for irregular activity")),
    1302: (CodeClass.THROTTLED, N_("concurrency too high")),
    1303: (CodeClass.THROTTLED, N_("request frequency too high")),
    1304: (CodeClass.WINDOW_EXHAUSTED, N_("daily call limit reached")),
    1305: (CodeClass.THROTTLED, N_("traffic limit, temporarily overloaded")),
    1308: (CodeClass.WINDOW_EXHAUSTED, N_("usage cap of the window reached")),
    1309: (CodeClass.PLAN_MISSING, N_("coding plan expired")),
    1310: (CodeClass.WINDOW_EXHAUSTED, N_("weekly or monthly limit exhausted")),
    1311: (CodeClass.MODEL_UNAVAILABLE, N_("plan does not include the model")),
    1312: (CodeClass.MODEL_UNAVAILABLE, N_("model busy")),
    1313: (CodeClass.RESTRICTED, N_("fair-use restriction by risk control")),
    1316: (CodeClass.WINDOW_EXHAUSTED, N_("5-hour limit reached")),
    1317: (CodeClass.WINDOW_EXHAUSTED, N_("7-day limit reached")),
    1318: (CodeClass.WINDOW_EXHAUSTED, N_("limit reached, no extra-usage balance")),
    1319: (CodeClass.WINDOW_EXHAUSTED, N_("limit reached, no extra-usage balance")),
    1320: (CodeClass.WINDOW_EXHAUSTED, N_("limit reached, spend cap")),
    1321: (CodeClass.WINDOW_EXHAUSTED, N_("limit reached, spend cap")),
}

# code -> the platform's message texts for it, from the published code tables (English from
# the global docs, Chinese from the china docs) and from live captures (platform-api.md).
# `${...}` is a part the platform fills in (a time, a number); `...` is text not known.
# Matching is on normalised text (see `normalise_message`), anywhere in a longer line.
MESSAGE_TEXTS: dict[int, tuple[str, ...]] = {
    1000: ("Authentication Failed", "身份验证失败"),
    1110: (
        "Your account is currently inactive. Please check your account information",
        "您的账户当前处于非活动状态。请检查账户信息",
    ),
    1111: ("Your account does not exist", "您的账户不存在"),
    1112: (
        "Your account has been locked, please contact customer service to unlock",
        "您的账户已被锁定,请联系客服解锁",
    ),
    1113: (
        "Your account is in arrears, please recharge and try again",
        "您的账户已欠费,请充值后重试",
        "余额不足或无可用资源包,请充值",  # live, through the Anthropic-style endpoint
    ),
    1121: ("Account has irregular activities and has been locked", "账户存违规行为,账号已被锁定"),
    1302: (
        "High concurrency usage of this API, please reduce concurrency or contact customer "
        "service to increase limits",
        "Rate limit reached for requests",  # live, HTTP 429
        "您当前使用该 API 的并发数过高,请降低并发,或联系客服增加限额",
    ),
    1303: ("您当前使用该 API 的频率过高,请降低频率,或联系客服增加限额",),
    1305: ("该 API 已触发流量限制",),
    1308: (
        "... Your limit will reset at ${next_flush_time}",
        "已达到 ${number} ${unit} 的使用上限。您的限额将在 ${next_flush_time} 重置",
    ),
    1309: ("您的 GLM Coding Plan 套餐已到期,暂无法使用,前往官方续订后即可恢复 ...",),
    1310: (
        "Weekly/Monthly Limit Exhausted. Your limit will reset at ${next_flush_time}",
        "您已达到每周/每月使用上限,您的限额将在 ${next_flush_time} 重置",
    ),
    1313: (
        # The live text goes on after "Policy" in more than one way: match what is sure.
        "Your account's current usage pattern does not comply with the Fair Usage Policy ...",
        "您的账户当前使用模式不符合公平使用策略 ...",
    ),
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
    """What a code means, in the user's language ("并发过高" for 1302)."""
    try:
        number = int(str(code).strip())
    except (TypeError, ValueError):
        return _("unknown error")
    known = BUSINESS_CODES.get(number)
    if known is None:
        return _("platform error {code}").format(code=number)
    return _(known[1])


# --- error texts -------------------------------------------------------------------

# Codes are ASCII digits: `\d` would take any script's digits (and int() some of them).
_BRACKETED = re.compile(r"\[([0-9]{3,6})\]\[([^\]]*)\](?:\[([^\]\s]*)\])?")
_CODE_IN_TEXT = re.compile(r'"code"\s*:\s*"?([0-9]{3,6})(?![0-9])"?')
_MESSAGE_IN_TEXT = re.compile(r'"message"\s*:\s*"((?:[^"\\]|\\.)*)"')
_TRACE_KEYS = ("trace_id", "traceId", "request_id", "requestId")


def parse_business_error(text: str) -> tuple[int | None, str, str | None]:
    """(code, message, trace id) from an API error text: JSON, `[code][msg][trace]`, or
    else one of the platform's known message texts. (None, "", None) when none is there."""
    code, message, trace_id = _business_code(text)
    if code is None:
        known = recognise_message(message or text)
        if known is not None:
            return known, message or strip_client_prefix(text), trace_id
    return code, message, trace_id


# --- known message texts -----------------------------------------------------------------

# Punctuation that NFKC leaves alone but copies of the texts differ in.
_PUNCTUATION = str.maketrans(
    {"。": ".", "、": ",", "‘": "'", "’": "'", "“": '"', "”": '"', "｡": "."}
)
_WHITESPACE = re.compile(r"\s+")
_PLACEHOLDER = re.compile(r"\$\{[^}]*\}|\.\.\.|…")
# A filled-in placeholder is a time, a number or a unit: short.
_PLACEHOLDER_SPAN = ".{0,64}?"


def normalise_message(text: str) -> str:
    """Text as the known messages are matched: NFKC (full-width `,` `：` to ASCII), the
    Chinese full stop and enumeration comma as ASCII, curly quotes straight, case folded,
    no whitespace at all (copies differ in spaces around `API` and after commas)."""
    folded = unicodedata.normalize("NFKC", text).translate(_PUNCTUATION).casefold()
    return _WHITESPACE.sub("", folded)


def _message_pattern(template: str) -> tuple[re.Pattern[str], int]:
    """A pattern for one template, and its weight (how much fixed text it holds)."""
    parts = [normalise_message(part) for part in _PLACEHOLDER.split(template)]
    fixed = [part for part in parts if part]
    pattern = _PLACEHOLDER_SPAN.join(re.escape(part) for part in fixed)
    return re.compile(pattern, re.DOTALL), sum(len(part) for part in fixed)


@functools.cache
def _message_patterns() -> tuple[tuple[int, re.Pattern[str], int], ...]:
    """(code, pattern, weight) for every known text; made at the first error text to read,
    not at every start (a glance that meets no error never needs them)."""
    return tuple(
        (code, *_message_pattern(template))
        for code, templates in MESSAGE_TEXTS.items()
        for template in templates
    )


def recognise_message(text: str) -> int | None:
    """The business code whose known message text is in `text`, else None.

    Where several match (1310's text holds 1308's "Your limit will reset at"), the one
    with the most fixed text wins."""
    if not text:
        return None
    normalised = normalise_message(text)
    best: tuple[int, int] | None = None
    for code, pattern, weight in _message_patterns():
        if (best is None or weight > best[1]) and pattern.search(normalised):
            best = (code, weight)
    return best[0] if best is not None else None


# What coding tools put before the platform's message: Claude Code 2.1 writes
# `API Error: Request rejected (429) · <message>` and `API Error: 401 <message>`.
_CLIENT_PREFIX = re.compile(
    r"^\s*API\s+Error:\s*(?:Request\s+rejected\s*)?(?:\(?\d{3}\)?)?\s*(?:[·:\-]\s*)?",
    re.IGNORECASE,
)


def strip_client_prefix(text: str) -> str:
    """The platform's message out of a coding tool's error line."""
    return _CLIENT_PREFIX.sub("", text, count=1).strip()


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
        except RecursionError:
            # Nested deeper than the parser goes: every later `{` is inside it too, and
            # trying each would cost the depth again. No JSON body here.
            return None
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


_MAX_CODE = 999_999_999


def _numeric_code(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        # A code fits in a database integer; a 30-digit "code" is no code.
        return value if 0 <= value <= _MAX_CODE else None
    text = value.strip() if isinstance(value, str) else ""
    # ASCII digits only ("²" is a digit to isdigit() but not to int()), and no number
    # longer than a code can be (int() refuses thousands of digits).
    if text.isascii() and text.isdigit() and len(text) <= len(str(_MAX_CODE)):
        return int(text)
    return None


# A date and time as the platform writes it ("2026-09-09 05:38:28", also with `/`, `T`,
# `年月日` or a fraction), with an optional zone. Longer zone forms come first: "UTC+8"
# must not stop at "UTC".
_DATETIME_IN_TEXT = re.compile(
    r"(\d{4})\s*[-/年]\s*(\d{1,2})\s*[-/月]\s*(\d{1,2})\s*日?\s*[ T]?\s*"
    r"(\d{1,2})\s*[:：]\s*(\d{2})(?:\s*[:：]\s*(\d{2}))?(?:\.\d+)?"
    r"(\s*(?:(?:UTC|GMT)\s*[+-]\d{1,2}(?::?\d{2})?|[+-]\d{2}:?\d{2}|Z(?![A-Za-z])|UTC|GMT))?",
    re.IGNORECASE,
)
_ZONE_PARTS = re.compile(r"([+-])(\d{1,2})(?::?(\d{2}))?$")
_RESET_WORDS = re.compile(r"reset|重置|恢复|刷新", re.IGNORECASE)


def parse_reset_time(message: str, default_tz: timezone = PLATFORM_TZ) -> datetime | None:
    """The reset time a 1308/1310/1316 message names, as an aware datetime, or None.

    "... will reset at 2026-11-27 18:00:00" or "将在 2026-11-27 18:00:00 重置": a time
    without a zone is the platform's local time (UTC+8). The time closest to a reset
    word wins, so that a message naming another time as well still works. A time that
    does not exist (month 13, a zone of +99:00) or has no UTC equivalent (year 1 east of
    Greenwich) is no reset time: None, never an exception.
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
    if zone is None:
        return None
    try:
        moment = datetime(year, month, day, hour, minute, second, tzinfo=zone)
        moment.astimezone(timezone.utc)  # exists in UTC too, so it can be stored and shown
    except (ValueError, OverflowError):
        return None
    return moment


def _zone_from_text(text: str | None, default_tz: timezone) -> timezone | None:
    """The zone written after a time; None for one that cannot be (+99:00)."""
    if not text or not text.strip():
        return default_tz
    cleaned = text.upper().replace("UTC", "").replace("GMT", "").strip()
    if cleaned in ("", "Z"):
        return timezone.utc
    parts = _ZONE_PARTS.match(cleaned)
    if parts is None:
        return None
    sign = -1 if parts.group(1) == "-" else 1
    offset = timedelta(hours=int(parts.group(2)), minutes=int(parts.group(3) or 0))
    if offset >= timedelta(hours=24):
        return None
    return timezone(sign * offset)


# --- what a limit error says about when the user is back ---------------------------------

MAX_RETRY_AFTER = timedelta(days=31)
"""A `retry-after-ms` longer than this is not a wait (the longest window is a month)."""

# The limit codes and the window each one concerns (platform-api.md: 1316 5-hour, 1317 to
# 1321 7-day). 1308 names its window in the message; 1310 is "weekly or monthly".
_WINDOW_OF_CODE: dict[int, str | None] = {
    1304: None,  # daily call limit: no window of the plan is daily
    1308: FIVE_HOUR,
    1310: WEEKLY,
    1316: FIVE_HOUR,
    1317: WEEKLY,
    1318: WEEKLY,
    1319: WEEKLY,
    1320: WEEKLY,
    1321: WEEKLY,
}
_SPAN_IN_TEXT = re.compile(
    r"(\d{1,3})\s*-?\s*(小时|個小時|个小时|天|日|周|星期|个月|月|hours?|hrs?|days?|weeks?|months?)(?![a-z])",
    re.IGNORECASE,
)
_UNIT_NAMES = {
    "小时": "hour", "個小時": "hour", "个小时": "hour", "hour": "hour", "hours": "hour",
    "hr": "hour", "hrs": "hour", "天": "day", "日": "day", "day": "day", "days": "day",
    "周": "week", "星期": "week", "week": "week", "weeks": "week",
    "个月": "month", "月": "month", "month": "month", "months": "month",
}  # fmt: skip
_MONTHLY_ONLY = re.compile(r"monthly|每月", re.IGNORECASE)
_WEEKLY_NAMED = re.compile(r"weekly|每周|7[\s-]*day", re.IGNORECASE)


@dataclass(frozen=True)
class LimitReset:
    """What a limit error says: which window is used up, and when the user is back."""

    code: int
    window: str | None
    """`five_hour`, `weekly`, `monthly_tools` (models.FIVE_HOUR, ...); for a 1308 naming a
    window the plan does not have, "<number>_<unit>" ("10_hour"); None for a limit that
    is no window of the plan (1304, daily calls)."""
    back_at: datetime | None
    """The reset the message names (UTC+8 when it writes no zone), else now plus a
    `retry-after-ms`; None when neither is there."""


def back_at_from_retry_after(ms: str | None, now: datetime) -> datetime | None:
    """`now` plus a `retry-after-ms` header value, or None for a value that is absent, not
    a number, negative, not finite or longer than `MAX_RETRY_AFTER`."""
    if ms is None:
        return None
    try:
        value = float(str(ms).strip())
    except ValueError:
        return None
    if not math.isfinite(value) or value < 0 or value > MAX_RETRY_AFTER / timedelta(milliseconds=1):
        return None
    try:
        return now + timedelta(milliseconds=value)
    except OverflowError:  # `now` at the end of the calendar
        return None


def limit_reset(
    code: int | None,
    message: str,
    *,
    retry_after_ms: str | None = None,
    now: datetime | None = None,
) -> LimitReset | None:
    """The window a limit error concerns and when the user is back; None when the error
    is no limit (throttling, restriction, ...). `code` None: found in `message` as
    `parse_business_error` finds it.

    1308 concerns the 5-hour window unless its message names another span ("已达到 1 周
    的使用上限"); 1310 the weekly window unless its message names only a monthly one;
    1316 the 5-hour window; 1317 to 1321 the 7-day window. `retry_after_ms` (with `now`)
    is used only when the message names no time."""
    if code is None:
        code = parse_business_error(message)[0]
    if code is None or code not in _WINDOW_OF_CODE:
        return None
    window = _WINDOW_OF_CODE[code]
    if code == 1308:
        window = _window_named(message) or window
    elif code == 1310 and _MONTHLY_ONLY.search(message) and not _WEEKLY_NAMED.search(message):
        window = MONTHLY_TOOLS
    back_at = parse_reset_time(message)
    if back_at is None and now is not None:
        back_at = back_at_from_retry_after(retry_after_ms, now)
    return LimitReset(code=code, window=window, back_at=back_at)


def _window_named(message: str) -> str | None:
    """The window a message names by its span ("5 小时", "5 hour"): in the words before
    the reset is named ("resets in 3 hours" is no window), dates left out."""
    reset_named = _RESET_WORDS.search(message)
    text = _DATETIME_IN_TEXT.sub(" ", message[: reset_named.start()] if reset_named else message)
    found = _SPAN_IN_TEXT.search(text)
    if found is None:
        return None
    number = int(found.group(1))
    unit = _UNIT_NAMES.get(found.group(2).lower(), "")
    if (number, unit) == (5, "hour"):
        return FIVE_HOUR
    if (number, unit) in ((1, "week"), (7, "day")):
        return WEEKLY
    if (number, unit) == (1, "month"):
        return MONTHLY_TOOLS
    return f"{number}_{unit}" if number > 0 and unit else None
