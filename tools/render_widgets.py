"""Render glmtray's widgets in several states to PNGs, to look at them without a desktop.

    .venv/bin/python tools/render_widgets.py [--out artifacts/widgets] [--dark]

Runs offscreen; the states come from the same factories the widget tests use, with risk
reports from the real risk monitor and concurrency figures added to some, so the risk and
concurrency sections are drawn too (healthy, weekly limit reached, restricted, lifted).
"""

# ruff: noqa: E402 (Qt must see QT_QPA_PLATFORM before it loads)
from __future__ import annotations

import argparse
import gc
import os
import sys
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPalette, QPixmap
from PySide6.QtWidgets import QApplication, QStyleFactory, QWidget
from sample_history import sample_view
from sample_states import (
    NOW,
    healthy_state,
    make_snapshot,
    make_state,
    make_subscription,
    make_windows,
    restricted_state,
    risk_report,
    stale_state,
    weekly_exhausted_state,
)

from glmtray.activity.concurrency import ConcurrencyState
from glmtray.errors import (
    AccountRestricted,
    AuthenticationFailed,
    NoCodingPlan,
    PlatformUnavailable,
    UnexpectedResponse,
)
from glmtray.history.views import Span
from glmtray.platform.regions import Region
from glmtray.settings import Settings
from glmtray.state import AppState, IconLook, IconSpec, Level, Phase
from glmtray.ui.history_window import HistoryWindow
from glmtray.ui.icon import render_icon
from glmtray.ui.panel import Panel
from glmtray.ui.settings_dialog import SettingsDialog
from glmtray.ui.signin import SignInDialog
from glmtray.ui.translator import install_translators


def dark_palette() -> QPalette:
    palette = QPalette()
    roles = {
        QPalette.ColorRole.Window: "#2b2d31",
        QPalette.ColorRole.WindowText: "#eceef1",
        QPalette.ColorRole.Base: "#1f2125",
        QPalette.ColorRole.AlternateBase: "#2b2d31",
        QPalette.ColorRole.Text: "#eceef1",
        QPalette.ColorRole.Button: "#3a3d43",
        QPalette.ColorRole.ButtonText: "#eceef1",
        QPalette.ColorRole.Highlight: "#3d7bd9",
        QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.Link: "#7ab0ff",
        QPalette.ColorRole.Mid: "#55585f",
        QPalette.ColorRole.PlaceholderText: "#8d9199",
        QPalette.ColorRole.ToolTipBase: "#3a3d43",
        QPalette.ColorRole.ToolTipText: "#eceef1",
    }
    for role, colour in roles.items():
        palette.setColor(role, QColor(colour))
    return palette


def concurrency(
    in_flight: int, peak: int, sessions: int, warning: str | None = None
) -> ConcurrencyState:
    return ConcurrencyState(
        in_flight=in_flight,
        peak_5m=peak,
        active_sessions=sessions,
        active_projects=1,
        recommended="1-2",
        limit_seen_peak=2,
        limit_seen_offpeak=4,
        warning=warning,
    )


def panel_states() -> dict[str, AppState]:
    healthy = healthy_state()
    return {
        "healthy": replace(healthy, demo=True, concurrency=concurrency(1, 2, 1)),
        "weekly_limit": replace(
            weekly_exhausted_state(),
            risk=risk_report((timedelta(minutes=3), 1310, "Weekly limit exhausted")),
            concurrency=concurrency(0, 1, 0),
        ),
        "restricted": replace(
            restricted_state(),
            risk=risk_report(
                (timedelta(days=9), 1313, ""),
                (timedelta(hours=1), 1313, ""),
                (timedelta(minutes=2), 1302, ""),
            ),
            concurrency=concurrency(3, 3, 2, "3 in flight: at or above the limit seen (2)"),
        ),
        "risk_lifted": replace(healthy, risk=risk_report((timedelta(hours=30), 1313, ""))),
        "stale": stale_state(),
        "cancel_soon": make_state(make_snapshot(subscription=make_subscription(renew_in_days=5))),
        "auto_renew_off_idle": make_state(
            make_snapshot(
                windows=make_windows(five=0, five_started=False, weekly=88),
                subscription=make_subscription(auto_renew=False),
                warnings=("Unknown window type CREDIT_LIMIT ignored",),
            ),
            notices=("The settings file was damaged and has been reset to defaults.",),
        ),
        "error_auth": make_state(None, phase=Phase.ERROR, error=AuthenticationFailed()),
        "error_no_plan": make_state(None, phase=Phase.ERROR, error=NoCodingPlan()),
        "error_unreachable": make_state(
            make_snapshot(fetched_ago=timedelta(minutes=12)),
            phase=Phase.ERROR,
            error=PlatformUnavailable(),
        ),
        "error_unexpected": make_state(None, phase=Phase.ERROR, error=UnexpectedResponse()),
        "error_restricted": make_state(
            make_snapshot(risk=None), phase=Phase.ERROR, error=AccountRestricted()
        ),
        "signed_out": make_state(None, phase=Phase.SIGNED_OUT),
        "loading": make_state(None, phase=Phase.LOADING),
    }


