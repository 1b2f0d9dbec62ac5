"""The demo's story: what a subscriber's day can bring, played in under two minutes.

`glmtray --demo` shows every feature against the built-in simulator. Quota bars alone
would not: this script also plays the coding tools' side. It writes Claude Code-style
transcripts (two coding sessions in two projects, then a throttled request, then a
fair-use restriction) into a throwaway folder that the demo's risk monitor reads, and
moves the simulator through a renewal coming up and a weekly window running out, asking
the app for a refresh after each step so the panel, the icon and the notifications follow.

Plain Python and a thread of its own; it touches nothing of the user's.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum
from pathlib import Path
from typing import Protocol

log = logging.getLogger(__name__)

PROJECTS = ("-home-dev-shop", "-home-dev-api")
"""Claude Code's folder names for /home/dev/shop and /home/dev/api."""
KEEP_ALIVE_SECONDS = 20.0
"""Sessions stay "active" while they write a reply at least this often."""


class Act(str, Enum):
    SESSIONS = "sessions"
    """Two coding sessions start working (concurrency in use)."""
    THROTTLE = "throttle"
    """A request refused for concurrency (1302)."""
    RENEWAL = "renewal"
    """The last day to cancel before the renewal is tomorrow: the reminder's moment."""
    RESTRICT = "restrict"
    """A fair-use restriction (1313): the risk banner, a strike and a notice."""
    WEEKLY_OUT = "weekly_out"
    """The weekly window runs out while the 5-hour one is nearly unused."""
    CALM = "calm"
    """Back to the everyday plan (the restriction stays on record)."""


@dataclass(frozen=True)
class Step:
    at: float
    """Seconds after the demo starts."""
    act: Act


STORY = (
    Step(1.0, Act.SESSIONS),
    Step(10.0, Act.THROTTLE),
    Step(20.0, Act.RENEWAL),
    Step(30.0, Act.RESTRICT),
    Step(45.0, Act.WEEKLY_OUT),
    Step(90.0, Act.CALM),
)
SCENARIO_OF = {
    Act.SESSIONS: "demo",
    Act.RENEWAL: "cancel_soon",
    Act.WEEKLY_OUT: "weekly_exhausted",
    Act.CALM: "demo",
}


class Scenarios(Protocol):
    def set_scenario(self, name: str) -> None: ...


def _now_text() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class DemoScript:
    def __init__(
        self,
        simulator: Scenarios,
        projects_root: Path,
        story: tuple[Step, ...] = STORY,
        keep_alive_seconds: float = KEEP_ALIVE_SECONDS,
    ) -> None:
        self.simulator = simulator
        self.projects_root = projects_root
        self.story = story
        self.keep_alive_seconds = keep_alive_seconds
        self.played: list[Act] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._sessions_on = False

    def start(self, refresh_now: Callable[[], None]) -> None:
        """Play the story on a thread; `refresh_now` asks the app for a refresh (it must be
        safe to call from another thread)."""
        self._thread = threading.Thread(
            target=self._play, args=(refresh_now,), name="glmtray-demo", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2)

    def _play(self, refresh_now: Callable[[], None]) -> None:
        elapsed = 0.0
        for step in self.story:
            while elapsed < step.at:
                wait = min(step.at - elapsed, self.keep_alive_seconds)
                if self._stop.wait(wait):
                    return
                elapsed += wait
                self._keep_sessions_alive()
            try:
                self._act(step.act)
            except OSError as error:  # a full temp folder must not end the demo's app
                log.warning("demo step %s skipped: %s", step.act.value, error.strerror)
                continue
            self.played.append(step.act)
            refresh_now()
        while not self._stop.wait(self.keep_alive_seconds):
            self._keep_sessions_alive()

    def _act(self, act: Act) -> None:
        if act in SCENARIO_OF:
            self.simulator.set_scenario(SCENARIO_OF[act])
        if act is Act.SESSIONS:
            self._sessions_on = True
            self._keep_sessions_alive()
        elif act is Act.THROTTLE:
            self._write(0, _api_error(
                "API Error: Request rejected (429) · High concurrency usage of this API, "
                "please reduce concurrency or contact customer service to increase limits"
            ))  # fmt: skip
        elif act is Act.RESTRICT:
            self._write(1, _api_error(
                "API Error: Request rejected (429) · [1313][Your account's current usage "
                "pattern does not comply with the Fair Usage Policy, and your request "
                "frequency has been limited.][demo-trace-1313]"
            ))  # fmt: skip

    def _keep_sessions_alive(self) -> None:
        if self._sessions_on:
            for index in range(len(PROJECTS)):
                self._write(index, _reply())

    def _write(self, project: int, line: dict[str, object]) -> None:
        folder = self.projects_root / PROJECTS[project]
        folder.mkdir(parents=True, exist_ok=True)
        line = {**line, "sessionId": f"demo-{project}", "cwd": "/home/dev/" + PROJECTS[project][10:]}
        with (folder / f"demo-{project}.jsonl").open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(line) + "\n")


def _reply() -> dict[str, object]:
    return {
        "type": "assistant",
        "timestamp": _now_text(),
        "message": {"model": "glm-4.6", "usage": {"input_tokens": 1200, "output_tokens": 300}},
    }


def _api_error(text: str) -> dict[str, object]:
    return {
        "type": "assistant",
        "isApiErrorMessage": True,
        "apiErrorStatus": 429,
        "error": "rate_limit",
        "timestamp": _now_text(),
        "message": {"model": "<synthetic>", "content": [{"type": "text", "text": text}]},
    }
