"""Real-desktop helpers for glmtray's end-to-end tests.

Everything here works *through the desktop* (X11 windows and pointer, the session D-Bus, the
notification daemon, the Secret Service, /proc) and never through the app's internals, so the
same helpers drive the real glmtray and the stand-in ``sample_tray.py``.

Run only inside ``.ci/desktop-session``, which provides DISPLAY, a private session bus,
an unlocked gnome-keyring, dunst and a tray host, and tells us about them with
``GLMTRAY_TRAY_HOST``, ``GLMTRAY_ARTIFACTS``, ``GLMTRAY_KEYRING_PASSWORD`` and
``GLMTRAY_DESKTOP_SESSION``.

Tools used: xdotool, xwininfo, xprop (x11-utils), import/convert (imagemagick), dunstctl,
jeepney and keyring (Python).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TypedDict, TypeVar

T = TypeVar("T")

SECRETS_BUS_NAME = "org.freedesktop.secrets"
SECRETS_PATH = "/org/freedesktop/secrets"
SECRET_SERVICE_IFACE = "org.freedesktop.Secret.Service"
SECRET_COLLECTION_IFACE = "org.freedesktop.Secret.Collection"
# gnome-keyring's own interface: the only way to unlock a collection without a prompt dialog.
GNOME_KEYRING_INTERNAL_IFACE = "org.gnome.keyring.InternalUnsupportedGuiltRiddenInterface"


class DesktopError(RuntimeError):
    """The desktop did not do what a helper needed (tool failed, wrong tray host, ...)."""


class WaitTimeout(AssertionError):
    """``wait_for`` gave up. An AssertionError, so pytest shows it as a plain test failure."""


# --------------------------------------------------------------------------------------------
# Session facts
# --------------------------------------------------------------------------------------------


def in_desktop_session() -> bool:
    return os.environ.get("GLMTRAY_DESKTOP") == "1"


def screen_size() -> tuple[int, int]:
    """The virtual screen's size, as .ci/desktop-session was asked for it (GLMTRAY_SCREEN)."""
    width, _, height = os.environ.get("GLMTRAY_SCREEN", "1280x800").partition("x")
    return int(width), int(height)


def tray_host() -> str:
    """``"trayer"`` (XEmbed tray) or ``"sni"`` (StatusNotifierItem host)."""
    return os.environ.get("GLMTRAY_TRAY_HOST", "trayer")


