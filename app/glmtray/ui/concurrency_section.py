"""The panel's concurrency section: requests in flight, active sessions, what the tier allows."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QWidget

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
        lines.append(f"In flight now: {state.in_flight} · peak {state.peak_5m} in 5 min")
    if state.active_sessions:
        sessions = plural(state.active_sessions, "coding session")
        lines.append(f"Active: {sessions} in {plural(state.active_projects or 0, 'project')}")
    if state.recommended:
        projects = "project" if state.recommended == "1" else "projects"
        lines.append(f"Your plan recommends {state.recommended} concurrent {projects}")
    seen = []
    if state.limit_seen_peak is not None:
        seen.append(f"≈{state.limit_seen_peak} in peak hours")
    if state.limit_seen_offpeak is not None:
        seen.append(f"≈{state.limit_seen_offpeak} off-peak")
    if seen:
        lines.append("Limit seen (error 1302): " + ", ".join(seen))
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
