"""Incremental reader of Claude Code session transcripts.

Claude Code appends one JSON object per line to
`<config dir>/projects/<encoded project path>/<session id>.jsonl`. glmtray reads these
files for two things:

- activity: which sessions are talking to a GLM model right now (a GLM Coding Plan
  allows only one or two concurrent projects, so "3 sessions active" is worth showing).
  Assistant lines are written when a reply completes, so a session is active from its
  latest user line (a prompt or a tool result), not only from its latest reply;
- API errors: when a request finally fails, Claude Code writes a synthetic assistant line
  whose text holds the platform's business code (1302, 1313, ...). That is the only place
  on the user's machine where a fair-use restriction becomes visible.

Two formats of error lines are read. Older Claude Code wrote the body:
`API Error: 429 {"error":{"code":"1302","message":"..."}}`. Claude Code 2.1 keeps only
its message: `API Error: Request rejected (429) · <message>` or `API Error: 401 <message>`.
The code is then found in `[1313][...][trace]` brackets or recognised from the platform's
known message texts (`glmtray.platform.codes.MESSAGE_TEXTS`); failing that, the line's
`error` class (`"rate_limit"`) or a 429 says "throttled, code unknown".

How the files are read, and why:

- Only bytes appended since the last scan are read. Per file the reader remembers the
  offset just past the last complete line, the size, inode and mtime, a fingerprint of
  the file's first KiB and one of the KiB just before the offset. A file that shrank
  below the offset, got a new inode, or whose first bytes or bytes before the offset
  changed was rewritten: it is read again from 0 (re-reading is harmless because every
  error carries a dedup key made from the line's own uuid). The second fingerprint
  catches a rewrite that keeps the first KiB (the same session header) and grows.
- One unreadable entry (a symlink loop named `*.jsonl`, a file deleted while the folder
  is listed, a line nested too deep for the JSON parser) is skipped on its own; it never
  hides the rest of its folder or stops the scan.
- A line without its newline is normally torn (Claude Code is writing it): the offset
  stays before it and the next scan reads it whole. The exception is a last line that is
  already a complete JSON object: a JSON object cannot be complete before its final
  brace, so it is taken now (else an error written last, with no newline, would wait
  forever); a newline appended later then reads as an empty line.
- Files are streamed in 1 MiB chunks; memory is bounded by the longest line, and lines
  longer than `MAX_LINE_BYTES` are skipped.
- First scan: the whole history is read once, streaming. Skipping to the tail would be
  faster, but API errors from earlier in the history are exactly the strikes the risk
  monitor must count; the bench (bench/bench_transcripts.py) shows the cost is
  acceptable. Later scans read only what was appended.
- Only lines that can matter are parsed: a byte test keeps assistant lines and error
  lines. User lines (tool results, often the bulk of a file) are decoded only when a
  byte-level look at their timestamps says they are recent enough to matter for activity.

A session is the platform's when a GLM model replied in it or the platform's error came
back in it (a business code, found by any of the means above: a session whose first
request failed has no GLM line at all). Errors are reported only when they are the
platform's: a business code (1000-1999) was found, or the session is the platform's
(then any failure is reported, a code-less one such as an HTTP 500 with `code=None`).
Errors of other providers in a session that never used GLM are ignored. A session whose
provider is not known yet (prompts, no reply) counts as active when the latest session
of known provider in the same project folder (else anywhere) is the platform's.
Messages go through `redact`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from glmtray.activity.events import Signal
from glmtray.platform.codes import CodeClass, parse_business_error
from glmtray.redact import redact

log = logging.getLogger(__name__)

CHUNK_BYTES = 1 << 20
MAX_LINE_BYTES = 64 << 20
HEAD_FINGERPRINT_BYTES = 1024
TAIL_FINGERPRINT_BYTES = 1024
DEFAULT_ACTIVITY_WINDOW = timedelta(minutes=5)
# Activity older than this is dropped from memory; the UI asks for 5 minutes, this
# leaves room for a longer window without keeping every session ever seen.
DEFAULT_ACTIVITY_RETENTION = timedelta(hours=6)
STATE_VERSION = 1
# How deep below the root transcripts may sit: <project>/<session>.jsonl, and newer
# Claude Code versions keep sub-agent transcripts in <project>/<session>/subagents/.
MAX_DEPTH = 3
# A model name is short; the one kept in the saved offsets is capped whatever a line says.
MAX_MODEL_CHARS = 100

# Byte-level prefilter: a line is decoded only when it can be an assistant or error line.
_INTERESTING = (b'"assistant"', b"isApiErrorMessage")
# A user line is decoded only when one of its timestamps is recent enough to matter.
_USER_MARKER = b'"user"'
_TIMESTAMP_BYTES = re.compile(rb'"timestamp"\s*:\s*"([^"\\]{1,64})"')
# `API Error: 429 {...}` (older Claude Code), `API Error: Request rejected (429) · ...` (2.1).
_HTTP_STATUS_IN_TEXT = re.compile(r"API Error:\s*(?:Request rejected\s*)?\(?(\d{3})\b")
# What a code-less error line's `error` class (or its HTTP status) says.
_CLASS_OF_ERROR_KIND = {
    "rate_limit": CodeClass.THROTTLED,
    "authentication_failed": CodeClass.AUTH_FAILED,
}


def default_root(environ: Mapping[str, str] | None = None) -> Path:
    """`$CLAUDE_CONFIG_DIR/projects`, else `~/.claude/projects`."""
    env = os.environ if environ is None else environ
    config_dir = env.get("CLAUDE_CONFIG_DIR", "").strip()
    base = Path(config_dir).expanduser() if config_dir else Path.home() / ".claude"
    return base / "projects"


def is_glm_model(model: object) -> bool:
    """A GLM model name: `glm-4.6`, `GLM-4.5-Air`, or with a provider prefix `zai/glm-4.6`."""
    return isinstance(model, str) and model.rsplit("/", 1)[-1].lower().startswith("glm-")


def parse_timestamp(value: object) -> datetime | None:
    """ISO 8601 as Claude Code writes it (`2026-11-27T10:00:00.123Z`), as an aware datetime."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    # Python 3.10 accepts only 3 or 6 fraction digits: normalise to 6.
    match = re.match(r"^(.*T\d{2}:\d{2}:\d{2})\.(\d+)(.*)$", text)
    if match:
        text = f"{match.group(1)}.{match.group(2)[:6].ljust(6, '0')}{match.group(3)}"
    try:
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is None:
            return moment.replace(tzinfo=timezone.utc)
        # A time that has no UTC equivalent (year 1 east of Greenwich) could not be
        # stored: it is no time at all for glmtray.
        moment.astimezone(timezone.utc)
    except (ValueError, OverflowError):
        return None
    return moment


