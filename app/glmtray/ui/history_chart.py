"""The history window's charts, drawn with QPainter: shares over time and stacked bars.

Why not a chart library (measured on PySide6 6.11, Python 3.11, x86-64 Linux): QtCharts
is in PySide6-Addons, a 175 MB wheel and 439 MB installed, beside the 237 MB of the
PySide6-Essentials glmtray ships; pyqtgraph needs numpy (1.9 + 16.9 MB of wheels, 79 MB
installed), and importing it takes 0.3-0.75 s and 50 MB of memory. These widgets add
nothing to install and import in about 20 ms (3 MB); three 30-day series of one reading a
minute (129,600 points) draw in about 0.19 s, QtCharts takes 0.29 s and pyqtgraph 0.07 s.

The charts know nothing of HistoryView: they take plain series (epoch seconds and values),
so the window decides what is drawn and the charts only how. Times are laid out and labelled
in local time; colours come in a light and a dark variant, chosen from the palette.

Drawing stays fast however long the history: a line keeps, per device pixel column, its
first, lowest, highest and last value (so no peak is lost) and is stroked as its rising
and falling runs; resets are drawn from their own list, never from the thinned points.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from enum import Enum

from PySide6.QtCore import QLineF, QLocale, QPointF, QRectF, QSize, Qt, QTime, Signal
from PySide6.QtGui import (
    QColor,
    QFocusEvent,
    QFontMetricsF,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QPen,
    QPolygonF,
    QResizeEvent,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

from glmtray import i18n
from glmtray.ui import style
from glmtray.ui.icon import panel_is_dark

# (light background, dark background): distinct hues that keep their contrast on either.
SERIES_COLOURS: tuple[tuple[str, str], ...] = (
    ("#1c6fd1", "#5aa9ff"),
    ("#d9480f", "#ff922b"),
    ("#2b8a3e", "#63d47a"),
    ("#9c36b5", "#d98cf0"),
    ("#c2255c", "#f478a6"),
    ("#0b7285", "#3bc9db"),
    ("#7048e8", "#a48bff"),
    ("#7b8089", "#b8bdc4"),
)
PEAK_SHADE = (QColor(240, 140, 0, 38), QColor(255, 180, 60, 40))
MAX_BAR_KEYS = 7
"""More models or tools than this: the smallest ones are drawn together as "Other"."""
MIN_TICK_GAP = 18.0
"""Pixels kept free between two time labels."""
LAST_READING_FRESH = 15 * 60
"""Past a series' last reading by more than this, the readout says "no data" (the window
was no longer reported) rather than repeat an old value."""
RESET_LINE_SPACING = 40.0
"""Resets closer than this (pixels, on average) are marked by short ticks at the top
instead of full-height lines: a month of 5-hour resets would hide the data."""
MIN_PLOT_HEIGHT = 60.0
KEY_STEPS = 96
"""One press of an arrow key moves the readout by this share of the span (15 minutes of a
day, under 2 hours of a week)."""


@dataclass(frozen=True)
class ShareSeries:
    """One quota window: times (epoch seconds, ascending) and shares (0..1)."""

    label: str
    times: Sequence[float]
    shares: Sequence[float]
    resets: Sequence[float] = ()
    colour: int | None = None
    """Its place in SERIES_COLOURS, so a window keeps its colour from span to span (None:
    its place in the chart)."""

    def colour_index(self, position: int) -> int:
        return position if self.colour is None else self.colour


@dataclass(frozen=True)
class BarBucket:
    """One bar: from `start` to `end` (epoch seconds), a value per model or tool."""

    start: float
    end: float
    values: Mapping[str, float] = field(default_factory=dict)


class LegendMark(Enum):
    LINE = "line"
    BOX = "box"
    BAND = "band"
    DASHED = "dashed"


@dataclass(frozen=True)
class LegendEntry:
    text: str
    colour: QColor
    mark: LegendMark


@dataclass(frozen=True)
class TimeTick:
    at: float
    label: str
    major: bool
    """A new day on an hourly axis: drawn a little stronger."""
    whole_day: bool = False
    """A tick every day: its label may stand in the middle of the day it names."""


# -- pure helpers (tested without drawing) ---------------------------------------------
def series_colour(index: int, dark: bool) -> QColor:
    return style.pick(SERIES_COLOURS[index % len(SERIES_COLOURS)], dark)


def compact_number(value: float) -> str:
    """'950', '12k', '1.5M', '2.3B': tokens run into the millions."""
    magnitude = abs(value)
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if magnitude >= limit:
            scaled = value / limit
            if abs(scaled) >= 10:
                return f"{scaled:.0f}{suffix}"
            return f"{scaled:.1f}".rstrip("0").rstrip(".") + suffix
    if magnitude and magnitude < 10 and value != int(value):
        return f"{value:.1f}".rstrip("0").rstrip(".")
    return f"{value:.0f}"


def nice_ticks(top: float, count: int = 4) -> list[float]:
    """0 and a few round steps (1, 2, 2.5 or 5 times a power of ten) reaching `top`."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    steps = math.ceil(top / step - 1e-9)
    return [i * step for i in range(steps + 1)]


