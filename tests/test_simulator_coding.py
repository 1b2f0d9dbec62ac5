"""The simulator's coding endpoints over real loopback HTTP: streams, auth, 1302, 1313."""

from __future__ import annotations

import itertools
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from glmtray.platform.codes import parse_business_error
from glmtray.simulator import QUOTA_PATH, SIMULATOR_API_KEY, PlatformSimulator
from glmtray.simulator.coding import (
    ANTHROPIC_MESSAGES_PATH,
    OPENAI_CHAT_PATH,
    SLOW_STREAM,
    CodingSettings,
)

KEY_HEADERS = {"x-api-key": SIMULATOR_API_KEY, "anthropic-version": "2023-06-01"}
BEARER = {"Authorization": f"Bearer {SIMULATOR_API_KEY}"}


@pytest.fixture
def sim() -> Iterator[PlatformSimulator]:
    with PlatformSimulator("pro", coding=CodingSettings(chunk_delay=0.0)) as simulator:
        yield simulator


def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """The simulator logs a request and counts it out just after the client has the answer."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def sse_events(text: str) -> list[tuple[str | None, Any]]:
    events: list[tuple[str | None, Any]] = []
    for block in text.strip().split("\n\n"):
        name, data = None, None
        for line in block.split("\n"):
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                data = line[6:] if line[6:] == "[DONE]" else json.loads(line[6:])
        events.append((name, data))
    return events


def test_anthropic_stream_sends_the_event_sequence(sim: PlatformSimulator) -> None:
    sim.set_coding(chunks=3)
    with httpx.stream(
        "POST",
        sim.base_url + ANTHROPIC_MESSAGES_PATH,
        headers=KEY_HEADERS,
        json={"model": "glm-4.6", "stream": True, "max_tokens": 100, "messages": []},
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["transfer-encoding"] == "chunked"
        chunks = list(response.iter_raw())
    events = sse_events(b"".join(chunks).decode())
    assert [name for name, _ in events] == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert all(name == data["type"] for name, data in events)
    assert events[0][1]["message"]["model"] == "glm-4.6"
    assert len(chunks) == len(events)  # one HTTP chunk per event, as the platform streams


def test_openai_stream_ends_with_done(sim: PlatformSimulator) -> None:
    sim.set_coding(chunks=2, chunk_text="hi ")
    response = httpx.post(
        sim.base_url + OPENAI_CHAT_PATH,
        headers=BEARER,
        json={"model": "glm-4.5-air", "stream": True},
    )
    assert response.status_code == 200
    events = sse_events(response.text)
    assert events[-1] == (None, "[DONE]")
    chunks = [data for _, data in events[:-1]]
    assert all(
        c["object"] == "chat.completion.chunk" and c["model"] == "glm-4.5-air" for c in chunks
    )
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert text == "hi hi "
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


def test_non_stream_answers_are_json(sim: PlatformSimulator) -> None:
    message = httpx.post(sim.base_url + ANTHROPIC_MESSAGES_PATH, headers=KEY_HEADERS, json={})
    assert message.status_code == 200 and message.json()["type"] == "message"
    assert int(message.headers["content-length"]) == len(message.content)
    completion = httpx.post(sim.base_url + OPENAI_CHAT_PATH, headers=BEARER, json={})
    assert completion.json()["object"] == "chat.completion"


@pytest.mark.parametrize(
    ("requested", "answered"),
    [
        ("glm-4.5-air", "glm-4.5-air"),
        ("zai/GLM-4.6", "zai/GLM-4.6"),
        ("claude-sonnet-4-5-20250929", "glm-4.6"),
        ("claude-opus-4-1", "glm-4.6"),
        ("claude-haiku-4-5", "glm-4.5-air"),
        (None, "glm-4.6"),
    ],
)
def test_answers_name_the_glm_model_that_served_them(
    sim: PlatformSimulator, requested: str | None, answered: str
) -> None:
    """A coding tool's default Claude names are served by GLM models, and its transcripts
    record the answer's name: that is how glmtray tells GLM sessions from others."""
    body = {"model": requested} if requested else {}
    message = httpx.post(sim.base_url + ANTHROPIC_MESSAGES_PATH, headers=KEY_HEADERS, json=body)
    assert message.json()["model"] == answered
    completion = httpx.post(sim.base_url + OPENAI_CHAT_PATH, headers=BEARER, json=body)
    assert completion.json()["model"] == answered


