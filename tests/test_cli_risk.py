"""`status --json` carries the tray's whole risk report, built from the account's history
(read only), the transcripts and the flag; and the peak rule in force."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from glmtray.activity.events import EventStore, Signal
from glmtray.simulator import SIMULATOR_API_KEY, PlatformSimulator

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def sim() -> Iterator[PlatformSimulator]:
    with PlatformSimulator("pro") as simulator:
        yield simulator


def status(home: Path, sim: PlatformSimulator, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"),
        "CLAUDE_CONFIG_DIR": str(home / "claude"),
        "GLMTRAY_API_KEY": SIMULATOR_API_KEY,
        "GLMTRAY_BASE_URL": sim.base_url,
        "PYTHONPATH": str(ROOT),
    }
    return subprocess.run(
        [sys.executable, "-m", "glmtray", "status", "--json", *extra],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def store_path(home: Path) -> Path:
    path = home / "data" / "glmtray" / "events.sqlite3"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def test_history_signals_and_their_sources(tmp_path: Path, sim: PlatformSimulator) -> None:
    sim.set_scenario("pro")
    now = datetime.now(timezone.utc)
    with EventStore(store_path(tmp_path), "global:default") as store:
        store.add(Signal(now - timedelta(hours=1), "transcript", 1313, "[1313][fair use]"))
        store.add(Signal(now - timedelta(minutes=2), "meter", 1302, "High concurrency"))
        store.add(Signal(now - timedelta(days=20), "transcript", 1313, "an old episode"))
    with EventStore(store_path(tmp_path), "china:default") as other:
        other.add(Signal(now - timedelta(minutes=5), "meter", 1112, "another account's lock"))
    result = status(tmp_path, sim, "--region", "global")
    assert result.returncode == 6, result.stderr
    assert "restricted by risk control" in result.stderr
    risk = json.loads(result.stdout)["risk"]
    assert risk["restricted"] is True and risk["flag"] is None and risk["locked"] is False
    assert risk["throttled"] is True and risk["throttle"]["code"] == 1302
    assert risk["sources"] == {"restricted": ["transcript"], "throttled": ["meter"]}
    assert risk["strikes"] == {"count": 2, "limit": 3}
    old, current = risk["episodes"]
    assert old["end"] is not None and old["active"] is False
    assert current["end"] is None and current["codes"] == [1313]
    assert current["sources"] == ["transcript"] and current["since"].endswith("Z")
    assert risk["history_read"] is True
    # Read only: nothing was added to the history by status.
    with EventStore(store_path(tmp_path), "global:default") as store:
        assert len(store.all_events()) == 3


def test_a_transcript_line_not_yet_stored_counts_without_being_written(
    tmp_path: Path, sim: PlatformSimulator
) -> None:
    sim.set_scenario("pro")
    project = tmp_path / "claude" / "projects" / "-home-me-app"
    project.mkdir(parents=True)
    stamp = (datetime.now(timezone.utc) - timedelta(minutes=30)).isoformat().replace("+00:00", "Z")
    text = (
        'API Error: 429 {"error":{"code":"1313","message":"Your account\'s current usage '
        'pattern does not comply with the Fair Usage Policy"}}'
    )
    line = {
        "type": "assistant",
        "isApiErrorMessage": True,
        "apiErrorStatus": 429,
        "error": "rate_limit",
        "timestamp": stamp,
        "sessionId": "s1",
        "cwd": "/home/me/app",
        "message": {"model": "<synthetic>", "content": [{"type": "text", "text": text}]},
    }
    (project / "s1.jsonl").write_text(json.dumps(line) + "\n")
    result = status(tmp_path, sim, "--region", "global")
    assert result.returncode == 6, result.stderr
    risk = json.loads(result.stdout)["risk"]
    assert risk["restricted"] is True and risk["sources"]["restricted"] == ["transcript"]
    # Read only: status did not even create the history.
    assert not (tmp_path / "data" / "glmtray" / "events.sqlite3").exists()


def test_the_china_flag_and_a_lock_from_the_quota_endpoint(
    tmp_path: Path, sim: PlatformSimulator
) -> None:
    sim.set_scenario("restricted")
    risk = json.loads(status(tmp_path, sim, "--region", "china").stdout)["risk"]
    assert risk["restricted"] is True and risk["flag"] is True
    assert risk["sources"]["restricted"] == ["risk_flag"]
    sim.set_scenario("locked")
    result = status(tmp_path, sim, "--region", "china")
    assert result.returncode == 6
    risk = json.loads(result.stdout)["risk"]
    assert risk["locked"] is True and risk["sources"]["locked"] == ["account_endpoint"]
    assert risk["episodes"][-1]["codes"] == [1112]


def test_peak_follows_the_plan_and_the_setting(tmp_path: Path, sim: PlatformSimulator) -> None:
    sim.set_scenario("credit_max")
    peak = json.loads(status(tmp_path, sim).stdout)["peak"]
    assert peak["rule"] == "credit" and peak["now"] in ("peak", "off-peak")
    assert peak["multiplier"] == (1.0 if peak["now"] == "peak" else 0.5)
    assert peak["until"].endswith("Z")
    until = datetime.fromisoformat(peak["until"].replace("Z", "+00:00"))
    assert timedelta(0) < until - datetime.now(timezone.utc) <= timedelta(days=3, hours=1)
    sim.set_scenario("pro")
    assert json.loads(status(tmp_path, sim).stdout)["peak"]["rule"] == "token"
    settings = tmp_path / "config" / "glmtray" / "settings.json"
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text(json.dumps({"schema_version": 1, "peak_rule": "credit"}))
    assert json.loads(status(tmp_path, sim).stdout)["peak"]["rule"] == "credit"


def test_a_history_being_written_is_still_read_without_waiting(
    tmp_path: Path, sim: PlatformSimulator
) -> None:
    import sqlite3
    import time

    sim.set_scenario("pro")
    path = store_path(tmp_path)
    with EventStore(path, "global:default") as store:
        store.add(Signal(datetime.now(timezone.utc), "transcript", 1313, "[1313][fair use]"))
    writer = sqlite3.connect(path, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")  # the tray in the middle of a write
        started = time.monotonic()
        result = status(tmp_path, sim, "--region", "global")
        took = time.monotonic() - started
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert result.returncode == 6, result.stderr
    risk = json.loads(result.stdout)["risk"]
    assert risk["history_read"] is True and risk["restricted"] is True
    assert took < 8
