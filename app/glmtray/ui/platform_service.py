"""The platform, the keyring and the risk monitor, on a worker thread of their own.

The GUI talks to `PlatformService` only through its methods, which emit queued signals to
the worker, and hears back through the service's signals. Nothing on the GUI thread reads
or writes the worker's attributes. A key handed to `sign_in` goes to the worker and never
comes back: results carry the account, never the key.

Every session (one restore or sign-in) has a number; each result carries it, so a result
that arrives after the user signed out or switched accounts is recognised and dropped.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

from glmtray.credentials import Account
from glmtray.environment import Environment
from glmtray.errors import CredentialError, GlmtrayError, PlatformError, UnexpectedResponse
from glmtray.fetch_records import FetchRecorder, close_all, record_all
from glmtray.first_fetch import Opening, connect, open_account, preferred_language
from glmtray.i18n import N_, _
from glmtray.monitor import FetchPlan
from glmtray.platform.models import Section, Snapshot
from glmtray.platform.regions import Region
from glmtray.timeutil import utcnow
from glmtray.ui.imported_sources import sources_not_kept

if TYPE_CHECKING:
    from glmtray.activity.risk_watch import RiskWatcher
    from glmtray.history.store import HistoryStore
    from glmtray.platform.client import PlatformClient

log = logging.getLogger(__name__)

FIRST_FETCH = FetchPlan(subscription=True, risk=True)
FIRST_FETCH_WAIT_S = 600.0
"""As long as the worker would itself wait for a keyring at its unlock prompt."""
RISK_HISTORY_UNAVAILABLE = N_("The risk-control history could not be opened; risk notices are off.")


class KeyStorage(str, Enum):
    """Where a key given at sign-in is kept."""

    KEYRING = "keyring"
    SESSION = "session"
    """Memory only, for this run: when the keyring is locked or absent."""


@dataclass(frozen=True)
class SessionStart:
    """The one result of `restore` or `sign_in`."""

    session: int
    account: Account
    signed_in: bool
    session_only: bool = False
    snapshot: Snapshot | None = None
    """The first fetch's data; None when it failed (see `error`) or nobody signed in."""
    error: GlmtrayError | None = None
    offer_session_only: bool = False
    """The key was good but the keyring could not keep it (or could not be read)."""