@dataclass(frozen=True)
class ActivityRecord:
    """The latest GLM assistant message seen in one session."""

    session_id: str
    project: str
    """The session's working directory (`cwd`), else the encoded project folder name."""
    timestamp: datetime
    model: str


@dataclass(frozen=True)
class ApiErrorSignal:
    """A failed request recorded by Claude Code, with the platform's business code."""

    timestamp: datetime
    code: int | None
    message: str
    trace_id: str | None
    http_status: int | None
    session_id: str
    project: str
    dedup_key: str
    code_class: CodeClass | None = None
    """For an error without a code: what the line's `error` class or HTTP status says
    (`"rate_limit"`, 429: throttled). None: the code's own class."""

    def to_signal(self) -> Signal:
        return Signal(
            time=self.timestamp,
            source="transcript",
            code=self.code,
            message=self.message,
            trace_id=self.trace_id,
            dedup_key=self.dedup_key,
            http_status=self.http_status,
            code_class=self.code_class,
        )


@dataclass(frozen=True)
class ActivitySummary:
    sessions: int
    projects: int
    session_ids: tuple[str, ...]
    project_names: tuple[str, ...]
    """Display names (last path component of each project), sorted."""
    last_seen: datetime | None
    """The latest completed GLM reply of an active session (a success: the risk monitor
    clears a throttle with it); None when the active sessions only sent prompts."""
    last_prompt: datetime | None = None
    """The latest user line of an active session."""


@dataclass
class ScanResult:
    activity: list[ActivityRecord] = field(default_factory=list)
    """Latest GLM message per session among the lines read by this scan."""
    errors: list[ApiErrorSignal] = field(default_factory=list)
    bytes_read: int = 0
    files_seen: int = 0
    files_read: int = 0
    files_reset: int = 0
    """Files read again from 0 because they shrank or were replaced."""
    lines_parsed: int = 0
    malformed_lines: int = 0
    glm_messages: int = 0


