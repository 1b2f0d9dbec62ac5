"""The simulator's coding endpoints: where coding tools spend the quota.

Anthropic-style `POST /api/anthropic/v1/messages` and OpenAI-style
`POST /api/coding/paas/v4/chat/completions`, streamed (server-sent events, one event per
HTTP chunk, with a gap between content chunks) or as one JSON body. They exist so that the
local meter can be tested and benchmarked over real HTTP against something that streams
like the platform, and so that demo mode can show the meter under load.

The platform publishes no concurrency number, so the simulator is told one
(`CodingSettings.limit`): a request that would make more than `limit` requests in flight
gets HTTP 429 with business code 1302, as the platform answers. `fair_use` answers 1313
(through the Anthropic-style endpoint as `[1313][message][trace-id]` text, as the platform
does); `limit_reached` answers the used-up window's error as live captures show it (1308
for the 5-hour window, in English or Chinese, naming the reset moment in UTC+8 with no zone;
1310 for the weekly one, bracketed, with a `retry-after-ms` header); `chunk_delay` makes a
slow stream; `stream_error` ends a stream with an error event after its first content chunk.
"""

from __future__ import annotations

import json
import socket
import threading
from dataclasses import asdict, dataclass, fields, replace
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler
from typing import Any

from glmtray.timeutil import PLATFORM_TZ

ANTHROPIC_MESSAGES_PATH = "/api/anthropic/v1/messages"
OPENAI_CHAT_PATH = "/api/coding/paas/v4/chat/completions"
CODING_PATHS: tuple[str, ...] = (ANTHROPIC_MESSAGES_PATH, OPENAI_CHAT_PATH)

DEFAULT_MODEL = "glm-4.6"
LIGHT_MODEL = "glm-4.5-air"
MAX_DELAY_SECONDS = 60.0  # a control call must not be able to park a thread for hours
MAX_CHUNKS = 10_000

CONCURRENCY_MESSAGE = (
    "High concurrency usage of this API, please reduce concurrency or contact customer "
    "service to increase limits"
)
FAIR_USE_MESSAGE = (
    "Your account's request frequency is limited due to a violation of the fair-use policy"
)
AUTH_MESSAGE = "Authentication Failed"
LIMIT_CHOICES = ("five_hour", "five_hour_zh", "weekly")
BACK_IN = timedelta(hours=1, minutes=40)
"""How far ahead a used-up window's reset is named."""


def limit_error(window: str, now: datetime) -> tuple[int, str, dict[str, str]]:
    """(code, message, extra headers) of a used-up window's error, as the platform words it."""
    back = now + BACK_IN
    moment = back.astimezone(PLATFORM_TZ).strftime("%Y-%m-%d %H:%M:%S")
    if window == "weekly":
        millis = str(int(BACK_IN.total_seconds() * 1000))
        message = f"Weekly/Monthly Limit Exhausted. Your limit will reset at {moment}"
        return 1310, message, {"retry-after-ms": millis}
    if window == "five_hour_zh":
        return 1308, f"已达到 5 小时的使用上限。您的限额将在 {moment} 重置。", {}
    return 1308, f"Usage limit reached for 5 hour. Your limit will reset at {moment}", {}


@dataclass(frozen=True)
class CodingSettings:
    """How the coding endpoints behave; change it with `PlatformSimulator.set_coding`."""

    limit: int | None = None
    """1302 when a request would make more than this many requests in flight; None: no limit."""
    fair_use: bool = False
    """Every coding request answers 1313 (the fair-use restriction)."""
    chunks: int = 8
    """Content chunks per answer (content_block_delta events, or OpenAI delta chunks)."""
    chunk_delay: float = 0.005
    """Seconds before each content chunk; a few seconds makes the slow stream."""
    first_byte_delay: float = 0.0
    """Seconds before the response headers, as the model thinks."""
    chunk_text: str = "Hello from the simulator. "
    stream_error: int | None = None
    """Business code of an error event sent after the first content chunk (streams only)."""
    limit_reached: str | None = None
    """A used-up window answers every request: one of LIMIT_CHOICES; None: none is."""

    def validated(self) -> CodingSettings:
        if self.limit_reached is not None and self.limit_reached not in LIMIT_CHOICES:
            raise ValueError(f"limit_reached must be one of {', '.join(LIMIT_CHOICES)} or null")
        if self.limit is not None and self.limit < 0:
            raise ValueError("limit must be 0 or more (or null for no limit)")
        if not 0 <= self.chunks <= MAX_CHUNKS:
            raise ValueError(f"chunks must be within 0..{MAX_CHUNKS}")
        for name in ("chunk_delay", "first_byte_delay"):
            value = getattr(self, name)
            if not 0 <= value <= MAX_DELAY_SECONDS:
                raise ValueError(f"{name} must be within 0..{MAX_DELAY_SECONDS} seconds")
        return self

    def changed(self, changes: dict[str, Any]) -> CodingSettings:
        """A copy with `changes` (from Python or a control call's JSON), checked."""
        known = {f.name: f for f in fields(self)}
        clean: dict[str, Any] = {}
        for name, value in changes.items():
            if name not in known:
                raise ValueError(f"unknown coding setting {name!r}; known: {', '.join(known)}")
            clean[name] = _coerce(name, value)
        return replace(self, **clean).validated()


