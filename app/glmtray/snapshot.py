"""The last state of the account, saved for `glmtray statusline` in the user cache folder.

The running tray (a `SnapshotWriter` among its fetch recorders) and `glmtray status` save
it after each good fetch; the status line, which Claude Code runs many times a minute,
answers from it without touching the platform. It is a small JSON file with a schema
version, written atomically (temp file, fsync, `os.replace`, mode 0600), and it never
holds the key: only what the status line shows.

Reading it is on the status line's fast path, so this module imports nothing heavy at
module level (json, os, sys and time): the platform models, peak rules, settings and
platformdirs are loaded only by the code that writes.

Beside it, `signals.json` holds what the local meter saw in coding answers since: a used-up
window with the moment the platform names for its reset, throttling, a restriction or a
lock. Coding tools meet these before any fetch of the quota does, and Claude Code runs the
status line between its retries, so the line shows them at once (`note_business_error`,
`note_success`, `read_signals`).

Times are ISO 8601 in UTC ("2026-12-01T08:45:00Z"), as `status --json` gives them.
"""

from __future__ import annotations

import json
import os
import sys
import time

from glmtray.atomic_file import replace_file

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime
    from typing import Any

    from glmtray.credentials import Account
    from glmtray.platform.models import Snapshot
    from glmtray.settings import Settings

APP_NAME = "glmtray"
FILE_NAME = "snapshot.json"
SIGNALS_FILE_NAME = "signals.json"
THROTTLE_SHOWN_SECONDS = 15 * 60
"""How long throttling is shown after the last refusal, unless an answer comes through
first (the risk monitor's transient window)."""
RESTRICTION_SHOWN_SECONDS = 6 * 3600
"""How long a restriction or a lock the meter saw is shown after the last sign of it (the
risk monitor's quiet period)."""
SCHEMA_VERSION = 1
"""Raised only for a change an older glmtray would misread; readers refuse a newer one."""
MAX_SNAPSHOT_BYTES = 64 * 1024
"""A snapshot is well under a kilobyte; anything larger is not one."""
PEAK_SCHEDULE_DAYS = 8
"""How far ahead the peak periods are saved: the status line looks the current one up
instead of loading the peak rules (it shows nothing past the end of the schedule)."""


def _xdg_linux_dir(variable: str, fallback: str) -> str | None:
    """platformdirs' rule for a Linux user folder (an absolute $XDG_* value, else the
    fallback under an absolute $HOME), without importing platformdirs (pathlib, tempfile
    and more: about a third of the status line's start). None where that rule is not the
    one platformdirs applies, or not certainly (other systems, Android, no usable HOME)."""
    if not sys.platform.startswith("linux") or os.environ.get("ANDROID_DATA"):
        return None
    value = os.environ.get(variable, "")
    if os.path.isabs(value):
        return os.path.join(value, APP_NAME)
    home = os.environ.get("HOME", "")
    if not os.path.isabs(home):
        return None
    return os.path.join(home, fallback, APP_NAME)


def cache_dir() -> str:
    """platformdirs' user cache folder for glmtray (XDG_CACHE_HOME or ~/.cache on Linux)."""
    quick = _xdg_linux_dir("XDG_CACHE_HOME", ".cache")
    if quick is not None:
        return quick
    import platformdirs

    return str(platformdirs.user_cache_dir(APP_NAME, appauthor=False))


