"""The application: composes the controllers and the panel around one Monitor.

`run_app` is the composition root: it builds an `Environment` (a normal run or the demo)
and hands it to `GlmTrayApp`, which creates the platform service (the worker thread), the
tray, the refresh scheduler, the sign-in flow, the meter's controller and the
notification centre, and connects them. Each of those has one job; the decisions live in
the Qt-free core (`Monitor`, `alerts`, the activity package). Widgets only render
`AppState` and emit signals.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
import threading
from collections.abc import Callable
from dataclasses import replace
from types import TracebackType
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QPoint, QRect, QSize, QTimer, QUrl, Signal
from PySide6.QtGui import QCursor, QDesktopServices, QGuiApplication, QIcon
from PySide6.QtWidgets import QApplication

from glmtray import APP_ID, APP_NAME, __version__
from glmtray.alerts import Notification
from glmtray.collector import START_PAUSE_LIMIT_S, resume_after_start
from glmtray.desktop_notify import Notifier
from glmtray.environment import Environment, demo_environment, normal_environment
from glmtray.errors import SettingsError
from glmtray.i18n import N_, _
from glmtray.monitor import Monitor
from glmtray.platform.regions import Region, info
from glmtray.redact import RedactingFilter
from glmtray.settings import Settings, log_dir, saved_language
from glmtray.state import AppState, IconLook, IconSpec, NoticeKey, Phase
from glmtray.timeutil import utcnow
from glmtray.ui import style
from glmtray.ui.icon import make_qicon
from glmtray.ui.imported_sources import forget_imported_sources
from glmtray.ui.meter_control import MeterController
from glmtray.ui.notifications import NotificationCenter
from glmtray.ui.platform_service import PlatformService, SessionStart, threads_still_running
from glmtray.ui.refresh import RefreshScheduler
from glmtray.ui.sign_in_flow import SignInFlow
from glmtray.ui.single_instance import SingleInstance, server_name, signal_running_instance
from glmtray.ui.translator import install_translators
from glmtray.ui.tray import TrayController
from glmtray.wording import region_name

if TYPE_CHECKING:
    from glmtray.activity.risk_text import ReviewRequest
    from glmtray.activity.risk_watch import RiskReport
    from glmtray.ui.history_window import HistoryController
    from glmtray.ui.panel import Panel
    from glmtray.ui.settings_dialog import SettingsDialog

log = logging.getLogger(__name__)

NO_TRAY_NOTICE = N_(
    "No system tray was found: glmtray runs in this window and keeps looking for one."
)
FRESHNESS_TICK_MS = 15_000
"""Re-render "Updated 40 s ago" while the panel is open."""
HIDDEN_TICKS = 4
"""With the panel closed only the tooltip countdown and the stale look age: once a minute."""
PANEL_AFTER_CLICK_MS = 50
"""A popup shown during a tray click can be closed again by the rest of that click."""
ICON_AROUND_CLICK = 24
"""Pixels of tray icon assumed around a click when the host does not say where the icon is."""


class GlmTrayApp(QObject):
    state_changed = Signal(object)
    switch_requested = Signal(str)
    language_changed = Signal(str)
    """The user chose another language in Settings (a Settings.language value)."""
    """Run the app in another environment instead: "demo" or "normal" (see AppHost)."""
    _refresh_requested = Signal()
    """From a background script's thread: a refresh, queued to this one."""

    def __init__(
        self,
        app: QApplication,
        environment: Environment,
        *,
        notifier: Notifier | None = None,
        instance_name: str | None = None,
    ) -> None:
        super().__init__()
        self.app = app
        self.environment = environment
        loaded = environment.settings.load()
        settings = loaded.settings
        self.monitor = Monitor(
            settings.region, settings, demo=environment.is_demo, ledger=environment.account_memory
        )
        self.monitor.listeners.append(self.state_changed.emit)
        if loaded.notice:
            self.monitor.set_notice(NoticeKey.SETTINGS_RESET, loaded.notice)

        self.instance = SingleInstance(
            instance_name or server_name(environment.instance_suffix), self
        )
        self.service = PlatformService(environment, self)
        self.service.set_peak_hours(settings.peak_hours, settings.peak_rule)
        self.tray = TrayController(
            self.monitor.pause, sign_out_label=environment.sign_out_label, parent=self
        )
        self.scheduler = RefreshScheduler(self.monitor, self.service, self)
        self.sign_in = SignInFlow(
            self.monitor,
            self.service,
            read_transcripts=lambda: self.monitor.state.settings.transcripts_enabled,
            parent=self,
        )
        self.meter = MeterController(environment, self)
        self.notifications = NotificationCenter(self.monitor, self.tray, notifier, self)
        self._panel: Panel | None = None
        self.settings_dialog: SettingsDialog | None = None
        self.history: HistoryController | None = None
        """The usage history window's controller, built at its first opening."""
        self._connect()

        self.freshness = QTimer(self)
        self.freshness.setInterval(FRESHNESS_TICK_MS)
        self.freshness.timeout.connect(self.tick)
        self.freshness.start()
        self._ticks = 0

    def _connect(self) -> None:
        tray, scheduler, sign_in = self.tray, self.scheduler, self.sign_in
        self.instance.show_requested.connect(self.show_panel)
        tray.panel_toggle_requested.connect(self.toggle_panel)
        tray.panel_requested.connect(lambda: self.show_panel(clicked_at=QCursor.pos()))
        tray.refresh_requested.connect(lambda: scheduler.refresh(forced=True))
        tray.settings_requested.connect(self.open_settings)
        tray.history_requested.connect(self.open_history)
        tray.sign_in_requested.connect(sign_in.ask_to_sign_in)
        tray.sign_out_requested.connect(self.sign_out)
        tray.quit_requested.connect(self.quit)
        tray.availability_changed.connect(self._on_tray_availability)
        scheduler.notifications.connect(self.notifications.deliver)
        scheduler.busy_changed.connect(tray.set_busy)
        sign_in.session_started.connect(self._on_session_started)
        sign_in.region_chosen.connect(self._on_region_chosen)
        sign_in.demo_requested.connect(lambda: self.switch_requested.emit("demo"))
        sign_in.open_url_requested.connect(self.open_url)
        # After the sign-in flow has shown the first session's outcome (connected before).
        self.service.started.connect(lambda _start: after_start(self.app))
        self.service.risk_updated.connect(self._on_risk_updated)
        self.service.forecasts_updated.connect(
            lambda found: self.notifications.deliver(self.monitor.set_forecasts(found, utcnow()))
        )
        self.service.risk_unavailable.connect(
            lambda text: self.monitor.set_notice(NoticeKey.RISK_HISTORY, text)
        )
        self.meter.changed.connect(self._on_meter_changed)
        self.meter.refusals_grew.connect(self.service.rescan_risk)
        self.notifications.open_url_requested.connect(self.open_url)
        self.notifications.panel_requested.connect(self.show_panel)
        self.state_changed.connect(self.render)
        self._refresh_requested.connect(lambda: self.scheduler.refresh(forced=True))
        self.app.styleHints().colorSchemeChanged.connect(
            lambda *_: self.render(self.monitor.state, force=True)
        )

    @property
    def panel(self) -> Panel:
        """Built at its first showing: an idle tray whose panel was never opened needs none."""
        if self._panel is None:
            from glmtray.ui.panel import Panel  # its sections load with it

            panel = Panel()
            panel.setWindowTitle(APP_NAME + self.environment.title_suffix)
            panel.refresh_requested.connect(lambda: self.scheduler.refresh(forced=True))
            panel.settings_requested.connect(self.open_settings)
            panel.footer_section.history_requested.connect(self.open_history)
            panel.open_url_requested.connect(self.open_url)
            panel.sign_in_requested.connect(self.sign_in.ask_to_sign_in)
            panel.quit_requested.connect(self.quit)
            panel.review_requested.connect(self.request_review)
            self._panel = panel
        return self._panel

    @property
    def panel_visible(self) -> bool:
        return self._panel is not None and self._panel.isVisible()

    # -- start-up ----------------------------------------------------------------
    def start(self) -> bool:
        """False when another instance already runs (it was asked to show itself)."""
        if signal_running_instance(self.instance.name):
            log.info("another glmtray is running; asked it to show its panel")
            return False
        self.instance.listen()
        self.tray.render(self.monitor.state, force=True)
        self.tray.show()
        # The key is read on the worker; the icon shows its loading look until then.
        self.sign_in.restore()
        for script in self.environment.scripts:
            script.start(self._refresh_requested.emit)
        return True

    def _on_session_started(self, start: SessionStart) -> None:
        self.scheduler.session_started(start)
        self.meter.follow(self.monitor.state.settings, start.account)

    def _on_region_chosen(self, region: Region) -> None:
        settings = replace(self.monitor.state.settings, region=region)
        self._save_settings(settings)
        self.monitor.update_settings(settings)

    def _on_tray_availability(self, available: bool) -> None:
        if available:
            self.monitor.clear_notice(NoticeKey.NO_TRAY)
            return
        self.monitor.set_notice(NoticeKey.NO_TRAY, _(NO_TRAY_NOTICE))
        self.panel.set_popup_mode(False)
        self.render(self.monitor.state, force=True)
        self.panel.show()

    # -- the panel ----------------------------------------------------------------
    def toggle_panel(self) -> None:
        log.debug("tray activated; panel visible: %s", self.panel_visible)
        if self.panel_visible:
            self.panel.hide()
        else:
            # Where the click was: a StatusNotifierItem host does not say where its icon is.
            cursor = QCursor.pos()
            QTimer.singleShot(PANEL_AFTER_CLICK_MS, lambda: self.show_panel(clicked_at=cursor))

    def show_panel(self, clicked_at: QPoint | None = None) -> None:
        """By the tray icon as a popup when its place is known (or the click's), else as a
        window of its own (no tray, or opened from a notification)."""
        panel = self.panel
        panel.show_state(self.monitor.state, utcnow())
        geometry = self.tray.icon.geometry() if self.tray.visible else None
        if geometry is None or not geometry.isValid() or geometry.isEmpty():
            # Only the click is known (a StatusNotifierItem host): the icon around it is about
            # a panel's height, so the panel opens clear of it rather than over its lower half.
            geometry = (
                QRect(clicked_at - QPoint(ICON_AROUND_CLICK // 2, ICON_AROUND_CLICK // 2),
                      QSize(ICON_AROUND_CLICK, ICON_AROUND_CLICK))
                if clicked_at is not None
                else None
            )  # fmt: skip
        screen = QGuiApplication.primaryScreen()
        if geometry is not None and screen:
            panel.set_popup_mode(True)
            panel.place_near(geometry, QGuiApplication.screenAt(geometry.center()) or screen)
        else:
            panel.set_popup_mode(False)
            panel.set_height_limit(None)
            panel.fit_height()
        panel.show()
        panel.raise_()
        panel.activateWindow()

    # -- rendering ----------------------------------------------------------------
    def render(self, state: AppState, force: bool = False) -> None:
        self.tray.render(state, force=force)
        if self.panel_visible:  # show_panel renders before showing: a hidden one need not
            self.panel.show_state(state, utcnow())

    def tick(self) -> None:
        """Keep ages, countdowns and the meter's figures current (every FRESHNESS_TICK_MS);
        an idle app with its panel closed and no meter redraws once a minute."""
        self._ticks += 1
        if self.meter.running:
            # The meter's numbers move between refreshes: in flight now, the 5-minute peak.
            state = self.monitor.state
            self.notifications.deliver(self.meter.check_refusals(state, self.monitor.sent))
            self.monitor.remember_sent()
            self.monitor.set_concurrency(self.meter.concurrency(state))
        elif self.panel_visible or self._ticks % HIDDEN_TICKS == 0:
            self.render(self.monitor.state)

    # -- risk and the meter -------------------------------------------------------
    def _on_risk_updated(self, report: RiskReport) -> None:
        state = self.monitor.state
        self.monitor.set_risk(report, self.meter.concurrency(replace(state, risk=report)))
        if report.store_notice:
            self.monitor.set_notice(NoticeKey.RISK_HISTORY, report.store_notice)
        if not state.settings.notify_risk:
            return
        support = f"mailto:{info(state.region).support_email}"
        self.notifications.deliver(
            [
                Notification(
                    key=n.dedup_key,
                    kind=n.kind,
                    title=n.title,
                    body=n.body,
                    url=support if n.opens == "support" else None,
                    urgent=n.kind in ("restriction_started", "locked"),
                )
                for n in report.notices
            ]
        )

    def _on_meter_changed(self) -> None:
        if self.meter.problem:
            self.monitor.set_notice(NoticeKey.METER, self.meter.problem)
        else:
            self.monitor.clear_notice(NoticeKey.METER)
        self.monitor.set_concurrency(self.meter.concurrency(self.monitor.state))

    # -- sign-out -----------------------------------------------------------------
    def sign_out(self) -> None:
        if self.environment.leave_to is not None:  # the demo: back to the user's own app
            self.switch_requested.emit(self.environment.leave_to)
            return
        self.scheduler.stop()
        self.sign_in.sign_out()

    # -- usage history ------------------------------------------------------------
    def open_history(self) -> None:
        """The usage history window; its module and the history views load on first use."""
        if self.history is None:
            from glmtray.peak import rule_for
            from glmtray.ui.history_window import HistoryController

            def peak_rule() -> str:
                state = self.monitor.state
                quota = state.snapshot.quota if state.snapshot is not None else None
                return rule_for(quota, state.settings.peak_rule)

            self.history = HistoryController(
                self.service,
                self.environment.open_history,
                lambda: self.monitor.account,
                lambda: self.monitor.state.settings,
                peak_rule,
            )
            self.history.window.setWindowTitle(
                self.history.window.windowTitle() + self.environment.title_suffix
            )
        self.history.open()

    # -- settings -----------------------------------------------------------------
    def open_settings(self) -> None:
        from glmtray.ui.settings_dialog import SettingsDialog  # loaded on first use

        state = self.monitor.state
        if self.settings_dialog is None:
            self.settings_dialog = SettingsDialog(
                state.settings,
                signed_in=state.phase is not Phase.SIGNED_OUT,
                backend_name=self.environment.keys.backend_name,
            )
            self.settings_dialog.settings_changed.connect(self.apply_settings)
            self.settings_dialog.sign_out_requested.connect(self.sign_out)
            self.settings_dialog.replace_key_requested.connect(self.sign_in.show_dialog)
        else:
            self.settings_dialog.set_settings(state.settings)
        self.settings_dialog.show()
        self.settings_dialog.raise_()
        self.settings_dialog.activateWindow()

    def apply_settings(self, settings: Settings) -> None:
        settings = settings.normalized()
        old = self.monitor.state.settings
        self._save_settings(settings)
        if settings.start_at_login != old.start_at_login and self.environment.autostart_allowed:
            from glmtray import autostart  # loaded on first use

            try:
                autostart.set_enabled(settings.start_at_login)
                self.monitor.clear_notice(NoticeKey.AUTOSTART)
            except OSError as error:
                self.monitor.set_notice(
                    NoticeKey.AUTOSTART,
                    _("Start at login could not be changed: {reason}").format(
                        reason=error.strerror
                    ),
                )
        self.monitor.update_settings(settings)
        if self.monitor.state.phase is not Phase.SIGNED_OUT:
            self.meter.follow(settings, self.monitor.account)
        self.service.set_peak_hours(settings.peak_hours, settings.peak_rule)
        self.render(self.monitor.state, force=True)
        if settings.refresh_seconds != old.refresh_seconds:
            self.scheduler.interval_changed()
        if settings.language != old.language:
            self.language_changed.emit(settings.language)

    def _save_settings(self, settings: Settings) -> None:
        try:
            self.environment.settings.save(settings)
            self.monitor.clear_notice(NoticeKey.SETTINGS_NOT_SAVED)
        except SettingsError as error:
            self.monitor.set_notice(NoticeKey.SETTINGS_NOT_SAVED, error.message)

    # -- actions ------------------------------------------------------------------
    def open_url(self, url: str) -> bool:
        """Open a page or the mail app, and say what happened: with no handler for the link
        nothing would seem to happen, so the address goes to the clipboard instead."""
        opened = QDesktopServices.openUrl(QUrl(url))
        target = url.removeprefix("mailto:").split("?", 1)[0]
        if opened:
            note = (
                _("Opening your mail app to write to {address}…").format(address=target)
                if url.startswith("mailto:")
                else _("Opening {site} in your browser…").format(site=QUrl(url).host() or url)
            )
            self._say(note)
        else:
            style.copy_to_clipboard(target if url.startswith("mailto:") else url)
            unanswered = (
                _("No mail app answered. {address} is copied to the clipboard.")
                if url.startswith("mailto:")
                else _("No browser answered. {address} is copied to the clipboard.")
            )
            self._say(unanswered.format(address=target), problem=True)
        return opened

    def _say(self, text: str, *, problem: bool = False) -> None:
        log.info("%s", text)
        if self.panel_visible:
            self.panel.show_message(text, problem=problem)

    def review_text(self) -> ReviewRequest | None:
        from glmtray.activity.risk_text import review_request

        state = self.monitor.state
        if state.risk is None:
            return None
        region = info(state.region)
        plan = state.snapshot.plan_name if state.snapshot else None
        return review_request(
            region.support_email, region_name(state.region), plan, state.risk.state
        )

    def request_review(self) -> None:
        """A pre-filled e-mail to support, also put on the clipboard: many people have no
        mail client set up, and the text must not be lost."""
        request = self.review_text()
        support = info(self.monitor.state.region).support_email
        if request is None:
            self.open_url(f"mailto:{support}")
            return
        style.copy_to_clipboard(
            _("To: {to}\nSubject: {subject}\n\n{body}").format(
                to=request.to, subject=request.subject, body=request.body
            )
        )
        if QDesktopServices.openUrl(QUrl(request.mailto_url)):
            self._say(_("The review request is copied to the clipboard; opening your mail app…"))
        else:
            self._say(
                _(
                    "No mail app answered. The review request is on the clipboard: paste it "
                    "into a message to {address}."
                ).format(address=support),
                problem=True,
            )

    def quit(self) -> None:
        self.shutdown()
        self.app.quit()

    def shutdown(self) -> None:
        self.freshness.stop()
        if self.history is not None:
            self.history.close()
        self.scheduler.stop()
        self.meter.shutdown()
        self.tray.hide()
        self.instance.close()
        # A worker blocked in a keyring read (an unlock prompt nobody answers) ends now.
        self.environment.keys.cancel_reads()
        self.service.shutdown()
        self.notifications.close()
        self.environment.close()


def setup_file_logging() -> None:
    """A rotating log in the platformdirs log folder, with keys masked."""
    try:
        folder = log_dir()
        folder.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(
            folder / "glmtray.log", maxBytes=1_000_000, backupCount=3
        )
    except OSError:
        return
    handler.addFilter(RedactingFilter())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(min(root.level, logging.INFO) if root.level else logging.INFO)


def log_uncaught(kind: type[BaseException], error: BaseException, tb: TracebackType | None) -> None:
    """An exception escaping a slot goes to the log, through the key-masking filter, instead
    of a raw traceback on stderr; the app keeps running."""
    log.error("unexpected error", exc_info=(kind, error, tb))


def log_uncaught_in_thread(args: threading.ExceptHookArgs) -> None:
    """The same for a helper thread (the meter's start, a D-Bus listener)."""
    if args.exc_type is SystemExit:
        return
    log.error(
        "unexpected error in thread %s",
        args.thread.name if args.thread else "?",
        exc_info=(args.exc_type, args.exc_value or args.exc_type(), args.exc_traceback),
    )


class AppHost(QObject):
    """Runs one GlmTrayApp at a time and swaps it for another environment on request:
    "Try the demo" and "Leave the demo" stay in this process, with one tray icon."""

    def __init__(
        self,
        app: QApplication,
        make_environment: Callable[[str], Environment],
        *,
        notifier: Notifier | None = None,
    ) -> None:
        super().__init__()
        self.app = app
        self.make_environment = make_environment
        self.notifier = notifier
        self.current: GlmTrayApp | None = None

    def start(self, mode: str) -> bool:
        """False when another instance of that mode already runs (it was asked to show)."""
        tray_app = GlmTrayApp(self.app, self.make_environment(mode), notifier=self.notifier)
        if not tray_app.start():
            tray_app.shutdown()
            return False
        tray_app.switch_requested.connect(self._switch)
        tray_app.language_changed.connect(self._change_language)
        self.current = tray_app
        return True

    def _change_language(self, language: str) -> None:
        QTimer.singleShot(0, lambda: self.change_language(language))

    def change_language(self, language: str) -> None:
        """Every widget speaks the new language at once: the translators change, then the
        app is built afresh (as for the demo), its settings window open again if it was."""
        current = self.current
        if current is None:
            return
        mode = "demo" if current.environment.is_demo else "normal"
        settings_open = current.settings_dialog is not None and current.settings_dialog.isVisible()
        install_translators(self.app, language)
        self.switch(mode)
        if settings_open and self.current is not None:
            self.current.open_settings()

    def _switch(self, mode: str) -> None:
        # After the click that asked for it has been handled by the old app's widgets.
        QTimer.singleShot(0, lambda: self.switch(mode))

    def switch(self, mode: str) -> None:
        old, self.current = self.current, None
        if old is not None:
            log.info("switching to the %s app", mode)
            old.shutdown()
            old.deleteLater()
        if not self.start(mode):
            self.app.quit()  # the other one is running already and was asked to show itself

    def shutdown(self) -> None:
        if self.current is not None:
            self.current.shutdown()
            self.current = None


def after_start(app: QApplication) -> None:
    """What waits until the first session's outcome is on screen (data, or the sign-in
    dialog), or until START_PAUSE_LIMIT_S have passed without one: the garbage collector's
    return (collector.py), and the windows' icon. Looking the icon up in the icon theme and
    drawing its fallback take some 15 ms that the tray icon need not wait for; Qt gives the
    icon to the windows already open when it is set."""
    resume_after_start()
    if app.windowIcon().isNull():
        # An installed icon theme entry wins; an uninstalled bundle falls back to a gauge.
        app.setWindowIcon(QIcon.fromTheme(APP_ID, make_qicon(IconSpec(IconLook.GAUGE, 40.0))))


def run_app(
    *, demo: bool = False, base_url: str | None = None, environment: Environment | None = None
) -> int:
    """The composition root: one environment, one application built from it.
    `environment`, when given, is the first one (already at work: see first_fetch.py)."""
    # Dropped here, after the imports, so the objects made from now on reuse that memory.
    forget_imported_sources()
    sys.excepthook = log_uncaught
    threading.excepthook = log_uncaught_in_thread
    QApplication.setApplicationName(APP_NAME)
    QApplication.setApplicationVersion(__version__)
    QApplication.setOrganizationDomain("glmtray.github.io")
    QGuiApplication.setDesktopFileName(APP_ID)
    app = QApplication.instance() or QApplication(sys.argv)
    assert isinstance(app, QApplication)
    # Before any widget exists: every tr() from here on answers in the chosen language.
    install_translators(app, "system" if demo else saved_language())
    app.setQuitOnLastWindowClosed(False)
    if not demo:
        setup_file_logging()

    first = [environment] if environment is not None else []

    def make_environment(mode: str) -> Environment:
        if first:
            return first.pop()
        return demo_environment() if mode == "demo" else normal_environment(base_url)

    # A start with no outcome for long (a keyring behind its unlock prompt) gets the garbage
    # collector back anyway.
    QTimer.singleShot(int(START_PAUSE_LIMIT_S * 1000), lambda: after_start(app))
    host = AppHost(app, make_environment)
    if not host.start("demo" if demo else "normal"):
        return 0
    try:
        code = app.exec()
    finally:
        host.shutdown()
    if threads_still_running():
        # Everything is saved and closed; only a platform request that cannot be cut short
        # is left. Ending here spares the user a crash report for it.
        logging.shutdown()
        os._exit(code)
    return code
