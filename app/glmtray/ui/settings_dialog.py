"""The settings dialog: a form over the Settings dataclass.

It edits a copy and emits a new Settings (built with `dataclasses.replace`) on Apply and
OK; the application saves it and applies it at once. Values the dialog does not change
are carried over untouched, so a round trip never alters a setting by accident.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from PySide6.QtCore import QDate, Signal
from PySide6.QtWidgets import (
    QAbstractButton,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from glmtray import i18n
from glmtray.i18n import LANGUAGE_NAMES, SUPPORTED
from glmtray.peak import parse_peak_hours
from glmtray.settings import (
    DEFAULT_THRESHOLDS,
    ICON_SHOWS_CHOICES,
    MIN_REFRESH_SECONDS,
    PEAK_RULE_CHOICES,
    Settings,
)
from glmtray.tool_setup import tool_targets
from glmtray.ui.tool_setup_box import TargetsFor, ToolSetupBox, small_note
from glmtray.wording import region_name

MAX_REFRESH_MINUTES = 60
BILLING_CYCLES = ("monthly", "quarterly", "yearly")
ICON_STYLES = ("auto", "light", "dark")


FULL = 100
"""A used-up window: always a level (the icon's "!" and "limit reached"), never a setting."""


def _two_levels(values: tuple[int, ...]) -> tuple[int, int]:
    """Warning and critical, increasing, in 1..99, from whatever the settings hold."""
    picked = sorted({min(99, max(1, int(v))) for v in values if int(v) < FULL})[:2]
    for default in DEFAULT_THRESHOLDS:
        if len(picked) == 2:
            break
        if default < FULL and default not in picked:
            picked = sorted([*picked, default])
    a, b = picked
    a = min(a, 98)
    return a, min(max(b, a + 1), 99)


class SettingsDialog(QDialog):
    settings_changed = Signal(object)
    sign_out_requested = Signal()
    replace_key_requested = Signal()

    def __init__(
        self,
        settings: Settings,
        *,
        signed_in: bool,
        backend_name: str,
        tool_targets_for: TargetsFor = tool_targets,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._tool_targets = tool_targets_for
        self.setWindowTitle(self.tr("glmtray settings"))
        self.setMinimumWidth(560)
        self._settings = settings
        self._signed_in = signed_in
        self._backend_name = backend_name

        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 14, 14, 12)
        layout.setSpacing(12)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(False)
        self.tabs.addTab(self._general_tab(), self.tr("General"))
        self.tabs.addTab(self._notifications_tab(), self.tr("Notifications"))
        self.tabs.addTab(self._coding_tools_tab(), self.tr("Coding tools"))
        self.tabs.addTab(self._account_tab(), self.tr("Account"))
        layout.addWidget(self.tabs)

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok
            | QDialogButtonBox.StandardButton.Cancel
            | QDialogButtonBox.StandardButton.Apply
        )
        self.buttons.accepted.connect(self._ok)
        self.buttons.rejected.connect(self.reject)
        self.buttons.clicked.connect(self._clicked)
        layout.addWidget(self.buttons)

        self.set_settings(settings)

    # The three tabs.
    def _page(self) -> tuple[QWidget, QVBoxLayout]:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(12, 12, 12, 12)
        layout.setSpacing(12)
        return page, layout

    def _general_tab(self) -> QWidget:
        page, layout = self._page()

        refresh = QGroupBox(self.tr("Refresh"))
        form = QFormLayout(refresh)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        self.refresh_spin = QSpinBox()
        self.refresh_spin.setRange(MIN_REFRESH_SECONDS // 60, MAX_REFRESH_MINUTES)
        self.refresh_spin.setSuffix(self.tr(" min"))
        self.refresh_spin.setAccessibleName(self.tr("Refresh interval in minutes"))
        form.addRow(self.tr("Check usage every:"), self.refresh_spin)
        form.addRow(small_note(self.tr("At least one minute: the platform is polled politely.")))
        layout.addWidget(refresh)

        levels = QGroupBox(self.tr("Warning levels"))
        levels_layout = QVBoxLayout(levels)
        row = QHBoxLayout()
        self.threshold_spins: list[QSpinBox] = []
        names = (self.tr("Warning"), self.tr("Critical"))
        for index, name in enumerate(names):
            spin = QSpinBox()
            spin.setRange(1 + index, 98 + index)
            spin.setSuffix(" %")
            spin.setAccessibleName(name)
            spin.valueChanged.connect(lambda _value, i=index: self._keep_ordered(i))
            self.threshold_spins.append(spin)
            row.addWidget(QLabel(name))
            row.addWidget(spin)
            row.addSpacing(6)
        row.addStretch(1)
        levels_layout.addLayout(row)
        levels_layout.addWidget(
            small_note(
                self.tr(
                    "The icon changes colour, and you are notified, at these levels, and "
                    "again when a window is used up."
                )
            )
        )
        layout.addWidget(levels)

        icon = QGroupBox(self.tr("Tray icon"))
        icon_form = QFormLayout(icon)
        icon_form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        self.show_number_check = QCheckBox(self.tr("Show the percentage in the icon"))
        icon_form.addRow(self.show_number_check)
        self.icon_style_combo = QComboBox()
        labels = {
            "auto": self.tr("Follow the system"),
            "light": self.tr("For a light panel"),
            "dark": self.tr("For a dark panel"),
        }
        for value in ICON_STYLES:
            self.icon_style_combo.addItem(labels[value], value)
        icon_form.addRow(self.tr("Icon style:"), self.icon_style_combo)
        self.icon_shows_combo = QComboBox()
        shows = {
            "blocking": self.tr("The window that blocks first"),
            "five_hour": self.tr("The 5-hour window"),
            "both": self.tr("5-hour and weekly, as two rings"),
        }
        for choice in ICON_SHOWS_CHOICES:
            self.icon_shows_combo.addItem(shows[choice], choice)
        icon_form.addRow(self.tr("Icon shows:"), self.icon_shows_combo)
        layout.addWidget(icon)

        language = QFormLayout()
        language.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        self.language_combo = QComboBox()
        system = LANGUAGE_NAMES[i18n.system_language()]
        self.language_combo.addItem(
            self.tr("Follow the system ({language})").format(language=system), "system"
        )
        for code in SUPPORTED:
            # Each language in its own words, whatever the language in use.
            self.language_combo.addItem(LANGUAGE_NAMES[code], code)
        language.addRow(self.tr("Language:"), self.language_combo)
        layout.addLayout(language)

        self.start_at_login_check = QCheckBox(self.tr("Start glmtray when I log in"))
        layout.addWidget(self.start_at_login_check)
        layout.addStretch(1)
        return page

    def _notifications_tab(self) -> QWidget:
        page, layout = self._page()
        layout.addWidget(QLabel(self.tr("Notify me:")))
        self.notify_checks: dict[str, QCheckBox] = {}

        def check(name: str, text: str) -> QCheckBox:
            box = QCheckBox(text)
            self.notify_checks[name] = box
            return box

        layout.addWidget(
            check("notify_thresholds", self.tr("When a window crosses a warning level"))
        )
        layout.addWidget(
            check(
                "notify_forecast",
                self.tr("When a window is forecast to run out well before it resets"),
            )
        )
        layout.addWidget(check("notify_reset", self.tr("When a used-up window resets")))
        layout.addWidget(
            check("notify_refresh_failing", self.tr("When refreshing has been failing for a while"))
        )
        layout.addWidget(check("notify_key_rejected", self.tr("When the API key stops working")))
        renewal_row = QHBoxLayout()
        # The reminder counts back from the last day to cancel, not from the renewal: that
        # is the day that matters, and the label says so.
        renewal_row.addWidget(check("notify_renewal", self.tr("Remind me")))
        self.reminder_spin = QSpinBox()
        self.reminder_spin.setRange(0, 30)
        self.reminder_spin.setSuffix(self.tr(" days"))
        self.reminder_spin.setAccessibleName(
            self.tr("Renewal reminder, days before the last day to cancel")
        )
        renewal_row.addWidget(self.reminder_spin)
        renewal_row.addWidget(QLabel(self.tr("before the last day to cancel")))
        renewal_row.addStretch(1)
        layout.addLayout(renewal_row)
        layout.addWidget(
            check("notify_cancel_day", self.tr("On the last day to cancel before renewal"))
        )
        layout.addWidget(
            check("notify_plan_ending", self.tr("When the plan is about to end (auto-renew off)"))
        )
        layout.addWidget(
            check("notify_risk", self.tr("When the account is restricted by risk control"))
        )
        layout.addWidget(
            check(
                "notify_concurrency",
                self.tr("When the local meter sees requests refused for concurrency (1302)"),
            )
        )
        self.notify_checks["notify_renewal"].toggled.connect(self.reminder_spin.setEnabled)
        layout.addStretch(1)
        return page

    def _coding_tools_tab(self) -> QWidget:
        page, layout = self._page()
        activity = QGroupBox(self.tr("Activity"))
        activity_layout = QVBoxLayout(activity)
        self.transcripts_check = QCheckBox(
            self.tr("Read Claude Code's local transcripts (active sessions, errors met)")
        )
        activity_layout.addWidget(self.transcripts_check)
        activity_layout.addWidget(
            small_note(self.tr("Only new lines are read; nothing leaves this computer."))
        )
        layout.addWidget(activity)

        meter = QGroupBox(self.tr("Local meter"))
        form = QFormLayout(meter)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        self.meter_check = QCheckBox(self.tr("Measure concurrency with a local meter"))
        form.addRow(self.meter_check)
        self.meter_port_spin = QSpinBox()
        self.meter_port_spin.setRange(1024, 65535)
        self.meter_port_spin.setAccessibleName(self.tr("Meter port"))
        form.addRow(self.tr("Port on 127.0.0.1:"), self.meter_port_spin)
        self.peak_hours_edit = QLineEdit()
        self.peak_hours_edit.setPlaceholderText("14:00-18:00")
        self.peak_hours_edit.setMaximumWidth(120)
        form.addRow(self.tr("Peak hours (UTC+8):"), self.peak_hours_edit)
        self.peak_rule_combo = QComboBox()
        rules = {
            "auto": self.tr("From the plan (credit or token windows)"),
            "credit": self.tr("Credit plans: weekdays at peak count 1x, the rest 0.5x"),
            "token": self.tr("Token plans: peak hours count 3x"),
        }
        for rule in PEAK_RULE_CHOICES:
            self.peak_rule_combo.addItem(rules[rule], rule)
        form.addRow(self.tr("Peak rule:"), self.peak_rule_combo)
        form.addRow(
            small_note(
                self.tr(
                    "Point a coding tool at the meter and it counts requests in flight and "
                    "errors; requests, responses and keys pass through unchanged."
                )
            )
        )
        layout.addWidget(meter)

        self.tool_box = ToolSetupBox(self._tool_targets)
        self.tool_box.meter_turn_on_requested.connect(self._turn_meter_on)
        self.tool_rows: list[tuple[QLabel, QLineEdit]] = [
            (row.label, row.value) for row in self.tool_box.rows
        ]
        self.meter_port_spin.valueChanged.connect(self._show_tool_context)
        self.meter_check.toggled.connect(self._show_tool_context)
        layout.addWidget(self.tool_box)
        layout.addStretch(1)
        return page

    def _show_tool_context(self) -> None:
        self.tool_box.set_context(
            self.meter_port_spin.value(), self._settings.region, self.meter_check.isChecked()
        )

    def _turn_meter_on(self) -> None:
        """Start the meter now, on the port shown: a tool just pointed at it would otherwise
        find nothing there until OK or Apply. Only the meter changes; other edits in the
        dialog wait for OK or Apply as usual."""
        self.meter_check.setChecked(True)
        self._settings = replace(
            self._settings, meter_enabled=True, meter_port=self.meter_port_spin.value()
        )
        self.settings_changed.emit(self._settings)

    def _account_tab(self) -> QWidget:
        page, layout = self._page()
        account = QGroupBox(self.tr("Account"))
        form = QFormLayout(account)
        self.region_label = QLabel()
        self.status_label = QLabel()
        self.backend_label = QLabel(self._backend_name)
        self.backend_label.setWordWrap(True)
        form.addRow(self.tr("Region:"), self.region_label)
        form.addRow(self.tr("Status:"), self.status_label)
        form.addRow(self.tr("Key stored in:"), self.backend_label)
        buttons = QHBoxLayout()
        self.replace_key_button = QPushButton()
        self.replace_key_button.clicked.connect(self.replace_key_requested)
        self.sign_out_button = QPushButton(self.tr("Sign out"))
        self.sign_out_button.setToolTip(self.tr("Remove the key from the keyring"))
        self.sign_out_button.clicked.connect(self.sign_out_requested)
        buttons.addWidget(self.replace_key_button)
        buttons.addWidget(self.sign_out_button)
        buttons.addStretch(1)
        form.addRow(buttons)
        form.addRow(
            small_note(self.tr("To change region, replace the key: a key belongs to one region."))
        )
        layout.addWidget(account)

        renewal = QGroupBox(self.tr("Renewal"))
        renewal_form = QFormLayout(renewal)
        self.manual_date_check = QCheckBox(self.tr("Set the renewal date by hand"))
        self.manual_date_edit = QDateEdit()
        self.manual_date_edit.setCalendarPopup(True)
        self.manual_date_edit.setDisplayFormat(
            "yyyy年M月d日" if i18n.is_chinese() else "d MMM yyyy"
        )
        self.manual_date_check.toggled.connect(self.manual_date_edit.setEnabled)
        renewal_form.addRow(self.manual_date_check, self.manual_date_edit)
        self.cycle_combo = QComboBox()
        self.cycle_combo.addItem(self.tr("Not set"), None)
        cycle_names = {
            "monthly": self.tr("Monthly"),
            "quarterly": self.tr("Quarterly"),
            "yearly": self.tr("Yearly"),
        }
        for value in BILLING_CYCLES:
            self.cycle_combo.addItem(cycle_names[value], value)
        renewal_form.addRow(self.tr("Billing cycle:"), self.cycle_combo)
        renewal_form.addRow(
            small_note(
                self.tr(
                    "Used only when the platform does not give a renewal date. Cancel at "
                    "least 3 days before billing."
                )
            )
        )
        layout.addWidget(renewal)
        layout.addStretch(1)
        return page

    # Public API.
    def set_settings(self, settings: Settings) -> None:
        self._settings = settings
        self._initial_minutes = max(1, round(settings.refresh_seconds / 60))
        self.refresh_spin.setValue(self._initial_minutes)
        self._initial_thresholds = _two_levels(settings.thresholds)
        for spin, value in zip(self.threshold_spins, self._initial_thresholds, strict=True):
            spin.blockSignals(True)
            spin.setValue(value)
            spin.blockSignals(False)
        self.show_number_check.setChecked(settings.show_number_in_icon)
        index = self.icon_style_combo.findData(settings.icon_style)
        self.icon_style_combo.setCurrentIndex(max(0, index))
        self.start_at_login_check.setChecked(settings.start_at_login)
        self.language_combo.setCurrentIndex(max(0, self.language_combo.findData(settings.language)))
        self.icon_shows_combo.setCurrentIndex(
            max(0, self.icon_shows_combo.findData(settings.icon_shows))
        )
        for name, box in self.notify_checks.items():
            box.setChecked(bool(getattr(settings, name)))
        self.reminder_spin.setValue(settings.renewal_reminder_days)
        self.reminder_spin.setEnabled(settings.notify_renewal)
        self.transcripts_check.setChecked(settings.transcripts_enabled)
        self.meter_check.setChecked(settings.meter_enabled)
        self.peak_rule_combo.setCurrentIndex(
            max(0, self.peak_rule_combo.findData(settings.peak_rule))
        )
        self.meter_port_spin.setValue(settings.meter_port)
        self._show_tool_context()
        self.peak_hours_edit.setText(settings.peak_hours)

        self.region_label.setText(region_name(settings.region))
        self.status_label.setText(
            self.tr("Signed in") if self._signed_in else self.tr("Signed out")
        )
        self.replace_key_button.setText(
            self.tr("Replace key…") if self._signed_in else self.tr("Sign in…")
        )
        self.sign_out_button.setEnabled(self._signed_in)

        manual = _parse_day(settings.manual_renewal_date)
        self.manual_date_check.setChecked(manual is not None)
        self.manual_date_edit.setEnabled(manual is not None)
        default_day = date.today() + timedelta(days=30)
        shown = manual or default_day
        self.manual_date_edit.setDate(QDate(shown.year, shown.month, shown.day))
        cycle = settings.manual_billing_cycle
        cycle_index = self.cycle_combo.findData(cycle) if cycle else 0
        if cycle and cycle_index < 0:
            # A cycle typed into the file by hand: keep it selectable rather than lose it.
            self.cycle_combo.addItem(cycle, cycle)
            cycle_index = self.cycle_combo.count() - 1
        self.cycle_combo.setCurrentIndex(max(0, cycle_index))

    def set_signed_in(self, signed_in: bool, backend_name: str | None = None) -> None:
        self._signed_in = signed_in
        if backend_name is not None:
            self._backend_name = backend_name
            self.backend_label.setText(backend_name)
        self.set_settings(self._settings)

    def settings(self) -> Settings:
        """The settings as the dialog shows them now."""
        base = self._settings
        minutes = self.refresh_spin.value()
        refresh = base.refresh_seconds if minutes == self._initial_minutes else minutes * 60
        spins = tuple(spin.value() for spin in self.threshold_spins)
        thresholds = base.thresholds if spins == self._initial_thresholds else (*spins, FULL)
        manual_date: str | None = None
        if self.manual_date_check.isChecked():
            manual_date = self.manual_date_edit.date().toString("yyyy-MM-dd")
        cycle = self.cycle_combo.currentData()
        notify: dict[str, Any] = {name: box.isChecked() for name, box in self.notify_checks.items()}
        return replace(
            base,
            refresh_seconds=max(MIN_REFRESH_SECONDS, refresh),
            thresholds=thresholds,
            show_number_in_icon=self.show_number_check.isChecked(),
            icon_style=str(self.icon_style_combo.currentData()),
            icon_shows=str(self.icon_shows_combo.currentData()),
            start_at_login=self.start_at_login_check.isChecked(),
            language=str(self.language_combo.currentData()),
            renewal_reminder_days=self.reminder_spin.value(),
            manual_renewal_date=manual_date,
            manual_billing_cycle=cycle if isinstance(cycle, str) else None,
            transcripts_enabled=self.transcripts_check.isChecked(),
            meter_enabled=self.meter_check.isChecked(),
            meter_port=self.meter_port_spin.value(),
            peak_hours=_valid_peak_hours(self.peak_hours_edit.text(), base.peak_hours),
            peak_rule=str(self.peak_rule_combo.currentData()),
            **notify,
        )

    # Behaviour.
    def _keep_ordered(self, changed: int) -> None:
        """Push the other level out of the way so warning < critical always holds."""
        values = [spin.value() for spin in self.threshold_spins]
        for i in range(changed + 1, len(values)):
            values[i] = max(values[i], values[i - 1] + 1)
        for i in range(changed - 1, -1, -1):
            values[i] = min(values[i], values[i + 1] - 1)
        for spin, value in zip(self.threshold_spins, values, strict=True):
            if spin.value() != value:
                spin.blockSignals(True)
                spin.setValue(value)
                spin.blockSignals(False)

    def _apply(self) -> None:
        self._settings_emitted = self.settings()
        self.settings_changed.emit(self._settings_emitted)

    def _ok(self) -> None:
        self._apply()
        self.accept()

    def _clicked(self, button: QAbstractButton) -> None:
        if self.buttons.buttonRole(button) == QDialogButtonBox.ButtonRole.ApplyRole:
            self._apply()


def _valid_peak_hours(text: str, fallback: str) -> str:
    try:
        parse_peak_hours(text.strip())
    except ValueError:
        return fallback
    return text.strip()


def _parse_day(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None
