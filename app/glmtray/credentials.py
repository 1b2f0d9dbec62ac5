"""The API key's only home: the OS keyring, or memory when the user asks for "this session only".

Every keyring failure (no backend, a locked collection, a dismissed prompt, a D-Bus error)
becomes one CredentialError that names the backend, so the UI can offer the session-only
choice instead of crashing. The key is never written anywhere else.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from glmtray import key_helper
from glmtray.errors import CredentialError, GlmtrayError, KeyringLocked, KeyringUnresponsive
from glmtray.i18n import N_, localized
from glmtray.platform.regions import Region
from glmtray.redact import register_secret

if TYPE_CHECKING:
    from glmtray.first_fetch import FirstLook
    from glmtray.key_helper import PendingRead

log = logging.getLogger(__name__)

_FAILED_ACTIONS = {
    "read": N_("The system keyring ({backend}) could not read the key ({reason})."),
    "store": N_("The system keyring ({backend}) could not store the key ({reason})."),
    "remove": N_("The system keyring ({backend}) could not remove the key ({reason})."),
    "use": N_("The system keyring ({backend}) could not use the key ({reason})."),
}
"""A keyring failure said whole for each thing glmtray asked of it."""

SERVICE_NAME = key_helper.KEYRING_SERVICE
ENV_KEYRING_TIMEOUT = "GLMTRAY_KEYRING_TIMEOUT"
DEFAULT_KEYRING_TIMEOUT = 10.0
"""Seconds the CLI waits for the keyring: long enough for an unlock prompt to be answered."""
T = TypeVar("T")


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
            except KeyboardInterrupt:
                raise
            except BaseException as error:  # a backend's import can even call sys.exit
                raise CredentialError(
                    localized(
                        "No system keyring could be loaded ({error}).", error=type(error).__name__
                    ),
                    backend="none",
                ) from None
        return self._backend

    @property
    def backend_class_name(self) -> str:
        """The loaded backend's class, fully qualified ("" when none could be loaded)."""
        try:
            backend = self._keyring()
        except CredentialError:
            return ""
        return f"{type(backend).__module__}.{type(backend).__qualname__}"

    @property
    def backend_name(self) -> str:
        try:
            return _backend_name(self._keyring())
        except CredentialError:
            return "none"

    def _fail(self, action: str, error: BaseException) -> CredentialError:
        backend = self.backend_name
        reason = type(error).__name__
        try:
            said = str(error)
        except Exception:  # an exception whose text itself fails
            said = ""
        if "fail" in backend.lower() or reason == "NoKeyringError":
            message = localized(
                "No system keyring is available. On Linux, install and start a Secret "
                "Service provider such as GNOME Keyring or KWallet."
            )
        elif any(word in f"{reason} {said}".lower() for word in ("locked", "dismissed")):
            log.warning("keyring %s failed: backend=%s error=%s", action, backend, reason)
            return KeyringLocked(
                localized(
                    "The system keyring ({backend}) is locked. Unlock it (for example by "
                    "logging in again) and try again, or use the key for this session only.",
                    backend=backend,
                ),
                backend=backend,
            )
        else:
            message = localized(_FAILED_ACTIONS[action], backend=backend, reason=reason)
        log.warning("keyring %s failed: backend=%s error=%s", action, backend, reason)
        return CredentialError(message, backend=backend)

    def get(self, account: Account) -> str | None:
        """The key for this account: session memory first, then the keyring."""
        with self._lock:
            if account in self._session:
                return self._session[account]
        try:
            key: object = self._keyring().get_password(SERVICE_NAME, account.username)
        except CredentialError:
            raise
        except KeyboardInterrupt:
            raise
        except BaseException as error:  # SystemExit from a backend is a keyring failure too
            raise self._fail("read", error) from None
        if key is None or key == "":
            return None
        if not isinstance(key, str):
            backend = self.backend_name
            log.warning("keyring read returned %s: backend=%s", type(key).__name__, backend)
            raise CredentialError(
                localized(
                    "The system keyring ({backend}) returned something that is not a key "
                    "(a value of type {kind}). Sign in again to replace it.",
                    backend=backend,
                    kind=type(key).__name__,
                ),
                backend=backend,
            )
        register_secret(key)
        return key

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
        except KeyboardInterrupt:
            raise
        except BaseException as error:
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
        except KeyboardInterrupt:
            raise
        except BaseException as error:
            # PasswordDeleteError just means there was nothing stored.
            if type(error).__name__ != "PasswordDeleteError" and not removed:
                raise self._fail("remove", error) from None
        return removed

    def bounded(self, call: Callable[[], T], seconds: float | None = None) -> T:
        """Run a keyring call in a daemon thread and wait at most `seconds` for it.

        A keyring can wait forever (an unlock prompt on a display nobody looks at, a D-Bus
        service that never answers); the command line must end anyway. The thread is left
        to finish or die with the process: nothing can stop a call blocked in a library.
        """
        wait = keyring_timeout() if seconds is None else seconds
        outcome: list[T] = []
        failure: list[BaseException] = []

        def run() -> None:
            try:
                outcome.append(call())
            except BaseException as error:  # handed to the caller, whatever it is
                failure.append(error)

        worker = threading.Thread(target=run, name="glmtray-keyring", daemon=True)
        worker.start()
        worker.join(wait)
        if worker.is_alive():
            backend = _backend_name(self._backend) if self._backend is not None else "default"
            log.warning("keyring did not answer within %gs: backend=%s", wait, backend)
            waited = f"{wait:g}"
            raise KeyringUnresponsive(
                localized(
                    "The system keyring ({backend}) did not answer within {seconds} s. It may "
                    "be waiting for an unlock prompt: unlock it and try again, or set "
                    "GLMTRAY_API_KEY for this command.",
                    backend=backend,
                    seconds=waited,
                ),
                backend=backend,
            )
        if failure:
            error = failure[0]
            if isinstance(error, (GlmtrayError, KeyboardInterrupt)):
                raise error
            raise self._fail("use", error) from None
        return outcome[0]

    def cancel_reads(self) -> None:
        """Nothing to end here: an in-process read cannot be cut short (the tray reads
        through `ChildReadKeys`, whose reads can)."""

    def take_first_look(self, account: Account) -> FirstLook | None:
        return None  # only a child that read the key takes a first look with it

    def session_key(self, account: Account) -> str | None:
        """The key kept for this session only, if any (never the keyring's)."""
        with self._lock:
            return self._session.get(account)

    def is_session_only(self, account: Account) -> bool:
        with self._lock:
            return account in self._session


