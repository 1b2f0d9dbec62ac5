"""Counted nouns and quota window names shared by the panel, notifications and `glmtray status`, in the user's
language: `1 request`, `3 requests`, `3 个请求`, through ngettext (one entry per noun in
the catalog, so each language says its own plural)."""

from __future__ import annotations

from collections.abc import Callable

from glmtray.i18n import N_, _, ngettext
from glmtray.platform.models import FIVE_HOUR, MONTHLY_TOOLS, WEEKLY, QuotaWindow
from glmtray.platform.regions import Region, info


def _sessions(count: int) -> str:
    return ngettext("{count} session", "{count} sessions", count).format(count=count)


def _coding_sessions(count: int) -> str:
    return ngettext("{count} coding session", "{count} coding sessions", count).format(count=count)


def _projects(count: int) -> str:
    return ngettext("{count} project", "{count} projects", count).format(count=count)


def _requests(count: int) -> str:
    return ngettext("{count} request", "{count} requests", count).format(count=count)


COUNTED: dict[str, Callable[[int], str]] = {
    "session": _sessions,
    "coding session": _coding_sessions,
    "project": _projects,
    "request": _requests,
}
"""The nouns glmtray counts; a new one gets its own ngettext entry here."""


def plural(count: int, noun: str) -> str:
    """`1 request`, `3 requests` (`3 个请求`): the count with its noun, for one of the
    nouns in COUNTED. Prefer `ngettext` with the whole sentence where a sentence is built."""
    return COUNTED[noun](count)


# --- quota windows -------------------------------------------------------------------

_WINDOW_NAMES = {
    FIVE_HOUR: N_("5-hour"),
    WEEKLY: N_("Weekly"),
    MONTHLY_TOOLS: N_("Monthly tool calls"),
}
_UNIT_NAMES = {"credits": N_("credits"), "calls": N_("calls"), "tokens": N_("tokens")}


def _length_window(window: QuotaWindow) -> str | None:
    """ "10-hour window", "3-month tool calls" in the user's language; None for a unit whose
    meaning is not known (models.UNIT_NOUNS)."""
    number, unit = window.number or 0, window.unit
    if number < 1 or window.length_label is None:
        return None
    tools = window.type == "TIME_LIMIT"
    if unit == 3:
        text = _("{n}-hour tool calls") if tools else _("{n}-hour window")
    elif unit == 6:
        text = _("{n}-week tool calls") if tools else _("{n}-week window")
    elif unit == 5:
        text = _("{n}-month tool calls") if tools else _("{n}-month window")
    else:
        return None
    return text.format(n=number)


def window_label(window: QuotaWindow) -> str:
    """A quota window's name as shown to the user ("Weekly", "周额度"); `window.label` stays
    the English name that `status --json` and the history export carry."""
    known = _WINDOW_NAMES.get(window.id)
    if known is not None:
        return _(known)
    return _length_window(window) or window.label


def unit_label(unit_name: str) -> str:
    """What a window's figures count ("credits", "次"), in the user's language."""
    known = _UNIT_NAMES.get(unit_name)
    return _(known) if known is not None else unit_name


# --- regions ----------------------------------------------------------------------------

_REGION_NAMES = {Region.GLOBAL: N_("Global (z.ai)"), Region.CHINA: N_("China (bigmodel.cn)")}


def region_name(region: Region) -> str:
    """A region as the user reads it ("中国（bigmodel.cn）"); `RegionInfo.display_name` keeps
    the English."""
    known = _REGION_NAMES.get(region)
    return _(known) if known is not None else info(region).display_name


_BILLING_CYCLES = {"monthly": N_("Monthly"), "quarterly": N_("Quarterly"), "yearly": N_("Yearly")}


def billing_cycle_name(cycle: str) -> str:
    """A billing cycle as the user reads it ("按月" for the platform's "monthly"); one the
    platform names otherwise is shown as it is."""
    known = _BILLING_CYCLES.get(cycle.strip().lower())
    return _(known) if known is not None else cycle


def window_name(key: str, label: str) -> str:
    """The name of the window with id `key` in the user's language; `label` (the English
    name recorded with it) for one whose id names no known window."""
    known = _WINDOW_NAMES.get(key)
    return _(known) if known is not None else label
