"""Assemble glmtray's Debian package from the PyInstaller bundle, with dpkg-deb.

    python packaging/linux/build_deb.py [--bundle dist/glmtray] [--icons DIR] [--out dist]

Writes OUT/glmtray_<version>_<arch>.deb and prints its path. `packaging/build.sh` runs it after
PyInstaller (`make package`); packaging/linux/test-deb.sh installs, starts and removes the result.

What goes where:
  /usr/lib/glmtray/               the one-folder bundle
  /usr/bin/glmtray                a relative symlink to it (the bootloader follows the link)
  /usr/share/applications/        the desktop entry       /usr/share/metainfo/  AppStream data
  /usr/share/icons/hicolor/       SVG (scalable, symbolic) and PNG icons from --icons
  /usr/share/doc/glmtray/         copyright (DEP-5) and changelog.gz

System libraries. PyInstaller copies the build machine's shared libraries into the bundle
(libxcb-*, libxkbcommon, fontconfig, libdbus, OpenSSL, GLib...). A Debian package uses the
system's copies instead, so they get the distribution's security updates: every bundled library
whose name the system's linker cache knows, whose file a Debian package of this architecture
owns, and which exports at least the bundled copy's symbols is removed from the package. Qt,
ICU, PySide6, shiboken and libpython always stay: PySide6 only works with the exact Qt it was
built against.

Depends is then computed, not written by hand: every ELF file left in the bundle is resolved
with `ldd` the way the bootloader runs it (LD_LIBRARY_PATH=_internal), each library it links
directly (DT_NEEDED) that resolves outside the bundle is mapped to its package with `dpkg -S`,
and the package's shlibs file gives the minimal version, as dpkg-shlibdeps does. A library that
does not resolve, or that no package owns, fails the build.

Standard library only (plus dpkg, binutils' readelf and nm, ldd and ldconfig), so it also runs
outside the venv.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
APP_ID = "io.github.glmtray.GlmTray"
PACKAGE = "glmtray"
LINUX = ROOT / "packaging" / "linux"
DESKTOP_FILE = LINUX / f"{APP_ID}.desktop"
METAINFO_FILE = LINUX / f"{APP_ID}.metainfo.xml"
ICONS = ROOT / "resources" / "icons"
VERSION_FILE = ROOT / "app" / "glmtray" / "__init__.py"
INSTALL_DIR = Path("usr/lib") / PACKAGE
# The project publishes no mail address; GitHub's no-reply form says so while keeping the
# field's required "Name <address>" shape.
MAINTAINER = "The glmtray developers <glmtray@users.noreply.github.com>"
HOMEPAGE = "https://github.com/glmtray/glmtray"
COPYRIGHT_HOLDER = "2026 The glmtray developers"

# Libraries that ship with the PySide6 wheel (or are the interpreter itself): never replaced by
# a system copy, whatever the system has.
ALWAYS_BUNDLED = re.compile(r"^lib(Qt6|icu|pyside6|shiboken6|python3)")
# Python extension modules live at the top of _internal/ too; they are not shared libraries.
EXTENSION_MODULE = re.compile(r"\.(cpython-[^.]+|abi3)\.so$")

MIT_LICENSE = """\
 Permission is hereby granted, free of charge, to any person obtaining a copy of this
 software and associated documentation files (the "Software"), to deal in the Software
 without restriction, including without limitation the rights to use, copy, modify, merge,
 publish, distribute, sublicense, and/or sell copies of the Software, and to permit persons
 to whom the Software is furnished to do so, subject to the following conditions:
 .
 The above copyright notice and this permission notice shall be included in all copies or
 substantial portions of the Software.
 .
 THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED,
 INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR
 PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE
 FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR
 OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER
 DEALINGS IN THE SOFTWARE."""


class PackagingError(Exception):
    """The bundle cannot become a correct package; the message says why."""


def run(command: Sequence[str | Path], env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [str(c) for c in command], capture_output=True, text=True, check=False, env=env
    )
    if result.returncode != 0:
        raise PackagingError(f"{' '.join(map(str, command))} failed: {result.stderr.strip()}")
    return result.stdout


# --- versions --------------------------------------------------------------------------------


def package_version(init_file: Path = VERSION_FILE) -> str:
    """glmtray.__version__, read from the source so the venv's Qt is not needed."""
    match = re.search(r'^__version__ = "([^"]+)"', init_file.read_text(), re.MULTILINE)
    if not match:
        raise PackagingError(f"no __version__ in {init_file}")
    return debian_version(match.group(1))


