"""Shared fixtures: an isolated home for every test, recorded bodies, an in-memory keyring."""

from __future__ import annotations

import gc
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

# Qt tests run offscreen unless a real display was chosen (the desktop tier sets xcb).
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from glmtray.simulator import PlatformSimulator
from tests.helpers import MemoryKeyring


@pytest.fixture(autouse=True)
def isolated_dirs(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Point every platformdirs folder at a temp dir: tests never touch the real home."""
    home = tmp_path_factory.mktemp("home")
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(var, str(home / var.lower()))
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(home / "claude"))
    monkeypatch.delenv("GLMTRAY_API_KEY", raising=False)
    monkeypatch.delenv("GLMTRAY_BASE_URL", raising=False)
    return home


@pytest.fixture(autouse=True)
def collector_running() -> Iterator[None]:
    """Every test ends with Python's garbage collector running: a tray start run in-process
    pauses it (collector.py), and a stand-in tray would leave it off for the tests after."""
    yield
    gc.enable()


@pytest.fixture
def memory_keyring() -> MemoryKeyring:
    return MemoryKeyring()


@pytest.fixture
def sim() -> Iterator[PlatformSimulator]:
    """A fresh simulator in the "pro" scenario for one test (modules that share one, or need
    another clock or pace, define their own)."""
    with PlatformSimulator("pro") as simulator:
        yield simulator


@pytest.fixture
def chinese() -> Iterator[None]:
    """The process speaks Simplified Chinese (the catalog compiled as make compiles it),
    English again afterwards."""
    from glmtray import i18n
    from glmtray.catalogs import ensure_compiled

    ensure_compiled()
    i18n.set_language("zh_CN")
    yield
    i18n.set_language("en")


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate and its key for 127.0.0.1, made with the openssl command:
    what a TLS server on loopback presents in the tests of certificate checks."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=glmtray test platform", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key
