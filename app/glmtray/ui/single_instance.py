"""One glmtray per user session: a second start asks the first to show its panel, then exits.

The first instance listens on a local socket; a second one connects, says "show", and exits.
On Linux and macOS that socket is the standard library's Unix socket, watched by a
QSocketNotifier: QtNetwork's QLocalServer would do the same, but loading QtNetwork costs the
tray about 3 MB and 10 ms of its start. Windows has no Unix sockets in Python, so there the
socket is QLocalServer's named pipe.
"""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import os
import socket
import sys
import tempfile
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QSocketNotifier, Signal

from glmtray import APP_ID

if TYPE_CHECKING:
    from PySide6.QtNetwork import QLocalServer, QLocalSocket

SHOW_MESSAGE = b"show\n"
MAX_MESSAGE = 64
UNIX_SOCKETS = hasattr(socket, "AF_UNIX")


def server_name(suffix: str = "") -> str:
    """The socket's name: in the user's private runtime folder where there is one, so one
    user's instances never meet another's (and a stale /tmp socket cannot interfere)."""
    user = hashlib.sha1(getpass.getuser().encode()).hexdigest()[:10]
    name = f"{APP_ID}-{user}{suffix}"
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if sys.platform != "win32" and runtime and os.path.isdir(runtime):
        return os.path.join(runtime, name)
    return name


def socket_path(name: str) -> str:
    """Where a Unix socket called `name` lives: the name itself when it is a path, else in
    the temporary folder (as QLocalServer places a bare name)."""
    return name if os.path.isabs(name) else os.path.join(tempfile.gettempdir(), name)


def signal_running_instance(name: str, timeout_ms: int = 500) -> bool:
    """True if another instance answered (and was asked to show itself)."""
    if not UNIX_SOCKETS:
        return _signal_over_named_pipe(name, timeout_ms)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.settimeout(timeout_ms / 1000)
        try:
            client.connect(socket_path(name))
            client.sendall(SHOW_MESSAGE)
        except OSError:  # nobody listens (or a stale socket file): we are the first
            return False
    return True


class SingleInstance(QObject):
    show_requested = Signal()

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self._server: socket.socket | None = None
        self._bound: tuple[str, int] | None = None
        """The socket file this instance made (path, inode): removed only if still ours."""
        self._watchers: dict[socket.socket, QSocketNotifier] = {}
        self._spent: list[QSocketNotifier] = []
        """Notifiers of finished connections, disabled: deleted at the next accept or at
        close, never from inside their own signal."""
        self._pipe: QLocalServer | None = None

    def listen(self) -> bool:
        if not UNIX_SOCKETS:
            return self._listen_on_named_pipe()
        path = socket_path(self.name)
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            try:
                server.bind(path)
            except OSError:
                # A crashed instance can leave its socket file behind: nobody answered
                # (signal_running_instance came first), so take it.
                with contextlib.suppress(OSError):
                    os.unlink(path)
                server.bind(path)
            server.listen(4)
            server.setblocking(False)
            self._bound = (path, os.stat(path).st_ino)
        except OSError:
            server.close()
            return False
        self._server = server
        self._watch(server, self._accept)
        return True

    def _watch(self, connection: socket.socket, readable: Callable[[], None]) -> None:
        notifier = QSocketNotifier(connection.fileno(), QSocketNotifier.Type.Read, self)
        notifier.activated.connect(readable)
        self._watchers[connection] = notifier

    def _accept(self) -> None:
        assert self._server is not None
        self._delete_spent()
        try:
            connection, _ = self._server.accept()
        except OSError:  # gone between the notice and the accept
            return
        connection.setblocking(False)
        self._watch(connection, lambda: self._read(connection))

    def _read(self, connection: socket.socket) -> None:
        """A caller's message, read without blocking: a peer that connects and says nothing
        holds only its own socket, never the tray."""
        try:
            message = connection.recv(MAX_MESSAGE)
        except BlockingIOError:
            return
        except OSError:
            message = b""
        self._forget(connection)
        if message.startswith(SHOW_MESSAGE.strip()):
            self.show_requested.emit()

    def _forget(self, connection: socket.socket) -> None:
        notifier = self._watchers.pop(connection, None)
        if notifier is not None:
            notifier.setEnabled(False)
            self._spent.append(notifier)
        connection.close()

    def _delete_spent(self) -> None:
        for notifier in self._spent:
            notifier.setParent(None)  # the last reference goes with the list: deleted now
        self._spent.clear()

    def close(self) -> None:
        if self._pipe is not None:
            self._pipe.close()
        for connection in list(self._watchers):
            self._forget(connection)
        self._delete_spent()
        self._server = None
        if self._bound is not None:
            path, inode = self._bound
            self._bound = None
            with contextlib.suppress(OSError):
                if os.stat(path).st_ino == inode:  # not a later instance's socket
                    os.unlink(path)

    # -- Windows: QtNetwork's named pipe -------------------------------------------------
    def _listen_on_named_pipe(self) -> bool:
        from PySide6.QtNetwork import QLocalServer

        self._pipe = QLocalServer(self)
        self._pipe.newConnection.connect(self._on_pipe_connection)
        if self._pipe.listen(self.name):
            return True
        QLocalServer.removeServer(self.name)
        return self._pipe.listen(self.name)

    def _on_pipe_connection(self) -> None:
        assert self._pipe is not None
        while self._pipe.hasPendingConnections():
            pipe = self._pipe.nextPendingConnection()
            pipe.readyRead.connect(lambda p=pipe: self._read_pipe(p))
            pipe.disconnected.connect(pipe.deleteLater)

    def _read_pipe(self, pipe: QLocalSocket) -> None:
        if bytes(pipe.readAll().data()).startswith(SHOW_MESSAGE.strip()):
            self.show_requested.emit()


def _signal_over_named_pipe(name: str, timeout_ms: int) -> bool:
    from PySide6.QtNetwork import QLocalSocket

    pipe = QLocalSocket()
    pipe.connectToServer(name)
    if not pipe.waitForConnected(timeout_ms):
        return False
    pipe.write(SHOW_MESSAGE)
    pipe.flush()
    pipe.waitForBytesWritten(timeout_ms)
    pipe.disconnectFromServer()
    return True
