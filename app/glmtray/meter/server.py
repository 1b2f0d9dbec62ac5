"""The local concurrency meter: a forwarding endpoint on loopback for the coding endpoints.

Coding tools (Claude Code, OpenCode, Cline) point their base URL at it instead of the
region's host; it forwards `/api/anthropic/...` and `/api/coding/paas/v4/...` there and
measures what passes: requests in flight, recent peaks, requests per minute, time to first
byte, and every business error in the answers (into the risk monitor's event store, and
the in-flight count at each 1302 into the "limit seen" book).

It is narrow by design. Only the coding endpoints are relayed, and only
by a path that is already in normal form: a dot segment, a percent-escape or a backslash in
the path is refused with 400 rather than normalised, so no spelling of
`/api/anthropic/../../api/biz/...` can reach the account endpoints (a quota reset among
them). Browsers are turned away: any request with an `Origin` is refused, preflights get
no CORS answer, and Host must be a loopback name (DNS rebinding). Kept-alive client
connections are closed after `CLIENT_IDLE_SECONDS` without a request.

Within that it is transparent by design. Request and response bodies pass through byte
for byte (no decompression either way), headers pass through except the hop-by-hop ones,
and server-sent events are relayed chunk by chunk as they arrive, never buffered whole. The
tool's own `Authorization` / `x-api-key` goes upstream untouched: the meter never adds,
stores or logs a key, so no other local program can spend the quota through it. It binds
loopback only and refuses any non-loopback peer; when it stops, its listening socket is
closed, so tools get an immediate connection error rather than a hang.

Built on aiohttp's low-level server (in its own asyncio loop on a background thread, so it
needs no Qt and no event loop from the caller) and aiohttp's client upstream (httpcore's
for SOCKS proxies; `upstream.py`), which follows the system proxy. Every log record is masked for credentials (`glmtray.redact`):
aiohttp logs a malformed header line as it came, key included.
"""

from __future__ import annotations

import asyncio
import errno
import functools
import ipaddress
import json
import os
import socket
import statistics
import threading
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Any

from aiohttp import web

from glmtray.activity.concurrency import (
    METER_STATS_PATH,
    LimitHit,
    LimitSeenBook,
    MeterStats,
)
from glmtray.activity.events import EventStore, Signal
from glmtray.errors import GlmtrayError
from glmtray.i18n import N_, localized
from glmtray.meter.upstream import UPSTREAM_ERRORS, Answer, Upstream
from glmtray.peak import DEFAULT_PEAK_HOURS
from glmtray.platform.codes import parse_business_error
from glmtray.platform.regions import is_loopback_host, validate_base_url
from glmtray.redact import install_log_redaction
from glmtray.snapshot import note_business_error, note_success

FORWARDED_PREFIXES: tuple[str, ...] = ("/api/anthropic/", "/api/coding/paas/v4/")
FORWARDED_ROOTS: frozenset[str] = frozenset({"/api/anthropic", "/api/coding/paas/v4"})

# RFC 9110 section 7.6.1: these describe one connection, not the message, so a proxy must
# not forward them. Host is replaced by the upstream's; Expect is answered by aiohttp itself.
HOP_BY_HOP: frozenset[bytes] = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"trailers",
        b"transfer-encoding",
        b"upgrade",
    }
)
_REQUEST_ONLY_DROPPED = frozenset({b"host", b"expect"})

CLIENT_IDLE_SECONDS = 60.0
"""A client connection with no request for this long is closed (a kept-alive one between
requests, or one that never sent any). Coding tools reconnect at once when they need to;
an idle socket held open forever is one more thing a local program could squat on."""

ERROR_SNIFF_LIMIT = 64 * 1024
"""Bytes of an error answer (or of one server-sent event) kept to find its business code:
error bodies are small, and a runaway one must not grow the meter."""
TTFB_SAMPLES = 200
LIMIT_HITS_KEPT = 50
BUCKET_SECONDS_KEPT = 3600
SHUTDOWN_GRACE_SECONDS = 0.5
"""How long stop() lets running answers finish before cutting them."""
START_TIMEOUT_SECONDS = 10.0


