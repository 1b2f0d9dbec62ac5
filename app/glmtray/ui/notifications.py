"""Desktop notifications: through the notification daemon when there is one, else the
tray's own balloon; a click opens what the notification is about."""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Signal

from glmtray import APP_NAME
from glmtray.alerts import Notification
from glmtray.desktop_notify import DesktopNotifier, Notifier
from glmtray.monitor import Monitor
from glmtray.timeutil import utcnow
from glmtray.ui.tray import TrayController

log = logging.getLogger(__name__)


class NotificationCenter(QObject):
    open_url_requested = Signal(str)
    panel_requested = Signal()
    _clicked = Signal(int, str)  # from the D-Bus reader thread to this one

    def __init__(
        self,
        monitor: Monitor,
        tray: TrayController,
        notifier: Notifier | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._monitor = monitor
        self._tray = tray
        self._sent: dict[int, Notification] = {}
        self._clicked.connect(self._on_clicked)
        self.notifier = notifier
        self._looked_for_daemon = notifier is not None

    def _daemon(self) -> Notifier | None:
        """The session's notification daemon, looked for at the first notification: looking
        is a D-Bus round trip (and jeepney's import), and most starts notify nothing."""
        if not self._looked_for_daemon:
            self._looked_for_daemon = True
            if DesktopNotifier.available():
                self.notifier = DesktopNotifier(APP_NAME, on_click=self._clicked.emit)
        return self.notifier

    def deliver(self, notes: list[Notification]) -> None:
        """Nothing while notifications are paused: the icon and panel still show every state."""
        for note in self._monitor.deliverable(notes, utcnow()):
            log.info("notify: %s", note.title)
            notification_id = None
            notifier = self._daemon()
            if notifier is not None:
                notification_id = notifier.notify(note.title, note.body, urgent=note.urgent)
            if notification_id is not None:
                self._sent[notification_id] = note
            else:
                self._tray.show_message(note.title, note.body, urgent=note.urgent)

    def _on_clicked(self, notification_id: int, action: str) -> None:
        note = self._sent.get(notification_id)
        if note is None:
            return
        if note.url:
            self.open_url_requested.emit(note.url)
        else:
            self.panel_requested.emit()

    def close(self) -> None:
        if self.notifier is not None:
            self.notifier.close()
