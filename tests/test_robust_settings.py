"""Settings files as they turn up on real disks: with a BOM, in another encoding, with
JSON that is not JSON, nested absurdly, huge, a folder, or unreadable. Each loads defaults
with a notice, and the bad file is kept aside under a name of its own."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import pytest

from glmtray.platform.regions import Region
from glmtray.settings import MAX_SETTINGS_BYTES, Settings, SettingsStore


def test_a_utf8_bom_loads_the_settings(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_bytes(
        b"\xef\xbb\xbf" + json.dumps({"region": "china", "refresh_seconds": 300}).encode()
    )
    result = SettingsStore(path).load()
    assert result.notice is None
    assert result.settings == replace(Settings(), region=Region.CHINA, refresh_seconds=300)
    assert path.exists()


@pytest.mark.parametrize(
    "content",
    [
        b'{"region": "china", "account_label": "caf\xe9"}',  # Latin-1, not UTF-8
        b'{"refresh_seconds": NaN}',
        b'{"refresh_seconds": Infinity}',
        b'{"thresholds": [-Infinity]}',
        b'{"extra": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        b'{"extra": ' + b'{"a":' * 40 + b"1" + b"}" * 40 + b"}",
        b'{"meter_port": ' + b"9" * 5000 + b"}",
        b'{"schema_version": true}',
        b"\xff\xfe{\x00}\x00",  # UTF-16
    ],
    ids=[
        "latin1",
        "nan",
        "inf",
        "neg-inf",
        "deep-list",
        "deep-extra",
        "5000-digits",
        "bool-version",
        "utf16",
    ],
)
def test_unusable_files_are_set_aside_with_a_notice(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "settings.json"
    path.write_bytes(content)
    result = SettingsStore(path).load()
    assert result.settings == Settings()
    assert result.notice is not None and "reset to defaults" in result.notice
    kept = list(tmp_path.glob("settings.json.corrupt-*"))
    assert len(kept) == 1 and kept[0].read_bytes() == content
    assert kept[0].name in result.notice and not path.exists()


def test_huge_numbers_in_fields_are_dropped_not_fatal(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text('{"refresh_seconds": 1e400, "meter_port": 1e308, "thresholds": [1e400, 90]}')
    result = SettingsStore(path).load()
    assert result.notice is None and path.exists()
    assert result.settings.refresh_seconds == Settings().refresh_seconds
    assert result.settings.meter_port == 65535
    assert result.settings.thresholds == Settings().thresholds


def test_two_set_aside_copies_in_one_second_keep_both(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    store = SettingsStore(path)
    names = []
    for content in ("{broken one", "{broken two", "{broken three"):
        path.write_text(content)
        notice = store.load().notice
        assert notice is not None
        names.append(notice)
    kept = sorted(tmp_path.glob("settings.json.corrupt-*"))
    assert sorted(p.read_text() for p in kept) == ["{broken one", "{broken three", "{broken two"]
    assert len(set(names)) == 3


def test_an_oversized_file_is_set_aside(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_bytes(b'{"x": "' + b"a" * MAX_SETTINGS_BYTES + b'"}')
    result = SettingsStore(path).load()
    assert result.notice is not None and result.settings == Settings()
    assert len(list(tmp_path.glob("settings.json.corrupt-*"))) == 1


def test_a_folder_in_place_of_the_file(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.mkdir()
    (path / "inside").write_text("x")
    store = SettingsStore(path)
    result = store.load()
    assert result.notice is not None and result.settings == Settings()
    kept = list(tmp_path.glob("settings.json.corrupt-*"))
    assert len(kept) == 1 and (kept[0] / "inside").read_text() == "x"
    store.save(replace(Settings(), refresh_seconds=600))  # and saving works again
    assert store.load().settings.refresh_seconds == 600


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX-only")
def test_a_named_pipe_in_place_of_the_file_does_not_block(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    os.mkfifo(path)
    result = SettingsStore(path).load()  # opening it for reading would wait for a writer
    assert result.notice is not None and result.settings == Settings()
    assert not path.exists() and len(list(tmp_path.glob("settings.json.corrupt-*"))) == 1