@dataclass
class _FileState:
    offset: int = 0
    size: int = 0
    inode: int = 0
    mtime_ns: int = 0
    head: str = ""
    tail: str = ""
    """Fingerprint of the bytes just before `offset` ("" in state saved before it existed)."""
    uses_glm: bool = False
    """The session is the platform's: a GLM model replied, or the platform's error came."""
    other_model: bool = False
    """Another provider's model replied in it."""
    model: str = ""
    """The latest GLM model that replied."""

    def to_json(self) -> dict[str, Any]:
        return {
            "offset": self.offset,
            "size": self.size,
            "inode": self.inode,
            "mtime_ns": self.mtime_ns,
            "head": self.head,
            "tail": self.tail,
            "uses_glm": self.uses_glm,
            "other_model": self.other_model,
            "model": self.model,
        }

    @classmethod
    def from_json(cls, data: object) -> _FileState | None:
        if not isinstance(data, dict):
            return None
        try:
            state = cls(
                offset=int(data["offset"]),
                size=int(data["size"]),
                inode=int(data.get("inode", 0)),
                mtime_ns=int(data.get("mtime_ns", 0)),
                head=str(data.get("head", "")),
                tail=str(data.get("tail", "")),
                uses_glm=bool(data.get("uses_glm", False)),
                other_model=bool(data.get("other_model", False)),
                model=str(data.get("model", "")),
            )
        except (KeyError, TypeError, ValueError):
            return None
        return state if state.offset >= 0 and state.size >= 0 else None


def _head_fingerprint(path: Path, length: int) -> str:
    """Hash of the first `length` bytes: tells a rewritten file from an appended one."""
    if length <= 0:
        return ""
    with path.open("rb") as handle:
        return hashlib.sha1(handle.read(length), usedforsecurity=False).hexdigest()


def _tail_fingerprint(path: Path, offset: int) -> str:
    """Hash of the bytes just before `offset` (up to `TAIL_FINGERPRINT_BYTES`)."""
    start = max(0, offset - TAIL_FINGERPRINT_BYTES)
    if offset <= 0:
        return ""
    with path.open("rb") as handle:
        handle.seek(start)
        return hashlib.sha1(handle.read(offset - start), usedforsecurity=False).hexdigest()


