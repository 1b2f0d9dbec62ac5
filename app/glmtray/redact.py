"""Keeps API keys out of every string glmtray writes: logs, errors, crash reports.

Keys are registered when they are loaded (`register_secret`) so that exact matches are
masked everywhere, their two halves too (`<32 hex>.<16 chars>`: either half alone is
enough to find or rebuild the key). Patterns also mask, for keys glmtray has not seen:

- anything shaped like a platform key, with its dot written plainly or percent-encoded
  (`%2E`, as in a logged URL);
- the value of every header that carries a credential (Authorization, Proxy-Authorization,
  x-api-key, api-key, Cookie, Set-Cookie), in `name: value`, `name=value`, JSON or
  Python-repr form;
- keys broken across lines, by a real line break or an escaped one (`\\r\\n` inside a
  logged `b'...'`), as a header folded over two lines is logged.

`install_log_redaction()` masks every log record as it is made, whichever logger makes it
(aiohttp's and httpcore's included): aiohttp logs a malformed request's header line
verbatim, key and all.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from typing import Any

MASK = "***"

_DOT = r"(?:\.|%2[eE])"
_KEY_SHAPE = re.compile(r"(?<![0-9A-Fa-f])[0-9a-fA-F]{32}" + _DOT + r"[A-Za-z0-9_\-+/=]{8,}")
_CREDENTIAL_HEADERS = r"(?:proxy-authorization|authorization|x-api-key|api-key|set-cookie|cookie)"
# The name, then what separates it from its value: ": ", "=", "': '", "', b'" (a repr'd
# header pair). The value: an optional scheme word (Bearer, Basic), then one token, or
# several joined by ";" (cookies); it ends at a space, quote, comma or escape sequence.
_TOKEN = r"[^\s'\"\\,;]+"
_HEADER_VALUE = re.compile(
    r"(?i)(?<![\w-])(" + _CREDENTIAL_HEADERS + r")"
    r"(['\"]?\s*(?:[:=]|,\s*b?['\"])\s*['\"]?)"
    r"((?:(?:bearer|basic|token|digest)\s+)?" + _TOKEN + r"(?:;\s*" + _TOKEN + r")*)"
)
# A line break, real or escaped, and the indentation after it (a folded header's).
_LINE_BREAK = re.compile(r"(?:\r\n|\r|\n|\\r\\n|\\r|\\n)[ \t]*")
_secrets: set[str] = set()
_lock = threading.Lock()
MIN_SECRET_LENGTH = 8


def register_secret(secret: str) -> None:
    """Mask this exact string from now on, and each half of a key-shaped one. Very short
    strings are ignored (too common)."""
    if not secret or len(secret) < MIN_SECRET_LENGTH:
        return
    parts = {secret}
    for separator in (".", "%2E", "%2e"):
        if separator in secret:
            parts.update(p for p in secret.split(separator) if len(p) >= MIN_SECRET_LENGTH)
    with _lock:
        _secrets.update(parts)


def redact(text: str | None) -> str:
    if not text:
        return text or ""
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    # Whole key shapes first: masking a registered half first would leave the other half
    # without the shape that finds it ("***%2E<secret>").
    text = _KEY_SHAPE.sub(MASK, text)
    if _LINE_BREAK.search(text):  # before header values: they would take half a split key
        text = _mask_across_lines(text, secrets)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return _HEADER_VALUE.sub(lambda m: m.group(1) + m.group(2) + MASK, text)


def _mask_across_lines(text: str, secrets: list[str]) -> str:
    """Mask secrets and key shapes that only appear once line breaks are taken out."""
    joined: list[str] = []
    origin: list[int] = []  # index in `text` of each character of `joined`
    position = 0
    for brk in _LINE_BREAK.finditer(text):
        joined.append(text[position : brk.start()])
        origin.extend(range(position, brk.start()))
        position = brk.end()
    joined.append(text[position:])
    origin.extend(range(position, len(text)))
    flat = "".join(joined)
    spans: list[tuple[int, int]] = []
    for secret in secrets:
        start = flat.find(secret)
        while start >= 0:
            spans.append((start, start + len(secret)))
            start = flat.find(secret, start + 1)
    spans += [(m.start(), m.end()) for m in _KEY_SHAPE.finditer(flat)]
    if not spans:
        return text
    # Back to positions in the original text, breaks inside a span included; merged.
    ranges = sorted((origin[a], origin[b - 1] + 1) for a, b in spans)
    merged: list[list[int]] = []
    for a, b in ranges:
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    out, last = [], 0
    for a, b in merged:
        out += [text[last:a], MASK]
        last = b
    out.append(text[last:])
    return "".join(out)


def _redact_record(record: logging.LogRecord) -> None:
    """Render a record's message with its arguments, masked; mask its traceback too."""
    try:
        message = record.getMessage()
    except Exception:  # a bad format string: keep what can be shown, masked
        message = f"{record.msg!s} {record.args!r}"
    record.msg = redact(message)
    record.args = None
    if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
        record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
    elif record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)


class RedactingFilter(logging.Filter):
    """A logging filter that renders each record and masks secrets in the result."""

    def filter(self, record: logging.LogRecord) -> bool:
        _redact_record(record)
        return True


_installed_factory: Callable[..., logging.LogRecord] | None = None
_install_lock = threading.Lock()


def install_log_redaction() -> None:
    """Mask every log record when it is made, from any logger, before any handler, filter
    or test capture sees it. A logger's own filters only see records made on that very
    logger (not its children's, and aiohttp logs on several), and handlers come and go;
    the record factory is the one place every record passes. Idempotent."""
    global _installed_factory
    with _install_lock:
        current = logging.getLogRecordFactory()
        if current is _installed_factory:
            return
        previous = current

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            _redact_record(record)
            return record

        logging.setLogRecordFactory(factory)
        _installed_factory = factory
