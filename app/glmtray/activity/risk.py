"""Risk-control monitor: from stored signals to a status, episodes, strikes and notices.

Pure functions over data: `RiskMonitor.evaluate` takes the stored events, the last
risk-flag reading and `now`, and returns a `RiskState`. Nothing here touches the network,
the clock or Qt, so every rule is testable with a chosen `now`.

The rules, from the platform's usage policy (see platform-api.md):

- Codes 1313 (fair-use restriction), 1112 and 1121 (locked), and the china region's
  risk-control flag reading true, are restriction signals.
- A restriction *episode* starts with the first restriction signal and lasts while they
  keep coming. It ends once none has been seen for `quiet_period` (default 6 h) and,
  where the region has a risk flag (the last reading is not None), the flag reads false
  in a reading taken after the last signal. The policy says three violations lead to a
  ban, so each episode counts as one *strike*; glmtray can only estimate what the
  platform counts, and says so in the text it shows.
- Throttling (1302, 1303, 1305) and exhausted windows (1304, 1308, 1310, 1316-1321) are
  transient: they count for `transient_window` (default 15 min) after the last signal,
  or until the reset time the message names, or until a later successful GLM message.
- An exhausted window's message names the moment the user is back (`codes.limit_reset`):
  `RiskState.back_at` holds it per window id (`five_hour`, `weekly`, `monthly_tools`)
  while it is ahead. A named time before the signal or more than `MAX_RESET_AHEAD` after
  it (a garbled year) is no reset time.
- Plan missing (1309, 1113) counts for `plan_missing_window` (default 1 h).
- Unknown codes are kept and listed, never dropped.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum

from glmtray.activity.events import Event
from glmtray.platform.codes import CodeClass, LimitReset, classify, limit_reset

DEFAULT_QUIET_PERIOD = timedelta(hours=6)
DEFAULT_TRANSIENT_WINDOW = timedelta(minutes=15)
DEFAULT_PLAN_MISSING_WINDOW = timedelta(hours=1)
STRIKE_LIMIT = 3
MAX_RESET_AHEAD = timedelta(days=32)
"""The longest window is a month: a reset named further after its signal is garbled."""


class RiskStatus(str, Enum):
    OK = "ok"
    THROTTLED = "throttled"
    WINDOW_EXHAUSTED = "window_exhausted"
    RESTRICTED = "restricted"
    LOCKED = "locked"
    PLAN_MISSING = "plan_missing"


_STATUS_OF_CLASS: dict[CodeClass, RiskStatus] = {
    CodeClass.THROTTLED: RiskStatus.THROTTLED,
    CodeClass.WINDOW_EXHAUSTED: RiskStatus.WINDOW_EXHAUSTED,
    CodeClass.RESTRICTED: RiskStatus.RESTRICTED,
    CodeClass.LOCKED: RiskStatus.LOCKED,
    CodeClass.PLAN_MISSING: RiskStatus.PLAN_MISSING,
}
_EPISODE_CLASSES = frozenset({CodeClass.RESTRICTED, CodeClass.LOCKED})
_TRANSIENT_CLASSES = frozenset(
    {CodeClass.THROTTLED, CodeClass.WINDOW_EXHAUSTED, CodeClass.PLAN_MISSING}
)
# Which transient status wins when several are live: the one that blocks the longest.
_TRANSIENT_SEVERITY = {
    RiskStatus.PLAN_MISSING: 3,
    RiskStatus.WINDOW_EXHAUSTED: 2,
    RiskStatus.THROTTLED: 1,
}


def status_for_code(code: int | str | None) -> RiskStatus | None:
    """The status a business code puts the account in; None for codes that do not
    (authentication, model unavailable, unknown)."""
    return _STATUS_OF_CLASS.get(classify(code))


@dataclass(frozen=True)
class RiskFlagReading:
    """One reading of the china region's E10 flag: True restricted, False not, None unknown."""

    value: bool | None
    time: datetime


# --- state -------------------------------------------------------------------------


@dataclass(frozen=True)
class Episode:
    """A stretch of restriction signals, with no gap longer than the quiet period."""

    since: datetime
    last_seen: datetime
    end: datetime | None
    """None while the episode is active; else last signal + quiet period."""
    codes: tuple[int, ...]
    trace_ids: tuple[str, ...]
    locked: bool
    """A lock code (1112, 1121) was seen in it."""
    flagged: bool
    """The risk-control flag read true during it."""
    signal_count: int

    @property
    def active(self) -> bool:
        return self.end is None


