"""Risk control in words: the notices a change of risk state gives, and the review
request e-mail to support. Built from the rules' results; never holds the API key."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import quote

from glmtray.activity.events import to_utc_iso
from glmtray.activity.risk import Episode, RiskState, RiskStatus, ThrottleInfo
from glmtray.i18n import N_, _, clock, day_month_clock, pgettext, weekday_clock
from glmtray.platform.codes import describe
from glmtray.platform.models import FIVE_HOUR, MONTHLY_TOOLS, WEEKLY
from glmtray.redact import redact

# A review request lists this many trace ids at most: support needs a few, not hundreds.
MAX_TRACE_IDS = 10

# What a limit error's window is called in a notice.
_WINDOW_NAMES = {
    FIVE_HOUR: N_("the 5-hour usage window"),
    WEEKLY: N_("the weekly usage window"),
    MONTHLY_TOOLS: N_("the monthly tool-call allowance"),
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
    "3 Mar 14:05", in the user's zone and language (never an ISO stamp)."""
    local = moment.astimezone(tz)
    today = (now or moment).astimezone(tz).date()
    if local.date() == today:
        return clock(local)
    if 0 < (today - local.date()).days < 6 or 0 < (local.date() - today).days < 6:
        return weekday_clock(local)
    return day_month_clock(local)


def _codes_text(codes: Iterable[int]) -> str:
    return pgettext("list separator", ", ").join(
        _("{code} ({meaning})").format(code=code, meaning=describe(code)) for code in codes
    )


def _what_happened(episode: Episode) -> str:
    codes = _codes_text(episode.codes)
    if codes and episode.flagged:
        return _("requests refused with {codes}; the risk-control flag reads restricted").format(
            codes=codes
        )
    if codes:
        return _("requests refused with {codes}").format(codes=codes)
    if episode.flagged:
        return _("the risk-control flag reads restricted")
    return _("a restriction signal")


def _policy_text(strikes: int, strike_limit: int) -> str:
    """Three short lines at most: a notification is read at a glance."""
    return _(
        "Strike {strikes} of {limit}: {limit} violations lead to a ban. "
        "It is lifted automatically once usage is back to normal coding: stop scripts "
        "and parallel agents. Click for details or to ask for a review."
    ).format(strikes=strikes, limit=strike_limit)


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
        since = _when(episode.since, tz, after.evaluated_at)
        if episode.locked:
            title = _("GLM Coding Plan account locked")
            body = _(
                "Since {time}: {what}.\n"
                "Coding tools are refused until support unlocks it. Click to ask for a review."
            ).format(time=since, what=_what_happened(episode))
        else:
            title = _("GLM Coding Plan restricted by risk control")
            body = _("Since {time}: {what}.\n{policy}").format(
                time=since,
                what=_what_happened(episode),
                policy=_policy_text(after.strikes, after.strike_limit),
            )
        notices.append(
            Notice(
                kind=kind,
                title=title,
                body=body,
                opens="panel",
                dedup_key=f"risk:{kind}:{to_utc_iso(episode.since)}",
            )
        )
    elif episode is not None and previous is not None and episode.locked and not previous.locked:
        notices.append(
            Notice(
                kind="locked",
                title=_("GLM Coding Plan account locked"),
                body=_(
                    "The restriction since {time} became a lock: {what}.\n"
                    "Coding tools are refused until support unlocks it. Click to ask for a review."
                ).format(
                    time=_when(episode.since, tz, after.evaluated_at),
                    what=_what_happened(episode),
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
                title=_("GLM Coding Plan restriction appears lifted"),
                body=(
                    _(
                        "No restriction signal since {time} and the risk-control flag reads "
                        "false. It stays on record: strike {strikes} of {limit}."
                    )
                    if _flag_false(after)
                    else _(
                        "No restriction signal since {time}. "
                        "It stays on record: strike {strikes} of {limit}."
                    )
                ).format(
                    time=_when(ended.last_seen, tz, after.evaluated_at),
                    strikes=after.strikes,
                    limit=after.strike_limit,
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
    code = throttle.code
    if throttle.status is RiskStatus.WINDOW_EXHAUSTED:
        window = _(_WINDOW_NAMES.get(throttle.window or "", N_("a usage window")))
        body = (
            _("Requests are refused because {window} is used up (code {code}: {meaning}).")
            if code
            else _("Requests are refused because {window} is used up.")
        ).format(window=window, code=code, meaning=describe(code) if code else "")
        if throttle.reset_at is not None:
            body = _("{refused} It resets at {time}.").format(
                refused=body, time=_when(throttle.reset_at, tz, throttle.last_seen)
            )
        return Notice(
            kind="window_exhausted",
            title=_("GLM Coding Plan usage limit reached"),
            body=body,
            opens="panel",
            dedup_key=f"risk:window_exhausted:{to_utc_iso(throttle.since)}",
        )
    return Notice(
        kind="throttled",
        title=_("GLM Coding Plan is throttling requests"),
        body=(
            _(
                "Since {time} the platform slows requests down (code {code}: {meaning}). "
                "Fewer parallel sessions or agents help; it passes by itself."
            )
            if code
            else _(
                "Since {time} the platform slows requests down. "
                "Fewer parallel sessions or agents help; it passes by itself."
            )
        ).format(
            time=_when(throttle.since, tz, throttle.last_seen),
            code=code,
            meaning=describe(code) if code else "",
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
    subject = _("Review request: GLM Coding Plan restriction ({region})").format(region=region_name)
    lines = [
        _("Hello,"),
        "",
        _(
            "My GLM Coding Plan account appears to be restricted by risk control. I use the "
            "plan\nfor interactive coding and I would like to ask for a review."
        ),
        "",
        _("Region: {region}").format(region=region_name),
        _("Plan: {plan}").format(plan=plan or _("unknown")),
    ]
    none = _("none")
    if episode is not None:
        if not episode.active:
            status = _("appears lifted")
        elif episode.locked:
            status = _("locked")
        else:
            status = _("restricted")
        lines += [
            _("Status: {status}").format(status=status),
            _("First seen: {time}").format(time=_utc_text(episode.since)),
            _("Last seen: {time}").format(time=_utc_text(episode.last_seen)),
            _("Error codes: {codes}").format(codes=_codes_text(episode.codes) or none),
            _("Trace ids: {ids}").format(ids=", ".join(episode.trace_ids[-MAX_TRACE_IDS:]) or none),
        ]
        if episode.flagged:
            lines.append(_("Risk-control flag: read restricted"))
    else:
        lines.append(_("No restriction signal recorded by glmtray."))
    if state.risk_flag is not None and state.risk_flag.value is not None:
        lines.append(
            (
                _("Latest risk-control flag reading: restricted ({time})")
                if state.risk_flag.value
                else _("Latest risk-control flag reading: not restricted ({time})")
            ).format(time=_utc_text(state.risk_flag.time))
        )
    lines += [
        _("Restriction episodes counted: {count}").format(count=state.strikes),
        "",
        _("How I use the plan: [tools, number of projects, usual hours]"),
        "",
        _("Thank you."),
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