def debian_version(version: str) -> str:
    """A PEP 440 version as Debian orders it: pre-releases sort before the release ("~"),
    dev builds before its pre-releases too ("~~"), post-releases after it ("+")."""
    if not re.fullmatch(r"\d+(\.\d+)*((a|b|rc)\d+)?(\.post\d+)?(\.dev\d+)?", version):
        raise PackagingError(f"version {version!r} is not a plain PEP 440 version")
    version = re.sub(r"(a|b|rc)(\d+)", r"~\1\2", version)
    version = version.replace(".post", "+post")
    return version.replace(".dev", "~~dev")


def dpkg_architecture() -> str:
    return run(["dpkg", "--print-architecture"]).strip()


def version_greater(a: str, b: str) -> bool:
    return subprocess.run(["dpkg", "--compare-versions", a, "gt", b], check=False).returncode == 0


# --- ELF files and the libraries they need ------------------------------------------------------


def is_elf(path: Path) -> bool:
    if path.is_symlink() or not path.is_file():
        return False
    with path.open("rb") as fh:
        return fh.read(4) == b"\x7fELF"


def elf_files(tree: Path) -> list[Path]:
    return sorted(p for p in tree.rglob("*") if is_elf(p))


def needed_libraries(elf: Path) -> list[str]:
    """The DT_NEEDED entries: the libraries this file links directly."""
    output = run(["readelf", "--dynamic", "--wide", elf])
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", output)


def resolved_libraries(elf: Path, library_path: Path) -> dict[str, str | None]:
    """Library name -> the file the dynamic loader picks (None: not found), for the whole
    closure, with `library_path` searched first as the PyInstaller bootloader arranges."""
    env = {**os.environ, "LD_LIBRARY_PATH": str(library_path)}
    result = subprocess.run(["ldd", str(elf)], capture_output=True, text=True, check=False, env=env)
    resolved: dict[str, str | None] = {}
    for line in result.stdout.splitlines():
        match = re.match(r"\s*(\S+) => (not found|\S+)", line)
        if match:
            name, where = match.groups()
            resolved[name] = None if where == "not found" else where
        elif match := re.match(r"\s*(/\S+) \(0x", line):  # the dynamic loader, by path
            resolved[os.path.basename(match.group(1))] = match.group(1)
    return resolved


def exported_symbols(library: Path) -> set[str]:
    output = run(["nm", "--dynamic", "--defined-only", "--format=posix", library])
    return {line.split()[0] for line in output.splitlines() if line.strip()}


DT_NULL, DT_STRTAB, DT_RPATH, DT_RUNPATH = 0, 5, 15, 29
PT_LOAD, PT_DYNAMIC = 1, 2


