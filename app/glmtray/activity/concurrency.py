"""How much concurrency is in use, against what the tier allows and what has been seen to fail.

The plan's rate limit is a concurrency limit tied to the tier and raised off-peak, and the
platform publishes no number: only a recommendation of concurrent projects (Lite 1,
Pro 1-2, Max 2 or more). glmtray combines two sources:

- the local meter (`glmtray.meter.server`, opt-in): requests in flight now and recent peaks, and
  the number in flight each time the platform answered 1302 ("limit seen");
- Claude Code's transcripts (`glmtray.activity.transcripts`): sessions and projects that used a GLM
  model in the last few minutes.

This module is Qt-free and imports neither aiohttp nor the meter, so `glmtray status` stays
fast: the meter's numbers reach it as `MeterStats` (in the app, from `LocalMeter.snapshot`;
in the CLI, from the running meter's stats endpoint on loopback).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from glmtray.activity.events import EventStore
from glmtray.activity.transcripts import ActivitySummary
from glmtray.i18n import _, ngettext
from glmtray.peak import DEFAULT_PEAK_HOURS, in_peak_hours
from glmtray.wording import plural

RECOMMENDED: dict[str, str] = {"lite": "1", "pro": "1-2", "max": "2+"}
"""Recommended concurrent projects by tier, from the published plan documentation."""
RECOMMENDED_MAX: dict[str, int | None] = {"lite": 1, "pro": 2, "max": None}

LIMIT_SEEN_STATE_KEY = "concurrency.limit_seen"
LIMIT_SAMPLES_KEPT = 20
LIMIT_SAMPLES_USED = 10
LIMIT_SAMPLE_MAX_AGE = timedelta(days=30)
"""The platform moves the limit: a 1302 seen a month ago says little about today."""

METER_STATS_PATH = "/_glmtray/meter/stats"


# --- the meter's numbers ---------------------------------------------------------------------


@dataclass(frozen=True)
class LimitHit:
    """One 1302 answer seen by the meter, with the concurrency it met: the requests in
    flight that arrived before the refused one and were not refused themselves, plus the
    refused one."""

    time: datetime
    in_flight: int


@dataclass(frozen=True)
class MeterStats:
    """What the local meter measured, at one moment."""

    in_flight: int = 0
    peak_1m: int = 0
    peak_5m: int = 0
    peak_60m: int = 0
    requests_per_minute: int = 0
    requests_total: int = 0
    ttfb_median_ms: float | None = None
    """Median time from a request reaching the meter to the first byte of its answer, over
    recent requests."""
    errors_total: int = 0
    errors_by_code: Mapping[int, int] = field(default_factory=dict)
    upstream_failures: int = 0
    """Requests answered 502 by the meter because the platform could not be reached."""
    limit_hits: tuple[LimitHit, ...] = ()
    """Recent 1302 answers, oldest first."""
    last_error_code: int | None = None
    last_error_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "in_flight": self.in_flight,
            "peak_1m": self.peak_1m,
            "peak_5m": self.peak_5m,
            "peak_60m": self.peak_60m,
            "requests_per_minute": self.requests_per_minute,
            "requests_total": self.requests_total,
            "ttfb_median_ms": self.ttfb_median_ms,
            "errors_total": self.errors_total,
            "errors_by_code": {str(k): v for k, v in sorted(self.errors_by_code.items())},
            "upstream_failures": self.upstream_failures,
            "limit_hits": [
                {"time": h.time.isoformat(), "in_flight": h.in_flight} for h in self.limit_hits
            ],
            "last_error_code": self.last_error_code,
            "last_error_at": self.last_error_at.isoformat() if self.last_error_at else None,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> MeterStats:
        """Tolerant: a field that is missing or of the wrong type takes its default."""

        def integer(name: str) -> int:
            value = data.get(name)
            return value if isinstance(value, int) and not isinstance(value, bool) else 0

        def moment(value: object) -> datetime | None:
            try:
                return datetime.fromisoformat(str(value)) if value else None
            except ValueError:
                return None

        ttfb = data.get("ttfb_median_ms")
        codes = data.get("errors_by_code")
        hits: list[LimitHit] = []
        for item in data.get("limit_hits") or ():
            if isinstance(item, dict) and isinstance(item.get("in_flight"), int):
                when = moment(item.get("time"))
                if when is not None:
                    hits.append(LimitHit(when, int(item["in_flight"])))
        last_code = data.get("last_error_code")
        return cls(
            in_flight=integer("in_flight"),
            peak_1m=integer("peak_1m"),
            peak_5m=integer("peak_5m"),
            peak_60m=integer("peak_60m"),
            requests_per_minute=integer("requests_per_minute"),
            requests_total=integer("requests_total"),
            ttfb_median_ms=float(ttfb) if isinstance(ttfb, (int, float)) else None,
            errors_total=integer("errors_total"),
            errors_by_code=(
                {int(k): int(v) for k, v in codes.items() if str(k).isdigit()}
                if isinstance(codes, dict)
                else {}
            ),
            upstream_failures=integer("upstream_failures"),
            limit_hits=tuple(hits),
            last_error_code=last_code if isinstance(last_code, int) else None,
            last_error_at=moment(data.get("last_error_at")),
        )


def fetch_meter_stats(port: int, timeout: float = 0.5) -> MeterStats | None:
    """The running meter's numbers, from another process (`glmtray status`); None when no
    meter answers on `port`. Only loopback is asked, and no key is sent."""
    import httpx  # here, not at the top: the app gets its stats without HTTP

    try:
        response = httpx.get(f"http://127.0.0.1:{port}{METER_STATS_PATH}", timeout=timeout)
        data = response.json() if response.status_code == 200 else None
    except (httpx.HTTPError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("service") != "glmtray-meter":
        return None  # something else owns the port
    stats = data.get("stats")
    return MeterStats.from_json(stats) if isinstance(stats, dict) else None


# --- limit seen ------------------------------------------------------------------------------


@dataclass(frozen=True)
class LimitSeen:
    """The concurrency the platform has been seen to allow, by period; None: no 1302 yet."""

    peak: int | None = None
    off_peak: int | None = None

    def for_period(self, peak: bool) -> int | None:
        return self.peak if peak else self.off_peak


class LimitSeenBook:
    """Learns the concurrency limit from the meter's 1302 answers, per period, and keeps
    it in the event store's state table so that it survives restarts.

    Each 1302 is a sample: the requests in flight at that moment, the refused one included.
    The limit seen is one less (what went through), at least 1, taken as the low median of
    the latest samples of the period from the last 30 days: one burst of retries cannot
    move it far, and an old, stricter limit fades out.
    """

    def __init__(self, store: EventStore, peak_hours: str = DEFAULT_PEAK_HOURS) -> None:
        self._store = store
        self.peak_hours = peak_hours

    def record(self, when: datetime, in_flight: int) -> None:
        period = "peak" if in_peak_hours(when, self.peak_hours) else "off_peak"
        data = self._load()
        samples = data[period]
        samples.append([when.astimezone(timezone.utc).isoformat(), max(1, int(in_flight))])
        data[period] = samples[-LIMIT_SAMPLES_KEPT:]
        self._store.set_state(LIMIT_SEEN_STATE_KEY, json.dumps({"version": 1, **data}))

    def limits(self, now: datetime) -> LimitSeen:
        data = self._load()
        return LimitSeen(
            peak=_limit_from(data["peak"], now), off_peak=_limit_from(data["off_peak"], now)
        )

    def _load(self) -> dict[str, list[list[Any]]]:
        empty: dict[str, list[list[Any]]] = {"peak": [], "off_peak": []}
        text = self._store.get_state(LIMIT_SEEN_STATE_KEY)
        try:
            raw = json.loads(text) if text else {}
        except ValueError:
            return empty  # a damaged entry is relearned, never fatal
        if not isinstance(raw, dict):
            return empty
        for period in empty:
            items = raw.get(period)
            if isinstance(items, list):
                empty[period] = [
                    [s[0], s[1]]
                    for s in items
                    if isinstance(s, list)
                    and len(s) == 2
                    and isinstance(s[0], str)
                    and isinstance(s[1], int)
                ]
        return empty


def _limit_from(samples: list[list[Any]], now: datetime) -> int | None:
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    recent: list[int] = []
    for when_text, in_flight in samples:
        try:
            when = datetime.fromisoformat(when_text)
        except ValueError:
            continue
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        if now - when <= LIMIT_SAMPLE_MAX_AGE:
            recent.append(max(1, int(in_flight) - 1))
    if not recent:
        return None
    import statistics  # here: ~10 ms and 0.5 MB (fractions, random) that most runs never need

    return int(statistics.median_low(recent[-LIMIT_SAMPLES_USED:]))


# --- the combined state ----------------------------------------------------------------------


@dataclass(frozen=True)
class ConcurrencyState:
    """Concurrency in use and what it is measured against, for the panel, tooltip and CLI.

    `in_flight` and `peak_5m` are None when the meter is off; `active_sessions` and
    `active_projects` are None when transcript reading is off; `recommended` is None when
    the tier is unknown.
    """

    in_flight: int | None
    peak_5m: int | None
    active_sessions: int | None
    active_projects: int | None
    recommended: str | None
    limit_seen_peak: int | None
    limit_seen_offpeak: int | None
    warning: str | None
    peak_now: bool = False

    @property
    def limit_seen_now(self) -> int | None:
        return self.limit_seen_peak if self.peak_now else self.limit_seen_offpeak

    @property
    def tooltip_line(self) -> str | None:
        """One line for the tray tooltip, None when neither source is on."""
        limit, recommended = self.limit_seen_now, self.recommended
        if self.in_flight is not None:
            if limit is not None:
                line = _(
                    "Concurrency: {count} in flight (peak {peak} in 5 min), limit seen ≈{limit}"
                )
            elif recommended:
                line = _(
                    "Concurrency: {count} in flight (peak {peak} in 5 min), recommended {recommended}"
                )
            else:
                line = _("Concurrency: {count} in flight (peak {peak} in 5 min)")
        elif self.active_sessions:  # "0 sessions in 0 projects active" says nothing
            if limit is not None:
                line = _("Concurrency: {sessions} in {projects} active, limit seen ≈{limit}")
            elif recommended:
                line = _("Concurrency: {sessions} in {projects} active, recommended {recommended}")
            else:
                line = _("Concurrency: {sessions} in {projects} active")
        else:
            return None
        return line.format(
            count=self.in_flight,
            peak=self.peak_5m,
            limit=limit,
            recommended=recommended,
            sessions=plural(self.active_sessions or 0, "session"),
            projects=plural(self.active_projects or 0, "project"),
        )

    def to_json(self) -> dict[str, Any]:
        """The `concurrency` object of `glmtray status --json`."""
        return {
            "in_flight": self.in_flight,
            "peak_5m": self.peak_5m,
            "active_sessions": self.active_sessions,
            "active_projects": self.active_projects,
            "recommended": self.recommended,
            "limit_seen": {"peak": self.limit_seen_peak, "off_peak": self.limit_seen_offpeak},
        }


def concurrency_state(
    meter: MeterStats | None,
    activity: ActivitySummary | None,
    tier: str | None,
    *,
    limits: LimitSeen | None = None,
    peak_hours: str = DEFAULT_PEAK_HOURS,
    now: datetime | None = None,
    peak_now: bool | None = None,
) -> ConcurrencyState:
    """Combine the meter's numbers, the transcript activity, the tier and the limits seen.

    Warning: with the meter on, when requests in flight are at or above the limit seen for
    the current period (one more may get 1302), or above the tier's recommendation; without
    it, when more projects are active than the tier recommends.
    """
    moment = now or datetime.now(timezone.utc)
    if peak_now is None:  # the caller may know better: the peak rule in force for the plan
        peak_now = in_peak_hours(moment, peak_hours)
    seen = limits or LimitSeen()
    level = (tier or "").strip().lower()
    recommended = RECOMMENDED.get(level)
    top = RECOMMENDED_MAX.get(level)
    limit_now = seen.for_period(peak_now)
    warning: str | None = None
    tier_name = level.capitalize()
    if meter is not None and meter.in_flight > 0:
        if limit_now is not None and meter.in_flight >= limit_now:
            warning = (
                _(
                    "{count} in flight: at or above the limit seen in peak hours (≈{limit}); "
                    "more may fail with error 1302"
                )
                if peak_now
                else _(
                    "{count} in flight: at or above the limit seen off-peak (≈{limit}); "
                    "more may fail with error 1302"
                )
            ).format(count=meter.in_flight, limit=limit_now)
        elif top is not None and meter.in_flight > top:
            warning = _(
                "{count} in flight: above the {tier} recommendation ({recommended})"
            ).format(count=meter.in_flight, tier=tier_name, recommended=recommended)
    if warning is None and activity is not None and top is not None and activity.projects > top:
        warning = ngettext(
            "{count} project active: above the {tier} recommendation ({recommended})",
            "{count} projects active: above the {tier} recommendation ({recommended})",
            activity.projects,
        ).format(count=activity.projects, tier=tier_name, recommended=recommended)
    return ConcurrencyState(
        in_flight=meter.in_flight if meter is not None else None,
        peak_5m=max(meter.peak_5m, meter.in_flight) if meter is not None else None,
        active_sessions=activity.sessions if activity is not None else None,
        active_projects=activity.projects if activity is not None else None,
        recommended=recommended,
        limit_seen_peak=seen.peak,
        limit_seen_offpeak=seen.off_peak,
        warning=warning,
        peak_now=peak_now,
    )
