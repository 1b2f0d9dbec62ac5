"""The one owner of the running app: tray, panel, dialogs, refresh loop and notifications.

Widgets only render AppState and emit signals; the decisions live in the Qt-free core
(`Monitor`, `alerts`). This class is the glue between the two.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
import time
from dataclasses import replace
from datetime import timedelta
from types import TracebackType
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QThread, QTimer, QUrl, Signal
from PySide6.QtGui import QAction, QDesktopServices, QGuiApplication, QIcon
from PySide6.QtWidgets import QApplication, QMenu, QSystemTrayIcon

from glmtray import APP_ID, APP_NAME, __version__, autostart
from glmtray.activity.concurrency import ConcurrencyState, concurrency_state
from glmtray.activity.events import EventStore
from glmtray.activity.risk_text import ReviewRequest, review_request
from glmtray.activity.risk_watch import RiskReport, RiskWatcher
from glmtray.activity.transcripts import default_root
from glmtray.alerts import Notification, concurrency_notifications
from glmtray.credentials import Account, CredentialStore
from glmtray.desktop_notify import DesktopNotifier
from glmtray.errors import CredentialError, GlmtrayError, SettingsError
from glmtray.monitor import FetchPlan, Monitor
from glmtray.platform.models import Snapshot
from glmtray.platform.regions import Region, info
from glmtray.redact import RedactingFilter
from glmtray.settings import Settings, SettingsStore, data_dir, log_dir
from glmtray.state import AppState, IconLook, IconSpec, Phase
from glmtray.timeutil import utcnow
from glmtray.ui.concurrency_section import ConcurrencySection
from glmtray.ui.icon import make_qicon, panel_is_dark
from glmtray.ui.panel import Panel
from glmtray.ui.risk_section import RiskSection
from glmtray.ui.settings_dialog import SettingsDialog
from glmtray.ui.signin import SignInDialog
from glmtray.ui.single_instance import SingleInstance, server_name, signal_running_instance
from glmtray.ui.worker import PlatformWorker

if TYPE_CHECKING:
    from glmtray.meter.server import LocalMeter  # aiohttp is loaded only when the meter is on

log = logging.getLogger(__name__)

TRAY_RETRY_MS = 5_000
CLOCK_CHECK_MS = 30_000
"""How often to compare wall clock and monotonic clock, to notice a wake from sleep."""
NO_TRAY_NOTICE = "No system tray was found: glmtray runs in this window and keeps looking for one."
FRESHNESS_TICK_MS = 15_000
"""Re-render "Updated 40 s ago" while the panel is open."""
HIDDEN_TICKS = 4
"""With the panel closed only the tooltip countdown and the stale look age: once a minute."""


class GlmTrayApp(QObject):
    # Requests to the worker thread (queued connections: the worker lives elsewhere).
    _configure = Signal(object, str, object)
    _fetch = Signal(object)
    _rescan_risk = Signal()
    _read_key = Signal(object)  # Account
    _store_key = Signal(object, str)  # Account, key
    _delete_key = Signal(object)  # Account
    _validate = Signal(object, str, object)
    _notification_clicked = Signal(int, str)
    state_changed = Signal(object)

    def __init__(
        self,
        app: QApplication,
        *,
        demo: bool = False,
        base_url: str | None = None,
        settings_store: SettingsStore | None = None,
        credentials: CredentialStore | None = None,
        notifier: DesktopNotifier | None = None,
        instance_name: str | None = None,
    ) -> None:
        super().__init__()
        self.app = app
        self.demo = demo
        self.simulator = None
        self.settings_store = None if demo else (settings_store or SettingsStore())
        self.credentials = credentials or CredentialStore()
        notice = None
        if self.settings_store is not None:
            loaded = self.settings_store.load()
            settings, notice = loaded.settings, loaded.notice
        else:
            settings = Settings()
        if demo:
            from glmtray.simulator import DEMO_API_KEY, PlatformSimulator

            self.simulator = PlatformSimulator("demo")
            self.simulator.start()
            base_url = self.simulator.base_url
            self._demo_key = DEMO_API_KEY
        self.base_url = base_url or settings.base_url
        self.monitor = Monitor(settings.region, settings, demo=demo)
        self.monitor.listeners.append(self.state_changed.emit)
        if notice:
            self.monitor.add_notice(notice)
        self.busy = False
        self.pending_forced = False
        self.meter: LocalMeter | None = None
        self._meter_notice = ""
        self._refused_1302 = 0
        self.sent_ids: dict[int, Notification] = {}

        self.instance = SingleInstance(instance_name or server_name("-demo" if demo else ""), self)
        self.instance.show_requested.connect(self.show_panel)

        self.worker_thread = QThread()
        self.worker_thread.setObjectName("glmtray-platform")
        self.worker = PlatformWorker()
        self.worker.moveToThread(self.worker_thread)
        self._configure.connect(self.worker.configure)
        self._fetch.connect(self.worker.fetch)
        self._rescan_risk.connect(self.worker.rescan_risk)
        self.worker.credentials = self.credentials
        self._read_key.connect(self.worker.read_key)
        self._store_key.connect(self.worker.store_key)
        self._delete_key.connect(self.worker.delete_key)
        self.worker.key_read.connect(self._on_key_read)
        self.worker.key_stored.connect(self._on_key_stored)
        self.worker.key_delete_failed.connect(self._on_key_delete_failed)
        self._validate.connect(self.worker.validate)
        self.worker.fetched.connect(self._on_fetched)
        self.worker.fetch_failed.connect(self._on_fetch_failed)
        self.worker.validated.connect(self._on_validated)
        self.worker.validation_failed.connect(self._on_validation_failed)
        self.worker.risk_updated.connect(self._on_risk_updated)
        self.worker.risk_watcher = self._make_risk_watcher(settings)
        self.worker_thread.start()

        self.panel = Panel()
        self.panel.setWindowTitle(f"{APP_NAME}" + (" (demo)" if demo else ""))
        self.panel.refresh_requested.connect(lambda: self.refresh(forced=True))
        self.panel.settings_requested.connect(self.open_settings)
        self.panel.open_url_requested.connect(self.open_url)
        self.panel.sign_in_requested.connect(self.show_sign_in)
        self.panel.quit_requested.connect(self.quit)
        self.panel.review_requested.connect(self.request_review)
        self.risk_section = RiskSection()
        self.risk_section.review_requested.connect(self.request_review)
        self.panel.add_section(self.risk_section)
        self.concurrency_section = ConcurrencySection()
        self.panel.add_section(self.concurrency_section)
        self.signin: SignInDialog | None = None
        self.settings_dialog: SettingsDialog | None = None

        self.tray = QSystemTrayIcon(self)
        self.menu = QMenu()
        self.menu.aboutToShow.connect(self._rebuild_menu)
        self.tray.setContextMenu(self.menu)
        self.tray.activated.connect(self._on_tray_activated)
        self.tray.messageClicked.connect(self.show_panel)
        self._icon_key: object = None
        self._shown_data = False
        self._rebuild_menu()

        self.notifier = notifier
        if self.notifier is None and DesktopNotifier.available():
            self.notifier = DesktopNotifier(APP_NAME, on_click=self._notification_clicked.emit)
        self._notification_clicked.connect(self._on_notification_clicked)

        self.refresh_timer = QTimer(self)
        self.refresh_timer.setSingleShot(True)
        self.refresh_timer.timeout.connect(self.refresh)
        self.tray_retry = QTimer(self)
        self.tray_retry.setInterval(TRAY_RETRY_MS)
        self.tray_retry.timeout.connect(self._try_tray)
        self.freshness = QTimer(self)
        self.freshness.setInterval(FRESHNESS_TICK_MS)
        self.freshness.timeout.connect(self._tick)
        self.freshness.start()
        self._ticks = 0
        self._wall, self._mono = time.time(), time.monotonic()
        self.clock_check = QTimer(self)
        self.clock_check.setInterval(CLOCK_CHECK_MS)
        self.clock_check.timeout.connect(self._check_clock)
        self.clock_check.start()
        self._watch_network()
        self.state_changed.connect(self._render)
        scheme = self.app.styleHints()
        scheme.colorSchemeChanged.connect(
            lambda *_: self._render(self.monitor.state, force_icon=True)
        )

    def _make_risk_watcher(self, settings: Settings) -> RiskWatcher | None:
        """Demo mode keeps its events in memory; a broken data folder disables the monitor."""
        try:
            store = EventStore(":memory:" if self.demo else data_dir() / "events.sqlite3")
        except Exception as error:
            log.warning("risk monitor disabled: event store unavailable (%s)", type(error).__name__)
            self.monitor.add_notice(
                "The risk-control history could not be opened; risk notices are off."
            )
            return None
        root = default_root() if settings.transcripts_enabled and not self.demo else None
        watcher = RiskWatcher(store, root)
        watcher.peak_hours = settings.peak_hours
        return watcher

    # -- start-up ----------------------------------------------------------------
    def start(self) -> bool:
        """False when another instance already runs (it was asked to show itself)."""
        if signal_running_instance(self.instance.name):
            log.info("another glmtray is running; asked it to show its panel")
            return False
        self.instance.listen()
        self._try_tray()
        self._sync_meter(self.monitor.state.settings)
        if self.demo:
            self._begin(self.monitor.state.region, self._demo_key, session_only=True)
            return True
        # Read on the worker; the icon shows its loading look until the key is there.
        self._read_key.emit(self._account(self.monitor.state.settings.region))
        return True

    def _account(self, region: Region) -> Account:
        return Account(region, self.monitor.state.settings.account_label)

    def _on_key_read(
        self, account: Account, key: str | None, error: CredentialError | None
    ) -> None:
        if error is not None:
            self.monitor.signed_out()
            self.show_sign_in()
            if self.signin is not None:
                self.signin.show_error(error.title, error.message, offer_session_only=True)
        elif key:
            self._begin(account.region, key)
        else:
            self.monitor.signed_out()
            self.show_sign_in()

    def _begin(self, region: Region, key: str, *, session_only: bool = False) -> None:
        self.monitor.signed_in(region, session_only=session_only)
        self._configure.emit(region, key, self.base_url)
        self.refresh(forced=True)

    # -- tray ---------------------------------------------------------------------
    def _try_tray(self) -> None:
        if QSystemTrayIcon.isSystemTrayAvailable():
            self.tray_retry.stop()
            self._render(self.monitor.state, force_icon=True)
            self.tray.show()
            if self.monitor.state.notices and any("tray" in n for n in self.monitor.state.notices):
                self.monitor._set(
                    replace(
                        self.monitor.state,
                        notices=tuple(n for n in self.monitor.state.notices if "tray" not in n),
                    )
                )
            return
        if not self.tray_retry.isActive():
            self.monitor.add_notice(
                "No system tray was found: glmtray runs in this window and keeps looking for one."
            )
            self.tray_retry.start()
            self.panel.set_popup_mode(False)
            self.panel.show()

    def _on_tray_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (
            QSystemTrayIcon.ActivationReason.Trigger,
            QSystemTrayIcon.ActivationReason.DoubleClick,
        ):
            log.debug("tray activated (%s); panel visible: %s", reason.name, self.panel.isVisible())
            if self.panel.isVisible():
                self.panel.hide()
            else:
                # After the click has been fully delivered: a popup shown during the click
                # can be closed again by the rest of it.
                QTimer.singleShot(50, self.show_panel)

    def show_panel(self) -> None:
        self._render(self.monitor.state, force_panel=True)
        geometry = self.tray.geometry() if self.tray.isVisible() else None
        screen = QGuiApplication.primaryScreen()
        if (
            geometry is not None
            and geometry.isValid()
            and not geometry.isEmpty()
            and screen is not None
        ):
            screen = QGuiApplication.screenAt(geometry.center()) or screen
            self.panel.set_popup_mode(True)
            self.panel.place_near(geometry, screen)
        else:
            self.panel.set_popup_mode(False)
        self.panel.show()
        self.panel.raise_()
        self.panel.activateWindow()

    def _rebuild_menu(self) -> None:
        state, now = self.monitor.state, utcnow()
        self.menu.clear()
        status = QAction(" · ".join(state.tooltip(now).split("\n")[:2]), self.menu)
        status.setEnabled(False)
        self.menu.addAction(status)
        self.menu.addSeparator()
        signed_in = state.phase is not Phase.SIGNED_OUT
        refresh = self.menu.addAction("Refresh now", lambda: self.refresh(forced=True))
        refresh.setEnabled(signed_in and not self.busy)
        self.menu.addAction("Open panel", self.show_panel)
        self.menu.addAction("Settings…", self.open_settings)
        pause = self.menu.addMenu("Pause notifications")
        if self.monitor.pause.active(now):
            until = (
                self.monitor.pause.until.astimezone().strftime("%a %H:%M")
                if self.monitor.pause.until
                else ""
            )
            pause.setTitle(f"Notifications paused until {until}")
            pause.addAction("Resume notifications", self.monitor.pause.clear)
        pause.addAction(
            "For 1 hour", lambda: self.monitor.pause.for_duration(utcnow(), timedelta(hours=1))
        )
        pause.addAction("Until tomorrow", lambda: self.monitor.pause.until_tomorrow(utcnow()))
        self.menu.addSeparator()
        if signed_in and not self.demo:
            self.menu.addAction("Sign out", self.sign_out)
        elif not signed_in:
            self.menu.addAction("Sign in…", self.show_sign_in)
        self.menu.addAction("Quit", self.quit)

    # -- rendering ----------------------------------------------------------------
    def _render(self, state: AppState, force_icon: bool = False, force_panel: bool = False) -> None:
        now = utcnow()
        dark = self._dark_panel(state)
        spec = state.icon_spec(now, dark_panel=dark)
        if force_icon or spec != self._icon_key:
            if spec.look is IconLook.GAUGE and not self._shown_data:
                self._shown_data = True
                # Benchmarks and desktop tests wait for this line: the glance is ready.
                log.info("tray icon shows data (%.0f %%)", spec.percent or 0)
            self._icon_key = spec
            self.tray.setIcon(make_qicon(spec))
        self.tray.setToolTip(state.tooltip(now))
        if not (self.panel.isVisible() or force_panel):
            return  # show_panel renders before showing: a hidden panel need not follow
        # Sections first, so the panel sizes itself with their final text.
        risk = state.extras.get("risk")
        self.risk_section.show_report(
            risk if isinstance(risk, RiskReport) else None, now, banner_shown=state.restricted
        )
        concurrency = state.extras.get("concurrency")
        self.concurrency_section.show_state(
            concurrency if isinstance(concurrency, ConcurrencyState) else None
        )
        self.panel.show_state(state, now)

    def _tick(self) -> None:
        """Keep ages and countdowns current; an idle app with its panel closed wakes rarely."""
        self._ticks += 1
        if self.meter is not None:
            # The meter's numbers move between refreshes: in flight now, the 5-minute peak.
            refused = self.meter.snapshot().errors_by_code.get(1302, 0)
            self.deliver(
                concurrency_notifications(
                    self._refused_1302,
                    refused,
                    utcnow(),
                    self.monitor.state.settings,
                    self.monitor.sent,
                )
            )
            if refused != self._refused_1302 and self.worker.risk_watcher is not None:
                # New 1302s: the concurrency they met ("limit seen") is in the event store
                # now; read it on the worker instead of waiting for the next refresh.
                self._rescan_risk.emit()
            self._refused_1302 = refused
            risk = self.monitor.state.extras.get("risk")
            self.monitor.set_extra(
                "concurrency", self._concurrency(risk if isinstance(risk, RiskReport) else None)
            )
        elif self.panel.isVisible() or self._ticks % HIDDEN_TICKS == 0:
            self._render(self.monitor.state)

    @staticmethod
    def _dark_panel(state: AppState) -> bool:
        style = state.settings.icon_style
        if style == "light":
            return False
        if style == "dark":
            return True
        return panel_is_dark()

    # -- refresh ------------------------------------------------------------------
    def refresh(self, forced: bool = False) -> None:
        state = self.monitor.state
        if state.phase is Phase.SIGNED_OUT:
            return
        if self.busy:
            self.pending_forced = self.pending_forced or forced
            return
        self.busy = True
        self.refresh_timer.stop()
        plan = self.monitor.plan(utcnow(), forced=forced)
        self._fetch.emit(plan)

    def _after_result(self, notes: list[Notification]) -> None:
        self.busy = False
        self.deliver(notes)
        if self.pending_forced:
            self.pending_forced = False
            self.refresh(forced=True)
            return
        delay = self.monitor.next_delay()
        self.refresh_timer.start(int(delay.total_seconds() * 1000))

    def _on_fetched(self, snapshot: Snapshot, plan: FetchPlan) -> None:
        if self.monitor.state.phase is Phase.SIGNED_OUT:
            self.busy = False
            return
        self._after_result(self.monitor.succeeded(snapshot, plan, utcnow()))

    def _on_fetch_failed(self, error: GlmtrayError) -> None:
        if self.monitor.state.phase is Phase.SIGNED_OUT:
            self.busy = False
            return
        log.warning("refresh failed: %s: %s", type(error).__name__, error.message)
        self._after_result(self.monitor.failed(error, utcnow()))

    def _on_risk_updated(self, report: RiskReport) -> None:
        self.monitor.set_extra("risk", report)
        self.monitor.set_extra("concurrency", self._concurrency(report))
        if not self.monitor.state.settings.notify_risk:
            return
        support = f"mailto:{info(self.monitor.state.region).support_email}"
        notes = [
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
        self.deliver(notes)

    def _concurrency(self, report: RiskReport | None) -> ConcurrencyState:
        state = self.monitor.state
        tier = state.snapshot.tier.value if state.snapshot and state.snapshot.tier else None
        meter = self.meter.snapshot() if self.meter is not None and self.meter.running else None
        return concurrency_state(
            meter,
            report.activity if report else None,
            tier,
            limits=report.limits if report else None,
            peak_hours=state.settings.peak_hours,
        )

    def _sync_meter(self, settings: Settings) -> None:
        """Start, stop or move the local meter to match the settings."""
        if self.meter is not None:
            self.meter.stop()
            self.meter = None
        self.monitor.remove_notice(self._meter_notice)
        self._meter_notice = ""
        if not settings.meter_enabled or self.demo:
            return
        from glmtray.meter.server import LocalMeter, MeterPortInUse

        watcher = self.worker.risk_watcher
        meter = LocalMeter(
            self.base_url or info(self.monitor.state.region).api_base,
            port=settings.meter_port,
            events=watcher.store if watcher else None,
            peak_hours=settings.peak_hours,
        )
        try:
            meter.start()
        except MeterPortInUse as error:
            self._meter_notice = error.message
            self.monitor.add_notice(self._meter_notice)
            return
        self.meter = meter
        self._refused_1302 = 0
        log.info("local meter listening on %s", meter.url)

    def _check_clock(self) -> None:
        wall, mono = time.time(), time.monotonic()
        jumped = (wall - self._wall) - (mono - self._mono) > 60
        self._wall, self._mono = wall, mono
        if jumped:  # the machine slept: whatever we show is old
            log.info("wake from sleep detected; refreshing")
            self.refresh(forced=True)

    def _watch_network(self) -> None:
        try:
            from PySide6.QtNetwork import QNetworkInformation

            if not QNetworkInformation.loadDefaultBackend():
                return
            info = QNetworkInformation.instance()
            if info is None:
                return

            def changed(reachability: QNetworkInformation.Reachability) -> None:
                if (
                    reachability == QNetworkInformation.Reachability.Online
                    and self.monitor.failures
                ):
                    log.info("network is back; refreshing")
                    self.refresh(forced=True)

            info.reachabilityChanged.connect(changed)
        except Exception as error:  # no backend on this platform: wake detection still works
            log.info("network monitoring unavailable: %s", type(error).__name__)

    # -- notifications ------------------------------------------------------------
    def deliver(self, notes: list[Notification]) -> None:
        for note in self.monitor.deliverable(notes, utcnow()):
            log.info("notify: %s", note.title)
            notification_id = None
            if self.notifier is not None:
                notification_id = self.notifier.notify(note.title, note.body, urgent=note.urgent)
            if notification_id is not None:
                self.sent_ids[notification_id] = note
            elif self.tray.isVisible():
                icon = (
                    QSystemTrayIcon.MessageIcon.Warning
                    if note.urgent
                    else QSystemTrayIcon.MessageIcon.Information
                )
                self.tray.showMessage(note.title, note.body, icon, 10_000)

    def _on_notification_clicked(self, notification_id: int, action: str) -> None:
        note = self.sent_ids.get(notification_id)
        if note is None:
            return
        if note.url:
            self.open_url(note.url)
        else:
            self.show_panel()

    # -- sign-in and sign-out -----------------------------------------------------
    def show_sign_in(self) -> None:
        if self.demo:
            return
        if self.signin is None:
            self.signin = SignInDialog(self.monitor.state.region)
            self.signin.sign_in_requested.connect(self._sign_in)
            self.signin.session_only_requested.connect(self._sign_in_session_only)
            self.signin.demo_requested.connect(self._start_demo_process)
            self.signin.open_url_requested.connect(self.open_url)
        self.signin.show()
        self.signin.raise_()
        self.signin.activateWindow()

    def _sign_in(self, region: Region, key: str) -> None:
        if self.signin is not None:
            self.signin.set_busy(True)
        self._validate.emit(region, key, self.base_url)

    def _on_validated(self, region: Region, key: str, _quota: object) -> None:
        self._store_key.emit(self._account(region), key)

    def _on_key_stored(self, account: Account, key: str, error: CredentialError | None) -> None:
        if error is not None:
            if self.signin is not None:
                self.signin.set_busy(False)
                self.signin.show_error(error.title, error.message, offer_session_only=True)
            return
        self._finish_sign_in(account.region, key, session_only=False)

    def _sign_in_session_only(self, region: Region, key: str) -> None:
        # Memory only, no keyring call: fine on this thread.
        self.credentials.set(self._account(region), key, session_only=True)
        self._finish_sign_in(region, key, session_only=True)

    def _finish_sign_in(self, region: Region, key: str, *, session_only: bool) -> None:
        settings = self.monitor.state.settings
        if settings.region is not region:
            settings = replace(settings, region=region)
            self._save_settings(settings)
            self.monitor.update_settings(settings)
        if self.signin is not None:
            self.signin.set_busy(False)
            self.signin.hide()
        self._begin(region, key, session_only=session_only)

    def _on_validation_failed(self, region: Region, key: str, error: GlmtrayError) -> None:
        if self.signin is not None:
            self.signin.set_busy(False)
            self.signin.show_error(error.title, error.message)

    def sign_out(self) -> None:
        self._delete_key.emit(self._account(self.monitor.state.region))
        self.refresh_timer.stop()
        self.worker.close()
        self.monitor.signed_out()
        self.show_sign_in()

    def _on_key_delete_failed(self, error: CredentialError) -> None:
        self.monitor.add_notice(f"{error.title}: {error.message}")

    def _start_demo_process(self) -> None:
        from PySide6.QtCore import QProcess

        from glmtray.autostart import launch_command

        command = launch_command()
        QProcess.startDetached(command[0], [*command[1:], "--demo"])

    # -- settings -----------------------------------------------------------------
    def open_settings(self) -> None:
        state = self.monitor.state
        if self.settings_dialog is None:
            self.settings_dialog = SettingsDialog(
                state.settings,
                signed_in=state.phase is not Phase.SIGNED_OUT,
                backend_name="demo (memory only)" if self.demo else self.credentials.backend_name,
            )
            self.settings_dialog.settings_changed.connect(self.apply_settings)
            self.settings_dialog.sign_out_requested.connect(self.sign_out)
            self.settings_dialog.replace_key_requested.connect(self.show_sign_in)
        else:
            self.settings_dialog.set_settings(state.settings)
        self.settings_dialog.show()
        self.settings_dialog.raise_()
        self.settings_dialog.activateWindow()

    def apply_settings(self, settings: Settings) -> None:
        settings = settings.normalized()
        old = self.monitor.state.settings
        self._save_settings(settings)
        if settings.start_at_login != old.start_at_login and not self.demo:
            try:
                autostart.set_enabled(settings.start_at_login)
            except OSError as error:
                self.monitor.add_notice(f"Start at login could not be changed: {error.strerror}")
        self.monitor.update_settings(settings)
        if (settings.meter_enabled, settings.meter_port) != (old.meter_enabled, old.meter_port):
            self._sync_meter(settings)
        elif self.meter is not None:
            self.meter.peak_hours = settings.peak_hours
        if self.worker.risk_watcher is not None:
            self.worker.risk_watcher.peak_hours = settings.peak_hours
        self._render(self.monitor.state, force_icon=True)
        if (
            settings.refresh_seconds != old.refresh_seconds
            and not self.busy
            and self.monitor.failures == 0
        ):
            self.refresh_timer.start(settings.refresh_seconds * 1000)

    def _save_settings(self, settings: Settings) -> None:
        if self.settings_store is None:
            return
        try:
            self.settings_store.save(settings)
        except SettingsError as error:
            self.monitor.add_notice(error.message)

    # -- actions ------------------------------------------------------------------
    def open_url(self, url: str) -> None:
        QDesktopServices.openUrl(QUrl(url))

    def review_text(self) -> ReviewRequest | None:
        state = self.monitor.state
        report = state.extras.get("risk")
        if not isinstance(report, RiskReport):
            return None
        region = info(state.region)
        plan = state.snapshot.plan_name if state.snapshot else None
        return review_request(region.support_email, region.display_name, plan, report.state)

    def request_review(self) -> None:
        """A pre-filled e-mail to support, also put on the clipboard: many people have no
        mail client set up, and the text must not be lost."""
        request = self.review_text()
        if request is None:
            self.open_url(f"mailto:{info(self.monitor.state.region).support_email}")
            return
        clipboard = QGuiApplication.clipboard()
        if clipboard is not None:
            clipboard.setText(f"To: {request.to}\nSubject: {request.subject}\n\n{request.body}")
        self.open_url(request.mailto_url)

    def quit(self) -> None:
        self.shutdown()
        self.app.quit()

    def shutdown(self) -> None:
        self.refresh_timer.stop()
        if self.meter is not None:
            self.meter.stop()
            self.meter = None
        self.tray.hide()
        self.instance.close()
        self.worker_thread.quit()
        self.worker_thread.wait(3000)
        if self.notifier is not None:
            self.notifier.close()
        if self.simulator is not None:
            self.simulator.stop()


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


def run_app(*, demo: bool = False, base_url: str | None = None) -> int:
    sys.excepthook = log_uncaught
    if not demo:
        setup_file_logging()
    QApplication.setApplicationName(APP_NAME)
    QApplication.setApplicationVersion(__version__)
    QApplication.setOrganizationDomain("glmtray.github.io")
    QGuiApplication.setDesktopFileName(APP_ID)
    app = QApplication.instance() or QApplication(sys.argv)
    assert isinstance(app, QApplication)
    app.setQuitOnLastWindowClosed(False)
    # An installed icon theme entry wins; an uninstalled bundle falls back to a drawn gauge.
    app.setWindowIcon(QIcon.fromTheme(APP_ID, make_qicon(IconSpec(IconLook.GAUGE, 40.0))))
    tray_app = GlmTrayApp(app, demo=demo, base_url=base_url)
    if not tray_app.start():
        tray_app.shutdown()
        return 0
    try:
        return app.exec()
    finally:
        tray_app.shutdown()
