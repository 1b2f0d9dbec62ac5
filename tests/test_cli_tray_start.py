"""`glmtray` starting the tray begins reading its key before anything else: the read is
the longest step of a start, so it must not wait for the command line's parser."""

from __future__ import annotations

import argparse
import gc

import pytest

from glmtray import cli
from glmtray.key_helper import PendingRead


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ([], (None, None)),
        (["-v"], (None, None)),
        (["--base-url", "http://127.0.0.1:8899"], (None, "http://127.0.0.1:8899")),
        (["--base-url=https://api.z.ai", "--verbose"], (None, "https://api.z.ai")),
        (["--region", "china"], ("china", None)),
        (["--region=global", "-v", "--base-url=https://x"], ("global", "https://x")),
        (["--region"], None),  # argparse will refuse it
        (["--demo"], None),  # the demo reads no key
        (["--reg", "china"], None),  # an abbreviation: left to argparse
        (["status"], None),
        (["--region", "china", "status", "--json"], None),
        (["--help"], None),
        (["--version"], None),
        (["statusline"], None),
    ],
)
def test_a_tray_start_is_told_from_the_arguments_alone(
    arguments: list[str], expected: tuple[str | None, str | None] | None
) -> None:
    assert cli.tray_start(arguments) == expected


class Recorder:
    """Stands for the key's child: records what was asked and in what order."""

    def __init__(self, events: list[str]) -> None:
        self.events = events
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True
        self.events.append("read cancelled")


@pytest.fixture
def events(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []
    reads: list[Recorder] = []

    def saved_account(
        region: str | None = None, *, first_look: bool = False, base_url: str | None = None
    ) -> Recorder:
        look = f", first look from {base_url or 'the region'}" if first_look else ""
        seen.append(f"read started ({region}{look})")
        reads.append(Recorder(seen))
        return reads[-1]

    real_parser = cli.build_parser

    def build_parser(*, with_commands: bool = True) -> argparse.ArgumentParser:
        seen.append("parser built" if with_commands else "parser built without commands")
        return real_parser(with_commands=with_commands)

    def cmd_gui(args: argparse.Namespace) -> int:
        early = getattr(args, "early_key_read", None)
        seen.append(f"tray with {'the early read' if early in reads else 'no read'}")
        return 0

    monkeypatch.setattr(PendingRead, "saved_account", staticmethod(saved_account))
    monkeypatch.setattr(cli, "build_parser", build_parser)
    monkeypatch.setattr(cli, "cmd_gui", cmd_gui)
    return seen


def test_the_tray_gets_the_read_begun_before_parsing(events: list[str]) -> None:
    assert cli.main(["--region", "china", "-v"]) == 0
    assert events == [
        "read started (china, first look from the region)",
        "parser built without commands",  # a tray start loads no command's module
        "tray with the early read",
    ]


def test_the_demo_starts_no_read_and_a_refused_start_ends_its_read(
    events: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    cli.main(["--demo"])
    assert events == ["parser built", "tray with no read"]
    events.clear()
    with pytest.raises(SystemExit):
        cli.main(["--region", "mars"])  # argparse refuses it: the read started is ended
    assert events == [
        "read started (mars, first look from the region)",
        "parser built without commands",
        "read cancelled",
    ]


def test_a_tray_start_pauses_the_collector_and_other_commands_do_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The tray runs its start without the cyclic collector (collector.py; the GUI turns it
    back on once the first outcome shows); a command such as the demo or `status` keeps it."""
    collector_on: list[bool] = []

    def cmd_gui(args: argparse.Namespace) -> int:
        collector_on.append(gc.isenabled())
        return 0

    monkeypatch.setattr(
        PendingRead, "saved_account", staticmethod(lambda region=None, **_: Recorder([]))
    )
    monkeypatch.setattr(cli, "cmd_gui", cmd_gui)
    cli.main(["--demo"])
    cli.main(["-v"])  # tests/conftest.py turns it back on after the test
    assert collector_on == [True, False]
