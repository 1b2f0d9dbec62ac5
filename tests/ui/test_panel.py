# mypy: disable-error-code="no-untyped-call"
"""The panel, driven with AppStates built from real Snapshot objects."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from PySide6.QtCore import QRect, Qt
from PySide6.QtWidgets import QLabel, QPushButton, QWidget
from pytestqt.qtbot import QtBot

from glmtray.errors import (
    AccountRestricted,
    AuthenticationFailed,
    GlmtrayError,
    NoCodingPlan,
    PlanExpired,
    PlatformUnavailable,
    RateLimited,
    UnexpectedResponse,
)
from glmtray.platform.models import Section
from glmtray.platform.regions import REGIONS, Region
from glmtray.settings import Settings
from glmtray.state import AppState, Phase
from glmtray.ui.panel import Panel

from .conftest import (
    NOW,
    healthy_state,
    make_snapshot,
    make_state,
    make_subscription,
    make_windows,
    restricted_state,
    stale_state,
    weekly_exhausted_state,
)


@pytest.fixture
def panel(qtbot: QtBot) -> Panel:
    widget = Panel()
    widget.set_height_limit(2000)  # as on a tall screen; test_panel_fits_a_laptop_screen is about small ones
    qtbot.addWidget(widget)
    return widget


def show(panel: Panel, state: AppState) -> Panel:
    panel.show_state(state, NOW)
    panel.show()
    return panel


def visible_text(widget: QWidget) -> str:
    """Every visible label's and button's text, one per line."""
    parts = [
        label.text()
        for label in widget.findChildren(QLabel)
        if label.isVisibleTo(widget) and label.text()
    ]
    parts += [
        button.text()
        for button in widget.findChildren(QPushButton)
        if button.isVisibleTo(widget) and button.text()
    ]
    return "\n".join(parts)


def assert_nothing_clipped(panel: Panel) -> None:
    """No visible label or button is narrower or shorter than its text needs."""
    for label in panel.findChildren(QLabel):
        if not label.isVisibleTo(panel) or not label.text():
            continue
        metrics = label.fontMetrics()
        if label.wordWrap():
            assert label.height() >= label.heightForWidth(label.width()), label.text()
            longest = max(label.text().split(), key=metrics.horizontalAdvance)
            assert metrics.horizontalAdvance(longest) <= label.width(), label.text()
        else:
            assert metrics.horizontalAdvance(label.text()) <= label.contentsRect().width(), (
                label.text()
            )
        top_left = label.mapTo(panel, label.rect().topLeft())
        assert panel.rect().contains(QRect(top_left, label.size())), label.text()
    for button in panel.findChildren(QPushButton):
        if button.isVisibleTo(panel):
            assert button.width() >= button.minimumSizeHint().width(), button.text()
            top_left = button.mapTo(panel, button.rect().topLeft())
            assert panel.rect().contains(QRect(top_left, button.size())), button.text()


def test_healthy(panel: Panel) -> None:
    show(panel, healthy_state())
    text = visible_text(panel)
    assert "GLM Coding Pro" in text
    assert "PRO" in text
    assert "5-hour" in text and "Weekly" in text and "Monthly tool calls" in text
    assert "17 %" in text
    assert "resets in 2 h 14 min" in text
    assert "search-prime: 25" in text and "zread: 3" in text
    assert "37 of 1,000 calls used" in text
    assert "Renews: 23 Mar 2026 for $30 (auto-renew on)" in text
    assert "Cancel by: 20 Mar 2026 (17 days left)" in text
    assert "Updated 40 s ago" in text
    assert "DEMO" not in text
    assert not panel.status_section.isVisibleTo(panel)
    assert not panel.risk_banner.isVisibleTo(panel)
    assert panel.renewal_section.policy_note.toolTip().startswith(
        "Cancel at least 3 days before billing"
    )
    assert "No refunds" in panel.renewal_section.policy_note.text()
    assert_nothing_clipped(panel)


def test_demo_tag(panel: Panel) -> None:
    state = make_state(make_snapshot(), demo=True)
    show(panel, state)
    assert panel.header_section.demo_badge.isVisibleTo(panel)
    assert "DEMO" in visible_text(panel)


def test_weekly_limit_reached_is_called_out(panel: Panel) -> None:
    show(panel, weekly_exhausted_state())
    assert panel.quota_section.blocking_label.text().startswith("Weekly limit reached: back on ")
    assert panel.quota_section.blocking_label.font().bold()
    weekly = next(row for row in panel.quota_section.rows if row.window_id == "weekly")
    assert weekly.bar.percent() == 100
    five = next(row for row in panel.quota_section.rows if row.window_id == "five_hour")
    assert weekly.bar.colour() != five.bar.colour()
    assert_nothing_clipped(panel)


def test_restricted_banner(panel: Panel, qtbot: QtBot) -> None:
    show(panel, restricted_state())
    assert panel.risk_banner.isVisibleTo(panel)
    text = panel.risk_banner.card.message.text()
    assert "lifted automatically" in text
    assert "Three violations lead to a ban" in text
    with qtbot.waitSignal(panel.review_requested, timeout=1000):
        qtbot.mouseClick(panel.risk_banner.review_button, Qt.MouseButton.LeftButton)
    assert_nothing_clipped(panel)


def test_auto_renew_off(panel: Panel) -> None:
    state = make_state(make_snapshot(subscription=make_subscription(auto_renew=False)))
    show(panel, state)
    text = visible_text(panel)
    assert "Plan ends: 23 Mar 2026 (auto-renew off)" in text
    assert "Cancel by" not in text


def test_cancel_by_soon_is_emphasised(panel: Panel) -> None:
    show(panel, make_state(make_snapshot(subscription=make_subscription(renew_in_days=5))))
    line = panel.renewal_section.lines[1]
    assert line.text() == "Cancel by: 5 Mar 2026 (2 days left)"
    assert line.font().bold()


def test_idle_window_not_started(panel: Panel) -> None:
    show(panel, make_state(make_snapshot(windows=make_windows(five=0, five_started=False))))
    five = next(row for row in panel.quota_section.rows if row.window_id == "five_hour")
    assert five.detail.text() == "not started"


def test_manual_renewal_date_when_platform_gives_none(panel: Panel) -> None:
    settings = Settings(manual_renewal_date="2026-03-20", manual_billing_cycle="monthly")
    show(panel, make_state(make_snapshot(with_subscription=False), settings=settings))
    text = visible_text(panel)
    assert "20 Mar 2026 (set by hand in Settings)" in text
    assert "Cancel by: 17 Mar 2026 (14 days left)" in text


def test_subscription_problem_is_named(panel: Panel) -> None:
    snap = make_snapshot(
        with_subscription=False, problems={Section.SUBSCRIPTION: PlatformUnavailable()}
    )
    show(panel, make_state(snap))
    assert "Renewal date unavailable: Platform unreachable" in visible_text(panel)


def test_notices_and_warnings(panel: Panel) -> None:
    state = make_state(
        make_snapshot(warnings=("Unknown window type CREDIT_LIMIT ignored",)),
        notices=("The system tray is not available.",),
    )
    show(panel, state)
    text = visible_text(panel)
    assert "The system tray is not available." in text
    assert "Unknown window type CREDIT_LIMIT ignored" in text
    assert_nothing_clipped(panel)


def test_stale(panel: Panel) -> None:
    show(panel, stale_state())
    assert panel.footer_section.updated_label.text() == "Stale: updated 12 min ago"
    assert panel.header_section.stale_badge.isVisibleTo(panel)
    row = panel.quota_section.rows[0]
    assert row.bar.colour().hsvSaturation() < 60  # greyed, not the level colour


def test_signed_out(panel: Panel, qtbot: QtBot) -> None:
    show(panel, make_state(None, phase=Phase.SIGNED_OUT))
    assert panel.status_section.card.title.text() == "Not signed in"
    assert panel.status_section.sign_in_button.isVisibleTo(panel)
    assert not panel.quota_section.isVisibleTo(panel)
    assert not panel.links_section.isVisibleTo(panel)
    assert not panel.footer_section.refresh_button.isEnabled()
    with qtbot.waitSignal(panel.sign_in_requested, timeout=1000):
        qtbot.mouseClick(panel.status_section.sign_in_button, Qt.MouseButton.LeftButton)
    assert_nothing_clipped(panel)


def test_loading(panel: Panel) -> None:
    show(panel, make_state(None, phase=Phase.LOADING))
    assert panel.status_section.card.title.text() == "Loading…"
    assert not panel.status_section.sign_in_button.isVisibleTo(panel)


def test_key_not_accepted(panel: Panel, qtbot: QtBot) -> None:
    show(panel, make_state(None, phase=Phase.ERROR, error=AuthenticationFailed()))
    assert panel.status_section.card.title.text() == "Key not accepted"
    assert "rejected the API key" in panel.status_section.card.message.text()
    assert panel.status_section.sign_in_button.isVisibleTo(panel)
    with qtbot.waitSignal(panel.sign_in_requested, timeout=1000):
        qtbot.mouseClick(panel.status_section.sign_in_button, Qt.MouseButton.LeftButton)
    assert_nothing_clipped(panel)


@pytest.mark.parametrize("error", [NoCodingPlan(), PlanExpired()])
def test_no_coding_plan(panel: Panel, qtbot: QtBot, error: GlmtrayError) -> None:
    show(panel, make_state(None, phase=Phase.ERROR, error=error))
    assert panel.status_section.card.title.text() == error.title
    assert panel.status_section.plan_page_button.isVisibleTo(panel)
    with qtbot.waitSignal(panel.open_url_requested, timeout=1000) as blocker:
        qtbot.mouseClick(panel.status_section.plan_page_button, Qt.MouseButton.LeftButton)
    assert blocker.args == [REGIONS[Region.GLOBAL].subscription_page]
    assert_nothing_clipped(panel)


@pytest.mark.parametrize("error", [PlatformUnavailable(), RateLimited()])
def test_unreachable_keeps_last_data_marked_stale(
    panel: Panel, qtbot: QtBot, error: GlmtrayError
) -> None:
    snap = make_snapshot(fetched_ago=timedelta(minutes=12))
    show(panel, make_state(snap, phase=Phase.ERROR, error=error))
    assert panel.status_section.card.title.text() == error.title
    assert "Showing data from 12 min ago." in panel.status_section.card.message.text()
    assert panel.quota_section.isVisibleTo(panel)
    assert panel.footer_section.updated_label.text().startswith("Stale: updated 12 min ago")
    assert panel.header_section.stale_badge.isVisibleTo(panel)
    with qtbot.waitSignal(panel.refresh_requested, timeout=1000):
        qtbot.mouseClick(panel.status_section.retry_button, Qt.MouseButton.LeftButton)
    assert_nothing_clipped(panel)


def test_a_start_without_any_data_claims_none(panel: Panel) -> None:
    """Offline from the first fetch on: every section failed, so there is no data to show
    the age of, only the time of the attempt."""
    unreachable = PlatformUnavailable()
    empty = replace(
        make_snapshot(fetched_ago=timedelta(seconds=3)),
        quota=None,
        subscription=None,
        problems={Section.QUOTA: unreachable, Section.SUBSCRIPTION: unreachable},
    )
    show(panel, make_state(empty, phase=Phase.ERROR, error=unreachable))
    assert panel.status_section.card.title.text() == unreachable.title
    assert "Showing data from" not in panel.status_section.card.message.text()
    assert "Updated" not in panel.footer_section.updated_label.text()


def test_unexpected_response(panel: Panel) -> None:
    show(panel, make_state(None, phase=Phase.ERROR, error=UnexpectedResponse()))
    assert panel.status_section.card.title.text() == "Unexpected answer from the platform"
    assert panel.status_section.retry_button.isVisibleTo(panel)
    assert_nothing_clipped(panel)


def test_account_restricted_error_shows_the_banner(panel: Panel) -> None:
    show(panel, make_state(make_snapshot(risk=None), phase=Phase.ERROR, error=AccountRestricted()))
    assert panel.risk_banner.isVisibleTo(panel)
    assert not panel.status_section.isVisibleTo(panel)
    assert "last refresh failed: Account restricted" in panel.footer_section.updated_label.text()


@pytest.mark.parametrize("region", list(Region))
def test_links_open_the_region_pages(panel: Panel, qtbot: QtBot, region: Region) -> None:
    show(panel, make_state(make_snapshot(region=region), region=region))
    info = REGIONS[region]
    expected = {
        panel.links_section.subscription_link: info.subscription_page,
        panel.links_section.billing_link: info.billing_page,
        panel.links_section.policy_link: info.usage_policy_page,
        panel.links_section.support_link: f"mailto:{info.support_email}",
    }
    for link, url in expected.items():
        with qtbot.waitSignal(panel.open_url_requested, timeout=1000) as blocker:
            qtbot.mouseClick(link, Qt.MouseButton.LeftButton)
        assert blocker.args == [url]


def test_footer_buttons_emit(panel: Panel, qtbot: QtBot) -> None:
    show(panel, healthy_state())
    for button, signal in (
        (panel.footer_section.refresh_button, panel.refresh_requested),
        (panel.footer_section.settings_button, panel.settings_requested),
        (panel.footer_section.quit_button, panel.quit_requested),
    ):
        with qtbot.waitSignal(signal, timeout=1000):
            qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def test_updates_reuse_rows_and_follow_the_state(panel: Panel) -> None:
    show(panel, healthy_state())
    rows = list(panel.quota_section.rows)
    panel.show_state(weekly_exhausted_state(), NOW + timedelta(seconds=20))
    assert panel.quota_section.rows == rows
    panel.show_state(make_state(make_snapshot(windows=make_windows()[:1])), NOW)
    assert sum(row.isVisibleTo(panel) for row in panel.quota_section.rows) == 1
    panel.show_state(make_state(make_snapshot(fetched_ago=timedelta(seconds=2))), NOW)
    assert panel.footer_section.updated_label.text() == "Updated just now"


def test_add_section(panel: Panel) -> None:
    extra = QLabel("Concurrency: 2 sessions")
    panel.add_section(extra)
    show(panel, healthy_state())
    assert extra.isVisibleTo(panel)
    assert panel.isAncestorOf(extra)


def test_width_and_height_fit_the_content(panel: Panel) -> None:
    show(panel, restricted_state())
    assert 360 <= panel.width() <= 400
    layout = panel.layout()
    assert layout is not None
    assert panel.height() == layout.totalHeightForWidth(panel.width())


def test_popup_mode(panel: Panel) -> None:
    panel.set_popup_mode(True)
    assert panel.windowType() == Qt.WindowType.Popup
    assert panel.is_popup()
    panel.set_popup_mode(False)
    assert panel.windowType() == Qt.WindowType.Window


@pytest.mark.parametrize(
    "anchor",
    [
        QRect(1880, 1050, 24, 24),  # bottom-right tray (Windows)
        QRect(1700, 0, 24, 24),  # top bar (GNOME, macOS)
        QRect(0, 500, 24, 24),  # left vertical panel
        QRect(-40, -40, 24, 24),  # bogus, off screen
        QRect(),  # unknown
    ],
)
def test_place_near_keeps_the_panel_on_screen(panel: Panel, anchor: QRect) -> None:
    panel.show_state(healthy_state(), NOW)
    screen = panel.screen()
    area = screen.availableGeometry()
    panel.place_near(anchor, screen)
    placed = QRect(panel.pos(), panel.size())
    assert area.contains(placed), (placed, area)


def test_place_near_opens_above_a_bottom_tray(panel: Panel) -> None:
    panel.show_state(healthy_state(), NOW)
    screen = panel.screen()
    area = screen.availableGeometry()
    anchor = QRect(area.right() - 40, area.bottom() - 24, 24, 24)
    panel.place_near(anchor, screen)
    assert panel.y() + panel.height() <= anchor.top()


def test_a_tall_panel_below_a_top_bar_leaves_the_icon_in_view(panel: Panel) -> None:
    """A panel taller than the room under a top bar's tray icon is capped to that room,
    rather than moved up over the icon it opened from."""
    panel.show_state(restricted_state(), NOW)
    screen = panel.screen()
    area = screen.availableGeometry()
    anchor = QRect(area.right() - 30, area.top(), 24, area.height() // 3)  # a tall bar
    panel.place_near(anchor, screen)
    assert panel.y() > anchor.bottom(), (panel.geometry(), anchor)
    assert panel.y() + panel.height() <= area.bottom() + 1


@pytest.mark.parametrize("screen_height", (768, 600))
def test_panel_fits_a_laptop_screen(qtbot: QtBot, screen_height: int) -> None:
    """On a 1366x768 screen the tallest panel (restricted, throttled, concurrency warning)
    stays on screen: the middle scrolls, the header and every button stay in view, and no
    text is squashed."""
    from glmtray.ui.panel import POPUP_GAP

    panel = Panel()
    qtbot.addWidget(panel)
    panel.set_popup_mode(True)
    limit = screen_height - 32 - 2 * POPUP_GAP  # a 32 px desktop bar
    panel.set_height_limit(limit)
    state = tall_state()
    panel.show_state(state, NOW)
    panel.show()
    qtbot.waitExposed(panel)
    assert panel.height() <= limit
    bar = panel.scroll_area.verticalScrollBar()
    assert bar.maximum() > 0, "the middle should scroll"
    for button in (
        panel.footer_section.refresh_button,
        panel.footer_section.settings_button,
        panel.footer_section.quit_button,
    ):
        corner = button.mapTo(panel, button.rect().bottomRight())
        assert panel.rect().contains(corner), button.text()
    assert panel.header_section.isVisibleTo(panel)
    for label in panel.body.findChildren(QLabel):
        if label.isVisibleTo(panel) and label.text() and label.wordWrap():
            assert label.height() >= label.heightForWidth(label.width()), label.text()
    bar.setValue(bar.maximum())  # the last of the middle can be scrolled to
    last = panel.concurrency_section
    bottom = last.mapTo(panel.scroll_area.viewport(), last.rect().bottomLeft())
    assert bottom.y() <= panel.scroll_area.viewport().height()


def tall_state() -> AppState:
    from dataclasses import replace

    from .test_panel_sections import (
        CONCURRENCY_REFUSED_JUST_NOW,
        RESTRICTED_AN_HOUR_AGO,
        concurrency,
        risk_report,
    )

    return replace(
        restricted_state(),
        risk=risk_report(RESTRICTED_AN_HOUR_AGO, CONCURRENCY_REFUSED_JUST_NOW),
        concurrency=concurrency(),
    )


def test_one_fact_is_said_once() -> None:
    """Endpoints failing the same way make one line; while the status card names an error,
    the endpoints' copies of it are left out."""
    from glmtray.ui.notices_section import notice_lines

    message = "HTTP 502 from the platform; glmtray will try again."
    warnings = (f"Subscription: {message}", f"Risk flag: {message}", "No active coding-plan subscription in the subscription list.")  # fmt: skip
    ready = make_state(make_snapshot(warnings=warnings))
    assert notice_lines(ready) == [
        f"Subscription and risk flag: {message}",
        "No active coding-plan subscription in the subscription list.",
    ]
    failing = make_state(
        make_snapshot(warnings=(f"Quota: {message}",)), phase=Phase.ERROR, error=PlatformUnavailable(message)
    )  # fmt: skip
    assert notice_lines(failing) == []


