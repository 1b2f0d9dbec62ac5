"""Translations for the Qt-free core and the command line: the standard library's gettext.

Core and CLI text is marked with `_()` (and `ngettext()` for counts), compiled from
`app/glmtray/locale/<lang>/LC_MESSAGES/glmtray.po` into `.mo` files by the build. Widgets use
Qt's own `tr()` and `.qm` catalogs instead, so this module never imports Qt.

The language is chosen once per process: `set_language()` from the settings (the tray) or,
by default, from the usual environment variables (LANGUAGE, LC_ALL, LC_MESSAGES, LANG).
"""

from __future__ import annotations

import gettext as _gettext
import os
from pathlib import Path

DOMAIN = "glmtray"
LOCALE_DIR = Path(__file__).with_name("locale")
SUPPORTED = ("en", "zh_CN")
"""Languages glmtray ships; English is the source text."""

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


def set_language(language: str | None) -> str:
    """Use `language` ("en", "zh_CN"; None or "system" for the environment's) from now on;
    returns the language in use. A missing catalog falls back to English."""
    global _translations, _language
    chosen = system_language() if language in (None, "", "system") else str(language)
    if chosen not in SUPPORTED:
        chosen = "en"
    _language = chosen
    _translations = _gettext.translation(
        DOMAIN, LOCALE_DIR, languages=[chosen], fallback=True
    )
    return chosen


def language() -> str:
    return _language


def _(message: str) -> str:
    return _translations.gettext(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    return _translations.ngettext(singular, plural, count)


set_language(None)
