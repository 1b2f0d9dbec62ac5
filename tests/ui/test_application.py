"""The whole tray app, offscreen, against the simulator: sign-in, sign-out, scenarios,
single instance, demo mode, accounts and the meter. The keyring is an in-memory double.

Tests drive the app through what a user or the desktop does (its signals, menu, panel and
public actions) and read what it shows; none calls a private method.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QObject, Qt, QUrl, Slot
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from glmtray.credentials import Account, CredentialStore
from glmtray.environment import Environment, demo_environment, normal_environment
from glmtray.errors import AuthenticationFailed
from glmtray.platform.regions import Region
from glmtray.settings import Settings, SettingsStore
from glmtray.simulator import SIMULATOR_API_KEY, PlatformSimulator, scenario_names
from glmtray.state import IconLook, Phase
from glmtray.ui.application import GlmTrayApp
from glmtray.ui.platform_service import SessionStart
from glmtray.ui.signin import SignInDialog
from tests.helpers import MemoryKeyring
from tests.test_credentials import LockedKeyring

WAIT_MS = 8000


class RecordingNotifier:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def notify(
        self, summary: str, body: str, *, urgent: bool = False, timeout_ms: int = -1
    ) -> int | None:
        self.sent.append((summary, body))
        return len(self.sent)

    def close(self) -> None:
        pass


@pytest.fixture(scope="module")
def sim() -> Iterator[PlatformSimulator]:
    with PlatformSimulator("pro", slow_seconds=2.0) as simulator:
        yield simulator


MakeApp = Callable[..., GlmTrayApp]


@pytest.fixture
def make_app(qapp: Any, sim: PlatformSimulator, tmp_path: Path) -> Iterator[MakeApp]:
    apps: list[GlmTrayApp] = []

    def make(
        keyring: Any = None,
        *,
        demo: bool = False,
        name: str | None = None,
        story: Any = None,
    ) -> GlmTrayApp:
        environment: Environment = (
            demo_environment(story)
            if demo
            else replace(
                normal_environment(sim.base_url),
                keys=CredentialStore(keyring if keyring is not None else MemoryKeyring()),
            )
        )
        app = GlmTrayApp(
            qapp,
            environment,
            notifier=RecordingNotifier(),
            instance_name=name or f"glmtray-test-{os.getpid()}-{len(apps)}-{tmp_path.name}",
        )
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.shutdown()
        for widget in (app.panel, app.sign_in.dialog, app.settings_dialog):
            if widget is not None:
                widget.close()


def keyring_with_key(region: Region = Region.GLOBAL) -> MemoryKeyring:
    keyring = MemoryKeyring()
    keyring.set_password("glmtray", f"{region.value}:default", SIMULATOR_API_KEY)
    return keyring


@pytest.fixture
def signed_in_app(qtbot: QtBot, make_app: MakeApp, sim: PlatformSimulator) -> GlmTrayApp:
    """A started app, signed in with a stored key to the simulator's Pro plan, data shown."""
    sim.set_scenario("pro")
    app = make_app(keyring_with_key())
    assert app.start()
    wait_phase(qtbot, app, Phase.READY)
    return app


def wait_phase(qtbot: QtBot, app: GlmTrayApp, phase: Phase) -> None:
    qtbot.waitUntil(
        lambda: app.monitor.state.phase is phase and not app.scheduler.busy, timeout=WAIT_MS
    )


def refresh_and_wait(qtbot: QtBot, app: GlmTrayApp) -> None:
    before = app.monitor.state.last_attempt
    app.scheduler.refresh(forced=True)
    qtbot.waitUntil(
        lambda: not app.scheduler.busy and app.monitor.state.last_attempt != before,
        timeout=WAIT_MS,
    )


def wait_sign_in(qtbot: QtBot, app: GlmTrayApp) -> SignInDialog:
    """The sign-in dialog, once it shows: the key is read on the worker, after start()."""
    qtbot.waitUntil(
        lambda: app.sign_in.dialog is not None and app.sign_in.dialog.isVisible(),
        timeout=WAIT_MS,
    )
    assert app.sign_in.dialog is not None
    return app.sign_in.dialog


def sent_titles(app: GlmTrayApp) -> list[str]:
    notifier = app.notifications.notifier
    assert isinstance(notifier, RecordingNotifier)
    return [title for title, _ in notifier.sent]


