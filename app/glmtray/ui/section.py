"""Panel sections: each draws itself from the AppState alone, and the building blocks they share.

A section fills its labels and shows or hides itself in `render_state`; the panel renders
every section on each update and then sizes itself. The method is not called `render`:
QWidget.render (paint into a device) would be shadowed by an unrelated signature.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from glmtray.state import AppState
from glmtray.timeutil import format_duration
from glmtray.ui import style
from glmtray.ui.icon import panel_is_dark


class Section(QFrame):
    """One part of the panel, drawn from the AppState alone."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.NoFrame)

    def render_state(self, state: AppState, now: datetime) -> None:
        """Fill the section from `state` and show or hide it."""
        raise NotImplementedError

    def is_dark(self) -> bool:
        """Whether the panel behind this section is dark (the palette is inherited)."""
        return panel_is_dark(self.palette())


class TextSection(Section):
    """A small bold heading over word-wrapped text, hidden until it has any."""

    def __init__(self, heading: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.box = QVBoxLayout(self)
        self.box.setContentsMargins(0, 0, 0, 0)
        self.box.setSpacing(4)
        self.heading = QLabel(heading)
        font = self.heading.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 0.85)
        self.heading.setFont(font)
        self.body = QLabel()
        self.body.setTextFormat(Qt.TextFormat.PlainText)
        self.body.setWordWrap(True)
        self.box.addWidget(self.heading)
        self.box.addWidget(self.body)
        self.hide()


def scaled_font(widget: QWidget, delta: float, *, bold: bool = False) -> QFont:
    font = QFont(widget.font())
    size = font.pointSizeF()
    if size > 0:
        font.setPointSizeF(max(6.0, size + delta))
    font.setBold(bold)
    return font


def plain_label(text: str = "", *, wrap: bool = True, parent: QWidget | None = None) -> QLabel:
    label = QLabel(text, parent)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(wrap)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
    return label


def heading_label(text: str, parent: QWidget) -> QLabel:
    label = plain_label(text, wrap=False, parent=parent)
    label.setFont(scaled_font(parent, -1, bold=True))
    return label


def set_colour(label: QLabel, colour: QColor | None) -> None:
    if colour is None:
        # An empty palette means "inherit from the parent" again.
        label.setPalette(QPalette())
        return
    palette = label.palette()
    palette.setColor(QPalette.ColorRole.WindowText, colour)
    label.setPalette(palette)


def vbox(widget: QWidget, spacing: int) -> QVBoxLayout:
    """A margin-free column: the panel's own margins and spacing frame every section."""
    layout = QVBoxLayout(widget)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(spacing)
    return layout


JUST_NOW = timedelta(seconds=5)


def age(now: datetime, then: datetime) -> str:
    return format_duration(max(timedelta(0), now - then))


def ago(now: datetime, then: datetime, template: str, just_now: str) -> str:
    """'Updated 40 s ago', or 'Updated just now' rather than a jittery '0 s ago'."""
    if now - then < JUST_NOW:
        return just_now
    return template.format(age=age(now, then))


@dataclass(frozen=True)
class CardKind:
    background: tuple[str, str]
    border: tuple[str, str]


DANGER = CardKind(style.DANGER_BG, style.DANGER_BORDER)
WARN = CardKind(style.WARN_BG, style.WARN_BORDER)
INFO = CardKind(style.INFO_BG, style.INFO_BORDER)


class Card(QFrame):
    """A tinted box with a title, a message and a row of buttons (banners, error states)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("card")
        self._kind: CardKind | None = None
        self._dark = False
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 10)
        layout.setSpacing(6)
        self.title = plain_label()
        self.title.setFont(scaled_font(self, 0.5, bold=True))
        self.message = plain_label()
        layout.addWidget(self.title)
        layout.addWidget(self.message)
        self.buttons = QHBoxLayout()
        self.buttons.setSpacing(style.SPACING)
        self.buttons.addStretch(1)
        layout.addLayout(self.buttons)

    def add_button(self, button: QPushButton) -> None:
        self.buttons.insertWidget(self.buttons.count() - 1, button)

    def set_content(self, kind: CardKind, title: str, message: str, *, dark: bool) -> None:
        self.title.setText(title)
        self.message.setText(message)
        self.message.setVisible(bool(message))
        if kind is not self._kind or dark != self._dark:
            self._kind, self._dark = kind, dark
            bg = style.pick(kind.background, dark).name()
            border = style.pick(kind.border, dark).name()
            self.setStyleSheet(
                f"QFrame#card {{ background: {bg}; border: 1px solid {border};"
                " border-radius: 8px; }"
            )


class Badge(QLabel):
    """A small rounded tag (tier, demo, stale)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFont(scaled_font(self, -1.5, bold=True))
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)

    def set_badge(self, text: str, background: QColor, foreground: QColor) -> None:
        self.setText(text)
        self.setStyleSheet(
            f"QLabel {{ background: {background.name()}; color: {foreground.name()};"
            " border-radius: 7px; padding: 1px 7px; }"
        )