def keyring_timeout() -> float:
    """The CLI's wait for the keyring, from GLMTRAY_KEYRING_TIMEOUT (for tests) or 10 s."""
    try:
        seconds = float(os.environ.get(ENV_KEYRING_TIMEOUT, ""))
    except ValueError:
        return DEFAULT_KEYRING_TIMEOUT
    return seconds if 0 < seconds < 3600 else DEFAULT_KEYRING_TIMEOUT


class ChildReadKeys(CredentialStore):
    """The OS keyring, read through a child process (`glmtray.key_helper`); storing and
    removing stay in-process.

    `pending` is a read started before this store existed (at the very start of the tray);
    it answers the first `get` of its account."""

    def __init__(self, pending: PendingRead | None = None) -> None:
        super().__init__()
        self._pending = pending
        self._reads: set[PendingRead] = set()
        self._reads_lock = threading.Lock()
        self._cancelled = False
        self._first_looks: dict[Account, object] = {}
        """What the child answered beside each account's key: its first fetch, still as
        text (decoded only when taken, by first_fetch.py)."""

    def cancel_reads(self) -> None:
        """End every read under way and refuse new ones, from any thread: a quitting tray
        must not wait for a keyring that waits for its unlock prompt (the worker thread
        blocked in `get` gets KeyringUnresponsive at once)."""
        with self._reads_lock:
            self._cancelled = True
            reads, self._reads = set(self._reads), set()
            pending, self._pending = self._pending, None
        for read in (*reads, *([pending] if pending is not None else [])):
            read.cancel()

    def get(self, account: Account) -> str | None:
        session_key = self.session_key(account)
        if session_key is not None:
            return session_key
        answer = self._child_answer(account)
        if answer is None:
            return super().get(account)  # no child to trust: read it here, as before
        if "error" in answer:
            error = key_helper.answered_error(answer)
            # The child's own log went nowhere: say it here, as an in-process read would.
            log.warning(
                "keyring read failed: backend=%s error=%s", error.backend, type(error).__name__
            )
            raise error
        key = answer.get("key")
        if not isinstance(key, str) or not key:
            return None
        register_secret(key)
        if "first_look" in answer:
            with self._reads_lock:
                self._first_looks[account] = answer["first_look"]
        return key

    def take_first_look(self, account: Account) -> FirstLook | None:
        with self._reads_lock:
            text = self._first_looks.pop(account, None)
        if text is None:
            return None
        from glmtray.first_fetch import decode_first_look

        return decode_first_look(text)

    def _child_answer(self, account: Account) -> dict[str, object] | None:
        """The answer of the read started first (when it can serve `account`), else of a new
        one; a saved-account read that found another account is read again."""
        with self._reads_lock:
            if self._cancelled:
                raise key_helper.unresponsive()
            pending, self._pending = self._pending, None
        if pending is not None and not pending.may_serve(account):
            pending.cancel()
            pending = None
        answer = self._wait(pending) if pending is not None else None
        if pending is None or (answer is not None and not pending.answered_for(account, answer)):
            with self._reads_lock:
                if self._cancelled:
                    raise key_helper.unresponsive()
            answer = self._wait(key_helper.PendingRead(account))
        return answer

    def _wait(self, read: PendingRead) -> dict[str, object] | None:
        with self._reads_lock:
            self._reads.add(read)
        try:
            return read.answer()
        finally:
            with self._reads_lock:
                self._reads.discard(read)
