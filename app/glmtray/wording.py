"""Counted nouns shared by the panel, notifications and `glmtray status`, in the user's
language: `1 request`, `3 requests`, `3 个请求`, through ngettext (one entry per noun in
the catalog, so each language says its own plural)."""

from __future__ import annotations

from collections.abc import Callable

from glmtray.i18n import ngettext


def _sessions(count: int) -> str:
    return ngettext("{count} session", "{count} sessions", count).format(count=count)


def _coding_sessions(count: int) -> str:
    return ngettext("{count} coding session", "{count} coding sessions", count).format(count=count)


def _projects(count: int) -> str:
    return ngettext("{count} project", "{count} projects", count).format(count=count)


def _requests(count: int) -> str:
    return ngettext("{count} request", "{count} requests", count).format(count=count)


COUNTED: dict[str, Callable[[int], str]] = {
    "session": _sessions,
    "coding session": _coding_sessions,
    "project": _projects,
    "request": _requests,
}
"""The nouns glmtray counts; a new one gets its own ngettext entry here."""


def plural(count: int, noun: str) -> str:
    """`1 request`, `3 requests` (`3 个请求`): the count with its noun, for one of the
    nouns in COUNTED. Prefer `ngettext` with the whole sentence where a sentence is built."""
    return COUNTED[noun](count)
