"""The local meter over real loopback HTTP: coding-tool-like clients through it to the simulator
(and to a recording upstream, for byte-exact checks)."""

from __future__ import annotations

import asyncio
import gzip
import json
import logging
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from unittest import mock

import httpx
import pytest
from aiohttp.test_utils import make_mocked_request

from glmtray.activity.concurrency import LIMIT_SEEN_STATE_KEY, LimitSeenBook, fetch_meter_stats
from glmtray.activity.events import EventStore
from glmtray.meter.server import LocalMeter, MeterPortInUse, peer_allowed
from glmtray.meter.upstream import meter_proxy
from glmtray.platform.codes import CodeClass
from glmtray.simulator import SIMULATOR_API_KEY, PlatformSimulator
from glmtray.simulator.coding import ANTHROPIC_MESSAGES_PATH, OPENAI_CHAT_PATH, CodingSettings

KEY = {"x-api-key": SIMULATOR_API_KEY, "anthropic-version": "2023-06-01"}
BEARER = {"Authorization": f"Bearer {SIMULATOR_API_KEY}"}
STREAM = {"model": "glm-4.6", "stream": True, "max_tokens": 64, "messages": []}


def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 3, 0, tzinfo=timezone.utc).timestamp()  # 11:00 UTC+8

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EventStore]:
    with EventStore(tmp_path / "events.db", "global:default") as events:
        yield events


@pytest.fixture
def sim() -> Iterator[PlatformSimulator]:
    with PlatformSimulator("pro", coding=CodingSettings(chunks=4, chunk_delay=0.01)) as simulator:
        yield simulator


@pytest.fixture
def meter(sim: PlatformSimulator, store: EventStore) -> Iterator[LocalMeter]:
    with LocalMeter(sim.base_url, port=0, events=store) as running:
        yield running


# --- a recording upstream, for byte-exact comparisons ---------------------------------------

SSE_CHUNKS = [
    b'event: message_start\ndata: {"type":"message_start"}\n\n',
    b'event: content_block_delta\ndata: {"type":"content_block_delta","delta":{"text":"\xc3\xa9\\u00e9"}}\n\n',
    b"event: ping\ndata: {}\n\n: a comment line\n\n",
    b'event: message_stop\ndata: {"type":"message_stop"}\n\n',
]
GZIPPED = gzip.compress(b'{"id":"chatcmpl-1","object":"chat.completion","choices":[]}', mtime=0)
# A completion that talks about an error: it must not be taken for one.
CHATTY = json.dumps(
    {"id": "x", "choices": [{"message": {"content": 'fix: {"error":{"code":"1302"}}'}}]}
).encode()


