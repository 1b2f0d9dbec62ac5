"""Replacing a file so that a reader, another glmtray process or a crash in the middle
sees either the old file or the whole new one: the settings, the account memory, the
status line's snapshot and a coding tool's settings file all go through here."""

from __future__ import annotations

import contextlib
import os


def replace_file(
    path: str | os.PathLike[str], data: bytes, *, mode: int = 0o600, folder_mode: int = 0o700
) -> None:
    """Write `data` to a temporary file beside `path`, flush it to disk, give it `mode`
    and rename it over `path` (atomic on one file system). A missing folder is made with
    `folder_mode`. Raises OSError; nothing is left behind when it fails."""
    # Neither tempfile nor pathlib at import: the status line imports this on every run.
    import tempfile

    target = os.fspath(path)
    folder, name = os.path.split(target)
    os.makedirs(folder or ".", mode=folder_mode, exist_ok=True)
    # mkstemp: a name of its own in the same folder (two writers never share one), 0600.
    fd, temporary = tempfile.mkstemp(dir=folder or ".", prefix=f".{name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if mode != 0o600:
            os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