@dataclass(frozen=True)
class ThrottleInfo:
    """The latest throttling or exhausted-window spell."""

    status: RiskStatus
    code: int | None
    since: datetime
    """First signal of the spell (signals less than the transient window apart)."""
    last_seen: datetime
    until: datetime
    """When it stops counting: the named reset time, else last signal + transient window."""
    reset_at: datetime | None
    message: str
    trace_id: str | None
    active: bool
    window: str | None = None
    """For an exhausted window: which (`five_hour`, `weekly`, `monthly_tools`), if known."""


@dataclass(frozen=True)
class RiskState:
    status: RiskStatus
    active_episode: Episode | None
    episodes: tuple[Episode, ...]
    strikes: int
    strike_limit: int
    appears_lifted: bool
    """There were episodes, the last one ended, and no restriction signal since."""
    throttle: ThrottleInfo | None
    plan_missing_since: datetime | None
    unknown_codes: tuple[int, ...]
    risk_flag: RiskFlagReading | None
    evaluated_at: datetime
    back_at: dict[str, datetime] = field(default_factory=dict)
    """Window id -> when the user is back, from the latest limit error naming that window
    whose reset is still ahead (and no successful GLM reply came after it)."""


class RiskMonitor:
    def __init__(
        self,
        *,
        quiet_period: timedelta = DEFAULT_QUIET_PERIOD,
        transient_window: timedelta = DEFAULT_TRANSIENT_WINDOW,
        plan_missing_window: timedelta = DEFAULT_PLAN_MISSING_WINDOW,
        strike_limit: int = STRIKE_LIMIT,
    ) -> None:
        self.quiet_period = quiet_period
        self.transient_window = transient_window
        self.plan_missing_window = plan_missing_window
        self.strike_limit = strike_limit

    def evaluate(
        self,
        events: Iterable[Event],
        risk_flag: RiskFlagReading | None,
        now: datetime,
        last_activity: datetime | None = None,
    ) -> RiskState:
        """The risk state at `now`.

        `last_activity`: time of the latest successful GLM message (from the transcript
        reader); a success after a throttle or plan-missing signal clears it early.
        """
        ordered = sorted(events, key=lambda e: (e.time, e.id))
        episodes = self._episodes(ordered, risk_flag, now)
        active = episodes[-1] if episodes and episodes[-1].active else None
        throttle = self._throttle(ordered, now, last_activity)
        plan_missing_since = self._plan_missing_since(ordered, now, last_activity)

        if active is not None:
            status = RiskStatus.LOCKED if active.locked else RiskStatus.RESTRICTED
        elif plan_missing_since is not None:
            status = RiskStatus.PLAN_MISSING
        elif throttle is not None and throttle.active:
            status = throttle.status
        else:
            status = RiskStatus.OK

        unknown = sorted(
            {
                e.code
                for e in ordered
                if e.code is not None and classify(e.code) is CodeClass.UNKNOWN
            }
        )
        return RiskState(
            status=status,
            active_episode=active,
            episodes=tuple(episodes),
            strikes=len(episodes),
            strike_limit=self.strike_limit,
            appears_lifted=bool(episodes) and active is None,
            throttle=throttle,
            plan_missing_since=plan_missing_since,
            unknown_codes=tuple(unknown),
            risk_flag=risk_flag,
            evaluated_at=now,
            back_at=self._back_at(ordered, now, last_activity),
        )

    def _episodes(
        self, ordered: Sequence[Event], risk_flag: RiskFlagReading | None, now: datetime
    ) -> list[Episode]:
        signals: list[tuple[datetime, Event | None]] = [
            (e.time, e) for e in ordered if e.code_class in _EPISODE_CLASSES
        ]
        if risk_flag is not None and risk_flag.value is True:
            # The current reading counts even if its event was not stored yet.
            signals.append((risk_flag.time, None))
            signals.sort(key=lambda item: item[0])
        groups: list[list[tuple[datetime, Event | None]]] = []
        for moment, event in signals:
            if groups and moment - groups[-1][-1][0] <= self.quiet_period:
                groups[-1].append((moment, event))
            else:
                groups.append([(moment, event)])

        episodes: list[Episode] = []
        for index, group in enumerate(groups):
            last_seen = group[-1][0]
            quiet_end = last_seen + self.quiet_period
            if index < len(groups) - 1:
                # A later signal came after a full quiet gap: this one ended.
                end: datetime | None = quiet_end
            else:
                end = quiet_end if self._has_ended(last_seen, risk_flag, now) else None
            stored = [event for _, event in group if event is not None]
            codes = sorted({e.code for e in stored if e.code is not None})
            traces: list[str] = []
            for e in stored:
                if e.trace_id and e.trace_id not in traces:
                    traces.append(e.trace_id)
            episodes.append(
                Episode(
                    since=group[0][0],
                    last_seen=last_seen,
                    end=end,
                    codes=tuple(codes),
                    trace_ids=tuple(traces),
                    locked=any(e.code_class is CodeClass.LOCKED for e in stored),
                    flagged=any(e is None or e.source == "risk_flag" for _, e in group),
                    signal_count=len(group),
                )
            )
        return episodes

    def _has_ended(
        self, last_seen: datetime, risk_flag: RiskFlagReading | None, now: datetime
    ) -> bool:
        if now - last_seen < self.quiet_period:
            return False
        if risk_flag is None or risk_flag.value is None:
            return True  # no flag in this region (or unknown): the quiet period decides
        # The flag must read false in a reading taken after the last signal: an older
        # "false" says nothing about the restriction that came later.
        return risk_flag.value is False and risk_flag.time >= last_seen

    def _throttle(
        self, ordered: Sequence[Event], now: datetime, last_activity: datetime | None
    ) -> ThrottleInfo | None:
        spell = [
            e for e in ordered if e.code_class in (CodeClass.THROTTLED, CodeClass.WINDOW_EXHAUSTED)
        ]
        if not spell:
            return None
        latest = spell[-1]
        since = latest.time
        for earlier in reversed(spell[:-1]):
            if since - earlier.time > self.transient_window:
                break
            since = earlier.time
        status = _STATUS_OF_CLASS[latest.code_class]
        reset = _limit_reset_of(latest) if status is RiskStatus.WINDOW_EXHAUSTED else None
        reset_at = reset.back_at if reset is not None else None
        until = reset_at if reset_at is not None else latest.time + self.transient_window
        active = now < until and (last_activity is None or last_activity <= latest.time)
        return ThrottleInfo(
            status=status,
            code=latest.code,
            since=since,
            last_seen=latest.time,
            until=until,
            reset_at=reset_at,
            message=latest.message,
            trace_id=latest.trace_id,
            active=active,
            window=reset.window if reset is not None else None,
        )

    def _back_at(
        self, ordered: Sequence[Event], now: datetime, last_activity: datetime | None
    ) -> dict[str, datetime]:
        back_at: dict[str, datetime] = {}
        # An error older than this named a moment that has passed: its text is not read.
        oldest = now - MAX_RESET_AHEAD
        for event in ordered:  # oldest first: a later error for the same window wins
            if event.code_class is not CodeClass.WINDOW_EXHAUSTED or event.time < oldest:
                continue
            reset = _limit_reset_of(event)
            if reset is None or reset.window is None or reset.back_at is None:
                continue
            if reset.back_at <= now or (last_activity is not None and last_activity > event.time):
                continue  # over, or a reply got through since: that window is not blocking
            back_at[reset.window] = reset.back_at
        return back_at

    def _plan_missing_since(
        self, ordered: Sequence[Event], now: datetime, last_activity: datetime | None
    ) -> datetime | None:
        missing = [e for e in ordered if e.code_class is CodeClass.PLAN_MISSING]
        if not missing:
            return None
        latest = missing[-1]
        if now >= latest.time + self.plan_missing_window:
            return None
        if last_activity is not None and last_activity > latest.time:
            return None
        since = latest.time
        for earlier in reversed(missing[:-1]):
            if since - earlier.time > self.plan_missing_window:
                break
            since = earlier.time
        return since


def _limit_reset_of(event: Event) -> LimitReset | None:
    """The limit error's window and plausible reset time: one named before the signal or
    more than `MAX_RESET_AHEAD` after it is dropped (the window is still known)."""
    reset = limit_reset(event.code, event.message)
    if reset is None or reset.back_at is None:
        return reset
    try:
        plausible = event.time < reset.back_at <= event.time + MAX_RESET_AHEAD
    except OverflowError:  # a signal at the end of the calendar
        plausible = False
    if plausible:
        return reset
    return LimitReset(code=reset.code, window=reset.window, back_at=None)
