"""The settings dialog's coding-tools tab: meter and transcript choices, tool snippets."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QPushButton
from pytestqt.qtbot import QtBot

from glmtray.settings import Settings
from glmtray.tool_setup import tool_setups
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