def drop_foreign_search_paths(elf: Path) -> list[str]:
    """Remove RPATH/RUNPATH entries that point outside the bundle: absolute or relative paths
    of the build machine (a pyenv interpreter leaves /root/.pyenv/versions/X/lib in libpython
    and every extension module). The bootloader's LD_LIBRARY_PATH finds the bundle's libraries;
    such a path would make the loader search a directory of the user's machine first. Entries
    with an $ORIGIN component (Qt's, PySide6's) are kept whole. Returns the paths removed.

    ELF64 little-endian only (what dpkg builds here); other files are left as they are."""
    data = bytearray(elf.read_bytes())
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        return []
    phoff = int.from_bytes(data[0x20:0x28], "little")
    phentsize = int.from_bytes(data[0x36:0x38], "little")
    phnum = int.from_bytes(data[0x38:0x3A], "little")
    loads: list[tuple[int, int, int]] = []  # (vaddr, memsz, offset)
    dynamic: tuple[int, int] | None = None  # (offset, size)
    for index in range(phnum):
        header = phoff + index * phentsize
        p_type = int.from_bytes(data[header : header + 4], "little")
        offset = int.from_bytes(data[header + 8 : header + 16], "little")
        vaddr = int.from_bytes(data[header + 16 : header + 24], "little")
        filesz = int.from_bytes(data[header + 32 : header + 40], "little")
        memsz = int.from_bytes(data[header + 40 : header + 48], "little")
        if p_type == PT_LOAD:
            loads.append((vaddr, memsz, offset))
        elif p_type == PT_DYNAMIC:
            dynamic = (offset, filesz)
    if dynamic is None:
        return []
    entries: list[tuple[int, int]] = []
    for at in range(dynamic[0], dynamic[0] + dynamic[1] - 15, 16):
        tag = int.from_bytes(data[at : at + 8], "little", signed=True)
        entries.append((tag, int.from_bytes(data[at + 8 : at + 16], "little")))
        if tag == DT_NULL:
            break
    strtab_vaddr = next((value for tag, value in entries if tag == DT_STRTAB), None)
    strtab = next(
        (
            off + strtab_vaddr - va
            for va, size, off in loads
            if strtab_vaddr is not None and va <= strtab_vaddr < va + size
        ),
        None,
    )
    if strtab is None:
        return []

    def string(offset: int) -> str:
        start = strtab + offset
        return data[start : data.index(0, start)].decode(errors="replace")

    removed: list[str] = []
    kept: list[tuple[int, int]] = []
    for tag, value in entries:
        if tag in (DT_RPATH, DT_RUNPATH):
            path = string(value)
            if not any(part.startswith(("$ORIGIN", "${ORIGIN}")) for part in path.split(":")):
                removed.append(path)
                continue
        kept.append((tag, value))
    if not removed:
        return []
    # The same number of slots: the removed entries' become DT_NULL at the end.
    kept += [(DT_NULL, 0)] * (len(entries) - len(kept))
    for index, (tag, value) in enumerate(kept):
        at = dynamic[0] + index * 16
        data[at : at + 8] = tag.to_bytes(8, "little", signed=True)
        data[at + 8 : at + 16] = value.to_bytes(8, "little")
    mode = elf.stat().st_mode
    elf.write_bytes(bytes(data))
    elf.chmod(mode)
    return removed


# --- which package owns what ------------------------------------------------------------------


def usr_merge_aliases(path: str) -> list[str]:
    """The names dpkg may know a library by: on merged-/usr systems /lib is /usr/lib, and a
    package registers whichever of the two it was built with."""
    names = [path]
    real = os.path.realpath(path)
    for candidate in (path, real):
        for short in ("/lib/", "/lib64/", "/bin/", "/sbin/"):
            if candidate.startswith(short):
                names.append("/usr" + candidate)
            elif candidate.startswith("/usr" + short):
                names.append(candidate[len("/usr") :])
        names.append(candidate)
    return list(dict.fromkeys(names))


def owning_packages(paths: Iterable[str], architecture: str) -> dict[str, str]:
    """path -> the package (without ":arch") that installed it, for the paths some package of
    this architecture (or "all") owns. One `dpkg -S` for all of them: it reads the whole
    database each time."""
    wanted = {alias: path for path in paths for alias in usr_merge_aliases(path)}
    if not wanted:
        return {}
    # dpkg -S exits 1 when any name is unknown, and still prints the ones it found.
    result = subprocess.run(["dpkg", "-S", *wanted], capture_output=True, text=True, check=False)
    owners: dict[str, str] = {}
    for line in result.stdout.splitlines():
        if line.startswith("diversion ") or ": " not in line:
            continue
        packages, where = line.split(": ", 1)
        first = packages.split(", ")[0]
        name, _, arch = first.partition(":")
        if arch and arch != architecture:
            continue
        original = wanted.get(where.strip())
        if original is not None:
            owners.setdefault(original, name)
    return owners


def soname_key(soname: str) -> tuple[str, str] | None:
    """The (library, version) pair a shlibs file lists for a soname, as dpkg-shlibdeps splits
    it: libxcb.so.1 -> (libxcb, 1), libfoo-1.2.so -> (libfoo, 1.2)."""
    match = re.fullmatch(r"(.+)\.so\.(.+)", soname) or re.fullmatch(r"(.+)-([0-9.]+)\.so", soname)
    return (match.group(1), match.group(2)) if match else None


