"""The real app in Simplified Chinese on a real desktop: the tray menu, the panel, the
settings dialog and a notification from dunst, each in a screenshot under artifacts/desktop/
(zh-*.png) to look at for clipped or overlapping text. The app is started with a Chinese
locale whatever the session's, so the test means the same in every run; `make test-desktop`
also runs it in a session that is Chinese throughout (LANGUAGE=zh_CN, a CJK font)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest

from glmtray.catalogs import ensure_compiled
from glmtray.simulator import PlatformSimulator

from . import harness
from .test_glmtray_e2e import (
    READY,
    app_windows,
    choose,
    needs_trayer,
    open_menu,
    wait_line,
)

CHINESE = {"LANGUAGE": "zh_CN", "LANG": "zh_CN.UTF-8"}


@pytest.fixture(scope="module", autouse=True)
def compiled() -> None:
    """The catalog compiled as `make` compiles it (for a run started without make)."""
    ensure_compiled()


@pytest.fixture
def glmtray_zh(
    launch_glmtray: Callable[..., harness.LaunchedApp],
    sim: PlatformSimulator,
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[[], harness.LaunchedApp]:
    app_env = {**{k: v for k, v in os.environ.items() if k != "LC_ALL"}, **CHINESE}
    # The harness's X tools (xwininfo) print window names in the locale they run in: where
    # zh_CN.UTF-8 is not generated they would fall back to ASCII and escape "glmtray 设置".
    monkeypatch.setenv("LC_ALL", "C.UTF-8")

    return partial(launch_glmtray, sim.base_url, env=app_env)


@pytest.mark.usefixtures("stored_key")
def test_a_notification_in_chinese(
    glmtray_zh: Callable[[], harness.LaunchedApp], sim: PlatformSimulator
) -> None:
    sim.set_scenario("weekly_exhausted")
    since = harness.last_notification_id()
    app = glmtray_zh()
    wait_line(app, READY)
    # Looked at on screen first: reading dunst's history closes what it shows.
    harness.wait_for(lambda: harness.notifications_displayed() > 0, 10, message="dunst shows it")
    time.sleep(0.5)  # dunst draws a moment after it counts the notification
    print(f"screenshot: {harness.screenshot('zh-notification.png').path}")
    note = harness.wait_for_notification(summary="周额度已用完", since_id=since, timeout=10)
    assert note["appname"] == "glmtray"
    assert "额度重置前请求都会被拒绝" in str(note["body"])


@needs_trayer
@pytest.mark.usefixtures("stored_key")
def test_menu_panel_and_settings_in_chinese(
    glmtray_zh: Callable[[], harness.LaunchedApp], sim: PlatformSimulator
) -> None:
    sim.set_scenario("weekly_exhausted")
    app = glmtray_zh()
    wait_line(app, READY)
    icon = open_menu(app)
    print(f"screenshot: {harness.screenshot('zh-tray-menu.png').path}")
    harness.key("Escape")
    harness.wait_for(lambda: not harness.popup_menus(pid=app.pid), 5, message="menu closed")
    harness.click_rect(icon.rect, button=1)
    panel: list[Any] = harness.wait_for(
        lambda: app_windows(app, "glmtray"), 5, message="panel window"
    )
    assert 300 <= panel[0].rect.width <= 500
    print(f"screenshot: {harness.screenshot('zh-panel.png').path}")
    harness.key("Escape")
    harness.wait_for(lambda: not app_windows(app, "glmtray"), 5, message="panel closed")
    choose(app, 4)  # 立即刷新, 打开面板, 用量历史…, 设置…
    harness.wait_for(lambda: app_windows(app, "glmtray 设置"), 5, message="settings dialog")
    print(f"screenshot: {harness.screenshot('zh-settings.png').path}")
