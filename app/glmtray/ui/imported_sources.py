"""The source lines PySide6 leaves behind.

PySide6 reads the whole source of every module imported after it (looking for
`from __feature__ import`), and linecache keeps those lines: some 50,000 lines, 2-4 MB the
tray never reads again (a traceback reads its lines anew).

- The start's own imports: their lines are dropped once the imports are done
  (`forget_imported_sources`), and the objects the start makes next reuse that memory.
- What loads after the icon shows data (the HTTP stack, the risk and usage histories):
  nothing is made after it to reuse the memory, and lines kept while those modules load
  sit between their objects, so dropping them afterwards leaves holes that keep some 3 MB of
  the heap resident for good. Within `sources_not_kept` linecache keeps nothing: each
  module's lines are freed as soon as PySide6 has read them, before the next module loads.
"""

from __future__ import annotations

import contextlib
import linecache
from collections.abc import Iterator
from typing import Any


def forget_imported_sources() -> None:
    linecache.clearcache()


class _KeepingNothing(dict[str, Any]):
    """A line cache that answers every question and remembers no answer."""

    def __setitem__(self, filename: str, entry: Any) -> None:
        return


@contextlib.contextmanager
def sources_not_kept() -> Iterator[None]:
    """Within the block, source lines read (by PySide6, or by a traceback) are not kept.
    Correct on any thread meanwhile: a read there reads the file again."""
    kept = linecache.cache
    linecache.cache = _KeepingNothing()
    try:
        yield
    finally:
        linecache.cache = kept
