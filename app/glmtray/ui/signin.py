"""The sign-in dialog: region, API key, a link to where the key is made, and the demo.

It never checks or stores the key itself: it emits what the user typed and the
application answers with `set_busy`, `show_error` or by closing it.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QFont, QPalette, QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from glmtray.platform.regions import REGIONS, Region
from glmtray.ui import style
from glmtray.ui.icon import panel_is_dark
from glmtray.wording import region_name

DIALOG_WIDTH = 460


def _wrapping_label(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    label.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
    return label


class SignInDialog(QDialog):
    sign_in_requested = Signal(object, str)
    demo_requested = Signal()
    open_url_requested = Signal(str)
    session_only_requested = Signal(object, str)
    retry_requested = Signal()
    """Read the stored key again (after the keyring was unlocked)."""

    def __init__(self, region: Region = Region.GLOBAL, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Sign in to glmtray"))
        self.setFixedWidth(DIALOG_WIDTH)
        self._busy = False

        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 18, 20, 16)
        layout.setSpacing(12)

        title = QLabel(self.tr("Sign in with your API key"))
        font = QFont(title.font())
        font.setPointSizeF(max(8.0, font.pointSizeF() + 3))
        font.setBold(True)
        title.setFont(font)
        layout.addWidget(title)
        intro = _wrapping_label(
            self.tr(
                "glmtray reads your GLM Coding Plan usage with the API key of your account. "
                "The key is checked with the platform, then kept in the system keyring."
            )
        )
        # The intro and an error share one place of one height, so the dialog does not
        # grow (and move) when an error appears: the error takes the intro's room.
        intro.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.message_stack = QStackedWidget()
        self.message_stack.addWidget(intro)
        self.intro = intro
        layout.addWidget(self.message_stack)

        form = QFormLayout()
        form.setHorizontalSpacing(12)
        form.setVerticalSpacing(8)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.region_combo = QComboBox()
        for info in REGIONS.values():
            self.region_combo.addItem(region_name(info.region), info.region.value)
        self.set_region(region)
        form.addRow(self.tr("&Region:"), self.region_combo)

        self.key_edit = QLineEdit()
        self.key_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.key_edit.setPlaceholderText(self.tr("Paste your API key"))
        self.key_edit.setClearButtonEnabled(False)
        # Keys are long: let the field show most of one when revealed.
        self.key_edit.setMinimumWidth(280)
        self.reveal_action = QAction(self)
        self.reveal_action.setCheckable(True)
        self.reveal_action.toggled.connect(self._set_revealed)
        self.key_edit.addAction(self.reveal_action, QLineEdit.ActionPosition.TrailingPosition)
        self._set_revealed(False)
        form.addRow(self.tr("API &key:"), self.key_edit)
        self.key_link = style.LinkButton(self.tr("Create or copy your API key"))
        self.key_link.url_clicked.connect(self.open_url_requested)
        form.addRow("", self.key_link)
        layout.addLayout(form)

        # Inline problems: the dialog stays open and keeps what was typed.
        self.error_box = QFrame()
        self.error_box.setObjectName("errorBox")
        error_layout = QVBoxLayout(self.error_box)
        error_layout.setContentsMargins(12, 10, 12, 10)
        error_layout.setSpacing(4)
        self.error_title = _wrapping_label()
        bold = QFont(self.error_title.font())
        bold.setBold(True)
        self.error_title.setFont(bold)
        self.error_message = _wrapping_label()
        error_layout.addWidget(self.error_title)
        error_layout.addWidget(self.error_message)
        error_layout.addStretch(1)  # title and message at the top, the button at the bottom
        session_row = QHBoxLayout()
        session_row.addStretch(1)
        self.retry_button = QPushButton(self.tr("Try again"))
        self.retry_button.setAutoDefault(False)
        self.retry_button.clicked.connect(self.retry_requested)
        session_row.addWidget(self.retry_button)
        self.session_only_button = QPushButton(self.tr("Use for this session only"))
        self.session_only_button.setToolTip(
            self.tr(
                "Keep the key in memory until glmtray quits. Nothing is written to disk; "
                "you will be asked again next time."
            )
        )
        self.session_only_button.setAutoDefault(False)
        self.session_only_button.clicked.connect(self._emit_session_only)
        session_row.addWidget(self.session_only_button)
        error_layout.addLayout(session_row)
        self.message_stack.addWidget(self.error_box)
        # Room for a title, three lines of message and the session-only button.
        lines = self.error_message.fontMetrics().lineSpacing()
        self.error_box.setMinimumHeight(
            lines * 4 + self.session_only_button.sizeHint().height() + 16
        )

        self.busy_label = QLabel(self.tr("Checking the key…"))
        self.busy_label.hide()

        buttons = QHBoxLayout()
        buttons.setSpacing(8)
        self.demo_button = QPushButton(self.tr("Try the &demo"))
        self.demo_button.setAutoDefault(False)
        self.demo_button.clicked.connect(self.demo_requested)
        self.sign_in_button = QPushButton(self.tr("&Sign in"))
        self.sign_in_button.setDefault(True)
        self.sign_in_button.clicked.connect(self._emit_sign_in)
        buttons.addWidget(self.demo_button)
        buttons.addStretch(1)
        buttons.addWidget(self.busy_label)
        buttons.addWidget(self.sign_in_button)
        layout.addSpacing(4)
        layout.addLayout(buttons)

        self.region_combo.currentIndexChanged.connect(self._region_changed)
        self.key_edit.textChanged.connect(self._key_changed)
        self.key_edit.returnPressed.connect(self._emit_sign_in)
        self._region_changed()
        self._update_buttons()
        self.key_edit.setFocus()

    # Public API.
    def key(self) -> str:
        # Pasted keys often carry a newline or spaces around them; a key never contains any.
        return self.key_edit.text().strip()

    def region(self) -> Region:
        # Stored as the plain value: Qt hands a str-based enum back as a bare str.
        data = self.region_combo.currentData()
        try:
            return Region(str(data))
        except ValueError:
            return Region.GLOBAL

    def set_region(self, region: Region) -> None:
        self.region_combo.setCurrentIndex(max(0, self.region_combo.findData(region.value)))

    def set_busy(self, busy: bool) -> None:
        self._busy = busy
        self.busy_label.setVisible(busy)
        self.region_combo.setEnabled(not busy)
        self.key_edit.setReadOnly(busy)
        self.key_edit.setEnabled(not busy)
        self.demo_button.setEnabled(not busy)
        self.session_only_button.setEnabled(not busy)
        if busy:
            self.message_stack.setCurrentWidget(self.intro)
        self._update_buttons()
        style.fit_height(self)

    def show_error(
        self,
        title: str,
        message: str,
        *,
        offer_session_only: bool = False,
        offer_retry: bool = False,
    ) -> None:
        self.set_busy(False)
        self.error_title.setText(title)
        self.error_message.setText(message)
        self.error_message.setVisible(bool(message))
        self.session_only_button.setVisible(offer_session_only)
        self.retry_button.setVisible(offer_retry)
        dark = panel_is_dark(self.palette())
        background = style.pick(style.DANGER_BG, dark).name()
        border = style.pick(style.DANGER_BORDER, dark).name()
        self.error_box.setStyleSheet(
            f"QFrame#errorBox {{ background: {background}; border: 1px solid {border};"
            " border-radius: 6px; }"
        )
        self.message_stack.setCurrentWidget(self.error_box)
        style.fit_height(self)

    def reset(self) -> None:
        """Forget the key typed here, hide it again and drop any error: after a sign-in
        (the key is in the keyring now) and after a sign-out (it must not linger)."""
        self.set_busy(False)
        self.key_edit.clear()
        self.reveal_action.setChecked(False)
        self._set_revealed(False)
        self._hide_error()
        self.key_edit.setFocus()

    def is_revealed(self) -> bool:
        return self.key_edit.echoMode() == QLineEdit.EchoMode.Normal

    # Behaviour.
    def _set_revealed(self, revealed: bool) -> None:
        self.key_edit.setEchoMode(
            QLineEdit.EchoMode.Normal if revealed else QLineEdit.EchoMode.Password
        )
        colour = self.palette().color(QPalette.ColorRole.Text)
        self.reveal_action.setIcon(style.eye_icon(not revealed, colour))
        text = self.tr("Hide the key") if revealed else self.tr("Show the key")
        self.reveal_action.setText(text)
        self.reveal_action.setToolTip(text)

    def _region_changed(self) -> None:
        self.key_link.set_url(REGIONS[self.region()].api_keys_page)
        self._hide_error()

    def _key_changed(self) -> None:
        # A changed key makes the last error stale; hiding it avoids blaming the new key.
        if not self._busy:
            self._hide_error()
        self._update_buttons()

    def _hide_error(self) -> None:
        if self.message_stack.currentWidget() is self.error_box:
            self.message_stack.setCurrentWidget(self.intro)
            style.fit_height(self)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        style.fit_height(self)

    def _update_buttons(self) -> None:
        self.sign_in_button.setEnabled(bool(self.key()) and not self._busy)

    def _emit_sign_in(self) -> None:
        if self.key() and not self._busy:
            self.sign_in_requested.emit(self.region(), self.key())

    def _emit_session_only(self) -> None:
        if self.key() and not self._busy:
            self.session_only_requested.emit(self.region(), self.key())
