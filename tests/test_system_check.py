"""The tray app names the system libraries Qt's X11 plugin needs, instead of Qt's abort."""

from __future__ import annotations

import pytest

from glmtray import system_check
from glmtray.cli import main


def test_only_an_x11_session_on_linux_is_checked() -> None:
    assert system_check.uses_xcb({"DISPLAY": ":0"}) == system_check.sys.platform.startswith("linux")
    assert not system_check.uses_xcb({"DISPLAY": ":0", "QT_QPA_PLATFORM": "offscreen"})
    assert not system_check.uses_xcb({})  # no display: nothing to open a window on
    assert not system_check.uses_xcb({"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0"})


def test_a_missing_library_is_named_with_its_install_command(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DISPLAY", ":99")
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr(system_check.sys, "platform", "linux")
    real = system_check.ctypes.util.find_library
    monkeypatch.setattr(
        system_check.ctypes.util,
        "find_library",
        lambda name: None if name == "xcb-cursor" else real(name) or "present",
    )
    assert main([]) == 1
    err = capsys.readouterr().err
    assert "libxcb-cursor0" in err and "sudo apt install libxcb-cursor0" in err
