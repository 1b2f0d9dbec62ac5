#!/usr/bin/env bash
# packaging/build.sh — build the one-folder glmtray bundle with PyInstaller into dist/glmtray/.
#
# Usage: packaging/build.sh            (PYTHON=path/to/python to use another interpreter)
#
# Uses the project's venv, where glmtray is installed editable, so the bundle is built from the
# working tree. PyInstaller comes from the `package` extra (pip install -e '.[package]').
# Prints the bundle size at the end. `make package` runs this, then packaging/smoke.sh.
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
