"""Network and keyring work off the GUI thread: one worker object living in a QThread.

Results come back as signals; no widget is touched here. One fetch at a time: the
application does not ask again while `busy` is set. The keyring is read, written and
cleared here too: a Secret Service may put up an unlock prompt and wait for the user,
and the tray must stay responsive meanwhile.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QLocale, QObject, Signal, Slot

from glmtray.activity.risk_watch import RiskWatcher
from glmtray.credentials import Account, CredentialStore
from glmtray.errors import CredentialError, GlmtrayError, PlatformError, UnexpectedResponse
from glmtray.monitor import FetchPlan
from glmtray.platform.client import AuthScheme, PlatformClient
from glmtray.platform.models import Section
from glmtray.platform.regions import Region
from glmtray.timeutil import utcnow

log = logging.getLogger(__name__)


def ui_language() -> str:
    """The platform's messages follow Accept-Language: ask in the user's UI language."""
    return QLocale().name()[:2] or "en"


class PlatformWorker(QObject):
    fetched = Signal(object, object)  # Snapshot, FetchPlan
    fetch_failed = Signal(object)  # GlmtrayError
    validated = Signal(object, str, object)  # Region, key, Quota
    validation_failed = Signal(object, str, object)  # Region, key, GlmtrayError
    risk_updated = Signal(object)  # RiskReport
    key_read = Signal(object, object, object)  # Account, key or None, CredentialError or None
    key_stored = Signal(object, str, object)  # Account, key, CredentialError or None
    key_delete_failed = Signal(object)  # CredentialError

    def __init__(self) -> None:
        super().__init__()
        self._client: PlatformClient | None = None
        self._auth_scheme: AuthScheme | None = None
        self.risk_watcher: RiskWatcher | None = None
        self.credentials: CredentialStore | None = None

    @Slot(object, str, object)
    def configure(self, region: Region, key: str, base_url: str | None) -> None:
        self.close()
        try:
            self._client = PlatformClient(
                key,
                region,
                base_url=base_url,
                auth_scheme=self._auth_scheme,
                language=ui_language(),
            )
        except GlmtrayError as error:
            self._client = None
            self.fetch_failed.emit(error)

    @Slot(object)
    def fetch(self, plan: FetchPlan) -> None:
        if self._client is None:
            return
        region = self._client.region
        try:
            snapshot = self._client.snapshot(
                include_subscription=plan.subscription, include_risk=plan.risk
            )
        except GlmtrayError as error:
            self.fetch_failed.emit(error)
            self._watch_risk(None, [error] if isinstance(error, PlatformError) else [])
            return
        except Exception as error:  # a bug must not kill the refresh loop; log it without data
            log.exception("refresh failed unexpectedly")
            self.fetch_failed.emit(UnexpectedResponse(detail=type(error).__name__))
            return
        self.fetched.emit(snapshot, plan)
        checked = plan.risk and region is Region.CHINA and Section.RISK not in snapshot.problems
        self._watch_risk(
            snapshot.risk_restricted if checked else None, list(snapshot.problems.values()), checked
        )

    @Slot()
    def rescan_risk(self) -> None:
        """Read new risk events between refreshes (the meter's 1302s: their "limit seen")."""
        self._watch_risk(None, [])

    def _watch_risk(
        self, flag: bool | None, errors: list[PlatformError], checked: bool = False
    ) -> None:
        if self.risk_watcher is None:
            return
        try:
            report = self.risk_watcher.update(
                utcnow(), risk_flag=flag, flag_checked=checked, account_errors=errors
            )
        except Exception:  # the risk monitor is an extra: never let it stop quota refreshes
            log.exception("risk monitor update failed")
            return
        self.risk_updated.emit(report)

    @Slot(object, str, object)
    def validate(self, region: Region, key: str, base_url: str | None) -> None:
        try:
            with PlatformClient(key, region, base_url=base_url) as client:
                quota = client.quota()
        except GlmtrayError as error:
            self.validation_failed.emit(region, key, error)
            return
        except Exception as error:
            log.exception("key check failed unexpectedly")
            self.validation_failed.emit(
                region, key, UnexpectedResponse(detail=type(error).__name__)
            )
            return
        self.validated.emit(region, key, quota)

    @Slot(object)
    def read_key(self, account: Account) -> None:
        assert self.credentials is not None
        try:
            key = self.credentials.get(account)
        except CredentialError as error:
            self.key_read.emit(account, None, error)
            return
        self.key_read.emit(account, key, None)

    @Slot(object, str)
    def store_key(self, account: Account, key: str) -> None:
        assert self.credentials is not None
        try:
            self.credentials.set(account, key)
        except CredentialError as error:
            self.key_stored.emit(account, key, error)
            return
        self.key_stored.emit(account, key, None)

    @Slot(object)
    def delete_key(self, account: Account) -> None:
        assert self.credentials is not None
        try:
            self.credentials.delete(account)
        except CredentialError as error:
            self.key_delete_failed.emit(error)

    @Slot()
    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
