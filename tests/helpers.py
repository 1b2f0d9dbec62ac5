"""Helpers shared by tests: recorded platform bodies and an in-memory keyring."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError

DATA = Path(__file__).parent / "data"


def load_body(name: str) -> Any:
    return json.loads((DATA / "bodies" / name).read_text(encoding="utf-8"))


class MemoryKeyring(KeyringBackend):
    """The unit-test double for the OS keyring: keyring ships no in-memory backend."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.items.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.items[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if (service, username) not in self.items:
            raise PasswordDeleteError("not found")
        del self.items[(service, username)]
