"""Freedesktop desktop notifications over D-Bus with jeepney (already a keyring dependency).

Plain Python so it is testable without Qt. A listener thread reports clicks
(`ActionInvoked`) through a callback; the Qt layer turns that into a queued signal.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
from collections.abc import Callable
from typing import Any, Protocol

from glmtray.i18n import _

log = logging.getLogger(__name__)

BUS_NAME = "org.freedesktop.Notifications"
OBJECT_PATH = "/org/freedesktop/Notifications"
INTERFACE = "org.freedesktop.Notifications"


class Notifier(Protocol):
    """What the app needs of a notification service (tests give a recording one)."""

    def notify(
        self, summary: str, body: str, *, urgent: bool = False, timeout_ms: int = -1
    ) -> int | None: ...

    def close(self) -> None: ...


class DesktopNotifier:
    """Sends notifications to the session's notification daemon; None-safe when absent."""

    def __init__(self, app_name: str, on_click: Callable[[int, str], None] | None = None) -> None:
        self.app_name = app_name
        self._on_click = on_click
        self._conn: Any = None
        self._listener: threading.Thread | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()

    @classmethod
    def available(cls) -> bool:
        """True when a session bus is reachable and a notification daemon owns its name."""
        if not sys.platform.startswith("linux"):
            return False
        try:
            from jeepney import DBusAddress, new_method_call
            from jeepney.io.blocking import open_dbus_connection

            with open_dbus_connection(bus="SESSION") as conn:
                bus = DBusAddress(
                    "/org/freedesktop/DBus",
                    bus_name="org.freedesktop.DBus",
                    interface="org.freedesktop.DBus",
                )
                reply = conn.send_and_get_reply(
                    new_method_call(bus, "NameHasOwner", "s", (BUS_NAME,)), timeout=2
                )
                return bool(reply.body[0])
        except Exception as error:  # no bus, no jeepney, no daemon: all mean "not available"
            log.info("desktop notifications unavailable: %s", type(error).__name__)
            return False

    def _connection(self) -> Any:
        from jeepney.io.blocking import open_dbus_connection

        if self._conn is None:
            self._conn = open_dbus_connection(bus="SESSION")
        return self._conn

    def notify(
        self, summary: str, body: str, *, urgent: bool = False, timeout_ms: int = -1
    ) -> int | None:
        """Show one notification; returns its id, or None if it could not be shown."""
        from jeepney import DBusAddress, new_method_call

        address = DBusAddress(OBJECT_PATH, bus_name=BUS_NAME, interface=INTERFACE)
        hints = {
            "urgency": ("y", 2 if urgent else 1),
            "desktop-entry": ("s", "io.github.glmtray.GlmTray"),
        }
        message = new_method_call(
            address,
            "Notify",
            "susssasa{sv}i",
            (
                self.app_name,
                0,
                "dialog-information",
                summary,
                body,
                ["default", _("Open")],
                hints,
                timeout_ms,
            ),
        )
        try:
            with self._lock:
                reply = self._connection().send_and_get_reply(message, timeout=5)
            notification_id = int(reply.body[0])
        except Exception as error:
            log.warning("notification could not be sent: %s", type(error).__name__)
            self._conn = None
            return None
        self._ensure_listener()
        return notification_id

    def _ensure_listener(self) -> None:
        if self._on_click is None or self._listener is not None:
            return
        self._listener = threading.Thread(
            target=self._listen, name="glmtray-notify-clicks", daemon=True
        )
        self._listener.start()

    def _listen(self) -> None:
        from jeepney import MatchRule, message_bus
        from jeepney.io.blocking import Proxy, open_dbus_connection

        try:
            with open_dbus_connection(bus="SESSION") as conn:
                rule = MatchRule(
                    type="signal", interface=INTERFACE, member="ActionInvoked", path=OBJECT_PATH
                )
                Proxy(message_bus, conn).AddMatch(rule)
                while not self._stop.is_set():
                    try:
                        msg = conn.receive(timeout=1.0)
                    except TimeoutError:
                        continue
                    if (
                        msg.header.fields.get(4) == "ActionInvoked" and self._on_click is not None
                    ):  # 4: member
                        notification_id, action = msg.body
                        self._on_click(int(notification_id), str(action))
        except Exception as error:
            log.info("notification click listener stopped: %s", type(error).__name__)

    def close(self) -> None:
        self._stop.set()
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None
