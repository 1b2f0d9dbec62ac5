"""Local event store: every risk-control, throttling and account signal glmtray has seen.

One SQLite file in the app's data folder holds the history of every account the user
signs in with; each `EventStore` object belongs to one account (`Account.username`, e.g.
"global:default") and reads and writes only that account's signals and state, so a
china key never shows the strikes of a global key. The history is what the risk monitor
turns into episodes and strikes, so it must survive restarts and must not grow a
duplicate each time the same transcript line is read again (after a file was replaced,
or after the reader's offsets were lost): every signal carries a dedup key and the key
is unique per account.

Two small key-value tables keep runtime state that belongs with the history:
- per account: the last risk-flag reading, "notice already sent" marks, limits seen;
- shared: the transcript reader's offsets. The transcripts on disk are read once,
  whatever account is active; what they reveal goes to the account of the store that
  read them. The offsets are written in the same transaction as those signals
  (`add_many(..., shared_state=...)`), so a failed write never skips a signal.

The file has to keep working when things around it go wrong:
- another program holding a lock (a backup tool, a second glmtray for the CLI): wait
  (SQLite's busy timeout) and retry a bounded number of times, then raise
  `EventStoreBusy`. A locked file is never treated as damaged;
- a file that is not a database or fails its integrity check, at open or later: it is
  set aside once (renamed to `<name>.corrupt-<time>`, with its WAL), a fresh history
  starts, and `notice` / `set_aside_path` say where the old file is;
- a table missing (dropped by a tool): recreated; a row that cannot be read: skipped.

Nothing here ever stores an API key: messages and trace ids go through `redact` first.
The store is used from one worker thread at a time, but it may be created on another
thread (the app builds it at start-up), hence `check_same_thread=False` and a lock.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time as time_module
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal, TypeVar

from glmtray.i18n import _
from glmtray.platform.codes import CodeClass, classify
from glmtray.redact import redact
from glmtray.sqlite_store import (
    FileDamaged,
    NewerSchema,
    Trouble,
    in_transaction,
    trouble_of,
    use_wal,
)

log = logging.getLogger(__name__)

SignalSource = Literal["risk_flag", "account_endpoint", "transcript", "meter"]
SIGNAL_SOURCES: frozenset[str] = frozenset({"risk_flag", "account_endpoint", "transcript", "meter"})

SCHEMA_VERSION = 2

# Messages come from the platform and from transcripts: cap them so one odd line cannot
# bloat the database (the useful part of a platform message is its first sentence).
MAX_MESSAGE_CHARS = 2000

# How long one statement waits for another program's lock, and how many more times an
# operation is tried after that wait ran out: a few seconds each, on the worker thread.
DEFAULT_BUSY_TIMEOUT_S = 3.0
DEFAULT_BUSY_RETRIES = 2
_RETRY_PAUSE_S = 0.1

# The state keys that version 1 kept in its single state table but that belong to no
# account: the transcript reader's offsets (risk_watch.OFFSETS_STATE_KEY).
_SHARED_STATE_KEYS_V1 = ("transcripts.offsets",)

_T = TypeVar("_T")


class EventStoreError(Exception):
    """The event store cannot do what was asked; the message says why, for the UI."""


class EventStoreBusy(EventStoreError):
    """Another program kept the database locked for longer than the store waits."""


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
    """Fixed-width UTC text, so that text order in SQLite is time order.

    Raises OverflowError or ValueError for a time that has no UTC equivalent (a year-1
    date east of Greenwich).
    """
    if moment.tzinfo is None:
        # A naive time is taken as UTC: every producer in glmtray works in UTC.
        moment = moment.replace(tzinfo=timezone.utc)
    # isoformat pads the year to four digits on every platform (strftime's %Y does not).
    naive = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return naive.isoformat(timespec="microseconds") + "+00:00"


def _from_utc_iso(text: str) -> datetime:
    if len(text) != 32 or not text.endswith("+00:00"):
        raise ValueError(f"not a stored time: {text[:40]!r}")
    return datetime.fromisoformat(text)


def _code_class_of(text: str | None, code: int | None) -> CodeClass:
    try:
        return CodeClass(text) if text else classify(code)
    except ValueError:
        return classify(code)






# --- schema ----------------------------------------------------------------------------

_MIGRATIONS: dict[int, Callable[[sqlite3.Connection, str], None]] = {}


def _migrate_to_1(db: sqlite3.Connection, account: str) -> None:
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


_SIGNALS_V2 = """
    CREATE TABLE IF NOT EXISTS {name} (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        account TEXT NOT NULL,
        time TEXT NOT NULL,
        source TEXT NOT NULL,
        code INTEGER,
        code_class TEXT NOT NULL,
        message TEXT NOT NULL DEFAULT '',
        trace_id TEXT,
        http_status INTEGER,
        dedup_key TEXT NOT NULL,
        UNIQUE (account, dedup_key)
    )
