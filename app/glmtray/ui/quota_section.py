"""The quota windows, led by a line about the window that blocks."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent
from PySide6.QtWidgets import QHBoxLayout, QSizePolicy, QVBoxLayout, QWidget

from glmtray.history.forecast import Forecast, Outcome, forecast_phrase
from glmtray.peak import peak_phrase
from glmtray.platform.models import QuotaWindow
from glmtray.report import blocking_phrase, reset_phrase, window_figures
from glmtray.state import AppState, Level, Phase, level_for
from glmtray.timeutil import format_local_time
from glmtray.ui import style
from glmtray.ui.section import Section, plain_label, scaled_font, set_colour, vbox
from glmtray.wording import window_label


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
        layout = vbox(self, 4)
        top = QHBoxLayout()
        top.setSpacing(style.SPACING)
        self.name = plain_label(wrap=True)
        self.name.setFont(scaled_font(self, 0, bold=True))
        self.percent = plain_label(wrap=False)
        self.percent.setFont(scaled_font(self, 0, bold=True))
        self.percent.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.percent.setSizePolicy(QSizePolicy.Policy.Minimum, QSizePolicy.Policy.Minimum)
        top.addWidget(self.name, 1)
        top.addWidget(self.percent)
        layout.addLayout(top)
        self.bar = UsageBar(self)
        layout.addWidget(self.bar)
        self.detail = plain_label()
        self.detail.setFont(scaled_font(self, -1))
        layout.addWidget(self.detail)
        self.tools = plain_label()
        self.tools.setFont(scaled_font(self, -1))
        layout.addWidget(self.tools)
        self.forecast = plain_label()
        self.forecast.setFont(scaled_font(self, -1))
        self.forecast.setObjectName("forecast")
        layout.addWidget(self.forecast)
        self.window_id = ""

    def show_window(
        self,
        window: QuotaWindow,
        now: datetime,
        level: Level,
        *,
        dark: bool,
        stale: bool,
        back_at: datetime | None = None,
        forecast: Forecast | None = None,
    ) -> None:
        self.window_id = window.id
        self.name.setText(window_label(window))
        self.percent.setText(self.tr("{percent} %").format(percent=f"{window.used_percent:.0f}"))
        colour = style.grey(dark) if stale else style.level_colour(level, dark)
        self.bar.set_value(window.used_percent, colour, style.track(dark))
        self.bar.setAccessibleName(window_label(window))
        set_colour(self.percent, colour if level is not Level.NORMAL and not stale else None)
        parts: list[str] = []
        figures = window_figures(window)
        if figures:
            parts.append(self.tr("{figures} used").format(figures=figures))
        if back_at is not None and (window.resets_at is None or window.is_exhausted):
            # The platform's error named the moment: it is what the user waits for.
            parts.append(self.tr("back at {time}").format(time=format_local_time(back_at, now)))
        else:
            parts.append(reset_phrase(window, now))
        self.detail.setText(" · ".join(parts))
        set_colour(self.detail, style.grey(dark))
        tools = "   ".join(
            self.tr("{name}: {count}").format(name=tool.name, count=f"{tool.count:,}")
            for tool in window.tools
        )
        self.tools.setText(tools)
        set_colour(self.tools, style.grey(dark))
        self.tools.setVisible(bool(tools))
        phrase = ""
        if forecast is not None and forecast.outcome not in _SAID_ALREADY:
            phrase = forecast_phrase(forecast, now)
        self.forecast.setText(phrase)
        set_colour(self.forecast, style.grey(dark))
        self.forecast.setVisible(bool(phrase))


_SAID_ALREADY = frozenset({Outcome.EXHAUSTED, Outcome.NOT_STARTED, Outcome.NO_RESET})
_WAITING = frozenset({Outcome.NO_HISTORY, Outcome.SINGLE_POINT, Outcome.SHORT_SPAN})
"""No forecast yet, for the same reason whatever the window."""
"""Outcomes the detail line says already ("back at", "not started", "reset time unknown")."""


class QuotaSection(Section):
    """Every quota window of the plan; rows are reused between updates."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = vbox(self, 12)
        self.blocking_label = plain_label()
        self.blocking_label.setFont(scaled_font(self, 0.5, bold=True))
        layout.addWidget(self.blocking_label)
        self._rows_layout = QVBoxLayout()
        self._rows_layout.setSpacing(12)
        layout.addLayout(self._rows_layout)
        self.rows: list[WindowRow] = []
        """One per window seen so far; those past the current windows are hidden."""
        self.peak_label = plain_label()
        self.peak_label.setFont(scaled_font(self, -1))
        layout.addWidget(self.peak_label)

    def render_state(self, state: AppState, now: datetime) -> None:
        snap = state.snapshot
        signed_in = state.phase is not Phase.SIGNED_OUT
        windows = snap.windows if snap and signed_in else ()
        if signed_in and state.no_windows:
            # A team plan: say so rather than draw invented bars.
            self.setVisible(True)
            self.blocking_label.setText(
                self.tr(
                    "This plan reports no quota windows (as team plans do): there is no "
                    "usage share to show."
                )
            )
            self.blocking_label.setFont(scaled_font(self, -1))
            set_colour(self.blocking_label, style.grey(self.is_dark()))
            self.blocking_label.setVisible(True)
            for row in self.rows:
                row.setVisible(False)
            self.peak_label.setVisible(False)
            return
        self.setVisible(bool(windows))
        if not windows or snap is None:
            return
        dark = self.is_dark()
        stale = state.is_stale(now) or state.error is not None
        thresholds = state.settings.thresholds
        blocking = snap.blocking_window
        if blocking is not None:
            level = level_for(blocking.used_percent, thresholds)
            self.blocking_label.setText(blocking_phrase(blocking, now))
            # Loud only when it matters: a calm grey line while far from any limit.
            calm = level is Level.NORMAL or stale
            colour = style.grey(dark) if calm else style.level_colour(level, dark)
            self.blocking_label.setFont(scaled_font(self, -1 if calm else 0.5, bold=not calm))
            set_colour(self.blocking_label, colour)
        self.blocking_label.setVisible(blocking is not None)
        while len(self.rows) < len(windows):
            row = WindowRow(self)
            self.rows.append(row)
            self._rows_layout.addWidget(row)
        waiting_said: set[str] = set()
        for row, window in zip(self.rows, windows, strict=False):
            level = level_for(window.used_percent, thresholds)
            forecast = state.forecasts.get(window.id)
            if forecast is not None and forecast.outcome in _WAITING:
                # "No history yet…" under every window says one fact three times: once.
                phrase = forecast_phrase(forecast, now)
                if phrase in waiting_said:
                    forecast = None
                waiting_said.add(phrase)
            row.show_window(
                window,
                now,
                level,
                dark=dark,
                stale=stale,
                back_at=state.back_at(window.id),
                forecast=forecast,
            )
            row.setVisible(True)
        for row in self.rows[len(windows) :]:
            row.setVisible(False)
        peak = state.peak(now)
        self.peak_label.setText(peak_phrase(peak, now) if peak else "")
        set_colour(self.peak_label, style.grey(dark))
        self.peak_label.setVisible(peak is not None)
