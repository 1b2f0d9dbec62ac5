"""`glmtray meter` as a real subprocess: it relays to the simulator, stops cleanly on SIGINT
and SIGTERM, and leaves what it saw in the signed-in account's event store."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from glmtray.activity.events import EventStore
from glmtray.cli import METER_LAST_RUN_KEY, METER_RUNNING_KEY
from glmtray.simulator import SIMULATOR_API_KEY, PlatformSimulator

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_meter(home: Path, sim: PlatformSimulator, port: int) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"),
        "GLMTRAY_BASE_URL": sim.base_url,
        "PYTHONPATH": str(ROOT),
    }
    env.pop("GLMTRAY_API_KEY", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "glmtray", "meter", "--port", str(port), "--region", "global"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    line = process.stdout.readline()  # printed once it listens
    assert f"127.0.0.1:{port}" in line, line + (process.stderr.read() if process.stderr else "")
    assert "global:default" in line
    return process


def store_of(home: Path) -> EventStore:
    return EventStore(home / "data" / "glmtray" / "events.sqlite3", "global:default")


def chat(port: int, stream: bool) -> httpx.Response:
    return httpx.post(
        f"http://127.0.0.1:{port}/api/coding/paas/v4/chat/completions",
        headers={"Authorization": f"Bearer {SIMULATOR_API_KEY}"},
        json={
            "model": "glm-4.6",
            "stream": stream,
            "messages": [{"role": "user", "content": "hi"}],
        },
        timeout=30,
    )


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_meter_relays_stops_cleanly_and_leaves_its_counts(
    tmp_path: Path, sim: PlatformSimulator, stop_signal: signal.Signals
) -> None:
    port = free_port()
    meter = start_meter(tmp_path, sim, port)
    try:
        with store_of(tmp_path) as store:
            running = json.loads(store.get_state(METER_RUNNING_KEY) or "{}")
        assert running["port"] == port and running["pid"] == meter.pid
        streamed = chat(port, stream=True)
        assert streamed.status_code == 200 and "data:" in streamed.text
        sim.set_coding(fair_use=True)  # every coding request now answers 1313
        refused = chat(port, stream=False)
        assert refused.status_code == 429
    finally:
        meter.send_signal(stop_signal)
        out, err = meter.communicate(timeout=30)
    assert meter.returncode == 0, err
    assert "meter stopped: 2 requests, 1 business errors" in out
    assert SIMULATOR_API_KEY not in out + err
    with store_of(tmp_path) as store:
        last = json.loads(store.get_state(METER_LAST_RUN_KEY) or "{}")
        events = store.all_events()
        assert store.get_state(METER_RUNNING_KEY) is None
    assert last["requests_total"] == 2 and last["errors_total"] == 1
    assert last["errors_by_code"] == {"1313": 1}
    assert [(e.source, e.code) for e in events] == [("meter", 1313)]
    # The port is free again: the listening socket was closed.
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0


def test_status_sees_the_meter_s_counts_and_its_restriction(
    tmp_path: Path, sim: PlatformSimulator
) -> None:
    port = free_port()
    meter = start_meter(tmp_path, sim, port)
    try:
        sim.set_coding(fair_use=True)
        assert chat(port, stream=False).status_code == 429
        env = {
            **os.environ,
            "XDG_CONFIG_HOME": str(tmp_path / "config"),
            "XDG_DATA_HOME": str(tmp_path / "data"),
            "CLAUDE_CONFIG_DIR": str(tmp_path / "claude"),
            "GLMTRAY_BASE_URL": sim.base_url,
            "GLMTRAY_API_KEY": SIMULATOR_API_KEY,
            "PYTHONPATH": str(ROOT),
        }
        deadline = time.monotonic() + 10
        while True:  # the meter stores on its writer thread: give it a moment
            status = subprocess.run(
                [sys.executable, "-m", "glmtray", "status", "--json", "--region", "global"],
                capture_output=True,
                text=True,
                env=env,
                timeout=60,
            )
            data = json.loads(status.stdout)
            if data["risk"]["restricted"] or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    finally:
        meter.send_signal(signal.SIGINT)
        meter.communicate(timeout=30)
    assert status.returncode == 6, status.stderr
    risk = data["risk"]
    assert risk["restricted"] is True and risk["locked"] is False
    assert risk["sources"]["restricted"] == ["meter"]
    assert risk["strikes"] == {"count": 1, "limit": 3}
    assert risk["episodes"][0]["codes"] == [1313] and risk["episodes"][0]["end"] is None
    assert data["concurrency"] is not None
    # Counts come from the running meter (no meter: in_flight is null).
    assert data["concurrency"]["in_flight"] == 0 and data["concurrency"]["peak_5m"] >= 1


def test_meter_port_in_use_fails_with_a_message(tmp_path: Path, sim: PlatformSimulator) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = int(taken.getsockname()[1])
        env = {
            **os.environ,
            "XDG_CONFIG_HOME": str(tmp_path / "config"),
            "XDG_DATA_HOME": str(tmp_path / "data"),
            "GLMTRAY_BASE_URL": sim.base_url,
            "PYTHONPATH": str(ROOT),
        }
        result = subprocess.run(
            [sys.executable, "-m", "glmtray", "meter", "--port", str(port)],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
    assert result.returncode != 0 and result.stderr.startswith("glmtray: ")
    assert str(port) in result.stderr


def test_a_request_in_flight_at_sigint_is_cut_and_counted(
    tmp_path: Path, sim: PlatformSimulator
) -> None:
    import threading

    port = free_port()
    meter = start_meter(tmp_path, sim, port)
    sim.set_coding(chunk_delay=2.0)  # a slow stream: still running when the signal comes
    outcome: list[object] = []

    def slow() -> None:
        try:
            outcome.append(chat(port, stream=True).status_code)
        except httpx.HTTPError as error:
            outcome.append(type(error).__name__)

    worker = threading.Thread(target=slow)
    worker.start()
    try:
        deadline = time.monotonic() + 10
        while sim.coding.in_flight == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert sim.coding.in_flight == 1
    finally:
        meter.send_signal(signal.SIGINT)
        out, err = meter.communicate(timeout=30)
        worker.join(timeout=30)
    assert meter.returncode == 0, err
    assert "meter stopped: 1 requests" in out
    # The stream outlived the meter's grace: it was cut, not left hanging.
    assert outcome == ["RemoteProtocolError"]
    with store_of(tmp_path) as store:
        last = json.loads(store.get_state(METER_LAST_RUN_KEY) or "{}")
    assert last["requests_total"] == 1 and last["in_flight"] == 0
