"""The usage history's SQLite store: what it keeps, how small it stays, and that a busy,
damaged or foreign file never raises into a refresh."""

from __future__ import annotations

import sqlite3
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from glmtray.history import store as store_module
from glmtray.history.store import SCHEMA_VERSION, HistoryRow, HistoryStore

START = datetime(2026, 9, 1, 8, 0, tzinfo=timezone.utc)
ACCOUNT = "global:default"


def row(
    at: datetime,
    share: float,
    *,
    key: str = "five_hour",
    label: str = "5-hour",
    used: float | None = None,
    limit: float | None = None,
    resets_at: datetime | None = None,
) -> HistoryRow:
    return HistoryRow(at, key, label, share, used, limit, resets_at)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "history.sqlite3"


def test_readings_come_back_field_by_field_in_time_order(path: Path) -> None:
    store = HistoryStore(path, ACCOUNT)
    reset = START + timedelta(hours=3)
    later = START + timedelta(minutes=1, microseconds=700_000)
    store.add(
        later,
        [
            row(later, 0.25, used=250, limit=1000, resets_at=reset),
            row(later, 0.1, key="weekly", label="Weekly", resets_at=reset + timedelta(days=2)),
        ],
    )
    store.add(START, [row(START, 0.2, used=200, limit=1000, resets_at=reset)])
    rows = store.read(START, START + timedelta(hours=1))
    assert rows == [
        HistoryRow(START, "five_hour", "5-hour", 0.2, 200.0, 1000.0, reset),
        # Whole seconds: the microseconds of `later` are not kept.
        HistoryRow(START + timedelta(minutes=1), "five_hour", "5-hour", 0.25, 250.0, 1000.0, reset),
        HistoryRow(
            START + timedelta(minutes=1),
            "weekly",
            "Weekly",
            0.1,
            None,
            None,
            reset + timedelta(days=2),
        ),
    ]
    assert all(r.at.tzinfo is not None and r.at.utcoffset() == timedelta(0) for r in rows)
    # Both ends are inclusive; outside them nothing comes back.
    assert len(store.read(START, START)) == 1
    assert store.read(START + timedelta(hours=2), START + timedelta(hours=3)) == []


def test_one_window_s_readings_alone(path: Path) -> None:
    store = HistoryStore(path, ACCOUNT)
    store.add(START, [row(START, 0.1), row(START, 0.2, key="weekly", label="Weekly")])
    assert [r.share for r in store.read(START, START, "weekly")] == [0.2]
    assert [r.share for r in store.read(START, START, "five_hour")] == [0.1]
    assert store.read(START, START, "monthly_tools") == []


def test_accounts_share_the_file_but_never_each_others_readings(path: Path) -> None:
    one, other = HistoryStore(path, "global:default"), HistoryStore(path, "china:default")
    one.add(START, [row(START, 0.5)])
    other.add(START, [row(START, 0.9)])
    assert [r.share for r in one.read(START, START)] == [0.5]
    assert [r.share for r in other.read(START, START)] == [0.9]
    one.close()
    other.close()
    assert HistoryStore(path, "global:default").read(START, START)[0].share == 0.5


def test_the_file_carries_its_schema_version(path: Path) -> None:
    HistoryStore(path, ACCOUNT).close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 1


def test_a_run_of_equal_readings_keeps_its_first_and_last_point(path: Path) -> None:
    store = HistoryStore(path, ACCOUNT)
    reset = START + timedelta(hours=4)
    for minute in range(10):
        at = START + timedelta(minutes=minute)
        store.add(at, [row(at, 0.4, resets_at=reset)])
    at = START + timedelta(minutes=10)
    store.add(at, [row(at, 0.45, resets_at=reset)])
    rows = store.read(START, START + timedelta(hours=1))
    assert [(r.at - START, r.share) for r in rows] == [
        (timedelta(0), 0.4),
        (timedelta(minutes=9), 0.4),
        (timedelta(minutes=10), 0.45),
    ]
    assert store.point_count() == 3


def test_nothing_older_than_90_days_is_kept(path: Path) -> None:
    store = HistoryStore(path, ACCOUNT)
    old, kept = START - timedelta(days=90, seconds=1), START - timedelta(days=89, hours=23)
    store.add(START, [row(old, 0.1), row(kept, 0.2), row(START, 0.3)])
    store.maintain(START)
    assert [r.share for r in store.read(START - timedelta(days=100), START)] == [0.2, 0.3]


