"""When to refresh: the timer, one fetch at a time, wake from sleep and the network's return.

The Qt-free `Monitor` decides what to fetch and how long to wait; this controller only
keeps time, asks the platform service, and hands every result back to the Monitor.

The network's return is watched from the first failed refresh on, not from the start: Qt's
network information loads QtNetwork and a system backend (GLib's network monitor, or
NetworkManager over D-Bus), about 4 MB that a tray which never goes offline never needs.
"""

from __future__ import annotations

import logging
import time

from PySide6.QtCore import QObject, QTimer, Signal

from glmtray.alerts import Notification
from glmtray.errors import GlmtrayError
from glmtray.monitor import FetchPlan, Monitor
from glmtray.platform.models import Snapshot
from glmtray.state import Phase
from glmtray.timeutil import utcnow
from glmtray.ui.platform_service import FIRST_FETCH, PlatformService, SessionStart

log = logging.getLogger(__name__)

CLOCK_CHECK_MS = 30_000
"""How often to compare wall clock and monotonic clock, to notice a wake from sleep."""
SLEEP_GAP_SECONDS = 60


class RefreshScheduler(QObject):
    notifications = Signal(list)
    """What a result gives to tell the user (thresholds, resets, failures, renewal)."""
    busy_changed = Signal(bool)

    def __init__(
        self, monitor: Monitor, service: PlatformService, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._monitor = monitor
        self._service = service
        self.busy = False
        self._pending_forced = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.refresh)
        self._wall, self._mono = time.time(), time.monotonic()
        self._clock = QTimer(self)
        self._clock.setInterval(CLOCK_CHECK_MS)
        self._clock.timeout.connect(self._check_clock)
        self._clock.start()
        self.watching_network = False
        """Whether Qt's network information was asked to report the network's return."""
        service.fetched.connect(self._on_fetched)
        service.fetch_failed.connect(self._on_failed)

    def _set_busy(self, busy: bool) -> None:
        self.busy = busy
        self.busy_changed.emit(busy)

    def refresh(self, forced: bool = False) -> None:
        if self._monitor.state.phase is Phase.SIGNED_OUT:
            return
        if self.busy:
            self._pending_forced = self._pending_forced or forced
            return
        self._set_busy(True)
        self._timer.stop()
        self._service.fetch(self._monitor.plan(utcnow(), forced=forced))

    def session_started(self, start: SessionStart) -> None:
        """The first fetch came with the session: take it as a refresh's result."""
        if not start.signed_in:
            return
        self._set_busy(True)
        if start.snapshot is not None:
            self._on_fetched(start.snapshot, FIRST_FETCH)
        elif start.error is not None:
            self._on_failed(start.error)

    def stop(self) -> None:
        """Signed out or quitting: no timer left, nothing pending."""
        self._timer.stop()
        self._pending_forced = False
        self._set_busy(False)

    def interval_changed(self) -> None:
        if not self.busy and self._monitor.failures == 0:
            self._timer.start(int(self._monitor.next_delay().total_seconds() * 1000))

    @property
    def next_refresh_ms(self) -> int:
        """Milliseconds until the next timed refresh; -1 when none is planned."""
        return self._timer.remainingTime() if self._timer.isActive() else -1

    def _on_fetched(self, snapshot: Snapshot, plan: FetchPlan) -> None:
        if self._monitor.state.phase is Phase.SIGNED_OUT:
            self._set_busy(False)
            return
        notes = self._monitor.succeeded(snapshot, plan, utcnow())
        error = self._monitor.state.error
        if error is not None:  # the answer came, but without the quota: a failed refresh
            log.warning("refresh failed: %s: %s", type(error).__name__, error.message)
        self._after(notes)

    def _on_failed(self, error: GlmtrayError) -> None:
        if self._monitor.state.phase is Phase.SIGNED_OUT:
            self._set_busy(False)
            return
        log.warning("refresh failed: %s: %s", type(error).__name__, error.message)
        self._after(self._monitor.failed(error, utcnow()))

    def _after(self, notes: list[Notification]) -> None:
        self._set_busy(False)
        if self._monitor.failures and not self.watching_network:
            self._watch_network()
        self.notifications.emit(notes)
        if self._pending_forced:
            self._pending_forced = False
            self.refresh(forced=True)
            return
        self._timer.start(int(self._monitor.next_delay().total_seconds() * 1000))

    def _check_clock(self) -> None:
        wall, mono = time.time(), time.monotonic()
        jumped = (wall - self._wall) - (mono - self._mono) > SLEEP_GAP_SECONDS
        self._wall, self._mono = wall, mono
        if jumped:  # the machine slept: whatever we show is old
            log.info("wake from sleep detected; refreshing")
            self.refresh(forced=True)

    def network_online(self) -> None:
        """The system says the network is back: refresh now if the last refresh failed."""
        if self._monitor.failures:
            log.info("network is back; refreshing")
            self.refresh(forced=True)

    def _watch_network(self) -> None:
        self.watching_network = True  # once: a backend that failed to load fails again
        try:
            from PySide6.QtNetwork import QNetworkInformation

            if not QNetworkInformation.loadDefaultBackend():
                return
            network = QNetworkInformation.instance()
            if network is None:
                return

            def changed(reachability: QNetworkInformation.Reachability) -> None:
                if reachability == QNetworkInformation.Reachability.Online:
                    self.network_online()

            network.reachabilityChanged.connect(changed)
        except Exception as error:  # no backend on this platform: wake detection still works
            log.info("network monitoring unavailable: %s", type(error).__name__)
