"""What glmtray knows about an account at one moment: plain, immutable data."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from decimal import Decimal
from enum import Enum

from glmtray.errors import PlatformError
from glmtray.i18n import N_
from glmtray.platform.regions import Region
from glmtray.timeutil import PLATFORM_TZ

CANCEL_NOTICE_DAYS = 3
"""The platform requires cancelling at least this many days before the next billing date."""


class Tier(str, Enum):
    LITE = "lite"
    PRO = "pro"
    MAX = "max"

    @property
    def display_name(self) -> str:
        return self.value.capitalize()

    @classmethod
    def parse(cls, text: object) -> Tier | None:
        if not isinstance(text, str):
            return None
        try:
            return cls(text.strip().lower())
        except ValueError:
            return None


FIVE_HOUR = "five_hour"
WEEKLY = "weekly"
MONTHLY_TOOLS = "monthly_tools"

WINDOW_LABELS = {
    FIVE_HOUR: "5-hour",
    WEEKLY: "Weekly",
    MONTHLY_TOOLS: "Monthly tool calls",
}

UNIT_NOUNS = {3: "hour", 5: "month", 6: "week"}
"""The platform's window units seen live (platform-api.md): 3 = hours, 5 = months,
6 = weeks. Other units (tables elsewhere guess 1 = day, 4 = day, 5 = minutes) are not
trusted: a window in one is labelled with its raw numbers rather than a guess."""

UNIT_NAMES = {"CREDIT_LIMIT": "credits", "TIME_LIMIT": "calls", "TOKENS_LIMIT": "tokens"}
"""What a window's absolute figures count, by the platform's window type."""


@dataclass(frozen=True)
class ToolCount:
    name: str
    count: int


@dataclass(frozen=True)
class QuotaWindow:
    id: str
    """`five_hour`, `weekly`, `monthly_tools`, or a stable id built from type and length."""
    type: str
    """The platform's raw type: TOKENS_LIMIT, CREDIT_LIMIT, TIME_LIMIT or a new one."""
    used_percent: float
    """The share used, 0-100: `used / limit` where the platform gives both counts (capped at
    100), else the platform's own `percentage` (a floor, raised to 1 when anything is used)."""
    resets_at: datetime | None
    """None when the platform names no reset: not started if nothing is used, else unknown."""
    used: int | None = None
    limit: int | None = None
    remaining: int | None = None
    unit: int | None = None
    number: int | None = None
    tools: tuple[ToolCount, ...] = ()
    platform_percent: float | None = None
    """The platform's `percentage` as sent (None when absent), kept for comparison only."""

    @property
    def label(self) -> str:
        if self.id in WINDOW_LABELS:
            return WINDOW_LABELS[self.id]
        length = self.length_label
        if length is None:
            kind = self.type.replace("_", " ").capitalize()
            if self.unit is None and self.number is None:
                return kind
            return f"{kind} ({self.number if self.number is not None else '?'} x unit {self.unit})"
        if self.type == "TIME_LIMIT":
            return f"{length} tool calls"
        return f"{length} window"

    @property
    def length_label(self) -> str | None:
        """ "5-hour", "1-week", "3-month"; None for a unit whose meaning is not known."""
        if self.unit not in UNIT_NOUNS or not self.number or self.number < 1:
            return None
        return f"{self.number}-{UNIT_NOUNS[self.unit]}"

    @property
    def unit_name(self) -> str | None:
        """ "credits", "calls" or "tokens": what `used` and `limit` count (None: unknown type)."""
        return UNIT_NAMES.get(self.type)

    @property
    def has_counts(self) -> bool:
        """True when the share comes from absolute figures rather than the platform's floor."""
        return self.used is not None and self.limit is not None and self.limit > 0

    @property
    def is_exhausted(self) -> bool:
        return self.used_percent >= 100

    @property
    def started(self) -> bool:
        return self.resets_at is not None

    @property
    def in_use(self) -> bool:
        """Something was used in this window (by the counts, else the platform's share)."""
        if self.used is not None:
            return self.used > 0
        return self.used_percent > 0

    @property
    def reset_unknown(self) -> bool:
        """In use, yet the platform named no reset time: "unknown", never "not started"."""
        return self.resets_at is None and self.in_use


@dataclass(frozen=True)
class Quota:
    level: str | None
    """The platform's raw `level`, kept even when it names a tier glmtray does not know."""
    windows: tuple[QuotaWindow, ...]

    @property
    def tier(self) -> Tier | None:
        return Tier.parse(self.level)

    @property
    def has_windows(self) -> bool:
        """False for a plan that reports no windows at all (team plans: `limits: []`):
        there is nothing to show, which is neither "all left" nor "all used"."""
        return bool(self.windows)

    @property
    def uses_credits(self) -> bool:
        """The plan counts usage in credits (CREDIT_LIMIT windows): the newer plans."""
        return any(w.type == "CREDIT_LIMIT" for w in self.windows)

    @property
    def blocking_window(self) -> QuotaWindow | None:
        """The most used window: it is what stops the user, whatever its length.

        Compared on true shares (counts where the platform gives them), so two windows
        whose floored percentages tie are still told apart. On a real tie the one that
        resets last wins, since waiting for the other does not help.
        """
        if not self.windows:
            return None
        far = datetime.max.replace(tzinfo=None)

        def key(window: QuotaWindow) -> tuple[float, datetime]:
            reset = far
            if window.resets_at is not None:
                try:  # compared in UTC: windows may carry different zones
                    reset = window.resets_at.astimezone(timezone.utc).replace(tzinfo=None)
                except (OverflowError, ValueError):
                    reset = far
            percent = window.used_percent
            return (percent if math.isfinite(percent) else 0.0, reset)

        return max(self.windows, key=key)

    def window(self, window_id: str) -> QuotaWindow | None:
        return next((w for w in self.windows if w.id == window_id), None)


