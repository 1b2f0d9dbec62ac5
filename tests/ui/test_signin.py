# mypy: disable-error-code="no-untyped-call"
"""The sign-in dialog: what the user types comes out of its signals, errors stay inline."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit
from pytestqt.qtbot import QtBot

from glmtray.platform.regions import REGIONS, Region
from glmtray.ui.signin import SignInDialog

KEY = "5f1e0c3a9b7d4e2f8a6c1b0d3e5f7a9c.SimuLatorKey2026"


@pytest.fixture
def dialog(qtbot: QtBot) -> SignInDialog:
    widget = SignInDialog()
    qtbot.addWidget(widget)
    widget.show()
    return widget


def test_key_is_masked_and_sign_in_needs_a_key(dialog: SignInDialog, qtbot: QtBot) -> None:
    assert dialog.key_edit.echoMode() == QLineEdit.EchoMode.Password
    assert not dialog.sign_in_button.isEnabled()
    qtbot.keyClicks(dialog.key_edit, "   ")
    assert not dialog.sign_in_button.isEnabled()
    dialog.key_edit.clear()
    qtbot.keyClicks(dialog.key_edit, KEY)
    assert dialog.sign_in_button.isEnabled()
    assert dialog.sign_in_button.isDefault()
    assert dialog.key() == KEY


def test_pasted_key_is_trimmed(dialog: SignInDialog) -> None:
    dialog.key_edit.setText(f"  {KEY}\n")
    assert dialog.key() == KEY


def test_show_hide_toggle(dialog: SignInDialog) -> None:
    assert not dialog.is_revealed()
    assert dialog.reveal_action.text() == "Show the key"
    dialog.reveal_action.trigger()
    assert dialog.is_revealed()
    assert dialog.key_edit.echoMode() == QLineEdit.EchoMode.Normal
    assert dialog.reveal_action.text() == "Hide the key"
    dialog.reveal_action.trigger()
    assert not dialog.is_revealed()


def test_region_switch_changes_the_key_link(dialog: SignInDialog, qtbot: QtBot) -> None:
    assert dialog.region() is Region.GLOBAL
    with qtbot.waitSignal(dialog.open_url_requested, timeout=1000) as blocker:
        qtbot.mouseClick(dialog.key_link, Qt.MouseButton.LeftButton)
    assert blocker.args == [REGIONS[Region.GLOBAL].api_keys_page]
    dialog.region_combo.setCurrentIndex(dialog.region_combo.findText("China (bigmodel.cn)"))
    assert dialog.region() is Region.CHINA
    with qtbot.waitSignal(dialog.open_url_requested, timeout=1000) as blocker:
        qtbot.mouseClick(dialog.key_link, Qt.MouseButton.LeftButton)
    assert blocker.args == [REGIONS[Region.CHINA].api_keys_page]


def test_initial_region(qtbot: QtBot) -> None:
    dialog = SignInDialog(Region.CHINA)
    qtbot.addWidget(dialog)
    assert dialog.region() is Region.CHINA
    assert dialog.key_link.url == REGIONS[Region.CHINA].api_keys_page


def test_sign_in_carries_region_and_key(dialog: SignInDialog, qtbot: QtBot) -> None:
    dialog.region_combo.setCurrentIndex(dialog.region_combo.findText("China (bigmodel.cn)"))
    qtbot.keyClicks(dialog.key_edit, KEY + " ")
    with qtbot.waitSignal(dialog.sign_in_requested, timeout=1000) as blocker:
        qtbot.mouseClick(dialog.sign_in_button, Qt.MouseButton.LeftButton)
    assert blocker.args == [Region.CHINA, KEY]


def test_enter_signs_in(dialog: SignInDialog, qtbot: QtBot) -> None:
    qtbot.keyClicks(dialog.key_edit, KEY)
    with qtbot.waitSignal(dialog.sign_in_requested, timeout=1000) as blocker:
        qtbot.keyClick(dialog.key_edit, Qt.Key.Key_Return)
    assert blocker.args == [Region.GLOBAL, KEY]
    assert dialog.isVisible()  # it stays open until the application says the key works


def test_demo(dialog: SignInDialog, qtbot: QtBot) -> None:
    with qtbot.waitSignal(dialog.demo_requested, timeout=1000):
        qtbot.mouseClick(dialog.demo_button, Qt.MouseButton.LeftButton)


def test_busy_disables_inputs(dialog: SignInDialog, qtbot: QtBot) -> None:
    qtbot.keyClicks(dialog.key_edit, KEY)
    dialog.set_busy(True)
    assert dialog.busy_label.isVisibleTo(dialog)
    assert dialog.busy_label.text() == "Checking the key…"
    assert not dialog.sign_in_button.isEnabled()
    assert not dialog.key_edit.isEnabled()
    assert not dialog.region_combo.isEnabled()
    with qtbot.assertNotEmitted(dialog.sign_in_requested):
        dialog.sign_in_button.click()
    dialog.set_busy(False)
    assert dialog.sign_in_button.isEnabled()
    assert not dialog.busy_label.isVisibleTo(dialog)


def test_show_error_keeps_the_key(dialog: SignInDialog, qtbot: QtBot) -> None:
    qtbot.keyClicks(dialog.key_edit, KEY)
    dialog.set_busy(True)
    dialog.show_error("Key not accepted", "The platform rejected this key.")
    assert dialog.error_box.isVisibleTo(dialog)
    assert dialog.error_title.text() == "Key not accepted"
    assert dialog.error_message.text() == "The platform rejected this key."
    assert dialog.key() == KEY
    assert dialog.sign_in_button.isEnabled()
    assert not dialog.busy_label.isVisibleTo(dialog)
    assert not dialog.session_only_button.isVisibleTo(dialog)
    assert dialog.isVisible()
    # The message fits: the dialog grew to show it.
    message = dialog.error_message
    assert message.height() >= message.heightForWidth(message.width())


def test_session_only_appears_only_when_offered(dialog: SignInDialog, qtbot: QtBot) -> None:
    dialog.region_combo.setCurrentIndex(dialog.region_combo.findText("China (bigmodel.cn)"))
    qtbot.keyClicks(dialog.key_edit, KEY)
    dialog.show_error("Keyring locked", "The key works but could not be stored.")
    assert not dialog.session_only_button.isVisibleTo(dialog)
    dialog.show_error(
        "Keyring locked", "The key works but could not be stored.", offer_session_only=True
    )
    assert dialog.session_only_button.isVisibleTo(dialog)
    with qtbot.waitSignal(dialog.session_only_requested, timeout=1000) as blocker:
        qtbot.mouseClick(dialog.session_only_button, Qt.MouseButton.LeftButton)
    assert blocker.args == [Region.CHINA, KEY]


def test_editing_the_key_clears_the_old_error(dialog: SignInDialog, qtbot: QtBot) -> None:
    qtbot.keyClicks(dialog.key_edit, KEY)
    dialog.show_error("Key not accepted", "")
    qtbot.keyClicks(dialog.key_edit, "x")
    assert not dialog.error_box.isVisibleTo(dialog)


def test_enter_on_the_key_link_signs_in_rather_than_opening_the_page(
    dialog: SignInDialog, qtbot: QtBot
) -> None:
    opened: list[str] = []
    dialog.open_url_requested.connect(opened.append)
    qtbot.keyClicks(dialog.key_edit, KEY)
    dialog.key_link.setFocus()
    with qtbot.waitSignal(dialog.sign_in_requested, timeout=1000):
        qtbot.keyClick(dialog.key_link, Qt.Key.Key_Return)
    assert opened == []


def test_reset_forgets_the_key_and_hides_it_again(dialog: SignInDialog, qtbot: QtBot) -> None:
    qtbot.keyClicks(dialog.key_edit, KEY)
    dialog.reveal_action.trigger()
    assert dialog.is_revealed()
    dialog.show_error("Key not accepted", "The platform refused it.")
    dialog.reset()
    assert dialog.key_edit.text() == "" and dialog.key() == ""
    assert not dialog.is_revealed() and not dialog.reveal_action.isChecked()
    assert dialog.error_box.isHidden()
    assert not dialog.sign_in_button.isEnabled()


def test_the_dialog_keeps_its_size_when_an_error_appears(
    dialog: SignInDialog, qtbot: QtBot
) -> None:
    """An error takes the intro's place: the dialog does not grow, so it does not jump."""
    dialog.show()
    qtbot.waitExposed(dialog)
    before = dialog.size()
    dialog.show_error(
        "Key not accepted",
        "The platform rejected this key. Check that it belongs to the selected region.",
    )
    assert dialog.size() == before
    dialog.show_error(
        "The system keyring is locked",
        "The key works, but it could not be stored in the system keyring.",
        offer_session_only=True,
    )
    assert dialog.size() == before
    assert dialog.session_only_button.isVisible()
