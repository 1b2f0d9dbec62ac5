"""What to set in each coding tool so that its requests go through the local meter.

The meter forwards both of the platform's coding endpoints unchanged; a tool only swaps its
base URL for the meter's. Keys stay in the tools' own settings: nothing here carries one.
"""

from __future__ import annotations

from dataclasses import dataclass

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
            'environment, or "env" in ~/.claude/settings.json',
            f"ANTHROPIC_BASE_URL={base}{ANTHROPIC_PATH}",
        ),
        ToolSetup(
            "OpenCode",
            "opencode.json, provider options",
            f'"baseURL": "{base}{OPENAI_PATH}"',
        ),
        ToolSetup(
            "Cline",
            "API Provider: OpenAI Compatible, Base URL",
            f"{base}{OPENAI_PATH}",
        ),
    ]
