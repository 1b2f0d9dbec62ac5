"""Choosing another language in Settings takes effect at once: the app is built afresh in
it (as for the demo), the settings window open again, with one tray icon."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from glmtray import i18n
from glmtray.catalogs import ensure_compiled
from glmtray.credentials import CredentialStore
from glmtray.environment import Environment, normal_environment
from glmtray.simulator import SIMULATOR_API_KEY, PlatformSimulator
from glmtray.state import Phase
from glmtray.ui.translator import install_translators
from tests.helpers import MemoryKeyring

from .test_application import WAIT_MS, RecordingNotifier, sim, wait_phase

__all__ = ["sim"]  # the app tests' simulator fixture, used here by name


@pytest.fixture
def english_afterwards(qapp: Any) -> Iterator[None]:
    ensure_compiled()
    yield
    install_translators(qapp, "en")


def test_a_new_language_applies_at_once(
    qtbot: QtBot, qapp: Any, sim: PlatformSimulator, tmp_path: Path, english_afterwards: None
) -> None:
    from glmtray.ui.application import AppHost

    keyring = MemoryKeyring()
    keyring.items[("glmtray", "global:default")] = SIMULATOR_API_KEY

    def make_environment(mode: str) -> Environment:
        return replace(normal_environment(sim.base_url), keys=CredentialStore(keyring))

    install_translators(qapp, "en")
    host = AppHost(qapp, make_environment, notifier=RecordingNotifier())
    try:
        assert host.start("normal")
        first = host.current
        assert first is not None
        wait_phase(qtbot, first, Phase.READY)
        assert "Refresh now" in first.tray.menu_texts()
        first.open_settings()
        dialog = first.settings_dialog
        assert dialog is not None
        dialog.language_combo.setCurrentIndex(dialog.language_combo.findData("zh_CN"))
        dialog.buttons.button(dialog.buttons.StandardButton.Apply).click()
        qtbot.waitUntil(
            lambda: host.current is not None and host.current is not first, timeout=WAIT_MS
        )
        again = host.current
        assert again is not None and i18n.language() == "zh_CN"
        wait_phase(qtbot, again, Phase.READY)
        assert "立即刷新" in again.tray.menu_texts()
        assert again.settings_dialog is not None and again.settings_dialog.isVisible()
        assert again.settings_dialog.windowTitle() != "glmtray settings"
        assert again.monitor.state.settings.language == "zh_CN"
    finally:
        host.shutdown()
