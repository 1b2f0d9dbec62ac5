"""Transcripts read under trouble, with real files, symlinks and SQLite: a signal whose
storing failed is delivered by the next scan; one bad entry never hides its folder; a
rewrite that keeps the first KiB is read again; a line nested too deep is skipped."""

from __future__ import annotations

import json
import os
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from glmtray.activity.events import EventStore, EventStoreBusy, EventStoreError
from glmtray.activity.risk_watch import OFFSETS_STATE_KEY, RiskWatcher
from glmtray.activity.transcripts import (
    HEAD_FINGERPRINT_BYTES,
    TranscriptReader,
    parse_timestamp,
)

ACCOUNT = "global:default"
NOW = datetime(2026, 11, 27, 10, 44, tzinfo=timezone.utc)


def error_line(uuid: str, code: int, when: str = "2026-11-27T10:00:00Z", **extra: Any) -> str:
    entry: dict[str, Any] = {
        "type": "assistant",
        "uuid": uuid,
        "sessionId": "s1",
        "cwd": "/work/shop",
        "timestamp": when,
        "isApiErrorMessage": True,
        "apiErrorStatus": 429,
        "error": "rate_limit",
        "message": {
            "model": "<synthetic>",
            "content": [{"type": "text", "text": f"[{code}][refused][t-{uuid}]"}],
        },
        **extra,
    }
    return json.dumps(entry)


def glm_line(when: str, padding: int = 0) -> str:
    return json.dumps(
        {
            "type": "assistant",
            "sessionId": "s1",
            "cwd": "/work/shop",
            "timestamp": when,
            "message": {"model": "glm-4.6", "content": [{"type": "text", "text": "x" * padding}]},
        }
    )


