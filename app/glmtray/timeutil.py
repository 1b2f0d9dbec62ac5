"""Time handling: the platform speaks UTC+8 unless a zone is given; people read local time."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

from glmtray import i18n

PLATFORM_TZ = timezone(timedelta(hours=8), "UTC+8")

_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def from_epoch_ms(value: float) -> datetime:
    return datetime.fromtimestamp(value / 1000.0, tz=timezone.utc)


def parse_platform_datetime(text: str) -> datetime | None:
    """Parse '2026-02-12', '2026-02-12 16:55:13' or ISO 8601 with a zone; naive means UTC+8."""
    text = text.strip()
    if not text:
        return None
    if _DATE_ONLY.match(text):
        text += " 00:00:00"
    candidate = text.replace("Z", "+00:00").replace(" ", "T", 1)
    try:
        parsed = datetime.fromisoformat(candidate)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=PLATFORM_TZ)
    return parsed


def platform_date(text: str) -> date | None:
    """The calendar day a platform date names, as the platform (UTC+8) sees it.

    A bare date is kept as written; a date-time with a zone is moved to UTC+8 first, so
    '2026-02-11T20:00:00Z' is the platform's 12 February.
    """
    parsed = parse_platform_datetime(text)
    if parsed is None:
        return None
    return parsed.astimezone(PLATFORM_TZ).date()


def iso_utc(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def format_duration(delta: timedelta) -> str:
    """'2 h 14 min', '3 d 4 h', '45 s' (in the user's language). Negative durations read as
    zero."""
    return i18n.duration(delta)


def format_local_time(moment: datetime, now: datetime) -> str:
    """'15:30' today, 'Tue 09:00' within a week, '12 Feb 09:00' beyond, in local time and
    the user's language ('周二 09:00', '2月12日 09:00')."""
    return i18n.near_moment(moment.astimezone(), now.astimezone())


def format_day(day: date) -> str:
    """'12 Feb 2026' / '2026年2月12日'."""
    return i18n.day_month_year(day)
