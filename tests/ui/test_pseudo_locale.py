"""A pseudo-locale run: every string of the catalog "translated" to itself marked ⟦...⟧,
installed the way the app installs the real catalog (gettext for the core, the catalog
translator for Qt's tr()). Text shown without the marks escaped translation: the panel
(healthy, restricted, exhausted), the tray menu, the settings and sign-in dialogs, the
notifications and the command line's output. Numbers, times, names and addresses need no
translation and are left out of the check."""

from __future__ import annotations

import gettext
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QComboBox,
    QGroupBox,
    QLabel,
    QLineEdit,
    QTabWidget,
    QWidget,
)
from pytestqt.qtbot import QtBot
from tools.sample_states import risk_report

from glmtray import i18n
from glmtray.activity.risk_text import review_request, risk_notices
from glmtray.alerts import (
    Pause,
    concurrency_notifications,
    failure_notifications,
    threshold_notifications,
)
from glmtray.catalogs import extract, pseudo_catalog, write_mo_file
from glmtray.errors import AuthenticationFailed, PlanExpired, PlatformUnavailable
from glmtray.peak import peak_status
from glmtray.platform.regions import Region
from glmtray.renewal import renewal_notifications
from glmtray.report import snapshot_text
from glmtray.settings import Settings
from glmtray.state import AppState
from glmtray.ui.panel import Panel
from glmtray.ui.settings_dialog import SettingsDialog
from glmtray.ui.signin import SignInDialog
from glmtray.ui.translator import CatalogTranslator
from glmtray.ui.tray import TrayController
from glmtray.wording import region_name

from .conftest import (
    NOW,
    healthy_state,
    make_snapshot,
    make_subscription,
    make_windows,
    restricted_state,
    weekly_exhausted_state,
)

MARKED = re.compile(r"⟦[^⟦⟧]*⟧")
EXEMPT = (
    # Names: the product, its tiers, tools, the app, units and protocols said as they are.
    "GLM Coding Plan", "GLM Coding", "GLM", "Lite", "Pro", "Max", "Claude Code", "OpenCode",
    "glmtray", "UTC", "API", "CSV", "JSON", "English", "SecretService Keyring",
    # The platform's MCP tool names, as the quota lists them.
    "search-prime", "web-reader", "zread",
)  # fmt: skip
ADDRESS = re.compile(
    r"(?:https?|mailto):\S+|[\w.+-]+@[\w-]+\.[\w.]+|\b[\w-]+\.(?:ai|cn|com)\b|~?/[\w./-]+"
)


def unmarked(text: str) -> list[str]:
    """The words of `text` outside every ⟦...⟧ (marks nest where a translated text fills
    another's placeholder), names and addresses left out."""
    rest = text
    while True:
        stripped = MARKED.sub(" ", rest)
        if stripped == rest:
            break
        rest = stripped
    rest = ADDRESS.sub(" ", re.sub(r"<[^>]+>", " ", rest))
    for name in sorted(EXEMPT, key=len, reverse=True):  # "glmtray" before "GLM"
        # Tier badges write the tier's name in capitals ("PRO").
        rest = re.sub(rf"(?<![\w-]){re.escape(name)}(?![\w-])", " ", rest, flags=re.IGNORECASE)
    return re.findall(r"[A-Za-z]{2,}", rest)


def test_the_check_finds_unmarked_words() -> None:
    assert unmarked("⟦Weekly⟧: ⟦⟦5-hour⟧ limit reached⟧ · 17 % · 周二 16:45") == []
    assert unmarked("⟦Plan⟧: GLM Coding Pro · https://z.ai/subscribe") == []
    assert unmarked("⟦Renews⟧ on Tuesday") == ["on", "Tuesday"]


