"""One glmtray per user session: a second start asks the first to show its panel, then exits."""

from __future__ import annotations

import getpass
import hashlib
import os
import sys

from PySide6.QtCore import QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

from glmtray import APP_ID

SHOW_MESSAGE = b"show\n"


def server_name(suffix: str = "") -> str:
    """The socket's name: in the user's private runtime folder where there is one, so one
    user's instances never meet another's (and a stale /tmp socket cannot interfere)."""
    user = hashlib.sha1(getpass.getuser().encode()).hexdigest()[:10]
    name = f"{APP_ID}-{user}{suffix}"
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if sys.platform != "win32" and runtime and os.path.isdir(runtime):
        return os.path.join(runtime, name)
    return name


def signal_running_instance(name: str, timeout_ms: int = 500) -> bool:
    """True if another instance answered (and was asked to show itself)."""
    socket = QLocalSocket()
    socket.connectToServer(name)
    if not socket.waitForConnected(timeout_ms):
        return False
    socket.write(SHOW_MESSAGE)
    socket.flush()
    socket.waitForBytesWritten(timeout_ms)
    socket.disconnectFromServer()
    return True


class SingleInstance(QObject):
    show_requested = Signal()

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self._server = QLocalServer(self)
        self._server.newConnection.connect(self._on_connection)

    def listen(self) -> bool:
        if self._server.listen(self.name):
            return True
        # A crashed instance can leave its socket file behind: nobody answered, so take it.
        QLocalServer.removeServer(self.name)
        return self._server.listen(self.name)

    def _on_connection(self) -> None:
        while self._server.hasPendingConnections():
            socket = self._server.nextPendingConnection()
            socket.readyRead.connect(lambda s=socket: self._read(s))
            socket.disconnected.connect(socket.deleteLater)

    def _read(self, socket: QLocalSocket) -> None:
        if bytes(socket.readAll().data()).startswith(SHOW_MESSAGE.strip()):
            self.show_requested.emit()

    def close(self) -> None:
        self._server.close()
