"""The app's log file and uncaught errors never carry the key."""

from __future__ import annotations

import logging

from glmtray.redact import register_secret
from glmtray.settings import log_dir
from glmtray.ui.application import log_uncaught, setup_file_logging

KEY = "abcdefabcdefabcdefabcdefabcdef12.LogFileKey00001"


def test_uncaught_error_with_the_key_is_masked_in_the_log_file() -> None:
    register_secret(KEY)
    root = logging.getLogger()
    before = list(root.handlers)
    setup_file_logging()
    try:
        try:
            raise RuntimeError(f"request failed with Authorization: {KEY}")
        except RuntimeError as error:
            log_uncaught(RuntimeError, error, error.__traceback__)
        logging.getLogger("glmtray.test").warning("key was %s", KEY)
        for handler in root.handlers:
            handler.flush()
        text = (log_dir() / "glmtray.log").read_text()
    finally:
        for handler in root.handlers[:]:
            if handler not in before:
                root.removeHandler(handler)
                handler.close()
    assert "unexpected error" in text and "RuntimeError" in text and "key was" in text
    assert KEY not in text and "abcdefabcdefabcdef" not in text