def artifacts_dir() -> Path:
    path = Path(os.environ.get("GLMTRAY_ARTIFACTS", "artifacts/desktop")).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def _run(
    args: Sequence[str], *, timeout: float = 10.0, check: bool = True, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    try:
        result = subprocess.run(
            list(args), capture_output=True, text=True, timeout=timeout, input=stdin, check=False
        )
    except FileNotFoundError as exc:
        raise DesktopError(f"{args[0]} is not installed (run under .ci/desktop-session)") from exc
    if check and result.returncode != 0:
        raise DesktopError(
            f"{' '.join(args)} exited {result.returncode}: {result.stderr.strip()[:500]}"
        )
    return result


# --------------------------------------------------------------------------------------------
# Waiting
# --------------------------------------------------------------------------------------------


def wait_for(
    predicate: Callable[[], T | None],
    timeout: float = 5.0,
    interval: float = 0.05,
    message: str = "",
) -> T:
    """Poll ``predicate`` until it returns something truthy; return that value.

    Exceptions from the predicate count as "not yet" (the desktop is often half-ready: a window
    id that vanished, a bus name without owner) and the last one is reported on timeout.
    """
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            value = predicate()
        except Exception as exc:  # a half-ready desktop; reported below if it never settles
            last = exc
        else:
            if value:
                return value
            last = value
        if time.monotonic() >= deadline:
            what = message or getattr(predicate, "__name__", "condition")
            raise WaitTimeout(f"timed out after {timeout:.1f}s waiting for {what}; last: {last!r}")
        time.sleep(interval)


def wait_stable(
    getter: Callable[[], T | None], timeout: float = 5.0, interval: float = 0.05, polls: int = 3
) -> T:
    """Wait until ``getter`` returns the same truthy value ``polls`` times in a row.

    The tray host lays icons out again when one comes or goes, so a geometry read too early is
    stale by the time the test clicks.
    """
    history: list[T | None] = []

    def settled() -> bool:
        history.append(getter())
        tail = history[-polls:]
        return len(tail) == polls and bool(tail[0]) and all(v == tail[0] for v in tail)

    wait_for(settled, timeout, interval, message=f"a stable value of {getter.__name__}")
    value = history[-1]
    assert value is not None  # settled() only succeeds on a truthy value
    return value


# --------------------------------------------------------------------------------------------
# X11 windows, pointer and keyboard
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rect:
    x: int
    y: int
    width: int
    height: int

    @property
    def center(self) -> tuple[int, int]:
        return self.x + self.width // 2, self.y + self.height // 2

    @property
    def empty(self) -> bool:
        return self.width <= 1 or self.height <= 1

    def contains(self, x: int, y: int) -> bool:
        return self.x <= x < self.x + self.width and self.y <= y < self.y + self.height


@dataclass(frozen=True)
class WindowInfo:
    wid: int
    name: str | None
    rect: Rect  # absolute, in root coordinates
    viewable: bool
    override_redirect: bool


def window_info(wid: int) -> WindowInfo:
    out = _run(["xwininfo", "-id", str(wid)]).stdout
    name_match = re.search(r'Window id: 0x[0-9a-f]+ "(.*)"', out)

    def number(label: str) -> int:
        match = re.search(rf"{label}:\s+(-?\d+)", out)
        if not match:
            raise DesktopError(f"xwininfo gave no {label} for window {wid}")
        return int(match.group(1))

    return WindowInfo(
        wid=wid,
        name=name_match.group(1) if name_match else None,
        rect=Rect(
            number("Absolute upper-left X"),
            number("Absolute upper-left Y"),
            number("Width"),
            number("Height"),
        ),
        viewable="Map State: IsViewable" in out,
        override_redirect="Override Redirect State: yes" in out,
    )


_CHILD_LINE = re.compile(
    r"^\s+(0x[0-9a-f]+) (?:\"(.*?)\"|\(has no name\)): \((.*?)\)\s+"
    r"(\d+)x(\d+)[+-]-?\d+[+-]-?\d+\s+\+(-?\d+)\+(-?\d+)"
)


@dataclass(frozen=True)
class ChildWindow:
    wid: int
    name: str | None
    wm_class: tuple[str, ...]
    rect: Rect  # absolute


def child_windows(wid: int) -> list[ChildWindow]:
    """Direct children of ``wid`` (mapped or not), from ``xwininfo -children``."""
    out = _run(["xwininfo", "-children", "-id", str(wid)]).stdout
    children = []
    for line in out.splitlines():
        match = _CHILD_LINE.match(line)
        if match:
            wid_hex, name, classes, w, h, ax, ay = match.groups()
            children.append(
                ChildWindow(
                    wid=int(wid_hex, 16),
                    name=name,
                    wm_class=tuple(re.findall(r'"(.*?)"', classes)),
                    rect=Rect(int(ax), int(ay), int(w), int(h)),
                )
            )
    return children


def find_windows(
    *,
    name: str | None = None,
    class_name: str | None = None,
    pid: int | None = None,
    visible: bool = True,
) -> list[int]:
    """Window ids matching all given criteria (xdotool search; name/class are regexes)."""
    args = ["xdotool", "search"]
    if visible:
        args.append("--onlyvisible")
    if pid is not None:
        args += ["--pid", str(pid)]
    if name is not None:
        args += ["--name", name]
    if class_name is not None:
        args += ["--class", class_name]
    if pid is None and name is None and class_name is None:
        args += ["--name", ".*"]
    # xdotool exits 1 when nothing matches: that is an answer, not an error.
    out = _run(args, check=False).stdout
    return [int(line) for line in out.split()]


def window_property(wid: int, prop: str) -> str | None:
    """Raw ``xprop`` value of one property, or None if the window does not have it."""
    out = _run(["xprop", "-id", str(wid), prop], check=False).stdout.strip()
    if "=" not in out:
        return None
    return out.split("=", 1)[1].strip()


def window_pid(wid: int) -> int | None:
    value = window_property(wid, "_NET_WM_PID")
    return int(value) if value and value.isdigit() else None


def popup_menus(pid: int | None = None) -> list[WindowInfo]:
    """Visible popup/dropdown menu windows (Qt and GTK both set the EWMH window type)."""
    menus = []
    for wid in find_windows(pid=pid, visible=True):
        kind = window_property(wid, "_NET_WM_WINDOW_TYPE") or ""
        if "POPUP_MENU" in kind or "DROPDOWN_MENU" in kind:
            info = window_info(wid)
            if info.viewable and not info.rect.empty:
                menus.append(info)
    return menus


def click(x: int, y: int, button: int = 1) -> None:
    """Move the real pointer to (x, y) in root coordinates and click ``button`` (1 left, 3 right).

    One xdotool chain, so the move and the click reach the X server in order. No
    ``mousemove --sync``: it waits forever when the pointer already is at (x, y). The
    pointer first moves off by a few pixels: a widget that appeared under a pointer that
    has not moved since gets no enter event, and GTK (the StatusNotifierItem host) then
    ignores the click, as it would not for a person, whose hand always moves.
    """
    _run([
        "xdotool", "mousemove", str(max(0, x - 7)), str(max(0, y - 7)),
        "sleep", "0.05", "mousemove", str(x), str(y), "sleep", "0.05", "click", str(button),
    ])  # fmt: skip


def click_rect(rect: Rect, button: int = 1) -> None:
    click(*rect.center, button=button)


def key(*keys: str) -> None:
    """Press keys on the focused window, e.g. ``key("Escape")`` or ``key("Up", "Return")``."""
    _run(["xdotool", "key", *keys])


# --------------------------------------------------------------------------------------------
# Tray
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrayIcon:
    socket: int  # trayer's window that holds the embedded icon
    client: int | None  # the app's own icon window embedded in it
    rect: Rect  # absolute, what a click should hit
    wm_class: tuple[str, ...]
    pid: int | None  # from the client window's _NET_WM_PID


def tray_panels() -> list[int]:
    """trayer's panel windows: the ones that hold icons (trayer also has a 10x10 leader)."""
    panels = []
    for wid in find_windows(class_name="^trayer$", visible=False):
        if window_property(wid, "WM_CLASS") == '"panel", "trayer"':
            panels.append(wid)
    return panels


def tray_icons() -> list[TrayIcon]:
    """Icons embedded in trayer (XEmbed), left to right.

    trayer puts each icon in a socket window, a direct child of its panel, and the app's own
    window inside that. An icon counts when its socket has a real size (trayer keeps 1x1
    placeholders) and the embedded client is there.
    """
    if tray_host() != "trayer":
        raise DesktopError("tray_icons() needs the XEmbed host (GLMTRAY_TRAY_HOST=trayer)")
    icons = []
    for panel in tray_panels():
        for socket in child_windows(panel):
            if socket.rect.empty:
                continue
            clients = child_windows(socket.wid)
            client = clients[0] if clients else None
            icons.append(
                TrayIcon(
                    socket=socket.wid,
                    client=client.wid if client else None,
                    rect=socket.rect,
                    wm_class=client.wm_class if client else (),
                    pid=window_pid(client.wid) if client else None,
                )
            )
    return sorted(icons, key=lambda icon: (icon.rect.y, icon.rect.x))


def wait_for_tray_icon(
    pid: int | None = None, class_name: str | None = None, timeout: float = 5.0
) -> TrayIcon:
    """The app's icon in trayer, once its place has stopped moving."""

    def app_icon() -> TrayIcon | None:
        for icon in tray_icons():
            if pid is not None and icon.pid != pid:
                continue
            if class_name is not None and class_name not in icon.wm_class:
                continue
            if icon.client is not None:
                return icon
        return None

    app_icon.__name__ = f"tray icon (pid={pid}, class={class_name})"
    wait_for(app_icon, timeout, message=app_icon.__name__)
    return wait_stable(app_icon, timeout)


def sni_registered_items() -> list[str]:
    """Items registered with the StatusNotifierWatcher (``:1.42`` or ``:1.42/path`` strings)."""
    from jeepney import DBusAddress, Properties
    from jeepney.io.blocking import open_dbus_connection

    watcher = DBusAddress(
        "/StatusNotifierWatcher",
        bus_name="org.kde.StatusNotifierWatcher",
        interface="org.kde.StatusNotifierWatcher",
    )
    with open_dbus_connection(bus="SESSION") as conn:
        reply = conn.send_and_get_reply(Properties(watcher).get("RegisteredStatusNotifierItems"))
    _signature, items = reply.body[0]
    return list(items)


def _sni_address(item: str) -> Any:
    """The D-Bus address of a registered item (``:1.42`` or ``:1.42/path``)."""
    from jeepney import DBusAddress

    bus_name, _, path = item.partition("/")
    return DBusAddress(
        "/" + path if path else "/StatusNotifierItem",
        bus_name=bus_name,
        interface="org.kde.StatusNotifierItem",
    )


def sni_bar_empty(bar_height: int = 32, width: int = 240) -> bool:
    """Whether the host's bar shows no icon at its right end (one colour throughout)."""
    shot = screenshot_quiet()
    x0 = max(0, shot.width - width)
    colours = {shot.pixel(x, y) for x in range(x0, shot.width) for y in range(0, bar_height)}
    return len(colours) <= 2


def sni_tooltip(item: str) -> str:
    """The text a StatusNotifierItem offers as its tooltip (title and description), read
    from the item over D-Bus as the tray host reads it. ``item`` as registered."""
    from jeepney import Properties
    from jeepney.io.blocking import open_dbus_connection

    address = _sni_address(item)
    with open_dbus_connection(bus="SESSION") as conn:
        reply = conn.send_and_get_reply(Properties(address).get("ToolTip"))
    _signature, (_icon_name, _pixmaps, title, description) = reply.body[0]
    return "\n".join(part for part in (str(title), str(description)) if part)


def sni_menu_click(item: str, label: str) -> None:
    """Trigger the item's menu entry ``label`` the way a StatusNotifierItem host does: through
    the com.canonical.dbusmenu object named by the item's ``Menu`` property."""
    from jeepney import DBusAddress, Properties, new_method_call
    from jeepney.io.blocking import open_dbus_connection

    address = _sni_address(item)
    with open_dbus_connection(bus="SESSION") as conn:
        menu_path = conn.send_and_get_reply(Properties(address).get("Menu")).body[0][1]
        menu = DBusAddress(menu_path, bus_name=address.bus_name, interface="com.canonical.dbusmenu")
        # Hosts announce that the menu is about to show: Qt fills it in then (aboutToShow).
        conn.send_and_get_reply(new_method_call(menu, "AboutToShow", "i", (0,)))
        layout = conn.send_and_get_reply(
            new_method_call(menu, "GetLayout", "iias", (0, -1, []))
        ).body[1]

        def find(node: Any) -> int | None:
            node_id, properties, children = node
            text = properties.get("label", ("s", ""))[1].replace("&", "")
            if text == label:
                return int(node_id)
            for _signature, child in children:
                found = find(child)
                if found is not None:
                    return found
            return None

        entry = find(layout)
        if entry is None:
            raise DesktopError(f"no menu entry {label!r}")
        conn.send_and_get_reply(
            new_method_call(
                menu, "Event", "isvu", (entry, "clicked", ("i", 0), int(time.time()) & 0xFFFFFFFF)
            )
        )


def bus_name_owner(name: str) -> str | None:
    """Unique name owning ``name`` on the session bus, or None."""
    from jeepney import DBusAddress, MessageType, new_method_call
    from jeepney.io.blocking import open_dbus_connection

    bus = DBusAddress(
        "/org/freedesktop/DBus", bus_name="org.freedesktop.DBus", interface="org.freedesktop.DBus"
    )
    with open_dbus_connection(bus="SESSION") as conn:
        reply = conn.send_and_get_reply(new_method_call(bus, "GetNameOwner", "s", (name,)))
    if reply.header.message_type == MessageType.error:
        return None
    return str(reply.body[0])


# --------------------------------------------------------------------------------------------
# Screenshots
# --------------------------------------------------------------------------------------------

RGB = tuple[int, int, int]

# Every screenshot this process wrote, for conftest's end-of-run summary.
SCREENSHOTS: list[Path] = []


@dataclass
class Screenshot:
    path: Path
    width: int
    height: int
    rgb: bytes = field(repr=False)  # width*height*3, row major

    def pixel(self, x: int, y: int) -> RGB:
        i = (y * self.width + x) * 3
        return self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]

    def _area(self, rect: Rect | None) -> Rect:
        area = rect or Rect(0, 0, self.width, self.height)
        x0, y0 = max(area.x, 0), max(area.y, 0)
        x1 = min(area.x + area.width, self.width)
        y1 = min(area.y + area.height, self.height)
        return Rect(x0, y0, max(x1 - x0, 0), max(y1 - y0, 0))

    def count_color(self, color: RGB, rect: Rect | None = None, tolerance: int = 8) -> int:
        """How many pixels in ``rect`` (default: whole screen) are within ``tolerance`` of color."""
        return sum(1 for _ in self._color_points(color, rect, tolerance))

    def find_color(self, color: RGB, rect: Rect | None = None, tolerance: int = 8) -> Rect | None:
        """Bounding box of the pixels of ``color`` in ``rect``, or None if there are none."""
        xs: list[int] = []
        ys: list[int] = []
        for x, y in self._color_points(color, rect, tolerance):
            xs.append(x)
            ys.append(y)
        if not xs:
            return None
        return Rect(min(xs), min(ys), max(xs) - min(xs) + 1, max(ys) - min(ys) + 1)

    def diff_count(self, other: Screenshot, rect: Rect | None = None) -> int:
        """Pixels in ``rect`` that differ from ``other`` (same screen size assumed)."""
        area = self._area(rect)
        changed = 0
        for y in range(area.y, area.y + area.height):
            start = (y * self.width + area.x) * 3
            end = start + area.width * 3
            a, b = self.rgb[start:end], other.rgb[start:end]
            if a != b:
                changed += sum(1 for i in range(0, len(a), 3) if a[i : i + 3] != b[i : i + 3])
        return changed

    def _color_points(self, color: RGB, rect: Rect | None, tolerance: int) -> Any:
        area = self._area(rect)
        r0, g0, b0 = color
        for y in range(area.y, area.y + area.height):
            row = (y * self.width) * 3
            for x in range(area.x, area.x + area.width):
                i = row + x * 3
                if (
                    abs(self.rgb[i] - r0) <= tolerance
                    and abs(self.rgb[i + 1] - g0) <= tolerance
                    and abs(self.rgb[i + 2] - b0) <= tolerance
                ):
                    yield x, y