SLOW_STREAM = CodingSettings(chunks=6, chunk_delay=2.0)
"""The slow stream preset: long gaps between chunks, as an overloaded model streams."""


def _coerce(name: str, value: Any) -> Any:
    if name in ("limit", "stream_error"):
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise ValueError(f"{name} must be an integer or null")
        return int(value)
    if name == "fair_use":
        if not isinstance(value, bool):
            raise ValueError("fair_use must be true or false")
        return value
    if name == "chunks":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("chunks must be an integer")
        return value
    if name == "limit_reached":
        return None if value is None else str(value)
    if name in ("chunk_delay", "first_byte_delay"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{name} must be a number of seconds")
        return float(value)
    return str(value)


@dataclass(frozen=True)
class CodingOutcome:
    """What the endpoint answered, for the simulator's request log (no key, no body)."""

    status: int
    code: int | None
    key: str
    auth_form: str


class CodingEndpoints:
    """The coding endpoints' state: settings, requests in flight, the highest seen."""

    def __init__(self, settings: CodingSettings | None = None) -> None:
        self._lock = threading.Lock()
        self._settings = (settings or CodingSettings()).validated()
        self._in_flight = 0
        self._peak = 0
        self._served = 0
        self._sequence = 0

    @property
    def settings(self) -> CodingSettings:
        with self._lock:
            return self._settings

    def set(self, settings: CodingSettings) -> None:
        with self._lock:
            self._settings = settings.validated()

    @property
    def in_flight(self) -> int:
        with self._lock:
            return self._in_flight

    @property
    def peak(self) -> int:
        """The most coding requests ever in flight at once (admitted ones only)."""
        with self._lock:
            return self._peak

    def state(self) -> dict[str, Any]:
        with self._lock:
            return {
                **asdict(self._settings),
                "in_flight": self._in_flight,
                "peak": self._peak,
                "served": self._served,
            }

    def reset_peak(self) -> None:
        with self._lock:
            self._peak = self._in_flight

    def _admit(self, limit: int | None) -> tuple[bool, int]:
        """Count one more request in flight unless that exceeds `limit`; (admitted, seq)."""
        with self._lock:
            self._sequence += 1
            if limit is not None and self._in_flight + 1 > limit:
                return False, self._sequence
            self._in_flight += 1
            self._peak = max(self._peak, self._in_flight)
            return True, self._sequence

    def _next_seq(self) -> int:
        with self._lock:
            self._sequence += 1
            return self._sequence

    def _release(self) -> None:
        with self._lock:
            self._in_flight -= 1
            self._served += 1

    # --- serving -------------------------------------------------------------------------

    def serve(
        self,
        handler: BaseHTTPRequestHandler,
        path: str,
        body: bytes,
        keys: frozenset[str],
        stopping: threading.Event,
    ) -> CodingOutcome:
        """Answer one POST to a coding path on `handler`'s connection."""
        anthropic = path == ANTHROPIC_MESSAGES_PATH
        key, form = _coding_key(handler)
        settings = self.settings
        if key not in keys:
            return self._error(
                handler, anthropic, 401, 1000, AUTH_MESSAGE, self._next_seq(), key, form
            )
        try:
            request = json.loads(body or b"{}")
            if not isinstance(request, dict):
                raise ValueError("the body must be a JSON object")
        except ValueError:
            return self._error(
                handler, anthropic, 400, 1214, "Invalid JSON body", self._next_seq(), key, form
            )
        if settings.fair_use:
            return self._error(
                handler, anthropic, 429, 1313, FAIR_USE_MESSAGE, self._next_seq(), key, form
            )
        if settings.limit_reached is not None:
            code, message, headers = limit_error(
                settings.limit_reached, datetime.now(timezone.utc)
            )
            return self._error(
                handler, anthropic, 429, code, message, self._next_seq(), key, form, headers
            )
        admitted, seq = self._admit(settings.limit)
        if not admitted:
            return self._error(handler, anthropic, 429, 1302, CONCURRENCY_MESSAGE, seq, key, form)
        try:
            if settings.first_byte_delay and stopping.wait(settings.first_byte_delay):
                handler.close_connection = True
                return CodingOutcome(0, None, key, form)
            model = answered_model(request.get("model"))
            stream = request.get("stream") is True
            if not stream:
                payload = (_anthropic_message if anthropic else _openai_completion)(
                    model, seq, settings
                )
                _send_json(handler, 200, payload, seq)
                return CodingOutcome(200, None, key, form)
            events = (_anthropic_events if anthropic else _openai_events)(model, seq, settings)
            status = _stream(handler, events, settings, stopping, seq)
            return CodingOutcome(status, settings.stream_error if status else None, key, form)
        finally:
            self._release()

    def _error(
        self,
        handler: BaseHTTPRequestHandler,
        anthropic: bool,
        status: int,
        code: int,
        message: str,
        seq: int,
        key: str,
        form: str,
        headers: dict[str, str] | None = None,
    ) -> CodingOutcome:
        payload = error_body(anthropic, code, message, _trace(seq))
        _send_json(handler, status, payload, seq, headers)
        return CodingOutcome(status, code, key, form)


def error_body(anthropic: bool, code: int, message: str, trace_id: str) -> dict[str, Any]:
    """The platform's error shapes: 1302 is JSON on both endpoints (as Claude Code records
    it); other codes through the Anthropic-style endpoint come as `[code][msg][trace]`."""
    if anthropic and code != 1302:
        return {
            "type": "error",
            "error": {"type": _anthropic_type(code), "message": f"[{code}][{message}][{trace_id}]"},
        }
    return {"error": {"code": str(code), "message": message}}


def _anthropic_type(code: int) -> str:
    if 1000 <= code <= 1004:
        return "authentication_error"
    if code == 1214:
        return "invalid_request_error"
    return "rate_limit_error"


def _coding_key(handler: BaseHTTPRequestHandler) -> tuple[str, str]:
    """(key, form) from `x-api-key` (Anthropic clients) or `Authorization` (raw or Bearer)."""
    api_key = (handler.headers.get("x-api-key") or "").strip()
    if api_key:
        return api_key, "x-api-key"
    value = (handler.headers.get("Authorization") or "").strip()
    if value[:7].lower() == "bearer ":
        return value[7:].strip(), "bearer"
    return value, ("raw" if value else "none")


def _trace(seq: int) -> str:
    return f"sim-trace-{seq:08d}"


def _connection_header(handler: BaseHTTPRequestHandler) -> None:
    """Coding answers keep the connection for the client's next request, as the platform's
    web servers do (a coding tool, or the meter, sends many requests over one connection),
    unless the client asked to close it or its body was not read to the end."""
    if handler.close_connection:
        handler.send_header("Connection", "close")


def _send_json(
    handler: BaseHTTPRequestHandler,
    status: int,
    payload: Any,
    seq: int,
    headers: dict[str, str] | None = None,
) -> None:
    data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json; charset=utf-8")
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(data)))
    handler.send_header("X-Log-Id", _trace(seq))
    _connection_header(handler)
    handler.end_headers()
    handler.wfile.write(data)


