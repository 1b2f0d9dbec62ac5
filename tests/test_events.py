"""Event store: deduplication, classification, redaction, state, schema, threads."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from glmtray.activity.events import SCHEMA_VERSION, EventStore, Signal
from glmtray.platform.codes import CodeClass
from glmtray.redact import MASK, register_secret

ACCOUNT = "global:default"

T0 = datetime(2026, 11, 27, 10, 0, tzinfo=timezone.utc)


def signal(minutes: int = 0, code: int | None = 1302, **changes: Any) -> Signal:
    base = Signal(
        time=T0 + timedelta(minutes=minutes), source="transcript", code=code, message="busy"
    )
    return replace(base, **changes)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EventStore]:
    opened = EventStore(tmp_path / "data" / "events.sqlite3", ACCOUNT)
    yield opened
    opened.close()


def test_add_then_read_back(store: EventStore) -> None:
    assert store.add(signal(0, 1313, trace_id="t-1", http_status=429, dedup_key="k1"))
    [event] = store.all_events()
    assert event.time == T0
    assert event.source == "transcript"
    assert event.code == 1313
    assert event.code_class is CodeClass.RESTRICTED
    assert event.trace_id == "t-1"
    assert event.http_status == 429
    assert event.dedup_key == "k1"


def test_same_dedup_key_is_stored_once(store: EventStore) -> None:
    assert store.add(signal(0, dedup_key="transcript:s1:e1")) is True
    assert store.add(signal(5, 1313, dedup_key="transcript:s1:e1")) is False
    assert len(store.all_events()) == 1


def test_without_a_key_identical_content_is_one_event(store: EventStore) -> None:
    assert store.add(signal(0)) is True
    assert store.add(signal(0)) is False
    assert store.add(signal(1)) is True
    assert store.add(signal(1, source="meter")) is True
    assert len(store.all_events()) == 3


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (1302, CodeClass.THROTTLED),
        (1310, CodeClass.WINDOW_EXHAUSTED),
        (1313, CodeClass.RESTRICTED),
        (1121, CodeClass.LOCKED),
        (1309, CodeClass.PLAN_MISSING),
        (4242, CodeClass.UNKNOWN),
        (None, CodeClass.UNKNOWN),
    ],
)
def test_code_class_comes_from_the_code_table(
    store: EventStore, code: int | None, expected: CodeClass
) -> None:
    store.add(signal(0, code))
    assert store.all_events()[0].code_class is expected


def test_code_class_can_be_given_for_code_less_signals(store: EventStore) -> None:
    store.add(signal(0, None, source="risk_flag", code_class=CodeClass.RESTRICTED))
    assert store.all_events()[0].code_class is CodeClass.RESTRICTED


def test_keys_never_reach_the_database(tmp_path: Path) -> None:
    key = "fedcba9876543210fedcba9876543210.ZyXwVuTsRqPoNmLk"
    registered = "my-registered-secret-value"
    register_secret(registered)
    path = tmp_path / "events.sqlite3"
    with EventStore(path, ACCOUNT) as opened:
        opened.add(
            signal(0, message=f"refused Authorization: {key} and {registered}", trace_id=key)
        )
        event = opened.all_events()[0]
    assert key not in event.message and registered not in event.message
    assert MASK in event.message
    assert event.trace_id == MASK
    # Whatever SQLite left on disk (database, WAL), the key is in none of it.
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("events.sqlite3*"))
    assert key.encode() not in raw and registered.encode() not in raw


def test_recent_is_ordered_and_inclusive(store: EventStore) -> None:
    for minutes in (30, 0, 10, 20):
        store.add(signal(minutes))
    assert [e.time for e in store.recent(T0 + timedelta(minutes=10))] == [
        T0 + timedelta(minutes=m) for m in (10, 20, 30)
    ]
    assert len(store.all_events()) == 4


def test_times_are_kept_in_utc_whatever_zone_they_came_in(store: EventStore) -> None:
    beijing = timezone(timedelta(hours=8))
    store.add(signal(0, time=datetime(2026, 11, 27, 18, 0, tzinfo=beijing)))  # 10:00 UTC
    store.add(signal(0, time=datetime(2026, 11, 27, 10, 30)))  # naive: taken as UTC
    times = [e.time for e in store.all_events()]
    assert times == [T0, T0 + timedelta(minutes=30)]
    assert all(t.tzinfo is timezone.utc for t in times)


def test_unknown_source_is_refused(store: EventStore) -> None:
    with pytest.raises(ValueError):
        store.add(signal(0, source="guess"))


def test_state_values(store: EventStore) -> None:
    assert store.get_state("reader.offsets") is None
    store.set_state("reader.offsets", '{"a": 1}')
    store.set_state("reader.offsets", '{"a": 2}')
    assert store.get_state("reader.offsets") == '{"a": 2}'
    store.delete_state("reader.offsets")
    assert store.get_state("reader.offsets") is None


def test_history_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite3"
    with EventStore(path, ACCOUNT) as first:
        first.add(signal(0, dedup_key="k1"))
        first.set_state("reminder.sent", "true")
    with EventStore(path, ACCOUNT) as second:
        assert second.schema_version == SCHEMA_VERSION
        assert [e.dedup_key for e in second.all_events()] == ["k1"]
        assert second.add(signal(0, dedup_key="k1")) is False
        assert second.get_state("reminder.sent") == "true"


def test_file_store_uses_wal(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite3"
    with EventStore(path, ACCOUNT):
        mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_corrupt_file_is_set_aside_and_replaced(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    with EventStore(path, ACCOUNT) as opened:
        assert opened.add(signal(0))
    assert list(tmp_path.glob("events.sqlite3.corrupt-*"))


def test_newer_schema_is_not_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite3"
    with EventStore(path, ACCOUNT):
        pass
    db = sqlite3.connect(path)
    db.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION + 1,))
    db.commit()
    db.close()
    # A newer glmtray's database is kept aside, never migrated backwards in place.
    with EventStore(path, ACCOUNT) as opened:
        assert opened.schema_version == SCHEMA_VERSION
    assert list(tmp_path.glob("events.sqlite3.corrupt-*"))


def test_memory_store_and_use_from_a_worker_thread() -> None:
    store = EventStore(":memory:", ACCOUNT)
    results: list[bool] = []

    def worker() -> None:
        results.extend(store.add(signal(i)) for i in range(50))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Four workers wrote the same 50 signals: 50 stored, the rest were duplicates.
    assert results.count(True) == 50
    assert len(store.all_events()) == 50
    store.close()


def test_prune_keeps_restrictions(store: EventStore) -> None:
    store.add(signal(0, 1302))
    store.add(signal(1, 1313))
    store.add(signal(2, 1121))
    store.add(signal(60, 1302))
    assert store.prune(T0 + timedelta(minutes=30)) == 1
    assert [e.code for e in store.all_events()] == [1313, 1121, 1302]


def test_add_many_counts_new_ones(store: EventStore) -> None:
    assert store.add_many([signal(0), signal(0), signal(1)]) == 2
