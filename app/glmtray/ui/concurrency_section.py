"""The panel's concurrency section: requests in flight, active sessions, what the tier allows."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QWidget

from glmtray.i18n import _, ngettext
from glmtray.state import AppState, Level
from glmtray.ui import style
from glmtray.ui.section import TextSection, plain_label, scaled_font, set_colour
from glmtray.wording import plural

if TYPE_CHECKING:  # the event store (and SQLite) load with the first state, not the panel
    from glmtray.activity.concurrency import ConcurrencyState


def concurrency_lines(state: ConcurrencyState) -> list[str]:
    """The section's text, plain so it can be tested without looking at widgets."""
    lines: list[str] = []
    if state.in_flight is not None:
        lines.append(
            _("In flight now: {count} · peak {peak} in 5 min").format(
                count=state.in_flight, peak=state.peak_5m
            )
        )
    if state.active_sessions:
        lines.append(
            ngettext(
                "Active: {sessions} in {count} project",
                "Active: {sessions} in {count} projects",
                state.active_projects or 0,
            ).format(
                sessions=plural(state.active_sessions, "coding session"),
                count=state.active_projects or 0,
            )
        )
    if state.recommended:
        lines.append(
            (
                _("Your plan recommends {count} concurrent project")
                if state.recommended == "1"
                else _("Your plan recommends {count} concurrent projects")
            ).format(count=state.recommended)
        )
    peak, off_peak = state.limit_seen_peak, state.limit_seen_offpeak
    if peak is not None and off_peak is not None:
        lines.append(
            _("Limit seen (error 1302): ≈{peak} in peak hours, ≈{off_peak} off-peak").format(
                peak=peak, off_peak=off_peak
            )
        )
    elif peak is not None:
        lines.append(_("Limit seen (error 1302): ≈{peak} in peak hours").format(peak=peak))
    elif off_peak is not None:
        lines.append(_("Limit seen (error 1302): ≈{off_peak} off-peak").format(off_peak=off_peak))
    return lines


def has_data(state: ConcurrencyState | None) -> bool:
    """Whether there is something live to show: requests in flight (the meter is on) or
    active coding sessions; a recommendation or a limit seen alone keeps the section hidden."""
    return state is not None and (state.in_flight is not None or bool(state.active_sessions))


class ConcurrencySection(TextSection):
    """Requests in flight and active coding sessions, from `state.concurrency`."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(self.tr("CONCURRENCY"), parent)
        self.warning = plain_label()
        self.warning.setFont(scaled_font(self, 0, bold=True))
        self.box.addWidget(self.warning)
        self.setToolTip(
            self.tr(
                "The platform limits how many requests run at once and raises the limit "
                "off-peak; it publishes no number. glmtray learns it from error 1302."
            )
        )

    def render_state(self, state: AppState, now: datetime) -> None:
        concurrency = state.concurrency
        self.setVisible(has_data(concurrency))
        if concurrency is None or not has_data(concurrency):
            return
        self.body.setText("\n".join(concurrency_lines(concurrency)))
        self.warning.setText(concurrency.warning or "")
        self.warning.setVisible(bool(concurrency.warning))
        set_colour(self.warning, style.level_colour(Level.WARNING, self.is_dark()))
