"""`glmtray status` and the usage history, end to end as subprocesses against the
simulator: it records its own fetch, forecasts every window (`forecast` in --json, field
by field), and a busy or damaged history never fails it."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest

from glmtray.history.store import HistoryRow, HistoryStore
from glmtray.settings import data_dir
from glmtray.simulator import SIMULATOR_API_KEY, PlatformSimulator
from tests.test_cli import key_env, run

ACCOUNT = "global:default"
FORECAST_FIELDS = {
    "outcome",
    "phrase",
    "share_now",
    "pace_per_hour",
    "runs_out_at",
    "margin_seconds",
    "share_at_reset",
    "resets_at",
    "since",
    "readings",
}


@pytest.fixture(scope="module")
def sim() -> Iterator[PlatformSimulator]:
    with PlatformSimulator("pro") as simulator:
        yield simulator


def status_json(sim: PlatformSimulator) -> dict[str, object]:
    result = run(["status", "--json"], key_env(sim))
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert isinstance(data, dict)
    return data


def windows_of(data: dict[str, object]) -> dict[str, dict[str, object]]:
    windows = data["windows"]
    assert isinstance(windows, list)
    return {w["id"]: w for w in windows}


def seed_weekly(minutes_ago: float) -> datetime:
    """A reading of the pro scenario's weekly window at 0 %, `minutes_ago`; its reset."""
    before = datetime.now(timezone.utc) - timedelta(minutes=minutes_ago)
    reset = datetime.now(timezone.utc) + timedelta(days=3, hours=4)
    store = HistoryStore(data_dir() / "history.sqlite3", ACCOUNT)
    store.add(before, [HistoryRow(before, "weekly", "Weekly", 0.0, None, None, reset)])
    store.close()
    return before.replace(microsecond=0)


def test_the_first_status_records_its_fetch_and_says_there_is_no_history(
    sim: PlatformSimulator,
) -> None:
    sim.set_scenario("pro")
    data = status_json(sim)
    windows = windows_of(data)
    assert set(windows) == {"five_hour", "weekly", "monthly_tools"}
    for window in windows.values():
        forecast = window["forecast"]
        assert isinstance(forecast, dict) and set(forecast) == FORECAST_FIELDS
        assert forecast["outcome"] == "no_history"
        assert forecast["phrase"] == "No history yet: forecast after a few refreshes"
        assert forecast["share_now"] == round(float(str(window["used_percent"])) / 100, 4)
        assert forecast["resets_at"] == window["resets_at"]
        assert forecast["readings"] == 1
        for empty in ("pace_per_hour", "runs_out_at", "margin_seconds", "share_at_reset", "since"):
            assert forecast[empty] is None
    store = HistoryStore(data_dir() / "history.sqlite3", ACCOUNT)
    now = datetime.now(timezone.utc)
    rows = store.read(now - timedelta(minutes=5), now)
    assert {r.window_key for r in rows} == set(windows)
    # The file holds shares and moments, never the key.
    store.close()
    assert SIMULATOR_API_KEY.encode() not in (data_dir() / "history.sqlite3").read_bytes()


def test_a_window_forecast_to_run_out_field_by_field(sim: PlatformSimulator) -> None:
    sim.set_scenario("pro")  # weekly at 3 %
    since = seed_weekly(minutes_ago=12)
    started = datetime.now(timezone.utc)
    data = status_json(sim)
    finished = datetime.now(timezone.utc)
    weekly = windows_of(data)["weekly"]
    forecast = weekly["forecast"]
    assert isinstance(forecast, dict) and set(forecast) == FORECAST_FIELDS
    assert forecast["outcome"] == "runs_out"
    assert forecast["share_now"] == 0.03
    assert forecast["since"] == since.isoformat().replace("+00:00", "Z")
    assert forecast["readings"] == 2
    assert forecast["resets_at"] == weekly["resets_at"]
    assert forecast["share_at_reset"] == 1.0
    # 3 % in 12 minutes (and the seconds the command took): 15 % an hour at most.
    hours = [(moment - since).total_seconds() / 3600 for moment in (started, finished)]
    pace = forecast["pace_per_hour"]
    assert isinstance(pace, float) and 0.03 / hours[1] <= pace <= 0.03 / hours[0]
    runs_out = datetime.fromisoformat(str(forecast["runs_out_at"]).replace("Z", "+00:00"))
    # The other 97 % take about 97/3 times as long as the first 3 % did: under a day even
    # if peak hours (3x for this token plan) cut the pace to a third; days before the reset.
    resets = datetime.fromisoformat(str(weekly["resets_at"]).replace("Z", "+00:00"))
    assert forecast["margin_seconds"] == int((resets - runs_out).total_seconds())
    assert started < runs_out < resets - timedelta(days=2)
    phrase = str(forecast["phrase"])
    assert phrase.startswith("At this pace it runs out at ") and phrase.endswith("before it resets")
    # The text output says it as the tooltip does.
    seed_weekly(minutes_ago=12)
    text = run(["status"], key_env(sim)).stdout
    assert "Weekly: At this pace it runs out at " in text


def test_a_busy_history_does_not_hold_or_fail_status(sim: PlatformSimulator) -> None:
    sim.set_scenario("pro")
    seed_weekly(minutes_ago=12)
    holder = sqlite3.connect(data_dir() / "history.sqlite3", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # the tray writing, as long as this test likes
    try:
        data = status_json(sim)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    # Its own reading was skipped, the forecast still read what was there.
    forecast = windows_of(data)["weekly"]["forecast"]
    assert isinstance(forecast, dict) and forecast["outcome"] == "runs_out"
    assert forecast["readings"] == 2


def test_a_damaged_history_is_set_aside_and_status_goes_on(sim: PlatformSimulator) -> None:
    sim.set_scenario("pro")
    path = data_dir() / "history.sqlite3"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x00garbage, not a database" * 100)
    data = status_json(sim)
    forecast = windows_of(data)["five_hour"]["forecast"]
    assert isinstance(forecast, dict) and forecast["outcome"] == "no_history"
    assert [p.name.startswith("history.sqlite3.corrupt-") for p in path.parent.iterdir()].count(
        True
    ) == 1