@pytest.fixture(scope="module")
def pseudo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The pseudo catalog, compiled where gettext looks for zh_CN."""
    folder = tmp_path_factory.mktemp("pseudo-locale")
    write_mo_file(pseudo_catalog(extract()), folder / "zh_CN" / "LC_MESSAGES" / "glmtray.mo")
    return folder


@pytest.fixture
def pseudo(pseudo_dir: Path, qapp: QApplication) -> Iterator[None]:
    with (pseudo_dir / "zh_CN" / "LC_MESSAGES" / "glmtray.mo").open("rb") as handle:
        i18n.set_language("zh_CN", translations=gettext.GNUTranslations(handle))
    translator = CatalogTranslator()
    qapp.installTranslator(translator)
    yield
    qapp.removeTranslator(translator)
    i18n.set_language(None)


def shown_texts(widget: QWidget) -> list[str]:
    """What a person can read in `widget`: labels, buttons, group titles, tabs, combo
    entries, placeholders, tooltips and the window title."""
    texts = [widget.windowTitle()]
    for child in widget.findChildren(QWidget):
        if not child.isVisibleTo(widget):
            continue
        if isinstance(child, (QLabel, QAbstractButton)):
            texts.append(child.text())
        elif isinstance(child, QGroupBox):
            texts.append(child.title())
        elif isinstance(child, QComboBox):
            texts.extend(child.itemText(index) for index in range(child.count()))
        elif isinstance(child, QLineEdit):
            texts.append(child.placeholderText())
        elif isinstance(child, QTabWidget):
            texts.extend(child.tabText(index) for index in range(child.count()))
        texts.append(child.toolTip())
    return [text for text in texts if text]


def escaped(texts: list[str]) -> list[tuple[str, list[str]]]:
    return [(text, words) for text in texts if (words := unmarked(text))]


PANEL_STATES = {
    "healthy": lambda: replace(healthy_state(), demo=True),
    "restricted": restricted_state,
    "exhausted": weekly_exhausted_state,
}


@pytest.mark.parametrize("name", sorted(PANEL_STATES))
def test_the_panel_shows_only_translated_text(pseudo: None, qtbot: QtBot, name: str) -> None:
    state: AppState = PANEL_STATES[name]()
    panel = Panel()
    qtbot.addWidget(panel)
    panel.set_height_limit(4000)
    panel.show_state(state, NOW)
    panel.show()
    texts = shown_texts(panel)
    assert len(texts) > 10
    assert escaped(texts) == []
    # Dates come out in the language's own form, not English month or day names.
    assert not re.search(r"\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun|Jan|Feb|Mar|Apr)\b", "\n".join(texts))


def test_the_tray_menu_shows_only_translated_text(pseudo: None, qtbot: QtBot) -> None:
    pause = Pause()
    tray = TrayController(pause)
    tray.render(weekly_exhausted_state(), force=True)
    texts = tray.menu_texts()
    pause.for_duration(NOW, timedelta(days=3650))
    texts += tray.menu_texts()
    assert len(texts) > 8
    assert escaped(texts) == []
    tray.hide()


def test_the_settings_dialog_shows_only_translated_text(pseudo: None, qtbot: QtBot) -> None:
    dialog = SettingsDialog(
        Settings(manual_renewal_date="2026-04-12"), signed_in=True, backend_name="SecretService Keyring"
    )  # fmt: skip
    qtbot.addWidget(dialog)
    dialog.show()
    texts: list[str] = []
    for index in range(dialog.tabs.count()):
        dialog.tabs.setCurrentIndex(index)
        texts += shown_texts(dialog)
    assert len(texts) > 40
    # The language menu names each language in its own words; the rest is translated.
    assert escaped(texts) == []
    assert {"English", "简体中文"} <= {
        dialog.language_combo.itemText(i) for i in range(dialog.language_combo.count())
    }


def test_the_sign_in_dialog_shows_only_translated_text(pseudo: None, qtbot: QtBot) -> None:
    dialog = SignInDialog(Region.CHINA)
    qtbot.addWidget(dialog)
    dialog.show()
    texts = shown_texts(dialog)
    error = AuthenticationFailed()
    dialog.show_error(error.title, error.message, offer_session_only=True)
    texts += shown_texts(dialog)
    assert len(texts) > 8
    assert escaped(texts) == []


def test_notifications_are_translated(pseudo: None) -> None:
    settings = Settings()
    exhausted = weekly_exhausted_state().snapshot
    assert exhausted is not None
    notes = threshold_notifications(exhausted, settings, set(), NOW)
    soon = make_subscription(renew_in_days=4)
    for days in (0, 3):
        notes += renewal_notifications(
            replace(soon, next_renewal=(NOW + timedelta(days=days + 3)).date()),
            settings, Region.CHINA, NOW, set(),
        )  # fmt: skip
    ending = make_subscription(renew_in_days=2, auto_renew=False)
    notes += renewal_notifications(ending, settings, Region.CHINA, NOW, set())
    since = NOW - timedelta(hours=2)
    notes += failure_notifications(PlanExpired(), since, NOW, settings, set())
    notes += failure_notifications(AuthenticationFailed(), since, NOW, settings, set())
    notes += failure_notifications(PlatformUnavailable(), since, NOW, settings, set())
    notes += concurrency_notifications(0, 3, NOW, settings, set(), peak=peak_status(NOW))
    kinds = {note.kind for note in notes}
    assert {"threshold", "renewal", "no_plan", "key_rejected", "concurrency"} <= kinds
    texts = [text for note in notes for text in (note.title, note.body)]
    # Risk control: a restriction, a lock, a used-up window and throttling.
    for signals in (
        ((timedelta(hours=1), 1313),),
        ((timedelta(hours=2), 1313), (timedelta(minutes=5), 1112)),
        ((timedelta(minutes=3), 1310),),
        ((timedelta(minutes=3), 1302), (timedelta(minutes=2), 1302), (timedelta(minutes=1), 1302)),
    ):
        texts += [
            text
            for notice in risk_notices(None, risk_report(*signals).state)
            for text in (notice.title, notice.body)
        ]
    assert len(texts) > 20
    assert escaped(texts) == []


def test_the_review_request_is_translated(pseudo: None) -> None:
    report = risk_report((timedelta(hours=3), 1313), (timedelta(hours=1), 1313))
    region = region_name(Region.CHINA)  # as the app names it
    request = review_request("support@example.com", region, "GLM Coding Pro", report.state)
    # The body as a whole: one translated paragraph spans two lines.
    assert escaped([request.subject, request.body]) == []


def test_status_text_is_translated(pseudo: None) -> None:
    snapshot = make_snapshot(
        windows=make_windows(five=100, weekly=40), subscription=make_subscription(renew_in_days=2)
    )
    text = snapshot_text(snapshot, NOW, peak=peak_status(NOW))
    assert escaped(text.splitlines()) == []


def test_help_is_translated(pseudo_dir: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("LC_ALL", "LC_MESSAGES", "LANG")}
    env.update(LANGUAGE="zh_CN", LANG="C.UTF-8", GLMTRAY_LOCALE_DIR=str(pseudo_dir))
    for args in ([], ["status"], ["statusline"], ["history"]):
        result = subprocess.run(
            [sys.executable, "-m", "glmtray", *args, "--help"],
            capture_output=True, text=True, timeout=60, env=env,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        # argparse wraps a marked text over lines: the marks are checked on the whole.
        shown = " ".join(result.stdout.split())
        # Command and option names, metavars and choices are what a person types.
        typed = re.sub(
            r"(?<![\w⟦])-{1,2}[\w-]+|\b[A-Z_]{2,}\b|\{[\w,]+\}|\[[\w ,]+\]|\b(?:status|login|logout|simulate|meter|history|statusline)\b",
            " ",
            shown,
        )
        assert unmarked(typed) == [], args
