"""Translations for the Qt-free core and the command line: the standard library's gettext.

Core and CLI text is marked with `_()` (`ngettext()` for counts, `pgettext()` where one
English word needs two translations, `N_()` for text translated later, when shown),
compiled from `app/glmtray/locale/<lang>/LC_MESSAGES/glmtray.po` into `.mo` files by the
build (`make`, the wheel's build_py step, the PyInstaller bundle). The widgets' `tr()`
reads the same catalog through `glmtray.ui.translator`, so there is one catalog and one
glossary; this module never imports Qt.

The language is chosen once per process: `set_language()` from the settings (the tray) or,
by default, from the usual environment variables (LANGUAGE, LC_ALL, LC_MESSAGES, LANG).
Dates and times follow the language: "Tue 16:45" / "周二 16:45", "1 Dec 16:45" /
"12月1日 16:45", "2 h 14 min" / "2小时14分钟".
"""

from __future__ import annotations

import gettext as _gettext
import os
from datetime import date, datetime, timedelta

DOMAIN = "glmtray"
# A plain path, not pathlib's: `glmtray statusline` imports this module on every run, and
# pathlib (with urllib.parse and ipaddress behind it) costs it about 6 ms.
LOCALE_DIR = os.environ.get("GLMTRAY_LOCALE_DIR") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "locale"
)
"""Where the compiled catalogs are; GLMTRAY_LOCALE_DIR points elsewhere (the pseudo-locale
tests run the command line with a generated catalog)."""
SUPPORTED = ("en", "zh_CN")
"""Languages glmtray ships; English is the source text."""
LANGUAGE_CHOICES = ("system", *SUPPORTED)
"""What the `language` setting may hold: "system" follows the desktop session's locale."""
LANGUAGE_NAMES = {"en": "English", "zh_CN": "简体中文"}
"""Each language in its own words, as a language menu lists it."""

_translations: _gettext.NullTranslations = _gettext.NullTranslations()
_language = "en"


def system_language() -> str:
    """The desktop session's language among those shipped, from the environment variables
    gettext itself reads (LANGUAGE first, then LC_ALL, LC_MESSAGES, LANG)."""
    for variable in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(variable, "")
        if not value:
            continue
        for part in value.split(":"):
            code = part.split(".")[0].split("@")[0]
            if code.lower().startswith("zh"):
                return "zh_CN"
            if code and code not in ("C", "POSIX"):
                return "en"
    return "en"


def set_language(
    language: str | None, translations: _gettext.NullTranslations | None = None
) -> str:
    """Use `language` ("en", "zh_CN"; None or "system" for the environment's) from now on;
    returns the language in use. A missing catalog falls back to English. `translations`
    replaces the installed catalog (the pseudo-locale tests use it)."""
    global _translations, _language
    chosen = system_language() if language in (None, "", "system") else str(language)
    if chosen not in SUPPORTED:
        chosen = "en"
    _language = chosen
    if translations is not None:
        _translations = translations
    else:
        _translations = _gettext.translation(DOMAIN, LOCALE_DIR, languages=[chosen], fallback=True)
    return chosen


def language() -> str:
    return _language


def is_chinese() -> bool:
    return _language.startswith("zh")


def _(message: str) -> str:
    return _translations.gettext(message)


def N_(message: str) -> str:
    """Marks `message` for the catalog without translating it now (a table's entries,
    translated with `_()` where they are shown)."""
    return message


def ngettext(singular: str, plural: str, count: int) -> str:
    return _translations.ngettext(singular, plural, count)


def pgettext(context: str, message: str) -> str:
    return _translations.pgettext(context, message)


class Localized(str):
    """Text in the user's language that keeps its English (`english`): an error message a
    person reads in Chinese while `status --json` carries the English."""

    english: str

    def __new__(cls, text: str, english: str) -> Localized:
        value = super().__new__(cls, text)
        value.english = english
        return value


def localized(message: str, **fields: object) -> Localized:
    """`_(message).format(**fields)`, remembering `message.format(**fields)` as its English
    (a field that is itself Localized goes into the English as its English)."""
    english = {name: getattr(value, "english", value) for name, value in fields.items()}
    return Localized(_(message).format(**fields), message.format(**english))


def lookup(message: str, context: str | None = None) -> str | None:
    """The catalog's translation of `message` (in `context` first, then without one), or
    None when the catalog has none: the Qt translator's lookup."""
    if context:
        found = _translations.pgettext(context, message)
        if found != message:
            return found
    found = _translations.gettext(message)
    return found if found != message else None


