"""Risk control in the panel: the restriction banner, and the details from the RiskReport."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QPushButton, QWidget

from glmtray.i18n import N_, _, day_month, pgettext
from glmtray.platform.regions import Region
from glmtray.state import AppState, Phase
from glmtray.timeutil import format_local_time
from glmtray.ui.section import DANGER, Card, Section, TextSection, vbox

if TYPE_CHECKING:  # the risk monitor (and SQLite) load with the first report, not the panel
    from glmtray.activity.risk_watch import RiskReport

POLICY = N_(
    "Restricted benefits are lifted automatically once usage is back to normal coding. "
    "Three violations lead to a ban."
)


def _day(moment: datetime) -> str:
    return day_month(moment.astimezone().date())


def report_lines(report: RiskReport, now: datetime, *, with_policy: bool = True) -> list[str]:
    """The section's text, plain so it can be tested without looking at widgets."""
    from glmtray.activity.risk import RiskStatus  # loaded already: it made the report

    state = report.state
    lines: list[str] = []
    separator = pgettext("list separator", ", ")
    episode = state.active_episode
    if episode is not None:
        locked = state.status is RiskStatus.LOCKED
        since = format_local_time(episode.since, now)
        codes = separator.join(str(c) for c in episode.codes)
        if locked and codes:
            line = _("Account locked since {time} (codes {codes})")
        elif locked:
            line = _("Account locked since {time}")
        elif codes:
            line = _("Restricted by risk control since {time} (codes {codes})")
        else:
            line = _("Restricted by risk control since {time}")
        lines.append(line.format(time=since, codes=codes))
        if with_policy:
            lines.append(_(POLICY))
    elif state.appears_lifted and state.episodes:
        ended = state.episodes[-1].end
        lines.append(
            _("The restriction appears lifted since {time}.").format(
                time=format_local_time(ended, now)
            )
            if ended
            else _("The restriction appears lifted.")
        )
    throttle = state.throttle
    if throttle is not None and throttle.active:
        exhausted = throttle.status is RiskStatus.WINDOW_EXHAUSTED
        if exhausted and throttle.code:
            line = _("Window exhausted ({code}): until about {time}")
        elif exhausted:
            line = _("Window exhausted: until about {time}")
        elif throttle.code:
            line = _("Throttled ({code}): until about {time}")
        else:
            line = _("Throttled: until about {time}")
        until = throttle.reset_at or throttle.until
        lines.append(line.format(code=throttle.code, time=format_local_time(until, now)))
    if state.episodes:
        days = separator.join(_day(e.since) for e in state.episodes[-state.strike_limit :])
        lines.append(
            _("Strike {strikes} of {limit} ({days}), by glmtray's count").format(
                strikes=state.strikes, limit=state.strike_limit, days=days
            )
        )
    # Business codes are four digits; a bare HTTP status (500) is an outage, said elsewhere.
    unknown = [code for code in state.unknown_codes if code >= 1000]
    if unknown:
        lines.append(
            _("Unrecognised platform codes seen: {codes}").format(
                codes=separator.join(str(c) for c in unknown)
            )
        )
    return lines


WATCH_LINE = N_(
    "The platform publishes no risk-control flag for this region. glmtray watches your "
    "coding tools' errors for restriction codes, and has seen none."
)
"""Where the platform publishes no flag (the global region) and nothing else is to be said."""


def banner_shown(state: AppState) -> bool:
    """Whether the restriction banner shows: the account is restricted and signed in."""
    return state.restricted and state.phase is not Phase.SIGNED_OUT


class RiskBanner(Section):
    """The red card at the top of the panel while the account is restricted.

    It follows `state.restricted`: the platform's flag, a restricted error, or the risk
    monitor's episodes all raise it.
    """

    review_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        box = vbox(self, 0)
        self.card = Card(self)
        self.review_button = QPushButton(self.tr("Request a review"), self)
        self.review_button.clicked.connect(self.review_requested)
        self.card.add_button(self.review_button)
        box.addWidget(self.card)
        self.hide()

    def render_state(self, state: AppState, now: datetime) -> None:
        shown = banner_shown(state)
        self.setVisible(shown)
        if shown and state.locked:
            self.card.set_content(
                DANGER,
                self.tr("Account locked"),
                self.tr(
                    "The platform has locked this account: coding tools are refused until "
                    "support unlocks it. Ask support for a review."
                ),
                dark=self.is_dark(),
            )
        elif shown:
            self.card.set_content(
                DANGER,
                self.tr("Account restricted by risk control"),
                self.tr(
                    "The platform has restricted this account's plan benefits. The restriction "
                    "is lifted automatically once usage is back to normal coding use. "
                    "Three violations lead to a ban. If you think this is a mistake, ask "
                    "support for a review."
                ),
                dark=self.is_dark(),
            )


class RiskSection(TextSection):
    """The risk monitor's details (episodes, strikes, throttling) from `state.risk`."""

    review_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(self.tr("RISK CONTROL"), parent)
        self.setObjectName("riskSection")
        self.review = QPushButton(self.tr("Request a review"))
        self.review.clicked.connect(self.review_requested.emit)
        self.box.addWidget(self.review, 0, Qt.AlignmentFlag.AlignLeft)

    def render_state(self, state: AppState, now: datetime) -> None:
        # While the banner shows, it states the policy and offers the review: the section
        # keeps to the details.
        banner = banner_shown(state)
        report = state.risk
        lines = report_lines(report, now, with_policy=not banner) if report is not None else []
        if not lines and report is not None and state.region is Region.GLOBAL:
            lines.append(_(WATCH_LINE))
        self.setVisible(bool(lines))
        self.body.setText("\n".join(lines))
        self.body.setToolTip(_(POLICY))
        has_episode = report is not None and bool(report.state.episodes)
        self.review.setVisible(has_episode and not banner)
