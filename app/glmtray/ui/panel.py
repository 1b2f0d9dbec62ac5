"""The panel: everything glmtray knows about the account, in one small popup.

A view only: the panel is a column of sections, each drawn from the AppState alone, and
`show_state` is its one way in. The buttons emit signals and the application decides what
they do. Sections reuse their rows between updates, so the panel can be refreshed every
few seconds (for "Updated 40 s ago") without rebuilding itself.
"""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import QPoint, QRect, Qt, Signal
from PySide6.QtGui import QPainter, QPaintEvent, QPalette, QScreen, QShowEvent
from PySide6.QtWidgets import QFrame, QScrollArea, QVBoxLayout, QWidget

from glmtray.state import AppState
from glmtray.ui import style
from glmtray.ui.concurrency_section import ConcurrencySection
from glmtray.ui.footer_section import FooterSection, LinksSection
from glmtray.ui.header_section import HeaderSection, StatusSection
from glmtray.ui.notices_section import NoticesSection
from glmtray.ui.quota_section import QuotaSection
from glmtray.ui.renewal_section import RenewalSection
from glmtray.ui.risk_section import RiskBanner, RiskSection
from glmtray.ui.section import Section

POPUP_GAP = 6
"""Pixels between the tray icon and the popup."""
WINDOW_FRAME_ALLOWANCE = 48
"""Room left for a title bar when the panel is a normal window (no tray)."""
MIN_BODY_HEIGHT = 120
"""The scrolling middle never shrinks below this, however small the screen."""


