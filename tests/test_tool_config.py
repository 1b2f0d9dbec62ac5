"""One-click setup of coding tools, on real files in temporary folders: the merge keeps the
user's other keys in their order and the file's style, a backup is kept, undo restores the
exact bytes (and refuses after an outside change), and files glmtray should not touch are
left alone."""

from __future__ import annotations

import json
import os
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glmtray.platform.regions import Region
from glmtray.tool_config import (
    BACKUP_MARK,
    REMOVE,
    Entry,
    ToolConfigError,
    apply_plan,
    plan_edit,
    undo,
)
from glmtray.tool_setup import (
    STATUSLINE_COMMAND,
    STATUSLINE_REFRESH_SECONDS,
    ToolTarget,
    claude_code_target,
    claude_settings_path,
    is_meter_url,
    opencode_config_path,
    opencode_target,
    statusline_command,
)

PORT = 9123
METER_ANTHROPIC = "http://127.0.0.1:9123/api/anthropic"
METER_OPENAI = "http://127.0.0.1:9123/api/coding/paas/v4"
NOW = datetime(2026, 12, 1, 18, 30, tzinfo=timezone.utc)
KEY = "0123456789abcdef0123456789abcdef.ZyXwVuTsRqPoNmLk"

# As Claude Code writes it (JSON.stringify with two spaces), so that a round trip can be
# compared byte for byte.
USER_SETTINGS = """{
  "model": "opus",
  "env": {
    "ANTHROPIC_AUTH_TOKEN": "KEY",
    "ANTHROPIC_BASE_URL": "https://api.z.ai/api/anthropic",
    "API_TIMEOUT_MS": "3000000",
    "LANG_NOTE": "中文 ✓"
  },
  "permissions": {
    "allow": [
      "Bash(ls:*)"
    ],
    "deny": []
  },
  "alwaysThinkingEnabled": true,
  "cleanupPeriodDays": 30
}
""".replace("KEY", KEY)


def claude(home: Path, region: Region = Region.GLOBAL) -> tuple[Path, ToolTarget]:
    target = claude_code_target(PORT, region, command=STATUSLINE_COMMAND, environ={}, home=home)
    return target.path, target


def write(path: Path, data: bytes | str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)


def backups(path: Path) -> list[Path]:
    return sorted(path.parent.glob(path.name + BACKUP_MARK + "*"))


def test_setup_merges_keeping_every_other_key_in_order(tmp_path: Path) -> None:
    target = claude_code_target(
        PORT, Region.GLOBAL, command=STATUSLINE_COMMAND, environ={}, home=tmp_path
    )
    write(target.path, USER_SETTINGS)
    before = target.path.read_bytes()

    plan = plan_edit(target.path, target.setup)
    assert target.path.read_bytes() == before  # planning writes nothing
    assert plan.describe() == [
        f'env.ANTHROPIC_BASE_URL: "https://api.z.ai/api/anthropic" → "{METER_ANTHROPIC}"',
        'statusLine: (not set) → {"type": "command", "command": "glmtray statusline", '
        '"refreshInterval": 30}',
    ]
    diff = plan.diff()
    assert '-    "ANTHROPIC_BASE_URL": "https://api.z.ai/api/anthropic",' in diff
    assert f'+    "ANTHROPIC_BASE_URL": "{METER_ANTHROPIC}",' in diff

    applied = apply_plan(plan, now=NOW)
    after = json.loads(target.path.read_text(encoding="utf-8"))
    assert list(after) == [
        "model", "env", "permissions", "alwaysThinkingEnabled", "cleanupPeriodDays", "statusLine"
    ]  # fmt: skip
    assert list(after["env"]) == [
        "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL", "API_TIMEOUT_MS", "LANG_NOTE"
    ]  # fmt: skip
    assert after["env"]["ANTHROPIC_BASE_URL"] == METER_ANTHROPIC
    assert after["env"]["LANG_NOTE"] == "中文 ✓"
    assert after["permissions"] == {"allow": ["Bash(ls:*)"], "deny": []}
    assert after["statusLine"] == {
        "type": "command", "command": "glmtray statusline", "refreshInterval": 30
    }  # fmt: skip
    text = target.path.read_text(encoding="utf-8")
    assert "中文 ✓" in text  # written as UTF-8, not as \u escapes
    assert text.endswith("}\n") and '\n  "model": "opus",\n' in text  # two-space indent kept

    # The previous file is kept byte for byte, named after the time of the change.
    assert applied.backup == target.path.with_name(
        "settings.json" + BACKUP_MARK + "20261201T183000Z"
    )
    assert backups(target.path) == [applied.backup]
    assert applied.backup.read_bytes() == before

    undo(applied)
    assert target.path.read_bytes() == before