def control_file(package: str, name: str) -> Path | None:
    result = subprocess.run(
        ["dpkg-query", "--control-path", package, name], capture_output=True, text=True, check=False
    )
    paths = result.stdout.split()
    return Path(paths[0]) if paths else None


def shlibs_dependency(package: str, soname: str) -> str:
    """The dependency a library's package declares for this soname, e.g. "libxcb1 (>= 1.12)".

    From the package's shlibs file; when that names no version (libstdc++6, libffi8 rely on
    their symbols file), the newest symbol version in the symbols file: the version of the
    build machine's library at most, as conservative as a versioned shlibs entry. The bare
    package name when neither file says more."""
    key = soname_key(soname)
    declared = package
    shlibs = control_file(package, "shlibs")
    for line in shlibs.read_text(errors="replace").splitlines() if shlibs else []:
        fields = line.split(None, 2)
        # A first field ending in ":" is a package type (udeb:): not for installed systems.
        if len(fields) == 3 and not fields[0].endswith(":") and key == (fields[0], fields[1]):
            declared = fields[2].strip()
            break
    if "(" in declared or "|" in declared:
        return declared
    newest = newest_symbol_version(package, soname)
    return f"{declared} (>= {newest})" if newest else declared


def newest_symbol_version(package: str, soname: str) -> str | None:
    symbols = control_file(package, "symbols")
    if symbols is None:
        return None
    versions: set[str] = set()
    in_library = False
    for line in symbols.read_text(errors="replace").splitlines():
        if not line.startswith((" ", "|", "*", "#")):
            in_library = line.split(None, 1)[0] == soname if line.strip() else False
        elif in_library and line.startswith(" "):
            fields = line.split()
            if len(fields) >= 2 and fields[1] != "0":  # 0: "any version"
                versions.add(fields[1])
    newest = None
    for version in versions:
        if newest is None or version_greater(version, newest):
            newest = version
    return newest


@dataclass
class Dependencies:
    """Depends entries, at most one per package, each with its highest minimal version."""

    minimal: dict[str, str | None] = field(default_factory=dict)
    other: list[str] = field(default_factory=list)

    def add(self, dependency: str) -> None:
        match = re.fullmatch(r"([a-z0-9][a-z0-9+.-]+)(?: \(>= ([^)\s]+)\))?", dependency)
        if not match:  # alternatives or other relations: kept as declared
            if dependency not in self.other:
                self.other.append(dependency)
            return
        name, version = match.groups()
        known = self.minimal.get(name)
        if name not in self.minimal or (version and (not known or version_greater(version, known))):
            self.minimal[name] = version

    def field(self) -> str:
        entries = [f"{n} (>= {v})" if v else n for n, v in sorted(self.minimal.items())]
        return ", ".join(entries + self.other)


# --- the bundle -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Unbundled:
    name: str
    system_path: str
    package: str


def linker_cache() -> dict[str, list[str]]:
    """Library name -> paths, from `ldconfig -p` (the system's shared-library cache)."""
    cache: dict[str, list[str]] = {}
    # /sbin is not on every user's PATH.
    ldconfig = shutil.which("ldconfig") or "/sbin/ldconfig"
    for line in run([ldconfig, "-p"]).splitlines():
        match = re.match(r"\s*(\S+) \(([^)]*)\) => (\S+)$", line)
        if match:
            cache.setdefault(match.group(1), []).append(match.group(3))
    return cache


def unbundle_system_libraries(internal: Path, architecture: str) -> list[Unbundled]:
    """Remove from `internal` (the bundle's _internal/) every library a Debian package of
    this machine provides with at least the same exported symbols (see the module's doc)."""
    cache = linker_cache()
    candidates = {
        lib.name: cache[lib.name]
        for lib in sorted(internal.iterdir())
        if lib.name.startswith("lib")
        and ".so" in lib.name
        and not EXTENSION_MODULE.search(lib.name)
        and not ALWAYS_BUNDLED.match(lib.name)
        and not lib.is_symlink()
        and lib.name in cache
    }
    owners = owning_packages([p for paths in candidates.values() for p in paths], architecture)
    removed = []
    for name, paths in candidates.items():
        for system_path in paths:
            package = owners.get(system_path)
            if package is None:
                continue
            bundled = internal / name
            if not exported_symbols(bundled) <= exported_symbols(Path(system_path)):
                continue  # a newer copy than the system's: keep it
            bundled.unlink()
            removed.append(Unbundled(name, system_path, package))
            break
    # Symlinks in _internal/ that pointed at a removed library would be left dangling.
    for link in internal.iterdir():
        if link.is_symlink() and not link.exists():
            link.unlink()
    return removed


