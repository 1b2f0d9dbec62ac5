"""What the tray app needs from a Linux system before Qt can open a window.

Qt's X11 platform plugin aborts with a one-line "could not load the Qt platform plugin
xcb" when a system library is missing, naming none of them (libxcb-cursor0 most often,
since Qt 6.5). A person running glmtray from source deserves the list, and the command
that installs it.
"""

from __future__ import annotations

import ctypes
import os
import sys

from glmtray.i18n import _

# Debian package -> the shared library Qt asks for by that very name (the NEEDED entries of
# Qt's xcb plugin and of QtGui): what the dynamic loader must find, nothing looser.
XCB_LIBRARIES = {
    "libxcb-cursor0": "libxcb-cursor.so.0",
    "libxkbcommon-x11-0": "libxkbcommon-x11.so.0",
    "libxcb-icccm4": "libxcb-icccm.so.4",
    "libxcb-keysyms1": "libxcb-keysyms.so.1",
    "libxcb-image0": "libxcb-image.so.0",
    "libxcb-render-util0": "libxcb-render-util.so.0",
    "libxcb-shape0": "libxcb-shape.so.0",
    "libxcb-randr0": "libxcb-randr.so.0",
    "libegl1": "libEGL.so.1",
    "libfontconfig1": "libfontconfig.so.1",
}


def library_loads(soname: str) -> bool:
    """Whether the dynamic loader finds and loads `soname`, as Qt is about to. Loading it
    here costs nothing extra (Qt maps the same file moments later) and takes a few ms,
    where asking ldconfig for each library took 15-25 ms of every start."""
    try:
        ctypes.CDLL(soname, mode=os.RTLD_LAZY)
    except OSError:
        return False
    return True


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
    return [package for package, soname in XCB_LIBRARIES.items() if not library_loads(soname)]


def missing_message(packages: list[str]) -> str:
    return _(
        "the tray app needs these system libraries, which are not installed: {packages}.\n"
        "On Debian or Ubuntu: sudo apt install {command}\n"
        '(see the README, "Running from source on Linux").'
    ).format(packages=", ".join(packages), command=" ".join(packages))