def test_a_second_change_in_the_same_second_keeps_the_first_backup(tmp_path: Path) -> None:
    path, target = claude(tmp_path)
    write(path, USER_SETTINGS)
    original = path.read_bytes()
    first = apply_plan(plan_edit(path, target.setup), now=NOW)
    written = path.read_bytes()
    second = apply_plan(plan_edit(path, [Entry(("model",), "sonnet")]), now=NOW)
    assert first.backup is not None and second.backup is not None
    assert second.backup != first.backup
    assert first.backup.read_bytes() == original
    assert second.backup.read_bytes() == written
    assert len(backups(path)) == 2


def test_tab_indent_crlf_and_bom_are_kept(tmp_path: Path) -> None:
    path, target = claude(tmp_path)
    original = '\ufeff{\r\n\t"theme": "dark",\r\n\t"env": {\r\n\t\t"X": "1"\r\n\t}\r\n}'
    write(path, original)
    applied = apply_plan(plan_edit(path, target.setup))
    data = path.read_bytes()
    assert data.startswith(b'\xef\xbb\xbf{\r\n\t"theme": "dark",\r\n\t"env": {\r\n\t\t"X": "1",')
    assert b"\n" not in data.replace(b"\r\n", b"")  # every line ends CRLF
    assert not data.endswith(b"\n")  # the file had no final newline: none is added
    assert json.loads(data.decode("utf-8-sig"))["env"] == {
        "X": "1",
        "ANTHROPIC_BASE_URL": METER_ANTHROPIC,
    }
    undo(applied)
    assert path.read_bytes() == original.encode("utf-8")


def test_a_one_line_file_stays_on_one_line(tmp_path: Path) -> None:
    path, target = claude(tmp_path)
    write(path, '{"model":"opus"}')
    apply_plan(plan_edit(path, target.setup))
    text = path.read_text(encoding="utf-8")
    assert "\n" not in text
    assert json.loads(text)["model"] == "opus"


def test_missing_file_and_folder_are_created_and_undo_removes_the_file(tmp_path: Path) -> None:
    path, target = claude(tmp_path)
    assert not path.parent.exists()
    plan = plan_edit(path, target.setup)
    assert plan.old_bytes is None
    assert plan.diff().startswith("--- /dev/null\n")
    applied = apply_plan(plan)
    assert applied.backup is None and backups(path) == []
    assert json.loads(path.read_text(encoding="utf-8")) == {
        "env": {"ANTHROPIC_BASE_URL": METER_ANTHROPIC},
        "statusLine": {
            "type": "command", "command": "glmtray statusline", "refreshInterval": 30
        },
    }  # fmt: skip
    assert (path.stat().st_mode & 0o777) == 0o600  # such files often end up holding a key
    undo(applied)
    assert not path.exists()


def test_the_file_mode_is_kept(tmp_path: Path) -> None:
    path, target = claude(tmp_path)
    write(path, "{}\n")
    os.chmod(path, 0o640)
    apply_plan(plan_edit(path, target.setup))
    assert (path.stat().st_mode & 0o777) == 0o640


