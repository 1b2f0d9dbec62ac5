from __future__ import annotations

import logging

import pytest
from keyring.backends import fail

from glmtray.credentials import SERVICE_NAME, Account, CredentialStore
from glmtray.errors import CredentialError
from glmtray.platform.regions import Region
from tests.helpers import MemoryKeyring

KEY = "0123456789abcdef0123456789abcdef.AbCdEfGhIjKlMnOp"


class LockedKeyring(MemoryKeyring):
    """Behaves like a locked gnome-keyring collection: every call fails at once."""

    def get_password(self, service: str, username: str) -> str | None:
        raise RuntimeError("Failed to unlock the collection: Prompt dismissed")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise RuntimeError("Failed to unlock the collection: Prompt dismissed")

    def delete_password(self, service: str, username: str) -> None:
        raise RuntimeError("Failed to unlock the collection: Prompt dismissed")


def test_round_trip_per_account(memory_keyring: MemoryKeyring) -> None:
    store = CredentialStore(memory_keyring)
    global_account, china_account = Account(Region.GLOBAL), Account(Region.CHINA, "work")
    store.set(global_account, KEY)
    assert memory_keyring.items == {(SERVICE_NAME, "global:default"): KEY}
    assert store.get(global_account) == KEY
    assert store.get(china_account) is None
    assert store.delete(global_account) is True
    assert store.get(global_account) is None
    assert store.delete(global_account) is False


def test_session_only_key_never_reaches_the_keyring(memory_keyring: MemoryKeyring) -> None:
    store = CredentialStore(memory_keyring)
    account = Account(Region.CHINA)
    store.set(account, KEY, session_only=True)
    assert memory_keyring.items == {}
    assert store.get(account) == KEY and store.is_session_only(account)
    assert store.delete(account) is True
    assert store.get(account) is None


def test_session_only_works_with_a_broken_keyring() -> None:
    store = CredentialStore(LockedKeyring())
    account = Account(Region.GLOBAL)
    store.set(account, KEY, session_only=True)
    assert store.get(account) == KEY
    assert store.delete(account) is True


def test_locked_keyring_gives_a_clear_error_without_the_key(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = CredentialStore(LockedKeyring())
    with caplog.at_level(logging.DEBUG), pytest.raises(CredentialError) as caught:
        store.set(Account(Region.GLOBAL), KEY)
    error = caught.value
    assert "locked" in error.message.lower()
    assert "LockedKeyring" in error.backend
    assert KEY not in str(error) and KEY not in caplog.text
    with pytest.raises(CredentialError):
        store.get(Account(Region.GLOBAL))


def test_missing_backend_names_the_fail_keyring() -> None:
    store = CredentialStore(fail.Keyring())
    with pytest.raises(CredentialError) as caught:
        store.get(Account(Region.GLOBAL))
    assert "No system keyring" in caught.value.message
    assert caught.value.backend != "unknown"


def test_default_backend_failure_is_wrapped(monkeypatch: pytest.MonkeyPatch) -> None:
    import keyring

    def broken() -> object:
        raise RuntimeError("D-Bus not reachable")

    monkeypatch.setattr(keyring, "get_keyring", broken)
    with pytest.raises(CredentialError) as caught:
        CredentialStore().get(Account(Region.GLOBAL))
    assert caught.value.backend == "none"
