"""How long glmtray's transcript reader takes on a large Claude Code history.

Generates a ~200 MB `projects/` folder in a temp dir (many sessions over several
projects; prompts, GLM assistant messages with tool calls, tool results with file
contents, and some API errors), then times:

- the first scan (the whole history, streamed), median of 5 fresh readers;
- a refresh with nothing new (only `stat` calls), median of 5;
- an incremental refresh after a few lines were appended to a few sessions, median of 5;
- a whole risk-watcher refresh with nothing new, through a SQLite event store on disk
  (scan, signals and offsets committed in one transaction, history evaluated), median of 5.

Run: .venv/bin/python bench/bench_transcripts.py [--megabytes 200] [--sessions 400]
Times are with the files in the page cache (the usual case: the files were just written).
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

from glmtray.activity.events import EventStore
from glmtray.activity.risk_watch import RiskWatcher
from glmtray.activity.transcripts import TranscriptReader

START = datetime(2026, 10, 1, tzinfo=timezone.utc)
WORDS = (
    *("the", "checkout", "total", "tax", "cart", "refactor", "test", "module", "function"),
    *("return", "value", "error", "retry", "config", "parse", "render", "request"),
    *("response", "cache", "index", "query", "schema", "migrate", "build", "deploy"),
)
ERROR_TEXTS = (
    'API Error: 429 {"error":{"code":"1302","message":"High concurrency usage of this API"}}',
    'API Error: 429 {"error":{"code":"1308","message":"Usage limit reached for 5 hour. '
    'Your limit will reset at 2026-11-27 18:00:00"}}',
    'API Error: 429 {"type":"error","error":{"type":"rate_limit_error","message":'
    '"[1313][request frequency limited by fair-use policy][20261127abcdef]"}}',
)


def words(rng: random.Random, count: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(count))


class SessionWriter:
    """Writes one session's lines as Claude Code does: one JSON object per line."""

    def __init__(self, rng: random.Random, project: str, session_id: str, start: datetime):
        self.rng = rng
        self.cwd = f"/home/dev/{project}"
        self.session_id = session_id
        self.moment = start
        self.count = 0

    def _base(self, kind: str) -> dict[str, object]:
        self.moment += timedelta(seconds=self.rng.randint(1, 40))
        self.count += 1
        return {
            "parentUuid": None,
            "isSidechain": False,
            "userType": "external",
            "cwd": self.cwd,
            "sessionId": self.session_id,
            "version": "2.0.14",
            "gitBranch": "main",
            "type": kind,
            "uuid": f"{self.session_id[:8]}-{self.count:08d}",
            "timestamp": self.moment.strftime("%Y-%m-%dT%H:%M:%S.") + "123Z",
        }

    def prompt(self) -> str:
        line = self._base("user")
        line["message"] = {"role": "user", "content": words(self.rng, 30)}
        return json.dumps(line)

    def assistant(self) -> str:
        line = self._base("assistant")
        line["requestId"] = f"req_{self.count}"
        line["message"] = {
            "id": f"msg_{self.count}",
            "type": "message",
            "role": "assistant",
            "model": "glm-4.6",
            "content": [
                {"type": "text", "text": words(self.rng, self.rng.randint(20, 200))},
                {
                    "type": "tool_use",
                    "id": f"call_{self.count}",
                    "name": "Edit",
                    "input": {
                        "file_path": f"{self.cwd}/src/module.py",
                        "new_string": words(self.rng, self.rng.randint(10, 400)),
                    },
                },
            ],
            "stop_reason": "tool_use",
            "usage": {"input_tokens": self.rng.randint(1000, 90000), "output_tokens": 300},
        }
        return json.dumps(line)

    def tool_result(self) -> str:
        line = self._base("user")
        content = "\n".join(words(self.rng, 12) for _ in range(self.rng.randint(20, 400)))
        line["message"] = {
            "role": "user",
            "content": [
                {"tool_use_id": f"call_{self.count}", "type": "tool_result", "content": content}
            ],
        }
        line["toolUseResult"] = {"stdout": content[:2000], "stderr": "", "interrupted": False}
        return json.dumps(line)

    def api_error(self) -> str:
        line = self._base("assistant")
        line.update(isApiErrorMessage=True, apiErrorStatus=429, error="rate_limit")
        line["message"] = {
            "model": "<synthetic>",
            "role": "assistant",
            "content": [{"type": "text", "text": self.rng.choice(ERROR_TEXTS)}],
        }
        return json.dumps(line)

    def turn(self) -> list[str]:
        lines = [self.prompt()]
        for _ in range(self.rng.randint(1, 6)):
            lines += [self.assistant(), self.tool_result()]
        if self.rng.random() < 0.02:
            lines.append(self.api_error())
        return lines


