"""Reads the stored API key in a short-lived child process, for the tray app.

The keyring stack (keyring's backend discovery, secretstorage, cryptography) costs the
process that imports it about 23 MB that it never gives back, and the tray needs it once:
to read one key at start. So the tray reads it in a child process that exits at once, and
imports keyring itself only when the user signs in or out. The child runs on the other
core while Qt loads, so the start is no slower for it either.

The read is the longest step of a start (a fresh Python, keyring's discovery, a D-Bus
round trip), so the tray starts it before anything else: `glmtray` begins it before its
command line is even parsed (cli.py), asking for "the saved account", which the child
looks up in the settings itself. Hence this module imports only the standard library's
lightest modules; what the answer needs (errors, translations) loads when it arrives.

The child also skips keyring's discovery when it can: discovery imports every backend
keyring knows (the macOS one asks ldconfig for a library) and asks each whether it works,
some 50 ms of every start. Where the user has chosen no backend (PYTHON_KEYRING_BACKEND,
keyringrc.cfg), the child remembers which one discovery found holding the key (its class
name, in the cache folder) and goes straight to it next time; when that one has no key or
fails, discovery runs as before.

The key goes from the child to the tray over an anonymous pipe, never a file, argument or
environment variable; the child writes nothing else anywhere but that class name. When the
child cannot be started or answers nonsense, the tray reads the key itself, as it did
before.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import stat
import subprocess
import sys
import threading
from collections.abc import Sequence

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from glmtray.credentials import Account, CredentialStore
    from glmtray.errors import CredentialError, KeyringUnresponsive

HELPER_FLAG = "--glmtray-read-key"
"""The bundle's executable reads a key when started with this flag (packaging/entry.py)."""
HELPER_TIMEOUT_S = 180.0
"""Long enough for an unlock prompt to be answered; past it the keyring counts as hung."""
SAVED_ACCOUNT = "--saved-account"
"""Instead of REGION:LABEL: the account the settings name (optionally in another region)."""
ERROR_KINDS = ("CredentialError", "KeyringLocked", "KeyringUnresponsive")
"""The errors a child's answer may name; anything else is a CredentialError."""
BACKEND_HINT_FILE = "keyring-backend"
"""In the cache folder: the class name of the keyring backend that last held the key."""


WATCH_PARENT_FLAG = "--until-stdin-closes"
"""The child ends when its stdin reaches end of file: the tray holds the other end of that
pipe, and the system closes it when the tray ends, however it ends (Quit, a logout's
SIGTERM, a crash). A keyring that never answers must not keep the child, and the unlock
prompt it waits behind, alive for a tray that is gone."""


def helper_command(target: Sequence[str]) -> list[str]:
    """The child's command line; `target` is [REGION:LABEL] or [SAVED_ACCOUNT, REGION?]."""
    arguments = [WATCH_PARENT_FLAG, *target]
    if getattr(sys, "frozen", False):  # the PyInstaller bundle: no `-m` there
        return [sys.executable, HELPER_FLAG, *arguments]
    return [sys.executable, "-m", "glmtray.key_helper", *arguments]