def test_a_symbolic_link_stays_a_link(tmp_path: Path) -> None:
    path, target = claude(tmp_path)
    real = tmp_path / "dotfiles" / "claude-settings.json"
    write(real, '{"model": "opus"}\n')
    path.parent.mkdir(parents=True)
    path.symlink_to(real)
    applied = apply_plan(plan_edit(path, target.setup))
    assert path.is_symlink()
    assert (
        json.loads(real.read_text(encoding="utf-8"))["env"]["ANTHROPIC_BASE_URL"] == METER_ANTHROPIC
    )
    assert applied.backup is not None and applied.backup.parent == real.parent


def test_undo_is_refused_after_an_outside_change(tmp_path: Path) -> None:
    path, target = claude(tmp_path)
    write(path, USER_SETTINGS)
    applied = apply_plan(plan_edit(path, target.setup))
    edited = path.read_text(encoding="utf-8").replace('"opus"', '"sonnet"')
    path.write_text(edited, encoding="utf-8")
    with pytest.raises(ToolConfigError) as raised:
        undo(applied)
    assert "changed since glmtray wrote it" in raised.value.message
    assert str(applied.backup) in raised.value.message
    assert path.read_text(encoding="utf-8") == edited  # the newer edit is kept


def test_apply_is_refused_when_the_file_changed_after_the_plan_was_shown(tmp_path: Path) -> None:
    path, target = claude(tmp_path)
    write(path, USER_SETTINGS)
    plan = plan_edit(path, target.setup)
    write(path, USER_SETTINGS.replace("opus", "haiku"))
    with pytest.raises(ToolConfigError, match="changed after glmtray showed the change"):
        apply_plan(plan)
    assert "haiku" in path.read_text(encoding="utf-8")
    assert backups(path) == []


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b'{"model": "opus",\n  "env": {', "is not valid JSON (line 2"),
        (b'{\n  // my settings\n  "model": "opus"\n}\n', "comments or trailing commas"),
        (b'{"model": "opus",}', "comments or trailing commas"),
        (b'["not", "an", "object"]', "does not hold a JSON object"),
        (b'{"model": "\xff\xfe opus"}', "is not UTF-8 text"),
        (b'{"env": "ANTHROPIC_BASE_URL=x"}', '"env" is not a JSON object'),
        (b'{"model": "opus", "model": "sonnet"}', 'has the key "model" more than once'),
    ],
)
def test_files_glmtray_will_not_edit_are_left_untouched(
    tmp_path: Path, content: bytes, expected: str
) -> None:
    path, target = claude(tmp_path)
    write(path, content)
    with pytest.raises(ToolConfigError) as raised:
        plan_edit(path, target.setup)
    assert expected in raised.value.message
    assert str(path) in raised.value.message
    assert path.read_bytes() == content
    assert sorted(p.name for p in path.parent.iterdir()) == ["settings.json"]


def test_an_unreadable_settings_path_is_left_alone(tmp_path: Path) -> None:
    # A folder where the file should be: unreadable as a file even for root (CI runs as root,
    # which chmod 000 does not stop).
    path, target = claude(tmp_path)
    path.mkdir(parents=True)
    with pytest.raises(ToolConfigError, match="is a folder, not a settings file"):
        plan_edit(path, target.setup)
    assert path.is_dir() and list(path.iterdir()) == []


def test_a_file_where_the_folder_should_be_is_reported(tmp_path: Path) -> None:
    write(tmp_path / ".claude", "not a folder")
    path, target = claude(tmp_path)
    with pytest.raises(ToolConfigError, match="a file stands where its folder should be"):
        plan_edit(path, target.setup)
    assert (tmp_path / ".claude").read_text(encoding="utf-8") == "not a folder"


def test_an_empty_file_counts_as_no_settings(tmp_path: Path) -> None:
    path, target = claude(tmp_path)
    write(path, "")
    applied = apply_plan(plan_edit(path, target.setup))
    assert json.loads(path.read_text(encoding="utf-8"))["env"] == {
        "ANTHROPIC_BASE_URL": METER_ANTHROPIC
    }
    undo(applied)
    assert path.read_bytes() == b""


