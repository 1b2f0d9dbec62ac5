"""Soak: the real tray app and its meter under load, while everything around them misbehaves.

For GLMTRAY_SOAK_SECONDS (default 30, the short form CI runs; `make soak` runs 7 minutes)
the real `glmtray` process runs on the desktop, signed in to the simulator, with the local
meter on, while at once:

- the simulator flips between its scenarios (outages, HTML pages, cut-off JSON, slow
  answers, restriction, wrong key, ...) and its coding concurrency limit;
- coding-tool-like clients stream through the meter and hang up at random points;
- a stand-in for Claude Code appends API errors, each with its own trace id, to a
  transcript; another process holds the event database locked now and then;
- `glmtray status --json` runs direct, through a working SOCKS5 proxy with credentials,
  and through proxies that are not there;
- the app is killed hard once half-way and started again, and restarted once more at the end.

It counts crashes, hangs, tracebacks, the key found in any output or file, and transcript
signals lost (written but never stored), prints the figures, and fails on any of them.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import httpx
import pytest

from glmtray.simulator import SIMULATOR_API_KEY, PlatformSimulator, scenario_names
from tests.socks_proxy import SocksProxy

from . import harness

SERVICE = "glmtray"
USERNAME = "global:default"
READY = "tray icon shows data"
FIRST_FAILURE = "refresh failed:"
"""The app's warning when a refresh fails (a scenario with an outage): an answer too."""
METER_READY = "local meter listening on"
SOAK_SECONDS = float(os.environ.get("GLMTRAY_SOAK_SECONDS", "30"))
CLI_TIMEOUT_S = 4
CLI_HANG_S = 20
"""A `status --timeout 4` still running after this long is a hang."""
TRACEBACK = "Traceback (most recent call last)"
SECRET_PARTS = [part for part in SIMULATOR_API_KEY.split(".") if len(part) >= 12]
PROXY_USER, PROXY_PASSWORD = "soak-user", "soak-proxy-password"
# Scenarios the account endpoints flip through; every one must end in a clear state.
SCENARIOS = [name for name in scenario_names() if name != "demo"]


@dataclass
class Tally:
    crashes: int = 0
    hangs: list[str] = field(default_factory=list)
    tracebacks: list[str] = field(default_factory=list)
    key_found: list[str] = field(default_factory=list)
    cli_exit_codes: Counter[int] = field(default_factory=Counter)
    meter_statuses: Counter[str] = field(default_factory=Counter)
    meter_hangups: int = 0
    scenario_flips: int = 0
    lock_holds: int = 0
    signals_written: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def sim() -> Iterator[PlatformSimulator]:
    with PlatformSimulator("pro", slow_seconds=2.0) as simulator:
        yield simulator


def config_home() -> Path:
    return Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config"))


def data_home() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share"))


def write_settings(meter_port: int) -> None:
    folder = config_home() / "glmtray"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "settings.json").write_text(
        json.dumps({"schema_version": 1, "meter_enabled": True, "meter_port": meter_port})
    )


def now_text() -> str:
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")


def transcript_line(trace: str, code: int) -> str:
    text = f"API Error: 429 [{code}][soak {code}][{trace}]"
    return json.dumps({
        "type": "assistant", "isApiErrorMessage": True, "apiErrorStatus": 429,
        "error": "rate_limit", "timestamp": now_text(), "sessionId": "soak", "cwd": "/home/dev/soak",
        "message": {"model": "<synthetic>", "content": [{"type": "text", "text": text}]},
    })  # fmt: skip


def glm_line() -> str:
    return json.dumps({
        "type": "assistant", "timestamp": now_text(), "sessionId": "soak", "cwd": "/home/dev/soak",
        "message": {"model": "glm-4.6", "usage": {"input_tokens": 10}},
    })  # fmt: skip


