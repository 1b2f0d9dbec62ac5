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
