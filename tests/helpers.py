"""Helpers shared by tests: recorded platform bodies, an in-memory keyring, and an HTTPS
server on loopback."""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError

DATA = Path(__file__).parent / "data"


def load_body(name: str) -> Any:
    return json.loads((DATA / "bodies" / name).read_text(encoding="utf-8"))


class MemoryKeyring(KeyringBackend):
    """The unit-test double for the OS keyring: keyring ships no in-memory backend."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.items.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.items[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if (service, username) not in self.items:
            raise PasswordDeleteError("not found")
        del self.items[(service, username)]


@contextmanager
def serve_https(
    handler: type[BaseHTTPRequestHandler], certificate: tuple[Path, Path]
) -> Iterator[int]:
    """An HTTPS server on a free loopback port presenting `certificate` (cert, key), for the
    length of the block; gives its port."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
