"""Runs `glmtray` exactly as `python -m glmtray` would, plus one thing for bench_tray.py
--explain: when a line arrives on stdin, print the loaded modules (name and file, as JSON) on
stdout. A blocked read on a thread of its own: nothing polls, so the idle app is undisturbed.
Only the bench uses this; the app itself has no such hook."""

from __future__ import annotations

import json
import sys
import threading


def report_modules_on_request() -> None:
    if not sys.stdin.readline():
        return  # stdin closed: the bench went away
    modules = {
        name: getattr(module, "__file__", None) or ""
        for name, module in sorted(sys.modules.items())
        if module is not None
    }
    sys.stdout.write(json.dumps(modules) + "\n")
    sys.stdout.flush()


def main() -> None:
    threading.Thread(target=report_modules_on_request, name="bench-probe", daemon=True).start()
    import glmtray
    from glmtray.cli import main as glmtray_main

    print(f"bench probe: glmtray from {glmtray.__file__}", file=sys.stderr, flush=True)
    sys.exit(glmtray_main(sys.argv[1:]))


if __name__ == "__main__":
    main()
