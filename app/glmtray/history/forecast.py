"""Pace and forecast per quota window, from the recent usage history. Qt-free.

"At this pace" means: the share the window gained over the recent look-back (a fifth of the
window's length, between one hour and one day), as the platform counted it. Peak hours make
the same work count more (peak.py), so the pace is measured per *weighted* hour (each hour
times the multiplier then in force) and projected forward through the coming peak and
off-peak hours the same way: an off-peak evening's pace is not taken for the peak
afternoon's. Tool-call windows count calls, which no multiplier touches.

Only readings of the window's current period count (those naming the same reset, within
`PERIOD_JITTER`), and of those only the ones since the share last fell. Every case where no
honest forecast exists has an outcome of its own, said plainly: no history, a single
reading, readings too close together, an idle window, usage that fell, an unknown reset,
a window not started, and one already used up.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import TYPE_CHECKING, Any

from glmtray.alerts import PERIOD_JITTER
from glmtray.i18n import _
from glmtray.peak import DEFAULT_PEAK_HOURS, PEAK_RULES, PeakRule, peak_status
from glmtray.platform.models import QuotaWindow, Snapshot
from glmtray.timeutil import format_duration, format_local_time, iso_utc
from glmtray.wording import window_name

if TYPE_CHECKING:
    from glmtray.history.store import HistoryRow, HistoryStore

MIN_SPAN = timedelta(minutes=10)
"""Readings closer together than this say too little about a pace."""
LOOK_BACK_MIN = timedelta(hours=1)
LOOK_BACK_MAX = timedelta(days=1)
ANCHOR_SLACK = timedelta(hours=1)
"""Read this much before a window's look-back too: the reading that starts it may be older."""
NOTIFY_MARGIN = timedelta(minutes=30)
"""A window forecast to run out more than this before its reset is worth a notification."""
_SAME = 1e-9

_UNIT_LENGTHS = {3: timedelta(hours=1), 5: timedelta(days=30), 6: timedelta(weeks=1)}
_KNOWN_LENGTHS = {
    "five_hour": timedelta(hours=5),
    "weekly": timedelta(weeks=1),
    "monthly_tools": timedelta(days=30),
}


class Outcome(str, Enum):
    RUNS_OUT = "runs_out"
    """At this pace the window is used up before it resets."""
    LASTS = "lasts"
    """At this pace the window reaches `share_at_reset` (under 100 %) by its reset."""
    IDLE = "idle"
    """Nothing used over the look-back: it stays where it is."""
    FELL = "fell"
    """The last reading is lower than the one before: no pace until it rises again."""
    SINGLE_POINT = "single_point"
    """One reading of this period so far."""
    SHORT_SPAN = "short_span"
    """Readings of this period, but closer together than `MIN_SPAN`."""
    NO_HISTORY = "no_history"
    """No stored reading of this window over its look-back and the hour before (a first
    start, a tray that was not running, a history that failed)."""
    NO_RESET = "no_reset"
    """In use, but the platform names no reset: nothing to forecast against."""
    NOT_STARTED = "not_started"
    EXHAUSTED = "exhausted"


@dataclass(frozen=True)
class Forecast:
    window_key: str
    label: str
    outcome: Outcome
    share_now: float
    """0..1 used now."""
    resets_at: datetime | None
    pace_per_hour: float | None = None
    """Share gained per hour over the look-back, as counted (peak hours included)."""
    runs_out_at: datetime | None = None
    share_at_reset: float | None = None
    """Projected share at the reset (RUNS_OUT: 1.0; LASTS and IDLE: below it)."""
    since: datetime | None = None
    """Where the pace was measured from (IDLE: the last change; FELL: the fall)."""
    readings: int = 0
    """Readings of the current period the forecast looked at, the current one included."""

    @property
    def margin(self) -> timedelta | None:
        """How long before its reset the window runs out (RUNS_OUT only)."""
        if self.runs_out_at is None or self.resets_at is None:
            return None
        return self.resets_at - self.runs_out_at

    @property
    def runs_out_early(self) -> bool:
        """Forecast to run out more than `NOTIFY_MARGIN` before the reset."""
        margin = self.margin
        return margin is not None and margin > NOTIFY_MARGIN

    def to_json(self, now: datetime) -> dict[str, Any]:
        """Moments in ISO UTC to the second, `margin_seconds` the difference of those."""
        margin = None
        if self.runs_out_at is not None and self.resets_at is not None:
            margin = self.resets_at.replace(microsecond=0) - self.runs_out_at.replace(microsecond=0)

        def moment(value: datetime | None) -> str | None:
            return iso_utc(value) if value is not None else None

        return {
            "outcome": self.outcome.value,
            "phrase": forecast_phrase(self, now),
            "share_now": round(self.share_now, 4),
            "pace_per_hour": round(self.pace_per_hour, 6)
            if self.pace_per_hour is not None
            else None,
            "runs_out_at": moment(self.runs_out_at),
            "margin_seconds": int(margin.total_seconds()) if margin is not None else None,
            "share_at_reset": round(self.share_at_reset, 4)
            if self.share_at_reset is not None
            else None,
            "resets_at": moment(self.resets_at),
            "since": moment(self.since),
            "readings": self.readings,
        }


