"""Derive glmtray's XDG autostart entry from the installed desktop entry.

    python packaging/linux/make_autostart.py [-o FILE] [-- PROGRAM [ARG ...]]

Packagers install the output as /etc/xdg/autostart/io.github.glmtray.GlmTray.desktop (or the
app writes its own copy to ~/.config/autostart when the user ticks "start at login"). Deriving
it from packaging/linux/io.github.glmtray.GlmTray.desktop keeps the name, comment and icon a
user sees in "Startup Applications" identical to the menu entry; tests/test_packaging.py checks
both against glmtray.autostart.desktop_entry(), which the app uses at run time.

Standard library only, so distribution build scripts can run it without the venv.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from glmtray.autostart import desktop_exec as exec_line

DESKTOP_FILE = Path(__file__).resolve().with_name("io.github.glmtray.GlmTray.desktop")
GROUP = "Desktop Entry"

# The keys that describe the app; launcher-only keys (Categories, Keywords, GenericName,
# StartupNotify) mean nothing to a session manager starting it at login.
COPIED_KEYS = ("Type", "Name", "Comment", "Icon", "Terminal")


def parse_desktop_entry(text: str, group: str = GROUP) -> dict[str, str]:
    """The keys of one group, in file order. Comments, blank lines and other groups are skipped;
    localized keys (Name[de]) are kept under their full name. Values stay escaped."""
    entries: dict[str, str] = {}
    current = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1]
            continue
        if current == group and "=" in line:
            key, value = line.split("=", 1)
            entries[key.strip()] = value.strip()
    if not entries:
        raise ValueError(f"no [{group}] group with keys")
    return entries


def autostart_entry(desktop_text: str, command: list[str] | None = None) -> str:
    """The autostart entry for `command` (default: the desktop entry's own Exec line)."""
    entry = parse_desktop_entry(desktop_text)
    missing = [key for key in ("Type", "Name", "Exec", "Icon") if key not in entry]
    if missing:
        raise ValueError(f"desktop entry lacks {', '.join(missing)}")
    lines = ["[Desktop Entry]"]
    lines += [f"{key}={entry[key]}" for key in COPIED_KEYS if key in entry]
    # Translations of the copied keys travel with them (Name[zh_CN]=...).
    lines += [
        f"{key}={value}"
        for key, value in entry.items()
        if "[" in key and key.split("[", 1)[0] in ("Name", "Comment")
    ]
    lines.append(f"Exec={exec_line(command) if command else entry['Exec']}")
    # GNOME's session manager reads this flag; the others ignore it. Starting a moment late is
    # not needed: glmtray keeps retrying until a tray host appears.
    lines.append("X-GNOME-Autostart-enabled=true")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--desktop-file", type=Path, default=DESKTOP_FILE)
    parser.add_argument(
        "command",
        nargs="*",
        metavar="ARG",
        help="program and arguments to start at login, after `--` "
        "(default: the desktop entry's Exec)",
    )
    parser.add_argument("-o", "--output", type=Path, help="write here instead of stdout")
    args = parser.parse_args(argv)
    text = autostart_entry(args.desktop_file.read_text(encoding="utf-8"), args.command)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
