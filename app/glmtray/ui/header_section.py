"""The top of the panel: plan, tier and tags with the region, then the status card.

The status card speaks only when something needs saying (signed out, loading, an error);
`status_content` decides what it says, so the footer can ask whether the card is showing
without depending on the order the sections render in.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from PySide6.QtCore import QCoreApplication, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QWidget

from glmtray.errors import (
    AccountRestricted,
    AuthenticationFailed,
    NoCodingPlan,
    PlatformUnavailable,
    RateLimited,
)
from glmtray.platform.regions import REGIONS
from glmtray.state import AppState, Level, Phase
from glmtray.ui import style
from glmtray.ui.section import (
    DANGER,
    INFO,
    WARN,
    Badge,
    Card,
    CardKind,
    Section,
    age,
    plain_label,
    scaled_font,
    set_colour,
    vbox,
)
from glmtray.wording import region_name


class HeaderSection(Section):
    """Plan name, tier and tags (demo, stale), with the region just under the name."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        box = vbox(self, 2)
        header = QHBoxLayout()
        header.setSpacing(6)
        self.plan_label = plain_label(self.tr("GLM Coding Plan"))
        self.plan_label.setFont(scaled_font(self, 3, bold=True))
        self.tier_badge = Badge(self)
        self.demo_badge = Badge(self)
        self.stale_badge = Badge(self)
        header.addWidget(self.plan_label, 1)
        header.addWidget(self.tier_badge, 0, Qt.AlignmentFlag.AlignVCenter)
        header.addWidget(self.demo_badge, 0, Qt.AlignmentFlag.AlignVCenter)
        header.addWidget(self.stale_badge, 0, Qt.AlignmentFlag.AlignVCenter)
        box.addLayout(header)
        self.region_label = plain_label()
        self.region_label.setFont(scaled_font(self, -1))
        box.addWidget(self.region_label)

    def render_state(self, state: AppState, now: datetime) -> None:
        dark = self.is_dark()
        snap = state.snapshot
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
        self.stale_badge.setVisible(state.is_stale(now))
        self.stale_badge.set_badge(self.tr("STALE"), style.grey(dark), QColor("white"))
        region = region_name(state.region)
        if state.demo:
            text = self.tr("{region} · demo data from a simulated platform").format(region=region)
        elif state.session_only:
            text = self.tr("{region} · key kept for this session only").format(region=region)
        else:
            text = region
        self.region_label.setText(text)
        set_colour(self.region_label, style.grey(dark))


@dataclass(frozen=True)
class StatusContent:
    """What the status card says and which of its buttons it offers."""

    kind: CardKind
    title: str
    message: str
    sign_in: str = ""
    """The sign-in button's text; empty when the card offers no sign-in."""
    retry: bool = False
    plan_page: bool = False


def _tr(text: str) -> str:
    return QCoreApplication.translate("StatusSection", text)


def status_content(state: AppState, now: datetime) -> StatusContent | None:
    """The status card for `state`; None while healthy (or restricted: the risk banner
    says that)."""
    error = state.error
    snap = state.snapshot
    content: StatusContent
    if state.phase is Phase.SIGNED_OUT:
        return StatusContent(
            INFO,
            _tr("Not signed in"),
            _tr(
                "Sign in with your GLM Coding Plan API key to see your quota, "
                "renewal date and account status."
            ),
            sign_in=_tr("Sign in…"),
        )
    if error is None and snap is None:
        return StatusContent(
            INFO, _tr("Loading…"), _tr("Fetching your plan's usage from the platform.")
        )
    if error is None or isinstance(error, AccountRestricted):
        return None
    if isinstance(error, AuthenticationFailed):
        content = StatusContent(
            DANGER, _tr("Key not accepted"), error.message, sign_in=_tr("Sign in again…")
        )
    elif isinstance(error, NoCodingPlan):
        content = StatusContent(
            DANGER, error.title, error.message, sign_in=_tr("Use another key…"), plan_page=True
        )
    else:
        kind = WARN if isinstance(error, (PlatformUnavailable, RateLimited)) else DANGER
        content = StatusContent(kind, error.title, error.message, retry=True)
    if snap is not None and snap.has_data:
        shown = _tr("Showing data from {age} ago.").format(age=age(now, snap.fetched_at))
        content = replace(content, message=content.message + "\n" + shown)
    return content


class StatusSection(Section):
    """The status card: signed out, loading, errors, each with the button that helps."""

    sign_in_requested = Signal()
    retry_requested = Signal()
    open_url_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._subscription_page = ""
        box = vbox(self, 0)
        self.card = Card(self)
        self.sign_in_button = QPushButton(self.tr("Sign in…"), self)
        self.sign_in_button.clicked.connect(self.sign_in_requested)
        self.retry_button = QPushButton(self.tr("Try again"), self)
        self.retry_button.clicked.connect(self.retry_requested)
        self.plan_page_button = QPushButton(self.tr("Open subscription page"), self)
        self.plan_page_button.clicked.connect(
            lambda: self.open_url_requested.emit(self._subscription_page)
        )
        for button in (self.plan_page_button, self.retry_button, self.sign_in_button):
            self.card.add_button(button)
        box.addWidget(self.card)

    def render_state(self, state: AppState, now: datetime) -> None:
        self._subscription_page = REGIONS[state.region].subscription_page
        content = status_content(state, now)
        self.setVisible(content is not None)
        if content is None:
            return
        self.card.set_content(content.kind, content.title, content.message, dark=self.is_dark())
        if content.sign_in:
            self.sign_in_button.setText(content.sign_in)
        self.sign_in_button.setVisible(bool(content.sign_in))
        self.retry_button.setVisible(content.retry)
        self.plan_page_button.setVisible(content.plan_page)