class _PlatformWorker(QObject):
    started = Signal(object)  # SessionStart
    fetched = Signal(int, object, object)  # session, Snapshot, FetchPlan
    fetch_failed = Signal(int, object)  # session, GlmtrayError
    risk_updated = Signal(int, object)  # session, RiskReport
    risk_unavailable = Signal(int, str)  # session, notice text
    key_removed = Signal(object, object)  # Account, CredentialError or None
    job_done = Signal(int, int, object, object)  # session, job id, result, error
    forecasts_updated = Signal(int, object)  # session, dict[str, Forecast]

    def __init__(self, environment: Environment, language: str) -> None:
        super().__init__()
        self._env = environment
        self._language = language
        self._client: PlatformClient | None = None
        self._make_client: Callable[[], PlatformClient] | None = None
        """Makes `_client` at its first use, when the key's child took the first look."""
        self._recorders: list[FetchRecorder] = []
        self._session = 0
        self._watcher: RiskWatcher | None = None
        self._peak_hours: str | None = None
        self._peak_rule = "auto"
        self._history: HistoryStore | None = None
        self._after_start: tuple[Opening, bool] | None = None
        """The session's first data and its transcripts choice, until `open_extras`."""

    # -- sessions ----------------------------------------------------------------
    @Slot(int, object, bool)
    def restore(self, session: int, account: Account, read_transcripts: bool) -> None:
        self._end_session()
        first = self._env.first_fetch
        opening = first.take(account, FIRST_FETCH_WAIT_S) if first is not None else None
        if opening is None:
            opening = open_account(self._env, account, self._language)
        if opening.key_error is not None:
            self.started.emit(
                SessionStart(
                    session, account, False, error=opening.key_error, offer_session_only=True
                )
            )
            return
        if not opening.has_key:
            # No key stored, or one that cannot even be sent: as good as none.
            self.started.emit(SessionStart(session, account, False, error=opening.error))
            return
        # A stored key stays even when the first fetch failed: the app shows it and retries.
        self._adopt(session, opening, read_transcripts, session_only=False)

    @Slot(int, object, str, object, bool)
    def sign_in(
        self,
        session: int,
        account: Account,
        key: str,
        storage: KeyStorage,
        read_transcripts: bool,
    ) -> None:
        """Check the key with a first fetch, then keep it as asked; nothing is kept for a
        key the platform did not accept."""
        self._end_session()
        opening = connect(self._env, account, key, self._language)
        if opening.client is None or opening.error is not None:
            opening.close()
            self.started.emit(SessionStart(session, account, False, error=opening.error))
            return
        session_only = storage is KeyStorage.SESSION
        try:
            self._env.keys.set(account, key, session_only=session_only)
        except CredentialError as error:
            opening.client.close()
            self.started.emit(
                SessionStart(session, account, False, error=error, offer_session_only=True)
            )
            return
        self._adopt(session, opening, read_transcripts, session_only=session_only)

    def _adopt(
        self, session: int, opening: Opening, read_transcripts: bool, *, session_only: bool
    ) -> None:
        """Make the opened client this session's and say so once; its histories open when
        the GUI has shown the first data (`open_extras`)."""
        self._session, self._client = session, opening.client
        self._make_client = opening.make_client
        self._after_start = (opening, read_transcripts)
        self.started.emit(
            SessionStart(
                session,
                opening.account,
                True,
                session_only=session_only,
                snapshot=opening.snapshot,
                error=opening.error,
            )
        )

    @Slot(int)
    def open_extras(self, session: int) -> None:
        """Once the GUI has shown the session's first data: the HTTP stack (when the key's
        child took the first look), the fetch recorders, the risk and usage histories, and
        what the first data adds to them. SQLite, httpx and the risk watcher's modules take
        tens of ms of the interpreter: the icon neither waits for them nor shares the
        interpreter with them while it is drawn. Their source lines are not kept (see
        imported_sources.py)."""
        if session != self._session or self._after_start is None:
            return
        opening, read_transcripts = self._after_start
        self._after_start = None
        with sources_not_kept():
            with contextlib.suppress(GlmtrayError):  # the first refresh says what is wrong
                self._session_client()  # the HTTP stack loads now, not at the first refresh
            try:
                self._recorders = self._env.open_recorders(opening.account)
            except Exception:  # history and the status line are extras
                log.exception("fetch recorders unavailable")
                self._recorders = []
            self._open_risk(session, opening.account, read_transcripts)
            try:
                self._history = self._env.open_history(opening.account)
            except Exception:  # forecasts are an extra too
                log.exception("usage history unavailable")
                self._history = None
            if opening.snapshot is not None:
                at = utcnow()
                record_all(self._recorders, opening.snapshot, at)
                self._forecast(session, opening.snapshot, at)
                self._watch_risk(opening.snapshot, FIRST_FETCH)
            elif isinstance(opening.error, PlatformError):
                self._update_risk(None, [opening.error], False)

    def _session_client(self) -> PlatformClient | None:
        """This session's client; made here at its first use when the key's child took the
        first look (the maker stays until it succeeds: each refresh reports its error)."""
        if self._client is None and self._make_client is not None:
            self._client = self._make_client()
            self._make_client = None
        return self._client

    def _open_risk(self, session: int, account: Account, read_transcripts: bool) -> None:
        from glmtray.activity.risk_watch import RiskWatcher

        try:
            store = self._env.open_events(account)
            root = self._env.transcripts_root() if read_transcripts else None
            self._watcher = RiskWatcher(store, root)
        except Exception as error:
            log.warning("risk monitor disabled: event store unavailable (%s)", type(error).__name__)
            self._watcher = None
            self.risk_unavailable.emit(session, _(RISK_HISTORY_UNAVAILABLE))
            return
        if self._peak_hours is not None:
            self._watcher.peak_hours = self._peak_hours

    def _end_session(self) -> None:
        if self._client is not None:
            self._client.close()
        close_all(self._recorders)
        self._client, self._watcher, self._session, self._recorders = None, None, 0, []
        self._make_client = None
        self._after_start = None
        self._history = None  # the environment keeps the store: the next session reuses it

    @Slot(object)
    def sign_out(self, account: Account) -> None:
        self._end_session()
        try:
            self._env.keys.delete(account)
        except CredentialError as error:
            self.key_removed.emit(account, error)
            return
        self.key_removed.emit(account, None)

    # -- refreshes ---------------------------------------------------------------
    @Slot(int, object)
    def fetch(self, session: int, plan: FetchPlan) -> None:
        if session != self._session:
            return  # asked for a session that has ended since
        try:
            client = self._session_client()
            if client is None:
                return
            snapshot = client.snapshot(
                include_subscription=plan.subscription, include_risk=plan.risk
            )
        except GlmtrayError as error:
            self.fetch_failed.emit(session, error)
            self._update_risk(None, [error] if isinstance(error, PlatformError) else [], False)
            return
        except Exception as error:  # a bug must not kill the refresh loop; log it without data
            log.exception("refresh failed unexpectedly")
            self.fetch_failed.emit(session, UnexpectedResponse(detail=type(error).__name__))
            return
        self.fetched.emit(session, snapshot, plan)
        at = utcnow()
        record_all(self._recorders, snapshot, at)
        self._forecast(session, snapshot, at)
        self._watch_risk(snapshot, plan)

    def _forecast(self, session: int, snapshot: Snapshot, at: datetime) -> None:
        """Each window's pace and forecast from the history just written."""
        if snapshot.quota is None or Section.QUOTA in snapshot.problems:
            return  # no new quota: the last forecasts stand
        from glmtray.history.forecast import forecasts_for
        from glmtray.peak import DEFAULT_PEAK_HOURS, rule_for

        try:
            forecasts = forecasts_for(
                self._history,
                snapshot,
                at,
                rule_for(snapshot.quota, self._peak_rule),
                self._peak_hours or DEFAULT_PEAK_HOURS,
            )
        except Exception:  # an extra: never let it stop quota refreshes
            log.exception("forecast failed")
            return
        self.forecasts_updated.emit(session, forecasts)

    @Slot(int, int, object)
    def run_job(self, session: int, job_id: int, job: Callable[[PlatformClient], Any]) -> None:
        """Run `job` with this session's client on the worker thread (a history span's E3/E4
        fetch, say): one platform call at a time, never on the GUI thread."""
        if session != self._session:
            return  # the session ended: nobody waits for this answer any more
        try:
            client = self._session_client()
            if client is None:
                return
            result = job(client)
        except Exception as error:  # handed to the requester, which says what failed
            self.job_done.emit(session, job_id, None, error)
            return
        self.job_done.emit(session, job_id, result, None)

    def _watch_risk(self, snapshot: Snapshot, plan: FetchPlan) -> None:
        checked = (
            plan.risk and snapshot.region is Region.CHINA and Section.RISK not in snapshot.problems
        )
        self._update_risk(
            snapshot.risk_restricted if checked else None, list(snapshot.problems.values()), checked
        )

    @Slot()
    def rescan_risk(self) -> None:
        """Read new risk events between refreshes (the meter's 1302s: their "limit seen")."""
        self._update_risk(None, [], False)

    @Slot(str, str)
    def set_peak_hours(self, peak_hours: str, peak_rule: str) -> None:
        self._peak_hours, self._peak_rule = peak_hours, peak_rule
        if self._watcher is not None:
            self._watcher.peak_hours = peak_hours

    def _update_risk(self, flag: bool | None, errors: list[PlatformError], checked: bool) -> None:
        if self._watcher is None:
            return
        from glmtray.activity.events import EventStoreBusy, EventStoreError

        try:
            report = self._watcher.update(
                utcnow(), risk_flag=flag, flag_checked=checked, account_errors=errors
            )
        except EventStoreBusy as error:  # another program holds the history: try next time
            log.warning("risk history busy: %s", error)
            return
        except EventStoreError as error:
            self.risk_unavailable.emit(self._session, str(error))
            return
        except Exception:  # the risk monitor is an extra: never let it stop quota refreshes
            log.exception("risk monitor update failed")
            return
        self.risk_updated.emit(self._session, report)

    @Slot()
    def stop(self) -> None:
        self._end_session()


