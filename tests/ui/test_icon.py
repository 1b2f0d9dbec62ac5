# mypy: disable-error-code="no-untyped-call"
"""The tray icon, checked pixel by pixel on rendered QImages."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
from PySide6.QtGui import QColor, QFont, QImage, QPalette

from glmtray.state import IconLook, IconSpec, Level
from glmtray.ui import style
from glmtray.ui.icon import (
    ICON_SIZES,
    SMALLEST_TEXT_PIXELS,
    fitted_text,
    make_qicon,
    number_text,
    panel_is_dark,
    render_icon,
    text_outline,
)

SIZES = (16, 22, 32, 48)
LOOKS = (
    IconSpec(IconLook.GAUGE, 50, Level.NORMAL),
    IconSpec(IconLook.STALE, 50, Level.NORMAL),
    IconSpec(IconLook.LOADING),
    IconSpec(IconLook.SIGNED_OUT),
    IconSpec(IconLook.ERROR),
)


def pixels(image: QImage) -> list[int]:
    return [image.pixel(x, y) for y in range(image.height()) for x in range(image.width())]


def opaque_colours(image: QImage) -> list[QColor]:
    found = []
    for y in range(image.height()):
        for x in range(image.width()):
            colour = image.pixelColor(x, y)
            if colour.alpha() > 200:
                found.append(colour)
    return found


def has_colour_near(image: QImage, target: QColor, tolerance: int = 40) -> bool:
    return any(
        abs(c.red() - target.red())
        + abs(c.green() - target.green())
        + abs(c.blue() - target.blue())
        < tolerance
        for c in opaque_colours(image)
    )


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("spec", LOOKS, ids=lambda s: s.look.value)
def test_every_look_draws_something_with_transparent_corners(
    qapp: object, spec: IconSpec, size: int
) -> None:
    image = render_icon(spec, size)
    assert image.width() == size and image.height() == size
    assert len(opaque_colours(image)) > size // 2  # a real mark, not a blank
    last = size - 1
    for x, y in ((0, 0), (last, 0), (0, last), (last, last)):
        assert image.pixelColor(x, y).alpha() == 0


@pytest.mark.parametrize("size", SIZES)
def test_each_level_has_its_own_ring_colour(qapp: object, size: int) -> None:
    images = {
        level: render_icon(
            IconSpec(IconLook.GAUGE, 100 if level is Level.FULL else 90, level), size
        )
        for level in Level
    }
    for level, image in images.items():
        assert has_colour_near(image, style.level_colour(level, True)), level
    assert len({tuple(pixels(image)) for image in images.values()}) == len(Level)


@pytest.mark.parametrize("size", SIZES)
def test_number_changes_pixels(qapp: object, size: int) -> None:
    with_number = render_icon(IconSpec(IconLook.GAUGE, 42, show_number=True), size)
    without = render_icon(IconSpec(IconLook.GAUGE, 42, show_number=False), size)
    other_number = render_icon(IconSpec(IconLook.GAUGE, 43, show_number=True), size)
    assert pixels(with_number) != pixels(without)
    assert pixels(with_number) != pixels(other_number)
    # The digits are drawn in the panel's text colour, near the middle.
    middle = [
        with_number.pixelColor(x, y)
        for y in range(size // 3, 2 * size // 3)
        for x in range(size // 4, 3 * size // 4)
    ]
    assert any(c.alpha() > 200 and c.lightness() > 200 for c in middle)
    centre_without = without.pixelColor(size // 2, size // 2)
    assert centre_without.alpha() == 0


def test_number_text_fits_two_characters() -> None:
    assert number_text(0) == "0"
    assert number_text(42.4) == "42"
    assert number_text(99.7) == "99"  # never a three-digit "100" before the limit
    assert number_text(100) == "!"


@pytest.mark.parametrize("size", SIZES)
def test_restricted_badge_is_red_in_the_top_right_corner(qapp: object, size: int) -> None:
    spec = IconSpec(IconLook.GAUGE, 30, Level.NORMAL, restricted=True)
    image = render_icon(spec, size)
    plain = render_icon(replace(spec, restricted=False), size)
    radius = max(2.5, size * 0.155)
    # Below the centre: from 32 px the badge carries a white bar across its middle.
    centre = image.pixelColor(round(size - radius - 0.5), round(radius * 1.55 - 0.5))
    assert centre.red() > 200 and centre.green() < 90 and centre.blue() < 90
    assert not has_colour_near(plain, QColor(style.BADGE_RED), 30)
    # The bottom-left quarter, far from the badge, is untouched.
    for y in range(size // 2, size):
        for x in range(size // 2):
            assert image.pixel(x, y) == plain.pixel(x, y)


@pytest.mark.parametrize("look", list(IconLook))
def test_dark_and_light_panels_differ(qapp: object, look: IconLook) -> None:
    spec = IconSpec(look, 50 if look in (IconLook.GAUGE, IconLook.STALE) else None)
    dark = render_icon(replace(spec, dark_panel=True), 22)
    light = render_icon(replace(spec, dark_panel=False), 22)
    assert pixels(dark) != pixels(light)


def test_stale_is_grey_where_the_gauge_is_coloured(qapp: object) -> None:
    gauge = render_icon(IconSpec(IconLook.GAUGE, 60, Level.NORMAL), 32)
    stale = render_icon(IconSpec(IconLook.STALE, 60, Level.NORMAL), 32)
    green = style.level_colour(Level.NORMAL, True)
    assert has_colour_near(gauge, green)
    assert not has_colour_near(stale, green)
    assert all(c.hsvSaturation() < 60 for c in opaque_colours(stale))


def test_loading_ring_is_dotted(qapp: object) -> None:
    image = render_icon(IconSpec(IconLook.LOADING), 32)
    # Walking round the ring meets dots and the gaps between them.
    radius = 16 - 0.64 - 3.52 / 2
    alphas = [
        image.pixelColor(
            min(31, int(16 + radius * math.sin(math.radians(a)))),
            min(31, int(16 - radius * math.cos(math.radians(a)))),
        ).alpha()
        for a in range(0, 360, 2)
    ]
    assert sum(a > 200 for a in alphas) > 20
    assert sum(a == 0 for a in alphas) > 20


@pytest.mark.parametrize("size", (16, 32))
def test_hidpi_renders_at_device_pixels(qapp: object, size: int) -> None:
    spec = IconSpec(IconLook.GAUGE, 70, Level.WARNING)
    image = render_icon(spec, size, 2.0)
    assert image.width() == 2 * size
    assert image.devicePixelRatio() == 2.0
    assert len(opaque_colours(image)) > len(opaque_colours(render_icon(spec, size)))


def test_make_qicon_has_every_size(qapp: object) -> None:
    icon = make_qicon(IconSpec(IconLook.GAUGE, 20))
    assert not icon.isNull()
    sizes = {s.width() for s in icon.availableSizes()}
    assert set(ICON_SIZES) <= sizes
    assert not icon.pixmap(16).isNull()


def test_equal_specs_give_identical_images(qapp: object) -> None:
    spec = IconSpec(IconLook.GAUGE, 64, Level.NORMAL, restricted=True)
    assert pixels(render_icon(spec, 22)) == pixels(render_icon(spec, 22))


def test_panel_is_dark_follows_an_explicit_palette(qapp: object) -> None:
    dark = QPalette()
    dark.setColor(QPalette.ColorRole.Window, QColor("#202020"))
    light = QPalette()
    light.setColor(QPalette.ColorRole.Window, QColor("#f0f0f0"))
    assert panel_is_dark(dark) is True
    assert panel_is_dark(light) is False
    assert isinstance(panel_is_dark(), bool)


@pytest.mark.parametrize("size", (16, 22, 32, 48))
@pytest.mark.parametrize("drawn_for_dark", (True, False))
@pytest.mark.parametrize("panel", ("#000000", "#2b2d31", "#f2f2f2", "#ffffff"))
def test_digits_read_on_any_panel_tone(
    qapp: object, size: int, drawn_for_dark: bool, panel: str
) -> None:
    """Whatever tone the icon was drawn for, its digits stand out from the panel behind:
    a light app theme on a black bar must not give dark digits on black."""
    from PySide6.QtGui import QColor, QImage, QPainter

    icon = render_icon(IconSpec(IconLook.GAUGE, 17, dark_panel=drawn_for_dark), size)
    shown = QImage(size, size, QImage.Format.Format_ARGB32)
    shown.fill(QColor(panel))
    painter = QPainter(shown)
    painter.drawImage(0, 0, icon)
    painter.end()
    background = QColor(panel).lightnessF()
    # The middle third holds the digits.
    third = size // 3
    strongest = max(
        abs(shown.pixelColor(x, y).lightnessF() - background)
        for x in range(third, size - third)
        for y in range(third, size - third)
    )
    assert strongest >= 0.5, f"digits too close to the panel ({strongest:.2f})"


def test_two_windows_draw_two_rings(qapp: object) -> None:
    one = render_icon(IconSpec(IconLook.GAUGE, 30, show_number=False), 32)
    two = render_icon(
        IconSpec(IconLook.GAUGE, 30, show_number=False, inner_percent=85, inner_level=Level.WARNING), 32
    )  # fmt: skip
    assert has_colour_near(two, style.level_colour(Level.WARNING, True))
    assert not has_colour_near(one, style.level_colour(Level.WARNING, True))


@pytest.mark.parametrize("text", ["0", "7", "42", "88", "99", "!"])
@pytest.mark.parametrize("weight", [QFont.Weight.Black, QFont.Weight.Bold])
def test_digits_are_drawn_at_the_largest_size_that_fits(
    qapp: object, text: str, weight: QFont.Weight
) -> None:
    """The search that starts near the proportional answer finds what walking down one
    pixel at a time from the largest size finds."""
    for largest, box_w, box_h in [
        (12, 13.4, 9.6),
        (20, 17.2, 13.2),
        (40, 34.4, 26.4),
        (6, 3.0, 2.0),
    ]:
        walked = SMALLEST_TEXT_PIXELS
        for pixel in range(largest, SMALLEST_TEXT_PIXELS, -1):
            rect = text_outline(text, weight, pixel).boundingRect()
            if rect.width() <= box_w and rect.height() <= box_h:
                walked = pixel
                break
        expected = text_outline(text, weight, walked).boundingRect()
        found = fitted_text(text, weight, largest, box_w, box_h).boundingRect()
        assert found == expected, (largest, box_w, box_h)