def save(widget: QWidget, path: Path) -> None:
    widget.show()
    QApplication.processEvents()
    widget.grab().save(str(path))
    widget.hide()
    print(path)


def point_at(widget: QWidget, x: float, y: float) -> None:
    """Move the pointer over `widget` as a mouse would (for the hover readout)."""
    position = QPointF(x, y)
    event = QMouseEvent(
        QMouseEvent.Type.MouseMove,
        position,
        widget.mapToGlobal(position),
        Qt.MouseButton.NoButton,
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(widget, event)


def history_windows(out: Path, theme: str) -> None:
    """The history window: each span, the empty state and a usage note; at its default
    size and on a 1366x768 laptop's free area; one at twice the pixel density."""
    views = {
        "24h": sample_view(Span.DAY, NOW),
        "7d": sample_view(Span.WEEK, NOW),
        "30d": sample_view(Span.MONTH, NOW),
        "empty": sample_view(Span.DAY, NOW, empty=True),
        "usage_note": sample_view(
            Span.DAY,
            NOW,
            usage_note="Model and tool usage could not be refreshed (the platform did not "
            "answer); showing usage from 17:40, 20 min old.",
        ),
    }
    for name, view in views.items():
        if theme == "dark" and name in ("30d", "usage_note"):
            continue
        window = HistoryWindow()
        window.show_view(view, NOW)
        window.show()
        window.resize(980, 660)  # its default size, whatever the offscreen screen's
        QApplication.processEvents()
        if name == "24h":
            chart = window.share_chart
            plot = chart.plot_rect()
            point_at(chart, chart.x_of((NOW - timedelta(hours=3)).timestamp()), plot.center().y())
        window.grab().save(str(out / f"history_{name}_{theme}.png"))
        print(out / f"history_{name}_{theme}.png")
        if name == "24h":
            # A 1366x768 laptop under a 32 px bar, less the title bar.
            window.resize(1366 - 16, 768 - 32 - 48)
            QApplication.processEvents()
            window.grab().save(str(out / f"history_{name}_laptop_{theme}.png"))
            print(out / f"history_{name}_laptop_{theme}.png")
            # High density: the same window drawn at a device pixel ratio of 2.
            window.resize(980, 660)
            QApplication.processEvents()
            pixmap = QPixmap(window.size() * 2)
            pixmap.setDevicePixelRatio(2.0)
            window.render(pixmap)
            pixmap.save(str(out / f"history_{name}_2x_{theme}.png"))
            print(out / f"history_{name}_2x_{theme}.png")
        window.hide()
        window.deleteLater()


def icon_sheet(path: Path, scale: int = 3) -> None:
    specs = [
        IconSpec(IconLook.GAUGE, 17, Level.NORMAL),
        IconSpec(IconLook.GAUGE, 83, Level.WARNING),
        IconSpec(IconLook.GAUGE, 96, Level.CRITICAL),
        IconSpec(IconLook.GAUGE, 100, Level.FULL),
        IconSpec(IconLook.GAUGE, 42, Level.NORMAL, show_number=False),
        IconSpec(IconLook.GAUGE, 42, Level.NORMAL, restricted=True),
        IconSpec(IconLook.GAUGE, 30, show_number=False, inner_percent=85, inner_level=Level.WARNING),
        IconSpec(IconLook.GAUGE, 12, Level.NORMAL, charge_soon=True),
        IconSpec(IconLook.STALE, 64, Level.NORMAL),
        IconSpec(IconLook.LOADING),
        IconSpec(IconLook.SIGNED_OUT),
        IconSpec(IconLook.ERROR),
    ]
    sizes = (16, 22, 24, 32, 48)
    cell = max(sizes) + 10
    # Left: drawn for the panel's tone. Right: drawn for the other tone (a light app theme on
    # a black bar, a dark one on a white bar): the halo must keep them readable there too.
    backgrounds = (("#2b2d31", True), ("#000000", False), ("#f2f2f2", False), ("#ffffff", True))
    width = sum(s + 10 for s in sizes) * 2 * scale
    height = len(specs) * cell * len(backgrounds) * scale // 2
    sheet = QImage(width, height, QImage.Format.Format_ARGB32)
    sheet.fill(QColor("white"))
    painter = QPainter(sheet)
    for b, (background, dark) in enumerate(backgrounds):
        x0 = (b % 2) * width // 2
        y0 = (b // 2) * len(specs) * cell * scale
        painter.fillRect(x0, y0, width // 2, len(specs) * cell * scale, QColor(background))
        for r, spec in enumerate(specs):
            x = x0
            for size in sizes:
                image = render_icon(replace(spec, dark_panel=dark), size)
                # Nearest-neighbour upscaling shows the real pixels.
                big = image.scaled(size * scale, size * scale)
                painter.drawImage(QPoint(x + 5 * scale, y0 + (r * cell + 5) * scale), big)
                x += (size + 10) * scale
    painter.end()
    sheet.save(str(path))
    print(path)
    # And at their real size, 1x and 2x, as a tray would show them.
    for dpr in (1.0, 2.0):
        strip = QImage(
            round(len(specs) * 28 * dpr), round(2 * 28 * dpr), QImage.Format.Format_ARGB32
        )
        strip.fill(QColor("#2b2d31"))
        p = QPainter(strip)
        p.fillRect(0, round(28 * dpr), strip.width(), round(28 * dpr), QColor("#f2f2f2"))
        for i, spec in enumerate(specs):
            for row, dark in enumerate((True, False)):
                image = render_icon(replace(spec, dark_panel=dark), 22, dpr)
                p.drawImage(QPoint(round((i * 28 + 3) * dpr), round((row * 28 + 3) * dpr)), image)
        p.end()
        name = path.with_name(f"icons_actual_{int(dpr)}x.png")
        strip.save(str(name))
        print(name)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "artifacts" / "widgets")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    app = QApplication(sys.argv[:1])
    # As the app does: the language of the environment (LANGUAGE=zh_CN renders in Chinese).
    install_translators(app, "system")
    app.setStyle(QStyleFactory.create("Fusion"))
    light = app.palette()
    themes: list[tuple[str, QPalette]] = [("light", light), ("dark", dark_palette())]

    for theme, palette in themes:
        app.setPalette(palette)
        for name, state in panel_states().items():
            if theme == "dark" and name not in (
                "healthy",
                "weekly_limit",
                "restricted",
                "error_auth",
            ):
                continue
            panel = Panel()
            panel.set_height_limit(4000)  # the whole panel, as on a tall screen
            panel.show_state(state, NOW)
            save(panel, args.out / f"panel_{name}_{theme}.png")
            if name == "healthy":
                # What a link click says when no browser answers.
                panel.show_message(
                    "No browser answered. https://z.ai/manage-apikey/subscription is copied "
                    "to the clipboard.",
                    problem=True,
                )
                save(panel, args.out / f"panel_link_feedback_{theme}.png")
                panel.footer_section.clear_message()
            if name == "restricted":
                # On a 1366x768 laptop under a 32 px bar: the middle scrolls.
                panel.set_height_limit(768 - 32 - 12)
                panel.show_state(state, NOW)
                save(panel, args.out / f"panel_{name}_laptop_{theme}.png")
            panel.deleteLater()

        dialog = SignInDialog(Region.GLOBAL)
        save(dialog, args.out / f"signin_{theme}.png")
        dialog.key_edit.setText("5f1e0c3a9b7d4e2f8a6c1b0d3e5f7a9c.WrongKey123")
        dialog.show_error(
            "The key was not accepted",
            "The platform rejected this key. Check that it belongs to the selected region "
            "and has not been deleted.",
        )
        save(dialog, args.out / f"signin_error_{theme}.png")
        dialog.show_error(
            "The system keyring is locked",
            "The key works, but it could not be stored in the system keyring.",
            offer_session_only=True,
        )
        save(dialog, args.out / f"signin_keyring_{theme}.png")
        dialog.set_busy(True)
        save(dialog, args.out / f"signin_busy_{theme}.png")
        dialog.deleteLater()

        settings_dialog = SettingsDialog(
            Settings(manual_renewal_date="2026-04-12"),
            signed_in=True,
            backend_name="SecretService Keyring",
        )
        for index in range(settings_dialog.tabs.count()):
            settings_dialog.tabs.setCurrentIndex(index)
            save(settings_dialog, args.out / f"settings_{index}_{theme}.png")
        settings_dialog.deleteLater()

        history_windows(args.out, theme)

    icon_sheet(args.out / "icons.png")
    app.processEvents()
    # Collect Qt wrappers while the application still exists (PySide6 can abort otherwise).
    gc.collect()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
