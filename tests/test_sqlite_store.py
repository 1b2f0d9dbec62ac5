"""What glmtray's SQLite stores share: the write-ahead log stays small on disk after a
burst of writes, and a failed transaction leaves nothing behind."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from glmtray.sqlite_store import WAL_SIZE_LIMIT, in_transaction, use_wal


def open_db(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None)
    use_wal(db)
    db.execute("CREATE TABLE IF NOT EXISTS t (x BLOB)")
    return db


def test_the_log_shrinks_back_after_a_burst(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    db = open_db(path)
    in_transaction(db, lambda d: d.executemany("INSERT INTO t VALUES (?)", [(b"x" * 4096,)] * 1500))
    wal = Path(f"{path}-wal")
    assert wal.stat().st_size > 4 * WAL_SIZE_LIMIT  # the burst is in the log
    db.execute("PRAGMA wal_checkpoint(PASSIVE)")
    in_transaction(db, lambda d: d.execute("INSERT INTO t VALUES (x'00')"))
    assert wal.stat().st_size <= WAL_SIZE_LIMIT
    db.close()


def test_a_failed_transaction_is_rolled_back(tmp_path: Path) -> None:
    db = open_db(tmp_path / "store.sqlite3")

    def half_then_fail(d: sqlite3.Connection) -> None:
        d.execute("INSERT INTO t VALUES (x'01')")
        raise RuntimeError("stop")

    with pytest.raises(RuntimeError):
        in_transaction(db, half_then_fail)
    assert db.execute("SELECT count(*) FROM t").fetchone()[0] == 0
    assert not db.in_transaction
