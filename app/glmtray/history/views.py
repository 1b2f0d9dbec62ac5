"""What the history window, `glmtray history` and the exports show: one span's view.

A view joins two sources: each quota window's share over time, from the local history
store (written at every refresh), and the platform's model and tool usage (E3, E4) for the
span, fetched through a `UsageCache` so that looking at a span again and again costs the
platform at most one request per endpoint every 10 minutes. Qt-free; `load_history_view`
runs on the platform worker thread.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone
from enum import Enum
from typing import TYPE_CHECKING, Protocol

from glmtray.errors import AuthenticationFailed, PlatformError, PlatformUnavailable
from glmtray.i18n import _
from glmtray.peak import AUTO, DEFAULT_PEAK_HOURS, PEAK_RULES, PeakRule, peak_minutes, rule_for
from glmtray.platform.usage import (
    DAY,
    HOUR,
    ModelUsage,
    ToolUsage,
    UsageBucket,
)
from glmtray.timeutil import PLATFORM_TZ, format_duration, format_local_time

if TYPE_CHECKING:
    from glmtray.platform.client import PlatformClient

__all__ = [
    "USAGE_REFRESH_INTERVAL",
    "HistoryView",
    "SharePoint",
    "Span",
    "UsageBucket",
    "UsageCache",
    "UsageSnapshot",
    "WindowSeries",
    "load_history_view",
]

USAGE_REFRESH_INTERVAL = timedelta(minutes=10)
"""The platform is asked for one span's usage at most this often."""
RESET_TIME_TOLERANCE = timedelta(minutes=1)
"""A window's reset time that moves by less than this is the same reset, reported again
(the platform's milliseconds need not be identical from one answer to the next)."""


class Span(str, Enum):
    DAY = "24h"
    WEEK = "7d"
    MONTH = "30d"

    @property
    def duration(self) -> timedelta:
        return {Span.DAY: DAY, Span.WEEK: 7 * DAY, Span.MONTH: 30 * DAY}[self]

    @property
    def bucket(self) -> timedelta:
        """The platform's bucket for this span: hours for a day, days beyond 48 hours."""
        return HOUR if self is Span.DAY else DAY

    def usage_start(self, now: datetime) -> datetime:
        """Where E3/E4 are asked to start: the bucket boundary at or before `now - duration`
        (the hour for 24 h; the platform's midnight, UTC+8, for days), so the first bucket
        is a whole one and the buckets cover the whole span. The span asked for stays inside
        the platform's rules: under 25 hours for 24 h (hourly), under 31 days for 30 d."""
        start = now.astimezone(timezone.utc) - self.duration
        if self is Span.DAY:  # UTC+8 is a whole number of hours: its hours are UTC's
            return start.replace(minute=0, second=0, microsecond=0)
        first = start.astimezone(PLATFORM_TZ).date()
        return datetime.combine(first, time(0), PLATFORM_TZ).astimezone(timezone.utc)


@dataclass(frozen=True)
class SharePoint:
    at: datetime
    share: float
    """0..1 used."""


@dataclass(frozen=True)
class WindowSeries:
    key: str
    """The window's stable key (`five_hour`, `weekly`, `monthly_tools`, ...)."""
    label: str
    """Its display name, as last recorded."""
    points: tuple[SharePoint, ...]
    resets: tuple[datetime, ...]
    """When the window reset between two recorded points (see `detect_resets`)."""


