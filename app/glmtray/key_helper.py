"""Reads the stored API key in a short-lived child process, for the tray app.

The keyring stack (keyring's backend discovery, secretstorage, cryptography) costs the
process that imports it about 23 MB that it never gives back, and the tray needs it once:
to read one key at start. So the tray reads it in a child process that exits at once, and
imports keyring itself only when the user signs in or out. The child runs on the other
core while Qt loads, so the start is no slower for it either.

The key goes from the child to the tray over an anonymous pipe, never a file, argument or
environment variable; the child writes nothing else anywhere. When the child cannot be
started or answers nonsense, the tray reads the key itself, as it did before.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import stat
import subprocess
import sys
import threading
from collections.abc import Sequence

from glmtray.credentials import Account, CredentialStore
from glmtray.errors import CredentialError, KeyringLocked, KeyringUnresponsive
from glmtray.i18n import localized
from glmtray.platform.regions import Region
from glmtray.redact import register_secret

log = logging.getLogger(__name__)

HELPER_FLAG = "--glmtray-read-key"
"""The bundle's executable reads a key when started with this flag (packaging/entry.py)."""
HELPER_TIMEOUT_S = 180.0
"""Long enough for an unlock prompt to be answered; past it the keyring counts as hung."""
ERROR_KINDS: dict[str, type[CredentialError]] = {
    cls.__name__: cls for cls in (CredentialError, KeyringLocked, KeyringUnresponsive)
}


WATCH_PARENT_FLAG = "--until-stdin-closes"
"""The child ends when its stdin reaches end of file: the tray holds the other end of that
pipe, and the system closes it when the tray ends, however it ends (Quit, a logout's
SIGTERM, a crash). A keyring that never answers must not keep the child, and the unlock
prompt it waits behind, alive for a tray that is gone."""


def helper_command(account: Account) -> list[str]:
    arguments = [WATCH_PARENT_FLAG, account.username]
    if getattr(sys, "frozen", False):  # the PyInstaller bundle: no `-m` there
        return [sys.executable, HELPER_FLAG, *arguments]
    return [sys.executable, "-m", "glmtray.key_helper", *arguments]


class PendingRead:
    """A child already reading `account`'s key: started as early as the process can, so
    the read overlaps everything the tray loads before it needs the key."""

    def __init__(self, account: Account) -> None:
        self.account = account
        self.cancelled = False
        self.process: subprocess.Popen[bytes] | None = None
        try:
            self.process = subprocess.Popen(
                helper_command(account),
                # Never written to: its end of file tells the child that the tray is gone.
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=os.environ.copy(),
            )
        except OSError as error:
            log.warning("key helper could not start (%s)", type(error).__name__)

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
            raise _unresponsive() from None
        if self.cancelled:  # the tray is quitting (see ChildReadKeys.cancel_reads)
            raise _unresponsive()
        stdout = self._output()
        try:
            answer = json.loads(stdout)
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            log.warning("key helper gave no answer (exit %s)", self.process.returncode)
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


class ChildReadKeys(CredentialStore):
    """The OS keyring, read through a child process; storing and removing stay in-process.

    `pending` is a read started before this store existed (at the very start of the tray);
    it answers the first `get` of its account."""

    def __init__(self, pending: PendingRead | None = None) -> None:
        super().__init__()
        self._pending = pending
        self._reads: set[PendingRead] = set()
        self._reads_lock = threading.Lock()
        self._cancelled = False

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
        with self._reads_lock:
            if self._cancelled:
                raise _unresponsive()
            pending, self._pending = self._pending, None
            if pending is not None and pending.account != account:
                pending.cancel()
                pending = None
            read = pending or PendingRead(account)
            self._reads.add(read)
        try:
            answer = read.answer()
        finally:
            with self._reads_lock:
                self._reads.discard(read)
        if answer is None:
            return super().get(account)  # no child to trust: read it here, as before
        if "error" in answer:
            kind = ERROR_KINDS.get(str(answer.get("error")), CredentialError)
            backend = str(answer.get("backend", "unknown"))
            # The child's own log went nowhere: say it here, as an in-process read would.
            log.warning("keyring read failed: backend=%s error=%s", backend, kind.__name__)
            raise kind(str(answer.get("message", "")), backend=backend)
        key = answer.get("key")
        if not isinstance(key, str) or not key:
            return None
        register_secret(key)
        return key


def _unresponsive() -> KeyringUnresponsive:
    return KeyringUnresponsive(
        localized(
            "The system keyring did not answer within {seconds} s. It may be waiting "
            "for an unlock prompt: unlock it and try again.",
            seconds=format(HELPER_TIMEOUT_S, "g"),
        ),
        backend="default",
    )


def read_key(username: str) -> dict[str, str | None]:
    """In the child: the answer for the account `username` ("region:label")."""
    region, _, label = username.partition(":")
    try:
        account = Account(Region.parse(region), label or "default")
    except ValueError:
        return {"error": "CredentialError", "message": "Unknown account.", "backend": "none"}
    try:
        return {"key": CredentialStore().get(account)}
    except CredentialError as error:
        kind = type(error).__name__ if type(error).__name__ in ERROR_KINDS else "CredentialError"
        return {"error": kind, "message": error.message, "backend": error.backend}


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
    arguments = list(argv)
    if arguments[:1] == [WATCH_PARENT_FLAG]:
        arguments.pop(0)
        _end_when_stdin_closes()
    if len(arguments) != 1:
        print("usage: key_helper [--until-stdin-closes] REGION:LABEL", file=sys.stderr)
        return 2
    sys.stdout.write(json.dumps(read_key(arguments[0])))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
