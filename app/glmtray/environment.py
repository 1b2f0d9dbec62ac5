"""Where the running app gets its world from: a normal run or the demo.

The composition root (`glmtray.ui.application.run_app`) builds everything from one
`Environment`, so no widget or controller asks "am I in demo mode?": the demo is simply an
environment whose settings and keys live in memory, whose event store is in memory, whose
platform is the built-in simulator, and which allows neither the meter nor autostart.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from glmtray.account_memory import AccountMemory
from glmtray.credentials import Account
from glmtray.fetch_records import FetchRecorder, no_recorders
from glmtray.history.recorder import HistoryStores, open_history_file
from glmtray.i18n import _
from glmtray.settings import LoadResult, Settings, SettingsStore, data_dir

if TYPE_CHECKING:
    from glmtray.activity.events import EventStore
    from glmtray.demo import Step
    from glmtray.first_fetch import FirstFetch, FirstLook
    from glmtray.history.store import HistoryStore
    from glmtray.key_helper import PendingRead


class SettingsSource(Protocol):
    def load(self) -> LoadResult: ...

    def save(self, settings: Settings) -> None: ...


class KeySource(Protocol):
    """Where keys live: the OS keyring (with a session-only memory), or the demo's memory."""

    @property
    def backend_name(self) -> str: ...

    def get(self, account: Account) -> str | None: ...

    def set(self, account: Account, key: str, *, session_only: bool = False) -> None: ...

    def delete(self, account: Account) -> bool: ...

    def cancel_reads(self) -> None:
        """End any read still waiting for the keyring: the app is quitting."""

    def take_first_look(self, account: Account) -> FirstLook | None:
        """The first fetch the key's reader took with the key it read for `account`, once
        (see first_fetch.py); None where it took none."""


class BackgroundScript(Protocol):
    """Something that plays beside the app (the demo's story) and may ask for a refresh."""

    def start(self, refresh_now: Callable[[], None]) -> None: ...

    def stop(self) -> None: ...


class MemorySettings:
    """Settings kept for this run only: the demo never reads or writes the user's file."""

    def __init__(self, settings: Settings | None = None) -> None:
        self._settings = settings or Settings()

    def load(self) -> LoadResult:
        return LoadResult(self._settings)

    def save(self, settings: Settings) -> None:
        self._settings = settings


class LoadedOnce:
    """A settings source whose first load already happened (to start the first fetch for the
    right account); the app's own load gets that result, notice included, then the source."""

    def __init__(self, source: SettingsSource, result: LoadResult) -> None:
        self._source = source
        self._result: LoadResult | None = result

    def load(self) -> LoadResult:
        result, self._result = self._result, None
        return result if result is not None else self._source.load()

    def save(self, settings: Settings) -> None:
        self._source.save(settings)


class MemoryKeys:
    """Keys kept in memory only, starting with the demo's own key for every account."""

    def __init__(self, initial_key: str | None = None) -> None:
        self._initial = initial_key
        self._keys: dict[Account, str] = {}
        self._forgotten: set[Account] = set()
        self._lock = threading.Lock()

    @property
    def backend_name(self) -> str:
        return _("demo (memory only)")

    def get(self, account: Account) -> str | None:
        with self._lock:
            if account in self._keys:
                return self._keys[account]
            return None if account in self._forgotten else self._initial

    def set(self, account: Account, key: str, *, session_only: bool = False) -> None:
        with self._lock:
            self._keys[account] = key
            self._forgotten.discard(account)

    def delete(self, account: Account) -> bool:
        with self._lock:
            self._forgotten.add(account)
            return self._keys.pop(account, None) is not None

    def cancel_reads(self) -> None:
        """Memory answers at once: nothing ever waits."""

    def take_first_look(self, account: Account) -> FirstLook | None:
        return None  # the demo's platform is fetched in-process


def _open_event_file(account: Account) -> EventStore:
    from glmtray.activity.events import EventStore

    return EventStore(data_dir() / "events.sqlite3", account.username)


def _open_event_memory(account: Account) -> EventStore:
    from glmtray.activity.events import EventStore

    return EventStore(":memory:", account.username)


def _open_history_memory(account: Account) -> HistoryStore:
    from glmtray.history.store import HistoryStore

    return HistoryStore(":memory:", account.username)


def _memory_histories() -> Callable[[Account], HistoryStore]:
    return HistoryStores(_open_history_memory).open


def _default_transcripts_root() -> Path | None:
    from glmtray.activity.transcripts import default_root

    return default_root()


