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
- Plan missing (1309, 1113) counts for `plan_missing_window` (default 1 h).
- Unknown codes are kept and listed, never dropped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import Enum
from urllib.parse import quote

from glmtray.codes import CodeClass, classify, describe
from glmtray.events import Event, EventStore, Signal, to_utc_iso
from glmtray.redact import redact

# The platform writes times without a zone in its own local time.
PLATFORM_TZ = timezone(timedelta(hours=8), "UTC+08:00")
DEFAULT_QUIET_PERIOD = timedelta(hours=6)
DEFAULT_TRANSIENT_WINDOW = timedelta(minutes=15)
DEFAULT_PLAN_MISSING_WINDOW = timedelta(hours=1)
STRIKE_LIMIT = 3
RISK_FLAG_STATE_KEY = "risk.flag_last"
NOTICES_SENT_STATE_KEY = "risk.notices_sent"
# A review request lists this many trace ids at most: support needs a few, not hundreds.
MAX_TRACE_IDS = 10


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


# --- reset time ------------------------------------------------------------------

_DATETIME_IN_TEXT = re.compile(
    r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?"
    r"\s*(Z|UTC|GMT|[+-]\d{2}:?\d{2}|(?:UTC|GMT)\s*[+-]\d{1,2}(?::?\d{2})?)?",
    re.IGNORECASE,
)
_RESET_WORDS = re.compile(r"reset|重置|恢复|刷新", re.IGNORECASE)


def parse_reset_time(message: str, default_tz: timezone = PLATFORM_TZ) -> datetime | None:
    """The reset time a 1308/1310 message names, as an aware datetime, or None.

    "... will reset at 2026-11-27 18:00:00" or "将在 2026-11-27 18:00:00 重置": a time
    without a zone is the platform's local time (UTC+8). The time closest to a reset
    word wins, so that a message naming another time as well still works.
    """
    if not message:
        return None
    candidates = list(_DATETIME_IN_TEXT.finditer(message))
    if not candidates:
        return None
    words = [m.start() for m in _RESET_WORDS.finditer(message)]
    if words:

        def distance(match: re.Match[str]) -> int:
            return min(min(abs(match.start() - w), abs(match.end() - w)) for w in words)

        candidates.sort(key=distance)
    for match in candidates:
        moment = _datetime_from_match(match, default_tz)
        if moment is not None:
            return moment
    return None


def _datetime_from_match(match: re.Match[str], default_tz: timezone) -> datetime | None:
    year, month, day, hour, minute = (int(match.group(i)) for i in range(1, 6))
    second = int(match.group(6) or 0)
    zone = _zone_from_text(match.group(7), default_tz)
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=zone)
    except ValueError:
        return None


def _zone_from_text(text: str | None, default_tz: timezone) -> timezone:
    if not text:
        return default_tz
    cleaned = text.upper().replace("UTC", "").replace("GMT", "").strip()
    if cleaned in ("", "Z"):
        return timezone.utc
    sign = -1 if cleaned.startswith("-") else 1
    digits = cleaned.lstrip("+-").replace(":", "")
    hours = int(digits[:2]) if len(digits) >= 3 else int(digits)
    minutes = int(digits[2:4]) if len(digits) >= 3 else 0
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


# --- risk flag -------------------------------------------------------------------


@dataclass(frozen=True)
class RiskFlagReading:
    """One reading of the china region's E10 flag: True restricted, False not, None unknown."""

    value: bool | None
    time: datetime


def load_risk_flag(store: EventStore) -> RiskFlagReading | None:
    """The last reading persisted by `record_risk_flag`, or None if there is none."""
    text = store.get_state(RISK_FLAG_STATE_KEY)
    if not text:
        return None
    try:
        data = json.loads(text)
        value = data["value"]
        moment = datetime.fromisoformat(data["time"])
    except (ValueError, KeyError, TypeError):
        return None
    if value is not None and not isinstance(value, bool):
        return None
    return RiskFlagReading(value, moment)


def record_risk_flag(store: EventStore, value: bool | None, now: datetime) -> RiskFlagReading:
    """Keep the reading, and store a restriction signal while the flag reads true.

    True readings are stored at most once per hour (the poller reads it often), plus one
    at the last true reading when it flips to false, so that the episode's last-seen
    time is exact without an event per poll.
    """
    previous = load_risk_flag(store)
    reading = RiskFlagReading(value, now)
    if value is True:
        store.add(_flag_signal(now, f"risk_flag:{to_utc_iso(now)[:13]}"))
    elif previous is not None and previous.value is True:
        store.add(_flag_signal(previous.time, f"risk_flag:last:{to_utc_iso(previous.time)}"))
    store.set_state(RISK_FLAG_STATE_KEY, json.dumps({"value": value, "time": to_utc_iso(now)}))
    return reading


