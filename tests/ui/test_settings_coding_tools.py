"""The settings dialog's coding-tools tab: meter and transcript choices, tool snippets, and the
one-click setup of Claude Code and OpenCode on real files in the isolated home."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QDialogButtonBox, QPushButton
from pytestqt.qtbot import QtBot

from glmtray.settings import Settings
from glmtray.tool_config import BACKUP_MARK
from glmtray.tool_setup import (
    STATUSLINE_COMMAND,
    claude_code_target,
    opencode_target,
    tool_setups,
)
from glmtray.ui.settings_dialog import SettingsDialog


def dialog(qtbot: QtBot, settings: Settings) -> SettingsDialog:
    widget = SettingsDialog(settings, signed_in=True, backend_name="test")
    qtbot.addWidget(widget)
    return widget


def test_round_trip_and_changes(qtbot: QtBot) -> None:
    settings = replace(Settings(), meter_enabled=True, meter_port=9123, peak_hours="13:00-17:30")
    widget = dialog(qtbot, settings)
    assert widget.settings() == settings
    widget.transcripts_check.setChecked(False)
    widget.meter_check.setChecked(False)
    widget.meter_port_spin.setValue(9500)
    changed = widget.settings()
    assert (changed.transcripts_enabled, changed.meter_enabled, changed.meter_port) == (
        False,
        False,
        9500,
    )


def test_snippets_follow_the_port_and_copy_exactly(qtbot: QtBot) -> None:
    widget = dialog(qtbot, Settings())
    widget.meter_port_spin.setValue(9321)
    shown = [value.text() for _label, value in widget.tool_rows]
    assert shown == [setup.text for setup in tool_setups(9321)]
    assert shown[0] == "ANTHROPIC_BASE_URL=http://127.0.0.1:9321/api/anthropic"
    assert all("127.0.0.1:9321" in text for text in shown)
    copy_buttons = [b for b in widget.findChildren(QPushButton) if b.text() == "Copy"]
    copy_buttons[2].click()
    assert QGuiApplication.clipboard().text() == shown[2]
    assert copy_buttons[2].text() == "Copied ✓"  # the click is confirmed where it was made
    qtbot.waitUntil(lambda: copy_buttons[2].text() == "Copy", timeout=4000)


def test_bad_peak_hours_keep_the_previous_value(qtbot: QtBot) -> None:
    widget = dialog(qtbot, Settings())
    widget.peak_hours_edit.setText("teatime")
    assert widget.settings().peak_hours == Settings().peak_hours
    widget.peak_hours_edit.setText("22:00-02:00")
    assert widget.settings().peak_hours == "22:00-02:00"


def test_peak_rule_round_trips(qtbot: QtBot) -> None:
    widget = dialog(qtbot, Settings(peak_rule="token"))
    assert widget.peak_rule_combo.currentData() == "token"
    widget.peak_rule_combo.setCurrentIndex(widget.peak_rule_combo.findData("credit"))
    assert widget.settings().peak_rule == "credit"


# -- one-click setup ---------------------------------------------------------------------

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "widgets"


def claude_settings(home: Path) -> Path:
    return home / "claude" / "settings.json"  # CLAUDE_CONFIG_DIR, set by the isolated home


@pytest.fixture(autouse=True)
def home_is_the_isolated_home(isolated_dirs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The tab shows files under the home as ~/...: as a user sees it."""
    monkeypatch.setenv("HOME", str(isolated_dirs))


def setup_dialog(qtbot: QtBot, settings: Settings) -> SettingsDialog:
    widget = SettingsDialog(
        settings,
        signed_in=True,
        backend_name="test",
        tool_targets_for=lambda port, region: [
            claude_code_target(port, region, command=STATUSLINE_COMMAND),
            opencode_target(port, region),
        ],
    )
    qtbot.addWidget(widget)
    widget.tabs.setCurrentIndex(2)
    return widget


def confirm_button(widget: SettingsDialog) -> QPushButton:
    change = widget.tool_box.change_dialog
    assert change is not None and change.isVisible()
    return change.write_button


def test_set_up_shows_the_change_and_writes_only_after_confirming(
    qtbot: QtBot, isolated_dirs: Path
) -> None:
    path = claude_settings(isolated_dirs)
    path.parent.mkdir(parents=True)
    original = '{\n  "model": "opus",\n  "env": {\n    "API_TIMEOUT_MS": "3000000"\n  }\n}\n'
    path.write_text(original, encoding="utf-8")
    widget = setup_dialog(qtbot, replace(Settings(), meter_enabled=True, meter_port=9321))
    widget.show()
    claude_row = widget.tool_box.rows[0]
    assert claude_row.setup_button is not None and claude_row.undo_button is not None
    assert not claude_row.undo_button.isEnabled()
    assert claude_row.label.text() == "<b>Claude Code</b> — ~/claude/settings.json"
    assert widget.tool_box.rows[2].setup_button is None  # Cline: text to paste only

    claude_row.setup_button.click()
    change = widget.tool_box.change_dialog
    assert change is not None and change.isVisible()
    assert change.changes_label.text().splitlines() == [
        '• env.ANTHROPIC_BASE_URL: (not set) → "http://127.0.0.1:9321/api/anthropic"',
        '• statusLine: (not set) → {"type": "command", "command": "glmtray statusline", '
        '"refreshInterval": 30}',
    ]
    assert '+    "ANTHROPIC_BASE_URL": "http://127.0.0.1:9321/api/anthropic"' in (
        change.diff_view.toPlainText()
    )
    assert change.diff_view.isReadOnly()
    assert change.meter_check is None  # the meter is on: nothing to offer
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    change.grab().save(str(ARTIFACTS / "settings-tool-change.png"))
    assert path.read_text(encoding="utf-8") == original  # shown, not written

    change.write_button.click()
    written = json.loads(path.read_text(encoding="utf-8"))
    assert list(written) == ["model", "env", "statusLine"]
    assert written["env"] == {
        "API_TIMEOUT_MS": "3000000",
        "ANTHROPIC_BASE_URL": "http://127.0.0.1:9321/api/anthropic",
    }
    assert "Done: Claude Code now goes through the meter." in widget.tool_box.status.text()
    assert BACKUP_MARK in widget.tool_box.status.text()
    assert claude_row.undo_button.isEnabled()
    assert claude_row.label.text() == "<b>Claude Code</b> — ~/claude/settings.json (set up ✓)"
    widget.grab().save(str(ARTIFACTS / "settings-coding-tools.png"))

    claude_row.undo_button.click()
    assert path.read_text(encoding="utf-8") == original
    assert widget.tool_box.status.text() == f"Undone: {path} is back as it was."
    assert not claude_row.undo_button.isEnabled()