def wait_for_color(
    color: RGB, rect: Rect | None = None, timeout: float = 5.0, tolerance: int = 8
) -> Rect:
    """Screenshot until ``color`` shows up in ``rect``; return its bounding box.

    The way to find an SNI icon: the host draws it inside its own window (GTK draws
    client-side, there is no X window per icon), so only the pixels tell where it is. Give the
    app's icon a colour nothing else on the test screen has.
    """

    def found() -> Rect | None:
        grab = screenshot(f"wait-for-color-{color[0]:02x}{color[1]:02x}{color[2]:02x}.png")
        return grab.find_color(color, rect, tolerance)

    return wait_for(found, timeout, interval=0.1, message=f"colour {color} on screen in {rect}")


def _parse_ppm(data: bytes) -> tuple[int, int, bytes]:
    # Binary PPM (P6): magic, width, height, maxval separated by whitespace, then raw RGB.
    fields: list[bytes] = []
    pos = 0
    while len(fields) < 4:
        while data[pos : pos + 1].isspace():
            pos += 1
        if data[pos : pos + 1] == b"#":  # comment to end of line
            pos = data.index(b"\n", pos) + 1
            continue
        end = pos
        while not data[end : end + 1].isspace():
            end += 1
        fields.append(data[pos:end])
        pos = end
    if fields[0] != b"P6" or fields[3] != b"255":
        raise DesktopError(f"unexpected screenshot format {fields!r}")
    width, height = int(fields[1]), int(fields[2])
    pixels = data[pos + 1 : pos + 1 + width * height * 3]
    return width, height, pixels