class Panel(QWidget):
    refresh_requested = Signal()
    settings_requested = Signal()
    open_url_requested = Signal(str)
    review_requested = Signal()
    sign_in_requested = Signal()
    quit_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("glmtrayPanel")
        self.setWindowTitle(self.tr("glmtray"))
        self.setFixedWidth(style.PANEL_WIDTH)
        self.setAutoFillBackground(True)
        self._popup = False

        outer = QVBoxLayout(self)
        outer.setContentsMargins(style.MARGIN, style.MARGIN, style.MARGIN, style.MARGIN - 4)
        outer.setSpacing(style.SECTION_SPACING)

        # The header stays on top and the links and buttons at the bottom; the middle
        # scrolls when the screen is too short for everything (a 1366x768 laptop).
        self.body = QWidget(self)
        self.body.setObjectName("glmtrayPanelBody")
        body_layout = QVBoxLayout(self.body)
        body_layout.setContentsMargins(0, 0, 0, 0)
        body_layout.setSpacing(style.SECTION_SPACING)
        # Top to bottom, as the panel shows them.
        self.header_section = HeaderSection(self)
        self.status_section = StatusSection(self.body)
        self.status_section.sign_in_requested.connect(self.sign_in_requested)
        self.status_section.retry_requested.connect(self.refresh_requested)
        self.status_section.open_url_requested.connect(self.open_url_requested)
        self.risk_banner = RiskBanner(self.body)
        self.risk_banner.review_requested.connect(self.review_requested)
        self.quota_section = QuotaSection(self.body)
        self.renewal_section = RenewalSection(self.body)
        self.notices_section = NoticesSection(self.body)
        self.risk_section = RiskSection(self.body)
        self.risk_section.review_requested.connect(self.review_requested)
        self.concurrency_section = ConcurrencySection(self.body)
        self.links_section = LinksSection(self)
        self.links_section.open_url_requested.connect(self.open_url_requested)
        self.footer_section = FooterSection(self)
        self.footer_section.refresh_requested.connect(self.refresh_requested)
        self.footer_section.settings_requested.connect(self.settings_requested)
        self.footer_section.quit_requested.connect(self.quit_requested)

        middle: list[Section] = [
            self.status_section,
            self.risk_banner,
            self.quota_section,
            self.renewal_section,
            self.notices_section,
            self.risk_section,
            self.concurrency_section,
        ]
        for section in middle:
            body_layout.addWidget(section)
        # Sections added later (add_section) go here, at the end of the middle.
        self._extra_sections = QVBoxLayout()
        self._extra_sections.setSpacing(style.SECTION_SPACING)
        body_layout.addLayout(self._extra_sections)
        self.scroll_area = QScrollArea(self)
        self.scroll_area.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll_area.setWidgetResizable(True)
        self.scroll_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll_area.viewport().setAutoFillBackground(False)
        self.body.setAutoFillBackground(False)
        self.scroll_area.setWidget(self.body)
        outer.addWidget(self.header_section)
        outer.addWidget(self.scroll_area)
        outer.addWidget(self.links_section)
        outer.addWidget(self.footer_section)
        self._sections: list[Section] = [
            self.header_section,
            *middle,
            self.links_section,
            self.footer_section,
        ]
        self._height_limit: int | None = None

    # Public API.
    def sections(self) -> tuple[Section, ...]:
        """Every section that draws itself from the state (none reads another's widgets,
        so the order they render in does not matter)."""
        return tuple(self._sections)

    def add_section(self, widget: QWidget) -> None:
        """Add a widget at the end of the middle; a Section is rendered with the others."""
        widget.setParent(self.body)
        self._extra_sections.addWidget(widget)
        if isinstance(widget, Section):
            self._sections.append(widget)

    def fit_height(self) -> None:
        """As tall as the content needs, but never taller than the screen allows: then the
        middle scrolls and the header, links and buttons stay in view."""
        width = self.width() - 2 * style.MARGIN
        body_height = self._body_height(width)
        # No scroll bar at all while everything fits, not even for a moment while the
        # scroll area catches up with its new height.
        self.scroll_area.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.body.setFixedHeight(body_height)
        self.scroll_area.setFixedHeight(body_height)
        style.fit_height(self)
        limit = self.height_limit()
        if self.height() > limit:
            self.scroll_area.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
            # Scrolling: the scroll bar takes its width from the text, which grows taller.
            bar = self.scroll_area.verticalScrollBar().sizeHint().width()
            body_height = self._body_height(width - bar)
            self.body.setFixedHeight(body_height)
            spare = self.height() - limit
            self.scroll_area.setFixedHeight(
                max(MIN_BODY_HEIGHT, self.scroll_area.height() - spare)
            )
            style.fit_height(self)

    def _body_height(self, width: int) -> int:
        """What the scrolling middle needs at `width` (word-wrapped text: height for width)."""
        layout = self.body.layout()
        assert layout is not None
        self.body.ensurePolished()
        for child in self.body.findChildren(QWidget):
            child.ensurePolished()
        layout.invalidate()
        layout.activate()
        height = layout.totalHeightForWidth(width)
        return height if height > 0 else layout.totalSizeHint().height()

    def set_height_limit(self, pixels: int | None) -> None:
        """The most the panel may take (the screen's free height); None: the primary screen's."""
        self._height_limit = pixels

    def height_limit(self) -> int:
        if self._height_limit is not None:
            return self._height_limit
        screen = self.screen()
        if screen is None:
            return 10_000
        room = screen.availableGeometry().height()
        return room - (2 * POPUP_GAP if self._popup else WINDOW_FRAME_ALLOWANCE)

    def set_popup_mode(self, popup: bool) -> None:
        visible = self.isVisible()
        self._popup = popup
        if popup:
            flags = Qt.WindowType.Popup | Qt.WindowType.FramelessWindowHint
        else:
            flags = Qt.WindowType.Window
        self.setWindowFlags(flags)
        if visible:
            self.show()
        self.update()

    def is_popup(self) -> bool:
        return self._popup

    def place_near(self, anchor: QRect, screen: QScreen) -> None:
        """Put the panel next to the tray icon, on the side with room, fully on screen.

        An empty anchor (some Linux trays do not report where the icon is) puts the panel
        in the top-right corner, where most Linux panels keep their tray.
        """
        area = screen.availableGeometry()
        limit = area.height() - 2 * POPUP_GAP
        if anchor.isValid() and not anchor.isEmpty():
            beside = anchor.right() <= area.left() + POPUP_GAP or (
                anchor.left() >= area.right() - POPUP_GAP
            )
            if not beside:
                # Only the room above or below the icon: a taller panel would cover the
                # icon (a bar's tray on a laptop screen reports the whole screen as free).
                above = anchor.top() - area.top()
                below = area.bottom() - anchor.bottom()
                limit = min(limit, max(above, below) - 2 * POPUP_GAP)
        self.set_height_limit(limit)
        self.fit_height()
        size = self.size()
        if not anchor.isValid() or anchor.isEmpty():
            pos = QPoint(area.right() - size.width() - POPUP_GAP, area.top() + POPUP_GAP)
        else:
            centre = anchor.center()
            x = centre.x() - size.width() // 2
            if anchor.top() - area.top() >= area.bottom() - anchor.bottom():
                y = anchor.top() - size.height() - POPUP_GAP  # tray at the bottom: open upwards
            else:
                y = anchor.bottom() + POPUP_GAP
            # A vertical taskbar on the left or right: open sideways.
            if anchor.right() <= area.left() + POPUP_GAP:
                x, y = anchor.right() + POPUP_GAP, centre.y() - size.height() // 2
            elif anchor.left() >= area.right() - POPUP_GAP:
                x, y = anchor.left() - size.width() - POPUP_GAP, centre.y() - size.height() // 2
            pos = QPoint(x, y)
        x = min(max(pos.x(), area.left()), area.right() + 1 - size.width())
        y = min(max(pos.y(), area.top()), area.bottom() + 1 - size.height())
        self.move(max(area.left(), x), max(area.top(), y))

    def show_message(self, text: str, *, problem: bool = False) -> None:
        """A short note above the buttons about what a click did, then resized to fit."""
        self.footer_section.show_message(text, problem=problem)
        self.fit_height()

    def show_state(self, state: AppState, now: datetime) -> None:
        """Render every section, then size the panel to their final text."""
        for section in self.sections():
            section.render_state(state, now)
        self.fit_height()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.fit_height()
        # Otherwise the first link takes the focus and looks hovered when the panel opens.
        self.footer_section.refresh_button.setFocus(Qt.FocusReason.PopupFocusReason)

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if self._popup:
            # A popup has no window frame: a hairline keeps it apart from what is behind it.
            painter = QPainter(self)
            painter.setPen(self.palette().color(QPalette.ColorRole.Mid))
            painter.drawRect(self.rect().adjusted(0, 0, -1, -1))
            painter.end()
