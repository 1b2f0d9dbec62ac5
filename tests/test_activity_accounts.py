"""Event store keyed by account: one database file, each account sees only its own
history, risk-flag reading and sent notices; the transcript offsets are shared; a
version-1 file is migrated and its rows go to the first account that opens it."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

from glmtray.activity.events import SCHEMA_VERSION, EventStore, Signal
from glmtray.activity.risk import RiskMonitor, RiskStatus
from glmtray.activity.risk_store import (
    NOTICES_SENT_STATE_KEY,
    RISK_FLAG_STATE_KEY,
    NoticeLedger,
    load_risk_flag,
)
from glmtray.activity.risk_watch import OFFSETS_STATE_KEY, RiskWatcher
from glmtray.credentials import Account
from glmtray.errors import PlatformError
from glmtray.platform.codes import CodeClass
from glmtray.platform.regions import Region

GLOBAL = Account(Region.GLOBAL).username
CHINA = Account(Region.CHINA).username
T0 = datetime(2026, 11, 27, 10, 0, tzinfo=timezone.utc)


def locked_error() -> PlatformError:
    return PlatformError(
        "Account locked", code=1112, http_status=403, platform_message="Account locked"
    )


def transcript_error_line(uuid: str, when: str, text: str) -> str:
    return json.dumps(
        {
            "type": "assistant",
            "uuid": uuid,
            "sessionId": "s1",
            "cwd": "/work/shop",
            "timestamp": when,
            "isApiErrorMessage": True,
            "apiErrorStatus": 429,
            "error": "rate_limit",
            "message": {"model": "<synthetic>", "content": [{"type": "text", "text": text}]},
        }
    )


def test_account_names_are_the_credentials_usernames() -> None:
    assert (GLOBAL, CHINA) == ("global:default", "china:default")


def test_a_lock_recorded_for_global_never_reaches_china(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite3"
    with EventStore(path, GLOBAL) as global_store, EventStore(path, CHINA) as china_store:
        global_watch = RiskWatcher(global_store, None)
        china_watch = RiskWatcher(china_store, None)
        global_report = global_watch.update(
            T0, risk_flag=True, flag_checked=True, account_errors=[locked_error()]
        )
        assert global_report.state.status is RiskStatus.LOCKED
        assert global_report.state.strikes == 1
        assert global_report.notices  # the lock was announced, for global

        china_report = china_watch.update(
            T0 + timedelta(minutes=1), risk_flag=False, flag_checked=True
        )
        assert china_report.state.status is RiskStatus.OK
        assert china_report.state.strikes == 0
        assert china_report.notices == ()
        assert "locked" not in china_report.tooltip_line.lower()
        assert china_store.all_events() == []
        assert china_store.recent(T0 - timedelta(days=1)) == []
        assert china_store.get_state(NOTICES_SENT_STATE_KEY) is None
        flag = load_risk_flag(china_store)
        assert flag is not None and flag.value is False
        # Global's own reading was not overwritten by china's.
        global_flag = load_risk_flag(global_store)
        assert global_flag is not None and global_flag.value is True

        # The same dedup key in both accounts is two events, one each.
        same = Signal(T0, "meter", 1302, "busy", dedup_key="meter:1")
        assert global_store.add(same) and china_store.add(same)
        assert china_store.add(same) is False
        # Pruning china's old events leaves global's alone.
        assert china_store.prune(T0 + timedelta(days=1), keep_classes=frozenset()) == 1
        assert [e.code for e in global_store.all_events()] == [None, 1112, 1302]

    with EventStore(path, GLOBAL) as global_again, EventStore(path, CHINA) as china_again:
        assert {e.code_class for e in global_again.all_events()} == {
            CodeClass.RESTRICTED,
            CodeClass.LOCKED,
            CodeClass.THROTTLED,
        }
        assert china_again.all_events() == []
        sent = json.loads(global_again.get_state(NOTICES_SENT_STATE_KEY) or "[]")
        assert sent and china_again.get_state(NOTICES_SENT_STATE_KEY) is None
        # Each account's ledger is its own: china has sent nothing, global keeps its marks.
        state = RiskMonitor().evaluate(
            global_again.all_events(), load_risk_flag(global_again), T0 + timedelta(minutes=2)
        )
        assert state.strikes == 1
        china_state = RiskMonitor().evaluate(
            china_again.all_events(), load_risk_flag(china_again), T0 + timedelta(minutes=2)
        )
        assert china_state.strikes == 0 and china_state.status is RiskStatus.OK
        assert NoticeLedger(global_again).take_unsent([]) == []


def test_transcripts_are_read_once_and_go_to_the_reading_account(tmp_path: Path) -> None:
    root = tmp_path / "projects"
    session = root / "-work-shop" / "s1.jsonl"
    session.parent.mkdir(parents=True)
    session.write_text(
        transcript_error_line("e1", "2026-11-27T10:00:00Z", "[1313][limited][t-1]") + "\n"
    )
    path = tmp_path / "events.sqlite3"
    with EventStore(path, GLOBAL) as global_store:
        RiskWatcher(global_store, root).update(T0, risk_flag=None, flag_checked=False)
        assert [e.code for e in global_store.all_events()] == [1313]
        offsets = global_store.get_shared_state(OFFSETS_STATE_KEY)
        assert offsets is not None and global_store.get_state(OFFSETS_STATE_KEY) is None

    # Switching to the china key: the line already read stays global's; a new one is china's.
    with session.open("a") as handle:
        handle.write(
            transcript_error_line("e2", "2026-11-27T10:05:00Z", "[1302][busy][t-2]") + "\n"
        )
    with EventStore(path, CHINA) as china_store:
        assert china_store.get_shared_state(OFFSETS_STATE_KEY) == offsets
        RiskWatcher(china_store, root).update(
            T0 + timedelta(minutes=6), risk_flag=None, flag_checked=False
        )
        assert [e.code for e in china_store.all_events()] == [1302]
    with EventStore(path, GLOBAL) as global_store:
        assert [e.code for e in global_store.all_events()] == [1313]


def test_memory_store_keeps_working_for_the_demo() -> None:
    with EventStore(":memory:", "global:demo") as store:
        assert store.add(Signal(T0, "meter", 1302))
        store.set_state("k", "1")
        store.set_shared_state("s", "2")
        assert [e.code for e in store.all_events()] == [1302]
        assert (store.get_state("k"), store.get_shared_state("s")) == ("1", "2")
        store.delete_shared_state("s")
        assert store.get_shared_state("s") is None


def test_an_empty_account_name_is_refused(tmp_path: Path) -> None:
    for name in ("", "  "):
        try:
            EventStore(tmp_path / "events.sqlite3", name)
        except ValueError:
            continue
        raise AssertionError(f"account {name!r} was accepted")


# --- migration from version 1 ---------------------------------------------------------

V1_SCHEMA = """
CREATE TABLE schema_version (version INTEGER NOT NULL);
INSERT INTO schema_version (version) VALUES (1);
CREATE TABLE signals (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time TEXT NOT NULL,
    source TEXT NOT NULL,
    code INTEGER,
    code_class TEXT NOT NULL,
    message TEXT NOT NULL DEFAULT '',
    trace_id TEXT,
    http_status INTEGER,
    dedup_key TEXT NOT NULL UNIQUE
);
CREATE INDEX signals_time ON signals(time);
CREATE TABLE state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def make_version_1_file(path: Path) -> None:
    """A database as glmtray with schema 1 left it: WAL, one lock and its notice sent."""
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.executescript(V1_SCHEMA)
    db.executemany(
        "INSERT INTO signals (time, source, code, code_class, message, trace_id,"
        " http_status, dedup_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                "2026-11-20T08:00:00.000000+00:00",
                "account_endpoint",
                1112,
                "locked",
                "Account locked",
                None,
                403,
                "account:1112:2026112008",
            ),
            (
                "2026-11-20T09:00:00.000000+00:00",
                "transcript",
                1302,
                "throttled",
                "busy",
                "t-9",
                429,
                "transcript:s1:e9",
            ),
        ],
    )
    db.executemany(
        "INSERT INTO state (key, value) VALUES (?, ?)",
        [
            (RISK_FLAG_STATE_KEY, '{"value": true, "time": "2026-11-20T08:00:00.000000+00:00"}'),
            (NOTICES_SENT_STATE_KEY, '["risk:locked:1"]'),
            (OFFSETS_STATE_KEY, '{"version": 1, "files": {}}'),
        ],
    )
    db.commit()
    db.close()


