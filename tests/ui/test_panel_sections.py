# mypy: disable-error-code="no-untyped-call"
"""Risk and concurrency reach the panel through `Panel.show_state` alone, from AppState fields.

The risk reports come from the real RiskMonitor evaluating real events, as the risk watcher
produces them on the worker thread.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot
from tools.sample_states import risk_report

from glmtray.activity.concurrency import ConcurrencyState
from glmtray.platform.regions import Region
from glmtray.state import AppState, Phase
from glmtray.ui.panel import Panel
from glmtray.ui.risk_section import POLICY
from glmtray.ui.section import Section

from .conftest import NOW, healthy_state, make_state
from .test_panel import assert_nothing_clipped, visible_text


@pytest.fixture
def panel(qtbot: QtBot) -> Panel:
    widget = Panel()
    widget.set_height_limit(2000)  # as on a tall screen; test_panel_fits_a_laptop_screen is about small ones
    qtbot.addWidget(widget)
    return widget


RESTRICTED_AN_HOUR_AGO = (timedelta(hours=1), 1313)
RESTRICTED_YESTERDAY = (timedelta(hours=30), 1313)
CONCURRENCY_REFUSED_JUST_NOW = (timedelta(minutes=2), 1302)


def concurrency(**changes: object) -> ConcurrencyState:
    values: dict[str, object] = {
        "in_flight": 3, "peak_5m": 4, "active_sessions": 2, "active_projects": 1,
        "recommended": "1-2", "limit_seen_peak": 2, "limit_seen_offpeak": None,
        "warning": "3 in flight: at or above the limit seen (2)",
    }  # fmt: skip
    values.update(changes)
    return ConcurrencyState(**values)  # type: ignore[arg-type]


def show(panel: Panel, state: AppState) -> Panel:
    panel.show_state(state, NOW)
    panel.show()
    return panel


def assert_sized_to_content(panel: Panel) -> None:
    layout = panel.layout()
    assert layout is not None
    assert panel.height() == layout.totalHeightForWidth(panel.width())
    assert_nothing_clipped(panel)


def test_restriction_found_by_the_monitor_raises_banner_and_details(
    panel: Panel, qtbot: QtBot
) -> None:
    # The platform's own flag says nothing: the monitor's report alone restricts.
    state = replace(healthy_state(), risk=risk_report(RESTRICTED_AN_HOUR_AGO))
    assert state.snapshot is not None and state.snapshot.risk_restricted is False
    show(panel, state)
    assert panel.risk_banner.isVisibleTo(panel)
    section = panel.risk_section
    assert section.isVisibleTo(panel)
    assert section.body.text().splitlines() == [
        "Restricted by risk control since 17:00 (codes 1313)",
        "Strike 1 of 3 (3 Mar), by glmtray's count",
    ]
    # The banner states the policy and offers the review; the details do not repeat them.
    assert POLICY not in visible_text(panel)
    assert not section.review.isVisibleTo(panel)
    with qtbot.waitSignal(panel.review_requested, timeout=1000):
        qtbot.mouseClick(panel.risk_banner.review_button, Qt.MouseButton.LeftButton)
    assert_sized_to_content(panel)


def test_lifted_restriction_offers_the_review_in_the_section(panel: Panel, qtbot: QtBot) -> None:
    show(panel, replace(healthy_state(), risk=risk_report(RESTRICTED_YESTERDAY)))
    assert not panel.risk_banner.isVisibleTo(panel)
    section = panel.risk_section
    assert section.body.text().startswith("The restriction appears lifted since 2 Mar 18:00.")
    assert section.review.isVisibleTo(panel)
    with qtbot.waitSignal(panel.review_requested, timeout=1000):
        qtbot.mouseClick(section.review, Qt.MouseButton.LeftButton)
    assert_sized_to_content(panel)


def test_details_state_the_policy_when_no_banner_does(panel: Panel) -> None:
    # Signed out, the banner stays down; the section then says the rule and offers review.
    signed_out = make_state(None, phase=Phase.SIGNED_OUT)
    show(panel, replace(signed_out, risk=risk_report(RESTRICTED_AN_HOUR_AGO)))
    assert not panel.risk_banner.isVisibleTo(panel)
    assert POLICY in panel.risk_section.body.text().splitlines()
    assert panel.risk_section.review.isVisibleTo(panel)


def test_throttling_alone_is_a_detail_without_banner_or_review(panel: Panel) -> None:
    show(panel, replace(healthy_state(), risk=risk_report(CONCURRENCY_REFUSED_JUST_NOW)))
    assert not panel.risk_banner.isVisibleTo(panel)
    assert panel.risk_section.body.text() == "Throttled (1302): until about 18:13"
    assert not panel.risk_section.review.isVisibleTo(panel)


def test_a_report_with_nothing_to_say_keeps_the_section_hidden(panel: Panel) -> None:
    show(panel, replace(healthy_state(region=Region.CHINA), risk=risk_report()))
    assert not panel.risk_section.isVisibleTo(panel)
    assert not panel.risk_banner.isVisibleTo(panel)


def test_the_global_region_says_what_glmtray_watches(panel: Panel) -> None:
    """The platform publishes no risk flag there: the panel says so, and that glmtray
    watches the coding tools' errors and has seen none."""
    from glmtray.ui.risk_section import WATCH_LINE

    show(panel, replace(healthy_state(), risk=risk_report()))
    assert panel.risk_section.isVisibleTo(panel)
    assert panel.risk_section.body.text() == WATCH_LINE
    assert not panel.risk_section.review.isVisibleTo(panel)


