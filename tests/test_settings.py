from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from glmtray.errors import SettingsError
from glmtray.platform.regions import Region
from glmtray.settings import (
    MIN_REFRESH_SECONDS,
    SCHEMA_VERSION,
    Settings,
    SettingsStore,
    settings_path,
)


def test_defaults_when_no_file(tmp_path: Path) -> None:
    result = SettingsStore(tmp_path / "settings.json").load()
    assert result.settings == Settings() and result.notice is None
    assert result.settings.refresh_seconds == 120
    assert result.settings.thresholds == (80, 95, 100)


def test_round_trip(tmp_path: Path) -> None:
    store = SettingsStore(tmp_path / "sub" / "settings.json")
    changed = replace(
        Settings(),
        region=Region.CHINA,
        refresh_seconds=300,
        thresholds=(50, 90, 100),
        show_number_in_icon=False,
    )
    store.save(changed)
    data = json.loads(store.path.read_text())
    assert data["schema_version"] == SCHEMA_VERSION and data["region"] == "china"
    assert store.load().settings == changed
    assert [p.name for p in store.path.parent.iterdir()] == ["settings.json"]  # no temp file left


def test_values_are_clamped(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(
        json.dumps(
            {
                "refresh_seconds": 5,
                "thresholds": [120, 10, 10],
                "icon_style": "neon",
                "meter_port": 80,
            }
        )
    )
    settings = SettingsStore(path).load().settings
    assert settings.refresh_seconds == MIN_REFRESH_SECONDS
    assert settings.thresholds == (10, 100)
    assert settings.icon_style == "auto"
    assert settings.meter_port == 1024


def test_mistyped_entries_fall_back_to_defaults(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(
        json.dumps(
            {"region": "mars", "notify_reset": "yes", "refresh_seconds": "often", "unknown": 1}
        )
    )
    result = SettingsStore(path).load()
    assert result.settings == Settings() and result.notice is None


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", '{"schema_version": 99}', "\x00\x01"])
def test_corrupt_file_is_set_aside_with_a_notice(tmp_path: Path, content: str) -> None:
    path = tmp_path / "settings.json"
    path.write_text(content)
    result = SettingsStore(path).load()
    assert result.settings == Settings()
    assert result.notice is not None and "reset to defaults" in result.notice
    kept = list(tmp_path.glob("settings.json.corrupt-*"))
    assert len(kept) == 1 and kept[0].read_text() == content
    assert not path.exists()


def test_save_failure_is_a_settings_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(SettingsError):
        SettingsStore(blocker / "settings.json").save(Settings())


def test_default_path_follows_xdg(isolated_dirs: Path) -> None:
    assert str(settings_path()).startswith(str(isolated_dirs))


def test_a_file_written_before_peak_rule_loads_with_auto(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    old = {"schema_version": 1, "region": "china", "peak_hours": "15:00-19:00"}
    path.write_text(json.dumps(old))
    result = SettingsStore(path).load()
    assert result.notice is None
    assert result.settings.peak_rule == "auto" and result.settings.peak_hours == "15:00-19:00"
    assert result.settings.region is Region.CHINA


@pytest.mark.parametrize(
    ("raw", "loaded"),
    [("credit", "credit"), ("TOKEN ", "token"), ("auto", "auto"), ("3x", "auto"), (None, "auto"),
     (7, "auto")],
)  # fmt: skip
def test_peak_rule_is_kept_when_known_else_auto(tmp_path: Path, raw: object, loaded: str) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"schema_version": 1, "peak_rule": raw}))
    assert SettingsStore(path).load().settings.peak_rule == loaded


def test_peak_rule_round_trips_with_the_schema_version(tmp_path: Path) -> None:
    store = SettingsStore(tmp_path / "settings.json")
    store.save(replace(Settings(), peak_rule="token"))
    saved = json.loads((tmp_path / "settings.json").read_text())
    assert saved["peak_rule"] == "token" and saved["schema_version"] == SCHEMA_VERSION
    assert store.load().settings.peak_rule == "token"


def test_a_version_1_file_follows_the_system_language(tmp_path: Path) -> None:
    """Version 1 saved its default "en" in every file: nobody chose it, so it reads as
    "system"; a file of the current version keeps an explicit English."""
    store = SettingsStore(tmp_path / "settings.json")
    store.path.write_text(
        json.dumps({"schema_version": 1, "language": "en", "refresh_seconds": 300})
    )
    loaded = store.load().settings
    assert loaded.language == "system" and loaded.refresh_seconds == 300
    store.save(replace(loaded, language="en"))
    assert json.loads(store.path.read_text())["schema_version"] == SCHEMA_VERSION == 2
    assert store.load().settings.language == "en"
    store.path.write_text(json.dumps({"schema_version": 1, "language": "zh_CN"}))
    assert store.load().settings.language == "zh_CN"


def test_language_defaults_to_system_and_refuses_unknown_values(tmp_path: Path) -> None:
    store = SettingsStore(tmp_path / "settings.json")
    assert store.load().settings.language == "system"
    store.path.write_text(json.dumps({"language": "klingon"}))
    assert store.load().settings.language == "system"