def _flag_signal(moment: datetime, dedup_key: str) -> Signal:
    return Signal(
        time=moment,
        source="risk_flag",
        code=None,
        message="The platform's risk-control flag reads restricted.",
        dedup_key=dedup_key,
        code_class=CodeClass.RESTRICTED,
    )


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
        reset_at = (
            parse_reset_time(latest.message) if status is RiskStatus.WINDOW_EXHAUSTED else None
        )
        until = (
            reset_at
            if reset_at is not None and reset_at > latest.time
            else latest.time + self.transient_window
        )
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
        )

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


# --- notices -------------------------------------------------------------------------


@dataclass(frozen=True)
class Notice:
    """A notification for the UI to show (the UI decides how, and translates)."""

    kind: str
    """restriction_started | locked | restriction_lifted | throttled | window_exhausted"""
    title: str
    body: str
    opens: str
    """What clicking it opens: "panel", "support" or "policy"."""
    dedup_key: str
    """Stable per episode or spell: persist it (NoticeLedger) to send each notice once."""


def _when(moment: datetime, tz: timezone | None) -> str:
    local = moment.astimezone(tz)
    return local.strftime("%Y-%m-%d %H:%M")


def _codes_text(codes: Iterable[int]) -> str:
    return ", ".join(f"{code} ({describe(code)})" for code in codes)


def _what_happened(episode: Episode) -> str:
    parts: list[str] = []
    if episode.codes:
        parts.append(f"the platform refused requests with code {_codes_text(episode.codes)}")
    if episode.flagged:
        parts.append("the platform's risk-control flag reads restricted")
    return "; ".join(parts) or "a restriction signal was seen"


def _policy_text(strikes: int, strike_limit: int) -> str:
    return (
        "While restricted, the plan's benefits are limited. The restriction is lifted "
        "automatically once usage is back to normal interactive coding. The usage policy "
        f"says {strike_limit} violations lead to a ban; glmtray has seen {strikes} of "
        f"{strike_limit} (its own count; the platform keeps the real one).\n"
        "What to do: stop scripts, automated loops and parallel agents; keep to one or two "
        "interactive coding sessions. If you think this is a mistake, ask support for a "
        "review from the panel."
    )


def risk_notices(
    before: RiskState | None, after: RiskState, *, tz: timezone | None = None
) -> list[Notice]:
    """Notices for what changed from `before` to `after` (`before` None: first evaluation).

    Each notice carries a key stable for its episode or spell; comparing states already
    avoids repeats within a run, `NoticeLedger` avoids them across restarts.
    `tz`: zone for times in the text (None: the system's local zone).
    """
    notices: list[Notice] = []
    episode = after.active_episode
    previous = before.active_episode if before is not None else None
    same_episode = (
        episode is not None
        and previous is not None
        and episode.since <= previous.last_seen
        and previous.since <= episode.last_seen
    )
    if episode is not None and not same_episode:
        kind = "locked" if episode.locked else "restriction_started"
        title = (
            "GLM Coding Plan account locked"
            if episode.locked
            else "GLM Coding Plan restricted by risk control"
        )
        notices.append(
            Notice(
                kind=kind,
                title=title,
                body=(
                    f"Since {_when(episode.since, tz)}, {_what_happened(episode)}.\n"
                    + _policy_text(after.strikes, after.strike_limit)
                ),
                opens="panel",
                dedup_key=f"risk:{kind}:{to_utc_iso(episode.since)}",
            )
        )
    elif episode is not None and previous is not None and episode.locked and not previous.locked:
        notices.append(
            Notice(
                kind="locked",
                title="GLM Coding Plan account locked",
                body=(
                    f"The restriction that started {_when(episode.since, tz)} became a lock: "
                    f"{_what_happened(episode)}.\n"
                    "A locked account cannot use the plan until support reviews it: "
                    "ask for a review from the panel."
                ),
                opens="support",
                dedup_key=f"risk:locked:{to_utc_iso(episode.since)}",
            )
        )

    if previous is not None and episode is None and after.appears_lifted and after.episodes:
        ended = after.episodes[-1]
        notices.append(
            Notice(
                kind="restriction_lifted",
                title="GLM Coding Plan restriction appears lifted",
                body=(
                    f"No restriction signal since {_when(ended.last_seen, tz)}"
                    + (" and the risk-control flag reads false" if _flag_false(after) else "")
                    + ". The restriction that started "
                    f"{_when(ended.since, tz)} appears lifted. glmtray counts it as "
                    f"{after.strikes} of {after.strike_limit} strikes."
                ),
                opens="panel",
                dedup_key=f"risk:lifted:{to_utc_iso(ended.since)}",
            )
        )

    throttle = after.throttle
    if (
        throttle is not None
        and throttle.active
        and after.status in (RiskStatus.THROTTLED, RiskStatus.WINDOW_EXHAUSTED)
    ):
        old = before.throttle if before is not None else None
        already = (
            old is not None
            and old.active
            and old.status is throttle.status
            and old.since == throttle.since
        )
        if not already:
            notices.append(_throttle_notice(throttle, tz))
    return notices


