"""Transcript reader: recorded Claude Code sessions, appends, torn lines, replaced files."""

from __future__ import annotations

import json
import os
import shutil
import tracemalloc
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from glmtray.activity.events import EventStore
from glmtray.activity.transcripts import (
    TranscriptReader,
    default_root,
    is_glm_model,
    parse_timestamp,
)
from glmtray.platform.codes import parse_business_error
from glmtray.redact import MASK

ACCOUNT = "global:default"

DATA = Path(__file__).parent / "data" / "transcripts"
SHOP_SESSION = "3f2a9c1e-5b7d-4e21-9a0c-1d2e3f4a5b6c"
NOTES_SESSION = "9b8e7d6c-1a2b-4c3d-8e9f-0a1b2c3d4e5f"
NOW = datetime(2026, 11, 27, 10, 44, tzinfo=timezone.utc)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A copy of the recorded transcripts, free to append to and rewrite."""
    target = tmp_path / "projects"
    shutil.copytree(DATA, target)
    return target


def assistant_line(session: str, when: str, model: str = "glm-4.6", uuid: str = "") -> str:
    return json.dumps(
        {
            "type": "assistant",
            "uuid": uuid or f"{session}-{when}",
            "sessionId": session,
            "cwd": f"/work/{session}",
            "timestamp": when,
            "message": {
                "model": model,
                "role": "assistant",
                "content": [{"type": "text", "text": "ok"}],
                "usage": {"input_tokens": 10, "output_tokens": 2},
            },
        }
    )


def error_line(session: str, when: str, text: str, uuid: str = "", status: int = 429) -> str:
    entry: dict[str, object] = {
        "type": "assistant",
        "sessionId": session,
        "cwd": f"/work/{session}",
        "timestamp": when,
        "isApiErrorMessage": True,
        "apiErrorStatus": status,
        "error": "rate_limit",
        "message": {"model": "<synthetic>", "content": [{"type": "text", "text": text}]},
    }
    if uuid:
        entry["uuid"] = uuid
    return json.dumps(entry)


def write(path: Path, text: str, mode: str = "a") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open(mode, encoding="utf-8") as handle:
        handle.write(text)


# --- recorded samples -----------------------------------------------------------------


def test_recorded_sessions_give_glm_errors_with_codes_and_ignore_others(root: Path) -> None:
    reader = TranscriptReader(root)
    result = reader.scan(NOW)

    assert result.files_seen == 2
    assert result.bytes_read == sum(p.stat().st_size for p in root.rglob("*.jsonl"))
    codes = [(e.code, e.http_status, e.session_id) for e in result.errors]
    assert codes == [
        (1302, 429, SHOP_SESSION),
        (1313, 429, SHOP_SESSION),
        (1310, 429, SHOP_SESSION),
    ]
    concurrency, fair_use, weekly = result.errors
    assert concurrency.message.startswith("High concurrency usage")
    assert concurrency.trace_id is None
    assert concurrency.timestamp == utc("2026-11-27T10:01:15")
    assert concurrency.project == "/home/dev/shop"
    assert fair_use.message.startswith("Your account's request frequency has been limited")
    assert fair_use.trace_id == "20261127102042abc123def456"
    assert weekly.message == (
        "Weekly/Monthly Limit Exhausted. Your limit will reset at 2026-11-29 18:00:00"
    )
    # The notes session used a Claude model: its code-less Anthropic error is not ours.
    assert all(e.session_id != NOTES_SESSION for e in result.errors)
    # The crash-torn assistant line in the middle of the notes session is skipped.
    assert result.malformed_lines == 1


def test_recorded_activity_is_the_latest_glm_message_per_session(root: Path) -> None:
    reader = TranscriptReader(root)
    result = reader.scan(NOW)

    assert [(a.session_id, a.model, a.timestamp) for a in result.activity] == [
        (SHOP_SESSION, "GLM-4.5-Air", utc("2026-11-27T10:41:30.900"))
    ]
    assert result.glm_messages == 3
    summary = reader.active_sessions(timedelta(minutes=5), NOW)
    assert summary.sessions == 1
    assert summary.projects == 1
    assert summary.session_ids == (SHOP_SESSION,)
    assert summary.project_names == ("shop",)
    assert summary.last_seen == utc("2026-11-27T10:41:30.900")
    later = reader.active_sessions(timedelta(minutes=5), NOW + timedelta(minutes=10))
    assert later.sessions == 0 and later.last_seen is None and later.project_names == ()


def test_second_scan_of_unchanged_files_reads_nothing(root: Path) -> None:
    reader = TranscriptReader(root)
    reader.scan(NOW)
    again = reader.scan(NOW)
    assert again.bytes_read == 0
    assert again.files_read == 0
    assert again.errors == [] and again.activity == []
    # Activity already seen is still known.
    assert reader.active_sessions(timedelta(minutes=5), NOW).sessions == 1


def test_state_round_trips_through_json(root: Path) -> None:
    first = TranscriptReader(root)
    first.scan(NOW)
    saved = json.loads(json.dumps(first.state()))
    second = TranscriptReader(root, saved)
    result = second.scan(NOW)
    assert result.bytes_read == 0
    assert result.errors == []


@pytest.mark.parametrize(
    "state",
    [
        {"version": 99, "files": {}},
        {"version": 1, "files": {"x.jsonl": {"offset": "nope"}}},
        {"version": 1, "files": "not a dict"},
        {},
    ],
)
def test_unusable_state_means_reading_from_the_start(root: Path, state: dict[str, object]) -> None:
    result = TranscriptReader(root, state).scan(NOW)
    assert len(result.errors) == 3


# --- appends and torn lines -------------------------------------------------------------


def test_appended_lines_are_read_and_only_those(tmp_path: Path) -> None:
    session_file = tmp_path / "-work-a" / "s1.jsonl"
    write(session_file, assistant_line("s1", "2026-11-27T10:00:00Z") + "\n")
    reader = TranscriptReader(tmp_path)
    first = reader.scan(NOW)
    assert first.glm_messages == 1

    appended = (
        error_line("s1", "2026-11-27T10:05:00Z", '{"error":{"code":1303,"message":"slow"}}', "e1")
        + "\n"
        + assistant_line("s1", "2026-11-27T10:06:00Z")
        + "\n"
    )
    write(session_file, appended)
    second = reader.scan(NOW)
    assert second.bytes_read == len(appended.encode())
    assert [e.code for e in second.errors] == [1303]
    assert second.glm_messages == 1
    assert reader.active_sessions(timedelta(hours=1), NOW).last_seen == utc("2026-11-27T10:06")


def test_torn_last_line_waits_for_its_end(tmp_path: Path) -> None:
    session_file = tmp_path / "-work-a" / "s1.jsonl"
    complete = assistant_line("s1", "2026-11-27T10:00:00Z") + "\n"
    error = error_line("s1", "2026-11-27T10:01:00Z", "[1313][limited][trace-9]", "e1") + "\n"
    cut = len(error) // 2
    write(session_file, complete + error[:cut])

    reader = TranscriptReader(tmp_path)
    first = reader.scan(NOW)
    assert first.errors == []
    assert first.malformed_lines == 0
    assert reader.state()["files"]["-work-a/s1.jsonl"]["offset"] == len(complete.encode())

    write(session_file, error[cut:])
    second = reader.scan(NOW)
    assert [(e.code, e.trace_id) for e in second.errors] == [(1313, "trace-9")]
    # The torn part was read again, whole, with its end.
    assert second.bytes_read == len(error.encode())
    assert second.malformed_lines == 0


def test_complete_last_line_without_newline_is_taken_once(tmp_path: Path) -> None:
    session_file = tmp_path / "-work-a" / "s1.jsonl"
    error = error_line("s1", "2026-11-27T10:01:00Z", '{"error":{"code":"1302"}}', "e1")
    write(session_file, error)  # no newline yet

    reader = TranscriptReader(tmp_path)
    assert [e.code for e in reader.scan(NOW).errors] == [1302]

    write(session_file, "\n" + assistant_line("s1", "2026-11-27T10:02:00Z") + "\n")
    second = reader.scan(NOW)
    assert second.errors == []
    assert second.glm_messages == 1
    assert second.malformed_lines == 0


def test_lines_split_across_read_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import glmtray.activity.transcripts as transcripts

    monkeypatch.setattr(transcripts, "CHUNK_BYTES", 7)
    session_file = tmp_path / "-work-a" / "s1.jsonl"
    lines = [assistant_line("s1", f"2026-11-27T10:0{i}:00Z") for i in range(5)]
    lines.insert(2, error_line("s1", "2026-11-27T10:02:30Z", "[1302][busy][t-1]", "e1"))
    write(session_file, "\n".join(lines) + "\n")
    result = TranscriptReader(tmp_path).scan(NOW)
    assert result.glm_messages == 5
    assert [e.code for e in result.errors] == [1302]
    assert result.malformed_lines == 0


def test_overlong_line_is_skipped_and_reading_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import glmtray.activity.transcripts as transcripts

    monkeypatch.setattr(transcripts, "CHUNK_BYTES", 64)
    monkeypatch.setattr(transcripts, "MAX_LINE_BYTES", 256)
    huge = assistant_line("s1", "2026-11-27T10:00:00Z").replace('"ok"', '"' + "y" * 2000 + '"')
    write(
        tmp_path / "-work-a" / "s1.jsonl",
        huge + "\n" + error_line("s1", "2026-11-27T10:01:00Z", "[1302][busy][t]", "e1") + "\n",
    )
    result = TranscriptReader(tmp_path).scan(NOW)
    assert result.glm_messages == 0  # the overlong line was not decoded
    assert [e.code for e in result.errors] == [1302]


# --- replaced and truncated files -------------------------------------------------------


def test_truncated_file_is_read_again_from_the_start(tmp_path: Path) -> None:
    session_file = tmp_path / "-work-a" / "s1.jsonl"
    write(
        session_file,
        "".join(assistant_line("s1", f"2026-11-27T10:0{i}:00Z") + "\n" for i in range(5)),
    )
    reader = TranscriptReader(tmp_path)
    reader.scan(NOW)

    shorter = error_line("s1", "2026-11-27T10:09:00Z", '{"error":{"code":"1305"}}', "e9") + "\n"
    write(session_file, shorter, mode="w")
    result = reader.scan(NOW)
    assert result.files_reset == 1
    assert result.bytes_read == len(shorter.encode())
    assert [e.code for e in result.errors] == [1305]


def test_replaced_file_is_read_again_and_the_store_keeps_one_event(tmp_path: Path) -> None:
    session_file = tmp_path / "-work-a" / "s1.jsonl"
    content = (
        assistant_line("s1", "2026-11-27T10:00:00Z")
        + "\n"
        + error_line("s1", "2026-11-27T10:01:00Z", "[1313][limited][t-1]", "e1")
        + "\n"
    )
    write(session_file, content)
    reader = TranscriptReader(tmp_path)
    store = EventStore(":memory:", ACCOUNT)
    first = reader.scan(NOW)
    assert [store.add(e.to_signal()) for e in first.errors] == [True]

    # An editor or sync tool writes a new file and renames it over the old one: new inode,
    # same content plus one line.
    replacement = tmp_path / "-work-a" / "s1.jsonl.tmp"
    write(
        replacement,
        content + error_line("s1", "2026-11-27T10:02:00Z", "[1313][limited][t-2]", "e2") + "\n",
    )
    os.replace(replacement, session_file)
    second = reader.scan(NOW)
    assert second.files_reset == 1
    assert [e.trace_id for e in second.errors] == ["t-1", "t-2"]
    assert [store.add(e.to_signal()) for e in second.errors] == [False, True]
    assert len(store.all_events()) == 2


def test_rewritten_in_place_with_new_head_is_read_again(tmp_path: Path) -> None:
    session_file = tmp_path / "-work-a" / "s1.jsonl"
    write(session_file, assistant_line("s1", "2026-11-27T10:00:00Z") + "\n")
    reader = TranscriptReader(tmp_path)
    reader.scan(NOW)
    inode = session_file.stat().st_ino

    # Same inode, longer, but the beginning changed: not an append.
    with session_file.open("r+", encoding="utf-8") as handle:
        handle.write(assistant_line("s2", "2026-11-27T10:03:00Z") + "\n")
        handle.write(assistant_line("s2", "2026-11-27T10:04:00Z") + "\n")
    assert session_file.stat().st_ino == inode
    result = reader.scan(NOW)
    assert result.files_reset == 1
    assert result.glm_messages == 2


def test_deleted_files_are_forgotten(tmp_path: Path) -> None:
    session_file = tmp_path / "-work-a" / "s1.jsonl"
    write(session_file, assistant_line("s1", "2026-11-27T10:00:00Z") + "\n")
    reader = TranscriptReader(tmp_path)
    reader.scan(NOW)
    session_file.unlink()
    reader.scan(NOW)
    assert reader.state()["files"] == {}


# --- a very large history ---------------------------------------------------------------


def test_large_file_is_streamed_once_then_read_incrementally(tmp_path: Path) -> None:
    session_file = tmp_path / "-work-big" / "big.jsonl"
    session_file.parent.mkdir(parents=True)
    filler = json.dumps(
        {
            "type": "user",
            "sessionId": "big",
            "timestamp": "2026-11-01T00:00:00Z",
            "message": {
                "role": "user",
                "content": [{"type": "tool_result", "content": "x" * 4000}],
            },
        }
    )
    block = (filler + "\n") * 64 + assistant_line("big", "2026-11-01T00:00:01Z") + "\n"
    with session_file.open("w", encoding="utf-8") as handle:
        # An old error near the start of the history must still be found.
        handle.write(
            error_line("big", "2026-11-01T00:00:00Z", "[1313][limited][old-trace]", "e0") + "\n"
        )
        while handle.tell() < 50 * 1024 * 1024:
            handle.write(block)
    size = session_file.stat().st_size

    reader = TranscriptReader(tmp_path)
    tracemalloc.start()
    try:
        first = reader.scan(NOW)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert first.bytes_read == size
    assert [e.trace_id for e in first.errors] == ["old-trace"]
    # Streaming: a 50 MB history never sits in memory at once.
    assert peak < 8 * 1024 * 1024

    assert reader.scan(NOW).bytes_read == 0
    tail = assistant_line("big", "2026-11-27T10:43:00Z") + "\n"
    write(session_file, tail)
    refresh = reader.scan(NOW)
    assert refresh.bytes_read == len(tail.encode())
    assert reader.active_sessions(timedelta(minutes=5), NOW).sessions == 1


# --- error texts ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('API Error: 429 {"error":{"code":"1302","message":"busy"}}', (1302, "busy", None)),
        ('API Error: 429 {"error":{"code":1308,"message":"cap"}}', (1308, "cap", None)),
        ('{\\"error\\":{\\"code\\":\\"1304\\",\\"message\\":\\"daily\\"}}', (1304, "daily", None)),
        ("API Error: 429 [1313][limited][abc-123]", (1313, "limited", "abc-123")),
        ("[1121][locked]", (1121, "locked", None)),
        (
            'API Error: 400 {"type":"error","error":{"type":"invalid_request_error",'
            '"message":"[1311][model not in plan][t-77]"},"request_id":"req_1"}',
            (1311, "model not in plan", "req_1"),
        ),
        ('{"code":1113,"msg":"arrears","success":false}', (1113, "arrears", None)),
        ('{"error":{"code":"1999","message":"new"}}', (1999, "new", None)),
        ("API Error: 500 Internal Server Error", (None, "", None)),
    ],
)
def test_business_error_shapes(text: str, expected: tuple[int | None, str, str | None]) -> None:
    assert parse_business_error(text) == expected


def test_code_less_error_in_a_glm_session_is_kept(tmp_path: Path) -> None:
    session_file = tmp_path / "-work-a" / "s1.jsonl"
    write(
        session_file,
        assistant_line("s1", "2026-11-27T10:00:00Z")
        + "\n"
        + error_line("s1", "2026-11-27T10:01:00Z", "API Error: 500 Internal error", "e1", 500)
        + "\n",
    )
    errors = TranscriptReader(tmp_path).scan(NOW).errors
    assert [(e.code, e.http_status) for e in errors] == [(None, 500)]


def test_error_messages_are_redacted_and_keys_are_stable_without_uuid(tmp_path: Path) -> None:
    key = "0123456789abcdef0123456789abcdef.AbCdEfGhIjKlMnOp"
    session_file = tmp_path / "-work-a" / "s1.jsonl"
    line = error_line("s1", "2026-11-27T10:01:00Z", f"[1302][bad key {key}][t-1]")
    write(session_file, line + "\n")
    first = TranscriptReader(tmp_path).scan(NOW).errors
    again = TranscriptReader(tmp_path).scan(NOW).errors
    assert key not in first[0].message and MASK in first[0].message
    assert first[0].dedup_key == again[0].dedup_key


def test_other_providers_codes_are_ignored_outside_glm_sessions(tmp_path: Path) -> None:
    write(
        tmp_path / "-work-a" / "s1.jsonl",
        assistant_line("s1", "2026-11-27T10:00:00Z", model="gpt-5")
        + "\n"
        + error_line("s1", "2026-11-27T10:01:00Z", '{"error":{"code":400,"message":"bad"}}')
        + "\n"
        + error_line("s1", "2026-11-27T10:02:00Z", '{"error":{"code":"1113","message":"no"}}')
        + "\n",
    )
    errors = TranscriptReader(tmp_path).scan(NOW).errors
    assert [e.code for e in errors] == [1113]


def test_synthetic_error_line_without_the_error_flag(tmp_path: Path) -> None:
    entry = {
        "type": "assistant",
        "uuid": "e1",
        "timestamp": "2026-11-27T10:01:00Z",
        "error": "rate_limit",
        "message": {
            "model": "<synthetic>",
            "content": [{"type": "text", "text": "[1303][slow][t]"}],
        },
    }
    write(tmp_path / "-work-a" / "s1.jsonl", json.dumps(entry) + "\n")
    assert [e.code for e in TranscriptReader(tmp_path).scan(NOW).errors] == [1303]


def test_line_without_timestamp_uses_now(tmp_path: Path) -> None:
    entry = {
        "type": "assistant",
        "isApiErrorMessage": True,
        "message": {"model": "<synthetic>", "content": "[1302][busy][t]"},
    }
    write(tmp_path / "-work-a" / "s1.jsonl", json.dumps(entry) + "\n")
    errors = TranscriptReader(tmp_path).scan(NOW).errors
    assert errors[0].timestamp == NOW
    assert errors[0].session_id == "s1"  # from the file name
    assert errors[0].project == "-work-a"  # the encoded project folder


# --- activity ----------------------------------------------------------------------------


def test_activity_counts_sessions_and_projects_in_the_window(tmp_path: Path) -> None:
    write(tmp_path / "-work-a" / "s1.jsonl", assistant_line("s1", "2026-11-27T10:42:00Z") + "\n")
    write(tmp_path / "-work-b" / "s2.jsonl", assistant_line("s2", "2026-11-27T10:43:00Z") + "\n")
    write(tmp_path / "-work-c" / "s3.jsonl", assistant_line("s3", "2026-11-27T10:00:00Z") + "\n")
    write(
        tmp_path / "-work-d" / "s4.jsonl",
        assistant_line("s4", "2026-11-27T10:43:30Z", model="claude-opus-4-1") + "\n",
    )
    # A sub-agent transcript of s1, one level deeper.
    write(
        tmp_path / "-work-a" / "s1" / "subagents" / "agent-1.jsonl",
        assistant_line("s1", "2026-11-27T10:43:50Z") + "\n",
    )
    reader = TranscriptReader(tmp_path)
    reader.scan(NOW)
    summary = reader.active_sessions(timedelta(minutes=5), NOW)
    assert summary.session_ids == ("s1", "s2")
    assert summary.project_names == ("s1", "s2")  # basenames of /work/s1 and /work/s2
    assert summary.last_seen == utc("2026-11-27T10:43:50")
    assert reader.active_sessions(timedelta(hours=1), NOW).sessions == 3


def test_old_activity_is_dropped_from_memory(tmp_path: Path) -> None:
    write(tmp_path / "-work-a" / "s1.jsonl", assistant_line("s1", "2026-11-27T01:00:00Z") + "\n")
    reader = TranscriptReader(tmp_path, activity_retention=timedelta(hours=1))
    result = reader.scan(NOW)
    assert len(result.activity) == 1
    assert reader.active_sessions(timedelta(days=1), NOW).sessions == 0


def test_missing_root_is_empty_not_an_error(tmp_path: Path) -> None:
    result = TranscriptReader(tmp_path / "nothing-here").scan(NOW)
    assert result.files_seen == 0 and result.errors == []


# --- helpers ----------------------------------------------------------------------------


def test_default_root_follows_claude_config_dir(tmp_path: Path) -> None:
    assert default_root({"CLAUDE_CONFIG_DIR": str(tmp_path)}) == tmp_path / "projects"
    assert default_root({}) == Path.home() / ".claude" / "projects"


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("glm-4.6", True),
        ("GLM-4.5-Air", True),
        ("zai/glm-4.6", True),
        ("claude-sonnet-4-5", False),
        ("<synthetic>", False),
        ("glm4", False),
        (None, False),
    ],
)
def test_glm_model_names(model: object, expected: bool) -> None:
    assert is_glm_model(model) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-27T10:00:00.123Z", datetime(2026, 11, 27, 10, 0, 0, 123000, timezone.utc)),
        ("2026-11-27T10:00:00.1234567Z", datetime(2026, 11, 27, 10, 0, 0, 123456, timezone.utc)),
        ("2026-11-27T10:00:00", datetime(2026, 11, 27, 10, 0, tzinfo=timezone.utc)),
        ("2026-11-27T18:00:00+08:00", datetime(2026, 11, 27, 10, 0, tzinfo=timezone.utc)),
        ("yesterday", None),
        (None, None),
    ],
)
def test_timestamps(text: object, expected: datetime | None) -> None:
    assert parse_timestamp(text) == expected
