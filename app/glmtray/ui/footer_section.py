"""The bottom of the panel: links to the region's pages, when the data is from, the buttons."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QFrame, QGridLayout, QHBoxLayout, QPushButton, QWidget

from glmtray.platform.regions import REGIONS, Region
from glmtray.state import AppState, Level, Phase
from glmtray.ui import style
from glmtray.ui.header_section import status_content
from glmtray.ui.section import Section, age, ago, plain_label, scaled_font, set_colour, vbox


class LinksSection(Section):
    """The account pages of the signed-in region, two to a row."""

    open_url_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        links = QGridLayout(self)
        links.setContentsMargins(0, 0, 0, 0)
        links.setHorizontalSpacing(style.SECTION_SPACING)
        links.setVerticalSpacing(2)
        self.subscription_link = style.LinkButton(self.tr("Manage subscription / cancel"))
        self.billing_link = style.LinkButton(self.tr("Billing history"))
        self.policy_link = style.LinkButton(self.tr("Usage policy"))
        self.support_link = style.LinkButton(self.tr("Contact support"))
        for index, link in enumerate(
            (self.subscription_link, self.billing_link, self.policy_link, self.support_link)
        ):
            link.url_clicked.connect(self.open_url_requested)
            links.addWidget(link, index // 2, index % 2, Qt.AlignmentFlag.AlignLeft)
        links.setColumnStretch(0, 1)
        links.setColumnStretch(1, 1)
        self.set_region(Region.GLOBAL)

    def set_region(self, region: Region) -> None:
        info = REGIONS[region]
        self.subscription_link.set_url(info.subscription_page)
        self.billing_link.set_url(info.billing_page)
        self.policy_link.set_url(info.usage_policy_page)
        self.support_link.set_url(f"mailto:{info.support_email}")

    def render_state(self, state: AppState, now: datetime) -> None:
        self.set_region(state.region)
        self.setVisible(state.phase is not Phase.SIGNED_OUT)


def _separator(parent: QWidget) -> QFrame:
    line = QFrame(parent)
    line.setFrameShape(QFrame.Shape.NoFrame)
    line.setFixedHeight(1)
    # The palette's mid tone: a hairline, not the black of a plain HLine.
    line.setStyleSheet("QFrame { background: palette(mid); }")
    return line


class FooterSection(Section):
    """When the data was fetched (or last tried), then Refresh, History, Settings and Quit."""

    refresh_requested = Signal()
    history_requested = Signal()
    settings_requested = Signal()
    quit_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        box = vbox(self, 6)
        box.addWidget(_separator(self))
        # What just happened after a click (a page opening, text copied): said for a while.
        self.message_label = plain_label()
        self.message_label.setFont(scaled_font(self, -1))
        self.message_label.hide()
        box.addWidget(self.message_label)
        self._message_timer = QTimer(self)
        self._message_timer.setSingleShot(True)
        self._message_timer.timeout.connect(self.clear_message)
        self.updated_label = plain_label()
        self.updated_label.setFont(scaled_font(self, -1))
        box.addWidget(self.updated_label)
        buttons = QHBoxLayout()
        buttons.setSpacing(style.SPACING)
        self.refresh_button = QPushButton(self.tr("Refresh"), self)
        self.refresh_button.clicked.connect(self.refresh_requested)
        self.history_button = QPushButton(self.tr("History…"), self)
        self.history_button.setToolTip(self.tr("Usage over the last day, week or month"))
        self.history_button.clicked.connect(self.history_requested)
        self.settings_button = QPushButton(self.tr("Settings…"), self)
        self.settings_button.clicked.connect(self.settings_requested)
        self.quit_button = QPushButton(self.tr("Quit"), self)
        self.quit_button.clicked.connect(self.quit_requested)
        buttons.addWidget(self.refresh_button)
        buttons.addWidget(self.history_button)
        buttons.addWidget(self.settings_button)
        buttons.addStretch(1)
        buttons.addWidget(self.quit_button)
        box.addLayout(buttons)

    def render_state(self, state: AppState, now: datetime) -> None:
        dark = self.is_dark()
        # A fetch that failed in every section brought no data to be "updated" with.
        snap = state.snapshot if state.snapshot is not None and state.snapshot.has_data else None
        colour: QColor | None = style.grey(dark)
        if state.phase is Phase.SIGNED_OUT:
            text = ""
        elif snap is not None:
            if state.is_stale(now):
                text = self.tr("Stale: updated {age} ago").format(age=age(now, snap.fetched_at))
                colour = style.level_colour(Level.WARNING, dark)
            else:
                text = ago(
                    now, snap.fetched_at, self.tr("Updated {age} ago"), self.tr("Updated just now")
                )
            if state.phase is Phase.LOADING:
                text += " · " + self.tr("refreshing…")
        elif state.phase is Phase.LOADING:
            text = self.tr("Refreshing…")
        elif state.last_attempt is not None:
            text = ago(
                now,
                state.last_attempt,
                self.tr("Last attempt {age} ago"),
                self.tr("Last attempt just now"),
            )
        else:
            text = ""
        # The status card already names the error; say it here only when the card does not.
        card_shown = status_content(state, now) is not None
        if state.error is not None and snap is not None and not card_shown:
            text += " · " + self.tr("last refresh failed: {title}").format(title=state.error.title)
        self.updated_label.setText(text)
        self.updated_label.setVisible(bool(text))
        set_colour(self.updated_label, colour)
        self.refresh_button.setEnabled(state.phase is not Phase.SIGNED_OUT)
        # The history's usage half comes from the platform, through the signed-in session.
        self.history_button.setEnabled(state.phase is not Phase.SIGNED_OUT)

    def show_message(self, text: str, *, problem: bool = False) -> None:
        """Say what a click did; it goes away after MESSAGE_SECONDS."""
        self.message_label.setText(text)
        dark = self.is_dark()
        set_colour(self.message_label, style.level_colour(Level.WARNING, dark) if problem else None)
        self.message_label.show()
        self._message_timer.start(MESSAGE_SECONDS * 1000)

    def clear_message(self) -> None:
        self.message_label.hide()
        self.message_label.clear()


MESSAGE_SECONDS = 8