class MeterPortInUse(GlmtrayError):
    """The meter's port is taken (another program, or a meter already running)."""

    title = N_("Meter port in use")

    def __init__(self, port: int, host: str = "127.0.0.1") -> None:
        self.port = port
        super().__init__(
            localized(
                "Port {port} on {host} is already in use: choose another port for the local "
                "meter in the settings, or stop the program that holds it.",
                port=port,
                host=host,
            )
        )


def peer_allowed(peername: object) -> bool:
    """Whether a connection's peer address (asyncio's `peername`) is a loopback one.

    The meter binds loopback only, so this never refuses a real client; it is the second
    lock, against a misconfigured bind or a forwarded port.
    """
    if not isinstance(peername, (tuple, list)) or not peername:
        return False
    return _loopback_address(str(peername[0]))


@functools.lru_cache(maxsize=64)
def _loopback_address(host: str) -> bool:
    # Cached: every request asks again about the same one or two addresses.
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


@functools.lru_cache(maxsize=64)
def _host_header_allowed(value: str | None) -> bool:
    """A Host naming something other than loopback means a browser was led here by a
    rebound DNS name: refuse it (the page could not spend the quota, as it has no key,
    but it has no business here either)."""
    if not value:
        return True
    host = value.strip()
    if host.startswith("["):
        host = host[1 : host.find("]")] if "]" in host else host
    else:
        host = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    return is_loopback_host(host)


def _forwarded(path: str) -> bool:
    return path in FORWARDED_ROOTS or path.startswith(FORWARDED_PREFIXES)


def path_problem(target: str) -> str | None:
    """Why a request target cannot be relayed as it is, or None when its path is in normal
    form: origin-form (starts with one "/"), no "." or ".." segment, no percent-escape
    and no backslash.

    Nothing is normalised on the tool's behalf: servers and proxies on the way disagree on
    how to decode `%2e`, `%2f` or `\\`, and a path that means one thing to this check and
    another to the platform is how `/api/anthropic/../../api/biz/...` gets through. The
    coding endpoints' paths need none of these, so they are refused. The query is not
    looked at: it goes up as it came, and servers route on the path.
    """
    if not target.isascii() or not target.isprintable() or " " in target:
        return "the request target must be printable ASCII (percent-encode the query)"
    path = target.split("?", 1)[0]
    if not path.startswith("/") or path.startswith("//"):
        return "the request target must be a path starting with a single /"
    if "\\" in path:
        return "backslashes are not allowed in the path"
    if "%" in path:
        return "percent-escapes are not allowed in the path"
    segments = path.split("/")
    if "." in segments or ".." in segments:
        return "dot segments (. and ..) are not allowed in the path"
    return None


def _connection_tokens(headers: Iterable[tuple[bytes, bytes]]) -> set[bytes]:
    """Header names listed in Connection: also hop-by-hop for this message."""
    named: set[bytes] = set()
    for name, value in headers:
        if name.lower() == b"connection":
            named.update(t.strip().lower() for t in value.split(b",") if t.strip())
    return named


def _end_to_end(
    headers: Iterable[tuple[bytes, bytes]], extra_dropped: frozenset[bytes]
) -> list[tuple[bytes, bytes]]:
    headers = list(headers)
    dropped = HOP_BY_HOP | extra_dropped | _connection_tokens(headers)
    return [(name, value) for name, value in headers if name.lower() not in dropped]


# --- measurements ----------------------------------------------------------------------------


class _Buckets:
    """Per-second peaks and request starts for the last hour: O(1) per request, and
    peaks over 1, 5 and 60 minutes without keeping every request."""

    def __init__(self) -> None:
        self._buckets: deque[list[int]] = deque()  # [second, peak in flight, requests started]

    def note(self, now: float, in_flight: int, started: int) -> None:
        second = int(now)
        if self._buckets and self._buckets[-1][0] == second:
            bucket = self._buckets[-1]
            bucket[1] = max(bucket[1], in_flight)
            bucket[2] += started
        else:
            self._buckets.append([second, in_flight, started])
            cutoff = second - BUCKET_SECONDS_KEPT
            while self._buckets and self._buckets[0][0] <= cutoff:
                self._buckets.popleft()

    def peak(self, now: float, seconds: int) -> int:
        cutoff = int(now) - seconds
        return max((b[1] for b in self._buckets if b[0] > cutoff), default=0)

    def started(self, now: float, seconds: int) -> int:
        cutoff = int(now) - seconds
        return sum(b[2] for b in self._buckets if b[0] > cutoff)