def test_concurrency_section_from_the_state(panel: Panel) -> None:
    show(panel, replace(healthy_state(), concurrency=concurrency()))
    section = panel.concurrency_section
    assert section.isVisibleTo(panel)
    assert section.body.text().splitlines() == [
        "In flight now: 3 · peak 4 in 5 min",
        "Active: 2 coding sessions in 1 project",
        "Your plan recommends 1-2 concurrent projects",
        "Limit seen (error 1302): ≈2 in peak hours",
    ]
    assert section.warning.text() == "3 in flight: at or above the limit seen (2)"
    assert section.warning.isVisibleTo(panel)
    assert_sized_to_content(panel)


def test_sections_follow_each_new_state_and_the_height_follows_them(panel: Panel) -> None:
    show(panel, healthy_state())
    plain_height = panel.height()
    both = replace(
        healthy_state(), risk=risk_report(RESTRICTED_YESTERDAY), concurrency=concurrency()
    )
    panel.show_state(both, NOW)
    assert panel.risk_section.isVisibleTo(panel)
    assert panel.concurrency_section.isVisibleTo(panel)
    assert panel.height() > plain_height
    assert_sized_to_content(panel)
    # Sections sit between the notices and the links, in this order.
    order = [panel.renewal_section, panel.risk_section, panel.concurrency_section]
    tops = [section.mapTo(panel, section.rect().topLeft()).y() for section in order]
    assert tops == sorted(tops)
    assert tops[-1] < panel.links_section.mapTo(panel, panel.links_section.rect().topLeft()).y()
    panel.show_state(healthy_state(), NOW)
    assert not panel.risk_section.isVisibleTo(panel)
    assert not panel.concurrency_section.isVisibleTo(panel)
    assert panel.height() == plain_height


class _Recorder(Section):
    """An extra section that remembers what it was asked to draw."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rendered: list[tuple[AppState, datetime]] = []

    def render_state(self, state: AppState, now: datetime) -> None:
        self.rendered.append((state, now))


def test_added_sections_render_with_the_others(panel: Panel) -> None:
    extra = _Recorder()
    panel.add_section(extra)
    state = healthy_state()
    later = NOW + timedelta(seconds=30)
    panel.show_state(state, later)
    assert extra.rendered == [(state, later)]
    assert extra in panel.sections()