def test_old_points_are_thinned_per_bucket_and_the_peak_before_a_reset_survives(
    path: Path,
) -> None:
    store = HistoryStore(path, ACCOUNT)
    now = START + timedelta(days=3)
    first_period, second_period = START + timedelta(minutes=7), START + timedelta(hours=5)
    # Minute readings from 00:00 to 00:14, three days old: the period resets at 00:07.
    rows = [
        row(
            START + timedelta(minutes=m),
            (m + 1) / 100,
            resets_at=first_period if m < 7 else second_period,
        )
        for m in range(15)
    ]
    rows.append(row(now, 0.5, resets_at=second_period))
    store.add(now, rows)
    store.maintain(now)
    kept = [(int((r.at - START).total_seconds() // 60), r.share) for r in store.read(START, now)]
    # 5-minute buckets: 00:00-00:04 keeps 00:04; 00:05-00:09 keeps 00:06 (the last of the
    # first period, its highest) and 00:09; 00:10-00:14 keeps 00:14; now is untouched.
    assert kept == [(4, 0.05), (6, 0.07), (9, 0.1), (14, 0.15), (4320, 0.5)]


def test_ninety_days_at_one_reading_a_minute_stay_small(path: Path) -> None:
    store = HistoryStore(path, ACCOUNT)
    minutes = 90 * 24 * 60
    now = START + timedelta(minutes=minutes - 1)
    # Every reading differs (the worst case for the run compression), one period a day.
    store.add(
        now,
        [
            row(
                START + timedelta(minutes=m),
                (m % 1440 + 1) / 1441,
                resets_at=START + timedelta(days=m // 1440 + 1),
            )
            for m in range(minutes)
        ],
    )
    store.maintain(now)
    full, fine, coarse = 2 * 1440, 5 * 288, 83 * 48
    assert store.point_count() <= full + fine + coarse + 10
    assert store.point_count() >= full + fine + coarse - 10
    store.close()
    size = sum(p.stat().st_size for p in path.parent.iterdir())
    assert size < 400_000, size


def test_the_cap_drops_the_oldest_points(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_module, "MAX_POINTS", 5)
    store = HistoryStore(path, ACCOUNT)
    store.add(START, [row(START + timedelta(seconds=s), s / 100) for s in range(8)])
    store.maintain(START + timedelta(seconds=8))
    assert [r.share for r in store.read(START, START + timedelta(hours=1))] == [
        0.03,
        0.04,
        0.05,
        0.06,
        0.07,
    ]


def test_maintenance_runs_by_itself_at_most_hourly(path: Path) -> None:
    store = HistoryStore(path, ACCOUNT)
    store.add(START, [row(START - timedelta(days=91), 0.1)])  # first add: maintained
    assert store.point_count() == 0
    store.add(START + timedelta(minutes=30), [row(START - timedelta(days=91), 0.1)])
    assert store.point_count() == 1  # within the hour: not yet
    store.add(START + timedelta(hours=1), [])
    assert store.point_count() == 0


def test_a_busy_file_skips_the_reading_without_raising(path: Path) -> None:
    store = HistoryStore(path, ACCOUNT, busy_timeout=0.1)
    store.add(START, [row(START, 0.1)])
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another program writing
    try:
        later = START + timedelta(minutes=1)
        assert store.add(later, [row(later, 0.2)]) is False
        # WAL: reads go on while another program writes.
        assert [r.share for r in store.read(START, later)] == [0.1]
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    later = START + timedelta(minutes=2)
    assert store.add(later, [row(later, 0.3)]) is True
    assert [r.share for r in store.read(START, later)] == [0.1, 0.3]


def test_a_damaged_file_is_set_aside_and_a_fresh_history_starts(path: Path) -> None:
    path.parent.mkdir(parents=True)
    path.write_bytes(b"this is not an SQLite database" * 200)
    store = HistoryStore(path, ACCOUNT)
    assert store.set_aside_path is not None
    assert store.set_aside_path.read_bytes().startswith(b"this is not")
    assert not store.memory_only
    assert store.add(START, [row(START, 0.3)]) is True
    store.close()
    assert [r.share for r in HistoryStore(path, ACCOUNT).read(START, START)] == [0.3]


def test_a_file_from_a_newer_glmtray_is_left_alone(path: Path) -> None:
    path.parent.mkdir(parents=True)
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE future (x)")
        db.execute("PRAGMA user_version = 99")
    before = path.read_bytes()
    store = HistoryStore(path, ACCOUNT)
    assert store.memory_only and store.set_aside_path is None
    assert store.add(START, [row(START, 0.3)]) is True
    assert [r.share for r in store.read(START, START)] == [0.3]
    store.close()
    assert path.read_bytes() == before


def test_an_unwritable_place_keeps_the_history_in_memory(tmp_path: Path) -> None:
    blocker = tmp_path / "data"
    blocker.write_text("a file where the folder should be")
    store = HistoryStore(blocker / "history.sqlite3", ACCOUNT)
    assert store.memory_only
    assert store.add(START, [row(START, 0.3)]) is True
    assert [r.share for r in store.read(START, START)] == [0.3]


def test_a_table_dropped_by_a_tool_is_recreated(path: Path) -> None:
    store = HistoryStore(path, ACCOUNT)
    store.add(START, [row(START, 0.1)])
    with sqlite3.connect(path) as db:
        db.execute("DROP TABLE points")
    later = START + timedelta(minutes=1)
    assert store.add(later, [row(later, 0.2)]) is True
    assert [r.share for r in store.read(START, later)] == [0.2]


def test_a_closed_store_neither_writes_nor_raises(path: Path) -> None:
    store = HistoryStore(path, ACCOUNT)
    store.close()
    assert store.add(START, [row(START, 0.1)]) is False
    assert store.read(START, START) == []
    store.close()


def test_a_share_that_is_not_a_number_is_not_kept(path: Path) -> None:
    store = HistoryStore(path, ACCOUNT)
    store.add(START, [row(START, float("nan")), row(START, 0.2, key="weekly", label="Weekly")])
    assert [r.window_key for r in store.read(START, START)] == ["weekly"]


def test_one_store_serves_a_writer_and_readers_on_other_threads(path: Path) -> None:
    store = HistoryStore(path, ACCOUNT)
    errors: list[BaseException] = []

    def write() -> None:
        try:
            for minute in range(200):
                at = START + timedelta(minutes=minute)
                assert store.add(at, [row(at, minute / 200)])
        except BaseException as error:
            errors.append(error)

    def read() -> None:
        try:
            for _ in range(100):
                rows = store.read(START, START + timedelta(days=1))
                assert [r.at for r in rows] == sorted(r.at for r in rows)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=write), threading.Thread(target=read)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert store.point_count() == 200
