"""The API key's only home: the OS keyring, or memory when the user asks for "this session only".

Every keyring failure (no backend, a locked collection, a dismissed prompt, a D-Bus error)
becomes one CredentialError that names the backend, so the UI can offer the session-only
choice instead of crashing. The key is never written anywhere else.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

from glmtray.errors import CredentialError, KeyringLocked
from glmtray.platform.regions import Region
from glmtray.redact import register_secret

log = logging.getLogger(__name__)

SERVICE_NAME = "glmtray"


@dataclass(frozen=True)
class Account:
    """One stored key: a region plus a label, so several accounts can coexist."""

    region: Region
    label: str = "default"

    @property
    def username(self) -> str:
        return f"{self.region.value}:{self.label}"


def _backend_name(backend: Any) -> str:
    cls = type(backend)
    name = getattr(backend, "name", None)
    if isinstance(name, str) and name:
        return name
    return f"{cls.__module__}.{cls.__name__}"


class CredentialStore:
    def __init__(self, backend: Any | None = None) -> None:
        """`backend` is a keyring backend object; None means keyring's default, loaded lazily
        (loading it can talk to D-Bus, which should not happen at import time)."""
        self._backend = backend
        self._session: dict[Account, str] = {}
        self._lock = threading.Lock()

    def _keyring(self) -> Any:
        if self._backend is None:
            try:
                import keyring

                self._backend = keyring.get_keyring()
            except Exception as error:
                raise CredentialError(
                    f"No system keyring could be loaded ({type(error).__name__}).",
                    backend="none",
                ) from None
        return self._backend

    @property
    def backend_name(self) -> str:
        try:
            return _backend_name(self._keyring())
        except CredentialError:
            return "none"

    def _fail(self, action: str, error: BaseException) -> CredentialError:
        backend = self.backend_name
        reason = type(error).__name__
        if "fail" in backend.lower() or reason == "NoKeyringError":
            message = (
                "No system keyring is available. On Linux, install and start a Secret "
                "Service provider such as GNOME Keyring or KWallet."
            )
        elif any(word in f"{reason} {error}".lower() for word in ("locked", "dismissed")):
            log.warning("keyring %s failed: backend=%s error=%s", action, backend, reason)
            return KeyringLocked(
                f"The system keyring ({backend}) is locked. Unlock it (for example by logging "
                "in again) and try again, or use the key for this session only.",
                backend=backend,
            )
        else:
            message = f"The system keyring ({backend}) could not {action} the key ({reason})."
        log.warning("keyring %s failed: backend=%s error=%s", action, backend, reason)
        return CredentialError(message, backend=backend)

    def get(self, account: Account) -> str | None:
        """The key for this account: session memory first, then the keyring."""
        with self._lock:
            if account in self._session:
                return self._session[account]
        try:
            key = self._keyring().get_password(SERVICE_NAME, account.username)
        except CredentialError:
            raise
        except Exception as error:
            raise self._fail("read", error) from None
        if key:
            register_secret(key)
        return key or None

    def set(self, account: Account, key: str, *, session_only: bool = False) -> None:
        register_secret(key)
        if session_only:
            with self._lock:
                self._session[account] = key
            return
        try:
            self._keyring().set_password(SERVICE_NAME, account.username, key)
        except CredentialError:
            raise
        except Exception as error:
            raise self._fail("store", error) from None
        with self._lock:
            self._session.pop(account, None)

    def delete(self, account: Account) -> bool:
        """Forget the key everywhere. True if something was removed."""
        with self._lock:
            removed = self._session.pop(account, None) is not None
        try:
            self._keyring().delete_password(SERVICE_NAME, account.username)
            removed = True
        except CredentialError:
            if not removed:
                raise
        except Exception as error:
            # PasswordDeleteError just means there was nothing stored.
            if type(error).__name__ != "PasswordDeleteError" and not removed:
                raise self._fail("remove", error) from None
        return removed

    def is_session_only(self, account: Account) -> bool:
        with self._lock:
            return account in self._session
