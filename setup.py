"""The wheel's build step that pyproject.toml cannot declare: compile the translation
catalogs (locale/<lang>/LC_MESSAGES/glmtray.po -> .mo) into the built package, so an
installed glmtray speaks every language it ships without Babel at run time."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent


def _catalogs_module() -> Any:
    """glmtray/catalogs.py by its path: the package itself is not importable while it is
    being built (its dependencies need not be installed in the build environment)."""
    spec = importlib.util.spec_from_file_location(
        "glmtray_catalogs", HERE / "app" / "glmtray" / "catalogs.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class BuildPyWithCatalogs(build_py):
    def run(self) -> None:
        super().run()
        catalogs = _catalogs_module()
        built_locale = Path(self.build_lib) / "glmtray" / "locale"
        for po_path in catalogs.catalog_paths(built_locale):
            catalogs.compile_catalog(po_path)


setup(cmdclass={"build_py": BuildPyWithCatalogs})
