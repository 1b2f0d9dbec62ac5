"""`glmtray status/login/logout` end to end, as subprocesses, against the simulator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from glmtray.simulator import SIMULATOR_API_KEY, PlatformSimulator

ROOT = Path(__file__).resolve().parent.parent

EXPECTED_EXIT = {
    "lite": 0, "pro": 0, "max": 0, "credit": 0, "idle": 0, "weekly_exhausted": 0,
    "auto_renew_off": 0, "renewal_soon": 0, "cancel_soon": 0, "quirky": 0, "partial": 0, "demo": 0,
    "bearer_only": 0, "credit_max": 0, "floor_tie": 0, "legacy_tokens": 0, "v1_overrun": 0,
    "team_plan": 0, "stale_renewal": 0,
    "wrong_key": 2, "wrong_key_1000": 2, "wrong_key_http401": 2,
    "no_plan": 3, "expired": 3,
    "restricted": 6, "locked": 6,
    "rate_limited": 4, "http_500": 4, "http_502": 4, "html_error": 4, "slow": 4,
    "malformed_json": 5, "wrong_shape": 5,
}  # fmt: skip


@pytest.fixture(scope="module")
def sim() -> Iterator[PlatformSimulator]:
    with PlatformSimulator("pro", slow_seconds=3.0) as simulator:
        yield simulator


def run(
    args: list[str], env: dict[str, str], stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **env, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "glmtray", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=full_env,
        timeout=60,
    )


def key_env(sim: PlatformSimulator) -> dict[str, str]:
    return {"GLMTRAY_API_KEY": SIMULATOR_API_KEY, "GLMTRAY_BASE_URL": sim.base_url}


def test_every_scenario_is_covered_by_the_table() -> None:
    from glmtray.simulator import scenario_names

    assert set(scenario_names()) == set(EXPECTED_EXIT)


@pytest.mark.parametrize("scenario", sorted(EXPECTED_EXIT))
@pytest.mark.parametrize("as_json", [True, False])
def test_status_exit_codes_and_output(sim: PlatformSimulator, scenario: str, as_json: bool) -> None:
    sim.set_scenario(scenario)
    args = ["status", "--region", "china", "--timeout", "1"] + (["--json"] if as_json else [])
    result = run(args, key_env(sim))
    assert result.returncode == EXPECTED_EXIT[scenario], result.stderr
    assert SIMULATOR_API_KEY not in result.stdout + result.stderr
    if result.returncode == 0 and as_json:
        data = json.loads(result.stdout)
        for key in (
            "region",
            "tier",
            "plan_name",
            "windows",
            "blocking_window",
            "subscription",
            "risk",
            "warnings",
            "fetched_at",
        ):
            assert key in data
        assert data["region"] == "china"
        for window in data["windows"]:
            assert {"id", "type", "used_percent", "resets_at", "used", "limit", "remaining"} <= set(
                window
            )
        assert data["fetched_at"].endswith("Z")
    elif result.returncode == 0:
        assert "Risk control" in result.stdout
    else:
        assert result.stderr.startswith("glmtray: ")
        if as_json and EXPECTED_EXIT[scenario] == 2:
            assert "error" in json.loads(result.stdout)


def test_status_json_values_for_weekly_exhausted(sim: PlatformSimulator) -> None:
    sim.set_scenario("weekly_exhausted")
    data = json.loads(run(["status", "--json"], key_env(sim)).stdout)
    assert data["tier"] == "pro" and data["plan_name"] == "GLM Coding Pro"
    assert data["blocking_window"] == "weekly"
    weekly = next(w for w in data["windows"] if w["id"] == "weekly")
    assert weekly["used_percent"] == 100 and weekly["resets_at"].endswith("Z")
    sub = data["subscription"]
    assert set(sub) >= {
        "product",
        "status",
        "auto_renew",
        "next_renewal",
        "cancel_by",
        "billing_cycle",
    }
    assert sub["auto_renew"] is True and len(sub["next_renewal"]) == 10
    risk = data["risk"]
    # Global region: no flag, nothing in the history: unknown, never "fine".
    assert risk["restricted"] is None and risk["flag"] is None
    assert risk["locked"] is False and risk["throttled"] is False
    assert risk["episodes"] == [] and risk["strikes"] == {"count": 0, "limit": 3}


def test_status_text_for_restricted_china(sim: PlatformSimulator) -> None:
    sim.set_scenario("restricted")
    out = run(["status", "--region", "china"], key_env(sim)).stdout
    assert "RESTRICTED" in out and "GLM Coding Pro" in out and "Cancel by" in out


def test_not_signed_in(tmp_path: Path) -> None:
    env = {
        "PYTHON_KEYRING_BACKEND": "tests.file_keyring.FileKeyring",
        "GLMTRAY_TEST_KEYRING": str(tmp_path / "k.json"),
    }
    result = run(["status"], env)
    assert result.returncode == 2 and "glmtray login" in result.stderr


def test_login_status_logout_round_trip(sim: PlatformSimulator, tmp_path: Path) -> None:
    sim.set_scenario("pro")
    store = tmp_path / "k.json"
    env = {
        "PYTHON_KEYRING_BACKEND": "tests.file_keyring.FileKeyring",
        "GLMTRAY_TEST_KEYRING": str(store),
        "GLMTRAY_BASE_URL": sim.base_url,
    }
    bad = run(["login", "--region", "china"], env, stdin="not-the-key\n")
    assert bad.returncode == 2 and not store.exists()
    good = run(["login", "--region", "china"], env, stdin=SIMULATOR_API_KEY + "\n")
    assert good.returncode == 0, good.stderr
    assert json.loads(store.read_text()) == {"glmtray/china:default": SIMULATOR_API_KEY}
    assert SIMULATOR_API_KEY not in good.stdout + good.stderr
    status = run(["status", "--json"], env)  # region remembered from login
    assert status.returncode == 0 and json.loads(status.stdout)["region"] == "china"
    settings_files = list(Path(os.environ["XDG_CONFIG_HOME"]).rglob("*.json"))
    assert settings_files and all(SIMULATOR_API_KEY not in p.read_text() for p in settings_files)
    out = run(["logout"], env)
    assert out.returncode == 0 and json.loads(store.read_text()) == {}
    assert run(["status"], env).returncode == 2


def test_login_with_a_broken_keyring_is_a_clear_error(sim: PlatformSimulator) -> None:
    sim.set_scenario("pro")
    env = {
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
        "GLMTRAY_BASE_URL": sim.base_url,
    }
    result = run(["login"], env, stdin=SIMULATOR_API_KEY + "\n")
    assert result.returncode == 1
    assert "keyring" in result.stderr.lower() and "Traceback" not in result.stderr
    assert SIMULATOR_API_KEY not in result.stderr + result.stdout


def test_usage_errors_exit_1() -> None:
    assert run(["status", "--region", "mars"], {}).returncode != 0
    result = run(["status", "--base-url", "http://example.com"], {"GLMTRAY_API_KEY": "x" * 40})
    assert result.returncode == 1 and "loopback" in result.stderr


def test_cli_paths_never_import_qt(sim: PlatformSimulator) -> None:
    sim.set_scenario("pro")
    code = (
        "import sys\n"
        "from glmtray.cli import main\n"
        "rc = main(['status', '--json'])\n"
        "assert not [m for m in sys.modules if m.startswith('PySide6')], 'Qt imported'\n"
        "main(['logout'])\n"
        "assert not [m for m in sys.modules if m.startswith('PySide6')], 'Qt imported'\n"
        "import glmtray.simulator, glmtray.monitor, glmtray.alerts, glmtray.state\n"
        "assert not [m for m in sys.modules if m.startswith('PySide6')], 'Qt imported'\n"
        "sys.exit(rc)\n"
    )
    env = {
        **os.environ,
        **key_env(sim),
        "PYTHONPATH": str(ROOT),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    }
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode == 0, result.stderr


def test_version() -> None:
    from glmtray import __version__

    result = run(["--version"], {})
    assert result.returncode == 0 and __version__ in result.stdout


def test_status_json_reports_active_coding_sessions(sim: PlatformSimulator) -> None:
    from datetime import datetime, timezone

    sim.set_scenario("pro")
    now = datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")
    root = Path(os.environ["CLAUDE_CONFIG_DIR"]) / "projects"
    for project, session in (
        ("-home-a-shop", "s1"),
        ("-home-a-shop", "s2"),
        ("-home-a-blog", "s3"),
    ):
        folder = root / project
        folder.mkdir(parents=True, exist_ok=True)
        line = {"type": "assistant", "timestamp": now, "sessionId": session, "cwd": "/" + project,
                "message": {"model": "glm-4.6", "usage": {"input_tokens": 1}}}  # fmt: skip
        (folder / f"{session}.jsonl").write_text(json.dumps(line) + "\n")
    old = root / "-home-a-old"
    old.mkdir()
    (old / "s0.jsonl").write_text(
        json.dumps(
            {
                "type": "assistant",
                "timestamp": now,
                "sessionId": "s0",
                "message": {"model": "glm-4.6"},
            }
        )
        + "\n"
    )
    os.utime(old / "s0.jsonl", (0, 0))  # not touched for ages: not read at all
    data = json.loads(run(["status", "--json"], key_env(sim)).stdout)
    concurrency = data["concurrency"]
    assert concurrency["active_sessions"] == 3 and concurrency["active_projects"] == 2
    assert concurrency["recommended"] == "1-2"
    assert concurrency["in_flight"] is None  # the meter is off by default
    assert concurrency["limit_seen"] == {"peak": None, "off_peak": None}


def test_status_for_a_plan_without_windows(sim: PlatformSimulator) -> None:
    sim.set_scenario("team_plan")
    result = run(["status", "--json"], key_env(sim))
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["windows"] == [] and data["has_windows"] is False
    assert data["blocking_window"] is None and data["tier"] == "pro"
    assert any("no quota windows" in w for w in data["warnings"])
    text = run(["status"], key_env(sim))
    assert text.returncode == 0
    assert "No quota windows" in text.stdout and " % " not in text.stdout


def test_status_text_words_credit_figures_and_peak(sim: PlatformSimulator) -> None:
    sim.set_scenario("credit_max")
    out = run(["status"], key_env(sim)).stdout
    assert "5,184 of 28,000 credits" in out and "18.5 %" in out
    assert ("Off-peak until" in out and "usage counts half" in out) or (
        "Peak until" in out and "(UTC+8 14:00-18:00): usage counts in full" in out
    )