def test_stream_chunks_arrive_as_they_are_sent(sim: PlatformSimulator) -> None:
    sim.set_coding(chunks=4, chunk_delay=0.15)
    start = time.perf_counter()
    arrivals = []
    with httpx.stream(
        "POST", sim.base_url + ANTHROPIC_MESSAGES_PATH, headers=KEY_HEADERS, json={"stream": True}
    ) as response:
        for _ in response.iter_raw():
            arrivals.append(time.perf_counter() - start)
    assert arrivals[0] < 0.1  # message_start comes before the first gap
    assert arrivals[-1] >= 4 * 0.15
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    assert sum(1 for g in gaps if g >= 0.1) == 4  # a gap before each content chunk


def test_slow_stream_preset_has_long_gaps() -> None:
    assert SLOW_STREAM.chunk_delay >= 1.0
    with PlatformSimulator("pro", coding=CodingSettings(chunks=2, chunk_delay=0.4)) as sim:
        start = time.perf_counter()
        httpx.post(sim.base_url + OPENAI_CHAT_PATH, headers=BEARER, json={"stream": True})
        assert time.perf_counter() - start >= 0.8


@pytest.mark.parametrize(
    ("headers", "form"),
    [
        ({"x-api-key": SIMULATOR_API_KEY}, "x-api-key"),
        ({"Authorization": SIMULATOR_API_KEY}, "raw"),
        ({"Authorization": f"Bearer {SIMULATOR_API_KEY}"}, "bearer"),
    ],
)
def test_every_key_form_is_accepted(
    sim: PlatformSimulator, headers: dict[str, str], form: str
) -> None:
    for path in (ANTHROPIC_MESSAGES_PATH, OPENAI_CHAT_PATH):
        assert httpx.post(sim.base_url + path, headers=headers, json={}).status_code == 200
    wait_for(lambda: len(sim.requests) == 2)
    assert [r.auth_form for r in sim.requests] == [form, form]


def test_wrong_or_missing_key_is_refused(sim: PlatformSimulator) -> None:
    wrong = httpx.post(
        sim.base_url + ANTHROPIC_MESSAGES_PATH, headers={"x-api-key": "nope"}, json={}
    )
    assert wrong.status_code == 401
    assert parse_business_error(wrong.text)[0] == 1000
    missing = httpx.post(sim.base_url + OPENAI_CHAT_PATH, json={})
    assert missing.status_code == 401 and missing.json()["error"]["code"] == "1000"
    wait_for(lambda: len(sim.requests) == 2)
    assert [(r.auth_form, r.code) for r in sim.requests] == [("wrong", 1000), ("none", 1000)]
    assert SIMULATOR_API_KEY not in repr(sim.requests)


