"""The tray icon, painted at runtime from an IconSpec.

Every measure is a fraction of the logical size, and the image is rendered at
size x device-pixel-ratio, so the icon stays sharp from 16 px to 64 px and on HiDPI.

The app's palette is not the panel's: a light app theme on a dark GNOME or KDE bar is
common, and a StatusNotifierItem host draws the icon on a background of its own choosing.
So digits and marks carry a thin halo in the opposite tone: on a panel of the tone the
icon was drawn for it disappears into the panel, on any other it keeps them readable. The
ring's track and arc are mid-tones that read on both.
"""

from __future__ import annotations

import functools
import math

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QGuiApplication,
    QIcon,
    QImage,
    QPainter,
    QPainterPath,
    QPalette,
    QPen,
    QPixmap,
)

from glmtray.state import IconLook, IconSpec
from glmtray.ui import style

ICON_SIZES = (16, 22, 24, 32, 48, 64)
HALO_ALPHA = 210
"""Opaque enough to carry dark digits on a black bar, soft enough not to look outlined."""
RING_TRACK = QColor(128, 132, 140, 120)
"""A mid grey, half see-through: the empty part of the ring shows on black and on white."""


def panel_is_dark(palette: QPalette | None = None) -> bool:
    """Whether icons should be drawn for a dark panel.

    An explicit palette wins; otherwise the platform's colour scheme, and when the platform
    does not say, the lightness of the application palette's window colour.
    """
    if palette is None:
        app = QGuiApplication.instance()
        if isinstance(app, QGuiApplication):
            scheme = QGuiApplication.styleHints().colorScheme()
            if scheme == Qt.ColorScheme.Dark:
                return True
            if scheme == Qt.ColorScheme.Light:
                return False
            palette = QGuiApplication.palette()
        else:
            return True
    return palette.color(QPalette.ColorRole.Window).lightnessF() < 0.5


