"""The real `glmtray` process on a real desktop, checked through the desktop itself:
the tray host, the X server, the notification daemon and the Secret Service."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import pytest

from glmtray.simulator import SIMULATOR_API_KEY, PlatformSimulator

from . import harness
from .conftest import SERVICE, USERNAME

READY = "tray icon shows data"


@pytest.fixture
def glmtray(
    launch_glmtray: Callable[..., harness.LaunchedApp], sim: PlatformSimulator
) -> Callable[..., harness.LaunchedApp]:
    return partial(launch_glmtray, sim.base_url)


@pytest.fixture
def glmtray_demo(request: pytest.FixtureRequest) -> Iterator[Callable[[], harness.LaunchedApp]]:
    started: list[harness.LaunchedApp] = []

    def start() -> harness.LaunchedApp:
        app = harness.launch(
            [sys.executable, "-m", "glmtray", "-v", "--demo"],
            log_name=f"{request.node.name}-glmtray-demo.log",
        )
        started.append(app)
        return app

    yield start
    for app in started:
        app.stop()


def wait_line(app: harness.LaunchedApp, text: str, timeout: float = 15.0) -> str:
    def found() -> str | None:
        if app.process.poll() is not None:
            raise AssertionError(f"glmtray exited {app.process.returncode}; log: {app.log_path}")
        return next((line for line in list(app.lines) if text in line), None)

    return harness.wait_for(found, timeout, message=f"{text!r} in {app.log_path}")


def app_windows(app: harness.LaunchedApp, title: str) -> list[Any]:
    """The app's visible windows named `title`, largest first. The XEmbed tray icon's own
    small window carries the app's name too; the panel is built at its first showing, so
    it is not always the first window listed."""
    found = [w for w in (harness.window_info(wid) for wid in harness.find_windows(pid=app.pid, visible=True))
             if w.name == title and w.viewable and not w.rect.empty and w.rect.width > 64]  # fmt: skip
    return sorted(found, key=lambda w: w.rect.width * w.rect.height, reverse=True)


def open_menu(app: harness.LaunchedApp) -> harness.TrayIcon:
    icon = harness.wait_for_tray_icon(pid=app.pid, timeout=10)
    harness.click_rect(icon.rect, button=3)
    harness.wait_for(lambda: harness.popup_menus(pid=app.pid), 5, message="tray menu")
    return icon


def choose(app: harness.LaunchedApp, downs: int) -> None:
    """Pick the menu entry `downs` enabled items from the top (the status line is disabled)."""
    open_menu(app)
    harness.key(*(["Down"] * downs), "Return")


needs_trayer = pytest.mark.skipif(
    harness.tray_host() != "trayer", reason="XEmbed tray (trayer) test"
)
needs_sni = pytest.mark.skipif(harness.tray_host() != "sni", reason="StatusNotifierItem host test")


@needs_trayer
def test_icon_menu_and_panel(glmtray: Any, stored_key: None) -> None:
    app = glmtray()
    wait_line(app, READY)
    icon = harness.wait_for_tray_icon(pid=app.pid, timeout=10)
    shot = harness.screenshot("tray.png")
    x, y = icon.rect.center
    assert shot.pixel(x, y) != shot.pixel(icon.rect.x, icon.rect.y) or shot.diff_count is not None
    open_menu(app)
    menu_shot = harness.screenshot("tray-menu.png")
    print(f"screenshot: {menu_shot.path}")
    harness.key("Escape")
    harness.wait_for(lambda: not harness.popup_menus(pid=app.pid), 5, message="menu closed")
    harness.click_rect(icon.rect, button=1)
    panel = harness.wait_for(lambda: app_windows(app, "glmtray"), 5, message="panel window")
    assert 300 <= panel[0].rect.width <= 500
    print(f"screenshot: {harness.screenshot('panel.png').path}")


@needs_trayer
def test_settings_dialog_from_the_menu(glmtray: Any, stored_key: None) -> None:
    app = glmtray()
    wait_line(app, READY)
    choose(app, 4)  # Refresh now, Open panel, Usage history…, Settings…
    harness.wait_for(lambda: app_windows(app, "glmtray settings"), 5, message="settings dialog")
    print(f"screenshot: {harness.screenshot('settings.png').path}")


def test_threshold_crossing_gives_a_real_notification(
    glmtray: Any, stored_key: None, sim: PlatformSimulator
) -> None:
    sim.set_scenario("weekly_exhausted")
    since = harness.last_notification_id()
    app = glmtray()
    wait_line(app, READY)
    note = harness.wait_for_notification(summary="Weekly limit reached", since_id=since, timeout=10)
    assert note["appname"] == "glmtray"


def test_sign_in_stores_the_key_and_sign_out_removes_it(glmtray: Any) -> None:
    harness.secret_service_delete(SERVICE, USERNAME)
    app = glmtray()
    dialog = harness.wait_for(
        lambda: app_windows(app, "Sign in to glmtray"), 10, message="sign-in dialog"
    )
    print(f"screenshot: {harness.screenshot('sign-in.png').path}")
    harness.click(
        dialog[0].rect.x + dialog[0].rect.width // 2, dialog[0].rect.y + 5
    )  # focus the dialog
    subprocess.run(["xdotool", "type", "--delay", "1", SIMULATOR_API_KEY], check=True, timeout=30)
    harness.key("Return")
    harness.wait_for(lambda: harness.secret_service_lookup(SERVICE, USERNAME) == SIMULATOR_API_KEY, 10,
                     message="key in the Secret Service")  # fmt: skip
    wait_line(app, READY)
    if harness.tray_host() == "trayer":
        # The first click after the dialog closed once failed to open the panel.
        icon = harness.wait_for_tray_icon(pid=app.pid, timeout=10)
        harness.click_rect(icon.rect, button=1)
        harness.wait_for(lambda: app_windows(app, "glmtray"), 5, message="panel after sign-in")
        harness.key("Escape")
        choose(app, 6)  # … Usage history…, Settings…, Pause notifications, Sign out
    else:
        pytest.skip("the SNI host draws the menu itself; sign-out is covered with trayer")
    harness.wait_for(
        lambda: not harness.secret_service_has(SERVICE, USERNAME), 10, message="key removed"
    )
    dialog = harness.wait_for(
        lambda: app_windows(app, "Sign in to glmtray"), 10, message="sign-in again"
    )
    # The key is gone from the dialog too: Enter there signs in with nothing, stores nothing.
    harness.click(dialog[0].rect.x + dialog[0].rect.width // 2, dialog[0].rect.y + 5)
    harness.key("Return")
    time.sleep(2)
    assert not harness.secret_service_has(SERVICE, USERNAME)
    assert all(SIMULATOR_API_KEY not in line for line in app.lines)


def test_locked_keyring_is_a_message_not_a_crash(glmtray: Any, locked_keyring: str) -> None:
    app = glmtray()
    harness.wait_for(lambda: app_windows(app, "Sign in to glmtray"), 10, message="sign-in dialog")
    wait_line(app, "keyring read failed")
    print(f"screenshot: {harness.screenshot('sign-in-locked-keyring.png').path}")
    assert app.process.poll() is None
    assert not any("Traceback" in line for line in app.lines)


def test_second_start_makes_no_second_icon(glmtray: Any, stored_key: None) -> None:
    first = glmtray()
    wait_line(first, READY)
    second = glmtray()
    assert second.process.wait(15) == 0
    if harness.tray_host() == "trayer":
        ours = [i for i in harness.tray_icons() if i.pid in (first.pid, second.pid)]
        assert len(ours) == 1 and ours[0].pid == first.pid
    else:
        assert len(harness.sni_registered_items()) == 1
    harness.wait_for(
        lambda: app_windows(first, "glmtray"), 5, message="first instance shows its panel"
    )


@needs_trayer
def test_quit_leaves_no_process(glmtray: Any, stored_key: None) -> None:
    app = glmtray()
    wait_line(app, READY)
    choose(app, 7)  # … Sign out, Quit
    assert app.process.wait(10) == 0
    assert not harness.process_tree_alive(app.pid)


@needs_sni
def test_icon_registers_with_the_status_notifier_host(glmtray: Any, stored_key: None) -> None:
    before = set(harness.sni_registered_items())
    app = glmtray()
    wait_line(app, READY)
    harness.wait_for(
        lambda: set(harness.sni_registered_items()) - before, 10, message="SNI item registered"
    )
    print(f"screenshot: {harness.screenshot('tray-sni.png').path}")


def lightness(rgb: tuple[int, int, int]) -> float:
    """HSL lightness, 0 to 1, as Qt's lightnessF computes it."""
    return (max(rgb) + min(rgb)) / 2 / 255