@dataclass(frozen=True)
class HistoryView:
    span: Span
    start: datetime
    end: datetime
    windows: tuple[WindowSeries, ...]
    peak_periods: tuple[tuple[datetime, datetime], ...]
    """Peak periods within [start, end], to shade."""
    model_tokens: tuple[UsageBucket, ...]
    """Tokens per bucket. Keyed by model when the span used one model only, else by
    `platform.usage.ALL_MODELS`: the platform splits tokens by model only in its totals
    over the span (`model_totals`)."""
    tool_calls: tuple[UsageBucket, ...]
    """Calls per tool per bucket."""
    usage_note: str | None
    """Why model and tool usage are missing or old, None when fresh."""
    model_totals: Mapping[str, float] = field(default_factory=dict)
    """Tokens per model over the usage span."""
    tool_totals: Mapping[str, float] = field(default_factory=dict)
    """Calls per tool over the usage span."""
    model_calls: tuple[UsageBucket, ...] = ()
    """Model calls per bucket, keyed as `model_tokens`."""
    usage_fetched_at: datetime | None = None
    """When the usage shown was fetched (None: there is none)."""
    peak_rule: str = ""
    """The peak rule the shading follows (`peak.PEAK_RULES`)."""


# -- the usage cache --------------------------------------------------------------------


@dataclass(frozen=True)
class UsageSnapshot:
    """What the cache holds for one span: the last good answers and the last failure."""

    models: ModelUsage | None
    models_at: datetime | None
    tools: ToolUsage | None
    tools_at: datetime | None
    models_error: PlatformError | None
    tools_error: PlatformError | None


@dataclass
class _SpanEntry:
    lock: threading.Lock = field(default_factory=threading.Lock)
    attempted_at: datetime | None = None
    models: ModelUsage | None = None
    models_at: datetime | None = None
    tools: ToolUsage | None = None
    tools_at: datetime | None = None
    models_error: PlatformError | None = None
    tools_error: PlatformError | None = None

    def snapshot(self) -> UsageSnapshot:
        return UsageSnapshot(
            self.models,
            self.models_at,
            self.tools,
            self.tools_at,
            self.models_error,
            self.tools_error,
        )


class UsageCache:
    """E3/E4 per span, for one session: at most one fetch every `interval` per span, one
    request in flight per span (a second caller waits for the first and shares its
    answer), and a failed fetch keeps the last good data. Thread-safe."""

    def __init__(self, interval: timedelta = USAGE_REFRESH_INTERVAL) -> None:
        self.interval = interval
        self._entries: dict[Span, _SpanEntry] = {}
        self._guard = threading.Lock()

    def _entry(self, span: Span) -> _SpanEntry:
        with self._guard:
            return self._entries.setdefault(span, _SpanEntry())

    def clear(self) -> None:
        """Forget everything (another account signed in)."""
        with self._guard:
            self._entries.clear()

    def last(self, span: Span) -> UsageSnapshot | None:
        """What the last fetch of `span` left (None: never fetched); waits for one in flight."""
        entry = self._entry(span)
        with entry.lock:
            return None if entry.attempted_at is None else entry.snapshot()

    def due(self, span: Span, now: datetime) -> bool:
        """Whether a `get` at `now` would ask the platform."""
        attempted = self._entry(span).attempted_at
        return attempted is None or not attempted <= now < attempted + self.interval

    def get(
        self,
        span: Span,
        now: datetime,
        fetch_models: Callable[[], ModelUsage],
        fetch_tools: Callable[[], ToolUsage],
    ) -> UsageSnapshot:
        """The span's usage, fetched now if the last attempt is `interval` old (or the
        clock went back), else as last fetched. Errors other than the platform's
        (PlatformError) are bugs and propagate."""
        entry = self._entry(span)
        with entry.lock:
            attempted = entry.attempted_at
            if attempted is not None and attempted <= now < attempted + self.interval:
                return entry.snapshot()
            try:
                self._fetch(entry, now, fetch_models, fetch_tools)
            except BaseException:
                # A bug (or an interrupt), not the platform: nothing was learnt, so the
                # next look asks again rather than showing "no usage" for 10 minutes.
                entry.attempted_at = attempted
                raise
            return entry.snapshot()

    @staticmethod
    def _fetch(
        entry: _SpanEntry,
        now: datetime,
        fetch_models: Callable[[], ModelUsage],
        fetch_tools: Callable[[], ToolUsage],
    ) -> None:
        entry.attempted_at = now
        try:
            entry.models = fetch_models()
            entry.models_at, entry.models_error = now, None
        except PlatformError as error:
            entry.models_error = error
        if isinstance(entry.models_error, (AuthenticationFailed, PlatformUnavailable)):
            # The key or the road failed: the second endpoint would fail the same way,
            # after as long a wait.
            entry.tools_error = entry.models_error
            return
        try:
            entry.tools = fetch_tools()
            entry.tools_at, entry.tools_error = now, None
        except PlatformError as error:
            entry.tools_error = error


