#!/usr/bin/env bash
# packaging/smoke.sh — start the *built* bundle for real and time it.
#
# Usage: packaging/smoke.sh [BUNDLE_DIR]      (default: dist/glmtray, from packaging/build.sh)
#
# 1. `glmtray --version` from the bundle must print the package's version.
# 2. On a private Xvfb display, inside a private session bus (dbus-run-session), with HOME and
#    every XDG dir in a temporary folder, it starts the XEmbed tray host `trayer`, then
#    `glmtray --demo -v` from the bundle, and waits until trayer holds glmtray's icon *and*
#    that icon shows quota data: the app logs "tray icon shows data" once it has set the
#    gauge, and the embedded icon must then have its percentage drawn (dark digit pixels;
#    the loading look is a ring of grey dots). Not the gauge's colour: the demo's usage
#    follows the clock, and just after a window resets its coloured arc is a sliver.
# 3. If gnome-keyring is installed it also checks that the bundle's keyring finds the Secret
#    Service (`glmtray logout` through keyring's entry-point discovery): a bundle missing
#    keyring's metadata falls back to the `fail` backend and cannot store a key.
# 4. Stops everything it started by PID, then checks that no process carrying this run's tag
#    is left (gnome-keyring double-forks out of our tree; it is found by the tag).
#
# Prints the bundle size and the start time (process start -> icon with data). The start time
# is measured by polling every ~50 ms plus the cost of one screenshot, so it is accurate to
# roughly 0.1 s. Exit status: 0 when everything passed, 1 otherwise.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SCRIPT="$ROOT/packaging/smoke.sh"
TIMEOUT_S="${GLMTRAY_SMOKE_TIMEOUT:-30}"

log() { printf 'smoke: %s\n' "$*" >&2; }
fail() { printf 'smoke: FAIL: %s\n' "$*" >&2; exit 1; }

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# -------------------------------------------------------------------------------------------
# Inner half: runs under dbus-run-session, so DBUS_SESSION_BUS_ADDRESS is the private bus.
# Prints "START_MS=<n>" for the outer half on success.
# -------------------------------------------------------------------------------------------

# trayer_panel, icon_geometry, dark_fraction.
# shellcheck source=packaging/tray-probe.sh
source "$ROOT/packaging/tray-probe.sh"

