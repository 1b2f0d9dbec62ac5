"""The tray's key child, against the session's real Secret Service: the first read runs
keyring's discovery and remembers the backend that held the key; later reads go straight to
it, and a hint that is wrong, unusable or keyless only sends the child back to discovery."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from glmtray.key_helper import BACKEND_HINT_FILE, helper_command
from glmtray.simulator import SIMULATOR_API_KEY

from .conftest import USERNAME

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def cache(tmp_path: Path, stored_key: None) -> Iterator[Path]:
    yield tmp_path / "cache" / "glmtray"


def read(cache: Path) -> dict[str, object]:
    env = {**os.environ, "XDG_CACHE_HOME": str(cache.parent)}
    env.pop("PYTHON_KEYRING_BACKEND", None)
    done = subprocess.run(
        helper_command([USERNAME]), env=env, cwd=REPO, capture_output=True, text=True,
        timeout=60, check=True,
    )  # fmt: skip
    answer: dict[str, object] = json.loads(done.stdout)
    return answer


def test_discovery_is_remembered_and_used(cache: Path) -> None:
    hint = cache / BACKEND_HINT_FILE
    assert not hint.exists()
    assert read(cache)["key"] == SIMULATOR_API_KEY
    assert hint.read_text() == "keyring.backends.SecretService.Keyring"
    assert oct(hint.stat().st_mode & 0o777) == oct(0o600)
    assert read(cache)["key"] == SIMULATOR_API_KEY


@pytest.mark.parametrize(
    "wrong",
    [
        "keyring.backends.fail.Keyring",  # loads, but holds no key
        "keyring.backends.NoSuchBackend.Keyring",  # cannot load
        "os.system",  # not one of keyring's: never loaded
        "",
    ],
)
def test_a_wrong_hint_falls_back_to_discovery(cache: Path, wrong: str) -> None:
    cache.mkdir(parents=True)
    (cache / BACKEND_HINT_FILE).write_text(wrong)
    assert read(cache)["key"] == SIMULATOR_API_KEY
    assert (cache / BACKEND_HINT_FILE).read_text() == "keyring.backends.SecretService.Keyring"


def test_no_key_leaves_no_hint(tmp_path: Path) -> None:
    """Signed out (no stored key for this account): nothing to remember."""
    cache = tmp_path / "cache" / "glmtray"
    env = {**os.environ, "XDG_CACHE_HOME": str(cache.parent)}
    env.pop("PYTHON_KEYRING_BACKEND", None)
    done = subprocess.run(
        [sys.executable, "-m", "glmtray.key_helper", "global:nobody-here"],
        env=env, cwd=REPO, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert json.loads(done.stdout)["key"] is None
    assert not (cache / BACKEND_HINT_FILE).exists()