def test_first_run_asks_to_sign_in_and_a_good_key_is_stored(
    qtbot: QtBot, make_app: MakeApp, sim: PlatformSimulator
) -> None:
    sim.set_scenario("pro")
    keyring = MemoryKeyring()
    app = make_app(keyring)
    assert app.start()
    signin = wait_sign_in(qtbot, app)
    assert app.monitor.state.phase is Phase.SIGNED_OUT
    signin.sign_in_requested.emit(Region.CHINA, SIMULATOR_API_KEY)
    wait_phase(qtbot, app, Phase.READY)
    assert keyring.items == {("glmtray", "china:default"): SIMULATOR_API_KEY}
    assert not signin.isVisible()
    assert SettingsStore().load().settings.region is Region.CHINA
    assert app.tray.icon_spec is not None and app.tray.icon_spec.look is IconLook.GAUGE


class PromptingKeyring(MemoryKeyring):
    """A keyring whose read waits for an answer, as a Secret Service waits for the user at
    its unlock prompt (gives up after 5 s so a wrong build fails rather than hangs)."""

    def __init__(self) -> None:
        super().__init__()
        self.asked = threading.Event()
        self.answered = threading.Event()
        self.reader: threading.Thread | None = None

    def get_password(self, service: str, username: str) -> str | None:
        self.reader = threading.current_thread()
        self.asked.set()
        self.answered.wait(5)
        return super().get_password(service, username)


def test_a_keyring_waiting_at_its_unlock_prompt_leaves_the_tray_responsive(
    qtbot: QtBot, make_app: MakeApp, sim: PlatformSimulator
) -> None:
    sim.set_scenario("pro")
    keyring = PromptingKeyring()
    keyring.items[("glmtray", "global:default")] = SIMULATOR_API_KEY
    app = make_app(keyring)
    assert app.start()
    assert keyring.asked.wait(5)
    assert keyring.reader is not threading.main_thread()  # read on the worker
    # The prompt is still up: the GUI thread runs, the icon says "loading", the panel opens.
    qtbot.wait(100)
    assert not keyring.answered.is_set()
    assert app.monitor.state.phase is Phase.LOADING
    app.show_panel()
    assert app.panel.isVisible()
    keyring.answered.set()  # the user unlocked the keyring
    wait_phase(qtbot, app, Phase.READY)
    assert app.sign_in.dialog is None or not app.sign_in.dialog.isVisible()


def test_wrong_key_is_said_inline_and_nothing_is_stored(
    qtbot: QtBot, make_app: MakeApp, sim: PlatformSimulator
) -> None:
    sim.set_scenario("wrong_key")
    keyring = MemoryKeyring()
    app = make_app(keyring)
    app.start()
    signin = wait_sign_in(qtbot, app)
    with qtbot.waitSignal(app.service.started, timeout=WAIT_MS):
        signin.sign_in_requested.emit(Region.GLOBAL, "bad" * 12)
    qtbot.waitUntil(signin.isEnabled, timeout=WAIT_MS)
    assert keyring.items == {}
    assert signin.isVisible()
    assert app.monitor.state.phase is Phase.SIGNED_OUT
    text = _visible_text(signin)
    assert AuthenticationFailed.title in text or "rejected" in text


def test_locked_keyring_offers_this_session_only(
    qtbot: QtBot, make_app: MakeApp, sim: PlatformSimulator
) -> None:
    sim.set_scenario("pro")
    app = make_app(LockedKeyring())
    app.start()
    signin = wait_sign_in(qtbot, app)
    signin.sign_in_requested.emit(Region.GLOBAL, SIMULATOR_API_KEY)
    qtbot.waitUntil(lambda: _visible_button(signin, "session"), timeout=WAIT_MS)
    assert app.monitor.state.phase is Phase.SIGNED_OUT
    signin.session_only_requested.emit(Region.GLOBAL, SIMULATOR_API_KEY)
    wait_phase(qtbot, app, Phase.READY)
    assert app.monitor.state.session_only
    keys = app.environment.keys
    assert isinstance(keys, CredentialStore) and keys.is_session_only(Account(Region.GLOBAL))


def test_sign_out_removes_the_key_and_returns_to_sign_in(
    qtbot: QtBot, make_app: MakeApp, sim: PlatformSimulator
) -> None:
    sim.set_scenario("pro")
    keyring = keyring_with_key()
    app = make_app(keyring)
    app.start()
    wait_phase(qtbot, app, Phase.READY)
    app.sign_out()
    assert app.monitor.state.phase is Phase.SIGNED_OUT and app.monitor.state.snapshot is None
    assert app.sign_in.dialog is not None and app.sign_in.dialog.isVisible()
    qtbot.waitUntil(lambda: keyring.items == {}, timeout=WAIT_MS)  # removed on the worker


