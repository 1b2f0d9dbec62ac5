"""The language choice: the settings dialog offers the system's language, English and
简体中文 and saves the choice; the translators installed at start answer the widgets' tr()
from the same catalog as the core's `_()` (Qt's own button words included)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from PySide6.QtCore import QCoreApplication, QLocale, QTranslator
from PySide6.QtWidgets import QApplication, QDialogButtonBox
from pytestqt.qtbot import QtBot

from glmtray import i18n
from glmtray.catalogs import ensure_compiled
from glmtray.settings import Settings
from glmtray.ui.settings_dialog import SettingsDialog
from glmtray.ui.translator import install_translators


@pytest.fixture
def chinese(qapp: QApplication) -> Iterator[None]:
    ensure_compiled()
    with installed(qapp, "zh_CN") as chosen:
        assert chosen == "zh_CN"
        yield


@contextmanager
def installed(app: QApplication, language: str) -> Iterator[str]:
    """The translators installed as at start, and taken out again (with the default
    locale) so that later tests see the app as they expect it."""
    locale, before = QLocale(), set(app.findChildren(QTranslator))
    try:
        yield install_translators(app, language)
    finally:
        for translator in set(app.findChildren(QTranslator)) - before:
            app.removeTranslator(translator)
        QLocale.setDefault(locale)
        i18n.set_language(None)


def test_the_dialog_offers_and_saves_the_language(qtbot: QtBot) -> None:
    dialog = SettingsDialog(Settings(), signed_in=True, backend_name="test")
    qtbot.addWidget(dialog)
    combo = dialog.language_combo
    assert [combo.itemData(i) for i in range(combo.count())] == ["system", "en", "zh_CN"]
    assert combo.itemText(2) == "简体中文" and combo.currentData() == "system"
    combo.setCurrentIndex(2)
    assert dialog.settings().language == "zh_CN"
    dialog.set_settings(Settings(language="en"))
    assert combo.currentData() == "en" and dialog.settings().language == "en"


def test_widgets_speak_chinese_once_the_translators_are_installed(
    qtbot: QtBot, chinese: None
) -> None:
    assert QCoreApplication.translate("Anything", "Refresh now") == "立即刷新"
    dialog = SettingsDialog(Settings(), signed_in=True, backend_name="test")
    qtbot.addWidget(dialog)
    assert dialog.windowTitle() == "glmtray 设置"
    assert [dialog.tabs.tabText(i) for i in range(dialog.tabs.count())][:2] == ["常规", "通知"]
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    assert ok is not None and ok.text() in ("确定", "确定(&O)")
    # The core's text, from the same catalog.
    assert i18n._("Weekly") == "周额度"


def test_english_needs_no_catalog(qtbot: QtBot, qapp: QApplication) -> None:
    with installed(qapp, "en") as chosen:
        assert chosen == "en"
        assert QCoreApplication.translate("Anything", "Refresh now") == "Refresh now"
        dialog = SettingsDialog(Settings(), signed_in=True, backend_name="test")
        qtbot.addWidget(dialog)
        assert dialog.windowTitle() == "glmtray settings"
