"""A reviewed, reversible edit of a coding tool's JSON settings file.

Three steps, so that nothing is written that the user has not seen:

1. `plan_edit` reads the file and works out the new text. The keys glmtray sets are edited
   where they stand in the text (or added after the last key of their object, in its
   indentation and line endings), so every other byte stays as written: key order, inline
   arrays, spacing, the final newline, a byte-order mark. The result is checked against
   the merged document before it is used; should the two ever differ, the document is
   written afresh in the file's indentation instead. It returns the old and new bytes, a
   short list of "key: old → new" lines and a unified diff. A file that is not a JSON
   object in UTF-8 (or cannot be read at all) is refused with a message and never touched;
   a missing file or folder is fine (they are created on apply).
2. `apply_plan` writes it: only if the file still holds the bytes the plan was made from, with
   the previous file kept beside it under a new name (`<name>.glmtray-backup-<UTC time>`,
   never overwriting an earlier backup), through a temporary file renamed over the old one so
   that the tool never reads half a file.
3. `undo` puts the previous bytes back exactly (or removes the file glmtray created), but only
   while the file still holds what glmtray wrote: a change made since, by hand or by the tool,
   is never thrown away.

Nothing here knows a tool: `glmtray.tool_setup` says which keys each tool needs. No API key
passes through here; the entries glmtray writes are addresses and a command.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from glmtray.atomic_file import replace_file
from glmtray.errors import GlmtrayError
from glmtray.i18n import _

BACKUP_MARK = ".glmtray-backup-"
"""Between the file's name and the time in a backup's name."""

_BOM = b"\xef\xbb\xbf"
_NEW_FILE_MODE = 0o600
"""A tool's settings file often holds its API key: a file glmtray creates is the owner's only."""


class ToolConfigError(GlmtrayError):
    """A settings file glmtray will not edit or restore, with what to do about it."""

    title = "Settings file not changed"


@dataclass(frozen=True)
class Entry:
    """One key glmtray sets (or takes out) in a tool's settings."""

    path: tuple[str, ...]
    """Object keys from the top of the document down to the value."""
    value: Any
    """The JSON value to put there; `REMOVE` takes the key out."""
    applies: Callable[[Any], bool] | None = None
    """A test of the value there now (`MISSING` when there is none): the entry is skipped when
    it says no. Lets "remove" touch only what glmtray itself wrote."""


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
"""The value of a key that is not there."""
REMOVE: Any = _Missing()
"""An entry's value meaning "take the key out"."""


@dataclass(frozen=True)
class Change:
    key: str
    """The key's path, dotted: `env.ANTHROPIC_BASE_URL`."""
    old: Any
    new: Any
    """`MISSING` when the key is taken out."""
    path: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    """For a removal, the key that goes: `path`, or the object holding it when the removal
    left that empty."""

    def describe(self) -> str:
        return _("{key}: {old} → {new}").format(
            key=self.key, old=_shown(self.old), new=_shown(self.new)
        )


@dataclass(frozen=True)
class Plan:
    """What writing would do to one file, worked out before anything is written."""

    path: Path
    """The file written: a symbolic link's target, so a link (a dotfiles checkout) stays a link."""
    old_bytes: bytes | None
    """The file as read; None when there was no file."""
    new_bytes: bytes
    changes: tuple[Change, ...]

    @property
    def has_changes(self) -> bool:
        return bool(self.changes)

    def describe(self) -> list[str]:
        return [change.describe() for change in self.changes]

    def diff(self) -> str:
        """A unified diff of the whole file, old to new."""
        old_text = _text_for_diff(self.old_bytes or b"")
        new_text = _text_for_diff(self.new_bytes)
        name = self.path.name
        lines = difflib.unified_diff(
            old_text.splitlines(keepends=True),
            new_text.splitlines(keepends=True),
            fromfile=f"{name} (now)" if self.old_bytes is not None else "/dev/null",
            tofile=f"{name} (after)",
        )
        return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


