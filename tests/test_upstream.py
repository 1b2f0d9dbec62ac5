"""The meter's upstream over real loopback sockets: plain HTTP to the simulator and to a
server that counts its connections, TLS to a server with a throwaway certificate. (The
SOCKS road is tested through real proxies in test_meter_proxy.py.)"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import pytest

from glmtray.meter.server import LocalMeter
from glmtray.meter.upstream import UPSTREAM_ERRORS, Upstream
from glmtray.simulator import SIMULATOR_API_KEY, PlatformSimulator
from glmtray.simulator.coding import OPENAI_CHAT_PATH, CodingSettings
from tests.helpers import serve_https

BEARER = [(b"Authorization", f"Bearer {SIMULATOR_API_KEY}".encode())]
STREAM = b'{"model": "glm-4.6", "stream": true}'
CHUNKS = [b"data: one\n\n", b"data: two\n\n", b"data: [DONE]\n\n"]


class Received:
    def __init__(self, status: int, content: bytes) -> None:
        self.status_code, self.content = status, content


async def _post(upstream: Upstream, path: str) -> Received:
    headers = [(b"Host", upstream.host_header), *BEARER]
    headers.append((b"Content-Length", str(len(STREAM)).encode()))
    answer = await upstream.send("POST", path, headers, STREAM)
    try:
        content = b"".join([chunk async for chunk in answer.chunks()])
    finally:
        await answer.aclose()
    return Received(answer.status, content)


class _StreamingHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while size := int(self.rfile.readline().split(b";")[0], 16):
                self.rfile.read(size + 2)
            self.rfile.readline()  # the empty trailer section
        else:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for chunk in CHUNKS:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        self.wfile.write(b"0\r\n\r\n")


class _CountingServer(ThreadingHTTPServer):
    """Counts the connections it accepts."""

    daemon_threads = True
    connections = 0

    def process_request(self, request: Any, client_address: Any) -> None:
        self.connections += 1
        super().process_request(request, client_address)


def _serve(server: ThreadingHTTPServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    return thread


def test_kept_alive_connections_are_reused() -> None:
    server = _CountingServer(("127.0.0.1", 0), _StreamingHandler)
    _serve(server)
    base = f"http://127.0.0.1:{server.server_address[1]}"

    async def three() -> list[Received]:
        upstream = Upstream(base)
        try:
            return [await _post(upstream, OPENAI_CHAT_PATH) for _ in range(3)]
        finally:
            await upstream.aclose()

    try:
        answers = asyncio.run(three())
    finally:
        server.shutdown()
        server.server_close()
    assert [(a.status_code, a.content) for a in answers] == [(200, b"".join(CHUNKS))] * 3
    assert server.connections == 1


def test_a_connection_the_server_closed_is_not_reused() -> None:
    """A platform server ends idle connections; the next request must get a fresh one,
    not fail with 'server disconnected'."""
    with PlatformSimulator("pro", coding=CodingSettings(chunks=1, chunk_delay=0.0)) as sim:
        port = int(sim.base_url.rsplit(":", 1)[1])

        async def across_a_restart() -> tuple[Received, Received]:
            upstream = Upstream(sim.base_url)
            try:
                before = await _post(upstream, OPENAI_CHAT_PATH)
                # stop() hangs up every kept-alive connection; the same port serves again
                await asyncio.to_thread(sim.stop)
                restarted.start()
                await asyncio.sleep(0.05)  # the end of stream reaches the client's loop
                return before, await _post(upstream, OPENAI_CHAT_PATH)
            finally:
                await upstream.aclose()

        restarted = PlatformSimulator("pro", port=port)
        try:
            before, after = asyncio.run(across_a_restart())
        finally:
            restarted.stop()
    assert before.status_code == after.status_code == 200
    assert all(r.content.rstrip().endswith(b"data: [DONE]") for r in (before, after))


def test_network_failures_are_upstream_errors() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # bound, never listening: connections are refused

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()  # accepts (in the kernel) and never answers

    async def attempts() -> list[BaseException]:
        errors: list[BaseException] = []
        for url, read_timeout in (
            (f"http://127.0.0.1:{port}", None),
            (f"http://127.0.0.1:{silent.getsockname()[1]}", 0.2),
        ):
            upstream = Upstream(url, read_timeout=read_timeout)
            try:
                await _post(upstream, "/")
            except UPSTREAM_ERRORS as error:
                errors.append(error)
            finally:
                await upstream.aclose()
        return errors

    try:
        refused, unanswered = asyncio.run(attempts())
    finally:
        silent.close()
    assert isinstance(refused, aiohttp.ClientConnectorError)
    assert isinstance(unanswered, asyncio.TimeoutError)
    assert all(isinstance(error, UPSTREAM_ERRORS) for error in (refused, unanswered))


# --- TLS, as to the real platform -------------------------------------------------------------


@pytest.fixture
def tls_platform(certificate: tuple[Path, Path]) -> Iterator[str]:
    with serve_https(_StreamingHandler, certificate) as port:
        yield f"https://127.0.0.1:{port}"


def test_the_meter_relays_a_stream_from_a_tls_platform(
    tls_platform: str, certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))  # trust the throwaway certificate
    with LocalMeter(tls_platform, port=0) as meter:
        url = meter.url + OPENAI_CHAT_PATH
        with httpx.stream("POST", url, headers=BEARER, content=STREAM, timeout=10) as response:
            chunks = list(response.iter_raw())
            stream = response.extensions["network_stream"]
        again = httpx.post(url, headers=BEARER, content=STREAM, timeout=10)
        chunked = httpx.post(url, headers=BEARER, content=iter([STREAM[:5], STREAM[5:]]))
    assert response.status_code == again.status_code == 200
    assert b"".join(chunks) == b"".join(CHUNKS) == again.content == chunked.content
    assert stream.get_extra_info("ssl_object") is None  # the tool's side is plain loopback


def test_an_untrusted_certificate_is_refused(
    tls_platform: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    with LocalMeter(tls_platform, port=0) as meter:
        answer = httpx.post(meter.url + OPENAI_CHAT_PATH, headers=BEARER, content=STREAM)
    assert answer.status_code == 502
    assert answer.json()["error"]["code"] == "meter_upstream_unreachable"
    assert "CertificateError" in answer.json()["error"]["message"]


def test_the_certificate_must_name_the_host(
    certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Trusted, but issued for 127.0.0.1: asked for as localhost, it is refused."""
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))

    async def both(port: int) -> list[str]:
        outcomes = []
        for host in ("127.0.0.1", "localhost"):
            upstream = Upstream(f"https://{host}:{port}")
            try:
                received = await _post(upstream, OPENAI_CHAT_PATH)
                outcomes.append(f"{received.status_code}")
            except UPSTREAM_ERRORS as error:
                outcomes.append(type(error).__name__)
            finally:
                await upstream.aclose()
        return outcomes

    with serve_https(_StreamingHandler, certificate) as port:
        trusted, wrong_name = asyncio.run(both(port))
    assert trusted == "200"
    assert wrong_name == "ClientConnectorCertificateError"
