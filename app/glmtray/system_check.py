"""What the tray app needs from a Linux system before Qt can open a window.

Qt's X11 platform plugin aborts with a one-line "could not load the Qt platform plugin
xcb" when a system library is missing, naming none of them (libxcb-cursor0 most often,
since Qt 6.5). A person running glmtray from source deserves the list, and the command
that installs it.
"""

from __future__ import annotations

import ctypes.util
import os
import sys

from glmtray.i18n import _

# Debian package -> the library name ctypes looks for.
XCB_LIBRARIES = {
    "libxcb-cursor0": "xcb-cursor",
    "libxkbcommon-x11-0": "xkbcommon-x11",
    "libxcb-icccm4": "xcb-icccm",
    "libxcb-keysyms1": "xcb-keysyms",
    "libxcb-image0": "xcb-image",
    "libxcb-render-util0": "xcb-render-util",
    "libxcb-shape0": "xcb-shape",
    "libxcb-randr0": "xcb-randr",
    "libegl1": "EGL",
    "libfontconfig1": "fontconfig",
}


def uses_xcb(environ: dict[str, str] | None = None) -> bool:
    """Whether Qt will use its X11 plugin: Linux, a display, and no other platform chosen."""
    env = os.environ if environ is None else environ
    platform = env.get("QT_QPA_PLATFORM", "")
    if not sys.platform.startswith("linux") or (platform and not platform.startswith("xcb")):
        return False
    return bool(env.get("DISPLAY")) and not (env.get("WAYLAND_DISPLAY") and not platform)


def missing_packages(environ: dict[str, str] | None = None) -> list[str]:
    """The Debian packages of the X11 libraries Qt needs and this system lacks."""
    if not uses_xcb(environ):
        return []
    return [package for package, name in XCB_LIBRARIES.items() if not ctypes.util.find_library(name)]


def missing_message(packages: list[str]) -> str:
    return _(
        "the tray app needs these system libraries, which are not installed: {packages}.\n"
        "On Debian or Ubuntu: sudo apt install {command}\n"
        '(see the README, "Running from source on Linux").'
    ).format(packages=", ".join(packages), command=" ".join(packages))
