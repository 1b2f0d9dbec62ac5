"""Peak and off-peak: how much a request counts against the quota right now. Qt-free.

The platform publishes the rules only in its docs (platform-api.md, "Plan facts"), never
through an endpoint, so they live in one table here:

- credit plans (CREDIT_LIMIT windows): Monday-Friday 14:00-18:00 UTC+8 is peak, where
  usage counts 1x against the credit windows; everything else, weekends included, is
  off-peak at 0.5x;
- older token plans: the same hours every day are peak at 3x, off-peak counts 1x (some
  clients say 2x / 0.67x; the docs' figures are kept).

The rule in force follows the quota (credit windows -> credit rule, else the token rule)
unless the user chose one in Settings (`peak_rule`); the hours are the `peak_hours`
setting, in platform time (UTC+8, which has no daylight saving time).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone, tzinfo

from glmtray.i18n import N_, _, near_moment
from glmtray.platform.models import Quota
from glmtray.timeutil import PLATFORM_TZ

DEFAULT_PEAK_HOURS = "14:00-18:00"
"""glmtray's default peak window, in platform time (UTC+8): the docs' peak hours, when the
platform also allows less concurrency (it publishes no number). Users who learn otherwise
change it in the settings (`peak_hours`)."""
AUTO = "auto"
CREDIT = "credit"
TOKEN = "token"
RULE_CHOICES: tuple[str, ...] = (AUTO, CREDIT, TOKEN)
"""What the `peak_rule` setting may hold."""


@dataclass(frozen=True)
class PeakRule:
    name: str
    peak_multiplier: float
    off_peak_multiplier: float
    weekdays: frozenset[int]
    """Days (Monday = 0, in UTC+8) on which the peak hours apply."""
    description: str


PEAK_RULES: dict[str, PeakRule] = {
    CREDIT: PeakRule(
        CREDIT,
        1.0,
        0.5,
        frozenset(range(5)),
        N_("credit plans: weekday afternoons count 1x, else 0.5x"),
    ),
    TOKEN: PeakRule(
        TOKEN,
        3.0,
        1.0,
        frozenset(range(7)),
        N_("token plans: the peak hours count 3x, else 1x"),
    ),
}


@dataclass(frozen=True)
class PeakStatus:
    peak_now: bool
    until: datetime
    """When the current period ends (UTC)."""
    multiplier: float
    """How much usage counts now, against the plan's windows."""
    rule: str
    peak_hours: str = DEFAULT_PEAK_HOURS

    def to_json(self) -> dict[str, object]:
        until = self.until.astimezone(timezone.utc).isoformat(timespec="seconds")
        return {
            "now": "peak" if self.peak_now else "off-peak",
            "until": until.replace("+00:00", "Z"),
            "multiplier": self.multiplier,
            "rule": self.rule,
        }


def rule_for(quota: Quota | None, choice: str = AUTO) -> str:
    """The rule in force: the user's choice, else credit for a plan on credit windows and
    token for any other."""
    if choice in PEAK_RULES:
        return choice
    return CREDIT if quota is not None and quota.uses_credits else TOKEN


def parse_peak_hours(text: str) -> tuple[int, int]:
    """ "HH:MM-HH:MM" in platform time -> (start, end) minutes of the day. The window may
    wrap midnight ("22:00-02:00"); start == end is refused (it would mean nothing)."""
    try:
        start_text, end_text = text.replace(" ", "").split("-")
        start, end = _minutes(start_text), _minutes(end_text)
    except ValueError:
        raise ValueError(
            _("peak hours must look like 14:00-18:00, not {text}").format(text=repr(text))
        ) from None
    if start == end:
        raise ValueError(_("peak hours must not start and end at the same time"))
    return start, end


def peak_minutes(peak_hours: str) -> tuple[int, int]:
    """ "HH:MM-HH:MM" -> (start, end) minutes of the UTC+8 day; the default for a bad text
    (a hand-edited setting must not fail a refresh)."""
    try:
        return parse_peak_hours(peak_hours)
    except ValueError:
        return parse_peak_hours(DEFAULT_PEAK_HOURS)