@dataclass(frozen=True)
class Applied:
    """A written plan: what `undo` needs to put the file back."""

    path: Path
    previous_bytes: bytes | None
    """The file before glmtray wrote it; None when glmtray created it."""
    written_bytes: bytes
    backup: Path | None
    """Where the previous file was kept; None when there was none."""
    changes: tuple[Change, ...] = field(default=())


# -- reading ---------------------------------------------------------------------------


def read_bytes(path: Path) -> bytes | None:
    """The file's bytes, None when it does not exist; ToolConfigError when it cannot be read."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        raise ToolConfigError(
            _("{path} cannot be created: a file stands where its folder should be.").format(
                path=path
            )
        ) from None
    except IsADirectoryError:
        raise ToolConfigError(
            _("{path} is a folder, not a settings file: glmtray left it as it is.").format(
                path=path
            )
        ) from None
    except OSError as error:
        raise ToolConfigError(
            _("{path} could not be read ({reason}): glmtray left it as it is.").format(
                path=path, reason=error.strerror or type(error).__name__
            )
        ) from None


@dataclass(frozen=True)
class _Style:
    indent: str | None
    """None: everything on one line, as the file had it."""
    newline: str
    final_newline: bool
    bom: bool


def _style_of(text: str, bom: bool) -> _Style:
    newline = "\r\n" if "\r\n" in text else "\n"
    body = text.strip()
    if body and "\n" not in body and body != "{}":
        indent: str | None = None
    else:
        found = re.search(r"\n([ \t]+)\S", text)
        indent = found.group(1) if found else "  "
    final = text.endswith("\n") or not body
    return _Style(indent=indent, newline=newline, final_newline=final, bom=bom)


def _load(raw: bytes | None, path: Path) -> tuple[dict[str, Any], _Style, str]:
    if raw is None:
        return {}, _Style(indent="  ", newline="\n", final_newline=True, bom=False), ""
    bom = raw.startswith(_BOM)
    try:
        text = raw[len(_BOM) :].decode("utf-8") if bom else raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ToolConfigError(
            _("{path} is not UTF-8 text: glmtray left it as it is.").format(path=path)
        ) from None
    style = _style_of(text, bom)
    if not text.strip():
        return {}, style, text  # an empty file holds no settings yet
    duplicates: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        document: dict[str, Any] = {}
        for key, value in items:
            if key in document:
                duplicates.append(key)
            document[key] = value
        return document

    try:
        document = json.loads(text, object_pairs_hook=pairs)
    except json.JSONDecodeError as error:
        if _looks_like_jsonc(text):
            raise ToolConfigError(
                _(
                    "{path} has comments or trailing commas (JSON with comments). glmtray "
                    "cannot keep them when it rewrites the file, so it left it as it is; "
                    "make the change by hand."
                ).format(path=path)
            ) from None
        raise ToolConfigError(
            _(
                "{path} is not valid JSON (line {line}, column {column}: {reason}). glmtray "
                "left it as it is; fix it, or make the change by hand."
            ).format(path=path, line=error.lineno, column=error.colno, reason=error.msg)
        ) from None
    if not isinstance(document, dict):
        raise ToolConfigError(
            _("{path} does not hold a JSON object: glmtray left it as it is.").format(path=path)
        )
    if duplicates:
        raise ToolConfigError(
            _(
                '{path} has the key "{key}" more than once; rewriting it would drop one. '
                "glmtray left it as it is."
            ).format(path=path, key=duplicates[0])
        )
    return document, style, text


def _looks_like_jsonc(text: str) -> bool:
    return bool(re.search(r"^\s*(//|/\*)|,\s*[}\]]", text, re.MULTILINE))


def _dump(document: dict[str, Any], style: _Style) -> bytes:
    """The whole document written afresh in the file's style (a new or empty file)."""
    if style.indent is None:
        text = json.dumps(document, ensure_ascii=False)
    else:
        text = json.dumps(document, ensure_ascii=False, indent=style.indent)
    if style.final_newline:
        text += "\n"
    if style.newline != "\n":
        text = text.replace("\n", style.newline)
    return _encode(text, style)


def _encode(text: str, style: _Style) -> bytes:
    data = text.encode("utf-8")
    return _BOM + data if style.bom else data


