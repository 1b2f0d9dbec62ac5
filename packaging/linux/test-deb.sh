#!/usr/bin/env bash
# packaging/linux/test-deb.sh — install glmtray's .deb for real, start it the way a desktop
# does, then remove it and check that nothing is left behind. As root (it runs apt-get).
#
# Usage: packaging/linux/test-deb.sh [DEB]   (default: dist/glmtray_<version>_<arch>.deb,
#                                             from packaging/build.sh / `make package`)
#
# 1. `apt-get install ./glmtray_*.deb` (apt resolves its Depends), then records `dpkg -L`.
# 2. `command -v glmtray` must be /usr/bin/glmtray (with the standard PATH, so no venv or
#    /usr/local copy shadows it); `glmtray --version` and `glmtray status --help` from it.
# 3. Inside .ci/desktop-session (Xvfb, a private bus, unlocked gnome-keyring, trayer):
#    the installed `glmtray simulate` serves the platform on loopback, `glmtray login` stores
#    the simulator's key in the keyring, and the command of the installed desktop entry's Exec
#    line (field codes substituted as a launcher does) starts with `--base-url` pointing at
#    the simulator. It must put its icon into trayer and draw quota data on it: the app's log
#    says "tray icon shows data" and the embedded icon has its percentage drawn (as
#    packaging/smoke.sh decides). Then it must quit on SIGTERM, and the key must appear in
#    none of its logs.
# 4. `apt-get remove --purge glmtray`: every path `dpkg -L` listed must be gone, except
#    directories that existed before the install (/usr/bin, ...); /usr/lib/glmtray must be gone.
# The package is removed whatever happens (EXIT trap). Exit status 0 when all passed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SCRIPT="$ROOT/packaging/linux/test-deb.sh"
PACKAGE=glmtray
TIMEOUT_S="${GLMTRAY_DEB_TIMEOUT:-30}"

log() { printf 'test-deb: %s\n' "$*" >&2; }
fail() { printf 'test-deb: FAIL: %s\n' "$*" >&2; exit 1; }

# -------------------------------------------------------------------------------------------
# Inside the desktop session: "$@" is the desktop entry's command. Runs as the session's user
# with its private HOME, bus, keyring and display.
# -------------------------------------------------------------------------------------------
sim_pid="" app_pid=""
in_session() {
    # shellcheck source=packaging/tray-probe.sh
    source "$ROOT/packaging/tray-probe.sh"
    local work="$XDG_RUNTIME_DIR/test-deb"
    mkdir -p "$work"
    session_cleanup() {
        # shellcheck disable=SC2086  # empty ids drop out
        stop_processes $app_pid $sim_pid
    }
    trap session_cleanup EXIT

    # The platform simulator from the installed package, on a free loopback port.
    glmtray simulate --port 0 --scenario pro >"$work/simulate.log" 2>&1 &
    sim_pid=$!
    local url="" key="" deadline=$((SECONDS + 15))
    until [[ -n "$url" && -n "$key" ]]; do
        kill -0 "$sim_pid" 2>/dev/null || fail "'glmtray simulate' exited: $(cat "$work/simulate.log")"
        ((SECONDS < deadline)) || fail "'glmtray simulate' printed no address in 15 s"
        sleep 0.05
        url="$(sed -nE 's/^glmtray platform simulator on (http:\/\/127\.0\.0\.1:[0-9]+).*/\1/p' "$work/simulate.log")"
        key="$(sed -nE 's/^accepted API key: (.+)$/\1/p' "$work/simulate.log")"
    done
    log "simulator at $url"

    # Sign in through the installed package's keyring backend (the Secret Service).
    local out
    out="$(printf '%s\n' "$key" | glmtray login --base-url "$url" 2>&1)" ||
        fail "'glmtray login' failed: $out"
    [[ "$out" == Signed\ in* ]] || fail "'glmtray login' said: $out"

    # The desktop entry's command, pointed at the simulator.
    local app_log="$XDG_STATE_HOME/$PACKAGE/log/glmtray.log" start_ms geometry="" fraction
    start_ms=$(($(date +%s%N) / 1000000))
    "$@" --base-url "$url" >"$ARTIFACTS/app-stdio.log" 2>&1 &
    app_pid=$!
    deadline=$((SECONDS + TIMEOUT_S))
    while :; do
        kill -0 "$app_pid" 2>/dev/null || {
            local rc=0
            wait "$app_pid" || rc=$?
            tail -n 20 "$ARTIFACTS/app-stdio.log" "$app_log" >&2 2>/dev/null || true
            fail "'$*' exited with status $rc before its icon showed data"
        }
        if ((SECONDS >= deadline)); then
            import -window root "$ARTIFACTS/screen-timeout.png" 2>/dev/null || true
            fail "no tray icon with data ${TIMEOUT_S}s after '$*' started (see $ARTIFACTS)"
        fi
        if geometry="$(icon_geometry "$app_pid")" &&
            grep -qs "tray icon shows data" "$app_log" &&
            fraction="$(dark_fraction "$geometry" "$work/icon.png")" &&
            awk -v f="$fraction" 'BEGIN { exit !(f > 0.03) }'; then
            break
        fi
        sleep 0.05
    done
    cp "$work/icon.png" "$ARTIFACTS/tray-icon.png"
    log "the desktop entry's command shows data in the tray after" \
        "$(($(date +%s%N) / 1000000 - start_ms)) ms (icon at $geometry)"

    kill -TERM "$app_pid"
    for _ in $(seq 100); do kill -0 "$app_pid" 2>/dev/null || break; sleep 0.05; done
    kill -0 "$app_pid" 2>/dev/null && fail "glmtray ignored SIGTERM for 5 s"
    wait "$app_pid" 2>/dev/null || true
    app_pid=""
    cp "$app_log" "$ARTIFACTS/glmtray.log"
    if grep -rqsF -- "$key" "$XDG_STATE_HOME" "$XDG_CONFIG_HOME" "$XDG_CACHE_HOME" \
        "$XDG_DATA_HOME" "$ARTIFACTS/app-stdio.log"; then
        fail "the API key was written to a file of the user's folders or to the app's output"
    fi
    glmtray logout >/dev/null || fail "'glmtray logout' failed"
}

