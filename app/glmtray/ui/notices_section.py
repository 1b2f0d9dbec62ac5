"""One-line notices (a reset settings file, a missing tray) and the parser's warnings."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtWidgets import QLabel, QWidget

from glmtray.report import warning_lines
from glmtray.state import AppState, Level, Phase
from glmtray.ui import style
from glmtray.ui.section import Section, plain_label, scaled_font, set_colour, vbox


def notice_lines(state: AppState) -> list[str]:
    """Each fact once: while the status card names an error, the endpoints' own copies of it
    are left out; several endpoints failing the same way make one line."""
    lines = state.notice_texts()
    snap = state.snapshot
    if snap is None or state.phase in (Phase.SIGNED_OUT, Phase.ERROR):
        return lines
    return lines + warning_lines(snap.warnings, snap.problems)


class NoticesSection(Section):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._layout = vbox(self, 4)
        self.labels: list[QLabel] = []
        """One per notice shown so far; those past the current notices are hidden."""

    def render_state(self, state: AppState, now: datetime) -> None:
        lines = notice_lines(state)
        while len(self.labels) < len(lines):
            label = plain_label()
            label.setFont(scaled_font(self, -1))
            self.labels.append(label)
            self._layout.addWidget(label)
        colour = style.level_colour(Level.WARNING, self.is_dark())
        for index, label in enumerate(self.labels):
            label.setVisible(index < len(lines))
            if index < len(lines):
                label.setText("⚠ " + lines[index])
                set_colour(label, colour)
        self.setVisible(bool(lines))