# -- editing the text in place ---------------------------------------------------------
# The keys glmtray changes are edited where they stand in the text, so every other byte of
# the file stays as the user (or the tool) wrote it: inline arrays, spacing, key order.


@dataclass
class _Member:
    key_start: int
    value_start: int
    value_end: int
    members: dict[str, _Member] | None
    """The value's members when it is an object."""
    close: int = -1
    """Where the object's closing brace is, when it is one."""


_WHITESPACE = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


def _skip(text: str, index: int) -> int:
    found = _WHITESPACE.match(text, index)
    return found.end() if found else index


def _scan_object(text: str, start: int) -> tuple[dict[str, _Member], int]:
    """The members of the object whose brace is at `start`, and where it closes. The text
    is known to be valid JSON: it was parsed first."""
    members: dict[str, _Member] = {}
    index = _skip(text, start + 1)
    if text[index] == "}":
        return members, index
    while True:
        key_start = index
        key, index = _DECODER.raw_decode(text, index)
        index = _skip(text, index)
        index = _skip(text, index + 1)  # the colon
        value_start = index
        if text[index] == "{":
            inner, close = _scan_object(text, index)
            member = _Member(key_start, value_start, close + 1, inner, close)
        else:
            _value, end = _DECODER.raw_decode(text, index)
            member = _Member(key_start, value_start, end, None)
        members[key] = member
        index = _skip(text, member.value_end)
        if text[index] == ",":
            index = _skip(text, index + 1)
            continue
        return members, index


def _splice(
    text: str, style: _Style, changes: Sequence[Change], expected: dict[str, Any]
) -> str | None:
    """`text` with each change made where its key stands; None when that cannot be done
    safely (then the caller writes the whole document afresh)."""
    if not text.strip():
        return None
    try:
        for change in changes:
            text = _splice_one(text, style, change)
        if json.dumps(json.loads(text), ensure_ascii=False) != json.dumps(
            expected, ensure_ascii=False
        ):
            return None  # a slip in the splicing must never reach the file
    except (ValueError, KeyError, IndexError):
        return None
    return text


def _splice_one(text: str, style: _Style, change: Change) -> str:
    root_start = _skip(text, 0)
    root, root_close = _scan_object(text, root_start)
    if change.new is MISSING:
        return _remove_member(text, root, root_start, change.removed)
    members = root
    open_at, close_at = root_start, root_close
    for depth, key in enumerate(change.path[:-1]):
        member = members.get(key)
        if member is None or member.members is None:
            value: Any = change.new
            for inner in reversed(change.path[depth + 1 :]):
                value = {inner: value}
            return _insert_member(text, style, members, open_at, close_at, depth, key, value)
        members, open_at, close_at = member.members, member.value_start, member.close
    last = change.path[-1]
    depth = len(change.path) - 1
    member = members.get(last)
    if member is None:
        return _insert_member(text, style, members, open_at, close_at, depth, last, change.new)
    # A value written on one line (an inline object, say) is replaced by one on one line.
    inline = (
        "\n" not in text[member.value_start : member.value_end] and text[member.value_start] in "{["
    )
    indent = _indent_before(text, member.key_start, style, depth)
    fragment = _fragment(change.new, style, indent, compact=inline)
    return text[: member.value_start] + fragment + text[member.value_end :]


def _indent_before(text: str, index: int, style: _Style, depth: int) -> str:
    """The whitespace a member's line starts with (the file's own), else the usual indent."""
    line_start = text.rfind("\n", 0, index) + 1
    lead = text[line_start:index]
    if lead.strip(" \t") == "" and line_start > 0:
        return lead
    return (style.indent or "") * (depth + 1)


def _fragment(value: Any, style: _Style, indent: str, *, compact: bool = False) -> str:
    """A value as text for a member whose line starts with `indent`."""
    if style.indent is None or compact:
        return json.dumps(value, ensure_ascii=False)
    dumped = json.dumps(value, ensure_ascii=False, indent=style.indent)
    return dumped.replace("\n", style.newline + indent)