def _grab_screen() -> bytes:
    """The whole screen as a raw PPM, from ``import -window root``."""
    grab = subprocess.run(
        ["import", "-window", "root", "-depth", "8", "ppm:-"],
        capture_output=True,
        timeout=15,
        check=False,
    )
    if grab.returncode != 0:
        raise DesktopError(f"import failed: {grab.stderr.decode(errors='replace')[:500]}")
    return grab.stdout


def screenshot_quiet() -> Screenshot:
    """The screen's pixels, kept in memory only (no PNG, nothing listed for people)."""
    width, height, pixels = _parse_ppm(_grab_screen())
    return Screenshot(Path(), width, height, pixels)


def screenshot(path: str | Path | None = None) -> Screenshot:
    """Grab the whole screen with ``import -window root``; save a PNG and print its path.

    ``path`` relative (or None: a timestamped name) goes under ``GLMTRAY_ARTIFACTS``.
    The pixels are kept in memory for ``pixel``/``count_color``/``find_color``/``diff_count``.
    """
    if path is None:
        path = f"screen-{time.strftime('%H%M%S')}-{time.monotonic_ns() % 1_000_000:06d}.png"
    target = Path(path)
    if not target.is_absolute():
        target = artifacts_dir() / target
    target.parent.mkdir(parents=True, exist_ok=True)
    # One grab, two outputs: raw PPM for the test to read, PNG for people to look at.
    raw = _grab_screen()
    subprocess.run(["convert", "ppm:-", str(target)], input=raw, timeout=15, check=True)
    width, height, pixels = _parse_ppm(raw)
    print(f"screenshot: {target}", file=sys.stderr)
    SCREENSHOTS.append(target)
    return Screenshot(target, width, height, pixels)


