"""The layering the README's Architecture section promises, checked on the source: the core
never imports Qt or the UI, and the platform package stands on its own."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "app" / "glmtray"


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside a function."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def core_files() -> list[Path]:
    return [p for p in PACKAGE.rglob("*.py") if "ui" not in p.relative_to(PACKAGE).parts]


def test_the_core_never_imports_qt_or_the_ui() -> None:
    offenders = {
        str(path.relative_to(PACKAGE)): sorted(
            name for name in imported_modules(path)
            if name.startswith(("PySide6", "shiboken6", "glmtray.ui"))
        )
        for path in core_files()
    }  # fmt: skip
    offenders = {path: names for path, names in offenders.items() if names}
    # The command line starts the tray app, and only then loads Qt.
    offenders.pop("cli.py", None)
    offenders.pop("__main__.py", None)
    assert offenders == {}


def test_the_platform_package_depends_on_nothing_above_it() -> None:
    above = ("glmtray.activity", "glmtray.meter", "glmtray.simulator", "glmtray.ui",
             "glmtray.monitor", "glmtray.state", "glmtray.settings", "glmtray.credentials")  # fmt: skip
    for path in (PACKAGE / "platform").glob("*.py"):
        bad = sorted(n for n in imported_modules(path) if n.startswith(above))
        assert bad == [], f"{path.name} imports {bad}"


def test_cli_loads_qt_only_inside_the_tray_command() -> None:
    tree = ast.parse((PACKAGE / "cli.py").read_text(encoding="utf-8"))
    top_level = {
        node.module
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and node.module
    }
    assert not any(name.startswith(("PySide6", "glmtray.ui")) for name in top_level)