def _insert_member(
    text: str,
    style: _Style,
    members: dict[str, _Member],
    open_at: int,
    close_at: int,
    depth: int,
    key: str,
    value: Any,
) -> str:
    if members:
        # Into an object written on one line, the new member goes on that line too.
        inline = style.indent is None or "\n" not in text[open_at:close_at]
        last = list(members.values())[-1]
        indent = _indent_before(text, last.key_start, style, depth)
        fragment = _fragment(value, style, indent, compact=inline)
        member = json.dumps(key, ensure_ascii=False) + ": " + fragment
        joint = ", " if inline else "," + style.newline + indent
        return text[: last.value_end] + joint + member + text[last.value_end :]
    if style.indent is None:
        body = json.dumps(key, ensure_ascii=False) + ": " + _fragment(value, style, "")
        return text[: open_at + 1] + body + text[close_at:]
    # An empty object: its members go one step in from the line its brace is on.
    line_start = text.rfind("\n", 0, open_at) + 1
    lead = text[line_start:open_at]
    lead = lead[: len(lead) - len(lead.lstrip(" \t"))]
    indent = lead + style.indent
    member = json.dumps(key, ensure_ascii=False) + ": " + _fragment(value, style, indent)
    return (
        text[: open_at + 1]
        + style.newline
        + indent
        + member
        + style.newline
        + lead
        + text[close_at:]
    )


def _remove_member(
    text: str, root: dict[str, _Member], root_start: int, path: tuple[str, ...]
) -> str:
    members = root
    for key in path[:-1]:
        inner = members[key].members
        if inner is None:
            raise KeyError(key)
        members = inner
    keys = list(members)
    index = keys.index(path[-1])
    member = members[path[-1]]
    if len(keys) == 1:
        # Only the top-level object can be left empty (emptied objects inside are pruned).
        close = _scan_object(text, root_start)[1]
        return text[: root_start + 1] + text[close:]
    if index > 0:
        previous = members[keys[index - 1]]
        return text[: previous.value_end] + text[member.value_end :]
    following = members[keys[1]]
    return text[: member.key_start] + text[following.key_start :]


# -- planning --------------------------------------------------------------------------


def target_of(path: Path) -> Path:
    """The file to write: a symbolic link's target, so that the link itself stays."""
    try:
        return path.resolve() if path.is_symlink() else path
    except OSError:
        return path


def plan_edit(path: Path, entries: Sequence[Entry]) -> Plan:
    """What the file would hold with `entries` merged in; raises ToolConfigError for a file
    glmtray will not touch. Reads the file, writes nothing."""
    target = target_of(path)
    raw = read_bytes(target)
    document, style, text = _load(raw, target)
    changes: list[Change] = []
    for entry in entries:
        change = _merge(document, entry, target)
        if change is not None:
            changes.append(change)
    if not changes:
        return Plan(target, raw, raw if raw is not None else b"", ())
    spliced = _splice(text, style, changes, document)
    new_bytes = _encode(spliced, style) if spliced is not None else _dump(document, style)
    return Plan(target, raw, new_bytes, tuple(changes))


def _merge(document: dict[str, Any], entry: Entry, path: Path) -> Change | None:
    # Look first, without touching the document: an entry that is skipped leaves no trace.
    node: dict[str, Any] | None = document
    for depth, key in enumerate(entry.path[:-1]):
        assert node is not None
        child = node.get(key, MISSING)
        if child is MISSING:
            node = None
            break
        if not isinstance(child, dict):
            raise ToolConfigError(
                _(
                    'In {path}, "{key}" is not a JSON object, so glmtray cannot change '
                    "what is inside it. glmtray left the file as it is."
                ).format(path=path, key=".".join(entry.path[: depth + 1]))
            )
        node = child
    last = entry.path[-1]
    old = MISSING if node is None else node.get(last, MISSING)
    if entry.applies is not None and not entry.applies(old):
        return None
    key = ".".join(entry.path)
    if entry.value is REMOVE:
        if old is MISSING or node is None:
            return None
        del node[last]
        removed = _prune(document, entry.path)
        return Change(key, old, MISSING, entry.path, removed)
    if old == entry.value and type(old) is type(entry.value):
        return None
    node = document
    for part in entry.path[:-1]:
        node = node.setdefault(part, {})
    node[last] = entry.value
    return Change(key, old, entry.value, entry.path)


