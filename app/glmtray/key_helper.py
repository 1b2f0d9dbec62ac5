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

When that backend is keyring's Secret Service one (GNOME Keyring, and whatever else serves
the Secret Service on a Linux desktop), the child asks the Secret Service through
SecretStorage, the library keyring itself uses there, without loading keyring: keyring's
own imports were half of the child's 0.2 s, and the read is the last step before the first
look. It asks as keyring would with no configuration (the default collection, items by
`service` and `username`), which the hint's second line vouches for: the keyring
configuration file that did not exist when discovery ran. Anything short of a plain answer
(a locked collection, no item, no session bus, that file now there) sends the read through
keyring as before, which unlocks, prompts and reports errors in its own words.

For the tray's start the child also takes the first look at the platform with the key it
found (`FIRST_LOOK_FLAG`, see first_fetch.py), so that the HTTP stack and the first
requests run on this other core too; the snapshot comes back in the same answer.

The key goes from the child only to the platform (the first look) and to the tray, over an
anonymous pipe, never a file, argument or environment variable; the child writes nothing
else anywhere but that hint. When the child cannot be started or answers nonsense, the
tray reads the key itself (and takes the first look itself), as it did before.
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
    from typing import Any, NoReturn

    from glmtray.credentials import Account, CredentialStore
    from glmtray.errors import CredentialError, KeyringUnresponsive

HELPER_FLAG = "--glmtray-read-key"
"""The bundle's executable reads a key when started with this flag (packaging/entry.py)."""
HELPER_TIMEOUT_S = 180.0
"""Long enough for an unlock prompt to be answered; past it the keyring counts as hung."""
CHILD_END_S = 5.0
"""How long a child that has closed its output may take to end before the tray stops
waiting for it."""
SAVED_ACCOUNT = "--saved-account"
"""Instead of REGION:LABEL: the account the settings name (optionally in another region)."""
ERROR_KINDS = ("CredentialError", "KeyringLocked", "KeyringUnresponsive")
"""The errors a child's answer may name; anything else is a CredentialError."""
FIRST_LOOK_FLAG = "--first-look"
"""Also fetch once with the key found (`--first-look=URL`: from that platform address)."""
BACKEND_HINT_FILE = "keyring-backend"
"""In the cache folder: the class name of the keyring backend that last held the key, and
on a second line the keyring configuration file that did not exist then (see the module's
doc)."""
SECRET_SERVICE_BACKEND = "keyring.backends.SecretService.Keyring"
KEYRING_SERVICE = "glmtray"
"""The service name every key is stored under (with the account's REGION:LABEL as user)."""


WATCH_PARENT_FLAG = "--until-stdin-closes"
"""The child ends when its stdin reaches end of file: the tray holds the other end of that
pipe, and the system closes it when the tray ends, however it ends (Quit, a logout's
SIGTERM, a crash). A keyring that never answers must not keep the child, and the unlock
prompt it waits behind, alive for a tray that is gone."""


def helper_command(target: Sequence[str], options: Sequence[str] = ()) -> list[str]:
    """The child's command line; `target` is [REGION:LABEL] or [SAVED_ACCOUNT, REGION?]."""
    arguments = [WATCH_PARENT_FLAG, *options, *target]
    if getattr(sys, "frozen", False):  # the PyInstaller bundle: no `-m` there
        return [sys.executable, HELPER_FLAG, *arguments]
    return [sys.executable, "-m", "glmtray.key_helper", *arguments]


def first_look_options(base_url: str | None) -> list[str]:
    """The child's options for a first look (from `base_url` when given)."""
    return [f"{FIRST_LOOK_FLAG}={base_url}" if base_url else FIRST_LOOK_FLAG]


