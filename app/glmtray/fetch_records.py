"""What is kept of each good fetch besides the tray's state: the usage history (for pace,
forecast and the history window) and the snapshot the status line reads.

The platform service's worker thread calls every recorder of the signed-in account after
each good fetch, off the GUI thread. A recorder that fails is logged and skipped: what is
kept is an extra, never a reason to stop refreshing.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from glmtray.credentials import Account
    from glmtray.platform.models import Snapshot

log = logging.getLogger(__name__)


class FetchRecorder(Protocol):
    def record(self, snapshot: Snapshot, at: datetime) -> None:
        """Keep what is wanted of `snapshot`, fetched at `at` (aware, UTC)."""

    def close(self) -> None: ...


def no_recorders(account: Account) -> list[FetchRecorder]:
    return []


def record_all(recorders: list[FetchRecorder], snapshot: Snapshot, at: datetime) -> None:
    for recorder in recorders:
        try:
            recorder.record(snapshot, at)
        except Exception:  # an extra: never let it stop quota refreshes
            log.exception("%s failed to record a fetch", type(recorder).__name__)


def close_all(recorders: list[FetchRecorder]) -> None:
    for recorder in recorders:
        try:
            recorder.close()
        except Exception:
            log.exception("%s failed to close", type(recorder).__name__)