def local(moment: float) -> datetime:
    return datetime.fromtimestamp(moment, tz=timezone.utc).astimezone()


def _local_midnight(day: date) -> datetime:
    # A naive time read as local, then made aware: midnight in the machine's zone.
    return datetime(day.year, day.month, day.day).astimezone()


_HOUR_STEPS = (1, 2, 3, 4, 6, 12)
_DAY_STEPS = (1, 2, 7, 14)


def day_label(moment: datetime, with_month: bool = False) -> str:
    """'Tue 1' or '1 Dec' ('1日 周二', '12月1日'), in the user's language."""
    return i18n.day_month(moment.date()) if with_month else i18n.weekday_day(moment.date())


def clock_label(moment: datetime) -> str:
    return QLocale().toString(QTime(moment.hour, moment.minute), "HH:mm")


def moment_label(moment: float) -> str:
    """'Tue 1 Dec 14:32', local time: for the hover readout."""
    return i18n.full_moment(local(moment))


def time_ticks(start: float, end: float, max_ticks: int) -> list[TimeTick]:
    """Ticks on whole local hours or days, as many as fit: every 1-12 hours on a short span
    (a new day labelled with its date), every 1, 2, 7 or 14 days on a long one."""
    if end <= start:
        return []
    max_ticks = max(2, max_ticks)
    span_hours = (end - start) / 3600
    for hours in _HOUR_STEPS:
        if span_hours / hours <= max_ticks:
            return _hour_ticks(start, end, hours)
    span_days = span_hours / 24
    for days in _DAY_STEPS:
        if span_days / days <= max_ticks or days == _DAY_STEPS[-1]:
            return _day_ticks(start, end, days)
    return []  # pragma: no cover - the loop above always returns


def _hour_ticks(start: float, end: float, hours: int) -> list[TimeTick]:
    ticks: list[TimeTick] = []
    moment = math.ceil(start / 3600) * 3600.0  # whole hours in UTC are whole local hours
    while moment <= end:  # in every zone with whole-hour offsets
        when = local(moment)
        if when.minute == 0 and when.hour % hours == 0:
            if when.hour == 0:
                ticks.append(TimeTick(moment, day_label(when), True))
            else:
                ticks.append(TimeTick(moment, clock_label(when), False))
        moment += 3600.0
    return ticks


