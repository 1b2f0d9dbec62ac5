"""The whole tray app, offscreen, against the simulator: sign-in, sign-out, scenarios,
single instance and demo mode. The keyring is an in-memory double."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from glmtray.credentials import Account, CredentialStore
from glmtray.errors import AuthenticationFailed
from glmtray.platform.regions import Region
from glmtray.settings import SettingsStore
from glmtray.simulator import SIMULATOR_API_KEY, PlatformSimulator, scenario_names
from glmtray.state import IconLook, Phase
from glmtray.ui.application import GlmTrayApp
from glmtray.ui.signin import SignInDialog
from tests.helpers import MemoryKeyring
from tests.test_credentials import LockedKeyring

WAIT_MS = 8000


class RecordingNotifier:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def notify(self, summary: str, body: str, *, urgent: bool = False, timeout_ms: int = -1) -> int:
        self.sent.append((summary, body))
        return len(self.sent)

    def close(self) -> None:
        pass


@pytest.fixture(scope="module")
def sim() -> Iterator[PlatformSimulator]:
    with PlatformSimulator("pro", slow_seconds=2.0) as simulator:
        yield simulator


@pytest.fixture
def make_app(qapp: Any, sim: PlatformSimulator, tmp_path: Path) -> Iterator[Any]:
    apps: list[GlmTrayApp] = []

    def make(keyring: Any = None, *, demo: bool = False, name: str | None = None) -> GlmTrayApp:
        app = GlmTrayApp(
            qapp,
            demo=demo,
            base_url=None if demo else sim.base_url,
            credentials=CredentialStore(keyring if keyring is not None else MemoryKeyring()),
            notifier=RecordingNotifier(),  # type: ignore[arg-type]
            instance_name=name or f"glmtray-test-{os.getpid()}-{len(apps)}-{tmp_path.name}",
        )
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.shutdown()
        for widget in (app.panel, app.signin, app.settings_dialog):
            if widget is not None:
                widget.close()


def keyring_with_key(region: Region = Region.GLOBAL) -> MemoryKeyring:
    keyring = MemoryKeyring()
    keyring.set_password("glmtray", f"{region.value}:default", SIMULATOR_API_KEY)
    return keyring


def wait_phase(qtbot: QtBot, app: GlmTrayApp, phase: Phase) -> None:
    qtbot.waitUntil(lambda: app.monitor.state.phase is phase and not app.busy, timeout=WAIT_MS)


def wait_sign_in(qtbot: QtBot, app: GlmTrayApp) -> SignInDialog:
    """The sign-in dialog, once it shows: the key is read on the worker, after start()."""
    qtbot.waitUntil(lambda: app.signin is not None and app.signin.isVisible(), timeout=WAIT_MS)
    assert app.signin is not None
    return app.signin


def test_first_run_asks_to_sign_in_and_a_good_key_is_stored(
    qtbot: QtBot, make_app: Any, sim: PlatformSimulator
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
    assert not app.signin.isVisible()
    assert SettingsStore().load().settings.region is Region.CHINA
    assert app.monitor.state.icon_spec(app.monitor.state.snapshot.fetched_at).look is IconLook.GAUGE  # type: ignore[union-attr]


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
    qtbot: QtBot, make_app: Any, sim: PlatformSimulator
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
    assert app.signin is None or not app.signin.isVisible()


def test_wrong_key_is_said_inline_and_nothing_is_stored(
    qtbot: QtBot, make_app: Any, sim: PlatformSimulator
) -> None:
    sim.set_scenario("wrong_key")
    keyring = MemoryKeyring()
    app = make_app(keyring)
    app.start()
    wait_sign_in(qtbot, app).sign_in_requested.emit(Region.GLOBAL, "bad" * 12)
    qtbot.waitUntil(
        lambda: app.signin is not None and app.signin.isEnabled() and not app.busy, timeout=WAIT_MS
    )
    qtbot.wait(200)
    assert keyring.items == {}
    assert app.signin.isVisible()
    assert app.monitor.state.phase is Phase.SIGNED_OUT
    text = _visible_text(app.signin)
    assert AuthenticationFailed.title in text or "rejected" in text


def test_locked_keyring_offers_this_session_only(
    qtbot: QtBot, make_app: Any, sim: PlatformSimulator
) -> None:
    sim.set_scenario("pro")
    keyring = LockedKeyring()
    app = make_app(keyring)
    app.start()
    wait_sign_in(qtbot, app).sign_in_requested.emit(Region.GLOBAL, SIMULATOR_API_KEY)
    qtbot.waitUntil(lambda: _visible_button(app.signin, "session"), timeout=WAIT_MS)
    assert app.monitor.state.phase is Phase.SIGNED_OUT
    app.signin.session_only_requested.emit(Region.GLOBAL, SIMULATOR_API_KEY)
    wait_phase(qtbot, app, Phase.READY)
    assert app.monitor.state.session_only
    assert app.credentials.is_session_only(Account(Region.GLOBAL))


def test_sign_out_removes_the_key_and_returns_to_sign_in(
    qtbot: QtBot, make_app: Any, sim: PlatformSimulator
) -> None:
    sim.set_scenario("pro")
    keyring = keyring_with_key()
    app = make_app(keyring)
    app.start()
    wait_phase(qtbot, app, Phase.READY)
    app.sign_out()
    assert app.monitor.state.phase is Phase.SIGNED_OUT and app.monitor.state.snapshot is None
    assert app.signin is not None and app.signin.isVisible()
    qtbot.waitUntil(lambda: keyring.items == {}, timeout=WAIT_MS)  # removed on the worker


def test_every_scenario_reaches_a_clear_state(
    qtbot: QtBot, make_app: Any, sim: PlatformSimulator
) -> None:
    keyring = keyring_with_key()
    sim.set_scenario("pro")
    app = make_app(keyring)
    app.start()
    wait_phase(qtbot, app, Phase.READY)
    for name in scenario_names():
        sim.set_scenario(name)
        before = app.monitor.state.last_attempt
        app.refresh(forced=True)
        qtbot.waitUntil(
            lambda b=before: not app.busy and app.monitor.state.last_attempt != b, timeout=WAIT_MS
        )
        state = app.monitor.state
        assert state.phase in (Phase.READY, Phase.ERROR), name
        if state.phase is Phase.ERROR:
            assert state.error is not None and state.error.title and state.error.message
        tooltip = state.tooltip(state.last_attempt)  # type: ignore[arg-type]
        assert tooltip and SIMULATOR_API_KEY not in tooltip
        assert app.panel.isVisible()  # offscreen has no tray: the panel is a window
    sim.set_scenario("weekly_exhausted")
    app.refresh(forced=True)
    wait_phase(qtbot, app, Phase.READY)
    assert app.monitor.state.snapshot is not None
    assert app.monitor.state.snapshot.blocking_window.id == "weekly"  # type: ignore[union-attr]
    notifier = app.notifier
    assert any("Weekly limit reached" in summary for summary, _ in notifier.sent)


def test_no_tray_shows_the_panel_as_a_window_with_a_notice(
    qtbot: QtBot, make_app: Any, sim: PlatformSimulator
) -> None:
    sim.set_scenario("pro")
    app = make_app()
    app.start()
    assert app.panel.isVisible() and not app.panel.is_popup()
    assert any("No system tray" in n for n in app.monitor.state.notices)
    assert app.tray_retry.isActive()


def test_second_start_shows_the_first_ones_panel(
    qtbot: QtBot, make_app: Any, sim: PlatformSimulator, tmp_path: Path
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
    qtbot: QtBot, make_app: Any, isolated_dirs: Path
) -> None:
    keyring = MemoryKeyring()
    app = make_app(keyring, demo=True)
    assert app.start()
    wait_phase(qtbot, app, Phase.READY)
    state = app.monitor.state
    assert state.demo and state.snapshot is not None and state.snapshot.windows
    app.apply_settings(state.settings)
    app.sign_out()  # demo has nothing to remove; must not touch the real keyring
    assert keyring.items == {}
    assert not any(isolated_dirs.rglob("settings.json"))


def test_settings_apply_without_restart(
    qtbot: QtBot, make_app: Any, sim: PlatformSimulator
) -> None:
    from dataclasses import replace

    sim.set_scenario("pro")
    keyring = keyring_with_key()
    app = make_app(keyring)
    app.start()
    wait_phase(qtbot, app, Phase.READY)
    new = replace(app.monitor.state.settings, show_number_in_icon=False, refresh_seconds=300)
    app.apply_settings(new)
    assert app.monitor.state.settings.refresh_seconds == 300
    assert app._icon_key.show_number is False  # type: ignore[attr-defined]
    assert SettingsStore().load().settings.refresh_seconds == 300
    assert app.refresh_timer.remainingTime() > 200_000


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


def test_restriction_seen_in_transcripts_gives_banner_badge_notice_and_review(
    qtbot: QtBot, make_app: Any, sim: PlatformSimulator, isolated_dirs: Path
) -> None:
    from datetime import datetime, timezone

    from PySide6.QtGui import QGuiApplication

    now = datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")
    _write_transcript(
        isolated_dirs / "claude",
        [
            {"type": "assistant", "timestamp": now, "sessionId": "s1", "cwd": "/home/dev/shop",
             "message": {"model": "glm-4.6", "usage": {"input_tokens": 10}}},
            {"type": "assistant", "isApiErrorMessage": True, "apiErrorStatus": 429, "error": "rate_limit",
             "timestamp": now, "sessionId": "s1", "cwd": "/home/dev/shop",
             "message": {"model": "<synthetic>", "content": [{"type": "text", "text": "API Error: 400 [1313][Fair use restriction][trace-abc123]"}]}},
        ],
    )  # fmt: skip
    sim.set_scenario("pro")
    keyring = keyring_with_key()
    app = make_app(keyring)
    app.start()
    qtbot.waitUntil(lambda: "risk" in app.monitor.state.extras, timeout=WAIT_MS)
    state = app.monitor.state
    assert state.restricted
    assert state.icon_spec(datetime.now(timezone.utc)).restricted
    assert app.risk_section.isVisible() or app.risk_section.body.text()
    text = app.risk_section.body.text()
    assert "Restricted by risk control" in text and "1313" in text and "1 of 3" in text
    assert any("restrict" in title.lower() for title, _ in app.notifier.sent)
    request = app.review_text()
    assert request is not None and "1313" in request.body and "trace-abc123" in request.body
    assert SIMULATOR_API_KEY not in request.body + request.mailto_url
    app.request_review()
    clip = QGuiApplication.clipboard().text()
    assert "trace-abc123" in clip and SIMULATOR_API_KEY not in clip


def test_china_risk_flag_restricted_shows_badge(
    qtbot: QtBot, make_app: Any, sim: PlatformSimulator
) -> None:
    from datetime import datetime, timezone

    sim.set_scenario("restricted")
    keyring = keyring_with_key(Region.CHINA)
    from glmtray.settings import Settings

    SettingsStore().save(Settings(region=Region.CHINA))
    app = make_app(keyring)
    app.start()
    qtbot.waitUntil(lambda: "risk" in app.monitor.state.extras, timeout=WAIT_MS)
    assert app.monitor.state.restricted
    assert app.monitor.state.icon_spec(datetime.now(timezone.utc)).restricted
    assert "Restricted" in app.risk_section.body.text()


def test_corrupt_settings_file_is_reset_with_a_notice(
    qtbot: QtBot, make_app: Any, isolated_dirs: Path
) -> None:
    from glmtray.settings import settings_path

    path = settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{ this is not json")
    app = make_app(keyring_with_key())
    app.start()
    assert any("damaged" in notice for notice in app.monitor.state.notices)
    assert list(path.parent.glob("settings.json.corrupt-*"))
    wait_phase(qtbot, app, Phase.READY)


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_meter_follows_settings_and_a_taken_port_is_a_notice(qtbot: QtBot, make_app: Any) -> None:
    import socket
    from dataclasses import replace

    import httpx

    app = make_app(keyring_with_key())
    app.start()
    wait_phase(qtbot, app, Phase.READY)
    assert app.meter is None
    port = _free_port()
    app.apply_settings(replace(app.monitor.state.settings, meter_enabled=True, meter_port=port))
    assert app.meter is not None and app.meter.port == port
    # a coding tool's request reaches the platform through it (here: the simulator)
    response = httpx.get(f"http://127.0.0.1:{port}/api/coding/paas/v4/models", timeout=5)
    assert response.status_code == 404  # the simulator's own answer for a path it lacks
    assert response.json()["success"] is False
    assert app.meter.snapshot().requests_total == 1
    app.apply_settings(replace(app.monitor.state.settings, meter_enabled=False))
    assert app.meter is None
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/api/anthropic/v1/messages", timeout=2)
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        app.apply_settings(
            replace(app.monitor.state.settings, meter_enabled=True, meter_port=taken)
        )
        assert app.meter is None
        assert any(
            str(taken) in notice and "in use" in notice for notice in app.monitor.state.notices
        )
    free = _free_port()
    app.apply_settings(replace(app.monitor.state.settings, meter_port=free))
    assert app.meter is not None
    assert not any("in use" in notice for notice in app.monitor.state.notices)


def test_menu_is_rebuilt_from_state(qtbot: QtBot, make_app: Any, sim: PlatformSimulator) -> None:
    sim.set_scenario("weekly_exhausted")
    app = make_app(keyring_with_key())
    app.start()
    wait_phase(qtbot, app, Phase.READY)
    app._rebuild_menu()
    texts = [action.text() for action in app.menu.actions() if action.text()]
    assert "GLM Coding Pro (Pro)" in texts[0] and "Weekly: 100 %" in texts[0]
    assert not app.menu.actions()[0].isEnabled()
    assert texts[1:] == [
        "Refresh now",
        "Open panel",
        "Settings…",
        "Pause notifications",
        "Sign out",
        "Quit",
    ]
    pause = next(a for a in app.menu.actions() if a.text() == "Pause notifications").menu()
    next(a for a in pause.actions() if a.text() == "For 1 hour").trigger()
    app._rebuild_menu()
    assert any(a.text().startswith("Notifications paused until") for a in app.menu.actions())
    app.sign_out()
    app._rebuild_menu()
    assert "Sign in…" in [a.text() for a in app.menu.actions()]


def test_concurrency_refusals_through_the_meter_notify_once(
    qtbot: QtBot, make_app: Any, sim: PlatformSimulator
) -> None:
    import threading
    from dataclasses import replace

    import httpx

    sim.set_scenario("pro")
    sim.set_coding(limit=1, chunks=6, chunk_delay=0.1)
    try:
        app = make_app(keyring_with_key())
        app.start()
        wait_phase(qtbot, app, Phase.READY)
        app.apply_settings(
            replace(app.monitor.state.settings, meter_enabled=True, meter_port=_free_port())
        )
        assert app.meter is not None
        url = app.meter.url + "/api/coding/paas/v4/chat/completions"
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
        app._tick()
        refused = [title for title, _ in app.notifier.sent if "concurrency" in title]
        assert refused == ["Requests refused: concurrency too high"]
        assert app.monitor.state.extras["concurrency"].peak_5m >= 2

        # The limit seen comes from the event store, read on the worker at once when new
        # 1302s are counted, not at the next refresh (minutes away).
        def limit_seen() -> int | None:
            c = app.monitor.state.extras["concurrency"]
            return c.limit_seen_peak or c.limit_seen_offpeak

        fetches = len(sim.requests)
        qtbot.waitUntil(lambda: limit_seen() is not None, timeout=WAIT_MS)
        assert limit_seen() == 1
        assert len(sim.requests) == fetches  # no refresh of the account was needed for it
        app._tick()  # nothing new: no second notification
        assert len([t for t, _ in app.notifier.sent if "concurrency" in t]) == 1
    finally:
        sim.set_coding(limit=None, chunks=4, chunk_delay=0.0)


def test_renewal_reminder_from_a_hand_entered_date(
    qtbot: QtBot, make_app: Any, sim: PlatformSimulator
) -> None:
    from datetime import date, timedelta

    from glmtray.settings import Settings

    sim.set_scenario("partial")  # the subscription list fails: the date typed in Settings is used
    renewal = date.today() + timedelta(days=5)
    SettingsStore().save(Settings(manual_renewal_date=renewal.isoformat()))
    app = make_app(keyring_with_key())
    app.start()
    wait_phase(qtbot, app, Phase.READY)
    sub = app.monitor.state.snapshot.subscription  # type: ignore[union-attr]
    assert sub is not None and sub.entered_by_hand
    titles = [title for title, _ in app.notifier.sent]
    assert any("renews on" in title for title in titles), titles
