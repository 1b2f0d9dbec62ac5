"""Render glmtray's SVG icons to PNG with Qt's SVG renderer (the one the app itself uses).

    QT_QPA_PLATFORM=offscreen .venv/bin/python packaging/render_icons.py OUTDIR [SIZE ...]

Writes OUTDIR/<size>x<size>/<icon name>.png for every SVG in resources/icons (default sizes:
16 24 32 48 64 128 256). Those PNGs feed the hicolor theme for desktops that do not read SVG,
the Windows .ico and the macOS .icns (see packaging/windows/README.md). ImageMagick is no
substitute: its built-in SVG renderer fills open arcs and ignores gradients.
"""

from __future__ import annotations

import sys
from pathlib import Path

ICONS = Path(__file__).resolve().parent.parent / "resources" / "icons"
DEFAULT_SIZES = (16, 24, 32, 48, 64, 128, 256)


def render(svg: Path, out: Path, size: int) -> None:
    from PySide6.QtCore import QRectF
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"render_icons: {svg} is not a valid SVG for Qt")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(0)  # transparent: the rounded tile's corners must not become a square
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter, QRectF(0, 0, size, size))
    painter.end()
    out.parent.mkdir(parents=True, exist_ok=True)
    if not image.save(str(out)):
        raise SystemExit(f"render_icons: cannot write {out}")


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 1
    outdir = Path(argv[0])
    sizes = [int(s) for s in argv[1:]] or list(DEFAULT_SIZES)
    from PySide6.QtGui import QGuiApplication

    # QSvgRenderer needs a QGuiApplication (fonts for SVG text, the image plugins).
    app = QGuiApplication.instance() or QGuiApplication([])
    for svg in sorted(ICONS.glob("*.svg")):
        for size in sizes:
            out = outdir / f"{size}x{size}" / f"{svg.stem}.png"
            render(svg, out, size)
            print(out)
    del app
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
