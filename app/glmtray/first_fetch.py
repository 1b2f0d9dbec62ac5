"""The first look at the platform, started before the desktop toolkit loads.

Loading Qt and building the tray takes about as long as reading the key from the keyring,
making the HTTPS client and fetching the first quota. Done one after the other, the icon
would show data only after both. So the child process that reads the key
(`key_helper.py`) takes the first look itself, on the other core, while this process loads
Qt: it has the key first, and the HTTP stack, the requests and their parsing then cost
this process nothing before the icon shows data. Its answer carries a `FirstLook` (the
snapshot or the error, and how the key turned out to be sent); `FirstFetch` waits for it on
a thread, and the platform service takes the result over instead of fetching again. Its
own client is made from the key when it first needs one, after the icon has its data.

Where there is no such answer (the child could not take the look, or the key came from
elsewhere) the look is taken here, as a sign-in takes it. Nothing here is Qt.
"""

from __future__ import annotations

import base64
import locale
import logging
import os
import pickle
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from glmtray.credentials import Account
from glmtray.errors import CredentialError, GlmtrayError, UnexpectedResponse
from glmtray.platform.auth import AuthScheme
from glmtray.platform.models import Snapshot
from glmtray.settings import saved_language

if TYPE_CHECKING:
    from glmtray.environment import Environment
    from glmtray.platform.client import PlatformClient

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


@dataclass(frozen=True)
class FirstLook:
    """What the key's child found with its first fetch."""

    snapshot: Snapshot | None
    error: GlmtrayError | None
    """Why there is no snapshot: the fetch's error."""
    key_usable: bool = True
    """False when the key cannot even be sent (as good as no key, see `connect`)."""
    learned_scheme: AuthScheme | None = None
    """How the platform took the key, when the fetch learned it anew."""


def encode_first_look(look: FirstLook) -> str:
    """The look as text for the child's JSON answer."""
    return base64.b64encode(pickle.dumps(look)).decode("ascii")


def decode_first_look(text: object) -> FirstLook | None:
    """The look a child's answer carries; None for anything else (the look is then taken
    in-process). Unpickled because it comes from this program's own child over a pipe only
    the two share, never from a file or the network."""
    if not isinstance(text, str):
        return None
    try:
        look = pickle.loads(base64.b64decode(text, validate=True))
    except Exception:  # an answer cut short or from another version: look again here
        return None
    return look if isinstance(look, FirstLook) else None


def take_first_look(account: Account, key: str, base_url: str | None) -> FirstLook:
    """In the key's child: make the account's client, fetch once, close it. The account
    memory is only read here; what the fetch learns goes back in the look, and the tray
    remembers it (one process writes that file)."""
    from glmtray.account_memory import AccountMemory

    learned: list[AuthScheme] = []
    try:
        client = new_client(
            account,
            key,
            base_url,
            preferred_language(),
            AccountMemory.default().auth_scheme(account),
            on_auth_scheme=learned.append,
        )
    except GlmtrayError as unusable:
        return FirstLook(None, unusable, key_usable=False)
    snapshot: Snapshot | None = None
    failed: GlmtrayError | None = None
    with client:
        try:
            snapshot = client.snapshot()
        except GlmtrayError as failure:
            failed = failure
    return FirstLook(snapshot, failed, learned_scheme=learned[-1] if learned else None)


def new_client(
    account: Account,
    key: str,
    base_url: str | None,
    language: str,
    auth_scheme: AuthScheme | None,
    on_auth_scheme: Callable[[AuthScheme], None] | None = None,
) -> PlatformClient:
    """The account's client; the HTTP stack loads here, at its first use."""
    from glmtray.platform.client import PlatformClient

    return PlatformClient(
        key,
        account.region,
        base_url=base_url,
        auth_scheme=auth_scheme,
        language=language,
        on_auth_scheme=on_auth_scheme,
    )


@dataclass
class Opening:
    """What the first look found. Exactly one of: `key_error` (the keyring failed), no key
    at all (`has_key` False, no error), or a key with its first `snapshot` or `error`.

    The key lives in `client`, or, when the key's child took the look, in `make_client`,
    which makes the client at its first use."""

    account: Account
    client: PlatformClient | None = None
    snapshot: Snapshot | None = None
    error: GlmtrayError | None = None
    key_error: CredentialError | None = None
    make_client: Callable[[], PlatformClient] | None = None

    @property
    def has_key(self) -> bool:
        return self.client is not None or self.make_client is not None

    def close(self) -> None:
        """Close the client, if one was made."""
        if self.client is not None:
            self.client.close()


def open_account(environment: Environment, account: Account, language: str) -> Opening:
    """Read the account's key and take the first look (quota, subscription, risk): the
    child's, when it took one, else here."""
    try:
        key = environment.keys.get(account)
    except CredentialError as error:
        return Opening(account, key_error=error)
    if not key:
        return Opening(account)
    look = environment.keys.take_first_look(account)
    if look is None:
        return connect(environment, account, key, language)
    if not look.key_usable:
        return Opening(account, error=look.error)
    memory = environment.account_memory
    if look.learned_scheme is not None:
        log.info("the platform takes this key as %s", look.learned_scheme.value)
        memory.remember_auth_scheme(account, look.learned_scheme)
    make_client = partial(_remembering_client, environment, account, key, language)
    return Opening(account, snapshot=look.snapshot, error=look.error, make_client=make_client)


def _remembering_client(
    environment: Environment, account: Account, key: str, language: str
) -> PlatformClient:
    """A client that sends the key as remembered for the account, and remembers anew."""
    memory = environment.account_memory
    return new_client(
        account,
        key,
        environment.base_url,
        language,
        memory.auth_scheme(account),
        on_auth_scheme=lambda scheme: memory.remember_auth_scheme(account, scheme),
    )


def connect(environment: Environment, account: Account, key: str, language: str) -> Opening:
    """Make the account's client with `key` and fetch once: the fetch is also the key's
    check (sent raw or as a Bearer token, as remembered for the account)."""
    try:
        client = _remembering_client(environment, account, key, language)
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
