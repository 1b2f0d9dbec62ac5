"""Signing in and out: the stored key at start, the sign-in dialog, sign-out.

Keys go from the dialog straight to the platform service; what comes back is a
`SessionStart` naming the account, never the key.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from glmtray.credentials import Account
from glmtray.errors import CredentialError
from glmtray.i18n import _
from glmtray.monitor import Monitor
from glmtray.platform.regions import Region
from glmtray.state import NoticeKey
from glmtray.ui.platform_service import KeyStorage, PlatformService, SessionStart

if TYPE_CHECKING:
    from glmtray.ui.signin import SignInDialog

log = logging.getLogger(__name__)


class SignInFlow(QObject):
    session_started = Signal(object)
    """A SessionStart that signed someone in: the monitor already knows the account."""
    signed_out = Signal()
    region_chosen = Signal(object)
    """The user signed in to another region than the settings name: keep it."""
    demo_requested = Signal()
    open_url_requested = Signal(str)

    def __init__(
        self,
        monitor: Monitor,
        service: PlatformService,
        *,
        read_transcripts: Callable[[], bool],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._monitor = monitor
        self._service = service
        self._read_transcripts = read_transcripts
        self.dialog: SignInDialog | None = None
        self._restoring = False
        self._stored_key_unread = False
        """The last start could not read the stored key (a locked keyring): asking to sign
        in reads it again first."""
        service.started.connect(self._on_started)
        service.key_removed.connect(self._on_key_removed)

    def _account(self, region: Region) -> Account:
        return Account(region, self._monitor.state.settings.account_label)

    def restore(self) -> None:
        """Sign in with the stored key, read on the worker (a keyring may prompt)."""
        self._restoring = True
        self._service.restore(
            self._account(self._monitor.state.settings.region),
            read_transcripts=self._read_transcripts(),
        )

    def show_dialog(self) -> None:
        from glmtray.ui.signin import SignInDialog  # built when first needed

        if self.dialog is None:
            self.dialog = SignInDialog(self._monitor.state.region)
            self.dialog.sign_in_requested.connect(
                lambda region, key: self._sign_in(region, key, KeyStorage.KEYRING)
            )
            self.dialog.session_only_requested.connect(
                lambda region, key: self._sign_in(region, key, KeyStorage.SESSION)
            )
            self.dialog.demo_requested.connect(self.demo_requested)
            self.dialog.retry_requested.connect(self._read_stored_key_again)
            self.dialog.open_url_requested.connect(self.open_url_requested)
        self.dialog.show()
        self.dialog.raise_()
        self.dialog.activateWindow()

    def ask_to_sign_in(self) -> None:
        """ "Sign in…" from the menu or the panel: after a keyring that could not be read,
        the stored key is tried again first (the user was told to unlock it and retry)."""
        if self._stored_key_unread:
            self._read_stored_key_again()
        else:
            self.show_dialog()

    def _read_stored_key_again(self) -> None:
        self.show_dialog()
        if self.dialog is not None:
            self.dialog.set_busy(True)
        self.restore()

    def _sign_in(self, region: Region, key: str, storage: KeyStorage) -> None:
        if self.dialog is not None:
            self.dialog.set_busy(True)
        self._service.sign_in(
            self._account(region), key, storage, read_transcripts=self._read_transcripts()
        )

    def _on_started(self, start: SessionStart) -> None:
        restoring, self._restoring = self._restoring, False
        if self.dialog is not None:
            self.dialog.set_busy(False)
        key_unread = restoring and not start.signed_in and isinstance(start.error, CredentialError)
        self._stored_key_unread = key_unread
        if not start.signed_in:
            self._monitor.signed_out()
            self.show_dialog()
            if start.error is not None and self.dialog is not None:
                self.dialog.show_error(
                    start.error.title,
                    start.error.message,
                    offer_session_only=start.offer_session_only,
                    offer_retry=key_unread,
                )
            return
        if self.dialog is not None:
            self.dialog.reset()
            self.dialog.hide()
        if start.account.region is not self._monitor.state.settings.region:
            self.region_chosen.emit(start.account.region)
        self._monitor.signed_in(start.account, session_only=start.session_only)
        self.session_started.emit(start)

    def sign_out(self) -> None:
        self._service.sign_out(self._monitor.account)
        self._monitor.signed_out()
        self.signed_out.emit()
        if self.dialog is not None:
            self.dialog.reset()
        self.show_dialog()

    def _on_key_removed(self, account: Account, error: CredentialError | None) -> None:
        if error is not None:
            self._monitor.set_notice(
                NoticeKey.KEY_NOT_REMOVED,
                _("{title}: {message}").format(title=error.title, message=error.message),
            )
        else:
            self._monitor.clear_notice(NoticeKey.KEY_NOT_REMOVED)
