"""Local event store: every risk-control, throttling and account signal glmtray has seen.

One SQLite file in the app's data folder. It keeps the history that the risk monitor
turns into episodes and strikes, so it must survive restarts and must not grow a
duplicate each time the same transcript line is read again (after a file was replaced,
or after the reader's offsets were lost): every signal carries a dedup key and the key
is unique in the table.

A small key-value table next to it keeps runtime state that belongs with the history:
transcript reader offsets, the last risk-flag reading, "notice already sent" marks.

Nothing here ever stores an API key: messages and trace ids go through `redact` first.
The store is used from one worker thread at a time, but it may be created on another
thread (the app builds it at start-up), hence `check_same_thread=False` and a lock.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

from glmtray.platform.codes import CodeClass, classify
from glmtray.redact import redact

SignalSource = Literal["risk_flag", "account_endpoint", "transcript", "meter"]
SIGNAL_SOURCES: frozenset[str] = frozenset({"risk_flag", "account_endpoint", "transcript", "meter"})

SCHEMA_VERSION = 1

# Messages come from the platform and from transcripts: cap them so one odd line cannot
# bloat the database (the useful part of a platform message is its first sentence).
MAX_MESSAGE_CHARS = 2000


@dataclass(frozen=True)
class Signal:
    """Something observed that may matter for the risk monitor, before it is stored."""

    time: datetime
    source: SignalSource
    code: int | None
    message: str = ""
    trace_id: str | None = None
    dedup_key: str | None = None
    """Same key, same signal: a second `add` with it is ignored. None: derived from content."""
    http_status: int | None = None
    code_class: CodeClass | None = None
    """Overrides `codes.classify(code)`; used by signals without a code (the risk flag)."""


@dataclass(frozen=True)
class Event:
    """A stored signal."""

    id: int
    time: datetime
    source: str
    code: int | None
    code_class: CodeClass
    message: str
    trace_id: str | None
    dedup_key: str
    http_status: int | None


def to_utc_iso(moment: datetime) -> str:
    """Fixed-width UTC text, so that text order in SQLite is time order."""
    if moment.tzinfo is None:
        # A naive time is taken as UTC: every producer in glmtray works in UTC.
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def _from_utc_iso(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f+00:00").replace(tzinfo=timezone.utc)


def _code_class_of(text: str | None, code: int | None) -> CodeClass:
    try:
        return CodeClass(text) if text else classify(code)
    except ValueError:
        return classify(code)


_MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {}


def _migrate_to_1(db: sqlite3.Connection) -> None:
    db.execute(
        """
        CREATE TABLE IF NOT EXISTS signals (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            time TEXT NOT NULL,
            source TEXT NOT NULL,
            code INTEGER,
            code_class TEXT NOT NULL,
            message TEXT NOT NULL DEFAULT '',
            trace_id TEXT,
            http_status INTEGER,
            dedup_key TEXT NOT NULL UNIQUE
        )
        """
    )
    db.execute("CREATE INDEX IF NOT EXISTS signals_time ON signals(time)")
    db.execute("CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL)")


_MIGRATIONS[1] = _migrate_to_1


class EventStore:
    """The signals table and the state table in one SQLite database."""

    def __init__(self, path: Path | str) -> None:
        self._lock = threading.Lock()
        self._path = str(path)
        self._db = self._open()

    def _open(self) -> sqlite3.Connection:
        try:
            return self._connect_and_migrate()
        except sqlite3.DatabaseError:
            if self._path == ":memory:":
                raise
            # A corrupt file must not stop the app: keep it aside for a bug report and
            # start a fresh history (the monitor then knows less, but it runs).
            stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
            corrupt = Path(self._path)
            corrupt.replace(corrupt.with_name(f"{corrupt.name}.corrupt-{stamp}"))
            return self._connect_and_migrate()

    def _connect_and_migrate(self) -> sqlite3.Connection:
        if self._path != ":memory:":
            Path(self._path).parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self._path, check_same_thread=False, isolation_level=None)
        try:
            # WAL: a reader (the UI asking for recent events) never waits for a writer.
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            row = db.execute("SELECT MAX(version) FROM schema_version").fetchone()
            current = int(row[0]) if row and row[0] is not None else 0
            if current > SCHEMA_VERSION:
                raise sqlite3.DatabaseError(
                    f"event store schema {current} is newer than this glmtray ({SCHEMA_VERSION})"
                )
            for version in range(current + 1, SCHEMA_VERSION + 1):
                db.execute("BEGIN")
                _MIGRATIONS[version](db)
                db.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
                db.execute("COMMIT")
        except BaseException:
            db.close()
            raise
        return db

    @property
    def schema_version(self) -> int:
        with self._lock:
            row = self._db.execute("SELECT MAX(version) FROM schema_version").fetchone()
        return int(row[0])

    def add(self, signal: Signal) -> bool:
        """Store a signal. False when a signal with the same dedup key is already stored."""
        if signal.source not in SIGNAL_SOURCES:
            raise ValueError(f"unknown signal source {signal.source!r}")
        time_text = to_utc_iso(signal.time)
        message = redact(signal.message)[:MAX_MESSAGE_CHARS]
        trace_id = redact(signal.trace_id) if signal.trace_id else None
        code_class = signal.code_class or (
            classify(signal.code) if signal.code is not None else CodeClass.UNKNOWN
        )
        # Without a caller-chosen key, the content is the identity: the same observation
        # at the same instant from the same source is one event.
        dedup_key = signal.dedup_key or (
            f"{signal.source}:{time_text}:{signal.code}:{trace_id or ''}:{message[:200]}"
        )
        with self._lock:
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO signals"
                " (time, source, code, code_class, message, trace_id, http_status, dedup_key)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    time_text,
                    signal.source,
                    signal.code,
                    code_class.value,
                    message,
                    trace_id,
                    signal.http_status,
                    dedup_key,
                ),
            )
            return cursor.rowcount == 1

    def add_many(self, signals: list[Signal]) -> int:
        """Store several signals; returns how many were new."""
        return sum(1 for signal in signals if self.add(signal))

    def recent(self, since: datetime) -> list[Event]:
        """Events at or after `since`, oldest first."""
        return self._select("WHERE time >= ?", (to_utc_iso(since),))

    def all_events(self) -> list[Event]:
        """Every event, oldest first."""
        return self._select("", ())

    def prune(self, before: datetime, keep_classes: frozenset[CodeClass] | None = None) -> int:
        """Delete events older than `before`, except those of `keep_classes`.

        By default restriction and lock events are kept forever: they are the strikes.
        """
        keep = (
            keep_classes
            if keep_classes is not None
            else frozenset({CodeClass.RESTRICTED, CodeClass.LOCKED})
        )
        marks = ",".join("?" for _ in keep) or "''"
        with self._lock:
            cursor = self._db.execute(
                f"DELETE FROM signals WHERE time < ? AND code_class NOT IN ({marks})",
                (to_utc_iso(before), *(c.value for c in keep)),
            )
            return cursor.rowcount

    def _select(self, where: str, params: tuple[str, ...]) -> list[Event]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, time, source, code, code_class, message, trace_id, dedup_key,"
                f" http_status FROM signals {where} ORDER BY time, id",
                params,
            ).fetchall()
        return [
            Event(
                id=int(row[0]),
                time=_from_utc_iso(row[1]),
                source=str(row[2]),
                code=None if row[3] is None else int(row[3]),
                code_class=_code_class_of(row[4], None if row[3] is None else int(row[3])),
                message=str(row[5]),
                trace_id=row[6],
                dedup_key=str(row[7]),
                http_status=None if row[8] is None else int(row[8]),
            )
            for row in rows
        ]

    def get_state(self, key: str) -> str | None:
        """The JSON text stored under `key`, or None."""
        with self._lock:
            row = self._db.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_state(self, key: str, value_json: str) -> None:
        """Store JSON text under `key` (the caller serialises; nothing here parses it)."""
        with self._lock:
            self._db.execute(
                "INSERT INTO state (key, value) VALUES (?, ?)"
                " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, value_json),
            )

    def delete_state(self, key: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM state WHERE key = ?", (key,))

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> EventStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