def usage_note(snapshot: UsageSnapshot, now: datetime) -> str | None:
    """None when the last fetch got both series; else why a series is missing or old."""
    models_failed = snapshot.models_error is not None
    tools_failed = snapshot.tools_error is not None
    if not models_failed and not tools_failed:
        return None
    error = snapshot.models_error or snapshot.tools_error
    reason = error.message if error is not None else ""
    kept = [
        moment
        for failed, moment in (
            (models_failed, snapshot.models_at),
            (tools_failed, snapshot.tools_at),
        )
        if failed and moment is not None
    ]
    if models_failed and tools_failed:
        if not kept:
            return _("Model and tool usage could not be loaded: {reason}").format(reason=reason)
        oldest = min(kept)
        return _(
            "Model and tool usage could not be refreshed ({reason}); showing usage from "
            "{time}, {age} old."
        ).format(reason=reason, time=format_local_time(oldest, now), age=_age(oldest, now))
    if models_failed:
        if not kept:
            return _("Model usage could not be loaded: {reason}").format(reason=reason)
        return _(
            "Model usage could not be refreshed ({reason}); showing model usage from {time}, "
            "{age} old."
        ).format(reason=reason, time=format_local_time(kept[0], now), age=_age(kept[0], now))
    if not kept:
        return _("Tool usage could not be loaded: {reason}").format(reason=reason)
    return _(
        "Tool usage could not be refreshed ({reason}); showing tool usage from {time}, {age} old."
    ).format(reason=reason, time=format_local_time(kept[0], now), age=_age(kept[0], now))


def _age(moment: datetime, now: datetime) -> str:
    return format_duration(now - moment)


# -- window shares from the store -------------------------------------------------------


class HistoryRowLike(Protocol):
    """What a view needs of a stored row (`history.store.HistoryRow`)."""

    @property
    def at(self) -> datetime: ...
    @property
    def window_key(self) -> str: ...
    @property
    def label(self) -> str: ...
    @property
    def share(self) -> float: ...
    @property
    def resets_at(self) -> datetime | None: ...


class HistoryReader(Protocol):
    """What a view needs of the store (`history.store.HistoryStore`)."""

    def read(self, since: datetime, until: datetime) -> Sequence[HistoryRowLike]: ...


def detect_resets(rows: Sequence[HistoryRowLike]) -> tuple[datetime, ...]:
    """When one window reset, from its rows in time order: between two rows where the share
    fell, or where the announced reset time moved (by a minute or more). The moment is
    the earlier row's announced reset when it lies between the two rows, else the later
    row's time (the first moment the reset is known)."""
    resets: list[datetime] = []
    for before, after in itertools.pairwise(rows):
        fell = after.share < before.share
        moved = (
            before.resets_at is not None
            and after.resets_at is not None
            and abs(after.resets_at - before.resets_at) >= RESET_TIME_TOLERANCE
        )
        if not (fell or moved):
            continue
        announced = before.resets_at
        if announced is not None and before.at < announced <= after.at:
            resets.append(announced)
        else:
            resets.append(after.at)
    return tuple(resets)


def window_series(rows: Sequence[HistoryRowLike]) -> tuple[WindowSeries, ...]:
    """One series per window key, in the order windows first appear."""
    by_key: dict[str, list[HistoryRowLike]] = {}
    for row in sorted(rows, key=lambda r: r.at):
        by_key.setdefault(row.window_key, []).append(row)
    return tuple(
        WindowSeries(
            key=key,
            label=group[-1].label,
            points=tuple(SharePoint(r.at, min(1.0, max(0.0, r.share))) for r in group),
            resets=detect_resets(group),
        )
        for key, group in by_key.items()
    )


