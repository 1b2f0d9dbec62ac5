"""Sample usage histories for the history window's tests, its screenshots and its bench.

The shares come from a small simulation of a working week (a 5-hour window that starts at
the first request and resets five hours later, a weekly window, monthly tool calls) read
as the store would record it: one reading a minute for the last two days, one every 30
minutes before. They go through the real `window_series` (reset detection included), and
the model and tool usage are platform-shaped buckets, so the window is drawn from what
`load_history_view` would give it.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

from glmtray.history.store import HistoryRow
from glmtray.history.views import HistoryView, Span, UsageBucket, peak_periods, window_series
from glmtray.platform.usage import ALL_MODELS, DAY, HOUR
from glmtray.timeutil import PLATFORM_TZ

LABELS = {"five_hour": "5-hour", "weekly": "Weekly", "monthly_tools": "Monthly tool calls"}


def _working(moment: datetime) -> bool:
    """Weekdays 09:00-12:00 and 13:30-19:00, platform time; a little on Saturdays."""
    local = moment.astimezone(PLATFORM_TZ)
    minutes = local.hour * 60 + local.minute
    if local.weekday() == 6:
        return False
    if local.weekday() == 5:
        return 10 * 60 <= minutes < 12 * 60
    return 9 * 60 <= minutes < 12 * 60 or 13 * 60 + 30 <= minutes < 19 * 60


def simulated_rows(
    now: datetime, days: float, *, fine_hours: float = 48, seed: int = 7, step_minutes: int = 1
) -> Iterator[HistoryRow]:
    """Readings of three windows from `days` ago to `now`, oldest first."""
    rng = random.Random(seed)
    start = now - timedelta(days=days)
    fine_from = now - timedelta(hours=fine_hours)
    five_share, five_reset = 0.0, None
    weekly_share = 0.0
    tools_share = 0.0
    moment = start
    minute = timedelta(minutes=step_minutes)
    recorded = timedelta(0)
    while moment <= now:
        local = moment.astimezone(PLATFORM_TZ)
        if local.weekday() == 0 and local.hour == 0 and local.minute < step_minutes:
            weekly_share = 0.0
        if local.day == 1 and local.hour == 0 and local.minute < step_minutes:
            tools_share = 0.0
        if five_reset is not None and moment >= five_reset:
            five_share, five_reset = 0.0, None
        if _working(moment) and rng.random() < 0.8:
            if five_reset is None:
                five_reset = moment + timedelta(hours=5)
            burst = rng.uniform(0.0, 0.0045) * step_minutes
            five_share = min(1.0, five_share + burst)
            weekly_share = min(1.0, weekly_share + burst / 9)
            if rng.random() < 0.05:
                tools_share = min(1.0, tools_share + 0.002)
        recorded += minute
        every = minute if moment >= fine_from else timedelta(minutes=30)
        if recorded >= every or moment >= now:
            recorded = timedelta(0)
            local_week = local.date() - timedelta(days=local.weekday())
            weekly_reset = datetime.combine(
                local_week + timedelta(days=7), datetime.min.time(), PLATFORM_TZ
            )
            for key, share, resets_at in (
                ("five_hour", five_share, five_reset),
                ("weekly", weekly_share, weekly_reset),
                ("monthly_tools", tools_share, None),
            ):
                yield HistoryRow(
                    at=moment,
                    window_key=key,
                    label=LABELS[key],
                    share=share,
                    used=None,
                    limit=None,
                    resets_at=resets_at.astimezone(timezone.utc) if resets_at else None,
                )
        moment += minute


def usage_buckets(span: Span, now: datetime, seed: int = 3) -> tuple[
    tuple[UsageBucket, ...], tuple[UsageBucket, ...]
]:  # fmt: skip
    """Tokens (all models) and tool calls per hour (24 h) or per day, busy in working hours."""
    rng = random.Random(seed)
    first = span.usage_start(now)
    length = HOUR if span is Span.DAY else DAY
    tokens: list[UsageBucket] = []
    tools: list[UsageBucket] = []
    moment = first
    while moment < now:
        if length == HOUR:
            busy = 1.0 if _working(moment) else 0.05
        else:
            weekday = moment.astimezone(PLATFORM_TZ).weekday()
            busy = 8.0 if weekday < 5 else (2.0 if weekday == 5 else 0.2)
        spent = busy * rng.uniform(0.6, 1.4)
        tokens.append(UsageBucket(moment, length, {ALL_MODELS: round(spent * 1_800_000)}))
        tools.append(
            UsageBucket(
                moment,
                length,
                {
                    "search": round(spent * rng.uniform(4, 9)),
                    "web-reader": round(spent * rng.uniform(1, 4)),
                    "zread": round(spent * rng.uniform(0, 2)),
                },
            )
        )
        moment += length
    return tuple(tokens), tuple(tools)


def sample_view(
    span: Span,
    now: datetime,
    *,
    empty: bool = False,
    usage_note: str | None = None,
    history_days: float = 30,
) -> HistoryView:
    """What `load_history_view` would give for `span` at `now` with a month of history."""
    start = now - span.duration
    rows = [] if empty else [r for r in simulated_rows(now, history_days) if r.at >= start]
    tokens, tools = ((), ()) if empty else usage_buckets(span, now)
    total = sum(sum(b.values.values()) for b in tokens)
    return HistoryView(
        span=span,
        start=start,
        end=now,
        windows=window_series(rows),
        peak_periods=peak_periods(start, now, "token"),
        model_tokens=tokens,
        tool_calls=tools,
        usage_note=usage_note,
        model_totals={"glm-4.6": round(total * 0.72), "glm-4.5-air": round(total * 0.28)}
        if total
        else {},
        tool_totals={},
        usage_fetched_at=None if empty else now,
        peak_rule="token",
    )
