"""What the meter sees in coding answers reaches the status line before the next fetch.

Found with the real Claude Code (tests/realtools): after the simulator's coding endpoint
answered 1308 (5-hour limit) or 1302 (too many at once), Claude Code showed the platform's
error while glmtray's status line went on showing `5h 3%` and nothing about throttling,
because it only knew the last fetch of the quota. The meter now keeps those signals beside
the snapshot (`glmtray.snapshot.note_business_error`) and the status line shows them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from glmtray.activity.events import EventStore
from glmtray.cli_statusline import render
from glmtray.meter.server import LocalMeter
from glmtray.simulator import SIMULATOR_API_KEY, PlatformSimulator
from glmtray.simulator.coding import ANTHROPIC_MESSAGES_PATH, CodingSettings
from glmtray.snapshot import (
    note_business_error,
    note_success,
    read_signals,
    signals_path,
    write_snapshot,
)

ROOT = Path(__file__).resolve().parents[1]
ACCOUNT = "global:default"
FETCHED = datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)
FIELDS = ["plan", "5h", "week", "peak"]
WEEKLY_1310 = "Weekly/Monthly Limit Exhausted. Your limit will reset at 2026-12-03 20:00:00"
FIVE_HOUR_1308 = "Usage limit reached for 5 hour. Your limit will reset at 2026-12-01 20:30:00"


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def snapshot(**changes: object) -> dict[str, object]:
    record: dict[str, object] = {
        "schema_version": 1,
        "fetched_at": iso(FETCHED),
        "account": ACCOUNT,
        "region": "global",
        "tier": "pro",
        "plan_name": "GLM Coding Pro",
        "no_plan": False,
        "has_windows": True,
        "risk": {"restricted": None, "locked": False},
        "blocking_window": "five_hour",
        "windows": [
            {"key": "five_hour", "share": 17.0, "resets_at": "2026-12-01T12:00:00Z"},
            {"key": "weekly", "share": 3.0, "resets_at": "2026-12-05T00:00:00Z"},
        ],
        "peak": None,
    }
    record.update(changes)
    return record


def line(at: datetime, data: dict[str, object] | None = None) -> str:
    return render(data or snapshot(), FIELDS, 86400, now=at.timestamp(), signals=read_signals())


def test_a_used_up_window_is_shown_with_the_reset_the_platform_named() -> None:
    seen = FETCHED + timedelta(minutes=5)
    assert note_business_error(ACCOUNT, 1310, f"[1310][{WEEKLY_1310}][trace]", seen)
    saved = read_signals()
    assert saved is not None and saved["limits"]["weekly"] == {
        "code": 1310,
        "seen_at": "2026-12-01T10:05:00Z",
        "back_at": "2026-12-03T12:00:00Z",  # 20:00 in UTC+8, the platform's own time
    }
    assert os.stat(signals_path()).st_mode & 0o777 == 0o600
    text = line(seen + timedelta(minutes=1))
    assert "wk limit reached, back" in text and "wk 3%" not in text
    assert "5h 17%" in text  # the other window as fetched


def test_a_limit_lasts_until_its_reset_or_an_answer_whatever_a_fetch_says() -> None:
    seen = FETCHED + timedelta(minutes=5)
    note_business_error(ACCOUNT, 1308, FIVE_HOUR_1308, seen)
    assert "5h limit reached, back" in line(seen)
    # A fetch after the refusal can still read below 100 %: the refusal is what counts.
    later = snapshot(fetched_at=iso(seen + timedelta(minutes=1)))
    assert "5h limit reached, back" in line(seen + timedelta(minutes=2), later)
    # Past the reset the platform named (20:30 UTC+8 is 12:30 UTC), it is over.
    assert "5h 17%" in line(datetime(2026, 12, 1, 12, 31, tzinfo=timezone.utc))
    # And so it is once an answer gets through.
    assert note_success(ACCOUNT, seen + timedelta(minutes=3))
    assert "5h 17%" in line(seen + timedelta(minutes=4))


def test_a_limit_naming_no_reset_gives_way_to_a_later_fetch() -> None:
    seen = FETCHED + timedelta(minutes=5)
    note_business_error(ACCOUNT, 1308, "Usage limit reached for 5 hour.", seen)
    assert "5h limit reached" in line(seen)
    assert "5h limit reached" not in line(seen + timedelta(minutes=16))
    later = snapshot(fetched_at=iso(seen + timedelta(minutes=1)))
    assert "5h 17%" in line(seen + timedelta(minutes=2), later)


def test_throttling_shows_until_an_answer_gets_through() -> None:
    seen = FETCHED + timedelta(minutes=5)
    assert note_business_error(ACCOUNT, 1302, "High concurrency usage of this API", seen)
    assert "Throttled (1302)" in line(seen + timedelta(minutes=1))
    assert "Throttled" not in line(seen + timedelta(minutes=16))  # the transient window
    assert note_success(ACCOUNT, seen + timedelta(seconds=30))
    assert "Throttled" not in line(seen + timedelta(minutes=1))
    assert not note_success(ACCOUNT, seen + timedelta(seconds=31))  # nothing left to clear


def test_a_restriction_stays_after_answers_a_lock_does_not() -> None:
    seen = FETCHED + timedelta(minutes=5)
    note_business_error(ACCOUNT, 1313, "[1313][fair use][trace]", seen)
    note_success(ACCOUNT, seen + timedelta(seconds=1))
    assert "RESTRICTED" in line(seen + timedelta(hours=1))
    assert "RESTRICTED" not in line(seen + timedelta(hours=7))
    note_business_error(ACCOUNT, 1121, "Account has irregular activities", seen)
    assert "LOCKED: contact support" in line(seen + timedelta(minutes=1))
    note_success(ACCOUNT, seen + timedelta(seconds=2))
    assert "LOCKED" not in line(seen + timedelta(minutes=1))


def test_other_codes_and_other_accounts_change_nothing() -> None:
    seen = FETCHED + timedelta(minutes=5)
    assert not note_business_error(ACCOUNT, 1214, "Invalid JSON body", seen)
    assert not note_business_error(ACCOUNT, 1304, "daily call limit", seen)  # no window
    assert not Path(signals_path()).exists()
    note_business_error("china:default", 1302, "busy", seen)
    assert "Throttled" not in line(seen)
    # A new account's first signal replaces the other account's file.
    note_business_error(ACCOUNT, 1302, "busy", seen)
    saved = read_signals()
    assert saved is not None and saved["account"] == ACCOUNT


@pytest.mark.parametrize(
    "content", [b"", b"{", b"[]", b'{"schema_version": 2, "account": "x", "limits": {}}']
)
def test_a_damaged_signals_file_is_ignored_and_replaced(content: bytes) -> None:
    path = Path(signals_path())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    assert read_signals() is None
    assert "GLM Pro · 5h 17%" in line(FETCHED)
    assert note_business_error(ACCOUNT, 1302, "busy", FETCHED)
    assert read_signals() is not None


def test_the_status_line_command_shows_them(tmp_path: Path) -> None:
    now = datetime.now(timezone.utc)
    write_snapshot(snapshot(fetched_at=iso(now - timedelta(seconds=5))))
    note_business_error(ACCOUNT, 1308, "Usage limit reached for 5 hour.", now)
    note_business_error(ACCOUNT, 1302, "High concurrency usage of this API", now)
    result = subprocess.run(
        [sys.executable, "-m", "glmtray", "statusline", "--no-fetch", "--color=never"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("GLM Pro · Throttled (1302) · 5h limit reached")


# -- the meter writes them ------------------------------------------------------------------


@pytest.fixture
def metered(tmp_path: Path) -> Iterator[tuple[PlatformSimulator, LocalMeter]]:
    with (
        PlatformSimulator("pro", coding=CodingSettings(chunks=2, chunk_delay=0)) as sim,
        EventStore(tmp_path / "events.db", ACCOUNT) as store,
        LocalMeter(sim.base_url, port=0, events=store) as meter,
    ):
        yield sim, meter


def ask(meter: LocalMeter) -> int:
    request = urllib.request.Request(
        f"{meter.url}{ANTHROPIC_MESSAGES_PATH}",
        data=json.dumps({"model": "glm-4.6", "messages": []}).encode(),
        headers={"x-api-key": SIMULATOR_API_KEY, "content-type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            answer.read()
            return int(answer.status)
    except urllib.error.HTTPError as error:
        error.read()
        return int(error.code)


def wait_for_signals(check: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """The signals file once `check` holds (the meter writes it on its writer thread)."""
    deadline = time.monotonic() + 5
    while True:
        saved = read_signals()
        if saved is not None and check(saved):
            return saved
        assert time.monotonic() < deadline, f"signals never matched: {saved}"
        time.sleep(0.02)


def test_the_meter_notes_a_used_up_window_and_an_answer_clears_it(
    metered: tuple[PlatformSimulator, LocalMeter],
) -> None:
    sim, meter = metered
    sim.coding.set(CodingSettings(limit_reached="weekly"))
    assert ask(meter) == 429
    saved = wait_for_signals(lambda s: "weekly" in s["limits"])
    assert saved["account"] == ACCOUNT
    assert SIMULATOR_API_KEY not in Path(signals_path()).read_text()
    sim.coding.set(CodingSettings(limit=0))
    assert ask(meter) == 429
    wait_for_signals(lambda s: s.get("throttle", {}).get("code") == 1302)
    sim.coding.set(CodingSettings(chunks=2, chunk_delay=0))
    assert ask(meter) == 200
    wait_for_signals(lambda s: s["limits"] == {} and "throttle" not in s)


def test_a_meter_without_an_account_writes_nothing(tmp_path: Path) -> None:
    with (
        PlatformSimulator("pro", coding=CodingSettings(limit_reached="five_hour")) as sim,
        LocalMeter(sim.base_url, port=0) as meter,
    ):
        assert ask(meter) == 429
    assert not Path(signals_path()).exists()