def compute_depends(bundle: Path, architecture: str) -> Dependencies:
    """Depends for every library the bundle's ELF files link directly that resolves outside
    the bundle (see the module's doc)."""
    internal = bundle / "_internal"
    bundle_root = str(bundle.resolve()) + os.sep
    system_libraries: dict[str, str] = {}  # path -> soname
    unresolved: list[str] = []
    for elf in elf_files(bundle):
        needed = needed_libraries(elf)
        if not needed:
            continue
        resolved = resolved_libraries(elf, internal)
        for soname in needed:
            path = resolved.get(soname)
            if path is None:
                unresolved.append(f"{elf.relative_to(bundle)} needs {soname}")
            elif not os.path.realpath(path).startswith(bundle_root):
                system_libraries[path] = soname
    if unresolved:
        raise PackagingError(
            "libraries found neither in the bundle nor on this system:\n  "
            + "\n  ".join(sorted(set(unresolved)))
        )
    owners = owning_packages(system_libraries, architecture)
    unowned = sorted(p for p in system_libraries if p not in owners)
    if unowned:
        raise PackagingError(
            "the bundle links system libraries that no Debian package provides: "
            + ", ".join(unowned)
        )
    depends = Dependencies()
    for path, soname in sorted(system_libraries.items()):
        depends.add(shlibs_dependency(owners[path], os.path.basename(soname)))
    return depends


# --- text files ---------------------------------------------------------------------------------


XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def untranslated(elements: Iterable[ET.Element]) -> list[ET.Element]:
    """The source-language elements: AppStream puts each translation next to its original,
    marked with xml:lang; Debian's Description is English (translations go through DDTP)."""
    return [element for element in elements if element.get(XML_LANG) is None]


def description() -> str:
    """The control file's Description from the AppStream metainfo (one source for both):
    the summary, then the paragraphs, list items shown verbatim (two leading spaces)."""
    root = ET.parse(METAINFO_FILE).getroot()
    summary = untranslated(root.iterfind("summary"))
    lines = [" ".join("".join(summary[0].itertext()).split()) if summary else PACKAGE]
    body = root.find("description")
    for index, element in enumerate(untranslated(body) if body is not None else []):
        if index:
            lines.append(" .")
        if element.tag == "ul":
            for item in untranslated(element.iter("li")):
                text = " ".join("".join(item.itertext()).split())
                lines += [
                    " " + w
                    for w in textwrap.wrap(text, 77, initial_indent=" - ", subsequent_indent="   ")
                ]
        else:
            text = " ".join("".join(element.itertext()).split())
            lines += [" " + w for w in textwrap.wrap(text, 78)]
    return "\n".join(lines)


def changelog(version: str) -> str:
    """A Debian changelog from the metainfo's releases (newest first), for changelog.gz."""
    root = ET.parse(METAINFO_FILE).getroot()
    entries = []
    for release in root.iterfind("releases/release"):
        notes = release.find("description")
        paragraphs = untranslated(notes) if notes is not None else []
        text = " ".join(" ".join("".join(p.itertext()).split()) for p in paragraphs) or "Release."
        released = release.get("date", "")
        stamp = run(["date", "-u", "-R", "-d", released]).strip() if released else ""
        item = "\n".join(textwrap.wrap(text, 76, initial_indent="  * ", subsequent_indent="    "))
        entries.append(
            f"{PACKAGE} ({debian_version(release.get('version', version))}) unstable; "
            f"urgency=medium\n\n{item}\n\n -- {MAINTAINER}  {stamp}\n"
        )
    return "\n".join(entries)


