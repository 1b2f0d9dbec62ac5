"""The local usage history: every good fetch's quota windows, per account, in one SQLite file.

What is kept, per window and reading: when it was read, the share used, the counts where the
platform gives them, and the reset moment. One refresh a minute for 90 days must stay small:
- a run of equal readings keeps its first and last point and one every `RUN_STEP` between
  (an idle night is a dozen rows): what reads a span back (a forecast's look-back, the
  24-hour chart) finds the run's value near the span's start, and a reading after a
  longer gap (the tray was not running) never moves the one before the gap across it;
- points older than two days are thinned to the last one per 5 minutes, older than a week
  to the last one per 30 minutes, each within its window period, so the high point just
  before a reset survives (shares only grow within a period: the last is the highest);
- nothing older than 90 days is kept, and an account never holds more than `MAX_POINTS`.
Times are kept in whole seconds (a reading's `at` comes back without its microseconds).

The history is an extra, so the file must never stop a refresh:
- busy (the CLI writing its own reading, a backup tool): SQLite waits `busy_timeout`, then
  this reading is skipped (logged) and the next one tried as usual;
- damaged: set aside once as `<name>.corrupt-<time>` (with its WAL) and started afresh;
- unusable (an unwritable folder, a file from a newer glmtray): the history is kept in
  memory for this run, and the file is left as it is.
No method raises for any of these: writes return False, reads an empty list.

One store object per account is shared by the platform worker's recorder and the readers
(forecasts, the history window's jobs), which may run on other threads: a lock serialises
every use of its connection.
"""

from __future__ import annotations

import logging
import math
import sqlite3
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TypeVar

from glmtray.sqlite_store import (
    FileDamaged,
    NewerSchema,
    Trouble,
    in_transaction,
    trouble_of,
    use_wal,
)

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
RETENTION = timedelta(days=90)
THINNING: tuple[tuple[timedelta, int], ...] = (
    (timedelta(days=2), 5 * 60),
    (timedelta(days=7), 30 * 60),
)
"""(age, bucket seconds): points older than `age` keep the last one per bucket and period.
Two days at full resolution cover the 24-hour view and every forecast's look-back."""
MAX_POINTS = 200_000
"""A hard cap per account, oldest points first, whatever the windows (the thinning keeps a
normal account near 25,000 at most: 3 windows, each changing every minute)."""
RUN_STEP = timedelta(hours=1)
"""The longest stretch a run of equal readings is kept as one step (see the module's notes).
Kept points are then at most this far apart, so the extra hour a forecast reads before its
look-back (forecast.ANCHOR_SLACK) always holds one."""
MAINTENANCE_EVERY = timedelta(hours=1)
DEFAULT_BUSY_TIMEOUT_S = 2.0

_T = TypeVar("_T")


@dataclass(frozen=True)
class HistoryRow:
    at: datetime
    """Aware UTC: when the fetch happened (whole seconds once stored)."""
    window_key: str
    """The window's stable id (`QuotaWindow.id`: "five_hour", "weekly", "monthly_tools"...)."""
    label: str
    """The window's display name at that time."""
    share: float
    """0..1 used."""
    used: float | None
    limit: float | None
    resets_at: datetime | None




def _seconds(moment: datetime) -> int:
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)
    return math.floor(aware.timestamp())


def _moment(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, tz=timezone.utc)


def _number(value: float | None) -> float | None:
    return float(value) if value is not None and math.isfinite(value) else None


