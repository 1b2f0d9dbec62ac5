"""Times `glmtray status --json` end to end against the platform simulator.

Each run is a fresh process, as a status-line script would start it. Prints the median
and spread of wall time, and confirms that no Qt module was imported.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time

from glmtray.simulator import SIMULATOR_API_KEY, PlatformSimulator

RUNS = 21


def main() -> None:
    with PlatformSimulator("pro") as sim:
        env = {**os.environ, "GLMTRAY_API_KEY": SIMULATOR_API_KEY, "GLMTRAY_BASE_URL": sim.base_url}
        command = [sys.executable, "-m", "glmtray", "status", "--json"]
        subprocess.run(command, env=env, capture_output=True, check=True)  # warm the file cache
        times = []
        for _ in range(RUNS):
            start = time.perf_counter()
            result = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
            times.append(time.perf_counter() - start)
            json.loads(result.stdout)
        probe = subprocess.run(
            [sys.executable, "-c", "import sys; from glmtray.cli import main; main(['status','--json']); "
             "print(sorted({m.split('.')[0] for m in sys.modules if m.startswith('PySide6')}), file=sys.stderr)"],
            env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
    qt = probe.stderr.strip().splitlines()[-1]
    print(f"glmtray status --json, {RUNS} runs against the simulator:")
    print(
        f"  median {statistics.median(times):.3f} s, min {min(times):.3f} s, max {max(times):.3f} s"
    )
    print(f"  Qt modules imported: {qt}")


if __name__ == "__main__":
    main()
