"""The usage history window, offscreen: each span drawn from a view, the hover readout, the
CSV export, the empty and error states, and its pure helpers (ticks, thinning, numbers).

Views come from `tools/sample_history.py` (a simulated month run through the real
`window_series`) or are built here when a test needs exact values.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta, timezone
from itertools import pairwise
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot
from tools.sample_history import sample_view
from tools.sample_states import NOW

from glmtray.credentials import Account
from glmtray.history.export import view_csv
from glmtray.history.store import HistoryStore
from glmtray.history.views import HistoryView, SharePoint, Span, UsageBucket, WindowSeries
from glmtray.platform.regions import Region
from glmtray.platform.usage import ALL_MODELS, HOUR
from glmtray.simulator import SIMULATOR_API_KEY
from glmtray.ui.application import GlmTrayApp
from glmtray.ui.history_chart import (
    BarBucket,
    BarChart,
    ShareChart,
    ShareSeries,
    compact_number,
    monotone_runs,
    nice_ticks,
    series_colour,
    thin_line,
    time_ticks,
)
from glmtray.ui.history_window import HistoryWindow
from tests.ui.test_application import WAIT_MS, make_app, signed_in_app, sim

__all__ = ["make_app", "signed_in_app", "sim"]
"""The app tests' fixtures, used here by name: the same real app against the simulator."""

T0 = NOW - timedelta(hours=6)


def exact_view() -> HistoryView:
    """One 5-hour window read at 10 %, 40 % and 70 %, an hour apart, then reset to 0 %; one
    hour of tokens and tool calls with known counts."""
    points = (
        SharePoint(T0, 0.10),
        SharePoint(T0 + timedelta(hours=1), 0.40),
        SharePoint(T0 + timedelta(hours=2), 0.70),
        SharePoint(T0 + timedelta(hours=3), 0.0),
    )
    hour = T0.replace(minute=0, second=0, microsecond=0)
    return HistoryView(
        span=Span.DAY,
        start=NOW - timedelta(days=1),
        end=NOW,
        windows=(WindowSeries("five_hour", "5-hour", points, (T0 + timedelta(hours=3),)),),
        peak_periods=((NOW - timedelta(hours=4), NOW),),
        model_tokens=(UsageBucket(hour, HOUR, {ALL_MODELS: 1_234_000}),),
        tool_calls=(UsageBucket(hour, HOUR, {"search": 7, "zread": 2}),),
        usage_note=None,
    )


@pytest.fixture
def window(qtbot: QtBot) -> HistoryWindow:
    window = HistoryWindow()
    qtbot.addWidget(window)
    return window


def shown(window: HistoryWindow, view: HistoryView) -> HistoryWindow:
    """Shown as the app shows it: no larger than the (offscreen) screen, so the pointer
    can reach every point of it."""
    window.show_view(view, NOW)
    window.show()
    return window


def colour_pixels(image: QImage, colour: QColor) -> int:
    """How many pixels have `colour`'s hue, strongly (antialiased edges included; the pale
    peak shading and the greys are not)."""
    hue = colour.hsvHue()
    count = 0
    for y in range(image.height()):
        for x in range(0, image.width(), 2):
            pixel = image.pixelColor(x, y)
            if (
                pixel.hsvSaturation() > 110
                and min(abs(pixel.hsvHue() - hue), 360 - abs(pixel.hsvHue() - hue)) < 12
            ):
                count += 1
    return count


def visible_texts(window: HistoryWindow) -> list[str]:
    return [
        label.text()
        for label in window.findChildren(QLabel)
        if label.isVisibleTo(window) and label.text()
    ]


