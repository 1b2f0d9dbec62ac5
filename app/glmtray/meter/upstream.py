"""The meter's way to the platform: httpx's transport, over plain asyncio streams.

httpx reaches the network through httpcore, which on asyncio goes through anyio. anyio's
stream layer costs the meter about a third of its own work: every read opens a cancel
scope, and every reuse of a kept-alive connection asks anyio for the socket, which builds
the socket's whole attribute table (a getpeername call included) to hand one entry back.
The meter relays some fifty chunks a second per coding session, one event loop for all of
them, so that work is what a burst of requests waits behind. httpcore lets its network
layer be replaced (`AsyncNetworkBackend`); this module gives it asyncio's own streams,
which do the same job with none of that overhead. Everything above the network layer
(HTTP/1.1 parsing, the connection pool, proxies, TLS settings, timeouts, errors) stays
httpx's and httpcore's.
"""

from __future__ import annotations

import asyncio
import logging
import select
import socket
import ssl
import sys
import urllib.parse
import urllib.request
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

from glmtray.platform.regions import is_loopback_host

log = logging.getLogger(__name__)

SocketOption = (
    tuple[int, int, int] | tuple[int, int, bytes | bytearray] | tuple[int, int, None, int]
)


def system_proxy(base_url: str) -> str | None:
    """The proxy the environment names for `base_url` (`HTTPS_PROXY`, `ALL_PROXY`, ... and
    `NO_PROXY`, or the system settings on Windows and macOS), or None to go direct.

    Loopback (the simulator) always goes direct: a proxy cannot reach this computer's
    loopback, and keys sent there must not leave it.
    """
    parts = urllib.parse.urlsplit(base_url)
    host = parts.hostname or ""
    if is_loopback_host(host) or urllib.request.proxy_bypass(host):
        return None
    proxies = urllib.request.getproxies()
    return proxies.get(parts.scheme) or proxies.get("all")


def upstream_transport(base_url: str, *, max_keepalive: int = 32) -> httpx.AsyncHTTPTransport:
    """httpx's transport to `base_url`, through the system proxy if one is set, on asyncio
    streams where this Python has what TLS upgrades need (3.11+; anyio's otherwise)."""
    transport = httpx.AsyncHTTPTransport(
        limits=httpx.Limits(max_connections=None, max_keepalive_connections=max_keepalive),
        proxy=system_proxy(base_url),
    )
    # httpx builds its httpcore pool itself and takes no network backend of its own, so the
    # pool is given one after the fact. Should a later httpx keep it elsewhere, the pool
    # simply stays on anyio: slower, never wrong (and the meter's tests say so).
    pool = getattr(transport, "_pool", None)
    if isinstance(pool, httpcore.AsyncConnectionPool) and hasattr(pool, "_network_backend"):
        if hasattr(asyncio.StreamWriter, "start_tls"):
            pool._network_backend = AsyncioBackend()
    else:
        log.debug("httpx transport without a known pool: the meter stays on anyio")
    return transport


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