# -- peak periods -----------------------------------------------------------------------


def peak_periods(
    start: datetime,
    end: datetime,
    rule: str | PeakRule = AUTO,
    peak_hours: str = DEFAULT_PEAK_HOURS,
) -> tuple[tuple[datetime, datetime], ...]:
    """The peak periods (UTC) overlapping [start, end], clipped to it: the peak hours in
    UTC+8 on the days `rule` applies them (a period wrapping midnight belongs to the day
    it starts on, as in `peak.is_peak_time`)."""
    chosen = rule if isinstance(rule, PeakRule) else PEAK_RULES[rule_for(None, rule)]
    first_minute, last_minute = peak_minutes(peak_hours)
    # "22:00-02:00" wraps midnight; "00:00-24:00" is the whole day (never zero minutes).
    length = (
        last_minute - first_minute
        if last_minute > first_minute
        else last_minute + 24 * 60 - first_minute
    )
    day = (start.astimezone(PLATFORM_TZ) - DAY).date()
    last_day = end.astimezone(PLATFORM_TZ).date()
    periods: list[tuple[datetime, datetime]] = []
    while day <= last_day:
        if day.weekday() in chosen.weekdays:
            begins = datetime.combine(day, time(0), PLATFORM_TZ) + timedelta(minutes=first_minute)
            ends = begins + timedelta(minutes=length)
            clipped = (max(begins, start), min(ends, end))
            if clipped[0] < clipped[1]:
                if periods and periods[-1][1] >= clipped[0]:
                    periods[-1] = (periods[-1][0], clipped[1])
                else:
                    periods.append(clipped)
        day += timedelta(days=1)
    return tuple((a.astimezone(timezone.utc), b.astimezone(timezone.utc)) for a, b in periods)


# -- the view ---------------------------------------------------------------------------


def load_history_view(
    client: PlatformClient,
    store: HistoryReader,
    span: Span,
    now: datetime,
    cache: UsageCache,
    *,
    peak_rule: str | PeakRule = AUTO,
    peak_hours: str = DEFAULT_PEAK_HOURS,
) -> HistoryView:
    """The view of `span` ending at `now` (aware). Runs on the worker thread: it reads the
    store and may ask the platform (through `cache`). A platform that fails costs the
    usage series only (`usage_note` says why); the window shares come from the store.

    `peak_rule`: a rule name (`peak.CREDIT`, `peak.TOKEN`), or AUTO for the token rule
    (peak hours every day) when the caller does not know the plan's rule."""
    now = now.astimezone(timezone.utc)
    start = now - span.duration
    windows = window_series(store.read(start, now))
    usage_start = span.usage_start(now)
    snapshot = cache.get(
        span,
        now,
        lambda: client.model_usage_buckets(usage_start, now),
        lambda: client.tool_usage_buckets(usage_start, now),
    )
    models, tools = snapshot.models, snapshot.tools
    rule = peak_rule if isinstance(peak_rule, PeakRule) else PEAK_RULES[rule_for(None, peak_rule)]
    fetched = [t for t in (snapshot.models_at, snapshot.tools_at) if t is not None]
    return HistoryView(
        span=span,
        start=start,
        end=now,
        windows=windows,
        peak_periods=peak_periods(start, now, rule, peak_hours),
        model_tokens=models.tokens if models is not None else (),
        tool_calls=tools.calls if tools is not None else (),
        usage_note=usage_note(snapshot, now),
        model_totals=dict(models.tokens_by_model) if models is not None else {},
        tool_totals=dict(tools.calls_by_tool) if tools is not None else {},
        model_calls=models.calls if models is not None else (),
        usage_fetched_at=min(fetched) if fetched else None,
        peak_rule=rule.name,
    )
