# packaging/tray-probe.sh — find an app's icon in trayer's XEmbed tray and look at it.
# Sourced by packaging/smoke.sh and packaging/linux/test-deb.sh (needs xdotool, x11-utils and
# imagemagick; DISPLAY must be the display trayer runs on).

# trayer's panel window (WM_CLASS "panel", "trayer"); trayer also maps a small leader window.
trayer_panel() {
    local wid
    for wid in $(xdotool search --class '^trayer$' 2>/dev/null); do
        if [[ "$(xprop -id "$wid" WM_CLASS 2>/dev/null)" == *'"panel", "trayer"'* ]]; then
            echo "$wid"
            return 0
        fi
    done
    return 1
}

# Direct children of a window, one "ID WIDTH HEIGHT ABS_X ABS_Y" per line.
children() {
    xwininfo -children -id "$1" 2>/dev/null |
        sed -nE 's/^ +(0x[0-9a-f]+) .* ([0-9]+)x([0-9]+)[+-]-?[0-9]+[+-]-?[0-9]+ +\+(-?[0-9]+)\+(-?[0-9]+)$/\1 \2 \3 \4 \5/p'
}

# The geometry "WxH+X+Y" of the trayer socket that embeds a window of process $1.
# trayer embeds each icon in a socket (a child of the panel); the app's window is inside it.
icon_geometry() {
    local pid="$1" panel sock w h x y client _rest
    panel="$(trayer_panel)" || return 1
    while read -r sock w h x y; do
        ((w > 1 && h > 1)) || continue # trayer keeps 1x1 placeholder sockets
        while read -r client _rest; do
            if [[ "$(xprop -id "$client" _NET_WM_PID 2>/dev/null)" == *"= $pid" ]]; then
                echo "${w}x${h}+${x}+${y}"
                return 0
            fi
        done < <(children "$sock")
    done < <(children "$panel")
    return 1
}

# Fraction (0..1) of the pixels in screen region $1 that are dark: the digits of the icon's
# percentage on trayer's light panel (the loading look is a ring of mid-grey dots, which stays
# under the threshold). The screenshot of the region is left in file $2.
dark_fraction() {
    import -window root -crop "$1" +repage "$2" 2>/dev/null || return 1
    convert "$2" -colorspace Gray -threshold 35% -negate -format '%[fx:mean]' info: 2>/dev/null
}

# Stop the given processes: SIGTERM to all, up to 3 s each to end, then SIGKILL; each reaped.
stop_processes() {
    local pid
    for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "$@"; do
        for _ in $(seq 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
}
