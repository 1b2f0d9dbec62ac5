"""Start-up time, idle memory and idle CPU of the real, signed-in `glmtray` on a real tray host.

Needs a display with a system tray, a session bus and an unlocked keyring: run it inside the
throwaway desktop session, as `make bench` does:
    bash .ci/desktop-session .venv/bin/python bench/bench_tray.py [--runs 3] [--idle 60]

Default target: `glmtray` signed in the way a user does it. The bench starts the platform
simulator on loopback (`glmtray simulate --scenario pro --port 0`), stores the simulator's key
with `glmtray login` (key on stdin), then starts `glmtray --base-url <simulator>`. Every run
gets a fresh HOME and XDG_{CONFIG,DATA,CACHE,STATE}_HOME under a temporary folder, so neither
the user's settings nor a previous run's files play a part; the keyring is the session's own
(the bench refuses to store a key outside .ci/desktop-session). The meter stays off (default
settings). Other targets: `--demo` (built-in demo platform) and `--floor` (a bare PySide6 tray
icon, bench/tray_floor.py: what no tray app can go below).

Each run starts the app twice in its folders: a first start (nothing cached yet; only its
time to data is kept and reported) and the measured one, as every later start of a user's
tray is. For the measured start: time from process start to the tray icon showing data (the
app logs that moment), then, from 5 s after that (the start-up work that follows the first data has ended), resident memory (VmRSS from /proc) after the idle period and CPU time
(utime + stime from /proc/<pid>/stat) spent during it, given per minute.

`--explain` adds one more run through bench/app_modules_probe.py with `-X importtime`: which
glmtray, third-party and heavy standard-library modules the idle app has loaded, who imported
them first, what each costs to import (time, and memory measured in a fresh interpreter), and
which mapped files make up the resident memory.

To measure other code (an older commit, say) put its `app` folder first on PYTHONPATH: every
process the bench starts inherits it, and the bench prints which glmtray runs.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

READY_LINE = "tray icon shows data"
METER_LINE = "local meter listening"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
BENCH_DIR = Path(__file__).resolve().parent
FLOOR_SCRIPT = BENCH_DIR / "tray_floor.py"
PROBE_SCRIPT = BENCH_DIR / "app_modules_probe.py"
SCENARIO = "pro"
READY_TIMEOUT_S = 30.0
GOAL_READY_S = 0.5
GOAL_RSS_MB = 80.0
GOAL_CPU_PER_MIN = 0.05
SETTLE_S = 5.0
"""Seconds between the first data and the start of the idle period."""
# glmtray modules the idle, signed-in tray is suspected not to need; --explain reports the
# memory each costs to import, when the app has loaded it.
SUSPECT_GLMTRAY_MODULES = (
    "glmtray.simulator",
    "glmtray.meter.server",
    "glmtray.ui.settings_dialog",
    "glmtray.ui.signin",
    "glmtray.activity.events",
    "glmtray.activity.transcripts",
    "glmtray.activity.risk_watch",
    "glmtray.platform.client",
    "glmtray.desktop_notify",
    "glmtray.autostart",
    "glmtray.tool_setup",
)
# Stacks that come as one: blocking only the first member would leave the rest loaded, as the
# app (or a library's plugin loader) imports them by name.
SUSPECT_GROUPS = {
    "keyring + Secret Service": (
        "keyring",
        "secretstorage",
        "cryptography",
        "_cffi_backend",
        "jaraco",
        "importlib_metadata",
        "zipp",
        "more_itertools",
        "backports",
        "lazy_importer",
    ),
    "httpx + httpcore": (
        "httpx",
        "httpcore",
        "h11",
        "h2",
        "hpack",
        "hyperframe",
        "anyio",
        "sniffio",
        "certifi",
        "idna",
        "socksio",
    ),
    "aiohttp": ("aiohttp", "aiosignal", "aiohappyeyeballs", "frozenlist", "multidict", "yarl"),
    "sign-in and settings dialogs": (
        "glmtray.ui.settings_dialog",
        "glmtray.ui.signin",
        "glmtray.tool_setup",
    ),
    "event store + sqlite3": ("glmtray.activity.events", "sqlite3"),
}
# What "import X" costs alone is measured on top of the Qt modules every tray needs anyway.
QT_BASELINE_MODULES = ("PySide6.QtCore", "PySide6.QtGui", "PySide6.QtWidgets")


# -- /proc ------------------------------------------------------------------------------------
def cpu_seconds(pid: int) -> float:
    """utime + stime of the whole process (every thread)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def memory_mb(pid: int) -> dict[str, float]:
    """VmRSS and its split (RssAnon, RssFile, RssShmem) in MB."""
    values: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "RssAnon", "RssFile", "RssShmem"):
            values[name] = int(rest.split()[0]) / 1024
    return values


