"""What the meter refuses, over real sockets: paths that are not the coding endpoints in
normal form, browsers, and connections left idle. The simulator behind it counts every
request that reached it, so "refused" means "never reached the platform"."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from glmtray.meter.server import CLIENT_IDLE_SECONDS, LocalMeter, path_problem
from glmtray.simulator import SIMULATOR_API_KEY, PlatformSimulator
from glmtray.simulator.coding import ANTHROPIC_MESSAGES_PATH, OPENAI_CHAT_PATH, CodingSettings

KEY = SIMULATOR_API_KEY.encode()


@pytest.fixture
def sim() -> Iterator[PlatformSimulator]:
    with PlatformSimulator("pro", coding=CodingSettings(chunks=2, chunk_delay=0.0)) as simulator:
        yield simulator


@pytest.fixture
def meter(sim: PlatformSimulator) -> Iterator[LocalMeter]:
    with LocalMeter(sim.base_url, port=0) as running:
        yield running


def exchange(port: int, raw: bytes, timeout: float = 5.0) -> tuple[int, dict[str, str], bytes]:
    """Send `raw` as it is (no client normalises it on the way) and read the answer to its
    end: (status, headers with lowercase names, body)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(raw)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines)}
    return int(status_line.split(" ")[1]), headers, body


