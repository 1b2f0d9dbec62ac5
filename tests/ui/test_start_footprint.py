"""What a started, signed-in tray has not loaded: what it needs only on first use stays
out of its memory and its start (the network's return, a second instance's pipe, the
notification daemon's connection, the other commands' modules), and the source lines
PySide6 reads at import are not kept."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

NOT_AT_START = (
    "PySide6.QtNetwork",  # single instance on a Unix socket; network info after a failure
    "jeepney",  # notifications: the daemon is looked for at the first one
    "statistics",  # only when a concurrency limit is estimated
    "glmtray.cli_history",  # other commands' modules
    "glmtray.cli_statusline",
    "glmtray.ui.settings_dialog",
    "glmtray.platform.usage",  # the usage history's buckets, not the glance's quota
)


def test_a_started_tray_has_loaded_only_what_the_glance_needs(tmp_path: Path) -> None:
    """`glmtray` itself (cli.main, as a user starts it) against the loopback simulator,
    stopped once its icon shows data and the start's follow-up work is done."""
    script = tmp_path / "probe.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import linecache, os, sys, threading, time
            from glmtray.simulator import SIMULATOR_API_KEY, PlatformSimulator
            from glmtray.credentials import Account, CredentialStore
            from glmtray.platform.regions import Region

            with PlatformSimulator("pro") as sim:
                CredentialStore().set(Account(Region.GLOBAL), SIMULATOR_API_KEY)

                def report_and_quit():
                    log = os.path.join(os.environ["XDG_STATE_HOME"], "glmtray", "log", "glmtray.log")
                    deadline = time.monotonic() + 30
                    while time.monotonic() < deadline:
                        if os.path.exists(log) and "tray icon shows data" in open(log).read():
                            break
                        time.sleep(0.05)
                    time.sleep(2)  # the start's follow-up: risk history, usage history
                    names = {NOT_AT_START!r}
                    print("loaded:", sorted(n for n in names if n in sys.modules), flush=True)
                    print("source lines kept:", sum(len(v[2]) for v in linecache.cache.values() if len(v) > 2), flush=True)
                    os._exit(0)

                threading.Thread(target=report_and_quit, daemon=True).start()
                from glmtray.cli import main
                main(["--base-url", sim.base_url])
            """
        )
    )
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "PYTHON_KEYRING_BACKEND": "tests.file_keyring.FileKeyring",
        "GLMTRAY_TEST_KEYRING": str(tmp_path / "keyring.json"),
        "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[2]), os.environ.get("PYTHONPATH", "")]),
        **{name: str(tmp_path / name.lower()) for name in ("HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME", "XDG_RUNTIME_DIR")},
    }
    (tmp_path / "xdg_runtime_dir").mkdir(mode=0o700)
    result = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=90
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert "loaded: []" in lines, result.stdout
    kept = int(next(line for line in lines if line.startswith("source lines kept:")).split(":")[1])
    # PySide6 reads ~45,000 lines at import; what is imported after the tray drops them (here
    # the panel, shown offscreen for want of a tray, and the start's follow-up) stays.
    assert kept < 25_000, kept