def test_the_key_does_not_linger_in_the_dialog_after_sign_in_or_sign_out(
    qtbot: QtBot, make_app: MakeApp, sim: PlatformSimulator
) -> None:
    sim.set_scenario("pro")
    app = make_app(MemoryKeyring())
    app.start()
    signin = wait_sign_in(qtbot, app)
    qtbot.keyClicks(signin.key_edit, SIMULATOR_API_KEY)
    signin.reveal_action.trigger()  # the eye on
    qtbot.keyClick(signin.key_edit, Qt.Key.Key_Return)
    wait_phase(qtbot, app, Phase.READY)
    assert signin.key_edit.text() == ""  # kept by the keyring now, not by a widget
    app.sign_out()
    assert signin.isVisible()
    assert signin.key_edit.text() == "" and not signin.is_revealed()


def test_sign_out_during_a_slow_refresh_drops_its_late_result(
    qtbot: QtBot, signed_in_app: GlmTrayApp, sim: PlatformSimulator
) -> None:
    app = signed_in_app
    sim.set_scenario("slow")  # answers after 2 s
    try:
        app.scheduler.refresh(forced=True)
        qtbot.waitUntil(lambda: len(sim.requests) > 0 and app.scheduler.busy, timeout=WAIT_MS)
        app.sign_out()
        qtbot.wait(2600)  # the slow answer has arrived on the worker by now
        state = app.monitor.state
        assert state.phase is Phase.SIGNED_OUT and state.snapshot is None and state.risk is None
    finally:
        sim.set_scenario("pro")


def test_the_key_never_comes_back_to_the_gui_thread(
    qtbot: QtBot, make_app: MakeApp, sim: PlatformSimulator
) -> None:
    sim.set_scenario("pro")
    app = make_app(MemoryKeyring())
    app.start()
    signin = wait_sign_in(qtbot, app)
    results: list[SessionStart] = []
    app.service.started.connect(results.append)
    signin.sign_in_requested.emit(Region.GLOBAL, SIMULATOR_API_KEY)
    wait_phase(qtbot, app, Phase.READY)
    assert len(results) == 1 and results[0].signed_in
    assert SIMULATOR_API_KEY not in repr(results[0])
    assert SIMULATOR_API_KEY not in repr(app.monitor.state)


def test_a_bearer_only_key_is_refused_once_across_sign_in_refresh_and_restart(
    qtbot: QtBot, make_app: MakeApp, sim: PlatformSimulator
) -> None:
    sim.set_scenario("bearer_only")
    try:
        keyring = MemoryKeyring()
        app = make_app(keyring)
        app.start()
        start = len(sim.requests)
        wait_sign_in(qtbot, app).sign_in_requested.emit(Region.GLOBAL, SIMULATOR_API_KEY)
        wait_phase(qtbot, app, Phase.READY)
        refresh_and_wait(qtbot, app)
        app.shutdown()
        again = make_app(keyring)  # a restart: same keyring, same data folder
        again.start()
        wait_phase(qtbot, again, Phase.READY)
        refresh_and_wait(qtbot, again)
        forms = [r.auth_form for r in sim.requests[start:]]
        assert forms.count("raw") == 1, forms  # learned once, at sign-in
        assert forms.count("bearer") >= 4 and forms[-1] == "bearer"
    finally:
        sim.set_scenario("pro")


def test_every_scenario_reaches_a_clear_state(
    qtbot: QtBot, signed_in_app: GlmTrayApp, sim: PlatformSimulator
) -> None:
    app = signed_in_app
    for name in scenario_names():
        sim.set_scenario(name)
        refresh_and_wait(qtbot, app)
        state = app.monitor.state
        assert state.phase in (Phase.READY, Phase.ERROR), name
        if state.phase is Phase.ERROR:
            assert state.error is not None and state.error.title and state.error.message
        tooltip = state.tooltip(state.last_attempt)  # type: ignore[arg-type]
        assert tooltip and SIMULATOR_API_KEY not in tooltip
        assert app.panel.isVisible()  # offscreen has no tray: the panel is a window
    sim.set_scenario("weekly_exhausted")
    refresh_and_wait(qtbot, app)
    assert app.monitor.state.snapshot is not None
    assert app.monitor.state.snapshot.blocking_window.id == "weekly"  # type: ignore[union-attr]
    assert any("Weekly limit reached" in title for title in sent_titles(app))


def test_no_tray_shows_the_panel_as_a_window_with_a_notice(make_app: MakeApp) -> None:
    app = make_app()
    app.start()
    assert app.panel.isVisible() and not app.panel.is_popup()
    assert any("No system tray" in text for text in app.monitor.state.notice_texts())
    assert app.tray.looking_for_tray


