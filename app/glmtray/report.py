"""A snapshot as a script reads it (`status --json`) and as a person reads it (plain text)."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from glmtray.i18n import N_, _, ngettext, pgettext
from glmtray.peak import PeakStatus, peak_phrase
from glmtray.platform.models import SECTION_LABELS, QuotaWindow, Section, Snapshot, Subscription
from glmtray.renewal import money
from glmtray.timeutil import format_day, format_duration, format_local_time, iso_utc
from glmtray.wording import unit_label, window_label

if TYPE_CHECKING:
    from glmtray.activity.events import Event
    from glmtray.activity.risk import RiskState
    from glmtray.errors import PlatformError


NO_WINDOWS_WARNING = N_(
    "The platform reports no quota windows for this plan (team plans do): "
    "there is no usage to show, which does not mean nothing is used."
)
"""In English in `status --json` (what a script reads never changes with the language);
the text output shows the warnings through the catalog."""


@dataclass(frozen=True)
class EpisodeData:
    since: datetime
    last_seen: datetime
    end: datetime | None
    codes: tuple[int, ...]
    locked: bool
    flagged: bool
    sources: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "since": iso_utc(self.since),
            "last_seen": iso_utc(self.last_seen),
            "end": iso_utc(self.end) if self.end else None,
            "active": self.end is None,
            "codes": list(self.codes),
            "locked": self.locked,
            "flagged": self.flagged,
            "sources": list(self.sources),
        }


@dataclass(frozen=True)
class RiskReportData:
    """What the tray's risk section shows, for `status`: the platform's flag joined with
    the account's stored history (transcripts, meter, account endpoints)."""

    restricted: bool | None
    """True when the china flag, a transcript, the meter or an endpoint says so; False
    when the flag was checked and nothing says so; None unknown (never "fine")."""
    flag: bool | None
    locked: bool = False
    throttled: bool = False
    status: str | None = None
    throttle_code: int | None = None
    throttle_until: datetime | None = None
    episodes: tuple[EpisodeData, ...] = ()
    strikes: int = 0
    strike_limit: int = 3
    sources: dict[str, list[str]] = field(default_factory=dict)
    """Signal kind ("restricted", "locked", "throttled") -> where it came from:
    "risk_flag", "transcript", "meter", "account_endpoint"."""
    history_read: bool = False
    """False when the stored history could not be read: only the flag is known."""

    @classmethod
    def from_flag(cls, flag: bool | None) -> RiskReportData:
        sources = {"restricted": ["risk_flag"]} if flag else {}
        return cls(restricted=flag, flag=flag, sources=sources)

    @classmethod
    def from_state(
        cls, flag: bool | None, state: RiskState, events: Sequence[Event]
    ) -> RiskReportData:
        from glmtray.activity.risk import RiskStatus
        from glmtray.platform.codes import CodeClass

        def sources_between(
            start: datetime, end: datetime, classes: frozenset[CodeClass]
        ) -> list[str]:
            found = {e.source for e in events if e.code_class in classes and start <= e.time <= end}
            return sorted(found)

        episode_classes = frozenset({CodeClass.RESTRICTED, CodeClass.LOCKED})
        episodes = tuple(
            EpisodeData(
                since=e.since,
                last_seen=e.last_seen,
                end=e.end,
                codes=e.codes,
                locked=e.locked,
                flagged=e.flagged,
                sources=tuple(
                    sorted(
                        set(sources_between(e.since, e.last_seen, episode_classes))
                        | ({"risk_flag"} if e.flagged else set())
                    )
                ),
            )
            for e in state.episodes
        )
        locked = state.status is RiskStatus.LOCKED
        episode_restricted = state.status in (RiskStatus.RESTRICTED, RiskStatus.LOCKED)
        restricted: bool | None = True if (flag is True or episode_restricted) else flag
        throttle = state.throttle
        throttled = throttle is not None and throttle.active
        sources: dict[str, list[str]] = {}
        active = state.active_episode
        if restricted:
            found = set(episodes[-1].sources) if active is not None and episodes else set()
            if flag is True:
                found.add("risk_flag")
            sources["restricted"] = sorted(found)
        if locked and active is not None:
            sources["locked"] = sources_between(
                active.since, active.last_seen, frozenset({CodeClass.LOCKED})
            )
        if throttled and throttle is not None:
            sources["throttled"] = sources_between(
                throttle.since,
                throttle.last_seen,
                frozenset({CodeClass.THROTTLED, CodeClass.WINDOW_EXHAUSTED}),
            )
        return cls(
            restricted=restricted,
            flag=flag,
            locked=locked,
            throttled=throttled,
            status=state.status.value,
            throttle_code=throttle.code if throttled and throttle is not None else None,
            throttle_until=throttle.until if throttled and throttle is not None else None,
            episodes=episodes,
            strikes=state.strikes,
            strike_limit=state.strike_limit,
            sources=sources,
            history_read=True,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "restricted": self.restricted,
            "flag": self.flag,
            "locked": self.locked,
            "throttled": self.throttled,
            "status": self.status,
            "throttle": (
                {
                    "code": self.throttle_code,
                    "until": iso_utc(self.throttle_until) if self.throttle_until else None,
                }
                if self.throttled
                else None
            ),
            "episodes": [e.to_json() for e in self.episodes],
            "strikes": {"count": self.strikes, "limit": self.strike_limit},
            "sources": self.sources,
            "history_read": self.history_read,
        }

    def lines(self, region: str, now: datetime) -> list[str]:
        """The risk lines of `status`'s text output."""
        lines: list[str] = []
        where = pgettext("list separator", ", ").join(
            self.sources.get("locked") or self.sources.get("restricted") or []
        )
        if self.locked:
            line = (
                _("Risk control: LOCKED - contact support to unlock (seen by: {sources})")
                if where
                else _("Risk control: LOCKED - contact support to unlock")
            )
            lines.append(line.format(sources=where))
        elif self.restricted is True:
            line = (
                _(
                    "Risk control: RESTRICTED - benefits limited; you can ask support for a "
                    "review (seen by: {sources})"
                )
                if where
                else _(
                    "Risk control: RESTRICTED - benefits limited; you can ask support for a review"
                )
            )
            lines.append(line.format(sources=where))
        elif self.restricted is False:
            lines.append(_("Risk control: not restricted"))
        elif region == "china":
            lines.append(_("Risk control: unknown (the platform did not answer)"))
        else:
            lines.append(
                _("Risk control: unknown (the platform publishes no flag for this region)")
            )
        if self.throttled:
            until = format_local_time(self.throttle_until, now) if self.throttle_until else None
            if self.throttle_code and until:
                line = _("Throttled ({code}) until {time}")
            elif self.throttle_code:
                line = _("Throttled ({code})")
            elif until:
                line = _("Throttled until {time}")
            else:
                line = _("Throttled")
            lines.append(line.format(code=self.throttle_code, time=until))
        if self.strikes:
            last = self.episodes[-1] if self.episodes else None
            if last:
                lines.append(
                    _("Strikes: {strikes} of {limit}, last {day} (estimated)").format(
                        strikes=self.strikes,
                        limit=self.strike_limit,
                        day=format_day(last.last_seen.astimezone().date()),
                    )
                )
            else:
                lines.append(
                    _("Strikes: {strikes} of {limit} (estimated)").format(
                        strikes=self.strikes, limit=self.strike_limit
                    )
                )
        return lines