class _Recorder(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    received: list[tuple[str, list[tuple[str, str]], bytes]]
    sent: list[list[tuple[str, str]]]

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        type(self).received.append((self.path, list(self.headers.items()), body))
        headers: list[tuple[str, str]] = [
            ("Date", "Mon, 02 Mar 2026 03:00:00 GMT"),
            ("X-Request-Id", "req-42"),
            ("set-cookie", "a=1; Path=/"),
            ("Set-Cookie", "b=2; Path=/"),
            ("X-Mixed-Case-Header", "Value  with  spaces"),
            ("Keep-Alive", "timeout=5"),
            ("Connection", "close, X-Private-Hop"),
            ("X-Private-Hop", "dropped"),
        ]
        if self.path.endswith("/messages"):
            headers += [("Content-Type", "text/event-stream"), ("Transfer-Encoding", "chunked")]
            self._head(200, headers)
            for chunk in SSE_CHUNKS:
                time.sleep(0.02)
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.write(b"0\r\n\r\n")
        elif self.path.endswith("/chatty"):
            headers += [("Content-Type", "application/json"), ("Content-Length", str(len(CHATTY)))]
            self._head(200, headers)
            self.wfile.write(CHATTY)
        else:
            headers += [
                ("Content-Type", "application/json"),
                ("Content-Encoding", "gzip"),
                ("Content-Length", str(len(GZIPPED))),
            ]
            self._head(201, headers)
            self.wfile.write(GZIPPED)

    def _head(self, status: int, headers: list[tuple[str, str]]) -> None:
        self.send_response_only(status)
        self.send_header("Server", "recorder")
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        type(self).sent.append([("Server", "recorder"), *headers])


@pytest.fixture
def recorder() -> Iterator[tuple[str, type[_Recorder]]]:
    handler = type("Recorder", (_Recorder,), {"received": [], "sent": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler
    server.shutdown()
    server.server_close()


HOP = {"connection", "keep-alive", "transfer-encoding", "x-private-hop"}


def raw_headers(response: httpx.Response) -> list[tuple[str, str]]:
    return [(k.decode("latin-1"), v.decode("latin-1")) for k, v in response.headers.raw]


def end_to_end(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(k, v) for k, v in headers if k.lower() not in HOP]


def test_response_bytes_and_headers_arrive_unchanged(
    recorder: tuple[str, type[_Recorder]],
) -> None:
    base, handler = recorder
    with LocalMeter(base, port=0) as meter:
        with httpx.stream(
            "POST", meter.url + ANTHROPIC_MESSAGES_PATH, headers=KEY, json=STREAM
        ) as response:
            chunks = list(response.iter_raw())
            stream_headers = raw_headers(response)
        assert b"".join(chunks) == b"".join(SSE_CHUNKS)
        assert end_to_end(stream_headers) == end_to_end(handler.sent[-1])
        assert ("X-Private-Hop", "dropped") not in stream_headers  # named in Connection

        plain = httpx.post(
            meter.url + "/api/coding/paas/v4/chat/completions", headers=BEARER, json={}
        )
        assert plain.status_code == 201
        # Compressed bytes pass through still compressed, with their Content-Length.
        assert plain.headers["content-encoding"] == "gzip"
        assert end_to_end(raw_headers(plain)) == end_to_end(handler.sent[-1])
        with httpx.stream(
            "POST", meter.url + "/api/coding/paas/v4/chat/completions", headers=BEARER, json={}
        ) as raw:
            assert b"".join(raw.iter_raw()) == GZIPPED


def test_request_bytes_and_headers_arrive_unchanged(
    recorder: tuple[str, type[_Recorder]],
) -> None:
    base, handler = recorder
    body = json.dumps({"model": "glm-4.6", "messages": [{"content": "é" * 1_500_000}]}).encode()
    assert len(body) > 2_000_000  # larger than aiohttp's default body limit: it must stream
    headers = [
        ("x-api-key", SIMULATOR_API_KEY),
        ("Authorization", f"Bearer {SIMULATOR_API_KEY}"),
        ("anthropic-version", "2023-06-01"),
        ("X-Odd-Case", "A  b"),
        ("x-dup", "1"),
        ("x-dup", "2"),
        ("Content-Type", "application/json"),
        ("Accept-Encoding", "identity"),
    ]
    with LocalMeter(base, port=0) as meter:
        for url in (base, meter.url):
            with httpx.Client(headers={}) as client:
                client.post(
                    url + "/api/anthropic/v1/messages?beta=true", headers=headers, content=body
                )
    (direct_path, direct_headers, direct_body), (path, via_meter, via_body) = handler.received
    assert path == direct_path == "/api/anthropic/v1/messages?beta=true"
    assert via_body == direct_body == body

    def comparable(items: list[tuple[str, str]]) -> list[tuple[str, str]]:
        return [(k, v) for k, v in items if k.lower() not in ("host", "connection")]

    assert comparable(via_meter) == comparable(direct_headers)
    assert ("Host", base.removeprefix("http://")) in via_meter or (
        "host",
        base.removeprefix("http://"),
    ) in via_meter


def test_a_completion_that_mentions_an_error_is_not_one(
    recorder: tuple[str, type[_Recorder]], store: EventStore
) -> None:
    base, _ = recorder
    with LocalMeter(base, port=0, events=store) as meter:
        response = httpx.post(meter.url + "/api/coding/paas/v4/chatty", headers=BEARER, json={})
        assert response.content == CHATTY
        assert meter.snapshot().errors_total == 0
    assert store.all_events() == []


# --- against the simulator -------------------------------------------------------------------


def normalise(data: bytes) -> bytes:
    """Request numbers differ between two requests; everything else must be identical."""
    return re.sub(rb"\d{8}|\"created\":\s*\d+", b"N", data)


@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize(
    ("path", "headers"), [(ANTHROPIC_MESSAGES_PATH, KEY), (OPENAI_CHAT_PATH, BEARER)]
)
def test_simulator_answers_match_direct_ones(
    sim: PlatformSimulator, meter: LocalMeter, path: str, headers: dict[str, str], stream: bool
) -> None:
    received = []
    for base in (sim.base_url, meter.url):
        with httpx.stream(
            "POST", base + path, headers=headers, json={**STREAM, "stream": stream}
        ) as r:
            body = b"".join(r.iter_raw())
            received.append((r.status_code, end_to_end(raw_headers(r)), body))
    (status_a, headers_a, body_a), (status_b, headers_b, body_b) = received
    assert status_a == status_b == 200
    assert normalise(body_a) == normalise(body_b)

    def strip(items: list[tuple[str, str]]) -> list[tuple[str, str]]:
        return [(k, v) for k, v in items if k not in ("Date", "X-Log-Id")]

    assert strip(headers_a) == strip(headers_b)
    assert [k for k, _ in headers_a] == [k for k, _ in headers_b]


def test_chunks_are_relayed_as_they_arrive(sim: PlatformSimulator, meter: LocalMeter) -> None:
    sim.set_coding(chunks=5, chunk_delay=0.2)
    start = time.perf_counter()
    arrivals = []
    with httpx.stream("POST", meter.url + ANTHROPIC_MESSAGES_PATH, headers=KEY, json=STREAM) as r:
        for _ in r.iter_raw():
            arrivals.append(time.perf_counter() - start)
    total = arrivals[-1]
    assert total >= 1.0
    assert arrivals[0] < 0.3  # the first event long before the stream ends
    assert sum(1 for t in arrivals if t < total - 0.5) >= 3


def test_concurrent_clients_are_counted(sim: PlatformSimulator, meter: LocalMeter) -> None:
    sim.set_coding(chunks=5, chunk_delay=0.1)
    seen: list[int] = []

    async def clients() -> list[int]:
        async with httpx.AsyncClient(timeout=10) as client:

            async def one(i: int) -> int:
                path, headers = (
                    (ANTHROPIC_MESSAGES_PATH, KEY) if i % 2 else (OPENAI_CHAT_PATH, BEARER)
                )
                async with client.stream(
                    "POST", meter.url + path, headers=headers, json=STREAM
                ) as r:
                    async for _ in r.aiter_raw():
                        seen.append(meter.snapshot().in_flight)
                    return r.status_code

            return list(await asyncio.gather(*(one(i) for i in range(4))))

    assert asyncio.run(clients()) == [200] * 4
    assert max(seen) == 4
    wait_for(lambda: meter.snapshot().in_flight == 0)
    stats = meter.snapshot()
    assert (stats.peak_1m, stats.peak_5m, stats.peak_60m) == (4, 4, 4)
    assert stats.requests_total == 4 and stats.requests_per_minute == 4
    assert stats.ttfb_median_ms is not None and 0 < stats.ttfb_median_ms < 1000
    assert stats.errors_total == 0


def test_peaks_age_out_over_their_windows(sim: PlatformSimulator) -> None:
    clock = FakeClock()
    sim.set_coding(chunks=2, chunk_delay=0.05)
    with LocalMeter(sim.base_url, port=0, clock=clock) as meter:

        async def burst() -> None:
            async with httpx.AsyncClient() as client:
                await asyncio.gather(
                    *(
                        client.post(meter.url + OPENAI_CHAT_PATH, headers=BEARER, json=STREAM)
                        for _ in range(3)
                    )
                )

        asyncio.run(burst())
        wait_for(lambda: meter.snapshot().in_flight == 0)
        assert meter.snapshot().peak_1m == 3
        clock.now += 120
        stats = meter.snapshot()
        assert (stats.peak_1m, stats.peak_5m, stats.peak_60m) == (0, 3, 3)
        assert stats.requests_per_minute == 0 and stats.requests_total == 3
        clock.now += 600
        assert (meter.snapshot().peak_5m, meter.snapshot().peak_60m) == (0, 3)
        clock.now += 3600
        assert meter.snapshot().peak_60m == 0


def test_1302_above_the_limit_is_recorded_with_the_concurrency(
    sim: PlatformSimulator, meter: LocalMeter, store: EventStore
) -> None:
    sim.set_coding(limit=2, chunks=10, chunk_delay=0.1)
    statuses: list[int] = []

    def stream() -> None:
        response = httpx.post(meter.url + OPENAI_CHAT_PATH, headers=BEARER, json=STREAM, timeout=10)
        statuses.append(response.status_code)

    holders = [threading.Thread(target=stream) for _ in range(2)]
    for t in holders:
        t.start()
    wait_for(lambda: sim.coding.in_flight == 2)
    refused = [
        httpx.post(meter.url + ANTHROPIC_MESSAGES_PATH, headers=KEY, json=STREAM) for _ in range(2)
    ]
    for t in holders:
        t.join()
    assert [r.status_code for r in refused] == [429, 429]
    assert statuses == [200, 200]
    # The meter counts a request out just after its last byte has gone to the client.
    wait_for(lambda: meter.snapshot().in_flight == 0)
    stats = meter.snapshot()
    assert stats.errors_by_code == {1302: 2} and stats.last_error_code == 1302
    assert [hit.in_flight for hit in stats.limit_hits] == [3, 3]
    assert stats.peak_1m == 3 and stats.in_flight == 0
    wait_for(lambda: len(store.all_events()) == 2)
    events = store.all_events()
    assert {(e.source, e.code, e.code_class, e.http_status) for e in events} == {
        ("meter", 1302, CodeClass.THROTTLED, 429)
    }
    wait_for(lambda: LimitSeenBook(store).limits(datetime.now(timezone.utc)).off_peak is not None
             or LimitSeenBook(store).limits(datetime.now(timezone.utc)).peak is not None)  # fmt: skip
    seen = LimitSeenBook(store).limits(datetime.now(timezone.utc))
    assert 2 in (seen.peak, seen.off_peak)


def test_1313_in_bracketed_text_is_recorded(
    sim: PlatformSimulator, meter: LocalMeter, store: EventStore
) -> None:
    sim.set_coding(fair_use=True)
    response = httpx.post(meter.url + ANTHROPIC_MESSAGES_PATH, headers=KEY, json=STREAM)
    assert response.status_code == 429 and "[1313][" in response.text
    wait_for(lambda: len(store.all_events()) == 1)
    (event,) = store.all_events()
    assert event.code == 1313 and event.code_class is CodeClass.RESTRICTED
    assert event.trace_id and event.trace_id.startswith("sim-trace-")
    assert "fair-use" in event.message
    assert store.get_state(LIMIT_SEEN_STATE_KEY) is None  # only 1302 teaches the limit


@pytest.mark.parametrize(
    ("path", "headers"), [(ANTHROPIC_MESSAGES_PATH, KEY), (OPENAI_CHAT_PATH, BEARER)]
)
def test_error_events_inside_streams_are_recorded(
    sim: PlatformSimulator, meter: LocalMeter, store: EventStore, path: str, headers: dict[str, str]
) -> None:
    sim.set_coding(stream_error=1305)
    response = httpx.post(meter.url + path, headers=headers, json=STREAM)
    assert response.status_code == 200
    wait_for(lambda: len(store.all_events()) == 1)
    wait_for(lambda: meter.snapshot().errors_total == 1)
    assert store.all_events()[0].code == 1305 and store.all_events()[0].http_status == 200
    assert meter.snapshot().errors_by_code == {1305: 1}


def test_client_hanging_up_mid_stream_is_cleaned_up(
    sim: PlatformSimulator, meter: LocalMeter
) -> None:
    # A hundred seconds if nobody hangs up: long enough that a slow first byte (a cold
    # machine) cannot let the stream finish on its own before the hang-up.
    sim.set_coding(chunks=400, chunk_delay=0.25)
    start = time.perf_counter()
    with httpx.stream("POST", meter.url + ANTHROPIC_MESSAGES_PATH, headers=KEY, json=STREAM) as r:
        # The iterator is kept: `next(r.iter_raw())` alone drops it, and closing a dropped
        # iterator hangs up the connection at once, before the stream has been counted.
        chunks = r.iter_raw()
        next(chunks)
        assert meter.snapshot().in_flight == 1
        next(chunks)  # a later chunk: still one request in flight, not counted out early
        assert meter.snapshot().in_flight == 1
    wait_for(lambda: meter.snapshot().in_flight == 0, timeout=10)
    # The upstream stream was closed too: the simulator notices at its next write.
    wait_for(lambda: sim.coding.in_flight == 0, timeout=10)
    assert time.perf_counter() - start < 30
    # And the meter serves the next request normally.
    sim.set_coding(chunks=2, chunk_delay=0.0)
    assert httpx.post(meter.url + OPENAI_CHAT_PATH, headers=BEARER, json=STREAM).status_code == 200


def test_non_loopback_peers_are_refused(meter: LocalMeter) -> None:
    for peer in [
        ("127.0.0.1", 5000),
        ("127.8.9.1", 1),
        ("::1", 5000, 0, 0),
        ("::ffff:127.0.0.1", 1),
    ]:
        assert peer_allowed(peer), peer
    refused: list[object] = [("192.168.1.20", 5000), ("10.0.0.1", 1), ("::ffff:10.0.0.1", 1),
                             ("2001:db8::1", 1), ("localhost", 1), None, (), "127.0.0.1"]  # fmt: skip
    for other in refused:
        assert not peer_allowed(other), other

    async def ask(peer: tuple[str, int]) -> int:
        transport = mock.Mock()
        transport.get_extra_info.side_effect = lambda name, default=None: (
            peer if name == "peername" else default
        )
        request = make_mocked_request(
            "POST", ANTHROPIC_MESSAGES_PATH, headers={"Host": "127.0.0.1"}, transport=transport
        )
        response = await meter._handle(request)
        return response.status

    assert asyncio.run(ask(("203.0.113.9", 40000))) == 403


def test_foreign_host_names_and_other_paths_are_refused(
    sim: PlatformSimulator, meter: LocalMeter
) -> None:
    rebound = httpx.post(
        meter.url + OPENAI_CHAT_PATH, headers={**BEARER, "Host": "evil.example:8765"}, json={}
    )
    assert rebound.status_code == 403
    for path in ("/api/monitor/usage/quota/limit", "/api/anthropicx", "/"):
        assert httpx.get(meter.url + path, headers=BEARER).status_code == 404
    assert sim.requests == []  # none of them reached the platform
    ok = httpx.post(meter.url + OPENAI_CHAT_PATH, headers={**BEARER, "Host": "localhost"}, json={})
    assert ok.status_code == 200


def test_system_proxy_follows_the_environment() -> None:
    def url(base: str, **environ: str) -> str | None:
        choice = meter_proxy(base, environ)
        return choice.url if choice is not None else None

    assert url("https://api.z.ai") is None
    assert url("https://api.z.ai", ALL_PROXY="http://proxy.corp:3128") == "http://proxy.corp:3128"
    both = {"ALL_PROXY": "http://proxy.corp:3128", "HTTPS_PROXY": "http://secure.corp:8443"}
    assert url("https://api.z.ai", **both) == "http://secure.corp:8443"
    assert meter_proxy("https://api.z.ai", both).source == "HTTPS_PROXY"  # type: ignore[union-attr]
    # The simulator: never proxied, whatever NO_PROXY says (or does not say).
    assert url("http://127.0.0.1:8080", **both) is None
    assert url("http://[::1]:8080", **both, NO_PROXY="example.com") is None
    assert url("https://api.z.ai", **both, NO_PROXY=".z.ai") is None
    assert url("https://open.bigmodel.cn", **both, NO_PROXY=".z.ai") == "http://secure.corp:8443"


def test_upstream_goes_through_the_system_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """A subscriber behind a company proxy: the meter tunnels to the platform through it."""
    seen: list[bytes] = []
    proxy = socket.socket()
    proxy.bind(("127.0.0.1", 0))
    proxy.listen()

    def answer_once() -> None:
        connection, _ = proxy.accept()
        with connection:
            seen.append(connection.recv(4096).split(b"\r\n", 1)[0])
            connection.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")

    thread = threading.Thread(target=answer_once, daemon=True)
    thread.start()
    for name in ("NO_PROXY", "no_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{proxy.getsockname()[1]}")
    try:
        with LocalMeter("https://api.z.ai", port=0) as meter:
            answer = httpx.post(meter.url + OPENAI_CHAT_PATH, headers=BEARER, json={})
    finally:
        thread.join(timeout=5)
        proxy.close()
    assert seen == [b"CONNECT api.z.ai:443 HTTP/1.1"]
    assert answer.status_code == 502
    assert answer.json()["error"]["code"] == "meter_upstream_unreachable"
    assert "the proxy in HTTPS_PROXY (http://127.0.0.1:" in answer.json()["error"]["message"]


def test_meter_binds_loopback_only(sim: PlatformSimulator) -> None:
    for host in ("0.0.0.0", "192.168.1.2", "example.com", "::"):
        with pytest.raises(ValueError, match="loopback"):
            LocalMeter(sim.base_url, host=host, port=0)


def test_port_in_use_is_a_clear_error(sim: PlatformSimulator) -> None:
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    port = holder.getsockname()[1]
    try:
        meter = LocalMeter(sim.base_url, port=port)
        with pytest.raises(MeterPortInUse) as caught:
            meter.start()
        assert caught.value.port == port and str(port) in str(caught.value)
        assert not meter.running
    finally:
        holder.close()


def test_stopped_meter_refuses_at_once_and_restarts(sim: PlatformSimulator) -> None:
    meter = LocalMeter(sim.base_url, port=0)
    meter.start()
    port = meter.port
    assert httpx.post(meter.url + OPENAI_CHAT_PATH, headers=BEARER, json={}).status_code == 200
    meter.stop()
    start = time.perf_counter()
    with pytest.raises(httpx.ConnectError):
        httpx.post(
            f"http://127.0.0.1:{port}" + OPENAI_CHAT_PATH, headers=BEARER, json={}, timeout=5
        )
    assert time.perf_counter() - start < 0.5
    again = LocalMeter(sim.base_url, port=port)
    again.start()
    try:
        assert httpx.post(again.url + OPENAI_CHAT_PATH, headers=BEARER, json={}).status_code == 200
    finally:
        again.stop()
    meter.stop()  # a second stop is harmless


def test_stop_cuts_a_running_stream_promptly(sim: PlatformSimulator) -> None:
    sim.set_coding(chunks=100, chunk_delay=0.2)
    meter = LocalMeter(sim.base_url, port=0, shutdown_grace=0.2)
    meter.start()
    with httpx.stream("POST", meter.url + OPENAI_CHAT_PATH, headers=BEARER, json=STREAM) as r:
        chunks = r.iter_raw()
        next(chunks)
        start = time.perf_counter()
        meter.stop()
        assert time.perf_counter() - start < 3
        with pytest.raises(httpx.HTTPError):  # cut, not ended cleanly
            for _ in chunks:
                pass


def test_unreachable_upstream_is_502_json() -> None:
    spare = socket.socket()
    spare.bind(("127.0.0.1", 0))
    port = spare.getsockname()[1]
    spare.close()  # nothing listens there now
    with LocalMeter(f"http://127.0.0.1:{port}", port=0) as meter:
        response = httpx.post(meter.url + OPENAI_CHAT_PATH, headers=BEARER, json={})
        assert response.status_code == 502
        assert response.json()["error"]["code"] == "meter_upstream_unreachable"
        wait_for(lambda: meter.snapshot().in_flight == 0)
        stats = meter.snapshot()
        assert stats.upstream_failures == 1 and stats.in_flight == 0


def test_no_key_is_logged_or_stored(
    sim: PlatformSimulator, meter: LocalMeter, store: EventStore, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    sim.set_coding(fair_use=True)
    httpx.post(meter.url + ANTHROPIC_MESSAGES_PATH, headers=KEY, json=STREAM)
    httpx.post(meter.url + OPENAI_CHAT_PATH, headers=BEARER, json=STREAM)
    wait_for(lambda: len(store.all_events()) == 2)
    stats = httpx.get(meter.url + "/_glmtray/meter/stats").text
    for text in (
        caplog.text,
        repr(store.all_events()),
        stats,
        repr(meter.snapshot()),
        repr(vars(meter)),
    ):
        assert SIMULATOR_API_KEY not in text
        assert SIMULATOR_API_KEY.split(".")[0] not in text


def test_stats_reach_another_process(sim: PlatformSimulator, meter: LocalMeter) -> None:
    httpx.post(meter.url + OPENAI_CHAT_PATH, headers=BEARER, json=STREAM)
    wait_for(lambda: meter.snapshot().in_flight == 0)
    fetched = fetch_meter_stats(meter.port)
    assert fetched is not None and fetched.requests_total == 1 and fetched.in_flight == 0
    assert fetched.ttfb_median_ms == meter.snapshot().ttfb_median_ms
    # Something else on the port, or nothing at all: no stats.
    assert fetch_meter_stats(int(sim.base_url.rsplit(":", 1)[1])) is None
    spare = socket.socket()
    spare.bind(("127.0.0.1", 0))
    free = spare.getsockname()[1]
    spare.close()
    assert fetch_meter_stats(free, timeout=0.2) is None


def test_limit_hit_time_uses_the_meter_clock(sim: PlatformSimulator, store: EventStore) -> None:
    clock = FakeClock()  # 11:00 in UTC+8: off-peak by default
    sim.set_coding(limit=0)
    with LocalMeter(sim.base_url, port=0, events=store, clock=clock) as meter:
        httpx.post(meter.url + OPENAI_CHAT_PATH, headers=BEARER, json=STREAM)
        wait_for(lambda: len(meter.snapshot().limit_hits) == 1)
        (hit,) = meter.snapshot().limit_hits
        assert hit.time == datetime.fromtimestamp(clock.now, timezone.utc) and hit.in_flight == 1
    now = datetime.fromtimestamp(clock.now, timezone.utc)
    assert LimitSeenBook(store).limits(now).off_peak == 1
    assert LimitSeenBook(store).limits(now + timedelta(days=31)).off_peak is None


def test_a_stream_the_platform_breaks_is_cut_for_the_tool_too(sim: PlatformSimulator) -> None:
    """No clean end-of-body for an answer the platform did not finish: the tool must see a
    cut stream, not a complete answer."""
    sim.set_coding(chunks=100, chunk_delay=0.1)
    with LocalMeter(sim.base_url, port=0) as meter:
        url = meter.url + ANTHROPIC_MESSAGES_PATH
        with httpx.stream("POST", url, headers=KEY, json=STREAM) as response:
            chunks = response.iter_raw()
            next(chunks)
            sim.stop()  # mid-stream: the platform's side of the connection ends
            with pytest.raises(httpx.HTTPError):
                for _ in chunks:
                    pass
        wait_for(lambda: meter.snapshot().in_flight == 0)
    assert response.status_code == 200
