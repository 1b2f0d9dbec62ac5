"""The meter's way to the platform: httpcore's connection pool on asyncio's own streams,
straight to the platform or through the proxy the environment names.

httpcore is used directly, through its public constructors: `AsyncConnectionPool`,
`AsyncHTTPProxy` and `AsyncSOCKSProxy` all take a `network_backend`. The meter gives
them asyncio's streams (`AsyncioBackend`) instead of anyio's: anyio's stream layer opens a
cancel scope on every read and builds the socket's whole attribute table (a getpeername
call included) each time a kept-alive connection is reused, and the meter relays some
fifty chunks a second per coding session on one event loop. Everything above the network
layer (HTTP/1.1 framing, the pool, proxies, TLS settings, timeouts) stays httpcore's.

The meter deals in raw bytes end to end: the tool's header lines go up as they came (minus
the hop-by-hop ones), and the answer's bytes come back without decoding or decompression.

Proxies: `HTTPS_PROXY` / `ALL_PROXY` / `NO_PROXY` (lowercase first, as curl reads them),
http(s) proxies with credentials in the URL (`http://user:pass@host:3128`), and
`socks5://` / `socks5h://` (httpcore hands the host name to a SOCKS proxy in both cases,
so the proxy resolves it). Loopback (the simulator) is always reached directly: no proxy
can reach this computer's loopback, and keys sent there must not leave it. A proxy that
cannot be used turns every request into a 502 that names the variable it came from.
"""

from __future__ import annotations

import asyncio
import select
import socket
import ssl
import sys
from collections.abc import AsyncIterable, Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import unquote, urlsplit

import httpcore
import httpx

from glmtray.errors import ProxyFailed
from glmtray.platform.proxies import ProxyChoice, choose_proxy
from glmtray.platform.regions import is_loopback_host
from glmtray.redact import redact

SocketOption = (
    tuple[int, int, int] | tuple[int, int, bytes | bytearray] | tuple[int, int, None, int]
)

KEEPALIVE_EXPIRY_SECONDS = 5.0
"""Idle upstream connections are dropped after this long (httpx's default): the platform's
servers end theirs sooner or later, and a stale one costs a failed request."""
CONNECT_TIMEOUT_SECONDS = 10.0
WRITE_TIMEOUT_SECONDS = 60.0
TIMEOUTS: dict[str, float | None] = {
    "connect": CONNECT_TIMEOUT_SECONDS,
    "read": None,
    "write": WRITE_TIMEOUT_SECONDS,
    "pool": None,
}
"""Coding answers stream for minutes with long gaps: no read timeout of our own (the tool
has one, and its hang-up cancels ours). Connecting is bounded."""


class ProxyUnusable(Exception):
    """The environment names a proxy the meter cannot use; the message says which variable."""


UPSTREAM_ERRORS: tuple[type[Exception], ...] = (
    httpcore.TimeoutException,
    httpcore.NetworkError,
    httpcore.ProtocolError,
    httpcore.ProxyError,
    httpcore.UnsupportedProtocol,
    ProxyUnusable,
)
"""What a request to the platform can fail with: the meter answers each with a 502."""


def meter_proxy(base_url: str, environ: Mapping[str, str] | None = None) -> ProxyChoice | None:
    """The proxy for the meter's requests to `base_url`, or None to go direct.

    Loopback always goes direct, whatever NO_PROXY says. Otherwise the platform client's
    rules apply (`glmtray.platform.proxies`), so the account client and the meter always
    take the same road. Raises ProxyFailed for a proxy that cannot be used at all.
    """
    if is_loopback_host(urlsplit(base_url).hostname or ""):
        return None
    return choose_proxy(base_url, environ)


def platform_ssl_context() -> ssl.SSLContext:
    """Certificates as the account client checks them: certifi's, or SSL_CERT_FILE /
    SSL_CERT_DIR when set."""
    return httpx.create_ssl_context()


