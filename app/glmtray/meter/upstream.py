"""The meter's way to the platform: aiohttp's client session, straight or through an
HTTP(S) proxy; httpcore's SOCKS proxy pool for SOCKS proxies. Public constructors only.

Two libraries because neither does both well. aiohttp's client parses answers in C
(llhttp) and reuses the meter's own event loop machinery: measured with
bench/bench_meter.py it costs the meter about half the CPU per relayed request that
httpcore's pure-Python HTTP/1.1 (h11) does, which is what a burst of coding requests
waits behind. aiohttp has no SOCKS support, and SOCKS proxies are common with proxy
clients in China; httpcore's `AsyncSOCKSProxy` has it, on asyncio's own streams
(`AsyncioBackend`) rather than anyio's, whose stream layer opens a cancel scope on
every read. Both pools are built through their public constructors; nothing reaches into
either library.

The meter deals in raw bytes end to end: the tool's header lines go up as they came (minus
the hop-by-hop ones; nothing is added but Host and, for a streamed body, the chunked
framing), and the answer's bytes come back without decoding or decompression. No cookie
jar, no redirects, no authentication of the meter's own.

Proxies: `HTTPS_PROXY` / `ALL_PROXY` / `NO_PROXY` (lowercase first, as curl reads them),
http(s) proxies with credentials in the URL (`http://user:pass@host:3128`), and
`socks5://` / `socks5h://` (the host name goes to a SOCKS proxy in both cases, so the
proxy resolves it). Loopback (the simulator) is always reached directly: no proxy can
reach this computer's loopback, and keys sent there must not leave it. A proxy that
cannot be used turns every request into a 502 that names the variable it came from.
"""

from __future__ import annotations

import asyncio
import select
import socket
import ssl
import sys
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Mapping,
    Sequence,
)
from typing import Any
from urllib.parse import unquote, urlsplit

import aiohttp
import httpcore
from multidict import CIMultiDict

from glmtray.errors import ProxyFailed
from glmtray.platform.proxies import ProxyChoice, choose_proxy
from glmtray.platform.regions import is_loopback_host
from glmtray.platform.tls import platform_tls_context
from glmtray.redact import redact

SocketOption = (
    tuple[int, int, int] | tuple[int, int, bytes | bytearray] | tuple[int, int, None, int]
)

KEEPALIVE_EXPIRY_SECONDS = 5.0
"""Idle upstream connections are dropped after this long: the platform's servers end
theirs sooner or later, and a stale one costs a failed request."""
MAX_KEEPALIVE_CONNECTIONS = 32
CONNECT_TIMEOUT_SECONDS = 10.0
WRITE_TIMEOUT_SECONDS = 60.0
"""Coding answers stream for minutes with long gaps: no read timeout of our own (the tool
has one, and its hang-up cancels ours). Connecting is bounded."""
SOCKS_SCHEMES = ("socks5", "socks5h")
# Headers aiohttp would add on its own when the tool did not send them.
_NOT_ADDED = ("User-Agent", "Accept", "Accept-Encoding", "Content-Type")


class ProxyUnusable(Exception):
    """The environment names a proxy the meter cannot use; the message says which variable."""


UPSTREAM_ERRORS: tuple[type[BaseException], ...] = (
    aiohttp.ClientError,
    asyncio.TimeoutError,
    httpcore.TimeoutException,
    httpcore.NetworkError,
    httpcore.ProtocolError,
    httpcore.ProxyError,
    httpcore.UnsupportedProtocol,
    ProxyUnusable,
)
"""What a request to the platform, or reading its answer, can fail with: the meter answers
each with a 502 (or, mid-stream, ends the tool's stream the same abrupt way)."""
_PROXY_ERRORS = (aiohttp.ClientProxyConnectionError, aiohttp.ClientHttpProxyError,
                 httpcore.ProxyError)  # fmt: skip


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
    """Certificates as the account client checks them (`glmtray.platform.tls`)."""
    return platform_tls_context()


def asyncio_backend() -> httpcore.AsyncNetworkBackend | None:
    """asyncio's streams where this Python can upgrade them to TLS (3.11+); None (httpcore's
    own choice, anyio) otherwise."""
    return AsyncioBackend() if hasattr(asyncio.StreamWriter, "start_tls") else None


