"""Qt's `tr()` answered from glmtray's gettext catalog: one catalog and one glossary for
the widgets, the core and the command line (see glmtray.i18n).

`CatalogTranslator.translate` is QTranslator's documented virtual: Qt asks every installed
translator, newest first, and shows the source text when none answers (a null string). Qt's own words (a
dialog's OK and Cancel, a line edit's context menu) come from Qt's catalog where it ships
one; those glmtray's dialogs show are in glmtray's catalog too, so they are found first.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, QTranslator

from glmtray import i18n
from glmtray.i18n import N_

log = logging.getLogger(__name__)

QT_WORDS = (
    N_("OK"),
    N_("&OK"),
    N_("Cancel"),
    N_("&Cancel"),
    N_("Apply"),
    N_("Close"),
    N_("&Close"),
    N_("&Yes"),
    N_("&No"),
    N_("Yes"),
    N_("No"),
    N_("Help"),
    N_("Reset"),
    N_("Restore Defaults"),
)
"""Qt's own words on the standard buttons glmtray's dialogs use (Qt asks for them in its
"QPlatformTheme" context; the lookup falls back to no context): in glmtray's catalog so
that they follow the chosen language even where Qt's own catalog is not installed."""


class CatalogTranslator(QTranslator):
    def translate(
        self,
        context: str,
        sourceText: str,
        disambiguation: str | None = None,
        n: int = -1,
    ) -> str | None:  # type: ignore[override]
        # None, not "": Qt falls back to the source text only for a *null* string, and
        # PySide turns None into one; an empty answer would blank every untranslated text.
        if n >= 0:
            return i18n.lookup_plural(sourceText, n, disambiguation or context)
        return i18n.lookup(sourceText, disambiguation or context)

    def isEmpty(self) -> bool:
        return False


def locale_for(language: str) -> QLocale:
    """Qt's formats (a date field, a spin box) to go with glmtray's language: the system's
    own unless they are of the other language."""
    if language == "zh_CN":
        return QLocale("zh_CN")
    system = QLocale.system()
    if system.language() == QLocale.Language.Chinese:
        return QLocale("en_US")
    return system


_installed: list[QTranslator] = []
"""The translators this module put on the application, taken off at a change of language."""


def install_translators(app: QCoreApplication, language: str | None) -> str:
    """Choose `language` (a Settings.language value) for the process and install the
    translators on `app`, before any widget is built; returns the language in use. Called
    again, the previous language's translators are taken off first."""
    while _installed:
        app.removeTranslator(_installed.pop())
    chosen = i18n.set_language(language)
    QLocale.setDefault(locale_for(chosen))
    if chosen == "zh_CN":
        qt_words = QTranslator(app)
        folder = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
        if qt_words.load("qtbase_zh_CN", folder):
            app.installTranslator(qt_words)
            _installed.append(qt_words)
        else:
            log.info("Qt's own Chinese catalog is not installed in %s", folder)
    catalog = CatalogTranslator(app)
    app.installTranslator(catalog)
    _installed.append(catalog)
    return chosen
