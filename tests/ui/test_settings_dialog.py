# mypy: disable-error-code="no-untyped-call"
"""The settings dialog: a faithful round trip, ordered thresholds, a polite minimum."""

from __future__ import annotations

from dataclasses import replace

import pytest
from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import QDialogButtonBox
from pytestqt.qtbot import QtBot

from glmtray.platform.regions import Region
from glmtray.settings import Settings
from glmtray.ui.settings_dialog import SettingsDialog


def make(qtbot: QtBot, settings: Settings, *, signed_in: bool = True) -> SettingsDialog:
    dialog = SettingsDialog(settings, signed_in=signed_in, backend_name="SecretService Keyring")
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def press(qtbot: QtBot, dialog: SettingsDialog, which: QDialogButtonBox.StandardButton) -> None:
    button = dialog.buttons.button(which)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


@pytest.mark.parametrize(
    "settings",
    [
        Settings(),
        Settings(
            region=Region.CHINA,
            refresh_seconds=90,  # not whole minutes: kept as it is when untouched
            thresholds=(50, 75, 90, 100),
            notify_reset=True,
            notify_risk=False,
            renewal_reminder_days=5,
            manual_renewal_date="2026-05-01",
            manual_billing_cycle="fortnightly",
            start_at_login=True,
            show_number_in_icon=False,
            icon_style="dark",
            extra={"x": 1},
        ),
    ],
)
def test_ok_round_trips(qtbot: QtBot, settings: Settings) -> None:
    dialog = make(qtbot, settings)
    with qtbot.waitSignal(dialog.settings_changed, timeout=1000) as blocker:
        press(qtbot, dialog, QDialogButtonBox.StandardButton.Ok)
    assert blocker.args == [settings]
    assert not dialog.isVisible()


def test_changes_are_reflected(qtbot: QtBot) -> None:
    dialog = make(qtbot, Settings())
    dialog.refresh_spin.setValue(5)
    dialog.threshold_spins[0].setValue(70)
    dialog.show_number_check.setChecked(False)
    dialog.icon_style_combo.setCurrentIndex(dialog.icon_style_combo.findData("light"))
    dialog.start_at_login_check.setChecked(True)
    dialog.notify_checks["notify_reset"].setChecked(True)
    dialog.notify_checks["notify_cancel_day"].setChecked(False)
    dialog.reminder_spin.setValue(7)
    dialog.manual_date_check.setChecked(True)
    dialog.manual_date_edit.setDate(QDate(2026, 4, 12))
    dialog.cycle_combo.setCurrentIndex(dialog.cycle_combo.findData("yearly"))
    with qtbot.waitSignal(dialog.settings_changed, timeout=1000) as blocker:
        press(qtbot, dialog, QDialogButtonBox.StandardButton.Apply)
    assert dialog.isVisible()  # Apply keeps the dialog open
    expected = replace(
        Settings(),
        refresh_seconds=300,
        thresholds=(70, 95, 100),
        show_number_in_icon=False,
        icon_style="light",
        start_at_login=True,
        notify_reset=True,
        notify_cancel_day=False,
        renewal_reminder_days=7,
        manual_renewal_date="2026-04-12",
        manual_billing_cycle="yearly",
    )
    assert blocker.args == [expected]
    assert expected.normalized() == expected


def test_every_notify_setting_has_a_checkbox(qtbot: QtBot) -> None:
    dialog = make(qtbot, Settings())
    names = {name for name in Settings.__dataclass_fields__ if name.startswith("notify_")}
    assert set(dialog.notify_checks) == names
    dialog.notify_checks["notify_renewal"].setChecked(False)
    assert not dialog.reminder_spin.isEnabled()


def test_cancel_emits_nothing(qtbot: QtBot) -> None:
    dialog = make(qtbot, Settings())
    dialog.refresh_spin.setValue(9)
    with qtbot.assertNotEmitted(dialog.settings_changed):
        press(qtbot, dialog, QDialogButtonBox.StandardButton.Cancel)


def test_refresh_minimum_is_one_minute(qtbot: QtBot) -> None:
    dialog = make(qtbot, Settings())
    assert dialog.refresh_spin.value() == 2
    dialog.refresh_spin.setValue(0)
    assert dialog.refresh_spin.value() == 1
    assert dialog.refresh_spin.minimum() == 1
    assert dialog.settings().refresh_seconds == 60


def test_thresholds_stay_ordered_and_full_is_no_setting(qtbot: QtBot) -> None:
    """Warning and critical are the user's; a used-up window (100 %) is always a level,
    so it is not offered as something to edit."""
    dialog = make(qtbot, Settings())
    assert len(dialog.threshold_spins) == 2
    warning, critical = dialog.threshold_spins
    warning.setValue(97)
    assert (warning.value(), critical.value()) == (97, 98)
    critical.setValue(2)
    assert (warning.value(), critical.value()) == (1, 2)
    assert dialog.settings().thresholds == (1, 2, 100)


def test_odd_thresholds_are_shown_ordered(qtbot: QtBot) -> None:
    dialog = make(qtbot, Settings(thresholds=(90,)))
    values = tuple(spin.value() for spin in dialog.threshold_spins)
    assert values[0] < values[1]
    assert 90 in values
    # Untouched, the stored value survives.
    assert dialog.settings().thresholds == (90,)


def test_manual_date_off_gives_none(qtbot: QtBot) -> None:
    dialog = make(qtbot, Settings(manual_renewal_date="2026-05-01"))
    assert dialog.manual_date_check.isChecked()
    assert dialog.manual_date_edit.date() == QDate(2026, 5, 1)
    dialog.manual_date_check.setChecked(False)
    assert not dialog.manual_date_edit.isEnabled()
    assert dialog.settings().manual_renewal_date is None


def test_account_buttons(qtbot: QtBot) -> None:
    dialog = make(qtbot, Settings(region=Region.CHINA))
    assert dialog.region_label.text() == "China (bigmodel.cn)"
    assert dialog.backend_label.text() == "SecretService Keyring"
    with qtbot.waitSignal(dialog.replace_key_requested, timeout=1000):
        qtbot.mouseClick(dialog.replace_key_button, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(dialog.sign_out_requested, timeout=1000):
        qtbot.mouseClick(dialog.sign_out_button, Qt.MouseButton.LeftButton)


def test_signed_out_account(qtbot: QtBot) -> None:
    dialog = make(qtbot, Settings(), signed_in=False)
    assert not dialog.sign_out_button.isEnabled()
    assert dialog.replace_key_button.text() == "Sign in…"
    dialog.set_signed_in(True, "Windows Credential Locker")
    assert dialog.sign_out_button.isEnabled()
    assert dialog.backend_label.text() == "Windows Credential Locker"


def test_set_settings_reloads(qtbot: QtBot) -> None:
    dialog = make(qtbot, Settings())
    dialog.set_settings(Settings(refresh_seconds=600, icon_style="dark"))
    assert dialog.refresh_spin.value() == 10
    assert dialog.icon_style_combo.currentData() == "dark"
