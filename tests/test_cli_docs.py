"""The README's command-line section and scenario list say what the code does."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from glmtray.cli import EXIT_RESTRICTED, build_parser
from glmtray.simulator import SIMULATOR_API_KEY, PlatformSimulator, scenario_names

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def section(title: str) -> str:
    start = README.index(f"## {title}")
    end = README.find("\n## ", start + 3)
    return README[start : end if end != -1 else None]


def test_the_scenario_list_matches_the_code() -> None:
    text = section("The platform simulator")
    listed = re.search(r"failure \(([^)]*)\)", text)
    assert listed is not None
    names = re.findall(r"`([a-z0-9_]+)`", listed.group(1))
    assert names == scenario_names()


def test_exit_codes_are_documented_in_the_readme_and_in_help() -> None:
    text = section("The command line")
    assert f"{EXIT_RESTRICTED} account locked" in text.replace("\n", " ")
    for code in range(7):
        assert re.search(rf"\b{code} [a-z]", text.replace("\n", " ")), code
    help_text = build_parser().format_help()
    assert "6 account locked or restricted" in " ".join(help_text.split())
    assert "meter" in help_text


def test_every_json_key_of_status_is_documented() -> None:
    text = section("The command line")
    documented = set(re.findall(r"`([a-z0-9_]+)`", text))
    with PlatformSimulator("credit_max") as sim:
        env = {
            **os.environ,
            "GLMTRAY_API_KEY": SIMULATOR_API_KEY,
            "GLMTRAY_BASE_URL": sim.base_url,
            "PYTHONPATH": str(ROOT),
        }
        result = subprocess.run(
            [sys.executable, "-m", "glmtray", "status", "--json", "--region", "china"],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    keys = set(data)
    keys |= {k for w in data["windows"] for k in w}
    keys |= set(data["subscription"]) | set(data["peak"]) | set(data["risk"])
    keys |= set(data["risk"]["strikes"]) | set(data["concurrency"])
    missing = sorted(keys - documented)
    assert missing == []
    assert {"problems", "concurrency", "price", "currency", "peak"} <= documented
