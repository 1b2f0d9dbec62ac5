"""The tray icon, its tooltip and its menu, drawn from the state.

Owns nothing but the QSystemTrayIcon: it renders what `AppState` says, and turns clicks and
menu choices into signals for the application to act on.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from glmtray.alerts import Pause
from glmtray.i18n import N_, _, weekday_clock
from glmtray.state import AppState, IconLook, IconSpec, Phase
from glmtray.timeutil import utcnow
from glmtray.ui.icon import make_qicon, panel_is_dark

log = logging.getLogger(__name__)

TRAY_RETRY_MS = 5_000
"""While no tray host is there (a panel restarting, a session still starting), look again."""


SIGN_OUT_LABELS = (N_("Sign out"), N_("Leave the demo"))
"""What the environments call the menu's sign-out entry (environment.py)."""


def dark_panel(state: AppState) -> bool:
    style = state.settings.icon_style
    if style == "light":
        return False
    if style == "dark":
        return True
    return panel_is_dark()


class TrayController(QObject):
    panel_toggle_requested = Signal()
    panel_requested = Signal()
    refresh_requested = Signal()
    history_requested = Signal()
    settings_requested = Signal()
    sign_in_requested = Signal()
    sign_out_requested = Signal()
    quit_requested = Signal()
    availability_changed = Signal(bool)
    """True once a tray host shows the icon; False when none was found (and it keeps looking)."""

    def __init__(
        self, pause: Pause, *, sign_out_label: str = "", parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._pause = pause
        # The environment names the entry in English ("Sign out", "Leave the demo"): both
        # are in the catalog (SIGN_OUT_LABELS).
        self._sign_out_label = _(sign_out_label) if sign_out_label else self.tr("Sign out")
        self._state: AppState | None = None
        self._busy = False
        self._icon_spec: IconSpec | None = None
        self._shown_data = False
        self.icon = QSystemTrayIcon(self)
        self.menu = QMenu()
        self.menu.aboutToShow.connect(self.rebuild_menu)
        self.icon.setContextMenu(self.menu)
        self.icon.activated.connect(self._on_activated)
        self.icon.messageClicked.connect(self.panel_requested)
        self._retry = QTimer(self)
        self._retry.setInterval(TRAY_RETRY_MS)
        self._retry.timeout.connect(self.show)

    @property
    def visible(self) -> bool:
        return self.icon.isVisible()

    @property
    def icon_spec(self) -> IconSpec | None:
        """What the icon shows now (None before the first render)."""
        return self._icon_spec

    @property
    def looking_for_tray(self) -> bool:
        """No tray host was found and the controller keeps looking for one."""
        return self._retry.isActive()

    def show(self) -> None:
        """Show the icon if a tray host is there; otherwise say so and keep looking."""
        if QSystemTrayIcon.isSystemTrayAvailable():
            self._retry.stop()
            if self._state is not None:
                self.render(self._state)  # drawn again only if the look changed meanwhile
            self.icon.show()
            self.availability_changed.emit(True)
            return
        if not self._retry.isActive():
            self._retry.start()
            self.availability_changed.emit(False)

    def hide(self) -> None:
        self._retry.stop()
        self.icon.hide()

    def set_busy(self, busy: bool) -> None:
        self._busy = busy

    def render(self, state: AppState, *, force: bool = False) -> None:
        """Icon and tooltip; the icon is redrawn only when what it shows changes."""
        self._state = state
        now = utcnow()
        spec = state.icon_spec(now, dark_panel=dark_panel(state))
        if force or spec != self._icon_spec:
            self._icon_spec = spec
            self.icon.setIcon(make_qicon(spec))
            if spec.look is IconLook.GAUGE and not self._shown_data:
                self._shown_data = True
                # Benchmarks and desktop tests wait for this line: the glance is ready, its
                # gauge drawn and handed to the tray.
                log.info("tray icon shows data (%.0f %%)", spec.percent or 0)
        self.icon.setToolTip(state.tooltip(now))

    def show_message(self, title: str, body: str, *, urgent: bool) -> bool:
        """The tray's own balloon, where no notification daemon answers."""
        if not self.icon.isVisible():
            return False
        icon = (
            QSystemTrayIcon.MessageIcon.Warning
            if urgent
            else QSystemTrayIcon.MessageIcon.Information
        )
        self.icon.showMessage(title, body, icon, 10_000)
        return True

    def menu_texts(self) -> list[str]:
        """The menu's entries as shown (submenus by title): what tests and screen readers see."""
        self.rebuild_menu()
        return [action.text() for action in self.menu.actions() if not action.isSeparator()]

    def rebuild_menu(self) -> None:
        state, now = self._state, utcnow()
        self.menu.clear()
        if state is None:
            self.menu.addAction(self.tr("Quit"), self.quit_requested.emit)
            return
        status = QAction(" · ".join(state.tooltip(now).split("\n")[:2]), self.menu)
        status.setEnabled(False)
        self.menu.addAction(status)
        self.menu.addSeparator()
        signed_in = state.phase is not Phase.SIGNED_OUT
        refresh = self.menu.addAction(self.tr("Refresh now"), self.refresh_requested.emit)
        refresh.setEnabled(signed_in and not self._busy)
        self.menu.addAction(self.tr("Open panel"), self.panel_requested.emit)
        history = self.menu.addAction(self.tr("Usage history…"), self.history_requested.emit)
        history.setEnabled(signed_in)
        self.menu.addAction(self.tr("Settings…"), self.settings_requested.emit)
        self._add_pause_menu(now)
        self.menu.addSeparator()
        if signed_in:
            self.menu.addAction(self._sign_out_label, self.sign_out_requested.emit)
        elif not signed_in:
            self.menu.addAction(self.tr("Sign in…"), self.sign_in_requested.emit)
        self.menu.addAction(self.tr("Quit"), self.quit_requested.emit)

    def _add_pause_menu(self, now: datetime) -> None:
        pause = self.menu.addMenu(self.tr("Pause notifications"))
        if self._pause.active(now):
            until = weekday_clock(self._pause.until.astimezone()) if self._pause.until else ""
            pause.setTitle(self.tr("Notifications paused until {time}").format(time=until))
            pause.addAction(self.tr("Resume notifications"), self._pause.clear)
        pause.addAction(
            self.tr("For 1 hour"), lambda: self._pause.for_duration(utcnow(), timedelta(hours=1))
        )
        pause.addAction(self.tr("Until tomorrow"), lambda: self._pause.until_tomorrow(utcnow()))

    def _on_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (
            QSystemTrayIcon.ActivationReason.Trigger,
            QSystemTrayIcon.ActivationReason.DoubleClick,
        ):
            self.panel_toggle_requested.emit()