def render_icon(spec: IconSpec, size: int, device_pixel_ratio: float = 1.0) -> QImage:
    pixels = max(1, round(size * device_pixel_ratio))
    image = QImage(pixels, pixels, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    image.setDevicePixelRatio(device_pixel_ratio)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
    try:
        _Painter(painter, float(size), spec).paint()
    finally:
        painter.end()
    return image


def make_qicon(spec: IconSpec) -> QIcon:
    icon = QIcon()
    for size in ICON_SIZES:
        icon.addPixmap(QPixmap.fromImage(render_icon(spec, size)))
    for size in ICON_SIZES:
        icon.addPixmap(QPixmap.fromImage(render_icon(spec, size, 2.0)))
    return icon


def number_text(percent: float) -> str:
    """Two characters at most, so the number stays legible at 16 px; '!' once full."""
    if percent >= 100:
        return "!"
    return str(min(99, max(0, math.floor(percent + 0.5))))


SMALLEST_TEXT_PIXELS = 5
"""Digits are never drawn smaller than this, even when they do not fit."""


def text_outline(text: str, weight: QFont.Weight, pixel_size: int) -> QPainterPath:
    """`text` as an outline at `pixel_size`, with its top-left near (0, 0)."""
    font = QFont()
    font.setBold(True)
    font.setWeight(weight)
    font.setStyleHint(QFont.StyleHint.SansSerif)
    font.setPixelSize(pixel_size)
    path = QPainterPath()
    path.addText(0, 0, font, text)
    return path


@functools.lru_cache(maxsize=256)
def fitted_text(
    text: str, weight: QFont.Weight, largest: int, box_w: float, box_h: float
) -> QPainterPath:
    """`text` outlined at the largest pixel size, from `largest` down to
    SMALLEST_TEXT_PIXELS, that fits a box_w x box_h box. Callers copy it before moving it.

    Each size tried loads the font at that size and outlines the text, about 0.3 ms; walking
    down one pixel at a time took some 90 of them per icon (12 images), on the GUI thread at
    every change of the number. An outline grows in proportion to its size, so the size at
    `largest` says where the answer is, and the walk starts just above it. The 1x and 2x
    images of a size ask the same question, hence the cache."""

    def fits(path: QPainterPath) -> bool:
        rect = path.boundingRect()
        return rect.width() <= box_w and rect.height() <= box_h

    if largest <= SMALLEST_TEXT_PIXELS:
        return text_outline(text, weight, SMALLEST_TEXT_PIXELS)
    path = text_outline(text, weight, largest)
    if fits(path):
        return path
    rect = path.boundingRect()
    scale = min(box_w / rect.width(), box_h / rect.height())  # < 1: it did not fit
    # One above the proportional answer: rounding in the font can make it fit a pixel larger.
    pixel = min(largest - 1, math.floor(largest * scale) + 1)
    while pixel > SMALLEST_TEXT_PIXELS:
        path = text_outline(text, weight, pixel)
        if fits(path):
            return path
        pixel -= 1
    return text_outline(text, weight, SMALLEST_TEXT_PIXELS)


class _Painter:
    def __init__(self, painter: QPainter, size: float, spec: IconSpec) -> None:
        self.p = painter
        self.s = size
        self.spec = spec
        self.dark = spec.dark_panel
        self.number = spec.show_number and spec.percent is not None
        # A thinner ring leaves room for the digits or the mark inside; a bare gauge reads
        # better with a bolder ring.
        bare = (
            spec.look in (IconLook.GAUGE, IconLook.STALE)
            and not self.number
            and spec.inner_percent is None  # two rings need the thinner stroke
        )
        if not bare:
            self.stroke = max(1.5, size * (0.1 if size < 32 else 0.11))
            self.margin = max(0.25, size * 0.02)
        else:
            self.stroke = max(2.0, size * 0.17)
            self.margin = max(0.5, size * 0.05)
        self.halo = QColor(style.foreground(not self.dark))
        self.halo.setAlpha(HALO_ALPHA)
        self.halo_width = max(0.6, size * 0.045)
        inset = self.margin + self.stroke / 2
        self.ring = QRectF(inset, inset, size - 2 * inset, size - 2 * inset)
        self.inner = size - 2 * (self.margin + self.stroke)
        self.centre = QPointF(size / 2, size / 2)

    def paint(self) -> None:
        look = self.spec.look
        if look is IconLook.GAUGE:
            self.gauge(style.level_colour(self.spec.level, self.dark), style.foreground(self.dark))
        elif look is IconLook.STALE:
            self.gauge(style.grey(self.dark), style.grey(self.dark))
            self.clock_badge()
        elif look is IconLook.LOADING:
            self.dots()
        elif look is IconLook.SIGNED_OUT:
            self.full_ring(style.grey(self.dark))
            self.key_mark()
        else:
            self.full_ring(style.grey(self.dark))
            self.cross()
        if self.spec.restricted:
            self.restricted_badge()
        if self.spec.charge_soon and look is not IconLook.SIGNED_OUT:
            self.charge_badge()

    # The pieces.
    def pen(self, colour: QColor, width: float | None = None) -> QPen:
        pen = QPen(colour, width if width is not None else self.stroke)
        pen.setCapStyle(Qt.PenCapStyle.FlatCap)
        return pen

    def full_ring(self, colour: QColor) -> None:
        self.p.setBrush(Qt.BrushStyle.NoBrush)
        self.p.setPen(self.pen(colour))
        self.p.drawEllipse(self.ring)

    def haloed_pen(self, pen: QPen, halo_width: float | None = None) -> QPen:
        """The same stroke, wider and in the halo colour, to draw underneath it."""
        halo = QPen(pen)
        halo.setColor(self.halo)
        halo.setWidthF(pen.widthF() + 2 * (halo_width or self.halo_width))
        halo.setCapStyle(Qt.PenCapStyle.RoundCap)
        halo.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
        return halo

    def gauge(self, arc_colour: QColor, text_colour: QColor) -> None:
        percent = max(0.0, min(100.0, self.spec.percent or 0.0))
        self.full_ring(RING_TRACK)
        self.arc(self.ring, percent, arc_colour, self.stroke)
        if self.spec.inner_percent is not None:
            # A second window as a ring inside the first: two bars, no digits.
            width = self.stroke
            inset = self.stroke / 2 + width / 2 + max(1.0, self.s * 0.06)
            inner = self.ring.adjusted(inset, inset, -inset, -inset)
            self.p.setPen(self.pen(RING_TRACK, width))
            self.p.drawEllipse(inner)
            colour = (
                style.grey(self.dark)
                if self.spec.look is IconLook.STALE
                else style.level_colour(self.spec.inner_level, self.dark)
            )
            self.arc(inner, max(0.0, min(100.0, self.spec.inner_percent)), colour, width)
        if self.number and self.spec.percent is not None:
            self.text(number_text(self.spec.percent), text_colour)

    def arc(self, ring: QRectF, percent: float, colour: QColor, width: float) -> None:
        if percent > 0:
            # At least a visible sliver, so 1 % does not look like 0 %.
            span = max(percent * 3.6, 14.0)
            self.p.setPen(self.pen(colour, width))
            self.p.drawArc(ring, 90 * 16, -round(span * 16))

    def text(self, text: str, colour: QColor) -> None:
        weight = QFont.Weight.Black if self.s < 24 else QFont.Weight.Bold
        # Below 32 px two digits may reach into the ring: legibility beats a clean ring
        # there, and a cleared halo keeps the digits apart from it.
        small = self.s < 32
        box_w = self.inner * (1.12 if small and len(text) > 1 else 0.86)
        box_h = self.inner * (0.8 if small else 0.66)
        largest = max(SMALLEST_TEXT_PIXELS, round(self.inner))
        path = QPainterPath(fitted_text(text, weight, largest, box_w, box_h))
        rect = path.boundingRect()
        path.translate(self.centre - rect.center())
        if small:
            self.p.save()
            self.p.setCompositionMode(QPainter.CompositionMode.CompositionMode_Clear)
            self.p.setPen(QPen(Qt.GlobalColor.black, max(1.0, self.s * 0.07)))
            self.p.setBrush(Qt.BrushStyle.NoBrush)
            self.p.drawPath(path)
            self.p.restore()
        halo = QPen(self.halo, 2 * self.halo_width)
        halo.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
        self.p.setPen(halo)
        self.p.setBrush(Qt.BrushStyle.NoBrush)
        self.p.drawPath(path)
        self.p.setPen(Qt.PenStyle.NoPen)
        self.p.setBrush(colour)
        self.p.drawPath(path)

    def dots(self) -> None:
        colour = style.grey(self.dark)
        self.p.setPen(Qt.PenStyle.NoPen)
        self.p.setBrush(colour)
        radius = self.ring.width() / 2
        dot = max(1.3, self.stroke * 0.65)
        count = 8 if self.s < 32 else 12
        for i in range(count):
            angle = 2 * math.pi * i / count
            point = QPointF(
                self.centre.x() + radius * math.sin(angle),
                self.centre.y() - radius * math.cos(angle),
            )
            self.p.drawEllipse(point, dot, dot)

    def key_mark(self) -> None:
        """A small key across the middle: 'no key yet'."""
        colour = style.foreground(self.dark)
        w = self.inner
        line = max(1.2, self.s * 0.08)
        pen = QPen(colour, line)
        pen.setCapStyle(Qt.PenCapStyle.FlatCap)
        self.p.setBrush(Qt.BrushStyle.NoBrush)
        cx, cy = self.centre.x(), self.centre.y()
        bow_r = w * 0.17
        bow = QPointF(cx - w * 0.22, cy)
        end = cx + w * 0.36
        tooth = w * 0.16
        mid = cx + w * 0.14
        for stroke in (self.haloed_pen(pen), pen):
            self.p.setPen(stroke)
            self.p.drawEllipse(bow, bow_r, bow_r)
            self.p.drawLine(QPointF(bow.x() + bow_r, cy), QPointF(end, cy))
            self.p.drawLine(QPointF(end - line / 2, cy), QPointF(end - line / 2, cy + tooth))
            self.p.drawLine(QPointF(mid, cy), QPointF(mid, cy + tooth * 0.8))

    def cross(self) -> None:
        colour = style.foreground(self.dark)
        half = self.inner * 0.26
        pen = QPen(colour, max(1.4, self.s * 0.1))
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        cx, cy = self.centre.x(), self.centre.y()
        for stroke in (self.haloed_pen(pen), pen):
            self.p.setPen(stroke)
            self.p.drawLine(QPointF(cx - half, cy - half), QPointF(cx + half, cy + half))
            self.p.drawLine(QPointF(cx - half, cy + half), QPointF(cx + half, cy - half))

    def cutout(self, centre: QPointF, radius: float) -> None:
        """Clear a gap around a badge so it stands apart from the ring on any panel."""
        self.p.save()
        self.p.setCompositionMode(QPainter.CompositionMode.CompositionMode_Clear)
        self.p.setPen(Qt.PenStyle.NoPen)
        self.p.setBrush(QBrush(Qt.GlobalColor.black))
        self.p.drawEllipse(centre, radius, radius)
        self.p.restore()

    def badge_geometry(self, top: bool, left: bool = False) -> tuple[QPointF, float, float]:
        radius = max(2.5, self.s * 0.155)
        gap = max(1.0, self.s * 0.045)
        # Pushed into the corner, outside the ring where possible, to spare the digits.
        x = radius if left else self.s - radius
        y = radius if top else self.s - radius
        return QPointF(x, y), radius, gap

    def restricted_badge(self) -> None:
        centre, radius, gap = self.badge_geometry(top=True)
        self.cutout(centre, radius + gap)
        self.p.setPen(Qt.PenStyle.NoPen)
        self.p.setBrush(QColor(style.BADGE_RED))
        self.p.drawEllipse(centre, radius, radius)
        if self.s >= 32:
            # A white bar: reads as "stop" rather than as a notification count.
            bar = QRectF(0, 0, radius * 1.15, max(1.5, radius * 0.34))
            bar.moveCenter(centre)
            self.p.setBrush(QColor("white"))
            self.p.drawRect(bar)

    def charge_badge(self) -> None:
        """A renewal charge within days: an amber dot in the bottom-left corner."""
        centre, radius, gap = self.badge_geometry(top=False, left=True)
        self.cutout(centre, radius + gap)
        self.p.setPen(Qt.PenStyle.NoPen)
        self.p.setBrush(QColor(style.BADGE_AMBER))
        self.p.drawEllipse(centre, radius, radius)

    def clock_badge(self) -> None:
        centre, radius, gap = self.badge_geometry(top=False)
        self.cutout(centre, radius + gap)
        colour = style.foreground(self.dark)
        line = max(1.0, radius * 0.28)
        self.p.setBrush(Qt.BrushStyle.NoBrush)
        # A badge in the corner has little room: below 24 px it goes without a halo (the
        # stale look's grey reads on both tones there).
        halo = self.halo_width * 0.6 if self.s >= 24 else 0.0
        face = radius - line / 2 - halo  # the halo too stays inside the badge
        hand = QPen(colour, line)
        hand.setCapStyle(Qt.PenCapStyle.RoundCap)
        strokes = (self.haloed_pen(hand, halo), hand) if halo else (hand,)
        for stroke in strokes:
            self.p.setPen(stroke)
            self.p.drawEllipse(centre, face, face)
            self.p.drawLine(centre, QPointF(centre.x(), centre.y() - face * 0.62))
            self.p.drawLine(centre, QPointF(centre.x() + face * 0.5, centre.y()))