def _stream(
    handler: BaseHTTPRequestHandler,
    events: list[tuple[bytes, bool]],
    settings: CodingSettings,
    stopping: threading.Event,
    seq: int,
) -> int:
    """Send `events` as HTTP/1.1 chunks, each when it is due; the HTTP status sent, or 0."""
    # Small writes with gaps between them: without TCP_NODELAY, Nagle's algorithm can hold
    # a chunk back until the previous one is acknowledged, which is not how the platform
    # streams and would make relay timings meaningless.
    handler.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    handler.send_response(200)
    handler.send_header("Content-Type", "text/event-stream; charset=utf-8")
    handler.send_header("Cache-Control", "no-cache")
    handler.send_header("X-Log-Id", _trace(seq))
    handler.send_header("Transfer-Encoding", "chunked")
    _connection_header(handler)
    handler.end_headers()
    try:
        for data, delayed in events:
            if delayed and settings.chunk_delay and stopping.wait(settings.chunk_delay):
                handler.close_connection = True  # stopped mid-stream: hang up, as a crash would
                return 0
            # One write per chunk (size line, data, CRLF), so a chunk never straddles a gap.
            handler.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        handler.wfile.write(b"0\r\n\r\n")
    except OSError:
        # The client hung up mid-stream (a coding tool cancelled): normal, nothing to answer.
        handler.close_connection = True
        return 0
    return 200