def generate(root: Path, megabytes: int, sessions: int, rng: random.Random) -> list[SessionWriter]:
    per_session = megabytes * 1024 * 1024 // sessions
    writers: list[SessionWriter] = []
    projects = [f"project-{n:02d}" for n in range(max(1, sessions // 10))]
    for number in range(sessions):
        project = rng.choice(projects)
        session_id = f"{number:08x}-5b7d-4e21-9a0c-{rng.getrandbits(48):012x}"
        writer = SessionWriter(rng, project, session_id, START + timedelta(hours=number))
        folder = root / f"-home-dev-{project}"
        folder.mkdir(parents=True, exist_ok=True)
        written = 0
        with (folder / f"{session_id}.jsonl").open("w", encoding="utf-8") as handle:
            while written < per_session:
                chunk = "\n".join(writer.turn()) + "\n"
                handle.write(chunk)
                written += len(chunk)
        writers.append(writer)
    return writers


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=200)
    parser.add_argument("--sessions", type=int, default=400)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    rng = random.Random(7)
    now = datetime(2026, 11, 27, 10, 0, tzinfo=timezone.utc)

    with tempfile.TemporaryDirectory(prefix="glmtray-bench-") as temp:
        root = Path(temp) / "projects"
        started = time.perf_counter()
        writers = generate(root, args.megabytes, args.sessions, rng)
        files = list(root.rglob("*.jsonl"))
        total = sum(p.stat().st_size for p in files)
        print(
            f"generated {total / 1e6:.1f} MB in {len(files)} sessions "
            f"({time.perf_counter() - started:.1f} s)"
        )

        first_times: list[float] = []
        reader = TranscriptReader(root)
        for _ in range(args.runs):
            reader = TranscriptReader(root)
            result = None

            def first_scan(fresh: TranscriptReader = reader) -> None:
                nonlocal result
                result = fresh.scan(now)

            first_times.append(timed(first_scan))
        assert result is not None
        print(
            f"first scan: median {statistics.median(first_times):.2f} s "
            f"(min {min(first_times):.2f}, max {max(first_times):.2f}); "
            f"{result.bytes_read / 1e6:.1f} MB read, {result.lines_parsed} lines decoded, "
            f"{result.glm_messages} GLM messages, {len(result.errors)} API errors, "
            f"{statistics.median([result.bytes_read / t for t in first_times]) / 1e6:.0f} MB/s"
        )

        idle_times = [timed(lambda: reader.scan(now)) for _ in range(args.runs)]
        print(f"refresh, nothing new: median {statistics.median(idle_times) * 1000:.1f} ms")

        refresh_times: list[float] = []
        refresh_bytes: list[int] = []
        for _ in range(args.runs):
            for writer in rng.sample(writers, 3):
                path = root / f"-home-dev-{Path(writer.cwd).name}" / f"{writer.session_id}.jsonl"
                with path.open("a", encoding="utf-8") as handle:
                    handle.write(writer.prompt() + "\n" + writer.assistant() + "\n")
            outcome = None

            def refresh() -> None:
                nonlocal outcome
                outcome = reader.scan(now)

            refresh_times.append(timed(refresh))
            assert outcome is not None
            refresh_bytes.append(outcome.bytes_read)
        print(
            f"refresh after appending 2 lines to 3 sessions: median "
            f"{statistics.median(refresh_times) * 1000:.1f} ms, "
            f"median {statistics.median(refresh_bytes) / 1e3:.1f} kB read"
        )
        state_size = len(json.dumps(reader.state()))
        peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(f"persisted reader state: {state_size / 1e3:.1f} kB; peak RSS {peak_kb / 1e3:.0f} MB")

        with EventStore(Path(temp) / "events.sqlite3", "global:bench") as store:
            watcher = RiskWatcher(store, root)
            first_update = timed(lambda: watcher.update(now, risk_flag=None, flag_checked=False))
            update_times = [
                timed(lambda: watcher.update(now, risk_flag=None, flag_checked=False))
                for _ in range(args.runs)
            ]
            print(
                f"risk watcher with a file event store: first refresh {first_update:.2f} s "
                f"({len(store.all_events())} events stored), "
                f"then nothing new: median {statistics.median(update_times) * 1000:.1f} ms"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
