"""The tray reads its key in a child process: same answers as reading it in-process, and
the tray itself never loads the keyring stack for it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from glmtray import key_helper
from glmtray.credentials import Account, ChildReadKeys
from glmtray.errors import CredentialError, KeyringLocked
from glmtray.key_helper import PendingRead
from glmtray.platform.regions import Region
from glmtray.settings import Settings, SettingsStore

REPO = Path(__file__).resolve().parents[1]
KEY = "0123456789abcdef0123456789abcdef.ChildReadKeyTest"
ACCOUNT = Account(Region.CHINA, "work")


@pytest.fixture
def file_keyring(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    store = tmp_path / "keyring.json"
    store.write_text(json.dumps({f"glmtray/{ACCOUNT.username}": KEY}))
    monkeypatch.setenv("GLMTRAY_TEST_KEYRING", str(store))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "tests.file_keyring.FileKeyring")
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    return store


def test_reads_the_stored_key_through_a_child(file_keyring: Path) -> None:
    assert ChildReadKeys().get(ACCOUNT) == KEY
    assert ChildReadKeys().get(Account(Region.GLOBAL)) is None


def test_the_reading_process_never_imports_the_keyring(file_keyring: Path) -> None:
    probe = (
        "import sys\n"
        "from glmtray.credentials import ChildReadKeys\n"
        "from glmtray.credentials import Account\n"
        "from glmtray.platform.regions import Region\n"
        "key = ChildReadKeys().get(Account(Region.CHINA, 'work'))\n"
        "print(len(key), sorted(m for m in sys.modules if m.split('.')[0] in "
        "('keyring', 'secretstorage', 'cryptography')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=REPO
    ).stdout
    assert out.strip() == f"{len(KEY)} []"


def test_a_locked_keyring_is_reported_as_locked(
    file_keyring: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "tests.file_keyring.LockedKeyring")
    with pytest.raises(KeyringLocked) as raised:
        ChildReadKeys().get(ACCOUNT)
    assert "locked" in raised.value.message
    assert raised.value.backend != "unknown"


def test_no_keyring_is_a_credential_error(
    file_keyring: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    with pytest.raises(CredentialError) as raised:
        ChildReadKeys().get(ACCOUNT)
    assert "No system keyring" in raised.value.message


def test_a_child_that_cannot_start_falls_back_to_reading_in_process(
    file_keyring: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        key_helper, "helper_command", lambda target, options=(): ["/nonexistent/python"]
    )
    assert ChildReadKeys().get(ACCOUNT) == KEY


def test_a_child_that_answers_nonsense_falls_back_to_reading_in_process(
    file_keyring: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        key_helper,
        "helper_command",
        lambda target, options=(): [sys.executable, "-c", "print('hello')"],
    )
    assert ChildReadKeys().get(ACCOUNT) == KEY


def test_a_session_only_key_needs_no_child(
    file_keyring: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        key_helper, "helper_command", lambda target, options=(): ["/nonexistent/python"]
    )
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    keys = ChildReadKeys()
    keys.set(ACCOUNT, "session-only-key-0123456789", session_only=True)
    assert keys.get(ACCOUNT) == "session-only-key-0123456789"


def test_the_key_travels_only_on_the_pipe(file_keyring: Path) -> None:
    """Not in the child's arguments or environment, and nothing but the answer on stdout."""
    command = key_helper.helper_command([ACCOUNT.username])
    assert all(KEY not in part for part in command)
    assert all(KEY not in value for value in os.environ.values())
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO, check=True)
    assert json.loads(done.stdout) == {"account": ACCOUNT.username, "key": KEY}
    assert KEY not in done.stderr


@pytest.fixture
def saved_account(file_keyring: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings that name ACCOUNT (china, "work"), where the child will look for them."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    SettingsStore().save(Settings(region=ACCOUNT.region, account_label=ACCOUNT.label))


def test_a_read_started_before_the_settings_load_finds_the_saved_account(
    saved_account: None,
) -> None:
    """The tray's first read, begun before its command line is parsed: the child looks up
    the account in the settings itself."""
    pending = PendingRead.saved_account()
    keys = ChildReadKeys(pending)
    assert keys.get(ACCOUNT) == KEY
    assert pending.process is not None and pending.process.returncode == 0


def test_a_saved_account_read_for_another_account_is_read_again(
    saved_account: None, file_keyring: Path
) -> None:
    """--region global, but the key asked for is china's (or the settings changed between):
    the early answer is for the wrong account, so the right one is read."""
    other = Account(Region.GLOBAL, ACCOUNT.label)
    pending = PendingRead.saved_account(Region.GLOBAL.value)
    assert ChildReadKeys(pending).get(ACCOUNT) == KEY
    assert ChildReadKeys(PendingRead.saved_account(Region.GLOBAL.value)).get(other) is None


def test_an_explicit_read_of_another_account_is_not_used(file_keyring: Path) -> None:
    pending = PendingRead(Account(Region.GLOBAL))
    assert ChildReadKeys(pending).get(ACCOUNT) == KEY
    assert pending.cancelled


def test_the_saved_account_read_honours_a_region_override(saved_account: None) -> None:
    command = key_helper.helper_command([key_helper.SAVED_ACCOUNT, "global"])
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO, check=True)
    assert json.loads(done.stdout) == {"account": "global:work", "key": None}
    done = subprocess.run(
        key_helper.helper_command([key_helper.SAVED_ACCOUNT, "mars"]),
        capture_output=True, text=True, cwd=REPO, check=True,
    )  # fmt: skip
    assert json.loads(done.stdout)["error"] == "CredentialError"
