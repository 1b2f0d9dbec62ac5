"""The panel's concurrency section, from ConcurrencyState values."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from glmtray.activity.concurrency import ConcurrencyState
from glmtray.ui.concurrency_section import ConcurrencySection, concurrency_lines


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


def test_hidden_without_data_and_warning_shown(qtbot: QtBot) -> None:
    section = ConcurrencySection()
    qtbot.addWidget(section)
    section.show_state(None)
    assert section.isHidden()
    section.show_state(state(active_sessions=0))
    assert section.isHidden()
    section.show_state(
        state(in_flight=3, peak_5m=3, warning="3 in flight: at or above the limit seen")
    )
    assert not section.isHidden() and not section.warning.isHidden()
    assert "at or above" in section.warning.text() and "In flight now: 3" in section.body.text()