# Globals, not locals: the EXIT trap runs after inner() has returned.
trayer_pid="" app_pid=""
inner() {
    inner_cleanup() {
        # shellcheck disable=SC2086  # empty ids drop out
        stop_processes $app_pid $trayer_pid
    }
    trap inner_cleanup EXIT

    if command -v gnome-keyring-daemon >/dev/null; then
        local line
        # Unlock (and create) a throwaway login keyring; it daemonizes and prints its env.
        while IFS= read -r line; do
            [[ "$line" == *=* ]] && export "${line?}"
        done < <(printf 'throwaway' | gnome-keyring-daemon --unlock --components=secrets 2>/dev/null)
        for _ in $(seq 100); do
            dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
                org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null |
                grep -q 'boolean true' && break
            sleep 0.05
        done
        local out
        out="$("$BIN" logout 2>&1)" || fail "keyring check: 'glmtray logout' failed: $out"
        [[ "$out" == *"No key was stored"* ]] || fail "keyring check: unexpected output: $out"
        log "keyring: the bundle reached the Secret Service"
    elif [[ "${CI:-}" == "true" ]]; then
        fail "gnome-keyring-daemon is missing (apt package gnome-keyring)"
    else
        log "keyring: skipped, gnome-keyring-daemon is not installed"
    fi

    trayer --edge top --align right --widthtype request --height 32 --SetDockType true \
        --transparent false >"$WORK/trayer.log" 2>&1 &
    trayer_pid=$!
    local deadline=$((SECONDS + 10))
    until trayer_panel >/dev/null; do
        ((SECONDS < deadline)) || fail "trayer did not map its panel (see $WORK/trayer.log)"
        sleep 0.05
    done

    local start_ms embedded_ms="" geometry="" fraction
    start_ms="$(now_ms)"
    QT_QPA_PLATFORM=xcb "$BIN" --demo -v >"$ARTIFACTS/app.log" 2>&1 &
    app_pid=$!
    deadline=$((SECONDS + TIMEOUT_S))
    while :; do
        kill -0 "$app_pid" 2>/dev/null || {
            wait "$app_pid" && rc=0 || rc=$?
            tail -n 20 "$ARTIFACTS/app.log" >&2
            fail "glmtray exited with status $rc before its icon showed data"
        }
        ((SECONDS < deadline)) || fail "no tray icon with data after ${TIMEOUT_S}s"
        if geometry="$(icon_geometry "$app_pid")"; then
            [[ -n "$embedded_ms" ]] || embedded_ms="$(now_ms)"
            if grep -q "tray icon shows data" "$ARTIFACTS/app.log" &&
                fraction="$(dark_fraction "$geometry" "$WORK/icon.png")" &&
                awk -v f="$fraction" 'BEGIN { exit !(f > 0.03) }'; then
                break
            fi
        fi
        sleep 0.05
    done
    local data_ms
    data_ms="$(now_ms)"
    cp "$WORK/icon.png" "$ARTIFACTS/tray-icon.png"
    import -window root -crop 400x40+880+0 +repage "$ARTIFACTS/tray-area.png" 2>/dev/null || true
    log "icon embedded in trayer after $((embedded_ms - start_ms)) ms (at $geometry)"
    echo "START_MS=$((data_ms - start_ms))"

    # A tray app must quit cleanly on SIGTERM (logout, systemd): check, don't just kill.
    kill -TERM "$app_pid"
    for _ in $(seq 100); do kill -0 "$app_pid" 2>/dev/null || break; sleep 0.05; done
    kill -0 "$app_pid" 2>/dev/null && fail "glmtray ignored SIGTERM for 5 s"
    wait "$app_pid" 2>/dev/null || true
    app_pid=""
}

if [[ "${1:-}" == "--inner" ]]; then
    inner
    exit 0
fi

# -------------------------------------------------------------------------------------------
# Outer half.
# -------------------------------------------------------------------------------------------
BUNDLE="$(cd "${1:-$ROOT/dist/glmtray}" 2>/dev/null && pwd)" || fail "no bundle at ${1:-dist/glmtray}: run packaging/build.sh"
export BIN="$BUNDLE/glmtray"
[[ -x "$BIN" ]] || fail "$BIN is not an executable: run packaging/build.sh"

missing=()
for pair in Xvfb:xvfb dbus-run-session:dbus dbus-send:dbus-bin trayer:trayer xdotool:xdotool \
    xwininfo:x11-utils xprop:x11-utils import:imagemagick convert:imagemagick; do
    command -v "${pair%%:*}" >/dev/null || missing+=("${pair%%:*} (apt package ${pair#*:})")
