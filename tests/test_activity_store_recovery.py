"""The event store under locks and damage, on real SQLite files: a lock is waited for
and never taken for damage; a damaged file is set aside once with a notice saying where;
a missing table is recreated; an unreadable row is skipped; the risk watcher keeps
running through all of it."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from glmtray.activity.events import EventStore, EventStoreBusy, EventStoreError, Signal
from glmtray.activity.risk_watch import OFFSETS_STATE_KEY, RiskWatcher

ACCOUNT = "global:default"
T0 = datetime(2026, 11, 27, 10, 0, tzinfo=timezone.utc)
PAGE = 4096


def signal(minutes: int, code: int = 1302) -> Signal:
    return Signal(T0 + timedelta(minutes=minutes), "meter", code, "busy", dedup_key=f"m{minutes}")


def make_history(path: Path, count: int = 1) -> None:
    with EventStore(path, ACCOUNT) as store:
        store.add_many([signal(i) for i in range(count - 1)] + [signal(count, 1313)])
        store.set_state("risk.flag_last", '{"value": true, "time": "x"}')


@contextmanager
def exclusive_lock(path: Path) -> Iterator[sqlite3.Connection]:
    """Another program holding the file: no one else may read or write it."""
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("PRAGMA locking_mode=EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("CREATE TABLE IF NOT EXISTS other_program (x)")
    try:
        yield holder
    finally:
        if holder.in_transaction:
            holder.execute("ROLLBACK")
        holder.close()


def set_aside_files(folder: Path) -> list[Path]:
    """The database files set aside (their -wal and -shm companions left out)."""
    return sorted(
        path
        for path in folder.glob("events.sqlite3.corrupt-*")
        if not path.name.endswith(("-wal", "-shm"))
    )


# --- locks ------------------------------------------------------------------------------


def test_a_locked_file_is_not_set_aside_and_says_it_is_busy(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite3"
    make_history(path)
    with exclusive_lock(path):
        started = time.monotonic()
        with pytest.raises(EventStoreBusy, match="locked by another program"):
            EventStore(path, ACCOUNT, busy_timeout=0.2, busy_retries=1)
        # The busy timeout, then one retry: it waited, and not forever.
        assert 0.35 <= time.monotonic() - started < 5
    assert set_aside_files(tmp_path) == []
    with EventStore(path, ACCOUNT) as store:
        assert [e.code for e in store.all_events()] == [1313]
        assert store.notice is None and store.set_aside_path is None


def test_opening_waits_for_a_lock_that_is_released(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite3"
    make_history(path)
    locked = threading.Event()

    def hold_briefly() -> None:
        with exclusive_lock(path):
            locked.set()
            time.sleep(0.5)

    holder = threading.Thread(target=hold_briefly)
    holder.start()
    assert locked.wait(5)
    try:
        with EventStore(path, ACCOUNT, busy_timeout=0.2, busy_retries=10) as store:
            assert [e.code for e in store.all_events()] == [1313]
    finally:
        holder.join()
    assert set_aside_files(tmp_path) == []


def test_a_write_waits_for_another_writer_and_reads_go_on(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite3"
    make_history(path)
    with EventStore(path, ACCOUNT, busy_timeout=0.2, busy_retries=1) as store:
        writer = sqlite3.connect(path, isolation_level=None)
        writer.execute("BEGIN IMMEDIATE")
        with pytest.raises(EventStoreBusy):
            store.add(signal(5))
        with pytest.raises(EventStoreBusy):
            store.set_state("k", "v")
        assert [e.code for e in store.all_events()] == [1313]  # WAL: reads are not blocked
        writer.execute("ROLLBACK")
        writer.close()
        assert store.add(signal(5))
        assert store.set_aside_path is None
    assert set_aside_files(tmp_path) == []


# --- damage at open -----------------------------------------------------------------------


def test_not_a_database_is_set_aside_with_a_notice(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    with EventStore(path, ACCOUNT) as store:
        assert store.add(signal(0))
        aside = store.set_aside_path
        assert aside is not None and aside.read_bytes().startswith(b"this is not")
        assert store.notice is not None and str(aside) in store.notice
        assert "could not be read" in store.notice
        assert store.take_notice() == store_notice_text(aside)
        assert store.take_notice() is None


def store_notice_text(aside: Path) -> str:
    return f"The risk history could not be read and starts afresh; the old file is kept at {aside}"


def garble_back_half(path: Path) -> None:
    """Overwrite every other page in the file's back half: the header and the tables'
    first pages stay readable, so SQLite opens the file and fails only on those pages."""
    size = path.stat().st_size
    pages = size // PAGE
    assert pages > 20
    with path.open("r+b") as handle:
        for page in range(pages // 2, pages, 2):
            handle.seek(page * PAGE)
            handle.write(os.urandom(PAGE))


def test_a_file_failing_its_integrity_check_is_set_aside_at_open(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite3"
    make_history(path, count=3000)
    garble_back_half(path)
    with EventStore(path, ACCOUNT) as store:
        assert store.set_aside_path is not None and store.set_aside_path.exists()
        assert store.all_events() == []
        assert store.add(signal(0))
    with EventStore(path, ACCOUNT) as reopened:
        assert [e.dedup_key for e in reopened.all_events()] == ["m0"]
        assert reopened.set_aside_path is None  # the fresh file is fine: nothing set aside
    assert len(set_aside_files(tmp_path)) == 1


# --- damage found later -------------------------------------------------------------------


def test_a_page_garbled_while_running_is_set_aside_once_and_the_watcher_goes_on(
    tmp_path: Path,
) -> None:
    path = tmp_path / "events.sqlite3"
    root = tmp_path / "projects"
    session = root / "-work-shop" / "s1.jsonl"
    session.parent.mkdir(parents=True)
    session.write_text(
        json.dumps(
            {
                "type": "assistant",
                "uuid": "e1",
                "sessionId": "s1",
                "timestamp": "2026-11-27T09:00:00Z",
                "isApiErrorMessage": True,
                "message": {
                    "model": "<synthetic>",
                    "content": [{"type": "text", "text": "[1313][limited][t-1]"}],
                },
            }
        )
        + "\n"
    )
    make_history(path, count=3000)
    store = EventStore(path, ACCOUNT)
    watcher = RiskWatcher(store, root)
    first = watcher.update(T0, risk_flag=None, flag_checked=False)
    assert first.state.strikes == 2 and first.store_notice is None
    store.add(signal(4000))  # the new rows are appended at the file's end, then checkpointed
    sqlite3.connect(path).execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()

    garble_back_half(path)
    # Another program writes: our connection's cached pages are stale and it reads the
    # file again, meeting the garbled pages.
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("INSERT INTO shared_state (key, value) VALUES ('other', '1')")
    other.close()

    second = watcher.update(T0 + timedelta(minutes=1), risk_flag=None, flag_checked=False)
    aside = store.set_aside_path
    assert aside is not None and aside.exists()
    # Its log went with it: left behind, it could be replayed into the fresh file.
    assert Path(f"{aside}-wal").exists()
    assert second.store_notice == store_notice_text(aside)
    # The transcripts were read again from the start: their strike is back.
    assert [e.code for e in store.all_events()] == [1313]
    assert second.state.strikes == 1
    assert store.get_shared_state(OFFSETS_STATE_KEY) is not None
    third = watcher.update(T0 + timedelta(minutes=2), risk_flag=None, flag_checked=False)
    assert third.store_notice is None and third.state.strikes == 1
    store.close()
    assert set_aside_files(tmp_path) == [aside]


def test_a_second_damage_is_reported_not_set_aside_again(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite3"
    path.write_bytes(b"garbage" * 1000)
    store = EventStore(path, ACCOUNT)
    assert store.set_aside_path is not None
    store.add_many([signal(i) for i in range(3000)])
    sqlite3.connect(path).execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    garble_back_half(path)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("INSERT INTO shared_state (key, value) VALUES ('other', '1')")
    other.close()
    with pytest.raises(EventStoreError, match="could not be used"):
        store.all_events()
    store.close()
    assert len(set_aside_files(tmp_path)) == 1


def test_dropped_tables_are_recreated(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite3"
    make_history(path)
    store = EventStore(path, ACCOUNT)
    watcher = RiskWatcher(store, None)
    assert watcher.update(T0, risk_flag=None, flag_checked=False).state.strikes == 1
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("DROP TABLE signals")
    other.execute("DROP TABLE state")
    other.close()
    report = watcher.update(T0 + timedelta(minutes=1), risk_flag=True, flag_checked=True)
    assert report.state.strikes == 1  # the flag reading true starts a new episode
    assert [e.source for e in store.all_events()] == ["risk_flag"]
    assert store.set_aside_path is None and report.store_notice is None
    store.close()

    # Missing at open: recreated too.
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("DROP TABLE shared_state")
    other.close()
    with EventStore(path, ACCOUNT) as reopened:
        reopened.set_shared_state("k", "v")
        assert reopened.get_shared_state("k") == "v"
        assert len(reopened.all_events()) == 1
    assert set_aside_files(tmp_path) == []


def test_unreadable_rows_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite3"
    make_history(path)
    other = sqlite3.connect(path, isolation_level=None)
    rows = [
        ("yesterday", None, "bad-time"),
        ("2026-11-27T10:00:00.000000+00:00", "abc", "bad-code"),
        ("2026-11-27T10:00:00", 1302, "short-time"),
    ]
    for time_text, code, key in rows:
        other.execute(
            "INSERT INTO signals (account, time, source, code, code_class, dedup_key)"
            " VALUES (?, ?, 'meter', ?, 'throttled', ?)",
            (ACCOUNT, time_text, code, key),
        )
    other.close()
    with EventStore(path, ACCOUNT) as store:
        assert [e.code for e in store.all_events()] == [1313]
        assert store.skipped_rows == 3
        report = RiskWatcher(store, None).update(T0, risk_flag=None, flag_checked=False)
        assert report.state.strikes == 1


def test_a_time_that_cannot_be_stored_costs_only_its_signal(tmp_path: Path) -> None:
    east = timezone(timedelta(hours=5))
    impossible = Signal(datetime(1, 1, 1, tzinfo=east), "transcript", 1313, dedup_key="x")
    with EventStore(tmp_path / "events.sqlite3", ACCOUNT) as store:
        with pytest.raises(ValueError, match="out of range"):
            store.add(impossible)
        assert store.add_many([signal(0), impossible, signal(1)]) == 2
        assert [e.dedup_key for e in store.all_events()] == ["m0", "m1"]


def test_two_files_set_aside_in_one_second_are_both_kept(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite3"
    asides: list[Path] = []
    for content in (b"first garbage" * 100, b"second garbage" * 100):
        path.write_bytes(content)
        for sibling in tmp_path.glob("events.sqlite3-*"):
            sibling.unlink()
        with EventStore(path, ACCOUNT) as store:
            assert store.set_aside_path is not None
            asides.append(store.set_aside_path)
    assert asides[0] != asides[1]
    assert asides[0].read_bytes().startswith(b"first")
    assert asides[1].read_bytes().startswith(b"second")


def test_a_folder_that_cannot_hold_the_file_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "data"
    blocker.write_text("a file where the data folder should be")
    with pytest.raises(EventStoreError, match="could not be opened"):
        EventStore(blocker / "events.sqlite3", ACCOUNT)
    assert blocker.read_text().startswith("a file")