def rss_by_mapping(pid: int) -> dict[str, float]:
    """Resident MB per mapped file (basename) or kind of anonymous memory, from smaps."""
    totals: dict[str, float] = defaultdict(float)
    current = "[anon]"
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        parts = line.split(maxsplit=5)
        if len(parts) >= 5 and "-" in parts[0] and not parts[0].endswith(":"):
            path = parts[5].strip() if len(parts) == 6 else ""
            current = Path(path).name if path.startswith("/") else (path or "[anon]")
        elif line.startswith("Rss:"):
            totals[current] += int(line.split()[1]) / 1024
    return dict(totals)


# -- processes --------------------------------------------------------------------------------
def isolated_env(root: Path, base: dict[str, str]) -> dict[str, str]:
    """A fresh home and XDG folders under `root`; display, bus and runtime dir stay."""
    env = dict(base)
    for name in ("GLMTRAY_API_KEY", "GLMTRAY_BASE_URL"):
        env.pop(name, None)  # the CLI honours these; the bench says everything explicitly
    for name in ("SSL_CERT_FILE", "SSL_CERT_DIR"):
        # A desktop session sets neither (a build or CI machine may): with them the app
        # loads that whole bundle instead of looking roots up in the system's directory.
        env.pop(name, None)
    folders = {
        "HOME": root / "home",
        "XDG_CONFIG_HOME": root / "config",
        "XDG_DATA_HOME": root / "data",
        "XDG_CACHE_HOME": root / "cache",
        "XDG_STATE_HOME": root / "state",
    }
    for name, folder in folders.items():
        folder.mkdir(parents=True)
        env[name] = str(folder)
    return env


def glmtray_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "glmtray", *args]


def stop(process: subprocess.Popen[str], how: signal.Signals = signal.SIGTERM) -> None:
    if process.poll() is None:
        process.send_signal(how)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


@dataclass
class Simulator:
    url: str
    key: str
    process: subprocess.Popen[str]