@dataclass(frozen=True)
class Subscription:
    product: str
    product_id: str | None
    status: str
    in_current_period: bool | None
    auto_renew: bool | None
    next_renewal: date | None
    """With auto-renew on, the next charge; off, the day the plan ends (UTC+8 calendar day)."""
    billing_cycle: str | None
    price: Decimal | None
    currency: str | None
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    entered_by_hand: bool = False
    """True when the user typed the renewal date because the platform gave none."""

    @property
    def renews_at(self) -> datetime | None:
        """The moment of the next charge (or of the end, with auto-renew off).

        The `valid` range carries the time of day; a bare date means the start of that
        day in the platform's zone (UTC+8).
        """
        if self.next_renewal is None:
            return None
        try:
            if (
                self.valid_until is not None
                and self.valid_until.astimezone(PLATFORM_TZ).date() == self.next_renewal
            ):
                return self.valid_until
            return datetime.combine(self.next_renewal, time(0), PLATFORM_TZ)
        except (OverflowError, ValueError):
            return None  # a date at datetime's edge (year 1 or 9999), typed in by hand

    def local_renewal_day(self, tz: tzinfo | None = None) -> date | None:
        """The renewal day in the user's zone: west of UTC+8 it can be the day before."""
        moment = self.renews_at
        try:
            return moment.astimezone(tz).date() if moment else None
        except (OverflowError, ValueError):
            return None

    def days_to_cancel(self, today: date, tz: tzinfo | None = None) -> int | None:
        """Whole days from `today` (local) to the last local day to cancel; negative once
        it has passed. The one place that counts them, for the panel and the CLI alike."""
        cancel_by = self.local_cancel_by(tz)
        return None if cancel_by is None else (cancel_by - today).days

    def local_cancel_by(self, tz: tzinfo | None = None) -> date | None:
        """The last local day on which cancelling still stops the renewal."""
        moment = self.renews_at
        if moment is None:
            return None
        try:
            return (moment - timedelta(days=CANCEL_NOTICE_DAYS)).astimezone(tz).date()
        except (OverflowError, ValueError):
            return None  # three days before year 1 is no day at all

    @property
    def cancel_by(self) -> date | None:
        if self.next_renewal is None:
            return None
        try:
            return self.next_renewal - timedelta(days=CANCEL_NOTICE_DAYS)
        except OverflowError:
            return None

    @property
    def is_active_coding_plan(self) -> bool:
        return (
            "coding" in f"{self.product} {self.product_id or ''}".lower()
            and self.status.upper() == "VALID"
            and self.in_current_period is not False
        )


class Section(str, Enum):
    QUOTA = "quota"
    SUBSCRIPTION = "subscription"
    RISK = "risk"


SECTION_LABELS: dict[Section, str] = {
    Section.QUOTA: N_("Quota"),
    Section.SUBSCRIPTION: N_("Subscription"),
    Section.RISK: N_("Risk flag"),
}
"""How a snapshot's warnings name each endpoint ("Subscription: HTTP 502 ..."), in English
as `status --json` keeps them; `_()` of the label is the user's word for it."""


@dataclass(frozen=True)
class Snapshot:
    region: Region
    fetched_at: datetime
    quota: Quota | None
    subscription: Subscription | None
    """The active coding-plan subscription, or None (see `problems` for why, if any)."""
    risk_restricted: bool | None
    """True restricted, False checked and fine, None unknown (never "fine")."""
    problems: dict[Section, PlatformError] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    @property
    def tier(self) -> Tier | None:
        return self.quota.tier if self.quota else None

    @property
    def plan_name(self) -> str | None:
        if self.subscription is not None:
            return self.subscription.product
        tier = self.tier
        return f"GLM Coding {tier.display_name}" if tier else None

    @property
    def windows(self) -> tuple[QuotaWindow, ...]:
        return self.quota.windows if self.quota else ()

    @property
    def blocking_window(self) -> QuotaWindow | None:
        return self.quota.blocking_window if self.quota else None

    @property
    def has_data(self) -> bool:
        """Whether any of the account's data came (a first fetch that failed in every
        section brings none, only its problems)."""
        return self.quota is not None or self.subscription is not None

    @property
    def has_windows(self) -> bool:
        """A quota came and it has windows; False for a plan reporting none (and no quota)."""
        return self.quota is not None and self.quota.has_windows

    def is_stale(self, now: datetime, refresh_interval: timedelta) -> bool:
        return now - self.fetched_at > 2 * refresh_interval
