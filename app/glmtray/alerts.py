"""Which desktop notifications a change of state deserves: pure rules, no Qt, no I/O.

The rules see the snapshot before, the snapshot after, the settings and what was already
sent, and return notifications with stable keys, so one event gives one notification.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from glmtray.errors import AuthenticationFailed, GlmtrayError, NoCodingPlan, PlanExpired
from glmtray.i18n import _, ngettext
from glmtray.peak import PeakStatus
from glmtray.platform.models import QuotaWindow, Snapshot
from glmtray.settings import Settings
from glmtray.timeutil import format_duration, format_local_time
from glmtray.wording import window_label, window_name

if TYPE_CHECKING:
    from glmtray.history.forecast import Forecast

REFRESH_FAILING_AFTER = timedelta(minutes=10)
"""A short outage is normal; say something only once refreshing has failed this long."""


@dataclass(frozen=True)
class Notification:
    key: str
    """Stable identity: the same event always gives the same key."""
    kind: str
    title: str
    body: str
    url: str | None = None
    """A page to open on click; None opens the panel."""
    urgent: bool = False


PERIOD_JITTER = timedelta(minutes=30)
"""A window's reset moment as read at different times may move a little (it is computed per
answer); periods are hours apart, so moments this close name the same period."""


def _period(window: QuotaWindow) -> str:
    return window.resets_at.isoformat() if window.resets_at else "not-started"


def _sent_in_period(sent: set[str], prefix: str, window: QuotaWindow) -> bool:
    """Whether a key `prefix + period` was sent for this window's period (moments within
    PERIOD_JITTER of each other are one period)."""
    return _sent_for_reset(sent, prefix, window.resets_at)


def _sent_for_reset(sent: set[str], prefix: str, resets_at: datetime | None) -> bool:
    if resets_at is None:
        return prefix + "not-started" in sent
    for key in sent:
        if not key.startswith(prefix):
            continue
        try:
            moment = datetime.fromisoformat(key[len(prefix) :])
        except ValueError:
            continue
        if moment.tzinfo is not None and abs(moment - resets_at) <= PERIOD_JITTER:
            return True
    return False


def threshold_notifications(
    after: Snapshot, settings: Settings, sent: set[str], now: datetime
) -> list[Notification]:
    """The highest threshold each window has reached, once per window period."""
    if not settings.notify_thresholds:
        return []
    result: list[Notification] = []
    for window in after.windows:
        reached = [t for t in settings.thresholds if window.used_percent >= t]
        if not reached:
            continue
        top = max(reached)
        keys = [f"threshold:{window.id}:{t}:{_period(window)}" for t in reached]
        if _sent_in_period(sent, f"threshold:{window.id}:{top}:", window):
            continue
        name, share = window_label(window), f"{window.used_percent:.0f}"
        if window.is_exhausted:
            title = _("{window} limit reached").format(window=name)
            body = (
                _(
                    "Requests will be refused until the window resets. "
                    "Back on {time} (in {duration})."
                ).format(
                    time=format_local_time(window.resets_at, now),
                    duration=format_duration(window.resets_at - now),
                )
                if window.resets_at
                else _("Requests will be refused until the window resets.")
            )
        else:
            title = _("{window} window at {percent} %").format(window=name, percent=share)
            body = (
                _("You have used {percent} % of the {window} quota. Resets in {duration}.").format(
                    percent=share,
                    window=name.lower(),
                    duration=format_duration(window.resets_at - now),
                )
                if window.resets_at
                else _("You have used {percent} % of the {window} quota.").format(
                    percent=share, window=name.lower()
                )
            )
        result.append(
            Notification(keys[reached.index(top)], "threshold", title, body, urgent=top >= 100)
        )
        # Lower thresholds of the same period are implied: never announce them afterwards.
        sent.update(keys)
    return result


def forecast_notifications(
    forecasts: Mapping[str, Forecast], settings: Settings, sent: set[str], now: datetime
) -> list[Notification]:
    """A window forecast to run out more than half an hour before its reset (see
    `Forecast.runs_out_early`), once per window period."""
    if not settings.notify_forecast:
        return []
    result: list[Notification] = []
    for forecast in forecasts.values():
        if not forecast.runs_out_early or forecast.resets_at is None:
            continue
        runs_out, margin = forecast.runs_out_at, forecast.margin
        if runs_out is None or margin is None or runs_out <= now:
            continue
        prefix = f"forecast:{forecast.window_key}:"
        if _sent_for_reset(sent, prefix, forecast.resets_at):
            continue
        key = prefix + forecast.resets_at.isoformat()
        sent.add(key)
        result.append(
            Notification(
                key,
                "forecast",
                _("{window} quota may run out before it resets").format(
                    window=window_name(forecast.window_key, forecast.label)
                ),
                _(
                    "At this pace the {window} window runs out at {time}, {margin} before it "
                    "resets at {reset}."
                ).format(
                    window=window_name(forecast.window_key, forecast.label),
                    time=format_local_time(runs_out, now),
                    margin=format_duration(margin),
                    reset=format_local_time(forecast.resets_at, now),
                ),
            )
        )
    return result


def reset_notifications(
    before: Snapshot | None, after: Snapshot, settings: Settings, sent: set[str]
) -> list[Notification]:
    if not settings.notify_reset or before is None:
        return []
    result: list[Notification] = []
    for window in after.windows:
        old = next((w for w in before.windows if w.id == window.id), None)
        if old is None or old.resets_at is None or old.used_percent <= 0:
            continue
        moved_on = window.resets_at is None or window.resets_at > old.resets_at
        if moved_on and window.used_percent < old.used_percent:
            key = f"reset:{window.id}:{old.resets_at.isoformat()}"
            if key not in sent:
                sent.add(key)
                result.append(
                    Notification(
                        key,
                        "reset",
                        _("{window} window reset").format(window=window_label(window)),
                        _("Full quota is available again."),
                    )
                )
    return result


def failure_notifications(
    error: GlmtrayError,
    failing_since: datetime,
    now: datetime,
    settings: Settings,
    sent: set[str],
    *,
    renew_url: str | None = None,
) -> list[Notification]:
    """A rejected key or a plan gone at once, in their own words; other failures only after
    they have lasted a while (a passing outage is not worth interrupting anyone for)."""
    episode = failing_since.isoformat()
    if isinstance(error, NoCodingPlan):
        key = f"no_plan:{episode}"
        if key in sent:
            return []
        sent.add(key)
        expired = isinstance(error, PlanExpired)
        title = _("Your GLM Coding Plan has expired") if expired else _("No active GLM Coding Plan")
        body = (
            _(
                "Coding tools will be refused until the plan is renewed. "
                "Click to open your subscription page."
            )
            if expired
            else _("This account has no active coding plan. Click to open your subscription page.")
        )
        return [Notification(key, "no_plan", title, body, url=renew_url, urgent=True)]
    if isinstance(error, AuthenticationFailed):
        key = f"key_rejected:{episode}"
        if not settings.notify_key_rejected or key in sent:
            return []
        sent.add(key)
        return [
            Notification(
                key, "key_rejected", _("API key no longer accepted"), error.message, urgent=True
            )
        ]
    key = f"refresh_failing:{episode}"
    if (
        not settings.notify_refresh_failing
        or key in sent
        or now - failing_since < REFRESH_FAILING_AFTER
    ):
        return []
    sent.add(key)
    body = _("{message} Failing for {duration}; the last data is kept.").format(
        message=error.message, duration=format_duration(now - failing_since)
    )
    title = _("glmtray cannot refresh: {title}").format(title=error.title)
    return [Notification(key, "refresh_failing", title, body)]


@dataclass
class Pause:
    """Notifications paused until a moment ("1 hour", "until tomorrow")."""

    until: datetime | None = None

    def active(self, now: datetime) -> bool:
        return self.until is not None and now < self.until

    def for_duration(self, now: datetime, duration: timedelta) -> None:
        self.until = now + duration

    def until_tomorrow(self, now: datetime) -> None:
        local = now.astimezone()
        tomorrow = (local + timedelta(days=1)).replace(hour=8, minute=0, second=0, microsecond=0)
        self.until = tomorrow

    def clear(self) -> None:
        self.until = None


CONCURRENCY_SPELL = timedelta(minutes=15)
"""1302 answers closer together than this are one spell: one notification."""


def concurrency_notifications(
    refused_before: int,
    refused_now: int,
    now: datetime,
    settings: Settings,
    sent: set[str],
    *,
    peak: PeakStatus | None = None,
) -> list[Notification]:
    """Once when the meter's count of 1302 answers starts rising, then not again until a
    quiet spell has passed (the key is the spell's start)."""
    if not settings.notify_concurrency or refused_now <= refused_before:
        return []
    recent = [k for k in sent if k.startswith("concurrency:")]
    last = max((datetime.fromisoformat(k.split(":", 1)[1]) for k in recent), default=None)
    if last is not None and now - last < CONCURRENCY_SPELL:
        sent.discard(f"concurrency:{last.isoformat()}")
        sent.add(f"concurrency:{now.isoformat()}")  # the spell goes on: move its end
        return []
    key = f"concurrency:{now.isoformat()}"
    sent.add(key)
    count = refused_now - refused_before
    refused = ngettext(
        "The platform refused {count} request with error 1302.",
        "The platform refused {count} requests with error 1302.",
        count,
    ).format(count=count)
    if peak is None:
        body = _("{refused} Run fewer coding sessions or agents at once.")
    elif peak.peak_now:
        body = _(
            "{refused} Run fewer coding sessions or agents at once; the limit is higher "
            "off-peak, from {time}."
        )
    else:
        body = _("{refused} Run fewer coding sessions or agents at once: it is off-peak already.")
    return [
        Notification(
            key,
            "concurrency",
            _("Requests refused: concurrency too high"),
            body.format(refused=refused, time=format_local_time(peak.until, now) if peak else ""),
        )
    ]