def test_setting_up_twice_changes_nothing_the_second_time(tmp_path: Path) -> None:
    path, target = claude(tmp_path)
    write(path, USER_SETTINGS)
    apply_plan(plan_edit(path, target.setup))
    again = plan_edit(path, target.setup)
    assert not again.has_changes and again.describe() == [] and again.diff() == ""
    before = path.read_bytes()
    apply_plan(again)
    assert path.read_bytes() == before and len(backups(path)) == 1


def test_an_existing_glmtray_status_line_with_options_is_kept(tmp_path: Path) -> None:
    path, target = claude(tmp_path)
    own = {"type": "command", "command": "glmtray statusline --format '{plan} {five_hour}'"}
    write(path, json.dumps({"statusLine": own}))
    plan = plan_edit(path, target.setup)
    assert [c.key for c in plan.changes] == ["env.ANTHROPIC_BASE_URL"]


def test_another_status_line_is_replaced_and_shown_as_such(tmp_path: Path) -> None:
    path, target = claude(tmp_path)
    write(path, json.dumps({"statusLine": {"type": "command", "command": "~/.claude/line.sh"}}))
    plan = plan_edit(path, target.setup)
    assert (
        'statusLine: {"type": "command", "command": "~/.claude/line.sh"} → '
        '{"type": "command", "command": "glmtray statusline", "refreshInterval": 30}'
    ) in plan.describe()


def test_remove_takes_out_only_glmtrays_entries(tmp_path: Path) -> None:
    path, target = claude(tmp_path)
    write(path, USER_SETTINGS)
    apply_plan(plan_edit(path, target.setup))
    plan = plan_edit(path, target.removal)
    assert plan.describe() == [
        f'env.ANTHROPIC_BASE_URL: "{METER_ANTHROPIC}" → "https://api.z.ai/api/anthropic"',
        'statusLine: {"type": "command", "command": "glmtray statusline", '
        '"refreshInterval": 30} → (not set)',
    ]
    apply_plan(plan)
    # Back where the user had it: the platform's own address, no status line.
    assert path.read_text(encoding="utf-8") == USER_SETTINGS


def test_remove_leaves_someone_elses_settings_alone(tmp_path: Path) -> None:
    path, target = claude(tmp_path, Region.CHINA)
    content = json.dumps(
        {
            "env": {"ANTHROPIC_BASE_URL": "https://open.bigmodel.cn/api/anthropic"},
            "statusLine": {"type": "command", "command": "~/.claude/line.sh"},
        },
        indent=2,
    )
    write(path, content)
    plan = plan_edit(path, target.removal)
    assert not plan.has_changes
    apply_plan(plan)
    assert path.read_text(encoding="utf-8") == content


def test_remove_in_the_china_region_points_back_at_bigmodel(tmp_path: Path) -> None:
    path, target = claude(tmp_path, Region.CHINA)
    write(path, json.dumps({"env": {"ANTHROPIC_BASE_URL": "http://localhost:8765/api/anthropic/"}}))
    plan = plan_edit(path, target.removal)
    apply_plan(plan)
    env = json.loads(path.read_text(encoding="utf-8"))["env"]
    assert env == {"ANTHROPIC_BASE_URL": "https://open.bigmodel.cn/api/anthropic"}


def test_claude_config_dir_is_honoured(tmp_path: Path) -> None:
    moved = tmp_path / "elsewhere"
    assert (
        claude_settings_path({"CLAUDE_CONFIG_DIR": str(moved)}, tmp_path) == moved / "settings.json"
    )
    assert claude_settings_path({}, tmp_path) == tmp_path / ".claude" / "settings.json"
    target = claude_code_target(
        PORT, Region.GLOBAL, command=STATUSLINE_COMMAND,
        environ={"CLAUDE_CONFIG_DIR": str(moved)}, home=tmp_path,
    )  # fmt: skip
    apply_plan(plan_edit(target.path, target.setup))
    assert (moved / "settings.json").is_file()
    assert not (tmp_path / ".claude").exists()


