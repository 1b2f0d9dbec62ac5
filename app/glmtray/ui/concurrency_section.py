"""The panel's concurrency section: requests in flight, active sessions, what the tier allows."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QWidget

from glmtray.activity.concurrency import ConcurrencyState
from glmtray.ui.section import PanelSection
from glmtray.wording import plural


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


class ConcurrencySection(PanelSection):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(self.tr("CONCURRENCY"), parent)
        self.warning = QLabel()
        self.warning.setWordWrap(True)
        self.warning.setStyleSheet("color: #b86e00; font-weight: bold;")
        self.box.addWidget(self.warning)

    def show_state(self, state: ConcurrencyState | None) -> None:
        has_data = state is not None and (
            state.in_flight is not None or bool(state.active_sessions)
        )
        self.setVisible(has_data)
        if state is None or not has_data:
            return
        self.body.setText("\n".join(concurrency_lines(state)))
        self.warning.setText(state.warning or "")
        self.warning.setVisible(bool(state.warning))
        self.setToolTip(
            self.tr(
                "The platform limits how many requests run at once and raises the limit "
                "off-peak; it publishes no number. glmtray learns it from error 1302."
            )
        )