class _Measurements:
    """Everything the meter counts. Written from the meter's loop, read by snapshot() from
    any thread, hence the lock (held for microseconds)."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.lock = threading.Lock()
        self.in_flight = 0
        self.total = 0
        self.sequence = 0
        self.active: dict[int, bool] = {}  # request number -> answered with an error status
        self.buckets = _Buckets()
        self.ttfb: deque[float] = deque(maxlen=TTFB_SAMPLES)
        self.errors_total = 0
        self.errors_by_code: dict[int, int] = {}
        self.upstream_failures = 0
        self.limit_hits: deque[LimitHit] = deque(maxlen=LIMIT_HITS_KEPT)
        self.last_error: tuple[int, datetime] | None = None

    def begin(self) -> int:
        """Count a request in; returns its number (arrival order)."""
        with self.lock:
            self.in_flight += 1
            self.total += 1
            self.sequence += 1
            self.active[self.sequence] = False
            self.buckets.note(self.clock(), self.in_flight, 1)
            return self.sequence

    def refused(self, number: int) -> None:
        with self.lock:
            if number in self.active:
                self.active[number] = True

    def end(self, number: int) -> None:
        with self.lock:
            self.in_flight -= 1
            self.active.pop(number, None)
            self.buckets.note(self.clock(), self.in_flight, 0)

    def first_byte(self, seconds: float) -> None:
        with self.lock:
            self.ttfb.append(seconds)

    def upstream_failed(self) -> None:
        with self.lock:
            self.upstream_failures += 1

    def business_error(self, code: int, when: datetime, number: int) -> int:
        """Count an error of request `number`; returns the concurrency it met.

        That is the requests the platform was holding when it refused this one: those in
        flight that arrived earlier and were not refused themselves, plus this one. A burst
        of simultaneous requests is still counting itself in flight while the platform
        refuses part of it; counting all of them would overstate the limit.
        """
        with self.lock:
            self.errors_total += 1
            self.errors_by_code[code] = self.errors_by_code.get(code, 0) + 1
            self.last_error = (code, when)
            held = 1 + sum(1 for n, bad in self.active.items() if n < number and not bad)
            if code == 1302:
                self.limit_hits.append(LimitHit(when, held))
            return held

    def snapshot(self) -> MeterStats:
        with self.lock:
            now = self.clock()
            # The current count belongs in every peak, even if no bucket was touched lately.
            current = self.in_flight
            return MeterStats(
                in_flight=current,
                peak_1m=max(current, self.buckets.peak(now, 60)),
                peak_5m=max(current, self.buckets.peak(now, 300)),
                peak_60m=max(current, self.buckets.peak(now, 3600)),
                requests_per_minute=self.buckets.started(now, 60),
                requests_total=self.total,
                ttfb_median_ms=(
                    round(statistics.median(self.ttfb) * 1000, 2) if self.ttfb else None
                ),
                errors_total=self.errors_total,
                errors_by_code=dict(self.errors_by_code),
                upstream_failures=self.upstream_failures,
                limit_hits=tuple(self.limit_hits),
                last_error_code=self.last_error[0] if self.last_error else None,
                last_error_at=self.last_error[1] if self.last_error else None,
            )


# --- finding business errors in answers ------------------------------------------------------


class _ErrorSniffer:
    """Finds business errors in an answer while it is relayed, without holding it back.

    Non-2xx answers: the first 64 KiB, parsed at the end (JSON or `[code][msg][trace]`).
    Event streams: each complete event that mentions "error" (an Anthropic `error` event,
    or an OpenAI chunk carrying `error`). 2xx JSON: only a top-level `error` object or
    `success: false`, so that a completion merely talking about errors is never one.
    """

    def __init__(self, status: int, content_type: str) -> None:
        self.status = status
        self.stream = status < 400 and "text/event-stream" in content_type.lower()
        self._buffer = bytearray()
        self._overflow = False
        self.found: list[tuple[int, str, str | None]] = []

    def feed(self, chunk: bytes) -> None:
        if self.stream:
            self._feed_stream(chunk)
        elif not self._overflow:
            self._buffer += chunk
            if len(self._buffer) > ERROR_SNIFF_LIMIT:
                self._overflow = self.status < 400  # a big 2xx body is an answer, not an error
                del self._buffer[ERROR_SNIFF_LIMIT:]

    def _feed_stream(self, chunk: bytes) -> None:
        if not self._buffer and b"error" not in chunk:
            # The common case, one whole event per chunk and no error: no copying at all,
            # unless the chunk leaves an event unfinished.
            cut = max(chunk.rfind(b"\n\n"), chunk.rfind(b"\r\n\r\n"))
            tail = chunk[cut + 2 :] if cut >= 0 else chunk
            if tail.strip(b"\r\n"):
                self._buffer += tail[-ERROR_SNIFF_LIMIT:]
            return
        self._buffer += chunk
        data = bytes(self._buffer).replace(b"\r\n", b"\n")
        cut = data.rfind(b"\n\n")
        if cut < 0:
            if len(data) > ERROR_SNIFF_LIMIT:
                self._buffer.clear()  # an endless event: give up on it rather than grow
            return
        complete, rest = data[: cut + 2], data[cut + 2 :]
        self._buffer = bytearray(rest[-ERROR_SNIFF_LIMIT:])
        if b"error" in complete:
            for event in complete.split(b"\n\n"):
                if b"error" in event:
                    self._event(event)

    def _event(self, event: bytes) -> None:
        name, data_lines = "", []
        for line in event.decode("utf-8", "replace").split("\n"):
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data_lines.append(line[5:].lstrip())
        text = "\n".join(data_lines)
        try:
            payload = json.loads(text)
        except ValueError:
            payload = None
        is_error = name == "error" or (
            isinstance(payload, dict)
            and (payload.get("type") == "error" or isinstance(payload.get("error"), dict))
        )
        if is_error:
            self._parsed(text)

    def finish(self) -> None:
        if self.stream or not self._buffer:
            return
        text = bytes(self._buffer).decode("utf-8", "replace")
        if self.status >= 400:
            self._parsed(text)
            return
        if self._overflow:
            return
        try:
            payload = json.loads(text)
        except ValueError:
            return
        if isinstance(payload, dict) and (
            isinstance(payload.get("error"), dict) or payload.get("success") is False
        ):
            self._parsed(text)

    def _parsed(self, text: str) -> None:
        code, message, trace_id = parse_business_error(text)
        if code is not None and code >= 1000:  # platform business codes, not HTTP statuses
            self.found.append((code, message, trace_id))


# --- the server ------------------------------------------------------------------------------


def _json_response(status: int, payload: dict[str, Any]) -> web.Response:
    return web.Response(
        status=status,
        body=json.dumps(payload).encode(),
        content_type="application/json",
    )


def _meter_error(status: int, code: str, message: str) -> web.Response:
    """The meter's own errors, in the OpenAI-style shape every coding tool shows."""
    return _json_response(
        status, {"error": {"code": code, "message": message, "type": "glmtray_meter"}}
    )


