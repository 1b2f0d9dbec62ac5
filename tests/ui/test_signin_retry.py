"""After the keyring could not be read, the sign-in dialog offers to read the stored key
again; other errors do not."""

from __future__ import annotations

from typing import Any

from pytestqt.qtbot import QtBot

from glmtray.ui.signin import SignInDialog


def test_try_again_is_offered_only_when_asked_and_asks_for_a_new_read(
    qapp: Any, qtbot: QtBot
) -> None:
    dialog = SignInDialog()
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.show_error("Keyring locked", "Unlock it and try again.", offer_retry=True)
    assert dialog.retry_button.isVisible()
    with qtbot.waitSignal(dialog.retry_requested, timeout=1000):
        dialog.retry_button.click()
    dialog.show_error("Authentication failed", "The platform refused this key.")
    assert not dialog.retry_button.isVisible()