@pytest.mark.parametrize("span", list(Span))
def test_each_span_draws_shares_tokens_and_tool_calls(window: HistoryWindow, span: Span) -> None:
    view = sample_view(span, NOW)
    shown(window, view)
    assert window.page() == "charts"
    assert window.span_buttons[span].isChecked()
    assert [s.label for s in window.share_chart.series] == [
        "5-hour",
        "Weekly",
        "Monthly tool calls",
    ]
    hourly = span is Span.DAY
    texts = visible_texts(window)
    assert ("Tokens per hour" if hourly else "Tokens per day") in texts
    assert ("Tool calls per hour" if hourly else "Tool calls per day") in texts
    assert window.token_chart.keys == ("All models",)
    assert set(window.tool_chart.keys) == {"search", "web-reader", "zread"}
    # The platform splits tokens by model only over the whole span: said under the bars.
    assert any(t.startswith("By model over the whole period: glm-4.6") for t in texts)
    # Each window's line is drawn in its colour (light theme), the bars in theirs.
    image = window.share_chart.grab().toImage()
    for index in range(3):
        assert colour_pixels(image, series_colour(index, dark=False)) > 20, index
    bars = window.tool_chart.grab().toImage()
    assert colour_pixels(bars, series_colour(0, dark=False)) > 50
    # The readout starts on the latest values.
    assert window.share_section.readout.text().startswith("Tue 3 Mar 18:00")
    assert "Weekly: " in window.share_section.readout.text()


def test_each_window_keeps_its_place_and_colour_whatever_the_view_s_order(
    window: HistoryWindow,
) -> None:
    view = sample_view(Span.WEEK, NOW)
    weekly_first = HistoryView(
        view.span,
        view.start,
        view.end,
        tuple(reversed(view.windows)),
        view.peak_periods,
        view.model_tokens,
        view.tool_calls,
        None,
    )
    shown(window, weekly_first)
    series = window.share_chart.series
    assert [s.label for s in series] == ["5-hour", "Weekly", "Monthly tool calls"]
    assert [s.colour_index(i) for i, s in enumerate(series)] == [0, 1, 2]
    # A span where only the weekly window was recorded: still the weekly colour.
    weekly_only = HistoryView(view.span, view.start, view.end, (view.windows[1],), (), (), (), None)
    shown(window, weekly_only)
    (only,) = window.share_chart.series
    assert only.label == "Weekly" and only.colour_index(0) == 1
    assert window.share_chart.legend()[0].colour == series_colour(1, dark=False)


def test_time_axis_labels_whole_local_hours_and_days() -> None:
    start = (NOW - timedelta(days=1)).timestamp()
    hourly = time_ticks(start, NOW.timestamp(), 12)
    # Local time is UTC+8 in the widget tests: NOW is 18:00 there.
    assert [t.label for t in hourly][:4] == ["18:00", "20:00", "22:00", "Tue 3"]
    assert all(datetime.fromtimestamp(t.at).minute == 0 for t in hourly)
    weekly = time_ticks((NOW - timedelta(days=7)).timestamp(), NOW.timestamp(), 8)
    assert [t.label for t in weekly] == [
        "Wed 25",
        "Thu 26",
        "Fri 27",
        "Sat 28",
        "Sun 1",
        "Mon 2",
        "Tue 3",
    ]
    monthly = time_ticks((NOW - timedelta(days=30)).timestamp(), NOW.timestamp(), 6)
    assert [t.label for t in monthly] == ["2 Feb", "9 Feb", "16 Feb", "23 Feb", "2 Mar"]  # Mondays


