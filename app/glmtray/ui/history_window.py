"""The usage history window: each quota window's share over time, tokens and tool calls.

Loaded on first open (the idle tray imports none of this, nor the history views). Two
parts:
- `HistoryWindow`, a view: it shows a `HistoryView` (or the loading, empty and error
  states), emits the span the user picks, and writes the CSV export;
- `HistoryController`, which opens the window and loads views on the platform worker
  (`PlatformService.run`): one load in flight, the latest span asked for wins, and a
  `UsageCache` kept for the session so reopening costs the platform nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QStandardPaths, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication, QShowEvent
from PySide6.QtWidgets import (
    QButtonGroup,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from glmtray.history.export import view_csv
from glmtray.history.views import (
    HistoryView,
    Span,
    UsageBucket,
    UsageCache,
    WindowSeries,
    load_history_view,
)
from glmtray.platform.models import FIVE_HOUR, MONTHLY_TOOLS, WEEKLY
from glmtray.platform.usage import ALL_MODELS
from glmtray.state import Level
from glmtray.timeutil import format_local_time, utcnow
from glmtray.ui import style
from glmtray.ui.history_chart import BarBucket, BarChart, ShareChart, ShareSeries, compact_number
from glmtray.ui.icon import panel_is_dark
from glmtray.ui.section import plain_label, scaled_font, set_colour
from glmtray.wording import window_name

if TYPE_CHECKING:
    from glmtray.credentials import Account
    from glmtray.history.views import HistoryReader
    from glmtray.platform.client import PlatformClient
    from glmtray.settings import Settings
    from glmtray.ui.platform_service import PlatformService

log = logging.getLogger(__name__)

DEFAULT_SIZE = (980, 660)
"""Fits a 1366x768 laptop with room for the panel bar and the title bar."""
MIN_SIZE = (600, 460)
RELOAD_MS = 120_000
"""While the window is open its view follows the new refreshes, this often."""
LOAD_PATIENCE_MS = 90_000
"""A load with no answer by then (the session ended under it) is reported as failed."""


def _epoch(moment: datetime) -> float:
    return moment.timestamp()


def _bars(buckets: tuple[UsageBucket, ...], rename: dict[str, str]) -> list[BarBucket]:
    return [
        BarBucket(
            _epoch(b.start),
            _epoch(b.start + b.length),
            {rename.get(k, k): v for k, v in b.values.items()},
        )
        for b in buckets
    ]


WINDOW_ORDER = (FIVE_HOUR, WEEKLY, MONTHLY_TOOLS)
"""The known windows' order in the chart and legend; others follow by key."""


def window_order(series: WindowSeries) -> tuple[int, str]:
    known = WINDOW_ORDER.index(series.key) if series.key in WINDOW_ORDER else len(WINDOW_ORDER)
    return known, series.key


def has_history(view: HistoryView) -> bool:
    """Anything to draw: a recorded share, or usage the platform reported."""
    if any(series.points for series in view.windows):
        return True
    return any(any(b.values.values()) for b in (*view.model_tokens, *view.tool_calls))


