"""`glmtray statusline` end to end, as Claude Code runs it: a fresh process, JSON on stdin,
stdout piped, against the simulator on loopback; requests counted at the simulator."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from glmtray.cli_statusline import render, saved_max_age
from glmtray.settings import Settings, SettingsStore
from glmtray.simulator import QUOTA_PATH, SIMULATOR_API_KEY, PlatformSimulator
from glmtray.snapshot import read_snapshot, snapshot_path, write_snapshot

ROOT = Path(__file__).resolve().parent.parent
CLAUDE_CODE_INPUT = json.dumps(
    {
        "hook_event_name": "Status",
        "session_id": "abc123",
        "transcript_path": "/tmp/t.jsonl",
        "cwd": "/tmp",
        "model": {"id": "glm-4.6", "display_name": "GLM-4.6"},
        "workspace": {"current_dir": "/tmp", "project_dir": "/tmp"},
        "cost": {"total_cost_usd": 0.01},
    }
)
ANSI = re.compile(r"\x1b\[[0-9;]*m")
RESET = r"(?:\S+ ){0,2}\d{1,2}:\d\d"
"""A reset as the status line says it: "16:45" today, "Wed 00:09" this week, "12 Feb 09:00"."""


@pytest.fixture(scope="module")
def sim() -> Iterator[PlatformSimulator]:
    with PlatformSimulator("pro", slow_seconds=8.0) as simulator:
        yield simulator


def env_for(sim: PlatformSimulator, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "GLMTRAY_API_KEY": SIMULATOR_API_KEY,
        "GLMTRAY_BASE_URL": sim.base_url,
        **extra,
    }
    env.pop("NO_COLOR", None)
    return env


def keyring_env_for(sim: PlatformSimulator, tmp_path: Path) -> dict[str, str]:
    """As `env_for`, with the key only where `glmtray login` keeps it (a file keyring)."""
    env = env_for(
        sim,
        PYTHON_KEYRING_BACKEND="tests.file_keyring.FileKeyring",
        GLMTRAY_TEST_KEYRING=str(tmp_path / "keys.json"),
    )
    env.pop("GLMTRAY_API_KEY")
    return env


def statusline(
    env: dict[str, str], *args: str, stdin: str = CLAUDE_CODE_INPUT
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "glmtray", "statusline", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def quota_requests(sim: PlatformSimulator) -> int:
    return sum(1 for r in sim.requests if r.path == QUOTA_PATH)


def age_snapshot(minutes: float) -> None:
    """Make the saved snapshot `minutes` old, as if nothing had refreshed it since."""
    data = read_snapshot()
    assert data is not None
    fetched = datetime.now(timezone.utc) - timedelta(minutes=minutes)
    data["fetched_at"] = fetched.isoformat(timespec="seconds").replace("+00:00", "Z")
    write_snapshot(data)


def plain(text: str) -> str:
    return ANSI.sub("", text).strip()


def first_fetch(sim: PlatformSimulator, scenario: str = "pro") -> dict[str, str]:
    sim.set_scenario(scenario)
    env = env_for(sim)
    result = statusline(env)
    assert result.returncode == 0, result.stderr
    return env


# -- when it asks the platform -------------------------------------------------------


def test_a_fresh_snapshot_makes_no_request(sim: PlatformSimulator) -> None:
    env = first_fetch(sim)
    before = len(sim.requests)
    for _ in range(3):
        result = statusline(env)
        assert result.returncode == 0
        assert plain(result.stdout).startswith("GLM Pro · 5h 17% ⟳")
        assert "wk 3%" in result.stdout and result.stderr == ""
    assert len(sim.requests) == before


def test_a_stale_snapshot_is_fetched_once(sim: PlatformSimulator) -> None:
    env = first_fetch(sim)
    age_snapshot(5)
    sim.set_scenario("lite")  # the platform has news since
    before = quota_requests(sim)
    total_before = len(sim.requests)
    result = statusline(env)
    assert plain(result.stdout).startswith("GLM Lite · 5h 42%")
    assert "old" not in result.stdout
    # One request: the quota (no subscription for a status line, no flag in global).
    assert quota_requests(sim) == before + 1 and len(sim.requests) == total_before + 1
    again = statusline(env)
    assert plain(again.stdout) == plain(result.stdout)
    assert quota_requests(sim) == before + 1
    data = read_snapshot()
    assert data is not None and data["tier"] == "lite"


def test_the_max_age_setting_decides_what_is_stale(sim: PlatformSimulator) -> None:
    env = first_fetch(sim)
    SettingsStore().save(Settings(statusline_max_age_seconds=600))
    age_snapshot(5)
    before = quota_requests(sim)
    result = statusline(env)
    assert quota_requests(sim) == before and "old" not in result.stdout
    age_snapshot(11)
    statusline(env)
    assert quota_requests(sim) == before + 1


def test_a_hanging_platform_gets_the_old_value_within_about_1_5_s(sim: PlatformSimulator) -> None:
    env = first_fetch(sim)
    age_snapshot(7)
    sim.set_scenario("slow")  # answers after 8 s
    start = time.monotonic()
    result = statusline(env)
    elapsed = time.monotonic() - start
    assert result.returncode == 0
    # 1.3 s of waiting plus the interpreter's start, on a machine shared with other tests.
    assert elapsed < 2.5, elapsed
    line = plain(result.stdout)
    assert line.startswith("GLM Pro · 5h 17% ⟳")
    assert line.endswith("(7m old: platform not answering)")
    # The next calls within the max age do not ask again, and say why the value is old.
    before = len(sim.requests)
    start = time.monotonic()
    again = statusline(env)
    assert time.monotonic() - start < 1.0
    assert plain(again.stdout).endswith("(7m old: platform not answering)")
    time.sleep(0.2)
    assert len(sim.requests) == before


def test_one_process_asks_while_the_others_answer_at_once(sim: PlatformSimulator) -> None:
    env = first_fetch(sim)
    age_snapshot(3)
    sim.set_scenario("slow")
    before = len(sim.requests)
    asking = subprocess.Popen(
        [sys.executable, "-m", "glmtray", "statusline"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        deadline = time.monotonic() + 10
        while not sim.requests[before:] and time.monotonic() < deadline:
            time.sleep(0.02)  # until the first process is waiting on the platform
        start = time.monotonic()
        other = statusline(env)
        assert time.monotonic() - start < 1.0
        # While the first asks: "(3m old)"; once it gave up, with the reason it gave.
        assert re.search(r"\(3m old(: platform not answering)?\)$", plain(other.stdout))
    finally:
        out, _ = asking.communicate(timeout=30)
    assert plain(out).endswith("(3m old: platform not answering)")
    time.sleep(0.2)
    assert len(sim.requests) == before + 1


def test_while_another_process_asks_none_is_made(sim: PlatformSimulator) -> None:
    import fcntl

    env = first_fetch(sim)
    age_snapshot(4)
    before = len(sim.requests)
    attempt = Path(snapshot_path()).with_name("statusline-attempt")
    with attempt.open("a+") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)  # as a status line asking would
        result = statusline(env)
    assert plain(result.stdout).endswith("(4m old)")
    assert len(sim.requests) == before
    assert "old" not in statusline(env).stdout  # the lock released: asked, fresh
    assert len(sim.requests) == before + 1


def test_no_snapshot_and_no_answer_says_so(sim: PlatformSimulator) -> None:
    sim.set_scenario("slow")
    result = statusline(env_for(sim))
    assert plain(result.stdout) == "GLM: no data (platform not answering)"


def test_not_signed_in_says_how_to_sign_in(sim: PlatformSimulator, tmp_path: Path) -> None:
    sim.set_scenario("pro")
    env = keyring_env_for(sim, tmp_path)
    before = len(sim.requests)
    result = statusline(env)
    assert plain(result.stdout) == "GLM: no data (run glmtray login)"
    assert len(sim.requests) == before


def test_the_key_stored_by_login_is_used(sim: PlatformSimulator, tmp_path: Path) -> None:
    sim.set_scenario("pro")
    env = keyring_env_for(sim, tmp_path)
    login = subprocess.run(
        [sys.executable, "-m", "glmtray", "login"],
        input=SIMULATOR_API_KEY + "\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert login.returncode == 0, login.stderr
    result = statusline(env)
    assert plain(result.stdout).startswith("GLM Pro · 5h 17%")
    assert SIMULATOR_API_KEY not in result.stdout + result.stderr
    assert SIMULATOR_API_KEY not in Path(snapshot_path()).read_text()


def test_a_rejected_key_is_said_without_the_key(sim: PlatformSimulator) -> None:
    sim.set_scenario("wrong_key")
    result = statusline(env_for(sim))
    assert plain(result.stdout) == "GLM: no data (key not accepted: run glmtray login)"
    assert SIMULATOR_API_KEY not in result.stdout + result.stderr
    assert read_snapshot() is None


# -- what it shows -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scenario", "region", "expected"),
    [
        ("locked", "global", "LOCKED: contact support"),
        ("restricted", "china", "GLM Pro · RESTRICTED · 5h 17%"),
        ("no_plan", "global", "GLM · no active coding plan"),
        ("team_plan", "global", "GLM Pro · no quota windows"),
        ("weekly_exhausted", "global", "wk limit reached, back "),
    ],
)
def test_states_that_stop_coding_are_plain(
    sim: PlatformSimulator, scenario: str, region: str, expected: str
) -> None:
    SettingsStore().save(Settings.from_json({"region": region}))
    sim.set_scenario(scenario)
    result = statusline(env_for(sim), "--color=never")
    assert expected in result.stdout, result.stdout
    assert SIMULATOR_API_KEY not in result.stdout + result.stderr


def test_a_used_up_window_shows_whatever_the_format(sim: PlatformSimulator) -> None:
    env = first_fetch(sim, "weekly_exhausted")
    result = statusline(env, "--format", "5h", "--color", "always")
    line = result.stdout.strip()
    assert plain(line).startswith("5h 3% ⟳") and "wk limit reached, back " in line
    assert "\x1b[1m\x1b[31mwk limit reached" in line  # bold red


def test_format_picks_the_fields(sim: PlatformSimulator) -> None:
    env = first_fetch(sim, "credit")
    assert plain(statusline(env, "--format", "plan").stdout) == "GLM Pro"
    windows = plain(statusline(env, "--format=windows,age").stdout)
    assert re.fullmatch(rf"5h 23% ⟳{RESET} · wk 9% · tools 4% · \d+s ago", windows), windows
    blocking = plain(statusline(env, "--format", "blocking").stdout)
    assert re.fullmatch(rf"5h 23% ⟳{RESET}", blocking), blocking
    peak = plain(statusline(env, "--format", "peak").stdout)
    assert peak in ("peak 1×", "off-peak ½")  # a credit plan's rule
    bad = statusline(env, "--format", "plan,nonsense")
    assert bad.returncode == 1 and "nonsense" in bad.stderr and bad.stdout == ""
    help_text = statusline(env, "--help").stdout
    for field in ("plan", "5h", "week", "tools", "windows", "blocking", "peak", "age"):
        assert re.search(rf"^  {re.escape(field)} +\S", help_text, re.MULTILINE), field


def test_colours_follow_the_terminal_conventions(sim: PlatformSimulator) -> None:
    env = first_fetch(sim)
    # Claude Code pipes stdout and shows ANSI colours: recognised by its JSON on stdin.
    from_claude = statusline(env).stdout
    assert "\x1b[1m\x1b[32m5h 17%" in from_claude  # green, bold: the blocking window
    assert "\x1b[32mwk 3%" in from_claude
    # Anything else piped: no colours, unless asked.
    assert "\x1b[" not in statusline(env, stdin="").stdout
    assert "\x1b[" in statusline(env, "--color=always", stdin="").stdout
    assert "\x1b[" not in statusline(env, "--color=never").stdout
    # NO_COLOR (any value) and TERM=dumb turn auto off, even for Claude Code.
    assert "\x1b[" not in statusline({**env, "NO_COLOR": "1"}).stdout
    assert "\x1b[" not in statusline({**env, "TERM": "dumb"}).stdout
    assert plain(statusline({**env, "NO_COLOR": "1"}).stdout) == plain(from_claude)


def test_colours_by_share() -> None:
    now = time.time()
    data = {
        "schema_version": 1,
        "fetched_at": datetime.now(timezone.utc).isoformat(),
        "tier": "max",
        "blocking_window": "weekly",
        "windows": [
            {"key": "five_hour", "share": 85.0, "resets_at": None},
            {"key": "weekly", "share": 96.0, "resets_at": None},
            {"key": "monthly_tools", "share": 10.0, "resets_at": None},
        ],
    }
    line = render(data, ["5h", "week", "tools"], 60, color=True, now=now)
    assert line == (
        "\x1b[33m5h 85%\x1b[0m · \x1b[1m\x1b[31mwk 96%\x1b[0m · \x1b[32mtools 10%\x1b[0m"
    )


def test_old_values_and_peak_from_the_saved_schedule() -> None:
    now = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
    data = {
        "schema_version": 1,
        "fetched_at": (now - timedelta(hours=3)).isoformat(),
        "tier": "pro",
        "windows": [{"key": "five_hour", "share": 40.0, "resets_at": None}],
        "peak": [
            {"from": "2026-12-01T06:00:00Z", "peak": True, "multiplier": 1.0},
            {"from": "2026-12-01T10:00:00Z", "peak": False, "multiplier": 0.5},
            {"from": "2026-12-01T13:00:00Z", "peak": None, "multiplier": None},
        ],
    }
    fields = ["plan", "5h", "peak"]
    assert render(data, fields, 60, now=now.timestamp()) == "GLM Pro · 5h 40% · off-peak ½ (3h old)"
    before = (now - timedelta(hours=3)).timestamp()
    assert render(data, ["peak"], 1e9, now=before) == "peak 1×"
    after = (now + timedelta(hours=2)).timestamp()
    assert render(data, ["plan", "peak"], 1e9, now=after) == "GLM Pro"  # past the schedule
    # The age is said once: in the field while fresh, in the old-value mark once old.
    assert render(data, ["plan", "age"], 1e9, now=now.timestamp()) == "GLM Pro · 3h ago"
    assert render(data, ["plan", "age"], 60, now=now.timestamp()) == "GLM Pro (3h old)"


# -- how it reads its input ----------------------------------------------------------


def test_the_json_on_stdin_is_read_and_ignored(sim: PlatformSimulator) -> None:
    env = first_fetch(sim)
    expected = plain(statusline(env).stdout)
    for stdin in ("", "not json at all", "[1, 2, 3]", json.dumps({"x": "y" * 500000})):
        result = statusline(env, "--color=never", stdin=stdin)
        assert result.returncode == 0 and result.stdout.strip() == expected


def test_stdin_held_open_does_not_hold_the_line(sim: PlatformSimulator) -> None:
    env = first_fetch(sim)
    start = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "glmtray", "statusline"],
        stdin=subprocess.PIPE,  # open, never written to nor closed until the end
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        out = process.stdout.read() if process.stdout else ""
        elapsed = time.monotonic() - start
    finally:
        assert process.stdin is not None
        process.stdin.close()
        process.wait(timeout=30)
    assert plain(out).startswith("GLM Pro")
    assert elapsed < 2.0, elapsed


# -- what it loads -------------------------------------------------------------------


def test_the_fast_path_loads_nothing_heavy(sim: PlatformSimulator) -> None:
    env = first_fetch(sim)
    code = (
        "import sys\n"
        "from glmtray.cli import main\n"
        "main(['statusline'])\n"
        "heavy = ('httpx', 'keyring', 'PySide6', 'platformdirs', 'argparse', 'logging',\n"
        "         'glmtray.settings', 'glmtray.platform', 'glmtray.errors', 'sqlite3')\n"
        "print(sorted(m for m in sys.modules if m.startswith(heavy)), file=sys.stderr)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        input=CLAUDE_CODE_INPUT,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.stdout.startswith("GLM Pro")
    assert result.stderr.strip() == "[]"


@pytest.mark.parametrize(
    ("saved", "expected"),
    [(None, 60), (30, 30), (1, 5), (10**9, 86400), ("soon", 60), (True, 60), (12.7, 12)],
)
def test_the_max_age_is_read_as_the_settings_read_it(saved: object, expected: int) -> None:
    path = Path(os.environ["XDG_CONFIG_HOME"]) / "glmtray" / "settings.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({} if saved is None else {"statusline_max_age_seconds": saved}))
    assert saved_max_age() == expected
    assert SettingsStore().load().settings.statusline_max_age_seconds == expected


def test_the_readme_documents_every_field_and_the_colours() -> None:
    from glmtray.cli_statusline import DEFAULT_FORMAT, FIELDS

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("## Status line for Claude Code")
    text = readme[start : readme.index("\n## ", start + 3)]
    rows = re.findall(r"^\| `([a-z0-9]+)` \|", text, re.MULTILINE)
    assert rows == list(FIELDS)
    assert f"`{DEFAULT_FORMAT}`" in text
    assert '"command": "glmtray statusline"' in text
    for words in ("NO_COLOR", "--color=always", "--color=never", "(5m old)"):
        assert words in text, words
