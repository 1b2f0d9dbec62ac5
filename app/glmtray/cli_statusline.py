"""`glmtray statusline`: one short line for Claude Code's `statusLine` command.

    GLM Pro · 5h 17% ⟳16:45 · wk 3% · off-peak ½

Claude Code runs the command at every change of the conversation (at most every 300 ms),
pipes it a JSON description of the session on stdin and shows the first line of its
stdout, ANSI colours included. So the line comes from the snapshot the tray (or the last
`glmtray status`) saved in the user cache folder (`glmtray.snapshot`), and the platform is
asked only when that snapshot is older than the `statusline_max_age_seconds` setting (60 s
by default), by one process at a time, not again for that long after a failure, and
never for longer than about 1.5 s: past that the last value is printed, marked as old.

This is a fast command (`glmtray.cli.FAST_COMMANDS`): with a fresh snapshot it imports
json, datetime and gettext and nothing of the platform client, the keyring or Qt.
"""

from __future__ import annotations

import os
import sys
import time

from glmtray.i18n import N_, _
from glmtray.snapshot import (
    RESTRICTION_SHOWN_SECONDS,
    THROTTLE_SHOWN_SECONDS,
    age_seconds,
    config_dir,
    parse_time,
    read_signals,
    read_snapshot,
    signals_path,
    snapshot_path,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence
    from typing import Any

FETCH_BUDGET_SECONDS = 1.3
"""The most the command waits for the platform (keyring included); with Python's start
and the printing, the answer comes within about 1.5 s."""
DEFAULT_MAX_AGE_SECONDS = 60
STDIN_WAIT_SECONDS = 0.05
"""Claude Code writes its JSON as it starts the command; an open pipe with nothing in it
(another caller) is not waited on longer than this."""
MAX_STDIN_BYTES = 256 * 1024
ATTEMPT_FILE = "statusline-attempt"
"""Beside the snapshot: when the status line last asked the platform, and a lock held
while it asks, so that many sessions of Claude Code make one request, not one each."""

FIELDS = {
    "plan": N_("the plan: GLM Pro"),
    "5h": N_("the 5-hour window: share used and reset time (5h 17% ⟳16:45)"),
    "week": N_("the weekly window: share used (wk 3%), its reset once it is nearly used up"),
    "tools": N_("the monthly tool-call window (tools 4%)"),
    "windows": N_("every window the plan has, in the platform's order"),
    "blocking": N_("only the window closest to its limit"),
    "peak": N_("peak or off-peak now, and how much usage counts (off-peak ½, peak 1×)"),
    "age": N_("how old the data is (2m ago), also when it is fresh"),
}
"""The fields `--format` picks from (documented in --help and the README)."""
DEFAULT_FORMAT = "plan,5h,week,peak"
SEPARATOR = " · "

WARN_SHARE = 80.0
"""At or above: yellow (the tray's first notification threshold)."""
DANGER_SHARE = 95.0
"""At or above: red."""
RESET_SHOWN_FROM = 90.0
"""Windows other than the 5-hour one show their reset time from this share on."""

GREEN, YELLOW, RED, BOLD, DIM, RESET = (
    "\033[32m",
    "\033[33m",
    "\033[31m",
    "\033[1m",
    "\033[2m",
    "\033[0m",
)

HELP = _("one short line for Claude Code's status line, from the last saved state")
_DESCRIPTION = _(
    "Print one short line for Claude Code's statusLine command, e.g.\n"
    "  GLM Pro · 5h 17% ⟳16:45 · wk 3% · off-peak ½\n"
    "It answers from the state the tray or 'glmtray status' last saved, and asks the\n"
    "platform only when that is older than the statusline_max_age_seconds setting\n"
    "(60 s by default), waiting at most about 1.5 s: past that the last value is shown\n"
    "marked as old, e.g. (5m old). The JSON Claude Code sends on stdin is read and ignored.\n"
    "A locked or restricted account and a used-up window are always shown.\n"
    "\n"
    "fields for --format (comma-separated, in the order given):\n"
    "{fields}\n"
    "\n"
    "colours: green below 80 %, yellow from 80 %, red from 95 %, bold for the window\n"
    "closest to its limit. --color=auto (the default) colours a terminal, and Claude Code,\n"
    "recognised by the JSON it sends on stdin (it shows ANSI colours); NO_COLOR set to\n"
    "anything or TERM=dumb turns auto off; --color=always or never decides outright."
)


DESCRIPTION = _DESCRIPTION.replace(
    "{fields}", "\n".join(f"  {name:<9} {_(text)}" for name, text in FIELDS.items())
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    import argparse

    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument(
        "--format",
        default=DEFAULT_FORMAT,
        metavar="FIELDS",
        help=_("comma-separated fields to show (default: {default}); listed above").format(
            default=DEFAULT_FORMAT
        ),
    )
    parser.add_argument(
        "--color",
        "--colour",
        dest="color",
        choices=("auto", "always", "never"),
        default="auto",
        help=_("ANSI colours (default: auto)"),
    )
    parser.add_argument(
        "--no-fetch",
        action="store_true",
        help=_("never ask the platform: show the saved state, however old"),
    )


def main(argv: Sequence[str]) -> int:
    options = quick_options(list(argv))
    if options is None:  # --help, a mistake or a form not read here: argparse answers
        import argparse

        parser = argparse.ArgumentParser(prog="glmtray statusline", description=DESCRIPTION)
        add_arguments(parser)
        args = parser.parse_args(list(argv))
        options = (args.format, args.color, args.no_fetch)
    return show(*options)


def quick_options(argv: list[str]) -> tuple[str, str, bool] | None:
    """--format, --color and --no-fetch as Claude Code's settings pass them, read without
    argparse (whose import and help formatter cost the status line a tenth of its start);
    None for anything else."""
    values = {"--format": DEFAULT_FORMAT, "--color": "auto"}
    no_fetch = False
    rest = list(argv)
    while rest:
        word = rest.pop(0)
        name, given, value = word.partition("=")
        name = "--color" if name == "--colour" else name
        if word == "--no-fetch":
            no_fetch = True
        elif name in values and given:
            values[name] = value
        elif name in values and rest and not rest[0].startswith("-"):
            values[name] = rest.pop(0)
        else:
            return None
    if values["--color"] not in ("auto", "always", "never"):
        return None
    return values["--format"], values["--color"], no_fetch


def run(args: argparse.Namespace) -> int:
    return show(args.format, args.color, args.no_fetch)


def show(format_text: str, color_choice: str, no_fetch: bool) -> int:
    """Print the status line: `format_text` names the fields, `color_choice` is auto,
    always or never, `no_fetch` keeps the platform out of it."""
    started = time.monotonic()
    fields = [name.strip() for name in format_text.split(",") if name.strip()]
    unknown = [name for name in fields if name not in FIELDS]
    if unknown or not fields:
        print(
            _("glmtray: unknown --format field {names}; known: {known}").format(
                names=", ".join(unknown) or "''", known=", ".join(FIELDS)
            ),
            file=sys.stderr,
        )
        return 1
    claude_input = read_stdin_json()
    color = use_color(color_choice, claude_input is not None)
    path = snapshot_path()
    data = read_snapshot(path)
    problem: str | None = None
    max_age = saved_max_age()
    if not no_fetch and (data is None or age_seconds(data) > max_age):
        fetched, problem = refresh(path, max_age, started + FETCH_BUDGET_SECONDS)
        data = fetched or data
    signals = read_signals(signals_path(path))
    line = render(data, fields, max_age, problem, color=color, signals=signals)
    try:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()
    except (BrokenPipeError, ValueError):  # Claude Code stopped reading: nothing to say
        # Python's documented way out: stdout pointed at devnull, so that the flush at
        # exit does not complain on stderr.
        import contextlib

        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


# -- input ------------------------------------------------------------------------------


def read_stdin_json() -> dict[str, Any] | None:
    """What Claude Code sent on stdin, when it is a JSON object; None otherwise. Never
    blocks: nothing is read from a terminal, and a pipe only as long as it gives data
    within a few milliseconds (the caller may hold it open and send nothing)."""
    raw = _read_available_stdin()
    if not raw.strip():
        return None
    import json

    try:
        data = json.loads(raw.decode("utf-8", "replace"))
    except (ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def _read_available_stdin() -> bytes:
    stream = sys.stdin
    try:
        if stream is None or stream.isatty():
            return b""
        fd = stream.fileno()
        import select

        chunks: list[bytes] = []
        size = 0
        deadline = time.monotonic() + STDIN_WAIT_SECONDS
        while size < MAX_STDIN_BYTES:
            ready, _w, _x = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                break
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)
    except (OSError, ValueError):  # closed, not selectable (Windows pipes): not needed
        return b""


def use_color(choice: str, from_claude_code: bool) -> bool:
    """--color=always/never decide; auto: never with NO_COLOR (any value) or TERM=dumb,
    else for a terminal, and for Claude Code (which pipes stdout and shows ANSI colours)."""
    if choice in ("always", "never"):
        return choice == "always"
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    if from_claude_code:
        return True
    try:
        return sys.stdout is not None and sys.stdout.isatty()
    except (OSError, ValueError):
        return False


def saved_max_age() -> int:
    """The `statusline_max_age_seconds` setting, read straight from the settings file:
    loading `glmtray.settings` (platformdirs, the region table) would double the status
    line's start. Clamped as `Settings.normalized` does; the default for anything odd,
    and the file is never changed here (the tray and the other commands repair it)."""
    import json

    try:
        with open(os.path.join(config_dir(), "settings.json"), "rb") as handle:
            data = json.loads(handle.read(1024 * 1024).decode("utf-8-sig"))
        value = data["statusline_max_age_seconds"]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(value)
        return min(86400, max(5, int(value)))
    except (OSError, ValueError, TypeError, KeyError, OverflowError, RecursionError):
        return DEFAULT_MAX_AGE_SECONDS


# -- asking the platform (the slow path) ----------------------------------------------


def refresh(path: str, max_age: int, deadline: float) -> tuple[dict[str, Any] | None, str | None]:
    """A fresh snapshot, saved, or None with what went wrong (a `PROBLEMS` key). When
    another process is asking, or the last attempt is less than `max_age` old, nothing is
    asked: None, with the reason that attempt ended on, if it failed. Waits until
    `deadline` (monotonic) at most; a request still running then is left behind and ends
    with the process."""
    attempt, last_problem = _claim_attempt(
        os.path.join(os.path.dirname(path), ATTEMPT_FILE), max_age
    )
    if attempt is None:
        return None, last_problem
    import threading

    outcome: list[tuple[dict[str, Any] | None, str | None]] = []

    def fetch() -> None:
        try:
            outcome.append(_fetch_and_save(path, deadline))
        except Exception as error:  # told as a short reason, never with details
            outcome.append((None, _problem_code(error)))

    worker = threading.Thread(target=fetch, name="glmtray-statusline", daemon=True)
    worker.start()
    worker.join(max(0.0, deadline - time.monotonic()))
    record, problem = outcome[0] if outcome else (None, "timeout")
    try:
        if problem:  # said again by the calls that do not ask until the next attempt
            os.write(attempt, f"{problem}\n".encode("ascii"))
        else:  # the snapshot is fresh now, and says when to ask next
            os.ftruncate(attempt, 0)
    except OSError:
        pass
    finally:
        os.close(attempt)  # releases the lock
    return record, problem


def _claim_attempt(attempt_path: str, max_age: int) -> tuple[int | None, str | None]:
    """The attempt file, locked and stamped with now, ready for the outcome's line; or
    None when another process holds it or the last attempt failed less than `max_age`
    ago, with the problem it ended on (a successful attempt empties the file)."""
    try:
        os.makedirs(os.path.dirname(attempt_path), mode=0o700, exist_ok=True)
        fd = os.open(attempt_path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:
        return None, None
    try:
        try:
            import fcntl
        except ImportError:  # Windows: no lock; the attempt time still spaces requests
            fcntl = None  # type: ignore[assignment]
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                return None, None
        lines = os.read(fd, 256).decode("ascii", "replace").split("\n")
        try:
            last = float(lines[0])
        except ValueError:
            last = float("nan")
        now = time.time()
        if last == last and 0 <= now - last < max_age:
            os.close(fd)
            problem = lines[1].strip() if len(lines) > 1 else ""
            return None, problem if problem in PROBLEMS else None
        os.lseek(fd, 0, os.SEEK_SET)
        os.ftruncate(fd, 0)
        os.write(fd, f"{now:.3f}\n".encode("ascii"))
        return fd, None
    except OSError:
        os.close(fd)
        return None, None


def _fetch_and_save(path: str, deadline: float) -> tuple[dict[str, Any] | None, str | None]:
    from glmtray.credentials import Account, CredentialStore
    from glmtray.platform.client import PlatformClient, Timeouts
    from glmtray.redact import install_log_redaction
    from glmtray.settings import SettingsStore
    from glmtray.snapshot import snapshot_record, write_snapshot

    install_log_redaction()
    settings = SettingsStore().load().settings
    account = Account(settings.region, settings.account_label)
    key = os.environ.get("GLMTRAY_API_KEY", "").strip()
    if not key:
        store = CredentialStore()
        remaining = max(0.05, deadline - time.monotonic())
        key = store.bounded(lambda: store.get(Account(settings.region)), remaining) or ""
    if not key:
        return None, "no_key"
    base_url = os.environ.get("GLMTRAY_BASE_URL") or settings.base_url
    remaining = max(0.1, deadline - time.monotonic())
    timeouts = Timeouts(connect=remaining, read=remaining, total=remaining)
    with PlatformClient(key, settings.region, base_url=base_url, timeouts=timeouts) as client:
        snapshot = client.snapshot(include_subscription=False, within=remaining)
    record = snapshot_record(
        snapshot,
        account,
        peak_rule=settings.peak_rule,
        peak_hours=settings.peak_hours,
        previous=read_snapshot(path),
    )
    if record is None:
        problems = list(snapshot.problems.values())
        return None, _problem_code(problems[0]) if problems else "unavailable"
    import contextlib

    with contextlib.suppress(OSError):  # shown now all the same; asked again after max_age
        write_snapshot(record, path)
    return record, None


PROBLEMS = {
    "no_key": N_("run glmtray login"),
    "auth": N_("key not accepted: run glmtray login"),
    "keyring": N_("keyring not answering"),
    "rate": N_("platform rate limit"),
    "address": N_("bad platform address"),
    "timeout": N_("platform not answering"),
    "unavailable": N_("platform unavailable"),
}
"""Why the platform gave nothing, in a few words (never an error's own text, which could
name a proxy or a path); the key is what the attempt file keeps."""


def _problem_code(error: BaseException) -> str:
    name = type(error).__name__
    if name == "AuthenticationFailed":
        return "auth"
    if name in ("KeyringLocked", "KeyringUnresponsive", "CredentialError"):
        return "keyring"
    if name == "RateLimited":
        return "rate"
    if name == "InsecureBaseUrl":
        return "address"
    return "unavailable"


# -- the line -------------------------------------------------------------------------


def render(
    data: dict[str, Any] | None,
    fields: list[str],
    max_age: float,
    problem: str | None = None,
    *,
    color: bool = False,
    now: float | None = None,
    signals: dict[str, Any] | None = None,
) -> str:
    """The status line for `data` (a saved snapshot), with the `fields` asked for;
    `problem` (a `PROBLEMS` key): why the platform gave nothing newer; `signals`: what the
    meter saw since (`glmtray.snapshot.read_signals`)."""
    moment = time.time() if now is None else now
    if data is not None and signals is not None:
        data = with_signals(data, signals, moment)

    def paint(text: str, *codes: str) -> str:
        return "".join(codes) + text + RESET if color and codes else text

    reason = _(PROBLEMS[problem]) if problem in PROBLEMS else None
    if data is None:
        reason = reason or _(PROBLEMS["no_key"])
        return paint(_("GLM: no data ({reason})").format(reason=reason), DIM)
    tier = data.get("tier")
    plan = _("GLM {tier}").format(tier=tier.capitalize()) if isinstance(tier, str) else "GLM"
    saved_risk = data.get("risk")
    risk: dict[str, Any] = saved_risk if isinstance(saved_risk, dict) else {}
    windows: list[dict[str, Any]] = [w for w in data.get("windows", []) if isinstance(w, dict)]
    parts: list[str] = []
    if "plan" in fields:
        parts.append(plan)
    # What stops all coding is shown whatever the format.
    if risk.get("locked") is True:
        parts.append(paint(_("LOCKED: contact support"), BOLD, RED))
    elif risk.get("restricted") is True:
        parts.append(paint(_("RESTRICTED"), BOLD, RED))
    if data.get("no_plan") is True:
        parts.append(paint(_("no active coding plan"), BOLD, RED))
    elif data.get("has_windows") is False and not windows and risk.get("locked") is not True:
        parts.append(_("no quota windows"))
    throttle = data.get("throttle")
    if isinstance(throttle, int) and not isinstance(throttle, bool):
        parts.append(paint(_("Throttled ({code})").format(code=throttle), BOLD, YELLOW))
    blocking = data.get("blocking_window")
    shown: set[int] = set()
    stale = age_seconds(data, moment) > max_age  # then the age goes in the old-value mark
    for name in fields:
        chosen: list[dict[str, Any]] = []
        if name == "5h":
            chosen = [w for w in windows if w.get("key") == "five_hour"]
        elif name == "week":
            chosen = [w for w in windows if w.get("key") == "weekly"]
        elif name == "tools":
            chosen = [w for w in windows if w.get("key") == "monthly_tools"]
        elif name == "windows":
            chosen = windows
        elif name == "blocking":
            chosen = [w for w in windows if w.get("key") == blocking][:1]
        elif name == "peak":
            text = _peak_text(data.get("peak"), moment)
            if text:
                parts.append(text)
        elif name == "age" and not stale:
            parts.append(_("{age} ago").format(age=_short_age(age_seconds(data, moment))))
        for window in chosen:
            if id(window) in shown:
                continue
            shown.add(id(window))
            parts.append(_window_text(window, window.get("key") == blocking, paint, moment))
    # A used-up window stops coding: shown even when the format leaves it out.
    for window in windows:
        if id(window) not in shown and _share(window) >= 100:
            parts.append(_window_text(window, window.get("key") == blocking, paint, moment))
    line = SEPARATOR.join(part for part in parts if part) or plan
    if stale:
        age = age_seconds(data, moment)
        old = _("({age} old)").format(age=_short_age(age))
        if reason:
            old = _("({age} old: {reason})").format(age=_short_age(age), reason=reason)
        line = f"{line} {paint(old, DIM)}"
    return line


def with_signals(data: dict[str, Any], signals: dict[str, Any], now: float) -> dict[str, Any]:
    """`data` with what the meter saw in coding answers: a window the platform said is used
    up (until the reset it named, or an answer gets through; the meter then clears it),
    throttling (likewise, or for a quarter of an hour), a restriction or a lock (for hours
    after the last sign of it). Signals of another account change nothing."""
    if signals.get("account") != data.get("account"):
        return data
    fetched = parse_time(data.get("fetched_at")) or 0.0
    windows: list[Any] = list(data.get("windows", []))
    limits = signals.get("limits")
    for key, hit in (limits if isinstance(limits, dict) else {}).items():
        seen = parse_time(hit.get("seen_at")) if isinstance(hit, dict) else None
        if seen is None:
            continue
        back = parse_time(hit.get("back_at"))
        # The refusal names when coding works again, and that is what counts: the quota's
        # share can still read below 100 % then. Without a time, a later fetch decides.
        if back is not None and back <= now:
            continue  # the window has reset since
        if back is None and (seen <= fetched or now - seen > THROTTLE_SHOWN_SECONDS):
            continue
        place = next(
            (i for i, w in enumerate(windows) if isinstance(w, dict) and w.get("key") == key),
            None,
        )
        used_up = {"key": key, "share": 100.0, "resets_at": hit.get("back_at")}
        if place is None:
            windows.append(used_up)
        else:
            old = windows[place]
            windows[place] = {
                **old,
                **used_up,
                "resets_at": hit.get("back_at") or old.get("resets_at"),
            }
    data = {**data, "windows": windows}
    throttle = signals.get("throttle")
    if isinstance(throttle, dict) and (parse_time(throttle.get("until")) or 0.0) > now:
        data["throttle"] = throttle.get("code")
    risk = dict(data["risk"]) if isinstance(data.get("risk"), dict) else {}
    for name in ("restricted", "locked"):
        sign = signals.get(name)
        seen = parse_time(sign.get("seen_at")) if isinstance(sign, dict) else None
        if seen is not None and 0 <= now - seen < RESTRICTION_SHOWN_SECONDS:
            risk[name] = True
    data["risk"] = risk
    return data


def _share(window: dict[str, Any]) -> float:
    share = window.get("share")
    return float(share) if isinstance(share, (int, float)) and not isinstance(share, bool) else 0.0


def _short_label(window: dict[str, Any]) -> str:
    key = window.get("key")
    if key == "five_hour":
        return _("5h")
    if key == "weekly":
        return _("wk")
    if key == "monthly_tools":
        return _("tools")
    number, unit = window.get("number"), window.get("unit")
    suffix = {3: _("h"), 6: _("w"), 5: _("mo")}.get(unit) if isinstance(unit, int) else None
    if suffix and isinstance(number, int) and number > 0:
        return f"{number}{suffix}"
    label = window.get("label")
    return label[:12] if isinstance(label, str) and label else str(key)[:12]


def _window_text(window: dict[str, Any], blocking: bool, paint: Any, now: float) -> str:
    share = _share(window)
    label = _short_label(window)
    reset_at = parse_time(window.get("resets_at"))
    when = _clock(reset_at, now) if reset_at is not None else None
    if share >= 100:
        text = (
            _("{label} limit reached, back {when}").format(label=label, when=when)
            if when
            else _("{label} limit reached").format(label=label)
        )
        return str(paint(text, BOLD, RED))
    colour = RED if share >= DANGER_SHARE else YELLOW if share >= WARN_SHARE else GREEN
    text = _("{label} {share}%").format(label=label, share=f"{share:.0f}")
    if when and (window.get("key") == "five_hour" or share >= RESET_SHOWN_FROM):
        text = _("{window} ⟳{when}").format(window=text, when=when)
    return str(paint(text, BOLD, colour) if blocking else paint(text, colour))


def _clock(moment: float, now: float) -> str:
    """Local time in the user's language: 16:45 today, Tue 09:00 within the week,
    12 Feb 09:00 beyond."""
    from datetime import datetime

    from glmtray.i18n import near_moment

    try:
        local = datetime.fromtimestamp(moment).astimezone()
    except (OverflowError, OSError, ValueError):
        return "?"
    return near_moment(local, datetime.fromtimestamp(now).astimezone())


def _short_age(seconds: float) -> str:
    if seconds == float("inf"):
        return "?"
    whole = int(seconds)
    if whole < 60:
        return _("{n}s").format(n=whole)
    if whole < 3600:
        return _("{n}m").format(n=whole // 60)
    if whole < 86400:
        return _("{n}h").format(n=whole // 3600)
    return _("{n}d").format(n=whole // 86400)


def _peak_text(periods: object, now: float) -> str | None:
    """The saved peak period that holds `now` (see `glmtray.snapshot.peak_schedule`)."""
    if not isinstance(periods, list):
        return None
    current: dict[str, Any] | None = None
    for period in periods:
        if not isinstance(period, dict):
            return None
        start = parse_time(period.get("from"))
        if start is None or start > now:
            break
        current = period
    if current is None or not isinstance(current.get("peak"), bool):
        return None  # before the schedule, or past its end
    multiplier = current.get("multiplier")
    if isinstance(multiplier, bool) or not isinstance(multiplier, (int, float)):
        return None
    counts = "½" if multiplier == 0.5 else f"{multiplier:g}×"
    if current["peak"]:
        return _("peak {counts}").format(counts=counts)
    return _("off-peak {counts}").format(counts=counts)
