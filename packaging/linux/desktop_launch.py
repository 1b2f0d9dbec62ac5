"""The command a launcher runs for a desktop entry, from its Exec key.

    python3 packaging/linux/desktop_launch.py FILE.desktop

Prints the program and its arguments, each ended by a NUL byte (bash: `mapfile -d ''`), the
way the Desktop Entry Specification (1.5, "The Exec key") has a launcher build them when no
file or URL is given: string escapes undone, then quoting; %f %F %u %U and the deprecated
codes dropped, %i becomes `--icon <Icon>`, %c the Name, %k the entry's path, %% a percent
sign. packaging/linux/test-deb.sh starts the installed package this way.

Standard library only: it runs with whatever python3 the machine has.
"""

from __future__ import annotations

import sys
from pathlib import Path

GROUP = "Desktop Entry"
DROPPED_FIELD_CODES = frozenset("fFuUdDnNvm")
"""File and URL codes (nothing to open here) and the deprecated ones."""
STRING_ESCAPES = {"s": " ", "n": "\n", "t": "\t", "r": "\r", "\\": "\\"}
QUOTED_ESCAPES = frozenset('"`$\\')


class DesktopEntryError(ValueError):
    pass


def entry_values(text: str) -> dict[str, str]:
    """The [Desktop Entry] group's keys, values still escaped."""
    values: dict[str, str] = {}
    group = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            group = line[1:-1]
        elif group == GROUP and "=" in line:
            key, value = line.split("=", 1)
            values.setdefault(key.strip(), value.strip())
    return values


def unescape_string(value: str) -> str:
    """The `string` type's escapes (\\s \\n \\t \\r \\\\)."""
    out: list[str] = []
    i = 0
    while i < len(value):
        if value[i] == "\\" and i + 1 < len(value) and value[i + 1] in STRING_ESCAPES:
            out.append(STRING_ESCAPES[value[i + 1]])
            i += 2
        else:
            out.append(value[i])
            i += 1
    return "".join(out)


def split_exec(value: str) -> list[tuple[str, bool]]:
    """Arguments of an unescaped Exec value, each with whether it was quoted."""
    arguments: list[tuple[str, bool]] = []
    current: list[str] = []
    started = quoted = in_quotes = False
    i = 0
    while i < len(value):
        c = value[i]
        if in_quotes:
            if c == "\\" and i + 1 < len(value) and value[i + 1] in QUOTED_ESCAPES:
                current.append(value[i + 1])
                i += 1
            elif c == '"':
                in_quotes = False
            else:
                current.append(c)
        elif c == '"':
            in_quotes = started = quoted = True
        elif c in " \t\n":
            if started:
                arguments.append(("".join(current), quoted))
                current, started, quoted = [], False, False
        else:
            current.append(c)
            started = True
        i += 1
    if in_quotes:
        raise DesktopEntryError(f"unterminated quote in Exec={value}")
    if started:
        arguments.append(("".join(current), quoted))
    return arguments


def expand_field_codes(argument: str, entry: dict[str, str], path: str) -> list[str]:
    """One unquoted argument after field-code expansion: none, one or (for %i) two."""
    if argument == "%i":
        icon = entry.get("Icon")
        return ["--icon", unescape_string(icon)] if icon else []
    if len(argument) == 2 and argument[0] == "%" and argument[1] in DROPPED_FIELD_CODES:
        return []
    out: list[str] = []
    i = 0
    while i < len(argument):
        c = argument[i]
        if c == "%" and i + 1 < len(argument):
            code = argument[i + 1]
            if code == "%":
                out.append("%")
            elif code == "c":
                out.append(unescape_string(entry.get("Name", "")))
            elif code == "k":
                out.append(path)
            elif code not in DROPPED_FIELD_CODES:
                raise DesktopEntryError(f"unknown field code %{code} in {argument!r}")
            i += 2
        else:
            out.append(c)
            i += 1
    return ["".join(out)]


def launch_command(text: str, path: str = "") -> list[str]:
    """The argument vector a launcher runs for the entry `text` (read from `path`)."""
    entry = entry_values(text)
    if entry.get("Type") != "Application" or "Exec" not in entry:
        raise DesktopEntryError("not an application entry with an Exec key")
    command: list[str] = []
    for argument, quoted in split_exec(unescape_string(entry["Exec"])):
        # Field codes are not allowed inside quotes; an escaped percent sign is.
        command += (
            [argument.replace("%%", "%")] if quoted else expand_field_codes(argument, entry, path)
        )
    if not command:
        raise DesktopEntryError("Exec names no program")
    return command


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    path = Path(argv[0])
    try:
        command = launch_command(path.read_text(encoding="utf-8"), str(path))
    except (OSError, DesktopEntryError) as error:
        print(f"desktop_launch: {path}: {error}", file=sys.stderr)
        return 1
    sys.stdout.write("".join(f"{argument}\0" for argument in command))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