done
((${#missing[@]} == 0)) || fail "missing tools: ${missing[*]}"

# 1. --version, without a display.
expected="glmtray $(sed -nE 's/^__version__ = "(.*)"/\1/p' "$ROOT/app/glmtray/__init__.py")"
version_start="$(now_ms)"
got="$(env -u DISPLAY "$BIN" --version)" || fail "'glmtray --version' failed"
version_ms=$(($(now_ms) - version_start))
[[ "$got" == "$expected" ]] || fail "'glmtray --version' printed '$got', expected '$expected'"
log "version: $got (${version_ms} ms)"

# 2. A private home, bus and display. Everything started below inherits the tag; the final
#    sweep finds processes that left our process tree by it.
export WORK
WORK="$(mktemp -d "${TMPDIR:-/tmp}/glmtray-smoke.XXXXXXXX")"
chmod 700 "$WORK"
export GLMTRAY_SMOKE_TAG="$WORK"
export ARTIFACTS="${GLMTRAY_ARTIFACTS:-$ROOT/artifacts}/packaging"
mkdir -p "$ARTIFACTS"
xvfb_pid=""

# PIDs (other than this shell and its subshells) whose environment carries our tag.
tagged_pids() {
    local d pid
    for d in /proc/[0-9]*; do
        pid="${d#/proc/}"
        [[ "$pid" == "$$" || "$pid" == "$BASHPID" ]] && continue
        grep -qzx "GLMTRAY_SMOKE_TAG=$WORK" "$d/environ" 2>/dev/null && echo "$pid"
    done
    return 0
}

outer_cleanup() {
    local rc=$? leftovers pid
    trap - EXIT INT TERM
    if [[ -n "$xvfb_pid" ]]; then
        kill -TERM "$xvfb_pid" 2>/dev/null || true
        wait "$xvfb_pid" 2>/dev/null || true
    fi
    # gnome-keyring-daemon daemonizes and ends with the bus; give it a moment.
    for _ in $(seq 40); do
        leftovers="$(tagged_pids)"
        [[ -z "$leftovers" ]] && break
        sleep 0.05
    done
    if [[ -n "$leftovers" ]]; then
        for pid in $leftovers; do
            log "left behind: $pid $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)"
            kill -KILL "$pid" 2>/dev/null || true
        done
        [[ "$rc" == 0 ]] && rc=1
    fi
    rm -rf "$WORK"
    exit "$rc"
}
trap outer_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

export HOME="$WORK/home" XDG_CONFIG_HOME="$WORK/config" XDG_DATA_HOME="$WORK/data"
export XDG_CACHE_HOME="$WORK/cache" XDG_STATE_HOME="$WORK/state" XDG_RUNTIME_DIR="$WORK/runtime"
mkdir -p "$HOME" "$XDG_CONFIG_HOME" "$XDG_DATA_HOME" "$XDG_CACHE_HOME" "$XDG_STATE_HOME"
mkdir -m 700 "$XDG_RUNTIME_DIR"
# glmtray's single-instance socket (QLocalServer) lives in QDir::tempPath(), i.e. $TMPDIR or
# /tmp, keyed by user name only: with the shared /tmp, any other `glmtray --demo` of this user
# (a developer's, a parallel test's) answers it and the bundle exits 0 at once, untested.
export TMPDIR="$WORK/tmp"
mkdir -m 700 "$TMPDIR"
unset DBUS_SESSION_BUS_ADDRESS DISPLAY WAYLAND_DISPLAY XAUTHORITY GNOME_KEYRING_CONTROL \
    SSH_AUTH_SOCK SESSION_MANAGER QT_QPA_PLATFORM
# GTK (trayer) would bus-activate the accessibility bus and dconf: more processes, no use here.
export NO_AT_BRIDGE=1 GSETTINGS_BACKEND=memory

# Xvfb picks a free display and writes its number, newline-terminated, once it accepts clients.
Xvfb -displayfd 3 -screen 0 1280x800x24 -nolisten tcp 3>"$WORK/display" >"$WORK/xvfb.log" 2>&1 &
xvfb_pid=$!
deadline=$((SECONDS + 10))
until [[ -s "$WORK/display" && -z "$(tail -c1 "$WORK/display")" ]]; do
    kill -0 "$xvfb_pid" 2>/dev/null || fail "Xvfb exited: $(cat "$WORK/xvfb.log")"
    ((SECONDS < deadline)) || fail "Xvfb did not report a display"
    sleep 0.05
done
export DISPLAY=":$(tr -d '[:space:]' <"$WORK/display")"

# 3. The session bus lives exactly as long as the inner half.
inner_out="$(dbus-run-session -- bash "$SCRIPT" --inner)" || fail "see the messages above; app log: $ARTIFACTS/app.log"
start_ms="$(sed -n 's/^START_MS=//p' <<<"$inner_out")"
[[ -n "$start_ms" ]] || fail "the session ended without a start time"

size="$(du -sh "$BUNDLE" | cut -f1)"
printf 'smoke: OK  bundle %s  %s  start %d.%03d s (process start -> tray icon with data)\n' \
    "$BUNDLE" "$size" $((start_ms / 1000)) $((start_ms % 1000))
printf 'smoke: screenshots in %s\n' "$ARTIFACTS"
