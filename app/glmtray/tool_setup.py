"""What to set in each coding tool so that its requests go through the local meter.

The meter forwards both of the platform's coding endpoints unchanged; a tool only swaps its
base URL for the meter's. Keys stay in the tools' own settings: nothing here carries one.

For Claude Code and OpenCode glmtray can also write the setting itself (`tool_targets`):
the entries here say what goes where, `glmtray.tool_config` does the careful writing.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from glmtray.i18n import _
from glmtray.platform.regions import REGIONS, Region
from glmtray.tool_config import REMOVE, Entry

ANTHROPIC_PATH = "/api/anthropic"
OPENAI_PATH = "/api/coding/paas/v4"


@dataclass(frozen=True)
class ToolSetup:
    tool: str
    where: str
    """Where the setting goes, in the tool's own words."""
    text: str
    """Exactly what to paste."""


def meter_base(port: int) -> str:
    return f"http://127.0.0.1:{port}"


def tool_setups(port: int) -> list[ToolSetup]:
    base = meter_base(port)
    return [
        ToolSetup(
            "Claude Code",
            _('environment, or "env" in ~/.claude/settings.json'),
            f"ANTHROPIC_BASE_URL={base}{ANTHROPIC_PATH}",
        ),
        ToolSetup(
            "OpenCode",
            _("opencode.json, provider options"),
            f'"baseURL": "{base}{OPENAI_PATH}"',
        ),
        ToolSetup(
            "Cline",
            _("API Provider: OpenAI Compatible, Base URL"),
            f"{base}{OPENAI_PATH}",
        ),
    ]


# -- one-click setup -----------------------------------------------------------------------
# The same settings, written into the tools' own files (through glmtray.tool_config, which
# shows the change first, keeps a backup and can undo it).

STATUSLINE_COMMAND = "glmtray statusline"
STATUSLINE_REFRESH_SECONDS = 30
"""Claude Code's `statusLine.refreshInterval`, read by 2.1.97 and later: without
it the line is run only when the conversation changes, so an idle session, or one waiting
out 429 retries, shows the plan's state of its last message for as long as it lasts."""
OPENCODE_PROVIDERS: dict[Region, str] = {
    Region.GLOBAL: "zai-coding-plan",
    Region.CHINA: "zhipuai-coding-plan",
}
"""OpenCode's built-in providers for the Coding Plan (from models.dev), one per region."""

_LOOPBACK_URL = r"http://(?:127\.0\.0\.1|localhost|\[::1\]):\d{1,5}"


@dataclass(frozen=True)
class ToolTarget:
    """One coding tool's settings file and what glmtray writes into it."""

    tool: str
    path: Path
    setup: tuple[Entry, ...]
    """Point the tool at the meter."""
    removal: tuple[Entry, ...]
    """Take glmtray's entries out again (only those that are still glmtray's)."""


def is_meter_url(value: object, path: str) -> bool:
    """Whether `value` is a meter address (any port on loopback) for the endpoint `path`."""
    return isinstance(value, str) and bool(
        re.fullmatch(_LOOPBACK_URL + re.escape(path) + "/?", value.strip())
    )


def is_glmtray_statusline(value: object) -> bool:
    """Whether a Claude Code `statusLine` runs glmtray's status line (with any options)."""
    if not isinstance(value, dict) or value.get("type") != "command":
        return False
    command = value.get("command")
    return isinstance(command, str) and "glmtray" in command and "statusline" in command


def statusline_command(
    *,
    which: Callable[[str], str | None] = shutil.which,
    launch: Sequence[str] | None = None,
) -> str:
    """The command Claude Code runs for the status line: `glmtray statusline` when glmtray
    is on PATH, otherwise the running glmtray by its absolute path."""
    if which("glmtray"):
        return STATUSLINE_COMMAND
    from glmtray.autostart import launch_command

    command = [*(launch if launch is not None else launch_command()), "statusline"]
    if sys.platform == "win32":
        return subprocess.list2cmdline(command)
    return shlex.join(command)


def claude_settings_path(
    environ: Mapping[str, str] | None = None, home: Path | None = None
) -> Path:
    """Claude Code's user settings: `settings.json` in `CLAUDE_CONFIG_DIR`, else `~/.claude`."""
    environ = os.environ if environ is None else environ
    folder = environ.get("CLAUDE_CONFIG_DIR", "").strip()
    if folder:
        return Path(folder).expanduser() / "settings.json"
    return (home or Path.home()) / ".claude" / "settings.json"


def opencode_config_path(
    environ: Mapping[str, str] | None = None, home: Path | None = None
) -> Path:
    """OpenCode's global config: `opencode.json` (or an existing `opencode.jsonc`) in
    `$XDG_CONFIG_HOME/opencode`, which is `~/.config/opencode` on every system by default."""
    environ = os.environ if environ is None else environ
    xdg = environ.get("XDG_CONFIG_HOME", "").strip()
    config = Path(xdg) if xdg and os.path.isabs(xdg) else (home or Path.home()) / ".config"
    folder = config / "opencode"
    for name in ("opencode.json", "opencode.jsonc"):
        if (folder / name).exists():
            return folder / name
    return folder / "opencode.json"


def claude_code_target(
    port: int,
    region: Region,
    *,
    command: str | None = None,
    environ: Mapping[str, str] | None = None,
    home: Path | None = None,
) -> ToolTarget:
    meter_url = f"{meter_base(port)}{ANTHROPIC_PATH}"
    statusline = {
        "type": "command",
        "command": command or statusline_command(),
        "refreshInterval": STATUSLINE_REFRESH_SECONDS,
    }
    return ToolTarget(
        tool="Claude Code",
        path=claude_settings_path(environ, home),
        setup=(
            Entry(("env", "ANTHROPIC_BASE_URL"), meter_url),
            # A glmtray status line already there (perhaps with a format option) is kept.
            Entry(("statusLine",), statusline, applies=lambda old: not is_glmtray_statusline(old)),
        ),
        removal=(
            # Back to the platform itself rather than no address at all: with none, Claude
            # Code would send the Coding Plan key to Anthropic.
            Entry(
                ("env", "ANTHROPIC_BASE_URL"),
                f"{REGIONS[region].api_base}{ANTHROPIC_PATH}",
                applies=lambda old: is_meter_url(old, ANTHROPIC_PATH),
            ),
            Entry(("statusLine",), REMOVE, applies=is_glmtray_statusline),
        ),
    )


def opencode_target(
    port: int,
    region: Region,
    *,
    environ: Mapping[str, str] | None = None,
    home: Path | None = None,
) -> ToolTarget:
    key = ("provider", OPENCODE_PROVIDERS[region], "options", "baseURL")
    return ToolTarget(
        tool="OpenCode",
        path=opencode_config_path(environ, home),
        setup=(Entry(key, f"{meter_base(port)}{OPENAI_PATH}"),),
        # Without the option the built-in provider uses the platform's own address again.
        removal=(Entry(key, REMOVE, applies=lambda old: is_meter_url(old, OPENAI_PATH)),),
    )


def tool_targets(port: int, region: Region) -> list[ToolTarget]:
    """The tools whose settings glmtray can write: Claude Code and OpenCode (Cline keeps its
    settings inside the editor, so it gets the text to paste)."""
    return [claude_code_target(port, region), opencode_target(port, region)]
