"""Shared fixtures for the widget tests: offscreen Qt, a fixed clock and real AppStates.

The states are built from real model objects (Snapshot, Quota, Subscription), the same
ones the parser produces, so the widgets are tested against what they will be given.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator

# Before anything imports Qt: widget tests never need a display.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from datetime import datetime

import pytest
from tools.sample_states import (
    NOW,
    healthy_state,
    make_snapshot,
    make_state,
    make_subscription,
    make_windows,
    restricted_state,
    stale_state,
    weekly_exhausted_state,
)


@pytest.fixture
def now() -> datetime:
    return NOW


__all__ = [
    "NOW",
    "healthy_state",
    "make_snapshot",
    "make_state",
    "make_subscription",
    "make_windows",
    "restricted_state",
    "stale_state",
    "weekly_exhausted_state",
]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # Collect Qt wrappers left in failed-test frames and caches while QApplication still
    # exists: PySide6 6.12 can abort with "none_dealloc" when the interpreter collects
    # them during finalisation instead.
    gc.collect()


@pytest.fixture(autouse=True)
def platform_local_zone(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Widget tests read dates as the platform writes them (UTC+8), whatever the machine's
    zone; converting between zones is tested on its own in tests/test_renewal.py."""
    import time

    monkeypatch.setenv("TZ", "Etc/GMT-8")  # POSIX sign: GMT-8 is UTC+8
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()