# --------------------------------------------------------------------------------------------
# Notifications (dunst)
# --------------------------------------------------------------------------------------------


class Notification(TypedDict):
    id: int
    appname: str
    summary: str
    body: str


def send_notification(
    summary: str, body: str = "", appname: str = "glmtray-harness", expire_ms: int = 0
) -> int:
    """Send a freedesktop notification over D-Bus (jeepney); returns the daemon's id.

    Not through QtDBus: it cannot build Notify's argument types (the daemon rejects the call).
    """
    from jeepney import DBusAddress, MessageType, new_method_call
    from jeepney.io.blocking import open_dbus_connection

    notifications = DBusAddress(
        "/org/freedesktop/Notifications",
        bus_name="org.freedesktop.Notifications",
        interface="org.freedesktop.Notifications",
    )
    call = new_method_call(
        notifications,
        "Notify",
        "susssasa{sv}i",
        (appname, 0, "", summary, body, [], {}, expire_ms),
    )
    with open_dbus_connection(bus="SESSION") as conn:
        reply = conn.send_and_get_reply(call, timeout=5)
    if reply.header.message_type == MessageType.error:
        raise DesktopError(f"Notify failed: {reply.body}")
    return int(reply.body[0])


def notifications_displayed() -> int:
    """How many notifications dunst shows on screen right now."""
    return int(_run(["dunstctl", "count", "displayed"]).stdout.strip() or 0)


