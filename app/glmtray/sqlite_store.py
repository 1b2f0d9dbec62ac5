"""What glmtray's two SQLite files (the coding events with the risk history, and the usage
history) share: reading what kind of trouble an sqlite3 error is (each store waits out a
busy file, sets a damaged one aside and starts afresh, and carries on past anything else),
and the write transaction."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from enum import Enum
from typing import TypeVar

T = TypeVar("T")


class Trouble(Enum):
    BUSY = "busy"
    DAMAGED = "damaged"
    MISSING_TABLE = "missing table"
    OTHER = "other"


class FileDamaged(sqlite3.DatabaseError):
    """A file that opened but failed its integrity check."""


class NewerSchema(sqlite3.DatabaseError):
    """A file written by a newer glmtray: left alone."""


# SQLite's primary result codes (https://www.sqlite.org/rescode.html).
SQLITE_BUSY, SQLITE_LOCKED, SQLITE_CORRUPT, SQLITE_NOTADB = 5, 6, 11, 26


def trouble_of(error: sqlite3.Error) -> Trouble:
    """`sqlite3.DatabaseError` covers both a lock and a damaged file, so the class alone
    cannot tell them apart: the result code (Python 3.11+) does, else the message."""
    if isinstance(error, FileDamaged):
        return Trouble.DAMAGED
    text = str(error).lower()
    if "no such table" in text:
        return Trouble.MISSING_TABLE
    code = getattr(error, "sqlite_errorcode", None)
    if isinstance(code, int):
        primary = code & 0xFF
        if primary in (SQLITE_BUSY, SQLITE_LOCKED):
            return Trouble.BUSY
        if primary in (SQLITE_CORRUPT, SQLITE_NOTADB):
            return Trouble.DAMAGED
        return Trouble.OTHER
    if "locked" in text or "busy" in text:
        return Trouble.BUSY
    if "malformed" in text or "not a database" in text or "corrupt" in text:
        return Trouble.DAMAGED
    return Trouble.OTHER


WAL_SIZE_LIMIT = 1024 * 1024
"""Bytes the write-ahead log keeps after a checkpoint: without a limit it stays as large as
its largest moment (several MB after a busy hour), more than the data itself."""


def use_wal(db: sqlite3.Connection) -> None:
    """Write-ahead logging: a reader (the CLI, the history window) never waits for the
    tray's writes, nor the other way round; NORMAL sync is safe with WAL and spares an
    fsync per write."""
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")


def in_transaction(db: sqlite3.Connection, operation: Callable[[sqlite3.Connection], T]) -> T:
    """`operation` in one write transaction, rolled back if it raises. IMMEDIATE takes the
    write lock first, so a lock held elsewhere shows here (where the busy timeout waits for
    it) rather than halfway through the writes."""
    db.execute("BEGIN IMMEDIATE")
    try:
        outcome = operation(db)
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
    return outcome
