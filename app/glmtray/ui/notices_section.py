"""One-line notices (a reset settings file, a missing tray) and the parser's warnings."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtWidgets import QLabel, QWidget

from glmtray.i18n import N_, _, pgettext
from glmtray.platform.models import Section as PlatformSection
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
    by_message: dict[str, list[str]] = {}
    for warning in snap.warnings:
        where, sep, message = warning.partition(": ")
        if sep and where in ENDPOINT_LABELS:
            # The warning keeps the English (status --json); the error says it in the
            # user's language.
            problem = snap.problems.get(ENDPOINT_SECTIONS[where])
            if problem is not None and problem.source_message == message:
                message = problem.message
            by_message.setdefault(message, []).append(where)
        else:
            by_message.setdefault(warning, [])
    for message, places in by_message.items():
        if not places:
            lines.append(_(message))
            continue
        first, *others = (_(ENDPOINT_NAMES[place]) for place in places)
        names = [first, *(name.lower() for name in others)]  # lower() leaves Chinese be
        if len(names) == 1:
            where = names[0]
        else:
            where = _("{names} and {last}").format(
                names=pgettext("list separator", ", ").join(names[:-1]), last=names[-1]
            )
        lines.append(_("{where}: {message}").format(where=where, message=message))
    return lines


ENDPOINT_NAMES = {
    "Quota": N_("Quota"),
    "Subscription": N_("Subscription"),
    "Risk flag": N_("Risk flag"),
}
"""How the client names the endpoint in a warning ("Subscription: HTTP 502 ..."), and the
name shown for it."""
ENDPOINT_LABELS = tuple(ENDPOINT_NAMES)
ENDPOINT_SECTIONS = {
    "Quota": PlatformSection.QUOTA,
    "Subscription": PlatformSection.SUBSCRIPTION,
    "Risk flag": PlatformSection.RISK,
}


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
