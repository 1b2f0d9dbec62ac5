"""A panel section: a small bold heading over word-wrapped text, hidden until it has any."""

from __future__ import annotations

from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout, QWidget


class PanelSection(QFrame):
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
        self.body.setWordWrap(True)
        self.box.addWidget(self.heading)
        self.box.addWidget(self.body)
        self.hide()