@dataclass
class Environment:
    settings: SettingsSource
    keys: KeySource
    open_events: Callable[[Account], EventStore]
    """The account's risk history and coding events (loaded on first use)."""
    transcripts_root: Callable[[], Path | None]
    """Claude Code's transcript folder, when the settings let glmtray read it."""
    account_memory: AccountMemory
    base_url: str | None = None
    """The platform's address when not the region's own (the simulator, a test server)."""
    meter_allowed: bool = True
    autostart_allowed: bool = True
    sign_out_label: str = "Sign out"
    leave_to: str | None = None
    """Where signing out goes instead of removing a key: the demo's key is not the user's,
    so "Leave the demo" returns to the normal app ("normal")."""
    instance_suffix: str = ""
    """Keeps a demo and a normal run from taking each other for a second instance."""
    title_suffix: str = ""
    label: str = ""
    """Shown in the tooltip ("demo"), empty for a normal run."""
    first_fetch: FirstFetch | None = None
    """The first look at the platform, when it was started before Qt loaded."""
    scripts: list[BackgroundScript] = field(default_factory=list)
    """Started with the app, given a thread-safe way to ask for a refresh."""
    closers: list[Callable[[], None]] = field(default_factory=list)
    open_recorders: Callable[[Account], list[FetchRecorder]] = no_recorders
    """What keeps each good fetch of the account (history, the status line's snapshot)."""
    open_history: Callable[[Account], HistoryStore] = field(default_factory=_memory_histories)
    """The account's usage history: the very store its recorder writes (one per account
    for the run), for the forecasts and the history window."""

    @property
    def is_demo(self) -> bool:
        """For AppState's wording only; behaviour follows the fields above."""
        return bool(self.label)

    def close(self) -> None:
        while self.closers:
            self.closers.pop()()


def normal_environment(
    base_url: str | None = None, pending_key: PendingRead | None = None
) -> Environment:
    """`pending_key`: the key's read, when the caller started it before building this."""
    from glmtray.credentials import ChildReadKeys

    history = HistoryStores(open_history_file)
    return Environment(
        settings=SettingsStore(),
        keys=ChildReadKeys(pending_key),
        open_events=_open_event_file,
        transcripts_root=_default_transcripts_root,
        account_memory=AccountMemory.default(),
        base_url=base_url,
        open_recorders=partial(_normal_recorders, history),
        open_history=history.open,
        closers=[history.close],
    )


def _normal_recorders(history: HistoryStores, account: Account) -> list[FetchRecorder]:
    from glmtray.snapshot import SnapshotWriter

    return [SnapshotWriter(account), history.recorder(account)]


def _demo_recorders(history: HistoryStores, account: Account) -> list[FetchRecorder]:
    return [history.recorder(account)]


def _seeded_demo_history(clock: Callable[[], float], account: Account) -> HistoryStore:
    """In memory, with the days before the demo started already in it (a living history)."""
    from glmtray.history.demo_seed import seed_demo_history

    store = _open_history_memory(account)
    seed_demo_history(store, clock())
    return store


def demo_environment(story: tuple[Step, ...] | None = None) -> Environment:
    """The built-in simulator on loopback, with every setting and key in memory, and the
    demo's story played in a throwaway transcript folder (`story` shortens it for tests)."""
    from glmtray.demo import STORY, DemoScript
    from glmtray.simulator import DEMO_API_KEY, PlatformSimulator

    simulator = PlatformSimulator("demo")
    simulator.start()
    projects = Path(tempfile.mkdtemp(prefix="glmtray-demo-")) / "projects"
    script = DemoScript(simulator, projects, story or STORY)
    history = HistoryStores(partial(_seeded_demo_history, simulator.clock))
    return Environment(
        settings=MemorySettings(),
        keys=MemoryKeys(DEMO_API_KEY),
        open_events=_open_event_memory,
        transcripts_root=lambda: projects,
        account_memory=AccountMemory(None),
        base_url=simulator.base_url,
        meter_allowed=False,
        autostart_allowed=False,
        sign_out_label="Leave the demo",
        leave_to="normal",
        instance_suffix="-demo",
        title_suffix=" (demo)",
        label="demo",
        scripts=[script],
        closers=[
            history.close,
            lambda: shutil.rmtree(projects.parent, ignore_errors=True),
            simulator.stop,
            script.stop,
        ],
        open_recorders=partial(_demo_recorders, history),
        open_history=history.open,
    )
