"""The status line's snapshot: where it lives, what it holds (never the key), how it is
written (atomically, 0600), who writes it (the tray's recorder, `status`; not the demo),
and how a damaged one is read. Real files, the real simulator on loopback."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import platformdirs
import pytest

from glmtray.credentials import Account
from glmtray.peak import peak_status
from glmtray.platform.client import PlatformClient
from glmtray.platform.models import Snapshot
from glmtray.platform.regions import Region
from glmtray.settings import Settings, config_dir
from glmtray.simulator import QUOTA_PATH, SIMULATOR_API_KEY, PlatformSimulator
from glmtray.snapshot import (
    SCHEMA_VERSION,
    SnapshotWriter,
    cache_dir,
    parse_time,
    read_snapshot,
    save_fetch,
    snapshot_path,
    snapshot_record,
    write_snapshot,
)
from glmtray.snapshot import config_dir as quick_config_dir

ROOT = Path(__file__).resolve().parent.parent
ACCOUNT = Account(Region.GLOBAL)


@pytest.fixture(scope="module")
def sim() -> Iterator[PlatformSimulator]:
    with PlatformSimulator("pro") as simulator:
        yield simulator


def fetch(sim: PlatformSimulator, scenario: str, region: Region = Region.GLOBAL) -> Snapshot:
    sim.set_scenario(scenario)
    with PlatformClient(SIMULATOR_API_KEY, region, base_url=sim.base_url) as client:
        return client.snapshot()


# -- where ---------------------------------------------------------------------------


@pytest.mark.parametrize("xdg", ["set", "unset", "relative"])
def test_folders_are_platformdirs_own(
    xdg: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for variable in ("XDG_CACHE_HOME", "XDG_CONFIG_HOME"):
        if xdg == "unset":
            monkeypatch.delenv(variable, raising=False)
        elif xdg == "relative":
            monkeypatch.setenv(variable, "relative/path")
    assert cache_dir() == platformdirs.user_cache_dir("glmtray", appauthor=False)
    assert quick_config_dir() == str(config_dir())
    assert snapshot_path() == os.path.join(cache_dir(), "snapshot.json")


# -- what ----------------------------------------------------------------------------


def test_a_fetch_is_saved_with_every_window_and_never_the_key(sim: PlatformSimulator) -> None:
    snapshot = fetch(sim, "credit")
    assert save_fetch(snapshot, ACCOUNT, Settings())
    path = Path(snapshot_path())
    raw = path.read_bytes()
    assert SIMULATOR_API_KEY.encode() not in raw
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    data = json.loads(raw)
    assert data["schema_version"] == SCHEMA_VERSION
    assert data["account"] == "global:default" and data["region"] == "global"
    assert data["tier"] == "pro" and data["no_plan"] is False
    assert data["risk"] == {"restricted": None, "locked": False}  # global: no flag, unknown
    assert data["blocking_window"] == "five_hour"
    assert parse_time(data["fetched_at"]) == pytest.approx(snapshot.fetched_at.timestamp(), abs=1)
    five_hour = data["windows"][0]
    assert five_hour["key"] == "five_hour" and five_hour["label"] == "5-hour"
    assert (five_hour["share"], five_hour["used"], five_hour["limit"]) == (23.0, 460, 2000)
    assert five_hour["unit_name"] == "credits" and five_hour["resets_at"].endswith("Z")
    assert [w["key"] for w in data["windows"]] == ["five_hour", "weekly", "monthly_tools"]
    assert read_snapshot() == data


def test_the_peak_schedule_follows_the_peak_rules(sim: PlatformSimulator) -> None:
    snapshot = fetch(sim, "credit")
    data = snapshot_record(snapshot, ACCOUNT, peak_rule="auto", peak_hours="14:00-18:00")
    assert data is not None
    periods = data["peak"]
    starts = [parse_time(p["from"]) for p in periods]
    assert starts == sorted(starts)
    assert periods[-1]["peak"] is None  # the end of what was saved
    end = snapshot.fetched_at + timedelta(days=8)
    assert parse_time(periods[-1]["from"]) == pytest.approx(end.timestamp(), abs=1)
    # Every hour of the schedule says what glmtray.peak says (credit plan: 1x or 0.5x).
    moment = snapshot.fetched_at
    while moment < end:
        index = max(
            i for i, start in enumerate(starts) if start is not None and start <= moment.timestamp()
        )
        status = peak_status(moment, "credit", "14:00-18:00")
        assert periods[index]["peak"] is status.peak_now
        assert periods[index]["multiplier"] == status.multiplier
        moment += timedelta(minutes=37)


def test_an_unreachable_platform_keeps_the_last_good_snapshot(sim: PlatformSimulator) -> None:
    writer = SnapshotWriter(ACCOUNT)
    writer.record(fetch(sim, "pro"), datetime.now(timezone.utc))
    before = Path(snapshot_path()).read_bytes()
    writer.record(fetch(sim, "http_500"), datetime.now(timezone.utc))
    writer.close()
    assert Path(snapshot_path()).read_bytes() == before


@pytest.mark.parametrize(
    ("scenario", "region", "expected"),
    [
        ("locked", Region.GLOBAL, {"restricted": True, "locked": True}),
        ("restricted", Region.CHINA, {"restricted": True, "locked": False}),
        ("pro", Region.CHINA, {"restricted": False, "locked": False}),
    ],
)
def test_the_accounts_risk_state_is_saved(
    sim: PlatformSimulator, scenario: str, region: Region, expected: dict[str, bool]
) -> None:
    SnapshotWriter(Account(region)).record(fetch(sim, scenario, region), datetime.now(timezone.utc))
    data = read_snapshot()
    assert data is not None and data["risk"] == expected
    if scenario == "locked":
        assert data["windows"] == []


def test_no_plan_is_saved_as_such(sim: PlatformSimulator) -> None:
    SnapshotWriter(ACCOUNT).record(fetch(sim, "no_plan"), datetime.now(timezone.utc))
    data = read_snapshot()
    assert data is not None and data["no_plan"] is True and data["windows"] == []


def test_a_refresh_without_the_flag_keeps_the_flag_read_before(sim: PlatformSimulator) -> None:
    china = Account(Region.CHINA)
    writer = SnapshotWriter(china)
    writer.record(fetch(sim, "restricted", Region.CHINA), datetime.now(timezone.utc))
    sim.set_scenario("restricted")
    with PlatformClient(SIMULATOR_API_KEY, Region.CHINA, base_url=sim.base_url) as client:
        without_flag = client.snapshot(include_risk=False, include_subscription=False)
    assert without_flag.risk_restricted is None
    writer.record(without_flag, datetime.now(timezone.utc))
    data = read_snapshot()
    assert data is not None and data["risk"]["restricted"] is True
    # Another account's flag is not carried over.
    SnapshotWriter(Account(Region.CHINA, "work")).record(without_flag, datetime.now(timezone.utc))
    data = read_snapshot()
    assert data is not None and data["risk"]["restricted"] is None


def test_the_writer_reads_the_peak_settings_at_each_fetch(
    sim: PlatformSimulator, tmp_path: Path
) -> None:
    chosen = [Settings(peak_rule="token")]
    writer = SnapshotWriter(ACCOUNT, str(tmp_path / "s.json"), settings=lambda: chosen[0])
    writer.record(fetch(sim, "credit"), datetime.now(timezone.utc))
    token = read_snapshot(str(tmp_path / "s.json"))
    chosen[0] = Settings(peak_rule="credit")
    writer.record(fetch(sim, "credit"), datetime.now(timezone.utc))
    credit = read_snapshot(str(tmp_path / "s.json"))
    assert token is not None and credit is not None
    assert {p["multiplier"] for p in token["peak"]} == {1.0, 3.0, None}
    assert {p["multiplier"] for p in credit["peak"]} == {0.5, 1.0, None}


# -- how it is written ---------------------------------------------------------------


def test_a_reader_never_sees_half_a_file(sim: PlatformSimulator, tmp_path: Path) -> None:
    """Another process reads the file as fast as it can while this one rewrites it with
    records of very different sizes: every read is one whole record."""
    path = tmp_path / "cache" / "snapshot.json"
    record = snapshot_record(fetch(sim, "credit"), ACCOUNT)
    assert record is not None
    small = {**record, "windows": record["windows"][:1], "plan_name": "small"}
    large = {**record, "windows": record["windows"] * 40, "plan_name": "large"}
    write_snapshot(small, str(path))
    reader_code = (
        "import json, sys, time\n"
        "path, seen, bad, reads = sys.argv[1], set(), 0, 0\n"
        "stop = time.monotonic() + 3\n"
        "while time.monotonic() < stop:\n"
        "    with open(path, 'rb') as handle:\n"
        "        raw = handle.read()\n"
        "    reads += 1\n"
        "    try:\n"
        "        seen.add(json.loads(raw)['plan_name'])\n"
        "    except ValueError:\n"
        "        bad += 1\n"
        "print(json.dumps({'reads': reads, 'bad': bad, 'seen': sorted(seen)}))\n"
    )
    reader = subprocess.Popen(
        [sys.executable, "-c", reader_code, str(path)], stdout=subprocess.PIPE, text=True
    )
    stop = threading.Event()

    def write_forever() -> None:
        flip = False
        while not stop.is_set():
            write_snapshot(large if flip else small, str(path))
            flip = not flip

    writer = threading.Thread(target=write_forever)
    writer.start()
    try:
        out, _ = reader.communicate(timeout=30)
    finally:
        stop.set()
        writer.join()
    result = json.loads(out)
    assert result["reads"] > 50
    assert result["bad"] == 0
    assert result["seen"] == ["large", "small"]
    assert [p.name for p in path.parent.iterdir()] == ["snapshot.json"]  # no temp file left


def test_the_folder_is_private_when_made(tmp_path: Path, sim: PlatformSimulator) -> None:
    record = snapshot_record(fetch(sim, "pro"), ACCOUNT)
    assert record is not None
    target = tmp_path / "new" / "snapshot.json"
    write_snapshot(record, str(target))
    assert stat.S_IMODE(target.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


# -- how it is read ------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"{",
        b"[]",
        b"null",
        b'{"schema_version": 2, "fetched_at": "2026-12-01T08:00:00Z", "windows": []}',
        b'{"schema_version": 1, "fetched_at": "yesterday", "windows": []}',
        b'{"schema_version": 1, "fetched_at": "2026-12-01T08:00:00Z", "windows": [{"key": 1}]}',
        b'{"schema_version": 1, "fetched_at": "2026-12-01T08:00:00Z", "windows": '
        b'[{"key": "x", "share": NaN}]}',
        b"\xff\xfe not text",
        b"[" * 100000,
    ],
)
def test_a_damaged_file_reads_as_no_snapshot(content: bytes, tmp_path: Path) -> None:
    path = tmp_path / "snapshot.json"
    path.write_bytes(content)
    assert read_snapshot(str(path)) is None


def test_things_that_are_not_a_snapshot_file_read_as_none(tmp_path: Path) -> None:
    assert read_snapshot(str(tmp_path / "missing.json")) is None
    folder = tmp_path / "folder"
    folder.mkdir()
    assert read_snapshot(str(folder)) is None
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    assert read_snapshot(str(fifo)) is None  # and returns at once: nobody writes to it
    big = tmp_path / "big.json"
    big.write_text(json.dumps({"schema_version": 1, "pad": "x" * 70000}))
    assert read_snapshot(str(big)) is None


# -- who writes it -------------------------------------------------------------------


def test_the_tray_records_it_and_the_demo_does_not() -> None:
    from glmtray.environment import demo_environment, normal_environment

    recorders = normal_environment().open_recorders(ACCOUNT)
    assert [type(r) for r in recorders if isinstance(r, SnapshotWriter)] == [SnapshotWriter]
    demo = demo_environment(story=())
    try:
        assert not any(isinstance(r, SnapshotWriter) for r in demo.open_recorders(ACCOUNT))
    finally:
        demo.close()


def run_cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "glmtray", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
        timeout=60,
    )


def test_status_saves_it_after_a_good_fetch_only(sim: PlatformSimulator) -> None:
    env = {"GLMTRAY_API_KEY": SIMULATOR_API_KEY, "GLMTRAY_BASE_URL": sim.base_url}
    sim.set_scenario("lite")
    assert run_cli(["status"], env).returncode == 0
    data = read_snapshot()
    assert data is not None and data["tier"] == "lite"
    assert SIMULATOR_API_KEY not in Path(snapshot_path()).read_text()
    before = Path(snapshot_path()).read_bytes()
    sim.set_scenario("http_500")
    assert run_cli(["status"], env).returncode == 4
    assert Path(snapshot_path()).read_bytes() == before
    sim.set_scenario("wrong_key")
    assert run_cli(["status"], env).returncode == 2
    assert Path(snapshot_path()).read_bytes() == before
    assert sum(1 for r in sim.requests if r.path == QUOTA_PATH) >= 3
