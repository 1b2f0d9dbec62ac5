"""The forecast line under each quota window: one short muted line in the panel, only
where it adds to what the window's own lines say; the settings' checkbox for its notice."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox
from pytestqt.qtbot import QtBot

from glmtray.history.forecast import Forecast, Outcome
from glmtray.settings import Settings
from glmtray.ui import style
from glmtray.ui.panel import Panel
from glmtray.ui.quota_section import WindowRow
from glmtray.ui.settings_dialog import SettingsDialog

from .conftest import NOW, healthy_state
from .test_panel import assert_nothing_clipped


@pytest.fixture
def panel(qtbot: QtBot) -> Panel:
    widget = Panel()
    widget.set_height_limit(2000)
    qtbot.addWidget(widget)
    return widget


def row_of(panel: Panel, window_id: str) -> WindowRow:
    return next(row for row in panel.quota_section.rows if row.window_id == window_id)


def forecasts() -> dict[str, Forecast]:
    state = healthy_state()
    assert state.snapshot is not None
    five, weekly, tools = state.snapshot.windows
    return {
        # 10:00 UTC is 18:00 in the widget tests' zone (UTC+8): runs out at 19:40 local.
        "five_hour": Forecast(
            "five_hour",
            five.label,
            Outcome.RUNS_OUT,
            0.17,
            five.resets_at,
            pace_per_hour=0.5,
            runs_out_at=NOW + timedelta(hours=1, minutes=40),
            share_at_reset=1.0,
        ),
        "weekly": Forecast(
            "weekly", weekly.label, Outcome.LASTS, 0.03, weekly.resets_at, share_at_reset=0.6
        ),
        "monthly_tools": Forecast(
            "monthly_tools", tools.label, Outcome.NOT_STARTED, 0.037, tools.resets_at
        ),
    }


def test_each_window_shows_its_forecast_in_one_muted_line(panel: Panel) -> None:
    panel.show_state(replace(healthy_state(), forecasts=forecasts()), NOW)
    panel.show()
    five, weekly = row_of(panel, "five_hour"), row_of(panel, "weekly")
    assert five.forecast.text() == "At this pace it runs out at 19:40, 34 min before it resets"
    assert weekly.forecast.text() == "On pace to use about 60 % by the reset"
    for row in (five, weekly):
        assert row.forecast.isVisibleTo(panel)
        assert row.forecast.palette().windowText().color() == style.grey(
            panel.quota_section.is_dark()
        )
        # One line in the 380 px panel.
        metrics = row.forecast.fontMetrics()
        assert metrics.horizontalAdvance(row.forecast.text()) <= row.forecast.width()
    assert panel.width() == style.PANEL_WIDTH
    assert_nothing_clipped(panel)


def test_what_the_window_s_own_lines_say_is_not_repeated(panel: Panel) -> None:
    found = forecasts()
    found["weekly"] = replace(found["weekly"], outcome=Outcome.EXHAUSTED)
    panel.show_state(replace(healthy_state(), forecasts=found), NOW)
    panel.show()
    assert not row_of(panel, "monthly_tools").forecast.isVisibleTo(panel)  # "not started"
    assert not row_of(panel, "weekly").forecast.isVisibleTo(panel)  # "back at ..."
    assert row_of(panel, "five_hour").forecast.isVisibleTo(panel)


def test_no_forecast_yet_no_line(panel: Panel) -> None:
    panel.show_state(healthy_state(), NOW)
    panel.show()
    assert all(not row.forecast.isVisibleTo(panel) for row in panel.quota_section.rows)
    panel.show_state(replace(healthy_state(), forecasts=forecasts()), NOW)
    assert row_of(panel, "five_hour").forecast.isVisibleTo(panel)
    panel.show_state(healthy_state(), NOW)  # a new session: the rows are reused, emptied
    assert not row_of(panel, "five_hour").forecast.isVisibleTo(panel)


def test_the_forecast_notification_has_its_checkbox(qtbot: QtBot) -> None:
    settings = replace(Settings(), notify_forecast=False)
    dialog = SettingsDialog(settings, signed_in=True, backend_name="SecretService Keyring")
    qtbot.addWidget(dialog)
    box = dialog.notify_checks["notify_forecast"]
    assert not box.isChecked()
    assert box.text() == "When a window is forecast to run out well before it resets"
    box.setChecked(True)
    dialog.show()
    with qtbot.waitSignal(dialog.settings_changed, timeout=1000) as blocker:
        button = dialog.buttons.button(QDialogButtonBox.StandardButton.Apply)
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)  # type: ignore[no-untyped-call]
    assert blocker.args is not None and blocker.args[0].notify_forecast is True
