#!/usr/bin/env bash
# Installs the Claude Code version the real-tools tier is pinned to
# (tests/realtools/claude-code-version) from the npm registry into .ci/cache/claude-code,
# outside the project's sources and git-ignored; does nothing when that version is there.
# The package carries its native binary in a per-platform optional dependency: nothing is
# downloaded but npm packages. Usage: bash tests/realtools/install-claude-code.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
version="$(tr -d '[:space:]' < tests/realtools/claude-code-version)"
prefix=.ci/cache/claude-code
binary="$prefix/node_modules/.bin/claude"
if [ -x "$binary" ] && [ "$(DISABLE_AUTOUPDATER=1 "$binary" --version 2>/dev/null | cut -d' ' -f1)" = "$version" ]; then
  echo "claude-code: $version already in $prefix"
  exit 0
fi
mkdir -p "$prefix"
started=$(date +%s)
npm install --prefix "$prefix" --no-audit --no-fund --no-save --loglevel=error \
  "@anthropic-ai/claude-code@$version"
echo "claude-code: installed $("$binary" --version) in $prefix ($(( $(date +%s) - started )) s)"