class LocalMeter:
    """The meter. `start()` binds and serves on a background thread; `stop()` ends it.

    `region_base` is the region's API host (`https://api.z.ai`) or the simulator's base URL.
    `events`, when given, receives a `Signal(source="meter")` per business error, and the
    in-flight count at each 1302 goes to the limit-seen book in its state table.
    """

    def __init__(
        self,
        region_base: str,
        *,
        host: str = "127.0.0.1",
        port: int,
        events: EventStore | None = None,
        clock: Callable[[], float] = time.time,
        peak_hours: str = DEFAULT_PEAK_HOURS,
        shutdown_grace: float = SHUTDOWN_GRACE_SECONDS,
        client_idle_timeout: float = CLIENT_IDLE_SECONDS,
    ) -> None:
        if host == "localhost":
            host = "127.0.0.1"
        if not is_loopback_host(host) or host.strip("[]").lower() == "localhost":
            raise ValueError(
                f"the meter listens on loopback only (127.0.0.1 or ::1), not {host!r}: "
                "anyone who can reach it can use the keys that pass through it"
            )
        self._base = validate_base_url(region_base)
        self._host = host.strip("[]")
        self._port = port
        self._events = events
        self._clock = clock
        self._book = LimitSeenBook(events, peak_hours) if events is not None else None
        self._grace = shutdown_grace
        if client_idle_timeout <= 0:
            raise ValueError("client_idle_timeout must be positive: idle connections must end")
        self._idle_timeout = client_idle_timeout
        self._measure = _Measurements(clock)
        self._state_lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.ServerRunner | None = None
        self._upstream: Upstream | None = None
        self._bound_port: int | None = None
        # One writer thread for the event store: SQLite calls never block the relay loop,
        # and errors are stored in the order they were seen.
        self._writer: ThreadPoolExecutor | None = None
        # A limit, throttling or lock was passed on to the status line (glmtray.snapshot's
        # signals): the next answer that gets through says it is over.
        self._signals_noted = False

    # --- lifecycle ---------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._thread is not None

    @property
    def port(self) -> int:
        """The bound port (the actual one when constructed with port 0)."""
        return self._bound_port if self._bound_port is not None else self._port

    @property
    def url(self) -> str:
        """The base URL coding tools are pointed at (the Anthropic-style endpoint is
        `{url}/api/anthropic`, the OpenAI-style one `{url}/api/coding/paas/v4`)."""
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self.port}"

    @property
    def peak_hours(self) -> str:
        return self._book.peak_hours if self._book is not None else DEFAULT_PEAK_HOURS

    @peak_hours.setter
    def peak_hours(self, value: str) -> None:
        if self._book is not None:
            self._book.peak_hours = value

    def start(self) -> None:
        """Bind and serve. Raises MeterPortInUse when the port is taken."""
        with self._state_lock:
            if self._thread is not None:
                raise RuntimeError("the meter is already running")
            # Before anything can log: aiohttp logs a malformed header line as it came.
            install_log_redaction()
            sock = self._bind()
            self._bound_port = int(sock.getsockname()[1])
            self._writer = ThreadPoolExecutor(
                max_workers=1, thread_name_prefix="glmtray-meter-store"
            )
            loop = asyncio.new_event_loop()
            ready = threading.Event()
            failure: list[BaseException] = []
            thread = threading.Thread(
                target=self._run,
                args=(loop, sock, ready, failure),
                name="glmtray-meter",
                daemon=True,
            )
            thread.start()
            if not ready.wait(START_TIMEOUT_SECONDS) or failure:
                loop.call_soon_threadsafe(loop.stop)
                thread.join(timeout=5)
                sock.close()
                self._writer.shutdown(wait=False)
                self._writer = None
                raise failure[0] if failure else RuntimeError("the meter did not start in time")
            self._loop, self._thread = loop, thread

    def stop(self) -> None:
        """Stop listening at once (new connections are refused), give running answers a
        short grace, then cut them and close the upstream connections."""
        with self._state_lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
            if loop is None or thread is None:
                return
            done = asyncio.run_coroutine_threadsafe(self._teardown(), loop)
            try:
                done.result(timeout=self._grace + 10)
            finally:
                loop.call_soon_threadsafe(loop.stop)
                thread.join(timeout=10)
                if self._writer is not None:
                    self._writer.shutdown(wait=True)
                    self._writer = None

    def __enter__(self) -> LocalMeter:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def snapshot(self) -> MeterStats:
        return self._measure.snapshot()

    def _bind(self) -> socket.socket:
        family = socket.AF_INET6 if ":" in self._host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            if os.name == "nt":
                # On Windows SO_REUSEADDR would let two programs share the port; this
                # option makes a taken port fail the bind, as it does elsewhere.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_EXCLUSIVEADDRUSE, 1)  # type: ignore[attr-defined]
            else:
                # POSIX: rebind at once after a stop despite sockets in TIME_WAIT; a port
                # with a live listener still fails.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self._host, self._port))
            sock.listen(128)
            sock.setblocking(False)
        except OSError as exc:
            sock.close()
            if exc.errno in (errno.EADDRINUSE, errno.EACCES, 10048, 10013):
                raise MeterPortInUse(self._port, self._host) from None
            raise
        return sock

    def _run(
        self,
        loop: asyncio.AbstractEventLoop,
        sock: socket.socket,
        ready: threading.Event,
        failure: list[BaseException],
    ) -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._setup(sock))
        except BaseException as exc:  # reported to start(), which raises it
            failure.append(exc)
            ready.set()
            loop.close()
            return
        ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _setup(self, sock: socket.socket) -> None:
        # Set up for relaying (no cookie jar, redirects, default headers or decompression:
        # all things the meter must not do). The system proxy is honoured, as the account
        # client honours it.
        self._upstream = Upstream(self._base)
        server = web.Server(
            self._handle,
            # A tool hanging up mid-stream cancels the handler, which closes the upstream
            # stream at once instead of at its next chunk (slow streams have long gaps).
            handler_cancellation=True,
            access_log=None,  # an access log is where keys and prompts leak; none at all
            auto_decompress=False,  # bodies pass through byte for byte, compressed or not
            # Closes a client connection idle this long, also one that never sent a request.
            keepalive_timeout=self._idle_timeout,
        )
        self._runner = web.ServerRunner(server, shutdown_timeout=self._grace)
        await self._runner.setup()
        await web.SockSite(self._runner, sock).start()

    async def _teardown(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()  # closes the listening socket first
            self._runner = None
        if self._upstream is not None:
            await self._upstream.aclose()
            self._upstream = None

    # --- requests ----------------------------------------------------------------------------

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        transport = request.transport
        peer = transport.get_extra_info("peername") if transport is not None else None
        if not peer_allowed(peer):
            return _meter_error(
                403, "meter_forbidden", "the glmtray meter serves this computer only"
            )
        if not _host_header_allowed(request.headers.get("Host")):
            return _meter_error(
                403, "meter_forbidden", "the glmtray meter answers loopback names only"
            )
        if request.method == "OPTIONS":
            # A CORS preflight: no Access-Control-* answer, so the browser sends nothing.
            return _meter_error(
                405, "meter_method_not_allowed", "the glmtray meter does not answer OPTIONS"
            )
        if "Origin" in request.headers:
            # Coding tools send no Origin; browsers send it with every POST. A web page has
            # no key, but it must not reach the platform (or these stats) through us either.
            return _meter_error(
                403, "meter_forbidden", "the glmtray meter does not serve web browsers"
            )
        target = request.raw_path
        problem = path_problem(target)
        if problem is not None:
            return _meter_error(
                400, "meter_bad_path", f"the glmtray meter refused the path: {problem}"
            )
        path = target.split("?", 1)[0]
        if path == METER_STATS_PATH and request.method == "GET":
            stats = self.snapshot().to_json()
            return _json_response(200, {"service": "glmtray-meter", "version": 1, "stats": stats})
        if not _forwarded(path):
            return _meter_error(
                404,
                "meter_not_forwarded",
                "the glmtray meter forwards only /api/anthropic/... and /api/coding/paas/v4/...",
            )
        return await self._forward(request, target)

    async def _forward(self, request: web.BaseRequest, target: str) -> web.StreamResponse:
        upstream = self._upstream
        assert upstream is not None
        received = time.perf_counter()
        number = self._measure.begin()
        answer: Answer | None = None
        try:
            headers = [(b"Host", upstream.host_header)]
            headers += _end_to_end(request.raw_headers, _REQUEST_ONLY_DROPPED)
            content: AsyncIterator[bytes] | None = None
            if request.body_exists:
                # Streamed up as it arrives: Claude Code sends contexts of several MB, and
                # the Content-Length the tool sent goes up with it unchanged. A chunked
                # body (its Transfer-Encoding is hop-by-hop) goes up chunked again.
                content = _body(request)
            try:
                answer = await upstream.send(request.method, target, headers, content)
            except UPSTREAM_ERRORS as exc:
                self._measure.upstream_failed()
                return _meter_error(502, "meter_upstream_unreachable", upstream.failure(exc))
            if answer.status >= 400:
                self._measure.refused(number)
            return await self._relay(request, answer, received, number)
        finally:
            # Counted out only here: after the last byte went to the tool, or when the tool
            # hung up (this task is then cancelled), or the platform broke the stream. Not
            # when the headers or the first chunk were handed over.
            try:
                if answer is not None:
                    # In a task of its own: when the tool hung up, this task is being
                    # cancelled, and a close done inside it could be cut short, which would
                    # leave the platform streaming to nobody.
                    await asyncio.shield(answer.aclose())
            finally:
                # Counted out even when closing is itself cut short: in_flight must not leak.
                self._measure.end(number)

    async def _relay(
        self, request: web.BaseRequest, answer: Answer, received: float, number: int
    ) -> web.StreamResponse:
        response = web.StreamResponse(status=answer.status, reason=answer.reason or None)
        content_type = ""
        for name, value in _end_to_end(answer.headers, frozenset()):
            text = value.decode("latin-1")
            response.headers.add(name.decode("latin-1"), text)
            if name.lower() == b"content-type":
                content_type = text
        sniffer = _ErrorSniffer(answer.status, content_type)
        await response.prepare(request)
        first = True
        try:
            # The bytes as they came, still compressed if they were, one chunk at a time,
            # written out before the next is read.
            async for chunk in answer.chunks():
                if first:
                    self._measure.first_byte(time.perf_counter() - received)
                    first = False
                sniffer.feed(chunk)
                await response.write(chunk)
        except ConnectionError:
            # First: writing to a tool that hung up raises aiohttp's ConnectionResetError,
            # which is also one of its client errors.
            self._record_errors(sniffer, answer.status, number)
            return response  # the tool hung up; the finally in _forward closes upstream
        except UPSTREAM_ERRORS:
            # The platform broke the stream: end ours the same way (no clean end-of-body),
            # so the tool sees a cut stream and not a complete answer.
            if request.transport is not None:
                request.transport.close()
            self._record_errors(sniffer, answer.status, number)
            return response
        if first:
            self._measure.first_byte(time.perf_counter() - received)
        sniffer.finish()
        self._record_errors(sniffer, answer.status, number)
        await response.write_eof()
        return response

    def _record_errors(self, sniffer: _ErrorSniffer, status: int, number: int) -> None:
        if not sniffer.found and status < 400 and self._signals_noted:
            self._signals_noted = False
            if self._events is not None and self._writer is not None:
                now = datetime.fromtimestamp(self._clock(), timezone.utc)
                self._writer.submit(self._note_success, now)
        for code, message, trace_id in sniffer.found:
            now = datetime.fromtimestamp(self._clock(), timezone.utc)
            in_flight = self._measure.business_error(code, now, number)
            signal = Signal(
                time=now,
                source="meter",
                code=code,
                message=message,
                trace_id=trace_id,
                http_status=status,
                # Every answer is its own observation, even two alike in one microsecond.
                dedup_key=f"meter:{uuid.uuid4().hex}",
            )
            if self._events is not None and self._writer is not None:
                self._writer.submit(self._store, signal, in_flight if code == 1302 else None)

    def _store(self, signal: Signal, in_flight: int | None) -> None:
        """On the writer thread: the signal, and a limit-seen sample for a 1302."""
        assert self._events is not None
        try:
            self._events.add(signal)
            if in_flight is not None and self._book is not None:
                self._book.record(signal.time, in_flight)
        except Exception:  # a full disk must not take the relay down; the count is kept
            pass
        try:
            account, code = self._events.account, signal.code
            if code is not None and note_business_error(account, code, signal.message, signal.time):
                self._signals_noted = True
        except Exception:  # the status line's extra: never the relay's trouble
            pass

    def _note_success(self, now: datetime) -> None:
        """On the writer thread: an answer got through, for the status line's signals."""
        assert self._events is not None
        try:
            note_success(self._events.account, now)
        except Exception:  # as above: the relay goes on whatever the disk says
            return


async def _body(request: web.BaseRequest) -> AsyncIterator[bytes]:
    async for chunk in request.content.iter_any():
        yield chunk


def serve(region_base: str, port: int, events: EventStore | None = None) -> None:
    """Run the meter in the foreground until Ctrl-C (for a `glmtray meter` command)."""
    meter = LocalMeter(region_base, port=port, events=events)
    meter.start()
    print(f"glmtray meter on {meter.url}, forwarding to {region_base}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        meter.stop()
        print("meter stopped", flush=True)