def test_hover_readout_gives_the_value_at_the_pointer(window: HistoryWindow, qtbot: QtBot) -> None:
    shown(window, exact_view())
    chart = window.share_chart
    y = int(chart.plot_rect().center().y())
    # Between the 40 % and the 70 % reading: the 40 % one holds until the next.
    moment = (T0 + timedelta(hours=1, minutes=30)).timestamp()
    qtbot.mouseMove(chart, QPoint(round(chart.x_of(moment)), y))
    readout = window.share_section.readout.text()
    assert "5-hour: 40 %" in readout
    # 13:30 local, to the pixel (one is about two minutes wide here).
    assert readout.startswith(
        ("Tue 3 Mar 13:28", "Tue 3 Mar 13:29", "Tue 3 Mar 13:30", "Tue 3 Mar 13:31")
    )
    # After the reset.
    qtbot.mouseMove(
        chart, QPoint(round(chart.x_of((T0 + timedelta(hours=3, minutes=5)).timestamp())), y)
    )
    assert "5-hour: 0 %" in window.share_section.readout.text()
    # Before the first reading there is nothing to say.
    qtbot.mouseMove(chart, QPoint(round(chart.x_of((T0 - timedelta(hours=2)).timestamp())), y))
    assert "5-hour: no data" in window.share_section.readout.text()
    # The bars: the hour under the pointer, per tool and in total.
    tools = window.tool_chart
    bar_moment = (T0.replace(minute=30)).timestamp()
    qtbot.mouseMove(
        tools, QPoint(round(tools.x_of(bar_moment)), int(tools.plot_rect().center().y()))
    )
    assert (
        window.tool_section.readout.text()
        == "Tue 3 Mar 12:00–13:00 · search: 7 · zread: 2 · total 9"
    )
    tokens = window.token_chart
    qtbot.mouseMove(
        tokens, QPoint(round(tokens.x_of(bar_moment)), int(tokens.plot_rect().center().y()))
    )
    assert window.token_section.readout.text().endswith("All models: 1.2M · total 1.2M")


def test_arrow_keys_move_the_readout(window: HistoryWindow, qtbot: QtBot) -> None:
    shown(window, exact_view())
    chart = window.share_chart
    chart.setFocus()
    qtbot.keyClick(chart, Qt.Key.Key_End)
    assert window.share_section.readout.text() == "Tue 3 Mar 15:00 · 5-hour: 0 %"
    for _ in range(4):  # a quarter of an hour each, on a 24-hour span
        qtbot.keyClick(chart, Qt.Key.Key_Left)
    assert window.share_section.readout.text() == "Tue 3 Mar 14:00 · 5-hour: 70 %"
    qtbot.keyClick(chart, Qt.Key.Key_Left, Qt.KeyboardModifier.ShiftModifier)
    assert window.share_section.readout.text() == "Tue 3 Mar 11:30 · 5-hour: no data"
    qtbot.keyClick(chart, Qt.Key.Key_Escape)
    assert window.share_section.readout.text() == "Tue 3 Mar 15:00 · 5-hour: 0 %"


def test_a_reload_keeps_the_readout_at_the_pointer(window: HistoryWindow, qtbot: QtBot) -> None:
    shown(window, exact_view())
    chart = window.share_chart
    moment = (T0 + timedelta(hours=2, minutes=10)).timestamp()
    qtbot.mouseMove(chart, QPoint(round(chart.x_of(moment)), int(chart.plot_rect().center().y())))
    assert "5-hour: 70 %" in window.share_section.readout.text()
    window.show_view(exact_view(), NOW)  # the window's timed reload
    assert "5-hour: 70 %" in window.share_section.readout.text()


def test_peak_hours_are_shaded_and_resets_marked(window: HistoryWindow) -> None:
    shown(window, exact_view())
    chart = window.share_chart
    legend = [entry.text for entry in chart.legend()]
    assert legend == ["5-hour", "Peak hours", "Reset"]
    image = chart.grab().toImage()
    plot = chart.plot_rect()
    y = int(plot.top() + 10)
    # Inside the peak period the background is tinted; before it, it is the plain base.
    peak = image.pixelColor(int(chart.x_of((NOW - timedelta(hours=1)).timestamp())), y)
    plain = image.pixelColor(int(chart.x_of((NOW - timedelta(hours=20)).timestamp())), y)
    assert plain.lightness() > peak.lightness() and peak.red() > peak.blue()
    # The reset: a line in the window's colour from top to bottom at its moment.
    x = round(chart.x_of((T0 + timedelta(hours=3)).timestamp()))
    column = [image.pixelColor(x + dx, int(plot.top() + 30)) for dx in (-1, 0, 1)]
    assert any(c.blue() > c.red() + 40 for c in column)