def period_length(window: QuotaWindow) -> timedelta | None:
    """The window's length from its unit and number ("5 x hour"), else from its id."""
    unit = _UNIT_LENGTHS.get(window.unit) if window.unit is not None else None
    if unit is not None and window.number is not None and window.number > 0:
        return unit * window.number
    return _KNOWN_LENGTHS.get(window.id)


def look_back(window: QuotaWindow) -> timedelta:
    """How far back "this pace" looks: a fifth of the window (the last hour of a 5-hour
    window, a day of a week's), never under an hour nor over a day."""
    length = period_length(window)
    if length is None:
        return LOOK_BACK_MIN
    return max(LOOK_BACK_MIN, min(LOOK_BACK_MAX, length / 5))


def _rule(rule: PeakRule | str | None, window: QuotaWindow) -> PeakRule | None:
    if window.type == "TIME_LIMIT":
        return None  # tool calls are counted one by one, peak or not
    if isinstance(rule, str):
        return PEAK_RULES.get(rule)
    return rule


def _segments(
    start: datetime, end: datetime, rule: PeakRule | None, peak_hours: str
) -> Iterator[tuple[datetime, datetime, float]]:
    """(from, to, multiplier) pieces covering start..end, cut at peak boundaries."""
    if rule is None:
        if end > start:
            yield start, end, 1.0
        return
    moment = start
    while moment < end:
        status = peak_status(moment, rule, peak_hours)
        until = min(max(status.until, moment + timedelta(seconds=1)), end)
        yield moment, until, status.multiplier
        moment = until


def weighted_hours(
    start: datetime, end: datetime, rule: PeakRule | None, peak_hours: str = DEFAULT_PEAK_HOURS
) -> float:
    """Hours from `start` to `end`, each times the multiplier in force (1 without a rule)."""
    return sum(
        (b - a).total_seconds() / 3600 * m for a, b, m in _segments(start, end, rule, peak_hours)
    )


def _runs_out(
    now: datetime,
    reset: datetime,
    remaining: float,
    pace: float,
    rule: PeakRule | None,
    peak_hours: str,
) -> datetime | None:
    """When `remaining` share is used at `pace` per weighted hour; None if not before reset."""
    used = 0.0
    for start, end, multiplier in _segments(now, reset, rule, peak_hours):
        per_hour = pace * multiplier
        gained = per_hour * (end - start).total_seconds() / 3600
        if per_hour > 0 and used + gained >= remaining:
            return start + timedelta(hours=(remaining - used) / per_hour)
        used += gained
    return None


def forecast_window(
    rows: Sequence[HistoryRow],
    window: QuotaWindow,
    now: datetime,
    rule: PeakRule | str | None = None,
    peak_hours: str = DEFAULT_PEAK_HOURS,
) -> Forecast:
    """The forecast for `window` as read at `now`, from the stored `rows` (any windows,
    any periods: those of this window's current period are picked here). `rule` is the
    peak rule in force (a name or a PeakRule; None counts every hour alike)."""
    share = window.used_percent / 100
    base: dict[str, Any] = {
        "window_key": window.id,
        "label": window.label,
        "share_now": share,
        "resets_at": window.resets_at,
    }
    if window.is_exhausted:
        return Forecast(outcome=Outcome.EXHAUSTED, share_at_reset=1.0, **base)
    if window.resets_at is None:
        outcome = Outcome.NO_RESET if window.in_use else Outcome.NOT_STARTED
        return Forecast(outcome=outcome, **base)
    reset = window.resets_at
    # The reading at `now` is the window itself; a stored copy of it (whole seconds) is not
    # a second reading.
    earlier = [r for r in rows if r.window_key == window.id and r.at <= now - timedelta(seconds=1)]
    if not earlier:
        return Forecast(outcome=Outcome.NO_HISTORY, readings=1, **base)
    points = [
        (r.at, r.share)
        for r in sorted(earlier, key=lambda r: r.at)
        if r.resets_at is not None and abs(r.resets_at - reset) <= PERIOD_JITTER
    ]
    points.append((now, share))
    if len(points) == 1:
        return Forecast(outcome=Outcome.SINGLE_POINT, readings=1, since=now, **base)
    falls = [i for i in range(1, len(points)) if points[i][1] < points[i - 1][1] - _SAME]
    if falls and falls[-1] == len(points) - 1:
        return Forecast(outcome=Outcome.FELL, readings=len(points), since=points[-2][0], **base)
    if falls:
        points = points[falls[-1] :]  # only what came after the last fall
    if reset <= now:
        # The reset is due (the data is late): the share by the reset is the share now.
        return Forecast(outcome=Outcome.LASTS, share_at_reset=share, readings=len(points), **base)
    start = now - look_back(window)
    anchor = next((p for p in reversed(points) if p[0] <= start), points[0])
    readings = len(points)
    if now - anchor[0] < MIN_SPAN:
        return Forecast(outcome=Outcome.SHORT_SPAN, readings=readings, since=anchor[0], **base)
    gained = share - anchor[1]
    hours = (now - anchor[0]).total_seconds() / 3600
    if gained <= _SAME:
        last_change = next(
            (points[i][0] for i in range(len(points) - 1, 0, -1) if points[i - 1][1] < share),
            points[0][0],
        )
        return Forecast(
            outcome=Outcome.IDLE,
            pace_per_hour=0.0,
            share_at_reset=share,
            since=last_change,
            readings=readings,
            **base,
        )
    chosen = _rule(rule, window)
    pace = gained / weighted_hours(anchor[0], now, chosen, peak_hours)
    common: dict[str, Any] = {
        "pace_per_hour": gained / hours,
        "since": anchor[0],
        "readings": readings,
        **base,
    }
    runs_out = _runs_out(now, reset, 1.0 - share, pace, chosen, peak_hours)
    if runs_out is not None:
        return Forecast(
            outcome=Outcome.RUNS_OUT, runs_out_at=runs_out, share_at_reset=1.0, **common
        )
    at_reset = min(share + pace * weighted_hours(now, reset, chosen, peak_hours), 1.0)
    return Forecast(outcome=Outcome.LASTS, share_at_reset=at_reset, **common)


