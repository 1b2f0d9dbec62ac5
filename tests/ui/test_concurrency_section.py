"""The panel's concurrency section, from the ConcurrencyState in the AppState."""

from __future__ import annotations

from dataclasses import replace

from pytestqt.qtbot import QtBot

from glmtray.activity.concurrency import ConcurrencyState
from glmtray.ui.concurrency_section import concurrency_lines
from glmtray.ui.panel import Panel

from .conftest import NOW, healthy_state


def state(**changes: object) -> ConcurrencyState:
    values: dict[str, object] = {
        "in_flight": None, "peak_5m": None, "active_sessions": None, "active_projects": None,
        "recommended": "1-2", "limit_seen_peak": None, "limit_seen_offpeak": None, "warning": None,
    }  # fmt: skip
    values.update(changes)
    return ConcurrencyState(**values)  # type: ignore[arg-type]


def test_lines_for_meter_sessions_and_limits() -> None:
    lines = concurrency_lines(
        state(
            in_flight=3,
            peak_5m=4,
            active_sessions=2,
            active_projects=1,
            limit_seen_peak=1,
            limit_seen_offpeak=2,
        )
    )
    assert lines == [
        "In flight now: 3 · peak 4 in 5 min",
        "Active: 2 coding sessions in 1 project",
        "Your plan recommends 1-2 concurrent projects",
        "Limit seen (error 1302): ≈1 in peak hours, ≈2 off-peak",
    ]


def test_no_idle_session_line() -> None:
    assert not any(
        line.startswith("Active")
        for line in concurrency_lines(state(in_flight=1, peak_5m=1, active_sessions=0))
    )


def test_shown_through_the_panel_only_with_live_figures(qtbot: QtBot) -> None:
    panel = Panel()
    qtbot.addWidget(panel)
    section = panel.concurrency_section
    panel.show_state(healthy_state(), NOW)
    assert section.isHidden()
    # The plan's recommendation alone, or sessions read but none active: nothing live.
    panel.show_state(replace(healthy_state(), concurrency=state(active_sessions=0)), NOW)
    assert section.isHidden()
    panel.show_state(
        replace(
            healthy_state(),
            concurrency=state(
                in_flight=3, peak_5m=3, warning="3 in flight: at or above the limit seen"
            ),
        ),
        NOW,
    )
    assert not section.isHidden() and not section.warning.isHidden()
    assert "at or above" in section.warning.text() and "In flight now: 3" in section.body.text()
    # Gone again when the state no longer carries it.
    panel.show_state(healthy_state(), NOW)
    assert section.isHidden()


def test_warning_without_a_warning_is_hidden(qtbot: QtBot) -> None:
    panel = Panel()
    qtbot.addWidget(panel)
    with_warning = state(in_flight=3, peak_5m=3, warning="3 in flight: at or above the limit seen")
    panel.show_state(replace(healthy_state(), concurrency=with_warning), NOW)
    calm = state(in_flight=1, peak_5m=3, active_sessions=1, active_projects=1)
    panel.show_state(replace(healthy_state(), concurrency=calm), NOW)
    section = panel.concurrency_section
    assert section.warning.isHidden()
    assert section.body.text() == "\n".join(concurrency_lines(calm))