def test_cancel_writes_nothing(qtbot: QtBot, isolated_dirs: Path) -> None:
    widget = setup_dialog(qtbot, replace(Settings(), meter_enabled=True))
    widget.show()
    row = widget.tool_box.rows[1]  # OpenCode
    assert row.setup_button is not None
    row.setup_button.click()
    change = widget.tool_box.change_dialog
    assert change is not None
    assert change.changes_label.text() == (
        "• provider.zai-coding-plan.options.baseURL: (not set) → "
        '"http://127.0.0.1:8765/api/coding/paas/v4"'
    )
    change.buttons.button(QDialogButtonBox.StandardButton.Cancel).click()
    assert widget.tool_box.change_dialog is None
    assert not (isolated_dirs / "xdg_config_home" / "opencode").exists()
    assert not widget.tool_box.status.isVisible()


def test_a_malformed_file_is_reported_and_left_alone(qtbot: QtBot, isolated_dirs: Path) -> None:
    path = claude_settings(isolated_dirs)
    path.parent.mkdir(parents=True)
    path.write_bytes(b'{"model": "opus",')
    widget = setup_dialog(qtbot, replace(Settings(), meter_enabled=True))
    widget.show()
    row = widget.tool_box.rows[0]
    assert row.setup_button is not None
    row.setup_button.click()
    assert widget.tool_box.change_dialog is None  # nothing to confirm
    assert widget.tool_box.status.isVisible()
    assert widget.tool_box.status.text().startswith(f"{path} is not valid JSON (line 1")
    assert path.read_bytes() == b'{"model": "opus",'
    widget.grab().save(str(ARTIFACTS / "settings-coding-tools-error.png"))


def test_the_meter_off_is_said_and_turning_it_on_is_offered(
    qtbot: QtBot, isolated_dirs: Path
) -> None:
    widget = setup_dialog(qtbot, replace(Settings(), meter_enabled=False, meter_port=9400))
    widget.show()
    box = widget.tool_box
    assert box.meter_off_note.isVisible() and "meter is off" in box.meter_off_note.text()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    widget.grab().save(str(ARTIFACTS / "settings-coding-tools-meter-off.png"))
    emitted: list[Settings] = []
    widget.settings_changed.connect(emitted.append)
    row = box.rows[0]
    assert row.setup_button is not None
    row.setup_button.click()
    change = box.change_dialog
    assert change is not None and change.meter_check is not None
    assert change.meter_check.isChecked()
    change.write_button.click()
    assert claude_settings(isolated_dirs).is_file()
    # The meter starts at once, on the port the tool was pointed at; nothing else is applied.
    assert [(s.meter_enabled, s.meter_port) for s in emitted] == [(True, 9400)]
    assert emitted[0].transcripts_enabled == Settings().transcripts_enabled
    assert widget.meter_check.isChecked()
    assert not box.meter_off_note.isVisible()


def test_remove_after_setup_and_nothing_to_remove(qtbot: QtBot, isolated_dirs: Path) -> None:
    widget = setup_dialog(qtbot, replace(Settings(), meter_enabled=True))
    widget.show()
    row = widget.tool_box.rows[0]
    assert row.remove_button is not None and row.setup_button is not None
    row.remove_button.click()
    assert widget.tool_box.change_dialog is None
    assert (
        widget.tool_box.status.text()
        == f"Nothing of glmtray's is in {claude_settings(isolated_dirs)}."
    )
    row.setup_button.click()
    confirm_button(widget).click()
    row.remove_button.click()
    confirm_button(widget).click()
    assert json.loads(claude_settings(isolated_dirs).read_text(encoding="utf-8")) == {
        "env": {"ANTHROPIC_BASE_URL": "https://api.z.ai/api/anthropic"}
    }
    assert widget.tool_box.status.text().startswith(
        "Removed: Claude Code talks to the platform directly"
    )


def test_undo_after_an_outside_change_is_refused_with_a_message(
    qtbot: QtBot, isolated_dirs: Path
) -> None:
    widget = setup_dialog(qtbot, replace(Settings(), meter_enabled=True))
    widget.show()
    row = widget.tool_box.rows[0]
    assert row.setup_button is not None and row.undo_button is not None
    row.setup_button.click()
    confirm_button(widget).click()
    path = claude_settings(isolated_dirs)
    path.write_text('{"model": "sonnet"}\n', encoding="utf-8")
    row.undo_button.click()
    assert "has changed since glmtray wrote it" in widget.tool_box.status.text()
    assert path.read_text(encoding="utf-8") == '{"model": "sonnet"}\n'