def display_width(text: str) -> int:
    """Columns `text` takes in a terminal: wide (CJK) characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def padded(text: str, width: int) -> str:
    return text + " " * max(0, width - display_width(text))


def window_figures(window: QuotaWindow, *, shown: bool = True) -> str | None:
    """The absolute figures, "5,184 of 28,000 credits"; None where the platform gives no
    counts (token windows usually), where only the share is known. In the user's language,
    or (`shown` False, for `status --json`) in English whatever the language."""
    if window.used is None or window.limit is None or window.limit <= 0:
        return None
    if not shown:
        unit = f" {window.unit_name}" if window.unit_name else ""
        return f"{window.used:,} of {window.limit:,}{unit}"
    if window.unit_name:
        return _("{used} of {limit} {unit}").format(
            used=f"{window.used:,}", limit=f"{window.limit:,}", unit=unit_label(window.unit_name)
        )
    return _("{used} of {limit}").format(used=f"{window.used:,}", limit=f"{window.limit:,}")


def window_json(window: QuotaWindow) -> dict[str, Any]:
    return {
        "id": window.id,
        "type": window.type,
        "label": window.label,
        "used_percent": round(window.used_percent, 1),
        "resets_at": iso_utc(window.resets_at) if window.resets_at else None,
        "used": window.used,
        "limit": window.limit,
        "remaining": window.remaining,
        "unit_name": window.unit_name,
        "figures": window_figures(window, shown=False),
        "platform_percent": window.platform_percent,
        "reset_unknown": window.reset_unknown,
        "tools": {tool.name: tool.count for tool in window.tools} or None,
    }


def subscription_json(sub: Subscription | None) -> dict[str, Any] | None:
    if sub is None:
        return None

    def day(value: date | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "product": sub.product,
        "status": sub.status,
        "auto_renew": sub.auto_renew,
        "next_renewal": day(sub.next_renewal),
        "cancel_by": day(sub.cancel_by),
        "billing_cycle": sub.billing_cycle,
        "price": str(sub.price) if sub.price is not None else None,
        "currency": sub.currency,
    }


def warning_lines(warnings: Sequence[str], problems: Mapping[Section, PlatformError]) -> list[str]:
    """A snapshot's warnings in the user's language, each fact once: several endpoints
    failing the same way make one line ("Quota and subscription: ...")."""
    sections = {label: section for section, label in SECTION_LABELS.items()}
    by_message: dict[str, list[str]] = {}
    for warning in warnings:
        where, sep, message = warning.partition(": ")
        if sep and where in sections:
            # The warning keeps the English (status --json); the error says it in the
            # user's language.
            problem = problems.get(sections[where])
            if problem is not None and problem.source_message == message:
                message = problem.message
            by_message.setdefault(message, []).append(where)
        else:
            by_message.setdefault(warning, [])
    lines: list[str] = []
    for message, places in by_message.items():
        if not places:
            lines.append(_(message))
            continue
        first, *others = (_(place) for place in places)
        names = [first, *(name.lower() for name in others)]  # lower() leaves Chinese be
        if len(names) == 1:
            where = names[0]
        else:
            where = _("{names} and {last}").format(
                names=pgettext("list separator", ", ").join(names[:-1]), last=names[-1]
            )
        lines.append(_("{where}: {message}").format(where=where, message=message))
    return lines


def snapshot_warnings(snapshot: Snapshot) -> list[str]:
    """The snapshot's warnings, plus the one for a plan that reports no windows at all."""
    warnings = list(snapshot.warnings)
    if snapshot.quota is not None and not snapshot.quota.has_windows:
        warnings.append(NO_WINDOWS_WARNING)
    return warnings


