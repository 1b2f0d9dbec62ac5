"""What writes the usage history: a fetch recorder per account, and the one store per
account that the recorder and every reader share for the whole run.

The platform worker calls `HistoryRecorder.record` after each good fetch (fetch_records.py);
the history window and the forecasts read the same `HistoryStore` object, obtained from
`HistoryStores.open` (through `Environment.open_history`), so a reading written on the
worker thread is what the next read sees, and SQLite sees one connection per account.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from glmtray.platform.models import Section

if TYPE_CHECKING:  # SQLite loads with the first store, not with the app
    from glmtray.credentials import Account
    from glmtray.history.store import HistoryRow, HistoryStore
    from glmtray.platform.models import Snapshot

log = logging.getLogger(__name__)


def history_rows(snapshot: Snapshot, at: datetime) -> list[HistoryRow]:
    """Each window of `snapshot` as a reading at `at`: share, counts where the platform
    gives them, and the reset. Nothing for a fetch whose quota did not come."""
    from glmtray.history.store import HistoryRow

    if snapshot.quota is None or Section.QUOTA in snapshot.problems:
        return []
    return [
        HistoryRow(
            at=at,
            window_key=window.id,
            label=window.label,
            share=window.used_percent / 100,
            used=float(window.used) if window.used is not None else None,
            limit=float(window.limit) if window.limit is not None else None,
            resets_at=window.resets_at,
        )
        for window in snapshot.windows
    ]


class HistoryRecorder:
    """A `FetchRecorder`: each good fetch's windows into the account's store. The store
    belongs to `HistoryStores` (readers share it), so closing the recorder leaves it open.

    Given a store, or a way to open it at the first recording: the recorders are made
    before the first data reaches the tray, which need not wait for SQLite."""

    def __init__(self, store: HistoryStore | Callable[[], HistoryStore]) -> None:
        self._store = store

    @property
    def store(self) -> HistoryStore:
        if callable(self._store):
            self._store = self._store()
        return self._store

    def record(self, snapshot: Snapshot, at: datetime) -> None:
        rows = history_rows(snapshot, at)
        if rows:
            self.store.add(at, rows)

    def close(self) -> None:
        """Nothing to do: the store outlives the session (see `HistoryStores.close`)."""


class HistoryStores:
    """One `HistoryStore` per account for the whole run, opened on first use and closed
    with the environment. Thread-safe: the worker and the GUI thread both ask."""

    def __init__(self, open_store: Callable[[Account], HistoryStore]) -> None:
        self._open_store = open_store
        self._stores: dict[Account, HistoryStore] = {}
        self._lock = threading.Lock()

    def open(self, account: Account) -> HistoryStore:
        with self._lock:
            store = self._stores.get(account)
            if store is None:
                store = self._stores[account] = self._open_store(account)
            return store

    def recorder(self, account: Account) -> HistoryRecorder:
        """The account's recorder; its store opens at the first recording."""
        return HistoryRecorder(lambda: self.open(account))

    def close(self) -> None:
        with self._lock:
            stores, self._stores = list(self._stores.values()), {}
        for store in stores:
            store.close()


def open_history_file(account: Account) -> HistoryStore:
    """The account's history in the data folder's shared file."""
    from glmtray.history.store import HistoryStore
    from glmtray.settings import data_dir

    return HistoryStore(data_dir() / HISTORY_FILE, account.username)


HISTORY_FILE = "history.sqlite3"
