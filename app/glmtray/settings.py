"""User settings: one schema with defaults, stored as JSON in the platformdirs config folder.

Written atomically (temp file + rename). A corrupt or unreadable file is set aside under
a `.corrupt-<time>` name and replaced by defaults, and the caller is told so it can say so.
Runtime state (what was notified, reader offsets) lives elsewhere: this is only choices.
"""

from __future__ import annotations

import json
import logging
import math
import os
import stat
import time
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import platformdirs

from glmtray import APP_NAME
from glmtray.atomic_file import replace_file
from glmtray.errors import SettingsError
from glmtray.i18n import LANGUAGE_CHOICES, _
from glmtray.platform.regions import Region

log = logging.getLogger(__name__)

SCHEMA_VERSION = 2
"""Raised only for a change an older glmtray would misread: it refuses a newer version and
starts from defaults. New optional fields (like `peak_rule`) do not raise it: older
versions drop what they do not know, and files written before a field load its default.
2: `language` "system" (the default) follows the desktop's locale; version 1 wrote "en"
for everyone, which a version-1 file therefore reads as "system" (see `_migrated`)."""
PEAK_RULE_CHOICES = ("auto", "credit", "token")
ICON_SHOWS_CHOICES = ("blocking", "five_hour", "both")
"""The window that blocks first; the 5-hour window; or the 5-hour and weekly windows as two
rings (with no digits: two figures do not fit a tray icon)."""
"""`auto`: the credit rule for plans on credit windows, else the token rule (see peak.py)."""
MIN_REFRESH_SECONDS = 60
"""The platform is polled politely: never more than once a minute."""
DEFAULT_REFRESH_SECONDS = 120
DEFAULT_THRESHOLDS = (80, 95, 100)


def config_dir() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def log_dir() -> Path:
    return Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))


def settings_path() -> Path:
    return config_dir() / "settings.json"


