"""E3 (model usage) and E4 (tool usage): the platform's span rules and robust parsing.

The rules are platform-api.md's: hourly buckets for spans up to 48 hours, daily buckets
beyond, spans over 31 days refused, query times written `yyyy-MM-dd HH:mm:ss` in UTC+8.
glmtray never asks for a span the platform would refuse: `check_span` raises first.

E3 gives tokens and calls per bucket for all models together, and tokens per model only
as totals over the span (`modelSummaryList`). E4 gives one list per tool. Bodies are read
as every other platform body: fields optional, numbers possibly strings, unknown fields,
models and tools normal; a body that does not fit raises UnexpectedResponse.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from glmtray.errors import UnexpectedResponse
from glmtray.platform.parsing import plausible, text_of, to_float, typed
from glmtray.timeutil import PLATFORM_TZ, parse_platform_datetime

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
HOURLY_UP_TO = timedelta(hours=48)
"""Spans up to this long come in hourly buckets; longer ones in daily buckets."""
MAX_SPAN = timedelta(days=31)
"""The platform refuses longer spans."""
QUERY_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"

ALL_MODELS = "all_models"
"""The key of a bucket's tokens (or calls) when the platform does not say which model
spent them: E3 splits tokens by model only in its totals over the whole span."""

MAX_BUCKETS = 31 * 24 + 48
"""More buckets than the longest span can have is not an answer to our question."""

KNOWN_TOOL_SERIES = {
    "networkSearchCount": "search",
    "webReadMcpCount": "web-reader",
    "zreadMcpCount": "zread",
}
"""E4's documented per-tool lists and the names glmtray shows for them. Other lists whose
name ends in `Count` are tools the platform added since; their names are derived."""
_TOOL_SUFFIXES = ("McpCount", "Count")


class SpanRefused(ValueError):
    """A span the platform would refuse (over 31 days, or ending before it starts)."""


@dataclass(frozen=True)
class UsageBucket:
    """One bucket of E3 or E4: from `start` (aware, UTC) for `length`, a count per name
    (model -> tokens, or tool -> calls)."""

    start: datetime
    length: timedelta
    values: Mapping[str, float]


@dataclass(frozen=True)
class ModelUsage:
    """E3 for one span."""

    tokens: tuple[UsageBucket, ...]
    """Tokens per bucket: keyed by the model when the span used a single model, else by
    ALL_MODELS (the platform splits by model only in its totals)."""
    calls: tuple[UsageBucket, ...]
    """Model calls per bucket, keyed as `tokens`."""
    tokens_by_model: Mapping[str, float] = field(default_factory=dict)
    """Tokens per model over the whole span (`modelSummaryList`)."""
    total_tokens: float | None = None
    total_calls: float | None = None


@dataclass(frozen=True)
class ToolUsage:
    """E4 for one span."""

    calls: tuple[UsageBucket, ...]
    """Calls per tool per bucket."""
    calls_by_tool: Mapping[str, float] = field(default_factory=dict)
    """Calls per tool over the whole span (`totalUsage`)."""


# -- the span rules ---------------------------------------------------------------------


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise SpanRefused("usage spans need time-zone aware datetimes")
    return moment


def check_span(start: datetime, end: datetime) -> None:
    """Raise SpanRefused for a span the platform would refuse."""
    if _aware(end) < _aware(start):
        raise SpanRefused("a usage span cannot end before it starts")
    if end - start > MAX_SPAN:
        raise SpanRefused(
            f"the platform serves model and tool usage for at most {MAX_SPAN.days} days at a "
            f"time; {(end - start).total_seconds() / 86400:.1f} days were asked for"
        )


def bucket_length(start: datetime, end: datetime) -> timedelta:
    """The length of the buckets the platform answers a span with."""
    check_span(start, end)
    return HOUR if end - start <= HOURLY_UP_TO else DAY


def query_params(start: datetime, end: datetime) -> dict[str, str]:
    """E3/E4's query: the span in the platform's time (UTC+8)."""
    check_span(start, end)
    return {
        "startTime": start.astimezone(PLATFORM_TZ).strftime(QUERY_TIME_FORMAT),
        "endTime": end.astimezone(PLATFORM_TZ).strftime(QUERY_TIME_FORMAT),
    }


# -- parsing ----------------------------------------------------------------------------


def _data(data: object, what: str) -> Mapping[str, object]:
    if data is None:
        raise UnexpectedResponse(f"The platform sent no {what} data.", detail=f"{what}: no data")
    if not isinstance(data, Mapping):
        raise UnexpectedResponse(
            f"The platform's {what} data has an unexpected shape.",
            detail=f"{what}: data is {type(data).__name__}, not an object",
        )
    return data


def _bucket_starts(data: Mapping[str, object], length: timedelta, what: str) -> list[datetime]:
    labels = data.get("x_time")
    if labels is None:
        return []
    if not isinstance(labels, list):
        raise UnexpectedResponse(
            f"The platform's {what} data has an unexpected shape.",
            detail=f"{what}: x_time is {type(labels).__name__}, not a list",
        )
    if len(labels) > MAX_BUCKETS:
        raise UnexpectedResponse(
            f"The platform's {what} data has an unexpected shape.",
            detail=f"{what}: {len(labels)} buckets",
        )
    starts: list[datetime] = []
    for label in labels:
        moment = plausible(parse_platform_datetime(label)) if isinstance(label, str) else None
        if moment is None:
            raise UnexpectedResponse(
                f"The platform's {what} data has a time glmtray cannot read.",
                detail=f"{what}: x_time entry {text_of(label, 40)!r}",
            )
        if length >= DAY:
            # A daily bucket is the platform's calendar day (UTC+8), whatever the label says.
            local = moment.astimezone(PLATFORM_TZ)
            moment = local.replace(hour=0, minute=0, second=0, microsecond=0)
        starts.append(moment.astimezone(timezone.utc))
    return starts


def _column(value: object, count: int) -> list[float | None] | None:
    """A per-bucket list as numbers (None where an entry is null or no number); None when
    `value` is not a list at all."""
    if not isinstance(value, list):
        return None
    numbers: list[float | None] = [to_float(v) for v in value[:count]]
    numbers.extend([None] * (count - len(numbers)))
    return numbers


def _buckets(
    starts: Sequence[datetime], length: timedelta, columns: Mapping[str, list[float | None]]
) -> tuple[UsageBucket, ...]:
    buckets = []
    for index, start in enumerate(starts):
        values = {
            name: number
            for name, column in columns.items()
            if (number := column[index]) is not None
        }
        buckets.append(UsageBucket(start=start, length=length, values=values))
    return tuple(buckets)


def _bucket_length(data: Mapping[str, object], asked: timedelta) -> timedelta:
    """The span's rule, unless the labels plainly say otherwise (a date alone is a day)."""
    labels = data.get("x_time")
    if isinstance(labels, list) and labels and all(isinstance(x, str) for x in labels):
        if all(re.fullmatch(r"\s*\d{4}-\d{2}-\d{2}\s*", x) for x in labels):
            return DAY
        if all(re.fullmatch(r"\s*\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2})?\s*", x) for x in labels):
            return HOUR
    return asked


