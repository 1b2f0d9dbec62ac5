"""Risk control in words: the notices a change of risk state gives, and the review
request e-mail to support. Built from the rules' results; never holds the API key."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import quote

from glmtray.activity.events import to_utc_iso
from glmtray.activity.risk import Episode, RiskState, RiskStatus, ThrottleInfo
from glmtray.platform.codes import describe
from glmtray.platform.models import FIVE_HOUR, MONTHLY_TOOLS, WEEKLY
from glmtray.redact import redact

# A review request lists this many trace ids at most: support needs a few, not hundreds.
MAX_TRACE_IDS = 10

# What a limit error's window is called in a notice.
_WINDOW_NAMES = {
    FIVE_HOUR: "the 5-hour usage window",
    WEEKLY: "the weekly usage window",
    MONTHLY_TOOLS: "the monthly tool-call allowance",
}


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


def _when(moment: datetime, tz: timezone | None, now: datetime | None = None) -> str:
    """A time as a notification says it: "14:05" today, "Tue 14:05" this week, else
    "3 Mar 14:05", in the user's zone (never an ISO stamp)."""
    local = moment.astimezone(tz)
    today = (now or moment).astimezone(tz).date()
    clock = local.strftime("%H:%M")
    if local.date() == today:
        return clock
    if 0 < (today - local.date()).days < 6 or 0 < (local.date() - today).days < 6:
        return f"{local.strftime('%a')} {clock}"
    return f"{local.day} {local.strftime('%b')} {clock}"


def _codes_text(codes: Iterable[int]) -> str:
    return ", ".join(f"{code} ({describe(code)})" for code in codes)


def _what_happened(episode: Episode) -> str:
    parts: list[str] = []
    if episode.codes:
        parts.append(f"requests refused with {_codes_text(episode.codes)}")
    if episode.flagged:
        parts.append("the risk-control flag reads restricted")
    return "; ".join(parts) or "a restriction signal"


def _policy_text(strikes: int, strike_limit: int) -> str:
    """Three short lines at most: a notification is read at a glance."""
    return (
        f"Strike {strikes} of {strike_limit}: {strike_limit} violations lead to a ban. "
        "It is lifted automatically once usage is back to normal coding: stop scripts "
        "and parallel agents. Click for details or to ask for a review."
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
                    f"Since {_when(episode.since, tz, after.evaluated_at)}: "
                    f"{_what_happened(episode)}.\n"
                    + (
                        "Coding tools are refused until support unlocks it. "
                        "Click to ask for a review."
                        if episode.locked
                        else _policy_text(after.strikes, after.strike_limit)
                    )
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
                    f"The restriction since {_when(episode.since, tz, after.evaluated_at)} "
                    f"became a lock: {_what_happened(episode)}.\n"
                    "Coding tools are refused until support unlocks it. Click to ask for a review."
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
                    f"No restriction signal since {_when(ended.last_seen, tz, after.evaluated_at)}"
                    + (" and the risk-control flag reads false" if _flag_false(after) else "")
                    + f". It stays on record: strike {after.strikes} of {after.strike_limit}."
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
            f" It resets at {_when(throttle.reset_at, tz, throttle.last_seen)}."
            if throttle.reset_at is not None
            else ""
        )
        window = _WINDOW_NAMES.get(throttle.window or "", "a usage window")
        return Notice(
            kind="window_exhausted",
            title="GLM Coding Plan usage limit reached",
            body=f"Requests are refused because {window} is used up{code}.{reset}",
            opens="panel",
            dedup_key=f"risk:window_exhausted:{to_utc_iso(throttle.since)}",
        )
    return Notice(
        kind="throttled",
        title="GLM Coding Plan is throttling requests",
        body=(
            f"Since {_when(throttle.since, tz, throttle.last_seen)} the platform slows requests down{code}. "
            "Fewer parallel sessions or agents help; it passes by itself."
        ),
        opens="panel",
        dedup_key=f"risk:throttled:{to_utc_iso(throttle.since)}",
    )


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
