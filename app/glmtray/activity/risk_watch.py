"""One refresh of the risk monitor: read new transcript lines, record signals, evaluate.

Runs on the worker thread after each platform refresh. It joins the sources (the china
risk flag, business errors from the account endpoints, errors coding tools met) into the
event store and returns what the UI shows and which notices are new.

The store belongs to one account: the history, flag reading and notices ledger read here
are that account's. The transcript offsets are shared by every account (the files are
read once); what a scan finds goes to this store's account, and the offsets are saved in
the same transaction as those signals, so a failed write means the lines are read again.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from glmtray.activity.concurrency import LimitSeen, LimitSeenBook
from glmtray.activity.events import EventStore, Signal
from glmtray.activity.risk import RiskMonitor, RiskState, RiskStatus
from glmtray.activity.risk_store import NoticeLedger, load_risk_flag, record_risk_flag
from glmtray.activity.risk_text import Notice, risk_notices
from glmtray.activity.transcripts import ActivitySummary, TranscriptReader
from glmtray.errors import PlatformError
from glmtray.i18n import _
from glmtray.peak import DEFAULT_PEAK_HOURS
from glmtray.timeutil import format_duration
from glmtray.wording import plural

log = logging.getLogger(__name__)

OFFSETS_STATE_KEY = "transcripts.offsets"
ACTIVITY_WINDOW = timedelta(minutes=5)


@dataclass(frozen=True)
class RiskReport:
    state: RiskState
    activity: ActivitySummary | None
    notices: tuple[Notice, ...] = ()
    limits: LimitSeen | None = None
    """Concurrency limits seen, read here on the worker so the GUI never queries SQLite."""
    store_notice: str | None = None
    """Once, after the history had to be set aside: where the old file is kept."""

    @property
    def restricted(self) -> bool:
        return self.state.status in (RiskStatus.RESTRICTED, RiskStatus.LOCKED)

    @property
    def tooltip_line(self) -> str:
        status = self.state.status
        if status is RiskStatus.LOCKED:
            return _("Account locked (risk control)")
        if status is RiskStatus.RESTRICTED:
            return _("Restricted by risk control (strike {strikes} of {limit})").format(
                strikes=self.state.strikes, limit=self.state.strike_limit
            )
        throttle = self.state.throttle
        if throttle is not None and throttle.active:
            return _("Throttled ({code}), eases in {duration}").format(
                code=throttle.code or "?",
                duration=format_duration(throttle.until - self.state.evaluated_at),
            )
        if self.activity is not None and self.activity.sessions:
            return _("{sessions} active in {projects}").format(
                sessions=plural(self.activity.sessions, "coding session"),
                projects=plural(self.activity.projects, "project"),
            )
        return ""


class RiskWatcher:
    def __init__(
        self, store: EventStore, transcripts_root: Path | None, monitor: RiskMonitor | None = None
    ) -> None:
        self.store = store
        self.monitor = monitor or RiskMonitor()
        self.ledger = NoticeLedger(store)
        self.previous: RiskState | None = None
        self.peak_hours = DEFAULT_PEAK_HOURS
        """Set by the app from the settings (a str swap, safe across threads)."""
        self.transcripts_root = transcripts_root
        self.reader: TranscriptReader | None = None
        """Made at the first update, with the saved offsets (the constructor never waits
        for the database)."""
        self._set_aside_seen = store.set_aside_path
        self._offsets_written: str | None = None
        """The offsets this watcher saved last; others differ: another account's watcher
        read the transcripts since, or the history started afresh."""

    def update(
        self,
        now: datetime,
        *,
        risk_flag: bool | None,
        flag_checked: bool,
        account_errors: Iterable[PlatformError] = (),
    ) -> RiskReport:
        """Record what this refresh saw and evaluate this account's history.

        Raises `EventStoreBusy` (another program holds the database) or `EventStoreError`
        when the history cannot be used this time; nothing read is lost, the next call
        reads it again."""
        # Twice at most: when the history turns out damaged on the way, it is set aside and
        # this refresh is recorded again into the fresh one, with the transcripts read from
        # the start so that the strikes they hold are counted again.
        errors = tuple(account_errors)
        for _attempt in range(2):
            activity = self._record(now, risk_flag, flag_checked, errors)
            events = self.store.all_events()
            if self.store.set_aside_path == self._set_aside_seen:
                break
            self._set_aside_seen = self.store.set_aside_path
            self.reader = None
        state = self.monitor.evaluate(
            events,
            load_risk_flag(self.store),
            now,
            last_activity=activity.last_seen if activity else None,
        )
        fresh = self.ledger.take_unsent(risk_notices(self.previous, state))
        self.previous = state
        limits = LimitSeenBook(self.store, self.peak_hours).limits(now)
        return RiskReport(state, activity, tuple(fresh), limits, self.store.take_notice())

    def _record(
        self,
        now: datetime,
        risk_flag: bool | None,
        flag_checked: bool,
        account_errors: Iterable[PlatformError],
    ) -> ActivitySummary | None:
        if flag_checked:
            record_risk_flag(self.store, risk_flag, now)
        for error in account_errors:
            if error.code is not None:
                self.store.add(
                    Signal(
                        time=now,
                        source="account_endpoint",
                        code=error.code,
                        message=error.platform_message or error.message,
                        # One event per code per hour: the same error is met at every poll.
                        dedup_key=f"account:{error.code}:{now.strftime('%Y%m%d%H')}",
                        http_status=error.http_status,
                    )
                )
        if self.transcripts_root is None:
            return None
        # The offsets are shared: start from the saved ones unless they are our own, so
        # that a line another account's watcher already took is never taken again here.
        saved = self.store.get_shared_state(OFFSETS_STATE_KEY)
        if self.reader is None:
            self.reader = TranscriptReader(self.transcripts_root, _offsets_of(saved))
        elif saved != self._offsets_written:
            self.reader.restore(_offsets_of(saved))
        return self._read_transcripts(self.reader, now)

    def _read_transcripts(self, reader: TranscriptReader, now: datetime) -> ActivitySummary | None:
        before = reader.state()
        try:
            result = reader.scan(now)
        except OSError as error:  # an unreadable transcript folder must not stop refreshing
            log.warning("transcripts could not be read: %s", type(error).__name__)
            return None
        offsets = json.dumps(reader.state())
        try:
            self.store.add_many(
                [e.to_signal() for e in result.errors], shared_state={OFFSETS_STATE_KEY: offsets}
            )
        except BaseException:
            # Nothing was stored: step back, so that the next scan finds these lines again.
            reader.restore(before)
            raise
        self._offsets_written = offsets
        return reader.active_sessions(ACTIVITY_WINDOW, now)


def _offsets_of(saved: str | None) -> dict[str, Any] | None:
    try:
        offsets = json.loads(saved) if saved else None
    except (ValueError, RecursionError):
        return None
    return offsets if isinstance(offsets, dict) else None
