"""The panel: everything glmtray knows about the account, in one small popup.

A view only: `show_state` turns an AppState into labels, the buttons emit signals, and
the application decides what they do. Rows are reused between updates so the panel can be
refreshed every few seconds (for "Updated 40 s ago") without rebuilding itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from PySide6.QtCore import QPoint, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPaintEvent, QPalette, QScreen, QShowEvent
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from glmtray.errors import (
    AccountRestricted,
    AuthenticationFailed,
    NoCodingPlan,
    PlatformUnavailable,
    RateLimited,
)
from glmtray.platform.models import CANCEL_NOTICE_DAYS, QuotaWindow, Section, Snapshot, Subscription
from glmtray.platform.regions import REGIONS, Region
from glmtray.renewal import manual_subscription
from glmtray.report import blocking_phrase, renewal_lines, reset_phrase
from glmtray.state import AppState, Level, Phase, level_for
from glmtray.timeutil import format_duration
from glmtray.ui import style
from glmtray.ui.icon import panel_is_dark

POPUP_GAP = 6
"""Pixels between the tray icon and the popup."""

POLICY_NOTE_TOOLTIP = (
    "Cancel at least 3 days before billing. No refunds. Renewal charges bonus balance, "
    "then cash balance, then your payment method."
)


def _scaled_font(widget: QWidget, delta: float, *, bold: bool = False) -> QFont:
    font = QFont(widget.font())
    size = font.pointSizeF()
    if size > 0:
        font.setPointSizeF(max(6.0, size + delta))
    font.setBold(bold)
    return font


def _label(text: str = "", *, wrap: bool = True, parent: QWidget | None = None) -> QLabel:
    label = QLabel(text, parent)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(wrap)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
    return label


def _set_colour(label: QLabel, colour: QColor | None) -> None:
    if colour is None:
        # An empty palette means "inherit from the parent" again.
        label.setPalette(QPalette())
        return
    palette = label.palette()
    palette.setColor(QPalette.ColorRole.WindowText, colour)
    label.setPalette(palette)


class UsageBar(QWidget):
    """A slim rounded bar painted directly, so every style shows the level colour."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._percent = 0.0
        self._colour = QColor("#888888")
        self._track = QColor(0, 0, 0, 40)
        self.setFixedHeight(8)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def sizeHint(self) -> QSize:
        return QSize(200, 8)

    def percent(self) -> float:
        return self._percent

    def colour(self) -> QColor:
        return QColor(self._colour)

    def set_value(self, percent: float, colour: QColor, track: QColor) -> None:
        self._percent = max(0.0, min(100.0, percent))
        self._colour = QColor(colour)
        self._track = QColor(track)
        self.setAccessibleDescription(f"{self._percent:.0f} %")
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        rect = QRectF(self.rect())
        radius = rect.height() / 2
        painter.setBrush(self._track)
        painter.drawRoundedRect(rect, radius, radius)
        if self._percent > 0:
            # Never thinner than the bar is high, so 1 % is still a visible dot.
            width = max(rect.height(), rect.width() * self._percent / 100.0)
            painter.setBrush(self._colour)
            painter.drawRoundedRect(QRectF(0, 0, width, rect.height()), radius, radius)
        painter.end()