def close_all_notifications() -> None:
    """Close every displayed and queued notification; they move to dunst's history.

    dunst shows queued ones when displayed ones close, so repeat until the screen stays empty.
    """
    for _ in range(50):
        _run(["dunstctl", "close-all"])
        counts = [
            int(_run(["dunstctl", "count", kind]).stdout.strip() or 0)
            for kind in ("displayed", "waiting")
        ]
        if counts == [0, 0]:
            return
    raise DesktopError("dunst kept showing notifications after 50 close-all calls")


def notifications_history(close_displayed: bool = True) -> list[Notification]:
    """Everything dunst has received, newest first.

    dunst 1.9 can only list its *history*, and a notification only gets there once closed;
    with ``close_displayed`` (the default) the ones on screen are closed first so the list is
    complete. Pass False to look without touching the screen (e.g. before a screenshot).
    """
    if close_displayed:
        close_all_notifications()
    raw = json.loads(_run(["dunstctl", "history"]).stdout)
    result: list[Notification] = []
    for entry in raw.get("data", [[]])[0]:

        def value(key: str, item: dict[str, Any] = entry) -> Any:
            return item.get(key, {}).get("data", "")

        result.append(
            Notification(
                id=int(value("id") or 0),
                appname=str(value("appname")),
                summary=str(value("summary")),
                body=str(value("body")),
            )
        )
    return result


def last_notification_id() -> int:
    """The newest id dunst has handed out so far (0 if none); use as ``since_id`` later."""
    return max((n["id"] for n in notifications_history()), default=0)


def wait_for_notification(
    summary: str | None = None,
    appname: str | None = None,
    since_id: int = 0,
    timeout: float = 5.0,
) -> Notification:
    """The newest notification matching summary/appname with an id above ``since_id``."""

    def matching() -> Notification | None:
        for note in notifications_history():
            if note["id"] <= since_id:
                continue
            if summary is not None and note["summary"] != summary:
                continue
            if appname is not None and note["appname"] != appname:
                continue
            return note
        return None

    return wait_for(matching, timeout, interval=0.1, message=f"notification {summary=} {appname=}")


# --------------------------------------------------------------------------------------------
# Secret Service (gnome-keyring)
# --------------------------------------------------------------------------------------------


def secret_service() -> Any:
    """keyring's SecretService backend, explicitly: never a fallback or a plaintext file."""
    from keyring.backends import SecretService

    try:
        # keyring's priority check raises when secretstorage cannot reach a usable service.
        SecretService.Keyring.priority  # noqa: B018
    except Exception as exc:
        raise DesktopError(f"Secret Service not usable: {exc}") from exc
    backend: Any = SecretService.Keyring  # keyring ships no type hints for it
    return backend()


def secret_service_store(service: str, username: str, password: str) -> None:
    secret_service().set_password(service, username, password)


def secret_service_lookup(service: str, username: str) -> str | None:
    value: str | None = secret_service().get_password(service, username)
    return value


def secret_service_has(service: str, username: str) -> bool:
    return secret_service_lookup(service, username) is not None


def secret_service_delete(service: str, username: str) -> bool:
    """Delete the item; False if there was none."""
    from keyring.errors import PasswordDeleteError

    try:
        secret_service().delete_password(service, username)
    except PasswordDeleteError:
        return False
    return True


def _secrets_call(
    path: str, interface: str, method: str, signature: str, body: tuple[Any, ...]
) -> Any:
    from jeepney import DBusAddress, MessageType, new_method_call
    from jeepney.io.blocking import open_dbus_connection

    address = DBusAddress(path, bus_name=SECRETS_BUS_NAME, interface=interface)
    with open_dbus_connection(bus="SESSION") as conn:
        reply = conn.send_and_get_reply(new_method_call(address, method, signature, body))
    if reply.header.message_type == MessageType.error:
        raise DesktopError(f"{interface}.{method} failed: {reply.body}")
    return reply.body


