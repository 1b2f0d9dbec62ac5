"""The usage history's recorder: each good fetch from the simulator, over loopback, into
the account's store; one store per account shared with the readers; the demo's seed."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from glmtray.credentials import Account
from glmtray.environment import demo_environment, normal_environment
from glmtray.errors import PlatformUnavailable
from glmtray.history.demo_seed import SEED_STEP
from glmtray.history.forecast import Outcome, forecasts_for
from glmtray.history.recorder import HistoryRecorder, HistoryStores, history_rows
from glmtray.history.store import HistoryStore
from glmtray.platform.client import PlatformClient
from glmtray.platform.models import Section, Snapshot
from glmtray.platform.regions import Region
from glmtray.settings import data_dir
from glmtray.simulator import DEMO_API_KEY, SIMULATOR_API_KEY, PlatformSimulator
from glmtray.simulator.scenarios import Call, demo_quota

ACCOUNT = Account(Region.GLOBAL)


@pytest.fixture(scope="module")
def sim() -> Iterator[PlatformSimulator]:
    with PlatformSimulator("pro") as simulator:
        yield simulator


def fetch(sim: PlatformSimulator) -> Snapshot:
    with PlatformClient(SIMULATOR_API_KEY, Region.GLOBAL, base_url=sim.base_url) as client:
        return client.snapshot()


def test_a_fetch_is_recorded_window_by_window(sim: PlatformSimulator, tmp_path: Path) -> None:
    snapshot = fetch(sim)
    assert len(snapshot.windows) == 3
    store = HistoryStore(tmp_path / "history.sqlite3", ACCOUNT.username)
    at = datetime(2026, 12, 1, 9, 30, 15, tzinfo=timezone.utc)
    HistoryRecorder(store).record(snapshot, at)
    rows = store.read(at, at)
    by_key = {row.window_key: row for row in rows}
    assert set(by_key) == {w.id for w in snapshot.windows}
    for window in snapshot.windows:
        row = by_key[window.id]
        assert row.at == at
        assert row.label == window.label
        assert row.share == window.used_percent / 100
        assert row.used == (float(window.used) if window.used is not None else None)
        assert row.limit == (float(window.limit) if window.limit is not None else None)
        assert row.resets_at == (
            window.resets_at.replace(microsecond=0) if window.resets_at else None
        )
    # The tool window's counts come from the platform: kept as counts.
    tools = by_key["monthly_tools"]
    assert tools.used is not None and tools.limit == 1000.0


def test_a_fetch_without_its_quota_records_nothing(sim: PlatformSimulator) -> None:
    snapshot = fetch(sim)
    failed = replace(snapshot, problems={Section.QUOTA: PlatformUnavailable("down")})
    assert history_rows(failed, snapshot.fetched_at) == []
    assert history_rows(replace(snapshot, quota=None), snapshot.fetched_at) == []
    store = HistoryStore(":memory:", ACCOUNT.username)
    HistoryRecorder(store).record(failed, snapshot.fetched_at)
    assert store.point_count() == 0


def test_one_store_per_account_for_the_whole_run(tmp_path: Path) -> None:
    opened: list[Account] = []

    def open_store(account: Account) -> HistoryStore:
        opened.append(account)
        return HistoryStore(tmp_path / "history.sqlite3", account.username)

    stores = HistoryStores(open_store)
    recorder = stores.recorder(ACCOUNT)
    assert opened == []  # made before the first data shows: SQLite waits for a recording
    first = stores.open(ACCOUNT)
    assert recorder.store is first and stores.open(ACCOUNT) is first
    other = stores.open(Account(Region.CHINA))
    assert other is not first and opened == [ACCOUNT, Account(Region.CHINA)]
    recorder.close()  # a session's end leaves the store to the readers
    now = datetime(2026, 12, 1, tzinfo=timezone.utc)
    assert first.add(now, []) is True
    stores.close()
    assert first.read(now, now) == [] and first.add(now, []) is True
    assert stores.open(ACCOUNT) is not first  # a new run opens afresh


def test_the_normal_recorder_writes_the_store_the_window_reads(sim: PlatformSimulator) -> None:
    environment = normal_environment(sim.base_url)
    try:
        snapshot = fetch(sim)
        at = datetime.now(timezone.utc).replace(microsecond=0)
        recorders = environment.open_recorders(ACCOUNT)
        assert any(isinstance(r, HistoryRecorder) for r in recorders)
        for recorder in recorders:
            recorder.record(snapshot, at)
        store = environment.open_history(ACCOUNT)
        assert {r.window_key for r in store.read(at, at)} == {w.id for w in snapshot.windows}
        assert store.path == str(data_dir() / "history.sqlite3")
        assert not store.memory_only
    finally:
        environment.close()
    assert (data_dir() / "history.sqlite3").exists()


def test_the_demo_shows_a_living_history_at_once() -> None:
    environment = demo_environment(story=())
    try:
        store = environment.open_history(ACCOUNT)
        assert store.memory_only and environment.open_history(ACCOUNT) is store
        now = datetime.now(timezone.utc)
        rows = store.read(now - timedelta(days=4), now)
        assert {r.window_key for r in rows} == {"five_hour", "weekly", "monthly_tools"}
        assert now - rows[0].at >= timedelta(days=3) - timedelta(minutes=6)
        assert now - rows[-1].at <= timedelta(minutes=6)
        # Each point is what the demo's simulator answers at that moment.
        last_five = [r for r in rows if r.window_key == "five_hour"][-1]
        limits = demo_quota(Call(last_five.at.timestamp())).payload["data"]["limits"]
        assert last_five.share == limits[0]["percentage"] / 100
        # The history is there for a forecast from the first fetch on.
        with PlatformClient(DEMO_API_KEY, Region.GLOBAL, base_url=environment.base_url) as client:
            snapshot = client.snapshot()
        forecasts = forecasts_for(store, snapshot, now)
        five_hour = next(w for w in snapshot.windows if w.id == "five_hour")
        assert five_hour.resets_at is not None
        period_start = five_hour.resets_at - timedelta(hours=5)
        if now - period_start < 2 * SEED_STEP:  # the demo's window has only just reset
            assert forecasts["five_hour"].outcome in (Outcome.SINGLE_POINT, Outcome.SHORT_SPAN)
        else:
            assert forecasts["five_hour"].outcome not in (Outcome.NO_HISTORY, Outcome.SINGLE_POINT)
        assert forecasts["weekly"].outcome in (Outcome.LASTS, Outcome.RUNS_OUT, Outcome.IDLE)
    finally:
        environment.close()
    assert store.read(now - timedelta(days=4), now) == []  # closed with the environment