def snapshot_json(
    snapshot: Snapshot, *, risk: RiskReportData | None = None, peak: PeakStatus | None = None
) -> dict[str, Any]:
    """`risk`: the whole risk report (from the event store); without it, the flag only.
    `peak`: the peak/off-peak rule in force now, when known."""
    blocking = snapshot.blocking_window
    data: dict[str, Any] = {
        "region": snapshot.region.value,
        "tier": snapshot.tier.value if snapshot.tier else None,
        "plan_name": snapshot.plan_name,
        "has_windows": snapshot.has_windows,
        "windows": [window_json(w) for w in snapshot.windows],
        "blocking_window": blocking.id if blocking else None,
        "subscription": subscription_json(snapshot.subscription),
        "risk": (risk or RiskReportData.from_flag(snapshot.risk_restricted)).to_json(),
        "warnings": snapshot_warnings(snapshot),
        "problems": {
            section.value: {
                "error": type(error).__name__,
                # English whatever the language: what a script reads never changes.
                "title": error.source_title,
                "message": error.source_message,
            }
            for section, error in snapshot.problems.items()
        },
        "fetched_at": iso_utc(snapshot.fetched_at),
    }
    data["peak"] = peak.to_json() if peak is not None else None
    return data


def reset_phrase(window: QuotaWindow, now: datetime) -> str:
    """ "resets in 2 h 13 min (15:30)"; with no reset time named, "reset time unknown" when
    the window is in use and "not started" only when nothing is used in it."""
    if window.resets_at is None:
        return _("reset time unknown") if window.in_use else _("not started")
    if window.resets_at <= now:  # data from before an outage that outlasted the period
        return _("reset at {time}: the share shown is from before it").format(
            time=format_local_time(window.resets_at, now)
        )
    return _("resets in {duration} ({time})").format(
        duration=format_duration(window.resets_at - now),
        time=format_local_time(window.resets_at, now),
    )