class WindowRow(QWidget):
    """One quota window: name and percent, the bar, when it resets, per-tool counts."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        top = QHBoxLayout()
        top.setSpacing(style.SPACING)
        self.name = _label(wrap=True)
        self.name.setFont(_scaled_font(self, 0, bold=True))
        self.percent = _label(wrap=False)
        self.percent.setFont(_scaled_font(self, 0, bold=True))
        self.percent.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.percent.setSizePolicy(QSizePolicy.Policy.Minimum, QSizePolicy.Policy.Minimum)
        top.addWidget(self.name, 1)
        top.addWidget(self.percent)
        layout.addLayout(top)
        self.bar = UsageBar(self)
        layout.addWidget(self.bar)
        self.detail = _label()
        self.detail.setFont(_scaled_font(self, -1))
        layout.addWidget(self.detail)
        self.tools = _label()
        self.tools.setFont(_scaled_font(self, -1))
        layout.addWidget(self.tools)
        self.window_id = ""

    def show_window(
        self, window: QuotaWindow, now: datetime, level: Level, *, dark: bool, stale: bool
    ) -> None:
        self.window_id = window.id
        self.name.setText(window.label)
        self.percent.setText(self.tr("{percent} %").format(percent=f"{window.used_percent:.0f}"))
        colour = style.grey(dark) if stale else style.level_colour(level, dark)
        self.bar.set_value(window.used_percent, colour, style.track(dark))
        self.bar.setAccessibleName(window.label)
        _set_colour(self.percent, colour if level is not Level.NORMAL and not stale else None)
        parts: list[str] = []
        if window.used is not None and window.limit:
            parts.append(
                self.tr("{used} of {limit} used").format(
                    used=f"{window.used:,}", limit=f"{window.limit:,}"
                )
            )
        parts.append(reset_phrase(window, now))
        self.detail.setText(" · ".join(parts))
        _set_colour(self.detail, style.grey(dark))
        tools = "   ".join(
            self.tr("{name}: {count}").format(name=tool.name, count=f"{tool.count:,}")
            for tool in window.tools
        )
        self.tools.setText(tools)
        _set_colour(self.tools, style.grey(dark))
        self.tools.setVisible(bool(tools))


@dataclass(frozen=True)
class _CardKind:
    background: tuple[str, str]
    border: tuple[str, str]


DANGER = _CardKind(style.DANGER_BG, style.DANGER_BORDER)
WARN = _CardKind(style.WARN_BG, style.WARN_BORDER)
INFO = _CardKind(style.INFO_BG, style.INFO_BORDER)


class Card(QFrame):
    """A tinted box with a title, a message and a row of buttons (banners, error states)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("card")
        self._kind: _CardKind | None = None
        self._dark = False
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 10)
        layout.setSpacing(6)
        self.title = _label()
        self.title.setFont(_scaled_font(self, 0.5, bold=True))
        self.message = _label()
        layout.addWidget(self.title)
        layout.addWidget(self.message)
        self.buttons = QHBoxLayout()
        self.buttons.setSpacing(style.SPACING)
        self.buttons.addStretch(1)
        layout.addLayout(self.buttons)

    def add_button(self, button: QPushButton) -> None:
        self.buttons.insertWidget(self.buttons.count() - 1, button)

    def set_content(self, kind: _CardKind, title: str, message: str, *, dark: bool) -> None:
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
        self.setFont(_scaled_font(self, -1.5, bold=True))
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)

    def set_badge(self, text: str, background: QColor, foreground: QColor) -> None:
        self.setText(text)
        self.setStyleSheet(
            f"QLabel {{ background: {background.name()}; color: {foreground.name()};"
            " border-radius: 7px; padding: 1px 7px; }"
        )


def _heading(text: str, parent: QWidget) -> QLabel:
    label = _label(text, wrap=False, parent=parent)
    label.setFont(_scaled_font(parent, -1, bold=True))
    return label


def _separator(parent: QWidget) -> QFrame:
    line = QFrame(parent)
    line.setFrameShape(QFrame.Shape.NoFrame)
    line.setFixedHeight(1)
    # The palette's mid tone: a hairline, not the black of a plain HLine.
    line.setStyleSheet("QFrame { background: palette(mid); }")
    return line


JUST_NOW = timedelta(seconds=5)


def _age(now: datetime, then: datetime) -> str:
    return format_duration(max(timedelta(0), now - then))