class Answer:
    """The platform's answer: status line and raw header lines now, the body as it comes."""

    def __init__(
        self,
        status: int,
        reason: str,
        headers: list[tuple[bytes, bytes]],
        chunks: AsyncIterator[bytes],
        close: Callable[[], Awaitable[None]],
    ) -> None:
        self.status = status
        self.reason = reason
        self.headers = headers
        self._chunks = chunks
        self._close = close

    def chunks(self) -> AsyncIterator[bytes]:
        """The body's bytes as they arrive (chunked framing removed, nothing decoded)."""
        return self._chunks

    async def aclose(self) -> None:
        """Give the connection back when the body was read to its end, else close it (the
        tool hung up mid-stream: the platform must stop streaming to nobody)."""
        await self._close()


class Upstream:
    """Requests to one platform base URL: one aiohttp session (direct or through an HTTP
    proxy) or one httpcore SOCKS pool, created on first use inside the meter's loop."""

    def __init__(
        self,
        base_url: str,
        *,
        environ: Mapping[str, str] | None = None,
        read_timeout: float | None = None,
    ) -> None:
        """`environ`: where the proxy variables are read (os.environ by default).
        `read_timeout`: seconds a read may wait (none by default, see WRITE_TIMEOUT_SECONDS)."""
        parts = urlsplit(base_url)
        self.base_url = base_url.rstrip("/")
        self.host_header = parts.netloc.rsplit("@", 1)[-1].encode("idna")
        self._parts = parts
        self._read_timeout = read_timeout
        self.proxy: ProxyChoice | None = None
        self._unusable: str | None = None
        try:
            self.proxy = meter_proxy(base_url, environ)
        except ProxyFailed as error:
            self._unusable = str(error)
        self._proxy_url: str | None = None
        self._proxy_headers: dict[str, str] | None = None
        self._socks: httpcore.AsyncSOCKSProxy | None = None
        self._session: aiohttp.ClientSession | None = None
        if self.proxy is not None and self._unusable is None:
            try:
                self._read_proxy(self.proxy)
            except (ValueError, TypeError, UnicodeError):  # a proxy URL urllib cannot read
                self._unusable = (
                    f"The proxy in {self.proxy.source} is not a valid proxy address. "
                    "Use a form such as http://host:3128 or socks5://host:1080."
                )

    @property
    def via_socks(self) -> bool:
        return self._socks is not None

    def _read_proxy(self, choice: ProxyChoice) -> None:
        proxy = urlsplit(choice.url)
        scheme = proxy.scheme.lower()
        host = proxy.hostname or ""
        port = proxy.port
        user = unquote(proxy.username) if proxy.username is not None else None
        password = unquote(proxy.password or "")
        if scheme in SOCKS_SCHEMES:
            self._socks = httpcore.AsyncSOCKSProxy(
                proxy_url=httpcore.URL(
                    scheme=scheme.encode("ascii"), host=host.encode("idna"), port=port, target=b"/"
                ),
                proxy_auth=(user, password) if user is not None else None,
                ssl_context=platform_ssl_context(),
                max_connections=None,
                max_keepalive_connections=MAX_KEEPALIVE_CONNECTIONS,
                keepalive_expiry=KEEPALIVE_EXPIRY_SECONDS,
                network_backend=asyncio_backend(),
            )
        elif scheme in ("http", "https"):
            netloc = f"[{host}]" if ":" in host else host
            self._proxy_url = f"{scheme}://{netloc}:{port}" if port else f"{scheme}://{netloc}"
            if user is not None:
                # Sent with the CONNECT only, never to the platform.
                self._proxy_headers = {
                    "Proxy-Authorization": aiohttp.encode_basic_auth(user, password)
                }
        else:  # choose_proxy refuses other schemes already; this keeps the two in step
            self._unusable = f"{choice.where()} uses a kind of proxy the meter cannot use."

    async def send(
        self,
        method: str,
        target: str,
        headers: Sequence[tuple[bytes, bytes]],
        content: bytes | AsyncIterable[bytes] | None,
    ) -> Answer:
        """Send one request (`target`: path and query, as the tool sent them; `headers`:
        Host first). Raises one of UPSTREAM_ERRORS."""
        if self._unusable is not None:
            raise ProxyUnusable(self._unusable)
        if self._socks is not None:
            return await self._send_socks(method, target, headers, content)
        session = self._session or self._open_session()
        response = await session.request(
            method,
            self.base_url + target,
            headers=CIMultiDict(
                (name.decode("latin-1"), value.decode("latin-1")) for name, value in headers
            ),
            data=content,
            allow_redirects=False,
            proxy=self._proxy_url,
            proxy_headers=self._proxy_headers,
        )

        async def close() -> None:
            if response.content.at_eof():
                response.release()
            else:
                response.close()

        return Answer(
            response.status,
            response.reason or "",
            list(response.raw_headers),
            response.content.iter_any(),
            close,
        )

    def _open_session(self) -> aiohttp.ClientSession:
        context = platform_ssl_context() if self._parts.scheme == "https" else False
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(
                limit=0,  # no limit of our own: the platform's concurrency limit is the one
                keepalive_timeout=KEEPALIVE_EXPIRY_SECONDS,
                ssl=context,
            ),
            cookie_jar=aiohttp.DummyCookieJar(),  # Set-Cookie goes to the tool, not to us
            skip_auto_headers=_NOT_ADDED,
            auto_decompress=False,
            timeout=aiohttp.ClientTimeout(
                total=None, sock_connect=CONNECT_TIMEOUT_SECONDS, sock_read=self._read_timeout
            ),
            trust_env=False,  # the proxy is chosen here, by the rules the account client uses
        )
        return self._session

    async def _send_socks(
        self,
        method: str,
        target: str,
        headers: Sequence[tuple[bytes, bytes]],
        content: bytes | AsyncIterable[bytes] | None,
    ) -> Answer:
        assert self._socks is not None
        parts = self._parts
        if content is not None and not any(
            name.lower() in (b"content-length", b"transfer-encoding") for name, _ in headers
        ):
            # httpcore frames the body by the headers it is given; aiohttp adds this itself.
            headers = [*headers, (b"Transfer-Encoding", b"chunked")]
        request = httpcore.Request(
            method.encode("ascii"),
            httpcore.URL(
                scheme=parts.scheme.encode("ascii"),
                host=(parts.hostname or "").encode("idna"),
                port=parts.port,
                target=target.encode("ascii"),
            ),
            headers=headers,
            content=content,
            extensions={
                "timeout": {
                    "connect": CONNECT_TIMEOUT_SECONDS,
                    "read": self._read_timeout,
                    "write": WRITE_TIMEOUT_SECONDS,
                    "pool": None,
                }
            },
        )
        response = await self._socks.handle_async_request(request)
        reason = response.extensions.get("reason_phrase", b"")
        return Answer(
            response.status,
            reason.decode("latin-1") if isinstance(reason, bytes) else "",
            list(response.headers),
            response.aiter_stream(),
            response.aclose,
        )

    def failure(self, error: BaseException) -> str:
        """Why a request failed, for the tool's 502: which road, never a credential."""
        if isinstance(error, ProxyUnusable):
            return f"the glmtray meter cannot use the configured proxy: {error}"
        proxy = self.proxy
        road = f" through the proxy in {proxy.source} ({proxy.shown})" if proxy else ""
        text = f"the glmtray meter could not reach {self.base_url}{road}: {type(error).__name__}"
        if isinstance(error, _PROXY_ERRORS):
            detail = _proxy_detail(error)
            if detail:
                text += f" ({detail})"
        return redact(text)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._socks is not None:
            await self._socks.aclose()


def _proxy_detail(error: BaseException) -> str:
    """What the proxy said, without the addresses aiohttp puts in its messages."""
    if isinstance(error, aiohttp.ClientResponseError):
        return f"{error.status} {error.message}".strip()
    if isinstance(error, aiohttp.ClientProxyConnectionError):
        return "could not connect to the proxy"
    return str(error).strip()[:200]


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
