"""What glmtray says in real use beyond the happy path: data kept through an outage that
outlived a window's reset, and the history command in a Chinese session."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from glmtray.catalogs import ensure_compiled
from glmtray.platform.models import QuotaWindow
from glmtray.report import reset_phrase
from glmtray.simulator import SIMULATOR_API_KEY, PlatformSimulator

NOW = datetime(2026, 12, 1, 19, 2, tzinfo=timezone.utc)


def test_a_reset_that_passed_during_an_outage_is_not_still_to_come() -> None:
    window = QuotaWindow(
        "five_hour", "TOKENS_LIMIT", 55.0, NOW - timedelta(minutes=2), unit=3, number=5
    )
    phrase = reset_phrase(window, NOW)
    print(phrase)
    assert "resets in" not in phrase, phrase


@pytest.fixture
def simulator() -> Iterator[PlatformSimulator]:
    with PlatformSimulator("pro") as sim:
        yield sim


def test_history_names_the_windows_in_the_session_s_language(
    simulator: PlatformSimulator, tmp_path: Path
) -> None:
    ensure_compiled()
    env = {
        **os.environ,
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "GLMTRAY_API_KEY": SIMULATOR_API_KEY,
        "GLMTRAY_BASE_URL": simulator.base_url,
        "LANGUAGE": "zh_CN",
    }

    def glmtray(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "glmtray", *args],
            capture_output=True, text=True, env=env, timeout=60, check=True,
        )  # fmt: skip
        return done.stdout

    glmtray("status")  # the reading the history shows
    shares = glmtray("history", "--span", "24h").split("\n\n")[1]
    print(shares)
    assert "5小时额度" in shares and "周额度" in shares
    assert "5-hour" not in shares and "Weekly" not in shares
