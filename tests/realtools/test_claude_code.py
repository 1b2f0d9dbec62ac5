"""The real Claude Code CLI against glmtray, as a GLM Coding Plan subscriber sets it up.

A throwaway home; `glmtray simulate` and `glmtray meter` on loopback; `glmtray login` with
the simulator's key (a file keyring); glmtray's one-click setup for Claude Code, the same
`tool_targets` call the Settings button makes, writing `~/.claude/settings.json`; Claude
Code given the key through `ANTHROPIC_AUTH_TOKEN` (or `ANTHROPIC_API_KEY`) as GLM users do.
Then the pinned `claude` binary (tests/realtools/claude-code-version, installed from npm by
tests/realtools/install-claude-code.sh into .ci/cache) answers `-p` through the meter, and
an interactive session in tmux shows glmtray's status line in colour, follows the plan
without a message being sent, and shows what a used-up window and throttling look like.

Claude Code is told to make no traffic of its own (telemetry, error reports, updates): the
only address it is given is the meter's, on 127.0.0.1.

Without the pinned Claude Code (or tmux) the tier is skipped on a developer machine with
the command that installs it; with CI=true it fails instead.
"""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from glmtray.platform.regions import Region
from glmtray.simulator import SIMULATOR_API_KEY
from glmtray.tool_config import apply_plan, plan_edit
from glmtray.tool_setup import STATUSLINE_REFRESH_SECONDS, tool_targets

REPO = Path(__file__).resolve().parents[2]
PINNED_VERSION = Path(__file__).with_name("claude-code-version").read_text().strip()
CACHED_CLAUDE = REPO / ".ci" / "cache" / "claude-code" / "node_modules" / ".bin" / "claude"
INSTALL_COMMAND = "bash tests/realtools/install-claude-code.sh"
ARTIFACTS = Path(os.environ.get("GLMTRAY_ARTIFACTS", REPO / "artifacts")) / "realtools"
STATUSLINE_MAX_AGE = 5
"""glmtray's `statusline_max_age_seconds` here (its smallest value), so that a change on
the platform reaches the status line within one of Claude Code's refresh intervals."""
ANSWER = "Hello from the simulator."
WINDOW = r"(\d+% ⟳(?:\S+ ){0,2}\d{1,2}:\d\d|\d+%|limit reached, back [^·]+)"
"""A window in the status line; its reset is "16:45" today, "Wed 00:09" this week."""
STATUS_LINE = re.compile(
    rf"GLM Pro · (Throttled \(\d+\) · )?5h {WINDOW} · wk {WINDOW} · (off-peak|peak) \S+"
)
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
QUIET_CLAUDE = {
    # Nothing but the meter: no telemetry, error reports, update checks or other traffic.
    "DISABLE_TELEMETRY": "1",
    "DISABLE_ERROR_REPORTING": "1",
    "DISABLE_AUTOUPDATER": "1",
    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
}


def _missing(what: str) -> None:
    message = f"real-tools tier: {what}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


def _claude_binary() -> Path:
    if not CACHED_CLAUDE.exists():
        how = (
            INSTALL_COMMAND
            if shutil.which("npm")
            else f"install Node.js and npm, then {INSTALL_COMMAND}"
        )
        _missing(f"Claude Code {PINNED_VERSION} is not installed in {CACHED_CLAUDE.parent}: {how}")
    shown = subprocess.run(
        [str(CACHED_CLAUDE), "--version"],
        capture_output=True,
        text=True,
        timeout=30,
        env={"PATH": "/usr/bin:/bin", **QUIET_CLAUDE},
    ).stdout.split()
    if not shown or shown[0] != PINNED_VERSION:
        _missing(f"Claude Code {PINNED_VERSION} wanted, {shown[:1]} installed: {INSTALL_COMMAND}")
    return CACHED_CLAUDE