def config_dir() -> str:
    """platformdirs' user config folder for glmtray (`glmtray.settings.config_dir`)."""
    quick = _xdg_linux_dir("XDG_CONFIG_HOME", ".config")
    if quick is not None:
        return quick
    import platformdirs

    return str(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def snapshot_path() -> str:
    return os.path.join(cache_dir(), FILE_NAME)


def signals_path(snapshot: str | None = None) -> str:
    """The meter's signals file, beside the snapshot (`snapshot`, else the usual one)."""
    return os.path.join(os.path.dirname(snapshot or snapshot_path()), SIGNALS_FILE_NAME)


# -- reading (the status line's fast path) ---------------------------------------------


def read_snapshot(path: str | None = None) -> dict[str, Any] | None:
    """The saved snapshot, or None when there is none or it cannot be used (damaged,
    truncated, from a newer glmtray, not a regular file): the status line then says it
    has no data rather than failing. Never raises for what the file holds."""
    data = _read_json(path or snapshot_path())
    return data if isinstance(data, dict) and _usable(data) else None


def _read_json(target: str) -> object:
    """The JSON in a small regular file; None for anything else. Never raises."""
    try:
        # O_NONBLOCK: a FIFO put in its place must not hold the status line.
        fd = os.open(target, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    try:
        import stat

        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        raw = os.read(fd, MAX_SNAPSHOT_BYTES + 1)
    except OSError:
        return None
    finally:
        os.close(fd)
    if len(raw) > MAX_SNAPSHOT_BYTES:
        return None
    try:
        return json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):
        return None


def _usable(data: object) -> bool:
    if not isinstance(data, dict):
        return False
    version = data.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        return False
    if version > SCHEMA_VERSION:
        return False
    if parse_time(data.get("fetched_at")) is None:
        return False
    windows = data.get("windows")
    if not isinstance(windows, list):
        return False
    for window in windows:
        if not isinstance(window, dict) or not isinstance(window.get("key"), str):
            return False
        share = window.get("share")
        if isinstance(share, bool) or not isinstance(share, (int, float)) or share != share:
            return False
    return True


def parse_time(value: object) -> float | None:
    """An ISO 8601 time as the snapshot writes it -> seconds since the epoch; None for
    anything else."""
    if not isinstance(value, str) or not value:
        return None
    from datetime import datetime, timezone

    text = value[:-1] + "+00:00" if value.endswith("Z") else value  # Python 3.10 reads no Z
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    try:
        return moment.timestamp()
    except (OverflowError, OSError, ValueError):
        return None


def age_seconds(data: dict[str, Any], now: float | None = None) -> float:
    """How long ago the snapshot's data was fetched (0 for a clock that went back)."""
    fetched = parse_time(data.get("fetched_at"))
    if fetched is None:
        return float("inf")
    return max(0.0, (time.time() if now is None else now) - fetched)


# -- writing ---------------------------------------------------------------------------


def _iso(moment: datetime) -> str:
    from glmtray.timeutil import iso_utc

    return iso_utc(moment)


def peak_schedule(
    now: datetime, rule: str, peak_hours: str, days: int = PEAK_SCHEDULE_DAYS
) -> list[dict[str, Any]]:
    """The peak and off-peak periods from `now` for `days`, by `glmtray.peak`: each with
    its start, whether it is peak and how much usage counts in it."""
    from datetime import timedelta

    from glmtray.peak import peak_status

    periods: list[dict[str, Any]] = []
    start, end = now, now + timedelta(days=days)
    while start < end and len(periods) < 64:
        status = peak_status(start, rule, peak_hours)
        periods.append(
            {"from": _iso(start), "peak": status.peak_now, "multiplier": status.multiplier}
        )
        if status.until <= start:
            break
        start = status.until
    periods.append({"from": _iso(end), "peak": None, "multiplier": None})  # the end
    return periods


def snapshot_record(
    snapshot: Snapshot,
    account: Account,
    *,
    locked: bool = False,
    peak_rule: str = "auto",
    peak_hours: str = "14:00-18:00",
    previous: dict[str, Any] | None = None,
) -> dict[str, Any] | None:
    """What is saved of `snapshot`; None when it says nothing new about the quota (the
    quota section failed for a reason other than the account's own state, such as an
    unreachable platform): the last good state is kept and shows its age instead.

    `locked`: the risk history says the account is locked (`status` knows it). `previous`:
    the snapshot saved before, whose risk flag is kept when this fetch did not read one
    (the tray does not ask for the flag at every refresh)."""
    from glmtray.errors import AccountRestricted, NoCodingPlan
    from glmtray.peak import rule_for
    from glmtray.platform.codes import CodeClass, classify
    from glmtray.platform.models import Section

    problem = snapshot.problems.get(Section.QUOTA)
    if snapshot.quota is None and not isinstance(problem, (AccountRestricted, NoCodingPlan)):
        return None
    if isinstance(problem, AccountRestricted) and classify(problem.code) is CodeClass.LOCKED:
        locked = True
    restricted = snapshot.risk_restricted
    if isinstance(problem, AccountRestricted):
        restricted = True
    elif (
        restricted is None
        and previous is not None
        and previous.get("account") == account.username
        and isinstance(previous.get("risk"), dict)
    ):
        kept = previous["risk"].get("restricted")
        restricted = kept if isinstance(kept, bool) else None
    blocking = snapshot.blocking_window
    peak: list[dict[str, Any]] | None = None
    if snapshot.quota is not None or peak_rule in ("credit", "token"):
        peak = peak_schedule(snapshot.fetched_at, rule_for(snapshot.quota, peak_rule), peak_hours)
    return {
        "schema_version": SCHEMA_VERSION,
        "fetched_at": _iso(snapshot.fetched_at),
        "account": account.username,
        "region": snapshot.region.value,
        "tier": snapshot.tier.value if snapshot.tier else None,
        "plan_name": snapshot.plan_name,
        "no_plan": isinstance(problem, NoCodingPlan),
        "has_windows": snapshot.has_windows,
        "risk": {"restricted": restricted, "locked": locked},
        "blocking_window": blocking.id if blocking is not None else None,
        "windows": [
            {
                "key": window.id,
                "label": window.label,
                "share": round(window.used_percent, 1),
                "used": window.used,
                "limit": window.limit,
                "unit_name": window.unit_name,
                "unit": window.unit,
                "number": window.number,
                "resets_at": _iso(window.resets_at) if window.resets_at else None,
            }
            for window in snapshot.windows
        ],
        "peak": peak,
    }


def write_snapshot(record: dict[str, Any], path: str | None = None) -> None:
    """Replace the saved snapshot with `record` in one step: a reader sees the old file or
    the new one, never part of one. The folder is made private (0700) when created, the
    file is 0600. OSError when it cannot be written."""
    _replace_json(record, path or snapshot_path())


def _replace_json(record: dict[str, Any], target: str) -> None:
    payload = (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
    replace_file(target, payload)


def save_fetch(
    snapshot: Snapshot,
    account: Account,
    settings: Settings,
    *,
    locked: bool = False,
    path: str | None = None,
) -> bool:
    """Save what `snapshot` says for the status line; True when it was written. Never
    raises: the snapshot is an extra, logged when it cannot be saved."""
    target = path or snapshot_path()
    try:
        record = snapshot_record(
            snapshot,
            account,
            locked=locked,
            peak_rule=settings.peak_rule,
            peak_hours=settings.peak_hours,
            previous=read_snapshot(target),
        )
        if record is None:
            return False
        write_snapshot(record, target)
        return True
    except Exception as error:
        import logging

        logging.getLogger(__name__).warning(
            "the status line's snapshot could not be saved (%s)", type(error).__name__
        )
        return False


class SnapshotWriter:
    """The tray's fetch recorder that keeps the status line's snapshot (see
    `glmtray.fetch_records`): called on the platform worker thread after each good fetch.
    The peak rule and hours come from the saved settings, read at each fetch, so a change
    made in the settings dialog is in the next snapshot."""

    def __init__(
        self,
        account: Account,
        path: str | None = None,
        settings: Callable[[], Settings] | None = None,
    ) -> None:
        self.account = account
        self.path = path
        self._settings = settings or _saved_settings

    def record(self, snapshot: Snapshot, at: datetime) -> None:
        save_fetch(snapshot, self.account, self._settings(), path=self.path)

    def close(self) -> None:
        pass


def _saved_settings() -> Settings:
    from glmtray.settings import SettingsStore

    return SettingsStore().load().settings


# -- what the meter saw ----------------------------------------------------------------
# The meter reads every coding answer; a used-up window, throttling, a restriction or a
# lock reaches it before the next fetch of the quota. It keeps the latest of each here for
# the status line (on its writer thread, off the relay): one small file rewritten whole,
# atomically, only when one of these comes or an answer gets through after one.


def read_signals(path: str | None = None) -> dict[str, Any] | None:
    """What the meter saw (see `note_business_error`), or None when there is nothing
    usable. Never raises for what the file holds."""
    data = _read_json(path or signals_path())
    if not isinstance(data, dict) or data.get("schema_version") != SCHEMA_VERSION:
        return None
    if not isinstance(data.get("account"), str) or not isinstance(data.get("limits"), dict):
        return None
    return data


def _signals_of(account: str, path: str) -> dict[str, Any]:
    """The signals kept for `account`; a fresh record when the file is missing, damaged or
    another account's."""
    data = read_signals(path)
    if data is None or data["account"] != account:
        return {"schema_version": SCHEMA_VERSION, "account": account, "limits": {}}
    return data


def note_business_error(
    account: str, code: int, message: str, at: datetime, path: str | None = None
) -> bool:
    """Keep what a business error in a coding answer says, for the status line: a used-up
    window (`limits`, by window id, with the reset the message names), throttling
    (`throttle`, shown until `until`), a restriction or a lock (`restricted`, `locked`).
    False, and nothing written, for any other code. OSError when it cannot be written."""
    from datetime import timedelta

    from glmtray.platform.codes import CodeClass, classify, limit_reset

    target = path or signals_path()
    kind = classify(code)
    seen = _iso(at)
    record = _signals_of(account, target)
    if kind is CodeClass.WINDOW_EXHAUSTED:
        reset = limit_reset(code, message, now=at)
        if reset is None or reset.window is None:
            return False  # a daily call limit: no window of the plan to show it on
        back_at = reset.back_at if reset.back_at is not None and reset.back_at > at else None
        record["limits"][reset.window] = {
            "code": code,
            "seen_at": seen,
            "back_at": _iso(back_at) if back_at is not None else None,
        }
    elif kind is CodeClass.THROTTLED:
        until = at + timedelta(seconds=THROTTLE_SHOWN_SECONDS)
        record["throttle"] = {"code": code, "seen_at": seen, "until": _iso(until)}
    elif kind in (CodeClass.RESTRICTED, CodeClass.LOCKED):
        record[kind.value] = {"code": code, "seen_at": seen}
    else:
        return False
    _replace_json(record, target)
    return True


def note_success(account: str, at: datetime, path: str | None = None) -> bool:
    """An answer got through at `at`: the used-up windows, throttling and lock seen before
    it are over (a restriction limits how often, not whether: it stays). True when the
    file changed. OSError when it cannot be written."""
    target = path or signals_path()
    data = read_signals(target)
    if data is None or data["account"] != account:
        return False
    moment = at.timestamp()

    def before(entry: object) -> bool:
        seen = parse_time(entry.get("seen_at")) if isinstance(entry, dict) else None
        return seen is None or seen <= moment

    kept = {key: hit for key, hit in data["limits"].items() if not before(hit)}
    changed = len(kept) != len(data["limits"])
    data["limits"] = kept
    for name in ("throttle", "locked"):
        if name in data and before(data[name]):
            del data[name]
            changed = True
    if changed:
        _replace_json(data, target)
    return changed
