"""The tray's key child, against the session's real Secret Service: the first read runs
keyring's discovery and remembers the backend that held the key; later reads go straight to
it (the Secret Service through SecretStorage, without loading keyring), and a hint that is
wrong, unusable or keyless only sends the child back to discovery."""

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


# The child as the tray starts it, saying on stderr whether keyring was loaded.
CHILD = """
import sys
from glmtray import key_helper
code = key_helper.main(sys.argv[1:])
print("keyring loaded:", "keyring" in sys.modules, file=sys.stderr)
sys.exit(code)
"""


def child_env(cache: Path) -> dict[str, str]:
    env = {**os.environ, "XDG_CACHE_HOME": str(cache.parent)}
    env.pop("PYTHON_KEYRING_BACKEND", None)
    return env


def read(cache: Path, *, config_home: Path | None = None) -> dict[str, object]:
    """The child's answer, and in it "keyring loaded" (True or False)."""
    env = child_env(cache)
    if config_home is not None:
        env["XDG_CONFIG_HOME"] = str(config_home)
    done = subprocess.run(
        [sys.executable, "-c", CHILD, USERNAME], env=env, cwd=REPO, capture_output=True,
        text=True, timeout=60, check=True,
    )  # fmt: skip
    answer: dict[str, object] = json.loads(done.stdout)
    answer["keyring loaded"] = "keyring loaded: True" in done.stderr
    return answer


def keyring_config_file(config_home: Path) -> Path:
    return config_home / "python_keyring" / "keyringrc.cfg"


def test_discovery_is_remembered_and_used(cache: Path, tmp_path: Path) -> None:
    """The first read discovers, the next asks the Secret Service without keyring."""
    config_home = tmp_path / "config"
    hint = cache / BACKEND_HINT_FILE
    assert not hint.exists()
    first = read(cache, config_home=config_home)
    assert first["key"] == SIMULATOR_API_KEY
    assert first["keyring loaded"]
    assert hint.read_text().split("\n") == [
        "keyring.backends.SecretService.Keyring",
        str(keyring_config_file(config_home)),
    ]
    assert oct(hint.stat().st_mode & 0o777) == oct(0o600)
    second = read(cache, config_home=config_home)
    assert second["key"] == SIMULATOR_API_KEY
    assert not second["keyring loaded"]


def test_a_keyring_configuration_made_later_is_honoured(cache: Path, tmp_path: Path) -> None:
    """keyring's own file may choose another backend, collection or attribute scheme: once
    it exists, the child reads through keyring again."""
    config_home = tmp_path / "config"
    read(cache, config_home=config_home)
    config = keyring_config_file(config_home)
    config.parent.mkdir(parents=True)
    config.write_text("[backend]\ndefault-keyring=keyring.backends.SecretService.Keyring\n")
    answer = read(cache, config_home=config_home)
    assert answer["key"] == SIMULATOR_API_KEY
    assert answer["keyring loaded"]


def test_a_hint_from_an_older_glmtray_gains_its_second_line(cache: Path, tmp_path: Path) -> None:
    config_home = tmp_path / "config"
    cache.mkdir(parents=True)
    hint = cache / BACKEND_HINT_FILE
    hint.write_text("keyring.backends.SecretService.Keyring")
    assert read(cache, config_home=config_home)["keyring loaded"]
    assert hint.read_text().endswith("\n" + str(keyring_config_file(config_home)))
    assert not read(cache, config_home=config_home)["keyring loaded"]


def test_an_account_the_secret_service_lacks_goes_to_keyring(cache: Path) -> None:
    read(cache)
    env = child_env(cache)
    done = subprocess.run(
        [sys.executable, "-c", CHILD, "global:nobody-here"], env=env, cwd=REPO,
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert json.loads(done.stdout)["key"] is None
    assert "keyring loaded: True" in done.stderr


def test_the_tray_child_ends_without_teardown_once_it_has_answered(cache: Path) -> None:
    """`glmtray`'s own command line for the child (helper_command) answers and exits 0."""
    done = subprocess.run(
        helper_command([USERNAME]), env=child_env(cache), cwd=REPO, capture_output=True,
        text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0
    assert json.loads(done.stdout)["key"] == SIMULATOR_API_KEY


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
    hint = (cache / BACKEND_HINT_FILE).read_text()
    assert hint.split("\n")[0] == "keyring.backends.SecretService.Keyring"


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
