"""What PySide6 reads of each module imported after it is kept, or not."""

from __future__ import annotations

import linecache
import threading
from pathlib import Path

from glmtray.ui.imported_sources import forget_imported_sources, sources_not_kept


def test_lines_read_within_the_block_are_not_kept_and_the_cache_comes_back(
    tmp_path: Path,
) -> None:
    before, within, after = (tmp_path / f"{name}.py" for name in ("before", "within", "after"))
    for source in (before, within, after):
        source.write_text(f"NAME = {source.stem!r}\n")
    assert linecache.getlines(str(before)) == ["NAME = 'before'\n"]
    with sources_not_kept():
        assert linecache.getlines(str(within)) == ["NAME = 'within'\n"]  # read, answered
        assert str(within) not in linecache.cache
        # Another thread reads correctly meanwhile, and keeps nothing either.
        seen: list[list[str]] = []
        reader = threading.Thread(target=lambda: seen.append(linecache.getlines(str(after))))
        reader.start()
        reader.join()
        assert seen == [["NAME = 'after'\n"]]
        assert str(after) not in linecache.cache
    assert str(before) in linecache.cache  # what was kept before is still there
    assert str(within) not in linecache.cache
    linecache.getlines(str(after))
    assert str(after) in linecache.cache  # and keeping works again
    forget_imported_sources()
    assert str(before) not in linecache.cache and str(after) not in linecache.cache


def test_the_cache_comes_back_when_the_block_fails(tmp_path: Path) -> None:
    kept = linecache.cache
    try:
        with sources_not_kept():
            raise RuntimeError("an import failed")
    except RuntimeError:
        pass
    assert linecache.cache is kept