def blocking_phrase(window: QuotaWindow, now: datetime) -> str:
    if window.is_exhausted:
        if window.resets_at:
            return _("{window} limit reached: back on {time}").format(
                window=window_label(window), time=format_local_time(window.resets_at, now)
            )
        return _("{window} limit reached").format(window=window_label(window))
    return _("{window} window is the closest to its limit ({percent} %)").format(
        window=window_label(window), percent=f"{window.used_percent:.0f}"
    )


def renewal_lines(sub: Subscription, today: date) -> list[str]:
    """Renewal and cancel-by lines in the user's local calendar (`today` is local too)."""
    renewal_day = sub.local_renewal_day()
    if renewal_day is None:
        return [_("Renewal: unknown")]
    day = format_day(renewal_day)
    if sub.entered_by_hand:
        lines = [_("Renews: {day} (set by hand in Settings)").format(day=day)]
    elif sub.auto_renew is False:
        return [_("Plan ends: {day} (auto-renew off)").format(day=day)]
    else:
        price = money(sub.price, sub.currency)
        if price and sub.auto_renew:
            line = _("Renews: {day} for {price} (auto-renew on)")
        elif price:
            line = _("Renews: {day} for {price} (auto-renew unknown)")
        elif sub.auto_renew:
            line = _("Renews: {day} (auto-renew on)")
        else:
            line = _("Renews: {day} (auto-renew unknown)")
        lines = [line.format(day=day, price=price)]
    cancel_by = sub.local_cancel_by()
    days = sub.days_to_cancel(today)
    if cancel_by is not None and days is not None:
        cancel_day = format_day(cancel_by)
        if days >= 1:
            lines.append(
                ngettext(
                    "Cancel by: {day} ({count} day left)",
                    "Cancel by: {day} ({count} days left)",
                    days,
                ).format(day=cancel_day, count=days)
            )
        elif days == 0:
            lines.append(_("Cancel by: {day} (today is the last day)").format(day=cancel_day))
        else:
            lines.append(
                _("Cancel by: {day} (too late to cancel this period)").format(day=cancel_day)
            )
    return lines


def snapshot_text(
    snapshot: Snapshot,
    now: datetime,
    *,
    risk: RiskReportData | None = None,
    peak: PeakStatus | None = None,
) -> str:
    lines: list[str] = []
    tier = snapshot.tier.display_name if snapshot.tier else _("unknown tier")
    lines.append(
        _("{plan} ({tier}) · {region}").format(
            plan=snapshot.plan_name or "GLM Coding Plan", tier=tier, region=snapshot.region.value
        )
    )
    if snapshot.quota is not None and not snapshot.quota.has_windows:
        lines.append("  " + _("No quota windows: the platform reports none for this plan"))
    width = max((display_width(window_label(w)) for w in snapshot.windows), default=0)
    for window in snapshot.windows:
        figures = window_figures(window)
        counts = f"  {figures}" if figures else ""
        lines.append(
            f"  {padded(window_label(window), width)}  {window.used_percent:5.1f} %{counts}  {reset_phrase(window, now)}"
        )
        if window.tools:
            lines.append("    " + ", ".join(f"{t.name} {t.count}" for t in window.tools))
    blocking = snapshot.blocking_window
    if blocking is not None:
        lines.append(blocking_phrase(blocking, now))
    if peak is not None:
        lines.append(peak_phrase(peak, now))
    if snapshot.subscription is not None:
        lines.extend(renewal_lines(snapshot.subscription, now.astimezone().date()))
    report = risk or RiskReportData.from_flag(snapshot.risk_restricted)
    lines.extend(report.lines(snapshot.region.value, now))
    lines.extend(
        _("Warning: {warning}").format(warning=line)
        for line in warning_lines(snapshot_warnings(snapshot), snapshot.problems)
    )
    return "\n".join(lines)
