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
    monkeypatch.setattr(
        system_check, "library_loads", lambda soname: soname != "libxcb-cursor.so.0"
    )
    assert main([]) == 1
    err = capsys.readouterr().err
    assert "libxcb-cursor0" in err and "sudo apt install libxcb-cursor0" in err


def test_a_library_is_present_when_the_loader_loads_it() -> None:
    assert system_check.library_loads("libc.so.6") == system_check.sys.platform.startswith("linux")
    assert not system_check.library_loads("libglmtray-no-such-library.so.0")


@pytest.mark.skipif(not system_check.sys.platform.startswith("linux"), reason="X11 libraries")
def test_this_machine_has_every_library_qt_needs() -> None:
    """The test machine installs them (.ci/run): nothing may be reported missing."""
    assert system_check.missing_packages({"DISPLAY": ":0"}) == []
