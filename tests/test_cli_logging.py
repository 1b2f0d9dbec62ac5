"""Started from a terminal, the tray app keeps it quiet: INFO lines go to its log file only."""

from __future__ import annotations

import logging

import pytest

from glmtray import cli


@pytest.fixture(autouse=True)
def fresh_root_logger() -> object:
    root = logging.getLogger()
    saved = (root.level, list(root.handlers))
    yield
    root.setLevel(saved[0])
    root.handlers[:] = saved[1]


def setup(verbose: bool) -> None:
    """As at the start of a real run, where the root logger has no handler yet (pytest's
    own capture handler would make basicConfig do nothing)."""
    logging.getLogger().handlers.clear()
    cli._setup_logging(verbose)


def test_info_stays_off_the_terminal_even_when_the_app_lowers_the_root_level(
    capsys: pytest.CaptureFixture[str],
) -> None:
    setup(verbose=False)
    logging.getLogger().setLevel(logging.INFO)  # what the app's file logging does
    logging.getLogger("glmtray.ui.tray").info("tray icon shows data (17 %)")
    logging.getLogger("glmtray.ui.refresh").warning("refresh failed: HTTP 502")
    err = capsys.readouterr().err
    assert "tray icon shows data" not in err and "refresh failed" in err


def test_verbose_shows_everything(capsys: pytest.CaptureFixture[str]) -> None:
    setup(verbose=True)
    logging.getLogger("glmtray.ui.tray").info("tray icon shows data (17 %)")
    assert "tray icon shows data" in capsys.readouterr().err