def test_the_charts_draw_every_reading_s_peak_however_many(qtbot: QtBot) -> None:
    """A day at one reading a second, thinned for drawing: the single highest and lowest
    readings survive, and the number of points follows the pixels, not the data."""
    start = 1_700_000_000.0
    times = [start + i for i in range(86_400)]
    values = [0.3] * 86_400
    values[40_000] = 0.97
    values[60_000] = 0.01
    line = thin_line(times, values, start, start + 86_400, 800)
    assert len(line) <= 4 * 800
    assert max(v for _, v in line) == 0.97 and min(v for _, v in line) == 0.01
    assert line[0] == (start, 0.3) and line[-1] == (times[-1], 0.3)


def test_a_line_is_cut_where_it_turns_and_the_runs_join_up() -> None:
    """Rising, flat, rising, a drop (a reset), rising: three runs, each starting where the
    one before ended, so the drawn line has no gap and no wide polyline turns back."""
    ys = [300, 250, 250, 200, 300, 280, 260]
    points = [QPointF(x * 10, y) for x, y in enumerate(ys)]
    runs = monotone_runs(points)
    assert [[p.y() for p in run] for run in runs] == [
        [300, 250, 250, 200],
        [200, 300],
        [300, 280, 260],
    ]
    assert all(a[-1] == b[0] for a, b in pairwise(runs))
    assert monotone_runs([]) == []


def test_bars_group_the_smallest_of_many_models_as_other(qtbot: QtBot) -> None:
    chart = BarChart()
    qtbot.addWidget(chart)
    values = {f"model-{i}": float(10 - i) for i in range(10)}
    chart.set_data([BarBucket(0.0, 3600.0, values)], 0.0, 3600.0)
    assert chart.keys == (*(f"model-{i}" for i in range(6)), "Other")
    assert chart.readout.endswith("Other: 10 · total 55")


def test_number_helpers() -> None:
    assert [compact_number(v) for v in (0, 950, 12_000, 1_500_000, 2_340_000_000, 2.5)] == [
        "0", "950", "12k", "1.5M", "2.3B", "2.5",
    ]  # fmt: skip
    assert nice_ticks(17.3e6) == [0, 5e6, 10e6, 15e6, 20e6]
    assert nice_ticks(9) == [0, 2.5, 5, 7.5, 10]
    assert nice_ticks(0) == [0.0, 1.0]


def test_export_writes_the_shown_view_as_csv(
    window: HistoryWindow, qtbot: QtBot, tmp_path: Path
) -> None:
    view = sample_view(Span.WEEK, NOW)
    shown(window, view)
    assert window.export_button.isEnabled()
    qtbot.mouseClick(window.export_button, Qt.MouseButton.LeftButton)
    dialog = window.export_dialog
    qtbot.waitUntil(dialog.isVisible)
    assert dialog.selectedFiles()[0].endswith("glmtray-history-7d-2026-03-03.csv")
    target = tmp_path / "week.csv"
    dialog.selectFile(str(target))
    dialog.accept()
    written = target.read_bytes().decode("utf-8")
    assert written == view_csv(view)
    assert written.splitlines()[0] == "timestamp,kind,name,value,unit"
    assert window.status_label.text() == f"Saved {target}"


def test_export_that_cannot_be_written_says_so(window: HistoryWindow, tmp_path: Path) -> None:
    shown(window, exact_view())
    missing = tmp_path / "no such folder" / "history.csv"
    assert not window.write_csv(missing)
    assert window.status_label.text().startswith("Could not save history.csv: ")
    assert not missing.exists()


def test_no_history_yet_is_a_clear_empty_state(window: HistoryWindow) -> None:
    shown(window, sample_view(Span.DAY, NOW, empty=True))
    assert window.page() == "empty"
    assert not window.export_button.isEnabled()  # nothing to export
    assert window.empty_page.property("message") == (
        "No history yet: glmtray records each refresh from now on."
    )
    assert window.stack.currentWidget().isVisible()


