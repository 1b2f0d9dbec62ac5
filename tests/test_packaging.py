"""The packaging files agree with each other and with the app, and pass the distributions'
validators. The bundle itself is built and started by packaging/build.sh and
packaging/smoke.sh (`make package`), not here: it takes half a minute and a desktop session.

Validators come from Debian packages (desktop-file-utils, appstream). When one is missing the
test is skipped with the package name, except under CI=true, where it fails.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import itertools
import os
import plistlib
import re
import shutil
import subprocess
import sys
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


def load_packaging_module(relative: str, name: str) -> ModuleType:
    # Loaded by path: `packaging` is also the name of a PyPI package in the venv, so
    # `import packaging.linux...` would find that one.
    spec = importlib.util.spec_from_file_location(name, PACKAGING / relative)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def load_make_autostart() -> ModuleType:
    return load_packaging_module("linux/make_autostart.py", "glmtray_make_autostart")


make_autostart = load_make_autostart()
build_deb = load_packaging_module("linux/build_deb.py", "glmtray_build_deb")
desktop_launch = load_packaging_module("linux/desktop_launch.py", "glmtray_desktop_launch")


def entry_keys(text: str) -> dict[str, str]:
    keys: dict[str, str] = make_autostart.parse_desktop_entry(text)
    return keys


def exec_arguments(value: str) -> list[str]:
    """An Exec value's arguments as a launcher reads them, field codes expanded
    (packaging/linux/desktop_launch.py, checked against the specification's own rules
    below)."""
    entry = f"[Desktop Entry]\nType=Application\nName=x\nExec={value}\n"
    command: list[str] = desktop_launch.launch_command(entry)
    return command


def test_exec_values_split_as_the_specification_says() -> None:
    # Written out by hand from the Desktop Entry Specification's quoting rules.
    line = r'''"/opt/My Apps/glmtray" plain 100%% "say \\"hi\\"" "back\\\\slash" "\\$HOME" "it's"'''
    assert exec_arguments(line) == [
        "/opt/My Apps/glmtray",
        "plain",
        "100%",
        'say "hi"',
        "back\\slash",
        "$HOME",
        "it's",
    ]


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


@pytest.mark.parametrize("script", ["build.sh", "smoke.sh", "linux/test-deb.sh"])
def test_scripts_are_strict_executable_bash(script: str) -> None:
    path = PACKAGING / script
    assert os.access(path, os.X_OK), f"{path} is not executable"
    assert "set -euo pipefail" in path.read_text()
    bash = require_tool("bash", "bash")
    result = subprocess.run([bash, "-n", str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_tray_probe_is_valid_bash_sourced_by_both_checks() -> None:
    bash = require_tool("bash", "bash")
    probe = PACKAGING / "tray-probe.sh"
    result = subprocess.run([bash, "-n", str(probe)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    for script in ("smoke.sh", "linux/test-deb.sh"):
        assert 'source "$ROOT/packaging/tray-probe.sh"' in (PACKAGING / script).read_text()


def test_ci_installs_the_deb_after_building_it_and_ends_with_the_tests() -> None:
    commands = [
        line.strip()
        for line in (ROOT / ".ci" / "run").read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert commands.index("make package") < commands.index("bash packaging/linux/test-deb.sh")
    assert commands[-1] == "make test"


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


# --- the Debian package (packaging/linux/build_deb.py on a small fake bundle) ------------------

FAKE_VERSION = "9.8.7~rc1"


def system_library(cache: dict[str, list[str]], name: str, package: str) -> str:
    paths = cache.get(name)
    if not paths:
        message = f"{name} is not installed (Debian package {package})"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return paths[0]


def fake_bundle(root: Path) -> tuple[Path, dict[str, list[str]]]:
    """A PyInstaller-shaped folder made of real ELF files of this machine: the program, a Qt
    plugin (libxcb-image's code: it links libxcb-shm, libxcb-util, libxcb and libc), a copy
    of the system's libxcb-util next to it as PyInstaller leaves it, and two libraries that
    must stay: one the system does not know by name, one that travels with PySide6."""
    for tool, package in (("dpkg-deb", "dpkg"), ("readelf", "binutils"), ("nm", "binutils")):
        require_tool(tool, package)
    cache = build_deb.linker_cache()
    bundle = root / "glmtray"
    internal = bundle / "_internal"
    plugins = internal / "PySide6" / "Qt" / "plugins" / "platforms"
    plugins.mkdir(parents=True)
    shutil.copy(shutil.which("true") or "/bin/true", bundle / "glmtray")
    shutil.copy(
        system_library(cache, "libxcb-image.so.0", "libxcb-image0"), plugins / "libqfake.so"
    )
    util = system_library(cache, "libxcb-util.so.1", "libxcb-util1")
    shutil.copy(util, internal / "libxcb-util.so.1")
    shutil.copy(util, internal / "libglmtray-private.so.1")
    shutil.copy(util, internal / "libQt6Fake.so.6")
    (internal / "base_library.zip").write_bytes(b"PK\x05\x06" + bytes(18))
    return bundle, cache


@pytest.fixture(scope="module")
def fake_deb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("deb")
    bundle, _ = fake_bundle(work)
    icons = work / "icons" / "48x48"
    icons.mkdir(parents=True)
    (icons / f"{glmtray.APP_ID}.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    deb: Path = build_deb.build(bundle, work / "out", icons=work / "icons", version=FAKE_VERSION)
    return deb


def deb_field(deb: Path, name: str) -> str:
    result = subprocess.run(
        ["dpkg-deb", "--field", str(deb), name], capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


def deb_contents(deb: Path) -> dict[str, tuple[str, str, str]]:
    """path -> (mode, owner, symlink target) from `dpkg-deb --contents`."""
    listing = subprocess.run(
        ["dpkg-deb", "--contents", str(deb)], capture_output=True, text=True, check=True
    ).stdout
    entries = {}
    for line in listing.splitlines():
        mode, owner, _size, _date, _time, rest = line.split(None, 5)
        path, _, target = rest.partition(" -> ")
        entries[path.removeprefix(".").rstrip("/") or "/"] = (mode, owner, target)
    return entries


def test_deb_control_names_the_package_version_and_machine(fake_deb: Path) -> None:
    architecture = subprocess.run(
        ["dpkg", "--print-architecture"], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert fake_deb.name == f"glmtray_{FAKE_VERSION}_{architecture}.deb"
    assert deb_field(fake_deb, "Package") == "glmtray"
    assert deb_field(fake_deb, "Version") == FAKE_VERSION
    assert deb_field(fake_deb, "Architecture") == architecture
    assert re.fullmatch(r".+ <[^@\s]+@[^@\s]+>", deb_field(fake_deb, "Maintainer"))
    summary = " ".join((metainfo().findtext("summary") or "").split())
    assert deb_field(fake_deb, "Description").splitlines()[0] == summary


def test_deb_depends_on_the_installed_packages_of_the_libraries_it_links(fake_deb: Path) -> None:
    """The plugin's libraries, the one the bundle carried a copy of included, and libc for
    the program; each an installed package at least at the version asked for."""
    entries = [entry.strip() for entry in deb_field(fake_deb, "Depends").split(",")]
    names = {}
    for entry in entries:
        match = re.fullmatch(r"([a-z0-9][a-z0-9+.-]+)(?: \(>= (\S+)\))?", entry)
        assert match, entry
        names[match.group(1)] = match.group(2)
    assert set(names) == {"libc6", "libxcb1", "libxcb-shm0", "libxcb-util1"}
    for name, minimum in names.items():
        installed = subprocess.run(
            ["dpkg-query", "-W", "-f=${Status} ${Version}", name],
            capture_output=True,
            text=True,
            check=False,
        ).stdout
        assert installed.startswith("install ok installed "), f"{name}: {installed}"
        if minimum:
            version = installed.rsplit(" ", 1)[1]
            compare = ["dpkg", "--compare-versions", version, "ge", minimum]
            assert subprocess.run(compare, check=False).returncode == 0, f"{name} {version}"


def test_deb_lays_out_files_where_desktops_look(fake_deb: Path) -> None:
    contents = deb_contents(fake_deb)
    app_id = glmtray.APP_ID
    for path in (
        "/usr/lib/glmtray/glmtray",
        "/usr/lib/glmtray/_internal/PySide6/Qt/plugins/platforms/libqfake.so",
        f"/usr/share/applications/{app_id}.desktop",
        f"/usr/share/metainfo/{app_id}.metainfo.xml",
        f"/usr/share/icons/hicolor/scalable/apps/{app_id}.svg",
        f"/usr/share/icons/hicolor/symbolic/apps/{app_id}-symbolic.svg",
        f"/usr/share/icons/hicolor/48x48/apps/{app_id}.png",
        "/usr/share/doc/glmtray/copyright",
        "/usr/share/doc/glmtray/changelog.gz",
    ):
        assert path in contents, path
    mode, _, target = contents["/usr/bin/glmtray"]
    assert mode.startswith("l") and target == "../lib/glmtray/glmtray"
    assert contents["/usr/lib/glmtray/glmtray"][0] == "-rwxr-xr-x"
    assert contents["/usr/lib/glmtray/_internal/libQt6Fake.so.6"][0] == "-rw-r--r--"
    # The system's copy replaces the bundled one; unknown names and Qt stay in the bundle.
    assert "/usr/lib/glmtray/_internal/libxcb-util.so.1" not in contents
    assert "/usr/lib/glmtray/_internal/libglmtray-private.so.1" in contents
    assert {owner for _, owner, _ in contents.values()} == {"root/root"}
    assert {mode for mode, _, _ in contents.values() if mode.startswith("d")} == {"drwxr-xr-x"}


def test_deb_md5sums_and_installed_size_match_its_files(fake_deb: Path, tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    subprocess.run(["dpkg-deb", "--raw-extract", str(fake_deb), str(tree)], check=True)
    md5sum = require_tool("md5sum", "coreutils")
    check = subprocess.run(
        [md5sum, "--check", "--strict", "DEBIAN/md5sums"],
        cwd=tree,
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    files = [p for p in tree.rglob("*") if p.is_file() and not p.is_symlink()]
    payload = {str(p.relative_to(tree)) for p in files if p.parts[len(tree.parts)] != "DEBIAN"}
    listed = {line.split("  ", 1)[1] for line in (tree / "DEBIAN/md5sums").read_text().splitlines()}
    assert listed == payload
    kib = sum(-(-p.stat().st_size // 1024) for p in files if "DEBIAN" not in p.parts)
    entries = sum(1 for p in tree.rglob("*") if "DEBIAN" not in p.parts)
    assert kib <= int(deb_field(fake_deb, "Installed-Size")) <= kib + entries


def test_deb_copyright_and_changelog(fake_deb: Path, tmp_path: Path) -> None:
    import gzip

    subprocess.run(["dpkg-deb", "--extract", str(fake_deb), str(tmp_path)], check=True)
    doc = tmp_path / "usr/share/doc/glmtray"
    copyright_text = (doc / "copyright").read_text()
    assert copyright_text.startswith(
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"
    )
    assert "\nFiles: *\n" in copyright_text and "\nLicense: Expat\n Permission is hereby" in (
        copyright_text
    )
    # Every bundled Python distribution is named with its licence.
    assert re.search(r"\n keyring [\d.]+: MIT\n", copyright_text)
    assert re.search(r"\n PySide6\S* [\d.]+: LGPL-3\.0", copyright_text)
    changelog = gzip.decompress((doc / "changelog.gz").read_bytes()).decode()
    assert changelog.startswith(f"glmtray ({glmtray.__version__}) unstable; urgency=medium\n")
    assert re.search(r"\n -- .+ <.+@.+>  \w{3}, \d\d \w{3} \d{4} ", changelog)


def test_deb_build_fails_on_a_library_found_nowhere(tmp_path: Path) -> None:
    bundle, _ = fake_bundle(tmp_path)
    plugin = bundle / "_internal/PySide6/Qt/plugins/platforms/libqfake.so"
    data = plugin.read_bytes()
    assert b"libxcb-util.so.1\0" in data
    plugin.write_bytes(data.replace(b"libxcb-util.so.1\0", b"libxcb-utiq.so.1\0"))
    with pytest.raises(build_deb.PackagingError, match=r"libqfake\.so needs libxcb-utiq\.so\.1"):
        build_deb.build(bundle, tmp_path / "out", version=FAKE_VERSION)
    assert not list((tmp_path / "out").glob("*.deb"))


@pytest.mark.parametrize(
    ("pep440", "debian"),
    [
        ("0.1.0", "0.1.0"),
        ("1.2rc1", "1.2~rc1"),
        ("1.2.0a3", "1.2.0~a3"),
        ("1.2.post1", "1.2+post1"),
        ("1.3.dev4", "1.3~~dev4"),
    ],
)
def test_debian_version_of_a_python_version(pep440: str, debian: str) -> None:
    assert build_deb.debian_version(pep440) == debian


def test_debian_versions_sort_like_python_ones() -> None:
    require_tool("dpkg", "dpkg")
    ordered = ["1.2.dev1", "1.2a1", "1.2rc1", "1.2", "1.2.post1", "1.3"]
    versions = [build_deb.debian_version(v) for v in ordered]
    for lower, higher in itertools.pairwise(versions):
        assert build_deb.version_greater(higher, lower), (lower, higher)
    assert build_deb.package_version() == build_deb.debian_version(glmtray.__version__)
    with pytest.raises(build_deb.PackagingError):
        build_deb.debian_version("1.2-local")


# --- starting an installed desktop entry (packaging/linux/desktop_launch.py) -------------------


def test_launch_command_of_the_shipped_entry() -> None:
    assert desktop_launch.launch_command(DESKTOP.read_text()) == ["glmtray"]


@pytest.mark.parametrize(
    "command",
    [
        ["/usr/bin/glmtray", "--demo"],
        ["/opt/My Apps/glmtray", "100%", 'say "hi"', "back\\slash", "$HOME", "it's", "`x`"],
    ],
)
def test_launch_command_reads_back_quoted_exec_lines(command: list[str]) -> None:
    entry = f"[Desktop Entry]\nType=Application\nName=x\nExec={make_autostart.exec_line(command)}\n"
    assert desktop_launch.launch_command(entry) == command


def test_launch_command_substitutes_field_codes(tmp_path: Path) -> None:
    entry = tmp_path / "x.desktop"
    entry.write_text(
        "[Desktop Entry]\nType=Application\nName=GLM Tray\nIcon=io.example.X\n"
        'Exec=glmtray %U --title=%c %i --entry %k "quoted %%f" 100%%\n'
        "[Desktop Action other]\nExec=other\n"
    )
    expected = [
        "glmtray",
        "--title=GLM Tray",
        "--icon",
        "io.example.X",
        "--entry",
        str(entry),
        "quoted %f",
        "100%",
    ]
    assert desktop_launch.launch_command(entry.read_text(), str(entry)) == expected
    # The command line form, as test-deb.sh reads it: NUL-terminated arguments.
    result = subprocess.run(
        [sys.executable, str(PACKAGING / "linux" / "desktop_launch.py"), str(entry)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.split("\0") == [*expected, ""]


@pytest.mark.parametrize("exec_value", ["glmtray %z", 'glmtray "unterminated', "%f", "%U %F"])
def test_launch_command_refuses_what_no_launcher_could_run(exec_value: str) -> None:
    entry = f"[Desktop Entry]\nType=Application\nName=x\nExec={exec_value}\n"
    with pytest.raises(desktop_launch.DesktopEntryError):
        desktop_launch.launch_command(entry)


def test_readme_install_leads_with_this_versions_deb() -> None:
    readme = (ROOT / "README.md").read_text()
    install = readme.split("\n## Install\n", 1)[1].split("\n## ", 1)[0]
    first_block = install.split("```sh\n", 1)[1].split("```", 1)[0].strip()
    version = build_deb.debian_version(glmtray.__version__)
    assert first_block == f"sudo apt install ./glmtray_{version}_amd64.deb"


def test_search_paths_of_the_build_machine_are_dropped_and_origin_ones_kept(tmp_path: Path) -> None:
    require_tool("readelf", "binutils")
    cache = build_deb.linker_cache()
    library = tmp_path / "libxcb-util.so.1"
    shutil.copy(system_library(cache, "libxcb-util.so.1", "libxcb-util1"), library)
    needed = build_deb.needed_libraries(library)
    # Turn its DT_SONAME entry into a DT_RUNPATH (to the same string, a relative path): what a
    # build machine's interpreter leaves behind, without a tool to write one.
    header = subprocess.run(
        ["readelf", "--dynamic", str(library)], capture_output=True, text=True, check=True
    ).stdout
    found = re.search(r"Dynamic section at offset (0x[0-9a-f]+)", header)
    assert found, header
    offset = int(found.group(1), 16)
    data = bytearray(library.read_bytes())
    while int.from_bytes(data[offset : offset + 8], "little") != 14:  # DT_SONAME
        offset += 16
    data[offset : offset + 8] = (29).to_bytes(8, "little")  # DT_RUNPATH
    library.write_bytes(bytes(data))
    assert (
        "RUNPATH"
        in subprocess.run(
            ["readelf", "--dynamic", str(library)], capture_output=True, text=True, check=True
        ).stdout
    )

    assert build_deb.drop_foreign_search_paths(library) == ["libxcb-util.so.1"]
    after = subprocess.run(
        ["readelf", "--dynamic", "--wide", str(library)], capture_output=True, text=True, check=True
    ).stdout
    assert "RUNPATH" not in after and "RPATH" not in after
    assert build_deb.needed_libraries(library) == needed
    assert all(build_deb.resolved_libraries(library, tmp_path).get(name) for name in needed)

    # Qt's plugins find Qt through $ORIGIN: left exactly as they are.
    import PySide6

    plugin = Path(PySide6.__file__).parent / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    copy = tmp_path / "libqxcb.so"
    shutil.copy(plugin, copy)
    origin = subprocess.run(
        ["readelf", "--dynamic", "--wide", str(copy)], capture_output=True, text=True, check=True
    ).stdout
    assert re.search(r"\(RUNPATH\)\s+Library runpath: \[\$ORIGIN", origin), origin
    assert build_deb.drop_foreign_search_paths(copy) == []
    assert copy.read_bytes() == plugin.read_bytes()


def test_deb_description_is_the_metainfos_untranslated_text(fake_deb: Path) -> None:
    """AppStream keeps translations next to the originals (xml:lang); the control file's
    Description carries only the originals, and all of them."""
    described = " ".join(deb_field(fake_deb, "Description").split())
    xml_lang = "{http://www.w3.org/XML/1998/namespace}lang"
    body = metainfo().find("description")
    assert body is not None
    originals = [e for e in body.iter() if e.tag in ("p", "li") and e.get(xml_lang) is None]
    translations = [e for e in body.iter() if e.tag in ("p", "li") and e.get(xml_lang)]
    assert originals
    for element in originals:
        assert " ".join("".join(element.itertext()).split()) in described
    for element in translations:
        assert " ".join("".join(element.itertext()).split()) not in described
