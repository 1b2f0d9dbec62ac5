"""The `glmtray` command with broken surroundings: a damaged settings file, input that is
not text, absurd options. One clear line on stderr and an exit code, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from glmtray.simulator import SIMULATOR_API_KEY, PlatformSimulator
from tests.test_cli import ROOT, run


@pytest.fixture(scope="module")
def sim() -> Iterator[PlatformSimulator]:
    with PlatformSimulator("pro") as simulator:
        yield simulator


def test_a_damaged_settings_file_is_reported_once_and_status_still_works(
    sim: PlatformSimulator,
) -> None:
    folder = Path(os.environ["XDG_CONFIG_HOME"]) / "glmtray"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "settings.json").write_bytes(b'{"region": "china", "refresh_seconds": NaN}')
    result = run(
        ["status"], {"GLMTRAY_API_KEY": SIMULATOR_API_KEY, "GLMTRAY_BASE_URL": sim.base_url}
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("reset to defaults") == 1 and "settings.json.corrupt-" in (
        result.stderr
    )
    assert len(list(folder.glob("settings.json.corrupt-*"))) == 1


def test_login_with_input_that_is_not_text(sim: PlatformSimulator, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "PYTHON_KEYRING_BACKEND": "tests.file_keyring.FileKeyring",
        "GLMTRAY_TEST_KEYRING": str(tmp_path / "k.json"),
        "GLMTRAY_BASE_URL": sim.base_url,
        "PYTHONIOENCODING": "utf-8",
    }
    result = subprocess.run(
        [sys.executable, "-m", "glmtray", "login"],
        input=b"\xff\xfe\x00garbage\n",
        capture_output=True,
        env=env,
        timeout=60,
    )
    stderr = result.stderr.decode("utf-8", "replace")
    assert result.returncode == 2, stderr
    assert "only ASCII characters" in stderr and "Traceback" not in stderr
    assert not (tmp_path / "k.json").exists()


def test_login_with_no_input_at_all(sim: PlatformSimulator, tmp_path: Path) -> None:
    env = {
        "PYTHON_KEYRING_BACKEND": "tests.file_keyring.FileKeyring",
        "GLMTRAY_TEST_KEYRING": str(tmp_path / "k.json"),
        "GLMTRAY_BASE_URL": sim.base_url,
    }
    result = run(["login"], env, stdin="")
    assert result.returncode == 1 and "no key given" in result.stderr


@pytest.mark.parametrize("timeout", ["nan", "inf", "-1", "0"])
def test_absurd_timeouts_are_usage_errors(timeout: str) -> None:
    result = run(["status", "--timeout", timeout], {"GLMTRAY_API_KEY": SIMULATOR_API_KEY})
    assert result.returncode == 1 and "--timeout" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_base_url_with_an_impossible_port(sim: PlatformSimulator) -> None:
    result = run(
        ["status", "--timeout", "2"],
        {"GLMTRAY_API_KEY": SIMULATOR_API_KEY, "GLMTRAY_BASE_URL": "http://127.0.0.1:99999"},
    )
    assert result.returncode in (1, 4) and result.stderr.startswith("glmtray: ")
    assert "Traceback" not in result.stderr and SIMULATOR_API_KEY not in result.stderr


def test_a_platform_call_that_never_returns_is_cut_off() -> None:
    """What a name lookup stuck in the resolver looks like to the CLI: a call that
    ignores every timeout."""
    import threading
    import time

    from glmtray.cli import _bounded
    from glmtray.errors import PlatformUnavailable

    started = time.monotonic()
    with pytest.raises(PlatformUnavailable) as caught:
        _bounded(lambda: threading.Event().wait(), 0.5)
    assert time.monotonic() - started < 1.5 and caught.value.exit_code == 4
    assert _bounded(lambda: 42, 5) == 42
    with pytest.raises(ValueError):
        _bounded(lambda: int("x"), 5)