@dataclass
class World:
    """Everything a subscriber has running, in a throwaway home."""

    home: Path
    project: Path
    env: dict[str, str]
    """glmtray's and Claude Code's environment (no key in it)."""
    simulator_url: str
    meter_port: int
    meter: subprocess.Popen[str]
    settings_file: Path

    def claude_env(self, **extra: str) -> dict[str, str]:
        return {**self.env, **extra}

    def control(self, what: str, change: dict[str, object] | None = None) -> dict[str, object]:
        """The simulator's control endpoint `what` (scenario, coding): GET, or POST `change`."""
        data = None if change is None else json.dumps(change).encode()
        request = urllib.request.Request(f"{self.simulator_url}/_simulator/{what}", data=data)
        with urllib.request.urlopen(request, timeout=5) as answer:
            result: dict[str, object] = json.load(answer)
        return result

    def meter_stats(self) -> dict[str, object]:
        url = f"http://127.0.0.1:{self.meter_port}/_glmtray/meter/stats"
        with urllib.request.urlopen(url, timeout=5) as answer:
            stats: dict[str, object] = json.load(answer)["stats"]
        return stats

    def glmtray(self, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "glmtray", *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
            env=self.env,
        )


def _first_line(process: subprocess.Popen[str], seconds: float) -> str:
    assert process.stdout is not None
    ready, _w, _x = select.select([process.stdout], [], [], seconds)
    assert ready, f"no output from {process.args!r} within {seconds} s"
    return process.stdout.readline()


def _stop(process: subprocess.Popen[str]) -> str:
    process.terminate()
    try:
        out, _err = process.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        out, _err = process.communicate()
    return out or ""


@pytest.fixture(scope="module")
def claude() -> Path:
    return _claude_binary()


