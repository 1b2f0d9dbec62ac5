"""The panel's risk-control section: status, strikes and throttling, from a RiskReport."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QPushButton, QWidget

from glmtray.activity.risk import RiskStatus
from glmtray.activity.risk_watch import RiskReport
from glmtray.timeutil import format_local_time
from glmtray.ui.section import PanelSection

POLICY = (
    "Restricted benefits are lifted automatically once usage is back to normal coding. "
    "Three violations lead to a ban."
)


def _day(moment: datetime) -> str:
    local = moment.astimezone()
    return f"{local.day} {local.strftime('%b')}"


def report_lines(report: RiskReport, now: datetime, *, with_policy: bool = True) -> list[str]:
    """The section's text, plain so it can be tested without looking at widgets."""
    state = report.state
    lines: list[str] = []
    episode = state.active_episode
    if episode is not None:
        what = (
            "Account locked" if state.status is RiskStatus.LOCKED else "Restricted by risk control"
        )
        codes = ", ".join(str(c) for c in episode.codes)
        lines.append(
            f"{what} since {format_local_time(episode.since, now)}"
            + (f" (codes {codes})" if codes else "")
        )
        if with_policy:
            lines.append(POLICY)
    elif state.appears_lifted and state.episodes:
        ended = state.episodes[-1].end
        lines.append(
            "The restriction appears lifted"
            + (f" since {format_local_time(ended, now)}." if ended else ".")
        )
    throttle = state.throttle
    if throttle is not None and throttle.active:
        kind = "Window exhausted" if throttle.status is RiskStatus.WINDOW_EXHAUSTED else "Throttled"
        code = f" ({throttle.code})" if throttle.code else ""
        until = throttle.reset_at or throttle.until
        lines.append(f"{kind}{code}: until about {format_local_time(until, now)}")
    if state.episodes:
        days = ", ".join(_day(e.since) for e in state.episodes[-state.strike_limit :])
        lines.append(
            f"Restriction episodes: {state.strikes} of {state.strike_limit} allowed before a ban ({days})"
        )
    if state.unknown_codes:
        lines.append(
            "Unrecognised platform codes seen: " + ", ".join(str(c) for c in state.unknown_codes)
        )
    return lines


class RiskSection(PanelSection):
    review_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(self.tr("RISK CONTROL"), parent)
        self.setObjectName("riskSection")
        self.review = QPushButton(self.tr("Request a review"))
        self.review.clicked.connect(self.review_requested.emit)
        self.box.addWidget(self.review)

    def show_report(
        self, report: RiskReport | None, now: datetime, *, banner_shown: bool = False
    ) -> None:
        """`banner_shown`: the panel's restriction banner already states the policy and
        offers the review, so this section keeps to the details."""
        lines = (
            report_lines(report, now, with_policy=not banner_shown) if report is not None else []
        )
        self.setVisible(bool(lines))
        self.body.setText("\n".join(lines))
        self.body.setToolTip(POLICY)
        has_episode = report is not None and bool(report.state.episodes)
        self.review.setVisible(has_episode and not banner_shown)
