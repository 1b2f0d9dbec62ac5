"""Widgets keep their English text where the catalog has no entry: Qt shows the source
only when every translator answers with a null string, never for an empty one."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import QCoreApplication

from glmtray import i18n
from glmtray.ui.translator import install_translators


@pytest.fixture
def restore_language(qapp: Any) -> Any:
    yield
    install_translators(qapp, "en")  # the newest translator answers first


@pytest.mark.parametrize("language", ["en", "zh_CN"])
def test_a_text_missing_from_the_catalog_shows_its_source(
    qapp: Any, restore_language: Any, language: str
) -> None:
    install_translators(qapp, language)
    assert QCoreApplication.translate("Anywhere", "A text no catalog has, 42") == (
        "A text no catalog has, 42"
    )


def test_english_widgets_keep_their_titles(qapp: Any, restore_language: Any) -> None:
    from glmtray.ui.signin import SignInDialog

    install_translators(qapp, "en")
    dialog = SignInDialog()
    assert dialog.windowTitle() == "Sign in to glmtray"
    dialog.deleteLater()


def test_chinese_widgets_take_the_catalogs_text(qapp: Any, restore_language: Any) -> None:
    from glmtray.ui.signin import SignInDialog

    install_translators(qapp, "zh_CN")
    dialog = SignInDialog()
    assert dialog.windowTitle() == i18n.lookup("Sign in to glmtray", "SignInDialog")
    assert dialog.windowTitle() not in ("", "Sign in to glmtray")
    dialog.deleteLater()


def test_back_to_english_leaves_no_chinese_behind(qapp: Any, restore_language: Any) -> None:
    """A change of language takes the previous translators off, Qt's own words included."""
    from glmtray.catalogs import ensure_compiled

    ensure_compiled()
    install_translators(qapp, "zh_CN")
    assert QCoreApplication.translate("QPlatformTheme", "Cancel") != "Cancel"
    install_translators(qapp, "en")
    assert QCoreApplication.translate("QPlatformTheme", "Cancel") == "Cancel"
    assert QCoreApplication.translate("SignInDialog", "Sign in to glmtray") == "Sign in to glmtray"
