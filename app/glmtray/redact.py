"""Keeps API keys out of every string glmtray writes: logs, errors, crash reports.

Keys are registered when they are loaded (`register_secret`) so that exact matches are
masked everywhere; a pattern also masks anything shaped like a platform key or an
Authorization header, for keys glmtray has not seen yet.
"""

from __future__ import annotations

import logging
import re
import threading

MASK = "***"

_KEY_SHAPE = re.compile(r"\b[0-9a-fA-F]{32}\.[A-Za-z0-9_\-+/=]{8,}")
_AUTH_HEADER = re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?)(bearer\s+)?[^\s'\",}]+")
_secrets: set[str] = set()
_lock = threading.Lock()


def register_secret(secret: str) -> None:
    """Mask this exact string from now on. Very short strings are ignored (too common)."""
    if secret and len(secret) >= 8:
        with _lock:
            _secrets.add(secret)


def redact(text: str | None) -> str:
    if not text:
        return text or ""
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    text = _KEY_SHAPE.sub(MASK, text)
    return _AUTH_HEADER.sub(lambda m: m.group(1) + MASK, text)


class RedactingFilter(logging.Filter):
    """A logging filter that renders each record and masks secrets in the result."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        record.msg = redact(message)
        record.args = None
        if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True
