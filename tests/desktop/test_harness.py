"""Proof that each desktop helper works, on the stand-in tray program ``sample_tray.py``.

Run: ``.ci/desktop-session .venv/bin/pytest tests/desktop -v`` (XEmbed host, trayer) and
``GLMTRAY_TRAY_HOST=sni .ci/desktop-session .venv/bin/pytest tests/desktop -v`` (SNI host).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable

import pytest
from keyring.errors import KeyringError

from . import harness
from .sample_tray import APP_NAME, POPUP_TITLE

pytestmark = pytest.mark.desktop

MAGENTA = (255, 0, 255)
CYAN = (0, 255, 255)
SNI_BAR = harness.Rect(0, 0, harness.screen_size()[0], 40)  # gtk-sni-tray-standalone --top --size 32

trayer_only = pytest.mark.skipif(
    harness.tray_host() != "trayer", reason="XEmbed tray test: run with GLMTRAY_TRAY_HOST=trayer"
)
sni_only = pytest.mark.skipif(
    harness.tray_host() != "sni", reason="SNI tray test: run with GLMTRAY_TRAY_HOST=sni"
)

StartTray = Callable[..., harness.LaunchedApp]


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


# --- session ---------------------------------------------------------------------------------


def test_session_provides_display_bus_daemons_and_artifacts() -> None:
    assert os.environ["QT_QPA_PLATFORM"] == "xcb"
    assert os.environ["DISPLAY"].startswith(":")
    assert harness.tray_host() in {"trayer", "sni"}
    assert harness.artifacts_dir().is_absolute()
    assert harness.bus_name_owner("org.freedesktop.Notifications")
    assert harness.bus_name_owner("org.freedesktop.secrets")
    # The private HOME keeps gnome-keyring and friends out of the real one.
    assert os.environ["HOME"].startswith(os.environ["GLMTRAY_DESKTOP_SESSION"])
    if harness.tray_host() == "trayer":
        assert harness.tray_panels()
    else:
        assert harness.bus_name_owner("org.kde.StatusNotifierWatcher")


def test_wait_for_returns_value_and_times_out_quickly() -> None:
    calls = iter([0, None, "done"])
    assert harness.wait_for(lambda: next(calls), timeout=2, interval=0.01) == "done"
    start = time.monotonic()
    with pytest.raises(harness.WaitTimeout, match="never"):
        harness.wait_for(lambda: False, timeout=0.2, interval=0.02, message="never")
    assert time.monotonic() - start < 1


def test_screenshot_writes_png_and_reads_pixels() -> None:
    shot = harness.screenshot("harness-empty-desktop.png")
    assert shot.path.is_file() and shot.path.stat().st_size > 0
    assert (shot.width, shot.height) == harness.screen_size()
    # Xvfb's root window is black where nothing is drawn.
    assert shot.pixel(640, 700) == (0, 0, 0)
    assert shot.count_color(MAGENTA) == 0


# --- XEmbed tray (trayer) -----------------------------------------------------------------------


@trayer_only
def test_icon_is_embedded_in_trayer_and_drawn(sample_tray: StartTray) -> None:
    app = sample_tray()
    icon = harness.wait_for_tray_icon(pid=app.pid)
    assert APP_NAME in icon.wm_class
    assert not icon.rect.empty
    shot = harness.screenshot("trayer-icon.png")
    magenta = shot.count_color(MAGENTA, icon.rect)
    # The pixmap is solid magenta: nearly the whole icon area must be it (the tray may pad).
    assert magenta >= 0.6 * icon.rect.width * icon.rect.height, (magenta, icon, shot.path)
    assert shot.find_color(MAGENTA) is not None


@trayer_only
def test_two_icons_get_their_own_places(sample_tray: StartTray) -> None:
    first = sample_tray()
    second = sample_tray("--color", "#00ffff")
    icon_a = harness.wait_for_tray_icon(pid=first.pid)
    icon_b = harness.wait_for_tray_icon(pid=second.pid)
    assert icon_a.rect != icon_b.rect
    shot = harness.screenshot("trayer-two-icons.png")
    assert shot.count_color(CYAN, icon_b.rect) > 0
    assert shot.count_color(MAGENTA, icon_a.rect) > 0


@trayer_only
def test_right_click_opens_context_menu_and_quit_ends_the_app(sample_tray: StartTray) -> None:
    app = sample_tray()
    icon = harness.wait_for_tray_icon(pid=app.pid)
    before = harness.screenshot("trayer-before-menu.png")
    harness.click_rect(icon.rect, button=3)
    menu = harness.wait_for(lambda: harness.popup_menus(pid=app.pid), message="context menu")[0]
    after = harness.screenshot("trayer-menu.png")
    assert after.diff_count(before, menu.rect) > 100
    # Keyboard through the real menu: Up wraps to the last entry, "Quit".
    harness.key("Up", "Return")
    harness.wait_for(
        lambda: not harness.process_tree_alive(app.pid), message="app to quit from its menu"
    )
    assert app.process.wait(1) == 0
    assert harness.no_leftover_processes("sample_tray.py")


@trayer_only
def test_escape_closes_context_menu(sample_tray: StartTray) -> None:
    app = sample_tray()
    icon = harness.wait_for_tray_icon(pid=app.pid)
    harness.click_rect(icon.rect, button=3)
    harness.wait_for(lambda: harness.popup_menus(pid=app.pid), message="context menu")
    harness.key("Escape")
    harness.wait_for(lambda: not harness.popup_menus(pid=app.pid), message="menu to close")
    assert harness.process_tree_alive(app.pid)


@trayer_only
def test_left_click_opens_popup_window(sample_tray: StartTray) -> None:
    app = sample_tray()
    icon = harness.wait_for_tray_icon(pid=app.pid)
    harness.click_rect(icon.rect, button=1)
    wid = harness.wait_for(
        lambda: harness.find_windows(name=POPUP_TITLE, pid=app.pid), message="popup window"
    )[0]

    def mapped() -> harness.WindowInfo | None:
        info = harness.window_info(wid)
        return info if info.viewable and not info.rect.empty else None

    info = harness.wait_for(mapped, message="popup mapped")
    assert info.name == POPUP_TITLE
    harness.screenshot("trayer-popup.png")


# --- SNI tray (gtk-sni-tray-standalone --watcher) ------------------------------------------------


@sni_only
def test_sni_tray_available_icon_drawn_and_show_message_reaches_dunst(
    sample_tray: StartTray,
) -> None:
    since = harness.last_notification_id()
    summary = unique("sni-message")
    app = sample_tray("--notify", summary)
    ready = app.wait_event("ready")
    assert ready["tray_available"] is True
    assert harness.wait_for(harness.sni_registered_items, message="registered SNI item")
    # The host draws the icon itself from the pixmap sent over D-Bus; look for it on screen.
    box = harness.wait_for_color(MAGENTA, SNI_BAR)
    assert box.width >= 8 and box.height >= 8
    harness.screenshot("sni-icon.png")
    note = harness.wait_for_notification(summary=summary, since_id=since)
    assert note["appname"] == APP_NAME
    assert note["body"] == "sample body"


@sni_only
def test_sni_left_click_opens_popup_window(sample_tray: StartTray) -> None:
    app = sample_tray()
    box = harness.wait_for_color(MAGENTA, SNI_BAR)
    harness.click_rect(box, button=1)
    harness.wait_for(
        lambda: harness.find_windows(name=POPUP_TITLE, pid=app.pid), message="popup window"
    )
    harness.screenshot("sni-popup.png")


@sni_only
def test_sni_right_click_opens_host_menu_and_quit_ends_the_app(sample_tray: StartTray) -> None:
    app = sample_tray()
    box = harness.wait_for_color(MAGENTA, SNI_BAR)
    harness.click_rect(box, button=3)
    # With SNI the *host* draws the app's menu (from its DBusMenu): the window is not the app's.
    menu = harness.wait_for(harness.popup_menus, message="host-drawn context menu")[0]
    assert harness.window_pid(menu.wid) != app.pid
    harness.screenshot("sni-menu.png")
    harness.key("Down", "Down", "Return")
    harness.wait_for(
        lambda: not harness.process_tree_alive(app.pid), message="app to quit from its menu"
    )


# --- notifications ------------------------------------------------------------------------------


def test_notification_appears_on_screen_and_in_dunst_history() -> None:
    since = harness.last_notification_id()
    summary = unique("harness-note")
    note_id = harness.send_notification(summary, "quota at 80%", appname="glmtray-test")
    assert note_id > since
    harness.wait_for(lambda: harness.notifications_displayed() > 0, message="bubble on screen")
    harness.screenshot("notification-bubble.png")
    note = harness.wait_for_notification(summary=summary, since_id=since)
    assert note == {
        "id": note_id,
        "appname": "glmtray-test",
        "summary": summary,
        "body": "quota at 80%",
    }
    assert harness.notifications_displayed() == 0


def test_close_all_notifications_empties_the_screen() -> None:
    for i in range(3):
        harness.send_notification(unique(f"many-{i}"))
    harness.close_all_notifications()
    assert harness.notifications_displayed() == 0


# --- Secret Service -----------------------------------------------------------------------------


def test_keyring_round_trip_through_real_secret_service() -> None:
    service, user = unique("glmtray-harness"), "api-key"
    assert not harness.secret_service_has(service, user)
    harness.secret_service_store(service, user, "sk-test-123")
    assert harness.secret_service_lookup(service, user) == "sk-test-123"
    # The item is really in gnome-keyring's default collection, not in some other backend.
    assert harness.secret_service_items(service)
    assert harness.secret_service_delete(service, user)
    assert not harness.secret_service_has(service, user)
    assert not harness.secret_service_delete(service, user)


def test_app_process_gets_the_secret_service_as_default_keyring() -> None:
    # In this pytest process keyring may pick a chainer (unit-test doubles subclass
    # KeyringBackend and so register themselves); an app started as its own process must not.
    code = "import keyring; print(type(keyring.get_keyring()).__module__)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=True
    )
    assert out.stdout.strip() == "keyring.backends.SecretService"


def test_locked_keyring_makes_set_password_fail_fast(locked_keyring: str) -> None:
    assert harness.keyring_locked(locked_keyring)
    start = time.monotonic()
    with pytest.raises(KeyringError):
        harness.secret_service().set_password(unique("glmtray-locked"), "api-key", "secret")
    assert time.monotonic() - start < 2, "a locked keyring must not hang the caller"


def test_unlock_after_lock_restores_access() -> None:
    service = unique("glmtray-relock")
    harness.lock_keyring()
    harness.unlock_keyring()
    assert not harness.keyring_locked()
    harness.secret_service_store(service, "u", "v")
    assert harness.secret_service_delete(service, "u")


# --- processes ----------------------------------------------------------------------------------


def test_process_helpers_see_the_app_and_its_end(sample_tray: StartTray) -> None:
    app = sample_tray(wait_ready=False)
    harness.wait_for(lambda: harness.process_tree_alive(app.pid), message="app running")
    assert not harness.no_leftover_processes("sample_tray.py")
    assert [p.pid for p in harness.leftover_processes("sample_tray.py")] == [app.pid]
    app.stop()
    assert not harness.process_tree_alive(app.pid)
    assert harness.no_leftover_processes("sample_tray.py")
