"""A keyring backend for CLI subprocess tests: a JSON file named by GLMTRAY_TEST_KEYRING.

Test-only (selected through PYTHON_KEYRING_BACKEND): glmtray itself never stores a key
in a file. The subclasses misbehave the ways real backends have: never answering,
returning bytes, numbers or dicts, raising SystemExit or another BaseException.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError


class FileKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]

    @property
    def _path(self) -> Path:
        return Path(os.environ["GLMTRAY_TEST_KEYRING"])

    def _load(self) -> dict[str, str]:
        try:
            data: dict[str, str] = json.loads(self._path.read_text())
            return data
        except FileNotFoundError:
            return {}

    def get_password(self, service: str, username: str) -> str | None:
        return self._load().get(f"{service}/{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        data = self._load()
        data[f"{service}/{username}"] = password
        self._path.write_text(json.dumps(data))

    def delete_password(self, service: str, username: str) -> None:
        data = self._load()
        if data.pop(f"{service}/{username}", None) is None:
            raise PasswordDeleteError("not found")
        self._path.write_text(json.dumps(data))


class SleepingKeyring(FileKeyring):
    """A keyring that never answers, like an unlock prompt on a screen nobody watches."""

    def get_password(self, service: str, username: str) -> str | None:
        threading.Event().wait()
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        threading.Event().wait()

    def delete_password(self, service: str, username: str) -> None:
        threading.Event().wait()


class BytesKeyring(FileKeyring):
    def get_password(self, service: str, username: str) -> str | None:
        return b"0123456789abcdef0123456789abcdef.AbCdEfGhIjKlMnOp"  # type: ignore[return-value]


class IntKeyring(FileKeyring):
    def get_password(self, service: str, username: str) -> str | None:
        return 12345678  # type: ignore[return-value]


class DictKeyring(FileKeyring):
    def get_password(self, service: str, username: str) -> str | None:
        return {"password": "not-a-string"}  # type: ignore[return-value]


class ExitingKeyring(FileKeyring):
    """A backend that calls sys.exit(3): exit code 3 once read as "no coding plan"."""

    def get_password(self, service: str, username: str) -> str | None:
        raise SystemExit(3)

    def set_password(self, service: str, username: str, password: str) -> None:
        raise SystemExit(3)

    def delete_password(self, service: str, username: str) -> None:
        raise SystemExit(3)


class OddBaseError(BaseException):
    """Neither Exception nor KeyboardInterrupt."""


class BaseErrorKeyring(FileKeyring):
    def get_password(self, service: str, username: str) -> str | None:
        raise OddBaseError("secret service went away")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise OddBaseError("secret service went away")


class NonAsciiKeyring(FileKeyring):
    """Holds a key pasted with a typographic dash."""

    def get_password(self, service: str, username: str) -> str | None:
        return "0123456789abcdef0123456789abcdef.AbCdEfGh\u2014jKlMnOp"


class LockedException(Exception):
    """Named like secretstorage's: a collection that stays locked (prompt dismissed)."""


class LockedKeyring(FileKeyring):
    def get_password(self, service: str, username: str) -> str | None:
        raise LockedException("Failed to unlock the collection!")