class PendingRead:
    """A child already reading a key: started as early as the process can, so the read
    overlaps everything the tray loads before it needs the key.

    `account` is the account asked for; None for `saved_account`, whose answer names the
    account the child found in the settings (`answered_for`)."""

    def __init__(self, account: Account | None, target: Sequence[str] | None = None) -> None:
        self.account = account
        self.cancelled = False
        self.process: subprocess.Popen[bytes] | None = None
        if target is None:
            assert account is not None
            target = [account.username]
        try:
            self.process = subprocess.Popen(
                helper_command(target),
                # Never written to: its end of file tells the child that the tray is gone.
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=os.environ.copy(),
            )
        except OSError as error:
            import logging

            logging.getLogger(__name__).warning(
                "key helper could not start (%s)", type(error).__name__
            )

    @classmethod
    def saved_account(cls, region: str | None = None) -> PendingRead:
        """The key of the account the settings name, in `region` when given (--region)."""
        return cls(None, [SAVED_ACCOUNT, *([region] if region else [])])

    def may_serve(self, account: Account) -> bool:
        """Whether this read can be the answer for `account` (a saved-account read can)."""
        return self.account is None or self.account == account

    @staticmethod
    def answered_for(account: Account, answer: dict[str, object]) -> bool:
        """Whether a saved-account answer is `account`'s (an explicit read always is)."""
        named = answer.get("account")
        return named is None or named == account.username

    def answer(self) -> dict[str, object] | None:
        """The child's answer; None when there is none to trust (then read in-process)."""
        if self.process is None:
            return None
        try:
            # Not communicate(): it would close the child's stdin, which ends the child. The
            # answer is a few dozen bytes, so the child never blocks on a full stdout pipe.
            self.process.wait(timeout=HELPER_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.cancel()
            raise unresponsive() from None
        if self.cancelled:  # the tray is quitting (see ChildReadKeys.cancel_reads)
            raise unresponsive()
        stdout = self._output()
        try:
            answer = json.loads(stdout)
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            import logging

            logging.getLogger(__name__).warning(
                "key helper gave no answer (exit %s)", self.process.returncode
            )
            return None
        return answer

    def _output(self) -> bytes:
        """What the (ended) child wrote; closes both pipes."""
        assert self.process is not None
        stdin, stdout = self.process.stdin, self.process.stdout
        try:
            return stdout.read() if stdout is not None else b""
        except (OSError, ValueError):  # closed by a cancel() on another thread
            return b""
        finally:
            for pipe in (stdin, stdout):
                if pipe is not None:
                    with contextlib.suppress(OSError):
                        pipe.close()

    def cancel(self) -> None:
        """End the child; an `answer()` waiting on another thread raises at once."""
        self.cancelled = True
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._output()


def unresponsive() -> KeyringUnresponsive:
    from glmtray.errors import KeyringUnresponsive
    from glmtray.i18n import localized

    return KeyringUnresponsive(
        localized(
            "The system keyring did not answer within {seconds} s. It may be waiting "
            "for an unlock prompt: unlock it and try again.",
            seconds=format(HELPER_TIMEOUT_S, "g"),
        ),
        backend="default",
    )


def answered_error(answer: dict[str, object]) -> CredentialError:
    """The error a child's answer names, as the tray would have raised it reading in-process."""
    from glmtray import errors

    name = str(answer.get("error"))
    kind = getattr(errors, name) if name in ERROR_KINDS else errors.CredentialError
    backend = str(answer.get("backend", "unknown"))
    error: CredentialError = kind(str(answer.get("message", "")), backend=backend)
    return error


# -- in the child -------------------------------------------------------------------------
def read_key(target: Sequence[str]) -> dict[str, str | None]:
    """In the child: the answer for `target` (see `helper_command`)."""
    from glmtray.credentials import Account, CredentialStore
    from glmtray.errors import CredentialError
    from glmtray.platform.regions import Region

    try:
        if target[:1] == [SAVED_ACCOUNT]:
            from glmtray.settings import SettingsStore

            settings = SettingsStore().load().settings
            region = Region.parse(target[1]) if len(target) > 1 else settings.region
            account = Account(region, settings.account_label)
        else:
            region_name, _, label = target[0].partition(":")
            account = Account(Region.parse(region_name), label or "default")
    except (ValueError, IndexError):
        return {"error": "CredentialError", "message": "Unknown account.", "backend": "none"}
    remembered = _remembered_backend()
    if remembered is not None:
        try:
            key = CredentialStore(remembered).get(account)
        except CredentialError:
            key = None  # discovery decides, and says what is wrong
        if key is not None:
            return {"account": account.username, "key": key}
    store = CredentialStore()
    try:
        key = store.get(account)
    except CredentialError as error:
        kind = type(error).__name__
        return {
            "error": kind if kind in ERROR_KINDS else "CredentialError",
            "message": error.message,
            "backend": error.backend,
        }
    if key is not None:
        _remember_backend(store)
    return {"account": account.username, "key": key}


def _backend_hint_path() -> str:
    from glmtray.snapshot import cache_dir  # the status line's: no platformdirs on Linux

    return os.path.join(cache_dir(), BACKEND_HINT_FILE)


def _remembered_backend() -> Any | None:
    """The backend discovery found holding the key last time, when the user chose none."""
    try:
        with open(_backend_hint_path(), encoding="utf-8") as hint:
            name = hint.read(200).strip()
    except OSError:
        return None
    if not name.startswith("keyring.backends."):
        return None  # only keyring's own backends: the file picks no code of its own
    try:
        from keyring import core

        if os.environ.get("PYTHON_KEYRING_BACKEND") or core.load_config() is not None:
            return None  # the user's choice: keyring honours it without discovery anyway
        return core.load_keyring(name)
    except Exception:  # gone, or no longer working here: discovery decides
        return None


def _remember_backend(store: CredentialStore) -> None:
    from glmtray.atomic_file import replace_file

    name = store.backend_class_name
    if os.environ.get("PYTHON_KEYRING_BACKEND") or not name.startswith("keyring.backends."):
        return
    with contextlib.suppress(OSError):  # unwritten, the next start discovers again
        replace_file(_backend_hint_path(), name.encode())


def _end_when_stdin_closes() -> None:
    """In the child: exit at once when the tray's end of stdin, a pipe, closes (see
    WATCH_PARENT_FLAG). On a thread, because the keyring call on the main thread may never
    return."""

    try:
        if not stat.S_ISFIFO(os.fstat(0).st_mode):
            return  # not the tray's pipe (a terminal, /dev/null): nothing to watch
    except OSError:
        return

    def watch() -> None:
        try:
            while os.read(0, 4096):  # the tray never writes: this waits for end of file
                pass
        except OSError:
            return  # no usable stdin: nothing to watch, the read ends as it would have
        os._exit(3)  # the tray is gone: nobody to answer, nothing to clean up

    threading.Thread(target=watch, name="glmtray-key-helper-parent", daemon=True).start()


def main(argv: Sequence[str]) -> int:
    gc.disable()  # a process that lives for one read: reference counting frees enough
    arguments = list(argv)
    if arguments[:1] == [WATCH_PARENT_FLAG]:
        arguments.pop(0)
        _end_when_stdin_closes()
    explicit = len(arguments) == 1 and arguments[0] != SAVED_ACCOUNT
    saved = arguments[:1] == [SAVED_ACCOUNT] and len(arguments) <= 2
    if not (explicit or saved):
        print(
            f"usage: key_helper [{WATCH_PARENT_FLAG}] (REGION:LABEL | {SAVED_ACCOUNT} [REGION])",
            file=sys.stderr,
        )
        return 2
    sys.stdout.write(json.dumps(read_key(arguments)))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
