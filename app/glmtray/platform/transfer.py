"""Reading one response safely: an overall deadline and a cap on the decoded size.

httpx's timeouts apply to each read, so a server that sends one byte a second never trips
them; and its decoders inflate a whole chunk at once, so a 2 kB `gzip, gzip` body can
become gigabytes before any size check runs. Here the raw bytes are inflated with zlib's
`max_length`, layer by layer, and a watchdog shuts the socket down when the deadline
passes, which wakes a read that would otherwise wait for the next dripped byte.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import zlib
from typing import Any


class BodyTooLarge(Exception):
    """The body, raw or decoded, passed the cap."""


class UnknownEncoding(Exception):
    def __init__(self, encoding: str) -> None:
        super().__init__(encoding)
        self.encoding = encoding


class _Inflater:
    """One gzip or deflate layer with a bound on what it may produce."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self._zlib_format_known = encoding != "deflate"
        self._object = self._new()

    def _new(self) -> Any:
        if self.encoding in ("gzip", "x-gzip"):
            return zlib.decompressobj(zlib.MAX_WBITS | 16)
        return zlib.decompressobj()

    def feed(self, data: bytes, limit: int) -> bytes:
        """Inflate `data`, raising BodyTooLarge as soon as more than `limit` bytes come out."""
        out = bytearray()
        pending = data
        while pending:
            try:
                produced = self._object.decompress(pending, limit + 1 - len(out))
            except zlib.error:
                if not self._zlib_format_known and not out:
                    # Some servers send raw deflate without the zlib header.
                    self._zlib_format_known = True
                    self._object = zlib.decompressobj(-zlib.MAX_WBITS)
                    continue
                raise
            self._zlib_format_known = True
            out += produced
            if len(out) > limit:
                raise BodyTooLarge
            pending = self._object.unconsumed_tail
            if not pending and self._object.eof and self._object.unused_data:
                leftover = self._object.unused_data
                if self.encoding == "deflate" or leftover[:2] != b"\x1f\x8b":
                    break  # trailing bytes after the stream (a newline): ignored
                # A gzip stream may hold several members; each starts a new inflater.
                pending = leftover
                self._object = self._new()
        return bytes(out)


class CappedBody:
    """Collects a response body, undoing its Content-Encoding, never holding more than
    `cap` bytes at any stage."""

    def __init__(self, encodings: list[str], cap: int) -> None:
        self.cap = cap
        self._raw_size = 0
        self._layers: list[_Inflater] = []
        # Content-Encoding lists encodings in the order they were applied: undo in reverse.
        for encoding in reversed([e.strip().lower() for e in encodings if e.strip()]):
            if encoding == "identity":
                continue
            if encoding not in ("gzip", "x-gzip", "deflate"):
                raise UnknownEncoding(encoding)
            self._layers.append(_Inflater(encoding))
        self._chunks: list[bytes] = []
        self._size = 0

    def feed(self, raw: bytes) -> None:
        self._raw_size += len(raw)
        if self._raw_size > self.cap:
            raise BodyTooLarge
        data = raw
        for layer in self._layers:
            data = layer.feed(data, self.cap)
        self._size += len(data)
        if self._size > self.cap:
            raise BodyTooLarge
        self._chunks.append(data)

    def content(self) -> bytes:
        return b"".join(self._chunks)


class Watchdog:
    """Shuts down every connection of one request when its deadline passes.

    The sockets come from httpcore's documented `trace` extension (the stream returned by
    `connect_tcp` and `start_tls`) and the `network_stream` response extension.
    """

    def __init__(self, seconds: float) -> None:
        self._lock = threading.Lock()
        self._streams: list[Any] = []
        self.fired = False
        self._timer = threading.Timer(max(0.0, seconds), self._fire)
        self._timer.daemon = True
        self._timer.start()

    def trace(self, event: str, info: dict[str, Any]) -> None:
        if event.endswith(".complete"):
            self.watch(info.get("return_value"))

    def watch(self, stream: Any) -> None:
        if stream is None or not callable(getattr(stream, "get_extra_info", None)):
            return
        with self._lock:
            self._streams.append(stream)
            fired = self.fired
        if fired:
            _shut(stream)

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            streams = list(self._streams)
        for stream in streams:
            _shut(stream)

    def cancel(self) -> None:
        self._timer.cancel()


def _shut(stream: Any) -> None:
    try:
        sock = stream.get_extra_info("socket")
    except Exception:
        return
    if isinstance(sock, socket.socket):
        # The base class's shutdown, also for an SSLSocket: it only wakes the reader.
        with contextlib.suppress(OSError):
            socket.socket.shutdown(sock, socket.SHUT_RDWR)
