"""Times `glmtray statusline` with a fresh snapshot, side by side with a minimal Node.js
status line that asks the quota endpoint at every call (the official status-line
plugin's approach, `bench/statusline_node.mjs`), both against the platform simulator on
loopback, in one run.

Each run is a fresh process started as Claude Code starts its statusLine command: the
console script (`<venv>/bin/glmtray statusline`), the session's JSON on stdin, stdout
piped. The two commands and the floors (`python -S -c pass`, `python -c pass`, the
imports the status line cannot do without: json to read the snapshot, glmtray.i18n for
its words; `node -e ""`) take turns, so load on the machine weighs on all of them alike.
Wall time and CPU time (user + system) are given: the machine's load moves the first far
more than the second. Also printed: the requests each made (ours: none while the snapshot
is fresh) and the modules our fast path imported.

    .venv/bin/python bench/bench_statusline.py [--runs 40] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from glmtray.simulator import QUOTA_PATH, SIMULATOR_API_KEY, PlatformSimulator

HERE = Path(__file__).resolve().parent
NODE_SCRIPT = HERE / "statusline_node.mjs"
TARGET_MEDIAN_SECONDS = 0.050
CLAUDE_CODE_INPUT = json.dumps(
    {
        "hook_event_name": "Status",
        "session_id": "bench",
        "model": {"id": "glm-4.6", "display_name": "GLM-4.6"},
        "workspace": {"current_dir": "/tmp", "project_dir": "/tmp"},
    }
)


def glmtray_script() -> str:
    """The console script beside this interpreter (what `pip install` puts on PATH)."""
    candidate = Path(sys.executable).with_name("glmtray")
    if candidate.exists():
        return str(candidate)
    found = shutil.which("glmtray")
    if found is None:
        raise SystemExit("no glmtray console script: pip install -e . first")
    return found


def compile_package() -> None:
    import compileall

    import glmtray

    compileall.compile_dir(str(Path(glmtray.__file__).parent), quiet=1)


def timed(command: list[str], env: dict[str, str], stdin: str) -> tuple[float, float, str]:
    """Wall time, CPU time (user + system: what the process itself cost, whatever else
    the machine is doing) and the first line printed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run(command, input=stdin, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise SystemExit(f"{command} failed ({result.returncode}): {result.stderr.strip()}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu, result.stdout.strip()


def summary(times: list[float], cpu: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    return {
        "median_ms": round(statistics.median(ordered) * 1000, 1),
        "p10_ms": round(ordered[len(ordered) // 10] * 1000, 1),
        "p90_ms": round(ordered[(len(ordered) * 9) // 10] * 1000, 1),
        "min_ms": round(ordered[0] * 1000, 1),
        "cpu_median_ms": round(statistics.median(cpu) * 1000, 1),
    }


def fast_path_modules(env: dict[str, str]) -> list[str]:
    """The modules `glmtray statusline` imports past the interpreter's own start."""
    code = (
        "import sys; before = set(sys.modules)\n"
        "from glmtray.cli import main\n"
        "main(['statusline'])\n"
        "print(' '.join(sorted(m for m in set(sys.modules) - before if '.' not in m)),"
        " file=sys.stderr)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], input="", capture_output=True, text=True, env=env
    )
    return result.stderr.strip().splitlines()[-1].split() if result.stderr.strip() else []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=40, help="runs of each command (>= 30)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    runs = max(30, args.runs)
    node = shutil.which("node") or "/usr/bin/node"
    home = Path(tempfile.mkdtemp(prefix="glmtray-bench-statusline-"))
    try:
        with PlatformSimulator("pro") as sim:
            env = {
                **os.environ,
                "GLMTRAY_API_KEY": SIMULATOR_API_KEY,
                "GLMTRAY_BASE_URL": sim.base_url,
                "XDG_CACHE_HOME": str(home / "cache"),
                "XDG_CONFIG_HOME": str(home / "config"),
                "XDG_DATA_HOME": str(home / "data"),
                "XDG_STATE_HOME": str(home / "state"),
            }
            env.pop("NO_COLOR", None)
            # As an installed glmtray runs: pip compiles the bytecode at install time, and
            # a run that may not write it (PYTHONDONTWRITEBYTECODE, set in some CI and
            # sandboxes) would compile every changed module again at each start.
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            compile_package()
            # A long max age keeps the snapshot fresh for the whole bench.
            (home / "config" / "glmtray").mkdir(parents=True)
            (home / "config" / "glmtray" / "settings.json").write_text(
                json.dumps({"statusline_max_age_seconds": 3600})
            )
            ours = [glmtray_script(), "statusline"]
            theirs = [node, str(NODE_SCRIPT)]
            commands = {
                "glmtray statusline (fresh snapshot)": ours,
                "node status line (fetches each time)": theirs,
                "floor: python -S -c pass": [sys.executable, "-S", "-c", "pass"],
                "floor: python -c pass": [sys.executable, "-c", "pass"],
                # Where the rest goes: json (re, enum) to read the snapshot, gettext and
                # glmtray.i18n (pathlib, locale, datetime) for the words.
                "floor: + import json": [sys.executable, "-c", "import json"],
                "floor: + import json, glmtray.i18n": [
                    sys.executable,
                    "-c",
                    "import json, glmtray.i18n",
                ],
                "floor: node -e ''": [node, "-e", ""],
            }
            first = timed(ours, env, CLAUDE_CODE_INPUT)  # no snapshot yet: fetches, saves
            for command in commands.values():  # warm the file cache
                timed(command, env, CLAUDE_CODE_INPUT)
            sim.requests.clear()
            times: dict[str, list[float]] = {name: [] for name in commands}
            cpu: dict[str, list[float]] = {name: [] for name in commands}
            lines: dict[str, str] = {}
            for _ in range(runs):
                for name, command in commands.items():
                    elapsed, used, line = timed(command, env, CLAUDE_CODE_INPUT)
                    times[name].append(elapsed)
                    cpu[name].append(used)
                    lines[name] = line
            quota_requests = sum(1 for r in sim.requests if r.path == QUOTA_PATH)
            modules = fast_path_modules(env)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    figures = {name: summary(values, cpu[name]) for name, values in times.items()}
    ours_median = figures["glmtray statusline (fresh snapshot)"]["median_ms"]
    report = {
        "runs": runs,
        "figures": figures,
        "target_median_ms": TARGET_MEDIAN_SECONDS * 1000,
        "target_met": ours_median < TARGET_MEDIAN_SECONDS * 1000,
        "first_call_with_fetch_ms": round(first[0] * 1000, 1),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "quota_requests_during_runs": quota_requests,
        "lines": {
            "glmtray": lines["glmtray statusline (fresh snapshot)"],
            "node": lines["node status line (fetches each time)"],
        },
        "fast_path_top_level_modules": modules,
    }
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
        return
    print(f"Status line, {runs} runs each, interleaved, simulator on loopback:")
    for name, figure in figures.items():
        print(
            f"  {name:<40} median {figure['median_ms']:6.1f} ms  "
            f"p10 {figure['p10_ms']:6.1f}  p90 {figure['p90_ms']:6.1f}  min {figure['min_ms']:6.1f}"
            f"  cpu {figure['cpu_median_ms']:6.1f}"
        )
    verdict = "met" if report["target_met"] else "NOT met"
    print(f"  target: glmtray median under {TARGET_MEDIAN_SECONDS * 1000:.0f} ms: {verdict}")
    print(f"  first call (no snapshot, fetches and saves): {report['first_call_with_fetch_ms']} ms")
    print(f"  load average at the end (1, 5, 15 min): {report['load_average']}")
    print(
        f"  quota requests during the runs: {quota_requests} "
        f"(node: one per run = {runs}; glmtray: none while the snapshot is fresh)"
    )
    print(f"  glmtray:  {report['lines']['glmtray']!r}")
    print(f"  node:     {report['lines']['node']!r}")
    print(f"  fast path imports: {' '.join(modules)}")


if __name__ == "__main__":
    main()
