"""What glmtray has learned about each account, kept between runs. Never the key.

How the platform wants the key sent (raw or as a Bearer token): without it, the first
request after every start would be refused once and sent again. And which notifications
were already shown, so a restart does not announce "Weekly limit reached" again. It is
runtime state, kept apart from the user's settings, in one small JSON file written
atomically.
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

from glmtray.atomic_file import replace_file
from glmtray.credentials import Account
from glmtray.platform.auth import AuthScheme

log = logging.getLogger(__name__)

FILE_NAME = "accounts.json"

SENT_KEPT = 300
"""Notification keys remembered per account: each names its own period or episode, so old
ones never match again; this only bounds the file."""


class AccountMemory:
    """Per-account facts; `path` None keeps them in memory only (the demo, tests)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._accounts: dict[str, dict[str, str]] = self._read()
        self._sent: dict[str, list[str]] = self._read_sent()

    @classmethod
    def default(cls) -> AccountMemory:
        """The user's, in the data folder."""
        from glmtray.settings import data_dir

        return cls(data_dir() / FILE_NAME)

    def _load(self) -> dict[str, object]:
        if self.path is None:
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, RecursionError) as error:
            # Only what the platform answered and what was shown: relearned as it goes.
            log.warning("account memory unreadable (%s); starting afresh", type(error).__name__)
            return {}
        return data if isinstance(data, dict) else {}

    def _read(self) -> dict[str, dict[str, str]]:
        data = self._load()
        return {
            str(name): {str(k): str(v) for k, v in facts.items() if isinstance(v, str)}
            for name, facts in data.items()
            if isinstance(facts, dict)
        }

    def _read_sent(self) -> dict[str, list[str]]:
        data = self._load()
        return {
            str(name): [str(key) for key in facts["notifications_sent"] if isinstance(key, str)]
            for name, facts in data.items()
            if isinstance(facts, dict) and isinstance(facts.get("notifications_sent"), list)
        }

    def sent_notifications(self, account: Account) -> set[str]:
        with self._lock:
            return set(self._sent.get(account.username, []))

    def remember_sent(self, account: Account, keys: set[str]) -> None:
        """Keep the account's shown notifications (the newest SENT_KEPT)."""
        with self._lock:
            known = self._sent.get(account.username, [])
            if set(known) == keys:
                return
            kept = [key for key in known if key in keys]
            kept += sorted(keys - set(kept))
            self._sent[account.username] = kept[-SENT_KEPT:]
            self._write()

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
        names = set(self._accounts) | set(self._sent)
        data: dict[str, dict[str, object]] = {
            name: {**self._accounts.get(name, {}), "notifications_sent": self._sent.get(name, [])}
            for name in sorted(names)
        }
        try:
            replace_file(self.path, json.dumps(data, indent=2, sort_keys=True).encode("utf-8"))
        except OSError as error:  # remembered in memory for this run all the same
            log.warning("account memory not saved: %s", error.strerror or type(error).__name__)
