"""Small pieces of English wording shared by the panel, notifications and `glmtray status`."""

from __future__ import annotations


def plural(count: int, noun: str) -> str:
    """`1 request`, `3 requests`: the count with its noun, instead of "request(s)"."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
