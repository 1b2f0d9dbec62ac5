"""Start at login: an XDG autostart entry on Linux, a LaunchAgent on macOS, a Run key on Windows."""

from __future__ import annotations

import contextlib
import os
import plistlib
import sys
from pathlib import Path

from glmtray import APP_ID, APP_NAME

_RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"


def launch_command() -> list[str]:
    """How to start this glmtray again: the frozen binary, or this interpreter with -m."""
    if getattr(sys, "frozen", False):
        return [sys.executable]
    return [sys.executable, "-m", "glmtray"]


def xdg_autostart_path() -> Path:
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "autostart" / f"{APP_ID}.desktop"


def launch_agent_path() -> Path:
    return Path.home() / "Library" / "LaunchAgents" / f"{APP_ID}.plist"


# Characters that force an Exec argument into double quotes (Desktop Entry Specification,
# "The Exec key"); inside the quotes these four need a backslash.
_EXEC_RESERVED = set(" \t\n\"'\\><~|&;$*?#()`")
_ESCAPED_IN_QUOTES = '"`$\\'


def quote_exec_argument(argument: str) -> str:
    """One Exec argument, quoted as the specification requires and escaped as a string value."""
    if argument and not (_EXEC_RESERVED & set(argument)):
        quoted = argument
    else:
        inner = "".join("\\" + c if c in _ESCAPED_IN_QUOTES else c for c in argument)
        quoted = f'"{inner}"'
    # String-value escaping is applied on top of the quoting: a backslash is written twice
    # again, and a literal % must not be read as a field code (%f, %u, ...).
    return quoted.replace("\\", "\\\\").replace("%", "%%")


def desktop_exec(command: list[str]) -> str:
    """An Exec= value (single quotes, as shlex writes them, are not allowed there)."""
    if not command:
        raise ValueError("empty command")
    return " ".join(quote_exec_argument(argument) for argument in command)


def desktop_entry(command: list[str]) -> str:
    """The autostart entry, derived from the same fields as the installed desktop entry."""
    return "\n".join(
        [
            "[Desktop Entry]",
            "Type=Application",
            f"Name={APP_NAME}",
            "Comment=GLM Coding Plan quota, renewal and risk monitor",
            f"Exec={desktop_exec(command)}",
            f"Icon={APP_ID}",
            "Terminal=false",
            "X-GNOME-Autostart-enabled=true",
            "",
        ]
    )


def is_enabled() -> bool:
    if sys.platform == "darwin":
        return launch_agent_path().exists()
    if sys.platform == "win32":
        import winreg

        try:
            with winreg.OpenKey(winreg.HKEY_CURRENT_USER, _RUN_KEY) as key:
                winreg.QueryValueEx(key, APP_NAME)
            return True
        except OSError:
            return False
    return xdg_autostart_path().exists()


def set_enabled(enabled: bool, command: list[str] | None = None) -> None:
    command = command or launch_command()
    if sys.platform == "darwin":
        path = launch_agent_path()
        if enabled:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(
                plistlib.dumps({"Label": APP_ID, "ProgramArguments": command, "RunAtLoad": True})
            )
        else:
            path.unlink(missing_ok=True)
        return
    if sys.platform == "win32":
        import winreg

        with winreg.OpenKey(winreg.HKEY_CURRENT_USER, _RUN_KEY, 0, winreg.KEY_SET_VALUE) as key:
            if enabled:
                winreg.SetValueEx(
                    key, APP_NAME, 0, winreg.REG_SZ, " ".join(f'"{c}"' for c in command)
                )
            else:
                with contextlib.suppress(FileNotFoundError):
                    winreg.DeleteValue(key, APP_NAME)
        return
    path = xdg_autostart_path()
    if enabled:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(desktop_entry(command), encoding="utf-8")
    else:
        path.unlink(missing_ok=True)