@dataclass(frozen=True)
class Settings:
    region: Region = Region.GLOBAL
    account_label: str = "default"
    base_url: str | None = None
    """An override of the platform address; only for the simulator and tests."""
    refresh_seconds: int = DEFAULT_REFRESH_SECONDS
    thresholds: tuple[int, ...] = DEFAULT_THRESHOLDS
    notify_thresholds: bool = True
    notify_reset: bool = False
    notify_refresh_failing: bool = True
    notify_key_rejected: bool = True
    notify_renewal: bool = True
    notify_cancel_day: bool = True
    notify_plan_ending: bool = True
    notify_risk: bool = True
    notify_concurrency: bool = True
    """When the local meter sees the platform refuse requests for concurrency (1302)."""
    notify_forecast: bool = True
    """When a window is forecast to run out well before it resets (once per period)."""
    renewal_reminder_days: int = 2
    manual_renewal_date: str | None = None
    """YYYY-MM-DD entered by hand when the platform gives nothing usable."""
    manual_billing_cycle: str | None = None
    start_at_login: bool = False
    show_number_in_icon: bool = True
    icon_style: str = "auto"
    icon_shows: str = "blocking"
    """What the icon's ring shows: one of ICON_SHOWS_CHOICES."""
    language: str = "system"
    """One of i18n.LANGUAGE_CHOICES: "system" (the desktop's locale), "en" or "zh_CN"."""
    transcripts_enabled: bool = True
    meter_enabled: bool = False
    meter_port: int = 8765
    peak_hours: str = "14:00-18:00"
    """Peak window in UTC+8, when the platform allows less concurrency (published: none)."""
    peak_rule: str = "auto"
    """Which peak/off-peak rule counts usage: one of PEAK_RULE_CHOICES (see peak.py)."""
    statusline_max_age_seconds: int = 60
    """How old the saved snapshot may be before `glmtray statusline` fetches afresh."""
    extra: dict[str, Any] = field(default_factory=dict)

    def normalized(self) -> Settings:
        """Clamp values into their allowed ranges, so a hand-edited file cannot break the app."""
        thresholds = tuple(sorted({min(100, max(1, int(t))) for t in self.thresholds})) or (
            DEFAULT_THRESHOLDS
        )
        style = self.icon_style if self.icon_style in ("auto", "light", "dark") else "auto"
        rule = self.peak_rule.strip().lower() if isinstance(self.peak_rule, str) else "auto"
        return replace(
            self,
            peak_rule=rule if rule in PEAK_RULE_CHOICES else "auto",
            language=self.language if self.language in LANGUAGE_CHOICES else "system",
            icon_shows=self.icon_shows if self.icon_shows in ICON_SHOWS_CHOICES else "blocking",
            refresh_seconds=max(MIN_REFRESH_SECONDS, int(self.refresh_seconds)),
            thresholds=thresholds,
            icon_style=style,
            renewal_reminder_days=min(30, max(0, int(self.renewal_reminder_days))),
            meter_port=min(65535, max(1024, int(self.meter_port))),
            statusline_max_age_seconds=min(86400, max(5, int(self.statusline_max_age_seconds))),
        )

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["region"] = self.region.value
        data["thresholds"] = list(self.thresholds)
        data["schema_version"] = SCHEMA_VERSION
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Settings:
        """Defaults merged with what the file has; unknown or mistyped entries are dropped."""
        defaults = cls()
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in data:
                continue
            raw = data[f.name]
            default = getattr(defaults, f.name)
            try:
                if f.name == "region":
                    if isinstance(raw, str):
                        values[f.name] = Region.parse(raw)
                elif f.name == "thresholds":
                    if isinstance(raw, list) and len(raw) <= 100:
                        values[f.name] = tuple(_whole(x) for x in raw)
                elif isinstance(default, bool):
                    if isinstance(raw, bool):
                        values[f.name] = raw
                elif isinstance(default, int):
                    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
                        values[f.name] = _whole(raw)
                elif isinstance(default, dict):
                    if isinstance(raw, dict):
                        values[f.name] = raw
                elif raw is None or isinstance(raw, str):
                    values[f.name] = raw
            except (TypeError, ValueError, OverflowError):
                log.warning("settings: ignoring a bad value for %s", f.name)
        return cls(**values).normalized()


def _migrated(data: dict[str, Any], version: int) -> dict[str, Any]:
    """A file of an older schema as the current one reads it."""
    if version < 2 and data.get("language") == "en":
        # Version 1 had no "system" and saved its default "en" in every file: nobody
        # chose English, so the desktop's language applies.
        data = {**data, "language": "system"}
    return data


