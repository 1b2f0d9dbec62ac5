from __future__ import annotations

import logging

import pytest

from glmtray.errors import AuthenticationFailed
from glmtray.redact import MASK, RedactingFilter, redact, register_secret


def test_registered_secret_is_masked_anywhere() -> None:
    secret = "not-shaped-like-a-key-but-secret"
    register_secret(secret)
    assert redact(f"x{secret}y") == f"x{MASK}y"


def test_key_shapes_and_headers_are_masked_even_unregistered() -> None:
    text = "Authorization: Bearer abc.def and key 0123456789abcdef0123456789abcdef.AbCdEfGh12"
    out = redact(text)
    assert "abc.def" not in out and "0123456789abcdef0123456789abcdef" not in out
    assert out.count(MASK) == 2


def test_errors_never_carry_a_registered_key() -> None:
    key = "ffffffffffffffffffffffffffffffff.KeyInErrorText1"
    register_secret(key)
    error = AuthenticationFailed(f"bad key {key}", platform_message=f"token {key} expired")
    assert key not in str(error) and key not in (error.platform_message or "")


def test_logging_filter_masks_arguments_and_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    key = "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee.KeyInLogLine0001"
    logger = logging.getLogger("glmtray.test")
    logger.addFilter(RedactingFilter())
    try:
        with caplog.at_level(logging.INFO):
            logger.info("sending %s", key)
            try:
                raise ValueError(key)
            except ValueError:
                logger.exception("failed")
    finally:
        logger.filters.clear()
    assert key not in caplog.text
    assert MASK in caplog.text


KEY_ID = "0123456789abcdef0123456789abcdef"
SECRET = "AbCdEfGh12345678"


@pytest.mark.parametrize(
    "text",
    [
        f"x-api-key: {KEY_ID}.{SECRET}",
        f"X-Api-Key: {SECRET}",
        f"b'x-api-key: {SECRET}\\x01'",
        f"{{'api-key': '{SECRET}', 'host': 'example'}}",
        f'{{"Proxy-Authorization": "Basic {SECRET}"}}',
        f"(b'x-api-key', b'{SECRET}')",
        f"Cookie: theme=dark; session={SECRET}",
        f"Authorization={SECRET}",
        f"url /v1?key={KEY_ID}%2E{SECRET} end",
        f"url /v1?key={KEY_ID}%2e{SECRET} end",
        f"line {KEY_ID}\n    .{SECRET} tail",
        f"b'x-api-key: {KEY_ID}\\r\\n .{SECRET}'",
        f"b'x-api-key: {KEY_ID}\\r.{SECRET}'",
    ],
)
def test_every_form_of_an_unregistered_credential_is_masked(text: str) -> None:
    out = redact(text)
    assert SECRET not in out, out
    assert KEY_ID not in out, out
    assert MASK in out


def test_text_around_a_masked_value_is_kept() -> None:
    assert redact(f"x-api-key: {SECRET} tail") == f"x-api-key: {MASK} tail"
    assert (
        redact("Authorization failed for this request") == "Authorization failed for this request"
    )
    assert (
        redact("host: example.com\nx-api-key: abc12345\n")
        == f"host: example.com\nx-api-key: {MASK}\n"
    )


def test_a_registered_key_is_masked_by_halves_too() -> None:
    key = "abcdefabcdefabcdefabcdefabcdef12.HalfAndHalf1234"
    register_secret(key)
    out = redact("id abcdefabcdefabcdefabcdefabcdef12 and secret HalfAndHalf1234 apart")
    assert out == f"id {MASK} and secret {MASK} apart"


def test_a_registered_half_does_not_hide_the_other_half_from_the_mask() -> None:
    """Once one key is registered, its id half is masked on its own; a text with that id
    and another secret half must still lose both (found by test order in a full run)."""
    register_secret(f"{KEY_ID}.RegisteredHalf0001")
    for text in (
        f"url /v1?key={KEY_ID}%2E{SECRET} end",
        f"line {KEY_ID}\n    .{SECRET} tail",
        f"b'x-api-key: {KEY_ID}\\r.{SECRET}'",
    ):
        out = redact(text)
        assert SECRET not in out and KEY_ID not in out, out
