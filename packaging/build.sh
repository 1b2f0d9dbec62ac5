#!/usr/bin/env bash
# packaging/build.sh — build the one-folder glmtray bundle with PyInstaller into dist/glmtray/,
# and the Debian package made from it.
#
# Usage: packaging/build.sh            (PYTHON=path/to/python to use another interpreter)
#
# Uses the project's venv, where glmtray is installed editable, so the bundle is built from the
# working tree. PyInstaller comes from the `package` extra (pip install -e '.[package]').
# On Linux it then builds dist/glmtray_<version>_<arch>.deb from the bundle
# (packaging/linux/build_deb.py). Prints the sizes at the end. `make package` runs this, then
# packaging/smoke.sh; CI then installs the .deb with packaging/linux/test-deb.sh.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"

[[ -x "$PYTHON" ]] || { echo "build: no interpreter at $PYTHON (run 'make' first)" >&2; exit 1; }
"$PYTHON" -c 'import PyInstaller' 2>/dev/null || {
    echo "build: PyInstaller is missing: $PYTHON -m pip install -e '.[package]'" >&2
    exit 1
}

start=$SECONDS
# --clean: PyInstaller's cache would otherwise keep binaries collected by an older spec.
# build/ and dist/ are git-ignored.
"$PYTHON" -m PyInstaller --noconfirm --clean --log-level WARN \
    --distpath "$ROOT/dist" --workpath "$ROOT/build/pyinstaller" \
    "$ROOT/packaging/glmtray.spec"

bundle="$ROOT/dist/glmtray"
[[ -x "$bundle/glmtray" ]] || { echo "build: $bundle/glmtray was not produced" >&2; exit 1; }
echo "build: $bundle built in $((SECONDS - start)) s, size $(du -sh "$bundle" | cut -f1)"

# The Debian package, on machines that have dpkg (packaging/linux/build_deb.py says what goes
# in it and how its Depends are computed). PNG icons for the hicolor theme come from the SVGs,
# drawn by Qt's renderer, the one the app uses.
if [[ "$(uname -s)" == Linux ]]; then
    if command -v dpkg-deb >/dev/null; then
        start=$SECONDS
        rm -rf "$ROOT/build/icons"
        QT_QPA_PLATFORM=offscreen "$PYTHON" "$ROOT/packaging/render_icons.py" "$ROOT/build/icons" >/dev/null
        deb="$("$PYTHON" "$ROOT/packaging/linux/build_deb.py" --bundle "$bundle" \
            --icons "$ROOT/build/icons" --out "$ROOT/dist")"
        echo "build: $deb built in $((SECONDS - start)) s, size $(du -h "$deb" | cut -f1)," \
            "installed size $(dpkg-deb --field "$deb" Installed-Size) KiB"
    elif [[ "${CI:-}" == "true" ]]; then
        echo "build: dpkg-deb is missing (apt package dpkg), cannot build the .deb" >&2
        exit 1
    else
        echo "build: no dpkg-deb on this machine, skipping the .deb"
    fi
fi