@typed
def parse_model_usage(data: object, length: timedelta) -> ModelUsage:
    """E3's `data`, asked for in buckets of `length` (see `bucket_length`)."""
    body = _data(data, "model usage")
    length = _bucket_length(body, length)
    starts = _bucket_starts(body, length, "model usage")
    by_model: dict[str, float] = {}
    total_tokens = total_calls = None
    totals = body.get("totalUsage")
    if isinstance(totals, Mapping):
        total_tokens = to_float(totals.get("totalTokensUsage"))
        total_calls = to_float(totals.get("totalModelCallCount"))
        summary = totals.get("modelSummaryList")
        for entry in summary if isinstance(summary, list) else []:
            if not isinstance(entry, Mapping):
                continue
            name = text_of(entry.get("modelName"), 80)
            tokens = to_float(entry.get("totalTokens"))
            if name and tokens is not None:
                by_model[name] = by_model.get(name, 0.0) + tokens
    used = [name for name, tokens in by_model.items() if tokens > 0]
    # Tokens per bucket belong to one model only when the span used no other.
    key = used[0] if len(used) == 1 else ALL_MODELS
    count = len(starts)
    token_column = _column(body.get("tokensUsage"), count)
    call_column = _column(body.get("modelCallCount"), count)
    return ModelUsage(
        tokens=_buckets(starts, length, {key: token_column} if token_column is not None else {}),
        calls=_buckets(starts, length, {key: call_column} if call_column is not None else {}),
        tokens_by_model=by_model,
        total_tokens=total_tokens,
        total_calls=total_calls,
    )


def tool_name(field_name: str) -> str | None:
    """E4's list or total name -> the tool it counts ("webReadMcpCount" -> "web-reader",
    "totalVisionMcpCount" -> "vision"); None for a name that counts no tool."""
    name = field_name[5:] if field_name.startswith("total") else field_name
    name = name[:1].lower() + name[1:]
    if name in KNOWN_TOOL_SERIES:
        return KNOWN_TOOL_SERIES[name]
    for suffix in _TOOL_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            stem = name[: -len(suffix)]
            words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", stem).lower()
            cleaned = text_of(words, 60)
            return cleaned or None
    return None


@typed
def parse_tool_usage(data: object, length: timedelta) -> ToolUsage:
    """E4's `data`, asked for in buckets of `length` (see `bucket_length`)."""
    body = _data(data, "tool usage")
    length = _bucket_length(body, length)
    starts = _bucket_starts(body, length, "tool usage")
    columns: dict[str, list[float | None]] = {}
    for key, value in body.items():
        if not isinstance(key, str) or key == "x_time":
            continue
        name = tool_name(key)
        column = _column(value, len(starts))
        if name is not None and column is not None and name not in columns:
            columns[name] = column
    by_tool: dict[str, float] = {}
    totals = body.get("totalUsage")
    if isinstance(totals, Mapping):
        for key, value in totals.items():
            name = tool_name(key) if isinstance(key, str) else None
            number = to_float(value)
            if name is not None and number is not None:
                by_tool[name] = by_tool.get(name, 0.0) + number
    return ToolUsage(calls=_buckets(starts, length, columns), calls_by_tool=by_tool)