def _minutes(text: str) -> int:
    hours, minutes = text.split(":")
    h, m = int(hours), int(minutes)
    if not (0 <= h <= 24 and 0 <= m < 60) or h * 60 + m > 24 * 60:
        raise ValueError(text)
    return h * 60 + m


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def in_peak_hours(moment: datetime, peak_hours: str = DEFAULT_PEAK_HOURS) -> bool:
    """Whether `moment` falls in the daily peak hours, whatever the day: when the platform
    allows less concurrency (it publishes no weekdays for that)."""
    start, end = peak_minutes(peak_hours)
    local = _aware(moment).astimezone(PLATFORM_TZ)
    minute = local.hour * 60 + local.minute
    return start <= minute < end if start < end else minute >= start or minute < end


def is_peak_time(moment: datetime, rule: PeakRule, peak_hours: str = DEFAULT_PEAK_HOURS) -> bool:
    """Whether `moment` is peak under `rule`. A window wrapping midnight belongs to the
    day it starts on."""
    start, end = peak_minutes(peak_hours)
    local = _aware(moment).astimezone(PLATFORM_TZ)
    minute = local.hour * 60 + local.minute
    if start < end:
        return local.weekday() in rule.weekdays and start <= minute < end
    if minute >= start:
        return local.weekday() in rule.weekdays
    return minute < end and (local.weekday() - 1) % 7 in rule.weekdays


def peak_status(
    now: datetime, rule: str | PeakRule = CREDIT, peak_hours: str = DEFAULT_PEAK_HOURS
) -> PeakStatus:
    """Peak or not at `now`, until when, and how much usage counts meanwhile."""
    chosen = rule if isinstance(rule, PeakRule) else PEAK_RULES.get(rule, PEAK_RULES[CREDIT])
    now = _aware(now)
    peak_now = is_peak_time(now, chosen, peak_hours)
    start, end = peak_minutes(peak_hours)
    # The state changes only at a boundary (peak start, peak end, midnight for the day
    # rule): the first one ahead whose state differs ends the current period.
    today = now.astimezone(PLATFORM_TZ).date()
    boundaries = sorted(
        datetime.combine(today + timedelta(days=day), time(0), PLATFORM_TZ) + timedelta(minutes=m)
        for day in range(0, 9)
        for m in {0, start, end}
    )
    until = next(
        (b for b in boundaries if b > now and is_peak_time(b, chosen, peak_hours) != peak_now),
        now + timedelta(days=7),  # a rule with no peak day at all: "off-peak all week"
    )
    return PeakStatus(
        peak_now=peak_now,
        until=until.astimezone(timezone.utc),
        multiplier=chosen.peak_multiplier if peak_now else chosen.off_peak_multiplier,
        rule=chosen.name,
        peak_hours=peak_hours,
    )


def _when(moment: datetime, now: datetime, tz: tzinfo | None) -> str:
    """ "15:00" today, "Mon 15:00" within the week, "12 Feb 15:00" beyond; local time, in
    the user's language."""
    return near_moment(moment.astimezone(tz), _aware(now).astimezone(tz))


def counts_phrase(status: PeakStatus) -> str:
    rule = PEAK_RULES.get(status.rule)
    if status.multiplier == 0.5:
        return _("usage counts half")
    if status.multiplier == 1 and (rule is None or rule.peak_multiplier == 1):
        return _("usage counts in full")
    return _("usage counts {multiplier}x").format(multiplier=f"{status.multiplier:g}")


def peak_phrase(status: PeakStatus, now: datetime, tz: tzinfo | None = None) -> str:
    """ "Off-peak until Mon 15:00: usage counts half", "Peak until 18:00 (UTC+8
    14:00-18:00): usage counts in full"; times in the user's zone (`tz`, default local)."""
    until = _when(status.until, now, tz)
    if status.peak_now:
        start, end = peak_minutes(status.peak_hours)
        hours = f"{start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}"
        return _("Peak until {time} (UTC+8 {hours}): {counts}").format(
            time=until, hours=hours, counts=counts_phrase(status)
        )
    return _("Off-peak until {time}: {counts}").format(time=until, counts=counts_phrase(status))
