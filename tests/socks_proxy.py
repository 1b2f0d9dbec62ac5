"""Small real proxies for tests, on 127.0.0.1 only: a SOCKS5 server (RFC 1928, with the
RFC 1929 user name/password method) and an HTTP forward proxy with Basic credentials.

Each records what it was asked (target host and port, user name) so a test can tell a
proxied request from a direct one. Targets other than loopback are refused: tests never
reach another address.
"""

from __future__ import annotations

import base64
import contextlib
import socket
import struct
import threading
from dataclasses import dataclass, field
from types import TracebackType

from glmtray.platform.regions import is_loopback_host


@dataclass(frozen=True)
class Seen:
    host: str
    port: int
    user: str | None


@dataclass
class _Base:
    credentials: tuple[str, str] | None = None
    resolve: dict[str, str] = field(default_factory=dict)
    """Names this proxy resolves itself (socks5h / absolute URLs), e.g. {"platform.test": "127.0.0.1"}."""
    seen: list[Seen] = field(default_factory=list)
    _server: socket.socket | None = None
    _threads: list[threading.Thread] = field(default_factory=list)
    _stopping: threading.Event = field(default_factory=threading.Event)

    @property
    def port(self) -> int:
        assert self._server is not None
        port: int = self._server.getsockname()[1]
        return port

    def start(self) -> None:
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        server.settimeout(0.2)
        self._server = server
        thread = threading.Thread(target=self._accept_loop, daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop(self) -> None:
        self._stopping.set()
        for thread in self._threads:
            thread.join(timeout=5)
        if self._server is not None:
            self._server.close()

    def __enter__(self) -> _Base:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _accept_loop(self) -> None:
        assert self._server is not None
        while not self._stopping.is_set():
            try:
                client, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(10)
            thread = threading.Thread(target=self._serve, args=(client,), daemon=True)
            thread.start()

    def _serve(self, client: socket.socket) -> None:
        with client, contextlib.suppress(OSError, ValueError):
            self.handle(client)

    def handle(self, client: socket.socket) -> None:
        raise NotImplementedError

    def _open(self, host: str, port: int) -> socket.socket | None:
        address = self.resolve.get(host.lower(), host)
        if not is_loopback_host(address):
            return None
        try:
            return socket.create_connection((address, port), timeout=10)
        except OSError:
            return None


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ValueError("peer closed")
        data += chunk
    return data


def _relay(a: socket.socket, b: socket.socket) -> None:
    def pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while chunk := src.recv(65536):
                dst.sendall(chunk)
        except OSError:
            pass
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)

    other = threading.Thread(target=pump, args=(b, a), daemon=True)
    other.start()
    pump(a, b)
    other.join(timeout=10)


class SocksProxy(_Base):
    """SOCKS5: CONNECT only; no authentication, or user name and password when
    `credentials` is set."""

    def handle(self, client: socket.socket) -> None:
        version, count = _recv_exact(client, 2)
        if version != 5:
            return
        methods = _recv_exact(client, count)
        user: str | None = None
        if self.credentials is None:
            if 0 not in methods:
                client.sendall(b"\x05\xff")
                return
            client.sendall(b"\x05\x00")
        else:
            if 2 not in methods:
                client.sendall(b"\x05\xff")
                return
            client.sendall(b"\x05\x02")
            _, user_length = _recv_exact(client, 2)
            user = _recv_exact(client, user_length).decode("utf-8", "replace")
            (password_length,) = _recv_exact(client, 1)
            password = _recv_exact(client, password_length).decode("utf-8", "replace")
            if (user, password) != self.credentials:
                client.sendall(b"\x01\x01")
                return
            client.sendall(b"\x01\x00")
        _, command, _, kind = _recv_exact(client, 4)
        if kind == 1:
            host = socket.inet_ntop(socket.AF_INET, _recv_exact(client, 4))
        elif kind == 4:
            host = socket.inet_ntop(socket.AF_INET6, _recv_exact(client, 16))
        else:
            (length,) = _recv_exact(client, 1)
            host = _recv_exact(client, length).decode("idna")
        (port,) = struct.unpack("!H", _recv_exact(client, 2))
        self.seen.append(Seen(host, port, user))
        upstream = self._open(host, port) if command == 1 else None
        if upstream is None:
            client.sendall(b"\x05\x05\x00\x01" + bytes(4) + b"\x00\x00")  # connection refused
            return
        with upstream:
            bound = upstream.getsockname()
            client.sendall(
                b"\x05\x00\x00\x01" + socket.inet_aton(bound[0]) + struct.pack("!H", bound[1])
            )
            _relay(client, upstream)


class HttpProxy(_Base):
    """An HTTP forward proxy (absolute-form requests and CONNECT), one request per
    connection, with Basic credentials when `credentials` is set."""

    def handle(self, client: socket.socket) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = client.recv(4096)
            if not chunk:
                return
            head += chunk
            if len(head) > 65536:
                return
        head, _, rest = head.partition(b"\r\n\r\n")
        request_line, *header_lines = head.decode("latin-1").split("\r\n")
        method, target, version = request_line.split(" ", 2)
        headers = [line.split(":", 1) for line in header_lines if ":" in line]
        auth = next((v.strip() for k, v in headers if k.lower() == "proxy-authorization"), "")
        user = None
        if auth.lower().startswith("basic "):
            user, _, _ = base64.b64decode(auth[6:]).decode("utf-8", "replace").partition(":")
        if self.credentials is not None:
            expected = base64.b64encode(":".join(self.credentials).encode()).decode()
            if auth != f"Basic {expected}":
                client.sendall(
                    b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                    b'Proxy-Authenticate: Basic realm="test"\r\nContent-Length: 0\r\n'
                    b"Connection: close\r\n\r\n"
                )
                return
        if method == "CONNECT":
            host, _, port_text = target.rpartition(":")
            self.seen.append(Seen(host.strip("[]"), int(port_text), user))
            upstream = self._open(host.strip("[]"), int(port_text))
            if upstream is None:
                client.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                return
            with upstream:
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                upstream.sendall(rest)
                _relay(client, upstream)
            return
        if not target.startswith("http://"):
            client.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            return
        authority, _, path = target[len("http://") :].partition("/")
        host, _, port_text = authority.rpartition(":")
        port = int(port_text) if host else 80
        host = (host or authority).strip("[]")
        self.seen.append(Seen(host, port, user))
        upstream = self._open(host, port)
        if upstream is None:
            client.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            return
        kept = [
            f"{k}:{v}"
            for k, v in headers
            if not k.lower().startswith("proxy-") and k.lower() != "connection"
        ]
        forwarded = "\r\n".join([f"{method} /{path} {version}", *kept, "Connection: close"])
        with upstream:
            upstream.sendall(forwarded.encode("latin-1") + b"\r\n\r\n" + rest)
            _relay(client, upstream)
