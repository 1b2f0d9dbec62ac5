"""The refresh cycle's brain, without Qt: what to fetch, when, and what a result changes.

The Qt layer owns timers and threads; it asks `plan()` what to fetch, runs it off the GUI
thread, hands the result to `succeeded()` or `failed()`, and waits `next_delay()`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from glmtray import alerts
from glmtray.credentials import Account
from glmtray.errors import AuthenticationFailed, GlmtrayError, NoCodingPlan
from glmtray.platform.models import Section, Snapshot
from glmtray.platform.regions import Region, info
from glmtray.renewal import manual_subscription, renewal_notifications
from glmtray.settings import Settings
from glmtray.state import AppState, Notice, NoticeKey, Phase

if TYPE_CHECKING:
    from glmtray.activity.concurrency import ConcurrencyState
    from glmtray.activity.risk_watch import RiskReport
    from glmtray.history.forecast import Forecast

SLOW_SECTIONS_EVERY = timedelta(hours=1)
"""Subscription and risk flag change rarely: hourly, and whenever the user asks."""
FIRST_RETRY = timedelta(seconds=30)
MAX_BACKOFF = timedelta(minutes=15)


class NotificationLedger(Protocol):
    """Where the notifications already shown are kept per account, across restarts."""

    def sent_notifications(self, account: Account) -> set[str]: ...

    def remember_sent(self, account: Account, keys: set[str]) -> None: ...


@dataclass(frozen=True)
class FetchPlan:
    subscription: bool
    risk: bool


class Monitor:
    """The only writer of `AppState`: every change goes through a method here."""

    def __init__(
        self,
        region: Region,
        settings: Settings,
        *,
        demo: bool = False,
        ledger: NotificationLedger | None = None,
    ) -> None:
        self.state = AppState(
            Phase.LOADING, region, settings, demo=demo, account_label=settings.account_label
        )
        self.ledger = ledger
        self.sent: set[str] = set()
        """Keys of the notifications shown for this account (see `alerts`)."""
        self.pause = alerts.Pause()
        self.failures = 0
        self.failing_since: datetime | None = None
        self.slow_fetched_at: datetime | None = None
        self.listeners: list[Callable[[AppState], None]] = []

    # -- state -------------------------------------------------------------------
    def _set(self, state: AppState) -> AppState:
        self.state = state
        for listener in self.listeners:
            listener(state)
        return state

    def update_settings(self, settings: Settings) -> None:
        self._set(replace(self.state, settings=settings))

    @property
    def account(self) -> Account:
        return Account(self.state.region, self.state.account_label)

    def signed_out(self) -> None:
        self.sent.clear()
        self.failures, self.failing_since, self.slow_fetched_at = 0, None, None
        self._set(
            replace(
                self.state,
                phase=Phase.SIGNED_OUT,
                snapshot=None,
                error=None,
                risk=None,
                concurrency=None,
                forecasts={},
            )
        )

    def signed_in(self, account: Account, *, session_only: bool = False) -> None:
        """Start over for `account`: nothing of another account's data, risk or ledger stays."""
        self.sent = self.ledger.sent_notifications(account) if self.ledger else set()
        self.failures, self.failing_since, self.slow_fetched_at = 0, None, None
        self._set(
            replace(
                self.state,
                phase=Phase.LOADING,
                region=account.region,
                account_label=account.label,
                snapshot=None,
                error=None,
                risk=None,
                concurrency=None,
                forecasts={},
                session_only=session_only,
            )
        )

    def remember_sent(self) -> None:
        """Keep what was shown, so a restart does not show it again."""
        if self.ledger is not None and self.state.phase is not Phase.SIGNED_OUT:
            self.ledger.remember_sent(self.account, self.sent)

    def set_notice(self, key: NoticeKey, text: str) -> None:
        kept = tuple(n for n in self.state.notices if n.key is not key)
        self._set(replace(self.state, notices=(*kept, Notice(key, text))))

    def clear_notice(self, key: NoticeKey) -> None:
        if any(n.key is key for n in self.state.notices):
            self._set(
                replace(self.state, notices=tuple(n for n in self.state.notices if n.key is not key))
            )

    def set_risk(self, report: RiskReport, concurrency: ConcurrencyState) -> None:
        self._set(replace(self.state, risk=report, concurrency=concurrency))

    def set_concurrency(self, concurrency: ConcurrencyState) -> None:
        self._set(replace(self.state, concurrency=concurrency))

    def set_forecasts(
        self, forecasts: Mapping[str, Forecast], now: datetime
    ) -> list[alerts.Notification]:
        """The worker's forecasts for the data just fetched; the notifications they deserve
        (a window running out well before its reset, once per period)."""
        if self.state.phase is Phase.SIGNED_OUT:
            return []  # a late answer for a session that has ended
        notes = alerts.forecast_notifications(forecasts, self.state.settings, self.sent, now)
        self._set(replace(self.state, forecasts=dict(forecasts)))
        if notes:
            self.remember_sent()
        return notes

    # -- planning ----------------------------------------------------------------
    def plan(self, now: datetime, *, forced: bool = False) -> FetchPlan:
        slow_due = (
            forced
            or self.slow_fetched_at is None
            or now - self.slow_fetched_at >= SLOW_SECTIONS_EVERY
        )
        return FetchPlan(subscription=slow_due, risk=slow_due)

    def next_delay(self) -> timedelta:
        if self.failures == 0:
            return self.state.refresh_interval
        backoff = FIRST_RETRY * (1 << min(self.failures - 1, 10))
        return min(backoff, MAX_BACKOFF)

    # -- results -----------------------------------------------------------------
    def succeeded(
        self, fetched: Snapshot, plan: FetchPlan, now: datetime
    ) -> list[alerts.Notification]:
        previous = self.state.snapshot
        merged = fetched
        if previous is not None:
            keep: dict[str, object] = {}
            problems = dict(fetched.problems)
            if not plan.subscription or Section.SUBSCRIPTION in fetched.problems:
                keep["subscription"] = previous.subscription
            if not plan.risk or Section.RISK in fetched.problems:
                keep["risk_restricted"] = previous.risk_restricted
            if Section.QUOTA in fetched.problems and previous.quota is not None:
                keep["quota"] = previous.quota
            merged = replace(fetched, problems=problems, **keep)  # type: ignore[arg-type]
        if plan.subscription and Section.SUBSCRIPTION not in fetched.problems:
            self.slow_fetched_at = now
        quota_error = fetched.problems.get(Section.QUOTA)
        if quota_error is not None:
            # Quota is the heart of the app: without it this refresh counts as a failure,
            # and the data shown is as old as the last quota that came through.
            if previous is not None:
                merged = replace(merged, fetched_at=previous.fetched_at)
            self._set(replace(self.state, snapshot=merged if previous else fetched))
            return self.failed(quota_error, now)
        self.failures, self.failing_since = 0, None
        settings = self.state.settings
        if merged.subscription is None or merged.subscription.entered_by_hand:
            # The platform's value wins whenever it has one; the hand-entered date fills in.
            merged = replace(merged, subscription=manual_subscription(settings, merged.plan_name))
        notes = alerts.threshold_notifications(merged, settings, self.sent, now)
        notes += alerts.reset_notifications(previous, merged, settings, self.sent)
        if merged.subscription is not None:
            notes += renewal_notifications(
                merged.subscription, settings, self.state.region, now, self.sent
            )
        self._set(
            replace(self.state, phase=Phase.READY, snapshot=merged, error=None, last_attempt=now)
        )
        self.remember_sent()
        return notes

    def failed(self, error: GlmtrayError, now: datetime) -> list[alerts.Notification]:
        self.failures += 1
        if self.failing_since is None:
            self.failing_since = now
        snapshot = self.state.snapshot
        if isinstance(error, NoCodingPlan) and snapshot is not None:
            # No plan, no quota: the old tier and bars would say there is one.
            snapshot = replace(snapshot, quota=None)
        self._set(
            replace(
                self.state, phase=Phase.ERROR, error=error, last_attempt=now, snapshot=snapshot
            )
        )
        notes = alerts.failure_notifications(
            error,
            self.failing_since,
            now,
            self.state.settings,
            self.sent,
            renew_url=info(self.state.region).subscription_page,
        )
        self.remember_sent()
        return notes

    def deliverable(
        self, notes: list[alerts.Notification], now: datetime
    ) -> list[alerts.Notification]:
        """Nothing while paused: the icon and panel still show every state."""
        return [] if self.pause.active(now) else notes

    @property
    def key_rejected(self) -> bool:
        return isinstance(self.state.error, AuthenticationFailed)
