"""The local meter's lifecycle: started, moved and stopped to follow the settings, always off
the GUI thread (binding a port and building a TLS context must not freeze the tray).

aiohttp and the meter's server load only when the meter is first started.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

from glmtray.alerts import Notification, concurrency_notifications
from glmtray.credentials import Account
from glmtray.environment import Environment
from glmtray.errors import GlmtrayError
from glmtray.i18n import _
from glmtray.platform.regions import info
from glmtray.settings import Settings
from glmtray.state import AppState
from glmtray.timeutil import utcnow

if TYPE_CHECKING:
    from glmtray.activity.concurrency import ConcurrencyState
    from glmtray.activity.events import EventStore
    from glmtray.meter.server import LocalMeter

log = logging.getLogger(__name__)


class MeterController(QObject):
    changed = Signal()
    """The meter started, stopped or failed to start: `problem` says which."""
    refusals_grew = Signal()
    """The platform refused more requests for concurrency (1302): the limit seen moved."""
    _started = Signal(object, int, object)  # LocalMeter or None, generation, GlmtrayError or None

    def __init__(self, environment: Environment, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._env = environment
        self.meter: LocalMeter | None = None
        self.problem: str = ""
        """Why the meter is not running although the settings want it; empty otherwise."""
        self._wanted: tuple[bool, int, str] | None = None
        self._generation = 0
        self._refused_1302 = 0
        self._threads: list[threading.Thread] = []
        self._started.connect(self._on_started)

    @property
    def running(self) -> bool:
        return self.meter is not None

    def follow(self, settings: Settings, account: Account) -> None:
        """Start, stop or move the meter to match the settings and the signed-in account."""
        wanted = (
            settings.meter_enabled and self._env.meter_allowed,
            settings.meter_port,
            account.username,
        )
        if wanted == self._wanted:
            if self.meter is not None:
                self.meter.peak_hours = settings.peak_hours
            return
        self._wanted = wanted
        self._generation += 1
        self._stop_current()
        self.problem = ""
        if not wanted[0]:
            self.changed.emit()
            return
        upstream = self._env.base_url or info(account.region).api_base
        self._run(self._start_meter, upstream, settings, account, self._generation)

    def _run(self, target: Callable[..., Any], *args: object) -> None:
        thread = threading.Thread(
            target=target, args=args, name="glmtray-meter-control", daemon=True
        )
        self._threads = [t for t in self._threads if t.is_alive()]
        self._threads.append(thread)
        thread.start()

    def _start_meter(
        self, upstream: str, settings: Settings, account: Account, generation: int
    ) -> None:
        try:
            from glmtray.meter.server import LocalMeter

            events = self._open_events(account)
            meter = LocalMeter(
                upstream, port=settings.meter_port, events=events, peak_hours=settings.peak_hours
            )
            meter.start()
        except GlmtrayError as error:
            self._started.emit(None, generation, error)
            return
        except Exception as error:
            log.exception("the local meter could not start")
            self._started.emit(
                None,
                generation,
                GlmtrayError(
                    _("The local meter could not start ({error}).").format(
                        error=type(error).__name__
                    )
                ),
            )
            return
        self._started.emit(meter, generation, None)

    def _open_events(self, account: Account) -> EventStore | None:
        try:
            return self._env.open_events(account)
        except Exception as error:  # the meter still relays and counts without a history
            log.warning("meter without event history: %s", type(error).__name__)
            return None

    def _on_started(
        self, meter: LocalMeter | None, generation: int, error: GlmtrayError | None
    ) -> None:
        if generation != self._generation:  # the settings moved on meanwhile
            if meter is not None:
                self._run(meter.stop)
            return
        if error is not None:
            self.problem = error.message
        else:
            self.meter = meter
            self._refused_1302 = 0
            log.info("local meter listening on %s", meter.url if meter else "?")
        self.changed.emit()

    def _stop_current(self) -> None:
        if self.meter is not None:
            self._run(self.meter.stop)
            self.meter = None

    def concurrency(self, state: AppState) -> ConcurrencyState:
        # Loaded with the first risk report (the worker has it by then), not at start.
        from glmtray.activity.concurrency import concurrency_state

        snapshot = state.snapshot
        tier = snapshot.tier.value if snapshot and snapshot.tier else None
        risk = state.risk
        now = utcnow()
        peak = state.peak(now)
        return concurrency_state(
            self.meter.snapshot() if self.meter is not None else None,
            risk.activity if risk else None,
            tier,
            limits=risk.limits if risk else None,
            peak_hours=state.settings.peak_hours,
            now=now,
            peak_now=peak.peak_now if peak else None,
        )

    def check_refusals(self, state: AppState, sent: set[str]) -> list[Notification]:
        """Notifications for new 1302 answers seen by the meter since the last check."""
        if self.meter is None:
            return []
        refused = self.meter.snapshot().errors_by_code.get(1302, 0)
        now = utcnow()
        notes = concurrency_notifications(
            self._refused_1302, refused, now, state.settings, sent, peak=state.peak(now)
        )
        if refused != self._refused_1302:
            self.refusals_grew.emit()
        self._refused_1302 = refused
        return notes

    def shutdown(self, wait_s: float = 3.0) -> None:
        """Stop the meter and wait (bounded) for every start and stop to finish."""
        self._generation += 1
        self._wanted = None
        self._stop_current()
        for thread in self._threads:
            thread.join(wait_s)
        self._threads.clear()