def _whole(value: object) -> int:
    """An int from a JSON number; ValueError for anything else (bools, text, inf)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError("not a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("not finite")
    number = int(value)
    return max(-(10**9), min(10**9, number))


MAX_SETTINGS_BYTES = 1024 * 1024
"""A settings file is a few hundred bytes; anything past this is not one."""


MAX_SETTINGS_DEPTH = 32
"""Settings nest two levels; `extra` a few more. Deeper cannot be saved back safely."""


def _depth(value: object) -> int:
    """How deeply lists and objects nest, counted without recursion."""
    deepest = 0
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > MAX_SETTINGS_DEPTH:
            break
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
    return deepest


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not a valid JSON value")


def saved_language(path: Path | None = None) -> str:
    """The `language` setting as saved, read without touching the file (a damaged one is
    left for `SettingsStore.load` to set aside and report): the translators are installed
    before the app loads its settings."""
    try:
        with (path or settings_path()).open("rb") as handle:
            data = json.loads(handle.read(MAX_SETTINGS_BYTES).decode("utf-8-sig"))
        version = data.get("schema_version", SCHEMA_VERSION)
        if not isinstance(version, int) or version > SCHEMA_VERSION:
            return "system"
        language = _migrated(data, version).get("language")
    except (OSError, ValueError, AttributeError, RecursionError):
        return "system"
    return language if language in LANGUAGE_CHOICES else "system"


@dataclass(frozen=True)
class LoadResult:
    settings: Settings
    notice: str | None = None
    """Set when the file was unusable and defaults were used instead."""


class SettingsStore:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path or settings_path()

    def load(self) -> LoadResult:
        """The settings, or defaults with a notice: never an exception. A file that cannot be
        used is set aside under a unique name so the user's choices are not lost."""
        try:
            if not stat.S_ISREG(self.path.stat().st_mode):
                # A folder, or a FIFO that would block the open until someone writes to it.
                return self._unusable("it is not a regular file")
            with self.path.open("rb") as handle:
                raw = handle.read(MAX_SETTINGS_BYTES + 1)
        except FileNotFoundError:
            return LoadResult(Settings())
        except OSError as error:
            return self._unusable(
                f"it could not be read ({error.strerror or type(error).__name__})"
            )
        if len(raw) > MAX_SETTINGS_BYTES:
            return self._unusable(f"it is larger than {MAX_SETTINGS_BYTES // 1024} KiB")
        try:
            text = raw.decode("utf-8-sig")  # a BOM, as some Windows editors write, is fine
        except UnicodeDecodeError:
            return self._unusable("it is not UTF-8 text")
        try:
            data = json.loads(text, parse_constant=_refuse_constant)
            if not isinstance(data, dict):
                raise ValueError("not an object")
            if _depth(data) > MAX_SETTINGS_DEPTH:
                raise RecursionError
            version = data.get("schema_version", SCHEMA_VERSION)
            if not isinstance(version, int) or isinstance(version, bool):
                raise ValueError("schema version is not a number")
            if version > SCHEMA_VERSION:
                raise ValueError(f"schema version {version} is newer than this glmtray")
            return LoadResult(Settings.from_json(_migrated(data, version)))
        except RecursionError:
            return self._unusable("it is nested too deeply")
        except (ValueError, TypeError, OverflowError) as error:
            return self._unusable(str(error)[:200])

    def _unusable(self, why: str) -> LoadResult:
        aside = self._set_aside()
        log.warning("settings file unusable (%s); set aside as %s", why, aside)
        notice = (
            _(
                "The settings file was damaged and has been reset to defaults. "
                "The old file was kept as {name}."
            ).format(name=aside.name)
            if aside
            else _("The settings file was damaged and has been reset to defaults.")
        )
        return LoadResult(Settings(), notice)

    def _set_aside(self) -> Path | None:
        """Move the file to `<name>.corrupt-<time>[-n]`: a name no earlier copy has, even
        for two in one second (the name is claimed with O_EXCL before the rename)."""
        stamp = time.strftime("%Y%m%d-%H%M%S")
        for attempt in range(1, 1000):
            suffix = "" if attempt == 1 else f"-{attempt}"
            aside = self.path.with_name(f"{self.path.name}.corrupt-{stamp}{suffix}")
            try:
                os.close(os.open(aside, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
            except FileExistsError:
                continue
            except OSError:
                return None
            try:
                os.replace(self.path, aside)
                return aside
            except OSError:
                if self.path.is_dir():
                    # A folder can only be renamed onto a name that is not taken yet.
                    aside.unlink(missing_ok=True)
                    try:
                        self.path.rename(aside)
                        return aside
                    except OSError:
                        return None
                aside.unlink(missing_ok=True)
                return None
        return None

    def save(self, settings: Settings) -> None:
        payload = json.dumps(settings.normalized().to_json(), indent=2, sort_keys=True) + "\n"
        try:
            replace_file(self.path, payload.encode("utf-8"))
        except OSError as error:
            raise SettingsError(
                _("Settings could not be saved to {path} ({reason}).").format(
                    path=self.path, reason=error.strerror
                )
            ) from None