def test_concurrency_above_the_limit_gets_1302() -> None:
    settings = CodingSettings(chunks=3, chunk_delay=0.2)
    with PlatformSimulator("pro", coding=settings, coding_limit=2) as sim:
        assert sim.coding.settings.limit == 2
        results: list[int] = []

        def stream() -> None:
            response = httpx.post(
                sim.base_url + OPENAI_CHAT_PATH, headers=BEARER, json={"stream": True}, timeout=10
            )
            results.append(response.status_code)

        threads = [threading.Thread(target=stream) for _ in range(2)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 5
        while sim.coding.in_flight < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        refused = httpx.post(sim.base_url + ANTHROPIC_MESSAGES_PATH, headers=KEY_HEADERS, json={})
        for t in threads:
            t.join()
        assert refused.status_code == 429
        assert refused.json() == {
            "error": {"code": "1302", "message": refused.json()["error"]["message"]}
        }
        assert "concurrency" in refused.json()["error"]["message"].lower()
        assert sorted(results) == [200, 200]
        wait_for(lambda: sim.coding.in_flight == 0)
        assert sim.coding.peak == 2 and sim.coding.in_flight == 0
        # Once the others are done, there is room again.
        assert (
            httpx.post(sim.base_url + OPENAI_CHAT_PATH, headers=BEARER, json={}).status_code == 200
        )


def test_fair_use_restriction_is_1313_in_both_shapes(sim: PlatformSimulator) -> None:
    sim.set_coding(fair_use=True)
    anthropic = httpx.post(sim.base_url + ANTHROPIC_MESSAGES_PATH, headers=KEY_HEADERS, json={})
    assert anthropic.status_code == 429
    message = anthropic.json()["error"]["message"]
    assert message.startswith("[1313][") and "][sim-trace-" in message
    code, text, trace = parse_business_error(anthropic.text)
    assert code == 1313 and "fair-use" in text and trace and trace.startswith("sim-trace-")
    openai = httpx.post(sim.base_url + OPENAI_CHAT_PATH, headers=BEARER, json={})
    assert openai.status_code == 429 and openai.json()["error"]["code"] == "1313"
    wait_for(lambda: len(sim.requests) == 2)
    assert [r.code for r in sim.requests] == [1313, 1313]


@pytest.mark.parametrize("path", [ANTHROPIC_MESSAGES_PATH, OPENAI_CHAT_PATH])
def test_stream_error_event_after_the_first_chunk(sim: PlatformSimulator, path: str) -> None:
    sim.set_coding(stream_error=1305, chunks=5)
    response = httpx.post(sim.base_url + path, headers=KEY_HEADERS, json={"stream": True})
    assert response.status_code == 200
    events = sse_events(response.text)
    last_name, last = events[-1]
    if path == ANTHROPIC_MESSAGES_PATH:
        assert last_name == "error" and last["type"] == "error"
    assert parse_business_error(json.dumps(last))[0] == 1305
    assert sum(1 for _, data in events if "Hello" in json.dumps(data)) == 1


def test_control_endpoint_reads_and_changes_coding(sim: PlatformSimulator) -> None:
    url = sim.base_url + "/_simulator/coding"
    state = httpx.get(url).json()
    assert state["limit"] is None and state["in_flight"] == 0
    changed = httpx.post(url, json={"limit": 1, "chunk_delay": 0.5}).json()
    assert changed["limit"] == 1 and changed["chunk_delay"] == 0.5
    assert sim.coding.settings.limit == 1
    slow = httpx.post(url, json={"preset": "slow_stream"}).json()
    assert slow["chunk_delay"] == SLOW_STREAM.chunk_delay and slow["limit"] is None
    for bad in ({"limit": "x"}, {"chunks": -1}, {"nope": 1}, {"preset": "nope"}, [1]):
        assert httpx.post(url, json=bad).status_code == 400
    assert httpx.post(url, content=b"{broken").status_code == 400
    assert sim.requests == []  # control calls are not platform requests


def test_account_endpoints_are_unchanged(sim: PlatformSimulator) -> None:
    quota = httpx.get(sim.base_url + QUOTA_PATH, headers={"Authorization": SIMULATOR_API_KEY})
    assert quota.status_code == 200 and quota.json()["data"]["level"] == "pro"
    # The coding paths answer POST only; the account paths still refuse POST.
    assert httpx.get(sim.base_url + OPENAI_CHAT_PATH, headers=BEARER).status_code == 404
    assert httpx.post(sim.base_url + QUOTA_PATH, headers=BEARER).status_code == 404
    sim.set_scenario("wrong_key")
    refused = httpx.post(sim.base_url + OPENAI_CHAT_PATH, headers=BEARER, json={})
    assert refused.status_code == 401


def test_invalid_json_body_is_400(sim: PlatformSimulator) -> None:
    response = httpx.post(sim.base_url + OPENAI_CHAT_PATH, headers=BEARER, content=b"{nope")
    assert response.status_code == 400


def test_stop_ends_a_slow_stream_at_once() -> None:
    sim = PlatformSimulator("pro", coding=CodingSettings(chunks=50, chunk_delay=5.0))
    sim.start()
    sock = socket.create_connection(("127.0.0.1", int(sim.base_url.rsplit(":", 1)[1])))
    body = b"{}"
    sock.sendall(
        b"POST " + OPENAI_CHAT_PATH.encode() + b" HTTP/1.1\r\nHost: x\r\nAuthorization: "
        + SIMULATOR_API_KEY.encode() + b"\r\nContent-Length: 2\r\n\r\n" + body
    )  # fmt: skip
    time.sleep(0.1)
    start = time.perf_counter()
    sim.stop()
    assert time.perf_counter() - start < 2
    sock.close()


def _raw_post(sock: socket.socket, extra_headers: bytes = b"") -> None:
    """A streamed chat request, written by hand so the test sees the connection itself."""
    body = b'{"stream": true}'
    sock.sendall(
        b"POST " + OPENAI_CHAT_PATH.encode() + b" HTTP/1.1\r\nHost: x\r\nAuthorization: "
        + SIMULATOR_API_KEY.encode() + b"\r\nContent-Length: %d\r\n" % len(body)
        + extra_headers + b"\r\n" + body
    )  # fmt: skip


def _read_until(sock: socket.socket, marker: bytes) -> bytes:
    """Bytes up to and including `marker`, or up to the server's hang-up."""
    data = b""
    while marker not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def test_coding_connections_are_kept_for_the_next_request(sim: PlatformSimulator) -> None:
    """As the platform's servers do: a tool (or the meter) sends request after request over
    one connection, streamed answers included."""
    sim.set_coding(chunks=2)
    port = int(sim.base_url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        for _ in range(3):
            _raw_post(sock)
            answer = _read_until(sock, b"0\r\n\r\n")  # the last chunk of a streamed answer
            assert answer.startswith(b"HTTP/1.1 200")
            assert b"connection: close" not in answer.lower()
        _raw_post(sock, b"Connection: close\r\n")
        answer = _read_until(sock, b"\x00never")
        assert answer.startswith(b"HTTP/1.1 200") and b"Connection: close" in answer
    with httpx.Client() as client:  # and an ordinary HTTP client finds it so
        ports = {
            client.post(sim.base_url + OPENAI_CHAT_PATH, headers=BEARER, json={}).extensions[
                "network_stream"
            ].get_extra_info("client_addr")[1]
            for _ in range(3)
        }
    assert len(ports) == 1


def test_stop_ends_kept_alive_connections() -> None:
    sim = PlatformSimulator("pro", coding=CodingSettings(chunks=1, chunk_delay=0.0))
    sim.start()
    sock = socket.create_connection(("127.0.0.1", int(sim.base_url.rsplit(":", 1)[1])))
    sock.settimeout(5)
    _raw_post(sock)
    assert _read_until(sock, b"0\r\n\r\n").startswith(b"HTTP/1.1 200")
    start = time.perf_counter()
    sim.stop()
    assert sock.recv(1) == b""  # hung up, not left waiting for a next request
    assert time.perf_counter() - start < 2
    sock.close()


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError):
        CodingSettings(chunk_delay=-1).validated()
    with pytest.raises(ValueError):
        CodingSettings(chunk_delay=3600).validated()
    with pytest.raises(ValueError):
        PlatformSimulator("pro", coding_limit=-1)


@pytest.mark.parametrize(
    ("window", "code", "window_id"),
    [("five_hour", 1308, "five_hour"), ("five_hour_zh", 1308, "five_hour"), ("weekly", 1310, "weekly")],
)
def test_a_used_up_window_answers_as_the_platform_does(
    sim: PlatformSimulator, window: str, code: int, window_id: str
) -> None:
    """1308 and 1310 in their live shapes, naming when the user is back in UTC+8 with no zone
    written: what a coding tool through the meter then records is read back to the window
    and the moment (the Claude Code 2.1 line keeps only the message)."""
    from datetime import datetime, timezone

    from glmtray.platform.codes import limit_reset

    sim.set_coding(limit_reached=window)
    try:
        before = datetime.now(timezone.utc)
        anthropic = httpx.post(sim.base_url + ANTHROPIC_MESSAGES_PATH, headers=KEY_HEADERS, json={})
        assert anthropic.status_code == 429
        message = anthropic.json()["error"]["message"]
        assert message.startswith(f"[{code}][")
        claude_code_line = f"API Error: Request rejected (429) · {message}"
        found = limit_reset(None, claude_code_line, now=before)
        assert found is not None and found.code == code and found.window == window_id
        assert found.back_at is not None
        assert timedelta(hours=1, minutes=39) <= found.back_at - before <= timedelta(hours=1, minutes=41)
        openai = httpx.post(sim.base_url + OPENAI_CHAT_PATH, headers=BEARER, json={})
        assert openai.json()["error"]["code"] == str(code)
        if code == 1310:
            assert openai.headers["retry-after-ms"] == str(100 * 60 * 1000)
        else:
            assert "retry-after-ms" not in openai.headers
        if window == "five_hour_zh":
            assert "已达到 5 小时的使用上限" in openai.json()["error"]["message"]
    finally:
        sim.set_coding(limit_reached=None)