def asyncio_backend() -> httpcore.AsyncNetworkBackend | None:
    """asyncio's streams where this Python can upgrade them to TLS (3.11+); None (httpcore's
    own choice, anyio) otherwise."""
    return AsyncioBackend() if hasattr(asyncio.StreamWriter, "start_tls") else None


class Upstream:
    """Requests to one platform base URL, over one connection pool (proxied or not)."""

    def __init__(
        self,
        base_url: str,
        *,
        max_keepalive: int = 32,
        environ: Mapping[str, str] | None = None,
        read_timeout: float | None = None,
    ) -> None:
        """`environ`: where the proxy variables are read (os.environ by default).
        `read_timeout`: none by default, see TIMEOUTS."""
        parts = urlsplit(base_url)
        self.base_url = base_url.rstrip("/")
        self._scheme = parts.scheme.encode("ascii")
        host = parts.hostname or ""
        self._host = host.encode("idna") if not host.isascii() else host.encode("ascii")
        self._port = parts.port
        self.host_header = parts.netloc.rsplit("@", 1)[-1].encode("idna")
        self._timeouts = {**TIMEOUTS, "read": read_timeout}
        self.proxy: ProxyChoice | None = None
        self._unusable: str | None = None
        try:
            self.proxy = meter_proxy(base_url, environ)
        except ProxyFailed as error:
            self._unusable = str(error)
        self._pool: httpcore.AsyncConnectionPool | None = None
        if self._unusable is None:
            try:
                self._pool = self._make_pool(max_keepalive)
            except (ValueError, TypeError, UnicodeError):  # a proxy URL urllib cannot read
                source = self.proxy.source if self.proxy else "the environment"
                self._unusable = (
                    f"The proxy in {source} is not a valid proxy address. "
                    "Use a form such as http://host:3128 or socks5://host:1080."
                )

    def _make_pool(self, max_keepalive: int) -> httpcore.AsyncConnectionPool | None:
        limits: dict[str, Any] = {
            "max_connections": None,
            "max_keepalive_connections": max_keepalive,
            "keepalive_expiry": KEEPALIVE_EXPIRY_SECONDS,
            "network_backend": asyncio_backend(),
        }
        context = platform_ssl_context() if self._scheme == b"https" else None
        if self.proxy is None:
            return httpcore.AsyncConnectionPool(ssl_context=context, **limits)
        proxy = urlsplit(self.proxy.url)
        scheme = proxy.scheme.lower()
        auth = (
            (unquote(proxy.username), unquote(proxy.password or ""))
            if proxy.username is not None
            else None
        )
        proxy_url = httpcore.URL(
            scheme=scheme.encode("ascii"),
            host=(proxy.hostname or "").encode("idna"),
            port=proxy.port,
            target=b"/",
        )
        if scheme in ("socks5", "socks5h"):
            return httpcore.AsyncSOCKSProxy(
                proxy_url=proxy_url, proxy_auth=auth, ssl_context=context, **limits
            )
        if scheme in ("http", "https"):
            return httpcore.AsyncHTTPProxy(
                proxy_url=proxy_url,
                proxy_auth=auth,
                ssl_context=context,
                proxy_ssl_context=platform_ssl_context() if scheme == "https" else None,
                **limits,
            )
        # choose_proxy refuses other schemes already; this keeps the two in step.
        self._unusable = f"{self.proxy.where()} uses a kind of proxy the meter cannot use."
        return None

    async def send(
        self,
        method: bytes,
        target: bytes,
        headers: Sequence[tuple[bytes, bytes]],
        content: bytes | AsyncIterable[bytes] | None,
    ) -> httpcore.Response:
        """Send one request; the answer's body is then read with `aiter_stream()` and
        the answer closed with `aclose()`. Raises one of UPSTREAM_ERRORS."""
        if self._pool is None:
            raise ProxyUnusable(self._unusable or "no connection pool")
        request = httpcore.Request(
            method,
            httpcore.URL(scheme=self._scheme, host=self._host, port=self._port, target=target),
            headers=headers,
            content=content,
            extensions={"timeout": self._timeouts},
        )
        return await self._pool.handle_async_request(request)

    def failure(self, error: Exception) -> str:
        """Why a request failed, for the tool's 502: which road, never a credential."""
        if isinstance(error, ProxyUnusable):
            return f"the glmtray meter cannot use the configured proxy: {error}"
        proxy = self.proxy
        road = f" through the proxy in {proxy.source} ({proxy.shown})" if proxy else ""
        text = f"the glmtray meter could not reach {self.base_url}{road}: {type(error).__name__}"
        detail = str(error).strip()
        if isinstance(error, httpcore.ProxyError) and detail:
            text += f" ({detail[:200]})"
        return redact(text)

    async def aclose(self) -> None:
        if self._pool is not None:
            await self._pool.aclose()