def _ago(now: datetime, then: datetime, template: str, just_now: str) -> str:
    """'Updated 40 s ago', or 'Updated just now' rather than a jittery '0 s ago'."""
    if now - then < JUST_NOW:
        return just_now
    return template.format(age=_age(now, then))


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
        self._region = Region.GLOBAL
        self._rows: list[WindowRow] = []

        outer = QVBoxLayout(self)
        outer.setContentsMargins(style.MARGIN, style.MARGIN, style.MARGIN, style.MARGIN - 4)
        outer.setSpacing(style.SECTION_SPACING)

        # Header: plan name, tier and tags, with the region just under the name.
        header_box = QVBoxLayout()
        header_box.setSpacing(2)
        header = QHBoxLayout()
        header.setSpacing(6)
        self.plan_label = _label(self.tr("GLM Coding Plan"))
        self.plan_label.setFont(_scaled_font(self, 3, bold=True))
        self.tier_badge = Badge(self)
        self.demo_badge = Badge(self)
        self.stale_badge = Badge(self)
        header.addWidget(self.plan_label, 1)
        header.addWidget(self.tier_badge, 0, Qt.AlignmentFlag.AlignVCenter)
        header.addWidget(self.demo_badge, 0, Qt.AlignmentFlag.AlignVCenter)
        header.addWidget(self.stale_badge, 0, Qt.AlignmentFlag.AlignVCenter)
        header_box.addLayout(header)
        self.region_label = _label()
        self.region_label.setFont(_scaled_font(self, -1))
        header_box.addWidget(self.region_label)
        outer.addLayout(header_box)

        # Status card: signed out, loading, errors.
        self.status_card = Card(self)
        self.sign_in_button = QPushButton(self.tr("Sign in…"), self)
        self.sign_in_button.clicked.connect(self.sign_in_requested)
        self.retry_button = QPushButton(self.tr("Try again"), self)
        self.retry_button.clicked.connect(self.refresh_requested)
        self.plan_page_button = QPushButton(self.tr("Open subscription page"), self)
        self.plan_page_button.clicked.connect(
            lambda: self.open_url_requested.emit(REGIONS[self._region].subscription_page)
        )
        for button in (self.plan_page_button, self.retry_button, self.sign_in_button):
            self.status_card.add_button(button)
        outer.addWidget(self.status_card)

        # Risk banner.
        self.risk_banner = Card(self)
        self.review_button = QPushButton(self.tr("Request a review"), self)
        self.review_button.clicked.connect(self.review_requested)
        self.risk_banner.add_button(self.review_button)
        outer.addWidget(self.risk_banner)

        # Quota windows, led by the window that blocks.
        self.quota_box = QWidget(self)
        quota_layout = QVBoxLayout(self.quota_box)
        quota_layout.setContentsMargins(0, 0, 0, 0)
        quota_layout.setSpacing(12)
        self.blocking_label = _label()
        self.blocking_label.setFont(_scaled_font(self, 0.5, bold=True))
        quota_layout.addWidget(self.blocking_label)
        self._rows_layout = QVBoxLayout()
        self._rows_layout.setSpacing(12)
        quota_layout.addLayout(self._rows_layout)
        outer.addWidget(self.quota_box)

        # Subscription and renewal.
        self.renewal_box = QWidget(self)
        renewal_layout = QVBoxLayout(self.renewal_box)
        renewal_layout.setContentsMargins(0, 0, 0, 0)
        renewal_layout.setSpacing(3)
        renewal_layout.addWidget(_heading(self.tr("SUBSCRIPTION"), self))
        self.renewal_labels = [_label() for _ in range(3)]
        for label in self.renewal_labels:
            renewal_layout.addWidget(label)
        self.policy_note = _label(self.tr("Cancel at least 3 days before billing. No refunds."))
        self.policy_note.setFont(_scaled_font(self, -1))
        self.policy_note.setToolTip(self.tr(POLICY_NOTE_TOOLTIP))
        renewal_layout.addSpacing(2)
        renewal_layout.addWidget(self.policy_note)
        outer.addWidget(self.renewal_box)

        # Notices (settings reset, tray missing) and the parser's warnings.
        self.notices_box = QWidget(self)
        self._notices_layout = QVBoxLayout(self.notices_box)
        self._notices_layout.setContentsMargins(0, 0, 0, 0)
        self._notices_layout.setSpacing(4)
        self._notice_labels: list[QLabel] = []
        outer.addWidget(self.notices_box)

        # Later monitors (risk, concurrency) add their sections here.
        self.sections = QVBoxLayout()
        self.sections.setSpacing(style.SECTION_SPACING)
        outer.addLayout(self.sections)

        # Links.
        self.links_box = QWidget(self)
        links = QGridLayout(self.links_box)
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
        outer.addWidget(self.links_box)

        # Footer.
        footer_box = QVBoxLayout()
        footer_box.setSpacing(6)
        footer_box.addWidget(_separator(self))
        self.updated_label = _label()
        self.updated_label.setFont(_scaled_font(self, -1))
        footer_box.addWidget(self.updated_label)
        buttons = QHBoxLayout()
        buttons.setSpacing(style.SPACING)
        self.refresh_button = QPushButton(self.tr("Refresh"), self)
        self.refresh_button.clicked.connect(self.refresh_requested)
        self.settings_button = QPushButton(self.tr("Settings…"), self)
        self.settings_button.clicked.connect(self.settings_requested)
        self.quit_button = QPushButton(self.tr("Quit"), self)
        self.quit_button.setFlat(True)
        self.quit_button.clicked.connect(self.quit_requested)
        buttons.addWidget(self.refresh_button)
        buttons.addWidget(self.settings_button)
        buttons.addStretch(1)
        buttons.addWidget(self.quit_button)
        footer_box.addLayout(buttons)
        outer.addLayout(footer_box)

        self._set_links()

    # Public API.
    def add_section(self, widget: QWidget) -> None:
        """Add a section (risk monitor, concurrency) above the links."""
        widget.setParent(self)
        self.sections.addWidget(widget)

    def fit_height(self) -> None:
        style.fit_height(self)

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
        self.fit_height()
        size = self.size()
        area = screen.availableGeometry()
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

    def show_state(self, state: AppState, now: datetime) -> None:
        dark = panel_is_dark(self.palette())
        snap = state.snapshot
        self._region = state.region
        self._set_links()
        self._show_header(state, snap, now, dark)
        self._show_status(state, snap, now, dark)
        self._show_risk(state, dark)
        self._show_quota(state, snap, now, dark)
        self._show_renewal(state, snap, now, dark)
        self._show_notices(state, snap, dark)
        self._show_footer(state, snap, now, dark)
        self.links_box.setVisible(state.phase is not Phase.SIGNED_OUT)
        self.refresh_button.setEnabled(state.phase is not Phase.SIGNED_OUT)
        self.fit_height()

    # Sections.
    def _set_links(self) -> None:
        info = REGIONS[self._region]
        self.subscription_link.set_url(info.subscription_page)
        self.billing_link.set_url(info.billing_page)
        self.policy_link.set_url(info.usage_policy_page)
        self.support_link.set_url(f"mailto:{info.support_email}")

    def _show_header(
        self, state: AppState, snap: Snapshot | None, now: datetime, dark: bool
    ) -> None:
        name = snap.plan_name if snap and snap.plan_name else self.tr("GLM Coding Plan")
        self.plan_label.setText(name)
        tier = snap.tier if snap else None
        self.tier_badge.setVisible(tier is not None)
        if tier is not None:
            self.tier_badge.set_badge(
                tier.display_name.upper(),
                style.level_colour(Level.NORMAL, dark),
                QColor("#0f1a16") if dark else QColor("white"),
            )
        self.demo_badge.setVisible(state.demo)
        self.demo_badge.set_badge(
            self.tr("DEMO"),
            style.level_colour(Level.WARNING, dark),
            QColor("#1f1500") if dark else QColor("white"),
        )
        stale = state.is_stale(now)
        self.stale_badge.setVisible(stale)
        self.stale_badge.set_badge(self.tr("STALE"), style.grey(dark), QColor("white"))
        region = REGIONS[state.region].display_name
        if state.demo:
            text = self.tr("{region} · demo data from a simulated platform").format(region=region)
        elif state.session_only:
            text = self.tr("{region} · key kept for this session only").format(region=region)
        else:
            text = region
        self.region_label.setText(text)
        _set_colour(self.region_label, style.grey(dark))

    def _show_status(
        self, state: AppState, snap: Snapshot | None, now: datetime, dark: bool
    ) -> None:
        error = state.error
        card = self.status_card
        sign_in = retry = plan_page = False
        kind, title, message = INFO, "", ""
        if state.phase is Phase.SIGNED_OUT:
            title = self.tr("Not signed in")
            message = self.tr(
                "Sign in with your GLM Coding Plan API key to see your quota, "
                "renewal date and account status."
            )
            self.sign_in_button.setText(self.tr("Sign in…"))
            sign_in = True
        elif error is None and snap is None:
            title = self.tr("Loading…")
            message = self.tr("Fetching your plan's usage from the platform.")
        elif error is None or isinstance(error, AccountRestricted):
            pass  # healthy, or restricted: the risk banner says it
        elif isinstance(error, AuthenticationFailed):
            kind, title, message = DANGER, self.tr("Key not accepted"), error.message
            self.sign_in_button.setText(self.tr("Sign in again…"))
            sign_in = True
        elif isinstance(error, NoCodingPlan):
            kind, title, message = DANGER, error.title, error.message
            self.sign_in_button.setText(self.tr("Use another key…"))
            sign_in = plan_page = True
        else:
            kind = WARN if isinstance(error, (PlatformUnavailable, RateLimited)) else DANGER
            title, message = error.title, error.message
            retry = True
        if title and error is not None and snap is not None:
            message += "\n" + self.tr("Showing data from {age} ago.").format(
                age=_age(now, snap.fetched_at)
            )
        card.setVisible(bool(title))
        if title:
            card.set_content(kind, title, message, dark=dark)
        self.sign_in_button.setVisible(sign_in)
        self.retry_button.setVisible(retry)
        self.plan_page_button.setVisible(plan_page)

    def _show_risk(self, state: AppState, dark: bool) -> None:
        restricted = state.restricted and state.phase is not Phase.SIGNED_OUT
        self.risk_banner.setVisible(restricted)
        if restricted:
            self.risk_banner.set_content(
                DANGER,
                self.tr("Account restricted by risk control"),
                self.tr(
                    "The platform has restricted this account's plan benefits. The restriction "
                    "is lifted automatically once usage is back to normal coding use. "
                    "Three violations lead to a ban. If you think this is a mistake, ask "
                    "support for a review."
                ),
                dark=dark,
            )

    def _show_quota(
        self, state: AppState, snap: Snapshot | None, now: datetime, dark: bool
    ) -> None:
        windows = snap.windows if snap and state.phase is not Phase.SIGNED_OUT else ()
        self.quota_box.setVisible(bool(windows))
        if not windows or snap is None:
            return
        stale = state.is_stale(now) or state.error is not None
        thresholds = state.settings.thresholds
        blocking = snap.blocking_window
        if blocking is not None:
            level = level_for(blocking.used_percent, thresholds)
            self.blocking_label.setText(blocking_phrase(blocking, now))
            colour = style.grey(dark) if stale else style.level_colour(level, dark)
            calm = level is Level.NORMAL or stale
            if calm:
                colour = style.grey(dark)
            # Loud only when it matters: a calm line while far from any limit.
            self.blocking_label.setFont(_scaled_font(self, -1 if calm else 0.5, bold=not calm))
            _set_colour(self.blocking_label, colour)
        self.blocking_label.setVisible(blocking is not None)
        while len(self._rows) < len(windows):
            row = WindowRow(self.quota_box)
            self._rows.append(row)
            self._rows_layout.addWidget(row)
        for row, window in zip(self._rows, windows, strict=False):
            level = level_for(window.used_percent, thresholds)
            row.show_window(window, now, level, dark=dark, stale=stale)
            row.setVisible(True)
        for row in self._rows[len(windows) :]:
            row.setVisible(False)

    def _show_renewal(
        self, state: AppState, snap: Snapshot | None, now: datetime, dark: bool
    ) -> None:
        today = now.astimezone().date()
        lines: list[str] = []
        urgent_line = -1
        sub = snap.subscription if snap else None
        if state.phase is Phase.SIGNED_OUT or snap is None:
            sub = None
        if sub is not None:
            lines = renewal_lines(sub, today)
            if sub.billing_cycle:
                lines.append(self.tr("Billing cycle: {cycle}").format(cycle=sub.billing_cycle))
            urgent_line = self._urgent_cancel_line(sub, today)
        elif snap is not None and state.phase is not Phase.SIGNED_OUT:
            manual = manual_subscription(state.settings, snap.plan_name)
            if manual is not None:
                lines = renewal_lines(manual, today)
                urgent_line = self._urgent_cancel_line(manual, today)
            else:
                problem = snap.problems.get(Section.SUBSCRIPTION)
                if problem is not None:
                    lines = [
                        self.tr("Renewal date unavailable: {reason}").format(reason=problem.title)
                    ]
                elif snap.quota is not None:
                    lines = [
                        self.tr(
                            "The platform did not give a renewal date. You can enter it "
                            "by hand in Settings."
                        )
                    ]
        self.renewal_box.setVisible(bool(lines))
        for index, label in enumerate(self.renewal_labels):
            label.setVisible(index < len(lines))
            if index < len(lines):
                label.setText(lines[index])
                urgent = index == urgent_line
                label.setFont(_scaled_font(self, 0, bold=urgent))
                _set_colour(label, style.level_colour(Level.WARNING, dark) if urgent else None)
        _set_colour(self.policy_note, style.grey(dark))
        # The cancel rule matters only while the plan would renew.
        renews = sub is not None and sub.auto_renew is not False
        self.policy_note.setVisible(renews or urgent_line >= 0)

    @staticmethod
    def _urgent_cancel_line(sub: Subscription, today: date) -> int:
        """Index of the cancel-by line when the last day to cancel is close, else -1."""
        days = sub.days_to_cancel(today)
        if sub.auto_renew is False or days is None:
            return -1
        return 1 if 0 <= days <= CANCEL_NOTICE_DAYS else -1

    def _show_notices(self, state: AppState, snap: Snapshot | None, dark: bool) -> None:
        lines = state.notice_texts()
        if snap is not None and state.phase is not Phase.SIGNED_OUT:
            lines.extend(snap.warnings)
        while len(self._notice_labels) < len(lines):
            label = _label()
            label.setFont(_scaled_font(self, -1))
            self._notice_labels.append(label)
            self._notices_layout.addWidget(label)
        for index, label in enumerate(self._notice_labels):
            label.setVisible(index < len(lines))
            if index < len(lines):
                label.setText("⚠ " + lines[index])
                _set_colour(label, style.level_colour(Level.WARNING, dark))
        self.notices_box.setVisible(bool(lines))

    def _show_footer(
        self, state: AppState, snap: Snapshot | None, now: datetime, dark: bool
    ) -> None:
        colour: QColor | None = style.grey(dark)
        if state.phase is Phase.SIGNED_OUT:
            text = ""
        elif snap is not None:
            if state.is_stale(now):
                text = self.tr("Stale: updated {age} ago").format(age=_age(now, snap.fetched_at))
                colour = style.level_colour(Level.WARNING, dark)
            else:
                text = _ago(
                    now, snap.fetched_at, self.tr("Updated {age} ago"), self.tr("Updated just now")
                )
            if state.phase is Phase.LOADING:
                text += " · " + self.tr("refreshing…")
        elif state.phase is Phase.LOADING:
            text = self.tr("Refreshing…")
        elif state.last_attempt is not None:
            text = _ago(
                now,
                state.last_attempt,
                self.tr("Last attempt {age} ago"),
                self.tr("Last attempt just now"),
            )
        else:
            text = ""
        # The status card already names the error; say it here only when the card does not.
        card_shown = self.status_card.isVisibleTo(self)
        if state.error is not None and snap is not None and not card_shown:
            text += " · " + self.tr("last refresh failed: {title}").format(title=state.error.title)
        self.updated_label.setText(text)
        self.updated_label.setVisible(bool(text))
        _set_colour(self.updated_label, colour)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.fit_height()
        # Otherwise the first link takes the focus and looks hovered when the panel opens.
        self.refresh_button.setFocus(Qt.FocusReason.PopupFocusReason)

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if self._popup:
            # A popup has no window frame: a hairline keeps it apart from what is behind it.
            painter = QPainter(self)
            painter.setPen(self.palette().color(QPalette.ColorRole.Mid))
            painter.drawRect(self.rect().adjusted(0, 0, -1, -1))
            painter.end()


