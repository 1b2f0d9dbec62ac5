"""Python's cyclic garbage collector, paused while the tray starts.

A start imports a few hundred modules and makes the tens of thousands of objects that live
as long as the tray: classes, functions, enums, Qt's wrappers. The collector runs after
every 700 new objects and looks at the young ones again each time; over a start that is
some 80 collections and 20 ms of a process that is busy on its core from its first line to
the icon's data, so the user waits for them. Nothing made during a start is garbage worth
hunting for cycles, so a tray start pauses the collector from its first line until the
first session's outcome is on screen, or until `START_PAUSE_LIMIT_S` have passed when none
comes (a keyring waiting for its unlock prompt). Reference counting frees everything else
as always. The key's child, which lives for one read, runs without it.
"""

from __future__ import annotations

import gc

START_PAUSE_LIMIT_S = 10.0


def pause_for_start() -> None:
    gc.disable()


def resume_after_start() -> None:
    """Back to normal (the first collection then looks at everything the start made once);
    nothing to do when it already runs."""
    if not gc.isenabled():
        gc.enable()