class TranscriptReader:
    """Reads Claude Code transcripts under `root` incrementally. Not thread-safe: one
    worker thread calls `scan`; the UI reads the results it is handed."""

    def __init__(
        self,
        root: Path,
        state: dict[str, Any] | None = None,
        *,
        activity_retention: timedelta = DEFAULT_ACTIVITY_RETENTION,
        modified_since: datetime | None = None,
    ) -> None:
        """`modified_since`: read only files changed after it. For a one-off look at what
        is active now (`glmtray status`), where old sessions cannot matter."""
        self.root = Path(root)
        self.modified_since_ns = (
            int(modified_since.timestamp() * 1e9) if modified_since is not None else None
        )
        self.activity_retention = activity_retention
        self._files: dict[str, _FileState] = {}
        self._latest_activity: dict[str, ActivityRecord] = {}
        self._latest_prompts: dict[str, tuple[ActivityRecord, str]] = {}
        """Latest user line per session, with the file it is in (its provider decides)."""
        self.restore(state)

    def restore(self, state: dict[str, Any] | None) -> None:
        """Go back to offsets from `state()` (or none): used when what a scan found could
        not be stored, so that the next scan reads those lines again."""
        self._files = {}
        if state and state.get("version") == STATE_VERSION and isinstance(state.get("files"), dict):
            for name, data in state["files"].items():
                restored = _FileState.from_json(data)
                if restored is not None:
                    self._files[str(name)] = restored

    def state(self) -> dict[str, Any]:
        """JSON-serialisable offsets, to persist (e.g. `EventStore.set_state`)."""
        return {
            "version": STATE_VERSION,
            "files": {name: file.to_json() for name, file in sorted(self._files.items())},
        }

    def scan(self, now: datetime) -> ScanResult:
        result = ScanResult()
        latest_in_scan: dict[str, ActivityRecord] = {}
        present: set[str] = set()
        files, unlisted = self._transcript_files()
        for path in files:
            name = path.relative_to(self.root).as_posix()
            present.add(name)
            result.files_seen += 1
            try:
                self._scan_file(path, name, now, result, latest_in_scan)
            except OSError:
                # Deleted or unreadable between listing and reading: try again next scan.
                continue
        for gone in set(self._files) - present:
            # A folder that could not be listed this time still has its files.
            if not any(gone.startswith(folder) for folder in unlisted):
                del self._files[gone]
        for record in latest_in_scan.values():
            self._remember_activity(record)
        result.activity = sorted(latest_in_scan.values(), key=lambda r: r.timestamp)
        cutoff = now - self.activity_retention
        self._latest_activity = {
            sid: record
            for sid, record in self._latest_activity.items()
            if record.timestamp >= cutoff
        }
        self._latest_prompts = {
            sid: prompt
            for sid, prompt in self._latest_prompts.items()
            if prompt[0].timestamp >= cutoff
        }
        return result

    def active_sessions(
        self, window: timedelta = DEFAULT_ACTIVITY_WINDOW, now: datetime | None = None
    ) -> ActivitySummary:
        """The platform's sessions with a GLM reply or a user line within `window` before
        `now`."""
        moment = now or datetime.now(timezone.utc)
        cutoff = moment - window
        replies = [r for r in self._latest_activity.values() if r.timestamp >= cutoff]
        prompts = [
            record
            for record, file_name in self._latest_prompts.values()
            if record.timestamp >= cutoff and self._is_platform_file(file_name)
        ]
        latest: dict[str, ActivityRecord] = {}
        for record in [*replies, *prompts]:
            known = latest.get(record.session_id)
            if known is None or record.timestamp > known.timestamp:
                latest[record.session_id] = record
        projects = {r.project for r in latest.values()}
        return ActivitySummary(
            sessions=len(latest),
            projects=len(projects),
            session_ids=tuple(sorted(latest)),
            project_names=tuple(sorted({_display_name(p) for p in projects})),
            last_seen=max((r.timestamp for r in replies), default=None),
            last_prompt=max((r.timestamp for r in prompts), default=None),
        )

    # --- internals ---------------------------------------------------------------

    def _is_platform_file(self, name: str) -> bool:
        """Whether the session in file `name` talks to the platform; for one whose provider
        is not known yet, the latest file of known provider in its project folder (else
        anywhere) decides: that is where the coding tool is pointed now."""
        state = self._files.get(name)
        if state is None or state.uses_glm or state.other_model:
            return state is not None and state.uses_glm
        project = name.split("/", 1)[0] + "/"
        known = [
            (other.mtime_ns, other.uses_glm, other_name.startswith(project))
            for other_name, other in self._files.items()
            if other.uses_glm or other.other_model
        ]
        nearby = [(mtime, glm) for mtime, glm, same in known if same]
        candidates = nearby or [(mtime, glm) for mtime, glm, _ in known]
        return max(candidates)[1] if candidates else False

    def _remember_prompt(self, record: ActivityRecord, file_name: str) -> None:
        known = self._latest_prompts.get(record.session_id)
        if known is None or record.timestamp >= known[0].timestamp:
            self._latest_prompts[record.session_id] = (record, file_name)

    def _remember_activity(self, record: ActivityRecord) -> None:
        known = self._latest_activity.get(record.session_id)
        if known is None or record.timestamp >= known.timestamp:
            self._latest_activity[record.session_id] = record

    def _transcript_files(self) -> tuple[list[Path], list[str]]:
        """The transcript files, and the folders (relative, with a trailing /) that could
        not be listed this time."""
        found: list[Path] = []
        unlisted: list[str] = []
        if not self.root.is_dir():
            return found, unlisted
        pending: list[tuple[Path, int]] = [(self.root, 0)]
        while pending:
            folder, depth = pending.pop()
            try:
                with os.scandir(folder) as entries:
                    for entry in entries:
                        # Each entry on its own: a symlink loop or a file deleted since the
                        # listing raises here, and must cost only that entry.
                        try:
                            if entry.is_dir(follow_symlinks=False):
                                if depth < MAX_DEPTH:
                                    pending.append((Path(entry.path), depth + 1))
                            elif (
                                depth > 0
                                and entry.name.endswith(".jsonl")
                                and entry.is_file()
                                and self._recent_enough(entry)
                            ):
                                found.append(Path(entry.path))
                        except OSError:
                            continue
            except OSError:
                if depth > 0:
                    unlisted.append(folder.relative_to(self.root).as_posix() + "/")
                continue
        return sorted(found), unlisted

    def _recent_enough(self, entry: os.DirEntry[str]) -> bool:
        return self.modified_since_ns is None or entry.stat().st_mtime_ns >= self.modified_since_ns

    def _scan_file(
        self,
        path: Path,
        name: str,
        now: datetime,
        result: ScanResult,
        latest_in_scan: dict[str, ActivityRecord],
    ) -> None:
        stat = path.stat()
        known = self._files.get(name)
        if known is not None and (known.size, known.mtime_ns, known.inode) == (
            stat.st_size,
            stat.st_mtime_ns,
            stat.st_ino,
        ):
            return  # unchanged since the last scan
        replaced = known is not None and (
            stat.st_ino != known.inode
            or stat.st_size < known.offset
            or _head_fingerprint(path, min(known.offset, HEAD_FINGERPRINT_BYTES)) != known.head
            or (bool(known.tail) and _tail_fingerprint(path, known.offset) != known.tail)
        )
        if known is None or replaced:
            if replaced:
                result.files_reset += 1
            known = _FileState(inode=stat.st_ino)
        file_state = known
        session_fallback = path.stem
        project_fallback = path.relative_to(self.root).parts[0]

        def handle(line: bytes) -> None:
            try:
                self._handle_line(
                    line,
                    name,
                    file_state,
                    session_fallback,
                    project_fallback,
                    now,
                    result,
                    latest_in_scan,
                )
            except Exception as error:
                # Whatever one line does to the parsers, it must not stop the reader at this
                # line for good (the offset would never move past it): skip the line.
                result.malformed_lines += 1
                log.warning("transcript line skipped: %s", type(error).__name__)

        start = file_state.offset
        consumed, bytes_read = _read_complete_lines(path, start, handle)
        result.files_read += 1
        result.bytes_read += bytes_read
        file_state.offset = consumed
        file_state.size = stat.st_size
        file_state.mtime_ns = stat.st_mtime_ns
        file_state.inode = stat.st_ino
        if start < HEAD_FINGERPRINT_BYTES:
            file_state.head = _head_fingerprint(path, min(consumed, HEAD_FINGERPRINT_BYTES))
        if consumed != start or not file_state.tail:
            file_state.tail = _tail_fingerprint(path, consumed)
        self._files[name] = file_state

    def _handle_line(
        self,
        line: bytes,
        file_name: str,
        file_state: _FileState,
        session_fallback: str,
        project_fallback: str,
        now: datetime,
        result: ScanResult,
        latest_in_scan: dict[str, ActivityRecord],
    ) -> None:
        if not any(marker in line for marker in _INTERESTING) and not (
            _USER_MARKER in line and _has_recent_timestamp(line, now - self.activity_retention)
        ):
            return
        try:
            entry = json.loads(line)
        # ValueError: JSONDecodeError and UnicodeDecodeError. RecursionError: a line
        # nested deeper than the parser's stack; skipped, else it fails every scan.
        except (ValueError, RecursionError):
            result.malformed_lines += 1
            return
        if not isinstance(entry, dict):
            result.malformed_lines += 1
            return
        result.lines_parsed += 1
        session_id = _text(entry.get("sessionId")) or session_fallback
        project = _text(entry.get("cwd")) or project_fallback
        if entry.get("type") == "user":
            timestamp = parse_timestamp(entry.get("timestamp"))
            if timestamp is not None and timestamp >= now - self.activity_retention:
                record = ActivityRecord(session_id, project, timestamp, file_state.model)
                self._remember_prompt(record, file_name)
            return
        message = entry.get("message")
        message = message if isinstance(message, dict) else {}
        model = message.get("model")

        if entry.get("isApiErrorMessage") is True or (
            entry.get("error") and model == "<synthetic>"
        ):
            try:
                error = _api_error(entry, message, session_id, project, now, line)
            except RecursionError:  # an `error` field too deep to serialise again
                result.malformed_lines += 1
                return
            if error is not None and _is_platform_code(error.code):
                # The platform's own error: the session is the platform's even when no
                # GLM reply ever came (its first request failed).
                file_state.uses_glm = True
            if error is not None and file_state.uses_glm:
                result.errors.append(error)
            return

        if entry.get("type") == "assistant" and isinstance(model, str) and not is_glm_model(model):
            if model and model != "<synthetic>":
                file_state.other_model = True
            return
        if entry.get("type") == "assistant" and is_glm_model(model):
            file_state.uses_glm = True
            file_state.model = str(model)[:MAX_MODEL_CHARS]
            result.glm_messages += 1
            timestamp = parse_timestamp(entry.get("timestamp"))
            if timestamp is None:
                return
            record = ActivityRecord(session_id, project, timestamp, str(model))
            known = latest_in_scan.get(session_id)
            if known is None or timestamp >= known.timestamp:
                latest_in_scan[session_id] = record