def _flag_false(state: RiskState) -> bool:
    return state.risk_flag is not None and state.risk_flag.value is False


def _throttle_notice(throttle: ThrottleInfo, tz: timezone | None) -> Notice:
    code = f" (code {throttle.code}: {describe(throttle.code)})" if throttle.code else ""
    if throttle.status is RiskStatus.WINDOW_EXHAUSTED:
        reset = (
            f" It resets at {_when(throttle.reset_at, tz)}."
            if throttle.reset_at is not None
            else ""
        )
        return Notice(
            kind="window_exhausted",
            title="GLM Coding Plan usage limit reached",
            body=f"Requests are refused because a usage window is used up{code}.{reset}",
            opens="panel",
            dedup_key=f"risk:window_exhausted:{to_utc_iso(throttle.since)}",
        )
    return Notice(
        kind="throttled",
        title="GLM Coding Plan is throttling requests",
        body=(
            f"Since {_when(throttle.since, tz)} the platform slows requests down{code}. "
            "Fewer parallel sessions or agents help; it passes by itself."
        ),
        opens="panel",
        dedup_key=f"risk:throttled:{to_utc_iso(throttle.since)}",
    )


class NoticeLedger:
    """Remembers which notices were sent, in the event store, so a restart does not
    send the same episode's notice again."""

    def __init__(self, store: EventStore, keep: int = 200) -> None:
        self._store = store
        self._keep = keep

    def _sent(self) -> list[str]:
        text = self._store.get_state(NOTICES_SENT_STATE_KEY)
        try:
            value = json.loads(text) if text else []
        except ValueError:
            return []
        return [str(item) for item in value] if isinstance(value, list) else []

    def take_unsent(self, notices: Iterable[Notice]) -> list[Notice]:
        """The notices not sent before; marks them as sent."""
        sent = self._sent()
        known = set(sent)
        fresh: list[Notice] = []
        for notice in notices:
            if notice.dedup_key not in known:
                fresh.append(notice)
                known.add(notice.dedup_key)
                sent.append(notice.dedup_key)
        if fresh:
            self._store.set_state(NOTICES_SENT_STATE_KEY, json.dumps(sent[-self._keep :]))
        return fresh


# --- review request ----------------------------------------------------------------------


@dataclass(frozen=True)
class ReviewRequest:
    to: str
    subject: str
    body: str
    mailto_url: str


def _utc_text(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def review_request(
    region_support_email: str, region_name: str, plan: str | None, state: RiskState
) -> ReviewRequest:
    """An e-mail to support asking to review the restriction, pre-filled from `state`.

    Uses the active episode, else the latest one. Never contains the API key: the body
    is built from times, codes and trace ids only, and goes through `redact` anyway.
    """
    episode = state.active_episode or (state.episodes[-1] if state.episodes else None)
    subject = f"Review request: GLM Coding Plan restriction ({region_name})"
    lines = [
        "Hello,",
        "",
        "My GLM Coding Plan account appears to be restricted by risk control. I use the plan",
        "for interactive coding and I would like to ask for a review.",
        "",
        f"Region: {region_name}",
        f"Plan: {plan or 'unknown'}",
    ]
    if episode is not None:
        status = {
            True: "locked" if episode.locked else "restricted",
            False: "appears lifted",
        }[episode.active]
        lines += [
            f"Status: {status}",
            f"First seen: {_utc_text(episode.since)}",
            f"Last seen: {_utc_text(episode.last_seen)}",
            f"Error codes: {_codes_text(episode.codes) or 'none'}",
            f"Trace ids: {', '.join(episode.trace_ids[-MAX_TRACE_IDS:]) or 'none'}",
        ]
        if episode.flagged:
            lines.append("Risk-control flag: read restricted")
    else:
        lines.append("No restriction signal recorded by glmtray.")
    if state.risk_flag is not None and state.risk_flag.value is not None:
        reading = "restricted" if state.risk_flag.value else "not restricted"
        lines.append(
            f"Latest risk-control flag reading: {reading} ({_utc_text(state.risk_flag.time)})"
        )
    lines += [
        f"Restriction episodes counted: {state.strikes}",
        "",
        "How I use the plan: [tools, number of projects, usual hours]",
        "",
        "Thank you.",
    ]
    body = redact("\n".join(lines))
    subject = redact(subject)
    # RFC 6068: line breaks in a mailto body are CRLF, and everything is percent-encoded.
    mailto_url = (
        f"mailto:{quote(region_support_email, safe='@')}"
        f"?subject={quote(subject, safe='')}"
        f"&body={quote(body.replace(chr(10), chr(13) + chr(10)), safe='')}"
    )
    return ReviewRequest(to=region_support_email, subject=subject, body=body, mailto_url=mailto_url)