def append(path: Path, *lines: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.writelines(line + "\n" for line in lines)


# --- offsets advance with the signals, never before ----------------------------------------


def test_a_refused_insert_leaves_the_signal_for_the_next_scan(tmp_path: Path) -> None:
    root = tmp_path / "projects"
    append(root / "-work-shop" / "s1.jsonl", error_line("e1", 1313))
    path = tmp_path / "events.sqlite3"
    store = EventStore(path, ACCOUNT)
    # The database refuses the row (as a full disk or a constraint would).
    refuse = sqlite3.connect(path, isolation_level=None)
    refuse.execute(
        "CREATE TRIGGER refuse BEFORE INSERT ON signals"
        " BEGIN SELECT RAISE(ABORT, 'refused by test'); END"
    )
    watcher = RiskWatcher(store, root)
    with pytest.raises(EventStoreError, match="refused by test"):
        watcher.update(NOW, risk_flag=None, flag_checked=False)
    assert store.get_shared_state(OFFSETS_STATE_KEY) is None  # rolled back with the signals
    with pytest.raises(EventStoreError):
        watcher.update(NOW, risk_flag=None, flag_checked=False)

    refuse.execute("DROP TRIGGER refuse")
    refuse.close()
    report = watcher.update(NOW, risk_flag=None, flag_checked=False)
    assert [e.code for e in store.all_events()] == [1313]
    assert report.state.strikes == 1
    store.close()
    # A restarted app does not read the line again: the offsets were saved with it.
    with EventStore(path, ACCOUNT) as reopened:
        fresh = RiskWatcher(reopened, root)
        fresh.update(NOW, risk_flag=None, flag_checked=False)
        assert fresh.reader is not None
        assert fresh.reader.state() == json.loads(
            reopened.get_shared_state(OFFSETS_STATE_KEY) or "{}"
        )
        assert len(reopened.all_events()) == 1


def test_a_long_lock_leaves_the_signal_for_the_next_scan(tmp_path: Path) -> None:
    root = tmp_path / "projects"
    session = root / "-work-shop" / "s1.jsonl"
    append(session, error_line("e1", 1302))
    path = tmp_path / "events.sqlite3"
    with EventStore(path, ACCOUNT, busy_timeout=0.1, busy_retries=1) as store:
        watcher = RiskWatcher(store, root)
        watcher.update(NOW, risk_flag=None, flag_checked=False)
        append(session, error_line("e2", 1313, "2026-11-27T10:01:00Z"))
        writer = sqlite3.connect(path, isolation_level=None)
        writer.execute("BEGIN IMMEDIATE")
        with pytest.raises(EventStoreBusy):
            watcher.update(NOW, risk_flag=None, flag_checked=False)
        writer.execute("ROLLBACK")
        writer.close()
        report = watcher.update(NOW, risk_flag=None, flag_checked=False)
        assert [e.code for e in store.all_events()] == [1302, 1313]
        assert report.state.strikes == 1


def test_a_line_with_an_impossible_time_is_stored_at_the_time_it_was_read(
    tmp_path: Path,
) -> None:
    root = tmp_path / "projects"
    append(
        root / "-work-shop" / "s1.jsonl",
        error_line("e1", 1313, "0001-01-01T00:00:00+05:00"),
        error_line("e2", 1302),
    )
    assert parse_timestamp("0001-01-01T00:00:00+05:00") is None
    with EventStore(tmp_path / "events.sqlite3", ACCOUNT) as store:
        RiskWatcher(store, root).update(NOW, risk_flag=None, flag_checked=False)
        assert sorted((e.code, e.time) for e in store.all_events()) == [
            (1302, datetime(2026, 11, 27, 10, 0, tzinfo=timezone.utc)),
            (1313, NOW),
        ]


# --- one bad entry, never a folder -----------------------------------------------------------


def test_a_symlink_loop_named_jsonl_hides_only_itself(tmp_path: Path) -> None:
    folder = tmp_path / "-work-shop"
    folder.mkdir()
    # Loops and real sessions interleaved, whatever order the folder lists them in.
    for index in range(4):
        (folder / f"loop{index}.jsonl").symlink_to(folder / f"loop{index}.jsonl")
        append(folder / f"s{index}.jsonl", error_line(f"e{index}", 1313))
    (folder / "b-loop.jsonl").symlink_to(folder / "c-loop.jsonl")
    (folder / "c-loop.jsonl").symlink_to(folder / "b-loop.jsonl")
    (folder / "dangling.jsonl").symlink_to(folder / "gone.jsonl")
    append(tmp_path / "-work-notes" / "n1.jsonl", error_line("n1", 1302))
    result = TranscriptReader(tmp_path).scan(NOW)
    assert sorted(e.code or 0 for e in result.errors) == [1302, 1313, 1313, 1313, 1313]
    assert result.files_seen == 5


def test_a_file_deleted_while_its_folder_is_listed_costs_only_itself(tmp_path: Path) -> None:
    folder = tmp_path / "-work-shop"
    for name in ("a", "b", "c"):
        append(folder / f"{name}.jsonl", error_line(f"e-{name}", 1313))
    doomed = folder / "b.jsonl"

    class DeletingReader(TranscriptReader):
        """Deletes b.jsonl between the folder listing and the look at its entry."""

        def _recent_enough(self, entry: os.DirEntry[str]) -> bool:
            if entry.name == doomed.name and doomed.exists():
                doomed.unlink()
            return super()._recent_enough(entry)

    reader = DeletingReader(tmp_path, modified_since=NOW - timedelta(days=3650))
    result = reader.scan(NOW)
    assert sorted(e.trace_id or "" for e in result.errors) == ["t-e-a", "t-e-c"]


def test_rewritten_with_the_same_first_kib_is_read_again(tmp_path: Path) -> None:
    session = tmp_path / "-work-shop" / "s1.jsonl"
    header = glm_line("2026-11-27T09:00:00Z", padding=HEAD_FINGERPRINT_BYTES * 2)
    append(session, header, error_line("e1", 1302))
    reader = TranscriptReader(tmp_path)
    assert [e.code for e in reader.scan(NOW).errors] == [1302]
    inode = session.stat().st_ino

    # Rewritten in place (same inode): same long first line, then different, longer lines.
    with session.open("r+", encoding="utf-8") as handle:
        handle.truncate(0)
        handle.write(
            "\n".join([header, error_line("e2", 1313), error_line("e3", 1112, status=403)]) + "\n"
        )
    assert session.stat().st_ino == inode
    second = reader.scan(NOW)
    assert second.files_reset == 1
    assert [e.code for e in second.errors] == [1313, 1112]

    # A plain append after that is read from the offset, not from the start.
    append(session, error_line("e4", 1302, "2026-11-27T10:02:00Z"))
    third = reader.scan(NOW)
    assert third.files_reset == 0
    assert [e.code for e in third.errors] == [1302]


def test_offsets_saved_before_the_tail_fingerprint_still_work(tmp_path: Path) -> None:
    session = tmp_path / "-work-shop" / "s1.jsonl"
    append(session, error_line("e1", 1302))
    reader = TranscriptReader(tmp_path)
    reader.scan(NOW)
    saved = reader.state()
    for file_state in saved["files"].values():
        del file_state["tail"]  # as glmtray saved them before
    append(session, error_line("e2", 1313))
    restored = TranscriptReader(tmp_path, saved)
    result = restored.scan(NOW)
    assert (result.files_reset, [e.code for e in result.errors]) == (0, [1313])


# --- too deep to parse --------------------------------------------------------------------------


def test_a_line_nested_too_deep_is_skipped_and_the_rest_is_read(tmp_path: Path) -> None:
    session = tmp_path / "-work-shop" / "s1.jsonl"
    depth = 100_000
    deep = '{"isApiErrorMessage": true, "x": ' + "[" * depth + "]" * depth + "}"
    append(session, deep, error_line("e1", 1313))
    reader = TranscriptReader(tmp_path)
    first = reader.scan(NOW)
    assert [e.code for e in first.errors] == [1313]
    assert first.malformed_lines == 1
    # The offset moved past it: the next scan neither fails nor reads it again.
    assert reader.scan(NOW).bytes_read == 0

    # The same line last in the file, without its newline (the "complete object" check).
    with session.open("a", encoding="utf-8") as handle:
        handle.write(deep)
    assert reader.scan(NOW).errors == []
    append(session, "", error_line("e2", 1302))
    assert [e.code for e in reader.scan(NOW).errors] == [1302]


# --- user lines and Claude Code 2.1 error lines under trouble -----------------------------------


def user_line(when: object, **extra: Any) -> str:
    entry: dict[str, Any] = {"type": "user", "sessionId": "s1", "cwd": "/work/shop", **extra}
    if when is not None:
        entry["timestamp"] = when
    entry["message"] = {"role": "user", "content": "go on"}
    return json.dumps(entry)


def test_user_lines_with_impossible_times_count_for_nothing(tmp_path: Path) -> None:
    session = tmp_path / "-work-shop" / "s1.jsonl"
    append(
        session,
        glm_line("2026-11-27T09:00:00Z"),
        user_line("0001-01-01T00:00:00+05:00"),
        user_line("yesterday"),
        user_line(None),
        user_line(12345),
        user_line("2026-11-27T10:43:00Z", sessionId=["not", "a", "string"]),
    )
    reader = TranscriptReader(tmp_path)
    result = reader.scan(NOW)
    assert result.malformed_lines == 0
    summary = reader.active_sessions(timedelta(minutes=5), NOW)
    # Only the last line has a time; its odd session id falls back to the file name.
    assert summary.session_ids == ("s1",)
    assert summary.last_prompt == datetime(2026, 11, 27, 10, 43, tzinfo=timezone.utc)


def test_a_recent_user_line_nested_too_deep_is_skipped_once(tmp_path: Path) -> None:
    session = tmp_path / "-work-shop" / "s1.jsonl"
    depth = 100_000
    deep = (
        '{"type": "user", "timestamp": "2026-11-27T10:43:00Z", "x": '
        + "[" * depth
        + "]" * depth
        + "}"
    )
    append(session, glm_line("2026-11-27T09:00:00Z"), deep, error_line("e1", 1302))
    reader = TranscriptReader(tmp_path)
    first = reader.scan(NOW)
    assert [e.code for e in first.errors] == [1302]
    assert first.malformed_lines == 1
    assert reader.scan(NOW).bytes_read == 0


def test_current_format_errors_survive_a_refused_insert(tmp_path: Path) -> None:
    root = tmp_path / "projects"
    text = "API Error: Request rejected (429) · 您的账户已被锁定，请联系客服解锁"
    entry = json.loads(error_line("e1", 0))
    entry["message"]["content"][0]["text"] = text
    append(root / "-work-shop" / "s1.jsonl", json.dumps(entry, ensure_ascii=False))
    path = tmp_path / "events.sqlite3"
    store = EventStore(path, ACCOUNT)
    refuse = sqlite3.connect(path, isolation_level=None)
    refuse.execute(
        "CREATE TRIGGER refuse BEFORE INSERT ON signals"
        " BEGIN SELECT RAISE(ABORT, 'refused by test'); END"
    )
    watcher = RiskWatcher(store, root)
    with pytest.raises(EventStoreError):
        watcher.update(NOW, risk_flag=None, flag_checked=False)
    refuse.execute("DROP TRIGGER refuse")
    refuse.close()
    report = watcher.update(NOW, risk_flag=None, flag_checked=False)
    assert [(e.code, e.message) for e in store.all_events()] == [
        (1112, "您的账户已被锁定，请联系客服解锁")
    ]
    assert report.state.active_episode is not None and report.state.active_episode.locked
    store.close()


def test_a_code_too_large_for_the_database_does_not_stop_the_history(tmp_path: Path) -> None:
    root = tmp_path / "projects"
    entry = json.loads(error_line("e1", 0))
    entry["message"]["content"][0]["text"] = (
        'API Error: 429 {"error":{"code":' + "9" * 40 + ',"message":"odd"}}'
    )
    append(root / "-work-shop" / "s1.jsonl", glm_line("2026-11-27T09:59:00Z"), json.dumps(entry))
    append(root / "-work-shop" / "s1.jsonl", error_line("e2", 1313, "2026-11-27T10:01:00Z"))
    with EventStore(tmp_path / "events.sqlite3", ACCOUNT) as store:
        report = RiskWatcher(store, root).update(NOW, risk_flag=None, flag_checked=False)
        assert [(e.code, e.message) for e in store.all_events()] == [
            (None, "odd"),
            (1313, "refused"),
        ]
        assert report.state.strikes == 1