def sni_icon_box(shot: harness.Screenshot, bar_height: int = 32) -> harness.Rect:
    """Where the StatusNotifierItem host drew the icon: what differs from the bar's colour
    at the right end of the bar (glmtray is the only item)."""
    area = harness.Rect(shot.width - 96, 0, 96, bar_height)
    colours = Counter(
        shot.pixel(x, y)
        for x in range(area.x, area.x + area.width)
        for y in range(area.y, area.y + area.height)
    )
    bar = colours.most_common(1)[0][0]
    points = [
        (x, y)
        for x in range(area.x, area.x + area.width)
        for y in range(area.y, area.y + area.height)
        if max(abs(a - b) for a, b in zip(shot.pixel(x, y), bar, strict=True)) > 24
    ]
    assert points, "no icon drawn on the bar"
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return harness.Rect(min(xs), min(ys), max(xs) - min(xs) + 1, max(ys) - min(ys) + 1)


@needs_sni
def test_icon_digits_contrast_with_a_dark_bar(glmtray: Any, stored_key: None) -> None:
    """The host draws on a black bar while the app's own theme is light: the digits must
    still stand out (measured on the screen, in the middle of the icon, where they are)."""
    app = glmtray()
    wait_line(app, READY)
    harness.wait_for(lambda: harness.sni_registered_items(), 10, message="SNI item registered")
    time.sleep(0.5)  # the host repaints after the item's first NewIcon
    shot = harness.screenshot("tray-sni-dark.png")
    box = sni_icon_box(shot)
    bar = shot.pixel(shot.width - 2, 31)
    third_w, third_h = max(1, box.width // 3), max(1, box.height // 3)
    middle = [
        shot.pixel(x, y)
        for x in range(box.x + third_w, box.x + box.width - third_w)
        for y in range(box.y + third_h, box.y + box.height - third_h)
    ]
    contrast = max(abs(lightness(p) - lightness(bar)) for p in middle)
    strong = sum(abs(lightness(p) - lightness(bar)) >= 0.5 for p in middle)
    print(f"icon box {box}, bar {bar}, strongest contrast {contrast:.2f}, strong pixels {strong}")
    assert contrast >= 0.5 and strong >= 6


@needs_sni
@pytest.mark.skipif(
    harness.screen_size() != (1366, 768), reason="a laptop screen: run with GLMTRAY_SCREEN=1366x768"
)
def test_panel_fits_a_laptop_screen(glmtray: Any, stored_key: None, sim: Any) -> None:
    """On a 1366x768 screen the tallest panel opens by the click, frameless, and ends
    above the screen's bottom edge: its buttons are on screen."""
    sim.set_scenario("restricted")
    app = glmtray()
    wait_line(app, READY)
    harness.wait_for(lambda: harness.sni_registered_items(), 10, message="SNI item registered")
    time.sleep(0.5)
    box = sni_icon_box(harness.screenshot())
    harness.click_rect(box, button=1)
    panel = harness.wait_for(lambda: app_windows(app, "glmtray"), 5, message="panel window")[0]
    shot = harness.screenshot("panel-sni-laptop.png")
    assert (shot.width, shot.height) == (1366, 768)
    print(f"panel at {panel.rect}")
    assert panel.override_redirect, "a frameless popup, not a titled window"
    assert panel.rect.y + panel.rect.height <= shot.height
    assert panel.rect.x + panel.rect.width <= shot.width
    assert panel.rect.y < 200, "opened by the tray at the top, not mid-screen"


def app_tooltip(app: harness.LaunchedApp) -> str:
    """The app's tooltip as the StatusNotifierItem host reads it over D-Bus."""
    items = harness.wait_for(harness.sni_registered_items, 10, message="SNI item registered")
    return "\n".join(harness.sni_tooltip(item) for item in items)


def menu_click(label: str) -> None:
    """Choose a tray menu entry as the StatusNotifierItem host does, over D-Bus."""
    items = harness.wait_for(harness.sni_registered_items, 10, message="SNI item registered")
    harness.sni_menu_click(items[0], label)


@needs_sni
def test_data_age_during_an_outage_is_the_age_of_the_last_good_data(
    glmtray: Any, stored_key: None, sim: Any
) -> None:
    app = glmtray()
    wait_line(app, READY)
    harness.wait_for(lambda: "5-hour" in app_tooltip(app), 10, message="tooltip with data")
    time.sleep(12)  # the data grows old
    sim.set_scenario("http_502")
    menu_click("Refresh now")

    def outage_tooltip() -> str | None:
        tip = app_tooltip(app)
        return tip if "showing data from" in tip else None

    tip = harness.wait_for(outage_tooltip, 15, message="tooltip naming the outage")
    print(f"tooltip during the outage: {tip!r}")
    age = re.search(r"showing data from (\d+) s ago", tip)
    assert age is not None and int(age.group(1)) >= 12, tip


@needs_sni
def test_an_expired_plan_is_announced_at_once(glmtray: Any, stored_key: None, sim: Any) -> None:
    since = harness.last_notification_id()
    sim.set_scenario("expired")
    glmtray()
    note = harness.wait_for_notification(
        summary="Your GLM Coding Plan has expired", since_id=since, timeout=15
    )
    assert note["appname"] == "glmtray"


@needs_sni
def test_no_notification_repeats_after_a_restart(glmtray: Any, stored_key: None, sim: Any) -> None:
    since = harness.last_notification_id()
    sim.set_scenario("weekly_exhausted")
    first = glmtray()
    wait_line(first, READY)
    harness.wait_for_notification(summary="Weekly limit reached", since_id=since, timeout=10)
    first.stop()
    second = glmtray()
    wait_line(second, READY)
    time.sleep(3)  # a repeat would come with the first data
    weekly = [
        n
        for n in harness.notifications_history()
        if n["id"] > since and n["summary"] == "Weekly limit reached"
    ]
    assert len(weekly) == 1, weekly


@needs_sni
def test_the_demo_shows_a_risk_notice_and_concurrency(glmtray_demo: Any) -> None:
    since = harness.last_notification_id()
    app = glmtray_demo()
    harness.wait_for(
        lambda: "coding session" in app_tooltip(app), 20, message="sessions in the demo's tooltip"
    )
    note = harness.wait_for_notification(
        summary="GLM Coding Plan restricted by risk control", since_id=since, timeout=60
    )
    assert note["appname"] == "glmtray"
    print(f"tooltip: {app_tooltip(app)!r}")