def test_a_locked_account_is_called_locked(panel: Panel) -> None:
    from glmtray.errors import AccountRestricted

    state = make_state(make_snapshot(), phase=Phase.ERROR, error=AccountRestricted(code=1112))
    show(panel, state)
    assert panel.risk_banner.isVisibleTo(panel)
    text = visible_text(panel)
    assert "Account locked" in text and "restricted this account" not in text
    assert not panel.status_section.isVisibleTo(panel)  # the banner says it: once


def test_credit_windows_team_plans_back_at_and_peak(panel: Panel) -> None:
    """Today's platform as the panel shows it: credit figures, a window that names when the
    user is back, the peak rule in force, and a team plan with no windows at all."""
    from dataclasses import replace
    from datetime import datetime, timezone

    from tools.sample_states import risk_report

    from glmtray.platform.models import FIVE_HOUR, Quota, QuotaWindow

    credit = QuotaWindow(
        FIVE_HOUR, "CREDIT_LIMIT", 18.5, NOW + timedelta(hours=2), used=5184, limit=28000, unit=3, number=5
    )  # fmt: skip
    state = make_state(make_snapshot(windows=(credit,)))
    show(panel, state)
    text = visible_text(panel)
    assert "5,184 of 28,000 credits used" in text
    assert "Off-peak until" in text or "Peak until" in text  # the rule in force, said
    team = replace(state, snapshot=replace(state.snapshot, quota=Quota("pro", ())))
    show(panel, team)
    text = visible_text(panel)
    assert "no quota windows" in text and "100 %" not in text and "0 %" not in text
    assert "no quota windows" in team.tooltip(NOW)
    spec = team.icon_spec(NOW)
    assert spec.percent is None  # a plain ring: no false share on the icon
    # A used-up window whose reset the quota endpoint does not name: the error's moment.
    out = QuotaWindow(FIVE_HOUR, "TOKENS_LIMIT", 100, None, unit=3, number=5)
    back = datetime(2026, 3, 3, 11, 40, tzinfo=timezone.utc)
    message = f"已达到 5 小时的使用上限。您的限额将在 {back.astimezone(timezone(timedelta(hours=8))):%Y-%m-%d %H:%M:%S} 重置。"
    report = risk_report((timedelta(minutes=2), 1308, message))
    exhausted = replace(make_state(make_snapshot(windows=(out,))), risk=report)
    assert exhausted.back_at("five_hour") == back
    show(panel, exhausted)
    assert "back at" in visible_text(panel)
    assert "back at" in exhausted.tooltip(NOW)