def bundled_distributions() -> list[tuple[str, str, str]]:
    """(name, version, licence) of the Python distributions glmtray depends on at run time,
    read from the installed metadata of this interpreter (the one PyInstaller used)."""
    from importlib import metadata

    seen: dict[str, tuple[str, str, str]] = {}
    pending = [PACKAGE]
    while pending:
        name = pending.pop()
        key = re.sub(r"[-_.]+", "-", name).lower()
        if key in seen:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        meta = dist.metadata
        licence = " ".join(meta.get_all("License-Expression") or [])
        if not licence:
            classifiers = [
                c.rsplit(" :: ", 1)[-1]
                for c in meta.get_all("Classifier") or []
                if c.startswith("License ::")
            ]
            short = " ".join(meta.get_all("License") or []).strip()
            licence = ", ".join(classifiers) or (short if len(short) < 60 else "see its metadata")
        seen[key] = (meta["Name"], dist.version, licence)
        for requirement in dist.requires or []:
            if "extra ==" in requirement:
                continue
            marker = requirement.split(";", 1)
            if len(marker) == 2 and not _marker_applies(marker[1]):
                continue
            pending.append(re.split(r"[\s<>=!~\[;(]", marker[0].strip(), maxsplit=1)[0])
    return sorted(v for k, v in seen.items() if k != PACKAGE)


def _marker_applies(marker: str) -> bool:
    """Environment markers of the form used by glmtray's dependency tree, for Linux."""
    marker = marker.strip()
    platform_markers = re.findall(r'sys_platform\s*(==|!=)\s*"([^"]+)"', marker)
    for operator, value in platform_markers:
        if (operator == "==") != (value == "linux"):
            return False
    return 'platform_python_implementation != "CPython"' not in marker


def copyright_text() -> str:
    bundled = "\n".join(
        f" {name} {version}: {licence}" for name, version, licence in bundled_distributions()
    )
    return f"""\
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: glmtray
Source: {HOMEPAGE}

Files: *
Copyright: {COPYRIGHT_HOLDER}
License: Expat

Files: usr/lib/glmtray/_internal/*
Copyright: their respective authors
License: bundled
 The program runs on a bundled Python interpreter (PSF-2.0) and the Qt 6 libraries
 (LGPL-3.0-only, see /usr/share/common-licenses/LGPL-3) with their ICU data (Unicode-3.0),
 collected by PyInstaller (GPL-2.0-or-later with the bootloader exception). Bundled Python
 distributions, with the licence each declares in its metadata:
{bundled}

License: Expat
{MIT_LICENSE}
"""


# --- assembly -----------------------------------------------------------------------------------


def install_file(source: Path, target: Path, mode: int = 0o644) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    target.chmod(mode)


def normalize_modes(tree: Path) -> None:
    """0755 directories and executables (the bootloader, scripts), 0644 for everything else,
    shared libraries included: the loader does not need the x bit and lintian flags it."""
    for path in [tree, *tree.rglob("*")]:
        if path.is_symlink():
            continue
        executable = ".so" not in path.name and path.stat().st_mode & 0o111
        if path.is_dir() or executable:
            path.chmod(0o755)
        else:
            path.chmod(0o644)


