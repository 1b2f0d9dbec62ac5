"""`glmtray history` end to end: the real command in a subprocess, the key in a test keyring
(a file backend), the platform the simulator on loopback, the history a real SQLite file."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from glmtray.history.store import HistoryRow, HistoryStore
from glmtray.simulator import (
    MODEL_USAGE_PATH,
    SIMULATOR_API_KEY,
    TOOL_USAGE_PATH,
    PlatformSimulator,
)

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def sim() -> Iterator[PlatformSimulator]:
    with PlatformSimulator("pro", slow_seconds=5.0) as simulator:
        yield simulator


@pytest.fixture
def env(sim: PlatformSimulator, tmp_path: Path) -> dict[str, str]:
    """The key stored in the test keyring for the global region's default account."""
    sim.set_scenario("pro")
    keyring_file = tmp_path / "keyring.json"
    keyring_file.write_text(json.dumps({"glmtray/global:default": SIMULATOR_API_KEY}))
    return {
        "PYTHON_KEYRING_BACKEND": "tests.file_keyring.FileKeyring",
        "GLMTRAY_TEST_KEYRING": str(keyring_file),
        "GLMTRAY_BASE_URL": sim.base_url,
        "LANGUAGE": "en",
    }


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **env, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "glmtray", "history", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=60,
    )
    assert SIMULATOR_API_KEY not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    return result


def history_file() -> Path:
    return Path(os.environ["XDG_DATA_HOME"]) / "glmtray" / "history.sqlite3"


def test_text_table_for_24_hours(sim: PlatformSimulator, env: dict[str, str]) -> None:
    before = len(sim.requests)
    result = run([], env)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    out = result.stdout
    assert out.startswith("Usage history, last 24 hours (")
    assert "No readings in this span yet" in out  # no history file: nothing recorded
    assert "Model tokens per hour (* peak hours, UTC+8 14:00-18:00)" in out
    assert "Tool calls per hour" in out
    assert "Tokens by model over the span: glm-4.6 " in out and "glm-4.5-air" in out
    header = next(line for line in out.splitlines() if line.strip().startswith("Time"))
    assert header.split() == ["Time", "All", "models", "Calls"]
    tool_header = [line for line in out.splitlines() if line.strip().startswith("Time")][1]
    assert tool_header.split() == ["Time", "search", "web-reader", "zread"]
    requests = sim.requests[before:]
    assert [r.path for r in requests] == [MODEL_USAGE_PATH, TOOL_USAGE_PATH]
    assert all(r.auth_form == "raw" for r in requests)
    start = datetime.strptime(requests[0].query["startTime"], "%Y-%m-%d %H:%M:%S")
    end = datetime.strptime(requests[0].query["endTime"], "%Y-%m-%d %H:%M:%S")
    assert start.minute == start.second == 0 and timedelta(hours=24) <= end - start
    assert end - start < timedelta(hours=25)
    now_utc8 = datetime.now(timezone(timedelta(hours=8))).replace(tzinfo=None)
    assert abs(end - now_utc8) < timedelta(minutes=1)  # the query is in UTC+8
    assert not history_file().exists()  # reading never creates the tray's file


def test_json_for_7_days(env: dict[str, str]) -> None:
    result = run(["--span", "7d", "--json"], env)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["span"] == "7d" and data["usage_note"] is None
    start = datetime.fromisoformat(data["start"])
    end = datetime.fromisoformat(data["end"])
    assert end - start == timedelta(days=7) and start.utcoffset() == timedelta(0)
    assert len(data["model_tokens"]) == 8 and len(data["tool_calls"]) == 8
    for bucket in data["model_tokens"]:
        assert bucket["length_seconds"] == 86400
        assert (
            datetime.fromisoformat(bucket["start"]).astimezone(timezone(timedelta(hours=8))).time()
            == datetime.min.time()
        )
        assert isinstance(bucket["values"]["all_models"], int)
    assert set(data["model_totals"]) == {"glm-4.6", "glm-4.5-air"}
    assert data["peak_rule"] == "token" and len(data["peak_periods"]) >= 7


def test_csv_for_30_days(env: dict[str, str]) -> None:
    result = run(["--span", "30d", "--csv"], env)
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert rows and list(rows[0]) == ["timestamp", "kind", "name", "value", "unit"]
    tokens = [r for r in rows if r["kind"] == "model_tokens"]
    assert len(tokens) == 31 and {r["unit"] for r in tokens} == {"tokens/day"}
    assert {r["kind"] for r in rows} >= {"peak_period", "model_tokens", "tool_calls"}
    for entry in rows:
        assert datetime.fromisoformat(entry["timestamp"]).utcoffset() is not None