class Soak:
    def __init__(self, sim: PlatformSimulator, claude_dir: Path, meter_port: int) -> None:
        self.sim = sim
        self.claude_dir = claude_dir
        self.meter_port = meter_port
        self.tally = Tally()
        self.stop = threading.Event()
        self.apps: list[harness.LaunchedApp] = []
        self.cli_outputs: list[str] = []
        self.random = random.Random(20261201)
        self.transcript = claude_dir / "projects" / "-home-dev-soak" / "soak.jsonl"
        self.transcript.parent.mkdir(parents=True, exist_ok=True)
        self.transcript.write_text(glm_line() + "\n")

    # -- the app ------------------------------------------------------------------
    def start_app(self) -> harness.LaunchedApp:
        app = harness.launch(
            [sys.executable, "-m", "glmtray", "-v", "--base-url", self.sim.base_url],
            log_name=f"soak-glmtray-{len(self.apps)}.log",
            env={"CLAUDE_CONFIG_DIR": str(self.claude_dir)},
        )
        self.apps.append(app)
        return app

    def wait_line(self, app: harness.LaunchedApp, *texts: str) -> bool:
        """Whether one of `texts` shows in the app's output within 20 s."""
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if app.process.poll() is not None:
                return False
            if any(text in line for line in list(app.lines) for text in texts):
                return True
            time.sleep(0.1)
        return False

    # -- the load -------------------------------------------------------------------
    def flip_scenarios(self) -> None:
        while not self.stop.wait(2.0):
            self.sim.set_scenario(self.random.choice(SCENARIOS))
            self.sim.set_coding(limit=self.random.choice([None, 1, 2, 3]), chunks=12,
                                chunk_delay=0.05)  # fmt: skip
            with self.tally.lock:
                self.tally.scenario_flips += 1

    def coding_tool(self, seed: int) -> None:
        rng = random.Random(seed)
        url = f"http://127.0.0.1:{self.meter_port}/api/coding/paas/v4/chat/completions"
        body = {"model": "glm-4.6", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
        headers = {"Authorization": f"Bearer {SIMULATOR_API_KEY}"}
        with httpx.Client(timeout=15, trust_env=False) as client:
            while not self.stop.is_set():
                hang_up_after = rng.choice([None, 0, 1, 3, 6])
                try:
                    with client.stream("POST", url, headers=headers, json=body) as response:
                        status = str(response.status_code)
                        for index, _ in enumerate(response.iter_raw()):
                            if hang_up_after is not None and index >= hang_up_after:
                                with self.tally.lock:
                                    self.tally.meter_hangups += 1
                                break
                except httpx.TimeoutException:
                    status = "timeout"
                except httpx.TransportError as error:
                    status = type(error).__name__  # the meter restarting with the app
                with self.tally.lock:
                    self.tally.meter_statuses[status] += 1
                self.stop.wait(rng.uniform(0.05, 0.4))

    def claude_code(self) -> None:
        number = 0
        while not self.stop.wait(1.0):
            number += 1
            trace = f"soak-trace-{number:05d}"
            with self.transcript.open("a", encoding="utf-8") as handle:
                handle.write(transcript_line(trace, self.random.choice([1302, 1308, 1313])) + "\n")
            with self.tally.lock:
                self.tally.signals_written.add(trace)

    def lock_database(self) -> None:
        path = data_home() / "glmtray" / "events.sqlite3"
        while not self.stop.wait(5.0):
            if not path.exists():
                continue
            try:
                db = sqlite3.connect(path, timeout=1)
                db.execute("BEGIN EXCLUSIVE")
                self.stop.wait(1.5)
                db.rollback()
                db.close()
                with self.tally.lock:
                    self.tally.lock_holds += 1
            except sqlite3.Error:
                pass  # the app held it at that moment: that is its business, not a fault

    def status_runs(self, socks: SocksProxy) -> None:
        dead = free_port()
        variants: list[dict[str, str]] = [
            {},
            {"ALL_PROXY": f"socks5://{PROXY_USER}:{PROXY_PASSWORD}@127.0.0.1:{socks.port}",
             "NO_PROXY": ""},
            {"ALL_PROXY": f"socks5h://127.0.0.1:{dead}", "NO_PROXY": ""},
            {"HTTP_PROXY": f"http://{PROXY_USER}:{PROXY_PASSWORD}@127.0.0.1:{dead}",
             "NO_PROXY": ""},
        ]  # fmt: skip
        env_base = {k: v for k, v in os.environ.items() if "PROXY" not in k.upper()}
        while not self.stop.wait(2.5):
            variant = self.random.choice(variants)
            command = [sys.executable, "-m", "glmtray", "status", "--json",
                       "--base-url", self.sim.base_url, "--timeout", str(CLI_TIMEOUT_S)]  # fmt: skip
            started = time.monotonic()
            try:
                done = subprocess.run(
                    command,
                    env={**env_base, **variant, "GLMTRAY_API_KEY": SIMULATOR_API_KEY},
                    capture_output=True,
                    text=True,
                    timeout=CLI_HANG_S,
                )
            except subprocess.TimeoutExpired:
                with self.tally.lock:
                    self.tally.hangs.append(f"status with {sorted(variant)} ran over {CLI_HANG_S} s")
                continue
            output = done.stdout + done.stderr
            with self.tally.lock:
                self.tally.cli_exit_codes[done.returncode] += 1
                self.cli_outputs.append(output)
                if TRACEBACK in output or done.returncode == 1:
                    self.tally.tracebacks.append(f"status {sorted(variant)}: {output[-400:]}")
                if time.monotonic() - started > CLI_HANG_S / 2:
                    self.tally.hangs.append(f"status took {time.monotonic() - started:.0f} s")
                if PROXY_PASSWORD in output:
                    self.tally.key_found.append("proxy password in status output")

    # -- the checks -----------------------------------------------------------------
    def stored_traces(self) -> set[str]:
        path = data_home() / "glmtray" / "events.sqlite3"
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
        try:
            rows = db.execute("SELECT trace_id FROM signals WHERE trace_id LIKE 'soak-trace-%'")
            return {row[0] for row in rows}
        finally:
            db.close()

    def scan_for_key(self, roots: list[Path]) -> None:
        needles = [SIMULATOR_API_KEY.encode(), *(part.encode() for part in SECRET_PARTS)]
        for root in roots:
            for path in root.rglob("*"):
                if not path.is_file() or path.is_symlink():
                    continue
                try:
                    data = path.read_bytes()
                except OSError:
                    continue
                if any(needle in data for needle in needles):
                    self.tally.key_found.append(str(path))


@pytest.mark.skipif(
    harness.tray_host() != "trayer", reason="the soak runs once, with the XEmbed tray"
)
def test_soak(sim: PlatformSimulator, tmp_path: Path) -> None:
    harness.secret_service_store(SERVICE, USERNAME, SIMULATOR_API_KEY)
    meter_port = free_port()
    write_settings(meter_port)
    soak = Soak(sim, tmp_path / "claude", meter_port)
    tally = soak.tally
    app = soak.start_app()
    assert soak.wait_line(app, READY), f"the app never showed data; log: {app.log_path}"
    assert soak.wait_line(app, METER_READY), f"the meter never started; log: {app.log_path}"
    started = time.monotonic()
    with SocksProxy(credentials=(PROXY_USER, PROXY_PASSWORD)) as socks:
        workers = [
            threading.Thread(target=soak.flip_scenarios, daemon=True),
            threading.Thread(target=soak.claude_code, daemon=True),
            threading.Thread(target=soak.lock_database, daemon=True),
            threading.Thread(target=soak.status_runs, args=(socks,), daemon=True),
            *(threading.Thread(target=soak.coding_tool, args=(n,), daemon=True) for n in range(4)),
        ]
        for worker in workers:
            worker.start()
        killed = False
        while time.monotonic() - started < SOAK_SECONDS:
            time.sleep(0.5)
            if app.process.poll() is not None:
                tally.crashes += 1
                app = soak.start_app()
                soak.wait_line(app, READY)
            if not killed and time.monotonic() - started > SOAK_SECONDS / 2:
                killed = True  # a power cut: nothing it had stored may be lost
                os.kill(app.pid, signal.SIGKILL)
                app.process.wait(5)
                app.stop()
                app = soak.start_app()
                # Data, or a refresh that failed in the scenario of the moment: an answer.
                if not soak.wait_line(app, READY, FIRST_FAILURE):
                    tally.hangs.append("no first result within 20 s of a start after a hard kill")
        soak.stop.set()
        for worker in workers:
            worker.join(CLI_HANG_S + 5)
            if worker.is_alive():
                tally.hangs.append(f"{worker.name} did not stop")
    # The end: a healthy platform, one clean restart (which reads the transcripts again).
    sim.set_scenario("pro")
    sim.set_coding(limit=None, chunks=4, chunk_delay=0.0)
    terminate_started = time.monotonic()
    app.process.send_signal(signal.SIGTERM)
    try:
        app.process.wait(8)
    except subprocess.TimeoutExpired:
        tally.hangs.append("the app did not quit within 8 s of SIGTERM")
    app.stop()
    quit_seconds = time.monotonic() - terminate_started
    app = soak.start_app()
    if not soak.wait_line(app, READY):
        tally.hangs.append("no data within 20 s of the final start")
    time.sleep(2)  # the first risk scan runs right after the first fetch
    app.stop()
    lost = sorted(tally.signals_written - soak.stored_traces())
    for launched in soak.apps:
        text = launched.log_path.read_text(encoding="utf-8", errors="replace")
        if TRACEBACK in text:
            tally.tracebacks.append(f"{launched.log_path.name}")
    home_roots = [Path(os.environ[v]) for v in ("XDG_CONFIG_HOME", "XDG_DATA_HOME",
                  "XDG_STATE_HOME", "XDG_CACHE_HOME") if os.environ.get(v)]  # fmt: skip
    soak.scan_for_key([*home_roots, tmp_path, *(a.log_path.parent for a in soak.apps[:1])])
    harness.secret_service_delete(SERVICE, USERNAME)
    figures = {
        "seconds": SOAK_SECONDS,
        "crashes": tally.crashes,
        "hangs": len(tally.hangs),
        "tracebacks": len(tally.tracebacks),
        "key_found": len(tally.key_found),
        "signals_written": len(tally.signals_written),
        "signals_lost": len(lost),
        "scenario_flips": tally.scenario_flips,
        "database_locks_held": tally.lock_holds,
        "status_runs": dict(sorted(tally.cli_exit_codes.items())),
        "meter_requests": dict(sorted(tally.meter_statuses.items())),
        "meter_hangups": tally.meter_hangups,
        "app_starts": len(soak.apps),
        "quit_seconds": round(quit_seconds, 2),
    }
    print("soak figures: " + json.dumps(figures))
    (harness.artifacts_dir() / "soak-figures.json").write_text(json.dumps(figures, indent=2))
    assert tally.crashes == 0, "the app died on its own"
    assert tally.hangs == []
    assert tally.tracebacks == []
    assert tally.key_found == []
    assert lost == [], f"{len(lost)} of {len(tally.signals_written)} signals never stored"
    assert sum(tally.cli_exit_codes.values()) > 0 and sum(tally.meter_statuses.values()) > 0
