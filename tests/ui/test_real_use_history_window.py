"""The history window as a subscriber meets it, offscreen."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot
from tools.sample_history import sample_view
from tools.sample_states import NOW

from glmtray.history.views import Span
from glmtray.ui.history_window import HistoryWindow


def test_export_opens_in_the_home_folder_when_there_is_no_documents_folder(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    elsewhere = tmp_path / "started-here"
    elsewhere.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))  # no user-dirs.dirs
    monkeypatch.chdir(elsewhere)
    window = HistoryWindow()
    qtbot.addWidget(window)
    window.show_view(sample_view(Span.DAY, NOW), NOW)
    window.show()
    window.export_button.click()
    qtbot.waitUntil(window.export_dialog.isVisible)
    folder = Path(window.export_dialog.directory().absolutePath())
    window.export_dialog.reject()
    assert folder == home, f"the dialog opened in {folder}"