def secret_service_items(service: str) -> list[str]:
    """Object paths of every Secret Service item whose ``service`` attribute is ``service``.

    keyring stores that attribute on each item, so this sees what an app stored no matter which
    process or library stored it; locked items are listed too.
    """
    unlocked, locked = _secrets_call(
        SECRETS_PATH, SECRET_SERVICE_IFACE, "SearchItems", "a{ss}", ({"service": service},)
    )
    return [*unlocked, *locked]


def default_collection() -> str:
    """Object path of the collection the ``default`` alias points at (gnome-keyring: login)."""
    path = str(_secrets_call(SECRETS_PATH, SECRET_SERVICE_IFACE, "ReadAlias", "s", ("default",))[0])
    if path == "/":
        raise DesktopError("the Secret Service has no default collection")
    return path


def keyring_locked(collection: str | None = None) -> bool:
    from jeepney import DBusAddress, Properties
    from jeepney.io.blocking import open_dbus_connection

    address = DBusAddress(
        collection or default_collection(),
        bus_name=SECRETS_BUS_NAME,
        interface=SECRET_COLLECTION_IFACE,
    )
    with open_dbus_connection(bus="SESSION") as conn:
        reply = conn.send_and_get_reply(Properties(address).get("Locked"))
    _signature, locked = reply.body[0]
    return bool(locked)


def lock_keyring(collection: str | None = None) -> None:
    """Lock the default (login) collection with org.freedesktop.Secret.Service.Lock.

    gnome-keyring locks without a prompt. Afterwards every keyring call that needs the secret
    fails at once with KeyringLocked: the session bus has no prompter to activate (see
    .ci/desktop-session), as on a desktop whose user dismisses the unlock dialog.
    """
    target = collection or default_collection()
    _secrets_call(SECRETS_PATH, SECRET_SERVICE_IFACE, "Lock", "ao", ([target],))
    if not keyring_locked(target):
        raise DesktopError(f"{target} is still unlocked after Lock")


def unlock_keyring(password: str | None = None, collection: str | None = None) -> None:
    """Unlock again with the session's throwaway password, without any dialog.

    The standard Unlock call would need a prompt window; gnome-keyring's internal
    UnlockWithMasterPassword takes the password as a Secret built on a "plain" session, and
    that session must live on the same connection as the call.
    """
    from jeepney import DBusAddress, MessageType, new_method_call
    from jeepney.io.blocking import open_dbus_connection

    secret = password if password is not None else os.environ.get("GLMTRAY_KEYRING_PASSWORD")
    if not secret:
        raise DesktopError("no keyring password: GLMTRAY_KEYRING_PASSWORD is not set")
    target = collection or default_collection()
    service = DBusAddress(SECRETS_PATH, bus_name=SECRETS_BUS_NAME, interface=SECRET_SERVICE_IFACE)
    internal = DBusAddress(
        SECRETS_PATH, bus_name=SECRETS_BUS_NAME, interface=GNOME_KEYRING_INTERNAL_IFACE
    )
    with open_dbus_connection(bus="SESSION") as conn:
        opened = conn.send_and_get_reply(
            new_method_call(service, "OpenSession", "sv", ("plain", ("s", "")))
        )
        session_path = opened.body[1]
        reply = conn.send_and_get_reply(
            new_method_call(
                internal,
                "UnlockWithMasterPassword",
                "o(oayays)",
                (target, (session_path, b"", secret.encode(), "text/plain")),
            )
        )
    if reply.header.message_type == MessageType.error:
        raise DesktopError(f"UnlockWithMasterPassword failed: {reply.body}")
    if keyring_locked(target):
        raise DesktopError(f"{target} is still locked after UnlockWithMasterPassword")


# --------------------------------------------------------------------------------------------
# Processes
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProcessInfo:
    pid: int
    ppid: int
    state: str
    name: str  # /proc/PID/comm (15 chars at most)
    cmdline: tuple[str, ...]


def _process_info(pid: int) -> ProcessInfo | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        raw_cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    # comm sits in parentheses and may itself contain spaces or parentheses.
    name = stat[stat.index("(") + 1 : stat.rindex(")")]
    state, ppid = stat[stat.rindex(")") + 2 :].split()[:2]
    cmdline = tuple(part.decode(errors="replace") for part in raw_cmd.split(b"\0") if part)
    return ProcessInfo(pid, int(ppid), state, name, cmdline)


def all_processes() -> list[ProcessInfo]:
    procs = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            info = _process_info(int(entry.name))
            if info is not None:
                procs.append(info)
    return procs