class PlatformService(QObject):
    """The GUI's handle on the worker thread: requests out, results in, all queued."""

    started = Signal(object)  # SessionStart
    fetched = Signal(object, object)  # Snapshot, FetchPlan (current session only)
    fetch_failed = Signal(object)  # GlmtrayError (current session only)
    risk_updated = Signal(object)  # RiskReport (current session only)
    forecasts_updated = Signal(object)  # dict[str, Forecast] by window id (current session only)
    risk_unavailable = Signal(str)
    key_removed = Signal(object, object)  # Account, CredentialError or None

    _restore = Signal(int, object, bool)
    _sign_in = Signal(int, object, str, object, bool)
    _fetch = Signal(int, object)
    _rescan = Signal()
    _sign_out = Signal(object)
    _peak_hours = Signal(str, str)
    _run_job = Signal(int, int, object)
    _stop = Signal()
    _open_extras = Signal(int)

    def __init__(self, environment: Environment, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = 0
        """The current session's number; 0 while nobody is signed in."""
        self._jobs: dict[int, Callable[[Any, BaseException | None], None]] = {}
        self._next_job = 0
        self._thread = QThread()
        self._thread.setObjectName("glmtray-platform")
        self._worker = _PlatformWorker(environment, preferred_language())
        self._worker.moveToThread(self._thread)
        self._restore.connect(self._worker.restore)
        self._sign_in.connect(self._worker.sign_in)
        self._fetch.connect(self._worker.fetch)
        self._rescan.connect(self._worker.rescan_risk)
        self._sign_out.connect(self._worker.sign_out)
        self._peak_hours.connect(self._worker.set_peak_hours)
        self._run_job.connect(self._worker.run_job)
        self._stop.connect(self._worker.stop)
        self._open_extras.connect(self._worker.open_extras)
        self._worker.job_done.connect(self._on_job_done)
        self._worker.started.connect(self._on_started)
        self._worker.fetched.connect(self._on_fetched)
        self._worker.fetch_failed.connect(self._on_fetch_failed)
        self._worker.risk_updated.connect(self._on_risk_updated)
        self._worker.forecasts_updated.connect(self._on_forecasts_updated)
        self._worker.risk_unavailable.connect(self._on_risk_unavailable)
        self._worker.key_removed.connect(self.key_removed)
        self._thread.start()

    # -- requests ----------------------------------------------------------------
    def restore(self, account: Account, *, read_transcripts: bool) -> None:
        """Read the account's stored key and, if there is one, start a session with it."""
        self.session += 1
        self._jobs.clear()  # asked for in the ended session: never answered
        self._restore.emit(self.session, account, read_transcripts)

    def sign_in(
        self, account: Account, key: str, storage: KeyStorage, *, read_transcripts: bool
    ) -> None:
        """Check the key with a first fetch, keep it as asked, and start a session."""
        self.session += 1
        self._jobs.clear()
        self._sign_in.emit(self.session, account, key, storage, read_transcripts)

    def fetch(self, plan: FetchPlan) -> None:
        self._fetch.emit(self.session, plan)

    def rescan_risk(self) -> None:
        self._rescan.emit()

    def sign_out(self, account: Account) -> None:
        self.session += 1  # whatever is still in flight belongs to the ended session
        self._jobs.clear()
        self._sign_out.emit(account)

    def set_peak_hours(self, peak_hours: str, peak_rule: str = "auto") -> None:
        """The peak hours (risk monitor, forecasts) and the peak rule (forecasts)."""
        self._peak_hours.emit(peak_hours, peak_rule)

    def run(
        self,
        job: Callable[[PlatformClient], Any],
        done: Callable[[Any, BaseException | None], None],
    ) -> None:
        """Run `job` with the signed-in session's client on the worker thread; `done(result,
        error)` is called on the GUI thread, and never if the session ends first."""
        self._next_job += 1
        self._jobs[self._next_job] = done
        self._run_job.emit(self.session, self._next_job, job)

    def shutdown(self, wait_ms: int = 3000) -> None:
        self.session += 1
        self._stop.emit()
        self._thread.quit()
        if not self._thread.wait(wait_ms):
            # Still inside a platform request or a keyring read that nothing can interrupt.
            # A QThread destroyed while it runs aborts the whole process, so this one is
            # kept to the end (see `threads_still_running`).
            log.warning("platform worker still busy at shutdown; left to end with the app")
            STILL_RUNNING.append(self._thread)

    # -- results (on the GUI thread) ----------------------------------------------
    def _on_started(self, start: SessionStart) -> None:
        if start.session == self.session:
            self.started.emit(start)  # the GUI renders the first data before this returns
            if start.signed_in:
                self._open_extras.emit(start.session)

    def _on_fetched(self, session: int, snapshot: Snapshot, plan: FetchPlan) -> None:
        if session == self.session:
            self.fetched.emit(snapshot, plan)

    def _on_fetch_failed(self, session: int, error: GlmtrayError) -> None:
        if session == self.session:
            self.fetch_failed.emit(error)

    def _on_risk_updated(self, session: int, report: object) -> None:
        if session == self.session:
            self.risk_updated.emit(report)

    def _on_forecasts_updated(self, session: int, forecasts: object) -> None:
        if session == self.session:
            self.forecasts_updated.emit(forecasts)

    def _on_risk_unavailable(self, session: int, text: str) -> None:
        if session == self.session:
            self.risk_unavailable.emit(text)

    def _on_job_done(
        self, session: int, job_id: int, result: object, error: BaseException | None
    ) -> None:
        done = self._jobs.pop(job_id, None)
        if done is not None and session == self.session:
            done(result, error)


STILL_RUNNING: list[QThread] = []
"""Worker threads that had not ended when their service shut down."""


def threads_still_running() -> bool:
    """Whether a worker thread is still running: then the process must end without the
    interpreter's clean-up, which would destroy it and make Qt abort."""
    return any(thread.isRunning() for thread in STILL_RUNNING)
