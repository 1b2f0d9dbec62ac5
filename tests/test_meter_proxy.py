"""The meter behind a proxy, through real proxies on loopback: a SOCKS5 server (RFC 1928,
with RFC 1929 user name and password) and an HTTP CONNECT proxy with Basic credentials,
both written here on asyncio. The platform is a TLS server on 127.0.0.1 with a throwaway
certificate for `platform.test`, a name only the proxies know: a request that arrives
proves it went through the proxy, which resolved the name (as socks5h and CONNECT do)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import socket
import ssl
import struct
import subprocess
import threading
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from glmtray.meter.server import LocalMeter
from glmtray.simulator import SIMULATOR_API_KEY, PlatformSimulator
from glmtray.simulator.coding import OPENAI_CHAT_PATH

PLATFORM_NAME = "platform.test"
KEY = "0123456789abcdef0123456789abcdef.ProxyKeyAbCd1234"
HEADERS = {"Authorization": KEY}
BODY = b'{"model": "glm-4.6", "stream": true}'
CHUNKS = [b"data: one\n\n", b"data: two\n\n", b"data: [DONE]\n\n"]
PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY",
                   "no_proxy", "HTTP_PROXY", "http_proxy")  # fmt: skip


# --- a TLS platform known only by name ---------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("proxy-tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", f"/CN={PLATFORM_NAME}", "-addext", f"subjectAltName=DNS:{PLATFORM_NAME}",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    combined = folder / "both.pem"
    combined.write_bytes(cert.read_bytes() + key.read_bytes())
    return combined


class _Platform(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen: list[tuple[str, str | None]]

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        type(self).seen.append((self.path, self.headers.get("Host")))
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for chunk in CHUNKS:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        self.wfile.write(b"0\r\n\r\n")


@pytest.fixture
def platform(
    certificate: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[int, type[_Platform]]]:
    """(port, handler class with `.seen`) of a TLS server on 127.0.0.1 that the meter
    trusts (SSL_CERT_FILE) under the name platform.test."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificate)
    handler = type("Platform", (_Platform,), {"seen": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1]), handler
    finally:
        server.shutdown()
        server.server_close()


# --- proxies on asyncio ------------------------------------------------------------------------