def test_no_api_key_is_written_anywhere(tmp_path: Path) -> None:
    path, target = claude(tmp_path)
    write(path, '{"model": "opus"}')
    applied = apply_plan(plan_edit(path, target.setup))
    written = [p.read_bytes() for p in path.parent.iterdir()]
    assert applied.backup is not None
    assert all(KEY.encode() not in data for data in written)
    assert all(b"AUTH_TOKEN" not in data and b"API_KEY" not in data for data in written)


def test_opencode_provider_base_url_is_merged_and_removed(tmp_path: Path) -> None:
    config = tmp_path / "xdg"
    environ = {"XDG_CONFIG_HOME": str(config)}
    path = config / "opencode" / "opencode.json"
    original = (
        json.dumps(
            {
                "$schema": "https://opencode.ai/config.json",
                "model": "zai-coding-plan/glm-4.6",
                "provider": {"zai-coding-plan": {"models": {"glm-4.6": {}}}},
                "theme": "opencode",
            },
            indent=2,
        )
        + "\n"
    )
    write(path, original)
    target = opencode_target(PORT, Region.GLOBAL, environ=environ, home=tmp_path)
    assert target.path == path
    plan = plan_edit(path, target.setup)
    assert plan.describe() == [
        f'provider.zai-coding-plan.options.baseURL: (not set) → "{METER_OPENAI}"'
    ]
    applied = apply_plan(plan)
    after = json.loads(path.read_text(encoding="utf-8"))
    assert list(after) == ["$schema", "model", "provider", "theme"]
    assert after["provider"]["zai-coding-plan"] == {
        "models": {"glm-4.6": {}},
        "options": {"baseURL": METER_OPENAI},
    }
    removal = plan_edit(path, target.removal)
    apply_plan(removal)
    assert path.read_text(encoding="utf-8") == original  # no empty "options" left behind
    assert applied.backup is not None and applied.backup.read_text(encoding="utf-8") == original


def test_opencode_china_provider_and_jsonc_file(tmp_path: Path) -> None:
    folder = tmp_path / ".config" / "opencode"
    assert opencode_config_path({}, tmp_path) == folder / "opencode.json"
    write(folder / "opencode.jsonc", '{\n  // mine\n  "theme": "opencode",\n}\n')
    target = opencode_target(PORT, Region.CHINA, environ={}, home=tmp_path)
    assert target.path == folder / "opencode.jsonc"
    assert target.setup[0].path == ("provider", "zhipuai-coding-plan", "options", "baseURL")
    with pytest.raises(ToolConfigError, match="comments or trailing commas"):
        plan_edit(target.path, target.setup)


def test_meter_addresses_are_recognised() -> None:
    assert is_meter_url("http://127.0.0.1:8765/api/anthropic", "/api/anthropic")
    assert is_meter_url("http://localhost:9000/api/anthropic/", "/api/anthropic")
    assert not is_meter_url("https://api.z.ai/api/anthropic", "/api/anthropic")
    assert not is_meter_url("http://127.0.0.1:8765/api/coding/paas/v4", "/api/anthropic")
    assert not is_meter_url(None, "/api/anthropic")


def test_statusline_command_uses_path_or_the_running_glmtray() -> None:
    assert statusline_command(which=lambda name: "/usr/bin/glmtray") == "glmtray statusline"
    assert (
        statusline_command(which=lambda name: None, launch=["/opt/glm tray/glmtray"])
        == "'/opt/glm tray/glmtray' statusline"
    )
    assert (
        statusline_command(which=lambda name: None, launch=["/venv/bin/python", "-m", "glmtray"])
        == "/venv/bin/python -m glmtray statusline"
    )


# -- every other byte stays as it was ------------------------------------------------------