def forecasts_for(
    store: HistoryStore | None,
    snapshot: Snapshot,
    now: datetime,
    rule: PeakRule | str | None = None,
    peak_hours: str = DEFAULT_PEAK_HOURS,
) -> dict[str, Forecast]:
    """Every window's forecast, keyed by window id, from the account's recent history
    (each window's look-back and a little more: a forecast reads what it uses, no more). A
    store that cannot be read gives no history, never an error."""
    forecasts: dict[str, Forecast] = {}
    for window in snapshot.windows:
        rows: list[HistoryRow] = []
        if store is not None:
            rows = store.read(now - look_back(window) - ANCHOR_SLACK, now, window.id)
        forecasts[window.id] = forecast_window(rows, window, now, rule, peak_hours)
    return forecasts


def _percent(share: float) -> str:
    return f"{share * 100:.0f}"


def forecast_phrase(forecast: Forecast, now: datetime) -> str:
    """One short line for under the window's bar: what the pace means for this window.
    Times in local time."""
    outcome = forecast.outcome
    if outcome is Outcome.RUNS_OUT and forecast.runs_out_at is not None:
        return _("At this pace it runs out at {time}, {margin} before it resets").format(
            time=format_local_time(forecast.runs_out_at, now),
            margin=format_duration(forecast.margin or timedelta(0)),
        )
    if outcome is Outcome.LASTS:
        # "About 100 %" would contradict "does not run out": a hair under it says 99.
        share = min(forecast.share_at_reset or forecast.share_now, 0.994)
        return _("On pace to use about {percent} % by the reset").format(percent=_percent(share))
    if outcome is Outcome.IDLE:
        since = forecast.since or now
        return _("No use since {time}: stays at {percent} % at this pace").format(
            time=format_local_time(since, now), percent=_percent(forecast.share_now)
        )
    if outcome is Outcome.FELL:
        return _("Usage fell: a forecast once it rises again")
    if outcome is Outcome.SINGLE_POINT:
        return _("First reading of this period: forecast soon")
    if outcome is Outcome.SHORT_SPAN:
        return _("Forecast after {minutes} min of readings").format(
            minutes=int(MIN_SPAN.total_seconds() // 60)
        )
    if outcome is Outcome.NO_HISTORY:
        return _("No history yet: forecast after a few refreshes")
    if outcome is Outcome.NO_RESET:
        return _("Reset time unknown: no forecast")
    if outcome is Outcome.NOT_STARTED:
        return _("Not started: nothing to forecast")
    if forecast.resets_at is not None:
        return _("Used up: back at {time}").format(time=format_local_time(forecast.resets_at, now))
    return _("Used up; the reset time is unknown")


def labelled_phrase(forecast: Forecast, now: datetime) -> str:
    """The phrase named by its window, for the tooltip and notifications."""
    return _("{window}: {forecast}").format(
        window=window_name(forecast.window_key, forecast.label),
        forecast=forecast_phrase(forecast, now),
    )


def runs_out_before_reset(forecasts: Mapping[str, Forecast]) -> list[Forecast]:
    """The windows forecast to run out before their reset, soonest first."""
    found = [f for f in forecasts.values() if f.outcome is Outcome.RUNS_OUT and f.runs_out_at]
    return sorted(found, key=lambda f: f.runs_out_at or f.resets_at or datetime.max)