class ChartSection(QWidget):
    """A heading, the readout of what the pointer is on, and the chart."""

    def __init__(self, chart: ShareChart | BarChart, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.chart = chart
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(2)
        self.heading = plain_label(wrap=False)
        self.heading.setFont(scaled_font(self, 0, bold=True))
        self.readout = plain_label()
        self.readout.setFont(scaled_font(self, -1))
        # Two lines always: the readout changes as the pointer moves and must not make the
        # charts below jump.
        self.readout.setMinimumHeight(2 * self.readout.fontMetrics().height() + 2)
        self.readout.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.extra = plain_label()
        self.extra.setFont(scaled_font(self, -1))
        self.extra.hide()
        chart.readout_changed.connect(self.readout.setText)
        box.addWidget(self.heading)
        box.addWidget(self.readout)
        box.addWidget(chart, 1)
        box.addWidget(self.extra)


class HistoryWindow(QWidget):
    span_requested = Signal(object)
    """A Span: the user picked it, or asked to try again."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setObjectName("glmtrayHistory")
        self.setWindowTitle(self.tr("glmtray: usage history"))
        self.setMinimumSize(*MIN_SIZE)
        self.resize(*DEFAULT_SIZE)
        self._view: HistoryView | None = None
        self._span = Span.DAY
        self._colours: dict[str, int] = {key: i for i, key in enumerate(WINDOW_ORDER)}
        """Each window's colour, kept while the window lives: the weekly line is the same
        colour in every span."""

        outer = QVBoxLayout(self)
        outer.setContentsMargins(style.MARGIN, style.MARGIN, style.MARGIN, style.MARGIN)
        outer.setSpacing(style.SPACING)

        top = QHBoxLayout()
        top.setSpacing(0)
        self.span_group = QButtonGroup(self)
        self.span_group.setExclusive(True)
        self.span_buttons: dict[Span, QPushButton] = {}
        for span, text in (
            (Span.DAY, self.tr("24 hours")),
            (Span.WEEK, self.tr("7 days")),
            (Span.MONTH, self.tr("30 days")),
        ):
            button = QPushButton(text, self)
            button.setCheckable(True)
            button.setAutoDefault(False)
            button.clicked.connect(lambda _checked=False, s=span: self._pick(s))
            self.span_group.addButton(button)
            self.span_buttons[span] = button
            top.addWidget(button)
        self.select_span(Span.DAY)
        top.addSpacing(style.SECTION_SPACING)
        self.status_label = plain_label(wrap=False)
        self.status_label.setFont(scaled_font(self, -1))
        self.status_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        top.addWidget(self.status_label, 1)
        self.export_button = QPushButton(self.tr("Export CSV…"), self)
        self.export_button.setAutoDefault(False)
        self.export_button.setEnabled(False)
        self.export_button.clicked.connect(self.export_csv)
        top.addWidget(self.export_button)
        outer.addLayout(top)

        # Why model and tool usage are missing or old (the platform did not answer).
        self.note_label = plain_label()
        self.note_label.hide()
        outer.addWidget(self.note_label)

        self.stack = QStackedWidget(self)
        outer.addWidget(self.stack, 1)

        self.loading_page = self._message_page(self.tr("Loading the history…"))
        self.empty_page = self._message_page(
            self.tr("No history yet: glmtray records each refresh from now on.")
        )
        self.error_page = QWidget(self)
        error_box = QVBoxLayout(self.error_page)
        error_box.addStretch(1)
        self.error_title = plain_label()
        self.error_title.setFont(scaled_font(self, 1, bold=True))
        self.error_title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.error_message = plain_label()
        self.error_message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.retry_button = QPushButton(self.tr("Try again"), self.error_page)
        self.retry_button.clicked.connect(lambda: self.span_requested.emit(self._span))
        error_box.addWidget(self.error_title)
        error_box.addWidget(self.error_message)
        error_box.addWidget(self.retry_button, 0, Qt.AlignmentFlag.AlignHCenter)
        error_box.addStretch(2)

        self.share_chart = ShareChart()
        self.token_chart = BarChart()
        self.tool_chart = BarChart()
        self.share_section = ChartSection(self.share_chart)
        self.share_section.heading.setText(self.tr("Quota used, per window"))
        self.token_section = ChartSection(self.token_chart)
        self.tool_section = ChartSection(self.tool_chart)
        self.share_chart.setMinimumHeight(170)
        self.charts_page = QWidget()
        charts = QVBoxLayout(self.charts_page)
        charts.setContentsMargins(0, 0, 4, 0)
        charts.setSpacing(style.SECTION_SPACING)
        charts.addWidget(self.share_section, 5)
        usage_row = QHBoxLayout()
        usage_row.setSpacing(style.SECTION_SPACING + 6)
        usage_row.addWidget(self.token_section, 1)
        usage_row.addWidget(self.tool_section, 1)
        charts.addLayout(usage_row, 4)
        # On a short screen the charts keep a readable height and scroll instead.
        self.charts_scroll = QScrollArea(self)
        self.charts_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.charts_scroll.setWidgetResizable(True)
        self.charts_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.charts_scroll.setWidget(self.charts_page)

        for page in (self.loading_page, self.charts_scroll, self.empty_page, self.error_page):
            self.stack.addWidget(page)
        self.stack.setCurrentWidget(self.loading_page)

        self.export_dialog = QFileDialog(self, self.tr("Export the history as CSV"))
        self.export_dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        self.export_dialog.setFileMode(QFileDialog.FileMode.AnyFile)
        self.export_dialog.setNameFilter(self.tr("CSV files (*.csv)"))
        self.export_dialog.setDefaultSuffix("csv")
        # Qt's own dialog: the same on every desktop, and a portal dialog cannot be driven
        # by the tests.
        self.export_dialog.setOption(QFileDialog.Option.DontUseNativeDialog, True)
        self.export_dialog.fileSelected.connect(lambda path: self.write_csv(Path(path)))

    def _message_page(self, text: str) -> QWidget:
        page = QWidget(self)
        box = QVBoxLayout(page)
        label = plain_label(text)
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        label.setFont(scaled_font(self, 1))
        box.addStretch(1)
        box.addWidget(label)
        box.addStretch(2)
        page.setProperty("message", text)
        return page

    # -- what it shows ---------------------------------------------------------------------
    @property
    def span(self) -> Span:
        return self._span

    @property
    def view(self) -> HistoryView | None:
        return self._view

    def page(self) -> str:
        """Which state the window shows: "loading", "charts", "empty" or "error"."""
        current = self.stack.currentWidget()
        return {
            id(self.loading_page): "loading",
            id(self.charts_scroll): "charts",
            id(self.empty_page): "empty",
            id(self.error_page): "error",
        }[id(current)]

    def select_span(self, span: Span) -> None:
        """Show `span` as chosen (without asking for it)."""
        self._span = span
        self.span_buttons[span].setChecked(True)
        for each, button in self.span_buttons.items():
            # Bold as well as pressed: some themes draw a checked button much like the others.
            button.setFont(scaled_font(self, 0, bold=each is span))

    def _pick(self, span: Span) -> None:
        if span is self._span and self._view is not None and self._view.span is span:
            return
        self.select_span(span)
        self.span_requested.emit(span)

    def show_loading(self) -> None:
        """A load is under way: the last view stays until the new one arrives."""
        self.status_label.setText(self.tr("Loading…"))
        set_colour(self.status_label, None)
        if self._view is None or self._view.span is not self._span:
            self.stack.setCurrentWidget(self.loading_page)
            self.export_button.setEnabled(False)

    def show_error(self, title: str, message: str) -> None:
        self._view = None
        self.export_button.setEnabled(False)
        self.note_label.hide()
        self.error_title.setText(title)
        self.error_message.setText(message)
        self.error_message.setVisible(bool(message))
        self.status_label.setText("")
        self.stack.setCurrentWidget(self.error_page)

    def show_view(self, view: HistoryView, now: datetime) -> None:
        self._view = view
        self.select_span(view.span)
        self.status_label.setText(
            self.tr("As of {time}").format(time=format_local_time(view.end, now))
        )
        set_colour(self.status_label, None)
        dark = panel_is_dark(self.palette())
        if view.usage_note:
            self.note_label.setText(view.usage_note)
            set_colour(self.note_label, style.level_colour(Level.WARNING, dark))
            self.note_label.show()
        else:
            self.note_label.hide()
        if not has_history(view):
            self.export_button.setEnabled(False)
            self.stack.setCurrentWidget(self.empty_page)
            return
        self.export_button.setEnabled(True)
        start, end = _epoch(view.start), _epoch(view.end)
        peaks = [(_epoch(a), _epoch(b)) for a, b in view.peak_periods]
        self.share_chart.set_empty_text(
            self.tr("No history yet: glmtray records each refresh from now on.")
        )
        self.share_chart.set_data(
            [
                ShareSeries(
                    window_name(w.key, w.label),
                    [_epoch(p.at) for p in w.points],
                    [p.share for p in w.points],
                    [_epoch(r) for r in w.resets],
                    colour=self._colours.setdefault(w.key, len(self._colours)),
                )
                for w in sorted(view.windows, key=window_order)
            ],
            peaks,
            start,
            end,
        )
        hourly = view.span is Span.DAY
        self.token_section.heading.setText(
            self.tr("Tokens per hour") if hourly else self.tr("Tokens per day")
        )
        self.tool_section.heading.setText(
            self.tr("Tool calls per hour") if hourly else self.tr("Tool calls per day")
        )
        # Usage never read (the note above says why): an empty chart claims nothing.
        unread = view.usage_fetched_at is None and bool(view.usage_note)
        self.token_chart.set_empty_text("" if unread else self.tr("No model usage in this period."))
        self.tool_chart.set_empty_text("" if unread else self.tr("No tool calls in this period."))
        # Bars start where the platform's first bucket does (a whole hour, or its midnight).
        usage_start = min(
            (_epoch(b.start) for b in view.model_tokens + view.tool_calls), default=start
        )
        bar_peaks = peaks if hourly else []
        self.token_chart.set_data(
            _bars(view.model_tokens, {ALL_MODELS: self.tr("All models")}),
            min(start, usage_start),
            end,
            bar_peaks,
        )
        self.tool_chart.set_data(
            _bars(view.tool_calls, {}), min(start, usage_start), end, bar_peaks
        )
        self._show_model_totals(view)
        self.stack.setCurrentWidget(self.charts_scroll)

    def _show_model_totals(self, view: HistoryView) -> None:
        """The platform splits tokens by model only over the whole span: said under the bars."""
        totals = {k: v for k, v in view.model_totals.items() if v > 0}
        total = sum(totals.values())
        if len(totals) < 2 or total <= 0:
            self.token_section.extra.hide()
            return
        parts = [
            self.tr("{model} {tokens} ({percent} %)").format(
                model=model, tokens=compact_number(tokens), percent=f"{100 * tokens / total:.0f}"
            )
            for model, tokens in sorted(totals.items(), key=lambda item: -item[1])
        ]
        self.token_section.extra.setText(
            self.tr("By model over the whole period: {models}").format(models=", ".join(parts))
        )
        self.token_section.extra.show()

    # -- export ----------------------------------------------------------------------------
    def default_export_name(self) -> str:
        view = self._view
        day = (view.end if view is not None else utcnow()).astimezone().strftime("%Y-%m-%d")
        return f"glmtray-history-{self._span.value}-{day}.csv"

    def export_csv(self) -> None:
        """Ask where to save the shown view (the dialog writes it when the user confirms)."""
        if self._view is None:
            return
        documents = QStandardPaths.writableLocation(
            QStandardPaths.StandardLocation.DocumentsLocation
        )
        # Qt names ~/Documents even where it does not exist, and the dialog then opens in
        # whatever folder the tray was started from.
        folder = documents if documents and Path(documents).is_dir() else str(Path.home())
        self.export_dialog.setDirectory(folder)
        self.export_dialog.selectFile(self.default_export_name())
        self.export_dialog.open()

    def write_csv(self, path: Path) -> bool:
        """Write the shown view to `path` as CSV and say how it went."""
        if self._view is None:
            return False
        try:
            path.write_text(view_csv(self._view), encoding="utf-8", newline="")
        except OSError as error:
            log.warning("history export to %s failed: %s", path, error.strerror)
            self.status_label.setText(
                self.tr("Could not save {file}: {reason}").format(
                    file=path.name, reason=error.strerror or str(error)
                )
            )
            set_colour(
                self.status_label,
                style.level_colour(Level.WARNING, panel_is_dark(self.palette())),
            )
            return False
        self.status_label.setText(self.tr("Saved {file}").format(file=str(path)))
        set_colour(self.status_label, None)
        return True

    # -- the window ------------------------------------------------------------------------
    def fit_screen(self) -> None:
        """No larger than the screen it opens on (a 1366x768 laptop with its panel bar)."""
        screen = self.screen() or QGuiApplication.primaryScreen()
        if screen is None:
            return
        room = screen.availableGeometry()
        width = min(self.width(), room.width() - 16)
        height = min(self.height(), room.height() - 48)  # the title bar
        self.resize(max(self.minimumWidth(), width), max(self.minimumHeight(), height))

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.fit_screen()


class HistoryController(QObject):
    """Opens the window and loads the views: one load in flight, the newest span wins."""

    loaded = Signal()
    """A view or an error is shown (tests and benches wait for it)."""

    def __init__(
        self,
        service: PlatformService,
        open_store: Callable[[Account], HistoryReader],
        account: Callable[[], Account],
        settings: Callable[[], Settings],
        peak_rule: Callable[[], str],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.service = service
        self._open_store = open_store
        self._account = account
        self._settings = settings
        self._peak_rule = peak_rule
        self.cache = UsageCache()
        self._cache_account: Account | None = None
        self.window = HistoryWindow()
        self.window.span_requested.connect(self.load)
        self._in_flight: Span | None = None
        self._wanted: Span | None = None
        self._patience = QTimer(self)
        self._patience.setSingleShot(True)
        self._patience.setInterval(LOAD_PATIENCE_MS)
        self._patience.timeout.connect(self._gave_up)
        self._reload = QTimer(self)
        self._reload.setInterval(RELOAD_MS)
        self._reload.timeout.connect(self._reload_if_shown)
        service.started.connect(self._on_session_started)

    @property
    def busy(self) -> bool:
        return self._in_flight is not None

    def open(self) -> None:
        window = self.window
        window.show()
        window.raise_()
        window.activateWindow()
        self.load(window.span)
        self._reload.start()

    def close(self) -> None:
        self._reload.stop()
        self._patience.stop()
        self.window.close()

    def load(self, span: Span) -> None:
        """Ask the worker for `span`'s view; while another load runs, remember the span."""
        self.window.select_span(span)
        self._wanted = span
        if self._in_flight is not None:
            return
        self._start(span)

    def _start(self, span: Span) -> None:
        account = self._account()
        if account != self._cache_account:
            self.cache.clear()  # another account's usage is not this one's
            self._cache_account = account
        try:
            store = self._open_store(account)  # one per account for the run
        except Exception as error:  # the window says what failed; the app keeps running
            log.warning("history store could not be opened: %s", error)
            self._wanted = None
            self._show_failure(error)
            return
        settings = self._settings()
        peak_rule, peak_hours, cache = self._peak_rule(), settings.peak_hours, self.cache
        now = utcnow()
        self._in_flight = span
        self.window.show_loading()
        self._patience.start()

        def job(client: PlatformClient) -> HistoryView:
            return load_history_view(
                client, store, span, now, cache, peak_rule=peak_rule, peak_hours=peak_hours
            )

        self.service.run(job, self._done)

    def _done(self, result: object, error: BaseException | None) -> None:
        self._patience.stop()
        span, self._in_flight = self._in_flight, None
        wanted, self._wanted = self._wanted, None
        if wanted is not None and wanted is not span:
            self._start(wanted)  # the user moved on while this one loaded
            return
        if error is not None or not isinstance(result, HistoryView):
            log.warning("history view could not be loaded: %s", error)
            self._show_failure(error)
        else:
            self.window.show_view(result, utcnow())
        self.loaded.emit()

    def _show_failure(self, error: BaseException | None) -> None:
        title = getattr(error, "title", None)
        message = getattr(error, "message", None)
        self.window.show_error(
            title
            if isinstance(title, str) and title
            else self.tr("The history could not be loaded."),
            message if isinstance(message, str) else "",
        )
        self.loaded.emit()

    def _gave_up(self) -> None:
        if self._in_flight is None:
            return
        self._in_flight = self._wanted = None
        self.window.show_error(
            self.tr("The history could not be loaded."),
            self.tr("The platform connection did not answer in time."),
        )
        self.loaded.emit()

    def _on_session_started(self, start: object) -> None:
        """A new session (signed in again, another account): a load still waiting belonged
        to the ended one and will never be answered; the open window shows the new one's."""
        waiting = self._in_flight is not None
        self._in_flight = None
        self._patience.stop()
        if self.window.isVisible() or waiting:
            self.load(self._wanted or self.window.span)

    def _reload_if_shown(self) -> None:
        if self.window.isVisible() and self._in_flight is None:
            self.load(self.window.span)
        elif not self.window.isVisible():
            self._reload.stop()