def test_second_start_shows_the_first_ones_panel(
    qtbot: QtBot, make_app: MakeApp, tmp_path: Path
) -> None:
    name = f"glmtray-single-{os.getpid()}-{tmp_path.name}"
    first = make_app(name=name)
    assert first.start()
    first.panel.hide()
    second = make_app(name=name)
    with qtbot.waitSignal(first.instance.show_requested, timeout=WAIT_MS):
        assert second.start() is False
    qtbot.waitUntil(first.panel.isVisible, timeout=WAIT_MS)


def test_demo_mode_leaves_keyring_and_settings_untouched(
    qtbot: QtBot, make_app: MakeApp, isolated_dirs: Path
) -> None:
    app = make_app(demo=True)
    assert app.start()
    wait_phase(qtbot, app, Phase.READY)
    state = app.monitor.state
    assert state.demo and state.snapshot is not None and state.snapshot.windows
    assert "Sign out" not in app.tray.menu_texts() and "Leave the demo" in app.tray.menu_texts()
    app.apply_settings(replace(state.settings, refresh_seconds=600))
    assert app.monitor.state.settings.refresh_seconds == 600
    assert not any(isolated_dirs.rglob("settings.json"))
    assert not any(isolated_dirs.rglob("*.sqlite3"))


def test_settings_apply_without_restart(qtbot: QtBot, signed_in_app: GlmTrayApp) -> None:
    app = signed_in_app
    new = replace(app.monitor.state.settings, show_number_in_icon=False, refresh_seconds=300)
    app.apply_settings(new)
    assert app.monitor.state.settings.refresh_seconds == 300
    assert app.tray.icon_spec is not None and app.tray.icon_spec.show_number is False
    assert SettingsStore().load().settings.refresh_seconds == 300
    assert app.scheduler.next_refresh_ms > 200_000


def test_settings_dialog_loads_on_first_use(signed_in_app: GlmTrayApp) -> None:
    import sys

    app = signed_in_app
    assert app.settings_dialog is None
    app.open_settings()
    assert app.settings_dialog is not None and app.settings_dialog.isVisible()
    assert "glmtray.ui.settings_dialog" in sys.modules


def _visible_button(widget: Any, word: str) -> bool:
    from PySide6.QtWidgets import QAbstractButton

    return any(
        word in button.text().lower() and button.isVisible()
        for button in widget.findChildren(QAbstractButton)
    )


def _visible_text(widget: Any) -> str:
    from PySide6.QtWidgets import QLabel

    return " ".join(label.text() for label in widget.findChildren(QLabel) if label.isVisible())


def _write_transcript(claude_dir: Path, lines: list[dict[str, Any]]) -> None:
    import json

    folder = claude_dir / "projects" / "-home-dev-shop"
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "session-1.jsonl").open("a", encoding="utf-8") as handle:
        for line in lines:
            handle.write(json.dumps(line) + "\n")


def _api_error_line(now: str, text: str) -> dict[str, Any]:
    return {
        "type": "assistant", "isApiErrorMessage": True, "apiErrorStatus": 429,
        "error": "rate_limit", "timestamp": now, "sessionId": "s1", "cwd": "/home/dev/shop",
        "message": {"model": "<synthetic>", "content": [{"type": "text", "text": text}]},
    }  # fmt: skip


def _glm_line(now: str) -> dict[str, Any]:
    return {
        "type": "assistant", "timestamp": now, "sessionId": "s1", "cwd": "/home/dev/shop",
        "message": {"model": "glm-4.6", "usage": {"input_tokens": 10}},
    }  # fmt: skip


def _now_text() -> str:
    from datetime import datetime, timezone

    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")


def test_restriction_seen_in_transcripts_gives_banner_badge_notice_and_review(
    qtbot: QtBot, make_app: MakeApp, sim: PlatformSimulator, isolated_dirs: Path
) -> None:
    from datetime import datetime, timezone

    from PySide6.QtGui import QGuiApplication

    now = _now_text()
    _write_transcript(
        isolated_dirs / "claude",
        [_glm_line(now), _api_error_line(now, "API Error: 400 [1313][Fair use restriction][trace-abc123]")],
    )  # fmt: skip
    sim.set_scenario("pro")
    app = make_app(keyring_with_key())
    app.start()
    qtbot.waitUntil(lambda: app.monitor.state.risk is not None, timeout=WAIT_MS)
    state = app.monitor.state
    assert state.restricted
    assert state.icon_spec(datetime.now(timezone.utc)).restricted
    app.show_panel()
    text = _visible_text(app.panel)
    assert "Restricted by risk control" in text and "1313" in text
    assert any("restrict" in title.lower() for title in sent_titles(app))
    request = app.review_text()
    assert request is not None and "1313" in request.body and "trace-abc123" in request.body
    assert SIMULATOR_API_KEY not in request.body + request.mailto_url
    app.request_review()
    clip = QGuiApplication.clipboard().text()
    assert "trace-abc123" in clip and SIMULATOR_API_KEY not in clip


