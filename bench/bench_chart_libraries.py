"""What a chart library would cost glmtray's users: the measurement behind history_chart.py.

Run: `.venv/bin/python bench/bench_chart_libraries.py [--other-python PATH] [--runs 5]`.

Each choice draws the same thing in a fresh process, offscreen, in an app that already runs
Qt widgets (and, for glmtray's own charts, the modules the tray has loaded): three series
of 43,200 points (30 days at one reading a minute; a sawtooth, the hardest case for line
drawing). Measured: the import's time and memory, the time to build and paint the chart,
and the memory then. The libraries are not glmtray's dependencies: give `--other-python`
an interpreter of a throwaway venv with them, made for instance by
`python -m venv /tmp/charts && /tmp/charts/bin/pip install PySide6-Essentials==<ours>
PySide6-Addons==<ours> pyqtgraph`; its site-packages then also shows their installed size.
Without it only glmtray's own charts are measured.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROBE = r"""
import json, os, sys, time
os.environ["QT_QPA_PLATFORM"] = "offscreen"
kind, app_dir = sys.argv[1], sys.argv[2]

def rss_mb():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024
    return 0.0

from PySide6.QtCore import QPointF
from PySide6.QtWidgets import QApplication
app = QApplication([])
if kind == "glmtray":
    sys.path.insert(0, app_dir)
    import glmtray.ui.icon, glmtray.ui.style  # loaded by the tray already
count = 43_200
base, started = rss_mb(), time.perf_counter()
if kind == "qtcharts":
    from PySide6.QtCharts import QChart, QChartView, QLineSeries
elif kind == "pyqtgraph":
    import pyqtgraph as pg
else:
    from glmtray.ui.history_chart import ShareChart, ShareSeries
imported, after_import = time.perf_counter(), rss_mb()
xs = [1.7e9 + i * 60.0 for i in range(count)]
ys = [(i % 300) / 300 for i in range(count)]
building = time.perf_counter()
if kind == "qtcharts":
    chart = QChart()
    for _ in range(3):
        series = QLineSeries()
        series.replace([QPointF(x * 1000, y * 100) for x, y in zip(xs, ys)])
        chart.addSeries(series)
    chart.createDefaultAxes()
    widget = QChartView(chart)
elif kind == "pyqtgraph":
    widget = pg.PlotWidget(axisItems={"bottom": pg.DateAxisItem()})
    for _ in range(3):
        widget.plot(xs, [y * 100 for y in ys])
else:
    widget = ShareChart()
    widget.set_data([ShareSeries(f"w{k}", xs, ys) for k in range(3)], [], xs[0], xs[-1])
widget.resize(900, 300)
widget.show()
app.processEvents()
widget.repaint()
print(json.dumps({
    "kind": kind,
    "import_ms": (imported - started) * 1000,
    "import_mb": after_import - base,
    "draw_ms": (time.perf_counter() - building) * 1000,
    "total_mb": rss_mb() - base,
}))
"""


def measure(python: str, kind: str, runs: int) -> dict[str, float] | None:
    rows = []
    for _ in range(runs):
        result = subprocess.run(
            [python, "-c", PROBE, kind, str(ROOT / "app")],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
        if result.returncode != 0 or not lines:
            print(f"{kind}: not measured ({result.stderr.strip().splitlines()[-1:]})")
            return None
        rows.append(json.loads(lines[-1]))
    return {key: statistics.median(row[key] for row in rows) for key in rows[0] if key != "kind"}


def installed_mb(python: str, distribution: str) -> float | None:
    """The size of a distribution's installed files (from its RECORD)."""
    code = (
        "import importlib.metadata as m, os, sys\n"
        "d = m.distribution(sys.argv[1])\n"
        "print(sum(os.path.getsize(p) for f in d.files or []"
        " if os.path.isfile(p := str(f.locate()))))"
    )
    result = subprocess.run(
        [python, "-c", code, distribution], capture_output=True, text=True, check=False
    )
    return int(result.stdout) / 1e6 if result.returncode == 0 and result.stdout.strip() else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--other-python", help="an interpreter with PySide6-Addons and pyqtgraph")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    choices = [(sys.executable, "glmtray")]
    if args.other_python:
        choices += [(args.other_python, "qtcharts"), (args.other_python, "pyqtgraph")]
        for distribution in ("PySide6-Essentials", "PySide6-Addons", "pyqtgraph", "numpy"):
            size = installed_mb(args.other_python, distribution)
            if size is not None:
                print(f"{distribution}: {size:.1f} MB installed")
    for python, kind in choices:
        figures = measure(python, kind, args.runs)
        if figures is not None:
            print(
                f"{kind:>9}: import {figures['import_ms']:.0f} ms (+{figures['import_mb']:.1f} MB); "
                f"3 x 43,200 points built and painted in {figures['draw_ms']:.0f} ms; "
                f"+{figures['total_mb']:.1f} MB in all (medians of {args.runs})"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