"""
_STATE_V2 = """
    CREATE TABLE IF NOT EXISTS {name} (
        account TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (account, key)
    )
"""
_SHARED_STATE_V2 = (
    "CREATE TABLE IF NOT EXISTS shared_state (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
)
_SIGNALS_INDEX_V2 = "CREATE INDEX IF NOT EXISTS signals_account_time ON signals(account, time)"


def _migrate_to_2(db: sqlite3.Connection, account: str) -> None:
    """Every signal and state value gets an account.

    Version 1 kept one history for whatever key was signed in. Which account wrote each
    row was never recorded, so the rows are given to the account that opens the file
    first after the upgrade: that is the account configured when glmtray was upgraded,
    the one most likely to have produced the history (glmtray watches one account at a
    time). Guessing wrong costs one account a stale history; dropping the rows would cost
    the right account its strike count, which is what the monitor exists to keep.
    """
    if "account" in _columns_of(db, "signals"):
        # Version 2 tables under a lost version record (a table was dropped and made
        # again): the rows already have their accounts, keep them.
        _create_missing_tables(db)
        return
    db.execute(_SIGNALS_V2.format(name="signals_v2"))
    db.execute(
        "INSERT INTO signals_v2 (id, account, time, source, code, code_class, message,"
        " trace_id, http_status, dedup_key)"
        " SELECT id, ?, time, source, code, code_class, message, trace_id, http_status,"
        " dedup_key FROM signals",
        (account,),
    )
    db.execute("DROP TABLE signals")
    db.execute("ALTER TABLE signals_v2 RENAME TO signals")
    db.execute(_SIGNALS_INDEX_V2)
    db.execute(_STATE_V2.format(name="state_v2"))
    db.execute(_SHARED_STATE_V2)
    marks = ",".join("?" for _ in _SHARED_STATE_KEYS_V1)
    db.execute(
        f"INSERT INTO shared_state (key, value) SELECT key, value FROM state WHERE key IN ({marks})",
        _SHARED_STATE_KEYS_V1,
    )
    db.execute(
        "INSERT INTO state_v2 (account, key, value)"
        f" SELECT ?, key, value FROM state WHERE key NOT IN ({marks})",
        (account, *_SHARED_STATE_KEYS_V1),
    )
    db.execute("DROP TABLE state")
    db.execute("ALTER TABLE state_v2 RENAME TO state")


def _columns_of(db: sqlite3.Connection, table: str) -> set[str]:
    return {str(row[1]) for row in db.execute(f"PRAGMA table_info({table})")}


_MIGRATIONS[1] = _migrate_to_1
_MIGRATIONS[2] = _migrate_to_2

_TABLES = ("schema_version", "signals", "state", "shared_state")


def _create_missing_tables(db: sqlite3.Connection) -> None:
    """The current schema's tables, for a file that lost some after it was migrated."""
    db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    if db.execute("SELECT COUNT(*) FROM schema_version").fetchone()[0] == 0:
        db.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))
    db.execute(_SIGNALS_V2.format(name="signals"))
    db.execute(_SIGNALS_INDEX_V2)
    db.execute(_STATE_V2.format(name="state"))
    db.execute(_SHARED_STATE_V2)


_INSERT_SIGNAL = (
    "INSERT OR IGNORE INTO signals (account, time, source, code, code_class, message,"
    " trace_id, http_status, dedup_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_UPSERT_SHARED = (
    "INSERT INTO shared_state (key, value) VALUES (?, ?)"
    " ON CONFLICT(key) DO UPDATE SET value = excluded.value"
)

SignalRow = tuple[str, str, str, "int | None", str, str, "str | None", "int | None", str]