@pytest.fixture(scope="module")
def world(claude: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    home = tmp_path_factory.mktemp("subscriber")
    project = home / "project"
    project.mkdir()
    env = {
        "PATH": os.pathsep.join(
            [str(Path(sys.executable).parent), str(claude.parent), "/usr/bin", "/bin"]
        ),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "TERM": "xterm-256color",
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_STATE_HOME": str(home / ".local" / "state"),
        # The test keyring (a file; glmtray itself never keeps a key in one).
        "PYTHONPATH": str(REPO),
        "PYTHON_KEYRING_BACKEND": "tests.file_keyring.FileKeyring",
        "GLMTRAY_TEST_KEYRING": str(home / "test-keyring.json"),
        **QUIET_CLAUDE,
    }
    simulator = subprocess.Popen(
        [sys.executable, "-m", "glmtray", "simulate", "--port", "0", "--scenario", "pro"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    meter: subprocess.Popen[str] | None = None
    try:
        found = re.search(r"http://127\.0\.0\.1:\d+", _first_line(simulator, 30))
        assert found, "the simulator did not say where it listens"
        env["GLMTRAY_BASE_URL"] = found.group(0)
        config = home / ".config" / "glmtray"
        config.mkdir(parents=True)
        (config / "settings.json").write_text(
            json.dumps({"statusline_max_age_seconds": STATUSLINE_MAX_AGE})
        )
        base = World(home, project, env, found.group(0), 0, simulator, Path())
        login = base.glmtray("login", stdin=SIMULATOR_API_KEY + "\n")
        assert login.returncode == 0, login.stderr
        assert SIMULATOR_API_KEY not in login.stdout + login.stderr
        meter = subprocess.Popen(
            [sys.executable, "-m", "glmtray", "meter", "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        line = _first_line(meter, 30)
        port = re.search(r"glmtray meter on http://127\.0\.0\.1:(\d+)", line)
        assert port, line
        # The one-click setup, as the Settings button makes it, in this home.
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("HOME", str(home))
            patch.setenv("PATH", env["PATH"])
            patch.delenv("CLAUDE_CONFIG_DIR", raising=False)
            target = tool_targets(int(port.group(1)), Region.GLOBAL)[0]
            assert target.tool == "Claude Code"
            apply_plan(plan_edit(target.path, target.setup))
        # Claude Code's first-run screens (theme, sign-in, trusting the folder) are done.
        (home / ".claude.json").write_text(
            json.dumps(
                {
                    "hasCompletedOnboarding": True,
                    "theme": "dark",
                    "projects": {str(project): {"hasTrustDialogAccepted": True}},
                }
            )
        )
        # The state the tray (or `glmtray status`) keeps for the status line.
        assert base.glmtray("status").returncode == 0
        yield World(home, project, env, base.simulator_url, int(port.group(1)), meter, target.path)
    finally:
        meter_output = _stop(meter) if meter is not None else ""
        simulator_output = _stop(simulator)
        assert SIMULATOR_API_KEY not in meter_output + simulator_output.replace(
            f"accepted API key: {SIMULATOR_API_KEY}", ""
        )


def _print_mode(world: World, claude: Path, **key: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(claude), "-p", "say hi"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=world.project,
        env=world.claude_env(CLAUDE_CODE_MAX_RETRIES="0", **key),
    )


def test_setup_points_claude_code_at_the_meter(world: World) -> None:
    settings = json.loads(world.settings_file.read_text())
    assert world.settings_file == world.home / ".claude" / "settings.json"
    assert settings["env"]["ANTHROPIC_BASE_URL"] == (
        f"http://127.0.0.1:{world.meter_port}/api/anthropic"
    )
    assert settings["statusLine"]["command"] == "glmtray statusline"
    assert settings["statusLine"]["refreshInterval"] == STATUSLINE_REFRESH_SECONDS
    assert SIMULATOR_API_KEY not in world.settings_file.read_text()


@pytest.mark.parametrize("key_variable", ["ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_API_KEY"])
def test_print_mode_answers_through_the_meter(
    world: World, claude: Path, key_variable: str
) -> None:
    world.control("scenario", {"scenario": "pro"})
    world.control("coding", {"preset": "default"})
    before_meter = world.meter_stats()["requests_total"]
    before_simulator = world.control("coding")["served"]
    result = _print_mode(world, claude, **{key_variable: SIMULATOR_API_KEY})
    assert result.returncode == 0, result.stdout + result.stderr
    assert ANSWER in result.stdout
    assert SIMULATOR_API_KEY not in result.stdout + result.stderr
    stats = world.meter_stats()
    assert isinstance(before_meter, int) and isinstance(before_simulator, int)
    assert stats["requests_total"] == before_meter + 1  # one request, through the meter
    assert world.control("coding")["served"] == before_simulator + 1


def test_glmtray_counts_the_real_session_from_its_transcript(world: World, claude: Path) -> None:
    """Claude Code's own transcript of a session through the meter names the GLM model
    that answered, and glmtray's status counts the session as active coding."""
    world.control("scenario", {"scenario": "pro"})
    world.control("coding", {"preset": "default"})
    assert _print_mode(world, claude, ANTHROPIC_AUTH_TOKEN=SIMULATOR_API_KEY).returncode == 0
    transcripts = list((world.home / ".claude" / "projects").rglob("*.jsonl"))
    models = {
        line["message"].get("model")
        for path in transcripts
        for line in map(json.loads, path.read_text().splitlines())
        if line.get("type") == "assistant" and isinstance(line.get("message"), dict)
    }
    assert "glm-4.6" in models, models
    status = json.loads(world.glmtray("status", "--json").stdout)
    assert status["concurrency"]["active_sessions"] >= 1


def test_print_mode_shows_the_platforms_limit_and_the_meter_counts_it(
    world: World, claude: Path
) -> None:
    world.control("coding", {"preset": "default", "limit_reached": "five_hour"})
    try:
        result = _print_mode(world, claude, ANTHROPIC_AUTH_TOKEN=SIMULATOR_API_KEY)
    finally:
        world.control("coding", {"preset": "default"})
    assert result.returncode == 1
    # Claude Code 2.1.x shows the platform's own words, code and reset time included.
    assert "API Error: Request rejected (429)" in result.stdout
    assert "[1308][Usage limit reached for 5 hour. Your limit will reset at" in result.stdout
    errors = world.meter_stats()["errors_by_code"]
    assert isinstance(errors, dict) and errors.get("1308", 0) >= 1
    # The quota still reads 17 %; the status line knows better from the meter, until an
    # answer gets through again.
    assert "5h limit reached, back" in world.glmtray("statusline").stdout
    assert _print_mode(world, claude, ANTHROPIC_AUTH_TOKEN=SIMULATOR_API_KEY).returncode == 0
    assert world.glmtray("statusline").stdout.startswith("GLM Pro · 5h 17%")


# -- an interactive session in tmux --------------------------------------------------------


@dataclass
class Terminal:
    socket: Path
    env: dict[str, str]

    def tmux(self, *args: str) -> str:
        return subprocess.run(
            ["tmux", "-S", str(self.socket), *args],
            capture_output=True,
            text=True,
            timeout=10,
            env=self.env,
            check=True,
        ).stdout

    def screen(self, colours: bool = False) -> str:
        return self.tmux("capture-pane", "-p", *(["-e"] if colours else []), "-t", "claude")

    def type(self, text: str) -> None:
        self.tmux("send-keys", "-t", "claude", "-l", text)
        time.sleep(0.5)  # typed, not pasted: Enter on its own
        self.tmux("send-keys", "-t", "claude", "Enter")

    def wait_for(self, what: str, check: Callable[[str], bool], seconds: float) -> str:
        deadline = time.monotonic() + seconds
        while True:
            screen = self.screen()
            if check(screen):
                return screen
            if time.monotonic() > deadline:
                pytest.fail(f"{what} not on screen within {seconds} s:\n{screen}")
            time.sleep(0.3)


def _status_line(screen: str) -> str | None:
    found = [line.strip() for line in screen.splitlines() if STATUS_LINE.search(line)]
    return found[-1] if found else None


@pytest.fixture(scope="module")
def terminal(world: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Terminal]:
    if shutil.which("tmux") is None:
        _missing("tmux is not installed (apt-get install tmux)")
    world.control("scenario", {"scenario": "pro"})
    world.control("coding", {"preset": "default"})
    socket = tmp_path_factory.mktemp("tmux") / "socket"
    # Limits answer at once: Claude Code would otherwise retry a used-up window ten times.
    env = world.claude_env(ANTHROPIC_AUTH_TOKEN=SIMULATOR_API_KEY, CLAUDE_CODE_MAX_RETRIES="0")
    terminal = Terminal(socket, env)
    terminal.tmux(
        "new-session", "-d", "-s", "claude", "-x", "120", "-y", "32", "-c", str(world.project),
        "claude",
    )  # fmt: skip
    try:
        yield terminal
    finally:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        with_colours = terminal.screen(colours=True)
        (ARTIFACTS / "claude-code-screen.ansi").write_text(with_colours)
        subprocess.run(["tmux", "-S", str(socket), "kill-server"], timeout=10, env=env)


def test_status_line_shows_at_the_bottom_in_colour(world: World, terminal: Terminal) -> None:
    screen = terminal.wait_for("glmtray's status line", lambda s: _status_line(s) is not None, 30)
    line = _status_line(screen)
    assert line is not None and line.startswith("GLM Pro · 5h ")
    # Below the prompt box, where Claude Code puts its status line.
    rows = screen.rstrip("\n").splitlines()
    prompt_row = max(i for i, row in enumerate(rows) if row.startswith("❯"))
    status_row = max(i for i, row in enumerate(rows) if STATUS_LINE.search(row))
    assert status_row > prompt_row
    coloured = next(row for row in terminal.screen(colours=True).splitlines() if "GLM Pro" in row)
    # Pro's windows are well below 80 %: green, and the closest to its limit in bold.
    assert "\x1b[32m" in coloured and "\x1b[1m" in coloured
    assert ANSI.sub("", coloured).strip() == line
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "claude-code-statusline.txt").write_text(coloured + "\n")

    terminal.type("say hi")
    screen = terminal.wait_for("the answer", lambda s: ANSWER in s, 30)
    assert _status_line(screen) is not None  # still there after the answer


def test_status_line_follows_the_plan_between_messages(world: World, terminal: Terminal) -> None:
    terminal.wait_for("glmtray's status line", lambda s: _status_line(s) is not None, 30)
    # A status line run started by the last answer may still be fetching (1.5 s at most):
    # the switch must come after it, or that run would see the new plan by chance.
    time.sleep(2)
    world.control("scenario", {"scenario": "weekly_exhausted"})
    assert "wk 3%" in (_status_line(terminal.screen()) or "")
    started = time.monotonic()
    # No message is sent: only Claude Code's refresh interval runs the status line again.
    screen = terminal.wait_for(
        "the used-up week",
        lambda s: "wk limit reached, back" in (_status_line(s) or ""),
        STATUSLINE_REFRESH_SECONDS + STATUSLINE_MAX_AGE + 15,
    )
    assert time.monotonic() - started < STATUSLINE_REFRESH_SECONDS + STATUSLINE_MAX_AGE + 15
    assert screen
    coloured = next(row for row in terminal.screen(colours=True).splitlines() if "GLM Pro" in row)
    assert "\x1b[1m\x1b[31mwk limit reached" in coloured  # bold red


def test_limit_and_throttling_in_a_session(world: World, terminal: Terminal) -> None:
    # The 5-hour window is used up while the last fetch said 17 %: only the meter knows.
    world.control("scenario", {"scenario": "pro"})
    world.control("coding", {"preset": "default", "limit_reached": "five_hour"})
    before = world.meter_stats()["errors_by_code"]
    assert isinstance(before, dict)
    terminal.type("write a poem")
    screen = terminal.wait_for("the 5-hour limit error", lambda s: "[1308]" in s, 30)
    assert "API Error: Request rejected (429)" in screen
    screen = terminal.wait_for(
        "the used-up 5-hour window in the status line",
        lambda s: "5h limit reached, back" in (_status_line(s) or ""),
        STATUSLINE_REFRESH_SECONDS + 10,
    )
    errors = world.meter_stats()["errors_by_code"]
    assert isinstance(errors, dict) and errors.get("1308", 0) > before.get("1308", 0)
    coloured = next(row for row in terminal.screen(colours=True).splitlines() if "GLM Pro" in row)
    assert "\x1b[1m\x1b[31m5h limit reached" in coloured  # bold red

    # Too many requests at once: the platform's 1302.
    world.control("coding", {"preset": "default", "limit": 0})
    terminal.type("and another")
    screen = terminal.wait_for(
        "throttling in the status line",
        lambda s: "Throttled (1302)" in (_status_line(s) or ""),
        STATUSLINE_REFRESH_SECONDS + 10,
    )
    assert "High concurrency usage of this API" in screen
    errors = world.meter_stats()["errors_by_code"]
    assert isinstance(errors, dict) and errors.get("1302", 0) >= 1
    status = json.loads(world.glmtray("status", "--json").stdout)
    assert status["risk"]["throttled"] is True
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "claude-code-limits.txt").write_text(terminal.screen(colours=True))

    # An answer gets through again: both are over.
    world.control("coding", {"preset": "default"})
    terminal.type("say hi again")
    terminal.wait_for(
        "the status line without the limit and throttling",
        lambda s: re.search(r"GLM Pro · 5h \d+%", _status_line(s) or "") is not None,
        STATUSLINE_REFRESH_SECONDS + 10,
    )
