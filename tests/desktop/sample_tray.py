"""A tiny stand-in tray program for proving the desktop harness.

It behaves like glmtray does from the desktop's point of view: a QSystemTrayIcon with a context
menu, a window that a left click opens, and a ``showMessage`` notification. The icon is a solid
colour (magenta by default) so a screenshot can prove the tray host really drew it.

It reports events as single JSON lines on stdout (``{"event": "ready", ...}``) only to help
debugging; the harness tests assert through the desktop (X windows, D-Bus, screenshots).

Usage: python sample_tray.py [--color '#ff00ff'] [--notify SUMMARY] [--ready-timeout 10]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from PySide6.QtCore import QRect, QTimer
from PySide6.QtGui import QAction, QColor, QIcon, QPixmap
from PySide6.QtWidgets import QApplication, QLabel, QMenu, QSystemTrayIcon, QVBoxLayout, QWidget

APP_NAME = "glmtray-sample"
POPUP_TITLE = "glmtray sample popup"


def emit(event: str, **fields: Any) -> None:
    print(json.dumps({"event": event, **fields}), flush=True)


def rect_list(rect: QRect) -> list[int]:
    return [rect.x(), rect.y(), rect.width(), rect.height()]


class SampleTray:
    def __init__(self, app: QApplication, color: str, notify: str | None, timeout: float) -> None:
        self.app = app
        self.notify = notify
        self.deadline = time.monotonic() + timeout
        self.last_geometry: list[int] | None = None
        self.stable_polls = 0

        pixmap = QPixmap(64, 64)
        pixmap.fill(QColor(color))
        self.tray = QSystemTrayIcon(QIcon(pixmap))
        self.tray.setToolTip("glmtray sample")

        self.menu = QMenu()
        self.menu.setObjectName("sample-menu")
        show_action = QAction("Show window", self.menu)
        show_action.triggered.connect(self.show_popup)
        quit_action = QAction("Quit", self.menu)
        quit_action.triggered.connect(self.quit)
        self.menu.addAction(show_action)
        self.menu.addAction(quit_action)
        self.menu.aboutToShow.connect(lambda: emit("menu-shown"))
        self.tray.setContextMenu(self.menu)
        self.tray.activated.connect(self.on_activated)

        self.popup = QWidget()
        self.popup.setWindowTitle(POPUP_TITLE)
        layout = QVBoxLayout(self.popup)
        layout.addWidget(QLabel("glmtray sample popup: quota 42%"))
        self.popup.resize(320, 120)

        # The tray host may come up after us (or be slow to register on D-Bus): poll for it
        # instead of giving up at start-up, as Qt itself would not retry.
        self.timer = QTimer()
        self.timer.setInterval(50)
        self.timer.timeout.connect(self.poll)
        self.timer.start()

    def poll(self) -> None:
        if time.monotonic() > self.deadline:
            emit("timeout", tray_available=QSystemTrayIcon.isSystemTrayAvailable())
            self.app.exit(3)
            return
        if not self.tray.isVisible():
            if QSystemTrayIcon.isSystemTrayAvailable():
                self.tray.show()
            return
        # The tray host moves icons while it lays them out: wait for a non-empty geometry that
        # stays the same over a few polls before calling the icon ready. With an SNI host Qt
        # does not know the geometry at all (it stays empty), so visibility is all we get.
        geometry = rect_list(self.tray.geometry())
        if geometry == self.last_geometry:
            self.stable_polls += 1
        else:
            self.stable_polls = 0
            self.last_geometry = geometry
        empty = geometry[2] <= 0 or geometry[3] <= 0
        if self.stable_polls >= 3 and (not empty or self.stable_polls >= 6):
            self.timer.stop()
            emit(
                "ready",
                tray_available=QSystemTrayIcon.isSystemTrayAvailable(),
                supports_messages=QSystemTrayIcon.supportsMessages(),
                geometry=geometry,
            )
            if self.notify:
                self.tray.showMessage(
                    self.notify, "sample body", QSystemTrayIcon.MessageIcon.Information, 0
                )
                emit("message-sent", summary=self.notify)

    def on_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        emit("activated", reason=reason.name)
        if reason == QSystemTrayIcon.ActivationReason.Trigger:
            self.show_popup()

    def show_popup(self) -> None:
        self.popup.show()
        self.popup.raise_()
        emit("popup-shown")

    def quit(self) -> None:
        emit("quit")
        self.tray.hide()
        self.app.quit()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--color", default="#ff00ff")
    parser.add_argument("--notify", default=None, help="showMessage summary once ready")
    parser.add_argument("--ready-timeout", type=float, default=10.0)
    args = parser.parse_args(argv)

    app = QApplication([APP_NAME])
    app.setApplicationName(APP_NAME)
    app.setQuitOnLastWindowClosed(False)
    sample = SampleTray(app, args.color, args.notify, args.ready_timeout)
    emit("started")
    rc = app.exec()
    sample.tray.hide()
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