def test_the_recorded_history_is_shown(env: dict[str, str]) -> None:
    now = datetime.now(timezone.utc)
    history_file().parent.mkdir(parents=True, exist_ok=True)
    store = HistoryStore(history_file(), "global:default")
    other = HistoryStore(history_file(), "china:default")
    try:
        for minutes, share in ((200, 0.6), (100, 0.8), (50, 0.1), (5, 0.35)):
            at = now - timedelta(minutes=minutes)
            resets = now - timedelta(minutes=70) if minutes > 50 else now + timedelta(hours=4)
            store.add(at, [HistoryRow(at, "five_hour", "5-hour", share, None, None, resets)])
            weekly = HistoryRow(at, "weekly", "Weekly", 0.12, None, None, now + timedelta(days=3))
            store.add(at, [weekly])
        other.add(now, [HistoryRow(now, "five_hour", "China 5-hour", 0.99, None, None, None)])
    finally:
        store.close()
        other.close()
    text = run([], env)
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    five = next(line for line in lines if line.strip().startswith("5-hour"))
    assert "now 35 %, highest 80 %, 1 reset, the last " in five
    weekly_line = next(line for line in lines if line.strip().startswith("Weekly"))
    assert "now 12 %, highest 12 %, no reset" in weekly_line
    assert "China" not in text.stdout  # another account's history stays its own

    data = json.loads(run(["--json"], env).stdout)
    windows = {w["key"]: w for w in data["windows"]}
    assert [p["share"] for p in windows["five_hour"]["points"]] == [0.6, 0.8, 0.1, 0.35]
    (reset,) = windows["five_hour"]["resets"]
    assert abs(datetime.fromisoformat(reset) - (now - timedelta(minutes=70))) < timedelta(seconds=2)


@pytest.mark.parametrize(
    ("scenario", "code", "shows_view"),
    [
        ("wrong_key", 2, False),
        ("wrong_key_http401", 2, False),
        ("http_500", 4, True),
        ("rate_limited", 4, True),
        ("malformed_json", 5, True),
        ("wrong_shape", 5, True),
    ],
)
def test_exit_codes_and_errors_as_status_gives_them(
    sim: PlatformSimulator, env: dict[str, str], scenario: str, code: int, shows_view: bool
) -> None:
    sim.set_scenario(scenario)
    text = run(["--timeout", "3"], env)
    assert text.returncode == code
    assert text.stderr.startswith("glmtray: ") and text.stderr.count("\n") == 1
    assert ("Usage history" in text.stdout) is shows_view
    as_json = run(["--json", "--timeout", "3"], env)
    assert as_json.returncode == code
    data = json.loads(as_json.stdout)
    if shows_view:  # the windows from the store are still worth showing, with the reason
        assert data["model_tokens"] == [] and "could not be loaded" in data["usage_note"]
    else:
        assert data["error"]["type"] == "AuthenticationFailed" and data["error"]["message"]


def test_a_slow_platform_is_given_up_on_within_the_timeout(
    sim: PlatformSimulator, env: dict[str, str]
) -> None:
    sim.set_scenario("slow")
    began = time.monotonic()
    result = run(["--timeout", "1"], env)
    assert time.monotonic() - began < 8  # 1 s for both endpoints, plus Python's start
    assert result.returncode == 4 and "did not answer in time" in result.stdout + result.stderr


def test_not_signed_in(env: dict[str, str], tmp_path: Path) -> None:
    env = {**env, "GLMTRAY_TEST_KEYRING": str(tmp_path / "empty.json")}
    result = run([], env)
    assert result.returncode == 2 and "glmtray login" in result.stderr
    as_json = run(["--json"], env)
    assert json.loads(as_json.stdout)["error"]["type"] == "AuthenticationFailed"


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["--span", "90d"], 2),  # argparse's own usage error, as for any command
        (["--json", "--csv"], 2),
        (["--timeout", "0"], 1),
        (["--timeout", "nan"], 1),
    ],
)
def test_usage_errors(env: dict[str, str], args: list[str], code: int) -> None:
    result = run(args, env)
    assert result.returncode == code and result.stdout == ""
    assert "glmtray" in result.stderr