def process_tree(pid: int) -> list[ProcessInfo]:
    """``pid`` and all its descendants that are still running (zombies left out)."""
    procs = all_processes()
    children: dict[int, list[ProcessInfo]] = {}
    by_pid = {p.pid: p for p in procs}
    for proc in procs:
        children.setdefault(proc.ppid, []).append(proc)
    tree: list[ProcessInfo] = []
    todo = [by_pid[pid]] if pid in by_pid else []
    while todo:
        proc = todo.pop()
        if proc.state != "Z":
            tree.append(proc)
        todo.extend(children.get(proc.pid, []))
    return tree


def process_tree_alive(pid: int) -> bool:
    """True while ``pid`` or any descendant still runs (a zombie is not alive)."""
    return bool(process_tree(pid))


def _session_tagged(pid: int) -> bool:
    tag = os.environ.get("GLMTRAY_DESKTOP_SESSION")
    if not tag:
        return True  # outside a tagged session every process counts
    try:
        env = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return False
    return f"GLMTRAY_DESKTOP_SESSION={tag}".encode() in env.split(b"\0")


def _ancestors(pid: int) -> set[int]:
    seen = set()
    while pid > 1 and pid not in seen:
        seen.add(pid)
        info = _process_info(pid)
        if info is None:
            break
        pid = info.ppid
    return seen


def leftover_processes(name: str) -> list[ProcessInfo]:
    """Running processes *of this desktop session* whose name or command line mentions ``name``.

    Scoped by the GLMTRAY_DESKTOP_SESSION tag that every process of the session inherits, so
    another session's Xvfb or app on the same machine never counts (CI machines are shared).
    The test process and its ancestors are left out: they mention the test's own command line.
    """
    mine = _ancestors(os.getpid())
    found = []
    for proc in all_processes():
        if proc.pid in mine or proc.state == "Z":
            continue
        if name not in proc.name and not any(name in part for part in proc.cmdline):
            continue
        if _session_tagged(proc.pid):
            found.append(proc)
    return found


def no_leftover_processes(name: str) -> bool:
    return not leftover_processes(name)


def terminate_tree(pid: int, timeout: float = 3.0) -> None:
    """SIGTERM ``pid`` and its descendants, wait, then SIGKILL whatever is left."""
    import signal

    for sig in (signal.SIGTERM, signal.SIGKILL):
        for proc in process_tree(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, sig)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not process_tree_alive(pid):
                return
            time.sleep(0.05)


# --------------------------------------------------------------------------------------------
# Launching the app under test
# --------------------------------------------------------------------------------------------


class LaunchedApp:
    """A program started for a test, its output collected line by line into the artifacts.

    Lines that are JSON objects with an ``event`` key (what sample_tray.py prints) are also
    available parsed, for tests that want to know the app's own view.
    """

    def __init__(self, argv: Sequence[str], log_name: str, env: dict[str, str] | None = None):
        self.argv = list(argv)
        self.log_path = artifacts_dir() / log_name
        self.lines: list[str] = []
        self._lock = threading.Lock()
        self._log: IO[str] = self.log_path.open("w", encoding="utf-8")
        self.process = subprocess.Popen(
            self.argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, **(env or {})},
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int:
        return self.process.pid

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._lock:
                self.lines.append(line.rstrip("\n"))
            self._log.write(line)
            self._log.flush()

    def events(self) -> list[dict[str, Any]]:
        with self._lock:
            lines = list(self.lines)
        parsed = []
        for line in lines:
            if line.startswith("{"):
                try:
                    obj = json.loads(line)
                except ValueError:
                    continue
                if isinstance(obj, dict) and "event" in obj:
                    parsed.append(obj)
        return parsed

    def wait_event(self, name: str, timeout: float = 10.0) -> dict[str, Any]:
        def found() -> dict[str, Any] | None:
            for event in self.events():
                if event["event"] == name:
                    return event
            if self.process.poll() is not None:
                raise WaitTimeout(
                    f"{self.argv[0]} exited {self.process.returncode} before {name!r}; "
                    f"log: {self.log_path}"
                )
            return None

        try:
            return wait_for(found, timeout, message=f"event {name!r} from {self.argv}")
        except WaitTimeout as exc:
            raise WaitTimeout(f"{exc}; log: {self.log_path}") from None

    def stop(self, timeout: float = 3.0) -> None:
        terminate_tree(self.pid, timeout)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout)
        self._reader.join(timeout)
        self._log.close()


def launch(
    argv: Sequence[str], log_name: str | None = None, env: dict[str, str] | None = None
) -> LaunchedApp:
    name = log_name or f"{Path(argv[0]).name}-{time.monotonic_ns() % 1_000_000:06d}.log"
    return LaunchedApp(argv, name, env)
