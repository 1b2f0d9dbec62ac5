"""Time handling: the platform speaks UTC+8 unless a zone is given; people read local time."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

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
    """'2 h 14 min', '3 d 4 h', '45 s'. Negative durations read as zero."""
    seconds = max(0, int(delta.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min"
    return f"{secs} s"


def format_local_time(moment: datetime, now: datetime) -> str:
    """'15:30' today, 'Tue 09:00' within a week, '12 Feb 09:00' beyond, in local time."""
    local = moment.astimezone()
    local_now = now.astimezone()
    if local.date() == local_now.date():
        return local.strftime("%H:%M")
    if timedelta(0) <= local - local_now < timedelta(days=6):
        return local.strftime("%a %H:%M")
    return f"{local.day} {local.strftime('%b %H:%M')}"


def format_day(day: date) -> str:
    return f"{day.day} {day.strftime('%b %Y')}"
