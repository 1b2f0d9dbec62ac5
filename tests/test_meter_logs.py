"""No key in the log, whatever a tool sends: malformed requests to a real meter, whose
rejected header lines aiohttp logs as they came, read back from the captured log."""

from __future__ import annotations

import logging
import secrets
import socket
import string
import time
from collections.abc import Iterator

import pytest

from glmtray.meter.server import LocalMeter
from glmtray.redact import MASK
from glmtray.simulator import PlatformSimulator


def fresh_key() -> tuple[str, str]:
    """(id, secret) of a key nobody registered: only the patterns can catch it."""
    alphabet = string.ascii_letters + string.digits
    return secrets.token_hex(16), "".join(secrets.choice(alphabet) for _ in range(16))


@pytest.fixture
def meter() -> Iterator[LocalMeter]:
    with PlatformSimulator("pro") as sim, LocalMeter(sim.base_url, port=0) as running:
        yield running


def send_raw(port: int, head: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"POST /api/anthropic/v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\n" + head)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def logged_after(
    meter: LocalMeter, caplog: pytest.LogCaptureFixture, head: bytes, *parts: str
) -> str:
    caplog.clear()
    with caplog.at_level(logging.DEBUG):
        answer = send_raw(meter.port, head)
        assert answer.startswith(b"HTTP/1.0 400") or answer.startswith(b"HTTP/1.1 400")
        deadline = time.monotonic() + 5
        while "Error handling request" not in caplog.text:  # logged on the meter's thread
            assert time.monotonic() < deadline, "aiohttp logged nothing"
            time.sleep(0.01)
    text = caplog.text
    for part in parts:
        assert part not in text, f"{part!r} leaked into the log:\n{text}"
    assert MASK in text
    return text


@pytest.mark.parametrize(
    "header", ["x-api-key", "api-key", "Authorization", "Proxy-Authorization", "Cookie"]
)
def test_rejected_credential_headers_are_masked(
    meter: LocalMeter, caplog: pytest.LogCaptureFixture, header: str
) -> None:
    key_id, secret = fresh_key()
    value = {"Authorization": f"Bearer {key_id}.{secret}", "Proxy-Authorization": f"Basic {secret}",
             "Cookie": f"theme=dark; session={secret}"}.get(header, f"{key_id}.{secret}")  # fmt: skip
    text = logged_after(meter, caplog, f"{header}: {value}\x01\r\n\r\n".encode(), key_id, secret)
    assert "Invalid header value char" in text  # the record that used to carry the key


def test_the_secret_half_alone_is_masked(
    meter: LocalMeter, caplog: pytest.LogCaptureFixture
) -> None:
    _, secret = fresh_key()
    logged_after(meter, caplog, f"x-api-key: {secret}\x01\r\n\r\n".encode(), secret)


def test_a_percent_encoded_separator_is_masked(
    meter: LocalMeter, caplog: pytest.LogCaptureFixture
) -> None:
    key_id, secret = fresh_key()
    # In a header the meter has no reason to know about, and in the request line.
    logged_after(meter, caplog, f"x-note: {key_id}%2E{secret}\x01\r\n\r\n".encode(), key_id, secret)
    caplog.clear()
    with (
        caplog.at_level(logging.DEBUG),
        socket.create_connection(("127.0.0.1", meter.port), timeout=5) as sock,
    ):
        sock.sendall(f"POST /api/anthropic?k={key_id}%2e{secret}\x01 HTTP/1.1\r\n\r\n".encode())
        sock.recv(65536)
        deadline = time.monotonic() + 5
        while "Error handling request" not in caplog.text:
            assert time.monotonic() < deadline
            time.sleep(0.01)
    assert key_id not in caplog.text and secret not in caplog.text


@pytest.mark.parametrize("break_", ["\r", "\n"])
def test_a_key_split_across_lines_is_masked(
    meter: LocalMeter, caplog: pytest.LogCaptureFixture, break_: str
) -> None:
    key_id, secret = fresh_key()
    head = f"x-api-key: {key_id}{break_}.{secret}\x01\r\n\r\n".encode()
    logged_after(meter, caplog, head, key_id, secret)


def test_records_from_any_logger_are_masked(
    meter: LocalMeter, caplog: pytest.LogCaptureFixture
) -> None:
    """Not only aiohttp's: the masking is where records are made, not on one logger."""
    key_id, secret = fresh_key()
    with caplog.at_level(logging.DEBUG):
        for name in ("aiohttp.access", "httpcore.http11", "asyncio", "some.library"):
            logging.getLogger(name).warning("headers %r", [(b"x-api-key", secret.encode())])
            logging.getLogger(name).warning("key %s", f"{key_id}.{secret}")
    assert caplog.text.count(MASK) == 8
    assert key_id not in caplog.text and secret not in caplog.text
