"""What the app shows, derived from the last data and the last error: plain data for the UI.

The tray, the panel and the tooltip all read one AppState, so they never disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from typing import TYPE_CHECKING, Any

from glmtray.errors import AccountRestricted, AuthenticationFailed, GlmtrayError, NoCodingPlan
from glmtray.history.forecast import Forecast, labelled_phrase, runs_out_before_reset
from glmtray.i18n import N_, _, ngettext
from glmtray.peak import PeakStatus, peak_phrase, peak_status, rule_for
from glmtray.platform.codes import CodeClass, classify
from glmtray.platform.models import FIVE_HOUR, WEEKLY, QuotaWindow, Snapshot
from glmtray.platform.regions import Region
from glmtray.renewal import money
from glmtray.report import reset_phrase
from glmtray.settings import Settings
from glmtray.timeutil import format_day, format_duration, format_local_time
from glmtray.wording import window_label

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
    charge_soon: bool = False
    """The plan renews (and charges) within CHARGE_SOON_DAYS: a small badge says so."""
    inner_percent: float | None = None
    """A second window as an inner ring (the weekly one, when the icon shows both)."""
    inner_level: Level = Level.NORMAL


CHARGE_SOON_DAYS = 3
"""A renewal charge this close is worth a glance (the cancel-by day is already past)."""


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
    forecasts: Mapping[str, Forecast] = field(default_factory=dict)
    """Each window's pace and forecast by window id, from the last good fetch's history."""

    def forecast_lines(self, now: datetime) -> list[str]:
        """The windows forecast to run out before their reset (still ahead), for the
        tooltip: "5-hour: At this pace it runs out at 15:40, 1 h 20 min before it resets"."""
        shown = {w.id for w in self.snapshot.windows} if self.snapshot else set()
        return [
            labelled_phrase(forecast, now)
            for forecast in runs_out_before_reset(self.forecasts)
            if forecast.window_key in shown
            and forecast.runs_out_at is not None
            and forecast.runs_out_at > now
        ]

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

    @property
    def locked(self) -> bool:
        """The account is locked (1112, 1121): by the risk monitor's report or the platform's
        own answer. Support must unlock it; a restriction only passes."""
        if self.risk is not None and self.risk.state.status.value == "locked":
            return True
        return (
            isinstance(self.error, AccountRestricted)
            and classify(self.error.code) is CodeClass.LOCKED
        )

    @property
    def blocked(self) -> bool:
        """Nothing works for coding tools: no plan, an expired one, or a locked account.
        As plain on the icon as an exhausted window."""
        return isinstance(self.error, (NoCodingPlan, AccountRestricted)) or self.locked

    def peak(self, now: datetime) -> PeakStatus | None:
        """Peak or off-peak now, under the rule in force for this plan (None before data)."""
        quota = self.snapshot.quota if self.snapshot else None
        if quota is None:
            return None
        rule = rule_for(quota, self.settings.peak_rule)
        return peak_status(now, rule, self.settings.peak_hours)

    def back_at(self, window_id: str) -> datetime | None:
        """When the platform said this window lets the user back in (a 1308/1310 error)."""
        if self.risk is None:
            return None
        return self.risk.state.back_at.get(window_id)

    @property
    def no_windows(self) -> bool:
        """The plan answers with no quota windows at all (team plans): nothing to measure."""
        snap = self.snapshot
        return snap is not None and snap.quota is not None and not snap.has_windows

    def days_to_charge(self, now: datetime) -> int | None:
        """Local days until the next renewal charge; None without one (auto-renew off)."""
        sub = self.snapshot.subscription if self.snapshot else None
        if sub is None or sub.auto_renew is not True:
            return None
        day = sub.local_renewal_day()
        return None if day is None else (day - now.astimezone().date()).days

    def icon_spec(self, now: datetime, dark_panel: bool = True) -> IconSpec:
        days = self.days_to_charge(now)
        common: dict[str, Any] = {
            "show_number": self.settings.show_number_in_icon,
            "restricted": self.restricted,
            "dark_panel": dark_panel,
            "charge_soon": days is not None and 0 <= days <= CHARGE_SOON_DAYS,
        }
        if self.phase is Phase.SIGNED_OUT:
            return IconSpec(IconLook.SIGNED_OUT, **common)
        if self.blocked:
            return IconSpec(IconLook.GAUGE, 100.0, Level.FULL, **common)
        if self.no_windows and self.error is None:
            # A plain ring: there is no share to show, and "0 %" or "100 %" would be false.
            return IconSpec(IconLook.GAUGE, None, **common)
        blocking = self.snapshot.blocking_window if self.snapshot else None
        if blocking is None:
            look = IconLook.LOADING if self.phase is Phase.LOADING else IconLook.ERROR
            return IconSpec(look, **common)
        shown, inner = self._icon_windows(blocking)
        percent = shown.used_percent
        level = level_for(percent, self.settings.thresholds)
        if inner is not None:
            common["inner_percent"] = inner.used_percent
            common["inner_level"] = level_for(inner.used_percent, self.settings.thresholds)
            common["show_number"] = False
        if self.key_rejected:
            return IconSpec(IconLook.ERROR, percent, level, **common)
        if self.is_stale(now) or (self.phase is Phase.ERROR):
            return IconSpec(IconLook.STALE, percent, level, **common)
        return IconSpec(IconLook.GAUGE, percent, level, **common)

    def _icon_windows(self, blocking: QuotaWindow) -> tuple[QuotaWindow, QuotaWindow | None]:
        """The window the ring shows, and the inner ring's (when the icon shows both)."""
        snap = self.snapshot
        five = snap.quota.window(FIVE_HOUR) if snap and snap.quota else None
        weekly = snap.quota.window(WEEKLY) if snap and snap.quota else None
        choice = self.settings.icon_shows
        if choice == "five_hour" and five is not None:
            return five, None
        if choice == "both" and five is not None and weekly is not None:
            return five, weekly
        return blocking, None

    def plan_title(self) -> str:
        """'GLM Coding Pro', or the plan's name with its tier when the name does not say it."""
        snap = self.snapshot
        name = snap.plan_name if snap else None
        tier = snap.tier.display_name if snap and snap.tier else None
        if name and tier and tier.lower() not in name.lower():
            return _("{plan} ({tier})").format(plan=name, tier=tier)
        return name or (f"GLM Coding {tier}" if tier else "GLM Coding Plan")

    def tooltip(self, now: datetime) -> str:
        if self.phase is Phase.SIGNED_OUT:
            return _("glmtray: signed out")
        lines: list[str] = []
        snap = self.snapshot
        if snap is None:
            if self.error is not None:
                return _("glmtray: {title}").format(title=self.error.title)
            return _("glmtray: loading…")
        if isinstance(self.error, NoCodingPlan):
            # Said first and alone: the old figures do not matter without a plan.
            lines.append(_("glmtray: {title}").format(title=self.error.title))
            lines.append(_("Renew it on the subscription page (click the icon)"))
            return "\n".join(lines)
        title = self.plan_title()
        lines.append(_("{plan} · demo").format(plan=title) if self.demo else title)
        blocking = snap.blocking_window
        if blocking is not None:
            lines.append(_window_summary(blocking, now, self.back_at(blocking.id)))
        elif self.no_windows:
            lines.append(_(NO_WINDOWS_TEXT))
        lines.extend(self.forecast_lines(now))
        peak = self.peak(now)
        if peak is not None and snap.has_windows:
            lines.append(peak_phrase(peak, now))
        sub = snap.subscription
        days = self.days_to_charge(now)
        if sub is not None and days is not None and 0 <= days <= CHARGE_SOON_DAYS:
            amount = money(sub.price, sub.currency)
            if days == 0:
                line = _("Renewal charge of {price} today") if amount else _("Renewal charge today")
            elif days == 1:
                line = (
                    _("Renewal charge of {price} tomorrow")
                    if amount
                    else _("Renewal charge tomorrow")
                )
            elif amount:
                line = ngettext(
                    "Renewal charge of {price} in {count} day",
                    "Renewal charge of {price} in {count} days",
                    days,
                )
            else:
                line = ngettext(
                    "Renewal charge in {count} day", "Renewal charge in {count} days", days
                )
            lines.append(line.format(price=amount, count=days))
        elif sub is not None and sub.next_renewal is not None:
            day = format_day(sub.next_renewal)
            renews = sub.auto_renew is not False
            lines.append((_("Renews {day}") if renews else _("Ends {day}")).format(day=day))
        if self.restricted and not (self.risk is not None and self.risk.restricted):
            # The risk monitor's own line says it (with the strike) when it knows.
            lines.append(_("Account restricted by risk control"))
        if self.error is not None:
            lines.append(
                _("{title} (showing data from {age} ago)").format(
                    title=self.error.title, age=format_duration(now - snap.fetched_at)
                )
            )
        for extra in (
            self.risk.tooltip_line if self.risk else "",
            self.concurrency.tooltip_line if self.concurrency else "",
        ):
            if extra:
                lines.append(extra)
        return "\n".join(lines)


NO_WINDOWS_TEXT = N_("This plan reports no quota windows (as team plans do)")


def _window_summary(window: QuotaWindow, now: datetime, back_at: datetime | None) -> str:
    name, share = window_label(window), f"{window.used_percent:.0f}"
    if window.resets_at is None and back_at is not None:
        return _("{window}: {percent} %, back at {time}").format(
            window=name, percent=share, time=format_local_time(back_at, now)
        )
    return _("{window}: {percent} %, {reset}").format(
        window=name, percent=share, reset=reset_phrase(window, now)
    )
