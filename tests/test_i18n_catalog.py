"""The zh_CN catalog against the code: every marked string translated, placeholders kept,
the glossary's terms used where their English appears, the catalog compiled by the build,
and the language machinery (environment, settings, dates, argparse's words)."""

from __future__ import annotations

import gettext
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message

from glmtray import i18n
from glmtray.catalogs import (
    LOCALE_DIR,
    catalog_paths,
    compile_catalog,
    ensure_compiled,
    extract,
    placeholders,
    read_catalog,
    untranslated,
)

ZH_PO = LOCALE_DIR / "zh_CN" / "LC_MESSAGES" / "glmtray.po"
GLOSSARY = LOCALE_DIR / "GLOSSARY.md"


@pytest.fixture(scope="module", autouse=True)
def compiled() -> None:
    """The catalog compiled as `make` compiles it (for a run started without make)."""
    ensure_compiled()


@pytest.fixture(scope="module")
def extracted() -> Catalog:
    return extract()


@pytest.fixture(scope="module")
def zh() -> Catalog:
    return read_catalog(ZH_PO)


def _ids(message: Message) -> list[str]:
    return [message.id] if isinstance(message.id, str) else [str(part) for part in message.id]


def _strings(message: Message) -> list[str]:
    value = message.string
    return [value] if isinstance(value, str) else [str(part or "") for part in value]


def test_every_marked_string_has_a_chinese_translation(extracted: Catalog, zh: Catalog) -> None:
    """Run `python -m glmtray.catalogs update` and translate what this lists."""
    missing = []
    for message in extracted:
        if not message.id:
            continue
        found = zh.get(message.id, context=message.context)
        if found is None or found in untranslated(zh) or not all(_strings(found)):
            missing.append(_ids(message)[0])
    assert missing == []


def test_translations_keep_every_placeholder(zh: Catalog) -> None:
    """A translation may reorder {name}, %s, %(x)s and %n, never drop or add one (a
    dropped one loses information, an added one raises at format time)."""
    wrong = []
    for message in zh:
        if not message.id:
            continue
        # Chinese has one plural form: it must hold what the English plural holds.
        expected = placeholders(_ids(message)[-1])
        for text in _strings(message):
            if placeholders(text) != expected:
                wrong.append((_ids(message)[0], text))
    assert wrong == []


def test_the_placeholder_check_sees_each_kind() -> None:
    assert placeholders("{n} of {limit:,} %s %(prog)s %n 100 %%") == sorted(
        ["{n}", "{limit:,}", "%s", "%(prog)s", "%n"]
    )
    assert placeholders("{count} 个请求") != placeholders("{count} requests {n}")


def _glossary() -> list[tuple[list[str], list[str]]]:
    rows = []
    for line in GLOSSARY.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 3 or cells[0] in ("English", "") or set(cells[0]) <= {"-"}:
            continue
        rows.append(
            (
                [term.strip() for term in cells[0].split(" / ")],
                [t.strip() for t in cells[1].split(" / ")],
            )
        )
    return rows


_PLACEHOLDER_OR_PRODUCT = re.compile(
    r"\{window\} (?:quota|window)|\{[^{}]*\}|GLM Coding Plan|[~\w./-]+\.jsonc?\b", re.IGNORECASE
)
"""Left out of the English before looking for terms: a placeholder (a "{window} quota"
says its term through the window's own name, "周额度"), the product's name and file names
("~/.claude/settings.json")."""


def glossary_violations(
    catalog: Catalog, rows: list[tuple[list[str], list[str]]]
) -> list[tuple[str, str, str]]:
    """(term, English, translation) for each translation lacking the Chinese term of an
    English term its source holds (placeholders and the product's name left out)."""
    found = []
    for message in catalog:
        if not message.id:
            continue
        english = [_PLACEHOLDER_OR_PRODUCT.sub(" ", text) for text in _ids(message)]
        for terms, chinese in rows:
            pattern = re.compile(
                r"(?<![\w-])(?:" + "|".join(re.escape(t) for t in terms) + r")(?![\w-])",
                re.IGNORECASE,
            )
            if any(pattern.search(text) for text in english):
                found.extend(
                    (terms[0], _ids(message)[0], text)
                    for text in _strings(message)
                    if not any(word in text for word in chinese)
                )
    return found


def test_the_glossary_terms_are_used_wherever_their_english_appears(zh: Catalog) -> None:
    rows = _glossary()
    assert len(rows) >= 30
    assert glossary_violations(zh, rows) == []


def test_the_glossary_check_finds_a_term_translated_otherwise() -> None:
    catalog = Catalog(locale="zh_CN")
    catalog.add("Quota used", "配额已用")  # 额度 is the platform's word
    catalog.add("{plan} renews", "{plan} 续费")  # a placeholder named like a term is no term
    catalog.add("GLM Coding Plan", "GLM Coding Plan")  # the product's name stays
    assert glossary_violations(catalog, _glossary()) == [("quota", "Quota used", "配额已用")]


