"""`glmtray history`: being built (see the project's issues); the helper that owns this file
replaces this text."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

HELP = "history (not available yet)"
DESCRIPTION = HELP


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace) -> int:
    print("glmtray: history is not available yet", file=sys.stderr)
    return 1


def main(argv: Sequence[str]) -> int:
    return run(argparse.Namespace())