if [[ "${1:-}" == "--in-session" ]]; then
    shift
    export ARTIFACTS="$GLMTRAY_ARTIFACTS"
    in_session "$@"
    exit 0
fi

# -------------------------------------------------------------------------------------------
# Outside: install, check, start inside a desktop session, remove, check.
# -------------------------------------------------------------------------------------------
((EUID == 0)) || fail "run as root: this installs and removes the $PACKAGE package"
# The standard PATH, as a desktop session has it: a venv or pyenv glmtray must not answer.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export DEBIAN_FRONTEND=noninteractive
PY="$ROOT/.venv/bin/python"
[[ -x "$PY" ]] || PY=python3

DEB="${1:-$("$PY" "$ROOT/packaging/linux/build_deb.py" --print-path)}"
[[ -f "$DEB" ]] || fail "no package at $DEB: run 'make package'"
DEB="$(cd "$(dirname "$DEB")" && pwd)/$(basename "$DEB")"
if dpkg-query -W -f='${Status}' "$PACKAGE" 2>/dev/null | grep -q "ok installed"; then
    fail "$PACKAGE is already installed; this test installs and purges it: apt-get remove --purge $PACKAGE"
fi
version="$(dpkg-deb --field "$DEB" Version)"
deb_kib=$(($(stat -c %s "$DEB") / 1024))
installed_kib="$(dpkg-deb --field "$DEB" Installed-Size)"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/glmtray-test-deb.XXXXXXXX")"
export GLMTRAY_ARTIFACTS="${GLMTRAY_ARTIFACTS:-$ROOT/artifacts}/deb"
mkdir -p "$GLMTRAY_ARTIFACTS"
installed=0
cleanup() {
    local rc=$?
    trap - EXIT
    if ((installed)); then
        log "removing $PACKAGE after a failure"
        apt-get remove --purge -y -q "$PACKAGE" >"$WORK/purge.log" 2>&1 ||
            log "apt-get remove --purge $PACKAGE failed: $(tail -n 5 "$WORK/purge.log")"
    fi
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Paths of the package that exist already (shared directories such as /usr/share/applications):
# they may stay after the purge, nothing else may.
dpkg-deb --fsys-tarfile "$DEB" | tar -t | sed -E 's|^\./?|/|; s|(.)/$|\1|' | sort -u >"$WORK/contents"
while IFS= read -r path; do
    [[ -e "$path" || -L "$path" ]] && echo "$path"
done <"$WORK/contents" >"$WORK/existed-before"

# 1. Install.
log "installing $DEB"
installed=1
apt-get install -y -q "$DEB" >"$WORK/install.log" 2>&1 ||
    fail "apt-get install $DEB failed: $(tail -n 20 "$WORK/install.log")"
dpkg-query -W -f='${Status} ${Version}' "$PACKAGE" | grep -q "install ok installed $version" ||
    fail "$PACKAGE $version is not installed after apt-get install"
dpkg -L "$PACKAGE" | grep -vx '/\.' | sort -u >"$WORK/dpkg-L"
cp "$WORK/dpkg-L" "$GLMTRAY_ARTIFACTS/dpkg-L.txt"
missing_files="$(comm -23 "$WORK/contents" "$WORK/dpkg-L" | grep -vx '/' || true)"
[[ -z "$missing_files" ]] || fail "dpkg -L lacks paths of the package: $missing_files"

# 2. From PATH.
where="$(command -v glmtray || true)"
[[ "$where" == /usr/bin/glmtray ]] || fail "command -v glmtray is '${where:-nothing}', not /usr/bin/glmtray"
got="$(env -u DISPLAY glmtray --version)" || fail "'glmtray --version' failed"
[[ "$got" == "glmtray ${version%%-*}" || "$got" == "glmtray $version" ]] ||
    fail "'glmtray --version' printed '$got' for package version $version"
help="$(env -u DISPLAY glmtray status --help 2>&1)" || fail "'glmtray status --help' failed: $help"
[[ "$help" == usage:\ glmtray\ status* ]] || fail "'glmtray status --help' printed: $help"
log "from PATH: $where, $got, 'glmtray status --help' answers"

# 3. The desktop entry, started in a desktop session.
mapfile -t desktops < <(grep -E '^/usr/share/applications/[^/]+\.desktop$' "$WORK/dpkg-L")
((${#desktops[@]} == 1)) || fail "expected one desktop entry in /usr/share/applications, found ${#desktops[@]}"
command -v desktop-file-validate >/dev/null && {
    out="$(desktop-file-validate "${desktops[0]}" 2>&1)" || fail "installed entry: $out"
}
mapfile -d '' command < <("$PY" "$ROOT/packaging/linux/desktop_launch.py" "${desktops[0]}")
((${#command[@]} > 0)) || fail "no command in the Exec line of ${desktops[0]}"
log "${desktops[0]##*/} runs: ${command[*]}"
GLMTRAY_TRAY_HOST=trayer bash "$ROOT/.ci/desktop-session" bash "$SCRIPT" --in-session "${command[@]}" ||
    fail "the installed app did not show data in the tray (artifacts in $GLMTRAY_ARTIFACTS)"

# 4. Remove, and look for anything left behind.
apt-get remove --purge -y -q "$PACKAGE" >"$WORK/purge.log" 2>&1 ||
    fail "apt-get remove --purge $PACKAGE failed: $(tail -n 20 "$WORK/purge.log")"
installed=0
if dpkg-query -W -f='${Status}' "$PACKAGE" 2>/dev/null | grep -q "installed"; then
    fail "$PACKAGE is still known to dpkg after the purge"
fi
left=()
while IFS= read -r path; do
    [[ -e "$path" || -L "$path" ]] || continue
    [[ -d "$path" && ! -L "$path" ]] && grep -qxF -- "$path" "$WORK/existed-before" && continue
    left+=("$path")
done <"$WORK/dpkg-L"
[[ ! -e /usr/lib/$PACKAGE ]] || left+=("/usr/lib/$PACKAGE")
((${#left[@]} == 0)) || fail "left behind after the purge: ${left[*]}"

printf 'test-deb: OK  %s  %s KiB download, %s KiB installed; installed, started from its desktop entry, purged clean\n' \
    "$(basename "$DEB")" "$deb_kib" "$installed_kib"