_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS series (
        id INTEGER PRIMARY KEY,
        account TEXT NOT NULL,
        window_key TEXT NOT NULL,
        label TEXT NOT NULL,
        UNIQUE (account, window_key, label)
    )""",
    # Integer seconds and a series id instead of text per row: about 30 bytes a point.
    """CREATE TABLE IF NOT EXISTS points (
        series INTEGER NOT NULL,
        at INTEGER NOT NULL,
        share REAL NOT NULL,
        used REAL,
        lim REAL,
        resets_at INTEGER,
        PRIMARY KEY (series, at)
    ) WITHOUT ROWID""",
)
_TABLES = frozenset({"series", "points"})

_THIN = """
    DELETE FROM points WHERE series = ? AND at < ? AND EXISTS (
        SELECT 1 FROM points AS later
        WHERE later.series = points.series
          AND later.at > points.at
          AND later.at < (points.at / ? + 1) * ?
          AND later.at < ?
          AND later.resets_at IS points.resets_at
    )"""


def _create_tables(db: sqlite3.Connection) -> None:
    for statement in _SCHEMA:
        db.execute(statement)
    db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")


class HistoryStore:
    """One account's readings in the shared history file (or in memory: ":memory:")."""

    def __init__(
        self, path: Path | str, account: str, *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT_S
    ) -> None:
        if not isinstance(account, str) or not account.strip():
            raise ValueError("a history store needs an account name")
        self.account = account
        self.path = str(path)
        self.busy_timeout = busy_timeout
        self.set_aside_path: Path | None = None
        """Where a damaged file was moved, when that happened."""
        self.memory_only = self.path == ":memory:"
        """True for the demo, and for a file that could not be used (kept in memory)."""
        self._lock = threading.RLock()
        self._db: sqlite3.Connection | None = None
        self._series: dict[tuple[str, str], int] = {}
        self._closed = False
        self._maintained_at: datetime | None = None
        with self._lock:
            self._connection()

    # -- opening and recovery ------------------------------------------------------
    def _connection(self) -> sqlite3.Connection | None:
        """The open connection, opened (or recovered) on demand; None while busy/closed."""
        if self._closed:
            return None
        if self._db is not None:
            return self._db
        try:
            self._db = self._open(self.path)
        except sqlite3.Error as error:
            failure = trouble_of(error)
            if failure is Trouble.BUSY:
                log.warning("usage history busy at opening; tried again at the next reading")
                return None
            if failure is Trouble.DAMAGED and not self.memory_only:
                self._set_aside(str(error))
                try:
                    self._db = self._open(self.path)
                except (sqlite3.Error, OSError) as again:
                    self._fall_back_to_memory(str(again))
            else:
                self._fall_back_to_memory(str(error))
        except OSError as error:  # the data folder cannot be made or written
            self._fall_back_to_memory(str(error))
        self._series.clear()
        return self._db

    def _open(self, path: str) -> sqlite3.Connection:
        memory = path == ":memory:"
        if not memory:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(
            path, timeout=self.busy_timeout, check_same_thread=False, isolation_level=None
        )
        try:
            # Read before anything is written: a newer glmtray's file must stay untouched.
            version = int(db.execute("PRAGMA user_version").fetchone()[0])
            if version > SCHEMA_VERSION:
                raise NewerSchema(
                    f"schema {version} is newer than this glmtray's ({SCHEMA_VERSION})"
                )
            names = {
                str(r[0]) for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
            if not names:
                # Thinning deletes often: freed pages go back to the file system at
                # maintenance. Only possible before the first table (and before WAL).
                db.execute("PRAGMA auto_vacuum=INCREMENTAL")
            if not memory:
                use_wal(db)
                verdict = db.execute("PRAGMA quick_check").fetchall()
                if verdict != [("ok",)]:
                    first = str(verdict[0][0]) if verdict else "no answer"
                    raise FileDamaged(f"integrity check failed: {first[:200]}")
            if version != SCHEMA_VERSION or not names >= _TABLES:
                in_transaction(db, _create_tables)
        except BaseException:
            db.close()
            raise
        return db

    def _set_aside(self, reason: str) -> None:
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
        source = Path(self.path)
        target = source.with_name(f"{source.name}.corrupt-{stamp}")
        serial = 1
        while target.exists():
            serial += 1
            target = source.with_name(f"{source.name}.corrupt-{stamp}-{serial}")
        try:
            for suffix in ("", "-wal", "-shm"):
                sibling = Path(self.path + suffix)
                if sibling.exists():
                    # The WAL goes with its database: left behind, it could be replayed
                    # into the fresh file.
                    sibling.replace(Path(str(target) + suffix))
        except OSError as error:
            log.warning("damaged usage history could not be set aside: %s", error)
            return
        self.set_aside_path = target
        log.warning("usage history damaged (%s); set aside at %s", reason, target)

    def _fall_back_to_memory(self, reason: str) -> None:
        log.warning("usage history file unusable (%s); kept in memory for this run", reason)
        self.memory_only = True
        self.path = ":memory:"
        self._db = self._open(":memory:")

    def _run(
        self, operation: Callable[[sqlite3.Connection], _T], default: _T, *, write: bool
    ) -> _T:
        """Run `operation` (in one transaction when it writes); on trouble, log and return
        `default`, after one recovery for a damaged file or a dropped table."""
        with self._lock:
            for attempt in range(2):
                db = self._connection()
                if db is None:
                    return default
                try:
                    return in_transaction(db, operation) if write else operation(db)
                except sqlite3.Error as error:
                    failure = trouble_of(error)
                    if failure is Trouble.BUSY:
                        log.warning("usage history busy; this %s is skipped", _what(write))
                        return default
                    if attempt == 0 and failure in (Trouble.DAMAGED, Trouble.MISSING_TABLE):
                        db.close()
                        self._db = None
                        if failure is Trouble.DAMAGED and not self.memory_only:
                            self._set_aside(str(error))
                        continue
                    log.warning("usage history unusable for this %s: %s", _what(write), error)
                    return default
            return default

    # -- writing -------------------------------------------------------------------
    def add(self, at: datetime, rows: Sequence[HistoryRow]) -> bool:
        """Keep `rows`, each at its own `at` (the recorder gives them all the fetch's
        moment); `at` is "now" for retention and thinning, which run at most hourly.
        False when nothing could be written (busy, closed)."""
        items = [row for row in rows if math.isfinite(row.share)]

        def write(db: sqlite3.Connection) -> bool:
            for row in items:
                self._add_one(db, row)
            return True

        stored = self._run(write, False, write=True) if items else True
        if stored and (
            self._maintained_at is None or abs(at - self._maintained_at) >= MAINTENANCE_EVERY
        ):
            self.maintain(at)
        return stored

    def _add_one(self, db: sqlite3.Connection, row: HistoryRow) -> None:
        series = self._series_id(db, row.window_key, row.label)
        at = _seconds(row.at)
        values = (
            float(row.share),
            _number(row.used),
            _number(row.limit),
            _seconds(row.resets_at) if row.resets_at is not None else None,
        )
        last = db.execute(
            "SELECT at, share, used, lim, resets_at FROM points WHERE series = ?"
            " ORDER BY at DESC LIMIT 2",
            (series,),
        ).fetchall()
        if (
            len(last) == 2
            and last[0][0] < at
            and at - last[1][0] <= RUN_STEP.total_seconds()
            and all(tuple(r[1:]) == values for r in last)
        ):
            # The third equal reading in a row, within a step of the run's previous point:
            # move the run's end instead of adding a point.
            db.execute(
                "UPDATE points SET at = ? WHERE series = ? AND at = ?", (at, series, last[0][0])
            )
            return
        db.execute(
            "INSERT OR REPLACE INTO points (series, at, share, used, lim, resets_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (series, at, *values),
        )

    def _series_id(self, db: sqlite3.Connection, window_key: str, label: str) -> int:
        known = self._series.get((window_key, label))
        if known is not None:
            return known
        params = (self.account, window_key, label)
        found = db.execute(
            "SELECT id FROM series WHERE account = ? AND window_key = ? AND label = ?", params
        ).fetchone()
        if found is None:
            cursor = db.execute(
                "INSERT INTO series (account, window_key, label) VALUES (?, ?, ?)", params
            )
            series = int(cursor.lastrowid or 0)
        else:
            series = int(found[0])
        self._series[(window_key, label)] = series
        return series

    def maintain(self, now: datetime) -> int:
        """Drop what is past retention, thin old points, enforce the cap; the points deleted."""
        now_s = _seconds(now)

        def work(db: sqlite3.Connection) -> int:
            ids = [
                int(r[0])
                for r in db.execute("SELECT id FROM series WHERE account = ?", (self.account,))
            ]
            deleted = 0
            for series in ids:
                cutoff = now_s - int(RETENTION.total_seconds())
                deleted += db.execute(
                    "DELETE FROM points WHERE series = ? AND at < ?", (series, cutoff)
                ).rowcount
                for age, bucket in THINNING:
                    before = now_s - int(age.total_seconds())
                    deleted += db.execute(_THIN, (series, before, bucket, bucket, before)).rowcount
            deleted += self._cap(db, ids)
            db.execute(
                "DELETE FROM series WHERE account = ? AND NOT EXISTS"
                " (SELECT 1 FROM points WHERE points.series = series.id)",
                (self.account,),
            )
            return deleted

        deleted = self._run(work, 0, write=True)
        with self._lock:
            self._series.clear()  # emptied series were removed
            self._maintained_at = now
            db = self._connection()
            if db is not None and deleted:
                try:
                    db.executescript("PRAGMA incremental_vacuum;")  # steps to the end
                except sqlite3.Error as error:
                    log.warning("usage history could not give freed space back: %s", error)
        return deleted

    @staticmethod
    def _cap(db: sqlite3.Connection, ids: list[int]) -> int:
        if not ids:
            return 0
        marks = ",".join("?" * len(ids))
        count = int(
            db.execute(f"SELECT COUNT(*) FROM points WHERE series IN ({marks})", ids).fetchone()[0]
        )
        if count <= MAX_POINTS:
            return 0
        oldest_kept = db.execute(
            f"SELECT at FROM points WHERE series IN ({marks}) ORDER BY at LIMIT 1 OFFSET ?",
            (*ids, count - MAX_POINTS),
        ).fetchone()
        return int(
            db.execute(
                f"DELETE FROM points WHERE series IN ({marks}) AND at < ?",
                (*ids, int(oldest_kept[0])),
            ).rowcount
        )

    # -- reading -------------------------------------------------------------------
    def read(
        self, since: datetime, until: datetime, window_key: str | None = None
    ) -> list[HistoryRow]:
        """This account's readings with `since <= at <= until` (of one window when
        `window_key` is given), ordered by time (then window); empty when the file cannot be
        read right now."""
        params: tuple[str | int, ...] = (self.account, _seconds(since), _seconds(until))
        one_window = ""
        if window_key is not None:
            one_window, params = " AND s.window_key = ?", (*params, window_key)

        def query(db: sqlite3.Connection) -> list[HistoryRow]:
            cursor = db.execute(
                "SELECT p.at, s.window_key, s.label, p.share, p.used, p.lim, p.resets_at"
                " FROM points AS p JOIN series AS s ON s.id = p.series"
                f" WHERE s.account = ? AND p.at >= ? AND p.at <= ?{one_window}"
                " ORDER BY p.at, s.window_key",
                params,
            )
            resets_moments: dict[int, datetime] = {}  # a period's many readings share one

            def reset_of(value: int | None) -> datetime | None:
                if value is None:
                    return None
                moment = resets_moments.get(value)
                if moment is None:
                    moment = resets_moments[value] = _moment(int(value))
                return moment

            return [
                HistoryRow(
                    at=_moment(int(at)),
                    window_key=str(key),
                    label=str(label),
                    share=float(share),
                    used=None if used is None else float(used),
                    limit=None if lim is None else float(lim),
                    resets_at=reset_of(resets),
                )
                for at, key, label, share, used, lim, resets in cursor
            ]

        return self._run(query, [], write=False)

    def point_count(self) -> int:
        """How many points this account holds (for the bounds' tests and the bench)."""

        def count(db: sqlite3.Connection) -> int:
            row = db.execute(
                "SELECT COUNT(*) FROM points JOIN series ON series.id = points.series"
                " WHERE series.account = ?",
                (self.account,),
            ).fetchone()
            return int(row[0])

        return self._run(count, 0, write=False)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._db is not None:
                self._db.close()
                self._db = None


def _what(write: bool) -> str:
    return "reading's record" if write else "read"