def test_another_accounts_risk_history_never_shows(
    qtbot: QtBot, make_app: MakeApp, sim: PlatformSimulator, isolated_dirs: Path
) -> None:
    """A lock seen while signed in to the global account stays with it: the china account
    signed in next on the same machine starts with a clean history."""
    now = _now_text()
    _write_transcript(
        isolated_dirs / "claude",
        [_glm_line(now), _api_error_line(now, "API Error: 401 [1112][Account locked][trace-lock1]")],
    )  # fmt: skip
    sim.set_scenario("pro")
    keyring = keyring_with_key()
    keyring.set_password("glmtray", "china:default", SIMULATOR_API_KEY)
    app = make_app(keyring)
    app.start()
    qtbot.waitUntil(lambda: app.monitor.state.risk is not None, timeout=WAIT_MS)
    assert app.monitor.state.restricted and app.monitor.state.risk is not None
    assert app.monitor.state.risk.state.episodes
    app.sign_out()
    wait_sign_in(qtbot, app).sign_in_requested.emit(Region.CHINA, SIMULATOR_API_KEY)
    wait_phase(qtbot, app, Phase.READY)
    qtbot.waitUntil(lambda: app.monitor.state.risk is not None, timeout=WAIT_MS)
    state = app.monitor.state
    assert state.region is Region.CHINA
    assert state.risk is not None and not state.risk.state.episodes
    assert not state.restricted
    app.show_panel()
    assert "1112" not in _visible_text(app.panel)


def test_china_risk_flag_restricted_shows_badge(
    qtbot: QtBot, make_app: MakeApp, sim: PlatformSimulator
) -> None:
    from datetime import datetime, timezone

    sim.set_scenario("restricted")
    SettingsStore().save(Settings(region=Region.CHINA))
    app = make_app(keyring_with_key(Region.CHINA))
    app.start()
    qtbot.waitUntil(lambda: app.monitor.state.risk is not None, timeout=WAIT_MS)
    assert app.monitor.state.restricted
    assert app.monitor.state.icon_spec(datetime.now(timezone.utc)).restricted
    app.show_panel()
    assert "Restricted" in _visible_text(app.panel)


