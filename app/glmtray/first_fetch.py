"""The first look at the platform, started before the desktop toolkit loads.

Loading Qt and building the tray takes about as long as reading the key from the keyring,
making the HTTPS client and fetching the first quota. Done one after the other, the icon
shows data only after both; started on a thread of its own as the process begins, the
platform work runs while Qt loads, and the platform service takes over its result (the
client and the first data) instead of doing it again.

The key stays where the worker would keep it: inside the client. Nothing here is Qt.
"""

from __future__ import annotations

import locale
import logging
import os
import threading
from dataclasses import dataclass

from glmtray.credentials import Account
from glmtray.environment import Environment
from glmtray.errors import CredentialError, GlmtrayError, UnexpectedResponse
from glmtray.platform.client import PlatformClient
from glmtray.platform.models import Snapshot
from glmtray.platform.tls import prepare_connections
from glmtray.settings import saved_language

log = logging.getLogger(__name__)


def preferred_language() -> str:
    """The user's language for the platform's messages (Accept-Language): the language
    chosen in Settings, else as the desktop session says it (LANGUAGE, LC_ALL, LC_MESSAGES
    or LANG), else the system locale, else English."""
    chosen = saved_language()
    if chosen != "system":
        return chosen[:2].lower()
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name, "").split(":")[0]
        if value and value not in ("C", "POSIX") and not value.startswith("C."):
            return value[:2].lower()
    system = locale.getlocale()[0] or ""
    return system[:2].lower() if system[:2].isalpha() else "en"


@dataclass
class Opening:
    """What the first look found. Exactly one of: `key_error` (the keyring failed), no key
    at all (`client` None, no error), or a client with its first `snapshot` or `error`."""

    account: Account
    client: PlatformClient | None = None
    snapshot: Snapshot | None = None
    error: GlmtrayError | None = None
    key_error: CredentialError | None = None


def open_account(environment: Environment, account: Account, language: str) -> Opening:
    """Read the account's key, make its client and fetch once (quota, subscription, risk)."""
    try:
        key = environment.keys.get(account)
    except CredentialError as error:
        return Opening(account, key_error=error)
    if not key:
        return Opening(account)
    return connect(environment, account, key, language)


def connect(environment: Environment, account: Account, key: str, language: str) -> Opening:
    """Make the account's client with `key` and fetch once: the fetch is also the key's
    check (sent raw or as a Bearer token, as remembered for the account)."""
    memory = environment.account_memory
    try:
        client = PlatformClient(
            key,
            account.region,
            base_url=environment.base_url,
            auth_scheme=memory.auth_scheme(account),
            language=language,
            on_auth_scheme=lambda scheme: memory.remember_auth_scheme(account, scheme),
        )
    except GlmtrayError as error:  # a stored key that cannot even be sent
        return Opening(account, error=error)
    try:
        return Opening(account, client, snapshot=client.snapshot())
    except GlmtrayError as error:
        return Opening(account, client, error=error)
    except Exception as error:  # a bug must not leave the start hanging
        log.exception("first fetch failed unexpectedly")
        return Opening(account, client, error=UnexpectedResponse(detail=type(error).__name__))


class FirstFetch:
    """`open_account` on a thread, started at once; `take` hands its result over once."""

    def __init__(self, environment: Environment, account: Account, language: str) -> None:
        self.account = account
        self._opening: Opening | None = None
        self._done = threading.Event()
        self._taken = False
        self._thread = threading.Thread(
            target=self._run, args=(environment, account, language), name="glmtray-first-fetch",
            daemon=True,
        )  # fmt: skip
        self._thread.start()

    def _run(self, environment: Environment, account: Account, language: str) -> None:
        try:
            # While the key is being read (in a child process, see key_helper.py): what the
            # client will need, so the fetch can start as the key comes.
            prepare_connections()
            self._opening = open_account(environment, account, language)
        finally:
            self._done.set()

    def take(self, account: Account, timeout: float) -> Opening | None:
        """The result for `account`, once; None for another account, a second call, or when
        it is not there within `timeout` (the caller then does the work itself)."""
        if self._taken or account != self.account or not self._done.wait(timeout):
            return None
        self._taken = True
        return self._opening