class PendingRead:
    """A child already reading a key: started as early as the process can, so the read
    overlaps everything the tray loads before it needs the key.

    `account` is the account asked for; None for `saved_account`, whose answer names the
    account the child found in the settings (`answered_for`)."""

    def __init__(
        self,
        account: Account | None,
        target: Sequence[str] | None = None,
        options: Sequence[str] = (),
    ) -> None:
        self.account = account
        self.cancelled = False
        self.process: subprocess.Popen[bytes] | None = None
        if target is None:
            assert account is not None
            target = [account.username]
        try:
            self.process = subprocess.Popen(
                helper_command(target, options),
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
    def saved_account(
        cls, region: str | None = None, *, first_look: bool = False, base_url: str | None = None
    ) -> PendingRead:
        """The key of the account the settings name, in `region` when given (--region);
        with `first_look`, also the first fetch with it (from `base_url` when given)."""
        options = first_look_options(base_url) if first_look else []
        return cls(None, [SAVED_ACCOUNT, *([region] if region else [])], options)

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
        # Not Popen.wait(timeout): with a timeout it polls, every 50 ms once it has waited a
        # while, and the answer sat unseen for up to that long at every start. A read of the
        # pipe wakes as the child ends; a timer ends the child at the limit instead.
        # Not communicate() either: it would close the child's stdin, which ends the child.
        limit = threading.Timer(HELPER_TIMEOUT_S, self._time_out)
        limit.daemon = True
        limit.start()
        try:
            stdout = self._output()  # the answer is a few dozen bytes, then end of file
        finally:
            limit.cancel()
        if self.cancelled:  # the limit passed, or the tray is quitting (ChildReadKeys)
            raise unresponsive()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=CHILD_END_S)  # it closed its stdout as it ended
        try:
            answer = json.loads(stdout)
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            import logging

            logging.getLogger(__name__).warning(
                "key helper gave no answer (exit %s)", self.process.poll()
            )
            return None
        return answer

    def _time_out(self) -> None:
        import logging

        logging.getLogger(__name__).warning(
            "key helper did not answer within %s s", format(HELPER_TIMEOUT_S, "g")
        )
        self.cancel()

    def _output(self) -> bytes:
        """Everything the child writes, read until its end; closes both pipes."""
        assert self.process is not None
        stdin, stdout = self.process.stdin, self.process.stdout
        try:
            return stdout.read() if stdout is not None else b""
        except (OSError, ValueError):  # closed by a cancel() on another thread
            return b""
        finally:
            for pipe in (stdin, stdout):
                if pipe is not None:
                    with contextlib.suppress(OSError, ValueError):
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
def read_key(
    target: Sequence[str], *, first_look: bool = False, base_url: str | None = None
) -> dict[str, str | None]:
    """In the child: the answer for `target` (see `helper_command`), with the first look
    taken with the key when asked."""
    from glmtray.credentials import Account
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
    answer = _read(account)
    key = answer.get("key")
    if first_look and key:
        try:
            from glmtray.first_fetch import encode_first_look, take_first_look

            answer["first_look"] = encode_first_look(take_first_look(account, key, base_url))
        except Exception:  # a bug here must not cost the key: the tray looks itself
            pass
    return answer


def _read(account: Account) -> dict[str, str | None]:
    hint = _read_hint()
    if hint is not None and secret_service_vouched_for(hint):
        key = read_from_secret_service(account.username)
        if key is not None:
            return {"account": account.username, "key": key}
    return _read_with_keyring(account, hint)


def _read_with_keyring(account: Account, hint: list[str] | None) -> dict[str, str | None]:
    from glmtray.credentials import CredentialStore
    from glmtray.errors import CredentialError

    remembered = _remembered_backend(hint)
    if remembered is not None:
        store = CredentialStore(remembered)
        try:
            key = store.get(account)
        except CredentialError:
            key = None  # discovery decides, and says what is wrong
        if key is not None:
            _remember_backend(store, hint)  # a hint from an older glmtray gains its second line
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
        _remember_backend(store, hint)
    return {"account": account.username, "key": key}


def secret_service_vouched_for(hint: list[str]) -> bool:
    """Whether the hint says keyring would read from the Secret Service as configured by
    nobody: its backend then, and still no configuration file nor PYTHON_KEYRING_BACKEND."""
    return (
        len(hint) == 2
        and hint[0] == SECRET_SERVICE_BACKEND
        and os.path.isabs(hint[1])
        and not os.path.lexists(hint[1])
        and not os.environ.get("PYTHON_KEYRING_BACKEND")
    )