def test_version_1_file_is_migrated_and_claimed_by_the_first_account(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite3"
    make_version_1_file(path)
    with EventStore(path, CHINA) as first:
        assert first.schema_version == SCHEMA_VERSION == 2
        assert [(e.code, e.code_class) for e in first.all_events()] == [
            (1112, CodeClass.LOCKED),
            (1302, CodeClass.THROTTLED),
        ]
        assert first.get_state(NOTICES_SENT_STATE_KEY) == '["risk:locked:1"]'
        flag = load_risk_flag(first)
        assert flag is not None and flag.value is True
        # The offsets belong to no account: they moved to the shared state.
        assert first.get_state(OFFSETS_STATE_KEY) is None
        assert first.get_shared_state(OFFSETS_STATE_KEY) == '{"version": 1, "files": {}}'
        # Old dedup keys still deduplicate after the migration.
        assert first.add(Signal(T0, "transcript", 1302, dedup_key="transcript:s1:e9")) is False
    with EventStore(path, GLOBAL) as second:
        assert second.all_events() == []
        assert second.get_state(NOTICES_SENT_STATE_KEY) is None
        assert load_risk_flag(second) is None
        assert second.get_shared_state(OFFSETS_STATE_KEY) == '{"version": 1, "files": {}}'
    with EventStore(path, CHINA) as reopened:
        assert len(reopened.all_events()) == 2
    db = sqlite3.connect(path)
    columns = {row[1] for row in db.execute("PRAGMA table_info(signals)")}
    accounts = db.execute("SELECT DISTINCT account FROM signals").fetchall()
    versions = db.execute("SELECT version FROM schema_version ORDER BY version").fetchall()
    db.close()
    assert "account" in columns
    assert accounts == [(CHINA,)]
    assert versions == [(1,), (2,)]
    assert not list(tmp_path.glob("*.corrupt-*"))


def test_lost_version_record_does_not_reassign_accounts(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite3"
    with EventStore(path, GLOBAL) as global_store:
        global_store.add(Signal(T0, "meter", 1302, dedup_key="g"))
    db = sqlite3.connect(path)
    db.execute("DROP TABLE schema_version")
    db.commit()
    db.close()
    with EventStore(path, CHINA) as china_store:
        assert china_store.all_events() == []
        assert china_store.schema_version == SCHEMA_VERSION
    with EventStore(path, GLOBAL) as global_store:
        assert [e.dedup_key for e in global_store.all_events()] == ["g"]


def test_watchers_of_two_accounts_take_each_line_once(tmp_path: Path) -> None:
    """The app may keep one watcher per account and switch back and forth: a line read by
    one account's watcher is never read again by the other's stale reader."""
    root = tmp_path / "projects"
    session = root / "-work-shop" / "s1.jsonl"
    session.parent.mkdir(parents=True)
    path = tmp_path / "events.sqlite3"

    def add_line(uuid: str, code: int) -> None:
        with session.open("a") as handle:
            handle.write(
                transcript_error_line(uuid, "2026-11-27T10:00:00Z", f"[{code}][x][t]") + "\n"
            )

    with EventStore(path, GLOBAL) as global_store, EventStore(path, CHINA) as china_store:
        global_watch = RiskWatcher(global_store, root)
        china_watch = RiskWatcher(china_store, root)
        add_line("e1", 1112)
        global_watch.update(T0, risk_flag=None, flag_checked=False)
        china_watch.update(T0, risk_flag=None, flag_checked=False)
        add_line("e2", 1302)
        china_watch.update(T0, risk_flag=None, flag_checked=False)
        global_watch.update(T0, risk_flag=None, flag_checked=False)
        add_line("e3", 1313)
        global_watch.update(T0, risk_flag=None, flag_checked=False)
        assert [e.code for e in global_store.all_events()] == [1112, 1313]
        assert [e.code for e in china_store.all_events()] == [1302]
