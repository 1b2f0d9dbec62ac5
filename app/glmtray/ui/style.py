"""Colours, spacing and two tiny widgets shared by the icon, the panel and the dialogs.

Level colours come in a light-panel and a dark-panel variant so the same hue keeps
enough contrast on either background.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QCursor, QGuiApplication, QIcon, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QLayout, QPushButton, QSizePolicy, QWidget

from glmtray.state import Level

SPACING = 8
"""Gap between related items."""
SECTION_SPACING = 14
"""Gap between sections of the panel."""
MARGIN = 14
PANEL_WIDTH = 380

# (light panel, dark panel)
_LEVEL_COLOURS: dict[Level, tuple[str, str]] = {
    Level.NORMAL: ("#12896b", "#3ccf9e"),
    Level.WARNING: ("#b86e00", "#f5b325"),
    Level.CRITICAL: ("#d9480f", "#ff7e42"),
    Level.FULL: ("#c92a2a", "#ff5f5f"),
}
_GREY = ("#7b8089", "#a4a9b1")
_FOREGROUND = ("#1f2226", "#f3f4f6")
_TRACK = (QColor(0, 0, 0, 46), QColor(255, 255, 255, 70))
BADGE_RED = "#e5383b"
BADGE_AMBER = "#f0a202"

DANGER_BG = ("#fdecec", "#4a2023")
DANGER_BORDER = ("#e7a3a3", "#8c3b40")
WARN_BG = ("#fff4df", "#47391c")
WARN_BORDER = ("#e9c98a", "#8a6d2e")
INFO_BG = ("#eef1f5", "#2c3036")
INFO_BORDER = ("#d3d8df", "#474d56")


def pick(pair: tuple[str, str], dark: bool) -> QColor:
    return QColor(pair[1] if dark else pair[0])


def level_colour(level: Level, dark: bool) -> QColor:
    return pick(_LEVEL_COLOURS[level], dark)


def grey(dark: bool) -> QColor:
    return pick(_GREY, dark)


def foreground(dark: bool) -> QColor:
    return pick(_FOREGROUND, dark)


def track(dark: bool) -> QColor:
    return QColor(_TRACK[1] if dark else _TRACK[0])


def eye_icon(visible: bool, colour: QColor, size: int = 20) -> QIcon:
    """An eye (key shown) or a struck-through eye (key hidden), drawn so no icon theme is needed."""
    icon = QIcon()
    for dpr in (1.0, 2.0):
        pixmap = QPixmap(round(size * dpr), round(size * dpr))
        pixmap.setDevicePixelRatio(dpr)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        pen = QPen(colour, size / 12.0)
        painter.setPen(pen)
        s = float(size)
        eye = QRectF(s * 0.12, s * 0.28, s * 0.76, s * 0.44)
        painter.drawEllipse(eye)
        painter.setBrush(colour)
        painter.drawEllipse(QPointF(s / 2, s / 2), s * 0.11, s * 0.11)
        if not visible:
            painter.drawLine(QPointF(s * 0.18, s * 0.82), QPointF(s * 0.82, s * 0.18))
        painter.end()
        icon.addPixmap(pixmap)
    return icon


class LinkButton(QPushButton):
    """A flat button that looks like a link and carries its URL.

    A button rather than a rich-text QLabel so it takes keyboard focus, has an accessible
    name, and is easy to click in tests.
    """

    url_clicked = Signal(str)

    def __init__(self, text: str, url: str = "", parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self._url = ""
        self.set_url(url)
        self.setFlat(True)
        # A link is never the button Enter presses: in a dialog it would open a web page
        # where the user meant to confirm the form.
        self.setAutoDefault(False)
        self.setCursor(QCursor(Qt.CursorShape.PointingHandCursor))
        self.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)
        self.setStyleSheet(
            "QPushButton { border: none; padding: 2px 0px; text-align: left;"
            " color: palette(link); background: transparent; }"
            "QPushButton:hover { text-decoration: underline; }"
            "QPushButton:focus { text-decoration: underline; }"
        )
        self.clicked.connect(self._emit)

    @property
    def url(self) -> str:
        return self._url

    def set_url(self, url: str) -> None:
        self._url = url
        self.setToolTip(url)

    def _emit(self) -> None:
        if self._url:
            self.url_clicked.emit(self._url)


def fit_height(widget: QWidget) -> None:
    """Give a fixed-width widget exactly the height its content needs at that width.

    Word-wrapped labels make the plain size hint guess a narrow width; asking the layout
    for the height at the real width gives no clipped lines and no stray gaps. Style
    sheets change margins and fonts when applied, so everything is polished first.
    """
    layout = widget.layout()
    if layout is None:
        return
    layout.setSizeConstraint(QLayout.SizeConstraint.SetNoConstraint)
    widget.ensurePolished()
    for child in widget.findChildren(QWidget):
        child.ensurePolished()
    layout.invalidate()
    layout.activate()
    height = layout.totalHeightForWidth(widget.width())
    if height <= 0:
        height = layout.totalSizeHint().height()
    widget.setFixedHeight(height)


def copy_to_clipboard(text: str) -> None:
    """Put `text` on the system clipboard (nothing happens where there is none)."""
    clipboard = QGuiApplication.clipboard()
    if clipboard is not None:
        clipboard.setText(text)
