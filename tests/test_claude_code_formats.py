"""Claude Code transcripts in both formats, written to real files and read through the
transcript reader and the risk watcher with an event store on disk.

Older Claude Code wrote the platform's JSON body into the error text; Claude Code 2.1 keeps
only its message: `API Error: Request rejected (429) · <message>` or `API Error: 4xx
<message>`. The same platform errors must give the same codes either way, a session whose
requests only ever failed is the platform's when the errors are, and a session is active
from its latest user line."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from glmtray.activity.events import EventStore
from glmtray.activity.risk import RiskStatus
from glmtray.activity.risk_watch import RiskWatcher
from glmtray.activity.transcripts import TranscriptReader
from glmtray.platform.codes import CodeClass
from glmtray.platform.models import FIVE_HOUR, WEEKLY

ACCOUNT = "global:default"
UTC = timezone.utc
# 2026-09-09 05:38:28 in UTC+8 (the time the 1308 and 1310 messages name) is 21:38:28 UTC.
NOW = datetime(2026, 9, 8, 21, 0, tzinfo=UTC)
BACK_AT = datetime(2026, 9, 8, 21, 38, 28, tzinfo=UTC)

ENGLISH_1302 = (
    "High concurrency usage of this API, please reduce concurrency or contact customer "
    "service to increase limits"
)
BRACKETED_1313 = (
    "[1313][Your account's current usage pattern does not comply with the Fair Usage "
    "Policy.][20260908205512e5f6a7b8]"
)
CHINESE_1112 = "您的账户已被锁定，请联系客服解锁"
ENGLISH_1308 = "Usage limit reached for 5 hour. Your limit will reset at 2026-09-09 05:38:28"
BRACKETED_1310 = (
    "[1310][Weekly/Monthly Limit Exhausted. Your limit will reset at 2026-09-09 05:38:28]"
)
CHINESE_1113 = "余额不足或无可用资源包,请充值。"

OLDER = "older"
CURRENT = "2.1"


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def line(entry: dict[str, Any]) -> str:
    # Claude Code writes compact JSON (JSON.stringify), one object per line.
    return json.dumps(entry, ensure_ascii=False, separators=(",", ":"))


def common(session: str, when: datetime, uuid: str) -> dict[str, Any]:
    return {
        "parentUuid": None,
        "isSidechain": False,
        "userType": "external",
        "cwd": "/work/shop",
        "sessionId": session,
        "version": "2.1.3",
        "gitBranch": "main",
        "uuid": uuid,
        "timestamp": iso(when),
    }


def user_line(session: str, when: datetime, uuid: str, *, tool_output: str = "") -> str:
    if tool_output:
        content: object = [
            {"tool_use_id": "toolu_1", "type": "tool_result", "content": tool_output}
        ]
    else:
        content = "fix the failing test"
    entry = {
        **common(session, when, uuid),
        "type": "user",
        "message": {"role": "user", "content": content},
    }
    return line(entry)


def reply_line(session: str, when: datetime, uuid: str, model: str = "glm-4.6") -> str:
    entry = {
        **common(session, when, uuid),
        "type": "assistant",
        "message": {
            "id": f"msg_{uuid}",
            "model": model,
            "role": "assistant",
            "type": "message",
            "content": [{"type": "text", "text": "Done."}],
            "usage": {"input_tokens": 120, "output_tokens": 8},
        },
    }
    return line(entry)


def error_text(fmt: str, status: int, message: str, code: str | None = None) -> str:
    """The text Claude Code writes for a failed request, in one of its two formats."""
    if fmt == OLDER:
        body: dict[str, Any] = {"message": message}
        if code is not None:
            body["code"] = code
        return f"API Error: {status} " + json.dumps({"error": body}, ensure_ascii=False)
    if status == 429:
        return f"API Error: Request rejected (429) · {message}"
    return f"API Error: {status} {message}"


def failure_line(
    session: str, when: datetime, uuid: str, text: str, status: int, kind: str = "rate_limit"
) -> str:
    entry = {
        **common(session, when, uuid),
        "type": "assistant",
        "message": {
            "id": f"msg_{uuid}",
            "model": "<synthetic>",
            "role": "assistant",
            "type": "message",
            "content": [{"type": "text", "text": text}],
            "usage": {"input_tokens": 0, "output_tokens": 0},
        },
        "error": kind,
        "isApiErrorMessage": True,
        "apiErrorStatus": status,
    }
    return line(entry)


def append(path: Path, *lines: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.writelines(text + "\n" for text in lines)


def minutes(count: float) -> datetime:
    return NOW - timedelta(minutes=count)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "projects"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EventStore]:
    with EventStore(tmp_path / "events.sqlite3", ACCOUNT) as opened:
        yield opened


def failing_session(fmt: str) -> list[str]:
    """A session whose every request failed: no GLM line at all."""
    return [
        user_line("s1", minutes(30), "u1"),
        failure_line("s1", minutes(29), "e1", error_text(fmt, 429, ENGLISH_1302, "1302"), 429),
        failure_line("s1", minutes(20), "e2", error_text(fmt, 429, BRACKETED_1313), 429),
        failure_line(
            "s1", minutes(10), "e3", error_text(fmt, 403, CHINESE_1112, "1112"), 403, "unknown"
        ),
        failure_line("s1", minutes(5), "e4", error_text(fmt, 429, ENGLISH_1308, "1308"), 429),
        user_line("s1", minutes(1), "u2"),
    ]


# --- codes in both formats -------------------------------------------------------------------


@pytest.mark.parametrize("fmt", [OLDER, CURRENT])
def test_a_session_that_only_ever_failed_gives_the_platforms_codes(fmt: str, root: Path) -> None:
    append(root / "-work-shop" / "s1.jsonl", *failing_session(fmt))
    reader = TranscriptReader(root)
    errors = reader.scan(NOW).errors

    assert [(e.code, e.http_status) for e in errors] == [
        (1302, 429),
        (1313, 429),
        (1112, 403),
        (1308, 429),
    ]
    concurrency, fair_use, locked, window = errors
    assert concurrency.message == ENGLISH_1302
    assert fair_use.message.startswith("Your account's current usage pattern")
    assert fair_use.trace_id == "20260908205512e5f6a7b8"
    assert locked.message == CHINESE_1112
    assert window.message == ENGLISH_1308
    assert all(e.session_id == "s1" and e.project == "/work/shop" for e in errors)
    assert [e.timestamp for e in errors] == [minutes(29), minutes(20), minutes(10), minutes(5)]
    # The platform's errors made it the platform's session: it is active from its prompt.
    summary = reader.active_sessions(timedelta(minutes=5), NOW)
    assert summary.session_ids == ("s1",)
    assert summary.last_prompt == minutes(1)
    assert summary.last_seen is None  # no reply ever came


@pytest.mark.parametrize("fmt", [OLDER, CURRENT])
def test_the_failing_session_through_the_risk_watcher(
    fmt: str, root: Path, store: EventStore
) -> None:
    append(root / "-work-shop" / "s1.jsonl", *failing_session(fmt))
    report = RiskWatcher(store, root).update(NOW, risk_flag=None, flag_checked=False)

    assert [(e.code, e.code_class) for e in store.all_events()] == [
        (1302, CodeClass.THROTTLED),
        (1313, CodeClass.RESTRICTED),
        (1112, CodeClass.LOCKED),
        (1308, CodeClass.WINDOW_EXHAUSTED),
    ]
    state = report.state
    assert state.status is RiskStatus.LOCKED
    assert state.active_episode is not None and state.active_episode.codes == (1112, 1313)
    assert state.active_episode.trace_ids == ("20260908205512e5f6a7b8",)
    assert state.throttle is not None and state.throttle.code == 1308
    assert state.throttle.window == FIVE_HOUR and state.throttle.reset_at == BACK_AT
    assert state.back_at == {FIVE_HOUR: BACK_AT}
    assert report.activity is not None and report.activity.sessions == 1
    assert {n.kind for n in report.notices} == {"locked"}


def test_both_formats_give_the_same_signals(tmp_path: Path) -> None:
    found = {}
    for fmt in (OLDER, CURRENT):
        folder = tmp_path / fmt
        append(folder / "-work-shop" / "s1.jsonl", *failing_session(fmt))
        errors = TranscriptReader(folder).scan(NOW).errors
        found[fmt] = [(e.code, e.message, e.trace_id, e.http_status, e.dedup_key) for e in errors]
    assert found[OLDER] == found[CURRENT]


def test_a_1310_with_its_reset_gives_the_weekly_back_at(root: Path, store: EventStore) -> None:
    append(
        root / "-work-shop" / "s1.jsonl",
        user_line("s1", minutes(3), "u1"),
        failure_line("s1", minutes(2), "e1", error_text(CURRENT, 429, BRACKETED_1310), 429),
    )
    watcher = RiskWatcher(store, root)
    report = watcher.update(NOW, risk_flag=None, flag_checked=False)
    assert report.state.status is RiskStatus.WINDOW_EXHAUSTED
    assert report.state.back_at == {WEEKLY: BACK_AT}
    [notice] = report.notices
    assert notice.kind == "window_exhausted"
    assert "the weekly usage window is used up (code 1310" in notice.body
    assert watcher.update(NOW, risk_flag=None, flag_checked=False).notices == ()
    after = watcher.update(BACK_AT + timedelta(seconds=1), risk_flag=None, flag_checked=False)
    assert after.state.back_at == {}
    assert after.state.status is RiskStatus.OK


def test_chinese_1308_and_1113_in_the_current_format(root: Path, store: EventStore) -> None:
    chinese_1308 = "已达到 5 小时的使用上限。您的限额将在 2026-09-09 05:38:28 重置。"
    append(
        root / "-work-shop" / "s1.jsonl",
        failure_line("s1", minutes(9), "e1", error_text(CURRENT, 429, chinese_1308), 429),
        failure_line(
            "s1", minutes(8), "e2", error_text(CURRENT, 402, CHINESE_1113), 402, "billing_error"
        ),
    )
    report = RiskWatcher(store, root).update(NOW, risk_flag=None, flag_checked=False)
    assert [e.code for e in store.all_events()] == [1308, 1113]
    assert report.state.status is RiskStatus.PLAN_MISSING
    assert report.state.back_at == {FIVE_HOUR: BACK_AT}


def test_1113_in_error_type_through_the_anthropic_endpoint(root: Path) -> None:
    body = {"type": "error", "error": {"type": "1113", "message": CHINESE_1113}}
    text = "API Error: 402 " + json.dumps(body, ensure_ascii=False)
    append(root / "-work-shop" / "s1.jsonl", failure_line("s1", minutes(1), "e1", text, 402))
    [error] = TranscriptReader(root).scan(NOW).errors
    assert (error.code, error.message) == (1113, CHINESE_1113)


def test_a_code_less_rate_limit_in_a_glm_session_is_throttling(
    root: Path, store: EventStore
) -> None:
    append(
        root / "-work-shop" / "s1.jsonl",
        reply_line("s1", minutes(10), "r1"),
        failure_line(
            "s1", minutes(2), "e1", "API Error: Request rejected (429) · Too Many Requests", 429
        ),
        failure_line(
            "s1", minutes(1), "e2", "API Error: 500 Internal Server Error", 500, "server_error"
        ),
    )
    report = RiskWatcher(store, root).update(NOW, risk_flag=None, flag_checked=False)
    assert [(e.code, e.code_class, e.http_status) for e in store.all_events()] == [
        (None, CodeClass.THROTTLED, 429),
        (None, CodeClass.UNKNOWN, 500),
    ]
    assert report.state.status is RiskStatus.THROTTLED
    assert report.state.throttle is not None and report.state.throttle.code is None
    assert report.state.back_at == {}


def test_other_providers_errors_are_not_the_platforms(root: Path) -> None:
    append(
        root / "-work-notes" / "claude.jsonl",
        reply_line("c1", minutes(20), "r1", model="claude-sonnet-4-5-20250929"),
        failure_line(
            "c1",
            minutes(3),
            "e1",
            "API Error: Request rejected (429) · Number of request tokens has exceeded your "
            "per-minute rate limit",
            429,
        ),
        failure_line("c1", minutes(2), "e2", "API Error: 529 Overloaded", 529, "unknown"),
    )
    # No model line at all and a text that is not the platform's: not ours either.
    append(
        root / "-work-notes" / "unknown.jsonl",
        failure_line("u1", minutes(1), "e3", "API Error: 401 invalid x-api-key", 401),
    )
    reader = TranscriptReader(root)
    assert reader.scan(NOW).errors == []
    # Once the platform's own text comes back in the unknown session, it is the platform's.
    append(
        root / "-work-notes" / "unknown.jsonl",
        failure_line("u1", minutes(0.5), "e4", error_text(CURRENT, 401, "身份验证失败。"), 401),
        failure_line("u1", minutes(0.2), "e5", "API Error: 401 invalid x-api-key", 401),
    )
    assert [(e.code, e.http_status) for e in reader.scan(NOW).errors] == [(1000, 401), (None, 401)]


# --- activity from user lines ------------------------------------------------------------------


def test_a_glm_session_is_active_from_its_latest_user_line(root: Path) -> None:
    session = root / "-work-shop" / "s1.jsonl"
    append(session, user_line("s1", minutes(21), "u1"), reply_line("s1", minutes(20), "r1"))
    reader = TranscriptReader(root)
    reader.scan(NOW)
    assert reader.active_sessions(timedelta(minutes=5), NOW).sessions == 0
    # A tool result goes back to the model: the session is at work, no reply written yet.
    append(session, user_line("s1", minutes(1), "u2", tool_output="3 passed"))
    reader.scan(NOW)
    summary = reader.active_sessions(timedelta(minutes=5), NOW)
    assert summary.session_ids == ("s1",)
    assert summary.project_names == ("shop",)
    assert summary.last_prompt == minutes(1)
    assert summary.last_seen is None  # the last reply is older than the window


def test_a_prompt_does_not_clear_a_throttle_but_a_reply_does(root: Path, store: EventStore) -> None:
    session = root / "-work-shop" / "s1.jsonl"
    append(
        session,
        reply_line("s1", minutes(4), "r1"),
        failure_line("s1", minutes(3), "e1", error_text(CURRENT, 429, ENGLISH_1302), 429),
        user_line("s1", minutes(1), "u1"),
    )
    watcher = RiskWatcher(store, root)
    assert watcher.update(NOW, risk_flag=None, flag_checked=False).state.status is (
        RiskStatus.THROTTLED
    )
    append(session, reply_line("s1", minutes(0.5), "r2"))
    assert watcher.update(NOW, risk_flag=None, flag_checked=False).state.status is RiskStatus.OK


def test_a_new_session_takes_the_provider_of_its_project(root: Path) -> None:
    # shop talks to GLM, notes to Claude; a fresh session in each has only its prompt.
    append(root / "-work-shop" / "old.jsonl", reply_line("old", minutes(60), "r1"))
    append(
        root / "-work-notes" / "old.jsonl",
        reply_line("n-old", minutes(50), "r2", model="claude-opus-4-1"),
    )
    append(root / "-work-shop" / "new.jsonl", user_line("new-shop", minutes(1), "u1"))
    append(root / "-work-notes" / "new.jsonl", user_line("new-notes", minutes(1), "u2"))
    reader = TranscriptReader(root)
    reader.scan(NOW)
    assert reader.active_sessions(timedelta(minutes=5), NOW).session_ids == ("new-shop",)

    # A project never seen takes the provider of the latest session anywhere: the file
    # changed last is where the tool points now.
    append(root / "-work-blog" / "new.jsonl", user_line("new-blog", minutes(1), "u3"))
    os.utime(root / "-work-notes" / "old.jsonl", ns=(0, 2_000_000_000 * 10**9))
    os.utime(root / "-work-shop" / "old.jsonl", ns=(0, 1_000_000_000 * 10**9))
    reader = TranscriptReader(root)
    reader.scan(NOW)
    assert reader.active_sessions(timedelta(minutes=5), NOW).session_ids == ("new-shop",)
    os.utime(root / "-work-shop" / "old.jsonl", ns=(0, 3_000_000_000 * 10**9))
    reader = TranscriptReader(root)
    reader.scan(NOW)
    assert reader.active_sessions(timedelta(minutes=5), NOW).session_ids == (
        "new-blog",
        "new-shop",
    )


def test_a_prompt_with_no_provider_known_anywhere_is_not_counted(root: Path) -> None:
    session = root / "-work-shop" / "s1.jsonl"
    append(session, user_line("s1", minutes(2), "u1"))
    reader = TranscriptReader(root)
    reader.scan(NOW)
    assert reader.active_sessions(timedelta(minutes=5), NOW).sessions == 0
    append(session, reply_line("s1", minutes(1), "r1"))
    reader.scan(NOW)
    summary = reader.active_sessions(timedelta(minutes=5), NOW)
    assert summary.session_ids == ("s1",) and summary.last_seen == minutes(1)


def test_the_provider_survives_a_restart_through_the_saved_offsets(root: Path) -> None:
    append(root / "-work-shop" / "old.jsonl", reply_line("old", minutes(60), "r1"))
    first = TranscriptReader(root)
    first.scan(NOW)
    saved = json.loads(json.dumps(first.state()))
    assert saved["files"]["-work-shop/old.jsonl"]["model"] == "glm-4.6"

    append(root / "-work-shop" / "new.jsonl", user_line("new", minutes(1), "u1"))
    restarted = TranscriptReader(root, saved)
    restarted.scan(NOW)
    assert restarted.active_sessions(timedelta(minutes=5), NOW).session_ids == ("new",)
    # Offsets saved before these fields existed still load (provider unknown until read).
    for file_state in saved["files"].values():
        del file_state["model"], file_state["other_model"]
    older = TranscriptReader(root, saved)
    older.scan(NOW)
    assert older.state()["files"]["-work-shop/old.jsonl"]["offset"] > 0


def test_old_user_lines_are_not_decoded(root: Path) -> None:
    session = root / "-work-shop" / "s1.jsonl"
    output = "x" * 2000
    old = [
        user_line("s1", NOW - timedelta(days=3, minutes=index), f"u{index}", tool_output=output)
        for index in range(500)
    ]
    append(session, *old, reply_line("s1", minutes(30), "r1"), user_line("s1", minutes(1), "u"))
    result = TranscriptReader(root).scan(NOW)
    # The reply and the one recent user line; the 500 old tool results stayed bytes.
    assert result.lines_parsed == 2
    assert result.malformed_lines == 0


def test_a_user_line_quoting_old_timestamps_is_still_read(root: Path) -> None:
    # A tool result that holds an old timestamp of its own: the line's own one counts.
    quoted = json.dumps({"timestamp": "2020-01-01T00:00:00Z"})
    session = root / "-work-shop" / "s1.jsonl"
    append(
        session,
        reply_line("s1", minutes(30), "r1"),
        user_line("s1", minutes(1), "u1", tool_output=quoted),
    )
    reader = TranscriptReader(root)
    reader.scan(NOW)
    assert reader.active_sessions(timedelta(minutes=5), NOW).last_prompt == minutes(1)


def test_a_huge_model_name_is_capped_in_the_saved_offsets(root: Path) -> None:
    append(
        root / "-work-shop" / "s1.jsonl", reply_line("s1", minutes(1), "r1", "glm-" + "x" * 10_000)
    )
    reader = TranscriptReader(root)
    reader.scan(NOW)
    assert len(reader.state()["files"]["-work-shop/s1.jsonl"]["model"]) == 100
    assert reader.active_sessions(timedelta(minutes=5), NOW).session_ids == ("s1",)