def test_usage_note_says_why_model_and_tool_usage_are_missing(window: HistoryWindow) -> None:
    note = "Model and tool usage could not be loaded: the platform did not answer."
    view = sample_view(Span.DAY, NOW, usage_note=note)
    shown(window, view)
    assert window.note_label.isVisible() and window.note_label.text() == note
    shown(window, sample_view(Span.DAY, NOW))
    assert not window.note_label.isVisible()


def test_history_without_usage_still_draws_the_shares(window: HistoryWindow) -> None:
    view = sample_view(Span.DAY, NOW)
    bare = HistoryView(
        view.span, view.start, view.end, view.windows, view.peak_periods, (), (), "Gone."
    )
    shown(window, bare)
    assert window.page() == "charts"
    assert not window.token_chart.has_data() and window.share_chart.has_data()
    # Never read: the note says why, and the empty charts claim no "no usage".
    assert window.token_chart.empty_text == "" and window.tool_chart.empty_text == ""
    read_but_none = HistoryView(
        view.span, view.start, view.end, view.windows, view.peak_periods, (), (), None,
        usage_fetched_at=NOW,
    )  # fmt: skip
    shown(window, read_but_none)
    assert window.token_chart.empty_text == "No model usage in this period."


def test_error_state_offers_to_try_again(window: HistoryWindow, qtbot: QtBot) -> None:
    shown(window, exact_view())
    window.show_error("The history could not be loaded.", "The database is locked.")
    assert window.page() == "error"
    assert not window.export_button.isEnabled()
    assert "The database is locked." in visible_texts(window)
    with qtbot.waitSignal(window.span_requested) as asked:
        qtbot.mouseClick(window.retry_button, Qt.MouseButton.LeftButton)
    assert asked.args == [Span.DAY]


def test_span_buttons_ask_for_their_span(window: HistoryWindow, qtbot: QtBot) -> None:
    shown(window, exact_view())
    with qtbot.waitSignal(window.span_requested) as asked:
        qtbot.mouseClick(window.span_buttons[Span.MONTH], Qt.MouseButton.LeftButton)
    assert asked.args == [Span.MONTH]
    assert window.span is Span.MONTH
    window.show_loading()
    assert window.page() == "loading" and window.status_label.text() == "Loading…"


def test_fits_a_1366x768_laptop(window: HistoryWindow) -> None:
    screen = window.screen()
    assert screen is not None
    shown(window, sample_view(Span.DAY, NOW))
    window.fit_screen()
    room = screen.availableGeometry()
    assert window.width() <= max(room.width(), 980) and window.height() <= max(room.height(), 660)
    assert window.minimumSizeHint().height() <= 768 - 32 - 48
    assert window.minimumSizeHint().width() <= 1366


def test_share_chart_series_accepts_plain_lists(qtbot: QtBot) -> None:
    chart = ShareChart()
    qtbot.addWidget(chart)
    stamp = datetime(2026, 3, 3, 1, tzinfo=timezone.utc).timestamp()
    chart.set_data([ShareSeries("Weekly", [stamp], [0.5])], [], stamp - 3600, stamp + 60)
    assert chart.value_at(0, stamp + 30) == 50.0
    assert chart.value_at(0, stamp - 1) is None


# -- in the running app: opened from the panel and the tray menu, loaded on first use ----
HISTORY_MODULES = (
    "glmtray.ui.history_window",
    "glmtray.ui.history_chart",
    "glmtray.history.views",
    "glmtray.history.export",
)