def _sse(event: str | None, payload: Any) -> bytes:
    data = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {data}\n\n".encode()


def answered_model(requested: object) -> str:
    """The model named in the answer. The platform serves GLM models only: a GLM name is
    answered as asked, and the Claude names a coding tool sends by default are mapped, the
    haiku class to the light model and the rest to the flagship (as the platform's own
    Claude Code guide sets them), so a tool's transcripts say `glm-...` either way."""
    name = str(requested or "")
    if name.rsplit("/", 1)[-1].lower().startswith("glm-"):
        return name
    return LIGHT_MODEL if "haiku" in name.lower() else DEFAULT_MODEL


def _anthropic_message(model: str, seq: int, settings: CodingSettings) -> dict[str, Any]:
    return {
        "id": f"msg_sim_{seq:08d}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": settings.chunk_text * settings.chunks}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 12, "output_tokens": 4 * settings.chunks},
    }


def _anthropic_events(model: str, seq: int, settings: CodingSettings) -> list[tuple[bytes, bool]]:
    """Anthropic's event sequence; (bytes, wait chunk_delay first) per event."""
    start = {
        "type": "message_start",
        "message": {
            **_anthropic_message(model, seq, settings),
            "content": [],
            "stop_reason": None,
            "usage": {"input_tokens": 12, "output_tokens": 1},
        },
    }
    events = [
        (_sse("message_start", start), False),
        (
            _sse(
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": 0,
                    "content_block": {"type": "text", "text": ""},
                },
            ),
            False,
        ),
    ]
    for i in range(settings.chunks):
        delta = {"type": "text_delta", "text": settings.chunk_text}
        events.append(
            (
                _sse(
                    "content_block_delta",
                    {"type": "content_block_delta", "index": 0, "delta": delta},
                ),
                True,
            )
        )
        if i == 0 and settings.stream_error is not None:
            # Mid-stream failures arrive as an `error` event, the message in the platform's
            # bracketed form.
            code = settings.stream_error
            message = CONCURRENCY_MESSAGE if code == 1302 else "stream interrupted"
            error = {
                "type": _anthropic_type(code),
                "message": f"[{code}][{message}][{_trace(seq)}]",
            }
            events.append((_sse("error", {"type": "error", "error": error}), False))
            return events
    events += [
        (_sse("content_block_stop", {"type": "content_block_stop", "index": 0}), False),
        (
            _sse(
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                    "usage": {"output_tokens": 4 * settings.chunks},
                },
            ),
            False,
        ),
        (_sse("message_stop", {"type": "message_stop"}), False),
    ]
    return events


def _openai_completion(model: str, seq: int, settings: CodingSettings) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-sim-{seq:08d}",
        "object": "chat.completion",
        "created": 1767225600 + seq,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": settings.chunk_text * settings.chunks},
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": 12,
            "completion_tokens": 4 * settings.chunks,
            "total_tokens": 12 + 4 * settings.chunks,
        },
    }


def _openai_events(model: str, seq: int, settings: CodingSettings) -> list[tuple[bytes, bool]]:
    base = {
        "id": f"chatcmpl-sim-{seq:08d}",
        "object": "chat.completion.chunk",
        "created": 1767225600 + seq,
        "model": model,
    }

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        return _sse(None, {**base, "choices": [choice], **extra})

    events = [(chunk({"role": "assistant", "content": ""}), False)]
    for i in range(settings.chunks):
        events.append((chunk({"content": settings.chunk_text}), True))
        if i == 0 and settings.stream_error is not None:
            code = settings.stream_error
            message = CONCURRENCY_MESSAGE if code == 1302 else "stream interrupted"
            events.append((_sse(None, {"error": {"code": str(code), "message": message}}), False))
            return events
    usage = {
        "prompt_tokens": 12,
        "completion_tokens": 4 * settings.chunks,
        "total_tokens": 12 + 4 * settings.chunks,
    }
    events.append((chunk({}, "stop", usage=usage), False))
    events.append((b"data: [DONE]\n\n", False))
    return events