def _read_complete_lines(
    path: Path, start: int, handle: Callable[[bytes], None]
) -> tuple[int, int]:
    """Feed each complete line from `start` on to `handle`.

    Returns (offset just past the last line consumed, bytes read). Memory stays bounded
    by the chunk size plus the longest line.
    """
    consumed = start
    bytes_read = 0
    pieces: list[bytes] = []
    pending = 0
    oversized = False
    with path.open("rb") as source:
        source.seek(start)
        while True:
            chunk = source.read(CHUNK_BYTES)
            if not chunk:
                break
            bytes_read += len(chunk)
            first_newline = chunk.find(b"\n")
            if first_newline < 0:
                if not oversized:
                    pieces.append(chunk)
                    pending += len(chunk)
                    if pending > MAX_LINE_BYTES:
                        pieces, pending, oversized = [], 0, True
                continue
            if not oversized:
                handle(b"".join([*pieces, chunk[:first_newline]]))
            oversized = False
            last_newline = chunk.rfind(b"\n")
            if last_newline > first_newline:
                for line in chunk[first_newline + 1 : last_newline].split(b"\n"):
                    handle(line)
            tail = chunk[last_newline + 1 :]
            pieces, pending = ([tail], len(tail)) if tail else ([], 0)
            consumed = start + bytes_read - len(tail)
    if pieces and not oversized:
        remainder = b"".join(pieces)
        if _is_complete_object(remainder):
            handle(remainder)
            consumed += len(remainder)
    return consumed, bytes_read