@contextmanager
def platform_simulator(env: dict[str, str]) -> Iterator[Simulator]:
    """`glmtray simulate` on a free loopback port (port 0: the kernel picks, no race); its
    banner names the address and the key it accepts."""
    process = subprocess.Popen(
        glmtray_command("simulate", "--scenario", SCENARIO, "--host", "127.0.0.1", "--port", "0"),
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = key = ""
        for line in process.stdout:
            if match := re.search(r"on (http://127\.0\.0\.1:\d+)", line):
                url = match.group(1)
            elif line.startswith("accepted API key:"):
                key = line.split(":", 1)[1].strip()
            elif line.startswith("press Ctrl-C"):
                break
        if not (url and key):
            stop(process)
            error = process.stderr.read() if process.stderr else ""
            raise RuntimeError(f"the platform simulator did not start: {error.strip()}")
        yield Simulator(url, key, process)
    finally:
        stop(process, signal.SIGINT)  # Ctrl-C: the simulator's own way out


@contextmanager
def simulator_if(signs_in: bool, env: dict[str, str]) -> Iterator[Simulator | None]:
    """The simulator for a signed-in bench, nothing for the demo and the floor."""
    if not signs_in:
        yield None
        return
    with platform_simulator(env) as simulator:
        try:
            yield simulator
        finally:
            logout(env)


def login(env: dict[str, str], simulator: Simulator) -> None:
    """Store the key in the session's keyring the way a user does: `glmtray login`, key on
    stdin (not a terminal, so no prompt)."""
    done = subprocess.run(
        glmtray_command("login", "--region", "global", "--base-url", simulator.url),
        env=env,
        input=simulator.key + "\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    if done.returncode != 0 or "Signed in" not in done.stdout:
        raise RuntimeError(f"glmtray login failed ({done.returncode}): {done.stderr.strip()}")


def logout(env: dict[str, str]) -> None:
    subprocess.run(
        glmtray_command("logout", "--region", "global"),
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )


class LineReader:
    """Reads a pipe on a thread of the bench (never of the app), so the app never blocks on a
    full pipe and the bench can wait for a line with a timeout."""

    def __init__(self, stream: Iterator[str]) -> None:
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: Iterator[str]) -> None:
        for line in stream:
            self.lines.append(line)
            self._queue.put(line)
        self._queue.put(None)

    def wait_for(self, text: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._queue.get(timeout=left)
            except queue.Empty:
                return False
            if line is None:
                return False
            if text in line:
                return True
        return False

    def join(self) -> None:
        self._thread.join(5)


def log_size(path: Path) -> int:
    """Where this start's lines begin in the app's log (an earlier start wrote the rest)."""
    try:
        return path.stat().st_size
    except OSError:
        return 0


def wait_for_log_line(
    path: Path, text: str, timeout: float, process: subprocess.Popen[str], after: int = 0
) -> bool:
    """Whether `text` shows in the app's log file past byte `after` within `timeout` (polled
    every 5 ms): a normal start logs its INFO lines there, not on the terminal."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with path.open("rb") as log:
                log.seek(after)
                if text.encode() in log.read():
                    return True
        except OSError:
            pass
        time.sleep(0.005)
    return False


@dataclass(frozen=True)
class RunResult:
    ready_s: float
    memory: dict[str, float]
    cpu_s: float
    idle_s: float

    @property
    def rss_mb(self) -> float:
        return self.memory.get("VmRSS", float("nan"))

    @property
    def cpu_per_minute(self) -> float:
        return self.cpu_s / self.idle_s * 60


@dataclass
class Target:
    """What one run starts: `glmtray <app_args>`, or a script of the bench instead."""

    label: str
    app_args: list[str]
    script: Path | None = None
    python_options: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    """The last run's stderr."""

    def argv(self) -> list[str]:
        python = [sys.executable, *self.python_options]
        if self.script is not None:
            return [*python, self.script.as_posix(), *self.app_args]
        return [*python, "-m", "glmtray", *self.app_args]


def measure(
    target: Target,
    env: dict[str, str],
    idle: float,
    inspect: bool = False,
) -> tuple[RunResult, dict[str, str], dict[str, float]]:
    """One run: start, wait for data, idle, read /proc. With `inspect` (the probe target) also
    ask the app for its module list and read its memory map before stopping it."""
    log_file = Path(env.get("XDG_STATE_HOME", "")) / "glmtray" / "log" / "glmtray.log"
    earlier = log_size(log_file)
    start = time.perf_counter()
    process = subprocess.Popen(
        target.argv(),
        env=env,
        stdin=subprocess.PIPE if inspect else subprocess.DEVNULL,
        stdout=subprocess.PIPE if inspect else subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    stderr = LineReader(process.stderr)
    try:
        if "-v" in target.app_args or target.script == FLOOR_SCRIPT:
            seen = stderr.wait_for(READY_LINE, READY_TIMEOUT_S)
        else:
            seen = wait_for_log_line(log_file, READY_LINE, READY_TIMEOUT_S, process, earlier)
        if not seen:
            stop(process)
            stderr.join()
            tail = "".join(stderr.lines[-15:])
            raise RuntimeError(
                f"{target.label}: no '{READY_LINE}' line within {READY_TIMEOUT_S:.0f} s "
                f"(exit status {process.poll()}); its stderr ended with:\n{tail}"
            )
        ready = time.perf_counter() - start
        # The work that follows the first data (the risk history opening, the first scan of
        # the transcripts) belongs to the start, not to the idle minutes measured next.
        time.sleep(SETTLE_S)
        cpu_before = cpu_seconds(process.pid)
        time.sleep(idle)
        if process.poll() is not None:
            raise RuntimeError(f"{target.label} exited during the idle period")
        cpu = cpu_seconds(process.pid) - cpu_before
        memory = memory_mb(process.pid)
        modules: dict[str, str] = {}
        mappings: dict[str, float] = {}
        if inspect:
            assert process.stdin is not None and process.stdout is not None
            mappings = rss_by_mapping(process.pid)
            process.stdin.write("modules\n")
            process.stdin.flush()
            modules = json.loads(process.stdout.readline())
        return RunResult(ready, memory, cpu, idle), modules, mappings
    finally:
        stop(process)
        stderr.join()
        target.lines = stderr.lines
        if any(METER_LINE in line for line in stderr.lines):
            print(f"  warning: {target.label} started its local meter", file=sys.stderr)


def first_start(target: Target, env: dict[str, str]) -> float:
    """Start, wait for data and what follows it, stop: the seconds to data of a start in
    fresh folders."""
    return measure(target, env, idle=0.001)[0].ready_s


def code_under_test(env: dict[str, str], floor: bool) -> str:
    statement = (
        "import PySide6; print('PySide6', PySide6.__version__, PySide6.__file__)"
        if floor
        else "import glmtray; print('glmtray', glmtray.__version__, glmtray.__file__)"
    )
    done = subprocess.run(
        [sys.executable, "-c", statement], env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


# -- --explain --------------------------------------------------------------------------------
@dataclass(frozen=True)
class ImportCost:
    self_ms: float
    cumulative_ms: float
    importer: str
    """The module whose import first pulled this one in ("" at top level)."""
    before_ready: bool
    """Imported before the icon showed data."""


IMPORTTIME_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \| ( *)(\S+)")


def parse_importtime(lines: Sequence[str]) -> dict[str, ImportCost]:
    """`-X importtime` prints a module when its import finishes, indented two spaces per
    level: a module's importer is the next line printed one level up. Keys keep the order in
    which imports finished."""
    waiting: dict[int, list[tuple[str, float, float]]] = defaultdict(list)
    costs: dict[str, ImportCost] = {}
    before_ready = True
    for line in lines:
        if READY_LINE in line:
            before_ready = False
        match = IMPORTTIME_LINE.match(line)
        if match is None:
            continue
        self_us, cumulative_us, indent, name = match.groups()
        depth = len(indent) // 2
        for child, child_self, child_cumulative in waiting.pop(depth + 1, []):
            costs.setdefault(child, ImportCost(child_self, child_cumulative, name, before_ready))
        waiting[depth].append((name, int(self_us) / 1000, int(cumulative_us) / 1000))
        if depth == 0:  # nothing above it: it is complete now
            for top, top_self, top_cumulative in waiting.pop(0):
                costs.setdefault(top, ImportCost(top_self, top_cumulative, "", before_ready))
    for entries in waiting.values():
        for name, self_ms, cumulative_ms in entries:
            costs.setdefault(name, ImportCost(self_ms, cumulative_ms, "", before_ready))
    return costs


def importers(name: str, costs: dict[str, ImportCost]) -> list[str]:
    """The chain of modules whose import first pulled `name` in, nearest first."""
    chain: list[str] = []
    current = name
    while (importer := costs[current].importer if current in costs else "") and (
        importer not in chain
    ):
        chain.append(importer)
        current = importer
    return chain


RSS_AFTER_IMPORTS = """
import importlib, importlib.abc, importlib.util, json, sys, types
first, then, blocked = json.load(sys.stdin)
def is_blocked(name):
    return any(name == root or name.startswith(root + '.') for root in blocked)

class Stub(types.ModuleType):
    # A blocked module: importing it works, and every name in it is an empty class.
    __path__ = []
    def __getattr__(self, name):
        if name.startswith('__'):
            raise AttributeError(name)
        return type(name, (), {})

class Blocker(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path, target=None):
        if is_blocked(fullname):
            return importlib.util.spec_from_loader(fullname, self)
        return None
    def create_module(self, spec):
        return Stub(spec.name)
    def exec_module(self, module):
        pass

sys.meta_path.insert(0, Blocker())
def rss():
    for line in open('/proc/self/status'):
        if line.startswith('VmRSS:'):
            return int(line.split()[1]) / 1024
failed = 0
def load(names):
    global failed
    for name in names:
        try:
            importlib.import_module(name)
        except BaseException:
            failed += 1
load(first)
before = rss()
load(then)
print(rss() - before, failed)
"""


@dataclass(frozen=True)
class ImportMemory:
    mb: float
    failed: int
    """Imports that failed (a blocked module's stand-in did not satisfy its importer)."""


def import_memory(
    first: Sequence[str], then: Sequence[str], env: dict[str, str], blocked: Sequence[str] = ()
) -> ImportMemory:
    """Resident MB that importing `then` adds in a fresh interpreter that imported `first`;
    `blocked` modules (and their submodules) are empty stand-ins wherever they are imported."""
    done = subprocess.run(
        [sys.executable, "-c", RSS_AFTER_IMPORTS],
        env=env,
        input=json.dumps([list(first), list(then), list(blocked)]),
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode != 0:
        return ImportMemory(float("nan"), 0)
    mb, failed = done.stdout.split()
    return ImportMemory(float(mb), int(failed))


def within(module: str, root: str) -> bool:
    return module == root or module.startswith(root + ".")


def brought_in_by(module: str, root: str, costs: dict[str, ImportCost]) -> bool:
    """True for `root` itself (or a submodule), and for modules its import pulled in first."""
    return within(module, root) or any(within(m, root) for m in importers(module, costs))


def stdlib_file(path: str) -> bool:
    return "site-packages" not in path and "dist-packages" not in path


def explain(
    modules: dict[str, str],
    mappings: dict[str, float],
    importtime_lines: Sequence[str],
    env: dict[str, str],
) -> None:
    costs = parse_importtime(importtime_lines)
    ours = sorted(name for name in modules if name == "glmtray" or name.startswith("glmtray."))
    print(f"\nglmtray modules loaded in the idle app ({len(ours)}):")
    print("  " + ", ".join(name.removeprefix("glmtray.") for name in ours))

    packages: dict[str, list[str]] = defaultdict(list)
    for name in modules:
        packages[name.split(".")[0]].append(name)
    third_party = sorted(
        top
        for top in packages
        if top != "glmtray" and modules.get(top) and not stdlib_file(modules[top])
    )
    stdlib = sorted(
        top
        for top in packages
        if top in sys.stdlib_module_names
        and not top.startswith("_frozen")  # the import system itself
        and top in costs
        and costs[top].cumulative_ms >= 3
    )
    qt_modules = sorted(name for name in modules if re.fullmatch(r"PySide6\.Qt\w+", name))

    # What each suspect glmtray module pulls in that nothing imported before it had.
    pulled: dict[str, set[str]] = defaultdict(set)
    for name in modules:
        for importer in importers(name, costs):
            if importer in SUSPECT_GLMTRAY_MODULES:
                pulled[importer].add(name if name.startswith("glmtray.") else name.split(".")[0])

    candidates = [name for name in SUSPECT_GLMTRAY_MODULES if name in modules]
    candidates += [top for top in third_party if top not in ("PySide6", "shiboken6")]
    candidates += [name for name in qt_modules if name not in QT_BASELINE_MODULES]
    candidates += stdlib
    # Every module the app loaded, in the order its imports finished; never a main script.
    loaded = [name for name in costs if name in modules]
    loaded = [name for name in modules if name not in costs] + loaded
    loaded = [name for name in loaded if "__main__" not in name and "probe" not in name]
    print(f"\nThird-party packages loaded: {', '.join(third_party)}")
    print(
        "\nImport costs. 'import ms': cumulative, by -X importtime in the app ('*': imported "
        "after the icon showed data). 'alone': resident MB that importing the module (for a "
        "package: each submodule the app loaded) adds to a fresh Python with QtWidgets "
        "(overlapping). 'in app': all the app's modules imported, minus the same with this one "
        "replaced by an empty stand-in: what not importing it, and what only it needs, would "
        "save. Imports only: objects the app builds at run time (SSL contexts, D-Bus "
        "connections) are not counted."
    )
    print(
        f"  {'module':28} {'modules':>7} {'import ms':>10} {'alone':>6} {'in app':>6}"
        "  first imported by"
    )
    qt_only = [m for m in QT_BASELINE_MODULES if m in modules]
    everything = import_memory(qt_only, [m for m in loaded if m not in qt_only], env)
    print(
        f"  All {len(loaded)} modules the app loaded add {everything.mb:.1f} MB to a fresh Python "
        "with QtWidgets; the rest of the app's RSS above the floor is what it builds at run time."
    )

    def in_app(roots: Sequence[str]) -> str:
        """What the app's imports weigh with `roots` replaced by stand-ins, less than with."""
        rest = [
            m
            for m in loaded
            if m not in qt_only and not any(brought_in_by(m, root, costs) for root in roots)
        ]
        without = import_memory(qt_only, rest, env, blocked=roots)
        failed = without.failed - everything.failed
        if failed > 3:  # the stand-in broke its importers: the difference means nothing
            return f"{'n/a':>6}"
        return f"{everything.mb - without.mb:6.1f}" + (f" ({failed} failed)" if failed else "")

    for name in candidates:
        cost = costs.get(name)
        import_ms = f"{cost.cumulative_ms:.1f}{'' if cost.before_ready else '*'}" if cost else "?"
        own = packages.get(name, [name]) if "." not in name else [name]
        alone = import_memory(qt_only, own, env)
        if name in stdlib and alone.mb < 0.5 and (cost.cumulative_ms if cost else 0) < 10:
            continue  # the cheap standard-library rest
        # No importer: an import inside a function, run after start-up (or the probe's own).
        chain = " <- ".join(importers(name, costs)[:3]) or "(a function's import)"
        print(
            f"  {name:28} {len(own):7d} {import_ms:>10} {alone.mb:6.1f} {in_app([name])}  {chain}"
        )
    print("  Groups (a stack loaded by name, not only through its first member):")
    for label, members in SUSPECT_GROUPS.items():
        roots = [root for root in members if root in modules]
        if not roots:
            continue
        own = [m for m in loaded if any(within(m, root) for root in roots)]
        alone = import_memory(qt_only, own, env)
        print(f"  {label:28} {len(own):7d} {'':>10} {alone.mb:6.1f} {in_app(roots)}")
    startup = [(n, c) for n, c in costs.items() if not c.importer and c.before_ready]
    lazy = [(n, c) for n, c in costs.items() if not c.importer and not c.before_ready]
    for title, entries in (("before the icon showed data", startup), ("after it", lazy)):
        total_ms = sum(cost.cumulative_ms for _, cost in entries)
        largest = sorted(entries, key=lambda entry: -entry[1].cumulative_ms)[:8]
        print(
            f"  top-level imports {title}: {total_ms:.0f} ms; largest: "
            + (", ".join(f"{name} {cost.cumulative_ms:.0f}" for name, cost in largest) or "none")
        )
    print(f"  Qt modules loaded: {', '.join(name.removeprefix('PySide6.') for name in qt_modules)}")
    print("\nWhat each suspect glmtray module brings in first (modules, or top-level packages):")
    for name in SUSPECT_GLMTRAY_MODULES:
        if pulled.get(name):
            print(f"  {name}: {', '.join(sorted(pulled[name]))}")

    total = sum(mappings.values())
    print(f"\nResident memory by mapping ({total:.1f} MB in all), the largest:")
    for name, mb in sorted(mappings.items(), key=lambda item: -item[1])[:18]:
        print(f"  {mb:7.1f} MB  {name}")


# -- main -------------------------------------------------------------------------------------
def summary(label: str, results: Sequence[RunResult], goals: bool) -> None:
    print(f"{label}: {len(results)} runs, {results[0].idle_s:.0f} s idle each")
    for number, result in enumerate(results, 1):
        memory = result.memory
        print(
            f"  run {number}: start to data {result.ready_s:.3f} s, "
            f"RSS {result.rss_mb:.1f} MB (anon {memory.get('RssAnon', 0):.1f}, "
            f"file {memory.get('RssFile', 0):.1f}), "
            f"idle CPU {result.cpu_s:.3f} s = {result.cpu_per_minute:.3f} s/min"
        )
    ready = statistics.median(r.ready_s for r in results)
    rss = statistics.median(r.rss_mb for r in results)
    cpu = statistics.median(r.cpu_per_minute for r in results)

    def goal(value: float, limit: float) -> str:
        if not goals:
            return ""
        return f" (goal < {limit:g}: {'met' if value < limit else 'NOT met'})"

    print(f"  median start to tray icon with data: {ready:.3f} s{goal(ready, GOAL_READY_S)}")
    print(f"  median resident memory after idle:   {rss:.1f} MB{goal(rss, GOAL_RSS_MB)}")
    print(f"  median idle CPU:                     {cpu:.3f} s/min{goal(cpu, GOAL_CPU_PER_MIN)}")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=3, help="how many runs (default 3)")
    parser.add_argument(
        "--idle", type=float, default=60.0, help="idle seconds after data shows (default 60)"
    )
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--demo", action="store_true", help="measure `glmtray --demo` instead")
    what.add_argument(
        "--floor", action="store_true", help="measure a bare PySide6 tray icon instead"
    )
    parser.add_argument(
        "--explain",
        action="store_true",
        help="one more run that lists loaded modules, their costs, and RSS by mapping",
    )
    args = parser.parse_args(argv)
    if args.runs < 1 or args.idle <= 0:
        parser.error("--runs must be at least 1 and --idle positive")
    if args.explain and args.floor:
        parser.error("--explain looks at glmtray, not at the floor")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    if not os.environ.get("DISPLAY"):
        sys.exit("bench_tray: no DISPLAY; run it under .ci/desktop-session")
    signs_in = not (args.demo or args.floor)
    if signs_in and not os.environ.get("GLMTRAY_DESKTOP_SESSION"):
        # `glmtray login` writes to whatever keyring the session bus offers.
        sys.exit("bench_tray: the signed-in bench stores a key: run it under .ci/desktop-session")

    with tempfile.TemporaryDirectory(prefix="bench-tray-") as tmp:
        scratch = Path(tmp)
        base_env = isolated_env(scratch / "setup", dict(os.environ))
        print(code_under_test(base_env, args.floor))
        with simulator_if(signs_in, base_env) as simulator:
            if args.floor:
                target = Target("bare PySide6 tray icon (floor)", [], FLOOR_SCRIPT)
            elif args.demo:
                # -v: demo mode has no log file, so only -v puts the ready line on stderr.
                target = Target("glmtray --demo", ["-v", "--demo"])
            else:
                assert simulator is not None
                target = Target(
                    f"glmtray signed in (simulator scenario '{SCENARIO}' on {simulator.url})",
                    ["--base-url", simulator.url],
                )
            results, firsts = [], []
            for run in range(args.runs):
                env = isolated_env(scratch / f"run{run}", dict(os.environ))
                if simulator is not None:
                    login(env, simulator)
                firsts.append(first_start(target, env))
                results.append(measure(target, env, args.idle)[0])
            summary(target.label, results, goals=not args.floor)
            print(
                "  median first start to data (fresh folders, not the goal's start): "
                f"{statistics.median(firsts):.3f} s ({' '.join(f'{f:.3f}' for f in firsts)})"
            )

            if args.explain:
                env = isolated_env(scratch / "explain", dict(os.environ))
                if simulator is not None:
                    login(env, simulator)
                probe = Target(target.label, target.app_args, PROBE_SCRIPT, ["-X", "importtime"])
                _, modules, mappings = measure(probe, env, args.idle, inspect=True)
                print(f"\n--explain run ({args.idle:.0f} s idle):")
                for line in probe.lines:
                    if line.startswith("bench probe:"):
                        print("  " + line.strip())
                explain(modules, mappings, probe.lines, base_env)


if __name__ == "__main__":
    main()