def test_corrupt_settings_file_is_reset_with_a_notice(
    qtbot: QtBot, make_app: MakeApp, isolated_dirs: Path
) -> None:
    from glmtray.settings import settings_path

    path = settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{ this is not json")
    app = make_app(keyring_with_key())
    app.start()
    assert any("damaged" in text for text in app.monitor.state.notice_texts())
    assert list(path.parent.glob("settings.json.corrupt-*"))
    wait_phase(qtbot, app, Phase.READY)


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_meter_follows_settings_and_a_taken_port_is_a_notice(
    qtbot: QtBot, signed_in_app: GlmTrayApp
) -> None:
    import socket

    import httpx

    app = signed_in_app
    assert not app.meter.running
    port = _free_port()
    app.apply_settings(replace(app.monitor.state.settings, meter_enabled=True, meter_port=port))
    qtbot.waitUntil(lambda: app.meter.running, timeout=WAIT_MS)  # started off the GUI thread
    assert app.meter.meter is not None and app.meter.meter.port == port
    # a coding tool's request reaches the platform through it (here: the simulator)
    response = httpx.get(f"http://127.0.0.1:{port}/api/coding/paas/v4/models", timeout=5)
    assert response.status_code == 404  # the simulator's own answer for a path it lacks
    assert response.json()["success"] is False
    assert app.meter.meter.snapshot().requests_total == 1
    app.apply_settings(replace(app.monitor.state.settings, meter_enabled=False))
    assert not app.meter.running

    def refused() -> bool:
        try:
            httpx.get(f"http://127.0.0.1:{port}/api/anthropic/v1/messages", timeout=2)
        except httpx.ConnectError:
            return True
        return False

    qtbot.waitUntil(refused, timeout=WAIT_MS)
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        app.apply_settings(
            replace(app.monitor.state.settings, meter_enabled=True, meter_port=taken)
        )
        qtbot.waitUntil(
            lambda: any(
                str(taken) in text and "in use" in text for text in app.monitor.state.notice_texts()
            ),
            timeout=WAIT_MS,
        )
        assert not app.meter.running
    app.apply_settings(replace(app.monitor.state.settings, meter_port=_free_port()))
    qtbot.waitUntil(lambda: app.meter.running, timeout=WAIT_MS)
    assert not any("in use" in text for text in app.monitor.state.notice_texts())


def test_menu_is_rebuilt_from_state(
    qtbot: QtBot, make_app: MakeApp, sim: PlatformSimulator
) -> None:
    sim.set_scenario("weekly_exhausted")
    app = make_app(keyring_with_key())
    app.start()
    wait_phase(qtbot, app, Phase.READY)
    texts = app.tray.menu_texts()
    assert texts[0].startswith("GLM Coding Pro · ") and "Weekly: 100 %" in texts[0]
    assert not app.tray.menu.actions()[0].isEnabled()
    assert texts[1:] == [
        "Refresh now",
        "Open panel",
        "Usage history…",
        "Settings…",
        "Pause notifications",
        "Sign out",
        "Quit",
    ]
    pause = next(a for a in app.tray.menu.actions() if a.text() == "Pause notifications").menu()
    next(a for a in pause.actions() if a.text() == "For 1 hour").trigger()
    assert any(text.startswith("Notifications paused until") for text in app.tray.menu_texts())
    next(a for a in app.tray.menu.actions() if a.text() == "Sign out").trigger()
    assert app.monitor.state.phase is Phase.SIGNED_OUT
    assert "Sign in…" in app.tray.menu_texts()


def test_concurrency_refusals_through_the_meter_notify_once(
    qtbot: QtBot, signed_in_app: GlmTrayApp, sim: PlatformSimulator
) -> None:
    import httpx

    app = signed_in_app
    sim.set_coding(limit=1, chunks=6, chunk_delay=0.1)
    try:
        app.apply_settings(
            replace(app.monitor.state.settings, meter_enabled=True, meter_port=_free_port())
        )
        qtbot.waitUntil(lambda: app.meter.running, timeout=WAIT_MS)
        assert app.meter.meter is not None
        url = app.meter.meter.url + "/api/coding/paas/v4/chat/completions"
        body = {"model": "glm-4.6", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
        headers = {"Authorization": f"Bearer {SIMULATOR_API_KEY}"}
        statuses: list[int] = []

        def tool() -> None:
            statuses.append(httpx.post(url, headers=headers, json=body, timeout=10).status_code)

        tools = [threading.Thread(target=tool) for _ in range(3)]
        for thread in tools:
            thread.start()
        for thread in tools:
            thread.join()
        assert sorted(statuses)[0] == 200 and 429 in statuses
        app.tick()
        refused = [title for title in sent_titles(app) if "concurrency" in title]
        assert refused == ["Requests refused: concurrency too high"]
        concurrency = app.monitor.state.concurrency
        assert concurrency is not None and concurrency.peak_5m >= 2

        # The limit seen comes from the event store, read on the worker at once when new
        # 1302s are counted, not at the next refresh (minutes away).
        def limit_seen() -> int | None:
            c = app.monitor.state.concurrency
            return (c.limit_seen_peak or c.limit_seen_offpeak) if c else None

        fetches = len(sim.requests)
        qtbot.waitUntil(lambda: limit_seen() is not None, timeout=WAIT_MS)
        assert limit_seen() == 1
        assert len(sim.requests) == fetches  # no refresh of the account was needed for it
        app.tick()  # nothing new: no second notification
        assert len([t for t in sent_titles(app) if "concurrency" in t]) == 1
    finally:
        sim.set_coding(limit=None, chunks=4, chunk_delay=0.0)


def test_renewal_reminder_from_a_hand_entered_date(
    qtbot: QtBot, make_app: MakeApp, sim: PlatformSimulator
) -> None:
    from datetime import date, timedelta

    sim.set_scenario("partial")  # the subscription list fails: the date typed in Settings is used
    renewal = date.today() + timedelta(days=5)
    SettingsStore().save(Settings(manual_renewal_date=renewal.isoformat()))
    app = make_app(keyring_with_key())
    app.start()
    wait_phase(qtbot, app, Phase.READY)
    sub = app.monitor.state.snapshot.subscription  # type: ignore[union-attr]
    assert sub is not None and sub.entered_by_hand
    titles = sent_titles(app)
    assert any("renews on" in title for title in titles), titles


class UrlCatcher(QObject):
    """Stands in for the browser: the desktop's handler for https links."""

    def __init__(self) -> None:
        super().__init__()
        self.opened: list[str] = []

    @Slot(QUrl)
    def open(self, url: QUrl) -> None:
        self.opened.append(url.toString())


def test_links_say_what_happened_and_copy_what_could_not_be_opened(
    signed_in_app: GlmTrayApp,
) -> None:
    from PySide6.QtGui import QDesktopServices, QGuiApplication

    app = signed_in_app
    app.show_panel()
    catcher = UrlCatcher()
    QDesktopServices.setUrlHandler("https", catcher, "open")
    try:
        assert app.open_url("https://z.ai/manage-apikey/subscription")
    finally:
        QDesktopServices.unsetUrlHandler("https")
    assert catcher.opened == ["https://z.ai/manage-apikey/subscription"]
    message = app.panel.footer_section.message_label
    assert message.isVisibleTo(app.panel) and "Opening z.ai" in message.text()
    # No mail app on this desktop: the address is kept for the user, and the panel says so.
    assert not app.open_url("mailto:support@z.ai")
    assert QGuiApplication.clipboard().text() == "support@z.ai"
    assert "No mail app answered" in message.text() and "support@z.ai" in message.text()


def test_the_demo_plays_every_feature(qtbot: QtBot, make_app: MakeApp) -> None:
    """The demo's story, sped up: sessions at work (concurrency), a throttled request, a
    renewal coming up, a restriction, the weekly window running out; each seen in the state
    and announced where the real app would announce it."""
    from glmtray.demo import Act, Step

    story = tuple(Step(0.2 + 0.6 * i, act) for i, act in enumerate(Act))
    app = make_app(demo=True, story=story)
    assert app.start()

    def restricted_with_sessions() -> bool:
        state = app.monitor.state
        return (
            state.restricted
            and state.concurrency is not None
            and (state.concurrency.active_sessions or 0) >= 2
        )

    qtbot.waitUntil(restricted_with_sessions, timeout=20_000)
    qtbot.waitUntil(
        lambda: any("Weekly limit reached" in t for t in sent_titles(app)), timeout=20_000
    )
    titles = sent_titles(app)
    assert any("restrict" in t.lower() for t in titles), titles
    assert any("renews on" in t for t in titles), titles  # the renewal reminder
    state = app.monitor.state
    assert state.risk is not None and state.risk.state.episodes
    app.show_panel()
    text = _visible_text(app.panel)
    assert "Restricted by risk control" in text or "Account restricted" in text
    assert "coding sessions" in text


def test_try_the_demo_and_leave_it_in_one_process_with_one_tray(
    qtbot: QtBot, qapp: Any, sim: PlatformSimulator, tmp_path: Path
) -> None:
    """'Try the demo' from the sign-in dialog runs the demo in place of the app (one tray
    icon, not a second process); 'Leave the demo' comes back to sign in."""
    from glmtray.ui.application import AppHost

    made: list[str] = []

    def make_environment(mode: str) -> Environment:
        made.append(mode)
        if mode == "demo":
            return demo_environment()
        return replace(normal_environment(sim.base_url), keys=CredentialStore(MemoryKeyring()))

    host = AppHost(qapp, make_environment, notifier=RecordingNotifier())
    try:
        assert host.start("normal")
        first = host.current
        assert first is not None
        signin = wait_sign_in(qtbot, first)
        signin.demo_button.click()
        qtbot.waitUntil(
            lambda: host.current is not None and host.current is not first, timeout=WAIT_MS
        )
        demo = host.current
        assert demo is not None and demo.environment.label == "demo"
        from shiboken6 import isValid

        qtbot.waitUntil(lambda: not isValid(first), timeout=WAIT_MS)  # its icon went with it
        wait_phase(qtbot, demo, Phase.READY)
        demo.sign_out()  # "Leave the demo"
        qtbot.waitUntil(
            lambda: host.current is not None and host.current is not demo, timeout=WAIT_MS
        )
        back = host.current
        assert back is not None and back.environment.label == ""
        wait_sign_in(qtbot, back)
        assert made == ["normal", "demo", "normal"]
    finally:
        host.shutdown()


class CountingKeyring(MemoryKeyring):
    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    def get_password(self, service: str, username: str) -> str | None:
        self.reads += 1
        return super().get_password(service, username)


def test_the_first_fetch_started_before_qt_is_taken_over_not_repeated(
    qtbot: QtBot, qapp: Any, sim: PlatformSimulator, tmp_path: Path
) -> None:
    """The key is read and the first data fetched while Qt loads; the app takes that over:
    one keyring read and one quota request, not two."""
    from glmtray.first_fetch import FirstFetch

    sim.set_scenario("pro")
    keyring = CountingKeyring()
    keyring.items[("glmtray", "global:default")] = SIMULATOR_API_KEY
    environment = replace(normal_environment(sim.base_url), keys=CredentialStore(keyring))
    before = len(sim.requests)  # before the first fetch's thread starts: it may fetch at once
    environment.first_fetch = FirstFetch(environment, Account(Region.GLOBAL), "en")
    app = GlmTrayApp(
        qapp,
        environment,
        notifier=RecordingNotifier(),
        instance_name=f"glmtray-first-{tmp_path.name}",
    )
    try:
        assert app.start()
        wait_phase(qtbot, app, Phase.READY)
        quota_requests = [r for r in sim.requests[before:] if "quota" in r.path]
        assert keyring.reads == 1 and len(quota_requests) == 1
        assert app.monitor.state.snapshot is not None
    finally:
        app.shutdown()
        app.panel.close()


def test_the_network_is_watched_only_after_a_refresh_fails(
    qtbot: QtBot, signed_in_app: GlmTrayApp, sim: PlatformSimulator
) -> None:
    """A tray that never goes offline never loads Qt's network information; once a refresh
    fails, the network's return brings an immediate refresh."""
    app = signed_in_app
    assert not app.scheduler.watching_network
    before = len(sim.requests)
    app.scheduler.network_online()  # nothing failed: nothing to do
    assert len(sim.requests) == before and not app.scheduler.busy

    sim.set_scenario("http_502")
    refresh_and_wait(qtbot, app)
    assert app.monitor.failures and app.scheduler.watching_network
    sim.set_scenario("pro")
    app.scheduler.network_online()
    wait_phase(qtbot, app, Phase.READY)
    assert app.monitor.failures == 0
    assert len(sim.requests) > before


def test_the_histories_open_after_the_icon_shows_the_first_data(
    qtbot: QtBot, qapp: Any, sim: PlatformSimulator, tmp_path: Path
) -> None:
    """SQLite and the risk watcher load once the icon has the data: it never waits for them."""
    sim.set_scenario("pro")
    looks_when_opened: list[IconLook | None] = []
    holder: list[GlmTrayApp] = []
    environment = replace(
        normal_environment(sim.base_url), keys=CredentialStore(keyring_with_key())
    )
    open_recorders = environment.open_recorders

    def recorders_after_the_icon(account: Account) -> Any:
        spec = holder[0].tray.icon_spec
        looks_when_opened.append(spec.look if spec is not None else None)
        return open_recorders(account)

    app = GlmTrayApp(
        qapp,
        replace(environment, open_recorders=recorders_after_the_icon),
        notifier=RecordingNotifier(),
        instance_name=f"glmtray-extras-{os.getpid()}-{tmp_path.name}",
    )
    holder.append(app)
    try:
        assert app.start()
        wait_phase(qtbot, app, Phase.READY)
        qtbot.waitUntil(lambda: bool(looks_when_opened), timeout=WAIT_MS)
        assert looks_when_opened == [IconLook.GAUGE]
    finally:
        app.shutdown()


@pytest.fixture
def collector_paused() -> None:
    """The garbage collector paused as a tray start pauses it (tests/conftest.py turns it
    back on after the test)."""
    from glmtray.collector import pause_for_start

    pause_for_start()


@pytest.mark.parametrize("stored", [True, False], ids=["signed in", "no key"])
def test_the_collector_and_the_window_icon_wait_for_the_start_outcome(
    qtbot: QtBot, make_app: MakeApp, sim: PlatformSimulator, collector_paused: None, stored: bool
) -> None:
    """Paused from the start's first line, the collector must not stay off for the life of
    the tray: it runs again once the first session's outcome (data, or the sign-in dialog
    for no key) is on screen, and not before. The windows get their icon then too, and
    keep it."""
    import gc

    qt_app = QApplication.instance()
    assert isinstance(qt_app, QApplication)
    qt_app.setWindowIcon(QIcon())  # as a fresh process has it
    sim.set_scenario("pro")
    app = make_app(keyring_with_key() if stored else MemoryKeyring())
    assert app.start()
    assert not gc.isenabled()  # the icon is up, the outcome not yet there
    assert qt_app.windowIcon().isNull()
    qtbot.waitUntil(gc.isenabled, timeout=10_000)
    assert not qt_app.windowIcon().isNull()
    if stored:
        assert app.monitor.state.snapshot is not None
    else:
        assert app.sign_in.dialog is not None and app.sign_in.dialog.isVisible()