def _has_recent_timestamp(line: bytes, cutoff: datetime) -> bool:
    """Whether a timestamp in the raw line is at or after `cutoff`: a look without
    decoding the line (which may hold megabytes of tool output)."""
    for match in _TIMESTAMP_BYTES.finditer(line):
        moment = parse_timestamp(match.group(1).decode("ascii", "replace"))
        if moment is not None and moment >= cutoff:
            return True
    return False


def _is_complete_object(data: bytes) -> bool:
    stripped = data.strip()
    if not stripped.endswith(b"}"):
        return False
    try:
        return isinstance(json.loads(stripped), dict)
    except (ValueError, RecursionError):
        return False


def _is_platform_code(code: int | None) -> bool:
    # The platform's business codes are four digits from 1000; other providers' numeric
    # codes (HTTP-like 400, 529) in a session that never used GLM are not ours.
    return code is not None and 1000 <= code <= 1999


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _display_name(project: str) -> str:
    trimmed = project.rstrip("/\\")
    return re.split(r"[/\\]", trimmed)[-1] if trimmed else project


def _api_error(
    entry: dict[str, Any],
    message: dict[str, Any],
    session_id: str,
    project: str,
    now: datetime,
    raw_line: bytes,
) -> ApiErrorSignal | None:
    texts = _texts_of(message.get("content"))
    error_field = entry.get("error")
    if isinstance(error_field, dict):
        texts.append(json.dumps(error_field))
    text = "\n".join(texts)
    code, platform_message, trace_id = parse_business_error(text)
    status = entry.get("apiErrorStatus")
    http_status = status if isinstance(status, int) and not isinstance(status, bool) else None
    if http_status is None:
        match = _HTTP_STATUS_IN_TEXT.search(text)
        http_status = int(match.group(1)) if match else None
    if code is None and not text and http_status is None:
        return None
    code_class: CodeClass | None = None
    if code is None:
        kind = error_field if isinstance(error_field, str) else ""
        code_class = _CLASS_OF_ERROR_KIND.get(kind)
        if code_class is None and http_status == 429:
            code_class = CodeClass.THROTTLED
    timestamp = parse_timestamp(entry.get("timestamp")) or now
    # The line's uuid is stable across re-reads of a replaced file; a hash of the raw
    # line is the fallback for lines without one.
    line_id = (
        _text(entry.get("uuid"))
        or hashlib.sha1(raw_line.strip(), usedforsecurity=False).hexdigest()
    )
    return ApiErrorSignal(
        timestamp=timestamp,
        code=code,
        message=redact(platform_message or text.strip())[:1000],
        trace_id=redact(trace_id) if trace_id else None,
        http_status=http_status,
        session_id=session_id,
        project=project,
        dedup_key=f"transcript:{session_id}:{line_id}",
        code_class=code_class,
    )


def _texts_of(content: object) -> list[str]:
    if isinstance(content, str):
        return [content]
    texts: list[str] = []
    if isinstance(content, list):
        for part in content:
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                texts.append(part["text"])
            elif isinstance(part, str):
                texts.append(part)
    return texts
