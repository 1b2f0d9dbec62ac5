"""What glmtray has learned about each account, kept between runs. Never the key.

Today that is how the platform wants the key sent (raw or as a Bearer token): without it,
the first request after every start would be refused once and sent again. It is runtime
state, kept apart from the user's settings, in one small JSON file written atomically.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
from pathlib import Path

from glmtray.credentials import Account
from glmtray.platform.client import AuthScheme

log = logging.getLogger(__name__)


class AccountMemory:
    """Per-account facts; `path` None keeps them in memory only (the demo, tests)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._accounts: dict[str, dict[str, str]] = self._read()

    def _read(self) -> dict[str, dict[str, str]]:
        if self.path is None:
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, RecursionError) as error:
            # Only a cache of what the platform answered: relearned at the next request.
            log.warning("account memory unreadable (%s); starting afresh", type(error).__name__)
            return {}
        if not isinstance(data, dict):
            return {}
        return {
            str(name): {str(k): str(v) for k, v in facts.items() if isinstance(v, str)}
            for name, facts in data.items()
            if isinstance(facts, dict)
        }

    def auth_scheme(self, account: Account) -> AuthScheme | None:
        with self._lock:
            value = self._accounts.get(account.username, {}).get("auth_scheme")
        try:
            return AuthScheme(value) if value else None
        except ValueError:
            return None

    def remember_auth_scheme(self, account: Account, scheme: AuthScheme) -> None:
        with self._lock:
            facts = self._accounts.setdefault(account.username, {})
            if facts.get("auth_scheme") == scheme.value:
                return
            facts["auth_scheme"] = scheme.value
            self._write()

    def _write(self) -> None:
        if self.path is None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle, temp = tempfile.mkstemp(dir=self.path.parent, prefix=".accounts-")
            with os.fdopen(handle, "w", encoding="utf-8") as file:
                json.dump(self._accounts, file, indent=2, sort_keys=True)
            os.replace(temp, self.path)
        except OSError as error:  # remembered in memory for this run all the same
            log.warning("account memory not saved: %s", error.strerror or type(error).__name__)
