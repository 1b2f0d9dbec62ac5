"""Start-up time, idle memory and idle CPU of `glmtray --demo` on a real tray host.

Needs a display with a system tray: run it inside the desktop session, e.g.
    bash .ci/desktop-session .venv/bin/python bench/bench_tray.py [--runs 3] [--idle 60]
For each run: time from process start to the tray icon showing data (the app logs that
moment), then resident memory after the idle period and CPU time spent during it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

READY_LINE = "tray icon shows data"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def one_run(idle: float) -> tuple[float, float, float]:
    start = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "glmtray", "-v", "--demo"],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stderr is not None
        for line in process.stderr:
            if READY_LINE in line:
                break
        else:
            raise RuntimeError("glmtray exited before showing data")
        ready = time.perf_counter() - start
        # Drain the rest of stderr in the background so the app never blocks on it.
        drain = subprocess.Popen(["cat"], stdin=process.stderr, stdout=subprocess.DEVNULL)
        cpu_before = cpu_seconds(process.pid)
        time.sleep(idle)
        cpu = cpu_seconds(process.pid) - cpu_before
        rss = rss_mb(process.pid)
        return ready, rss, cpu
    finally:
        process.terminate()
        process.wait(10)
        if "drain" in locals():
            drain.wait(5)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--idle", type=float, default=60.0)
    args = parser.parse_args()
    if not os.environ.get("DISPLAY"):
        sys.exit("bench_tray: no DISPLAY; run it under .ci/desktop-session")
    results = [one_run(args.idle) for _ in range(args.runs)]
    ready, rss, cpu = (sorted(values) for values in zip(*results, strict=True))
    print(f"glmtray --demo, {args.runs} runs, {args.idle:.0f} s idle each:")
    print(
        f"  start to tray icon with data: median {statistics.median(ready):.3f} s (min {ready[0]:.3f}, max {ready[-1]:.3f})"
    )
    print(f"  resident memory after idle:   median {statistics.median(rss):.1f} MB")
    print(
        f"  CPU time during idle:         median {statistics.median(cpu):.3f} s per {args.idle:.0f} s"
    )


if __name__ == "__main__":
    main()
