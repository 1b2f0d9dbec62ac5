"""What the app shows, derived from the last data and the last error: plain data for the UI.

The tray, the panel and the tooltip all read one AppState, so they never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import TYPE_CHECKING, Any

from glmtray.errors import AccountRestricted, AuthenticationFailed, GlmtrayError
from glmtray.platform.models import QuotaWindow, Snapshot
from glmtray.platform.regions import Region
from glmtray.settings import Settings
from glmtray.timeutil import format_day, format_duration

if TYPE_CHECKING:  # the event store and its SQLite load on first use, not with the state
    from glmtray.activity.concurrency import ConcurrencyState
    from glmtray.activity.risk_watch import RiskReport


class Phase(str, Enum):
    SIGNED_OUT = "signed_out"
    LOADING = "loading"
    READY = "ready"
    ERROR = "error"


class NoticeKey(str, Enum):
    """What a panel notice is about: each kind is set and cleared by its key alone."""

    SETTINGS_RESET = "settings_reset"
    SETTINGS_NOT_SAVED = "settings_not_saved"
    NO_TRAY = "no_tray"
    RISK_HISTORY = "risk_history"
    METER = "meter"
    KEY_NOT_REMOVED = "key_not_removed"
    AUTOSTART = "autostart"


@dataclass(frozen=True)
class Notice:
    key: NoticeKey
    text: str


class Level(str, Enum):
    NORMAL = "normal"
    WARNING = "warning"
    CRITICAL = "critical"
    FULL = "full"


class IconLook(str, Enum):
    GAUGE = "gauge"
    SIGNED_OUT = "signed_out"
    LOADING = "loading"
    STALE = "stale"
    ERROR = "error"


@dataclass(frozen=True)
class IconSpec:
    """Everything the tray icon painter needs; equal specs give identical icons."""

    look: IconLook
    percent: float | None = None
    level: Level = Level.NORMAL
    show_number: bool = True
    restricted: bool = False
    dark_panel: bool = True


def level_for(percent: float, thresholds: tuple[int, ...]) -> Level:
    if percent >= 100:
        return Level.FULL
    ordered = sorted(thresholds)
    if len(ordered) >= 2 and percent >= ordered[1]:
        return Level.CRITICAL
    if ordered and percent >= ordered[0]:
        return Level.WARNING
    return Level.NORMAL


@dataclass(frozen=True)
class AppState:
    phase: Phase
    region: Region
    settings: Settings
    snapshot: Snapshot | None = None
    """The last good data, kept through failures so it can be shown as stale."""
    error: GlmtrayError | None = None
    last_attempt: datetime | None = None
    demo: bool = False
    session_only: bool = False
    account_label: str = "default"
    """With `region`, names the account everything in this state belongs to."""
    notices: tuple[Notice, ...] = ()
    """One-line notices for the panel (a reset settings file, a missing tray), one per key."""
    risk: RiskReport | None = None
    """The risk monitor's last report for this account; None until it has run."""
    concurrency: ConcurrencyState | None = None
    """Requests and coding sessions in flight, against what the tier allows."""

    def notice_texts(self) -> list[str]:
        return [notice.text for notice in self.notices]

    @property
    def refresh_interval(self) -> timedelta:
        return timedelta(seconds=self.settings.refresh_seconds)

    def is_stale(self, now: datetime) -> bool:
        return self.snapshot is not None and self.snapshot.is_stale(now, self.refresh_interval)

    @property
    def restricted(self) -> bool:
        if isinstance(self.error, AccountRestricted):
            return True
        if self.risk is not None and self.risk.restricted:
            return True
        return self.snapshot is not None and self.snapshot.risk_restricted is True

    @property
    def key_rejected(self) -> bool:
        return isinstance(self.error, AuthenticationFailed)

    def icon_spec(self, now: datetime, dark_panel: bool = True) -> IconSpec:
        common: dict[str, Any] = {
            "show_number": self.settings.show_number_in_icon,
            "restricted": self.restricted,
            "dark_panel": dark_panel,
        }
        if self.phase is Phase.SIGNED_OUT:
            return IconSpec(IconLook.SIGNED_OUT, **common)
        blocking = self.snapshot.blocking_window if self.snapshot else None
        if blocking is None:
            look = IconLook.LOADING if self.phase is Phase.LOADING else IconLook.ERROR
            if self.phase is Phase.READY:
                look = IconLook.ERROR
            return IconSpec(look, **common)
        percent = blocking.used_percent
        level = level_for(percent, self.settings.thresholds)
        if self.key_rejected:
            return IconSpec(IconLook.ERROR, percent, level, **common)
        if self.is_stale(now) or (self.phase is Phase.ERROR):
            return IconSpec(IconLook.STALE, percent, level, **common)
        return IconSpec(IconLook.GAUGE, percent, level, **common)

    def tooltip(self, now: datetime) -> str:
        if self.phase is Phase.SIGNED_OUT:
            return "glmtray: signed out"
        lines: list[str] = []
        snap = self.snapshot
        if snap is None:
            if self.error is not None:
                return f"glmtray: {self.error.title}"
            return "glmtray: loading…"
        tier = snap.tier.display_name if snap.tier else "?"
        lines.append(
            f"{snap.plan_name or 'GLM Coding Plan'} ({tier})" + (" · demo" if self.demo else "")
        )
        blocking = snap.blocking_window
        if blocking is not None:
            lines.append(_window_summary(blocking, now))
        sub = snap.subscription
        if sub is not None and sub.next_renewal is not None:
            verb = "Renews" if sub.auto_renew is not False else "Ends"
            lines.append(f"{verb} {format_day(sub.next_renewal)}")
        if self.restricted:
            lines.append("Account restricted by risk control")
        if self.error is not None:
            lines.append(
                f"{self.error.title} (showing data from {format_duration(now - snap.fetched_at)} ago)"
            )
        for line in (
            self.risk.tooltip_line if self.risk else "",
            self.concurrency.tooltip_line if self.concurrency else "",
        ):
            if line:
                lines.append(line)
        return "\n".join(lines)


def _window_summary(window: QuotaWindow, now: datetime) -> str:
    if window.resets_at is None:
        return f"{window.label}: {window.used_percent:.0f} % (not started)"
    return f"{window.label}: {window.used_percent:.0f} %, resets in {format_duration(window.resets_at - now)}"
