"""The packaging files agree with each other and with the app, and pass the distributions'
validators. The bundle itself is built and started by packaging/build.sh and
packaging/smoke.sh (`make package`), not here: it takes half a minute and a desktop session.

Validators come from Debian packages (desktop-file-utils, appstream). When one is missing the
test is skipped with the package name, except under CI=true, where it fails.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import plistlib
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from types import ModuleType

import pytest

import glmtray
from glmtray import autostart

ROOT = Path(__file__).resolve().parent.parent
PACKAGING = ROOT / "packaging"
DESKTOP = PACKAGING / "linux" / f"{glmtray.APP_ID}.desktop"
METAINFO = PACKAGING / "linux" / f"{glmtray.APP_ID}.metainfo.xml"
SPEC = PACKAGING / "glmtray.spec"
INFO_PLIST = PACKAGING / "macos" / "Info.plist"
ICON = ROOT / "resources" / "icons" / f"{glmtray.APP_ID}.svg"
SYMBOLIC_ICON = ROOT / "resources" / "icons" / f"{glmtray.APP_ID}-symbolic.svg"
SVG_NS = "{http://www.w3.org/2000/svg}"


def require_tool(tool: str, package: str) -> str:
    path = shutil.which(tool)
    if path:
        return path
    message = f"{tool} is not installed (Debian package {package})"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def load_make_autostart() -> ModuleType:
    # Loaded by path: `packaging` is also the name of a PyPI package in the venv, so
    # `import packaging.linux...` would find that one.
    path = PACKAGING / "linux" / "make_autostart.py"
    spec = importlib.util.spec_from_file_location("glmtray_make_autostart", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make_autostart = load_make_autostart()


def entry_keys(text: str) -> dict[str, str]:
    keys: dict[str, str] = make_autostart.parse_desktop_entry(text)
    return keys


def exec_arguments(value: str) -> list[str]:
    """Split an Exec value the way the Desktop Entry Specification reads it: undo the string
    escapes, then the quoting. Written from the specification, independently of the quoting
    code under test."""
    unescaped = value.replace("\\\\", "\0").replace("\0", "\\")
    arguments: list[str] = []
    current: list[str] = []
    in_quotes = started = False
    i = 0
    while i < len(unescaped):
        c = unescaped[i]
        if in_quotes:
            if c == "\\" and i + 1 < len(unescaped) and unescaped[i + 1] in '"`$\\':
                current.append(unescaped[i + 1])
                i += 1
            elif c == '"':
                in_quotes = False
            else:
                current.append(c)
        elif c == '"':
            in_quotes = started = True
        elif c == " ":
            if started:
                arguments.append("".join(current))
                current, started = [], False
        else:
            current.append(c)
            started = True
        i += 1
    assert not in_quotes, f"unterminated quote in {value!r}"
    if started:
        arguments.append("".join(current))
    return [argument.replace("%%", "%") for argument in arguments]


def metainfo() -> ET.Element:
    return ET.parse(METAINFO).getroot()


# --- validators ---------------------------------------------------------------------------


def test_desktop_file_validates() -> None:
    tool = require_tool("desktop-file-validate", "desktop-file-utils")
    result = subprocess.run([tool, str(DESKTOP)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "error:" not in result.stdout + result.stderr


def test_metainfo_validates() -> None:
    tool = require_tool("appstreamcli", "appstream")
    result = subprocess.run(
        [tool, "validate", "--no-net", str(METAINFO)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_derived_autostart_entry_validates(tmp_path: Path) -> None:
    tool = require_tool("desktop-file-validate", "desktop-file-utils")
    out = tmp_path / f"{glmtray.APP_ID}.desktop"
    command = ["/opt/My Apps/glmtray", "--demo"]
    out.write_text(make_autostart.autostart_entry(DESKTOP.read_text(), command))
    result = subprocess.run([tool, str(out)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


# --- one id everywhere ----------------------------------------------------------------------


def test_app_id_names_every_packaging_file() -> None:
    app_id = glmtray.APP_ID
    assert re.fullmatch(r"[A-Za-z][\w-]*(\.[A-Za-z][\w-]*){2,}", app_id), "reverse-DNS id"
    desktop = entry_keys(DESKTOP.read_text())
    assert desktop["Icon"] == app_id
    root = metainfo()
    assert root.findtext("id") == app_id
    launchable = root.find("launchable")
    assert launchable is not None and launchable.get("type") == "desktop-id"
    assert launchable.text == DESKTOP.name
    assert root.findtext("icon[@type='stock']") == app_id
    assert ICON.is_file() and SYMBOLIC_ICON.is_file()
    assert f'APP_ID = "{app_id}"' in SPEC.read_text()
    with INFO_PLIST.open("rb") as fh:
        assert plistlib.load(fh)["CFBundleIdentifier"] == app_id


def test_desktop_entry_starts_the_console_script() -> None:
    desktop = entry_keys(DESKTOP.read_text())
    scripts = importlib.metadata.entry_points(group="console_scripts", name="glmtray")
    assert [ep.value for ep in scripts] == ["glmtray.cli:main"]
    assert exec_arguments(desktop["Exec"])[0] == "glmtray"
    assert metainfo().findtext("provides/binary") == "glmtray"
    assert desktop["Terminal"] == "false"


def test_metainfo_describes_this_release() -> None:
    root = metainfo()
    versions = [release.get("version") for release in root.iterfind("releases/release")]
    assert glmtray.__version__ in versions
    assert root.find("content_rating") is not None
    assert root.findtext("url[@type='homepage']", "").startswith("https://")
    assert root.findtext("provides/binary") == "glmtray"


# --- the bundle recipe --------------------------------------------------------------------


KEYRING_BACKENDS = (
    "keyring.backends.SecretService",
    "keyring.backends.kwallet",
    "keyring.backends.macOS",
    "keyring.backends.Windows",
    "keyring.backends.chainer",
    "keyring.backends.fail",
)


@pytest.mark.parametrize("module", KEYRING_BACKENDS)
def test_spec_collects_keyring_backend(module: str) -> None:
    # keyring imports its backends by entry-point name at run time: PyInstaller cannot see them.
    assert f'"{module}"' in SPEC.read_text()
    # ...and the name still exists in the keyring this project installs.
    assert importlib.util.find_spec(module) is not None


def test_spec_collects_keyring_metadata_and_dbus() -> None:
    spec = SPEC.read_text()
    # Without keyring's dist-info its entry points vanish and every lookup uses fail.Keyring.
    assert 'copy_metadata("keyring")' in spec
    assert 'collect_submodules("jeepney"' in spec
    assert '"secretstorage"' in spec


def test_spec_keeps_the_linux_platform_plugins() -> None:
    spec = SPEC.read_text()
    assert '"libqxcb.so"' in spec and '"libqoffscreen.so"' in spec
    assert "entry.py" in spec and (PACKAGING / "entry.py").is_file()


def test_macos_bundle_is_tray_only() -> None:
    with INFO_PLIST.open("rb") as fh:
        info = plistlib.load(fh)
    assert info["LSUIElement"] is True  # no Dock icon, no app menu
    assert info["NSHighResolutionCapable"] is True
    assert "BUNDLE(" in SPEC.read_text() and "bundle_identifier=APP_ID" in SPEC.read_text()


@pytest.mark.parametrize("script", ["build.sh", "smoke.sh"])
def test_scripts_are_strict_executable_bash(script: str) -> None:
    path = PACKAGING / script
    assert os.access(path, os.X_OK), f"{path} is not executable"
    assert "set -euo pipefail" in path.read_text()
    bash = require_tool("bash", "bash")
    result = subprocess.run([bash, "-n", str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


# --- icons ------------------------------------------------------------------------------------


def svg_colours(root: ET.Element) -> set[str]:
    colours = set()
    for element in root.iter():
        for attribute in ("fill", "stroke", "stop-color"):
            value = element.get(attribute)
            if value and value != "none":
                colours.add(value.lower())
    return colours


def test_icons_are_square_svgs() -> None:
    for path in (ICON, SYMBOLIC_ICON):
        root = ET.parse(path).getroot()
        assert root.tag == f"{SVG_NS}svg", path
        _, _, width, height = (float(v) for v in root.get("viewBox", "").split())
        assert width == height, path


def test_symbolic_icon_is_one_colour() -> None:
    # Desktops recolour symbolic icons to the panel's text colour: one colour, no gradients.
    root = ET.parse(SYMBOLIC_ICON).getroot()
    assert svg_colours(root) == {"#2e3436"}
    assert root.find(f".//{SVG_NS}linearGradient") is None


def test_app_icon_renders_with_a_teal_gauge(qapp: object) -> None:
    from PySide6.QtCore import QRectF
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(ICON))
    assert renderer.isValid()
    image = QImage(64, 64, QImage.Format.Format_ARGB32)
    image.fill(0)
    painter = QPainter(image)
    renderer.render(painter, QRectF(0, 0, 64, 64))
    painter.end()
    assert image.pixelColor(0, 0).alpha() == 0, "rounded corners stay transparent"
    assert image.pixelColor(32, 32).alpha() == 255, "the tile is opaque"
    teal = 0
    for y in range(64):
        for x in range(64):
            colour = image.pixelColor(x, y)
            if colour.hue() in range(160, 185) and colour.saturation() > 120:
                teal += 1
    assert teal > 64 * 64 // 20, "the gauge's value arc is teal"


# --- autostart ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        ["glmtray"],
        ["/opt/glmtray/glmtray"],
        ["/home/me/.venv/bin/python", "-m", "glmtray"],
    ],
)
def test_autostart_entries_agree(command: list[str]) -> None:
    """The packaged autostart entry (derived from the desktop file) and the one the app writes
    at run time show the same name, comment and icon, and start the same command."""
    packaged = entry_keys(make_autostart.autostart_entry(DESKTOP.read_text(), command))
    runtime = entry_keys(autostart.desktop_entry(command))
    desktop = entry_keys(DESKTOP.read_text())
    for key in ("Type", "Name", "Comment", "Icon", "Terminal"):
        assert packaged[key] == runtime[key] == desktop[key], key
    assert exec_arguments(packaged["Exec"]) == command
    assert exec_arguments(runtime["Exec"]) == command
    assert packaged["X-GNOME-Autostart-enabled"] == runtime["X-GNOME-Autostart-enabled"]


def test_autostart_default_exec_is_the_desktop_files() -> None:
    packaged = entry_keys(make_autostart.autostart_entry(DESKTOP.read_text()))
    assert packaged["Exec"] == entry_keys(DESKTOP.read_text())["Exec"]


@pytest.mark.parametrize(
    "argument",
    ["/opt/My Apps/glmtray", "100%", 'say "hi"', "back\\slash", "$HOME", "it's", "`x`"],
)
def test_exec_quoting_round_trips(argument: str) -> None:
    line = make_autostart.exec_line(["/usr/bin/glmtray", argument])
    assert exec_arguments(line) == ["/usr/bin/glmtray", argument]


def test_runtime_autostart_entry_quotes_paths_with_spaces(tmp_path: Path) -> None:
    tool = require_tool("desktop-file-validate", "desktop-file-utils")
    out = tmp_path / f"{glmtray.APP_ID}.desktop"
    out.write_text(autostart.desktop_entry(["/opt/My Apps/glmtray"]))
    result = subprocess.run([tool, str(out)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