class AsyncioStream(httpcore.AsyncNetworkStream):
    """One connection, as an asyncio reader/writer pair."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        try:
            if timeout is None:  # the meter's reads: streams may pause for minutes
                return await self._reader.read(max_bytes)
            return await asyncio.wait_for(self._reader.read(max_bytes), timeout)
        except asyncio.TimeoutError as error:
            raise httpcore.ReadTimeout(str(error)) from error
        except OSError as error:
            raise httpcore.ReadError(str(error) or type(error).__name__) from error

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        try:
            self._writer.write(buffer)
            if timeout is None:
                await self._writer.drain()
            else:
                await asyncio.wait_for(self._writer.drain(), timeout)
        except asyncio.TimeoutError as error:
            raise httpcore.WriteTimeout(str(error)) from error
        except OSError as error:
            raise httpcore.WriteError(str(error) or type(error).__name__) from error

    async def aclose(self) -> None:
        # No wait for the close to finish: a TLS peer that never answers the goodbye
        # must not hold the relay up; the loop finishes closing on its own.
        self._writer.close()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            await self._writer.start_tls(  # type: ignore[attr-defined,unused-ignore]
                ssl_context, server_hostname=server_hostname, ssl_handshake_timeout=timeout
            )
        except asyncio.TimeoutError as error:
            self._writer.close()
            raise httpcore.ConnectTimeout(str(error)) from error
        except (OSError, ssl.SSLError) as error:
            self._writer.close()
            raise httpcore.ConnectError(str(error) or type(error).__name__) from error
        return self

    def get_extra_info(self, info: str) -> Any:
        if info == "ssl_object":
            return self._writer.get_extra_info("ssl_object")
        if info == "client_addr":
            return self._writer.get_extra_info("sockname")
        if info == "server_addr":
            return self._writer.get_extra_info("peername")
        if info == "socket":
            return self._writer.get_extra_info("socket")
        if info == "is_readable":
            # Asked before a kept-alive connection is reused: readable means the server
            # has closed it (or said something unasked), so it must not carry a request.
            # The loop may already have taken the end of stream off the socket.
            if self._reader.at_eof() or self._writer.is_closing():
                return True
            return _socket_readable(self._writer.get_extra_info("socket"))
        return None


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network layer on asyncio's streams."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            # asyncio turns Nagle's algorithm off on its TCP connections, as anyio does.
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(
                    host, port, local_addr=(local_address, 0) if local_address else None
                ),
                timeout,
            )
        except asyncio.TimeoutError as error:
            raise httpcore.ConnectTimeout(str(error)) from error
        except OSError as error:
            raise httpcore.ConnectError(str(error) or type(error).__name__) from error
        sock = writer.get_extra_info("socket")
        for option in socket_options or ():
            sock.setsockopt(*option)
        return AsyncioStream(reader, writer)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


def _socket_readable(sock: socket.socket | None) -> bool:
    """Whether a read would return at once (data, or the end of the stream)."""
    fd = -1 if sock is None else sock.fileno()
    if fd < 0:
        return True  # already closed: as good as at its end
    if sys.platform == "win32" or not hasattr(select, "poll"):
        readable, _, _ = select.select([fd], [], [], 0)
        return bool(readable)
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(0))