HAND_WRITTEN = """{
  "permissions": {"allow": ["Bash(ls:*)", "Read(~/notes)"], "deny": []},
  "env": {"API_TIMEOUT_MS": "3000000",   "DISABLE_TELEMETRY": "1"},

  "model":    "opus"
}
"""


def test_a_hand_written_file_changes_only_where_glmtray_writes(tmp_path: Path) -> None:
    path, target = claude(tmp_path)
    write(path, HAND_WRITTEN)
    plan = plan_edit(path, target.setup)
    changed = [
        line
        for line in plan.diff().splitlines()
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    assert changed == [
        '-  "env": {"API_TIMEOUT_MS": "3000000",   "DISABLE_TELEMETRY": "1"},',
        '+  "env": {"API_TIMEOUT_MS": "3000000",   "DISABLE_TELEMETRY": "1", '
        f'"ANTHROPIC_BASE_URL": "{METER_ANTHROPIC}"}},',
        '-  "model":    "opus"',
        '+  "model":    "opus",',
        '+  "statusLine": {',
        '+    "type": "command",',
        '+    "command": "glmtray statusline",',
        '+    "refreshInterval": 30',
        "+  }",
    ]
    applied = apply_plan(plan)
    apply_plan(plan_edit(path, [Entry(("statusLine",), REMOVE)]))
    apply_plan(plan_edit(path, [Entry(("env", "ANTHROPIC_BASE_URL"), REMOVE)]))
    assert path.read_text(encoding="utf-8") == HAND_WRITTEN
    assert applied.backup is not None and applied.backup.read_text(encoding="utf-8") == HAND_WRITTEN


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)
FORMATS = st.sampled_from(
    [
        {"indent": 2},
        {"indent": 4},
        {"indent": "\t"},
        {"indent": None},
        {"indent": None, "separators": (",", ":")},
        {"indent": 1, "separators": (",", " : ")},
        {"indent": 2, "ensure_ascii": False},
    ]
)


@settings(max_examples=150, deadline=None)
@given(
    document=st.dictionaries(
        st.text(max_size=6).filter(lambda key: key != "provider"), JSON_VALUES, max_size=5
    ),
    layout=FORMATS,
    crlf=st.booleans(),
)
def test_setup_then_remove_gives_back_the_same_bytes(
    document: dict[str, object], layout: dict[str, object], crlf: bool
) -> None:
    """Whatever the user's keys and layout, OpenCode's setup followed by its removal leaves
    the file byte for byte as it was: nothing outside glmtray's key was rewritten."""
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder)
        target = opencode_target(PORT, Region.GLOBAL, environ={}, home=home)
        text = json.dumps(document, **layout)  # type: ignore[arg-type]
        if crlf:
            text = text.replace("\n", "\r\n")
        write(target.path, text)
        original = target.path.read_bytes()
        plan = plan_edit(target.path, target.setup)
        merged = json.loads(plan.new_bytes.decode("utf-8"))
        assert merged == {
            **document,
            "provider": {"zai-coding-plan": {"options": {"baseURL": METER_OPENAI}}},
        }
        assert list(merged) == [*document, "provider"]
        apply_plan(plan)
        apply_plan(plan_edit(target.path, target.removal))
        assert target.path.read_bytes() == original


def test_the_status_line_is_rerun_between_messages(tmp_path: Path) -> None:
    # Claude Code runs the status line only when the conversation changes unless
    # refreshInterval is set: an idle session, or one waiting out 429 retries after the
    # week was used up, kept showing the share of its last message (seen with 2.1.332).
    path, target = claude(tmp_path)
    apply_plan(plan_edit(path, target.setup))
    written = json.loads(path.read_text(encoding="utf-8"))["statusLine"]
    assert written["refreshInterval"] == STATUSLINE_REFRESH_SECONDS
    assert 1 <= STATUSLINE_REFRESH_SECONDS < 60  # below the status line's own fetch interval