def read_from_secret_service(username: str) -> str | None:
    """The key as keyring's unconfigured Secret Service backend reads it, through
    SecretStorage alone; None for anything but a plain answer (see the module's doc)."""
    try:
        import secretstorage

        with contextlib.closing(secretstorage.dbus_init()) as connection:
            collection = secretstorage.get_default_collection(connection)
            if collection.is_locked():
                return None  # keyring asks for the unlock, and says if it is refused
            query = {"service": KEYRING_SERVICE, "username": username}
            for item in collection.search_items(query):
                if item.is_locked():
                    return None
                key = item.get_secret().decode("utf-8")
                return key or None
    except Exception:  # no library, no bus, no service, a refused call: keyring decides
        return None
    return None


def _backend_hint_path() -> str:
    from glmtray.snapshot import cache_dir  # the status line's: no platformdirs on Linux

    return os.path.join(cache_dir(), BACKEND_HINT_FILE)


def _read_hint() -> list[str] | None:
    try:
        with open(_backend_hint_path(), encoding="utf-8") as hint:
            return hint.read(4096).strip().split("\n")
    except (OSError, ValueError):
        return None


def _remembered_backend(hint: list[str] | None) -> Any | None:
    """The backend discovery found holding the key last time, when the user chose none."""
    if not hint or not hint[0].startswith("keyring.backends."):
        return None  # only keyring's own backends: the file picks no code of its own
    try:
        from keyring import core

        if os.environ.get("PYTHON_KEYRING_BACKEND") or core.load_config() is not None:
            return None  # the user's choice: keyring honours it without discovery anyway
        return core.load_keyring(hint[0])
    except Exception:  # gone, or no longer working here: discovery decides
        return None


def _remember_backend(store: CredentialStore, hint: list[str] | None) -> None:
    from glmtray.atomic_file import replace_file

    name = store.backend_class_name
    if os.environ.get("PYTHON_KEYRING_BACKEND") or not name.startswith("keyring.backends."):
        return
    try:
        from keyring.util.platform_ import config_root

        config_file = os.path.join(config_root(), "keyringrc.cfg")
    except Exception:  # keyring moved it: the first line alone still saves the discovery
        config_file = ""
    lines = [name, config_file] if config_file and not os.path.lexists(config_file) else [name]
    if lines == hint:
        return  # already said: no write at every start
    with contextlib.suppress(OSError):  # unwritten, the next start discovers again
        replace_file(_backend_hint_path(), "\n".join(lines).encode())


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
    first_look, base_url = False, None
    if arguments[:1] and arguments[0].partition("=")[0] == FIRST_LOOK_FLAG:
        first_look, base_url = True, arguments.pop(0).partition("=")[2] or None
    explicit = len(arguments) == 1 and arguments[0] != SAVED_ACCOUNT
    saved = arguments[:1] == [SAVED_ACCOUNT] and len(arguments) <= 2
    if not (explicit or saved):
        print(
            f"usage: key_helper [{WATCH_PARENT_FLAG}] [{FIRST_LOOK_FLAG}[=URL]] "
            f"(REGION:LABEL | {SAVED_ACCOUNT} [REGION])",
            file=sys.stderr,
        )
        return 2
    answer = read_key(arguments, first_look=first_look, base_url=base_url)
    sys.stdout.write(json.dumps(answer))
    sys.stdout.flush()
    return 0


def run(argv: Sequence[str]) -> NoReturn:
    """The child's whole life: answer, then end without the interpreter's teardown. The
    tray waits for the child's end, and tearing down the keyring stack (the Secret Service
    connection's cryptography) took some 30 ms of it; nothing is left to write or close."""
    code = main(argv)
    sys.stdout.flush()
    os._exit(code)


if __name__ == "__main__":
    run(sys.argv[1:])