def installed_size_kib(tree: Path) -> int:
    """As dpkg-gencontrol counts it: each file rounded up to a KiB, one per other entry."""
    total = 0
    for path in tree.rglob("*"):
        if path.is_file() and not path.is_symlink():
            total += -(-path.stat().st_size // 1024)
        else:
            total += 1
    return total


def md5sums(tree: Path) -> str:
    """DEBIAN/md5sums: the payload's regular files (not DEBIAN/ itself), for `dpkg --verify`."""
    lines = []
    for path in sorted(tree.rglob("*")):
        if path.relative_to(tree).parts[0] == "DEBIAN":
            continue
        if path.is_file() and not path.is_symlink():
            digest = hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest()
            lines.append(f"{digest}  {path.relative_to(tree)}")
    return "\n".join(lines) + "\n"


def assemble(
    bundle: Path, icons: Path | None, staging: Path, version: str, architecture: str
) -> tuple[list[Unbundled], Dependencies]:
    """Lay out the package's files and DEBIAN/ in `staging` (an empty directory)."""
    if not (bundle / PACKAGE).is_file() or not (bundle / "_internal").is_dir():
        raise PackagingError(f"{bundle} is not a PyInstaller bundle (no {PACKAGE}, _internal/)")
    target = staging / INSTALL_DIR
    shutil.copytree(bundle, target, symlinks=True)
    unbundled = unbundle_system_libraries(target / "_internal", architecture)
    for elf in elf_files(target):
        drop_foreign_search_paths(elf)
    depends = compute_depends(target, architecture)

    usr_bin = staging / "usr" / "bin"
    usr_bin.mkdir(parents=True)
    (usr_bin / PACKAGE).symlink_to(Path("..") / "lib" / PACKAGE / PACKAGE)

    share = staging / "usr" / "share"
    install_file(DESKTOP_FILE, share / "applications" / DESKTOP_FILE.name)
    install_file(METAINFO_FILE, share / "metainfo" / METAINFO_FILE.name)
    hicolor = share / "icons" / "hicolor"
    install_file(ICONS / f"{APP_ID}.svg", hicolor / "scalable" / "apps" / f"{APP_ID}.svg")
    symbolic = f"{APP_ID}-symbolic.svg"
    install_file(ICONS / symbolic, hicolor / "symbolic" / "apps" / symbolic)
    if icons is not None:
        # render_icons.py's layout: <size>x<size>/<name>.png. The symbolic icon stays SVG only:
        # desktops recolour it, which a PNG does not allow.
        for png in sorted(icons.glob(f"*x*/{APP_ID}.png")):
            install_file(png, hicolor / png.parent.name / "apps" / png.name)

    doc = share / "doc" / PACKAGE
    doc.mkdir(parents=True)
    (doc / "copyright").write_text(copyright_text())
    # mtime=0: the same sources give the same bytes.
    with gzip.GzipFile(doc / "changelog.gz", "wb", compresslevel=9, mtime=0) as fh:
        fh.write(changelog(version).encode())

    normalize_modes(staging)
    control_dir = staging / "DEBIAN"
    control_dir.mkdir()
    control = {
        "Package": PACKAGE,
        "Version": version,
        "Architecture": architecture,
        "Maintainer": MAINTAINER,
        "Installed-Size": str(installed_size_kib(staging)),
        "Depends": depends.field(),
        "Section": "utils",
        "Priority": "optional",
        "Homepage": HOMEPAGE,
        "Description": description(),
    }
    (control_dir / "control").write_text(
        "".join(f"{key}: {value}\n" for key, value in control.items())
    )
    (control_dir / "md5sums").write_text(md5sums(staging))
    for path in control_dir.iterdir():
        path.chmod(0o644)
    control_dir.chmod(0o755)
    return unbundled, depends


def deb_path(out: Path, version: str | None = None, architecture: str | None = None) -> Path:
    version = version or package_version()
    return out / f"{PACKAGE}_{version}_{architecture or dpkg_architecture()}.deb"


def build(
    bundle: Path,
    out: Path,
    icons: Path | None = None,
    version: str | None = None,
    architecture: str | None = None,
) -> Path:
    version = version or package_version()
    architecture = architecture or dpkg_architecture()
    out.mkdir(parents=True, exist_ok=True)
    deb = deb_path(out, version, architecture)
    with tempfile.TemporaryDirectory(prefix="glmtray-deb-") as work:
        staging = Path(work) / "root"
        staging.mkdir()
        unbundled, depends = assemble(bundle, icons, staging, version, architecture)
        run(["dpkg-deb", "--root-owner-group", "-Zxz", "--build", staging, deb])
    packages = sorted({item.package for item in unbundled})
    print(
        f"build-deb: {len(unbundled)} bundled libraries replaced by the system's, from "
        + ", ".join(packages),
        file=sys.stderr,
    )
    print(f"build-deb: Depends: {depends.field()}", file=sys.stderr)
    return deb


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", type=Path, default=ROOT / "dist" / PACKAGE)
    parser.add_argument("--icons", type=Path, help="PNG icons from packaging/render_icons.py")
    parser.add_argument("--out", type=Path, default=ROOT / "dist")
    parser.add_argument(
        "--print-path", action="store_true", help="print the .deb's path without building it"
    )
    args = parser.parse_args(argv)
    if args.print_path:
        print(deb_path(args.out))
        return 0
    try:
        deb = build(args.bundle, args.out, args.icons)
    except PackagingError as error:
        print(f"build-deb: {error}", file=sys.stderr)
        return 1
    print(deb)
    return 0


if __name__ == "__main__":
    sys.exit(main())