def _day_ticks(start: float, end: float, days: int) -> list[TimeTick]:
    ticks: list[TimeTick] = []
    day = local(start).date()
    last = local(end).date()
    while day <= last:
        midnight = _local_midnight(day).timestamp()
        keep = (
            days == 1
            or (days == 2 and day.toordinal() % 2 == 0)
            or (days == 7 and day.weekday() == 0)
            or (days == 14 and day.weekday() == 0 and (day.toordinal() // 7) % 2 == 0)
        )
        if keep and start <= midnight <= end:
            label = day_label(local(midnight), with_month=days >= 2)
            ticks.append(TimeTick(midnight, label, False, whole_day=days == 1))
        day += timedelta(days=1)
    return ticks


def thin_line(
    times: Sequence[float], values: Sequence[float], start: float, end: float, columns: int
) -> list[tuple[float, float]]:
    """At most four points per pixel column (first, lowest, highest, last), in time order
    within the column: the drawn line keeps every peak and dip of the full data."""
    lo = bisect_left(times, start)
    hi = bisect_right(times, end)
    if hi - lo <= 4 * columns:
        return list(zip(times[lo:hi], values[lo:hi], strict=True))
    width = (end - start) / columns
    points: list[tuple[float, float]] = []
    index = lo
    while index < hi:
        column = int((times[index] - start) / width)
        stop = min(hi, bisect_left(times, start + (column + 1) * width, index, hi))
        stop = max(stop, index + 1)
        chunk = values[index:stop]
        first_t, last_t = times[index], times[stop - 1]
        low, high = min(chunk), max(chunk)
        mid_t = (first_t + last_t) / 2
        points.append((first_t, chunk[0]))
        if low != high:
            # Low and high in the order they happened, so a dip then a peak reads as one.
            low_first = chunk.index(low) <= chunk.index(high) if stop - index < 64 else True
            pair = ((mid_t, low), (mid_t, high)) if low_first else ((mid_t, high), (mid_t, low))
            points.extend(pair)
        points.append((last_t, chunk[-1]))
        index = stop
    return points


def monotone_runs(points: Sequence[QPointF]) -> list[list[QPointF]]:
    """The line cut where it turns from rising to falling or back (in screen y), each run
    starting where the last ended. Qt's stroker takes time that grows much faster than
    the number of turns when one wide polyline turns back on itself (240 full-height turns:
    a third of a second; 1,000: three seconds), while runs drawn apart cost almost
    nothing: a month of 5-hour resets is a few hundred turns."""
    runs: list[list[QPointF]] = []
    run: list[QPointF] = []
    direction = 0.0
    for point in points:
        if run:
            step = point.y() - run[-1].y()
            if step and direction and (step > 0) != (direction > 0):
                runs.append(run)
                run = [run[-1]]
            if step:
                direction = step
        run.append(point)
    if run:
        runs.append(run)
    return runs


# -- the widgets --------------------------------------------------------------------------
class TimeChart(QWidget):
    """A time axis (local time), a value axis, a legend, peak shading and a hover readout;
    subclasses draw the data and say what the readout reads at a moment."""

    readout_changed = Signal(str)
    """What the chart shows at the pointer; the latest values when the pointer leaves."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMouseTracking(True)
        # The arrow keys move the readout too: the values are not for mouse users only.
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumHeight(150)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent, False)
        self._start = 0.0
        self._end = 1.0
        self._peaks: list[tuple[float, float]] = []
        self._hover: float | None = None
        self._pointer_x: float | None = None
        """Where the pointer is over the chart (None: elsewhere)."""
        self._empty_text = ""
        self._readout = ""

    # Subclasses.
    def has_data(self) -> bool:
        raise NotImplementedError

    def y_ticks(self) -> list[float]:
        raise NotImplementedError

    def y_label(self, value: float) -> str:
        raise NotImplementedError

    def legend(self) -> list[LegendEntry]:
        raise NotImplementedError

    def readout_at(self, moment: float) -> str:
        """The values at `moment` (epoch seconds), as the readout shows them."""
        raise NotImplementedError

    def latest_moment(self) -> float | None:
        raise NotImplementedError

    def draw_data(self, painter: QPainter, plot: QRectF, dark: bool) -> None:
        raise NotImplementedError

    def draw_hover(self, painter: QPainter, plot: QRectF, moment: float, dark: bool) -> None:
        pass

    # Shared.
    def set_range(
        self, start: float, end: float, peaks: Sequence[tuple[float, float]] = ()
    ) -> None:
        self._start, self._end = start, max(end, start + 1.0)
        self._peaks = [(a, b) for a, b in peaks if b > start and a < end]

    def set_empty_text(self, text: str) -> None:
        """What the chart says when it has nothing to draw."""
        self._empty_text = text

    @property
    def empty_text(self) -> str:
        return self._empty_text

    @property
    def readout(self) -> str:
        return self._readout

    @property
    def span(self) -> tuple[float, float]:
        return self._start, self._end

    def data_changed(self) -> None:
        """New data: the readout follows the pointer if it is on the plot (a reload while
        the user reads a value), else shows the latest values."""
        self._hover = None
        plot = self.plot_rect()
        x = self._pointer_x
        if x is not None and self.has_data() and plot.left() <= x <= plot.right():
            self._hover = self.moment_at(x, plot)
        self._set_readout(
            self.readout_at(self._hover) if self._hover is not None else self._default_readout()
        )
        self.update()

    def _default_readout(self) -> str:
        latest = self.latest_moment()
        return self.readout_at(latest) if latest is not None and self.has_data() else ""

    def _set_readout(self, text: str) -> None:
        if text != self._readout:
            self._readout = text
            self.readout_changed.emit(text)

    def is_dark(self) -> bool:
        return panel_is_dark(self.palette())

    def sizeHint(self) -> QSize:
        return QSize(720, 200)

    def plot_rect(self) -> QRectF:
        metrics = QFontMetricsF(self.font())
        labels = [self.y_label(v) for v in self.y_ticks()] or ["100 %"]
        left = max(metrics.horizontalAdvance(text) for text in labels) + 10
        top = self._legend_height(metrics) + 6
        bottom = metrics.height() + 8
        rect = QRectF(left, top, self.width() - left - 12, self.height() - top - bottom)
        if rect.height() < MIN_PLOT_HEIGHT:
            rect.setTop(max(2.0, rect.bottom() - MIN_PLOT_HEIGHT))
        return rect

    def x_for(self, moment: float, plot: QRectF) -> float:
        return plot.left() + (moment - self._start) / (self._end - self._start) * plot.width()

    def moment_at(self, x: float, plot: QRectF) -> float:
        return self._start + (x - plot.left()) / max(1.0, plot.width()) * (self._end - self._start)

    def x_of(self, moment: float) -> float:
        """Where `moment` is drawn, in widget pixels (tests point the mouse there)."""
        return self.x_for(moment, self.plot_rect())

    # Legend: entries flow left to right and wrap.
    def _legend_layout(self, metrics: QFontMetricsF) -> list[tuple[QPointF, LegendEntry]]:
        placed: list[tuple[QPointF, LegendEntry]] = []
        x, y = 0.0, 0.0
        line = metrics.height() + 4
        for entry in self.legend():
            width = 22 + metrics.horizontalAdvance(entry.text) + 16
            if x > 0 and x + width > self.width():
                x, y = 0.0, y + line
            placed.append((QPointF(x, y), entry))
            x += width
        return placed

    def _legend_height(self, metrics: QFontMetricsF) -> float:
        placed = self._legend_layout(metrics)
        if not placed:
            return 0.0
        return placed[-1][0].y() + metrics.height() + 4

    def _draw_legend(self, painter: QPainter, metrics: QFontMetricsF, text: QColor) -> None:
        for origin, entry in self._legend_layout(metrics):
            mid = origin.y() + metrics.height() / 2
            swatch = QRectF(origin.x() + 2, mid - 5, 16, 10)
            if entry.mark is LegendMark.LINE:
                painter.setPen(QPen(entry.colour, 2.5))
                painter.drawLine(QPointF(swatch.left(), mid), QPointF(swatch.right(), mid))
            elif entry.mark is LegendMark.DASHED:
                pen = QPen(entry.colour, 1.5, Qt.PenStyle.DashLine)
                painter.setPen(pen)
                painter.drawLine(QPointF(swatch.center().x(), swatch.top() - 2),
                                 QPointF(swatch.center().x(), swatch.bottom() + 2))  # fmt: skip
            else:
                painter.setPen(Qt.PenStyle.NoPen)
                painter.setBrush(entry.colour)
                painter.drawRect(swatch)
                painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.setPen(text)
            painter.drawText(
                QRectF(origin.x() + 22, origin.y(), 1000, metrics.height()),
                int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
                entry.text,
            )

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        dark = self.is_dark()
        palette = self.palette()
        text = palette.color(QPalette.ColorRole.WindowText)
        subtle = style.grey(dark)
        metrics = QFontMetricsF(self.font())
        plot = self.plot_rect()

        painter.fillRect(plot, palette.color(QPalette.ColorRole.Base))
        for a, b in self._peaks:
            left = max(plot.left(), self.x_for(a, plot))
            right = min(plot.right(), self.x_for(b, plot))
            if right > left:
                painter.fillRect(
                    QRectF(left, plot.top(), right - left, plot.height()), PEAK_SHADE[dark]
                )

        # Value axis: grid lines and labels.
        grid = QColor(subtle)
        grid.setAlpha(70)
        ticks = self.y_ticks()
        top_value = ticks[-1] if ticks else 1.0
        for value in ticks:
            y = plot.bottom() - value / top_value * plot.height() if top_value else plot.bottom()
            painter.setPen(QPen(grid, 1))
            painter.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y))
            painter.setPen(subtle)
            painter.drawText(
                QRectF(0, y - metrics.height() / 2, plot.left() - 6, metrics.height()),
                int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter),
                self.y_label(value),
            )

        # Time axis: ticks on whole local hours or days.
        sample = max(metrics.horizontalAdvance(day_label(local(self._start))),
                     metrics.horizontalAdvance("00:00"),
                     metrics.horizontalAdvance(day_label(local(self._start), True)))  # fmt: skip
        max_ticks = int(plot.width() / (sample + MIN_TICK_GAP))
        for tick in time_ticks(self._start, self._end, max_ticks):
            x = self.x_for(tick.at, plot)
            line = QColor(grid)
            line.setAlpha(130 if tick.major else 45)
            painter.setPen(QPen(line, 1))
            painter.drawLine(QPointF(x, plot.top()), QPointF(x, plot.bottom() + 3))
            width = metrics.horizontalAdvance(tick.label)
            label_x = x
            day_width = self.x_for(tick.at + 86400, plot) - x
            shown_width = min(x + day_width, plot.right()) - x
            if tick.whole_day and shown_width >= width + MIN_TICK_GAP:
                label_x = x + shown_width / 2  # "Wed 25" under Wednesday, not its midnight
            left = min(max(label_x - width / 2, plot.left() - 4), self.width() - width - 1)
            painter.setPen(text if tick.major else subtle)
            painter.drawText(
                QRectF(left, plot.bottom() + 4, width + 2, metrics.height()),
                int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop),
                tick.label,
            )

        painter.save()
        painter.setClipRect(plot.adjusted(-2, -2, 2, 2))
        if self.has_data():
            self.draw_data(painter, plot, dark)
            if self._hover is not None:
                hover_pen = QPen(text, 1, Qt.PenStyle.DotLine)
                x = self.x_for(self._hover, plot)
                painter.setPen(hover_pen)
                painter.drawLine(QPointF(x, plot.top()), QPointF(x, plot.bottom()))
                self.draw_hover(painter, plot, self._hover, dark)
        painter.restore()
        if not self.has_data() and self._empty_text:
            painter.setPen(subtle)
            painter.drawText(
                plot.adjusted(8, 8, -8, -8),
                int(Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap),
                self._empty_text,
            )
        if self.hasFocus():  # where the arrow keys act
            painter.setPen(QPen(palette.color(QPalette.ColorRole.Highlight), 1.5))
        else:
            painter.setPen(QPen(grid, 1))
        painter.drawRect(plot)
        self._draw_legend(painter, metrics, text)
        painter.end()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        plot = self.plot_rect()
        x = event.position().x()
        self._pointer_x = x
        if self.has_data() and plot.left() <= x <= plot.right():
            self._hover = self.moment_at(x, plot)
            self._set_readout(self.readout_at(self._hover))
        else:
            self._hover = None
            self._set_readout(self._default_readout())
        self.update()
        super().mouseMoveEvent(event)

    def leaveEvent(self, event: object) -> None:
        self._hover = self._pointer_x = None
        self._set_readout(self._default_readout())
        self.update()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Left and Right step the readout through the span (Shift: ten steps), Home and
        End jump to its ends, Escape goes back to the latest values."""
        key = event.key()
        latest = self.latest_moment()
        if not self.has_data() or latest is None:
            super().keyPressEvent(event)
            return
        step = (self._end - self._start) / KEY_STEPS
        if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            step *= 10
        current = self._hover if self._hover is not None else latest
        if key == Qt.Key.Key_Left:
            moment: float | None = current - step
        elif key == Qt.Key.Key_Right:
            moment = current + step
        elif key == Qt.Key.Key_Home:
            moment = self._start
        elif key == Qt.Key.Key_End:
            moment = latest
        elif key == Qt.Key.Key_Escape and self._hover is not None:
            moment = None
        else:
            super().keyPressEvent(event)
            return
        if moment is None:
            self._hover = None
            self._set_readout(self._default_readout())
        else:
            self._hover = min(max(moment, self._start), self._end)
            self._set_readout(self.readout_at(self._hover))
        self.update()

    def focusOutEvent(self, event: QFocusEvent) -> None:
        super().focusOutEvent(event)
        if self._pointer_x is None and self._hover is not None:
            self._hover = None
            self._set_readout(self._default_readout())
            self.update()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.update()


class ShareChart(TimeChart):
    """Each quota window's share, 0-100 %, with resets marked and peak hours shaded."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._series: list[ShareSeries] = []
        self._drawn: dict[
            tuple[int, float, float, float, float, float],
            list[QPolygonF | list[QLineF] | QPointF],
        ] = {}

    def set_data(
        self,
        series: Sequence[ShareSeries],
        peaks: Sequence[tuple[float, float]],
        start: float,
        end: float,
    ) -> None:
        self.set_range(start, end, peaks)
        self._series = list(series)
        self._drawn = {}
        self.data_changed()

    @property
    def series(self) -> tuple[ShareSeries, ...]:
        return tuple(self._series)

    def has_data(self) -> bool:
        return any(s.times for s in self._series)

    def y_ticks(self) -> list[float]:
        return [0.0, 25.0, 50.0, 75.0, 100.0]

    def y_label(self, value: float) -> str:
        return self.tr("{percent} %").format(percent=f"{value:.0f}")

    def legend(self) -> list[LegendEntry]:
        dark = self.is_dark()
        entries = [
            LegendEntry(s.label, series_colour(s.colour_index(i), dark), LegendMark.LINE)
            for i, s in enumerate(self._series)
        ]
        if self._peaks:
            entries.append(LegendEntry(self.tr("Peak hours"), PEAK_SHADE[dark], LegendMark.BAND))
        if any(s.resets for s in self._series):
            entries.append(LegendEntry(self.tr("Reset"), style.grey(dark), LegendMark.DASHED))
        return entries

    def latest_moment(self) -> float | None:
        last = [s.times[-1] for s in self._series if s.times]
        return max(last) if last else None

    def value_at(self, index: int, moment: float) -> float | None:
        """The share (0-100) of series `index` at `moment`: its last reading at or before
        it (the store keeps a run of equal readings as its first and last, so the reading
        before holds until the next one), None before the first or long after the last."""
        series = self._series[index]
        after = bisect_right(series.times, moment)
        if after == 0:
            return None
        if after == len(series.times) and moment - series.times[-1] > LAST_READING_FRESH:
            return None
        return series.shares[after - 1] * 100.0

    def readout_at(self, moment: float) -> str:
        parts = []
        for index, series in enumerate(self._series):
            value = self.value_at(index, moment)
            if value is None:
                parts.append(self.tr("{window}: no data").format(window=series.label))
            else:
                parts.append(
                    self.tr("{window}: {percent} %").format(
                        window=series.label, percent=f"{value:.0f}"
                    )
                )
        return self.tr("{moment} · {values}").format(
            moment=moment_label(moment), values=" · ".join(parts)
        )

    def _shapes(
        self, index: int, plot: QRectF, density: float
    ) -> list[QPolygonF | list[QLineF] | QPointF]:
        """Series `index` in pixels for this plot area, computed once per size: a repaint
        for the hover line then costs almost nothing. `density`: device pixels per pixel
        (2 on a high-DPI screen: twice the columns to keep)."""
        key = (index, plot.left(), plot.top(), plot.width(), plot.height(), density)
        cached = self._drawn.get(key)
        if cached is not None:
            return cached
        if len(self._drawn) >= 2 * len(self._series):
            self._drawn.clear()  # the window was resized: the old sizes are not coming back
        columns = max(1, int(plot.width() * density))
        series = self._series[index]
        scale_x = plot.width() / (self._end - self._start)
        left, bottom, height = plot.left(), plot.bottom(), plot.height()
        shapes: list[QPolygonF | list[QLineF] | QPointF] = []
        # One line through every reading: the store drops the repeats of an unchanged share,
        # so a long step between two readings is a quiet time, not missing data.
        for line in (thin_line(series.times, series.shares, self._start, self._end, columns),):
            points = [
                QPointF(left + (t - self._start) * scale_x, bottom - max(0.0, min(1.0, v)) * height)
                for t, v in line
            ]
            if len(points) == 1:
                shapes.append(points[0])
            else:
                runs = monotone_runs(points)
                shapes.extend(QPolygonF(run) for run in runs if len(run) > 2)
                # Two-point runs (a drop at a reset, zigzags within a pixel): one batch.
                pairs = [QLineF(run[0], run[1]) for run in runs if len(run) == 2]
                if pairs:
                    shapes.append(pairs)
        self._drawn[key] = shapes
        return shapes

    def _y(self, share: float, plot: QRectF) -> float:
        return plot.bottom() - max(0.0, min(1.0, share)) * plot.height()

    def draw_data(self, painter: QPainter, plot: QRectF, dark: bool) -> None:
        for index, series in enumerate(self._series):
            colour = series_colour(self._series[index].colour_index(index), dark)
            self._draw_resets(painter, plot, series, colour)
            pen = QPen(colour, 2.0)
            pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
            pen.setCapStyle(Qt.PenCapStyle.RoundCap)
            segment_pen = QPen(pen)
            segment_pen.setCapStyle(Qt.PenCapStyle.SquareCap)  # no seams between segments
            device = painter.device()
            density = device.devicePixelRatioF() if device is not None else 1.0
            for shape in self._shapes(index, plot, density):
                if isinstance(shape, QPointF):
                    painter.setPen(Qt.PenStyle.NoPen)
                    painter.setBrush(colour)
                    painter.drawEllipse(shape, 2.5, 2.5)
                    painter.setBrush(Qt.BrushStyle.NoBrush)
                elif isinstance(shape, QPolygonF):
                    painter.setPen(pen)
                    painter.drawPolyline(shape)
                else:
                    painter.setPen(segment_pen)
                    painter.drawLines(shape)

    def _draw_resets(
        self, painter: QPainter, plot: QRectF, series: ShareSeries, colour: QColor
    ) -> None:
        """A dashed line in the window's colour at each reset (from the series' own list,
        never thinned away); short ticks along the top when they would crowd the plot."""
        resets = [r for r in series.resets if self._start <= r <= self._end]
        if not resets:
            return
        faded = QColor(colour)
        faded.setAlpha(150)
        crowded = len(resets) * RESET_LINE_SPACING > plot.width()
        painter.setPen(QPen(faded, 1.2, Qt.PenStyle.SolidLine if crowded else Qt.PenStyle.DashLine))
        bottom = plot.top() + 7 if crowded else plot.bottom()
        for reset in resets:
            x = self.x_for(reset, plot)
            painter.drawLine(QPointF(x, plot.top()), QPointF(x, bottom))

    def draw_hover(self, painter: QPainter, plot: QRectF, moment: float, dark: bool) -> None:
        for index in range(len(self._series)):
            value = self.value_at(index, moment)
            if value is None:
                continue
            colour = series_colour(self._series[index].colour_index(index), dark)
            painter.setPen(QPen(self.palette().color(QPalette.ColorRole.Base), 1.5))
            painter.setBrush(colour)
            painter.drawEllipse(QPointF(self.x_for(moment, plot), self._y(value / 100, plot)), 4, 4)
            painter.setBrush(Qt.BrushStyle.NoBrush)


class BarChart(TimeChart):
    """Stacked bars: per hour or per day, one segment per model (tokens) or tool (calls)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._buckets: list[BarBucket] = []
        self._keys: list[str] = []
        self._other = ""
        self._top = 1.0

    def set_data(
        self,
        buckets: Sequence[BarBucket],
        start: float,
        end: float,
        peaks: Sequence[tuple[float, float]] = (),
    ) -> None:
        self.set_range(start, end, peaks)
        totals: dict[str, float] = {}
        for bucket in buckets:
            for key, value in bucket.values.items():
                totals[key] = totals.get(key, 0.0) + value
        ranked = sorted((k for k, v in totals.items() if v > 0), key=lambda k: (-totals[k], k))
        self._other = self.tr("Other")
        if len(ranked) > MAX_BAR_KEYS:
            keep = ranked[: MAX_BAR_KEYS - 1]
            self._keys = [*keep, self._other]
            merged = []
            for bucket in buckets:
                values = {k: v for k, v in bucket.values.items() if k in keep}
                rest = sum(v for k, v in bucket.values.items() if k not in keep)
                if rest:
                    values[self._other] = rest
                merged.append(BarBucket(bucket.start, bucket.end, values))
            self._buckets = merged
        else:
            self._keys = ranked
            self._buckets = list(buckets)
        self._buckets.sort(key=lambda b: b.start)
        self._top = max((sum(b.values.values()) for b in self._buckets), default=0.0)
        self.data_changed()

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(self._keys)

    def has_data(self) -> bool:
        return self._top > 0

    def y_ticks(self) -> list[float]:
        return nice_ticks(self._top)

    def y_label(self, value: float) -> str:
        return compact_number(value)

    def legend(self) -> list[LegendEntry]:
        dark = self.is_dark()
        return [
            LegendEntry(k, series_colour(i, dark), LegendMark.BOX) for i, k in enumerate(self._keys)
        ]

    def latest_moment(self) -> float | None:
        filled = [b for b in self._buckets if any(b.values.values())]
        return (filled[-1].start + filled[-1].end) / 2 if filled else None

    def bucket_at(self, moment: float) -> BarBucket | None:
        for bucket in self._buckets:
            if bucket.start <= moment < bucket.end:
                return bucket
        return None

    def bucket_label(self, bucket: BarBucket) -> str:
        start, end = local(bucket.start), local(bucket.end)
        day = i18n.full_day(start.date())
        if bucket.end - bucket.start >= 86400 - 1 and start.hour == 0 and start.minute == 0:
            return day
        if start.date() == end.date() or (end.hour == 0 and end.minute == 0):
            return self.tr("{day} {start}–{end}").format(
                day=day, start=clock_label(start), end=clock_label(end)
            )
        return self.tr("{start} to {end}").format(
            start=moment_label(bucket.start), end=moment_label(bucket.end)
        )

    def readout_at(self, moment: float) -> str:
        bucket = self.bucket_at(moment)
        if bucket is None:
            return self.tr("{moment} · nothing recorded").format(moment=moment_label(moment))
        parts = [
            self.tr("{name}: {value}").format(name=key, value=compact_number(bucket.values[key]))
            for key in self._keys
            if bucket.values.get(key)
        ]
        total = sum(bucket.values.values())
        if not parts:
            return self.tr("{when} · none").format(when=self.bucket_label(bucket))
        return self.tr("{when} · {values} · total {total}").format(
            when=self.bucket_label(bucket), values=" · ".join(parts), total=compact_number(total)
        )

    def _bar_rect(self, bucket: BarBucket, plot: QRectF) -> QRectF:
        left = self.x_for(bucket.start, plot)
        right = self.x_for(bucket.end, plot)
        gap = min(3.0, (right - left) * 0.18)
        return QRectF(left + gap / 2, plot.top(), max(1.0, right - left - gap), plot.height())

    def draw_data(self, painter: QPainter, plot: QRectF, dark: bool) -> None:
        top = self.y_ticks()[-1] or 1.0
        painter.setPen(Qt.PenStyle.NoPen)
        for bucket in self._buckets:
            column = self._bar_rect(bucket, plot)
            base = plot.bottom()
            for index, key in enumerate(self._keys):
                value = bucket.values.get(key, 0.0)
                if value <= 0:
                    continue
                height = value / top * plot.height()
                painter.setBrush(series_colour(index, dark))
                painter.drawRect(QRectF(column.left(), base - height, column.width(), height))
                base -= height
        painter.setBrush(Qt.BrushStyle.NoBrush)

    def draw_hover(self, painter: QPainter, plot: QRectF, moment: float, dark: bool) -> None:
        bucket = self.bucket_at(moment)
        if bucket is None:
            return
        highlight = QColor(self.palette().color(QPalette.ColorRole.WindowText))
        highlight.setAlpha(28)
        painter.fillRect(self._bar_rect(bucket, plot), highlight)