def test_the_build_compiles_the_catalog_gettext_reads(tmp_path: Path) -> None:
    mo = compile_catalog(ZH_PO, tmp_path / "zh_CN" / "LC_MESSAGES" / "glmtray.mo")
    translations = gettext.translation("glmtray", tmp_path, languages=["zh_CN"])
    assert translations.gettext("Weekly") == "周额度"
    assert translations.ngettext("{count} request", "{count} requests", 3) == "{count} 个请求"
    assert translations.pgettext("list separator", ", ") == "、"
    assert mo.stat().st_size > 10_000


def test_no_compiled_catalog_is_committed() -> None:
    tracked = subprocess.run(
        ["git", "ls-files", "*.mo"], capture_output=True, text=True, check=True,
        cwd=Path(__file__).resolve().parents[1],
    ).stdout  # fmt: skip
    assert tracked == ""
    assert catalog_paths() == [ZH_PO]


@pytest.fixture
def language() -> Iterator[None]:
    yield
    i18n.set_language(None)


def test_the_environment_chooses_the_language(
    monkeypatch: pytest.MonkeyPatch, language: None
) -> None:
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(name, raising=False)
    assert i18n.system_language() == "en"
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    assert i18n.system_language() == "zh_CN"
    monkeypatch.setenv("LC_ALL", "en_GB.UTF-8")  # LC_ALL wins over LANG
    assert i18n.system_language() == "en"
    monkeypatch.setenv("LANGUAGE", "zh_TW:en")  # LANGUAGE wins over both
    assert i18n.system_language() == "zh_CN"
    assert i18n.set_language("system") == "zh_CN"
    assert i18n.set_language("en") == "en" and i18n._("Weekly") == "Weekly"


def test_dates_and_durations_follow_the_language(language: None) -> None:
    tuesday = datetime(2026, 12, 1, 16, 45, tzinfo=timezone.utc)
    i18n.set_language("en")
    assert i18n.full_moment(tuesday) == "Tue 1 Dec 16:45"
    assert i18n.near_moment(tuesday, tuesday - timedelta(days=2)) == "Tue 16:45"
    assert i18n.day_month_year(date(2026, 2, 12)) == "12 Feb 2026"
    assert i18n.duration(timedelta(hours=2, minutes=14)) == "2 h 14 min"
    i18n.set_language("zh_CN")
    assert i18n.full_moment(tuesday) == "12月1日 周二 16:45"
    assert i18n.near_moment(tuesday, tuesday - timedelta(days=2)) == "周二 16:45"
    assert i18n.near_moment(tuesday, tuesday - timedelta(days=9)) == "12月1日 16:45"
    assert i18n.day_month_year(date(2026, 2, 12)) == "2026年2月12日"
    assert i18n.duration(timedelta(hours=2, minutes=14)) == "2小时14分钟"
    assert i18n.duration(timedelta(days=3, hours=4)) == "3天4小时"


def _cli(*args: str, language: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")
    }
    return subprocess.run(
        [sys.executable, "-m", "glmtray", *args],
        capture_output=True, text=True, timeout=60,
        env={**clean, "LANGUAGE": language, "LANG": "C.UTF-8", **env},
    )  # fmt: skip


def test_help_is_chinese_with_argparse_words_in_a_chinese_locale() -> None:
    result = _cli("--help", language="zh_CN")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("用法：glmtray")
    assert "选项" in result.stdout and "显示此帮助信息并退出" in result.stdout
    english = _cli("--help", language="en")
    assert english.stdout.startswith("usage: glmtray") and "show this help" in english.stdout


def test_the_saved_language_is_read_without_touching_the_file(tmp_path: Path) -> None:
    from glmtray.settings import saved_language

    path = tmp_path / "settings.json"
    assert saved_language(path) == "system"  # no file
    path.write_text('{"schema_version": 1, "language": "en"}')
    assert saved_language(path) == "system"  # version 1 saved "en" for everyone
    path.write_text('{"schema_version": 2, "language": "zh_CN"}')
    assert saved_language(path) == "zh_CN"
    path.write_text("{not json")
    assert saved_language(path) == "system" and path.read_text() == "{not json"


def test_the_platform_is_asked_in_the_chosen_language(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from glmtray.first_fetch import preferred_language
    from glmtray.settings import settings_path

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    assert preferred_language() == "zh"
    settings_path().parent.mkdir(parents=True, exist_ok=True)
    settings_path().write_text('{"schema_version": 2, "language": "en"}')
    assert preferred_language() == "en"
