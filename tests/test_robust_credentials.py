"""Misbehaving keyring backends, in process and through the `glmtray` command: every one
ends in a CredentialError (or the non-ASCII key's AuthenticationFailed) with its exit code,
in bounded time, and the key appears nowhere."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from keyring.backend import KeyringBackend

from glmtray.credentials import Account, CredentialStore
from glmtray.errors import CredentialError, KeyringUnresponsive
from glmtray.platform.regions import Region
from glmtray.simulator import SIMULATOR_API_KEY, PlatformSimulator
from tests import file_keyring
from tests.test_cli import run

KEY = "0123456789abcdef0123456789abcdef.AbCdEfGhIjKlMnOp"


@pytest.mark.parametrize(
    ("backend", "words"),
    [
        (file_keyring.BytesKeyring(), "type bytes"),
        (file_keyring.IntKeyring(), "type int"),
        (file_keyring.DictKeyring(), "type dict"),
    ],
)
def test_a_value_that_is_not_text_is_a_credential_error(
    backend: KeyringBackend, words: str
) -> None:
    with pytest.raises(CredentialError) as caught:
        CredentialStore(backend).get(Account(Region.GLOBAL))
    assert words in caught.value.message and "not a key" in caught.value.message
    assert KEY not in caught.value.message and "not-a-string" not in caught.value.message


@pytest.mark.parametrize(
    "backend", [file_keyring.ExitingKeyring(), file_keyring.BaseErrorKeyring()]
)
def test_system_exit_and_other_base_exceptions_become_credential_errors(
    backend: KeyringBackend,
) -> None:
    store = CredentialStore(backend)
    with pytest.raises(CredentialError) as caught:
        store.get(Account(Region.GLOBAL))
    assert type(backend).__name__ in caught.value.backend
    with pytest.raises(CredentialError):
        store.set(Account(Region.GLOBAL), KEY)


def test_keyboard_interrupt_still_interrupts() -> None:
    class Interrupted(file_keyring.FileKeyring):
        def get_password(self, service: str, username: str) -> str | None:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        CredentialStore(Interrupted()).get(Account(Region.GLOBAL))


def test_bounded_wait_on_a_keyring_that_never_answers() -> None:
    store = CredentialStore(file_keyring.SleepingKeyring())
    started = time.monotonic()
    with pytest.raises(KeyringUnresponsive) as caught:
        store.bounded(lambda: store.get(Account(Region.GLOBAL)), seconds=0.5)
    assert 0.5 <= time.monotonic() - started < 2
    assert "did not answer within 0.5 s" in caught.value.message
    assert "SleepingKeyring" in caught.value.message and caught.value.exit_code == 1


def test_bounded_passes_results_and_errors_through() -> None:
    from tests.helpers import MemoryKeyring

    memory = MemoryKeyring()
    store = CredentialStore(memory)
    store.bounded(lambda: store.set(Account(Region.CHINA), KEY), seconds=5)
    assert store.bounded(lambda: store.get(Account(Region.CHINA)), seconds=5) == KEY
    exiting = CredentialStore(file_keyring.ExitingKeyring())
    with pytest.raises(CredentialError):
        exiting.bounded(lambda: exiting.get(Account(Region.CHINA)), seconds=5)


# -- the command line, with the backend chosen through PYTHON_KEYRING_BACKEND --------------


def keyring_env(name: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "PYTHON_KEYRING_BACKEND": f"tests.file_keyring.{name}",
        "GLMTRAY_TEST_KEYRING": str(tmp_path / "k.json"),
        "GLMTRAY_KEYRING_TIMEOUT": "1",
        **extra,
    }


@pytest.fixture(scope="module")
def sim() -> Iterator[PlatformSimulator]:
    with PlatformSimulator("pro") as simulator:
        yield simulator


@pytest.mark.parametrize(
    ("command", "stdin"),
    [(["status"], None), (["login"], SIMULATOR_API_KEY + "\n"), (["logout"], None)],
)
def test_cli_ends_when_the_keyring_never_answers(
    sim: PlatformSimulator, tmp_path: Path, command: list[str], stdin: str | None
) -> None:
    sim.set_scenario("pro")
    env = keyring_env("SleepingKeyring", tmp_path, GLMTRAY_BASE_URL=sim.base_url)
    started = time.monotonic()
    result = run(command, env, stdin=stdin)
    assert time.monotonic() - started < 8
    assert result.returncode == 1, result.stderr
    assert "Keyring not answering" in result.stderr and "within 1 s" in result.stderr
    assert "Traceback" not in result.stderr and SIMULATOR_API_KEY not in result.stderr


@pytest.mark.parametrize(
    "backend", ["ExitingKeyring", "BaseErrorKeyring", "BytesKeyring", "IntKeyring", "DictKeyring"]
)
def test_cli_status_with_a_broken_backend_is_a_keyring_error_not_no_plan(
    tmp_path: Path, backend: str
) -> None:
    result = run(["status", "--json"], keyring_env(backend, tmp_path))
    assert result.returncode == 1, result.stderr
    assert json.loads(result.stdout)["error"]["type"] == "CredentialError"
    assert "keyring" in result.stderr.lower() and "Traceback" not in result.stderr


def test_cli_status_with_a_non_ascii_stored_key(tmp_path: Path) -> None:
    result = run(["status"], keyring_env("NonAsciiKeyring", tmp_path))
    assert result.returncode == 2
    assert "API keys contain only ASCII characters" in result.stderr
    assert "codec" not in result.stderr and "\u2014" not in result.stderr


def test_cli_login_refuses_a_non_ascii_key_and_stores_nothing(
    sim: PlatformSimulator, tmp_path: Path
) -> None:
    env = keyring_env("FileKeyring", tmp_path, GLMTRAY_BASE_URL=sim.base_url)
    pasted = "0123456789abcdef\u00a00123456789abcdef.AbCdEfGhIjKlMnOp"  # no-break space
    result = run(["login"], env, stdin=pasted + "\n")
    assert result.returncode == 2, result.stderr
    assert not (tmp_path / "k.json").exists() and "Traceback" not in result.stderr
    quoted = "\u201c" + KEY + "\u201d"
    result = run(["login"], env, stdin=quoted + "\n")
    assert result.returncode == 2 and "only ASCII" in result.stderr
    assert KEY not in result.stderr + result.stdout