class EventStore:
    """One account's signals and state in the shared SQLite database."""

    def __init__(
        self,
        path: Path | str,
        account: str,
        *,
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT_S,
        busy_retries: int = DEFAULT_BUSY_RETRIES,
    ) -> None:
        """Raises `EventStoreBusy` when the file stays locked, `EventStoreError` when it
        cannot be opened at all (an unwritable folder, a full disk)."""
        if not isinstance(account, str) or not account.strip():
            raise ValueError("an event store needs an account name")
        self.account = account
        self.set_aside_path: Path | None = None
        """Where an unreadable database file was moved, when that happened."""
        self.skipped_rows = 0
        """Stored rows that could not be read back (skipped, not fatal)."""
        self._notice: str | None = None
        self._lock = threading.Lock()
        self._path = str(path)
        self._memory = self._path == ":memory:"
        self._busy_timeout = busy_timeout
        self._busy_retries = max(0, busy_retries)
        self._db = self._open()

    # --- opening and recovery -----------------------------------------------------

    @property
    def notice(self) -> str | None:
        """A sentence for the user about a history that had to be set aside, or None."""
        return self._notice

    def take_notice(self) -> str | None:
        """`notice`, once: the next call returns None until something else happens."""
        with self._lock:
            notice, self._notice = self._notice, None
        return notice

    def _open(self) -> sqlite3.Connection:
        attempt = 0
        while True:
            try:
                return self._connect_and_migrate()
            except sqlite3.Error as error:
                failure = trouble_of(error)
                if failure is Trouble.BUSY:
                    if attempt < self._busy_retries:
                        attempt += 1
                        time_module.sleep(_RETRY_PAUSE_S * attempt)
                        continue
                    raise self._busy_error() from None
                if not self._memory and (
                    failure is Trouble.DAMAGED or isinstance(error, NewerSchema)
                ):
                    return self._start_afresh(str(error))
                raise EventStoreError(f"the risk history could not be opened: {error}") from None
            except OSError as error:  # the data folder cannot be made or read
                raise EventStoreError(f"the risk history could not be opened: {error}") from None

    def _start_afresh(self, reason: str) -> sqlite3.Connection:
        """Set the unreadable file aside and open a fresh one in its place."""
        try:
            self._set_aside(reason)
            return self._connect_and_migrate()
        except (OSError, sqlite3.Error) as error:
            raise EventStoreError(
                f"the risk history could not be started afresh: {error}"
            ) from None

    def _connect_and_migrate(self) -> sqlite3.Connection:
        if not self._memory:
            Path(self._path).parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(
            self._path, timeout=self._busy_timeout, check_same_thread=False, isolation_level=None
        )
        try:
            use_wal(db)
            if not self._memory:
                # A damaged file can open fine and fail only on the page it damaged:
                # check it now rather than lose the monitor on a later refresh.
                verdict = db.execute("PRAGMA quick_check").fetchall()
                if verdict != [("ok",)]:
                    first = str(verdict[0][0]) if verdict else "no answer"
                    raise FileDamaged(f"integrity check failed: {first[:200]}")
            self._migrate(db)
        except BaseException:
            db.close()
            raise
        return db

    def _migrate(self, db: sqlite3.Connection) -> None:
        if self._version_of(db) == SCHEMA_VERSION and self._tables_present(db):
            return  # the usual case: no write lock needed to open
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            current = self._version_of(db)
            if current > SCHEMA_VERSION:
                raise NewerSchema(
                    f"schema {current} is newer than this glmtray's ({SCHEMA_VERSION})"
                )
            for version in range(current + 1, SCHEMA_VERSION + 1):
                _MIGRATIONS[version](db, self.account)
                db.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
            _create_missing_tables(db)
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    @staticmethod
    def _version_of(db: sqlite3.Connection) -> int:
        try:
            row = db.execute("SELECT MAX(version) FROM schema_version").fetchone()
        except sqlite3.OperationalError as error:
            if trouble_of(error) is Trouble.MISSING_TABLE:
                return 0
            raise
        return int(row[0]) if row and row[0] is not None else 0

    @staticmethod
    def _tables_present(db: sqlite3.Connection) -> bool:
        names = {
            str(row[0]) for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        return names.issuperset(_TABLES)

    def _busy_error(self) -> EventStoreBusy:
        waited = self._busy_timeout * (self._busy_retries + 1)
        return EventStoreBusy(
            f"the risk history is locked by another program (waited {waited:.0f} s);"
            " it is kept as it is and read again at the next refresh"
        )

    def _set_aside(self, reason: str) -> None:
        """Move the unreadable file (and its WAL) aside, so a fresh one can start."""
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
        source = Path(self._path)
        target = source.with_name(f"{source.name}.corrupt-{stamp}")
        serial = 1
        while target.exists():  # never over an older one set aside in the same second
            serial += 1
            target = source.with_name(f"{source.name}.corrupt-{stamp}-{serial}")
        for suffix in ("", "-wal", "-shm"):
            sibling = Path(self._path + suffix)
            if sibling.exists():
                # The WAL goes with its database: left behind, its frames could be
                # replayed into the fresh file.
                sibling.replace(Path(str(target) + suffix))
        self.set_aside_path = target
        self._notice = _(
            "The risk history could not be read and starts afresh; the old file is kept at {path}"
        ).format(path=target)
        log.warning("event store set aside (%s): %s", reason, target)

    def _run(self, operation: Callable[[sqlite3.Connection], _T], *, write: bool) -> _T:
        """Run `operation` (in one transaction when it writes), recovering from what can
        be recovered: a lock (wait and retry), a missing table (recreate it), a damaged
        file (set it aside once and start afresh)."""
        busy_attempts = 0
        repair_tables = repaired_tables = False
        with self._lock:
            while True:
                try:
                    if repair_tables:
                        log.warning("event store: recreating missing tables")
                        in_transaction(self._db, _create_missing_tables)
                        repair_tables = False
                    if write:
                        return in_transaction(self._db, operation)
                    return operation(self._db)
                except sqlite3.Error as error:
                    failure = trouble_of(error)
                    if failure is Trouble.BUSY:
                        if busy_attempts < self._busy_retries:
                            busy_attempts += 1
                            time_module.sleep(_RETRY_PAUSE_S * busy_attempts)
                            continue
                        raise self._busy_error() from None
                    if failure is Trouble.MISSING_TABLE and not repaired_tables:
                        repair_tables = repaired_tables = True
                        continue
                    if (
                        failure is Trouble.DAMAGED
                        and not self._memory
                        and self.set_aside_path is None
                    ):
                        self._db.close()
                        self._db = self._start_afresh(str(error))
                        continue
                    raise EventStoreError(f"the risk history could not be used: {error}") from None

    # --- signals --------------------------------------------------------------------

    @property
    def schema_version(self) -> int:
        return self._run(self._version_of, write=False)

    def add(self, signal: Signal) -> bool:
        """Store a signal. False when a signal with the same dedup key is already stored.

        Raises ValueError for an unknown source or a time that cannot be stored."""
        row = self._row_of(signal)
        return self._run(lambda db: db.execute(_INSERT_SIGNAL, row).rowcount == 1, write=True)

    def add_many(
        self, signals: Iterable[Signal], *, shared_state: Mapping[str, str] | None = None
    ) -> int:
        """Store several signals, then `shared_state`, in one transaction: either all of
        it is stored or none (so offsets saved with the signals never run ahead of them).
        Returns how many signals were new. A signal whose time cannot be stored is
        skipped and logged: it could never be stored, and must not hold up the others."""
        rows: list[SignalRow] = []
        for signal in signals:
            try:
                rows.append(self._row_of(signal))
            except (OverflowError, ValueError) as error:
                if signal.source not in SIGNAL_SOURCES:
                    raise
                log.warning("signal skipped, its time cannot be stored: %s", error)
        shared = dict(shared_state or {})
        if not rows and not shared:
            return 0

        def write(db: sqlite3.Connection) -> int:
            added = sum(db.execute(_INSERT_SIGNAL, row).rowcount for row in rows)
            for key, value in shared.items():
                db.execute(_UPSERT_SHARED, (key, value))
            return added

        return self._run(write, write=True)

    def _row_of(self, signal: Signal) -> SignalRow:
        if signal.source not in SIGNAL_SOURCES:
            raise ValueError(f"unknown signal source {signal.source!r}")
        try:
            time_text = to_utc_iso(signal.time)
        except OverflowError as error:
            raise ValueError(f"signal time out of range: {error}") from None
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
        return (
            self.account,
            time_text,
            signal.source,
            signal.code,
            code_class.value,
            message,
            trace_id,
            signal.http_status,
            dedup_key,
        )

    def recent(self, since: datetime) -> list[Event]:
        """This account's events at or after `since`, oldest first."""
        return self._select("AND time >= ?", (to_utc_iso(since),))

    def all_events(self) -> list[Event]:
        """Every event of this account, oldest first."""
        return self._select("", ())

    def prune(self, before: datetime, keep_classes: frozenset[CodeClass] | None = None) -> int:
        """Delete this account's events older than `before`, except those of `keep_classes`.

        By default restriction and lock events are kept forever: they are the strikes.
        """
        keep = (
            keep_classes
            if keep_classes is not None
            else frozenset({CodeClass.RESTRICTED, CodeClass.LOCKED})
        )
        marks = ",".join("?" for _ in keep) or "''"
        params = (self.account, to_utc_iso(before), *(c.value for c in keep))
        return self._run(
            lambda db: (
                db.execute(
                    "DELETE FROM signals WHERE account = ? AND time < ?"
                    f" AND code_class NOT IN ({marks})",
                    params,
                ).rowcount
            ),
            write=True,
        )

    def _select(self, where: str, params: tuple[str, ...]) -> list[Event]:
        rows = self._run(
            lambda db: db.execute(
                "SELECT id, time, source, code, code_class, message, trace_id, dedup_key,"
                f" http_status FROM signals WHERE account = ? {where} ORDER BY time, id",
                (self.account, *params),
            ).fetchall(),
            write=False,
        )
        events: list[Event] = []
        for row in rows:
            try:
                events.append(_event_of(row))
            except (ValueError, TypeError, OverflowError):
                # One damaged row (written by hand, or by a tool) must not hide the rest.
                self.skipped_rows += 1
        return events

    # --- state ----------------------------------------------------------------------

    def get_state(self, key: str) -> str | None:
        """The JSON text this account stored under `key`, or None."""
        row = self._run(
            lambda db: db.execute(
                "SELECT value FROM state WHERE account = ? AND key = ?", (self.account, key)
            ).fetchone(),
            write=False,
        )
        return None if row is None or row[0] is None else str(row[0])

    def set_state(self, key: str, value_json: str) -> None:
        """Store JSON text under `key` for this account (the caller serialises)."""
        self._run(
            lambda db: db.execute(
                "INSERT INTO state (account, key, value) VALUES (?, ?, ?)"
                " ON CONFLICT(account, key) DO UPDATE SET value = excluded.value",
                (self.account, key, value_json),
            ),
            write=True,
        )

    def delete_state(self, key: str) -> None:
        self._run(
            lambda db: db.execute(
                "DELETE FROM state WHERE account = ? AND key = ?", (self.account, key)
            ),
            write=True,
        )

    def get_shared_state(self, key: str) -> str | None:
        """JSON text stored under `key` for every account (the transcript offsets)."""
        row = self._run(
            lambda db: db.execute(
                "SELECT value FROM shared_state WHERE key = ?", (key,)
            ).fetchone(),
            write=False,
        )
        return None if row is None or row[0] is None else str(row[0])

    def set_shared_state(self, key: str, value_json: str) -> None:
        self._run(lambda db: db.execute(_UPSERT_SHARED, (key, value_json)), write=True)

    def delete_shared_state(self, key: str) -> None:
        self._run(
            lambda db: db.execute("DELETE FROM shared_state WHERE key = ?", (key,)), write=True
        )

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> EventStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _event_of(row: tuple[object, ...]) -> Event:
    code = None if row[3] is None else _integer(row[3])
    status = None if row[8] is None else _integer(row[8])
    trace_id = row[6]
    if trace_id is not None and not isinstance(trace_id, str):
        raise TypeError("trace id is not text")
    return Event(
        id=_integer(row[0]),
        time=_from_utc_iso(str(row[1])),
        source=str(row[2]),
        code=code,
        code_class=_code_class_of(row[4] if isinstance(row[4], str) else None, code),
        message=str(row[5]),
        trace_id=trace_id,
        dedup_key=str(row[7]),
        http_status=status,
    )


def _integer(value: object) -> int:
    # SQLite's INTEGER affinity keeps text that does not look like a number as text.
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"not an integer: {str(value)[:40]!r}")
    return value
