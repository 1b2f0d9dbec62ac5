"""The usage history's store at its bounds: 90 days at one refresh a minute.

Two histories are written into fresh files:
- "demo-shaped": each minute what the demo's simulator answers at that moment (a 5-hour
  window climbing every period, the weekly one, the monthly tool calls), through the real
  `HistoryStore.add` once a minute of simulated time, so the hourly thinning runs as in the
  tray;
- "worst case": three windows whose share changes at every reading (nothing for the run
  compression), written in one go and then maintained.
For each: the time per refresh, the points kept, the file's size on disk, the time to open
it and to read 24 hours, 7 days and 30 days, and the time of a forecast of every window.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from glmtray.history.forecast import forecasts_for
from glmtray.history.recorder import history_rows
from glmtray.history.store import HistoryRow, HistoryStore
from glmtray.platform.models import Quota, QuotaWindow, Snapshot
from glmtray.platform.parsing import parse_quota
from glmtray.platform.regions import Region
from glmtray.simulator.scenarios import Call, demo_quota

DAYS = 90
MINUTES = DAYS * 24 * 60
ACCOUNT = "global:default"
END = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
START = END - timedelta(minutes=MINUTES)
SPANS = (("24 h", timedelta(hours=24)), ("7 d", timedelta(days=7)), ("30 d", timedelta(days=30)))
READS = 5


def size_on_disk(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.iterdir())


def demo_snapshot(moment: datetime) -> Snapshot:
    quota = parse_quota(demo_quota(Call(moment.timestamp())).payload["data"])
    return Snapshot(Region.GLOBAL, moment, quota, None, risk_restricted=None)


def write_demo_shaped(path: Path) -> list[float]:
    """One add per simulated minute; the milliseconds each took."""
    store = HistoryStore(path, ACCOUNT)
    took: list[float] = []
    for minute in range(MINUTES):
        moment = START + timedelta(minutes=minute)
        rows = history_rows(demo_snapshot(moment), moment)
        began = time.perf_counter()
        store.add(moment, rows)
        took.append((time.perf_counter() - began) * 1000)
        if minute % (24 * 60) == 0:
            print(f"\r  writing day {minute // 1440 + 1}/{DAYS}", end="", file=sys.stderr)
    print(file=sys.stderr)
    store.close()
    return took


def write_worst_case(path: Path) -> float:
    """Every reading of three windows differs; written at once, then maintained (s)."""
    rows: list[HistoryRow] = []
    for minute in range(MINUTES):
        moment = START + timedelta(minutes=minute)
        period = START + timedelta(hours=5 * (minute // 300 + 1))
        week = START + timedelta(days=7 * (minute // 10080 + 1))
        rows.append(
            HistoryRow(moment, "five_hour", "5-hour", (minute % 300 + 1) / 301, None, None, period)
        )
        rows.append(
            HistoryRow(moment, "weekly", "Weekly", (minute % 10080 + 1) / 10081, None, None, week)
        )
        rows.append(HistoryRow(moment, "monthly_tools", "Monthly tool calls", (minute % 43200 + 1) / 43201,
                               float(minute % 43200 + 1), 43201.0, None))  # fmt: skip
    began = time.perf_counter()
    store = HistoryStore(path, ACCOUNT)
    store.add(END, rows)
    store.maintain(END)
    store.close()
    return time.perf_counter() - began


def measure(label: str, path: Path, snapshot: Snapshot, now: datetime = END) -> None:
    began = time.perf_counter()
    store = HistoryStore(path, ACCOUNT)
    opened = (time.perf_counter() - began) * 1000
    print(f"{label}:")
    print(f"  points kept: {store.point_count():,}")
    print(f"  size on disk: {size_on_disk(path.parent) / 1024:.0f} KiB")
    print(f"  open (integrity check included): {opened:.1f} ms")
    for name, span in SPANS:
        times, count = [], 0
        for _ in range(READS):
            began = time.perf_counter()
            count = len(store.read(END - span, END))
            times.append((time.perf_counter() - began) * 1000)
        print(f"  read {name}: {count:,} rows, median {statistics.median(times):.1f} ms")
    times = []
    for _ in range(READS):
        began = time.perf_counter()
        forecasts = forecasts_for(store, snapshot, now, "token")
        times.append((time.perf_counter() - began) * 1000)
    outcomes = ", ".join(f"{key} {f.outcome.value}" for key, f in forecasts.items())
    print(f"  forecast of every window: median {statistics.median(times):.1f} ms ({outcomes})")
    store.close()


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="glmtray-bench-history-") as folder:
        demo_path = Path(folder) / "demo" / "history.sqlite3"
        print(f"{DAYS} days at one refresh a minute ({MINUTES:,} refreshes):")
        took = write_demo_shaped(demo_path)
        took.sort()
        print(
            f"  demo-shaped write: median {statistics.median(took):.2f} ms per refresh,"
            f" p99 {took[int(len(took) * 0.99)]:.2f} ms, max {took[-1]:.1f} ms"
            f" (the hourly maintenance included), total {sum(took) / 1000:.1f} s"
        )
        measure("demo-shaped", demo_path, demo_snapshot(END))
        worst_path = Path(folder) / "worst" / "history.sqlite3"
        seconds = write_worst_case(worst_path)
        print(f"  worst case written at once and maintained in {seconds:.1f} s")
        # Half an hour before the end: the worst case's 5-hour period then ends at END.
        now = END - timedelta(minutes=30)
        minute = MINUTES - 30
        five = (minute % 300 + 1) / 301 * 100
        week = (minute % 10080 + 1) / 10081 * 100
        windows = (
            QuotaWindow("five_hour", "TOKENS_LIMIT", five, END, unit=3, number=5),
            QuotaWindow("weekly", "TOKENS_LIMIT", week, END + timedelta(days=1), unit=6, number=1),
        )
        worst = Snapshot(Region.GLOBAL, now, Quota("pro", windows), None, risk_restricted=None)
        measure("worst case (every reading differs)", worst_path, worst, now)


if __name__ == "__main__":
    main()