def test_opened_from_the_panel_shows_this_account_s_history(
    qtbot: QtBot, signed_in_app: GlmTrayApp
) -> None:
    app = signed_in_app
    # The sign-in's first fetch went into the history: the window has a reading to draw.
    app.show_panel()
    button = app.panel.footer_section.history_button
    assert button.isEnabled()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    history = app.history
    assert history is not None
    qtbot.waitUntil(lambda: history.window.page() in ("charts", "empty", "error"), timeout=WAIT_MS)
    window = history.window
    assert window.isVisible()
    assert window.page() == "charts", visible_texts(window)
    labels = [s.label for s in window.share_chart.series]
    assert "5-hour" in labels and "Weekly" in labels
    # The simulator served model and tool usage for the day.
    assert window.token_chart.has_data() and window.tool_chart.has_data()
    # Another span: asked of the worker, shown when it arrives.
    qtbot.mouseClick(window.span_buttons[Span.WEEK], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: window.view is not None and window.view.span is Span.WEEK and not history.busy,
        timeout=WAIT_MS,
    )
    assert window.token_section.heading.text() == "Tokens per day"


def test_opened_from_the_tray_menu(qtbot: QtBot, signed_in_app: GlmTrayApp) -> None:
    app = signed_in_app
    assert "Usage history…" in app.tray.menu_texts()
    entry = next(a for a in app.tray.menu.actions() if a.text() == "Usage history…")
    assert entry.isEnabled()
    entry.trigger()
    assert app.history is not None
    window = app.history.window
    qtbot.waitUntil(lambda: window.page() == "charts", timeout=WAIT_MS)
    # Opening it again reuses the window.
    entry.trigger()
    assert app.history.window is window


def test_a_load_asked_while_signed_out_is_answered_after_signing_in_again(
    qtbot: QtBot, signed_in_app: GlmTrayApp
) -> None:
    app = signed_in_app
    app.open_history()
    history = app.history
    assert history is not None
    window = history.window
    qtbot.waitUntil(lambda: window.page() == "charts", timeout=WAIT_MS)
    app.sign_out()
    # Signed out, the platform worker has no session: this load waits unanswered...
    qtbot.mouseClick(window.span_buttons[Span.WEEK], Qt.MouseButton.LeftButton)
    assert history.busy
    signin = app.sign_in.dialog
    assert signin is not None
    signin.sign_in_requested.emit(Region.GLOBAL, SIMULATOR_API_KEY)
    # ...and the new session answers it, without waiting for the old one's patience.
    qtbot.waitUntil(
        lambda: window.view is not None and window.view.span is Span.WEEK and not history.busy,
        timeout=WAIT_MS,
    )
    assert window.page() == "charts"


def test_history_store_that_cannot_open_shows_the_error_state(
    qtbot: QtBot, signed_in_app: GlmTrayApp
) -> None:
    app = signed_in_app

    def unusable(account: Account) -> HistoryStore:
        raise OSError(13, "Permission denied")

    app.environment.open_history = unusable
    app.open_history()
    assert app.history is not None
    window = app.history.window
    assert window.page() == "error"
    assert window.error_title.text() == "The history could not be loaded."


def test_the_tray_starts_without_loading_the_history_window(tmp_path: Path) -> None:
    """A started, signed-in tray (the demo, against its loopback simulator) with its panel
    opened has imported nothing of the history window or the history views; opening the
    window loads them."""
    script = tmp_path / "probe.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import os, sys, time
            os.environ["QT_QPA_PLATFORM"] = "offscreen"
            from PySide6.QtWidgets import QApplication
            from glmtray.environment import demo_environment
            from glmtray.state import Phase
            from glmtray.ui.application import GlmTrayApp

            qapp = QApplication([])
            app = GlmTrayApp(qapp, demo_environment(story=()), instance_name="probe-{os.getpid()}")
            assert app.start()
            deadline = time.monotonic() + 20
            while app.monitor.state.phase is not Phase.READY and time.monotonic() < deadline:
                qapp.processEvents()
                time.sleep(0.01)
            assert app.monitor.state.phase is Phase.READY
            app.show_panel()
            qapp.processEvents()
            names = {HISTORY_MODULES!r}
            print("at start:", sorted(n for n in names if n in sys.modules))
            app.open_history()
            print("after opening:", sorted(n for n in names if n in sys.modules))
            app.shutdown()
            """
        )
    )
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "at start: []" in lines
    assert f"after opening: {sorted(HISTORY_MODULES)}" in lines