def request(method: str, target: str, *extra: str, body: bytes = b"{}") -> bytes:
    lines = [
        f"{method} {target} HTTP/1.1",
        "Host: 127.0.0.1",
        f"x-api-key: {SIMULATOR_API_KEY}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        "Connection: close",
        *extra,
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def reached(sim: PlatformSimulator) -> int:
    served: int = sim.coding.state()["served"]
    return len(sim.requests) + served


# --- paths --------------------------------------------------------------------------------------

TRAVERSALS = [
    "/api/anthropic/../../api/biz/customer-package-reset/use",
    "/api/anthropic/v1/../../../api/biz/customer-package-reset/use",
    "/api/coding/paas/v4/./../../../api/biz/customer-package-reset/use",
    "/api/anthropic/%2e%2e/%2e%2e/api/biz/customer-package-reset/use",
    "/api/anthropic/%2E%2E/%2E%2E/api/biz/customer-package-reset/use",
    "/api/anthropic/.%2e/.%2E/api/biz/customer-package-reset/use",
    "/api/anthropic/..%2f..%2fapi/biz/customer-package-reset/use",
    "/api/anthropic/..%2F..%2Fapi/biz/customer-package-reset/use",
    "/api/anthropic/..%5c..%5capi/biz/customer-package-reset/use",
    "/api/anthropic/..\\..\\api/biz/customer-package-reset/use",
    "/api/anthropic/v1\\messages",
    "/api/anthropic/%252e%252e/%252e%252e/api/biz/customer-package-reset/use",
    "/api/anthropic/v1/messages/.",
    "/api/anthropic/./v1/messages",
    "//api/anthropic/v1/messages",
]


@pytest.mark.parametrize("target", TRAVERSALS)
def test_unnormalised_paths_are_refused_before_the_platform(
    sim: PlatformSimulator, meter: LocalMeter, target: str
) -> None:
    status, _, body = exchange(meter.port, request("POST", target))
    assert status == 400, body
    assert b"meter_bad_path" in body
    assert reached(sim) == 0
    assert meter.snapshot().requests_total == 0  # never counted as a coding request


def test_absolute_form_targets_are_refused(sim: PlatformSimulator, meter: LocalMeter) -> None:
    target = f"{sim.base_url}/api/biz/customer-package-reset/use"
    status, _, _ = exchange(meter.port, request("POST", target))
    assert status == 400
    status, _, _ = exchange(meter.port, request("POST", "http://127.0.0.1" + OPENAI_CHAT_PATH))
    assert status == 400
    assert reached(sim) == 0


def test_paths_outside_the_coding_endpoints_are_not_relayed(
    sim: PlatformSimulator, meter: LocalMeter
) -> None:
    for target in (
        "/api/biz/customer-package-reset/use",
        "/api/monitor/usage/quota/limit",
        "/api/anthropicx/v1/messages",
        "/api/coding/paas/v40/chat/completions",
        "/_simulator/scenario",
    ):
        status, _, _ = exchange(meter.port, request("POST", target))
        assert status == 404, target
    assert reached(sim) == 0


def test_normal_paths_still_reach_the_platform_with_their_query(
    sim: PlatformSimulator, meter: LocalMeter
) -> None:
    body = b'{"model": "glm-4.6"}'
    status, _, _ = exchange(meter.port, request("POST", ANTHROPIC_MESSAGES_PATH + "?beta=true",
                                                body=body))  # fmt: skip
    assert status == 200
    status, _, _ = exchange(meter.port, request("POST", OPENAI_CHAT_PATH, body=body))
    assert status == 200
    assert [(r.path, r.query, r.status) for r in sim.requests] == [
        (ANTHROPIC_MESSAGES_PATH, {"beta": "true"}, 200),
        (OPENAI_CHAT_PATH, {}, 200),
    ]


def test_path_problem_rules() -> None:
    for fine in (ANTHROPIC_MESSAGES_PATH, OPENAI_CHAT_PATH, "/api/anthropic/v1/messages?a=%2e.."):
        assert path_problem(fine) is None, fine
    for bad in ("", "*", "api/anthropic", "/a/../b", "/a/./b", "/a/..", "/a%2fb", "/a\\b", "//a",
                "/api/anthropic/v1/messages?q=é", "/api/anthropic/v1\x00"):  # fmt: skip
        assert path_problem(bad) is not None, bad


# --- browsers -------------------------------------------------------------------------------------


@pytest.mark.parametrize("origin", ["https://evil.example", "null", "http://127.0.0.1:3000"])
def test_requests_from_browsers_are_refused(
    sim: PlatformSimulator, meter: LocalMeter, origin: str
) -> None:
    status, headers, body = exchange(
        meter.port, request("POST", ANTHROPIC_MESSAGES_PATH, f"Origin: {origin}")
    )
    assert status == 403 and b"meter_forbidden" in body
    assert not [name for name in headers if name.startswith("access-control-")]
    status, _, _ = exchange(
        meter.port, request("GET", "/_glmtray/meter/stats", f"Origin: {origin}", body=b"")
    )
    assert status == 403
    assert reached(sim) == 0
    assert meter.snapshot().requests_total == 0


def test_preflights_get_no_cors_answer(sim: PlatformSimulator, meter: LocalMeter) -> None:
    preflight = request(
        "OPTIONS",
        ANTHROPIC_MESSAGES_PATH,
        "Origin: https://evil.example",
        "Access-Control-Request-Method: POST",
        "Access-Control-Request-Headers: x-api-key, content-type",
        body=b"",
    )
    for raw in (preflight, request("OPTIONS", OPENAI_CHAT_PATH, body=b"")):
        status, headers, _ = exchange(meter.port, raw)
        assert status in (403, 405)
        assert not [name for name in headers if name.startswith("access-control-")]
    assert reached(sim) == 0


# --- idle connections -------------------------------------------------------------------------


def closed_by_peer(sock: socket.socket, within: float) -> float | None:
    """Seconds until the peer closed `sock` (recv returns b""), or None if it did not."""
    start = time.monotonic()
    sock.settimeout(within)
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                return time.monotonic() - start
    except TimeoutError:
        return None
    except ConnectionResetError:
        return time.monotonic() - start


def test_idle_client_connections_are_closed(sim: PlatformSimulator) -> None:
    with LocalMeter(sim.base_url, port=0, client_idle_timeout=0.5) as meter:
        # One kept alive after an answer, one that never sent a request at all.
        kept = socket.create_connection(("127.0.0.1", meter.port))
        silent = socket.create_connection(("127.0.0.1", meter.port))
        try:
            kept.sendall(
                b"GET /_glmtray/meter/stats HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
            )  # keep-alive: HTTP/1.1's default
            kept.settimeout(5)
            answer = kept.recv(65536)
            assert answer.startswith(b"HTTP/1.1 200")
            assert b"connection: close" not in answer.lower()
            for sock in (kept, silent):
                waited = closed_by_peer(sock, within=5)
                assert waited is not None, "the meter left an idle connection open"
        finally:
            kept.close()
            silent.close()


def test_the_default_idle_limit_is_bounded() -> None:
    assert 30 <= CLIENT_IDLE_SECONDS <= 75


def test_a_long_stream_is_not_cut_as_idle(sim: PlatformSimulator) -> None:
    """Idle means no request: a stream slower than the idle limit is a request in flight."""
    sim.set_coding(chunks=4, chunk_delay=0.4)
    with LocalMeter(sim.base_url, port=0, client_idle_timeout=0.3) as meter:
        response = httpx.post(
            meter.url + ANTHROPIC_MESSAGES_PATH,
            headers={"x-api-key": SIMULATOR_API_KEY},
            json={"model": "glm-4.6", "stream": True},
            timeout=10,
        )
    assert response.status_code == 200
    assert b"message_stop" in response.content