@dataclass
class Proxy:
    """A proxy on 127.0.0.1 in a thread of its own. `names` maps host names it resolves
    (platform.test) to loopback addresses; anything else not loopback is refused."""

    kind: str  # "socks5" or "http"
    credentials: tuple[str, str] | None = None
    names: dict[str, str] = field(default_factory=dict)
    seen: list[tuple[str, int, str | None]] = field(default_factory=list)
    port: int = 0

    def __post_init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Proxy:
        self._thread.start()
        assert self._ready.wait(5)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        serve: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]] = (
            self._socks if self.kind == "socks5" else self._connect
        )
        server = self._loop.run_until_complete(asyncio.start_server(serve, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            server.close()
            self._loop.close()

    async def _open(
        self, host: str, port: int
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        address = self.names.get(host, host)
        if address not in ("127.0.0.1", "::1"):
            return None  # tests never reach another address
        try:
            return await asyncio.open_connection(address, port)
        except OSError:
            return None

    async def _socks(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            version, count = await reader.readexactly(2)
            methods = await reader.readexactly(count)
            wanted = 0 if self.credentials is None else 2
            if version != 5 or wanted not in methods:
                writer.write(b"\x05\xff")
                return await _close(writer)
            writer.write(bytes([5, wanted]))
            user = None
            if self.credentials is not None:
                _, length = await reader.readexactly(2)
                user = (await reader.readexactly(length)).decode()
                (length,) = await reader.readexactly(1)
                password = (await reader.readexactly(length)).decode()
                if (user, password) != self.credentials:
                    writer.write(b"\x01\x01")
                    return await _close(writer)
                writer.write(b"\x01\x00")
            _, command, _, kind = await reader.readexactly(4)
            if kind == 3:
                (length,) = await reader.readexactly(1)
                host = (await reader.readexactly(length)).decode("idna")
            else:
                size = 4 if kind == 1 else 16
                family = socket.AF_INET if kind == 1 else socket.AF_INET6
                host = socket.inet_ntop(family, await reader.readexactly(size))
            (port,) = struct.unpack("!H", await reader.readexactly(2))
            self.seen.append((host, port, user))
            target = await self._open(host, port) if command == 1 else None
            if target is None:
                writer.write(b"\x05\x05\x00\x01" + bytes(6))  # connection refused
                return await _close(writer)
            writer.write(b"\x05\x00\x00\x01" + bytes(6))
            await _pipe_both(reader, writer, *target)

    async def _connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError, ValueError):
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
            request_line, *lines = head.split("\r\n")
            method, target, _ = request_line.split(" ", 2)
            fields = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines)}
            auth = fields.get("proxy-authorization", "")
            user = None
            if auth.startswith("Basic "):
                user = base64.b64decode(auth[6:]).decode().partition(":")[0]
            if self.credentials is not None:
                expected = base64.b64encode(":".join(self.credentials).encode()).decode()
                if auth != f"Basic {expected}":
                    writer.write(
                        b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                        b'Proxy-Authenticate: Basic realm="test"\r\nContent-Length: 0\r\n\r\n'
                    )
                    return await _close(writer)
            if method != "CONNECT":
                writer.write(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
                return await _close(writer)
            host, _, port = target.rpartition(":")
            self.seen.append((host, int(port), user))
            opened = await self._open(host, int(port))
            if opened is None:
                writer.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                return await _close(writer)
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await _pipe_both(reader, writer, *opened)


async def _close(writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError):
        await writer.drain()
        writer.close()


async def _pipe_both(
    a_reader: asyncio.StreamReader,
    a_writer: asyncio.StreamWriter,
    b_reader: asyncio.StreamReader,
    b_writer: asyncio.StreamWriter,
) -> None:
    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        with contextlib.suppress(OSError):
            writer.close()

    await asyncio.gather(pipe(a_reader, b_writer), pipe(b_reader, a_writer))


def post(meter: LocalMeter) -> httpx.Response:
    # trust_env=False: the test's own client must not take the proxy to reach the meter.
    return httpx.post(
        meter.url + OPENAI_CHAT_PATH, headers=HEADERS, content=BODY, timeout=20, trust_env=False
    )


# --- through the proxies -------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["socks5h", "socks5"])
def test_socks5_proxy_carries_the_stream(
    platform: tuple[int, type[_Platform]], monkeypatch: pytest.MonkeyPatch, scheme: str
) -> None:
    port, handler = platform
    with Proxy("socks5", names={PLATFORM_NAME: "127.0.0.1"}) as proxy:
        monkeypatch.setenv("ALL_PROXY", f"{scheme}://127.0.0.1:{proxy.port}")
        with LocalMeter(f"https://{PLATFORM_NAME}:{port}", port=0) as meter:
            answers = [post(meter) for _ in range(2)]
    assert [a.status_code for a in answers] == [200, 200]
    assert all(a.content == b"".join(CHUNKS) for a in answers)
    # The name went to the proxy (it resolved it); the kept-alive tunnel served both.
    assert proxy.seen == [(PLATFORM_NAME, port, None)]
    assert handler.seen == [(OPENAI_CHAT_PATH, f"{PLATFORM_NAME}:{port}")] * 2


def test_socks5_credentials_from_the_url(
    platform: tuple[int, type[_Platform]], monkeypatch: pytest.MonkeyPatch
) -> None:
    port, _ = platform
    creds = ("meter user", "p@ss:word/1")
    with Proxy("socks5", credentials=creds, names={PLATFORM_NAME: "127.0.0.1"}) as proxy:
        monkeypatch.setenv(
            "https_proxy", f"socks5h://meter%20user:p%40ss%3Aword%2F1@127.0.0.1:{proxy.port}"
        )
        with LocalMeter(f"https://{PLATFORM_NAME}:{port}", port=0) as meter:
            answer = post(meter)
    assert answer.status_code == 200 and answer.content == b"".join(CHUNKS)
    assert proxy.seen == [(PLATFORM_NAME, port, "meter user")]


def test_http_connect_proxy_with_credentials(
    platform: tuple[int, type[_Platform]], monkeypatch: pytest.MonkeyPatch
) -> None:
    port, handler = platform
    with Proxy(
        "http", credentials=("corp", "s3cret!"), names={PLATFORM_NAME: "127.0.0.1"}
    ) as proxy:
        monkeypatch.setenv("HTTPS_PROXY", f"http://corp:s3cret%21@127.0.0.1:{proxy.port}")
        with LocalMeter(f"https://{PLATFORM_NAME}:{port}", port=0) as meter:
            answers = [post(meter) for _ in range(2)]
    assert [a.status_code for a in answers] == [200, 200]
    assert proxy.seen == [(PLATFORM_NAME, port, "corp")]
    assert len(handler.seen) == 2


# --- proxies that cannot be used: a 502 that names the variable ---------------------------------


def _refusal(answer: httpx.Response) -> str:
    assert answer.status_code == 502
    error = answer.json()["error"]
    assert error["code"] == "meter_upstream_unreachable"
    message: str = error["message"]
    return message


def test_wrong_proxy_credentials_are_a_502_naming_the_variable(
    platform: tuple[int, type[_Platform]],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    port, handler = platform
    names = {PLATFORM_NAME: "127.0.0.1"}
    with (
        Proxy("http", credentials=("corp", "right"), names=names) as http_proxy,
        Proxy("socks5", credentials=("corp", "right"), names=names) as socks_proxy,
    ):
        messages = []
        for variable, url in (
            ("HTTPS_PROXY", f"http://corp:WrongPassword1@127.0.0.1:{http_proxy.port}"),
            ("ALL_PROXY", f"socks5://corp:WrongPassword1@127.0.0.1:{socks_proxy.port}"),
        ):
            for name in PROXY_VARIABLES:
                monkeypatch.delenv(name, raising=False)
            monkeypatch.setenv(variable, url)
            with LocalMeter(f"https://{PLATFORM_NAME}:{port}", port=0) as meter:
                messages.append(_refusal(post(meter)))
    http_message, socks_message = messages
    assert f"the proxy in HTTPS_PROXY (http://127.0.0.1:{http_proxy.port})" in http_message
    assert "407" in http_message
    assert f"the proxy in ALL_PROXY (socks5://127.0.0.1:{socks_proxy.port})" in socks_message
    assert handler.seen == []
    for text in (*messages, caplog.text):
        assert "WrongPassword1" not in text and KEY not in text


def test_unreachable_or_unusable_proxy_is_a_502_naming_the_variable(
    platform: tuple[int, type[_Platform]], monkeypatch: pytest.MonkeyPatch
) -> None:
    port, handler = platform
    spare = socket.socket()
    spare.bind(("127.0.0.1", 0))
    closed_port = spare.getsockname()[1]
    spare.close()  # nothing listens there
    cases = [
        ("ALL_PROXY", f"socks5h://127.0.0.1:{closed_port}", f"socks5h://127.0.0.1:{closed_port}"),
        (
            "HTTPS_PROXY",
            f"http://u:Secret99@127.0.0.1:{closed_port}",
            f"(http://127.0.0.1:{closed_port})",
        ),
        ("https_proxy", f"socks4://127.0.0.1:{closed_port}", "socks4"),
        ("ALL_PROXY", "http://[not an address", "ALL_PROXY"),
    ]
    for variable, url, expected in cases:
        for name in PROXY_VARIABLES:
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv(variable, url)
        with LocalMeter(f"https://{PLATFORM_NAME}:{port}", port=0) as meter:
            message = _refusal(post(meter))
            assert meter.snapshot().upstream_failures == 1
        assert variable in message, message  # the variable as it is spelled
        assert expected in message, message
        assert "Secret99" not in message
    assert handler.seen == []


def test_loopback_never_goes_through_a_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    with Proxy("http") as proxy, PlatformSimulator("pro") as sim:
        for variable in ("ALL_PROXY", "HTTPS_PROXY", "HTTP_PROXY"):
            monkeypatch.setenv(variable, f"http://127.0.0.1:{proxy.port}")
        monkeypatch.setenv("NO_PROXY", "example.com")  # set, and not naming loopback
        with LocalMeter(sim.base_url, port=0) as meter:
            answer = httpx.post(
                meter.url + OPENAI_CHAT_PATH,
                headers={"Authorization": f"Bearer {SIMULATOR_API_KEY}"},
                json={"model": "glm-4.6"},
                trust_env=False,
            )
    assert answer.status_code == 200
    assert proxy.seen == []
    assert len(sim.requests) == 1