def lookup_plural(message: str, count: int, context: str | None = None) -> str | None:
    """As `lookup` for a Qt plural text ("%n requests"), whose entry has the same English
    for singular and plural; None when there is none."""
    if context:
        found = _translations.npgettext(context, message, message, count)
        if found != message:
            return found
    found = _translations.ngettext(message, message, count)
    return found if found != message else None


# --- argparse's own words ------------------------------------------------------------------

# argparse looks its words up with the module-level `gettext.gettext`, in the process's
# default text domain, with the language the environment names. glmtray makes its own
# domain the default, so argparse's words come from glmtray's catalog (listed here so that
# extraction finds them); the command line follows the environment anyway.
ARGPARSE_WORDS = (
    N_("usage: "),
    N_("options"),
    N_("positional arguments"),
    N_("show this help message and exit"),
    N_("the following arguments are required: %s"),
    N_("%(prog)s: error: %(message)s\n"),
    N_("unrecognized arguments: %s"),
    N_("invalid choice: %(value)r (choose from %(choices)s)"),
    N_("expected one argument"),
    N_("invalid %(type)s value: %(value)r"),
    N_("not allowed with argument %s"),
    N_("ambiguous option: %(option)s could match %(matches)s"),
    N_("show program's version number and exit"),
)


# --- dates and times ------------------------------------------------------------------

_EN_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_EN_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_ZH_WEEKDAYS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")


def clock(moment: datetime) -> str:
    """ "16:45" in every language."""
    return f"{moment.hour:02d}:{moment.minute:02d}"


def weekday_name(day: date) -> str:
    """ "Tue" / "周二" (English names fixed, whatever the C library's locale)."""
    names = _ZH_WEEKDAYS if is_chinese() else _EN_WEEKDAYS
    return names[day.weekday()]


def day_month(day: date) -> str:
    """ "1 Dec" / "12月1日"."""
    if is_chinese():
        return f"{day.month}月{day.day}日"
    return f"{day.day} {_EN_MONTHS[day.month - 1]}"


def day_month_year(day: date) -> str:
    """ "1 Dec 2026" / "2026年12月1日"."""
    if is_chinese():
        return f"{day.year}年{day.month}月{day.day}日"
    return f"{day.day} {_EN_MONTHS[day.month - 1]} {day.year}"


def weekday_day(day: date) -> str:
    """ "Tue 1" / "1日 周二": a day on a chart's axis."""
    if is_chinese():
        return f"{day.day}日 {weekday_name(day)}"
    return f"{weekday_name(day)} {day.day}"


def full_day(day: date) -> str:
    """ "Tue 1 Dec" / "12月1日 周二"."""
    if is_chinese():
        return f"{day_month(day)} {weekday_name(day)}"
    return f"{weekday_name(day)} {day_month(day)}"


def weekday_clock(moment: datetime) -> str:
    """ "Tue 16:45" / "周二 16:45"."""
    return f"{weekday_name(moment.date())} {clock(moment)}"


def day_month_clock(moment: datetime) -> str:
    """ "1 Dec 16:45" / "12月1日 16:45"."""
    return f"{day_month(moment.date())} {clock(moment)}"


def full_moment(moment: datetime) -> str:
    """ "Tue 1 Dec 16:45" / "12月1日 周二 16:45"."""
    if is_chinese():
        return f"{day_month(moment.date())} {weekday_name(moment.date())} {clock(moment)}"
    return f"{weekday_name(moment.date())} {day_month(moment.date())} {clock(moment)}"


def near_moment(moment: datetime, now: datetime) -> str:
    """How a time is said next to `now` (both already in the zone to show): "15:30" the
    same day, "Tue 09:00" within the next six days, "12 Feb 09:00" beyond."""
    if moment.date() == now.date():
        return clock(moment)
    if timedelta(0) <= moment - now < timedelta(days=6):
        return weekday_clock(moment)
    return day_month_clock(moment)


def duration(delta: timedelta) -> str:
    """ "2 h 14 min" / "2小时14分钟", "3 d 4 h" / "3天4小时", "45 s" / "45秒". Negative
    durations read as zero."""
    seconds = max(0, int(delta.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        if hours:
            return _("{days} d {hours} h").format(days=days, hours=hours)
        return _("{days} d").format(days=days)
    if hours:
        if minutes:
            return _("{hours} h {minutes} min").format(hours=hours, minutes=minutes)
        return _("{hours} h").format(hours=hours)
    if minutes:
        return _("{minutes} min").format(minutes=minutes)
    return _("{seconds} s").format(seconds=secs)


_gettext.bindtextdomain(DOMAIN, str(LOCALE_DIR))
_gettext.textdomain(DOMAIN)
set_language(None)