def _prune(document: dict[str, Any], path: tuple[str, ...]) -> tuple[str, ...]:
    """Drop the objects on `path` that a removal left empty, so taking out the last key of
    `"options"` leaves no `"options": {}` behind. Each held the removed key before, so none
    of them was an empty object the user wrote. Returns the path of the outermost key gone."""
    removed = path
    for depth in range(len(path) - 1, 0, -1):
        parent: dict[str, Any] = document
        for part in path[: depth - 1]:
            parent = parent[part]
        if parent[path[depth - 1]]:
            break
        del parent[path[depth - 1]]
        removed = path[:depth]
    return removed


# -- writing ---------------------------------------------------------------------------


def _backup_path(path: Path, now: datetime) -> Path:
    stamp = now.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return path.with_name(f"{path.name}{BACKUP_MARK}{stamp}")


def _write_new(path: Path, data: bytes, mode: int) -> Path:
    """Create `path` (or `path-2`, `path-3`, ...) without ever replacing an existing file."""
    for attempt in range(1, 1000):
        candidate = path if attempt == 1 else path.with_name(f"{path.name}-{attempt}")
        try:
            fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        except FileExistsError:
            continue
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        return candidate
    raise FileExistsError(path)


def _mode_of(path: Path) -> int:
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return _NEW_FILE_MODE


def _write_failed(path: Path, error: OSError) -> ToolConfigError:
    return ToolConfigError(
        _("{path} could not be written ({reason}); it was not changed.").format(
            path=path, reason=error.strerror or type(error).__name__
        )
    )


def apply_plan(plan: Plan, *, now: datetime | None = None) -> Applied:
    """Write the plan, keeping the previous file as a backup. Refused (ToolConfigError) when
    the file no longer holds what the plan was made from."""
    path = plan.path
    current = read_bytes(path)
    if current != plan.old_bytes:
        raise ToolConfigError(
            _(
                "{path} changed after glmtray showed the change, so nothing was written. "
                "Look at the change again and confirm it."
            ).format(path=path)
        )
    if not plan.has_changes:
        return Applied(path, plan.old_bytes, plan.new_bytes, None, ())
    backup: Path | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        mode = _mode_of(path) if plan.old_bytes is not None else _NEW_FILE_MODE
        if plan.old_bytes is not None:
            backup = _write_new(
                _backup_path(path, now or datetime.now(timezone.utc)), plan.old_bytes, mode
            )
        replace_file(path, plan.new_bytes, mode=mode)
    except OSError as error:
        raise _write_failed(path, error) from None
    return Applied(path, plan.old_bytes, plan.new_bytes, backup, plan.changes)


def undo(applied: Applied) -> None:
    """Put back exactly what the file held before `applied` (removing a file glmtray created),
    only while it still holds what glmtray wrote."""
    path = applied.path
    current = read_bytes(path)
    if current != applied.written_bytes:
        if applied.backup is not None:
            message = _(
                "{path} has changed since glmtray wrote it, so glmtray did not undo its "
                "change: that would lose the newer edit. The file as it was before is kept "
                "in {backup}."
            ).format(path=path, backup=applied.backup)
        else:
            message = _(
                "{path} has changed since glmtray wrote it, so glmtray did not undo its "
                "change: that would lose the newer edit."
            ).format(path=path)
        raise ToolConfigError(message)
    try:
        if applied.previous_bytes is None:
            path.unlink()
        else:
            replace_file(path, applied.previous_bytes, mode=_mode_of(path))
    except OSError as error:
        raise _write_failed(path, error) from None


# -- showing ---------------------------------------------------------------------------


def _shown(value: Any) -> str:
    if value is MISSING:
        return _("(not set)")
    return json.dumps(value, ensure_ascii=False)


def _text_for_diff(data: bytes) -> str:
    return data.removeprefix(_BOM).decode("utf-8", errors="replace").replace("\r\n", "\n")
